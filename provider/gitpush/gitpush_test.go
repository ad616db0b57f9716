package gitpush_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shipprod/shipprod"
	"github.com/shipprod/shipprod/internal/gittest"
	"github.com/shipprod/shipprod/provider"
	"github.com/shipprod/shipprod/provider/gitpush"
	"github.com/shipprod/shipprod/provider/providertest"
	"github.com/shipprod/shipprod/shipprodtest"
)

type gitpushRun = gitpush.FollowedRun

func newDeployer(t *testing.T, w *world, cfg gitpush.Config, f gitpush.RunFollower) *gitpush.Deployer {
	t.Helper()
	d, err := gitpush.New(context.Background(), cfg, gitpush.Options{Dir: w.dir, Follower: f,
		Clock: shipprodtest.NewClock(time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC))})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func release(version, commit, prevVersion, prevCommit string) shipprod.Release {
	r := shipprod.Release{Version: version, Tag: "v" + version, Commit: commit}
	if prevVersion != "" {
		r.PreviousVersion, r.PreviousTag, r.PreviousCommit = prevVersion, "v"+prevVersion, prevCommit
	}
	return r
}

func TestDeployPushesReleaseCommitToProduction(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	c1 := w.commit("release 1.0.0")
	d := newDeployer(t, w, gitpush.Config{URL: "https://www.example.test"}, nil)

	dep, err := d.Deploy(context.Background(), release("1.0.0", c1, "", ""))
	if err != nil {
		t.Fatal(err)
	}
	if got := w.production(); got != c1 {
		t.Fatalf("remote production = %q, want %q", got, c1)
	}
	if dep.Provider != "git-push" || dep.ID != c1 || dep.Commit != c1 || dep.URL != "https://www.example.test" || dep.PreviousID != "" || len(dep.RollbackSteps) != 0 {
		t.Fatalf("first deployment = %+v", dep)
	}

	c2 := w.commit("release 1.1.0")
	dep, err = d.Deploy(context.Background(), release("1.1.0", c2, "1.0.0", c1))
	if err != nil {
		t.Fatal(err)
	}
	if w.production() != c2 || dep.PreviousID != c1 {
		t.Fatalf("production = %s, PreviousID = %s; want %s and %s", w.production(), dep.PreviousID, c2, c1)
	}
	want := "git push --force-with-lease=refs/heads/production:" + c2 + " origin " + c1 + ":refs/heads/production"
	if len(dep.RollbackSteps) != 1 || dep.RollbackSteps[0] != want {
		t.Fatalf("RollbackSteps = %q, want %q", dep.RollbackSteps, want)
	}

	// The rollback command in the report is exact: running it restores c1.
	args := strings.Fields(dep.RollbackSteps[0])
	w.git(w.dir, args[1:]...)
	if got := w.production(); got != c1 {
		t.Fatalf("after the report's rollback command production = %s, want %s", got, c1)
	}
}

func TestDeployResolvesTagAndCustomRemoteAndBranch(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	c1 := w.commit("release 2.0.0")
	w.git(w.dir, "tag", "-a", "-m", "v2.0.0", "v2.0.0")
	w.git(w.dir, "remote", "add", "live", w.remote)
	d := newDeployer(t, w, gitpush.Config{Remote: "live", Branch: "prod/web"}, nil)
	dep, err := d.Deploy(context.Background(), shipprod.Release{Version: "2.0.0", Tag: "v2.0.0"})
	if err != nil {
		t.Fatal(err)
	}
	got := w.git(w.remote, "rev-parse", "refs/heads/prod/web")
	if got != c1 || dep.Commit != c1 {
		t.Fatalf("prod/web = %s, deployment commit %s, want the tagged commit %s", got, dep.Commit, c1)
	}
}

func TestNonFastForwardIsRefused(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	c1 := w.commit("release 1.0.0")
	d := newDeployer(t, w, gitpush.Config{}, nil)
	if _, err := d.Deploy(context.Background(), release("1.0.0", c1, "", "")); err != nil {
		t.Fatal(err)
	}
	hotfix := w.pushDirect(c1, "hotfix pushed straight to production")
	c2 := w.commit("release 1.1.0")

	_, err := d.Deploy(context.Background(), release("1.1.0", c2, "1.0.0", c1))
	var rej *shipprod.PushRejectedError
	if !errors.As(err, &rej) {
		t.Fatalf("err = %v, want a *shipprod.PushRejectedError", err)
	}
	for _, want := range []string{"not a fast-forward", "force: true", "refs/heads/production", "v1.1.0"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	if got := w.production(); got != hotfix {
		t.Fatalf("production = %s, want the untouched hotfix %s", got, hotfix)
	}

	// With force, the diverged branch is replaced, and the deployment
	// remembers what it replaced.
	forced := newDeployer(t, w, gitpush.Config{Force: true}, nil)
	dep, err := forced.Deploy(context.Background(), release("1.1.0", c2, "1.0.0", c1))
	if err != nil {
		t.Fatal(err)
	}
	if w.production() != c2 || dep.PreviousID != hotfix {
		t.Fatalf("forced deploy: production %s, PreviousID %s; want %s, %s", w.production(), dep.PreviousID, c2, hotfix)
	}
}

func TestRollbackUsesALease(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	c1 := w.commit("release 1.0.0")
	c2 := w.commit("release 1.1.0")
	d := newDeployer(t, w, gitpush.Config{}, nil)
	ctx := context.Background()
	if _, err := d.Deploy(ctx, release("1.0.0", c1, "", "")); err != nil {
		t.Fatal(err)
	}
	r2 := release("1.1.0", c2, "1.0.0", c1)
	dep, err := d.Deploy(ctx, r2)
	if err != nil {
		t.Fatal(err)
	}

	t.Run("a concurrent change is never overwritten", func(t *testing.T) {
		hotfix := w.pushDirect(c2, "someone fixes production by hand")
		_, err := d.Rollback(ctx, dep, r2.Previous())
		var rej *shipprod.PushRejectedError
		if !errors.As(err, &rej) {
			t.Fatalf("err = %v, want a *shipprod.PushRejectedError", err)
		}
		if !strings.Contains(rej.Reason, "stale info") || !strings.Contains(err.Error(), "someone changed production meanwhile") {
			t.Fatalf("error %q does not explain the stale lease", err)
		}
		if got := w.production(); got != hotfix {
			t.Fatalf("production = %s, want the hotfix %s untouched", got, hotfix)
		}
		w.git(w.dir, "push", "--quiet", "--force", "origin", c2+":refs/heads/production")
	})

	t.Run("rolls back and is idempotent", func(t *testing.T) {
		restored, err := d.Rollback(ctx, dep, r2.Previous())
		if err != nil {
			t.Fatal(err)
		}
		if w.production() != c1 || restored.Commit != c1 || restored.ID != c1 || restored.PreviousID != c2 {
			t.Fatalf("rollback: production %s, restored %+v", w.production(), restored)
		}
		if _, err := d.Rollback(ctx, dep, r2.Previous()); err != nil {
			t.Fatalf("second rollback: %v", err)
		}
	})

	t.Run("falls back to the deployment's PreviousID", func(t *testing.T) {
		w.git(w.dir, "push", "--quiet", "--force", "origin", c2+":refs/heads/production")
		if _, err := d.Rollback(ctx, dep, shipprod.Release{}); err != nil || w.production() != c1 {
			t.Fatalf("rollback without a release: %v, production %s", err, w.production())
		}
	})

	t.Run("nothing to roll back to", func(t *testing.T) {
		_, err := d.Rollback(ctx, shipprod.Deployment{ID: c1, Commit: c1}, shipprod.Release{})
		if err == nil || !strings.Contains(err.Error(), "no previous release commit") {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestProtectedBranchHookRefusal(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.hook("echo 'GH006: Protected branch update failed for refs/heads/production.' >&2\nexit 1\n")
	c1 := w.commit("release 1.0.0")
	_, err := newDeployer(t, w, gitpush.Config{}, nil).Deploy(context.Background(), release("1.0.0", c1, "", ""))
	var rej *shipprod.PushRejectedError
	if !errors.As(err, &rej) || !strings.Contains(err.Error(), "pre-receive hook declined") || !strings.Contains(err.Error(), "protection rules") {
		t.Fatalf("err = %v, want a rejection naming the hook and hinting at protection rules", err)
	}
}

func TestCancelledPushReturnsPromptly(t *testing.T) { // not parallel: it times the return
	w := newWorld(t)
	release := filepath.Join(w.remote, "release-hook")
	done := filepath.Join(w.remote, "hook-done")
	// The hook waits until the test lets it go, then refuses, so that nothing
	// keeps writing into the temporary directory after the test.
	// An interrupted hook (git passes the cancellation on as SIGINT) says
	// it is done too.
	w.hook("trap \"touch '" + done + "'; exit 1\" INT TERM\nwhile [ ! -e '" + release + "' ]; do sleep 0.02; done\ntouch '" + done + "'\nexit 1\n")
	t.Cleanup(func() {
		os.WriteFile(release, nil, 0o600)
		for i := 0; i < 200; i++ {
			if _, err := os.Stat(done); err == nil {
				time.Sleep(50 * time.Millisecond) // let receive-pack clean up after the hook
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
	c1 := w.commit("release 1.0.0")
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := newDeployer(t, w, gitpush.Config{}, nil).Deploy(ctx, gitpushRelease(c1))
	if took := time.Since(start); took > 1500*time.Millisecond {
		t.Fatalf("cancelled push returned after %v", took)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want context.DeadlineExceeded", err)
	}
}

func gitpushRelease(commit string) shipprod.Release { return release("1.0.0", commit, "", "") }

func TestFollower(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	c1 := w.commit("release 1.0.0")
	f := &fakeFollower{}
	d := newDeployer(t, w, gitpush.Config{}, nil).WithFollower(f)
	dep, err := d.Deploy(context.Background(), release("1.0.0", c1, "", ""))
	if err != nil {
		t.Fatal(err)
	}
	if len(f.calls) != 1 || f.calls[0] != "production@"+c1 {
		t.Fatalf("follower calls = %v", f.calls)
	}
	if dep.Details["ci_run_url"] != "https://ci.example.test/runs/42" || dep.Details["ci_conclusion"] != "success" {
		t.Fatalf("details = %v", dep.Details)
	}

	ciFailed := errors.New("workflow run 77 concluded failure")
	f.err = ciFailed
	c2 := w.commit("release 1.1.0")
	_, err = d.Deploy(context.Background(), release("1.1.0", c2, "1.0.0", c1))
	var fe *gitpush.FollowError
	if !errors.As(err, &fe) || !errors.Is(err, ciFailed) {
		t.Fatalf("err = %v, want a *FollowError wrapping the follower's error", err)
	}
	if fe.Deployment.Commit != c2 || fe.Deployment.PreviousID != c1 || !strings.Contains(err.Error(), "git push --force-with-lease") {
		t.Fatalf("FollowError %+v does not carry the deployment and its rollback command", fe)
	}
	if w.production() != c2 {
		t.Fatalf("the push itself landed; production = %s", w.production())
	}
}

func TestPlanActions(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	d := newDeployer(t, w, gitpush.Config{Force: true}, nil)
	acts, err := d.PlanActions(context.Background(), release("1.1.0", "", "1.0.0", ""))
	if err != nil {
		t.Fatal(err)
	}
	if len(acts) != 1 || acts[0].Kind != shipprod.ActionPush || acts[0].Description != "push release v1.1.0 to branch production of origin (replacing a diverged branch, with a lease)" {
		t.Fatalf("actions = %+v", acts)
	}
	acts, _ = d.WithFollower(&fakeFollower{}).PlanActions(context.Background(), release("1.1.0", "", "", ""))
	if len(acts) != 2 || !strings.Contains(acts[1].Description, "follow the CI run") {
		t.Fatalf("actions with a follower = %+v", acts)
	}
}

func TestConfigValidationAndSecrets(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	tests := []struct {
		config, want string
	}{
		{"branch: 'prod..x'\n", `branch "prod..x"`},
		{"remote: --upload-pack=evil\n", "invalid git remote"},
		{"branhc: production\n", `unknown key "branhc"`},
	}
	for _, tt := range tests {
		sec, err := provider.ParseSection(tt.config)
		if err != nil {
			t.Fatal(err)
		}
		_, err = provider.Open(context.Background(), "git-push", provider.Env{Dir: w.dir, Config: sec})
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("config %q: err = %v, want %q", tt.config, err, tt.want)
		}
	}

	// A remote URL with credentials: they appear in no error, plan or log.
	secret := "tok3n-s3cret"
	d := newDeployer(t, w, gitpush.Config{Remote: "http://deployer:" + secret + "@127.0.0.1:1/web.git"}, nil)
	c1 := w.commit("release")
	_, err := d.Deploy(context.Background(), release("1.0.0", c1, "", ""))
	acts, _ := d.PlanActions(context.Background(), release("1.0.0", "", "", ""))
	if err == nil {
		t.Fatal("push to an unreachable remote succeeded")
	}
	for _, text := range []string{err.Error(), acts[0].Description, acts[0].Target, d.String()} {
		if strings.Contains(text, secret) {
			t.Fatalf("secret leaked in %q", text)
		}
	}
}

// TestConformance runs the provider kit against git-push, plain and with a
// CI follower (whose stall exercises cancellation mid-deploy).
func TestConformance(t *testing.T) {
	if testing.Short() {
		t.Skip("the conformance kit's 18 checks, each on a fresh repository with real pushes; skipped with -short")
	}
	setup := func(t *testing.T, w *world) *providertest.Platform {
		c1 := w.commit("release 1.0.0")
		c2 := w.commit("release 1.1.0")
		pushes := w.countPushes()
		return &providertest.Platform{
			Config:   "remote: origin\nbranch: production\nurl: https://www.example.test\n",
			Dir:      w.dir,
			Releases: [2]shipprod.Release{release("1.0.0", c1, "", ""), release("1.1.0", c2, "1.0.0", c1)},
			Live:     w.live,
			Deploys:  pushes,
			Writes:   pushes, // a push is the only write git-push makes
			Break: func() func(error) bool {
				w.hook("echo 'protected branch' >&2\nexit 1\n")
				return func(err error) bool { var rej *shipprod.PushRejectedError; return errors.As(err, &rej) }
			},
		}
	}
	t.Run("git-push", func(t *testing.T) {
		providertest.Run(t, providertest.Harness{Name: "git-push", Setup: func(t *testing.T, _ shipprod.Clock) *providertest.Platform {
			return setup(t, newWorld(t))
		}})
	})
	t.Run("git-push with follower", func(t *testing.T) {
		providertest.Run(t, providertest.Harness{Name: "gitpush-test-followed", Setup: func(t *testing.T, _ shipprod.Clock) *providertest.Platform {
			w := newWorld(t)
			p := setup(t, w)
			f := &fakeFollower{}
			followers.Store(w.dir, f)
			p.Stall = func() { f.mu.Lock(); f.block = true; f.mu.Unlock() }
			return p
		}})
	})
}

// followers maps a working tree to the follower of the deployer opened on it.
var followers = &syncMap{m: map[string]*fakeFollower{}}

func init() {
	// The registry cannot carry a follower; a program that follows CI runs
	// wraps the git-push factory like this (with the GitHub Actions follower).
	provider.Register("gitpush-test-followed", func(ctx context.Context, env provider.Env) (shipprod.Deployer, error) {
		var cfg gitpush.Config
		if err := env.Decode(&cfg); err != nil {
			return nil, err
		}
		return gitpush.New(ctx, cfg, gitpush.Options{Dir: env.Dir, Name: env.Name, Clock: env.Clock, Logger: env.Logger, Follower: followers.Load(env.Dir)})
	})
}

func TestMain(m *testing.M) {
	if _, err := exec.LookPath("git"); err != nil {
		panic("these tests need git on PATH")
	}
	os.Exit(gittest.Main(m))
}
