package notify_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shipprod/shipprod"
	"github.com/shipprod/shipprod/notify"
)

// commands collects every command a message tells to run.
func commands(m notify.Message) []string {
	var out []string
	for _, a := range m.Actions {
		out = append(out, a.Commands...)
	}
	return out
}

func TestComposeSaysTheVerdictAndWhatToDo(t *testing.T) {
	rs := results()
	tests := []struct {
		outcome  shipprod.Outcome
		severity notify.Severity
		title    string
		text     []string // in Message.Text()
		commands []string // exactly the commands named, in order
	}{
		{shipprod.OutcomeShipped, notify.SeverityOK, "shop: v2.7.0 shipped to production",
			[]string{"v2.7.0 is live with vercel (deployment dpl_new) at https://shop.example.com and verified: 2 health checks passed and the monitor passed over 30m0s.",
				"Release: https://github.com/acme/shop/releases/tag/v2.7.0"}, nil},
		{shipprod.OutcomeNotVerified, notify.SeverityWarning, "shop: v2.7.0 is live, not verified",
			[]string{"but nothing verified it", "- the monitor's verdict is error: prometheus unreachable",
				"Check that production (https://shop.example.com) serves v2.7.0 and works.", "If it does not, roll it back by hand:"},
			[]string{rollbackCmd}},
		{shipprod.OutcomeReleased, notify.SeverityOK, "shop: v2.7.0 released (not deployed)",
			[]string{"no deployer is configured, so nothing was deployed"}, nil},
		{shipprod.OutcomeRolledBack, notify.SeverityError, "shop: v2.7.0 was rolled back to v2.6.3",
			[]string{"Production was unhealthy after v2.7.0 was deployed: health check api failed: 503 Service Unavailable. It was rolled back to v2.6.3 (deployment dpl_prev).",
				"- Health check api (https://shop.example.com/api/health) failed: 503 Service Unavailable",
				"v2.7.0 needs a fix", "see the ship report, production-ship-report.md"}, nil},
		{shipprod.OutcomeUnhealthy, notify.SeverityCritical, "shop: v2.7.0 is in production and unhealthy",
			[]string{"Production (https://shop.example.com) runs v2.7.0 and is unhealthy: health check api failed: 503 Service Unavailable.",
				"It was not rolled back: policy freeze: production left as it is.",
				"To roll back:\n    " + rollbackCmd}, []string{rollbackCmd}},
		{shipprod.OutcomeBlocked, notify.SeverityWarning, "shop: Release blocked by the release gates",
			[]string{"Nothing was changed: 1 release gate did not pass.",
				`Gate staging_validation (specs/001-checkout/state.yaml): manual_gates.staging_validation.status is "pending", needs "approved"`,
				"staging_validation: run /validate-staging and approve it"}, nil},
		{shipprod.OutcomeNothingToRelease, notify.SeverityOK, "shop: Nothing to release",
			[]string{"No releasable change since v2.6.3; nothing was changed."}, nil},
		{shipprod.OutcomeFailed, notify.SeverityError, "shop: Release v2.7.0 failed",
			[]string{"Step tag failed.", "step tag: push rejected: remote main moved",
				"Run the release again to resume it where this run stopped (v2.7.0 is not made again):\n    shipprod ship"},
			[]string{"shipprod ship"}},
		{shipprod.OutcomeInterrupted, notify.SeverityWarning, "shop: Release v2.7.0 was interrupted",
			[]string{"The run was interrupted.", "No release was made; run it again:\n    shipprod ship"}, []string{"shipprod ship"}},
	}
	require.Len(t, tests, len(notify.Outcomes()), "every outcome is tested")
	for _, tt := range tests {
		t.Run(string(tt.outcome), func(t *testing.T) {
			m := notify.Composer{Project: "shop"}.Compose(rs[tt.outcome])
			assert.Equal(t, tt.outcome, m.Outcome)
			assert.Equal(t, tt.severity, m.Severity)
			assert.Equal(t, tt.title, m.Title)
			assert.NotContains(t, m.Title, "\n")
			text := m.Text()
			for _, want := range tt.text {
				assert.Contains(t, text, want)
			}
			assert.Equal(t, tt.commands, commands(m))
		})
	}
}

func TestComposeFailedBeforeAnyRelease(t *testing.T) {
	res := shipprod.Result{Outcome: shipprod.OutcomeFailed, Error: "pre-flight failed, nothing was changed:\n  - deploy (vercel): VERCEL_TOKEN is not set",
		Steps: []shipprod.StepRecord{{Step: shipprod.StepPreflight, Status: shipprod.StepFailed}}}
	m := notify.Composer{ResumeCommand: "make ship"}.Compose(res)
	assert.Equal(t, "Release failed", m.Title)
	assert.Equal(t, "Step preflight failed.", m.Summary)
	assert.Equal(t, []string{"pre-flight failed, nothing was changed:", "deploy (vercel): VERCEL_TOKEN is not set"}, m.Details)
	require.Len(t, m.Actions, 1)
	assert.Equal(t, notify.Instruction{Text: "No release was made; fix the error, then run it again:", Commands: []string{"make ship"}}, m.Actions[0])
}

func TestComposeFailedAfterTheDeployNamesTheRollback(t *testing.T) {
	res := results()[shipprod.OutcomeFailed]
	res.Deployment = deployment()
	m := notify.Composer{}.Compose(res)
	assert.Equal(t, []string{"shipprod ship", rollbackCmd}, commands(m))
	assert.Contains(t, m.Text(), "v2.7.0 was deployed; if production is not healthy, roll it back by hand:")
}

func TestComposeUnhealthyAfterAFailedRollback(t *testing.T) {
	res := results()[shipprod.OutcomeUnhealthy]
	res.Steps = nil
	res.Deployment.RollbackSteps = nil
	res.Rollback = &shipprod.RollbackReport{Reason: res.Unhealthy, Error: "vercel: 403 forbidden"}
	m := notify.Composer{}.Compose(res)
	assert.Contains(t, m.Summary, "It was not rolled back: the rollback failed: vercel: 403 forbidden.")
	assert.Empty(t, commands(m), "no command is made up when the deployer wrote none")
	assert.Contains(t, m.Text(), "vercel names no rollback command: return production to v2.6.3 with vercel's own tools.")
}

func TestComposeRolledBackToAnUnhealthyVersion(t *testing.T) {
	res := results()[shipprod.OutcomeRolledBack]
	res.Rollback.Health = &shipprod.HealthReport{Checks: []shipprod.CheckResult{{Name: "api", Status: shipprod.HealthFail, Error: "timeout"}}}
	m := notify.Composer{}.Compose(res)
	assert.Contains(t, m.Details, "After the rollback, health check api failed: timeout")
	assert.Equal(t, "Production runs v2.6.3 again, but its health checks failed too: check production now.", m.Actions[0].Text)
}

func TestComposeMasksCredentialsInURLs(t *testing.T) {
	res := results()[shipprod.OutcomeUnhealthy]
	res.Deployment.URL = "https://deploy:hunter2@shop.example.com"
	res.Deployment.RollbackSteps = []string{"git push https://x-access-token:ghs_SECRET@github.com/acme/shop.git +abc:main"}
	res.Release.ReleaseURL = "https://bot:ghp_SECRET2@github.com/acme/shop/releases/tag/v2.7.0"
	res.Unhealthy = "health check api (https://probe:pw_SECRET3@shop.example.com/api) failed"
	res.Warnings = []string{"could not read https://u:pw_SECRET4@metrics.example.com"}
	m := notify.Composer{}.Compose(res)
	js, err := json.Marshal(m)
	require.NoError(t, err)
	slack, err := notify.SlackJSON(m)
	require.NoError(t, err)
	for _, out := range []string{m.Text(), string(js), string(slack)} {
		for _, secret := range []string{"hunter2", "ghs_SECRET", "ghp_SECRET2", "pw_SECRET3", "pw_SECRET4"} {
			assert.NotContains(t, out, secret)
		}
	}
	assert.Contains(t, m.Text(), "git push https://***@github.com/acme/shop.git +abc:main", "the command stays usable")
}

func TestComposeBoundsTheDetails(t *testing.T) {
	res := results()[shipprod.OutcomeUnhealthy]
	for i := range 30 {
		res.Health.Checks = append(res.Health.Checks, shipprod.CheckResult{Name: "c" + strings.Repeat("x", i), Status: shipprod.HealthFail})
	}
	m := notify.Composer{}.Compose(res)
	assert.Len(t, m.Details, 12)
	assert.Equal(t, "… and 20 more (see the ship report)", m.Details[11])
}
