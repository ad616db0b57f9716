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
	"github.com/shipprod/shipprod/internal/gittest"
	"github.com/shipprod/shipprod/shipprodtest"
	"github.com/shipprod/shipprod/version"
)

// TestMain makes git independent of the machine's configuration, for
// every (parallel) test.
func TestMain(m *testing.M) { os.Exit(gittest.Main(m)) }

// repo is a git repository in a temporary directory. Its history is written
// through a gittest.Builder: one git fast-import takes all the commits and
// tags a test sets up, until something reads the repository. From then on
// (a versioner may be reading it) each change is flushed at once.
type repo struct {
	t    testing.TB
	dir  string
	b    *gittest.Builder
	n    int  // commits made, for distinct content
	live bool // the repository has been read: flush every change
}

func newRepo(t testing.TB) *repo {
	t.Helper()
	r := &repo{t: t, dir: t.TempDir()}
	gittest.Init(t, r.dir)
	r.b = gittest.NewBuilder(t, r.dir)
	return r
}

func (r *repo) git(args ...string) string {
	r.t.Helper()
	return r.gitInput("", args...)
}

// sync flushes the builder: the repository is about to be read.
func (r *repo) sync() {
	r.t.Helper()
	r.b.Flush()
	r.live = true
}

// changed flushes a change at once once the repository is being read.
func (r *repo) changed() {
	r.t.Helper()
	if r.live {
		r.b.Flush()
	}
}

func (r *repo) gitInput(stdin string, args ...string) string {
	r.t.Helper()
	r.sync()
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
	r.sync()
	b, err := os.ReadFile(filepath.Join(r.dir, path))
	if err != nil {
		r.t.Fatal(err)
	}
	return string(b)
}

// commit commits msg on the current branch, changing a scratch file and
// committing files as they are in the working tree, and returns the SHA.
func (r *repo) commit(msg string, files ...string) string {
	r.t.Helper()
	r.n++
	changes := map[string]string{fmt.Sprintf("src/change-%d.txt", r.n): "change\n"}
	for _, f := range files {
		data, err := os.ReadFile(filepath.Join(r.dir, f))
		if err != nil {
			r.t.Fatal(err)
		}
		changes[f] = string(data)
	}
	sha := r.b.Commit(gittest.Commit{Message: msg, Files: changes})
	r.changed()
	return sha
}

// commits commits each message in turn.
func (r *repo) commits(msgs ...string) {
	r.t.Helper()
	for _, m := range msgs {
		r.commit(m)
	}
}

// tag makes the annotated tag name at HEAD.
func (r *repo) tag(name string) {
	r.t.Helper()
	r.b.Tag(gittest.Tag{Name: name, Message: "Release " + name})
	r.changed()
}

// lightTag makes the lightweight tag name at HEAD.
func (r *repo) lightTag(name string) {
	r.t.Helper()
	r.b.Tag(gittest.Tag{Name: name})
	r.changed()
}

// branch makes branch name at HEAD (git branch name).
func (r *repo) branch(name string) {
	r.t.Helper()
	r.branchAt(name, "")
}

// branchAt points branch name at the commit at names, moving HEAD and the
// working tree along when HEAD is on it (git branch --force, or git reset
// --hard for the current branch).
func (r *repo) branchAt(name, at string) {
	r.t.Helper()
	r.b.Branch(name, at)
	r.changed()
}

// detach detaches HEAD where it is (git switch --detach).
func (r *repo) detach() {
	r.t.Helper()
	r.b.Detach("")
	r.changed()
}

// switchTo checks branch out (git switch branch).
func (r *repo) switchTo(branch string) {
	r.t.Helper()
	r.b.Checkout(branch)
	r.changed()
}

// switchNew makes branch at HEAD and checks it out (git switch -c branch).
func (r *repo) switchNew(branch string) {
	r.t.Helper()
	r.b.Branch(branch, "")
	r.b.Checkout(branch)
	r.changed()
}

// merge merges branch into the current branch with a merge commit (git
// merge --no-ff -m msg branch).
func (r *repo) merge(branch, msg string) {
	r.t.Helper()
	r.b.Commit(gittest.Commit{Parents: []string{"HEAD", branch}, Message: msg})
	r.changed()
}

func (r *repo) head() string { return r.git("rev-parse", "HEAD") }

// versioner returns a Versioner for the repository with a fixed clock.
func (r *repo) versioner(cfg version.Config, opts ...func(*version.Options)) *version.Versioner {
	r.t.Helper()
	r.sync()
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
