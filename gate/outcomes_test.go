package gate_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shipprod/shipprod"
)

// blockState is a runtime-dialect state file written in block style, by a
// feature that shipped once before (ship:ship-prod is completed).
const blockState = `# Spec-Flow Workflow State
feature:
  slug: 003-checkout
  last_updated: 2025-11-30T09:00:00Z
deployment_model: staging-prod
workflow:
  phase: ship:validate-staging
  status: completed
  completed_phases:
    - implement
    - ship:ship-prod   # the first release
    - ship:validate-staging
  failed_phases: []
  phase_timing:
    ship:ship-prod:
      started_at: 2025-11-01T08:00:00Z
      completed_at: 2025-11-01T08:05:00Z
      duration_seconds: 300
      status: completed
deployment:
  production:
    deployed: true
    version: 1.0.0
    tag: v1.0.0
    url: https://app.example.com
`

func outcomeResults() map[string]shipprod.Result {
	out := map[string]shipprod.Result{}
	blocked := shipped()
	blocked.Outcome, blocked.Deployment, blocked.Steps = shipprod.OutcomeBlocked, nil, blocked.Steps[:1]
	out["blocked"] = blocked
	nothing := blocked
	nothing.Outcome = shipprod.OutcomeNothingToRelease
	out["nothing-to-release"] = nothing
	early := blocked
	early.Outcome = shipprod.OutcomeInterrupted
	out["interrupted before the tag"] = early
	failed := blocked
	failed.Outcome = shipprod.OutcomeFailed
	failed.FinishedAt = at(time.Minute)
	failed.Steps = append(failed.Steps, shipprod.StepRecord{Step: shipprod.StepPreflight, Status: shipprod.StepFailed, StartedAt: at(time.Second), Duration: time.Second})
	out["failed before any change"] = failed
	deployFailed := shipped()
	deployFailed.Outcome, deployFailed.Deployment = shipprod.OutcomeFailed, nil
	deployFailed.FinishedAt = at(3 * time.Minute)
	deployFailed.Steps = append(deployFailed.Steps[:3], shipprod.StepRecord{Step: shipprod.StepDeploy, Status: shipprod.StepFailed, StartedAt: at(2 * time.Minute), Duration: time.Minute})
	out["failed after the tag"] = deployFailed
	released := shipped()
	released.Outcome, released.Deployment, released.Steps = shipprod.OutcomeReleased, nil, released.Steps[:3]
	out["released"] = released
	unhealthy := rolledBack()
	unhealthy.Outcome = shipprod.OutcomeUnhealthy
	unhealthy.Rollback.Restored, unhealthy.Rollback.Error = shipprod.Deployment{}, "vercel: promote dpl_old: 403"
	out["unhealthy, rollback failed"] = unhealthy
	nv := shipped()
	nv.Outcome = shipprod.OutcomeNotVerified
	out["not-verified"] = nv
	return out
}

// What each outcome writes into a runtime-dialect file in block style. Runs
// that changed nothing write nothing.
func TestStateWriterOutcomes(t *testing.T) {
	results := outcomeResults()
	tests := []struct{ name, want string }{
		{name: "blocked", want: ``},
		{name: "nothing-to-release", want: ``},
		{name: "interrupted before the tag", want: ``},
		{name: "failed before any change", want: ``},
		{name: "failed after the tag", want: `
-4:   last_updated: 2025-11-30T09:00:00Z
+4:   last_updated: 2025-12-01T10:03:00Z
-7:   phase: ship:validate-staging
-8:   status: completed
+7:   phase: ship:ship-prod
+8:   status: failed
-11:     - ship:ship-prod   # the first release
-13:   failed_phases: []
+12:   failed_phases: ['ship:ship-prod']
-16:       started_at: 2025-11-01T08:00:00Z
-17:       completed_at: 2025-11-01T08:05:00Z
-18:       duration_seconds: 300
-19:       status: completed
+15:       started_at: 2025-12-01T10:00:00Z
+16:       completed_at: 2025-12-01T10:03:00Z
+17:       duration_seconds: 180
+18:       status: failed`},
		{name: "released", want: `
-4:   last_updated: 2025-11-30T09:00:00Z
+4:   last_updated: 2025-12-01T10:01:05Z
-7:   phase: ship:validate-staging
-8:   status: completed
+7:   phase: ship:ship-prod
+8:   status: in_progress
-11:     - ship:ship-prod   # the first release
-16:       started_at: 2025-11-01T08:00:00Z
-17:       completed_at: 2025-11-01T08:05:00Z
-18:       duration_seconds: 300
-19:       status: completed
+15:       started_at: 2025-12-01T10:00:00Z
+16:       status: in_progress
-23:     version: 1.0.0
-24:     tag: v1.0.0
+20:     version: 1.1.0
+21:     tag: v1.1.0
+23:     previous_version: 1.0.0
+24:     tag_created_at: 2025-12-01T10:01:05Z
+25:     github_release_url: https://github.com/acme/app/releases/tag/v1.1.0
+26:     outcome: released`},
		{name: "unhealthy, rollback failed", want: `
-4:   last_updated: 2025-11-30T09:00:00Z
+4:   last_updated: 2025-12-01T10:12:00Z
-7:   phase: ship:validate-staging
-8:   status: completed
+7:   phase: ship:ship-prod
+8:   status: failed
-11:     - ship:ship-prod   # the first release
-13:   failed_phases: []
+12:   failed_phases: ['ship:ship-prod']
-16:       started_at: 2025-11-01T08:00:00Z
-17:       completed_at: 2025-11-01T08:05:00Z
-18:       duration_seconds: 300
-19:       status: completed
+15:       started_at: 2025-12-01T10:00:00Z
+16:       completed_at: 2025-12-01T10:12:00Z
+17:       duration_seconds: 720
+18:       status: failed
-23:     version: 1.0.0
-24:     tag: v1.0.0
+22:     version: 1.1.0
+23:     tag: v1.1.0
+25:     previous_version: 1.0.0
+26:     tag_created_at: 2025-12-01T10:01:05Z
+27:     deployed_at: 2025-12-01T10:04:00Z
+28:     deployment_id: dpl_new
+29:     github_release_url: https://github.com/acme/app/releases/tag/v1.1.0
+30:     outcome: unhealthy`},
		{name: "not-verified", want: `
-4:   last_updated: 2025-11-30T09:00:00Z
+4:   last_updated: 2025-12-01T10:04:30Z
-7:   phase: ship:validate-staging
+7:   phase: ship:ship-prod
-16:       started_at: 2025-11-01T08:00:00Z
-17:       completed_at: 2025-11-01T08:05:00Z
-18:       duration_seconds: 300
+16:       started_at: 2025-12-01T10:00:00Z
+17:       completed_at: 2025-12-01T10:04:30Z
+18:       duration_seconds: 270
-23:     version: 1.0.0
-24:     tag: v1.0.0
+23:     version: 1.1.0
+24:     tag: v1.1.0
+26:     previous_version: 1.0.0
+27:     tag_created_at: 2025-12-01T10:01:05Z
+28:     deployed_at: 2025-12-01T10:04:00Z
+29:     deployment_id: dpl_new
+30:     github_release_url: https://github.com/acme/app/releases/tag/v1.1.0
+31:     outcome: not-verified`},
	}
	require.Len(t, tests, len(results))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, ok := results[tt.name]
			require.True(t, ok)
			after, paths := writeBack(t, blockState, res)
			assert.Equal(t, strings.TrimPrefix(tt.want, "\n"), lineDiff(blockState, after))
			if tt.want == "" {
				assert.Equal(t, [][]string{nil}, paths)
				assert.Equal(t, blockState, after, "byte for byte")
			} else {
				assert.Equal(t, [][]string{{"specs/003-checkout/state.yaml"}}, paths)
			}
		})
	}
}
