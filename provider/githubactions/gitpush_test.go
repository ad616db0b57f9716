package githubactions_test

import (
	"context"
	"errors"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shipprod/shipprod"
	"github.com/shipprod/shipprod/internal/github/githubfake"
	"github.com/shipprod/shipprod/internal/gittest"
	"github.com/shipprod/shipprod/provider"
	"github.com/shipprod/shipprod/provider/githubactions"
	"github.com/shipprod/shipprod/provider/gitpush"
	"github.com/shipprod/shipprod/shipprodtest"
)

// ciFollower is PushFollower plus a stand-in for GitHub reacting to the push
// (a webhook starting the workflow), which a real deployment does not need.
type ciFollower struct {
	githubactions.PushFollower
	github func(branch, sha string)
}

func (f ciFollower) FollowRun(ctx context.Context, mark gitpush.PushMark, pushed bool) (gitpush.FollowedRun, error) {
	if pushed {
		f.github(mark.Branch, mark.SHA)
	}
	return f.PushFollower.FollowRun(ctx, mark, pushed)
}

// gitWorld is a working repository with a bare remote, both real git
// (made by gittest), isolated from the machine's configuration by env.
type gitWorld struct {
	work string
	env  []string
	repo *gittest.Repo
}

func newGitWorld(t *testing.T) *gitWorld {
	t.Helper()
	r := gittest.Build(t, gittest.Spec{Origin: &gittest.Origin{Branches: map[string]string{}}})
	env, err := gittest.Env(filepath.Dir(r.Dir))
	if err != nil {
		t.Fatal(err)
	}
	return &gitWorld{work: r.Dir, env: env, repo: r}
}

// commit makes an empty commit and returns its SHA.
func (w *gitWorld) commit(msg string) string { return w.repo.Commit(msg, nil) }

// ciWorld is a fake GitHub whose workflow ci.yml runs on every push of the
// git-push deployer, which follows it through PushFollower.
type ciWorld struct {
	clock *shipprodtest.Clock
	fake  *githubfake.Server
	dep   *gitpush.Deployer
}

func newCIWorld(t *testing.T, g *gitWorld, branch string, cfg githubactions.WatchConfig) *ciWorld {
	t.Helper()
	c := &ciWorld{clock: shipprodtest.NewClock(time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC))}
	c.fake = githubfake.NewT(t, githubfake.Options{Clock: c.clock, Token: "tok"})
	c.fake.AddRepo("acme/web", githubfake.RepoOptions{})
	c.fake.AddWorkflow("acme/web", githubfake.Workflow{File: "ci.yml",
		Script: githubfake.RunScript{AppearAfter: 5 * time.Second, Queued: 5 * time.Second, Running: 2 * time.Minute}})
	w, err := githubactions.NewWatcher(context.Background(), cfg, provider.Env{
		Facts:  map[string]string{githubactions.FactRepository: "acme/web", githubactions.FactAPIURL: c.fake.APIURL()},
		Clock:  c.clock,
		Getenv: func(string) string { return "tok" },
	})
	if err != nil {
		t.Fatal(err)
	}
	follower := ciFollower{PushFollower: githubactions.PushFollower{Watcher: w, Workflow: "ci.yml"},
		github: func(branch, sha string) { c.fake.TriggerPush("acme/web", "ci.yml", branch, sha) }}
	if c.dep, err = gitpush.New(context.Background(), gitpush.Config{Branch: branch}, gitpush.Options{Dir: g.work, Clock: c.clock, GitEnv: g.env, Follower: follower}); err != nil {
		t.Fatal(err)
	}
	return c
}

func (c *ciWorld) runURL(id int64) string {
	return "https://github.com/acme/web/actions/runs/" + strconv.FormatInt(id, 10)
}

func TestGitPushFollowsItsCIRun(t *testing.T) {
	g := newGitWorld(t)
	sha := g.commit("release 1.0.0")
	for _, conclusion := range []string{"success", "failure"} {
		t.Run(conclusion, func(t *testing.T) {
			c := newCIWorld(t, g, "production-"+conclusion, githubactions.WatchConfig{})
			c.fake.QueueRunScripts("acme/web", "ci.yml", githubfake.RunScript{AppearAfter: 5 * time.Second, Queued: 5 * time.Second, Running: 2 * time.Minute, Conclusion: conclusion})
			dep, err := c.dep.Deploy(context.Background(), shipprod.Release{Version: "1.0.0", Tag: "v1.0.0", Commit: sha})
			runURL := c.runURL(c.fake.Runs("acme/web")[0].ID)
			if dep.Details["ci_run_url"] != runURL || dep.Details["ci_conclusion"] != conclusion {
				t.Fatalf("deployment details %+v", dep.Details)
			}
			switch conclusion {
			case "success":
				if err != nil {
					t.Fatal(err)
				}
			default:
				var re *githubactions.RunError
				if !errors.As(err, &re) || !errors.Is(err, githubactions.ErrRunFailed) || !strings.Contains(err.Error(), runURL) {
					t.Fatalf("err %v", err)
				}
			}
			t.Logf("git push + following a 2m10s CI run (%s): %d API requests", conclusion, c.fake.RequestCount())
		})
	}
}

// TestGitPushRollbackFollowsTheNewRun: a rollback pushes a commit that was
// deployed before, and that deploy's run (a success) is still listed for
// the same branch and commit. The rollback's own run fails, and the
// rollback must say so rather than count the old run as its own.
func TestGitPushRollbackFollowsTheNewRun(t *testing.T) {
	g := newGitWorld(t)
	v1 := g.commit("release 1.0.0")
	v2 := g.commit("release 1.1.0")
	c := newCIWorld(t, g, "production", githubactions.WatchConfig{})
	ok := githubfake.RunScript{AppearAfter: 5 * time.Second, Queued: 5 * time.Second, Running: 2 * time.Minute}
	failing := ok
	failing.Conclusion = "failure"
	c.fake.QueueRunScripts("acme/web", "ci.yml", ok, ok, failing)

	first, err := c.dep.Deploy(context.Background(), shipprod.Release{Version: "1.0.0", Tag: "v1.0.0", Commit: v1})
	if err != nil {
		t.Fatal(err)
	}
	c.clock.Advance(24 * time.Hour)
	second, err := c.dep.Deploy(context.Background(), shipprod.Release{Version: "1.1.0", Tag: "v1.1.0", Commit: v2, PreviousVersion: "1.0.0", PreviousTag: "v1.0.0", PreviousCommit: v1})
	if err != nil {
		t.Fatal(err)
	}
	c.clock.Advance(10 * time.Minute) // the monitor finds 1.1.0 unhealthy
	c.fake.ResetRequests()
	rb, err := c.dep.Rollback(context.Background(), second, shipprod.Release{Version: "1.0.0", Tag: "v1.0.0", Commit: v1})

	runs := c.fake.Runs("acme/web")
	if len(runs) != 3 {
		t.Fatalf("runs %+v", runs)
	}
	rollbackRun := runs[2]
	if rollbackRun.HeadSHA != v1 || first.Details["ci_run_id"] != strconv.FormatInt(runs[0].ID, 10) {
		t.Fatalf("runs %+v, first deployment %+v", runs, first.Details)
	}
	var re *githubactions.RunError
	if !errors.As(err, &re) || re.Run.ID != rollbackRun.ID || !strings.Contains(err.Error(), c.runURL(rollbackRun.ID)) {
		t.Fatalf("the rollback's run failed, but the rollback returned %v (following run %s; the first deploy's run was %d)", err, rb.Details["ci_run_id"], runs[0].ID)
	}
	if rb.Details["ci_run_id"] != strconv.FormatInt(rollbackRun.ID, 10) || rb.Details["ci_conclusion"] != "failure" {
		t.Fatalf("rollback details %+v", rb.Details)
	}
	for _, r := range c.fake.Requests() {
		if strings.HasSuffix(r.Path, "/runs/"+strconv.FormatInt(runs[0].ID, 10)) {
			t.Fatalf("the old run was followed: %s %s", r.Method, r.Path)
		}
	}
	t.Logf("git-push rollback following its CI run: %d API requests", len(c.fake.Requests()))
}

// TestGitPushIgnoresRunsThatPredateThePush: a run of the same commit on the
// same branch created a moment before the push (within the clock skew, so
// the created filter alone lets it through) is not the push's run.
func TestGitPushIgnoresRunsThatPredateThePush(t *testing.T) {
	g := newGitWorld(t)
	sha := g.commit("release 1.0.0")
	c := newCIWorld(t, g, "production", githubactions.WatchConfig{ClockSkew: 5 * time.Second})
	c.fake.QueueRunScripts("acme/web", "ci.yml",
		githubfake.RunScript{Running: 30 * time.Second},                                                     // someone else's, a success
		githubfake.RunScript{AppearAfter: 5 * time.Second, Running: 2 * time.Minute, Conclusion: "failure"}) // ours
	earlier := c.fake.TriggerPush("acme/web", "ci.yml", "production", sha)
	c.clock.Advance(2 * time.Second)
	dep, err := c.dep.Deploy(context.Background(), shipprod.Release{Version: "1.0.0", Tag: "v1.0.0", Commit: sha})
	ours := c.fake.Runs("acme/web")[1].ID
	var re *githubactions.RunError
	if !errors.As(err, &re) || re.Run.ID != ours || dep.Details["ci_run_id"] != strconv.FormatInt(ours, 10) {
		t.Fatalf("followed run %s (the earlier run is %d, ours %d): %v", dep.Details["ci_run_id"], earlier, ours, err)
	}
}

// TestGitPushWithNothingPushed: when the branch already points at the
// release commit (a resumed deploy), git-push pushes nothing and no new run
// starts: the run the earlier push started is the one that says whether the
// deploy worked, so it is followed.
func TestGitPushWithNothingPushed(t *testing.T) {
	g := newGitWorld(t)
	sha := g.commit("release 1.0.0")
	c := newCIWorld(t, g, "production", githubactions.WatchConfig{DiscoveryTimeout: time.Minute})
	rel := shipprod.Release{Version: "1.0.0", Tag: "v1.0.0", Commit: sha}
	if _, err := c.dep.Deploy(context.Background(), rel); err != nil {
		t.Fatal(err)
	}
	c.clock.Advance(time.Hour)
	quiet := gitpush.Options{Dir: g.work, Clock: c.clock, GitEnv: g.env} // no push, no run: no stand-in for GitHub
	d, err := gitpush.New(context.Background(), gitpush.Config{Branch: "production"}, quiet)
	if err != nil {
		t.Fatal(err)
	}
	w, err := githubactions.NewWatcher(context.Background(), githubactions.WatchConfig{DiscoveryTimeout: time.Minute}, provider.Env{
		Facts: map[string]string{githubactions.FactRepository: "acme/web", githubactions.FactAPIURL: c.fake.APIURL()},
		Clock: c.clock, Getenv: func(string) string { return "tok" },
	})
	if err != nil {
		t.Fatal(err)
	}
	d = d.WithFollower(githubactions.PushFollower{Watcher: w, Workflow: "ci.yml"})
	before := len(c.fake.Runs("acme/web"))
	dep, err := d.Deploy(context.Background(), rel)
	old := c.fake.Runs("acme/web")[0]
	if err != nil || dep.Details["pushed"] != "false (already at the release commit)" || dep.Details["ci_run_id"] != strconv.FormatInt(old.ID, 10) {
		t.Fatalf("err %v, details %+v; want the earlier push's run %d followed", err, dep.Details, old.ID)
	}
	if len(c.fake.Runs("acme/web")) != before {
		t.Fatal("a run was started although nothing was pushed")
	}
}

// TestGitPushRunThatStartsAtOnce: a CI run created the moment the push lands
// is the push's own, because the runs that existed were listed before it.
func TestGitPushRunThatStartsAtOnce(t *testing.T) {
	g := newGitWorld(t)
	sha := g.commit("release 1.0.0")
	c := newCIWorld(t, g, "production", githubactions.WatchConfig{})
	c.fake.QueueRunScripts("acme/web", "ci.yml", githubfake.RunScript{AppearAfter: 0, Queued: time.Second, Running: time.Minute})
	dep, err := c.dep.Deploy(context.Background(), shipprod.Release{Version: "1.0.0", Tag: "v1.0.0", Commit: sha})
	if err != nil {
		t.Fatal(err)
	}
	if dep.Details["ci_conclusion"] != "success" || dep.Details["ci_run_id"] == "" {
		t.Fatalf("details %+v: the run that started at once was not followed", dep.Details)
	}
}

// TestGitPushFollowBudget: following the CI run of a push over 10 minutes
// stays within one request per 5 seconds on average, the list of the runs
// that exist before the push included.
func TestGitPushFollowBudget(t *testing.T) {
	g := newGitWorld(t)
	sha := g.commit("release 1.0.0")
	c := newCIWorld(t, g, "production", githubactions.WatchConfig{})
	c.fake.QueueRunScripts("acme/web", "ci.yml", githubfake.RunScript{AppearAfter: 5 * time.Second, Queued: 30 * time.Second, Running: 10 * time.Minute})
	start := c.clock.Now()
	if _, err := c.dep.Deploy(context.Background(), shipprod.Release{Version: "1.0.0", Tag: "v1.0.0", Commit: sha}); err != nil {
		t.Fatal(err)
	}
	n, took := c.fake.RequestCount(), c.clock.Now().Sub(start)
	t.Logf("git push + following a 10-minute CI run: %d requests over %s", n, took.Round(time.Second))
	if limit := int(took/(5*time.Second)) + 1; n > limit {
		t.Fatalf("%d requests over %s exceed the budget of %d", n, took, limit)
	}
}
