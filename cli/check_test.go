package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCheckThroughTheBinary(t *testing.T) {
	endToEnd(t)
	p := newProject(t)
	before := p.snapshot()
	code, out, errOut := p.exec("check")
	require.Equal(t, ExitOK, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
	for _, line := range []string{
		"shipprod.yaml: ✅ valid",
		"Release gates (specs/001-checkout-passkeys/state.yaml):\n  ✅ staging_validation\n  ✅ rollback_capability",
		"Release: v1.3.0 (from v1.2.0)",
		// The report and the state file are the steps here that have a
		// pre-flight check; each is asked once.
		"Pre-flight:\n  ✅ tag: git tag\n  ✅ deploy: git-push to origin/production\n  ✅ health: health checks (2)\n  ✅ report: report specs/001-checkout-passkeys/production-ship-report.md and Spec-Flow state file\n\n",
		"✅ Every check passed: shipprod ship can run.",
	} {
		assert.Contains(t, out, line)
	}
	assert.Equal(t, before, p.snapshot(), "check changes nothing")

	code, out, errOut = p.exec("check", "--json")
	require.Equal(t, ExitOK, code, errOut)
	lines := decodeJSONLines(t, out)
	require.Len(t, lines, 1)
	var got struct {
		Schema    string
		OK        bool
		Release   struct{ Tag string }
		Gates     []struct{ Name string }
		Preflight []struct {
			Step   string
			Passed bool
		}
	}
	require.NoError(t, json.Unmarshal(mustJSON(t, lines[0]), &got))
	assert.Equal(t, SchemaCheck, got.Schema)
	assert.True(t, got.OK)
	assert.Equal(t, "v1.3.0", got.Release.Tag)
	assert.NotEmpty(t, got.Gates)
	var steps []string
	for _, c := range got.Preflight {
		assert.True(t, c.Passed, c.Step)
		steps = append(steps, c.Step)
	}
	assert.Equal(t, []string{"tag", "deploy", "health", "report"}, steps)
}

func TestCheckFailures(t *testing.T) {
	tests := []struct {
		name   string
		change func(p *project)
		code   int
		stdout []string
		stderr string
	}{
		{name: "a mistake in the configuration", code: ExitUsage, stderr: `unknown key "deploy.git-push.brnach"`,
			change: func(p *project) {
				p.edit("shipprod.yaml", func(s string) string { return strings.Replace(s, "branch: production", "brnach: production", 1) })
			}},
		{name: "a pre-flight check that fails", code: ExitUsage, stderr: "the pre-flight failed (see above)",
			stdout: []string{"  ❌ report: ", "report.path ../outside.md is outside the project"},
			change: func(p *project) {
				p.edit("shipprod.yaml", func(s string) string { return s + "report:\n  path: ../outside.md\n" })
			}},
		{name: "a gate that blocks", code: ExitBlocked, stderr: "a release gate blocks the release",
			stdout: []string{`❌ staging_validation: "pending", want "approved" (staging validation is not finished: run /validate-staging`},
			change: func(p *project) {
				p.edit("specs/"+demoFeature+"/state.yaml", func(s string) string { return strings.Replace(s, "status: approved", "status: pending", 1) })
			}},
		{name: "uncommitted changes", code: ExitFailed, stderr: "uncommitted changes: server.js",
			stdout: []string{"❌ version: planning step version: the working tree has uncommitted changes: server.js"},
			change: func(p *project) {
				require.NoError(p.t, os.WriteFile(filepath.Join(p.work, "server.js"), []byte("// edited\n"), 0o644))
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newProject(t)
			tt.change(p)
			before := p.snapshot()
			code, out, errOut := p.run("check")
			assert.Equal(t, tt.code, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
			assert.Contains(t, errOut, tt.stderr)
			for _, s := range tt.stdout {
				assert.Contains(t, out, s)
			}
			assert.NotContains(t, out, "Every check passed")
			assert.Equal(t, before, p.snapshot(), "check changes nothing")

			code, out, _ = p.run("check", "--json")
			assert.Equal(t, tt.code, code)
			lines := decodeJSONLines(t, out)
			require.Len(t, lines, 2, "--json still writes its line, then the error line")
			assert.Equal(t, "false", string(lines[0]["ok"]))
			assert.Equal(t, `"`+SchemaError+`"`, string(lines[1]["schema"]))
		})
	}
}
