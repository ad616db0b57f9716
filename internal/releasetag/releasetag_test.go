package releasetag

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/shipprod/shipprod/internal/git"
	"github.com/shipprod/shipprod/internal/gittest"
)

func TestVersion(t *testing.T) {
	for _, tc := range []struct {
		tag, want string
		ok        bool
	}{
		{"v1.4.0", "1.4.0", true},
		{"1.4.0", "1.4.0", true},
		{"web-v1.4.0", "1.4.0", true},
		{"v2.0.0-rc.1", "2.0.0-rc.1", true},
		{"app2-v1.0.0", "1.0.0", true},
		{"latest", "", false},
		{"deploy-2", "", false},
		{"v1.4", "", false},
	} {
		got, ok := Version(tc.tag)
		if got != tc.want || ok != tc.ok {
			t.Errorf("Version(%q) = %q, %v; want %q, %v", tc.tag, got, ok, tc.want, tc.ok)
		}
	}
}

func TestPick(t *testing.T) {
	tag, v := Pick([]string{"deployed", "v1.4.0-rc.2", "v1.4.0", "stable"})
	if tag != "v1.4.0" || v != "1.4.0" {
		t.Fatalf("Pick = %q %q", tag, v)
	}
	if tag, v := Pick([]string{"latest"}); tag != "" || v != "" {
		t.Fatalf("Pick of no release tag = %q %q", tag, v)
	}
}

func TestAtCommit(t *testing.T) {
	r := gittest.Build(t, gittest.Spec{Commits: []gittest.Commit{{Message: "validated 1.0.0"}}})
	validated := r.Commit("validated 1.1.0", nil)
	bump := r.Commit("chore(release): 1.1.0", map[string]string{"VERSION": "1.1.0\n"})
	repo := &git.Repo{Dir: r.Dir}
	run := func(args ...string) {
		t.Helper()
		if _, err := repo.Run(context.Background(), args...); err != nil {
			t.Fatal(err)
		}
	}
	run("tag", "-a", "-m", "Release v1.1.0", "v1.1.0", bump)
	run("tag", "v1.1.0-rc.1", validated)
	run("tag", "nightly", validated)
	ctx := context.Background()
	if tag, v := AtCommit(ctx, repo, bump); tag != "v1.1.0" || v != "1.1.0" {
		t.Fatalf("at the tagged commit: %q %q", tag, v)
	}
	// The validated commit has its own release tag: that one.
	if tag, _ := AtCommit(ctx, repo, validated); tag != "v1.1.0-rc.1" {
		t.Fatalf("at the validated commit with a tag: %q", tag)
	}
	run("tag", "-d", "v1.1.0-rc.1")
	// Without: the release whose version commit was made on top of it.
	if tag, v := AtCommit(ctx, repo, validated); tag != "v1.1.0" || v != "1.1.0" {
		t.Fatalf("at the validated commit: %q %q", tag, v)
	}
	if tag, _ := AtCommit(ctx, repo, strings.Repeat("9", 40)); tag != "" {
		t.Fatalf("an unknown commit: %q", tag)
	}
	if tag, _ := AtCommit(ctx, &git.Repo{Dir: t.TempDir()}, bump); tag != "" {
		t.Fatalf("no repository: %q", tag)
	}
}

func TestMain(m *testing.M) { os.Exit(gittest.Main(m)) }
