package monitor_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shipprod/shipprod"
	"github.com/shipprod/shipprod/health"
	"github.com/shipprod/shipprod/health/monitor"
	"github.com/shipprod/shipprod/health/prometheus/promtest"
	"github.com/shipprod/shipprod/shipprodtest"
)

// production is a loopback service that serves whichever version is
// deployed, and a deployer that switches it (and back, on rollback).
type production struct {
	mu        sync.Mutex
	version   string
	rollbacks int
	srv       *httptest.Server
}

func newProduction(t *testing.T, version string) *production {
	p := &production{version: version}
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		defer p.mu.Unlock()
		switch r.URL.Path {
		case "/":
			fmt.Fprint(w, "welcome")
		case "/api/version":
			fmt.Fprintf(w, `{"version":%q}`, p.version)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(p.srv.Close)
	return p
}

func (p *production) Deploy(ctx context.Context, rel shipprod.Release) (shipprod.Deployment, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	prev := p.version
	p.version = rel.Version
	return shipprod.Deployment{Provider: "loopback", ID: "v" + rel.Version, URL: p.srv.URL, PreviousID: "v" + prev}, nil
}

func (p *production) Rollback(ctx context.Context, failed shipprod.Deployment, to shipprod.Release) (shipprod.Deployment, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.version = to.Version
	p.rollbacks++
	return shipprod.Deployment{Provider: "loopback", ID: "v" + to.Version, URL: p.srv.URL}, nil
}

// A whole release through the Pipeline: health checks pass, the monitor's
// baseline is captured before the deploy, production degrades during the
// window, the critical gate fails it, and the Pipeline rolls back and
// checks that the restored version is the one live.
func TestPipelineRollsBackWhenTheWindowFails(t *testing.T) {
	for _, tt := range []struct {
		policy    shipprod.FailurePolicy
		outcome   shipprod.Outcome
		rollbacks int
		live      string
	}{
		{shipprod.PolicyRollback, shipprod.OutcomeRolledBack, 1, "2.6.3"},
		{shipprod.PolicyFreeze, shipprod.OutcomeUnhealthy, 0, "2.7.0"},
		{shipprod.PolicyNotify, shipprod.OutcomeUnhealthy, 0, "2.7.0"},
	} {
		t.Run(string(tt.policy), func(t *testing.T) {
			clock := shipprodtest.NewClock(start)
			prod := newProduction(t, "2.6.3")
			prom := promtest.NewServer(t)
			degradeAt := start.Add(7 * time.Minute)
			prom.SetFunc(errorRateQ, func(int) promtest.Response {
				if clock.Now().Before(degradeAt) {
					return promtest.Vector(0.004)
				}
				return promtest.Vector(0.051)
			})
			checker, err := health.New(health.Config{Checks: []health.CheckConfig{
				{Name: "home", HTTP: "/"},
				{Name: "live-version", Version: "/api/version"},
			}}, health.Options{Clock: clock})
			require.NoError(t, err)
			mon, err := monitor.New(monitor.Config{
				Window: 15 * time.Minute, Interval: time.Minute, InitialDelay: 2 * time.Minute,
				Prometheus: monitor.PrometheusConfig{URL: prom.URL},
				Gates: []monitor.GateConfig{
					errorRateGate(),
					{Name: "smoke", Health: &monitor.HealthGate{}},
				},
			}, monitor.Options{Clock: clock, Health: checker, Policy: tt.policy})
			require.NoError(t, err)

			rec := &shipprodtest.Recorder{}
			p := &shipprod.Pipeline{
				Release:   rel,
				Deployer:  prod,
				Health:    checker,
				Monitor:   mon,
				OnFailure: tt.policy,
				Clock:     clock,
				Observer:  rec,
			}
			var told []shipprod.Outcome
			if tt.policy == shipprod.PolicyNotify {
				p.Notifier = notifierFunc(func(res shipprod.Result) { told = append(told, res.Outcome) })
			}
			res, err := p.Run(context.Background())
			if tt.policy == shipprod.PolicyNotify {
				assert.Equal(t, []shipprod.Outcome{shipprod.OutcomeUnhealthy}, told, "the notify policy tells someone")
			}
			var merr *shipprod.MonitorError
			require.ErrorAs(t, err, &merr)
			assert.Equal(t, tt.outcome, res.Outcome)
			assert.Equal(t, tt.rollbacks, prod.rollbacks)
			assert.Equal(t, tt.live, prod.version)

			require.NotNil(t, res.Baseline)
			assert.Equal(t, map[string]float64{"error-rate": 0.004}, res.Baseline.Values)
			require.NotNil(t, res.Health)
			assert.True(t, res.Health.OK())
			require.NotNil(t, res.Monitor)
			assert.Equal(t, shipprod.VerdictFailed, res.Monitor.Verdict)
			assert.Equal(t, "gate error-rate failed: value 5.1% vs threshold 1.4% (baseline 0.4%); critical gate error-rate failed at 7m0s of 15m0s and ended the window", res.Monitor.Reason)
			assert.Equal(t, "production monitor failed: "+res.Monitor.Reason, merr.Error())
			if tt.policy == shipprod.PolicyRollback {
				require.NotNil(t, res.Rollback)
				assert.Empty(t, res.Rollback.Error)
				require.NotNil(t, res.Rollback.Health)
				assert.True(t, res.Rollback.Health.OK(), "the restored version 2.6.3 is live")
				assert.Contains(t, rec.Trace(), "rollback:finished")
			} else {
				assert.Nil(t, res.Rollback)
				assert.Contains(t, rec.Trace(), "rollback:skipped")
			}
		})
	}
}

// A metrics outage during the window is no reason to roll back, and no
// verdict either: the release is live and not verified.
func TestPipelineShipsThroughAMetricsOutage(t *testing.T) {
	clock := shipprodtest.NewClock(start)
	prod := newProduction(t, "2.6.3")
	prom := promtest.NewServer(t)
	prom.Set(errorRateQ, promtest.Vector(0.004), promtest.Raw(http.StatusBadGateway, "bad gateway"))
	mon, err := monitor.New(monitor.Config{Window: 10 * time.Minute, Prometheus: monitor.PrometheusConfig{URL: prom.URL},
		Gates: []monitor.GateConfig{errorRateGate()}}, monitor.Options{Clock: clock})
	require.NoError(t, err)
	p := &shipprod.Pipeline{Release: rel, Deployer: prod, Monitor: mon, Clock: clock}
	res, err := p.Run(context.Background())
	var nv *shipprod.NotVerifiedError
	require.ErrorAs(t, err, &nv)
	assert.Equal(t, shipprod.OutcomeNotVerified, res.Outcome)
	assert.Equal(t, 0, prod.rollbacks)
	assert.Equal(t, shipprod.VerdictError, res.Monitor.Verdict)
	require.Len(t, res.NotVerified, 1)
	assert.Contains(t, res.NotVerified[0], "the monitor's verdict is error: gate error-rate error: no measurement succeeded in the window (11 errors)")
	assert.Contains(t, res.NotVerified[0], "production was not judged unhealthy")
}

type notifierFunc func(shipprod.Result)

func (f notifierFunc) Notify(_ context.Context, res shipprod.Result) error {
	f(res)
	return nil
}
