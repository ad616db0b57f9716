package tag

import (
	"context"
	"strings"
	"testing"

	"github.com/shipprod/shipprod"
)

// rollbackStub deploys and rolls back without a platform.
type rollbackStub struct{}

func (rollbackStub) Deploy(_ context.Context, rel shipprod.Release) (shipprod.Deployment, error) {
	return shipprod.Deployment{Provider: "stub", ID: "dep-" + rel.Version, Commit: rel.Commit}, nil
}

func (rollbackStub) Rollback(_ context.Context, _ shipprod.Deployment, to shipprod.Release) (shipprod.Deployment, error) {
	return shipprod.Deployment{Provider: "stub", ID: "dep-" + to.Version, Commit: to.Commit}, nil
}

// unhealthy fails the health checks of one version.
type unhealthy string

func (u unhealthy) Check(_ context.Context, rel shipprod.Release, _ shipprod.Deployment) (shipprod.HealthReport, error) {
	st := shipprod.HealthPass
	if rel.Version == string(u) {
		st = shipprod.HealthFail
	}
	return shipprod.HealthReport{Checks: []shipprod.CheckResult{{Name: "api", Kind: "http", Status: st}}}, nil
}

func TestDeleteOnRollback(t *testing.T) {
	for _, del := range []bool{false, true} {
		w := newWorld(t)
		tg := w.tagger(Config{DeleteOnRollback: del}, nil)
		rel := w.bump("1.1.0")
		rel.PreviousVersion, rel.PreviousTag = "1.0.0", "v1.0.0"
		p := &shipprod.Pipeline{Release: rel, Tagger: tg, Deployer: rollbackStub{}, Health: unhealthy("1.1.0")}
		res, err := p.Run(context.Background())
		if err == nil || res.Outcome != shipprod.OutcomeRolledBack {
			t.Fatalf("delete_on_rollback %v: outcome %s, err %v", del, res.Outcome, err)
		}
		remoteTag := w.remoteRef("refs/tags/v1.1.0")
		_, localTag := w.gitMay(w.work, "rev-parse", "--verify", "--quiet", "refs/tags/v1.1.0")
		if !del {
			if remoteTag == "" || !localTag || len(res.Rollback.Notes) != 0 {
				t.Fatalf("tags are kept unless delete_on_rollback is set (remote %q, local %v, notes %v)", remoteTag, localTag, res.Rollback.Notes)
			}
			continue
		}
		if remoteTag != "" || localTag {
			t.Fatalf("after the rollback the tag is still there (remote %q, local %v)", remoteTag, localTag)
		}
		if len(res.Rollback.Notes) != 1 || !strings.Contains(res.Rollback.Notes[0], "deleted release tag v1.1.0 locally and on origin") {
			t.Fatalf("notes %q", res.Rollback.Notes)
		}
		// Untag of a tag that is already gone is fine (a resumed rollback).
		if err := tg.Untag(context.Background(), "v1.1.0"); err != nil {
			t.Fatal(err)
		}
	}
}
