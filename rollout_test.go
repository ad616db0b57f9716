package shipprod_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shipprod/shipprod"
)

// shiftingDeployer is a deployer with a canary: it serves a share of
// traffic, moved by the rollout.
type shiftingDeployer struct {
	rollbackDeployer
	share *int
}

func (d shiftingDeployer) Traffic(context.Context, shipprod.Deployment) (int, error) {
	return *d.share, nil
}

func (d shiftingDeployer) ShiftTraffic(_ context.Context, dep shipprod.Deployment, percent int) error {
	if percent != *d.share {
		d.c.add(fmt.Sprintf("shift %d", percent))
	}
	*d.share = percent
	return nil
}

func (d shiftingDeployer) CompleteRollout(context.Context, shipprod.Deployment) error {
	d.c.add("complete")
	*d.share = 100
	return nil
}

func (d shiftingDeployer) AbortRollout(context.Context, shipprod.Deployment) error {
	d.c.add("abort")
	*d.share = 0
	return nil
}

// stageMonitor fails the stage whose share is in failAt.
type stageMonitor struct {
	*fakeMonitor
	failAt int
}

func (m stageMonitor) WatchStage(ctx context.Context, rel shipprod.Release, dep shipprod.Deployment, base shipprod.MonitorBaseline, st shipprod.StageInfo) (shipprod.MonitorReport, error) {
	m.c.add(fmt.Sprintf("watch stage %d (%s) for %s", st.Index+1, st.Stage, st.Stage.Watch))
	start := m.clock.Now()
	if err := m.clock.Sleep(ctx, st.Stage.Watch); err != nil {
		return shipprod.MonitorReport{}, err
	}
	r := shipprod.MonitorReport{StartedAt: start, FinishedAt: m.clock.Now(), Window: st.Stage.Watch, Verdict: shipprod.VerdictPassed, Reason: "all gates passed"}
	if st.Stage.Percent == m.failAt {
		r.Verdict, r.Reason = shipprod.VerdictFailed, "gate error-rate failed: value 4.1% vs threshold 1.4% (baseline 0.4%)"
	}
	return r, nil
}

func rolloutFixture(failAt int) (*fixture, *int) {
	f := newFixture()
	share := 5
	f.p.Deployer = shiftingDeployer{rollbackDeployer: rollbackDeployer{f.dep}, share: &share}
	f.p.Monitor = stageMonitor{fakeMonitor: f.monitor, failAt: failAt}
	f.p.Rollout = &shipprod.Rollout{Stages: []shipprod.RolloutStage{{Percent: 5, Watch: 5 * time.Minute}, {Percent: 25, Watch: 10 * time.Minute}, {Percent: 100}}}
	return f, &share
}

func TestHealthyReleaseMovesThroughTheStages(t *testing.T) {
	f, share := rolloutFixture(-1)
	plan, err := f.p.Plan(context.Background())
	require.NoError(t, err)
	var planned []string
	for _, a := range plan.Actions() {
		planned = append(planned, a.Description)
	}
	assert.Contains(t, strings.Join(planned, "\n"), "in stages (5% watched for 5m0s, 25% watched for 10m0s, 100%)")

	res, err := f.p.Run(context.Background())
	require.NoError(t, err)
	assert.Equal(t, shipprod.OutcomeShipped, res.Outcome)
	assert.Equal(t, 100, *share)
	calls := strings.Join(f.calls.list(), "\n")
	assert.Contains(t, calls, "watch stage 1 (5%) for 5m0s\nshift 25\nwatch stage 2 (25%) for 10m0s\ncomplete")
	require.NotNil(t, res.Rollout)
	assert.True(t, res.Rollout.Completed)
	require.Len(t, res.Rollout.Stages, 3)
	assert.Equal(t, shipprod.VerdictPassed, res.Rollout.Stages[2].Verdict)
	require.NotNil(t, res.Monitor, "the stages are the release's monitor")
	assert.Equal(t, 15*time.Minute, res.Monitor.Window)
	m, _ := res.Step(shipprod.StepMonitor)
	assert.Equal(t, "the rollout's stages are watched instead", m.Reason)
}

func TestFailedStageAbortsTheRollout(t *testing.T) {
	f, share := rolloutFixture(25)
	res, err := f.p.Run(context.Background())
	var me *shipprod.MonitorError
	require.ErrorAs(t, err, &me)
	assert.Contains(t, err.Error(), "stage 2 of 3 (25% of traffic) failed: gate error-rate failed")
	assert.Equal(t, shipprod.OutcomeRolledBack, res.Outcome)
	assert.Equal(t, 0, *share, "production is back on the previous release")
	assert.NotContains(t, strings.Join(f.calls.list(), ","), "complete")
	assert.True(t, res.Rollout.Aborted)
	assert.Equal(t, 1, res.Rollout.Current)
}

// A run killed during a stage resumes at that stage, never at a higher share.
func TestRunKilledDuringAStageResumesAtIt(t *testing.T) {
	f, share := rolloutFixture(-1)
	ctx, kill := context.WithCancel(context.Background())
	j := &killedAtStage{stage: 1, kill: kill}
	f.p.Journal = j
	_, _ = f.p.Run(ctx)
	require.True(t, j.dead)
	assert.Equal(t, 25, *share)

	f.ver.next = shipprod.Release{PreviousVersion: "1.3.0", PreviousTag: "v1.3.0", PreviousCommit: "c0ffee", Bump: shipprod.BumpNone}
	f.ver.nextErr = fmt.Errorf("no commits since v1.3.0: %w", shipprod.ErrNothingToRelease)
	f.p.Journal = &j.memJournal
	f.calls.log = nil
	res, err := f.p.Run(context.Background())
	require.NoError(t, err)
	calls := strings.Join(f.calls.list(), "\n")
	assert.NotContains(t, calls, "watch stage 1", "the passed stage is not watched again")
	assert.Contains(t, calls, "watch stage 2 (25%) for 10m0s\ncomplete")
	assert.True(t, res.Rollout.Completed)
}

// killedAtStage stops journaling (the process dies) once the given stage
// has been journaled as started, and ends that run.
type killedAtStage struct {
	memJournal
	stage int
	kill  context.CancelFunc
	dead  bool
}

func (j *killedAtStage) Save(ctx context.Context, res *shipprod.Result) error {
	if j.dead {
		return nil
	}
	err := j.memJournal.Save(ctx, res)
	if r := res.Rollout; r != nil && r.Current == j.stage {
		j.dead = true
		j.kill()
	}
	return err
}

// rolloutUserDeployer is a deployer whose platform holds the stages: it
// records the rollout the Pipeline tells it.
type rolloutUserDeployer struct {
	shiftingDeployer
	told *[]*shipprod.Rollout
}

func (d rolloutUserDeployer) UseRollout(r *shipprod.Rollout) { *d.told = append(*d.told, r) }

func TestPipelineTellsARolloutUserItsStagesBeforePlanAndRun(t *testing.T) {
	f, _ := rolloutFixture(-1)
	var told []*shipprod.Rollout
	f.p.Deployer = rolloutUserDeployer{shiftingDeployer: f.p.Deployer.(shiftingDeployer), told: &told}
	_, err := f.p.Plan(context.Background())
	require.NoError(t, err)
	require.Len(t, told, 1, "Plan told the deployer")
	assert.Same(t, f.p.Rollout, told[0])

	f.p.Rollout = nil
	_, err = f.p.Run(context.Background())
	require.NoError(t, err)
	require.Len(t, told, 2, "Run told the deployer")
	assert.Nil(t, told[1], "a pipeline without stages says so")
}
