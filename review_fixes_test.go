package shipprod_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shipprod/shipprod"
)

// nothingNew makes the versioner find nothing to release: the release the
// last run made is tagged, so a resumed run is all that is left to do.
func nothingNew(f *fixture) {
	f.ver.next = shipprod.Release{PreviousVersion: "1.3.0", PreviousTag: "v1.3.0", PreviousCommit: "c0ffee", Bump: shipprod.BumpNone}
	f.ver.nextErr = fmt.Errorf("no commits since v1.3.0: %w", shipprod.ErrNothingToRelease)
}

// inconclusiveAt is a stage monitor that cannot judge the stage at one share.
type inconclusiveAt struct {
	stageMonitor
	percent int
}

func (m inconclusiveAt) WatchStage(ctx context.Context, rel shipprod.Release, dep shipprod.Deployment, base shipprod.MonitorBaseline, st shipprod.StageInfo) (shipprod.MonitorReport, error) {
	r, err := m.stageMonitor.WatchStage(ctx, rel, dep, base, st)
	if st.Stage.Percent == m.percent {
		r.Verdict, r.Reason = shipprod.VerdictInconclusive, "no data for error-rate"
	}
	return r, err
}

// refusingShift fails to shift traffic to one share.
type refusingShift struct {
	shiftingDeployer
	percent int
}

func (d refusingShift) ShiftTraffic(ctx context.Context, dep shipprod.Deployment, percent int) error {
	if percent == d.percent {
		return errors.New("vercel: 500 internal error")
	}
	return d.shiftingDeployer.ShiftTraffic(ctx, dep, percent)
}

// A rollout that cannot go on (a stage that cannot be judged, a shift the
// platform refuses) fails the run where it is — never "shipped" — and the
// next run resumes it at that stage.
func TestRolloutThatCannotGoOnFailsAndIsResumed(t *testing.T) {
	for _, tc := range []struct {
		name      string
		setup     func(f *fixture)
		share     int
		errSays   string
		resumeLog string
	}{
		{"stage not judged", func(f *fixture) {
			f.p.Monitor = inconclusiveAt{stageMonitor: f.p.Monitor.(stageMonitor), percent: 25}
		}, 25, "stage 2 of 3 (25%) could not be judged (inconclusive): no data for error-rate; the rollout stays at 25%",
			"watch stage 2 (25%) for 10m0s\ncomplete"},
		{"shift refused", func(f *fixture) {
			f.p.Deployer = refusingShift{shiftingDeployer: f.p.Deployer.(shiftingDeployer), percent: 25}
		}, 5, "stage 2 of 3 (25%): vercel: 500 internal error",
			"shift 25\nwatch stage 2 (25%) for 10m0s\ncomplete"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, share := rolloutFixture(-1)
			f.p.Journal = &memJournal{}
			tc.setup(f)
			res, err := f.p.Run(context.Background())
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.errSays)
			assert.Equal(t, shipprod.OutcomeFailed, res.Outcome)
			assert.Equal(t, tc.share, *share, "the rollout stays where it was")
			assert.Empty(t, res.Unhealthy, "nothing was rolled back")

			// The next run: the stage is judged, the platform answers.
			nothingNew(f)
			f.p.Monitor = stageMonitor{fakeMonitor: f.monitor, failAt: -1}
			if d, ok := f.p.Deployer.(refusingShift); ok {
				f.p.Deployer = d.shiftingDeployer
			}
			f.calls.log = nil
			res, err = f.p.Run(context.Background())
			require.NoError(t, err)
			assert.Equal(t, shipprod.OutcomeShipped, res.Outcome)
			assert.Equal(t, 100, *share)
			calls := strings.Join(f.calls.list(), "\n")
			assert.Contains(t, calls, tc.resumeLog, "it goes on at stage 2")
			assert.NotContains(t, calls, "watch stage 1", "the passed stage is not watched again")
			assert.NotContains(t, calls, "deploy", "nothing is deployed again")
		})
	}
}

// A run killed after its rollout completed does not send traffic back to
// the first stage when it is resumed.
func TestRunKilledAfterTheRolloutCompletedKeepsIt(t *testing.T) {
	f, share := rolloutFixture(-1)
	j := &crashingJournal{at: shipprod.StepFinalReport}
	f.p.Journal = j
	_, _ = f.p.Run(context.Background())
	require.True(t, j.crashed)
	require.Equal(t, 100, *share)

	nothingNew(f)
	f.p.Journal = &j.memJournal
	f.calls.log = nil
	res, err := f.p.Run(context.Background())
	require.NoError(t, err)
	assert.Equal(t, shipprod.OutcomeShipped, res.Outcome)
	assert.Equal(t, 100, *share)
	calls := strings.Join(f.calls.list(), "\n")
	assert.NotContains(t, calls, "shift", "no traffic moved")
	assert.NotContains(t, calls, "watch stage", "no stage watched again")
	require.NotNil(t, res.Rollout)
	assert.True(t, res.Rollout.Completed)
	require.NotNil(t, res.Monitor, "the stages' verdict is kept")
	assert.Equal(t, shipprod.VerdictPassed, res.Monitor.Verdict)
}

// A deploy that failed after changing production, then a run killed during
// its rollback: the resumed run finishes the rollback to what production
// ran before, without deploying the failed release again.
func TestResumedRollbackOfAChangedDeployDoesNotDeployAgain(t *testing.T) {
	f := newFixture()
	withCheckingDeployer(f)
	f.dep.err, f.dep.changed = errors.New("CI run for production failed"), true
	j := &crashingJournal{at: shipprod.StepRollback}
	f.p.Journal = j
	_, _ = f.p.Run(context.Background())
	require.True(t, j.crashed)

	nothingNew(f)
	f.dep.err, f.dep.changed = nil, false
	f.p.Journal = &j.memJournal
	f.calls.log = nil
	res, err := f.p.Run(context.Background())
	require.Error(t, err)
	assert.Equal(t, shipprod.OutcomeRolledBack, res.Outcome)
	calls := f.calls.list()
	assert.NotContains(t, strings.Join(calls, "\n"), "deploy v1.3.0", "the failed release is not deployed again")
	assert.Contains(t, calls, "rollback dep-1.3.0 to v1.4.0", "the target is still what production ran before the deploy")
	d, _ := res.Step(shipprod.StepDeploy)
	assert.Equal(t, "production was found unhealthy by the run this one resumes", d.Reason)
}

// The first report is often the only one: it says why the release is not
// verified, and what failed.
func TestFirstReportSaysWhatTheRunWouldEndWith(t *testing.T) {
	t.Run("nothing verified it", func(t *testing.T) {
		f := newFixture()
		f.p.Monitor, f.p.Health = nil, nil
		res, _ := f.p.Run(context.Background())
		require.Equal(t, shipprod.OutcomeNotVerified, res.Outcome)
		require.NotEmpty(t, f.reporter.written)
		last := f.reporter.written[len(f.reporter.written)-1]
		assert.Equal(t, res.NotVerified, last.NotVerified)
		assert.Contains(t, strings.Join(last.NotVerified, "\n"), "nothing verified the release")
	})
	t.Run("health checks failed", func(t *testing.T) {
		f := newFixture()
		f.p.Deployer = rollbackDeployer{f.dep}
		f.p.Monitor = nil
		f.health.unhealthy["1.3.0"] = true
		res, _ := f.p.Run(context.Background())
		require.Equal(t, shipprod.OutcomeRolledBack, res.Outcome)
		require.NotEmpty(t, f.reporter.written)
		assert.Contains(t, f.reporter.written[0].Error, "health", "the report says why production was rolled back")
	})
}

// Aborting a rollout is a rollback like any other: the restored release is
// health-checked and the Tagger undoes its part.
func TestAbortedRolloutIsCheckedAndUndoneAsAnyRollback(t *testing.T) {
	f, _ := rolloutFixture(25)
	f.p.Tagger = undoingTagger{fakeTagger: fakeTagger{f.calls}}
	res, err := f.p.Run(context.Background())
	require.Error(t, err)
	assert.Equal(t, shipprod.OutcomeRolledBack, res.Outcome)
	require.NotNil(t, res.Rollback)
	assert.Equal(t, []string{"deleted tag v1.3.0"}, res.Rollback.Notes)
	require.NotNil(t, res.Rollback.Health, "the restored release was checked")
	assert.Contains(t, strings.Join(f.calls.list(), "\n"), "abort\nhealth 1.2.0")
	assert.Contains(t, f.calls.list(), "after rollback v1.3.0 restored "+res.Rollback.Restored.ID)
}

// candidateDeployer promotes an existing build and has no pre-flight of
// its own.
type candidateDeployer struct{ *fakeDeployer }

func (c candidateDeployer) Candidate(context.Context, shipprod.Release) (shipprod.Deployment, error) {
	return shipprod.Deployment{ID: "dpl_bad"}, nil
}

// The Pipeline's own checks run even when no step implementation has a
// pre-flight of its own, in Plan and Run, before anything changes.
func TestPipelineChecksRunWithoutAnyPreflighter(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(f *fixture)
		step  shipprod.StepName
		says  string
	}{
		{"stages that do not end at 100%", func(f *fixture) { f.p.Rollout.Stages[2].Percent = 90 },
			shipprod.StepRollout, "rollout.stages: the last stage sends 90% of traffic; it must be 100"},
		{"watched stages without a monitor", func(f *fixture) { f.p.Monitor = nil },
			shipprod.StepRollout, "rollout.stages watch production, but no Monitor is configured to watch them: configure one, or give the stages no watch"},
		{"a build rolled back before", func(f *fixture) {
			f.p.Rollout = nil
			f.p.Deployer = candidateDeployer{f.dep}
			j := &memJournal{}
			require.NoError(t, j.Save(context.Background(), &shipprod.Result{Outcome: shipprod.OutcomeRolledBack,
				Release: shipprod.Release{Version: "1.2.9"}, RolledBackBuilds: []shipprod.Deployment{{ID: "dpl_bad", Tag: "v1.2.9"}}}))
			f.p.Journal = j
		}, shipprod.StepDeploy, "deployment dpl_bad (v1.2.9) was rolled back as unhealthy by an earlier run"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, share := rolloutFixture(-1)
			tc.setup(f)
			plan, err := f.p.Plan(context.Background())
			var pe *shipprod.PreflightError
			require.ErrorAs(t, err, &pe)
			require.Len(t, pe.Failures, 1)
			assert.Equal(t, tc.step, pe.Failures[0].Step)
			assert.Contains(t, pe.Failures[0].Err.Error(), tc.says)
			assert.Contains(t, fmt.Sprint(plan.Preflight), tc.says, "the plan lists the failed check")

			f.calls.log = nil
			res, err := f.p.Run(context.Background())
			require.ErrorAs(t, err, &pe)
			assert.Equal(t, shipprod.OutcomeFailed, res.Outcome)
			assert.Equal(t, []string{"next"}, f.calls.list(), "nothing was applied, tagged or deployed")
			assert.Equal(t, 5, *share, "no traffic moved")
		})
	}
}

// wrappedReporters is a comparable struct holding a value that is not (the
// slice behind shipprod.Reporters), with a pre-flight check.
type wrappedReporters struct{ shipprod.Reporter }

func (wrappedReporters) Preflight(context.Context, shipprod.Release) error { return nil }

func TestPreflightAsksAWrappedReportersListOnce(t *testing.T) {
	f := newFixture()
	f.p.Reporter = wrappedReporters{shipprod.Reporters(f.reporter)}
	plan, err := f.p.Plan(context.Background())
	require.NoError(t, err, "comparing the two reports' implementations must not panic")
	var asked []shipprod.StepName
	for _, c := range plan.Preflight {
		asked = append(asked, c.Step)
	}
	assert.Equal(t, []shipprod.StepName{shipprod.StepReport}, asked, "both reports use one Reporter: it is asked once")
}

// A program that shows the plan before running it (ship without --yes)
// cleans up a cut-short bump with Recover first; RunPlan cleans up too.
func TestRecoverBeforeAPlanThatIsRun(t *testing.T) {
	f := newFixture()
	f.p.Versioner = &recoveringVersioner{fakeVersioner: f.ver}
	j := &crashingJournal{at: shipprod.StepVersion}
	f.p.Journal = j
	_, _ = f.p.Run(context.Background())
	require.True(t, j.crashed)
	f.p.Journal = &j.memJournal

	f.calls.log = nil
	_, err := f.p.Plan(context.Background())
	require.NoError(t, err)
	assert.NotContains(t, f.calls.list(), "recover 1.3.0", "plan changes nothing")

	f.calls.log = nil
	note, err := f.p.Recover(context.Background())
	require.NoError(t, err)
	assert.Equal(t, "restored VERSION, which the cut-short run had written", note)
	assert.Equal(t, []string{"recover 1.3.0"}, f.calls.list())

	plan, err := f.p.Plan(context.Background())
	require.NoError(t, err)
	f.calls.log = nil
	res, err := f.p.RunPlan(context.Background(), plan)
	require.NoError(t, err)
	assert.Equal(t, shipprod.OutcomeShipped, res.Outcome)
	assert.Equal(t, []string{"recover 1.3.0", "apply 1.3.0"}, f.calls.list()[:2], "RunPlan cleans up before it applies, as Run does")

	f.calls.log = nil
	note, err = f.p.Recover(context.Background())
	require.NoError(t, err)
	assert.Empty(t, note, "the run ended: nothing left to clean up")
	assert.Empty(t, f.calls.list())
}

func TestResultSaysWhetherItIsResumableAndChangedAnything(t *testing.T) {
	f := newFixture()
	f.dep.err = errors.New("production branch is protected")
	res, _ := f.p.Run(context.Background())
	assert.True(t, res.Resumable(), "released, then failed: the next run resumes it")
	assert.True(t, res.MadeChanges(), "its version commit and tag exist")

	f = newFixture()
	f.p.Gates = blockedGate()
	res, _ = f.p.Run(context.Background())
	assert.False(t, res.Resumable())
	assert.False(t, res.MadeChanges())

	f = newFixture()
	res, err := f.p.Run(context.Background())
	require.NoError(t, err)
	assert.False(t, res.Resumable(), "it shipped")
	assert.True(t, res.MadeChanges())
}
