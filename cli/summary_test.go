package cli

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/shipprod/shipprod"
)

// The summary ends a run: the outcome, where the release is, and, for
// every outcome that needs a person, the exact commands to run next.
func TestSummaryNextSteps(t *testing.T) {
	rel := shipprod.Release{Version: "1.3.0", Tag: "v1.3.0", PreviousTag: "v1.2.0", ReleaseURL: "https://github.com/acme/shop/releases/tag/v1.3.0"}
	dep := &shipprod.Deployment{Provider: "git-push", ID: "abc123", URL: "https://shop.example",
		RollbackSteps: []string{"git push --force origin 1a2b3c:refs/heads/production", "git push origin :refs/tags/v1.3.0"}}
	tagged := []shipprod.StepRecord{{Step: shipprod.StepVersion, Status: shipprod.StepDone}, {Step: shipprod.StepTag, Status: shipprod.StepDone}}
	const cmd = "shipprod ship --dir 'my app'"
	tests := []struct {
		name string
		res  shipprod.Result
		want []string // lines of the summary, in order
		not  []string
	}{
		{name: "shipped", res: shipprod.Result{Outcome: shipprod.OutcomeShipped, Release: rel, Deployment: dep, Reports: []string{"specs/x/production-ship-report.md"}},
			want: []string{"✅ Shipped v1.3.0 to production with git-push (deployment abc123)",
				"   Release URL:    https://github.com/acme/shop/releases/tag/v1.3.0", "   Production URL: https://shop.example",
				"   Report: specs/x/production-ship-report.md"},
			not: []string{"Next:"}},
		{name: "failed after tagging resumes", res: shipprod.Result{Outcome: shipprod.OutcomeFailed, Release: rel, Steps: tagged, Error: "deploy: push rejected"},
			want: []string{"❌ Failed: deploy: push rejected", "Next:",
				"   Fix the cause above, then resume this run where it stopped (add --fresh to start over instead):", "     $ " + cmd}},
		{name: "failed before changing anything", res: shipprod.Result{Outcome: shipprod.OutcomeFailed, Error: "preflight: no token"},
			want: []string{"Next:", "   Fix the cause above, then ship again:", "     $ " + cmd}},
		{name: "interrupted", res: shipprod.Result{Outcome: shipprod.OutcomeInterrupted, Release: rel, Error: "context canceled"},
			want: []string{"⏸️  Interrupted: context canceled", "Next:", "   Resume this run where it stopped:", "     $ " + cmd}},
		{name: "blocked", res: shipprod.Result{Outcome: shipprod.OutcomeBlocked},
			want: []string{"⛔ Blocked by the release gates; nothing was changed", "   Pass the gates named above (each says how), then ship:", "     $ " + cmd}},
		{name: "rolled back", res: shipprod.Result{Outcome: shipprod.OutcomeRolledBack, Release: rel, Deployment: dep,
			Rollback: &shipprod.RollbackReport{Target: shipprod.Release{Tag: "v1.2.0"}, Restored: shipprod.Deployment{ID: "1a2b3c"}}},
			want: []string{"↩️  v1.3.0 was unhealthy in production and was rolled back to v1.2.0",
				"   Rollback:       production restored to v1.2.0 (deployment 1a2b3c)",
				"   Production runs v1.2.0 again. Fix what made v1.3.0 unhealthy, commit the fix and ship a new version:", "     $ " + cmd}},
		{name: "unhealthy and left", res: shipprod.Result{Outcome: shipprod.OutcomeUnhealthy, Release: rel, Deployment: dep,
			Rollback: &shipprod.RollbackReport{Error: "the deployer cannot roll back"}},
			want: []string{"❌ v1.3.0 is in production and unhealthy; it was left as it is",
				"   Rollback:       failed: the deployer cannot roll back",
				"   Production still runs v1.3.0. Roll it back to v1.2.0 by hand:",
				"     $ git push --force origin 1a2b3c:refs/heads/production", "     $ git push origin :refs/tags/v1.3.0",
				"   Then fix the cause, commit the fix and ship a new version:", "     $ " + cmd}},
		{name: "not verified says why", res: shipprod.Result{Outcome: shipprod.OutcomeNotVerified, Release: rel, Deployment: dep,
			NotVerified: []string{"no health check is configured", "no monitor is configured"}, Warnings: []string{"notify: webhook said 500"}},
			want: []string{"⚠️  Shipped v1.3.0 to production, not verified:", "   - no health check is configured", "   - no monitor is configured",
				"   Production URL: https://shop.example", "⚠️  Warning: notify: webhook said 500",
				"   Nothing verified v1.3.0: check production yourself, and configure health checks and a monitor so that the next release is verified."}},
		{name: "nothing to release", res: shipprod.Result{Outcome: shipprod.OutcomeNothingToRelease},
			want: []string{"➖ Nothing to release"}, not: []string{"Next:"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lines := summaryLines(style{}, &tt.res, cmd)
			text := strings.Join(lines, "\n")
			at := 0
			for _, w := range tt.want {
				i := indexFrom(lines, w, at)
				if !assert.GreaterOrEqual(t, i, 0, "%q (in order) in\n%s", w, text) {
					return
				}
				at = i + 1
			}
			for _, n := range tt.not {
				assert.NotContains(t, text, n)
			}
		})
	}
}

func indexFrom(lines []string, want string, from int) int {
	for i := from; i < len(lines); i++ {
		if lines[i] == want {
			return i
		}
	}
	return -1
}

func TestShipCommandLine(t *testing.T) {
	assert.Equal(t, "shipprod ship", shipCommandLine("shipprod", options{dir: ".", config: "shipprod.yaml"}))
	assert.Equal(t, "acmeship ship --dir 'my app' --config ci/ship.yaml",
		shipCommandLine("acmeship", options{dir: "my app", config: "ci/ship.yaml", configSet: true}))
	assert.Equal(t, `'it'\''s'`, shellQuote("it's"))
}
