package githubactions

import (
	"context"
	"strings"
	"testing"

	"github.com/shipprod/shipprod"
	"github.com/shipprod/shipprod/internal/github/githubfake"
	"github.com/shipprod/shipprod/internal/gittest"
	"github.com/shipprod/shipprod/shipprodtest"
)

// unhealthy is a HealthChecker that fails one version.
type unhealthy string

func (u unhealthy) Check(_ context.Context, rel shipprod.Release, _ shipprod.Deployment) (shipprod.HealthReport, error) {
	st := shipprod.HealthPass
	if rel.Version == string(u) {
		st = shipprod.HealthFail
	}
	return shipprod.HealthReport{Checks: []shipprod.CheckResult{{Name: "api", Kind: "http", Status: st}}}, nil
}

var (
	sha140 = strings.Repeat("4", 40)
	sha141 = strings.Repeat("5", 40)
	sha142 = strings.Repeat("6", 40)
)

func rel14(patch string) shipprod.Release {
	shas := map[string]string{"0": sha140, "1": sha141, "2": sha142}
	r := shipprod.Release{Version: "1.4." + patch, Tag: "v1.4." + patch, Commit: shas[patch]}
	if patch != "0" {
		prev := map[string]string{"1": "0", "2": "1"}[patch]
		r.PreviousVersion, r.PreviousTag, r.PreviousCommit = "1.4."+prev, "v1.4."+prev, shas[prev]
	}
	return r
}

func newFixture14(t *testing.T) *fixture {
	f := newFixture(t, githubfake.RepoOptions{Refs: map[string]string{"main": mainSHA, "v1.4.0": sha140, "v1.4.1": sha141, "v1.4.2": sha142}})
	f.workflow(typicalRun, false)
	return f
}

// After v1.4.1 was rolled back, production runs v1.4.0 again; a failed
// v1.4.2 (whose previous release is v1.4.1) must dispatch the rollback of
// v1.4.0, and the report's manual command must name v1.4.0.
func TestRollbackRestoresWhatProductionRan(t *testing.T) {
	f := newFixture14(t)
	d := f.deployer(Config{})
	ctx := context.Background()
	if _, err := d.Deploy(ctx, rel14("0")); err != nil {
		t.Fatal(err)
	}
	bad, err := d.Deploy(ctx, rel14("1"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Rollback(ctx, bad, rel14("0")); err != nil {
		t.Fatal(err)
	}
	cur, err := d.Production(ctx)
	if err != nil || cur.Commit != sha140 || cur.Tag != "v1.4.0" || cur.Version != "1.4.0" {
		t.Fatalf("production after rolling v1.4.1 back: %+v, %v", cur, err)
	}

	res, err := (&shipprod.Pipeline{Release: rel14("2"), Deployer: d, Health: unhealthy("1.4.2"), Clock: f.clock}).Run(ctx)
	if res.Outcome != shipprod.OutcomeRolledBack {
		t.Fatalf("outcome %s, err %v", res.Outcome, err)
	}
	runs := f.fake.Runs(repoName)
	last := runs[len(runs)-1]
	if last.HeadBranch != "v1.4.0" || last.Inputs["version"] != "1.4.0" {
		t.Fatalf("the rollback dispatched %s with version %s, want v1.4.0", last.HeadBranch, last.Inputs["version"])
	}
	if tgt := res.Rollback.Target; tgt.Tag != "v1.4.0" || tgt.Commit != sha140 {
		t.Fatalf("rollback target %+v", tgt)
	}
	steps := strings.Join(res.Deployment.RollbackSteps, "\n")
	if !strings.Contains(steps, "--ref v1.4.0 -f environment=production -f version=1.4.0") || strings.Contains(steps, "1.4.1") {
		t.Fatalf("the manual rollback must name v1.4.0: %s", steps)
	}
	if res.Deployment.PreviousID != "v1.4.0" {
		t.Fatalf("PreviousID %q", res.Deployment.PreviousID)
	}
}

func TestProductionOfAWorkflowThatNeverRan(t *testing.T) {
	f := newFixture14(t)
	cur, err := f.deployer(Config{}).Production(context.Background())
	if err != nil || cur.ID != "" || cur.Commit != "" {
		t.Fatalf("%+v, %v", cur, err)
	}
	// A run on a branch is named by the release tag of the local
	// repository that marks its commit.
	gittest.Isolate(t)
	r := gittest.Build(t, gittest.Spec{Commits: []gittest.Commit{{ID: "c", Message: "release 2.0.0"}}, Tags: []gittest.Tag{{Name: "v2.0.0", At: "c", Message: "Release"}}})
	sha := r.SHA("c")
	f.fake.SetRef(repoName, "main", sha)
	f.dir = r.Dir
	d := f.deployer(Config{Ref: "main"})
	if _, err := d.Deploy(context.Background(), shipprod.Release{Version: "2.0.0", Tag: "v2.0.0", Commit: sha}); err != nil {
		t.Fatal(err)
	}
	if cur, err = d.Production(context.Background()); err != nil || cur.Tag != "v2.0.0" || cur.Version != "2.0.0" || cur.Commit != sha {
		t.Fatalf("%+v, %v", cur, err)
	}
}

func TestInterruptedDeployIsFollowedNotDispatchedAgain(t *testing.T) {
	f := newFixture14(t)
	d := f.deployer(Config{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	j := &shipprodtest.Journal{OnSave: shipprodtest.CancelOnAccepted(cancel)}
	p := &shipprod.Pipeline{Release: rel14("0"), Deployer: d, Journal: j, Clock: f.clock}
	res, _ := p.Run(ctx)
	if res.Outcome != shipprod.OutcomeInterrupted || res.Accepted == nil {
		t.Fatalf("first run: %s, accepted %+v", res.Outcome, res.Accepted)
	}
	runs := f.fake.Runs(repoName)
	if len(runs) != 1 || res.Accepted.ID != itoa(runs[0].ID) {
		t.Fatalf("accepted %+v, runs %+v", res.Accepted, runs)
	}
	res, err := p.Run(context.Background())
	if res.Deployment == nil || res.Deployment.ID != res.Accepted.ID || res.Deployment.Details["conclusion"] != "success" {
		t.Fatalf("resumed run: %v, deployment %+v", err, res.Deployment)
	}
	if n := len(f.fake.Runs(repoName)); n != 1 {
		t.Fatalf("the resumed run dispatched again: %d runs", n)
	}
	if n := len(f.fake.RequestsTo("POST", "/dispatches")); n != 1 {
		t.Fatalf("%d dispatches", n)
	}
}

func TestPreflight(t *testing.T) {
	ctx := context.Background()
	decided := shipprod.Release{Version: "1.4.2", Tag: "v1.4.2", Base: mainSHA, PreviousVersion: "1.4.1", PreviousTag: "v1.4.1"}
	t.Run("accepted, nothing written", func(t *testing.T) {
		f := newFixture14(t)
		// The release tag does not exist yet: the file is read at the commit
		// the release is decided at.
		decided := decided
		decided.Tag = "v1.5.0"
		if err := f.deployer(Config{}).Preflight(ctx, decided); err != nil {
			t.Fatal(err)
		}
		for _, r := range f.fake.Requests() {
			t.Logf("pre-flight request: %s %s?%s → %d", r.Method, r.Path, r.RawQuery, r.Status)
		}
		if f.fake.Writes() != 0 || len(f.fake.RequestsTo("GET", "/contents/.github/workflows/deploy.yml")) != 2 {
			t.Fatalf("requests %+v", f.fake.Requests())
		}
	})
	for _, tc := range []struct {
		name  string
		setup func(f *fixture) Config
		want  string
	}{
		{"no such workflow", func(*fixture) Config { return Config{Workflow: "deploy-prod.yml"} },
			"deploy.github-actions.workflow: acme/web has no workflow deploy-prod.yml"},
		{"disabled workflow", func(f *fixture) Config {
			f.fake.AddWorkflow(repoName, githubfake.Workflow{File: "deploy-prod.yml", State: "disabled_inactivity"})
			return Config{Workflow: "deploy-prod.yml"}
		}, "deploy.github-actions.workflow: workflow deploy-prod.yml of acme/web is disabled_inactivity: enable it (gh workflow enable deploy-prod.yml --repo acme/web)"},
		{"no workflow_dispatch at the ref", func(f *fixture) Config {
			f.fake.SetFile(repoName, "v1.4.2", ".github/workflows/deploy.yml", "on:\n  push:\n    tags: ['v*']\njobs: {}\n")
			return Config{}
		}, "deploy.github-actions.workflow: .github/workflows/deploy.yml at v1.4.2 on GitHub has no workflow_dispatch trigger"},
		{"unknown input", func(*fixture) Config {
			return Config{Inputs: map[string]string{"version": "{{.Version}}", "region": "eu"}}
		}, "deploy.github-actions.inputs.region: .github/workflows/deploy.yml at v1.4.2 on GitHub declares no input region (it declares dispatch_id, environment, version)"},
		{"missing required input", func(*fixture) Config { return Config{Inputs: map[string]string{"environment": "production"}} },
			"deploy.github-actions.inputs: .github/workflows/deploy.yml at v1.4.2 on GitHub requires input version"},
		{"rollback inputs", func(*fixture) Config {
			return Config{Rollback: RollbackConfig{Inputs: map[string]string{"target": "{{.Tag}}"}}}
		}, "deploy.github-actions.rollback.inputs.target: .github/workflows/deploy.yml at v1.4.1 on GitHub declares no input target"},
		{"read-only token", func(f *fixture) Config {
			f.fake.AddRepo(repoName, githubfake.RepoOptions{ReadOnly: true, Refs: map[string]string{"v1.4.2": sha142}})
			return Config{}
		}, "deploy.github-actions: the token in GITHUB_TOKEN may only read acme/web, and shipprod needs actions: write, to dispatch deploy.yml"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture14(t)
			cfg := tc.setup(f)
			err := f.deployer(cfg).Preflight(ctx, decided)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v\nwant %q", err, tc.want)
			}
			if f.fake.Writes() != 0 {
				t.Fatal("the pre-flight wrote")
			}
		})
	}
	t.Run("read in the local repository", func(t *testing.T) {
		f := newFixture14(t)
		gittest.Isolate(t)
		r := gittest.Build(t, gittest.Spec{Commits: []gittest.Commit{{ID: "base", Message: "work", Files: map[string]string{".github/workflows/deploy.yml": deployWorkflow}}}})
		f.dir = r.Dir
		local := decided
		local.Tag, local.Base = "v1.5.0", r.SHA("base") // neither is on GitHub yet
		if err := f.deployer(Config{}).Preflight(ctx, local); err != nil {
			t.Fatal(err)
		}
		// The same, without workflow_dispatch.
		sha := r.Commit("drop the dispatch", map[string]string{".github/workflows/deploy.yml": "on: push\njobs: {}\n"})
		local.Base = sha
		err := f.deployer(Config{}).Preflight(ctx, local)
		if err == nil || !strings.Contains(err.Error(), "at "+sha[:12]+" in the local repository has no workflow_dispatch trigger") {
			t.Fatalf("err %v", err)
		}
	})
}

func TestPushFollowerPreflight(t *testing.T) {
	f := newFixture(t, githubfake.RepoOptions{})
	f.fake.AddWorkflow(repoName, githubfake.Workflow{File: "ci.yml"})
	w, err := NewWatcher(context.Background(), WatchConfig{}, f.env())
	if err != nil {
		t.Fatal(err)
	}
	if err := (PushFollower{Watcher: w, Workflow: "ci.yml"}).Preflight(context.Background(), shipprod.Release{}); err != nil {
		t.Fatal(err)
	}
	err = (PushFollower{Watcher: w, Workflow: "cd.yml"}).Preflight(context.Background(), shipprod.Release{})
	if err == nil || !strings.Contains(err.Error(), "deploy.follow_ci.workflow: acme/web has no workflow cd.yml") {
		t.Fatalf("err %v", err)
	}
	// A disabled workflow does not run on the push: nothing would come to
	// follow.
	f.fake.AddWorkflow(repoName, githubfake.Workflow{File: "nightly.yml", State: "disabled_manually"})
	err = (PushFollower{Watcher: w, Workflow: "nightly.yml"}).Preflight(context.Background(), shipprod.Release{})
	if want := "deploy.follow_ci.workflow: workflow nightly.yml of acme/web is disabled_manually: enable it (gh workflow enable nightly.yml --repo acme/web)"; err == nil || err.Error() != want {
		t.Fatalf("err %v\nwant %s", err, want)
	}
	if f.fake.Writes() != 0 {
		t.Fatal("the pre-flight wrote")
	}
}
