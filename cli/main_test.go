package cli

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shipprod/shipprod"
	"github.com/shipprod/shipprod/internal/git"
	"github.com/shipprod/shipprod/internal/gittest"
	"github.com/shipprod/shipprod/report"
)

// project is the demo project in a temp dir, with its production server.
type project struct {
	t      *testing.T
	work   string
	remote *git.Repo
	local  *git.Repo
	prod   *production
}

// demoProject is the demo project and its remote, made once by the demo's
// own makeDemoProject and copied for each test. Its configuration says
// PROD_URL where the production server's URL goes: each test starts its own
// server and writes that in.
var demoProject = gittest.NewTemplate(func(dir string) error {
	return makeDemoProject(context.Background(), filepath.Join(dir, "demo-app"), filepath.Join(dir, "origin.git"), "PROD_URL")
})

func TestMain(m *testing.M) {
	code := gittest.Main(m)
	demoProject.Remove()
	reference.remove()
	os.Exit(code)
}

func newProject(t *testing.T) *project {
	t.Helper()
	root := t.TempDir()
	demoProject.CopyTo(t, root)
	p := &project{t: t, work: filepath.Join(root, "demo-app"), remote: git.Open(filepath.Join(root, "origin.git"))}
	p.local = git.Open(p.work)
	prod, err := startProduction(p.remote.Dir)
	require.NoError(t, err)
	t.Cleanup(prod.Close)
	p.prod = prod
	// A shorter monitor window than the demo's keeps the tests fast.
	p.edit("shipprod.yaml", func(s string) string {
		s = strings.ReplaceAll(s, "PROD_URL", prod.URL)
		return strings.Replace(s, "window: 3s\n  interval: 1s", "window: 300ms\n  interval: 100ms", 1)
	})
	return p
}

// endToEnd skips, under -short, a test that ships the demo project through
// the whole CLI: real git, a production server and a monitor window in real
// time.
func endToEnd(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("an end-to-end ship through the CLI; skipped with -short")
	}
}

func (p *project) git(r *git.Repo, args ...string) string {
	p.t.Helper()
	out, err := r.Run(context.Background(), args...)
	require.NoError(p.t, err)
	return out
}

// edit changes a file and commits it.
func (p *project) edit(name string, change func(string) string) {
	p.t.Helper()
	path := filepath.Join(p.work, name)
	data, err := os.ReadFile(path)
	require.NoError(p.t, err)
	changed := change(string(data))
	require.NotEqual(p.t, string(data), changed, "the edit of %s changed nothing", name)
	require.NoError(p.t, os.WriteFile(path, []byte(changed), 0o644))
	p.git(p.local, "commit", "--quiet", "--all", "-m", "chore: edit "+name)
}

// run runs the CLI in the project.
func (p *project) run(args ...string) (code int, stdout, stderr string) {
	var out, errOut bytes.Buffer
	cmd := append([]string{args[0], "--dir", p.work}, args[1:]...)
	app := &App{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errOut}
	code = app.Run(context.Background(), cmd)
	return code, out.String(), errOut.String()
}

// snapshot is everything a run could change: the working tree's files,
// the local refs and the remote's refs.
func (p *project) snapshot() string {
	p.t.Helper()
	var b strings.Builder
	err := filepath.WalkDir(p.work, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == ".git" {
			return filepath.SkipDir
		}
		if d.Type().IsRegular() {
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			fmt.Fprintf(&b, "%s %x\n", path, sha256.Sum256(data))
		}
		return nil
	})
	require.NoError(p.t, err)
	b.WriteString(p.git(p.local, "for-each-ref", "--format=%(refname) %(objectname)"))
	b.WriteString("\n" + p.git(p.remote, "for-each-ref", "--format=%(refname) %(objectname)"))
	return b.String()
}

func TestShipPromotesTheProject(t *testing.T) {
	endToEnd(t)
	p := newProject(t)
	previous := p.git(p.local, "rev-parse", "v1.2.0^{commit}")
	code, out, errOut := p.run("ship", "--yes")
	require.Equal(t, ExitOK, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
	for _, line := range []string{
		"Verifying release gates... ✅", "Bumping version 1.2.0 → 1.3.0... ✅", "Creating git tag v1.3.0... ✅",
		"Deploying v1.3.0 to production... ✅", "Running health checks... ✅", "Writing ship report... ✅",
		"Monitoring production... ✅", "✅ Shipped v1.3.0 to production with git-push",
	} {
		assert.Contains(t, out, line)
	}

	// The bump commit holds exactly the version files.
	head := p.git(p.local, "rev-parse", "HEAD")
	assert.Equal(t, "chore(release): v1.3.0", p.git(p.local, "log", "-1", "--format=%s"))
	assert.ElementsMatch(t, []string{"CHANGELOG.md", "VERSION", "package.json"}, strings.Fields(p.git(p.local, "show", "--name-only", "--format=", "HEAD")))
	assert.Equal(t, "1.3.0", p.git(p.local, "show", "HEAD:VERSION"))
	// The tag is annotated, on the bump commit, and carries the CHANGELOG section.
	assert.Equal(t, "tag", p.git(p.local, "cat-file", "-t", "v1.3.0"))
	msg := p.git(p.local, "for-each-ref", "--format=%(contents)", "refs/tags/v1.3.0")
	assert.True(t, strings.HasPrefix(msg, "Release v1.3.0\n"), msg)
	assert.Contains(t, msg, "### Added\n\n- Pay with passkeys at checkout.")
	// The remote has the commit, the tag and production at the tagged commit.
	assert.Equal(t, head, p.git(p.remote, "rev-parse", "refs/tags/v1.3.0^{commit}"))
	assert.Equal(t, head, p.git(p.remote, "rev-parse", "refs/heads/main"))
	assert.Equal(t, head, p.git(p.remote, "rev-parse", "refs/heads/production"))
	served, err := p.prod.servedVersion()
	require.NoError(t, err)
	assert.Equal(t, "1.3.0", served)

	// The report and its twin state the same facts as the remote.
	dir := filepath.Join(p.work, "specs", demoFeature)
	md, err := os.ReadFile(filepath.Join(dir, "production-ship-report.md"))
	require.NoError(t, err)
	raw, err := os.ReadFile(filepath.Join(dir, "production-ship-report.json"))
	require.NoError(t, err)
	var doc report.Document
	require.NoError(t, json.Unmarshal(raw, &doc))
	assert.Equal(t, "shipped", doc.Outcome)
	assert.Equal(t, "1.3.0", doc.Version)
	assert.Equal(t, "v1.3.0", doc.Tag)
	assert.Equal(t, head, doc.Commit)
	require.NotNil(t, doc.Deployment)
	assert.Equal(t, "git-push", doc.Deployment.Provider)
	assert.Equal(t, head, doc.Deployment.ID)
	assert.Equal(t, previous, doc.Deployment.PreviousID)
	assert.Equal(t, p.prod.URL, doc.ProductionURL)
	require.NotNil(t, doc.Health)
	assert.True(t, doc.Health.Passed)
	require.NotNil(t, doc.Monitor, "the report was updated with the monitor's verdict")
	assert.Equal(t, "passed", doc.Monitor.Verdict)
	assert.Contains(t, string(md), "- **Commit SHA**: "+head)
	assert.Contains(t, string(md), "origin "+previous+":refs/heads/production", "the rollback command names the previous release")
}

func TestBlockedGateChangesNothing(t *testing.T) {
	p := newProject(t)
	p.edit("specs/"+demoFeature+"/state.yaml", func(s string) string {
		return strings.Replace(s, "status: approved", "status: pending", 1)
	})
	before := p.snapshot()
	code, out, errOut := p.run("ship", "--yes")
	assert.Equal(t, ExitBlocked, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
	assert.Contains(t, errOut, `specs/001-checkout-passkeys/state.yaml:11: workflow.manual_gates.staging_validation.status is "pending", want "approved"`)
	assert.Contains(t, errOut, "run /validate-staging")
	assert.Contains(t, out, "Verifying release gates... ❌")
	assert.Equal(t, before, p.snapshot(), "no commit, tag, push or file was made")
}

// decodeJSONLines decodes the CLI's JSON Lines output.
func decodeJSONLines(t *testing.T, out string) []map[string]json.RawMessage {
	t.Helper()
	var lines []map[string]json.RawMessage
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var m map[string]json.RawMessage
		require.NoError(t, json.Unmarshal(sc.Bytes(), &m), sc.Text())
		lines = append(lines, m)
	}
	return lines
}

func TestPlanChangesNothingAndListsWhatShipDoes(t *testing.T) {
	endToEnd(t)
	p := newProject(t)
	before := p.snapshot()

	code, out, errOut := p.run("plan")
	require.Equal(t, ExitOK, code, errOut)
	assert.Contains(t, out, "Plan: ship v1.3.0 (minor bump from v1.2.0)")
	assert.Contains(t, out, "because commit")
	assert.Contains(t, out, "nothing has been changed")

	code, out, errOut = p.run("plan", "--json")
	require.Equal(t, ExitOK, code, errOut)
	assert.Equal(t, before, p.snapshot(), "plan changed nothing")
	lines := decodeContract(t, out)
	require.Len(t, lines, 1)
	planned := lines[0].value.(*JSONPlan)
	// The actions ship makes unconditionally, as shipprod.Plan.Actions
	// lists them: those of the steps that are neither skipped nor
	// conditional.
	var want []JSONAction
	for _, s := range planned.Steps {
		if !s.Skipped && s.Condition == "" {
			want = append(want, s.Actions...)
		}
	}
	require.NotEmpty(t, want)
	var kinds []string
	for _, a := range want {
		kinds = append(kinds, a.Kind+" "+a.Target)
	}
	assert.Subset(t, kinds, []string{"write-file package.json", "write-file VERSION", "write-file CHANGELOG.md", "tag refs/tags/v1.3.0", "push origin refs/heads/production",
		"write-file specs/001-checkout-passkeys/production-ship-report.md"})

	code, out, errOut = p.run("ship", "--yes", "--json")
	require.Equal(t, ExitOK, code, errOut)
	var done []JSONAction
	var result *JSONResult
	for _, line := range decodeContract(t, out) {
		switch v := line.value.(type) {
		case *JSONResult:
			result = v
		case *JSONEvent:
			if v.Event == string(shipprod.EventStarted) {
				done = append(done, v.Actions...)
			}
		default:
			t.Errorf("ship --json wrote a %s line", line.schema)
		}
	}
	assert.Equal(t, want, done, "ship did exactly what plan listed")
	require.NotNil(t, result, "the last line is the result")
	assert.Equal(t, "shipped", result.Outcome)
	assert.Equal(t, ExitOK, result.ExitCode)
}

func mustJSON(t *testing.T, v any) []byte {
	data, err := json.Marshal(v)
	require.NoError(t, err)
	return data
}

func TestUnhealthyReleaseIsRolledBack(t *testing.T) {
	endToEnd(t)
	p := newProject(t)
	previous := p.git(p.local, "rev-parse", "v1.2.0^{commit}")
	p.edit("shipprod.yaml", func(s string) string {
		return strings.Replace(s, "      expect_status: 200\n", "      expect_status: 200\n      failure_threshold: 1\n", 1)
	})
	p.prod.broken.Store("1.3.0")
	code, out, errOut := p.run("ship", "--yes")
	require.Equal(t, ExitUnhealthy, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
	assert.Contains(t, out, "Running health checks... ❌")
	assert.Contains(t, out, "Rolling back to v1.2.0... ✅")
	assert.Contains(t, out, "v1.3.0 was unhealthy in production and was rolled back to v1.2.0")
	assert.Contains(t, out, "Fix what made v1.3.0 unhealthy, commit the fix and ship a new version:\n     $ shipprod ship --dir "+p.work+"\n")
	assert.Contains(t, errOut, "cannot reach its database")
	assert.Equal(t, previous, p.git(p.remote, "rev-parse", "refs/heads/production"), "production runs v1.2.0 again")
	served, err := p.prod.servedVersion()
	require.NoError(t, err)
	assert.Equal(t, "1.2.0", served)
	raw, err := os.ReadFile(filepath.Join(p.work, "specs", demoFeature, "production-ship-report.json"))
	require.NoError(t, err)
	var doc report.Document
	require.NoError(t, json.Unmarshal(raw, &doc))
	assert.Equal(t, "rolled-back", doc.Outcome)
	require.NotNil(t, doc.Rollback)
	require.NotNil(t, doc.Rollback.Health)
	assert.True(t, doc.Rollback.Health.Passed, "the restored version was checked and is healthy")
}

func TestUsageAndConfigErrors(t *testing.T) {
	p := newProject(t)
	tests := []struct {
		name   string
		args   []string
		config string
		want   string
	}{
		{name: "unknown command", args: []string{"shipit"}, want: `unknown command "shipit"`},
		{name: "unknown flag", args: []string{"ship", "--force"}, want: "unknown flag: --force (see shipprod ship --help)"},
		{name: "stray argument", args: []string{"plan", "now"}, want: `unexpected argument "now"`},
		{name: "missing config", args: []string{"plan", "--config", "nope.yaml"}, want: "no "},
		{name: "unknown key", args: []string{"plan"}, config: "version:\n  bump: auto\n  tag_prefx: v\n",
			want: `shipprod.yaml:3: unknown key "version.tag_prefx"`},
		{name: "unknown deployer", args: []string{"plan"}, config: "deploy:\n  provider: heroku\n",
			want: `unknown deployer "heroku" (forgotten import?); known deployers: deploy-hook, git-push, github-actions, vercel`},
		{name: "unknown deployer section", args: []string{"plan"}, config: "deploy:\n  provider: git-push\n  gitpush: {branch: prod}\n",
			want: `shipprod.yaml:3: unknown key "deploy.gitpush"`},
		{name: "unknown key in a deployer section", args: []string{"plan"}, config: "deploy:\n  provider: git-push\n  git-push:\n    brnach: prod\n",
			want: `unknown key "deploy.git-push.brnach"`},
		{name: "an empty configuration deploys nothing silently", args: []string{"ship", "--yes"}, config: "\n",
			want: `deploy.provider is not set: name the deployer (deploy-hook, git-push, github-actions, vercel), or "none" to tag and publish without deploying`},
		{name: "a key defined twice", args: []string{"plan"}, config: "deploy:\n  provider: none\ngates:\n  skip: false\ngates:\n  skip: true\n",
			want: `shipprod.yaml:5: duplicate key "gates": defined at lines 3 and 5`},
		{name: "ship needs confirmation", args: []string{"ship"}, want: "not confirmed, nothing was changed (pass --yes to ship without asking)"},
		{name: "json needs yes", args: []string{"ship", "--json"}, want: "--json needs --yes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := tt.args
			if tt.config != "" {
				path := filepath.Join(t.TempDir(), "shipprod.yaml")
				require.NoError(t, os.WriteFile(path, []byte(tt.config), 0o644))
				args = append(args, "--config", path)
			}
			before := p.snapshot()
			code, _, errOut := p.run(args...)
			assert.Equal(t, ExitUsage, code, errOut)
			assert.Contains(t, errOut, tt.want)
			assert.Equal(t, before, p.snapshot())
		})
	}
}

func TestVersionCommand(t *testing.T) {
	p := newProject(t)
	code, out, errOut := p.run("version")
	require.Equal(t, ExitOK, code, errOut)
	assert.Regexp(t, `current\s+1\.2\.0 \(tag v1\.2\.0\)`, out)
	assert.Regexp(t, `next\s+1\.3\.0 \(tag v1\.3\.0\)`, out)
	assert.Contains(t, out, "feat(checkout): pay with passkeys")

	code, out, errOut = p.run("version", "--json")
	require.Equal(t, ExitOK, code, errOut)
	lines := decodeContract(t, out)
	require.Len(t, lines, 1)
	d := lines[0].value.(*JSONVersion)
	assert.Equal(t, "1.2.0", d.Current)
	assert.Equal(t, "1.3.0", d.Next)
	assert.Equal(t, "minor", d.Bump)
}

func TestDemo(t *testing.T) {
	endToEnd(t)
	t.Parallel() // the demo's 3s monitor window runs in real time: overlap the two
	var out, errOut bytes.Buffer
	code := (&App{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errOut}).Run(context.Background(), []string{"demo", "--keep=false"})
	require.Equal(t, ExitOK, code, "stdout:\n%s\nstderr:\n%s", out.String(), errOut.String())
	assert.Contains(t, out.String(), "✅ Shipped v1.3.0 to production with git-push")
	assert.Contains(t, out.String(), "Production now serves version 1.3.0.")
}

// The configuration shown in the README is valid: it decodes strictly and
// builds a pipeline.
func TestREADMEConfigIsValid(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "README.md"))
	require.NoError(t, err)
	_, rest, ok := strings.Cut(string(readme), "### shipprod.yaml")
	require.True(t, ok)
	_, block, ok := strings.Cut(rest, "```yaml\n")
	require.True(t, ok)
	block, _, ok = strings.Cut(block, "```")
	require.True(t, ok)

	r := gittest.New(t)
	path := filepath.Join(r.Dir, "shipprod.yaml")
	require.NoError(t, os.WriteFile(path, []byte(block), 0o644))
	cfg, err := loadConfig(path)
	require.NoError(t, err)
	require.NotNil(t, cfg)
	t.Setenv("GITHUB_TOKEN", "test-token")
	t.Setenv("DATABASE_URL", "postgres://app:secret@db/app")
	t.Setenv("REDIS_PASSWORD", "secret")
	_, err = build(context.Background(), r.Dir, path, cfg, slogDiscard())
	require.NoError(t, err)
}

func slogDiscard() *slog.Logger { return slog.New(slog.DiscardHandler) }

// A custom deployer is used from shipprod.yaml by its registered name: the
// reference CLI only blank-imports its package.
func TestCustomDeployerFromConfig(t *testing.T) {
	endToEnd(t)
	p := newProject(t)
	var hooks []map[string]any
	mux := http.NewServeMux()
	var hook *httptest.Server
	mux.HandleFunc("POST /hooks/web", func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		require.NoError(t, json.NewDecoder(r.Body).Decode(&body))
		hooks = append(hooks, body)
		// The platform deploys the commit: production now serves it.
		commit, _ := body["commit"].(string)
		_, err := p.remote.Run(r.Context(), "update-ref", "refs/heads/production", commit)
		require.NoError(t, err)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		json.NewEncoder(w).Encode(map[string]string{"id": "deploy-7", "status_url": hook.URL + "/status/deploy-7"})
	})
	mux.HandleFunc("GET /status/deploy-7", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]string{"state": "succeeded", "commit": hooks[len(hooks)-1]["commit"].(string)})
	})
	hook = httptest.NewServer(mux)
	defer hook.Close()

	p.edit("shipprod.yaml", func(s string) string {
		start := strings.Index(s, "deploy:\n")
		end := strings.Index(s, "health:\n")
		return s[:start] + "deploy:\n  provider: deploy-hook\n  deploy-hook:\n    hook_url: " + hook.URL + "/hooks/web\n    url: " + p.prod.URL + "\n    poll_interval: 10ms\n" + s[end:]
	})
	code, out, errOut := p.run("ship", "--yes")
	require.Equal(t, ExitOK, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
	assert.Contains(t, out, "✅ Shipped v1.3.0 to production with deploy-hook (deployment deploy-7)")
	require.Len(t, hooks, 1)
	assert.Equal(t, "v1.3.0", hooks[0]["tag"])
	served, err := p.prod.servedVersion()
	require.NoError(t, err)
	assert.Equal(t, "1.3.0", served)
}

// A run that fails after tagging (here production refuses the push) is
// resumed by the next run, which deploys the same release instead of saying
// "nothing to release".
func TestFailedShipIsResumed(t *testing.T) {
	endToEnd(t)
	p := newProject(t)
	hook := filepath.Join(p.remote.Dir, "hooks", "pre-receive")
	require.NoError(t, os.WriteFile(hook, []byte("#!/bin/sh\nwhile read old new ref; do\n  if [ \"$ref\" = refs/heads/production ]; then echo 'production is frozen' >&2; exit 1; fi\ndone\n"), 0o755))
	code, out, errOut := p.run("ship", "--yes")
	require.Equal(t, ExitFailed, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
	assert.Contains(t, errOut, "the remote said: production is frozen")
	assert.Contains(t, out, "resume this run where it stopped (add --fresh to start over instead):\n     $ shipprod ship --dir "+p.work+"\n")
	release := p.git(p.local, "rev-parse", "HEAD")
	assert.Equal(t, release, p.git(p.remote, "rev-parse", "refs/tags/v1.3.0^{commit}"), "the tag was pushed before the deploy failed")

	code, out, _ = p.run("plan")
	require.Equal(t, ExitOK, code)
	assert.Contains(t, out, "Note: resuming the run of")

	require.NoError(t, os.Remove(hook))
	code, out, errOut = p.run("ship", "--yes")
	require.Equal(t, ExitOK, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
	assert.Contains(t, out, "Skipped version, tag, baseline: done by the run of")
	assert.Contains(t, out, "✅ Shipped v1.3.0 to production with git-push")
	assert.Equal(t, release, p.git(p.local, "rev-parse", "HEAD"), "no second bump commit")
	assert.Equal(t, release, p.git(p.remote, "rev-parse", "refs/heads/production"))

	code, out, _ = p.run("ship", "--yes")
	require.Equal(t, ExitOK, code)
	assert.Contains(t, out, "Nothing to release")
}

// A run whose tag push is refused after the bump commit was made is resumed
// from the tag step.
func TestShipResumedAfterTheTagPushFailed(t *testing.T) {
	endToEnd(t)
	p := newProject(t)
	hook := filepath.Join(p.remote.Dir, "hooks", "pre-receive")
	require.NoError(t, os.WriteFile(hook, []byte("#!/bin/sh\necho 'pushes are paused' >&2\nexit 1\n"), 0o755))
	code, out, errOut := p.run("ship", "--yes")
	require.Equal(t, ExitFailed, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
	assert.Contains(t, out, "Creating git tag v1.3.0... ❌")
	bump := p.git(p.local, "rev-parse", "HEAD")
	assert.Equal(t, "chore(release): v1.3.0", p.git(p.local, "log", "-1", "--format=%s"))

	require.NoError(t, os.Remove(hook))
	code, out, errOut = p.run("ship", "--yes")
	require.Equal(t, ExitOK, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
	assert.Contains(t, out, "Skipped version: done by the run of")
	assert.Contains(t, out, "Creating git tag v1.3.0... ✅")
	assert.Equal(t, bump, p.git(p.local, "rev-parse", "HEAD"), "no second bump commit")
	assert.Equal(t, bump, p.git(p.remote, "rev-parse", "refs/tags/v1.3.0^{commit}"))
	assert.Equal(t, bump, p.git(p.remote, "rev-parse", "refs/heads/production"))
}

// A remote URL with a token in it never reaches the output, the errors, the
// JSON events, the journal or the report.
func TestTokenInRemoteURLNeverShows(t *testing.T) {
	endToEnd(t)
	p := newProject(t)
	// The release is pushed over HTTP (git http-backend behind a loopback
	// server) with a token in the remote's URL, as CI jobs often do.
	require.NoError(t, exec.Command("git", "-C", p.remote.Dir, "config", "http.receivepack", "true").Run())
	srv := httptest.NewServer(&cgi.Handler{Path: gitPath(t), Args: []string{"http-backend"},
		Env: []string{"GIT_PROJECT_ROOT=" + filepath.Dir(p.remote.Dir), "GIT_HTTP_EXPORT_ALL=1"}})
	t.Cleanup(srv.Close)
	const secret = "ghp_S3CRETtoken0123456789"
	remote := strings.Replace(srv.URL, "http://", "http://x-access-token:"+secret+"@", 1) + "/" + filepath.Base(p.remote.Dir)
	masked := strings.Replace(srv.URL, "http://", "http://***@", 1) + "/" + filepath.Base(p.remote.Dir)
	p.edit("shipprod.yaml", func(s string) string {
		return strings.Replace(s, "git:\n  remote: origin", "git:\n  remote: "+remote, 1)
	})
	var outputs []string
	code, out, errOut := p.run("plan")
	outputs = append(outputs, out, errOut)
	assert.Equal(t, ExitOK, code, errOut)
	assert.Contains(t, out, masked)
	code, out, errOut = p.run("plan", "--json")
	outputs = append(outputs, out, errOut)
	assert.Equal(t, ExitOK, code, errOut)
	code, out, errOut = p.run("ship", "--yes", "--json", "--verbose")
	outputs = append(outputs, out, errOut)
	assert.Equal(t, ExitOK, code, errOut)
	tag, err := p.remote.Run(context.Background(), "rev-parse", "--verify", "refs/tags/v1.3.0")
	require.NoError(t, err, "the tag went over HTTP")
	assert.NotEmpty(t, tag)
	for _, path := range []string{
		filepath.Join(p.work, ".git", "shipprod", "journal.json"),
		filepath.Join(p.work, "specs", demoFeature, "production-ship-report.md"),
		filepath.Join(p.work, "specs", demoFeature, "production-ship-report.json"),
		filepath.Join(p.work, "specs", demoFeature, "state.yaml"),
	} {
		data, err := os.ReadFile(path)
		require.NoError(t, err, "the run wrote %s", path)
		outputs = append(outputs, string(data))
	}
	for i, o := range outputs {
		assert.NotContains(t, o, secret, "output %d", i)
	}
}

func gitPath(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("git")
	require.NoError(t, err)
	return path
}

func TestStatePathAbsoluteOrRelative(t *testing.T) {
	p := newProject(t)
	abs := filepath.Join(t.TempDir(), "approved.yaml")
	data, err := os.ReadFile(filepath.Join(p.work, "specs", demoFeature, "state.yaml"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(abs, data, 0o644))
	for _, state := range []string{abs, "specs/" + demoFeature + "/state.yaml"} {
		cfg := filepath.Join(t.TempDir(), "shipprod.yaml")
		require.NoError(t, os.WriteFile(cfg, []byte("state: "+state+"\ndeploy: {provider: none}\n"), 0o644))
		code, out, errOut := p.run("plan", "--config", cfg)
		assert.Equal(t, ExitOK, code, "state: %s\n%s%s", state, out, errOut)
		assert.Contains(t, out, "✅ staging_validation")
	}
}

func TestJSONModeStillReportsErrors(t *testing.T) {
	p := newProject(t)
	p.edit("VERSION", func(string) string { return "not-a-version\n" })
	code, out, errOut := p.run("version", "--json")
	assert.Equal(t, ExitFailed, code)
	assert.Contains(t, errOut, "VERSION")
	lines := decodeContract(t, out)
	require.Len(t, lines, 1, "stdout carries only JSON: the error line")
	e := lines[0].value.(*JSONError)
	assert.Equal(t, ExitFailed, e.ExitCode)
	assert.Contains(t, e.Message, "VERSION")
	assert.Contains(t, errOut, e.Message, "the error line says what stderr says")
}

func TestDemoJSONSaysWhereTheProjectIs(t *testing.T) {
	endToEnd(t)
	t.Parallel()
	var out, errOut bytes.Buffer
	code := (&App{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errOut}).Run(context.Background(), []string{"demo", "--json", "--keep=false"})
	require.Equal(t, ExitOK, code, errOut.String())
	lines := decodeContract(t, out.String())
	require.NotEmpty(t, lines)
	first, ok := lines[0].value.(*JSONDemo)
	require.True(t, ok, "the first line is the demo's, not %s", lines[0].schema)
	assert.True(t, strings.HasSuffix(first.Project, "demo-app"), first.Project)
	assert.True(t, strings.HasPrefix(first.Production, "http://127.0.0.1:"))
	result, ok := lines[len(lines)-1].value.(*JSONResult)
	require.True(t, ok, "the last line is the result, not %s", lines[len(lines)-1].schema)
	assert.Equal(t, "shipped", result.Outcome)
	for _, l := range lines[1 : len(lines)-1] {
		assert.Equal(t, SchemaEvent, l.schema, "between the demo and the result, only events")
	}
}

func TestPlanRefusesADirtyTreeAsShipWould(t *testing.T) {
	p := newProject(t)
	require.NoError(t, os.WriteFile(filepath.Join(p.work, "server.js"), []byte("// edited\n"), 0o644))
	before := p.snapshot()
	code, _, errOut := p.run("plan")
	assert.Equal(t, ExitFailed, code)
	assert.Contains(t, errOut, "uncommitted changes: server.js")
	code, _, errOut = p.run("ship", "--yes")
	assert.Equal(t, ExitFailed, code)
	assert.Contains(t, errOut, "uncommitted changes: server.js")
	assert.Equal(t, before, p.snapshot())
}

// An interrupted run is not a configuration mistake: when the context ends
// while the pipeline is being set up (here before the journal's git
// command), the exit code is the interrupted one and the error says so, not 2.
func TestInterruptedSetupIsNotAUsageError(t *testing.T) {
	p := newProject(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var out, errOut bytes.Buffer
	code := (&App{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errOut}).Run(ctx, []string{"plan", "--dir", p.work})
	assert.Equal(t, ExitInterrupted, code, errOut.String())
	assert.Contains(t, errOut.String(), "context canceled")
}
