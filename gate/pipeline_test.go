package gate_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shipprod/shipprod"
	"github.com/shipprod/shipprod/gate"
	"github.com/shipprod/shipprod/shipprodtest"
)

// fakeDeployer deploys and rolls back instantly, on the test's clock.
type fakeDeployer struct{ clock *shipprodtest.Clock }

func (d fakeDeployer) Deploy(ctx context.Context, rel shipprod.Release) (shipprod.Deployment, error) {
	start := d.clock.Now()
	d.clock.Advance(2 * time.Minute)
	return shipprod.Deployment{Provider: "fake", ID: "dpl_" + rel.Version, URL: "https://app.example.com",
		Version: rel.Version, Tag: rel.Tag, StartedAt: start, FinishedAt: d.clock.Now(), PreviousID: "dpl_" + rel.PreviousVersion}, nil
}

func (d fakeDeployer) Rollback(ctx context.Context, failed shipprod.Deployment, to shipprod.Release) (shipprod.Deployment, error) {
	d.clock.Advance(time.Minute)
	return shipprod.Deployment{Provider: "fake", ID: failed.PreviousID, URL: failed.URL, Version: to.Version, FinishedAt: d.clock.Now()}, nil
}

type okHealth struct{}

func (okHealth) Check(ctx context.Context, rel shipprod.Release, dep shipprod.Deployment) (shipprod.HealthReport, error) {
	return shipprod.HealthReport{Checks: []shipprod.CheckResult{{Name: "api", Kind: "http", Status: shipprod.HealthPass, Attempts: 1}}}, nil
}

// verdictMonitor ends its window with a verdict.
type verdictMonitor struct {
	clock   *shipprodtest.Clock
	verdict shipprod.Verdict
}

func (m verdictMonitor) Baseline(ctx context.Context, rel shipprod.Release) (shipprod.MonitorBaseline, error) {
	return shipprod.MonitorBaseline{CapturedAt: m.clock.Now()}, nil
}

func (m verdictMonitor) Watch(ctx context.Context, rel shipprod.Release, dep shipprod.Deployment, base shipprod.MonitorBaseline) (shipprod.MonitorReport, error) {
	start := m.clock.Now()
	m.clock.Advance(5 * time.Minute)
	return shipprod.MonitorReport{StartedAt: start, FinishedAt: m.clock.Now(), Window: 5 * time.Minute, Verdict: m.verdict,
		Reason: "error rate 7.2% over the 5% limit"}, nil
}

// recordingReporter stands for the ship report beside the state file.
type recordingReporter struct{ outcomes []shipprod.Outcome }

func (r *recordingReporter) WriteReport(ctx context.Context, res shipprod.Result) ([]string, error) {
	r.outcomes = append(r.outcomes, res.Outcome)
	return []string{"specs/003-checkout/production-ship-report.md"}, nil
}

const approvedState = `# Spec-Flow Workflow State
feature:
  slug: 003-checkout
deployment_model: staging-prod
workflow:
  phase: ship:validate-staging
  status: completed
  completed_phases: [ship:ship-staging, ship:validate-staging]
  failed_phases: []
  manual_gates:
    staging_validation: {status: approved, approved_by: dana}
quality_gates:
  rollback_capability: {passed: true}
deployment:
  staging:
    deployed: true
  production:
    deployed: true
    version: 1.0.0
`

// The state file as a real Pipeline run leaves it: the gates read it, the
// pre-flight checks it, the report step writes it after the health checks
// and the final report after the monitor's verdict.
func TestStateWriterInAPipeline(t *testing.T) {
	for _, tt := range []struct {
		verdict shipprod.Verdict
		outcome shipprod.Outcome
		want    map[string]string
		reports int
	}{
		{verdict: shipprod.VerdictPassed, outcome: shipprod.OutcomeShipped, reports: 2,
			want: map[string]string{"workflow.phase": "ship:ship-prod", "workflow.status": "completed",
				"deployment.production.version": "1.1.0", "deployment.production.deployment_id": "dpl_1.1.0",
				"deployment.production.outcome": "shipped", "deployment.production.deployed_at": "2025-12-01T10:02:00Z"}},
		{verdict: shipprod.VerdictFailed, outcome: shipprod.OutcomeRolledBack, reports: 2,
			want: map[string]string{"workflow.phase": "ship:ship-prod", "workflow.status": "failed",
				"deployment.production.version": "1.0.0", "deployment.production.deployment_id": "dpl_1.0.0",
				"deployment.production.outcome": "rolled-back", "deployment.production.rollback_from": "v1.1.0",
				"deployment.production.rollback_to": "v1.0.0", "deployment.production.rollback_at": "2025-12-01T10:08:00Z"}},
	} {
		t.Run(string(tt.outcome), func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "specs", "003-checkout", "state.yaml")
			require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
			require.NoError(t, os.WriteFile(path, []byte(approvedState), 0o644))
			clock := shipprodtest.NewClock(t0)
			sf := &gate.SpecFlow{Dir: dir}
			report := &recordingReporter{}
			p := &shipprod.Pipeline{
				Gates:    sf,
				Deployer: fakeDeployer{clock},
				Health:   okHealth{},
				Monitor:  verdictMonitor{clock, tt.verdict},
				Reporter: shipprod.Reporters(report, &gate.StateWriter{SpecFlow: sf}),
				Release:  shipprod.Release{Version: "1.1.0", PreviousVersion: "1.0.0", Tag: "v1.1.0", PreviousTag: "v1.0.0"},
				Clock:    clock,
			}
			res, _ := p.Run(context.Background())
			require.NotNil(t, res)
			require.Equal(t, tt.outcome, res.Outcome, "run error: %s", res.Error)
			assert.Len(t, report.outcomes, tt.reports, "the ship report and the state file are written together")
			assert.Contains(t, res.Reports, "specs/003-checkout/state.yaml")

			st, err := gate.Load(path)
			require.NoError(t, err)
			for key, want := range tt.want {
				got, _, ok := st.Lookup(splitKey(key)...)
				assert.True(t, ok, key)
				assert.Equal(t, want, got, key)
			}
			// The gates still pass on the written file (a second release of
			// the feature is not blocked by what the first wrote).
			gr, err := sf.CheckGates(context.Background())
			require.NoError(t, err)
			assert.Empty(t, gr.Blocking())
			assert.Empty(t, gr.Warnings(), "ship-prod is the phase shipprod ships from")
		})
	}
}

func splitKey(k string) []string {
	var out []string
	start := 0
	for i := 0; i < len(k); i++ {
		if k[i] == '.' {
			out = append(out, k[start:i])
			start = i + 1
		}
	}
	return append(out, k[start:])
}
