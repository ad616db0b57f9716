package version_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shipprod/shipprod"
	"github.com/shipprod/shipprod/shipprodtest"
	"github.com/shipprod/shipprod/version"
)

// TestMain makes git independent of the machine's configuration.
func TestMain(m *testing.M) {
	for k, v := range map[string]string{
		"GIT_CONFIG_GLOBAL":   "/dev/null",
		"GIT_CONFIG_NOSYSTEM": "1",
		"GIT_AUTHOR_NAME":     "Test",
		"GIT_AUTHOR_EMAIL":    "test@example.com",
		"GIT_COMMITTER_NAME":  "Test",
		"GIT_COMMITTER_EMAIL": "test@example.com",
		"GIT_TERMINAL_PROMPT": "0",
	} {
		os.Setenv(k, v)
	}
	os.Exit(m.Run())
}

// repo is a git repository in a temporary directory.
type repo struct {
	t   testing.TB
	dir string
	n   int // commits made, for distinct content
}

func newRepo(t testing.TB) *repo {
	t.Helper()
	r := &repo{t: t, dir: t.TempDir()}
	r.git("init", "--quiet", "--initial-branch=main")
	return r
}

func (r *repo) git(args ...string) string {
	r.t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = r.dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		r.t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

func (r *repo) gitInput(stdin string, args ...string) string {
	r.t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = r.dir
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		r.t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

func (r *repo) write(path, content string) {
	r.t.Helper()
	full := filepath.Join(r.dir, path)
	if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
		r.t.Fatal(err)
	}
	if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
		r.t.Fatal(err)
	}
}

func (r *repo) read(path string) string {
	r.t.Helper()
	b, err := os.ReadFile(filepath.Join(r.dir, path))
	if err != nil {
		r.t.Fatal(err)
	}
	return string(b)
}

// commit commits msg, changing a scratch file (and files), and returns the SHA.
func (r *repo) commit(msg string, files ...string) string {
	r.t.Helper()
	r.n++
	scratch := fmt.Sprintf("src/change-%d.txt", r.n)
	r.write(scratch, "change\n")
	r.git(append([]string{"add", "--", scratch}, files...)...)
	r.git("commit", "--quiet", "--cleanup=verbatim", "-m", msg)
	return r.git("rev-parse", "HEAD")
}

// commits commits each message in turn.
func (r *repo) commits(msgs ...string) {
	r.t.Helper()
	for _, m := range msgs {
		r.commit(m)
	}
}

func (r *repo) tag(name string) {
	r.t.Helper()
	r.git("tag", "--annotate", "-m", "Release "+name, name)
}

func (r *repo) head() string { return r.git("rev-parse", "HEAD") }

// versioner returns a Versioner for the repository with a fixed clock.
func (r *repo) versioner(cfg version.Config, opts ...func(*version.Options)) *version.Versioner {
	r.t.Helper()
	o := version.Options{Dir: r.dir, Clock: shipprodtest.NewClock(time.Date(2024, 6, 1, 12, 0, 0, 0, time.UTC))}
	for _, f := range opts {
		f(&o)
	}
	v, err := version.New(cfg, o)
	if err != nil {
		r.t.Fatal(err)
	}
	return v
}

func (r *repo) decide(cfg version.Config) *version.Decision {
	r.t.Helper()
	d, err := r.versioner(cfg).Decide(context.Background())
	if err != nil {
		r.t.Fatalf("Decide: %v", err)
	}
	return d
}

// snapshot records the working tree and HEAD to check that nothing changed.
func (r *repo) snapshot() string {
	r.t.Helper()
	var b strings.Builder
	b.WriteString(r.git("rev-parse", "HEAD") + "\n" + r.git("status", "--porcelain", "--untracked-files=all") + "\n")
	filepath.Walk(r.dir, func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() && info.Name() == ".git" {
			return filepath.SkipDir
		}
		if !info.IsDir() {
			data, _ := os.ReadFile(p)
			fmt.Fprintf(&b, "%s %v %q\n", p, info.Mode(), data)
		}
		return nil
	})
	b.WriteString(r.git("tag", "--list"))
	return b.String()
}

func bumps(rs []shipprod.Reason) []string {
	var out []string
	for _, r := range rs {
		out = append(out, string(r.Bump)+" "+r.Text)
	}
	return out
}

func ptr[T any](v T) *T { return &v }
