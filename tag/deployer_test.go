package tag

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/shipprod/shipprod"
	"github.com/shipprod/shipprod/internal/github/githubfake"
	"github.com/shipprod/shipprod/provider"
)

// stubDeployer is a minimal deployer for the decorator tests.
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

type cancelStub struct{ stubDeployer }

func (d *cancelStub) Cancel(context.Context, shipprod.Deployment) error { return nil }

type everythingStub struct{ rollbackStub }

func (d *everythingStub) Cancel(context.Context, shipprod.Deployment) error { return nil }

func (d *everythingStub) Promote(_ context.Context, rel shipprod.Release, id string) (shipprod.Deployment, error) {
	return shipprod.Deployment{Provider: "stub", ID: id, URL: d.url, Commit: rel.Commit}, nil
}

type promoteStub struct{ stubDeployer }

func (d *promoteStub) Promote(_ context.Context, rel shipprod.Release, id string) (shipprod.Deployment, error) {
	return shipprod.Deployment{Provider: "stub", ID: id, URL: d.url, Commit: rel.Commit}, nil
}

func TestWrapDeployerKeepsCapabilities(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.withGitHub()
	rec := w.tagger(Config{}, &GitHub{Deployments: DeploymentsConfig{Enabled: true}})
	plain := w.tagger(Config{}, &GitHub{})
	for _, tc := range []struct {
		name string
		d    shipprod.Deployer
		caps string
	}{
		{"plain", &stubDeployer{}, "plan"},
		{"rollback", &rollbackStub{}, "rollback,plan"},
		{"cancel", &cancelStub{}, "cancel,plan"},
		{"promote", &promoteStub{}, "promote,plan"},
		{"everything", &everythingStub{}, "rollback,promote,cancel,plan"},
	} {
		got := rec.WrapDeployer(tc.d)
		if caps := strings.Join(provider.Capabilities(got), ","); caps != tc.caps || got == tc.d {
			t.Errorf("%s: wrapped capabilities %s, want %s", tc.name, caps, tc.caps)
		}
		if plain.WrapDeployer(tc.d) != tc.d {
			t.Errorf("%s: nothing to add, the deployer must be returned as it is", tc.name)
		}
	}
}

func TestDeploymentsRecorded(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	fake := w.withGitHub()
	tg := w.tagger(Config{}, &GitHub{Deployments: DeploymentsConfig{Enabled: true}})
	inner := &rollbackStub{stubDeployer{url: "https://web.acme.com"}}
	d := tg.WrapDeployer(inner)
	rel, err := tg.Tag(context.Background(), w.bump("1.1.0"))
	if err != nil {
		t.Fatal(err)
	}
	dep, err := d.Deploy(context.Background(), rel)
	if err != nil {
		t.Fatal(err)
	}
	deps := fake.Deployments(ghRepo)
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
	if dep.Details[DetailGitHubDeploymentID] != strconv.FormatInt(gd.ID, 10) || dep.Details[DetailTag] != "v1.1.0" {
		t.Fatalf("details %+v", dep.Details)
	}

	// Rollback: a deployment of the previous release, and the failed one marked failed.
	prev := shipprod.Release{Version: "1.0.0", Tag: "v1.0.0"}
	restored, err := d.(shipprod.Rollbacker).Rollback(context.Background(), dep, prev)
	if err != nil {
		t.Fatal(err)
	}
	deps = fake.Deployments(ghRepo)
	if len(deps) != 2 || deps[1].Ref != "v1.0.0" || deps[1].Statuses[len(deps[1].Statuses)-1].State != "success" {
		t.Fatalf("rollback deployment %+v", deps)
	}
	if last := deps[0].Statuses[len(deps[0].Statuses)-1]; last.State != "failure" || !strings.Contains(last.Description, "Rolled back to v1.0.0") {
		t.Fatalf("failed deployment's last status %+v", last)
	}
	if restored.Details[DetailDeletedTag] != "" || w.remoteRef("refs/tags/v1.1.0") == "" {
		t.Fatal("tags are kept unless delete_on_rollback is set")
	}
}

func TestPromotionRecorded(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	fake := w.withGitHub()
	tg := w.tagger(Config{}, &GitHub{Deployments: DeploymentsConfig{Enabled: true}})
	d := tg.WrapDeployer(&promoteStub{stubDeployer{url: "https://web.acme.com"}})
	dep, err := d.(provider.Promoter).Promote(context.Background(), shipprod.Release{Version: "1.1.0", Tag: "v1.1.0"}, "dpl_staging")
	if err != nil || dep.ID != "dpl_staging" {
		t.Fatalf("%+v %v", dep, err)
	}
	deps := fake.Deployments(ghRepo)
	if len(deps) != 1 || deps[0].Statuses[1].State != "success" || deps[0].Statuses[1].EnvironmentURL != "https://web.acme.com" {
		t.Fatalf("deployments %+v", deps)
	}
}

func TestDeploymentFailureRecorded(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	fake := w.withGitHub()
	tg := w.tagger(Config{}, &GitHub{Deployments: DeploymentsConfig{Enabled: true, Environment: "prod-eu", EnvironmentURL: "https://eu.acme.com"}})
	boom := errors.New("health endpoint never came up\nsecond line")
	d := tg.WrapDeployer(&stubDeployer{fail: boom})
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // the deploy's context is over; the outcome is still recorded
	_, err := d.Deploy(ctx, shipprod.Release{Version: "1.1.0", Tag: "v1.1.0"})
	if !errors.Is(err, boom) {
		t.Fatalf("err %v", err)
	}
	deps := fake.Deployments(ghRepo)
	if len(deps) != 0 {
		// The create itself needs the context: with it cancelled, nothing is recorded.
		t.Fatalf("deployments %+v", deps)
	}
	_, err = d.Deploy(context.Background(), shipprod.Release{Version: "1.1.0", Tag: "v1.1.0"})
	if !errors.Is(err, boom) {
		t.Fatalf("err %v", err)
	}
	deps = fake.Deployments(ghRepo)
	last := deps[0].Statuses[len(deps[0].Statuses)-1]
	if deps[0].Environment != "prod-eu" || last.State != "failure" || last.Description != "Failed: health endpoint never came up" {
		t.Fatalf("deployment %+v", deps[0])
	}
}

func TestRecordingFailureDoesNotBlockDeploy(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	fake := w.withGitHub()
	fake.Inject(githubfake.Fault{Kind: githubfake.FaultStatus, Status: 500, Method: "POST", Path: "/deployments", Times: 10})
	tg := w.tagger(Config{}, &GitHub{Deployments: DeploymentsConfig{Enabled: true}})
	inner := &stubDeployer{url: "https://web.acme.com"}
	dep, err := tg.WrapDeployer(inner).Deploy(context.Background(), shipprod.Release{Version: "1.1.0", Tag: "v1.1.0"})
	if err != nil || len(inner.deployed) != 1 {
		t.Fatalf("err %v, deployed %d", err, len(inner.deployed))
	}
	if !strings.HasPrefix(dep.Details["github_deployment"], "not recorded: ") {
		t.Fatalf("details %+v", dep.Details)
	}
}

func TestDeleteOnRollback(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	tg := w.tagger(Config{DeleteOnRollback: true}, nil)
	rel, err := tg.Tag(context.Background(), w.bump("1.1.0"))
	if err != nil {
		t.Fatal(err)
	}
	d := tg.WrapDeployer(&rollbackStub{})
	dep, err := d.Deploy(context.Background(), rel)
	if err != nil {
		t.Fatal(err)
	}
	restored, err := d.(shipprod.Rollbacker).Rollback(context.Background(), dep, shipprod.Release{Version: "1.0.0", Tag: "v1.0.0"})
	if err != nil {
		t.Fatal(err)
	}
	if restored.Details[DetailDeletedTag] != "v1.1.0" {
		t.Fatalf("details %+v", restored.Details)
	}
	if w.remoteRef("refs/tags/v1.1.0") != "" {
		t.Fatal("remote tag still there")
	}
	if _, ok := w.gitMay(w.work, "rev-parse", "--verify", "--quiet", "refs/tags/v1.1.0"); ok {
		t.Fatal("local tag still there")
	}
	// Untag of a tag that is already gone is fine.
	if err := tg.Untag(context.Background(), "v1.1.0"); err != nil {
		t.Fatal(err)
	}
	// The plan of a wrapped deployer without ActionPlanner lists the deploy.
	acts, err := d.(shipprod.ActionPlanner).PlanActions(context.Background(), rel)
	if err != nil || len(acts) != 1 || acts[0].Kind != shipprod.ActionDeploy {
		t.Fatalf("actions %+v %v", acts, err)
	}
	b, _ := json.Marshal(acts)
	if !strings.Contains(string(b), "deploy v1.1.0 with stub deployer") {
		t.Fatalf("actions %s", b)
	}
}
