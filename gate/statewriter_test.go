package gate_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shipprod/shipprod"
	"github.com/shipprod/shipprod/gate"
)

var t0 = time.Date(2025, 12, 1, 10, 0, 0, 0, time.UTC)

func at(d time.Duration) time.Time { return t0.Add(d) }

// shipped is the Result of a run as the pipeline hands it to the Reporters
// right after the health checks (the run is not finished: no FinishedAt).
func shipped() shipprod.Result {
	return shipprod.Result{
		Outcome:   shipprod.OutcomeShipped,
		StartedAt: t0,
		Release: shipprod.Release{Version: "1.1.0", PreviousVersion: "1.0.0", Tag: "v1.1.0", PreviousTag: "v1.0.0",
			ReleaseURL: "https://github.com/acme/app/releases/tag/v1.1.0"},
		Deployment: &shipprod.Deployment{Provider: "vercel", ID: "dpl_new", URL: "https://app.example.com",
			StartedAt: at(2 * time.Minute), FinishedAt: at(4 * time.Minute)},
		Steps: []shipprod.StepRecord{
			{Step: shipprod.StepGates, Status: shipprod.StepDone, StartedAt: t0, Duration: time.Second},
			{Step: shipprod.StepVersion, Status: shipprod.StepDone, StartedAt: at(time.Second), Duration: 30 * time.Second},
			{Step: shipprod.StepTag, Status: shipprod.StepDone, StartedAt: at(time.Minute), Duration: 5 * time.Second},
			{Step: shipprod.StepDeploy, Status: shipprod.StepDone, StartedAt: at(2 * time.Minute), Duration: 2 * time.Minute},
			{Step: shipprod.StepHealth, Status: shipprod.StepDone, StartedAt: at(4 * time.Minute), Duration: 30 * time.Second},
		},
	}
}

// rolledBack is the final Result of a run whose monitor found production
// unhealthy and rolled it back to v1.0.0.
func rolledBack() shipprod.Result {
	res := shipped()
	res.Outcome = shipprod.OutcomeRolledBack
	res.FinishedAt = at(12 * time.Minute)
	res.Rollback = &shipprod.RollbackReport{
		Reason:    "monitor: error rate 7.2% over the 5% limit\nfor 3 minutes",
		Target:    shipprod.Release{Version: "1.0.0", Tag: "v1.0.0"},
		StartedAt: at(10 * time.Minute), FinishedAt: at(11 * time.Minute),
		Restored: shipprod.Deployment{ID: "dpl_old", URL: "https://app.example.com", FinishedAt: at(11 * time.Minute)},
	}
	res.Steps = append(res.Steps,
		shipprod.StepRecord{Step: shipprod.StepMonitor, Status: shipprod.StepFailed, StartedAt: at(5 * time.Minute), Duration: 5 * time.Minute},
		shipprod.StepRecord{Step: shipprod.StepRollback, Status: shipprod.StepDone, StartedAt: at(10 * time.Minute), Duration: time.Minute})
	return res
}

// lineDiff is the line diff of a and b: "-N: old" for a removed line (N in
// a), "+N: new" for an added one (N in b).
func lineDiff(a, b string) string {
	x, y := strings.Split(a, "\n"), strings.Split(b, "\n")
	// Longest common subsequence, by dynamic programming (the files are small).
	lcs := make([][]int, len(x)+1)
	for i := range lcs {
		lcs[i] = make([]int, len(y)+1)
	}
	for i := len(x) - 1; i >= 0; i-- {
		for j := len(y) - 1; j >= 0; j-- {
			if x[i] == y[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	var out []string
	i, j := 0, 0
	for i < len(x) || j < len(y) {
		switch {
		case i < len(x) && j < len(y) && x[i] == y[j]:
			i, j = i+1, j+1
		case i < len(x) && (j == len(y) || lcs[i+1][j] >= lcs[i][j+1]):
			out = append(out, fmt.Sprintf("-%d: %s", i+1, x[i]))
			i++
		default:
			out = append(out, fmt.Sprintf("+%d: %s", j+1, y[j]))
			j++
		}
	}
	return strings.Join(out, "\n")
}

// writeBack copies the sample into a project, writes res back and returns
// the file's content before and after and the paths WriteReport returned.
func writeBack(t *testing.T, before string, results ...shipprod.Result) (after string, paths [][]string) {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "specs", "003-checkout", "state.yaml")
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
	require.NoError(t, os.WriteFile(path, []byte(before), 0o640))
	w := &gate.StateWriter{SpecFlow: &gate.SpecFlow{Dir: dir}}
	for _, res := range results {
		p, err := w.WriteReport(context.Background(), res)
		require.NoError(t, err)
		paths = append(paths, p)
	}
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	info, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o640), info.Mode().Perm(), "the file keeps its mode")
	leftovers, err := filepath.Glob(filepath.Join(filepath.Dir(path), ".state.yaml.tmp-*"))
	require.NoError(t, err)
	assert.Empty(t, leftovers)
	return string(data), paths
}

func sample(t *testing.T, name string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "specflow", name))
	require.NoError(t, err)
	return string(data)
}

// Each valid Spec-Flow sample, written back after a shipped run and after a
// rolled-back one: exactly these lines change.
func TestStateWriterOnSpecFlowSamples(t *testing.T) {
	tests := []struct {
		file                string
		shipped, rolledBack string
	}{
		{file: "spec-flow__scripts__bash__workflow-state.sh__initialize_workflow_state.heredoc.yaml",
			shipped: `
-10:   last_updated: $(date -u +%Y-%m-%dT%H:%M:%SZ)
+10:   last_updated: 2025-12-01T10:04:30Z
-16:   phase: spec-flow
-17:   status: in_progress  # Options: in_progress, completed, failed, pending
-18:   completed_phases: []
+16:   phase: ship:ship-prod
+17:   status: completed  # Options: in_progress, completed, failed, pending
+18:   completed_phases: ['ship:ship-prod']
-21:   phase_timing: {}
+21:   phase_timing: {'ship:ship-prod': {started_at: "2025-12-01T10:00:00Z", completed_at: "2025-12-01T10:04:30Z", duration_seconds: 270, status: completed}}
-38:     deployed: false
-39:     version: null
-40:     url: null
+38:     deployed: true
+39:     version: 1.1.0
+40:     url: https://app.example.com
+42:     previous_version: 1.0.0
+43:     tag: v1.1.0
+44:     tag_created_at: 2025-12-01T10:01:05Z
+45:     deployed_at: 2025-12-01T10:04:00Z
+46:     deployment_id: dpl_new
+47:     github_release_url: https://github.com/acme/app/releases/tag/v1.1.0
+48:     outcome: shipped`,
			rolledBack: `
-10:   last_updated: $(date -u +%Y-%m-%dT%H:%M:%SZ)
+10:   last_updated: 2025-12-01T10:12:00Z
-16:   phase: spec-flow
-17:   status: in_progress  # Options: in_progress, completed, failed, pending
+16:   phase: ship:ship-prod
+17:   status: failed  # Options: in_progress, completed, failed, pending
-19:   failed_phases: []
+19:   failed_phases: ['ship:ship-prod']
-21:   phase_timing: {}
+21:   phase_timing: {'ship:ship-prod': {started_at: "2025-12-01T10:00:00Z", completed_at: "2025-12-01T10:12:00Z", duration_seconds: 720, status: failed}}
-38:     deployed: false
-39:     version: null
-40:     url: null
+38:     deployed: true
+39:     version: 1.0.0
+40:     url: https://app.example.com
+42:     previous_version: 1.0.0
+43:     tag: v1.0.0
+44:     deployed_at: 2025-12-01T10:11:00Z
+45:     deployment_id: dpl_old
+46:     rollback_from: v1.1.0
+47:     rollback_to: v1.0.0
+48:     rollback_at: 2025-12-01T10:11:00Z
+49:     rollback_reason: 'monitor: error rate 7.2% over the 5% limit for 3 minutes'
+50:     outcome: rolled-back`,
		},
		{file: "spec-flow__testing__feedback-loop-test__epics__001-auth-test__workflow-state.yaml",
			shipped: `
-4: phase: validate-staging
-5: status: in_progress
+4: phase: ship-prod
+5: status: completed
-8: last_updated: "2025-11-20T15:30:00Z"
+8: last_updated: "2025-12-01T10:04:30Z"
+46:   - ship-prod
-75:   version: "1.0.0"
+76:   version: "1.1.0"
-85:     url: null
-86:     deployed_at: null
-87:     deployment_id: null
-88:     tag: null
-89:     tag_created_at: null
-90:     github_release_url: null
+86:     url: "https://app.example.com"
+87:     deployed_at: "2025-12-01T10:04:00Z"
+88:     deployment_id: "dpl_new"
+89:     tag: "v1.1.0"
+90:     tag_created_at: "2025-12-01T10:01:05Z"
+91:     github_release_url: "https://github.com/acme/app/releases/tag/v1.1.0"
+92:     version: "1.1.0"
+93:     previous_version: "1.0.0"
+94:     outcome: "shipped"`,
			rolledBack: `
-4: phase: validate-staging
-5: status: in_progress
+4: phase: ship-prod
+5: status: failed
-8: last_updated: "2025-11-20T15:30:00Z"
+8: last_updated: "2025-12-01T10:12:00Z"
-85:     url: null
-86:     deployed_at: null
-87:     deployment_id: null
-88:     tag: null
+85:     url: "https://app.example.com"
+86:     deployed_at: "2025-12-01T10:11:00Z"
+87:     deployment_id: "dpl_old"
+88:     tag: "v1.0.0"
+91:     version: "1.0.0"
+92:     previous_version: "1.0.0"
+93:     rollback_from: "v1.1.0"
+94:     rollback_to: "v1.0.0"
+95:     rollback_at: "2025-12-01T10:11:00Z"
+96:     rollback_reason: "monitor: error rate 7.2% over the 5% limit for 3 minutes"
+97:     outcome: "rolled-back"`,
		},
		{file: "spec-flow__templates__feature-state.template.yaml",
			shipped: `
-4: status: planning
+4: status: shipped
-12:   ship: pending
-13: last_updated: 1970-01-01T00:00:00Z
+12:   ship: done
+13: last_updated: 2025-12-01T10:04:30Z
+14: deployment:
+15:   production:
+16:     version: 1.1.0
+17:     previous_version: 1.0.0
+18:     tag: v1.1.0
+19:     tag_created_at: 2025-12-01T10:01:05Z
+20:     deployed_at: 2025-12-01T10:04:00Z
+21:     url: https://app.example.com
+22:     deployment_id: dpl_new
+23:     github_release_url: https://github.com/acme/app/releases/tag/v1.1.0
+24:     outcome: shipped`,
			rolledBack: `
-4: status: planning
+4: status: blocked
-12:   ship: pending
-13: last_updated: 1970-01-01T00:00:00Z
+12:   ship: blocked
+13: last_updated: 2025-12-01T10:12:00Z
+14: deployment:
+15:   production:
+16:     version: 1.0.0
+17:     previous_version: 1.0.0
+18:     tag: v1.0.0
+19:     deployed_at: 2025-12-01T10:11:00Z
+20:     url: https://app.example.com
+21:     deployment_id: dpl_old
+22:     rollback_from: v1.1.0
+23:     rollback_to: v1.0.0
+24:     rollback_at: 2025-12-01T10:11:00Z
+25:     rollback_reason: 'monitor: error rate 7.2% over the 5% limit for 3 minutes'
+26:     outcome: rolled-back`,
		},
		{file: "spec-flow__templates__epic-state.template.yaml",
			shipped: `
-3: status: planning
+3: status: shipped
-11:   ship: pending
+11:   ship: done
-20: last_updated: 1970-01-01T00:00:00Z
+20: last_updated: 2025-12-01T10:04:30Z
+21: deployment:
+22:   production:
+23:     version: 1.1.0
+24:     previous_version: 1.0.0
+25:     tag: v1.1.0
+26:     tag_created_at: 2025-12-01T10:01:05Z
+27:     deployed_at: 2025-12-01T10:04:00Z
+28:     url: https://app.example.com
+29:     deployment_id: dpl_new
+30:     github_release_url: https://github.com/acme/app/releases/tag/v1.1.0
+31:     outcome: shipped`,
			rolledBack: `
-3: status: planning
+3: status: blocked
-11:   ship: pending
+11:   ship: blocked
-20: last_updated: 1970-01-01T00:00:00Z
+20: last_updated: 2025-12-01T10:12:00Z
+21: deployment:
+22:   production:
+23:     version: 1.0.0
+24:     previous_version: 1.0.0
+25:     tag: v1.0.0
+26:     deployed_at: 2025-12-01T10:11:00Z
+27:     url: https://app.example.com
+28:     deployment_id: dpl_old
+29:     rollback_from: v1.1.0
+30:     rollback_to: v1.0.0
+31:     rollback_at: 2025-12-01T10:11:00Z
+32:     rollback_reason: 'monitor: error rate 7.2% over the 5% limit for 3 minutes'
+33:     outcome: rolled-back`,
		},
		{file: "spec-flow__docs__state-epic.yaml",
			shipped: `
-5: status: enum   # planning | in-progress | blocked | shipped | archived
+5: status: shipped   # planning | in-progress | blocked | shipped | archived
-14:   ship: enum
+14:   ship: done
-27: last_updated: iso8601 timestamp
+27: last_updated: 2025-12-01T10:04:30Z
+28: deployment:
+29:   production:
+30:     version: 1.1.0
+31:     previous_version: 1.0.0
+32:     tag: v1.1.0
+33:     tag_created_at: 2025-12-01T10:01:05Z
+34:     deployed_at: 2025-12-01T10:04:00Z
+35:     url: https://app.example.com
+36:     deployment_id: dpl_new
+37:     github_release_url: https://github.com/acme/app/releases/tag/v1.1.0
+38:     outcome: shipped`,
			rolledBack: `
-5: status: enum   # planning | in-progress | blocked | shipped | archived
+5: status: blocked   # planning | in-progress | blocked | shipped | archived
-14:   ship: enum
+14:   ship: blocked
-27: last_updated: iso8601 timestamp
+27: last_updated: 2025-12-01T10:12:00Z
+28: deployment:
+29:   production:
+30:     version: 1.0.0
+31:     previous_version: 1.0.0
+32:     tag: v1.0.0
+33:     deployed_at: 2025-12-01T10:11:00Z
+34:     url: https://app.example.com
+35:     deployment_id: dpl_old
+36:     rollback_from: v1.1.0
+37:     rollback_to: v1.0.0
+38:     rollback_at: 2025-12-01T10:11:00Z
+39:     rollback_reason: 'monitor: error rate 7.2% over the 5% limit for 3 minutes'
+40:     outcome: rolled-back`,
		},
		{file: "spec-flow__scripts__bash__create-new-feature.sh__state.heredoc.yaml",
			shipped: `
+19:   - name: ship-prod
+20:     status: completed
+21:     started_at: 2025-12-01T10:00:00Z
-20: current_phase: spec
+23: current_phase: ship-prod
+24: deployment:
+25:   production:
+26:     version: 1.1.0
+27:     previous_version: 1.0.0
+28:     tag: v1.1.0
+29:     tag_created_at: 2025-12-01T10:01:05Z
+30:     deployed_at: 2025-12-01T10:04:00Z
+31:     url: https://app.example.com
+32:     deployment_id: dpl_new
+33:     github_release_url: https://github.com/acme/app/releases/tag/v1.1.0
+34:     outcome: shipped`,
			rolledBack: `
+19:   - name: ship-prod
+20:     status: failed
+21:     started_at: 2025-12-01T10:00:00Z
-20: current_phase: spec
+23: current_phase: ship-prod
+24: deployment:
+25:   production:
+26:     version: 1.0.0
+27:     previous_version: 1.0.0
+28:     tag: v1.0.0
+29:     deployed_at: 2025-12-01T10:11:00Z
+30:     url: https://app.example.com
+31:     deployment_id: dpl_old
+32:     rollback_from: v1.1.0
+33:     rollback_to: v1.0.0
+34:     rollback_at: 2025-12-01T10:11:00Z
+35:     rollback_reason: 'monitor: error rate 7.2% over the 5% limit for 3 minutes'
+36:     outcome: rolled-back`,
		},
		{file: "spec-flow__scripts__bash__ship-recover.sh__recovered-state.heredoc.yaml",
			shipped: `
-9: version: "$VERSION"
-10: status: "$PHASE_STATUS"
+9: version: "1.1.0"
+10: status: "completed"
-26:     status: $([ -n "$STAGING_URL" ] && echo "staging-deployed" || echo "pending")
+26:     status: completed
-32:   current_phase: "$CURRENT_PHASE"
+32:   current_phase: "ship"
-42:     url: "$PRODUCTION_URL"
-43:     version: "$PRODUCTION_VERSION"
-44:     deployed_at: "$PRODUCTION_DEPLOYED_AT"
+42:     url: "https://app.example.com"
+43:     version: "1.1.0"
+44:     deployed_at: "2025-12-01T10:04:00Z"
+45:     previous_version: "1.0.0"
+46:     tag: "v1.1.0"
+47:     tag_created_at: "2025-12-01T10:01:05Z"
+48:     deployment_id: "dpl_new"
+49:     github_release_url: "https://github.com/acme/app/releases/tag/v1.1.0"
+50:     outcome: "shipped"`,
			rolledBack: `
-9: version: "$VERSION"
-10: status: "$PHASE_STATUS"
+9: version: "1.0.0"
+10: status: "failed"
-26:     status: $([ -n "$STAGING_URL" ] && echo "staging-deployed" || echo "pending")
+26:     status: failed
-32:   current_phase: "$CURRENT_PHASE"
+32:   current_phase: "ship"
-42:     url: "$PRODUCTION_URL"
-43:     version: "$PRODUCTION_VERSION"
-44:     deployed_at: "$PRODUCTION_DEPLOYED_AT"
+42:     url: "https://app.example.com"
+43:     version: "1.0.0"
+44:     deployed_at: "2025-12-01T10:11:00Z"
+45:     previous_version: "1.0.0"
+46:     tag: "v1.0.0"
+47:     deployment_id: "dpl_old"
+48:     rollback_from: "v1.1.0"
+49:     rollback_to: "v1.0.0"
+50:     rollback_at: "2025-12-01T10:11:00Z"
+51:     rollback_reason: "monitor: error rate 7.2% over the 5% limit for 3 minutes"
+52:     outcome: "rolled-back"`,
		},
	}
	for _, tt := range tests {
		for _, run := range []struct {
			name string
			res  shipprod.Result
			want string
		}{{"shipped", shipped(), tt.shipped}, {"rolled-back", rolledBack(), tt.rolledBack}} {
			t.Run(tt.file+"/"+run.name, func(t *testing.T) {
				before := sample(t, tt.file)
				after, paths := writeBack(t, before, run.res)
				assert.Equal(t, strings.TrimPrefix(run.want, "\n"), lineDiff(before, after))
				assert.Equal(t, [][]string{{"specs/003-checkout/state.yaml"}}, paths, "the path, as the project names it")

				// Written again with the same run, nothing changes.
				again, paths := writeBack(t, after, run.res)
				assert.Equal(t, after, again)
				assert.Equal(t, [][]string{{"specs/003-checkout/state.yaml"}}, paths, "the file holds the record")
			})
		}
	}
}

// The pipeline writes after the health checks (shipped), then again after
// the monitor's verdict (rolled back): the second write undoes what the
// first said about the phase and the release.
func TestStateWriterShippedThenRolledBack(t *testing.T) {
	before := sample(t, "spec-flow__scripts__bash__workflow-state.sh__initialize_workflow_state.heredoc.yaml")
	after, paths := writeBack(t, before, shipped(), rolledBack())
	assert.Equal(t, [][]string{{"specs/003-checkout/state.yaml"}, {"specs/003-checkout/state.yaml"}}, paths)
	assert.Equal(t, `-10:   last_updated: $(date -u +%Y-%m-%dT%H:%M:%SZ)
+10:   last_updated: 2025-12-01T10:12:00Z
-16:   phase: spec-flow
-17:   status: in_progress  # Options: in_progress, completed, failed, pending
+16:   phase: ship:ship-prod
+17:   status: failed  # Options: in_progress, completed, failed, pending
-19:   failed_phases: []
+19:   failed_phases: ['ship:ship-prod']
-21:   phase_timing: {}
+21:   phase_timing: {'ship:ship-prod': {started_at: "2025-12-01T10:00:00Z", completed_at: "2025-12-01T10:12:00Z", duration_seconds: 720, status: failed}}
-38:     deployed: false
-39:     version: null
-40:     url: null
+38:     deployed: true
+39:     version: 1.0.0
+40:     url: https://app.example.com
+42:     previous_version: 1.0.0
+43:     tag: v1.0.0
+44:     tag_created_at: null
+45:     deployed_at: 2025-12-01T10:11:00Z
+46:     deployment_id: dpl_old
+47:     github_release_url: null
+48:     outcome: rolled-back
+49:     rollback_from: v1.1.0
+50:     rollback_to: v1.0.0
+51:     rollback_at: 2025-12-01T10:11:00Z
+52:     rollback_reason: 'monitor: error rate 7.2% over the 5% limit for 3 minutes'`, lineDiff(before, after))
}

// The example in the package documentation is what the writer does.
func TestPackageDocExample(t *testing.T) {
	doc, err := os.ReadFile("doc.go")
	require.NoError(t, err)
	_, example, ok := strings.Cut(string(doc), "A shipped run on the runtime initializer's file changes these lines:\n//\n")
	require.True(t, ok)
	example, _, _ = strings.Cut(example, "\n//\n")
	var lines []string
	for _, l := range strings.Split(example, "\n") {
		lines = append(lines, strings.TrimPrefix(l, "//\t"))
	}
	before := sample(t, "spec-flow__scripts__bash__workflow-state.sh__initialize_workflow_state.heredoc.yaml")
	after, _ := writeBack(t, before, shipped())
	assert.Equal(t, strings.Join(lines, "\n"), lineDiff(before, after))
}
