package cli

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shipprod/shipprod"
	"github.com/shipprod/shipprod/journal"
	"github.com/shipprod/shipprod/lock"
	"github.com/shipprod/shipprod/report"
)

// The whole story through the binary a user runs: ship v1.3.0, roll it back
// by hand, and see it everywhere: production, the report, the state file,
// the journal and status.
func TestRollbackThroughTheBinary(t *testing.T) {
	endToEnd(t)
	p := newProject(t)
	previous := p.git(p.local, "rev-parse", "v1.2.0^{commit}")
	code, out, errOut := p.run("ship", "--yes")
	require.Equal(t, ExitOK, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
	shipped := p.git(p.local, "rev-parse", "HEAD")

	code, out, errOut = p.exec("rollback", "--yes", "--reason", "checkout errors up 3x")
	require.Equal(t, ExitOK, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
	assert.Contains(t, out, "Rolling back to v1.2.0... ✅")
	assert.Contains(t, out, "Health of v1.2.0: 2 checks passed")
	assert.Contains(t, out, "↩️  Production was rolled back from v1.3.0 to v1.2.0 (git-push deployment "+previous[:12]+")")
	assert.Equal(t, previous, p.git(p.remote, "rev-parse", "refs/heads/production"), "production runs v1.2.0 again")
	served, err := p.prod.servedVersion()
	require.NoError(t, err)
	assert.Equal(t, "1.2.0", served)

	// The report says it.
	raw, err := os.ReadFile(filepath.Join(p.work, "specs", demoFeature, "production-ship-report.json"))
	require.NoError(t, err)
	var doc report.Document
	require.NoError(t, json.Unmarshal(raw, &doc))
	assert.Equal(t, "rolled-back", doc.Outcome)
	require.NotNil(t, doc.Rollback)
	assert.Equal(t, "v1.2.0", doc.Rollback.Target)
	assert.Contains(t, doc.Rollback.Reason, "checkout errors up 3x")
	assert.True(t, doc.Rollback.Manual, "the report says the rollback was asked for by hand")
	md, err := os.ReadFile(filepath.Join(p.work, "specs", demoFeature, "production-ship-report.md"))
	require.NoError(t, err)
	assert.Contains(t, string(md), "production was then rolled back by hand to v1.2.0")
	require.NotNil(t, doc.Rollback.Health)
	assert.True(t, doc.Rollback.Health.Passed)
	// So does the state file.
	state, err := os.ReadFile(filepath.Join(p.work, "specs", demoFeature, "state.yaml"))
	require.NoError(t, err)
	assert.Contains(t, string(state), "rollback_to: v1.2.0")
	assert.Contains(t, string(state), "checkout errors up 3x")
	// And the journal, for the next ship: the rolled-back build is not
	// promoted again.
	res := loadJournal(t, p)
	assert.Equal(t, shipprod.OutcomeRolledBack, res.Outcome)
	require.Len(t, res.RolledBackBuilds, 1)
	assert.Equal(t, shipped, res.RolledBackBuilds[0].ID)

	code, out, errOut = p.exec("status")
	require.Equal(t, ExitOK, code, errOut)
	assert.Contains(t, out, "Production:  v1.2.0 (git-push deployment "+previous[:12])
	assert.Contains(t, out, "Last run:    rolled-back v1.3.0")

	// The next ship knows: the release rolled back is not resumed, and
	// there is nothing new to release.
	code, out, errOut = p.exec("ship", "--yes")
	assert.Equal(t, ExitOK, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
	assert.Contains(t, out, "Nothing to release")
	assert.NotContains(t, out, "resum")

	// Nothing came before v1.2.0: a second rollback changes nothing.
	before := p.snapshot()
	code, _, errOut = p.exec("rollback", "--yes")
	assert.Equal(t, ExitUsage, code, errOut)
	assert.Contains(t, errOut, "no release tag comes before v1.2.0")
	assert.Equal(t, before, p.snapshot())
}

func loadJournal(t *testing.T, p *project) *shipprod.Result {
	t.Helper()
	j, err := journal.InGitDir(context.Background(), p.work)
	require.NoError(t, err)
	res, err := j.Load(context.Background())
	require.NoError(t, err)
	require.NotNil(t, res, "a run is journaled")
	return res
}

// deployByHand releases HEAD as v1.3.0 and puts it into production the way
// ship's git-push deployer does, and journals it as ship would: the tests
// of rollback and status start from a shipped release without the cost of
// a ship.
func (p *project) deployByHand() (previous, release string) {
	p.t.Helper()
	previous = p.git(p.local, "rev-parse", "v1.2.0^{commit}")
	for _, name := range []string{"package.json", "VERSION"} {
		path := filepath.Join(p.work, name)
		data, err := os.ReadFile(path)
		require.NoError(p.t, err)
		require.NoError(p.t, os.WriteFile(path, []byte(strings.Replace(string(data), "1.2.0", "1.3.0", 1)), 0o644))
	}
	p.git(p.local, "commit", "--quiet", "--all", "-m", "chore(release): v1.3.0")
	release = p.git(p.local, "rev-parse", "HEAD")
	p.git(p.local, "tag", "--annotate", "--message=Release v1.3.0", "v1.3.0")
	p.git(p.local, "push", "--quiet", "origin", "HEAD:refs/heads/main", "refs/tags/v1.3.0", "HEAD:refs/heads/production")
	now := time.Now().UTC()
	res := &shipprod.Result{Outcome: shipprod.OutcomeShipped, StartedAt: now.Add(-time.Minute), FinishedAt: now,
		Release: shipprod.Release{Version: "1.3.0", PreviousVersion: "1.2.0", Tag: "v1.3.0", PreviousTag: "v1.2.0",
			Commit: release, PreviousCommit: previous, Branch: "main", Remote: "origin"},
		Deployment: &shipprod.Deployment{Provider: "git-push", ID: release, Commit: release, URL: p.prod.URL,
			Environment: "production", PreviousID: previous, StartedAt: now.Add(-30 * time.Second), FinishedAt: now.Add(-20 * time.Second),
			RollbackSteps: []string{"git push --force-with-lease=refs/heads/production:" + release + " origin " + previous + ":refs/heads/production"}},
		Steps: []shipprod.StepRecord{{Step: shipprod.StepVersion, Status: shipprod.StepDone}, {Step: shipprod.StepDeploy, Status: shipprod.StepDone}},
	}
	j, err := journal.InGitDir(context.Background(), p.work)
	require.NoError(p.t, err)
	require.NoError(p.t, j.Save(context.Background(), res))
	return previous, release
}

func TestRollbackRestoresTheReleaseBeforeAndRecordsIt(t *testing.T) {
	p := newProject(t)
	previous, release := p.deployByHand()

	code, out, errOut := p.run("rollback", "--yes", "--json")
	require.Equal(t, ExitOK, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
	lines := decodeContract(t, out)
	require.Len(t, lines, 1, "one line: the rollback's")
	require.Equal(t, SchemaRollback, lines[0].schema)
	got := lines[0].value.(*JSONRollbackRun)
	assert.Equal(t, "rolled-back", got.Outcome)
	require.NotNil(t, got.From)
	assert.Equal(t, release, got.From.Deployment.ID)
	assert.Equal(t, "v1.3.0", got.From.Release.Tag)
	assert.Equal(t, "deployer", got.From.Source, "git-push says what production runs")
	rb := got.Rollback
	require.NotNil(t, rb)
	assert.Equal(t, "v1.2.0", rb.Target.Tag)
	assert.Equal(t, previous, rb.Target.Commit)
	assert.Equal(t, previous, rb.Restored.ID)
	require.NotNil(t, rb.Health, "the restored release was health-checked")
	assert.True(t, rb.Health.Passed)
	assert.False(t, time.Time(rb.FinishedAt).Before(time.Time(rb.StartedAt)))
	assert.GreaterOrEqual(t, got.DurationMS, int64(0))
	assert.Empty(t, got.Error)
	assert.Empty(t, got.ManualSteps)
	assert.Equal(t, "rolled back by hand with shipprod rollback", rb.Reason)
	assert.Contains(t, got.Reports, "specs/"+demoFeature+"/production-ship-report.md")
	assert.Equal(t, previous, p.git(p.remote, "rev-parse", "refs/heads/production"))

	res := loadJournal(t, p)
	assert.Equal(t, shipprod.OutcomeRolledBack, res.Outcome)
	assert.Equal(t, "v1.3.0", res.Release.Tag, "the journal names the release rolled back")
	require.NotNil(t, res.Rollback)
	assert.Equal(t, previous, res.Rollback.Restored.ID)
	assert.Equal(t, []string{release}, deploymentIDs(res.RolledBackBuilds))
	last, ok := res.Step(shipprod.StepRollback)
	require.True(t, ok)
	assert.Equal(t, shipprod.StepDone, last.Status)
	assert.Empty(t, p.git(p.local, "status", "--porcelain", "--untracked-files=no", "--", "VERSION", "package.json"), "no version file changed")

}

func deploymentIDs(deps []shipprod.Deployment) []string {
	var ids []string
	for _, d := range deps {
		ids = append(ids, d.ID)
	}
	return ids
}

func TestRollbackAsksFirstAndChangesNothingWhenRefused(t *testing.T) {
	p := newProject(t)
	p.deployByHand()
	before := p.snapshot()
	var out, errOut strings.Builder
	code := (&App{Stdin: strings.NewReader("n\n"), Stdout: &out, Stderr: &errOut}).Run(context.Background(), []string{"rollback", "--dir", p.work})
	assert.Equal(t, ExitUsage, code, errOut.String())
	assert.Contains(t, out.String(), "Production runs v1.3.0 (git-push deployment ")
	assert.Contains(t, out.String(), "Rollback: restore v1.2.0 (commit ")
	assert.Contains(t, out.String(), "the release before v1.3.0")
	assert.Contains(t, out.String(), "then run the health checks of v1.2.0")
	assert.Contains(t, out.String(), "Roll production back to v1.2.0? [y/N]")
	assert.Contains(t, errOut.String(), "not confirmed, nothing was changed")
	assert.Equal(t, before, p.snapshot())
}

func TestRollbackRefusals(t *testing.T) {
	p := newProject(t)
	tests := []struct {
		name  string
		setup func(t *testing.T)
		args  []string
		code  int
		want  string
	}{
		{name: "a tag that does not exist", args: []string{"--to", "v9.9.9", "--yes"}, code: ExitUsage,
			want: "--to v9.9.9: tag v9.9.9 does not exist in this repository (the latest release tags are v1.2.0"},
		{name: "json without yes", args: []string{"--json"}, code: ExitUsage, want: "--json needs --yes"},
		{name: "nothing before the first release", args: []string{"--yes"}, code: ExitUsage,
			want: "no release tag comes before v1.2.0 in this repository's history: name the release to restore with --to"},
		{name: "production already runs it", setup: func(t *testing.T) { p.deployByHand() },
			args: []string{"--to", "v1.3.0", "--yes"}, code: ExitUsage, want: "production already runs v1.3.0 (as asked (--to)): nothing to roll back"},
		{name: "another run holds the lock", setup: func(t *testing.T) {
			path, err := lock.InGitDir(context.Background(), p.work)
			require.NoError(t, err)
			l, err := lock.Acquire(path, lock.Holder{Command: "shipprod ship", Doing: "monitor: Monitoring production"}, nil)
			require.NoError(t, err)
			t.Cleanup(func() { l.Release() })
		}, args: []string{"--to", "v1.2.0", "--yes"}, code: ExitFailed, want: "the repository is locked by another shipprod run: shipprod ship"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.setup != nil {
				tt.setup(t)
			}
			before := p.snapshot()
			code, out, errOut := p.run(append([]string{"rollback"}, tt.args...)...)
			assert.Equal(t, tt.code, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
			assert.Contains(t, errOut, tt.want)
			assert.Equal(t, before, p.snapshot(), "nothing changed")
			if slices.Contains(tt.args, "--json") {
				lines := decodeContract(t, out)
				require.Len(t, lines, 1, "a refusal writes only the error line")
				assert.Equal(t, tt.code, lines[0].value.(*JSONError).ExitCode)
			}
		})
	}
}

// deployOnly is a deployer without the rollback capability.
type deployOnly struct{ shipprod.Deployer }

func TestRollbackWithoutTheCapabilityPrintsTheManualProcedure(t *testing.T) {
	p := newProject(t)
	_, release := p.deployByHand()
	before := p.snapshot()
	var out, errOut strings.Builder
	app := &App{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errOut,
		Configure: func(pl *shipprod.Pipeline, _ *Config) error {
			pl.Deployer = deployOnly{pl.Deployer}
			return nil
		}}
	code := app.Run(context.Background(), []string{"rollback", "--yes", "--dir", p.work})
	assert.Equal(t, ExitFailed, code)
	assert.Contains(t, out.String(), "cannot roll back on its own")
	assert.Contains(t, out.String(), "To roll production back by hand:\n  1. git push --force-with-lease=refs/heads/production:"+release)
	assert.Contains(t, errOut.String(), "the deployer cannot roll back: roll production back by hand (the steps above)")
	assert.Equal(t, before, p.snapshot())

	out.Reset()
	errOut.Reset()
	code = app.Run(context.Background(), []string{"rollback", "--yes", "--json", "--dir", p.work})
	assert.Equal(t, ExitFailed, code)
	lines := decodeContract(t, out.String())
	require.Len(t, lines, 2, "the rollback line, then the error line")
	require.Equal(t, SchemaRollback, lines[0].schema)
	got := lines[0].value.(*JSONRollbackRun)
	assert.Equal(t, "manual", got.Outcome)
	assert.Nil(t, got.Rollback, "nothing was rolled back")
	require.NotNil(t, got.From)
	assert.Equal(t, release, got.From.Deployment.ID)
	require.Len(t, got.ManualSteps, 1)
	assert.True(t, strings.HasPrefix(got.ManualSteps[0], "git push --force-with-lease=refs/heads/production:"+release), got.ManualSteps[0])
	assert.Contains(t, got.Error, "roll production back by hand")
	e := lines[1].value.(*JSONError)
	assert.Equal(t, ExitFailed, e.ExitCode)
	assert.Equal(t, got.Error, e.Message)
	assert.Equal(t, before, p.snapshot())
}

// readingDeployer is the git-push deployer that can say what production
// runs: the head of the remote's production branch.
type readingDeployer struct {
	shipprod.Deployer
	remote *project
}

func (d readingDeployer) Rollback(ctx context.Context, failed shipprod.Deployment, to shipprod.Release) (shipprod.Deployment, error) {
	rb, _ := shipprod.DeployerAs[shipprod.Rollbacker](d.Deployer)
	return rb.Rollback(ctx, failed, to)
}

func (d readingDeployer) Production(ctx context.Context) (shipprod.Deployment, error) {
	sha, err := d.remote.remote.Run(ctx, "rev-parse", "refs/heads/production")
	return shipprod.Deployment{Provider: "git-push", ID: sha, Commit: sha}, err
}

// What production runs is asked of the deployer when it can tell, rather
// than taken from the journal: here someone put v1.2.0 back by hand after
// the journaled deploy of v1.3.0.
func TestRollbackAndStatusAskTheDeployerWhatProductionRuns(t *testing.T) {
	p := newProject(t)
	previous, _ := p.deployByHand()
	p.git(p.remote, "update-ref", "refs/heads/production", previous)
	app := func(out, errOut *strings.Builder) *App {
		return &App{Stdin: strings.NewReader(""), Stdout: out, Stderr: errOut,
			Configure: func(pl *shipprod.Pipeline, _ *Config) error {
				pl.Deployer = readingDeployer{Deployer: pl.Deployer, remote: p}
				return nil
			}}
	}
	var out, errOut strings.Builder
	code := app(&out, &errOut).Run(context.Background(), []string{"status", "--dir", p.work})
	require.Equal(t, ExitOK, code, errOut.String())
	assert.Contains(t, out.String(), "Production:  "+previous[:12]+" (git-push deployment "+previous[:12]+"), as the deployer says")

	before := p.snapshot()
	out.Reset()
	errOut.Reset()
	code = app(&out, &errOut).Run(context.Background(), []string{"rollback", "--to", "v1.2.0", "--yes", "--dir", p.work})
	assert.Equal(t, ExitUsage, code, out.String())
	assert.Contains(t, errOut.String(), "production already runs v1.2.0")
	assert.Equal(t, before, p.snapshot(), "the journal's v1.3.0 was not rolled back over the hand-made change")
}

// What production ran before the last deploy, as the deployer read it then
// (the journal's PreviousProduction), is restored rather than the previous
// release tag: here an untagged hotfix of 1.2.0.
func TestRollbackRestoresWhatProductionRanBefore(t *testing.T) {
	p := newProject(t)
	hotfix := p.git(p.local, "rev-parse", "HEAD~1")
	_, release := p.deployByHand()
	res := loadJournal(t, p)
	res.PreviousProduction = &shipprod.Deployment{Provider: "git-push", ID: hotfix, Commit: hotfix, Version: "1.2.0"}
	j, err := journal.InGitDir(context.Background(), p.work)
	require.NoError(t, err)
	require.NoError(t, j.Save(context.Background(), res))

	var out, errOut strings.Builder
	code := (&App{Stdin: strings.NewReader("y\n"), Stdout: &out, Stderr: &errOut}).Run(context.Background(), []string{"rollback", "--dir", p.work})
	require.Equal(t, ExitOK, code, "stdout:\n%s\nstderr:\n%s", out.String(), errOut.String())
	assert.Contains(t, out.String(), "Rollback: restore 1.2.0, what production ran before v1.3.0 was deployed,")
	assert.Contains(t, out.String(), "Roll production back to 1.2.0? [y/N]")
	assert.Equal(t, hotfix, p.git(p.remote, "rev-parse", "refs/heads/production"))
	assert.Equal(t, []string{release}, deploymentIDs(loadJournal(t, p).RolledBackBuilds))
}
