package monitor_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/shipprod/shipprod"
	"github.com/shipprod/shipprod/health"
	"github.com/shipprod/shipprod/health/monitor"
	"github.com/shipprod/shipprod/health/prometheus/promtest"
	"github.com/shipprod/shipprod/shipprodtest"
)

// A monitor compares production after the deploy with the baseline it
// measured before. Here the error ratio rises from 0.4% to 4.1%, more than
// the one percentage point the critical gate allows, and the window ends at
// once with a failed verdict that says why.
func Example() {
	prom := promtest.New() // a fake Prometheus; use your server's URL
	defer prom.Close()
	q := `sum(rate(http_requests_total{code=~"5.."}[5m])) / sum(rate(http_requests_total[5m]))`
	prom.Set(q, promtest.Vector(0.004), promtest.Vector(0.005), promtest.Vector(0.041))

	onePoint := 0.01
	m, err := monitor.New(monitor.Config{
		Window:     15 * time.Minute,
		Interval:   time.Minute,
		Prometheus: monitor.PrometheusConfig{URL: prom.URL},
		Gates: []monitor.GateConfig{{
			Name: "error-rate", Query: q, Unit: "ratio", Critical: true,
			Compare: monitor.CompareIncrease, MaxIncrease: &onePoint,
		}},
	}, monitor.Options{
		// A fake clock runs the 15-minute window at once.
		Clock: shipprodtest.NewClock(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx := context.Background()
	rel := shipprod.Release{Version: "2.7.0"}
	base, _ := m.Baseline(ctx, rel) // before the deploy
	rep, _ := m.Watch(ctx, rel, shipprod.Deployment{}, base)
	fmt.Println(rep.Verdict)
	fmt.Println(rep.Reason)
	// Output:
	// failed
	// gate error-rate failed: value 4.1% vs threshold 1.4% (baseline 0.4%); critical gate error-rate failed at 1m0s of 15m0s and ended the window
}

// rollingDeployer serves a version on loopback and can roll it back.
type rollingDeployer struct{ live string }

func (d *rollingDeployer) Deploy(ctx context.Context, rel shipprod.Release) (shipprod.Deployment, error) {
	d.live = rel.Version
	return shipprod.Deployment{Provider: "example", ID: rel.Version, URL: exampleURL}, nil
}

func (d *rollingDeployer) Rollback(ctx context.Context, failed shipprod.Deployment, to shipprod.Release) (shipprod.Deployment, error) {
	d.live = to.Version
	return shipprod.Deployment{Provider: "example", ID: to.Version, URL: exampleURL}, nil
}

var exampleURL string

// Health checks and the monitor plug into the Pipeline. When the window
// fails, the Pipeline applies its failure policy (a rollback by default) and
// checks the restored version's health.
func Example_pipeline() {
	deployer := &rollingDeployer{live: "2.6.3"}
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `{"version":%q}`, deployer.live)
	}))
	defer app.Close()
	exampleURL = app.URL
	prom := promtest.New()
	defer prom.Close()
	prom.Set("job:errors:ratio5m", promtest.Vector(0.002), promtest.Vector(0.09))

	clock := shipprodtest.NewClock(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	checker, _ := health.New(health.Config{Checks: []health.CheckConfig{{Name: "live-version", Version: "/api/version"}}},
		health.Options{Clock: clock})
	limit := 0.01
	mon, _ := monitor.New(monitor.Config{Prometheus: monitor.PrometheusConfig{URL: prom.URL},
		Gates: []monitor.GateConfig{{Name: "errors", Query: "job:errors:ratio5m", Compare: monitor.CompareThreshold, Max: &limit, Unit: "ratio", Critical: true}},
	}, monitor.Options{Clock: clock, Health: checker})

	p := &shipprod.Pipeline{
		Release:  shipprod.Release{Version: "2.7.0", PreviousVersion: "2.6.3"},
		Deployer: deployer, Health: checker, Monitor: mon, OnFailure: shipprod.PolicyRollback, Clock: clock,
	}
	res, err := p.Run(context.Background())
	fmt.Println(res.Outcome, "- live:", deployer.live, "- restored version healthy:", res.Rollback.Health.OK())
	fmt.Println(err)
	// Output:
	// rolled-back - live: 2.6.3 - restored version healthy: true
	// production monitor failed: gate errors failed: value 9% vs threshold 1%; critical gate errors failed at 1m0s of 15m0s and ended the window
}
