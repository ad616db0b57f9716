package gate_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shipprod/shipprod"
	"github.com/shipprod/shipprod/gate"
	"github.com/shipprod/shipprod/internal/yamlstrict"
)

// A file that shares values through anchors keeps them: the anchored
// mapping is not written into, the production block that aliased it
// becomes a mapping that merges it and overrides what the run records.
func TestStateWriterKeepsAnchors(t *testing.T) {
	before := `defaults: &prod
  url: https://app.example.com
  deployed: false
gate_ok: &ok approved
manual_gates:
  staging_validation:
    status: *ok
workflow: &wf
  phase: ship:validate-staging
  status: completed
deployment:
  staging:
    <<: *prod
    deployed: true
  production: *prod
`
	after, _ := writeBack(t, before, shipped())
	assert.Equal(t, `-9:   phase: ship:validate-staging
+9:   phase: ship:ship-prod
-15:   production: *prod
+15:   production:
+16:     <<: *prod
+17:     version: 1.1.0
+18:     previous_version: 1.0.0
+19:     tag: v1.1.0
+20:     tag_created_at: 2025-12-01T10:01:05Z
+21:     deployed_at: 2025-12-01T10:04:00Z
+22:     url: https://app.example.com
+23:     deployment_id: dpl_new
+24:     github_release_url: https://github.com/acme/app/releases/tag/v1.1.0
+25:     outcome: shipped`, lineDiff(before, after))

	// The gates read the file as before: the alias and the merge still resolve.
	path := filepath.Join(t.TempDir(), "state.yaml")
	require.NoError(t, os.WriteFile(path, []byte(after), 0o644))
	st, err := gate.Load(path)
	require.NoError(t, err)
	v, _, ok := st.Lookup("deployment", "staging", "url")
	assert.True(t, ok)
	assert.Equal(t, "https://app.example.com", v, "staging still merges the anchored mapping")
	v, _, _ = st.Lookup("deployment", "production", "deployed")
	assert.Equal(t, "false", v, "deployed is not in the production block itself, so it is not written")
	v, _, _ = st.Lookup("defaults", "url")
	assert.Equal(t, "https://app.example.com", v)
	v, _, _ = st.Lookup("manual_gates", "staging_validation", "status")
	assert.Equal(t, "approved", v)
}

// Files that cannot be read or edited safely are refused, naming the file
// and the line, and nothing is written.
func TestStateWriterRefuses(t *testing.T) {
	tests := []struct {
		name, content string
		want          []string
		is            error
	}{
		{name: "Spec-Flow's template (placeholders are not YAML)",
			content: sample(t, "spec-flow__templates__workflow-state-template.yaml"),
			want:    []string{"not valid YAML", "line 60", "specs/003-checkout/state.yaml"}},
		{name: "a key twice", content: "deployment:\n  production:\n    version: 1.0.0\n    version: 1.0.1\n",
			want: []string{`"deployment.production.version"`, "lines 3 and 4", "specs/003-checkout/state.yaml"}, is: new(yamlstrict.DuplicateKeyError)},
		{name: "a value on several lines", content: "deployment:\n  production:\n    version: >-\n      1.0.0\n    url: x\n",
			want: []string{"line 3", "deployment.production.version", "spans several lines", "nothing was written"}},
		{name: "production is a list", content: "deployment:\n  production: [a, b]\n",
			want: []string{"line 2", "deployment.production is a list, not a mapping"}},
		{name: "too large", content: "feature: x\n# " + strings.Repeat("x", gate.MaxStateFileSize) + "\n",
			want: []string{"over the 1 MiB limit"}, is: gate.ErrStateFileTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "specs", "003-checkout", "state.yaml")
			require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
			require.NoError(t, os.WriteFile(path, []byte(tt.content), 0o644))
			w := &gate.StateWriter{SpecFlow: &gate.SpecFlow{Dir: dir}}

			paths, err := w.WriteReport(context.Background(), shipped())
			require.Error(t, err)
			assert.Nil(t, paths)
			for _, s := range tt.want {
				assert.Contains(t, err.Error(), s)
			}
			if tt.is != nil {
				if target, ok := tt.is.(*yamlstrict.DuplicateKeyError); ok {
					assert.ErrorAs(t, err, &target)
				} else {
					assert.ErrorIs(t, err, tt.is)
				}
			}
			data, rerr := os.ReadFile(path)
			require.NoError(t, rerr)
			assert.Equal(t, tt.content, string(data), "nothing written")
			entries, rerr := os.ReadDir(filepath.Dir(path))
			require.NoError(t, rerr)
			assert.Len(t, entries, 1, "no temporary file left")

			// The pre-flight finds the same problem before the run.
			perr := w.Preflight(context.Background(), shipped().Release)
			require.Error(t, perr)
			assert.Contains(t, perr.Error(), tt.want[0])
		})
	}
}

func TestStateWriterPreflight(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "specs", "003-checkout", "state.yaml")
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
	content := sample(t, "spec-flow__scripts__bash__workflow-state.sh__initialize_workflow_state.heredoc.yaml")
	require.NoError(t, os.WriteFile(path, []byte(content), 0o644))
	info, err := os.Stat(path)
	require.NoError(t, err)
	w := &gate.StateWriter{SpecFlow: &gate.SpecFlow{Dir: dir}}

	require.NoError(t, w.Preflight(context.Background(), shipped().Release))
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, content, string(data), "the pre-flight writes nothing")
	after, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, info.ModTime(), after.ModTime())

	t.Run("missing", func(t *testing.T) {
		err := (&gate.StateWriter{SpecFlow: &gate.SpecFlow{Dir: t.TempDir()}}).Preflight(context.Background(), shipped().Release)
		require.ErrorIs(t, err, gate.ErrNoStateFile)
	})
	t.Run("read-only", func(t *testing.T) {
		if os.Geteuid() == 0 {
			t.Skip("root can write a read-only file: this check cannot fail as root")
		}
		ro := filepath.Join(t.TempDir(), "state.yaml")
		require.NoError(t, os.WriteFile(ro, []byte(content), 0o444))
		err := (&gate.StateWriter{SpecFlow: &gate.SpecFlow{Path: ro}}).Preflight(context.Background(), shipped().Release)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "cannot be written")
		assert.Contains(t, err.Error(), "state.write: false")
	})
}

func TestStateWriterPlanActions(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "specs", "003-checkout", "state.yaml")
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
	require.NoError(t, os.WriteFile(path, []byte(sample(t, "spec-flow__scripts__bash__workflow-state.sh__initialize_workflow_state.heredoc.yaml")), 0o644))
	w := &gate.StateWriter{SpecFlow: &gate.SpecFlow{Dir: dir}}
	acts, err := w.PlanActions(context.Background(), shipped().Release)
	require.NoError(t, err)
	assert.Equal(t, []shipprod.Action{{Kind: shipprod.ActionWriteFile, Target: "specs/003-checkout/state.yaml",
		Description: "update specs/003-checkout/state.yaml: deployment.production.* and the phase fields"}}, acts)

	acts, err = (&gate.StateWriter{SpecFlow: &gate.SpecFlow{Dir: t.TempDir()}}).PlanActions(context.Background(), shipped().Release)
	require.NoError(t, err, "a plan is made even without the file; the pre-flight and the gates say what is wrong")
	assert.Equal(t, "update the Spec-Flow state file: deployment.production.* and the phase fields", acts[0].Description)
}

func TestStateConfig(t *testing.T) {
	type cfg struct {
		State gate.StateConfig `yaml:"state"`
		Other string           `yaml:"other"`
	}
	tests := []struct {
		name, doc string
		path      string
		write     bool
		err       string
	}{
		{name: "absent", doc: "other: x\n", write: true},
		{name: "short form", doc: "state: specs/003-checkout/state.yaml\n", path: "specs/003-checkout/state.yaml", write: true},
		{name: "write off", doc: "state:\n  write: false\n", write: false},
		{name: "both", doc: "state:\n  path: s.yaml\n  write: true\n", path: "s.yaml", write: true},
		{name: "unknown key", doc: "state:\n  wrtie: false\n", err: `unknown key "state.wrtie" (known keys here: path, write)`},
		{name: "key twice", doc: "state:\n  write: false\n  write: true\n", err: "lines 2 and 3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c cfg
			err := yamlstrict.Unmarshal("shipprod.yaml", []byte(tt.doc), &c)
			if tt.err != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.err)
				assert.Contains(t, err.Error(), "shipprod.yaml")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.path, c.State.Path)
			assert.Equal(t, tt.write, c.State.WriteEnabled())
		})
	}
}

func TestStateWriterWithoutSpecFlow(t *testing.T) {
	_, err := (&gate.StateWriter{}).WriteReport(context.Background(), shipped())
	require.Error(t, err)
	assert.False(t, errors.Is(err, gate.ErrNoStateFile))
	assert.Contains(t, err.Error(), "no SpecFlow")
}

func TestStateWriterDoesNotRewriteAnUnchangedFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "specs", "003-checkout", "state.yaml")
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
	require.NoError(t, os.WriteFile(path, []byte(approvedState), 0o644))
	w := &gate.StateWriter{SpecFlow: &gate.SpecFlow{Dir: dir}}
	_, err := w.WriteReport(context.Background(), shipped())
	require.NoError(t, err)
	old := t0.Add(-time.Hour)
	require.NoError(t, os.Chtimes(path, old, old))

	paths, err := w.WriteReport(context.Background(), shipped())
	require.NoError(t, err)
	assert.Equal(t, []string{"specs/003-checkout/state.yaml"}, paths)
	info, err := os.Stat(path)
	require.NoError(t, err)
	assert.True(t, info.ModTime().Equal(old), "not rewritten")
}

func TestStateWriterWritesNoCredentials(t *testing.T) {
	res := rolledBack()
	res.Deployment.URL = "https://deploy:s3cr3t-token@app.example.com"
	res.Release.ReleaseURL = "https://x-access-token:ghs_abc123@github.com/acme/app/releases/tag/v1.1.0"
	res.Rollback.Reason = "health checks failed: GET https://probe:hunter2@app.example.com/health: 500"
	res.Rollback.Restored.URL = "https://deploy:s3cr3t-token@app.example.com"
	ship := shipped()
	ship.Deployment.URL, ship.Release.ReleaseURL = res.Deployment.URL, res.Release.ReleaseURL
	for _, r := range []shipprod.Result{ship, res} {
		after, _ := writeBack(t, approvedState, r)
		for _, secret := range []string{"s3cr3t-token", "ghs_abc123", "hunter2"} {
			assert.NotContains(t, after, secret)
		}
		assert.Contains(t, after, "https://***@app.example.com")
	}
}

// ship-recover.sh's dialect names the phase "ship" in workflow.current_phase
// and in phases: a file whose phases map has no ship entry yet gets both,
// and recording the run again changes nothing (found by FuzzApplyPlan: the
// first write said ship-prod, the second ship).
func TestStateWriterNamesTheRecoveredPhaseOnceAndForAll(t *testing.T) {
	before := "manual_gates: {staging_validation: {status: approved}}\nphases:\n  spec: done\nworkflow:\n  current_phase: validate-staging\n"
	once, _ := writeBack(t, before, shipped())
	assert.Contains(t, once, "  current_phase: ship\n")
	assert.Contains(t, once, "  ship: ")
	twice, _ := writeBack(t, before, shipped(), shipped())
	assert.Equal(t, once, twice)
}
