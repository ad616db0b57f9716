package version_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/shipprod/shipprod"
	"github.com/shipprod/shipprod/version"
)

// decidedAt makes a project released as v1.0.0 with a feature since, and
// decides its next release at HEAD.
func decidedAt(t *testing.T) (*repo, *version.Versioner, shipprod.Release) {
	t.Helper()
	r := newRepo(t)
	r.write("package.json", "{\n  \"name\": \"app\",\n  \"version\": \"1.0.0\"\n}\n")
	r.write("CHANGELOG.md", "# Changelog\n\n## [Unreleased]\n\n## [1.0.0] - 2024-01-01\n\n### Added\n- First.\n")
	r.commit("chore: init", "package.json", "CHANGELOG.md")
	r.tag("v1.0.0")
	r.commit("feat: search")
	v := r.versioner(version.Config{})
	rel, err := v.NextVersion(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if rel.Version != "1.1.0" {
		t.Fatalf("NextVersion = %+v, want 1.1.0", rel)
	}
	return r, v, rel
}

func shortSHA(sha string) string { return sha[:7] }

// The release records the commit it was decided at, and so does a
// Decision's release.
func TestReleaseRecordsItsBase(t *testing.T) {
	t.Parallel()
	r, v, rel := decidedAt(t)
	if rel.Base != r.head() {
		t.Fatalf("NextVersion's Base = %q, want HEAD %s", rel.Base, r.head())
	}
	d, err := v.Decide(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got := d.Release().Base; got != d.Head || got != r.head() {
		t.Fatalf("Decision.Release().Base = %q, want HEAD %s", got, r.head())
	}
}

// A commit that lands between deciding and applying would ship in a
// release whose version, notes and reasons did not see it: applying is
// refused before anything is written, naming both commits.
func TestApplyRefusesAReleaseDecidedBeforeACommitLanded(t *testing.T) {
	t.Parallel()
	r, v, rel := decidedAt(t)
	ctx := context.Background()
	landed := r.commit("feat!: drop the v1 API")
	before := r.snapshot()

	_, err := v.ApplyVersion(ctx, rel)
	var moved *version.MovedError
	if !errors.As(err, &moved) || moved.Decided != rel.Base || moved.Head != landed {
		t.Fatalf("ApplyVersion after a commit landed = %v, want a MovedError from %s to %s", err, shortSHA(rel.Base), shortSHA(landed))
	}
	for _, want := range []string{shortSHA(rel.Base), shortSHA(landed), "shipprod plan"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	if r.snapshot() != before {
		t.Fatal("the refused ApplyVersion changed the repository")
	}
	if _, err := v.PlanActions(ctx, rel); !errors.As(err, &moved) {
		t.Fatalf("PlanActions after a commit landed = %v, want a MovedError", err)
	}

	// Deciding again sees the commit, and that release applies.
	again, err := v.NextVersion(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if again.Version != "2.0.0" || again.Base != landed {
		t.Fatalf("decided again: %s at %s, want 2.0.0 at %s", again.Version, again.Base, landed)
	}
	if _, err := v.ApplyVersion(ctx, again); err != nil {
		t.Fatalf("ApplyVersion of the release decided again: %v", err)
	}
}

// When nothing moved, the release applies on the commit it was decided at.
func TestApplyOnTheCommitItWasDecidedAt(t *testing.T) {
	t.Parallel()
	r, v, rel := decidedAt(t)
	applied, err := v.ApplyVersion(context.Background(), rel)
	if err != nil {
		t.Fatal(err)
	}
	if applied.Commit != r.head() || r.git("rev-parse", "HEAD^") != rel.Base {
		t.Fatalf("bump commit %s (HEAD %s) with parent %s, want a commit on %s", applied.Commit, r.head(), r.git("rev-parse", "HEAD^"), rel.Base)
	}
	if got := r.read("package.json"); !strings.Contains(got, `"version": "1.1.0"`) {
		t.Fatalf("package.json after applying:\n%s", got)
	}
}

// A run that stopped after the version step resumes with the release it
// planned: HEAD is then that release's own bump commit, on top of Base,
// and applying again changes nothing.
func TestApplyResumesOnItsOwnBumpCommit(t *testing.T) {
	t.Parallel()
	r, v, rel := decidedAt(t)
	ctx := context.Background()
	applied, err := v.ApplyVersion(ctx, rel)
	if err != nil {
		t.Fatal(err)
	}
	before := r.snapshot()
	acts, err := v.PlanActions(ctx, rel)
	if err != nil || len(acts) != 0 {
		t.Fatalf("PlanActions on the release's own bump commit = %v, %v; want nothing to do", acts, err)
	}
	resumed, err := v.ApplyVersion(ctx, rel)
	if err != nil {
		t.Fatalf("resuming on the release's own bump commit: %v", err)
	}
	if resumed.Commit != applied.Commit || r.snapshot() != before {
		t.Fatalf("resuming changed the repository (commit %s, was %s)", resumed.Commit, applied.Commit)
	}
}

// A bump commit for the same version made on another commit is not this
// release's: it was decided from a different history.
func TestApplyRefusesTheSameVersionBumpedElsewhere(t *testing.T) {
	t.Parallel()
	r, v, rel := decidedAt(t)
	ctx := context.Background()
	r.commit("fix: landed after the plan")
	elsewhere := rel
	elsewhere.Base = "" // not checked: bumps on the commit that landed
	other, err := v.ApplyVersion(ctx, elsewhere)
	if err != nil {
		t.Fatal(err)
	}
	before := r.snapshot()
	_, err = v.ApplyVersion(ctx, rel)
	var moved *version.MovedError
	if !errors.As(err, &moved) || moved.Head != other.Commit {
		t.Fatalf("ApplyVersion on a bump commit made elsewhere = %v, want a MovedError at %s", err, shortSHA(other.Commit))
	}
	if r.snapshot() != before {
		t.Fatal("the refused ApplyVersion changed the repository")
	}
}
