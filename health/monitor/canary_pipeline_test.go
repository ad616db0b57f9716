package monitor_test

import (
	"context"
	"fmt"
	"regexp"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shipprod/shipprod"
	"github.com/shipprod/shipprod/health/monitor"
	"github.com/shipprod/shipprod/health/prometheus/promtest"
	"github.com/shipprod/shipprod/shipprodtest"
)

// canaryProduction is production with a canary: the new release gets a
// share of the traffic, moved on by the rollout, and the deployer says
// what production ran before (the baseline deployment).
type canaryProduction struct {
	*production
	share atomic.Int32
	mu    sync.Mutex
	calls []string
}

func (p *canaryProduction) note(call string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls = append(p.calls, call)
}

func (p *canaryProduction) Production(context.Context) (shipprod.Deployment, error) {
	p.production.mu.Lock()
	defer p.production.mu.Unlock()
	return shipprod.Deployment{Provider: "loopback", ID: "v" + p.version, Version: p.version, URL: p.srv.URL}, nil
}

func (p *canaryProduction) Traffic(context.Context, shipprod.Deployment) (int, error) {
	return int(p.share.Load()), nil
}

func (p *canaryProduction) ShiftTraffic(_ context.Context, _ shipprod.Deployment, percent int) error {
	p.note(fmt.Sprintf("shift %d", percent))
	p.share.Store(int32(percent))
	return nil
}

func (p *canaryProduction) CompleteRollout(context.Context, shipprod.Deployment) error {
	p.note("complete")
	p.share.Store(100)
	return nil
}

func (p *canaryProduction) AbortRollout(context.Context, shipprod.Deployment) error {
	p.note("abort")
	p.share.Store(0)
	return nil
}

// A release rolled out in stages, each judged canary against baseline: at
// 5% the canary is as good as the baseline and the rollout moves on; at
// 25% its error rate rises, the judge fails the stage, and the Pipeline
// aborts the rollout, sending all traffic back to the baseline.
func TestPipelineAbortsTheRolloutWhenTheCanaryDegrades(t *testing.T) {
	const (
		canaryV = `sum(rate(http_requests_total{deployment="v2.7.0",code=~"5.."}[1m])) / sum(rate(http_requests_total{deployment="v2.7.0"}[1m]))`
		stableV = `sum(rate(http_requests_total{deployment="v2.6.3",code=~"5.."}[1m])) / sum(rate(http_requests_total{deployment="v2.6.3"}[1m]))`
	)
	clock := shipprodtest.NewClock(start)
	prod := &canaryProduction{production: newProduction(t, "2.6.3")}
	prom := promtest.NewServer(t)
	healthy, degraded := wobble(0.004, 0.001, 0), wobble(0.03, 0.003, 0)
	prom.SetFunc(canaryV, func(n int) promtest.Response {
		if prod.share.Load() >= 25 {
			return degraded(n)
		}
		return healthy(n)
	})
	prom.SetFunc(stableV, wobble(0.004, 0.001, 1))
	rollout := &shipprod.Rollout{Stages: []shipprod.RolloutStage{{Percent: 5, Watch: 10 * time.Minute}, {Percent: 25, Watch: 10 * time.Minute}, {Percent: 100}}}
	mon, err := monitor.New(monitor.Config{Interval: time.Minute, Prometheus: monitor.PrometheusConfig{URL: prom.URL},
		Gates: []monitor.GateConfig{canaryGate()}}, monitor.Options{Clock: clock, Rollout: rollout})
	require.NoError(t, err)
	rec := &shipprodtest.Recorder{}
	p := &shipprod.Pipeline{Release: rel, Deployer: prod, Monitor: mon, Rollout: rollout, Clock: clock, Observer: rec}

	res, err := p.Run(context.Background())
	var merr *shipprod.MonitorError
	require.ErrorAs(t, err, &merr)
	assert.Regexp(t, `^production monitor failed: stage 2 of 3 \(25% of traffic\) failed: gate error-rate failed: canary score 0 \(critical gate\): `+
		`error-rate: canary \d\.\d+% vs baseline 0\.\d+% \(.*\) — high \(critical\); critical gate error-rate failed at 9m0s of 10m0s and ended the window$`, err.Error())
	assert.Equal(t, shipprod.OutcomeRolledBack, res.Outcome)
	assert.Equal(t, []string{"shift 5", "shift 25", "abort"}, prod.calls)
	assert.Equal(t, int32(0), prod.share.Load(), "all traffic is back on the baseline")
	require.NotNil(t, res.Rollout)
	assert.True(t, res.Rollout.Aborted)
	require.Len(t, res.Rollout.Stages, 2)
	assert.Equal(t, shipprod.VerdictPassed, res.Rollout.Stages[0].Verdict, res.Rollout.Stages[0].Reason)
	assert.Equal(t, shipprod.VerdictFailed, res.Rollout.Stages[1].Verdict)
	assert.Equal(t, start.Add(19*time.Minute), clock.Now(), "10 minutes at 5%, 9 at 25%")

	// Each measurement is told as progress, naming its stage.
	var lines []string
	measured := regexp.MustCompile(`^stage \d+/\d+ `)
	for _, e := range rec.Events() {
		if e.Kind == shipprod.EventProgress && measured.MatchString(e.Progress.Message) {
			lines = append(lines, e.Progress.Message)
		}
	}
	require.Len(t, lines, 21, "11 at 5%, 10 at 25%")
	assert.Regexp(t, `^stage 1/3 \(5%\): error-rate: canary 0\.\d+% vs baseline 0\.\d+% — 0s of 10m0s$`, lines[0])
	assert.Regexp(t, `^stage 2/3 \(25%\): error-rate: canary \d\.\d+% vs baseline 0\.\d+% — 3m0s of 10m0s$`, lines[14])
	assert.Regexp(t, `^stage 2/3 \(25%\): error-rate: canary score 0 \(critical gate\): .* — 9m0s of 10m0s$`, lines[20])
}
