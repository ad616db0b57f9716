package monitor_test

import (
	"context"
	"math"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shipprod/shipprod"
	"github.com/shipprod/shipprod/health/monitor"
	"github.com/shipprod/shipprod/health/prometheus"
	"github.com/shipprod/shipprod/shipprodtest"
)

// randomLatency is an in-process metrics source: each query answers a
// p95 latency drawn from a lognormal around 250 ms (20% spread), the
// canary's scaled by shift.
type randomLatency struct {
	mu    sync.Mutex
	r     *rand.Rand
	shift float64
}

func (s *randomLatency) Query(_ context.Context, q string, at time.Time) (prometheus.Result, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v := 0.25 * math.Exp(0.2*s.r.NormFloat64())
	if strings.Contains(q, "dpl_canary") {
		v *= s.shift
	}
	return prometheus.Result{Type: prometheus.ValueScalar, Samples: []prometheus.Sample{{Time: at, Value: v}}}, nil
}

func (s *randomLatency) Alerts(context.Context) ([]prometheus.Alert, error) { return nil, nil }

// hourStages runs an hour-long stage, a point a minute, over many seeds,
// and returns how many failed and at which minute each did.
func hourStages(t *testing.T, seeds int, shift float64) (failed int, at []time.Duration) {
	t.Helper()
	rollout := &shipprod.Rollout{Stages: []shipprod.RolloutStage{{Percent: 10, Watch: time.Hour}, {Percent: 100}}}
	for seed := range seeds {
		clock := shipprodtest.NewClock(start)
		m, err := monitor.New(monitor.Config{Interval: time.Minute, Gates: []monitor.GateConfig{{
			Name: "p95-latency", Query: `p95{deployment="{{.Deployment.ID}}"}`, Compare: monitor.CompareCanary, Unit: "seconds",
		}}}, monitor.Options{Clock: clock, Rollout: rollout, Metrics: &randomLatency{r: rand.New(rand.NewPCG(uint64(seed), 0x5eed)), shift: shift}})
		require.NoError(t, err)
		rep, err := m.WatchStage(context.Background(), rel, canaryDep, shipprod.MonitorBaseline{},
			shipprod.StageInfo{Of: 2, Stage: rollout.Stages[0], Baseline: &stableDep})
		require.NoError(t, err)
		if rep.Verdict == shipprod.VerdictFailed {
			failed++
			at = append(at, rep.FinishedAt.Sub(start))
		}
	}
	return failed, at
}

// The interim looks of an hour-long stage (at 10 points, then every tenth
// more) do not make a canary that is as good as the baseline fail more
// often than one judgement would allow: at most (1 − 0.98)/2 for the
// final judgement and as much again for all the looks together.
func TestInterimLooksKeepFalseFailuresRare(t *testing.T) {
	seeds := 200 // measured: none fails
	if raceEnabled || testing.Short() {
		// The race detector makes the judge ~8× slower; fewer hours still
		// run the looks under it.
		seeds = 40
	}
	failed, _ := hourStages(t, seeds, 1)
	t.Logf("%d of %d healthy canaries failed", failed, seeds)
	assert.LessOrEqual(t, failed, max(1, seeds/50), "2%% at most")
}

// A canary 30% slower than the baseline fails in nearly every seed, and
// nearly always at an interim look, before the stage's end (measured: all
// 50, 49 before the end, half of them by 23 minutes).
func TestInterimLooksFailASlowCanaryEarly(t *testing.T) {
	failed, at := hourStages(t, 50, 1.3)
	assert.GreaterOrEqual(t, failed, 48)
	early := 0
	for _, d := range at {
		if d < time.Hour {
			early++
		}
	}
	t.Logf("%d of 50 slow canaries failed, %d before the stage's end: %v", failed, early, at)
	assert.GreaterOrEqual(t, early, 45)
}
