package gate_test

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shipprod/shipprod"
	"github.com/shipprod/shipprod/gate"
)

// gateNamed returns the result of the named gate; ok is false when the
// report has none.
func gateNamed(report shipprod.GateReport, name string) (shipprod.GateResult, bool) {
	for _, g := range report.Gates {
		if g.Name == name {
			return g, true
		}
	}
	return shipprod.GateResult{}, false
}

func mustGate(t *testing.T, report shipprod.GateReport, name string) shipprod.GateResult {
	t.Helper()
	g, ok := gateNamed(report, name)
	require.True(t, ok, "the report has a %s result: %+v", name, report.Gates)
	return g
}

// The files in testdata/specflow are verbatim copies of Spec-Flow's state
// files (see ../shared/specflow/README.md for their origin).
func TestSpecFlowOnSpecFlowsOwnFiles(t *testing.T) {
	tests := []struct {
		file string
		// malformed is a substring of the error for files that are not usable.
		malformed string
		// staging and rollback: the decisive key ("" = absent) and whether it passed.
		stagingKey, rollbackKey string
		stagingFound            string
		rollbackPassed          bool
		// deployedKey is the key of the staging_deployed result ("" = none).
		deployedKey    string
		deployedPassed bool
		// phaseKey and phaseFound: the phase result ("" = none).
		phaseKey, phaseFound string
		phasePassed          bool
	}{
		{file: "spec-flow__testing__feedback-loop-test__epics__001-auth-test__workflow-state.yaml",
			stagingKey: "manual_gates.staging_validation.status", stagingFound: "pending",
			rollbackKey: "manual_gates.staging_validation.rollback_tested", rollbackPassed: true,
			deployedKey: "deployment.staging.deployed_at", deployedPassed: true,
			phaseKey: "phase", phaseFound: "validate-staging", phasePassed: true},
		{file: "spec-flow__templates__workflow-state-template.yaml", malformed: "not valid YAML"},
		{file: "spec-flow__scripts__bash__workflow-state.sh__initialize_workflow_state.heredoc.yaml",
			deployedKey: "deployment.staging.deployed", phaseKey: "workflow.phase", phaseFound: "spec-flow"},
		{file: "spec-flow__scripts__bash__create-new-feature.sh__state.heredoc.yaml",
			phaseKey: "current_phase", phaseFound: "spec"},
		{file: "spec-flow__scripts__bash__ship-recover.sh__recovered-state.heredoc.yaml",
			phaseKey: "workflow.current_phase", phaseFound: "$CURRENT_PHASE"},
		{file: "spec-flow__templates__feature-state.template.yaml"},
		{file: "spec-flow__templates__epic-state.template.yaml"},
		{file: "spec-flow__docs__state-epic.yaml"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			path := filepath.Join("testdata", "specflow", tt.file)
			report, err := (&gate.SpecFlow{Path: path}).CheckGates(context.Background())
			if tt.malformed != "" {
				var sfe *gate.StateFileError
				require.ErrorAs(t, err, &sfe)
				assert.Contains(t, err.Error(), tt.malformed)
				assert.Contains(t, err.Error(), path)
				assert.Regexp(t, `line 6[01]`, err.Error(), "the YAML error's line is kept")
				return
			}
			require.NoError(t, err)
			staging, rollback := mustGate(t, report, gate.StagingValidation), mustGate(t, report, gate.RollbackCapability)
			assert.Equal(t, gate.StagingValidation, staging.Name)
			assert.Equal(t, tt.stagingKey, staging.Key)
			assert.Equal(t, tt.stagingFound, staging.Found)
			assert.False(t, staging.Passed, "no Spec-Flow sample has an approved staging gate")
			assert.NotEmpty(t, staging.Hint)
			assert.Contains(t, staging.Hint, "/validate-staging")
			assert.Equal(t, tt.rollbackKey, rollback.Key)
			assert.Equal(t, tt.rollbackPassed, rollback.Passed)
			assert.NotEmpty(t, report.Blocking())

			deployed, ok := gateNamed(report, gate.StagingDeployed)
			assert.Equal(t, tt.deployedKey != "", ok, "a staging_deployed result only where the file records the deployment")
			assert.Equal(t, tt.deployedKey, deployed.Key)
			assert.Equal(t, tt.deployedPassed, deployed.Passed)
			if ok && !deployed.Passed {
				assert.Contains(t, deployed.Hint, "/ship-staging")
				assert.Contains(t, report.Blocking(), deployed)
			}

			phase, ok := gateNamed(report, gate.Phase)
			assert.Equal(t, tt.phaseKey != "", ok, "a phase result only where the file records the phase")
			if !ok {
				assert.Contains(t, strings.Join(report.Notes, "\n"), "phase not checked")
				return
			}
			assert.Equal(t, tt.phaseKey, phase.Key)
			assert.Equal(t, tt.phaseFound, phase.Found)
			assert.Equal(t, tt.phasePassed, phase.Passed)
			assert.True(t, phase.Advisory, "the phase only warns by default")
			assert.NotContains(t, report.Blocking(), phase)
			if !tt.phasePassed {
				assert.Contains(t, report.Warnings(), phase)
				assert.NotEmpty(t, phase.Hint)
			}
		})
	}
}

func writeState(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "state.yaml")
	require.NoError(t, os.WriteFile(path, []byte(content), 0o644))
	return path
}

func TestSpecFlowDialects(t *testing.T) {
	tests := []struct {
		name, state            string
		wantStaging            bool
		stagingKey, stagingVal string
		wantRollback           bool
		rollbackKey            string
		hint                   string // in the staging hint when it blocks
		allowAutoSkipped       bool
	}{
		{name: "skill dialect approved", state: `
current_phase: ship-prod
manual_gates:
  staging_validation:
    status: approved
    approver: dana
quality_gates:
  rollback:
    status: passed
`, wantStaging: true, stagingKey: "manual_gates.staging_validation.status", stagingVal: "approved",
			wantRollback: true, rollbackKey: "quality_gates.rollback.status"},
		{name: "runtime dialect approved", state: `
deployment_model: staging-prod
workflow:
  phase: ship:validate-staging
  manual_gates:
    staging_validation:
      status: approved
      approved_by: dana
quality_gates:
  rollback_capability:
    passed: true
    timestamp: 2025-11-20T10:25:00Z
`, wantStaging: true, stagingKey: "workflow.manual_gates.staging_validation.status", stagingVal: "approved",
			wantRollback: true, rollbackKey: "quality_gates.rollback_capability.passed"},
		{name: "validate_staging key", state: `
workflow:
  manual_gates:
    validate_staging: {status: approved}
quality_gates: {rollback_capability: {passed: true}}
`, wantStaging: true, stagingKey: "workflow.manual_gates.validate_staging.status", stagingVal: "approved",
			wantRollback: true, rollbackKey: "quality_gates.rollback_capability.passed"},
		{name: "validate-staging key", state: `
workflow:
  manual_gates:
    "validate-staging": {status: approved}
quality_gates: {rollback_capability: {passed: true}}
`, wantStaging: true, stagingKey: "workflow.manual_gates.validate-staging.status", stagingVal: "approved",
			wantRollback: true, rollbackKey: "quality_gates.rollback_capability.passed"},
		{name: "epic schema list of gates", state: `
epic: p1-e05
manual_gates:
  - name: staging_validation
    status: approved
quality_gates: {rollback: {status: passed}}
`, wantStaging: true, stagingKey: "manual_gates.staging_validation.status", stagingVal: "approved",
			wantRollback: true, rollbackKey: "quality_gates.rollback.status"},
		{name: "root key wins over workflow key", state: `
manual_gates: {staging_validation: {status: rejected}}
workflow: {manual_gates: {staging_validation: {status: approved}}}
quality_gates: {rollback: {status: passed}}
`, stagingKey: "manual_gates.staging_validation.status", stagingVal: "rejected",
			wantRollback: true, rollbackKey: "quality_gates.rollback.status", hint: "rejected"},
		{name: "pending", state: `
manual_gates: {staging_validation: {status: pending}}
quality_gates: {rollback: {status: passed}}
`, stagingKey: "manual_gates.staging_validation.status", stagingVal: "pending",
			wantRollback: true, rollbackKey: "quality_gates.rollback.status", hint: "run /validate-staging"},
		{name: "failed", state: `
manual_gates: {staging_validation: {status: failed}}
quality_gates: {rollback: {status: passed}}
`, stagingKey: "manual_gates.staging_validation.status", stagingVal: "failed",
			wantRollback: true, rollbackKey: "quality_gates.rollback.status", hint: "rejected"},
		{name: "not applicable", state: `
manual_gates: {staging_validation: {status: not_applicable, rollback_tested: false}}
`, stagingKey: "manual_gates.staging_validation.status", stagingVal: "not_applicable",
			rollbackKey: "manual_gates.staging_validation.rollback_tested", hint: "not_applicable"},
		{name: "absent", state: "feature: {slug: x}\n", hint: "/ship-staging"},
		{name: "null status is absent", state: "manual_gates: {staging_validation: {status: null}}\n", hint: "no staging validation is recorded"},
		{name: "auto skipped refused by default", state: `
manual_gates: {staging_validation: {status: auto_skipped}}
quality_gates: {rollback: {status: passed}}
`, stagingKey: "manual_gates.staging_validation.status", stagingVal: "auto_skipped",
			wantRollback: true, rollbackKey: "quality_gates.rollback.status", hint: "auto mode"},
		{name: "auto skipped allowed", allowAutoSkipped: true, state: `
manual_gates: {staging_validation: {status: auto_skipped}}
quality_gates: {rollback: {status: passed}}
`, wantStaging: true, stagingKey: "manual_gates.staging_validation.status", stagingVal: "auto_skipped",
			wantRollback: true, rollbackKey: "quality_gates.rollback.status"},
		{name: "rollback drill failed", state: `
manual_gates: {staging_validation: {status: approved}}
quality_gates: {rollback_capability: {passed: false}}
`, wantStaging: true, stagingKey: "manual_gates.staging_validation.status", stagingVal: "approved",
			rollbackKey: "quality_gates.rollback_capability.passed"},
		{name: "status case and spaces", state: `
manual_gates: {staging_validation: {status: " Approved "}}
quality_gates: {rollback: {status: passed}}
`, wantStaging: true, stagingKey: "manual_gates.staging_validation.status", stagingVal: " Approved ",
			wantRollback: true, rollbackKey: "quality_gates.rollback.status"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeState(t, tt.state)
			report, err := (&gate.SpecFlow{Path: path, AllowAutoSkipped: tt.allowAutoSkipped}).CheckGates(context.Background())
			require.NoError(t, err)
			staging, rollback := mustGate(t, report, gate.StagingValidation), mustGate(t, report, gate.RollbackCapability)
			assert.Equal(t, tt.wantStaging, staging.Passed, "staging passed")
			assert.Equal(t, tt.stagingKey, staging.Key)
			assert.Equal(t, tt.stagingVal, staging.Found)
			assert.Equal(t, tt.wantRollback, rollback.Passed, "rollback passed")
			assert.Equal(t, tt.rollbackKey, rollback.Key)
			assert.True(t, strings.HasPrefix(staging.Source, path), "source %q names the file", staging.Source)
			if tt.stagingKey != "" {
				assert.Regexp(t, `:\d+$`, staging.Source, "source carries the line of the deciding key")
			}
			if tt.hint != "" {
				assert.Contains(t, staging.Hint, tt.hint)
			}
			if !tt.wantStaging {
				msg := shipprod.DescribeGate(staging)
				assert.Contains(t, msg, path)
				if tt.stagingKey != "" {
					assert.Contains(t, msg, tt.stagingKey)
					assert.Contains(t, msg, `want "approved"`)
				}
			}
		})
	}
}

func TestSpecFlowMalformedFiles(t *testing.T) {
	tests := []struct {
		name, content, want string
		isNotExist          bool
	}{
		{name: "not yaml", content: "manual_gates:\n  staging_validation:\n    status: [approved\n", want: "not valid YAML"},
		{name: "tabs", content: "manual_gates:\n\tstatus: approved\n", want: "not valid YAML"},
		{name: "empty", content: "", want: "empty"},
		{name: "only a comment", content: "# nothing\n", want: "empty"},
		{name: "a list", content: "- approved\n", want: "YAML list, not a mapping"},
		{name: "a scalar", content: "approved\n", want: "YAML scalar, not a mapping"},
		{name: "missing", want: "does not exist", isNotExist: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "state.yaml")
			if !tt.isNotExist {
				require.NoError(t, os.WriteFile(path, []byte(tt.content), 0o644))
			}
			_, err := (&gate.SpecFlow{Path: path}).CheckGates(context.Background())
			var sfe *gate.StateFileError
			require.ErrorAs(t, err, &sfe)
			assert.Contains(t, err.Error(), path)
			assert.Contains(t, err.Error(), tt.want)
			assert.NotEmpty(t, sfe.Hint, "says what to do next")
			assert.Equal(t, tt.isNotExist, errors.Is(err, fs.ErrNotExist))
		})
	}
}

func TestSpecFlowLocate(t *testing.T) {
	mk := func(t *testing.T, root string, dirs ...string) {
		for _, d := range dirs {
			require.NoError(t, os.MkdirAll(filepath.Join(root, d), 0o755))
			require.NoError(t, os.WriteFile(filepath.Join(root, d, "state.yaml"), []byte("feature: {slug: "+filepath.Base(d)+"}\n"), 0o644))
		}
	}
	t.Run("highest number, not newest name", func(t *testing.T) {
		root := t.TempDir()
		mk(t, root, "specs/002-login", "specs/010-billing", "specs/009-search", "epics/099-big")
		require.NoError(t, os.MkdirAll(filepath.Join(root, "specs", "011-no-state"), 0o755))
		require.NoError(t, os.MkdirAll(filepath.Join(root, "specs", "notes"), 0o755))
		sf := &gate.SpecFlow{Dir: root}
		path, note, err := sf.Locate()
		require.NoError(t, err)
		assert.Equal(t, filepath.Join(root, "specs", "010-billing", "state.yaml"), path)
		assert.Contains(t, note, "specs/010-billing/state.yaml")
		assert.Contains(t, note, "3")
		report, err := sf.CheckGates(context.Background())
		require.NoError(t, err)
		assert.Equal(t, "specs/010-billing/state.yaml", report.Source, "shown relative to the project")
		assert.Contains(t, report.Notes, note, "the report says which file was chosen")
	})
	t.Run("epics when no specs", func(t *testing.T) {
		root := t.TempDir()
		mk(t, root, "epics/001-auth", "epics/003-pay")
		path, _, err := (&gate.SpecFlow{Dir: root}).Locate()
		require.NoError(t, err)
		assert.Equal(t, filepath.Join(root, "epics", "003-pay", "state.yaml"), path)
	})
	t.Run("none", func(t *testing.T) {
		root := t.TempDir()
		_, err := (&gate.SpecFlow{Dir: root}).CheckGates(context.Background())
		require.ErrorIs(t, err, gate.ErrNoStateFile)
		assert.Contains(t, err.Error(), "specs/NNN-*/state.yaml")
		assert.Contains(t, err.Error(), "/feature")
	})
	t.Run("explicit path wins", func(t *testing.T) {
		root := t.TempDir()
		mk(t, root, "specs/001-a", "specs/002-b")
		explicit := filepath.Join(root, "specs", "001-a", "state.yaml")
		path, note, err := (&gate.SpecFlow{Dir: root, Path: explicit}).Locate()
		require.NoError(t, err)
		assert.Equal(t, explicit, path)
		assert.Contains(t, note, "configured")
	})
}

func TestSkipRollbackGate(t *testing.T) {
	path := writeState(t, "manual_gates: {staging_validation: {status: approved}}\n")
	report, err := (&gate.SpecFlow{Path: path, SkipRollbackGate: true}).CheckGates(context.Background())
	require.NoError(t, err)
	require.Len(t, report.Gates, 1)
	assert.Empty(t, report.Blocking())
	assert.Contains(t, strings.Join(report.Notes, "\n"), "rollback gate not required")
}

func TestFacts(t *testing.T) {
	path := writeState(t, `
feature: {slug: 003-checkout}
deployment_model: staging-prod
deployment:
  staging:
    url: https://app.staging.example.com
    deployment_id: dpl_abc
  production:
    url: null
`)
	st, err := gate.Load(path)
	require.NoError(t, err)
	assert.Equal(t, map[string]string{
		"feature.slug":          "003-checkout",
		"deployment.model":      "staging-prod",
		"staging.url":           "https://app.staging.example.com",
		"staging.deployment_id": "dpl_abc",
	}, st.Facts())
}

func TestAllAndStatic(t *testing.T) {
	broken := gate.Func(func(context.Context) (shipprod.GateReport, error) {
		return shipprod.GateReport{Source: "change-freeze"}, errors.New("calendar unreachable")
	})
	blocked := gate.Static("ops", shipprod.GateResult{Name: "change_freeze", Key: "freeze", Found: "on", Required: "off"})
	report, err := gate.All(gate.Static("ci", gate.Approved("tests")), blocked, broken).CheckGates(context.Background())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "calendar unreachable")
	assert.Equal(t, "ci, ops, change-freeze", report.Source)
	require.Len(t, report.Gates, 2)
	assert.True(t, report.Gates[0].Passed)
	assert.Equal(t, "ops", report.Gates[1].Source)
	assert.Equal(t, []shipprod.GateResult{report.Gates[1]}, report.Blocking())
}
