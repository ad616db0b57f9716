package cli

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Every message that tells the user what to run next is tested by running
// exactly that, and then shipping.

// commandIn finds the command a message names after marker, e.g. the
// "git pull --rebase --autostash origin main" of "To recover: git pull
// --rebase --autostash origin main, then run shipprod again".
func commandIn(t *testing.T, msg, pattern string) []string {
	t.Helper()
	m := regexp.MustCompile(pattern).FindStringSubmatch(msg)
	require.NotNil(t, m, "the message names the command (%s):\n%s", pattern, msg)
	return strings.Fields(m[1])
}

// runIn runs the command the message named, in the project.
func (p *project) runNamed(args []string) {
	p.t.Helper()
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Dir = p.work
	out, err := cmd.CombinedOutput()
	require.NoError(p.t, err, "%s:\n%s", strings.Join(args, " "), out)
}

// otherClone is a second clone of the project's remote, as a colleague's.
func (p *project) otherClone() string {
	p.t.Helper()
	dir := filepath.Join(p.t.TempDir(), "colleague")
	out, err := exec.Command("git", "clone", "--quiet", p.remote.Dir, dir).CombinedOutput()
	require.NoError(p.t, err, "%s", out)
	for _, kv := range [][2]string{{"user.name", "Colleague"}, {"user.email", "colleague@example.com"}} {
		require.NoError(p.t, exec.Command("git", "-C", dir, "config", kv[0], kv[1]).Run())
	}
	return dir
}

func gitIn(t *testing.T, dir string, args ...string) {
	t.Helper()
	out, err := exec.Command("git", append([]string{"-C", dir}, args...)...).CombinedOutput()
	require.NoError(t, err, "git %s:\n%s", strings.Join(args, " "), out)
}

// Someone pushes to main while the release is being made (here: from the
// bump commit's hook, after the pre-flight passed): the atomic push is
// refused, and the advice — pull, then ship again — gets the release out,
// once, without a loop and without --fresh.
func TestRejectedPushAdviceWorks(t *testing.T) {
	endToEnd(t)
	p := newProject(t)
	colleague := p.otherClone()
	require.NoError(t, os.WriteFile(filepath.Join(colleague, "NOTES.md"), []byte("a colleague's change\n"), 0o644))
	gitIn(t, colleague, "add", "NOTES.md")
	gitIn(t, colleague, "commit", "--quiet", "-m", "docs: notes")
	hook := filepath.Join(p.work, ".git", "hooks", "pre-commit")
	require.NoError(t, os.MkdirAll(filepath.Dir(hook), 0o755))
	require.NoError(t, os.WriteFile(hook, []byte("#!/bin/sh\nrm -f \"$0\"\ngit -C "+colleague+" push --quiet origin main\n"), 0o755))

	code, out, errOut := p.run("ship", "--yes")
	require.Equal(t, ExitFailed, code, out+errOut)
	cmd := commandIn(t, out+errOut, `To recover: (git pull --rebase --autostash origin main), then run shipprod again`)
	p.runNamed(cmd)

	code, out, errOut = p.run("ship", "--yes")
	require.Equal(t, ExitOK, code, out+errOut)
	subjects := p.git(p.remote, "log", "--format=%s", "refs/heads/main")
	assert.Equal(t, 1, strings.Count(subjects, "chore(release): v1.3.0"), "one bump commit:\n%s", subjects)
	assert.Contains(t, subjects, "docs: notes", "the colleague's commit is in")
	main := p.git(p.remote, "rev-parse", "refs/heads/main")
	assert.Equal(t, main, p.git(p.remote, "rev-parse", "refs/tags/v1.3.0^{commit}"))
	assert.Equal(t, main, p.git(p.remote, "rev-parse", "refs/heads/production"))
}

// The pre-flight finds the remote moved before anything changes, and its
// advice works too.
func TestPreflightPullAdviceWorks(t *testing.T) {
	endToEnd(t)
	p := newProject(t)
	colleague := p.otherClone()
	require.NoError(t, os.WriteFile(filepath.Join(colleague, "NOTES.md"), []byte("a colleague's change\n"), 0o644))
	gitIn(t, colleague, "add", "NOTES.md")
	gitIn(t, colleague, "commit", "--quiet", "-m", "docs: notes")
	gitIn(t, colleague, "push", "--quiet", "origin", "main")

	before := p.snapshot()
	code, out, errOut := p.run("ship", "--yes")
	require.Equal(t, ExitUsage, code, out+errOut)
	assert.Equal(t, before, p.snapshot(), "the pre-flight changed nothing")
	p.runNamed(commandIn(t, out+errOut, `pull them \((git pull --rebase --autostash origin main)\) and run shipprod again`))

	code, out, errOut = p.run("ship", "--yes")
	require.Equal(t, ExitOK, code, out+errOut)
}

// A tracked file changed by hand stops the release before anything is
// written; the advice (git stash) lets it go.
func TestDirtyTreeAdviceWorks(t *testing.T) {
	endToEnd(t)
	p := newProject(t)
	require.NoError(t, os.WriteFile(filepath.Join(p.work, "server.js"), []byte("// work in progress\n"), 0o644))
	code, out, errOut := p.run("ship", "--yes")
	require.Equal(t, ExitFailed, code, out+errOut)
	p.runNamed(commandIn(t, out+errOut, `commit or stash them first \((git stash)\)`))

	code, out, errOut = p.run("ship", "--yes")
	require.Equal(t, ExitOK, code, out+errOut)
}

// A git-push deploy without its url and health checks with relative paths:
// nothing would tell the checks where production is. The pre-flight says so
// before the release is made, and following its advice ships.
func TestRelativeHealthChecksNeedAURL(t *testing.T) {
	endToEnd(t)
	p := newProject(t)
	var url string
	p.edit("shipprod.yaml", func(s string) string {
		m := regexp.MustCompile(`(?m)^    url: (\S+)\n`).FindStringSubmatch(s)
		require.NotNil(t, m)
		url = m[1]
		s = strings.Replace(s, m[0], "", 1)
		return strings.Replace(s, "  base_url: "+url+"\n", "", 1)
	})
	before := p.snapshot()
	code, out, errOut := p.run("ship", "--yes")
	require.Equal(t, ExitUsage, code, out+errOut)
	assert.Contains(t, out+errOut, "health checks health, live-version have relative URLs, but health.base_url is not set and deployer git-push to origin/production does not say where production serves: set health.base_url, or the deployer's url")
	assert.Equal(t, before, p.snapshot(), "nothing was changed")

	p.edit("shipprod.yaml", func(s string) string { return strings.Replace(s, "health:\n", "health:\n  base_url: "+url+"\n", 1) })
	code, out, errOut = p.run("ship", "--yes")
	require.Equal(t, ExitOK, code, out+errOut)
}
