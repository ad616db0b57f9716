package gittest_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shipprod/shipprod/internal/gittest"
)

func TestMain(m *testing.M) { os.Exit(gittest.Main(m)) }

// git runs git in dir and returns its trimmed output.
func git(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "git %v: %s", args, out)
	return strings.TrimSpace(string(out))
}

func TestInitMakesWhatGitInitMakes(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "work")
	gittest.Init(t, dir)
	assert.Equal(t, "main", git(t, dir, "symbolic-ref", "--short", "HEAD"))
	assert.Equal(t, "false", git(t, dir, "rev-parse", "--is-bare-repository"))
	assert.Empty(t, git(t, dir, "status", "--porcelain"))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "a"), []byte("a\n"), 0o644))
	git(t, dir, "add", "a")
	git(t, dir, "commit", "--quiet", "-m", "first")
	assert.Equal(t, "first", git(t, dir, "log", "--format=%s"))

	bare := filepath.Join(t.TempDir(), "origin.git")
	gittest.InitBare(t, bare)
	assert.Equal(t, "true", git(t, bare, "rev-parse", "--is-bare-repository"))
	git(t, dir, "push", "--quiet", bare, "main")
	assert.Equal(t, git(t, dir, "rev-parse", "HEAD"), git(t, bare, "rev-parse", "main"))
	git(t, bare, "fsck", "--strict")
}

func TestBuild(t *testing.T) {
	t.Parallel()
	r := gittest.Build(t, gittest.Spec{
		Commits: []gittest.Commit{
			{ID: "init", Message: "feat: init", Files: map[string]string{"README.md": "# app\n", "src/a.go": "package a\n"}},
			{ID: "fix", Message: "fix: b\n\nBody.", Files: map[string]string{"src/a.go": "package a // fixed\n"}},
			{ID: "side", Branch: "feature", Parents: []string{"init"}, Message: "feat: side", Files: map[string]string{"side.txt": "x\n"}},
			{ID: "merge", Parents: []string{"main", "feature"}, Message: "Merge branch 'feature'"},
			{ID: "gone", Message: "chore: drop", Delete: []string{"side.txt"}},
		},
		Tags: []gittest.Tag{
			{Name: "v1.0.0", At: "init", Message: "Release v1.0.0"},
			{Name: "light", At: "fix"},
		},
		Branches: map[string]string{"production": "fix"},
		Origin:   &gittest.Origin{Branches: map[string]string{"main": "", "production": "init"}, Tags: []string{"v1.0.0"}},
		Remotes:  map[string]string{"upstream": "https://example.com/acme/app.git"},
	})
	dir := r.Dir
	git(t, dir, "fsck", "--strict")
	git(t, r.Remote.Dir, "fsck", "--strict")

	assert.Equal(t, "main", git(t, dir, "symbolic-ref", "--short", "HEAD"))
	assert.Empty(t, git(t, dir, "status", "--porcelain", "--untracked-files=all"), "index and working tree match HEAD")
	assert.Equal(t, "README.md\nsrc/a.go", git(t, dir, "ls-files"))
	data, err := os.ReadFile(r.Path("src/a.go"))
	require.NoError(t, err)
	assert.Equal(t, "package a // fixed\n", string(data))

	assert.Equal(t, "chore: drop|Merge branch 'feature'|feat: side|fix: b|feat: init",
		strings.ReplaceAll(git(t, dir, "log", "--format=%s", "--topo-order"), "\n", "|"))
	raw, err := exec.Command("git", "-C", dir, "cat-file", "commit", r.SHA("fix")).Output()
	require.NoError(t, err)
	assert.True(t, strings.HasSuffix(string(raw), "\n\nfix: b\n\nBody.\n"), "the message ends in a newline, as with git commit -m:\n%s", raw)
	assert.Equal(t, r.SHA("fix")+" "+r.SHA("side"), git(t, dir, "log", "-1", "--format=%P", r.SHA("merge")))
	assert.Equal(t, gittest.Name+" <"+gittest.Email+">", git(t, dir, "log", "-1", "--format=%an <%ae>"))
	assert.Equal(t, fmt.Sprint(gittest.Epoch), git(t, dir, "log", "-1", "--format=%ct", r.SHA("init")), "dates start at Epoch")
	assert.Equal(t, fmt.Sprint(gittest.Epoch+1), git(t, dir, "log", "-1", "--format=%ct", r.SHA("fix")), "and go on by a second")

	assert.Equal(t, "tag", git(t, dir, "cat-file", "-t", "v1.0.0"))
	assert.Equal(t, "Release v1.0.0", git(t, dir, "for-each-ref", "--format=%(contents)", "refs/tags/v1.0.0"))
	assert.Equal(t, "commit", git(t, dir, "cat-file", "-t", "light"))
	assert.Equal(t, r.SHA("fix"), git(t, dir, "rev-parse", "production"))

	// origin has what was pushed, and the clone knows it as after a push.
	assert.Equal(t, strings.Join([]string{
		r.SHA("gone") + " refs/heads/main",
		r.SHA("init") + " refs/heads/production",
		git(t, dir, "rev-parse", "v1.0.0") + " refs/tags/v1.0.0",
	}, "\n"), git(t, r.Remote.Dir, "for-each-ref", "--format=%(objectname) %(refname)"))
	assert.Equal(t, r.SHA("gone")+" refs/remotes/origin/main\n"+r.SHA("init")+" refs/remotes/origin/production",
		git(t, dir, "for-each-ref", "--format=%(objectname) %(refname)", "refs/remotes"))
	assert.Equal(t, r.Remote.Dir, git(t, dir, "remote", "get-url", "origin"))
	assert.Equal(t, "https://example.com/acme/app.git", git(t, dir, "remote", "get-url", "upstream"))
	git(t, dir, "fetch", "--quiet", "origin")
	git(t, dir, "push", "--quiet", "origin", "main:refs/heads/next")
	assert.Equal(t, r.SHA("gone"), git(t, r.Remote.Dir, "rev-parse", "next"))
}

// The same Spec makes the same commits: dates and identities are fixed.
func TestBuildIsDeterministic(t *testing.T) {
	t.Parallel()
	spec := gittest.Spec{Commits: []gittest.Commit{{ID: "a", Message: "a", Files: map[string]string{"f": "1"}}, {ID: "b", Message: "b"}}}
	assert.Equal(t, gittest.Build(t, spec).SHA("b"), gittest.Build(t, spec).SHA("b"))
}

func TestBuilderKeepsTheWorkingTreeInStep(t *testing.T) {
	t.Parallel()
	r := gittest.Build(t, gittest.Spec{Commits: []gittest.Commit{{Message: "init", Files: map[string]string{"a": "1\n"}}}})
	b := r.Builder
	b.Branch("feature", "")
	b.Checkout("feature")
	b.Commit(gittest.Commit{Message: "feature", Files: map[string]string{"b": "2\n"}})
	assert.FileExists(t, r.Path("b"))
	b.Checkout("main")
	assert.NoFileExists(t, r.Path("b"), "switching back removes the feature's file")
	merge := b.Commit(gittest.Commit{Parents: []string{"main", "feature"}, Message: "merge"})
	assert.FileExists(t, r.Path("b"))
	b.Flush()
	assert.Empty(t, git(t, r.Dir, "status", "--porcelain", "--untracked-files=all"))
	assert.Equal(t, merge, git(t, r.Dir, "rev-parse", "HEAD"))

	// Changes git made meanwhile are built upon; files the test wrote and
	// did not commit stay as they are.
	r.Write(map[string]string{"a": "changed by hand\n", "notes.txt": "scratch\n"})
	git(t, r.Dir, "commit", "--quiet", "--allow-empty", "-m", "by git")
	byGit := git(t, r.Dir, "rev-parse", "HEAD")
	sha := r.Commit("by gittest", map[string]string{"c": "3\n"})
	assert.Equal(t, byGit, git(t, r.Dir, "rev-parse", sha+"^"))
	assert.Equal(t, "a", git(t, r.Dir, "diff", "--name-only"), "a is still changed, not staged")
	assert.Empty(t, git(t, r.Dir, "diff", "--cached", "--name-only"))
	assert.Equal(t, "notes.txt", git(t, r.Dir, "ls-files", "--others"))

	git(t, r.Dir, "checkout", "--quiet", "a")
	b.Detach(byGit)
	b.Flush()
	assert.Equal(t, byGit, git(t, r.Dir, "rev-parse", "HEAD"))
	assert.NoFileExists(t, r.Path("c"))
	assert.Equal(t, "HEAD", git(t, r.Dir, "rev-parse", "--abbrev-ref", "HEAD"))
}

// A commit's SHA is known at once, so the next message can quote it.
func TestBuilderReturnsSHAsAtOnce(t *testing.T) {
	t.Parallel()
	r := gittest.Build(t, gittest.Spec{})
	b := r.Builder
	first := b.Commit(gittest.Commit{Message: "feat: x"})
	revert := b.Commit(gittest.Commit{Message: "Revert \"feat: x\"\n\nThis reverts commit " + first + "."})
	b.Flush()
	assert.Equal(t, first, git(t, r.Dir, "rev-parse", revert+"^"))
	assert.Contains(t, git(t, r.Dir, "log", "-1", "--format=%B"), first)
}

func TestTemplate(t *testing.T) {
	t.Parallel()
	tp := gittest.NewTemplate(func(dir string) error {
		work, origin := filepath.Join(dir, "work"), filepath.Join(dir, "origin.git")
		for _, args := range [][]string{
			{"init", "--quiet", "--bare", origin},
			{"init", "--quiet", work},
			{"-C", work, "remote", "add", "origin", origin},
			{"-C", work, "commit", "--quiet", "--allow-empty", "-m", "first"},
			{"-C", work, "push", "--quiet", "origin", "main"},
		} {
			if out, err := exec.Command("git", args...).CombinedOutput(); err != nil {
				return &exec.Error{Name: string(out), Err: err}
			}
		}
		return nil
	})
	t.Cleanup(tp.Remove)
	a, b := t.TempDir(), t.TempDir()
	tp.CopyTo(t, a)
	tp.CopyTo(t, b)
	work := filepath.Join(a, "work")
	assert.Equal(t, filepath.Join(a, "origin.git"), git(t, work, "remote", "get-url", "origin"), "each copy points at its own origin")
	assert.Empty(t, git(t, work, "status", "--porcelain"))
	git(t, work, "commit", "--quiet", "--allow-empty", "-m", "second")
	git(t, work, "push", "--quiet", "origin", "main")
	assert.Equal(t, "second", git(t, filepath.Join(a, "origin.git"), "log", "-1", "--format=%s", "main"))
	assert.Equal(t, "first", git(t, filepath.Join(b, "origin.git"), "log", "-1", "--format=%s", "main"), "copies are independent")
}

// The index gittest writes is the one git would: same entries in the same
// order, with stat data git accepts without reading the files again; a file
// whose content differs from HEAD's shows as changed.
func TestIndexIsGits(t *testing.T) {
	t.Parallel()
	files := map[string]string{"a.b": "1\n", "a/b": "2\n", "a0": "3\n", "dir/sub dir/é.txt": "4\n", "README": "", "z/" + strings.Repeat("long", 30): "5\n"}
	r := gittest.Build(t, gittest.Spec{Commits: []gittest.Commit{{Message: "files", Files: files}}})
	mine := git(t, r.Dir, "ls-files", "--stage")
	gitsIndex := "GIT_INDEX_FILE=" + filepath.Join(t.TempDir(), "index")
	var theirs []byte
	for _, args := range [][]string{{"read-tree", "HEAD"}, {"ls-files", "--stage"}} {
		cmd := exec.Command("git", args...)
		cmd.Dir, cmd.Env = r.Dir, append(os.Environ(), gitsIndex)
		out, err := cmd.Output()
		require.NoError(t, err)
		theirs = out
	}
	assert.Equal(t, strings.TrimSpace(string(theirs)), mine)
	git(t, r.Dir, "diff-files", "--quiet") // no refresh: the stat data must match
	assert.Empty(t, git(t, r.Dir, "status", "--porcelain", "--untracked-files=all"))

	// A file the test changed before the Flush is not taken as clean.
	r.Builder.Commit(gittest.Commit{Message: "more", Files: map[string]string{"b": "committed\n"}})
	r.Write(map[string]string{"a0": "X\n"})
	r.Builder.Flush()
	assert.Equal(t, "a0", git(t, r.Dir, "diff", "--name-only"))
}
