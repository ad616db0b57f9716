package cli

import (
	"context"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shipprod/shipprod"
	"github.com/shipprod/shipprod/journal"
	"github.com/shipprod/shipprod/lock"
)

// decodeStatus decodes status --json: one shipprod.status/v1 line, under
// the contract.
func decodeStatus(t *testing.T, out string) *JSONStatus {
	t.Helper()
	lines := decodeContract(t, out)
	require.Len(t, lines, 1)
	require.Equal(t, SchemaStatus, lines[0].schema)
	return lines[0].value.(*JSONStatus)
}

// Through the binary: a project that never shipped, then one whose lock a
// run holds (another process: status only looks).
func TestStatusThroughTheBinary(t *testing.T) {
	p := newProject(t)
	before := p.snapshot()
	code, out, errOut := p.exec("status")
	require.Equal(t, ExitOK, code, errOut)
	assert.Contains(t, out, "Production:  v1.2.0 (git-push deployment ", "git-push reads the production branch")
	assert.Contains(t, out, "), as the deployer says\n")
	assert.Contains(t, out, "Last run:    none recorded\n")
	assert.Contains(t, out, "Lock:        free: no run is going on\n")

	path, err := lock.InGitDir(context.Background(), p.work)
	require.NoError(t, err)
	started := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	l, err := lock.Acquire(path, lock.Holder{Command: "shipprod ship", Host: "ci-7", Started: started}, nil)
	require.NoError(t, err)
	defer l.Release()
	l.Doing("monitor: Monitoring production")

	code, out, errOut = p.exec("status")
	require.Equal(t, ExitOK, code, errOut)
	assert.Contains(t, out, "Lock:        held by shipprod ship (pid "+strconv.Itoa(os.Getpid())+" on ci-7, started 2026-12-04T10:00:00Z), now at monitor: Monitoring production")

	code, out, errOut = p.exec("status", "--json")
	require.Equal(t, ExitOK, code, errOut)
	st := decodeStatus(t, out)
	require.NotNil(t, st.Production)
	assert.Equal(t, "deployer", st.Production.Source)
	assert.Equal(t, "v1.2.0", st.Production.Release.Tag)
	assert.Nil(t, st.LastRun)
	assert.True(t, st.Lock.Held)
	assert.Equal(t, os.Getpid(), st.Lock.PID)
	assert.Equal(t, "ci-7", st.Lock.Host)
	assert.True(t, started.Equal(time.Time(st.Lock.StartedAt)))
	assert.Contains(t, out, `"started_at":"2026-12-04T10:00:00.000Z"`, "times are RFC 3339 in UTC")
	assert.Equal(t, "monitor: Monitoring production", st.Lock.Doing)
	assert.Equal(t, before, p.snapshot(), "status changes nothing")
}

func TestStatusOfAShippedRelease(t *testing.T) {
	p := newProject(t)
	_, release := p.deployByHand()
	code, out, errOut := p.run("status")
	require.Equal(t, ExitOK, code, errOut)
	assert.Contains(t, out, "Production:  v1.3.0 (git-push deployment "+release[:12]+", "+p.prod.URL+"), as the deployer says")
	assert.Contains(t, out, "Last run:    shipped v1.3.0 (from v1.2.0)")
	assert.Contains(t, out, "took 1m0s")
	assert.NotContains(t, out, "unfinished")

	code, out, errOut = p.run("status", "--json")
	require.Equal(t, ExitOK, code, errOut)
	st := decodeStatus(t, out)
	require.NotNil(t, st.Production)
	assert.Equal(t, "deployer", st.Production.Source)
	assert.Equal(t, release, st.Production.Deployment.ID)
	assert.Equal(t, "v1.3.0", st.Production.Release.Tag)
	require.NotNil(t, st.LastRun)
	assert.Equal(t, "shipped", st.LastRun.Outcome)
	require.NotNil(t, st.LastRun.DurationMS)
	assert.Equal(t, int64(60000), *st.LastRun.DurationMS, "durations are milliseconds")
	assert.False(t, time.Time(st.LastRun.StartedAt).IsZero())
	assert.Equal(t, "v1.2.0", st.LastRun.Release.PreviousTag)
	assert.False(t, st.Lock.Held)
	assert.True(t, time.Time(st.Lock.StartedAt).IsZero(), "a free lock has no holder")
}

// A run that made its release and failed is unfinished: the next ship
// resumes it.
func TestStatusSaysARunIsUnfinished(t *testing.T) {
	p := newProject(t)
	j, err := journal.InGitDir(context.Background(), p.work)
	require.NoError(t, err)
	require.NoError(t, j.Save(context.Background(), &shipprod.Result{Outcome: shipprod.OutcomeFailed, StartedAt: time.Now(), FinishedAt: time.Now(),
		Release: shipprod.Release{Version: "1.3.0", Tag: "v1.3.0", PreviousTag: "v1.2.0"},
		Steps:   []shipprod.StepRecord{{Step: shipprod.StepVersion, Status: shipprod.StepDone}},
		Error:   "deploy: the remote said: production is frozen"}))
	code, out, errOut := p.run("status")
	require.Equal(t, ExitOK, code, errOut)
	assert.Contains(t, out, "Last run:    failed v1.3.0 (from v1.2.0)")
	assert.Contains(t, out, "error: deploy: the remote said: production is frozen")
	assert.Contains(t, out, "unfinished: shipprod ship resumes it (shipprod ship --fresh starts over)")
	assert.Contains(t, out, "Production:  v1.2.0 (git-push deployment ", "the failed run deployed nothing")

	code, out, _ = p.run("status", "--json")
	require.Equal(t, ExitOK, code)
	st := decodeStatus(t, out)
	require.NotNil(t, st.LastRun)
	assert.True(t, st.LastRun.Unfinished)
}

func TestStatusWithABrokenConfiguration(t *testing.T) {
	p := newProject(t)
	p.deployByHand()
	p.edit("shipprod.yaml", func(s string) string { return s + "surprise: true\n" })
	code, out, errOut := p.run("status")
	assert.Equal(t, ExitUsage, code, "the configuration's mistake is an error")
	assert.Contains(t, errOut, `unknown key "surprise"`)
	assert.Contains(t, out, "Last run:    shipped v1.3.0", "what the journal knows is still said")
	assert.Contains(t, out, "the configuration could not be read")

	code, out, errOut = p.run("status", "--json")
	assert.Equal(t, ExitUsage, code)
	lines := decodeContract(t, out)
	require.Len(t, lines, 2, "the status line, then the error line")
	st := lines[0].value.(*JSONStatus)
	require.NotNil(t, st.LastRun)
	assert.Equal(t, "shipped", st.LastRun.Outcome, "what the journal knows is still said")
	assert.Equal(t, "v1.3.0", st.LastRun.Release.Tag)
	require.NotEmpty(t, st.Notes)
	assert.Contains(t, st.Notes[0], "the configuration could not be read")
	e := lines[1].value.(*JSONError)
	assert.Equal(t, ExitUsage, e.ExitCode)
	assert.Contains(t, e.Message, `unknown key "surprise"`)
	assert.Contains(t, errOut, e.Message)
}

// A run the journal records as not ended, with the lock free, was killed:
// status says so, and that the next ship resumes it.
func TestStatusOfAKilledRun(t *testing.T) {
	p := newProject(t)
	j, err := journal.InGitDir(context.Background(), p.work)
	require.NoError(t, err)
	require.NoError(t, j.Save(context.Background(), &shipprod.Result{StartedAt: time.Now(),
		Release: shipprod.Release{Version: "1.3.0", Tag: "v1.3.0", PreviousTag: "v1.2.0"},
		Steps:   []shipprod.StepRecord{{Step: shipprod.StepVersion, Status: shipprod.StepDone}, {Step: shipprod.StepDeploy, Status: shipprod.StepRunning}}}))
	code, out, errOut := p.run("status")
	require.Equal(t, ExitOK, code, errOut)
	assert.Contains(t, out, "Last run:    stopped v1.3.0 (from v1.2.0)")
	assert.Contains(t, out, "unfinished: shipprod ship resumes it")

	code, out, errOut = p.run("status", "--json")
	require.Equal(t, ExitOK, code, errOut)
	st := decodeStatus(t, out)
	require.NotNil(t, st.LastRun)
	assert.Equal(t, "stopped", st.LastRun.Outcome)
	assert.True(t, st.LastRun.Unfinished)
	assert.True(t, time.Time(st.LastRun.FinishedAt).IsZero(), "it has not ended")
	assert.Nil(t, st.LastRun.DurationMS, "a run that has not ended has no duration")
	assert.Nil(t, st.LastRun.Deployment)
}
