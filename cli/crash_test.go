//go:build crashmatrix

package cli

// The crash matrix: a ship is killed (SIGKILL, nothing to clean up) at
// twelve points, inside and between steps, and the next ship must finish
// the release as if nothing had happened: one bump commit, one tag at it,
// one GitHub Release, production on the release, the version files and the
// CHANGELOG changed once, and a report that says so. It runs the built
// binary, so it is heavier than a test: `go test -tags crashmatrix -run
// TestCrashMatrix ./cli` (CI runs it).

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shipprod/shipprod/internal/github/githubfake"
)

const (
	crashRepo     = "demo/app"
	crashToken    = "ghp_CRASHMATRIXTOKEN0123456789abcdef"
	crashWorkflow = "deploy-production.yml"
)

// crashCase is one ship killed at one point.
type crashCase struct {
	t      *testing.T
	p      *project
	gh     *githubfake.Server
	marks  string // prefix of the marker files the hooks and the test share
	killed bool
}

// crashPoint says where a ship is killed and how the test gets there.
type crashPoint struct {
	name string
	// setup installs what holds the run at the point (hooks, a broken
	// release, a CI run that does not end).
	setup func(c *crashCase)
	// at reports, for each event the run prints, whether to kill now.
	at func(e crashEvent) bool
	// marker, instead, kills when the file <marks>.<marker> appears.
	marker string
	// release lets what was held go on once the run is dead, and waits
	// until git is done with the repositories.
	release func(c *crashCase)
	// unhealthy makes v1.3.0 unhealthy: the release ends rolled back.
	unhealthy bool
}

type crashEvent struct {
	Step     string `json:"step"`
	Event    string `json:"event"`
	Progress *struct {
		Message string `json:"message"`
	} `json:"progress"`
}

func finished(step string) func(crashEvent) bool {
	return func(e crashEvent) bool { return e.Step == step && e.Event == "finished" }
}

func progressOf(step string) func(crashEvent) bool {
	return func(e crashEvent) bool { return e.Step == step && e.Event == "progress" }
}

func crashPoints() []crashPoint {
	return []crashPoint{
		{name: "after the gates", at: finished("gates")},
		{name: "during the bump commit", setup: (*crashCase).holdCommit, marker: "commit-held", release: (*crashCase).failHeldCommit},
		{name: "after the bump", at: finished("version")},
		{name: "during the tag push", setup: func(c *crashCase) { c.holdPush("refs/tags/v1.3.0", "") }, marker: "push-held", release: (*crashCase).acceptHeldPush},
		{name: "after the tag", at: finished("tag")},
		{name: "during the deploy push", setup: func(c *crashCase) { c.holdPush("refs/heads/production", "") }, marker: "push-held", release: (*crashCase).acceptHeldPush},
		{name: "during the deploy's CI run", setup: (*crashCase).followCI, marker: "ci-polled", release: (*crashCase).finishCI},
		{name: "during the health checks", at: progressOf("health")},
		{name: "after the report", at: finished("report")},
		{name: "during the monitor", at: progressOf("monitor")},
		{name: "after the monitor", at: finished("monitor")},
		{name: "during the rollback", unhealthy: true, setup: (*crashCase).holdRollbackPush, marker: "push-held", release: (*crashCase).acceptHeldPush},
	}
}

func TestCrashMatrix(t *testing.T) {
	for _, pt := range crashPoints() {
		t.Run(pt.name, func(t *testing.T) {
			t.Parallel()
			c := newCrashCase(t, pt)
			c.shipAndKill(pt)
			if pt.release != nil {
				pt.release(c)
			}
			c.removeHooks()
			code, out, errOut := c.ship()
			want := ExitOK
			if pt.unhealthy {
				want = ExitUnhealthy
			}
			require.Equal(t, want, code, "the ship after the crash\nstdout:\n%s\nstderr:\n%s", out, errOut)
			c.checkReleasedOnce(pt.unhealthy)
		})
	}
}

func newCrashCase(t *testing.T, pt crashPoint) *crashCase {
	p := newProject(t)
	gh := githubfake.NewT(t, githubfake.Options{Token: crashToken})
	gh.AddRepo(crashRepo, githubfake.RepoOptions{})
	c := &crashCase{t: t, p: p, gh: gh, marks: filepath.Join(t.TempDir(), "mark")}
	p.edit("shipprod.yaml", func(s string) string {
		s = strings.Replace(s, "  timeout: 2s\n  checks:", "  timeout: 2s\n  period: 50ms\n  checks:", 1)
		return s + fmt.Sprintf("github:\n  repository: %s\n  api_url: %s\n  token_env: CRASH_GH_TOKEN\n", crashRepo, gh.APIURL())
	})
	if pt.unhealthy {
		p.prod.broken.Store("1.3.0")
	}
	if pt.setup != nil {
		pt.setup(c)
	}
	return c
}

// shipAndKill runs ship --yes --json and kills it with SIGKILL at the point.
func (c *crashCase) shipAndKill(pt crashPoint) {
	t := c.t
	cmd := exec.Command(reference.binary(t), "ship", "--yes", "--json", "--dir", c.p.work)
	cmd.Env = c.env()
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	kill := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			var e crashEvent
			if pt.at != nil && json.Unmarshal(sc.Bytes(), &e) == nil && pt.at(e) {
				close(kill)
				break
			}
		}
		_, _ = bufio.NewReader(stdout).WriteTo(discard{})
	}()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(60 * time.Second)
	for {
		select {
		case <-kill:
			c.kill(cmd, done)
			return
		case <-tick.C:
			if pt.marker != "" && c.exists(pt.marker) {
				c.kill(cmd, done)
				return
			}
		case err := <-done:
			t.Fatalf("the ship ended (%v) before it reached the crash point", err)
		case <-deadline:
			_ = cmd.Process.Kill()
			t.Fatal("the ship never reached the crash point")
		}
	}
}

func (c *crashCase) env() []string {
	return append(os.Environ(), "CRASH_GH_TOKEN="+crashToken)
}

// ship runs ship --yes to the end.
func (c *crashCase) ship() (code int, stdout, stderr string) {
	cmd := exec.Command(reference.binary(c.t), "ship", "--yes", "--dir", c.p.work)
	cmd.Env = c.env()
	var out, errOut strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	if exit, ok := err.(*exec.ExitError); ok {
		code = exit.ExitCode()
	} else {
		require.NoError(c.t, err)
	}
	return code, out.String(), errOut.String()
}

func (c *crashCase) kill(cmd *exec.Cmd, done chan error) {
	require.NoError(c.t, cmd.Process.Kill())
	<-done
	c.killed = true
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

func (c *crashCase) exists(marker string) bool {
	_, err := os.Stat(c.marks + "." + marker)
	return err == nil
}

func (c *crashCase) touch(marker string) {
	require.NoError(c.t, os.WriteFile(c.marks+"."+marker, nil, 0o644))
}

// waitFor waits until cond holds (git, orphaned by the kill, finishing).
func (c *crashCase) waitFor(what string, cond func() bool) {
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			c.t.Fatalf("waited in vain for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (c *crashCase) hook(dir, name, script string) {
	path := filepath.Join(dir, "hooks", name)
	require.NoError(c.t, os.MkdirAll(filepath.Dir(path), 0o755))
	require.NoError(c.t, os.WriteFile(path, []byte("#!/bin/sh\n"+script), 0o755))
}

// holdCommit holds the bump commit in a pre-commit hook.
func (c *crashCase) holdCommit() {
	c.hook(filepath.Join(c.p.work, ".git"), "pre-commit", fmt.Sprintf(
		"touch %[1]s.commit-held\nwhile [ ! -f %[1]s.go-on ]; do sleep 0.02; done\ntouch %[1]s.hook-done\nexit 1\n", c.marks))
}

// failHeldCommit lets the held commit fail, as a killed run's would, and
// waits until git has let go of the index.
func (c *crashCase) failHeldCommit() {
	c.touch("go-on")
	c.waitFor("the pre-commit hook to end", func() bool { return c.exists("hook-done") })
	c.waitFor("git to release .git/index.lock", func() bool {
		_, err := os.Stat(filepath.Join(c.p.work, ".git", "index.lock"))
		return os.IsNotExist(err)
	})
}

// holdPush holds, in the remote's pre-receive hook, a push that updates
// ref (to newSHA, when set).
func (c *crashCase) holdPush(ref, newSHA string) {
	c.hook(c.p.remote.Dir, "pre-receive", fmt.Sprintf(`hold=
while read old new ref; do
  if [ "$ref" = %q ] && { [ -z %q ] || [ "$new" = %q ]; }; then hold=1; fi
done
if [ -n "$hold" ]; then
  touch %[4]s.push-held
  while [ ! -f %[4]s.go-on ]; do sleep 0.02; done
  touch %[4]s.hook-done
fi
exit 0
`, ref, newSHA, newSHA, c.marks))
}

// holdRollbackPush holds the push that returns production to v1.2.0.
func (c *crashCase) holdRollbackPush() {
	c.holdPush("refs/heads/production", c.p.git(c.p.remote, "rev-parse", "refs/heads/production"))
}

// acceptHeldPush lets the held push land, as the remote would once the
// client is gone, and waits until the hook has ended.
func (c *crashCase) acceptHeldPush() {
	c.touch("go-on")
	c.waitFor("the pre-receive hook to end", func() bool { return c.exists("hook-done") })
	time.Sleep(100 * time.Millisecond) // receive-pack updates the refs after the hook
}

// followCI makes the git-push deployer follow the CI run its push starts:
// the run starts when the push lands and does not end until the test says.
func (c *crashCase) followCI() {
	c.gh.AddWorkflow(crashRepo, githubfake.Workflow{File: crashWorkflow, NoDispatch: true,
		Script: githubfake.RunScript{Running: time.Hour}})
	c.p.edit("shipprod.yaml", func(s string) string {
		return strings.Replace(s, "deploy:\n", fmt.Sprintf("deploy:\n  follow_ci: {workflow: %s, poll_interval: 20ms, max_poll_interval: 20ms}\n", crashWorkflow), 1)
	})
	c.hook(c.p.remote.Dir, "post-receive", fmt.Sprintf(`while read old new ref; do
  if [ "$ref" = refs/heads/production ]; then echo "$new" > %s.pushed; fi
done
`, c.marks))
	go func() {
		for !c.exists("pushed") {
			time.Sleep(5 * time.Millisecond)
		}
		sha, _ := os.ReadFile(c.marks + ".pushed")
		c.gh.TriggerPush(crashRepo, crashWorkflow, "production", strings.TrimSpace(string(sha)))
		for len(c.gh.RequestsTo("GET", "/actions/runs")) < 4 {
			time.Sleep(5 * time.Millisecond)
		}
		c.touch("ci-polled")
	}()
}

// finishCI lets the CI run succeed once the ship is dead.
func (c *crashCase) finishCI() {
	for _, r := range c.gh.Runs(crashRepo) {
		c.gh.CompleteRun(crashRepo, r.ID, "success")
	}
}

func (c *crashCase) removeHooks() {
	for _, h := range []string{filepath.Join(c.p.work, ".git", "hooks", "pre-commit"),
		filepath.Join(c.p.remote.Dir, "hooks", "pre-receive"), filepath.Join(c.p.remote.Dir, "hooks", "post-receive")} {
		_ = os.Remove(h)
	}
}

// checkReleasedOnce checks what the release left, after the crash and the
// ship that followed it.
func (c *crashCase) checkReleasedOnce(rolledBack bool) {
	t, p := c.t, c.p
	ctx := context.Background()
	subjects := p.git(p.remote, "log", "--format=%s", "refs/heads/main")
	assert.Equal(t, 1, strings.Count(subjects, "chore(release): v1.3.0"), "one bump commit on main:\n%s", subjects)
	bump := p.git(p.remote, "rev-parse", "refs/heads/main")
	assert.Equal(t, bump, p.git(p.remote, "rev-parse", "refs/tags/v1.3.0^{commit}"), "the tag marks the bump commit")
	tags := p.git(p.remote, "tag", "--list", "v1.3*")
	assert.Equal(t, "v1.3.0", tags, "one tag")
	releases := c.gh.Releases(crashRepo)
	require.Len(t, releases, 1, "one GitHub Release")
	assert.Equal(t, "v1.3.0", releases[0].TagName)

	for file, want := range map[string]string{"VERSION": "1.3.0\n"} {
		got, err := p.remote.Run(ctx, "show", "refs/heads/main:"+file)
		require.NoError(t, err)
		assert.Equal(t, strings.TrimSpace(want), got)
	}
	changelog, err := p.remote.Run(ctx, "show", "refs/heads/main:CHANGELOG.md")
	require.NoError(t, err)
	assert.Equal(t, 1, strings.Count(changelog, "## [1.3.0]"), "the CHANGELOG released once")
	assert.Equal(t, 0, strings.Count(changelog, "- Pay with passkeys at checkout.\n\n### Fixed\n\n- The cart total is rounded once, not twice.\n\n## [1.3.0]"),
		"Unreleased was emptied")
	diff := p.git(p.remote, "diff", "--name-only", "refs/tags/v1.2.0", "refs/heads/main")
	assert.Equal(t, 1, strings.Count(diff, "package.json"))

	production := p.git(p.remote, "rev-parse", "refs/heads/production")
	doc := c.report()
	if rolledBack {
		assert.Equal(t, p.git(p.remote, "rev-parse", "refs/tags/v1.2.0^{commit}"), production, "production is back on v1.2.0")
		assert.Equal(t, "rolled-back", doc.Outcome)
		return
	}
	assert.Equal(t, bump, production, "production runs the release")
	served, err := p.prod.servedVersion()
	require.NoError(t, err)
	assert.Equal(t, "1.3.0", served)
	assert.Equal(t, "shipped", doc.Outcome, "the report is true")
	assert.Equal(t, "1.3.0", doc.Version)
	require.NotNil(t, doc.Deployment)
	assert.Equal(t, production, doc.Deployment.ID, "the report names the deployment production runs")
}

type reportDoc struct {
	Outcome    string `json:"outcome"`
	Version    string `json:"version"`
	Deployment *struct {
		ID string `json:"id"`
	} `json:"deployment"`
}

func (c *crashCase) report() reportDoc {
	data, err := os.ReadFile(filepath.Join(c.p.work, "specs", demoFeature, "production-ship-report.json"))
	require.NoError(c.t, err)
	var doc reportDoc
	require.NoError(c.t, json.Unmarshal(data, &doc))
	return doc
}
