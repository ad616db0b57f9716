package git_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shipprod/shipprod/internal/git"
	"github.com/shipprod/shipprod/internal/gittest"
)

var ctx = context.Background()

func TestRefNameValidation(t *testing.T) {
	tests := []struct {
		name  string
		check func(context.Context, string) error
		in    string
		ok    bool
	}{
		{"tag", git.CheckTagName, "v1.2.3", true},
		{"tag prerelease", git.CheckTagName, "v1.2.3-rc.1", true},
		{"tag with space", git.CheckTagName, "v1 .2", false},
		{"tag option", git.CheckTagName, "--delete", false},
		{"tag double dot", git.CheckTagName, "v1..2", false},
		{"tag full ref", git.CheckTagName, "refs/tags/v1", false},
		{"tag lock", git.CheckTagName, "v1.lock", false},
		{"branch", git.CheckBranchName, "production", true},
		{"branch nested", git.CheckBranchName, "deploy/prod", true},
		{"branch tilde", git.CheckBranchName, "prod~1", false},
		{"branch empty", git.CheckBranchName, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.check(ctx, tt.in)
			if tt.ok {
				assert.NoError(t, err)
			} else {
				assert.ErrorIs(t, err, git.ErrInvalidRefName)
			}
		})
	}
	assert.Error(t, git.CheckRemoteName("--upload-pack=evil"))
	assert.NoError(t, git.CheckRemoteName("origin"))
}

func TestMaskURL(t *testing.T) {
	assert.Equal(t, "fatal: unable to access 'https://***@github.com/o/r.git/': 403",
		git.MaskURL("fatal: unable to access 'https://x-access-token:ghp_secret@github.com/o/r.git/': 403"))
	assert.Equal(t, "ssh://***@host/repo", git.MaskURL("ssh://git@host/repo"))
	assert.Equal(t, "no url here", git.MaskURL("no url here"))
}

func TestErrorsCarryMaskedStderr(t *testing.T) {
	r := gittest.New(t)
	url := "https://user:hunter2@127.0.0.1:1/repo.git"
	_, err := r.Run(ctx, "ls-remote", "--", url)
	var ge *git.Error
	require.ErrorAs(t, err, &ge)
	assert.NotContains(t, err.Error(), "hunter2")
	assert.Contains(t, err.Error(), "https://***@127.0.0.1:1/repo.git")
	assert.NotZero(t, ge.ExitCode)
}

func TestCommitPathsCommitsOnlyThosePaths(t *testing.T) {
	r := gittest.New(t)
	r.Write(map[string]string{"VERSION": "1.0.0\n", "other.txt": "draft\n"})
	r.Git("add", "other.txt") // staged but not part of the release commit
	sha, err := r.CommitPaths(ctx, "chore(release): v1.0.0", "VERSION")
	require.NoError(t, err)
	assert.Equal(t, "VERSION", r.Git("show", "--name-only", "--format=", sha))
	assert.Equal(t, "chore(release): v1.0.0", r.Git("log", "-1", "--format=%s"))
	dirty, err := r.DirtyPaths(ctx)
	require.NoError(t, err)
	assert.Equal(t, []string{"other.txt"}, dirty)
}

func TestDirtyPaths(t *testing.T) {
	r := gittest.New(t)
	dirty, err := r.DirtyPaths(ctx)
	require.NoError(t, err)
	assert.Empty(t, dirty)
	r.Write(map[string]string{"README.md": "changed\n", "new dir/file name.txt": "x"})
	r.Git("mv", "README.md", "README.txt")
	dirty, err = r.DirtyPaths(ctx)
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{"README.txt", "new dir/file name.txt"}, dirty)
}

func TestTagsAndRemoteRefs(t *testing.T) {
	r := gittest.New(t)
	head := r.Git("rev-parse", "HEAD")
	_, ok, err := r.LookupTag(ctx, "v1.0.0")
	require.NoError(t, err)
	assert.False(t, ok)

	require.NoError(t, r.CreateAnnotatedTag(ctx, "v1.0.0", head, "Release v1.0.0\n\n- first"))
	tag, ok, err := r.LookupTag(ctx, "v1.0.0")
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, head, tag.Commit)
	assert.True(t, tag.Annotated)
	assert.Equal(t, "Release v1.0.0\n\n- first", tag.Message)

	r.Git("tag", "light")
	tag, ok, err = r.LookupTag(ctx, "light")
	require.NoError(t, err)
	require.True(t, ok)
	assert.False(t, tag.Annotated)

	require.NoError(t, r.Push(ctx, "origin", []string{"refs/tags/v1.0.0"}, git.PushOptions{}))
	sha, ok, err := r.RemoteRef(ctx, "origin", "refs/tags/v1.0.0")
	require.NoError(t, err)
	assert.True(t, ok)
	assert.Equal(t, head, sha, "annotated tags are peeled to their commit")
	_, ok, err = r.RemoteRef(ctx, "origin", "refs/tags/v9.9.9")
	require.NoError(t, err)
	assert.False(t, ok)
}

func TestPushRejectedIsTyped(t *testing.T) {
	r := gittest.New(t)
	// Someone else pushes to main meanwhile.
	theirs := gittest.NewBuilder(t, r.Remote.Dir)
	theirs.Commit(gittest.Commit{Branch: "main", Message: "theirs"})
	theirs.Flush()

	mine := r.Commit("mine", map[string]string{"a": "b"})
	r.Git("tag", "-a", "-m", "x", "v2.0.0")
	err := r.Push(ctx, "origin", []string{mine + ":refs/heads/main", "refs/tags/v2.0.0"}, git.PushOptions{Atomic: true})
	var rejected *git.PushRejectedError
	require.ErrorAs(t, err, &rejected)
	assert.Contains(t, rejected.Reason, "refs/heads/main [rejected] (fetch first)")
	assert.Equal(t, "origin", rejected.Remote)
	_, ok, err := r.RemoteRef(ctx, "origin", "refs/tags/v2.0.0")
	require.NoError(t, err)
	assert.False(t, ok, "the atomic push left no tag behind")

	// A lease on a stale value is refused too.
	err = r.Push(ctx, "origin", []string{mine + ":refs/heads/main"}, git.PushOptions{ForceWithLease: []string{"refs/heads/main:" + mine}})
	require.ErrorAs(t, err, &rejected)
	assert.Contains(t, rejected.Reason, "stale info")
}

func TestPushValidatesRefspecs(t *testing.T) {
	r := gittest.New(t)
	for _, rs := range []string{"--force", "HEAD:production", "HEAD:refs/heads/bad..name"} {
		err := r.Push(ctx, "origin", []string{rs}, git.PushOptions{})
		assert.ErrorIs(t, err, git.ErrInvalidRefName, rs)
	}
	assert.Error(t, r.Push(ctx, "-oops", []string{"HEAD:refs/heads/x"}, git.PushOptions{}))
}

func TestCurrentBranchAndDetached(t *testing.T) {
	r := gittest.New(t)
	b, err := r.CurrentBranch(ctx)
	require.NoError(t, err)
	assert.Equal(t, "main", b)
	r.Git("checkout", "--quiet", "--detach")
	_, err = r.CurrentBranch(ctx)
	assert.ErrorIs(t, err, git.ErrDetachedHead)
	shallow, err := r.IsShallow(ctx)
	require.NoError(t, err)
	assert.False(t, shallow)
}

func TestResolveCommit(t *testing.T) {
	r := gittest.New(t)
	sha, ok, err := r.ResolveCommit(ctx, "main")
	require.NoError(t, err)
	assert.True(t, ok)
	assert.Len(t, sha, 40)
	_, ok, err = r.ResolveCommit(ctx, "nope")
	require.NoError(t, err)
	assert.False(t, ok)
	_, err = git.Open(t.TempDir()).Head(ctx)
	var ge *git.Error
	require.True(t, errors.As(err, &ge))
	assert.True(t, strings.Contains(ge.Stderr, "not a git repository"), ge.Stderr)
}

func TestPushRejectedByAHookSaysWhatTheRemoteSaid(t *testing.T) {
	r := gittest.New(t)
	hook := filepath.Join(r.Remote.Dir, "hooks", "pre-receive")
	require.NoError(t, os.WriteFile(hook, []byte("#!/bin/sh\necho 'production is frozen until Monday' >&2\nexit 1\n"), 0o755))
	err := r.Push(ctx, "origin", []string{"HEAD:refs/heads/production"}, git.PushOptions{})
	var rejected *git.PushRejectedError
	require.ErrorAs(t, err, &rejected)
	assert.Contains(t, rejected.Reason, "refs/heads/production [remote rejected] (pre-receive hook declined)")
	assert.Contains(t, rejected.Reason, "the remote said: production is frozen until Monday")
}

// LookupTag peels tags of tags, leaves Commit empty for a tag on a tree,
// and takes no tag below the name (deploy/x) for the name itself (deploy),
// although git for-each-ref lists it for that pattern.
func TestLookupTagKinds(t *testing.T) {
	r := gittest.New(t)
	head := r.Git("rev-parse", "HEAD")
	r.Git("tag", "-a", "-m", "one", "v1")
	r.Git("tag", "-a", "-m", "below deploy", "deploy/x", "HEAD")
	r.Git("tag", "-a", "-m", "a tag of a tag", "nested", "v1")
	r.Git("tag", "tree", "HEAD^{tree}")
	for _, tc := range []struct {
		name      string
		commit    string
		annotated bool
		message   string
	}{
		{"v1", head, true, "one"},
		{"deploy/x", head, true, "below deploy"},
		{"nested", head, true, "a tag of a tag"},
		{"tree", "", false, ""},
	} {
		tag, ok, err := r.LookupTag(ctx, tc.name)
		require.NoError(t, err, tc.name)
		require.True(t, ok, tc.name)
		assert.Equal(t, git.Tag{Name: tc.name, Commit: tc.commit, Annotated: tc.annotated, Message: tc.message}, tag, tc.name)
	}
	for _, name := range []string{"deploy", "v"} {
		_, ok, err := r.LookupTag(ctx, name)
		require.NoError(t, err)
		assert.False(t, ok, "%s is no tag", name)
	}
}
