package githubdeployments_test

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shipprod/shipprod"
	"github.com/shipprod/shipprod/internal/github/githubfake"
	"github.com/shipprod/shipprod/provider/githubdeployments"
	"github.com/shipprod/shipprod/shipprodtest"
)

const (
	repo  = "acme/web"
	token = "ghp_DEPLOYMENTSSECRET0123456789abcdefAB"
)

// stubDeployer is a minimal deployer for the wrapper tests.
type stubDeployer struct {
	url      string
	fail     error
	deployed []shipprod.Release
}

func (d *stubDeployer) Deploy(_ context.Context, rel shipprod.Release) (shipprod.Deployment, error) {
	d.deployed = append(d.deployed, rel)
	if d.fail != nil {
		return shipprod.Deployment{}, d.fail
	}
	return shipprod.Deployment{Provider: "stub", ID: "dep-" + rel.Version, URL: d.url, Commit: rel.Commit,
		Details: map[string]string{"run_url": "https://ci.example.com/runs/1"}}, nil
}

func (d *stubDeployer) String() string { return "stub deployer" }

type rollbackStub struct{ stubDeployer }

func (d *rollbackStub) Rollback(_ context.Context, failed shipprod.Deployment, to shipprod.Release) (shipprod.Deployment, error) {
	return shipprod.Deployment{Provider: "stub", ID: "dep-" + to.Version, URL: d.url, Commit: to.Commit}, nil
}

// everythingStub has every optional capability.
type everythingStub struct {
	rollbackStub
	followed []string
	preflown int
}

func (d *everythingStub) Follow(_ context.Context, acc shipprod.Deployment, rel shipprod.Release) (shipprod.Deployment, error) {
	d.followed = append(d.followed, acc.ID)
	return shipprod.Deployment{Provider: "stub", ID: acc.ID, URL: d.url, Commit: rel.Commit}, nil
}

func (d *everythingStub) Production(context.Context) (shipprod.Deployment, error) {
	return shipprod.Deployment{Provider: "stub", ID: "dep-1.0.0", Version: "1.0.0"}, nil
}

func (d *everythingStub) Preflight(context.Context, shipprod.Release) error { d.preflown++; return nil }

func (d *everythingStub) PlanActions(context.Context, shipprod.Release) ([]shipprod.Action, error) {
	return []shipprod.Action{{Kind: shipprod.ActionDeploy, Target: "stub", Description: "deploy with the stub"}}, nil
}

type world struct {
	fake  *githubfake.Server
	clock *shipprodtest.Clock
	logs  *shipprodtest.Buffer
}

func newWorld(t *testing.T) *world {
	t.Helper()
	clock := shipprodtest.NewClock(time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC))
	w := &world{fake: githubfake.NewT(t, githubfake.Options{Clock: clock, Token: token}), clock: clock, logs: &shipprodtest.Buffer{}}
	w.fake.AddRepo(repo, githubfake.RepoOptions{})
	t.Cleanup(func() {
		if strings.Contains(w.logs.String(), token) {
			t.Error("the token appears in the logs")
		}
	})
	return w
}

func (w *world) wrap(t *testing.T, d shipprod.Deployer, cfg githubdeployments.Config) shipprod.Deployer {
	t.Helper()
	got, err := githubdeployments.Wrap(context.Background(), d, cfg, githubdeployments.Options{
		Repository: repo, APIURL: w.fake.APIURL(),
		Getenv: func(k string) string { return map[string]string{"GH_TOKEN": token}[k] },
		Logger: slog.New(slog.NewTextHandler(w.logs, nil)),
		Clock:  w.clock,
	})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func TestOneWrapperFindsEveryCapabilityThroughUnwrap(t *testing.T) {
	w := newWorld(t)
	on := githubdeployments.Config{Enabled: true}
	for _, tc := range []struct {
		name string
		d    shipprod.Deployer
		caps string
	}{
		{"plain", &stubDeployer{}, "preflight,plan"},
		{"rollback", &rollbackStub{}, "rollback,preflight,plan"},
		{"everything", &everythingStub{}, "rollback,production,follow,preflight,plan"},
	} {
		got := w.wrap(t, tc.d, on)
		if caps := strings.Join(shipprod.Capabilities(got), ","); caps != tc.caps {
			t.Errorf("%s: wrapped capabilities %s, want %s", tc.name, caps, tc.caps)
		}
		if u, ok := got.(shipprod.DeployerWrapper); !ok || u.Unwrap() != tc.d {
			t.Errorf("%s: the wrapper does not unwrap to the deployer", tc.name)
		}
		_, innerFollows := tc.d.(shipprod.Follower)
		if _, ok := shipprod.DeployerAs[shipprod.Follower](got); ok != innerFollows {
			t.Errorf("%s: Follower found %v, the deployer has it: %v", tc.name, ok, innerFollows)
		}
		_, innerReads := tc.d.(shipprod.ProductionReader)
		if pr, ok := shipprod.DeployerAs[shipprod.ProductionReader](got); ok != innerReads || (ok && any(pr) != any(tc.d)) {
			t.Errorf("%s: ProductionReader found %v (%T), want the deployer's own: %v", tc.name, ok, pr, innerReads)
		}
		if w.wrap(t, tc.d, githubdeployments.Config{}) != tc.d {
			t.Errorf("%s: recording off, the deployer must be returned as it is", tc.name)
		}
	}
}

func TestDeploymentsRecorded(t *testing.T) {
	w := newWorld(t)
	inner := &rollbackStub{stubDeployer{url: "https://web.acme.com"}}
	d := w.wrap(t, inner, githubdeployments.Config{Enabled: true})
	rel := shipprod.Release{Version: "1.1.0", Tag: "v1.1.0", Commit: "c110"}
	dep, err := d.Deploy(context.Background(), rel)
	if err != nil {
		t.Fatal(err)
	}
	deps := w.fake.Deployments(repo)
	if len(deps) != 1 {
		t.Fatalf("deployments %+v", deps)
	}
	gd := deps[0]
	if gd.Ref != "v1.1.0" || gd.Environment != "production" || gd.AutoMerge == nil || *gd.AutoMerge || gd.RequiredContexts == nil || len(gd.RequiredContexts) != 0 {
		t.Fatalf("deployment %+v", gd)
	}
	var states []string
	for _, st := range gd.Statuses {
		states = append(states, st.State)
	}
	if strings.Join(states, ",") != "in_progress,success" || gd.Statuses[1].EnvironmentURL != "https://web.acme.com" || gd.Statuses[1].LogURL != "https://ci.example.com/runs/1" {
		t.Fatalf("statuses %+v", gd.Statuses)
	}
	if dep.Details[githubdeployments.DetailDeploymentID] != strconv.FormatInt(gd.ID, 10) {
		t.Fatalf("details %+v", dep.Details)
	}

	// Rollback: a deployment of the restored release, and the failed one marked failed.
	prev := shipprod.Release{Version: "1.0.0", Tag: "v1.0.0"}
	if _, err := d.(shipprod.Rollbacker).Rollback(context.Background(), dep, prev); err != nil {
		t.Fatal(err)
	}
	deps = w.fake.Deployments(repo)
	if len(deps) != 2 || deps[1].Ref != "v1.0.0" || deps[1].Statuses[len(deps[1].Statuses)-1].State != "success" {
		t.Fatalf("rollback deployment %+v", deps)
	}
	if last := deps[0].Statuses[len(deps[0].Statuses)-1]; last.State != "failure" || !strings.Contains(last.Description, "Rolled back to v1.0.0") {
		t.Fatalf("failed deployment's last status %+v", last)
	}
}

func TestRollbackOnlyThroughTheDeployer(t *testing.T) {
	w := newWorld(t)
	d := w.wrap(t, &stubDeployer{}, githubdeployments.Config{Enabled: true})
	if shipprod.CanRollback(d) {
		t.Fatal("a wrapper of a deployer that cannot roll back must not offer a rollback")
	}
	_, err := d.(shipprod.Rollbacker).Rollback(context.Background(), shipprod.Deployment{ID: "x"}, shipprod.Release{Tag: "v1"})
	if !errors.Is(err, shipprod.ErrCannotRollback) {
		t.Fatalf("err %v", err)
	}
	if len(w.fake.Deployments(repo)) != 0 {
		t.Fatal("nothing is recorded for a rollback that cannot happen")
	}
}

func TestCredentialsInURLsNeverReachGitHub(t *testing.T) {
	w := newWorld(t)
	// deploy.git-push.url with credentials, as a user may write it.
	d := w.wrap(t, &stubDeployer{url: "https://deploy:s3cr3tpass@www.acme.com/app"}, githubdeployments.Config{Enabled: true})
	if _, err := d.Deploy(context.Background(), shipprod.Release{Version: "1.1.0", Tag: "v1.1.0"}); err != nil {
		t.Fatal(err)
	}
	st := w.fake.Deployments(repo)[0].Statuses
	if got := st[len(st)-1].EnvironmentURL; got != "https://www.acme.com/app" {
		t.Fatalf("environment_url sent to GitHub: %q, want the URL without its user information", got)
	}
	for _, r := range w.fake.Requests() {
		if strings.Contains(string(r.Body), "s3cr3tpass") || strings.Contains(r.RawQuery, "s3cr3tpass") {
			t.Fatalf("the credential was sent to GitHub: %s %s %s", r.Method, r.Path, r.Body)
		}
	}
}

func TestDeploymentFailureRecorded(t *testing.T) {
	w := newWorld(t)
	boom := errors.New("health endpoint never came up\nsecond line")
	d := w.wrap(t, &stubDeployer{fail: boom}, githubdeployments.Config{Enabled: true, Environment: "prod-eu", EnvironmentURL: "https://eu.acme.com"})
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // the deploy's context is over; nothing can be recorded
	if _, err := d.Deploy(ctx, shipprod.Release{Version: "1.1.0", Tag: "v1.1.0"}); !errors.Is(err, boom) {
		t.Fatalf("err %v", err)
	}
	if deps := w.fake.Deployments(repo); len(deps) != 0 {
		t.Fatalf("deployments %+v", deps)
	}
	if _, err := d.Deploy(context.Background(), shipprod.Release{Version: "1.1.0", Tag: "v1.1.0"}); !errors.Is(err, boom) {
		t.Fatalf("err %v", err)
	}
	deps := w.fake.Deployments(repo)
	last := deps[0].Statuses[len(deps[0].Statuses)-1]
	if deps[0].Environment != "prod-eu" || last.State != "failure" || last.Description != "Failed: health endpoint never came up" {
		t.Fatalf("deployment %+v", deps[0])
	}
}

func TestRecordingFailureDoesNotBlockDeploy(t *testing.T) {
	w := newWorld(t)
	w.fake.Inject(githubfake.Fault{Kind: githubfake.FaultStatus, Status: 500, Method: "POST", Path: "/deployments", Times: 10})
	inner := &stubDeployer{url: "https://web.acme.com"}
	dep, err := w.wrap(t, inner, githubdeployments.Config{Enabled: true}).Deploy(context.Background(), shipprod.Release{Version: "1.1.0", Tag: "v1.1.0"})
	if err != nil || len(inner.deployed) != 1 {
		t.Fatalf("err %v, deployed %d", err, len(inner.deployed))
	}
	if !strings.HasPrefix(dep.Details["github_deployment"], "not recorded: ") {
		t.Fatalf("details %+v", dep.Details)
	}
}

func TestFollowRecordsOnTheInterruptedRunsRecord(t *testing.T) {
	w := newWorld(t)
	inner := &everythingStub{rollbackStub: rollbackStub{stubDeployer{url: "https://web.acme.com"}}}
	d := w.wrap(t, inner, githubdeployments.Config{Enabled: true})
	rel := shipprod.Release{Version: "1.1.0", Tag: "v1.1.0"}
	// The interrupted run opened the record, then died while deploying.
	w.fake.ResetRequests()
	f, ok := shipprod.DeployerAs[shipprod.Follower](d)
	if !ok || any(f) != any(d) {
		t.Fatalf("the wrapper's Follow is found: %v %T", ok, f)
	}
	if _, err := f.Follow(context.Background(), shipprod.Deployment{ID: "dpl_1"}, rel); err != nil {
		t.Fatal(err)
	}
	deps := w.fake.Deployments(repo)
	if len(deps) != 1 || len(inner.followed) != 1 || inner.followed[0] != "dpl_1" {
		t.Fatalf("no record to resume: one is made; deployments %+v, followed %v", deps, inner.followed)
	}
	// A second follow (another interruption) reuses the open record.
	if _, err := f.Follow(context.Background(), shipprod.Deployment{ID: "dpl_1"}, rel); err != nil {
		t.Fatal(err)
	}
	deps = w.fake.Deployments(repo)
	if len(deps) != 1 {
		t.Fatalf("a follow made a second record: %+v", deps)
	}
	states := []string{}
	for _, st := range deps[0].Statuses {
		states = append(states, st.State)
	}
	if !slices.Equal(states, []string{"in_progress", "success", "success"}) {
		t.Fatalf("statuses %v", states)
	}
}

func TestPreflightAndPlan(t *testing.T) {
	w := newWorld(t)
	inner := &everythingStub{}
	d := w.wrap(t, inner, githubdeployments.Config{Enabled: true})
	rel := shipprod.Release{Version: "1.1.0", Tag: "v1.1.0"}
	if err := d.(shipprod.Preflighter).Preflight(context.Background(), rel); err != nil {
		t.Fatal(err)
	}
	if inner.preflown != 1 || w.fake.Writes() != 0 {
		t.Fatalf("the deployer's own pre-flight ran %d times; writes %d", inner.preflown, w.fake.Writes())
	}
	acts, err := d.(shipprod.ActionPlanner).PlanActions(context.Background(), rel)
	if err != nil || len(acts) != 2 || acts[0].Kind != shipprod.ActionAPI || acts[1].Description != "deploy with the stub" {
		t.Fatalf("actions %+v %v", acts, err)
	}
	// A read-only token is refused before anything changes.
	w.fake.AddRepo(repo, githubfake.RepoOptions{ReadOnly: true})
	err = d.(shipprod.Preflighter).Preflight(context.Background(), rel)
	if err == nil || !strings.Contains(err.Error(), "github.deployments: the token in GH_TOKEN may only read acme/web") {
		t.Fatalf("read-only token: %v", err)
	}
	// A deployer without actions of its own gets one generic action.
	acts, err = w.wrap(t, &stubDeployer{}, githubdeployments.Config{Enabled: true}).(shipprod.ActionPlanner).PlanActions(context.Background(), rel)
	if err != nil || len(acts) != 2 || !strings.Contains(acts[1].Description, "deploy v1.1.0 with stub deployer") {
		t.Fatalf("actions %+v %v", acts, err)
	}
}

// changedStub changes production and then fails, as a push whose CI run
// failed does.
type changedStub struct{ rollbackStub }

func (d *changedStub) Deploy(_ context.Context, rel shipprod.Release) (shipprod.Deployment, error) {
	dep := shipprod.Deployment{Provider: "stub", ID: "dep-" + rel.Version, Commit: rel.Commit}
	return dep, &shipprod.ProductionChangedError{Deployment: dep, Err: errors.New("the CI run failed")}
}

// A deploy that changed production and failed is rolled back by the
// Pipeline from the error's Deployment: its record is marked failed too.
func TestChangedProductionIsRecordedAndRolledBack(t *testing.T) {
	w := newWorld(t)
	d := w.wrap(t, &changedStub{}, githubdeployments.Config{Enabled: true})
	rel := shipprod.Release{Version: "1.1.0", Tag: "v1.1.0", PreviousVersion: "1.0.0", PreviousTag: "v1.0.0"}
	res, err := (&shipprod.Pipeline{Release: rel, Deployer: d}).Run(context.Background())
	if err == nil || res.Outcome != shipprod.OutcomeRolledBack {
		t.Fatalf("outcome %s, err %v", res.Outcome, err)
	}
	deps := w.fake.Deployments(repo)
	if len(deps) != 2 {
		t.Fatalf("deployments %+v", deps)
	}
	states := []string{}
	for _, st := range deps[0].Statuses {
		states = append(states, st.State)
	}
	if !slices.Equal(states, []string{"in_progress", "failure", "failure"}) || !strings.Contains(deps[0].Statuses[2].Description, "Rolled back to v1.0.0") {
		t.Fatalf("the failed deploy's statuses %v", states)
	}
	if res.Deployment.Details[githubdeployments.DetailDeploymentID] != strconv.FormatInt(deps[0].ID, 10) {
		t.Fatalf("details %+v", res.Deployment.Details)
	}
}
