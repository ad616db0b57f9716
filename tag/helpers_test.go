package tag

import (
	"context"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shipprod/shipprod"
	"github.com/shipprod/shipprod/internal/github/githubfake"
	"github.com/shipprod/shipprod/internal/gittest"
	"github.com/shipprod/shipprod/shipprodtest"
)

const (
	ghRepo  = "acme/web"
	ghToken = "ghp_TAGTESTSECRET_0123456789abcdefABCDEF"
)

var epoch = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)

// world is a working clone with a bare remote, plus an optional fake GitHub.
type world struct {
	t      testing.TB
	root   string
	remote string // bare repository path
	work   string // the clone shipprod runs in
	repo   *gittest.Repo
	env    []string
	logs   *shipprodtest.Buffer
	clock  *shipprodtest.Clock
	fake   *githubfake.Server
}

// newWorld makes a bare remote with one commit on main and a clone "work"
// whose origin is the remote. Git reads no user configuration: the world's
// env, which the Tagger gets as its GitEnv, isolates it.
func newWorld(t testing.TB) *world {
	t.Helper()
	r := gittest.Build(t, gittest.Spec{
		Commits: []gittest.Commit{{Message: "initial commit", Files: map[string]string{"README.md": "hello\n"}}},
		Origin:  &gittest.Origin{},
	})
	root := filepath.Dir(r.Dir)
	env, err := gittest.Env(root)
	if err != nil {
		t.Fatal(err)
	}
	w := &world{t: t, root: root, remote: r.Remote.Dir, work: r.Dir, repo: r,
		env:  append(env, "GIT_AUTHOR_DATE=2026-05-01T12:00:00Z", "GIT_COMMITTER_DATE=2026-05-01T12:00:00Z"),
		logs: &shipprodtest.Buffer{}, clock: shipprodtest.NewClock(epoch)}
	t.Cleanup(func() {
		if strings.Contains(w.logs.String(), ghToken) {
			t.Errorf("the GitHub token appears in the logs")
		}
	})
	return w
}

func (w *world) git(dir string, args ...string) string {
	w.t.Helper()
	out, ok := w.gitMay(dir, args...)
	if !ok {
		w.t.Fatalf("git %s: %s", strings.Join(args, " "), out)
	}
	return out
}

// gitMay runs git and returns its output and whether it succeeded.
func (w *world) gitMay(dir string, args ...string) (string, bool) {
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), w.env...)
	out, err := cmd.CombinedOutput()
	return strings.TrimSpace(string(out)), err == nil
}

// commit commits file in the clone dir and returns the commit's SHA; in the
// world's own clone it goes through gittest's Builder, which is cheaper.
func (w *world) commit(dir, file, content, msg string) string {
	w.t.Helper()
	if dir == w.work {
		return w.repo.Commit(msg, map[string]string{file: content})
	}
	if err := os.WriteFile(filepath.Join(dir, file), []byte(content), 0o644); err != nil {
		w.t.Fatal(err)
	}
	w.git(dir, "add", "--", file)
	w.git(dir, "commit", "--quiet", "-m", msg)
	return w.git(dir, "rev-parse", "HEAD")
}

// clone makes another working clone of the remote.
func (w *world) clone(name string) string {
	dir := filepath.Join(w.root, name)
	w.git(w.root, "clone", "--quiet", w.remote, dir)
	return dir
}

// bump makes the local-only version commit the version step would make.
func (w *world) bump(version string) shipprod.Release {
	sha := w.commit(w.work, "VERSION", version+"\n", "chore(release): "+version)
	return shipprod.Release{Version: version, Tag: "v" + version, Commit: sha,
		Notes: "### Added\n- release " + version}
}

// remoteRef returns the commit a remote ref points at (peeled), or "".
func (w *world) remoteRef(ref string) string {
	out, _ := w.gitMay(w.remote, "rev-parse", "--verify", "--quiet", ref+"^{commit}")
	return out
}

// withGitHub starts a fake GitHub for the world.
func (w *world) withGitHub() *githubfake.Server {
	w.fake = githubfake.NewT(w.t, githubfake.Options{Clock: w.clock, Token: ghToken})
	w.fake.AddRepo(ghRepo, githubfake.RepoOptions{})
	return w.fake
}

// tagger builds a Tagger for the world; gh nil means no GitHub.
func (w *world) tagger(cfg Config, gh *GitHub) *Tagger {
	w.t.Helper()
	t, err := New(context.Background(), cfg, w.envFor(gh))
	if err != nil {
		w.t.Fatal(err)
	}
	return t
}

func (w *world) envFor(gh *GitHub) Env {
	if gh != nil && w.fake != nil {
		if gh.Repository == "" {
			gh.Repository = ghRepo
		}
		if gh.APIURL == "" {
			gh.APIURL = w.fake.APIURL()
		}
	}
	return Env{
		Dir:    w.work,
		Git:    Git{Remote: "origin", Branch: "main"},
		GitHub: gh,
		GitEnv: w.env,
		Clock:  w.clock,
		Logger: slog.New(slog.NewTextHandler(w.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Getenv: func(k string) string { return map[string]string{"GITHUB_TOKEN": ghToken}[k] },
	}
}

func runCmd(dir, name string, args ...string) (string, error) {
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	return string(out), err
}
