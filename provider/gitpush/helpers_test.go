package gitpush_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shipprod/shipprod/internal/gittest"
	"github.com/shipprod/shipprod/provider/gitpush"
)

// world is a working repository with a bare remote "origin", both real git
// (made by gittest; TestMain isolates git).
type world struct {
	t      *testing.T
	dir    string // working tree
	remote string // bare repository
	repo   *gittest.Repo
}

func newWorld(t *testing.T) *world {
	t.Helper()
	r := gittest.Build(t, gittest.Spec{Commits: []gittest.Commit{{Message: "initial"}}, Origin: &gittest.Origin{}})
	return &world{t: t, dir: r.Dir, remote: r.Remote.Dir, repo: r}
}

func (w *world) git(dir string, args ...string) string {
	w.t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		w.t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// commit makes an empty commit in the working tree and returns its SHA.
func (w *world) commit(msg string) string {
	w.t.Helper()
	return w.repo.Commit(msg, nil)
}

// production returns the commit the remote's production branch points at.
func (w *world) production() string {
	w.t.Helper()
	out, err := exec.Command("git", "-C", w.remote, "rev-parse", "--verify", "--quiet", "refs/heads/production").Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

func (w *world) live(context.Context) (string, error) { return w.production(), nil }

// pushDirect moves the remote's production branch behind shipprod's back to
// a new commit on top of base, as a forced push from another clone would
// (but without running the remote's hooks).
func (w *world) pushDirect(base, msg string) string {
	w.t.Helper()
	b := gittest.NewBuilder(w.t, w.remote)
	sha := b.Commit(gittest.Commit{Branch: "production", Parents: []string{base}, Message: msg})
	b.Flush()
	return sha
}

// hook installs a pre-receive hook in the remote.
func (w *world) hook(script string) {
	w.t.Helper()
	path := filepath.Join(w.remote, "hooks", "pre-receive")
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"+script), 0o755); err != nil {
		w.t.Fatal(err)
	}
}

// countPushes installs a post-receive hook in the remote that notes each
// branch a push moves, and returns a function counting those pushes. A push
// that changes nothing ("Everything up-to-date") runs no hook: it deploys
// nothing.
func (w *world) countPushes() func() int {
	w.t.Helper()
	log := filepath.Join(w.t.TempDir(), "pushes.log")
	script := "#!/bin/sh\nwhile read old new ref; do echo \"$ref $new\" >> '" + log + "'; done\n"
	if err := os.WriteFile(filepath.Join(w.remote, "hooks", "post-receive"), []byte(script), 0o755); err != nil {
		w.t.Fatal(err)
	}
	return func() int {
		data, err := os.ReadFile(log)
		if err != nil {
			return 0
		}
		return strings.Count(string(data), "\n")
	}
}

// fakeFollower records what it was asked to follow.
type fakeFollower struct {
	mu    sync.Mutex
	calls []string
	err   error
	block bool
}

func (f *fakeFollower) BeforePush(ctx context.Context, branch, sha string) (gitpush.PushMark, error) {
	return gitpush.PushMark{Branch: branch, SHA: sha, At: time.Unix(1, 0)}, nil
}

func (f *fakeFollower) FollowRun(ctx context.Context, mark gitpush.PushMark, pushed bool) (gitpushRun, error) {
	f.mu.Lock()
	f.calls = append(f.calls, mark.Branch+"@"+mark.SHA)
	err, block := f.err, f.block
	f.mu.Unlock()
	if block {
		<-ctx.Done()
		return gitpushRun{}, ctx.Err()
	}
	if err != nil {
		return gitpushRun{ID: "77", URL: "https://ci.example.test/runs/77", Conclusion: "failure"}, err
	}
	return gitpushRun{ID: "42", URL: "https://ci.example.test/runs/42", Conclusion: "success"}, nil
}

type syncMap struct {
	mu sync.Mutex
	m  map[string]*fakeFollower
}

func (s *syncMap) Store(k string, f *fakeFollower) { s.mu.Lock(); s.m[k] = f; s.mu.Unlock() }
func (s *syncMap) Load(k string) *fakeFollower     { s.mu.Lock(); defer s.mu.Unlock(); return s.m[k] }
