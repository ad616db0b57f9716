package gitpush_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/shipprod/shipprod"
	"github.com/shipprod/shipprod/provider/gitpush"
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

// tagAndPush makes release tag tag at sha and pushes it, as the tag step does.
func (w *world) tagAndPush(tag, sha string) {
	w.t.Helper()
	w.git(w.dir, "tag", "-a", "-m", "Release "+tag, tag, sha)
	w.git(w.dir, "push", "--quiet", "origin", "refs/tags/"+tag)
}

func TestProductionNamesTheReleaseOnTheBranch(t *testing.T) {
	w := newWorld(t)
	d := newDeployer(t, w, gitpush.Config{URL: "https://www.example.test"}, nil)
	ctx := context.Background()
	cur, err := d.Production(ctx)
	if err != nil || cur.ID != "" || cur.Commit != "" {
		t.Fatalf("before any deploy: %+v, %v", cur, err)
	}
	c1 := w.commit("release 1.0.0")
	w.tagAndPush("v1.0.0", c1)
	w.git(w.dir, "tag", "deployed", c1) // a tag that names no release
	w.git(w.dir, "push", "--quiet", "origin", "deployed")
	if _, err := d.Deploy(ctx, release("1.0.0", c1, "", "")); err != nil {
		t.Fatal(err)
	}
	cur, err = d.Production(ctx)
	if err != nil || cur.ID != c1 || cur.Commit != c1 || cur.Tag != "v1.0.0" || cur.Version != "1.0.0" || cur.URL != "https://www.example.test" {
		t.Fatalf("after deploying v1.0.0: %+v, %v", cur, err)
	}
	// A commit without a release tag is still named by its commit.
	c2 := w.commit("hotfix, untagged")
	if _, err := d.Deploy(ctx, shipprod.Release{Commit: c2}); err != nil {
		t.Fatal(err)
	}
	if cur, _ = d.Production(ctx); cur.Commit != c2 || cur.Tag != "" || cur.Version != "" {
		t.Fatalf("untagged production: %+v", cur)
	}
}

// After v1.4.1 was rolled back, production runs v1.4.0 again; a failed
// v1.4.2 (whose previous release is v1.4.1) must restore v1.4.0, and the
// report's manual command must name v1.4.0's commit.
func TestRollbackRestoresWhatProductionRan(t *testing.T) {
	w := newWorld(t)
	d := newDeployer(t, w, gitpush.Config{}, nil)
	ctx := context.Background()
	c140, c141, c142 := w.commit("release 1.4.0"), w.commit("release 1.4.1"), w.commit("release 1.4.2")
	for tag, sha := range map[string]string{"v1.4.0": c140, "v1.4.1": c141, "v1.4.2": c142} {
		w.tagAndPush(tag, sha)
	}
	if _, err := d.Deploy(ctx, release("1.4.0", c140, "", "")); err != nil {
		t.Fatal(err)
	}
	bad, err := d.Deploy(ctx, release("1.4.1", c141, "1.4.0", c140))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Rollback(ctx, bad, release("1.4.0", c140, "", "")); err != nil || w.production() != c140 {
		t.Fatalf("rolling v1.4.1 back: %v, production %s", err, w.production())
	}

	p := &shipprod.Pipeline{Release: release("1.4.2", c142, "1.4.1", c141), Deployer: d, Health: unhealthy("1.4.2")}
	res, err := p.Run(ctx)
	var hce *shipprod.HealthCheckError
	if !errors.As(err, &hce) || res.Outcome != shipprod.OutcomeRolledBack {
		t.Fatalf("outcome %s, err %v", res.Outcome, err)
	}
	if got := w.production(); got != c140 {
		t.Fatalf("production after the rollback = %s, want v1.4.0's %s (not v1.4.1's %s)", got, c140, c141)
	}
	if pp := res.PreviousProduction; pp == nil || pp.Tag != "v1.4.0" || pp.Commit != c140 {
		t.Fatalf("journaled previous production %+v", pp)
	}
	if tgt := res.Rollback.Target; tgt.Tag != "v1.4.0" || tgt.Version != "1.4.0" || tgt.Commit != c140 {
		t.Fatalf("rollback target %+v", tgt)
	}
	steps := strings.Join(res.Deployment.RollbackSteps, "\n")
	if !strings.Contains(steps, c140+":refs/heads/production") || strings.Contains(steps, c141) {
		t.Fatalf("the manual rollback command must restore v1.4.0 (%s): %s", c140, steps)
	}
}

func TestPreflight(t *testing.T) {
	ctx := context.Background()
	t.Run("accepted, nothing pushed", func(t *testing.T) {
		w := newWorld(t)
		pushes := w.countPushes()
		d := newDeployer(t, w, gitpush.Config{}, nil)
		c1 := w.commit("release 1.0.0")
		if _, err := d.Deploy(ctx, release("1.0.0", c1, "", "")); err != nil {
			t.Fatal(err)
		}
		before := pushes()
		base := w.commit("work towards 1.1.0")
		if err := d.Preflight(ctx, shipprod.Release{Version: "1.1.0", Tag: "v1.1.0", Base: base}); err != nil {
			t.Fatal(err)
		}
		if pushes() != before || w.production() != c1 {
			t.Fatalf("the pre-flight pushed: %d pushes, production %s", pushes()-before, w.production())
		}
	})
	t.Run("not a fast-forward", func(t *testing.T) {
		w := newWorld(t)
		d := newDeployer(t, w, gitpush.Config{}, nil)
		c1 := w.commit("release 1.0.0")
		if _, err := d.Deploy(ctx, release("1.0.0", c1, "", "")); err != nil {
			t.Fatal(err)
		}
		hotfix := w.pushDirect(c1, "hotfix pushed to production directly")
		err := d.Preflight(ctx, shipprod.Release{Version: "1.1.0", Base: w.commit("next")})
		var rej *shipprod.PushRejectedError
		if !errors.As(err, &rej) || !strings.Contains(err.Error(), "deploy.git-push: a dry run of the push to branch production of origin was refused") ||
			!strings.Contains(rej.Hint, "force: true") {
			t.Fatalf("err %v", err)
		}
		if w.production() != hotfix {
			t.Fatal("the pre-flight moved the branch")
		}
		// With force, the push (with its lease) would be accepted.
		if err := newDeployer(t, w, gitpush.Config{Force: true}, nil).Preflight(ctx, shipprod.Release{Version: "1.1.0", Base: w.commit("next")}); err != nil {
			t.Fatalf("force: %v", err)
		}
		if w.production() != hotfix {
			t.Fatal("the pre-flight moved the branch")
		}
	})
	t.Run("unknown remote", func(t *testing.T) {
		w := newWorld(t)
		err := newDeployer(t, w, gitpush.Config{Remote: "upstream"}, nil).Preflight(ctx, shipprod.Release{Version: "1.0.0"})
		if err == nil || !strings.Contains(err.Error(), `deploy.git-push.remote: no git remote "upstream"; the repository has origin`) {
			t.Fatalf("err %v", err)
		}
		err = newDeployer(t, w, gitpush.Config{Remote: w.dir + "/../gone.git"}, nil).Preflight(ctx, shipprod.Release{Version: "1.0.0"})
		if err == nil || !strings.Contains(err.Error(), "deploy.git-push.remote: a dry run of the push to") {
			t.Fatalf("err %v", err)
		}
	})
}
