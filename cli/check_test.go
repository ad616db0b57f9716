package cli

import (
	"os"
	"path/filepath"
	"slices"
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
	lines := decodeContract(t, out)
	require.Len(t, lines, 1)
	require.Equal(t, SchemaCheck, lines[0].schema)
	got := lines[0].value.(*JSONCheckReport)
	assert.True(t, got.OK)
	require.NotNil(t, got.Release)
	assert.Equal(t, "v1.3.0", got.Release.Tag)
	assert.NotEmpty(t, got.Gates.Gates)
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
		// json checks the check line of --json.
		json func(t *testing.T, c *JSONCheckReport)
	}{
		{name: "a mistake in the configuration", code: ExitUsage, stderr: `unknown key "deploy.git-push.brnach"`,
			json: func(t *testing.T, c *JSONCheckReport) {
				assert.Contains(t, c.ConfigError, `unknown key "deploy.git-push.brnach"`)
				assert.Nil(t, c.Release, "nothing else was checked")
				assert.Empty(t, c.Preflight)
			},
			change: func(p *project) {
				p.edit("shipprod.yaml", func(s string) string { return strings.Replace(s, "branch: production", "brnach: production", 1) })
			}},
		{name: "a pre-flight check that fails", code: ExitUsage, stderr: "the pre-flight failed (see above)",
			stdout: []string{"  ❌ report: ", "report.path ../outside.md is outside the project"},
			json: func(t *testing.T, c *JSONCheckReport) {
				failed := slices.IndexFunc(c.Preflight, func(p JSONPreflightCheck) bool { return !p.Passed })
				require.GreaterOrEqual(t, failed, 0, "a pre-flight check failed")
				assert.Equal(t, "report", c.Preflight[failed].Step)
				assert.Contains(t, c.Preflight[failed].Error, "report.path ../outside.md is outside the project")
			},
			change: func(p *project) {
				p.edit("shipprod.yaml", func(s string) string { return s + "report:\n  path: ../outside.md\n" })
			}},
		{name: "a gate that blocks", code: ExitBlocked, stderr: "a release gate blocks the release",
			stdout: []string{`❌ staging_validation: "pending", want "approved" (staging validation is not finished: run /validate-staging`},
			json: func(t *testing.T, c *JSONCheckReport) {
				assert.Equal(t, "specs/"+demoFeature+"/state.yaml", c.Gates.Source)
				require.NotEmpty(t, c.Gates.Gates)
				g := c.Gates.Gates[0]
				assert.Equal(t, "staging_validation", g.Name)
				assert.Equal(t, "pending", g.Found)
				assert.Equal(t, "approved", g.Required)
				assert.False(t, g.Passed || g.Advisory, "it blocks")
				assert.Contains(t, g.Hint, "run /validate-staging")
			},
			change: func(p *project) {
				p.edit("specs/"+demoFeature+"/state.yaml", func(s string) string { return strings.Replace(s, "status: approved", "status: pending", 1) })
			}},
		{name: "uncommitted changes", code: ExitFailed, stderr: "uncommitted changes: server.js",
			stdout: []string{"❌ version: planning step version: the working tree has uncommitted changes: server.js"},
			json: func(t *testing.T, c *JSONCheckReport) {
				require.Len(t, c.Errors, 1)
				assert.Contains(t, c.Errors[0], "version: planning step version: the working tree has uncommitted changes: server.js")
			},
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
			lines := decodeContract(t, out)
			require.Len(t, lines, 2, "--json still writes its line, then the error line")
			require.Equal(t, SchemaCheck, lines[0].schema)
			c := lines[0].value.(*JSONCheckReport)
			assert.False(t, c.OK)
			tt.json(t, c)
			require.Equal(t, SchemaError, lines[1].schema)
			assert.Equal(t, tt.code, lines[1].value.(*JSONError).ExitCode)
		})
	}
}
