package gate_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shipprod/shipprod"
	"github.com/shipprod/shipprod/gate"
	"github.com/shipprod/shipprod/internal/yamlstrict"
)

// A file with two quality_gates used to ship on the first (passed) and
// ignore the second (failed).
func TestDuplicateKeyIsAnError(t *testing.T) {
	path := writeState(t, `manual_gates:
  staging_validation:
    status: approved
quality_gates: {rollback: {status: passed}}
deployment:
  model: staging-prod
quality_gates:
  rollback:
    status: failed
`)
	report, err := (&gate.SpecFlow{Path: path}).CheckGates(context.Background())
	var sfe *gate.StateFileError
	require.ErrorAs(t, err, &sfe)
	assert.Contains(t, err.Error(), path)
	assert.Contains(t, err.Error(), `"quality_gates"`)
	assert.Contains(t, err.Error(), "lines 4 and 7")
	assert.Empty(t, report.Gates, "no gate is read from such a file")
	var dup *yamlstrict.DuplicateKeyError
	require.ErrorAs(t, err, &dup)
	assert.Equal(t, 4, dup.FirstLine)
	assert.Equal(t, 7, dup.Line)

	_, err = gate.Load(writeState(t, "manual_gates:\n  staging_validation:\n    status: rejected\n    status: approved\n"))
	require.ErrorAs(t, err, &dup)
	assert.Equal(t, "manual_gates.staging_validation.status", dup.Path)
	assert.Contains(t, err.Error(), "lines 3 and 4")
}

func TestValuesThroughAliasesAndMergeKeys(t *testing.T) {
	tests := []struct {
		name, state string
		key         string
		found       string
		passed      bool
		line        string // the line the value is read from
	}{
		{name: "merge key", state: `
gate_defaults: &approved
  status: approved
  approved_by: dana
manual_gates:
  staging_validation:
    <<: *approved
    approved_at: 2025-11-20T10:00:00Z
`, key: "manual_gates.staging_validation.status", found: "approved", passed: true, line: ":3"},
		{name: "own key wins over merged", state: `
gate_defaults: &approved
  status: approved
manual_gates:
  staging_validation:
    <<: *approved
    status: rejected
`, key: "manual_gates.staging_validation.status", found: "rejected", line: ":7"},
		{name: "list of merged maps: first wins", state: `
a: &a {status: pending}
b: &b {status: approved}
manual_gates:
  staging_validation:
    <<: [*a, *b]
`, key: "manual_gates.staging_validation.status", found: "pending", line: ":2"},
		{name: "alias to a mapping", state: `
validated: &v
  status: approved
workflow:
  manual_gates:
    staging_validation: *v
`, key: "workflow.manual_gates.staging_validation.status", found: "approved", passed: true, line: ":3"},
		{name: "alias to a scalar", state: `
ok: &ok approved
manual_gates:
  staging_validation:
    status: *ok
`, key: "manual_gates.staging_validation.status", found: "approved", passed: true, line: ":2"},
		{name: "quoted << is an ordinary key", state: `
d: &d {status: approved}
manual_gates:
  staging_validation:
    "<<": *d
`, key: "", found: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeState(t, tt.state+"quality_gates: {rollback: {status: passed}}\n")
			report, err := (&gate.SpecFlow{Path: path}).CheckGates(context.Background())
			require.NoError(t, err)
			staging := mustGate(t, report, gate.StagingValidation)
			assert.Equal(t, tt.key, staging.Key)
			assert.Equal(t, tt.found, staging.Found)
			assert.Equal(t, tt.passed, staging.Passed)
			if tt.line != "" {
				assert.True(t, strings.HasSuffix(staging.Source, tt.line), "source %s names the line the value is written on (%s)", staging.Source, tt.line)
			}
		})
	}
}

func TestStateFileSizeLimit(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.yaml")
	big := "feature: {slug: x}\nnotes: |\n" + strings.Repeat("  padding padding padding padding padding padding padding\n", gate.MaxStateFileSize/56+1)
	require.NoError(t, os.WriteFile(path, []byte(big), 0o644))
	require.Greater(t, len(big), gate.MaxStateFileSize)
	_, err := (&gate.SpecFlow{Path: path}).CheckGates(context.Background())
	var sfe *gate.StateFileError
	require.ErrorAs(t, err, &sfe)
	assert.True(t, errors.Is(err, gate.ErrStateFileTooLarge))
	assert.Contains(t, err.Error(), path)
	assert.Contains(t, err.Error(), "over the 1 MiB limit")

	// Just under the limit is read.
	small := big[:gate.MaxStateFileSize-100]
	small = small[:strings.LastIndex(small, "\n")+1]
	require.NoError(t, os.WriteFile(path, []byte(small), 0o644))
	st, err := gate.Load(path)
	require.NoError(t, err)
	assert.Equal(t, "x", st.Facts()["feature.slug"])
}

func TestSecondDocumentIsRefused(t *testing.T) {
	path := writeState(t, "manual_gates: {staging_validation: {status: rejected}}\n---\nmanual_gates: {staging_validation: {status: approved}}\n")
	_, err := gate.Load(path)
	var sfe *gate.StateFileError
	require.ErrorAs(t, err, &sfe)
	assert.Contains(t, err.Error(), "line 2: a second YAML document")
}

func TestStagingDeployedGate(t *testing.T) {
	const approved = "manual_gates: {staging_validation: {status: approved}}\nquality_gates: {rollback: {status: passed}}\n"
	tests := []struct {
		name, state string
		present     bool
		key, found  string
		passed      bool
	}{
		{name: "runtime: not deployed", state: "deployment:\n  staging:\n    deployed: false\n    url: null\n", present: true,
			key: "deployment.staging.deployed", found: "false"},
		{name: "runtime: deployed", state: "deployment:\n  staging:\n    deployed: true\n", present: true,
			key: "deployment.staging.deployed", found: "true", passed: true},
		{name: "template: no deployment time", state: "deployment:\n  staging:\n    url: null\n    deployed_at: null\n", present: true,
			key: "deployment.staging.deployed_at", found: "null"},
		{name: "template: deployed", state: "deployment:\n  staging:\n    deployed_at: \"2025-11-20T15:00:00Z\"\n", present: true,
			key: "deployment.staging.deployed_at", found: "2025-11-20T15:00:00Z", passed: true},
		// The staging skill writes deployed_at and not deployed.
		{name: "deployed false but a deployment time", state: "deployment:\n  staging:\n    deployed: false\n    deployed_at: 2025-11-20T15:00:00Z\n", present: true,
			key: "deployment.staging.deployed_at", found: "2025-11-20T15:00:00Z", passed: true},
		{name: "not recorded", state: "deployment:\n  staging:\n    url: https://staging.example.com\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeState(t, approved+tt.state)
			report, err := (&gate.SpecFlow{Path: path}).CheckGates(context.Background())
			require.NoError(t, err)
			g, ok := gateNamed(report, gate.StagingDeployed)
			require.Equal(t, tt.present, ok)
			if !ok {
				assert.Empty(t, report.Blocking())
				return
			}
			assert.Equal(t, tt.key, g.Key)
			assert.Equal(t, tt.found, g.Found)
			assert.Equal(t, tt.passed, g.Passed)
			assert.Regexp(t, `state.yaml:\d+$`, g.Source)
			if !tt.passed {
				assert.Equal(t, []shipprod.GateResult{g}, report.Blocking(), "it blocks")
				assert.Contains(t, g.Hint, "/ship-staging")
				assert.Contains(t, g.Hint, "/validate-staging")
			}
		})
	}
}

func TestPhaseGate(t *testing.T) {
	const approved = "manual_gates: {staging_validation: {status: approved}}\nquality_gates: {rollback: {status: passed}}\n"
	tests := []struct {
		name, state  string
		require      bool
		present      bool
		key, found   string
		passed       bool
		required     string
		hint         string
		wantBlocking bool
	}{
		{name: "skill: ship-prod", state: "current_phase: ship-prod\n", present: true, key: "current_phase", found: "ship-prod", passed: true, required: "ship-prod"},
		{name: "runtime: validate-staging done", state: "workflow: {phase: \"ship:validate-staging\", status: completed}\n", present: true,
			key: "workflow.phase", found: "ship:validate-staging", passed: true, required: "ship:ship-prod"},
		{name: "runtime: still implementing", state: "workflow: {phase: implement}\n", present: true,
			key: "workflow.phase", found: "implement", required: "ship:ship-prod", hint: "/ship-staging"},
		{name: "runtime: implementing, required", require: true, state: "workflow: {phase: implement}\n", present: true,
			key: "workflow.phase", found: "implement", required: "ship:ship-prod", hint: "/ship-staging", wantBlocking: true},
		{name: "runtime direct-prod: optimize", state: "deployment_model: direct-prod\nworkflow: {phase: \"ship:optimize\"}\n", present: true,
			key: "workflow.phase", found: "ship:optimize", passed: true, required: "ship:deploy-prod"},
		{name: "staging-prod: optimize is too early", state: "deployment_model: staging-prod\nworkflow: {phase: \"ship:optimize\"}\n", present: true,
			key: "workflow.phase", found: "ship:optimize", required: "ship:ship-prod", hint: "before the ship phases"},
		{name: "template: ship-staging", state: "phase: ship-staging\n", present: true,
			key: "phase", found: "ship-staging", required: "ship-prod", hint: "/validate-staging"},
		{name: "template: finalize", state: "phase: finalize\n", present: true,
			key: "phase", found: "finalize", required: "ship-prod", hint: "shipped already"},
		{name: "recovered: ship", state: "workflow: {type: feature, current_phase: ship}\n", present: true,
			key: "workflow.current_phase", found: "ship", passed: true, required: "ship-prod"},
		{name: "current_phase first", state: "current_phase: ship-prod\nphase: implement\n", present: true,
			key: "current_phase", found: "ship-prod", passed: true, required: "ship-prod"},
		{name: "not recorded", state: "phases: {spec: done, ship: pending}\n"},
		{name: "not recorded, required", require: true, state: "phases: {spec: done, ship: pending}\n", present: true,
			required: "ship-prod", hint: "no phase is recorded", wantBlocking: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeState(t, approved+tt.state)
			report, err := (&gate.SpecFlow{Path: path, RequirePhase: tt.require}).CheckGates(context.Background())
			require.NoError(t, err)
			g, ok := gateNamed(report, gate.Phase)
			require.Equal(t, tt.present, ok)
			if !ok {
				assert.Contains(t, strings.Join(report.Notes, "\n"), "phase not checked")
				assert.Empty(t, report.Blocking())
				return
			}
			assert.Equal(t, tt.key, g.Key)
			assert.Equal(t, tt.found, g.Found)
			assert.Equal(t, tt.passed, g.Passed)
			assert.Equal(t, tt.required, g.Required)
			assert.Equal(t, !tt.require, g.Advisory)
			if tt.hint != "" {
				assert.Contains(t, g.Hint, tt.hint)
			}
			switch {
			case tt.wantBlocking:
				assert.Len(t, report.Blocking(), 1)
				assert.Empty(t, report.Warnings())
			case !tt.passed:
				assert.Empty(t, report.Blocking(), "a phase before ship-prod only warns")
				assert.Len(t, report.Warnings(), 1)
			default:
				assert.Empty(t, report.Blocking())
				assert.Empty(t, report.Warnings())
			}
		})
	}
}
