package shipprod_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shipprod/shipprod"
)

// checkingDeployer can roll back, says what production runs, and has a
// pre-flight check and a promotion candidate.
type checkingDeployer struct {
	rollbackDeployer
	production   shipprod.Deployment
	preflightErr error
	candidate    string
}

func (d checkingDeployer) Production(context.Context) (shipprod.Deployment, error) {
	d.c.add("production")
	return d.production, nil
}

func (d checkingDeployer) Preflight(context.Context, shipprod.Release) error {
	d.c.add("preflight deployer")
	return d.preflightErr
}

func (d checkingDeployer) Candidate(context.Context, shipprod.Release) (shipprod.Deployment, error) {
	return shipprod.Deployment{ID: d.candidate}, nil
}

func withCheckingDeployer(f *fixture) *checkingDeployer {
	d := &checkingDeployer{rollbackDeployer: rollbackDeployer{f.dep}, candidate: "dpl_new",
		production: shipprod.Deployment{ID: "dpl_140", Version: "1.4.0", Tag: "v1.4.0", Commit: "c140"}}
	f.p.Deployer = d
	return d
}

func TestPreflightFailureStopsBeforeAnyChange(t *testing.T) {
	f := newFixture()
	d := withCheckingDeployer(f)
	d.preflightErr = errors.New("VERCEL_TOKEN is not valid for team acme: set team or VERCEL_ORG_ID")

	plan, err := f.p.Plan(context.Background())
	var pe *shipprod.PreflightError
	require.ErrorAs(t, err, &pe, "plan runs the pre-flight too")
	assert.NotEmpty(t, plan.Actions())
	require.Len(t, plan.Preflight, 2, "the plan lists each check it ran: the deployer's, and the build it would promote")
	assert.Equal(t, shipprod.StepDeploy, plan.Preflight[0].Step)
	assert.Contains(t, plan.Preflight[0].Error, "VERCEL_ORG_ID")
	assert.Equal(t, shipprod.PreflightCheck{Step: shipprod.StepDeploy, Impl: "fake (the build to promote)"}, plan.Preflight[1])

	d.preflightErr = nil
	plan, err = f.p.Plan(context.Background())
	require.NoError(t, err)
	require.Len(t, plan.Preflight, 2)
	assert.Equal(t, shipprod.PreflightCheck{Step: shipprod.StepDeploy, Impl: plan.Preflight[0].Impl}, plan.Preflight[0], "a check that passed has no error")
	assert.NotEmpty(t, plan.Preflight[0].Impl)
	d.preflightErr = errors.New("VERCEL_TOKEN is not valid for team acme: set team or VERCEL_ORG_ID")

	f.calls.log = nil
	res, err := f.p.Run(context.Background())
	require.ErrorAs(t, err, &pe)
	require.Len(t, pe.Failures, 1)
	assert.Equal(t, shipprod.StepDeploy, pe.Failures[0].Step)
	assert.Contains(t, err.Error(), "VERCEL_ORG_ID")
	assert.Equal(t, []string{"next", "preflight deployer"}, f.calls.list(), "nothing was applied, tagged or deployed")
	assert.Equal(t, shipprod.OutcomeFailed, res.Outcome)
	for _, s := range res.Steps[2:] {
		assert.Equal(t, shipprod.StepSkipped, s.Status, s.Step)
	}
}

func TestRollbackRestoresWhatProductionRan(t *testing.T) {
	f := newFixture()
	withCheckingDeployer(f)
	// The previous tag is v1.2.0, but production runs v1.4.0 (say v1.4.1
	// was rolled back, and v1.3.0 never shipped).
	f.health.unhealthy["1.3.0"] = true
	res, err := f.p.Run(context.Background())
	require.Error(t, err)
	assert.Equal(t, shipprod.OutcomeRolledBack, res.Outcome)
	calls := strings.Join(f.calls.list(), ",")
	assert.Contains(t, calls, "production,deploy v1.3.0", "production is read right before the deploy")
	assert.Contains(t, calls, "rollback dep-1.3.0 to v1.4.0")
	assert.Contains(t, calls, "health 1.4.0 dep-1.4.0", "the restored version is the one health-checked")
	require.NotNil(t, res.PreviousProduction)
	assert.Equal(t, "v1.4.0", res.Rollback.Target.Tag)
	rb, _ := res.Step(shipprod.StepRollback)
	assert.Equal(t, "Rolling back to v1.4.0", rb.Title)
	assert.Equal(t, []string{"dep-1.3.0"}, deploymentIDs(res.RolledBackBuilds))
	assert.False(t, res.Rollback.Manual, "the Pipeline rolled back on its own")
}

func deploymentIDs(deps []shipprod.Deployment) []string {
	var ids []string
	for _, d := range deps {
		ids = append(ids, d.ID)
	}
	return ids
}

func TestRolledBackBuildIsNotPromotedAgain(t *testing.T) {
	f := newFixture()
	d := withCheckingDeployer(f)
	j := &memJournal{}
	f.p.Journal = j
	d.candidate = "dep-1.3.0"
	f.health.unhealthy["1.3.0"] = true
	res, err := f.p.Run(context.Background())
	require.Error(t, err)
	require.Equal(t, shipprod.OutcomeRolledBack, res.Outcome)

	// The next release finds the same build to promote.
	f.health.unhealthy["1.3.1"] = false
	f.ver.next = shipprod.Release{Version: "1.3.1", PreviousVersion: "1.3.0", Tag: "v1.3.1", PreviousTag: "v1.3.0", Bump: shipprod.BumpPatch}
	f.calls.log = nil
	res, err = f.p.Run(context.Background())
	var pe *shipprod.PreflightError
	require.ErrorAs(t, err, &pe)
	assert.Contains(t, err.Error(), "deployment dep-1.3.0 (v1.3.0) was rolled back as unhealthy by an earlier run")
	assert.Contains(t, err.Error(), "--allow-rolled-back")
	assert.NotContains(t, f.calls.list(), "apply 1.3.1")
	assert.Equal(t, []string{"dep-1.3.0"}, deploymentIDs(res.RolledBackBuilds), "the list is kept from run to run")

	f.p.AllowRolledBack = true
	res, err = f.p.Run(context.Background())
	require.NoError(t, err)
	assert.Equal(t, shipprod.OutcomeShipped, res.Outcome)
	assert.Contains(t, strings.Join(res.Warnings, "\n"), "promoting it again as asked")
}

// crashingJournal stops recording once a step starts running, as if the
// process died right there.
type crashingJournal struct {
	memJournal
	at      shipprod.StepName
	crashed bool
}

func (j *crashingJournal) Save(ctx context.Context, res *shipprod.Result) error {
	if j.crashed {
		return nil
	}
	if n := len(res.Steps); n > 0 && res.Steps[n-1].Step == j.at && res.Steps[n-1].Status == shipprod.StepRunning {
		j.crashed = true
	}
	return j.memJournal.Save(ctx, res)
}

// A run killed while it rolled back is resumed as a rollback, never as a
// release to check (and ship) again.
func TestRunKilledDuringTheRollbackResumesTheRollback(t *testing.T) {
	f := newFixture()
	withCheckingDeployer(f)
	j := &crashingJournal{at: shipprod.StepRollback}
	f.p.Journal = j
	f.health.unhealthy["1.3.0"] = true
	_, _ = f.p.Run(context.Background())
	require.True(t, j.crashed)

	// The release's tag exists now: the versioner finds nothing to release.
	f.ver.next = shipprod.Release{PreviousVersion: "1.3.0", PreviousTag: "v1.3.0", PreviousCommit: "c0ffee", Bump: shipprod.BumpNone}
	f.ver.nextErr = errors.Join(errors.New("no commits since v1.3.0"), shipprod.ErrNothingToRelease)
	f.health.unhealthy["1.3.0"] = false // whatever the release looks like now
	f.p.Journal = &j.memJournal
	f.calls.log = nil
	res, err := f.p.Run(context.Background())
	var hce *shipprod.HealthCheckError
	require.ErrorAs(t, err, &hce, "the verdict of the resumed run stands")
	assert.Equal(t, shipprod.OutcomeRolledBack, res.Outcome)
	assert.NotContains(t, f.calls.list(), "health 1.3.0 dep-1.3.0", "the release is not checked again")
	assert.Contains(t, f.calls.list(), "rollback dep-1.3.0 to v1.4.0", "the rollback goes to what production ran before the deploy")
	h, _ := res.Step(shipprod.StepHealth)
	assert.Equal(t, "production was found unhealthy by the run this one resumes", h.Reason)
}

type fakeNotifier struct {
	c    *calls
	sent []shipprod.Result
	err  error
}

func (n *fakeNotifier) Notify(_ context.Context, res shipprod.Result) error {
	n.c.add("notify " + string(res.Outcome))
	n.sent = append(n.sent, res)
	return n.err
}

func TestNotifierHearsEveryOutcome(t *testing.T) {
	t.Run("blocked", func(t *testing.T) {
		f := newFixture()
		n := &fakeNotifier{c: f.calls}
		f.p.Notifier = n
		f.p.Gates = blockedGate()
		_, err := f.p.Run(context.Background())
		require.Error(t, err)
		assert.Equal(t, []string{"notify blocked"}, f.calls.list())
		assert.Contains(t, n.sent[0].Error, "blocked by release gates")
	})
	t.Run("rolled back, and a failed notification is only a warning", func(t *testing.T) {
		f := newFixture()
		n := &fakeNotifier{c: f.calls, err: errors.New("webhook answered 500")}
		f.p.Notifier = n
		f.health.unhealthy["1.3.0"] = true
		res, _ := f.p.Run(context.Background())
		assert.Equal(t, shipprod.OutcomeRolledBack, res.Outcome)
		assert.Equal(t, "notify rolled-back", f.calls.list()[len(f.calls.list())-1])
		assert.Contains(t, strings.Join(res.Warnings, "\n"), "webhook answered 500")
	})
}

func blockedGate() shipprod.GateSource {
	return gateFunc(func(context.Context) (shipprod.GateReport, error) {
		return shipprod.GateReport{Gates: []shipprod.GateResult{{Name: "staging_validation", Found: "pending", Required: "approved", Key: "k"}}}, nil
	})
}

type gateFunc func(context.Context) (shipprod.GateReport, error)

func (g gateFunc) CheckGates(ctx context.Context) (shipprod.GateReport, error) { return g(ctx) }

func TestRunPlanDoesNotDecideAgain(t *testing.T) {
	f := newFixture()
	plan, err := f.p.Plan(context.Background())
	require.NoError(t, err)
	// A commit lands while the user reads the plan: the versioner would now
	// decide another version.
	f.ver.next = shipprod.Release{Version: "2.0.0", PreviousVersion: "1.2.0", Tag: "v2.0.0", PreviousTag: "v1.2.0", Bump: shipprod.BumpMajor}
	res, err := f.p.RunPlan(context.Background(), plan)
	require.NoError(t, err)
	assert.Equal(t, "1.3.0", res.Release.Version, "the confirmed plan runs")
	assert.Equal(t, 1, strings.Count(strings.Join(f.calls.list(), ","), "next"), "the history is read once")

	_, err = f.p.RunPlan(context.Background(), &shipprod.Plan{})
	require.Error(t, err, "a plan not made by Plan is refused")
}

func TestDeploymentWithoutAnIDIsNotShipped(t *testing.T) {
	f := newFixture()
	f.p.Deployer = emptyDeployer{}
	res, err := f.p.Run(context.Background())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "returned a deployment without an id")
	assert.Equal(t, shipprod.OutcomeFailed, res.Outcome)
}

type emptyDeployer struct{}

func (emptyDeployer) Deploy(context.Context, shipprod.Release) (shipprod.Deployment, error) {
	return shipprod.Deployment{}, nil
}

func TestNoDeployerIsReleasedNotShipped(t *testing.T) {
	f := newFixture()
	f.p.Deployer = nil
	res, err := f.p.Run(context.Background())
	require.NoError(t, err)
	assert.Equal(t, shipprod.OutcomeReleased, res.Outcome)
	assert.Contains(t, res.Warnings, "no Deployer is configured: the release is tagged and published, not deployed")
	plan, err := f.p.Plan(context.Background())
	require.NoError(t, err)
	assert.Contains(t, plan.Warnings, "no Deployer is configured: the release is tagged and published, not deployed")
}

func TestNotifyPolicyWithoutANotifierIsRefused(t *testing.T) {
	f := newFixture()
	f.p.OnFailure = shipprod.PolicyNotify
	_, err := f.p.Plan(context.Background())
	var pe *shipprod.PreflightError
	require.ErrorAs(t, err, &pe)
	assert.Contains(t, err.Error(), "the failure policy is notify, but no Notifier is configured")
	f.calls.log = nil
	_, err = f.p.Run(context.Background())
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, []string{"next"}, f.calls.list(), "nothing changed")
}

// After a rejected push and `git pull --rebase`, HEAD is a new commit: the
// journaled release commit must not be pushed again (it would be rejected
// again, for ever).
func TestJournaledReleaseOnAnotherCommitIsNotResumed(t *testing.T) {
	f := newFixture()
	j := &memJournal{}
	f.p.Journal = j
	f.ver.next.Base = "base0"
	f.p.Tagger = rejectingTagger{f.calls}
	_, err := f.p.Run(context.Background())
	require.Error(t, err)

	f.p.Tagger = fakeTagger{f.calls}
	f.ver.next.Base = "rebased" // the same version decided again, on the rebased commit
	f.calls.log = nil
	res, err := f.p.Run(context.Background())
	require.NoError(t, err)
	assert.Contains(t, f.calls.list(), "apply 1.3.0", "the release is applied on the new HEAD")
	assert.Contains(t, strings.Join(res.Warnings, "\n"), "its release commit c0ffee is no longer HEAD")
}

type rejectingTagger struct{ c *calls }

func (r rejectingTagger) Tag(ctx context.Context, rel shipprod.Release) (shipprod.Release, error) {
	r.c.add("tag rejected")
	return rel, &shipprod.PushRejectedError{Remote: "origin", Refs: []string{"refs/heads/main"}, Reason: "fetch first"}
}

// followingDeployer reports the build the platform accepted, then waits.
type followingDeployer struct {
	*fakeDeployer
	hang bool
}

func (d followingDeployer) Deploy(ctx context.Context, rel shipprod.Release) (shipprod.Deployment, error) {
	d.c.add("deploy " + rel.Tag)
	shipprod.ReportAccepted(ctx, shipprod.Deployment{Provider: "fake", ID: "build-42"})
	if d.hang {
		<-ctx.Done() // the process is killed while the build runs
		return shipprod.Deployment{}, ctx.Err()
	}
	return shipprod.Deployment{Provider: "fake", ID: "build-42"}, nil
}

func (d followingDeployer) Follow(ctx context.Context, acc shipprod.Deployment, rel shipprod.Release) (shipprod.Deployment, error) {
	d.c.add("follow " + acc.ID)
	return acc, nil
}

// killedWhenAccepted is a journal whose process dies as soon as the
// accepted deployment is journaled: nothing more is saved.
type killedWhenAccepted struct {
	memJournal
	kill context.CancelFunc
	dead bool
}

func (j *killedWhenAccepted) Save(ctx context.Context, res *shipprod.Result) error {
	if j.dead {
		return nil
	}
	err := j.memJournal.Save(ctx, res)
	if res.Accepted != nil {
		j.dead = true
		j.kill()
	}
	return err
}

// A deployment the platform accepted is followed on resume, never started
// twice.
func TestAcceptedDeploymentIsFollowedOnResume(t *testing.T) {
	f := newFixture()
	j := &killedWhenAccepted{}
	f.p.Journal = j
	f.p.Deployer = followingDeployer{fakeDeployer: f.dep, hang: true}
	ctx, kill := context.WithCancel(context.Background())
	j.kill = kill
	_, _ = f.p.Run(ctx)
	saved, err := j.Load(context.Background())
	require.NoError(t, err)
	require.NotNil(t, saved.Accepted)

	f.p.Deployer = followingDeployer{fakeDeployer: f.dep}
	f.ver.next = shipprod.Release{PreviousVersion: "1.3.0", PreviousTag: "v1.3.0", PreviousCommit: "c0ffee", Bump: shipprod.BumpNone}
	f.ver.nextErr = errors.Join(errors.New("no commits since v1.3.0"), shipprod.ErrNothingToRelease)
	f.calls.log = nil
	res, err := f.p.Run(context.Background())
	require.NoError(t, err)
	assert.Equal(t, shipprod.OutcomeShipped, res.Outcome)
	assert.Contains(t, f.calls.list(), "follow build-42")
	assert.NotContains(t, strings.Join(f.calls.list(), ","), "deploy v1.3.0", "the deployment is not started twice")
	assert.Equal(t, "build-42", res.Deployment.ID)
}

type recoveringVersioner struct {
	*fakeVersioner
}

func (v *recoveringVersioner) RecoverApply(_ context.Context, rel shipprod.Release) (string, error) {
	v.c.add("recover " + rel.Version)
	return "restored VERSION, which the cut-short run had written", nil
}

// A run killed while it applied its release is cleaned up before the next
// decision, by the Versioner.
func TestRunKilledDuringTheBumpIsCleanedUp(t *testing.T) {
	f := newFixture()
	v := &recoveringVersioner{fakeVersioner: f.ver}
	f.p.Versioner = v
	j := &crashingJournal{at: shipprod.StepVersion}
	f.p.Journal = j
	_, _ = f.p.Run(context.Background())
	require.True(t, j.crashed)

	f.p.Journal = &j.memJournal
	f.calls.log = nil
	res, err := f.p.Run(context.Background())
	require.NoError(t, err)
	assert.Equal(t, []string{"recover 1.3.0", "next", "apply 1.3.0"}, f.calls.list()[:3])
	assert.Contains(t, res.Warnings, "restored VERSION, which the cut-short run had written")

	f.calls.log = nil
	_, err = f.p.Plan(context.Background())
	require.NoError(t, err)
	assert.NotContains(t, f.calls.list(), "recover 1.3.0", "plan changes nothing")
}

// preflightReporter is a Reporter with a pre-flight check.
type preflightReporter struct{ *fakeReporter }

func (r preflightReporter) Preflight(context.Context, shipprod.Release) error {
	r.c.add("preflight reporter")
	return nil
}

// The report and the final report are one Reporter: the pre-flight asks it
// once, even when it is a list of Reporters (a slice, which Go cannot
// compare).
func TestPreflightAsksEachImplementationOnce(t *testing.T) {
	f := newFixture()
	f.p.Reporter = shipprod.Reporters(preflightReporter{f.reporter})
	plan, err := f.p.Plan(context.Background())
	require.NoError(t, err)
	assert.Equal(t, []string{"next", "preflight reporter"}, f.calls.list())
	require.Len(t, plan.Preflight, 1)
	assert.Equal(t, shipprod.StepReport, plan.Preflight[0].Step)
}

// A program rolls back by hand with Pipeline.Rollback: the deployer's
// rollback, then the health checks of the release restored.
func TestPipelineRollbackByHand(t *testing.T) {
	f := newFixture()
	failed := shipprod.Deployment{Provider: "fake", ID: "dep-1.3.0"}
	to := shipprod.Release{Version: "1.2.0", Tag: "v1.2.0"}
	report, err := f.p.Rollback(context.Background(), failed, to, "checkout errors")
	require.NoError(t, err)
	assert.Equal(t, []string{"rollback dep-1.3.0 to v1.2.0", "health 1.2.0 dep-1.2.0"}, f.calls.list())
	assert.True(t, report.Manual)
	assert.Equal(t, "checkout errors", report.Reason)
	assert.Equal(t, "dep-1.2.0", report.Restored.ID)
	require.NotNil(t, report.Health)
	assert.True(t, report.Health.OK())

	f.health.unhealthy["1.2.0"] = true
	report, err = f.p.Rollback(context.Background(), failed, to, "")
	var hc *shipprod.HealthCheckError
	require.ErrorAs(t, err, &hc, "the restored release is unhealthy too")
	assert.Equal(t, "dep-1.2.0", report.Restored.ID, "production was rolled back all the same")

	f.p.Deployer = f.dep // no rollback capability
	f.calls.log = nil
	report, err = f.p.Rollback(context.Background(), failed, to, "")
	require.ErrorIs(t, err, shipprod.ErrCannotRollback)
	assert.Empty(t, f.calls.list(), "nothing was asked of the deployer")
	assert.Equal(t, "deployer fake: the deployer cannot roll back", report.Error, "the report names the deployer")
}
