package report_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/shipprod/shipprod"
	"github.com/shipprod/shipprod/report"
)

// section returns the body of the "## name" section of a Markdown report.
func section(md, name string) string {
	_, rest, ok := strings.Cut(md, "## "+name+"\n\n")
	if !ok {
		return ""
	}
	body, _, _ := strings.Cut(rest, "\n## ")
	return body
}

func TestReportSaysWhatHappened(t *testing.T) {
	rolledBack := func(err string) shipprod.Result {
		res := shippedResult()
		res.Outcome = shipprod.OutcomeRolledBack
		res.PreviousProduction = &shipprod.Deployment{Provider: "git-push", ID: "c140", Commit: "c140", Version: "1.4.0", Tag: "v1.4.0"}
		res.Rollback = &shipprod.RollbackReport{Reason: "health checks failed: 1 of 1 health checks failed", Target: shipprod.Release{Version: "1.4.0", Tag: "v1.4.0"},
			StartedAt: t0.Add(time.Minute), FinishedAt: t0.Add(2 * time.Minute), Restored: shipprod.Deployment{Provider: "git-push", ID: "c140"}}
		if err != "" {
			res.Outcome = shipprod.OutcomeUnhealthy
			res.Rollback.Restored = shipprod.Deployment{}
			res.Rollback.Error = err
		}
		return res
	}
	tests := []struct {
		name    string
		res     func() shipprod.Result
		section string
		want    []string
		not     []string
	}{
		{name: "no monitor is not pending for good", section: "Monitoring",
			res: func() shipprod.Result {
				res := shippedResult()
				res.MonitorPlan = nil
				res.Steps = append(res.Steps, shipprod.StepRecord{Step: shipprod.StepMonitor, Status: shipprod.StepSkipped, Reason: "no Monitor configured"})
				return res
			},
			want: []string{"Not configured: production is not watched after the deploy"}, not: []string{"Pending"}},
		{name: "the plan comes before the verdict", section: "Monitoring", res: shippedResult,
			want: []string{"Plan: watch production for 15m0s, measuring every 1m0s", "- error-rate (query): ≤ 1% [critical] — `job:errors:ratio5m`",
				"Dashboard: https://grafana.example.com/d/web", "Pending: the monitor starts after this report is written"}},
		{name: "an automatic rollback is recorded as done", section: "Rollback Procedure", res: func() shipprod.Result { return rolledBack("") },
			want: []string{"Done automatically at 2026-11-27T15:06:05Z: production was rolled back to v1.4.0 (deployment c140)", "Left to you: fix v1.3.0 and ship a new version.",
				"git tag -d v1.3.0"},
			not: []string{"git push --force-with-lease=refs/heads/production"}},
		{name: "a refused rollback says production may still run the release", section: "Summary", res: func() shipprod.Result { return rolledBack("push rejected (stale info): someone pushed meanwhile") },
			want: []string{"the automatic rollback to v1.4.0 failed (push rejected (stale info): someone pushed meanwhile), so production may still run v1.3.0: roll back by hand"},
			not:  []string{"left as it is"}},
		{name: "a refused rollback leaves the manual steps", section: "Rollback Procedure", res: func() shipprod.Result { return rolledBack("lease is stale") },
			want: []string{"To return production to v1.4.0 by hand:", "1. git push --force-with-lease=refs/heads/production"}},
		{name: "not verified says why", section: "Summary",
			res: func() shipprod.Result {
				res := shippedResult()
				res.Outcome, res.NotVerified = shipprod.OutcomeNotVerified, []string{"the monitor's verdict is error: prometheus unreachable"}
				return res
			},
			want: []string{"but nothing verified it", "Not verified: the monitor's verdict is error: prometheus unreachable"}},
		{name: "health checks not configured", section: "Health Checks",
			res: func() shipprod.Result {
				res := shippedResult()
				res.Health = nil
				res.Steps = append(res.Steps, shipprod.StepRecord{Step: shipprod.StepHealth, Status: shipprod.StepSkipped, Reason: "no HealthChecker configured"})
				return res
			},
			want: []string{"**Status**: not configured", "configure health checks (health.checks)"}},
		{name: "health checks skipped say why", section: "Health Checks",
			res: func() shipprod.Result {
				res := shippedResult()
				res.Health = nil
				res.Steps = append(res.Steps, shipprod.StepRecord{Step: shipprod.StepHealth, Status: shipprod.StepSkipped, Reason: "the deploy failed after changing production"})
				return res
			},
			want: []string{"**Status**: skipped: the deploy failed after changing production"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := section(report.Build(tt.res(), "001-login").Markdown(), tt.section)
			for _, w := range tt.want {
				assert.Contains(t, body, w)
			}
			for _, n := range tt.not {
				assert.NotContains(t, body, n)
			}
		})
	}
}

func TestReportShowsTheRolloutStages(t *testing.T) {
	res := shippedResult()
	res.Outcome = shipprod.OutcomeRolledBack
	res.Rollout = &shipprod.RolloutReport{Current: 1, Total: 3, Aborted: true, Stages: []shipprod.StageReport{
		{Stage: shipprod.RolloutStage{Percent: 5, Watch: 5 * time.Minute}, StartedAt: t0, FinishedAt: t0.Add(5 * time.Minute), Verdict: shipprod.VerdictPassed, Reason: "all 1 gates passed over 5m0s"},
		{Stage: shipprod.RolloutStage{Percent: 25, Watch: 10 * time.Minute}, StartedAt: t0.Add(5 * time.Minute), FinishedAt: t0.Add(9 * time.Minute), Verdict: shipprod.VerdictFailed, Reason: "gate canary-errors failed: canary score 0"},
	}}
	doc := report.Build(res, "001-login")
	body := section(doc.Markdown(), "Rollout")
	assert.Contains(t, body, "**Status**: aborted at stage 2 of 3: all traffic went back to the previous release")
	assert.Contains(t, body, "1. 5% of traffic, watched 5m0s: ✅ passed — all 1 gates passed over 5m0s")
	assert.Contains(t, body, "2. 25% of traffic, watched 10m0s: ❌ failed — gate canary-errors failed: canary score 0")
	js, err := doc.JSON()
	assert.NoError(t, err)
	assert.Contains(t, string(js), `"percent": 25`)
}

func TestReportShowsWhatTheRollbackCouldNotCheckOrUndo(t *testing.T) {
	res := shippedResult()
	res.Outcome = shipprod.OutcomeRolledBack
	res.Rollback = &shipprod.RollbackReport{Reason: "health checks failed", Target: shipprod.Release{Tag: "v1.2.0"},
		Restored: shipprod.Deployment{ID: "dpl_old", Provider: "vercel"},
		Warnings: []string{"production was rolled back, but git tag could not undo its part: remote refused the deletion"}}
	doc := report.Build(res, "001-login")
	body := section(doc.Markdown(), "Automatic Rollback")
	assert.Contains(t, body, "- ⚠️ production was rolled back, but git tag could not undo its part: remote refused the deletion\n")
	js, err := doc.JSON()
	assert.NoError(t, err)
	assert.Contains(t, string(js), `"warnings": [`)
}
