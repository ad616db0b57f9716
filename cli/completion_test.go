package cli

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Shell completion, as a user installs it: the script, then the answers the
// script asks the binary for.
func TestCompletionThroughTheBinary(t *testing.T) {
	code, out, errOut := runBinary(t, "completion", "bash")
	require.Equal(t, ExitOK, code, errOut)
	assert.Contains(t, out, "complete -o default -F __start_shipprod shipprod", "the bash script registers itself for shipprod")
	for _, shell := range []string{"zsh", "fish", "powershell"} {
		code, out, errOut = runBinary(t, "completion", shell)
		assert.Equal(t, ExitOK, code, errOut)
		assert.NotEmpty(t, out, shell)
	}

	// What the script runs when the user types "shipprod r<TAB>".
	code, out, errOut = runBinary(t, "__complete", "r")
	require.Equal(t, ExitOK, code, errOut)
	assert.Contains(t, out, "rollback\t")
	code, out, _ = runBinary(t, "__complete", "rollback", "--")
	require.Equal(t, ExitOK, code)
	for _, flag := range []string{"--to\t", "--yes\t", "--reason\t", "--json\t"} {
		assert.Contains(t, out, flag)
	}
}

// Every command says what it does and shows examples.
func TestEveryCommandHasHelpWithExamples(t *testing.T) {
	root := (&App{}).Command()
	names := map[string]bool{}
	for _, c := range root.Commands() {
		names[c.Name()] = true
		assert.NotEmpty(t, c.Short, c.Name())
		assert.NotEmpty(t, c.Long, c.Name())
		assert.NotEmpty(t, c.Example, "%s has no examples", c.Name())
	}
	for _, want := range []string{"ship", "plan", "check", "version", "rollback", "status", "init", "demo"} {
		assert.True(t, names[want], "command %s exists", want)
	}

	code, out, errOut := runBinary(t, "rollback", "--help")
	require.Equal(t, ExitOK, code, errOut)
	assert.Contains(t, out, "Examples:\n  shipprod rollback ")
	assert.True(t, strings.Contains(out, "--to string"), out)
}
