package health_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shipprod/shipprod"
	"github.com/shipprod/shipprod/health"
)

// TestMain lets the test binary double as the program a command check runs:
// with HEALTH_TEST_HELPER=1 it acts on its arguments and exits.
func TestMain(m *testing.M) {
	if os.Getenv("HEALTH_TEST_HELPER") == "1" {
		os.Exit(helper(os.Args[1:]))
	}
	os.Exit(m.Run())
}

func helper(args []string) int {
	switch args[0] {
	case "exit":
		code, _ := strconv.Atoi(args[1])
		fmt.Fprintln(os.Stderr, "queue mail: 12 failed jobs")
		return code
	case "record":
		// Write the arguments received, one per line, to the file named.
		_ = os.WriteFile(args[1], []byte(strings.Join(args[2:], "\n")), 0o600)
		wd, _ := os.Getwd()
		fmt.Println("cwd", wd)
		return 0
	case "sleep":
		d, _ := time.ParseDuration(args[1])
		time.Sleep(d)
		return 0
	}
	return 99
}

func TestCommandCheck(t *testing.T) {
	self, err := os.Executable()
	require.NoError(t, err)
	env := []string{"HEALTH_TEST_HELPER=1"}
	dir := t.TempDir()
	record := filepath.Join(dir, "args.txt")
	tests := []struct {
		name  string
		cc    health.CheckConfig
		ok    bool
		inMsg string
	}{
		{"exit 0", health.CheckConfig{Command: []string{self, "exit", "0"}, Env: env}, true, "exit status 0"},
		{"exit 3 fails with the output", health.CheckConfig{Command: []string{self, "exit", "3"}, Env: env}, false,
			"exit status 3, want 0; output: queue mail: 12 failed jobs"},
		{"expected exit status", health.CheckConfig{Command: []string{self, "exit", "3"}, Env: env, ExpectExit: 3}, true, "exit status 3"},
		{"killed at the timeout", health.CheckConfig{Command: []string{self, "sleep", "10s"}, Env: env, Timing: health.Timing{Timeout: 100 * time.Millisecond}}, false,
			"timed out after 100ms: killed: context deadline exceeded"},
		{"program not found", health.CheckConfig{Command: []string{filepath.Join(dir, "no-such-program")}}, false, "cannot run"},
		{"not on PATH", health.CheckConfig{Command: []string{"shipprod-no-such-program"}}, false, `executable file not found in $PATH`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cc.Name = "worker"
			res := checkOne(t, tt.cc, "")
			assert.Equal(t, "command", res.Kind)
			if tt.ok {
				assert.Equal(t, shipprod.HealthPass, res.Status, res.Error)
				assert.Equal(t, tt.inMsg, res.Message)
			} else {
				assert.Equal(t, shipprod.HealthFail, res.Status)
				assert.Contains(t, res.Error, tt.inMsg)
			}
		})
	}

	// No shell: arguments reach the program exactly as written, and the
	// working directory is the one configured.
	args := []string{"$(touch pwned)", "; rm -rf /", "a b", "`id`", "*"}
	res := checkOne(t, health.CheckConfig{Name: "literal", Command: append([]string{self, "record", record}, args...), Env: env, Dir: dir}, "")
	require.Equal(t, shipprod.HealthPass, res.Status, res.Error)
	got, err := os.ReadFile(record)
	require.NoError(t, err)
	assert.Equal(t, args, strings.Split(string(got), "\n"))
	_, err = os.Stat(filepath.Join(dir, "pwned"))
	assert.True(t, os.IsNotExist(err), "no shell ran the arguments")
}
