package version

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shipprod/shipprod"
	"github.com/shipprod/shipprod/internal/atomicfile"
	"github.com/shipprod/shipprod/internal/gittest"
)

// cutShort leaves the repository as a run killed in the middle of
// ApplyVersion does: the manifest written, the version files written and
// staged, no commit.
func cutShort(t *testing.T) (*gittest.Repo, *Versioner, shipprod.Release, []edit) {
	t.Helper()
	r := gittest.Build(t, gittest.Spec{
		Commits: []gittest.Commit{
			{Message: "chore: init", Files: map[string]string{"VERSION": "1.0.0\n", "CHANGELOG.md": "# Changelog\n\n## [Unreleased]\n\n### Added\n- Search.\n\n## [1.0.0] - 2024-01-01\n"}},
		},
		Tags: []gittest.Tag{{Name: "v1.0.0", Message: "Release v1.0.0"}},
	})
	r.Builder.Commit(gittest.Commit{Message: "feat: search", Files: map[string]string{"src/search.go": "package src\n"}})
	r.Builder.Flush()
	v, err := New(Config{}, Options{Dir: r.Dir})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	rel, err := v.NextVersion(ctx)
	if err != nil {
		t.Fatal(err)
	}
	edits, _, err := v.prepare(rel)
	if err != nil {
		t.Fatal(err)
	}
	head, err := v.repo.Head(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.writeManifest(ctx, rel, head, edits); err != nil {
		t.Fatal(err)
	}
	var b atomicfile.Batch
	var paths []string
	for _, e := range edits {
		b.Add(filepath.Join(r.Dir, e.path), e.new, e.perm)
		paths = append(paths, e.path)
	}
	if err := b.Commit(); err != nil {
		t.Fatal(err)
	}
	if _, err := v.repo.Run(ctx, append([]string{"add", "--"}, paths...)...); err != nil {
		t.Fatal(err)
	}
	return r, v, rel, edits
}

func TestRecoverApplyRestoresWhatTheCutShortRunWrote(t *testing.T) {
	r, v, rel, _ := cutShort(t)
	ctx := context.Background()
	note, err := v.RecoverApply(ctx, rel)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(note, "restored VERSION, CHANGELOG.md") {
		t.Fatalf("note %q", note)
	}
	if out, _ := v.repo.Run(ctx, "status", "--porcelain"); out != "" {
		t.Fatalf("the tree is not clean after the recovery:\n%s", out)
	}
	// The release is decided and applied again, once.
	again, err := v.NextVersion(ctx)
	if err != nil || again.Version != rel.Version {
		t.Fatalf("NextVersion after recovery = %+v, %v", again, err)
	}
	applied, err := v.ApplyVersion(ctx, again)
	if err != nil {
		t.Fatal(err)
	}
	if data, _ := os.ReadFile(filepath.Join(r.Dir, "CHANGELOG.md")); strings.Count(string(data), "## [1.1.0]") != 1 {
		t.Fatalf("CHANGELOG after the second apply:\n%s", data)
	}
	if applied.Commit == "" {
		t.Fatal("no commit")
	}
	if note, err := v.RecoverApply(ctx, rel); err != nil || note != "" {
		t.Fatalf("nothing is left to recover after a commit: %q %v", note, err)
	}
}

func TestRecoverApplyLeavesOtherChangesAlone(t *testing.T) {
	r, v, rel, _ := cutShort(t)
	if err := os.WriteFile(filepath.Join(r.Dir, "VERSION"), []byte("1.0.0-hand-edited\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := v.RecoverApply(context.Background(), rel)
	if err == nil || !strings.Contains(err.Error(), "VERSION changed since a run cut short while it applied 1.1.0 wrote it") {
		t.Fatalf("err %v", err)
	}
	if data, _ := os.ReadFile(filepath.Join(r.Dir, "VERSION")); string(data) != "1.0.0-hand-edited\n" {
		t.Fatalf("VERSION = %q: the hand edit was lost", data)
	}
}

func TestRecoverApplyNamesAStaleIndexLock(t *testing.T) {
	r, v, rel, _ := cutShort(t)
	lock := filepath.Join(r.Dir, ".git", "index.lock")
	if err := os.WriteFile(lock, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := v.RecoverApply(context.Background(), rel)
	if err == nil || !strings.Contains(err.Error(), "if no git command is running, delete it (rm "+lock+")") {
		t.Fatalf("err %v", err)
	}
}

func TestRecoverApplyAfterTheCommitLanded(t *testing.T) {
	_, v, rel, _ := cutShort(t)
	ctx := context.Background()
	if _, err := v.repo.CommitPaths(ctx, v.message(rel), "VERSION", "CHANGELOG.md"); err != nil {
		t.Fatal(err)
	}
	note, err := v.RecoverApply(ctx, rel)
	if err != nil || note != "" {
		t.Fatalf("the commit landed: nothing to restore, got %q %v", note, err)
	}
	if _, err := os.Stat(filepath.Join(v.dir, ".git", "shipprod", "apply.json")); !os.IsNotExist(err) {
		t.Fatalf("the manifest is still there (%v)", err)
	}
}
