package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shipprod/shipprod/internal/gittest"
)

// What a user does first, through the binary: init in a project without a
// configuration, then the two commands init says to run next.
func TestInitThenCheckThenShipThroughTheBinary(t *testing.T) {
	endToEnd(t)
	p := newProject(t)
	p.git(p.local, "rm", "--quiet", "shipprod.yaml")
	p.git(p.local, "commit", "--quiet", "-m", "chore: start again without a configuration")

	code, out, errOut := p.exec("init")
	require.Equal(t, ExitOK, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
	assert.Contains(t, out, "git-push to branch production of origin")
	assert.Contains(t, out, "shipprod check --dir "+p.work)
	assert.Contains(t, out, "shipprod ship --dir "+p.work)
	written, err := os.ReadFile(filepath.Join(p.work, "shipprod.yaml"))
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(string(written), "# yaml-language-server: $schema="+SchemaURL+"\n"), "the first line names the schema")

	code, out, errOut = p.exec("check", "--dir", p.work)
	require.Equal(t, ExitOK, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
	assert.Contains(t, out, "✅ Every check passed")
	assert.Contains(t, out, "no health checks are configured")

	code, out, errOut = p.exec("ship", "--yes")
	require.Equal(t, ExitNotVerified, code, "no health check verifies it: stdout:\n%s\nstderr:\n%s", out, errOut)
	assert.Contains(t, out, "Shipped v1.3.0 to production, not verified")
	served, err := p.prod.servedVersion()
	require.NoError(t, err)
	assert.Equal(t, "1.3.0", served, "the configuration init wrote shipped the release")
}

func TestInitDetectsWhatTheProjectHas(t *testing.T) {
	tests := []struct {
		name    string
		spec    gittest.Spec
		files   map[string]string
		want    []string
		wantNot []string
		// github and vercel are the GitHub repository and the Vercel
		// project init --json says it found.
		github string
		vercel *JSONVercel
	}{
		{name: "a GitHub repository with package.json, a changelog and Spec-Flow",
			spec: gittest.Spec{Remotes: map[string]string{"origin": "git@github.com:acme/web.git"}},
			files: map[string]string{"package.json": `{"version": "1.0.0"}`, "CHANGELOG.md": "# Changelog\n",
				"specs/002-login/state.yaml": demoState},
			want: []string{"  files: [package.json]\n", "  changelog: CHANGELOG.md", "github:\n  repository: acme/web\n",
				"# state: specs/002-login/state.yaml", "  provider: git-push", "    remote: origin\n", "  branch: main"},
			wantNot: []string{"\ngates:\n"}, github: "acme/web"},
		{name: "a linked Vercel project",
			spec:  gittest.Spec{Remotes: map[string]string{"origin": "https://github.com/acme/shop"}},
			files: map[string]string{".vercel/project.json": `{"projectId":"prj_12AB","orgId":"team_9Z"}`, "VERSION": "0.3.0\n"},
			want: []string{"  provider: vercel", "  vercel:\n    project: prj_12AB\n    team: team_9Z\n", "  files: [VERSION]",
				"github:\n  repository: acme/shop", "gates:\n  skip: true"},
			github: "acme/shop", vercel: &JSONVercel{Project: "prj_12AB", Team: "team_9Z"}},
		{name: "a workflow that can be dispatched",
			spec: gittest.Spec{Remotes: map[string]string{"origin": "https://github.com/acme/api.git"}},
			files: map[string]string{
				".github/workflows/ci.yml":          "on: [push, pull_request]\njobs: {}\n",
				".github/workflows/release.yml":     "on:\n  workflow_dispatch:\njobs: {}\n",
				".github/workflows/deploy-prod.yml": "name: Deploy\non:\n  push:\n    tags: ['v*']\n  workflow_dispatch:\n    inputs:\n      version: {required: true}\njobs: {}\n"},
			want:   []string{"  provider: github-actions", "  github-actions:\n    workflow: deploy-prod.yml\n"},
			github: "acme/api"},
		{name: "a Go module without a remote",
			files: map[string]string{"go.mod": "module example.com/tool\n", "internal/buildinfo/version.go": "package buildinfo\n\n// Version is set by shipprod.\nconst Version = \"0.4.1\"\n",
				"internal/buildinfo/version_test.go": "package buildinfo\n\nconst Version2 = \"9.9.9\"\n"},
			want: []string{"  files: [internal/buildinfo/version.go]", `changelog: "-"`, "# remote: origin      # no git remote found",
				"    remote: origin\n    branch: production"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			gittest.Isolate(t)
			spec := tt.spec
			spec.Commits = []gittest.Commit{{Message: "feat: start", Files: tt.files}}
			r := gittest.Build(t, spec)
			var out, errOut bytes.Buffer
			code := (&App{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errOut}).Run(context.Background(), []string{"init", "--dir", r.Dir})
			require.Equal(t, ExitOK, code, errOut.String())
			written, err := os.ReadFile(filepath.Join(r.Dir, "shipprod.yaml"))
			require.NoError(t, err)
			out.Reset()
			code = (&App{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errOut}).Run(context.Background(), []string{"init", "--force", "--json", "--dir", r.Dir})
			require.Equal(t, ExitOK, code, errOut.String())
			lines := decodeContract(t, out.String())
			require.Len(t, lines, 1)
			got := lines[0].value.(*JSONInit)
			assert.Equal(t, filepath.Join(r.Dir, "shipprod.yaml"), got.Path)
			assert.Equal(t, tt.github, got.Detected.GitHubRepository)
			assert.Equal(t, tt.vercel, got.Detected.Vercel)
			again, err := os.ReadFile(got.Path)
			require.NoError(t, err)
			assert.Equal(t, string(written), string(again), "--json writes the same file")
			for _, w := range tt.want {
				assert.Contains(t, string(written), w)
			}
			for _, w := range tt.wantNot {
				assert.NotContains(t, string(written), w)
			}
			cfg, err := LoadConfig(filepath.Join(r.Dir, "shipprod.yaml"))
			require.NoError(t, err, "init writes what the CLI reads")
			assert.NotEmpty(t, cfg.Deploy.Provider)
			assert.Equal(t, cfg.Deploy.Provider, got.Detected.Deployer, "--json names the deployer written")
		})
	}
}

func TestInitRefusesToOverwriteWithoutForce(t *testing.T) {
	p := newProject(t)
	before := p.snapshot()
	code, _, errOut := p.run("init")
	assert.Equal(t, ExitUsage, code)
	assert.Contains(t, errOut, "shipprod.yaml exists: edit it, or pass --force to write a new one over it")
	assert.Equal(t, before, p.snapshot())

	code, out, _ := p.run("init", "--json")
	assert.Equal(t, ExitUsage, code)
	lines := decodeContract(t, out)
	require.Len(t, lines, 1, "only the error line")
	e := lines[0].value.(*JSONError)
	assert.Equal(t, ExitUsage, e.ExitCode)
	assert.Contains(t, e.Message, "shipprod.yaml exists")
	assert.Equal(t, before, p.snapshot())

	code, out, errOut = p.run("init", "--force", "--json")
	require.Equal(t, ExitOK, code, errOut)
	lines = decodeContract(t, out)
	require.Len(t, lines, 1)
	require.Equal(t, SchemaInit, lines[0].schema)
	got := lines[0].value.(*JSONInit)
	assert.Equal(t, filepath.Join(p.work, "shipprod.yaml"), got.Path)
	assert.Equal(t, "git-push", got.Detected.Deployer)
	assert.Equal(t, "specs/"+demoFeature+"/state.yaml", got.Detected.StateFile)
	assert.Nil(t, got.Detected.Vercel)
	require.Len(t, got.Next, 2)
	assert.Equal(t, "shipprod check --dir "+p.work, got.Next[0].Command)
	assert.NotEqual(t, before, p.snapshot(), "--force wrote the file")
}

func TestInitOutsideAGitRepository(t *testing.T) {
	dir := t.TempDir()
	var out, errOut bytes.Buffer
	code := (&App{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errOut}).Run(context.Background(), []string{"init", "--dir", dir})
	assert.Equal(t, ExitUsage, code)
	assert.Contains(t, errOut.String(), "is not a git repository")
	_, err := os.Stat(filepath.Join(dir, "shipprod.yaml"))
	assert.True(t, os.IsNotExist(err), "nothing was written")
}
