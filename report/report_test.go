package report_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shipprod/shipprod"
	"github.com/shipprod/shipprod/report"
)

var t0 = time.Date(2026, 11, 27, 15, 4, 5, 0, time.UTC)

func shippedResult() shipprod.Result {
	return shipprod.Result{
		Outcome:   shipprod.OutcomeShipped,
		StartedAt: t0,
		Gates: shipprod.GateReport{Source: "specs/001-login/state.yaml", Gates: []shipprod.GateResult{
			{Name: "staging_validation", Source: "specs/001-login/state.yaml:12", Key: "manual_gates.staging_validation.status", Found: "approved", Required: "approved", Passed: true},
		}},
		Release: shipprod.Release{
			Version: "1.3.0", PreviousVersion: "1.2.0", Tag: "v1.3.0", PreviousTag: "v1.2.0", Bump: shipprod.BumpMinor,
			Reasons: []shipprod.Reason{{Source: "commit 1a2b3c4", Text: "feat: login with passkeys", Bump: shipprod.BumpMinor}},
			Notes:   "### Added\n\n- Login with passkeys.", Commit: "0123456789abcdef0123456789abcdef01234567", Remote: "origin",
			Files: []string{"package.json", "CHANGELOG.md"},
		},
		Deployment: &shipprod.Deployment{
			Provider: "git-push", ID: "0123456789abcdef0123456789abcdef01234567", URL: "https://deploy:s3cret-token@app.example.com",
			StartedAt: t0.Add(time.Second), FinishedAt: t0.Add(3 * time.Second),
			RollbackSteps: []string{"git push --force-with-lease=refs/heads/production:0123 origin fedc:refs/heads/production"},
			Details:       map[string]string{"branch": "production"},
		},
		Health: &shipprod.HealthReport{CheckedAt: t0.Add(4 * time.Second), Checks: []shipprod.CheckResult{
			{Name: "api", Kind: "http", Target: "https://app.example.com/health", Status: shipprod.HealthPass, Attempts: 1, Latency: 12 * time.Millisecond, Message: "200 OK"},
		}},
		MonitorPlan: &shipprod.MonitorPlan{Window: 15 * time.Minute, Interval: time.Minute, DashboardURL: "https://grafana.example.com/d/web",
			Gates: []shipprod.MonitorGatePlan{{Name: "error-rate", Kind: "query", Query: "job:errors:ratio5m", Condition: "≤ 1%", Critical: true}}},
		Steps: []shipprod.StepRecord{
			{Step: "gates", Status: shipprod.StepDone, Duration: 3 * time.Millisecond},
			{Step: "tag", Status: shipprod.StepDone, Duration: 40 * time.Millisecond},
		},
	}
}

func TestWriteReportBothFilesSameFacts(t *testing.T) {
	dir := t.TempDir()
	w := report.New(dir, report.Config{}, "001-login")
	paths, err := w.WriteReport(context.Background(), shippedResult())
	require.NoError(t, err)
	assert.Equal(t, []string{"production-ship-report.md", "production-ship-report.json"}, paths)

	md, err := os.ReadFile(filepath.Join(dir, "production-ship-report.md"))
	require.NoError(t, err)
	text := string(md)
	for _, want := range []string{
		"# Production Ship Report: 001-login",
		"**Status**: ✅ Deployed to Production",
		"## Summary", "## Changes", "Production URL: https://***@app.example.com",
		"## Deployment Summary", "- **Version**: v1.3.0", "- **Deployed at**: 2026-11-27T15:04:08Z",
		"- **Deployment ID**: 0123456789abcdef0123456789abcdef01234567", "- **Release URL**: not published",
		"## Health Checks", "✅ api (http https://app.example.com/health): 200 OK",
		"## Deployment Artifacts", "- **Git tag**: v1.3.0", "- **Commit SHA**: 0123456789abcdef0123456789abcdef01234567",
		"- **Deployment platform**: git-push",
		"## Rollback Procedure", "1. git push --force-with-lease=refs/heads/production:0123 origin fedc:refs/heads/production",
		"git tag -d v1.3.0 && git push origin :refs/tags/v1.3.0",
		"- Login with passkeys.", "commit 1a2b3c4: feat: login with passkeys (minor)",
		"## Monitoring", "Pending: the monitor starts after this report is written",
	} {
		assert.Contains(t, text, want)
	}
	assert.NotContains(t, text, "s3cret-token", "credentials in URLs are masked")

	raw, err := os.ReadFile(filepath.Join(dir, "production-ship-report.json"))
	require.NoError(t, err)
	assert.NotContains(t, string(raw), "s3cret-token")
	var doc report.Document
	require.NoError(t, json.Unmarshal(raw, &doc))
	assert.Equal(t, report.Schema, doc.Schema)
	assert.Equal(t, "shipped", doc.Outcome)
	assert.Equal(t, "1.3.0", doc.Version)
	assert.Equal(t, "v1.3.0", doc.Tag)
	assert.Equal(t, "0123456789abcdef0123456789abcdef01234567", doc.Commit)
	assert.Equal(t, "2026-11-27T15:04:08Z", doc.DeployedAt)
	require.NotNil(t, doc.Deployment)
	assert.Equal(t, "git-push", doc.Deployment.Provider)
	assert.Equal(t, int64(2000), doc.Deployment.DurationMS)
	require.NotNil(t, doc.Health)
	assert.True(t, doc.Health.Passed)
	assert.Equal(t, int64(12), doc.Health.Checks[0].LatencyMS)
	assert.Len(t, doc.RollbackSteps, 2)
	// The Markdown is rendered from the same document.
	assert.Equal(t, doc.Markdown(), text)
}

func TestReportOfARollback(t *testing.T) {
	res := shippedResult()
	res.Outcome = shipprod.OutcomeRolledBack
	res.Error = "health: 1 of 1 health checks failed: api (http https://app.example.com/health): status 503, want 200"
	res.Health.Checks[0].Status = shipprod.HealthFail
	res.Health.Checks[0].Error = "status 503, want 200"
	res.Rollback = &shipprod.RollbackReport{Reason: "health checks failed", Restored: shipprod.Deployment{Provider: "git-push", ID: "fedcba"},
		Health: &shipprod.HealthReport{Checks: []shipprod.CheckResult{{Name: "api", Kind: "http", Status: shipprod.HealthPass, Attempts: 1, Message: "200 OK"}}}}
	res.Monitor = nil
	res.Steps = append(res.Steps, shipprod.StepRecord{Step: "monitor", Status: shipprod.StepSkipped, Reason: "health checks failed"})
	md := report.Build(res, "001-login").Markdown()
	assert.Contains(t, md, "**Status**: ↩️ Rolled back")
	assert.Contains(t, md, "Deployed v1.3.0 (minor bump from v1.2.0) with git-push, found it unhealthy and rolled production back to v1.2.0.")
	assert.NotContains(t, md, "Shipped v1.3.0")
	assert.Contains(t, md, "❌ api (http https://app.example.com/health): status 503, want 200")
	assert.Contains(t, md, "## Automatic Rollback")
	assert.Contains(t, md, "- **Restored deployment**: fedcba (git-push)")
	assert.Contains(t, md, "Not run: health checks failed")
	assert.Contains(t, md, "| monitor | skipped | 0s | health checks failed |")
}

// A rollback asked for by hand does not say production was found unhealthy.
func TestReportOfARollbackByHand(t *testing.T) {
	res := shippedResult()
	res.Outcome = shipprod.OutcomeRolledBack
	res.Rollback = &shipprod.RollbackReport{Manual: true, Reason: "rolled back by hand with shipprod rollback: checkout errors up 3x",
		Target: shipprod.Release{Version: "1.1.0", Tag: "v1.1.0"}, Restored: shipprod.Deployment{Provider: "git-push", ID: "abc123"},
		Health: &shipprod.HealthReport{Checks: []shipprod.CheckResult{{Name: "api", Kind: "http", Status: shipprod.HealthPass, Attempts: 1}}}}
	doc := report.Build(res, "001-login")
	md := doc.Markdown()
	assert.True(t, doc.Rollback.Manual)
	assert.Contains(t, md, "**Status**: ↩️ Rolled back by hand: production runs an earlier release again")
	assert.Contains(t, md, "Deployed v1.3.0 (minor bump from v1.2.0) with git-push; production was then rolled back by hand to v1.1.0.")
	assert.Contains(t, md, "## Manual Rollback\n\n- **Why**: rolled back by hand with shipprod rollback: checkout errors up 3x\n- **Target**: v1.1.0\n")
	assert.Contains(t, md, "Done by hand at")
	assert.NotContains(t, md, "unhealthy")
	assert.NotContains(t, md, "Automatic Rollback")
}

func TestReportWithMonitor(t *testing.T) {
	res := shippedResult()
	res.Monitor = &shipprod.MonitorReport{Window: 15 * time.Minute, Verdict: shipprod.VerdictPassed, StartedAt: t0, FinishedAt: t0.Add(15 * time.Minute),
		Gates: []shipprod.MonitorGateResult{{Name: "error-rate", Verdict: shipprod.VerdictPassed, Measurements: 15}}}
	doc := report.Build(res, "")
	md := doc.Markdown()
	assert.Contains(t, md, "# Production Ship Report: v1.3.0", "falls back to the tag for the title")
	assert.Contains(t, md, "- **Verdict**: ✅ passed")
	assert.Contains(t, md, "- **Window**: 15m0s")
	assert.Contains(t, md, "error-rate: 15 measurements, 0 failed")
	assert.Equal(t, "finished: passed", doc.MonitorStatus)
}

func TestWriteReportIsAllOrNothing(t *testing.T) {
	dir := t.TempDir()
	md := filepath.Join(dir, "production-ship-report.md")
	require.NoError(t, os.WriteFile(md, []byte("previous report\n"), 0o644))
	// The JSON twin's directory does not exist, so the batch fails before
	// anything is renamed into place.
	w := report.New(dir, report.Config{JSON: "missing/dir/report.json"}, "x")
	_, err := w.WriteReport(context.Background(), shippedResult())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "missing/dir/report.json")
	got, err := os.ReadFile(md)
	require.NoError(t, err)
	assert.Equal(t, "previous report\n", string(got), "the Markdown report is left as it was")
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	for _, e := range entries {
		assert.False(t, strings.Contains(e.Name(), ".tmp-"), "no temporary file is left: %s", e.Name())
	}
}

func TestPlanActionsNameBothFiles(t *testing.T) {
	w := report.New("/x", report.Config{Path: "out/ship.md"}, "")
	acts, err := w.PlanActions(context.Background(), shipprod.Release{})
	require.NoError(t, err)
	require.Len(t, acts, 2)
	assert.Equal(t, "out/ship.md", acts[0].Target)
	assert.Equal(t, "out/ship.json", acts[1].Target)
}

func TestRollbackProcedureNeverPrintsAMaskedRemote(t *testing.T) {
	res := shippedResult()
	res.Release.Remote = "https://***@github.com/acme/web.git"
	md := report.Build(res, "x").Markdown()
	assert.Contains(t, md, "git push <remote> :refs/tags/v1.3.0", "a command with *** in it could not run")
}

func TestPreflightKeepsTheReportInTheProject(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "notadir"), nil, 0o644))
	for path, want := range map[string]string{
		"specs/001/production-ship-report.md": "",
		"../elsewhere/report.md":              "report.path ../elsewhere/report.md is outside the project",
		"notadir/report.md":                   "is a file, not a directory",
	} {
		err := report.New(dir, report.Config{Path: path}, "x").Preflight(context.Background(), shipprod.Release{})
		if want == "" {
			assert.NoError(t, err, path)
			continue
		}
		require.Error(t, err, path)
		assert.Contains(t, err.Error(), want)
	}
	_, err := os.Stat(filepath.Join(dir, "specs"))
	assert.True(t, os.IsNotExist(err), "the pre-flight writes nothing")
}
