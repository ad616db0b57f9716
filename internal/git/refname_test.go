package git_test

import (
	"context"
	"errors"
	"os/exec"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shipprod/shipprod/internal/git"
)

// trickyRefs are full ref names around every rule of git check-ref-format.
var trickyRefs = []string{
	"refs/heads/main", "refs/tags/v1.2.3", "refs/tags/v1.2.3-rc.1+build.5", "refs/heads/deploy/prod",
	"refs/heads/a.b", "refs/heads/a-b_c", "refs/heads/@", "refs/heads/a@b", "refs/heads/a{b}", "refs/heads/é",
	"refs/heads/HEAD", "refs/heads/a.lockx", "refs/heads/lock", "refs/heads/x.lock/y", "refs/heads/a/.b",
	"refs/heads/.hidden", "refs/heads/a.", "refs/heads/a..b", "refs/heads/a/../b", "refs/heads/a.lock",
	"refs/heads/a@{b", "refs/heads/@{", "refs/heads/a b", "refs/heads/a~1", "refs/heads/a^", "refs/heads/a:b",
	"refs/heads/a?", "refs/heads/a*", "refs/heads/a[b", "refs/heads/a\\b", "refs/heads/a\tb", "refs/heads/a\x7fb",
	"refs/heads/a\x01b", "refs/heads//a", "refs/heads/a/", "/refs/heads/a", "refs/heads/", "refs", "@", "a",
	"refs/heads/.", "refs/heads/..", "refs/heads/a/.", "refs/./heads", "refs/heads/a.b.lock", "refs/heads/.lock",
	"refs/heads/a]b", "refs/heads/a}", "refs/heads/a!b", "refs/heads/a\"b", "refs/heads/a'b", "refs/heads/a#b",
	"refs/heads/a$b", "refs/heads/a%b", "refs/heads/a&b", "refs/heads/a(b)", "refs/heads/a+b", "refs/heads/a,b",
	"refs/heads/a;b", "refs/heads/a<b>", "refs/heads/a=b", "refs/heads/a|b", "refs/heads/a`b",
}

// TestRefFormatAgreesWithGit checks the in-process validation against
// `git check-ref-format` itself, name by name.
func TestRefFormatAgreesWithGit(t *testing.T) {
	t.Parallel()
	for _, ref := range trickyRefs {
		err := git.CheckRefFormat(context.Background(), ref)
		gitErr := exec.Command("git", "check-ref-format", ref).Run()
		var exitErr *exec.ExitError
		if gitErr != nil && !errors.As(gitErr, &exitErr) {
			t.Fatalf("running git check-ref-format: %v", gitErr)
		}
		if (err == nil) != (gitErr == nil) {
			t.Errorf("%q: CheckRefFormat says %v, git check-ref-format says %v", ref, err, gitErr)
		}
		if err != nil && !errors.Is(err, git.ErrInvalidRefName) {
			t.Errorf("%q: %v does not wrap ErrInvalidRefName", ref, err)
		}
	}
}

// TestRefNameValidationIgnoresTheContext: validation runs no process, so a
// context that has ended changes nothing — it once made a valid name look
// invalid.
func TestRefNameValidationIgnoresTheContext(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	assert.NoError(t, git.CheckBranchName(ctx, "production"))
	assert.NoError(t, git.CheckTagName(ctx, "v1.2.3"))
	assert.NoError(t, git.CheckRefFormat(ctx, "refs/heads/main"))
	assert.ErrorIs(t, git.CheckTagName(ctx, "v1..2"), git.ErrInvalidRefName)
}

func TestRefNameErrorsSayWhy(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"prod..x":   `branch "prod..x": invalid git ref name (it contains "..")`,
		"":          `branch "": invalid git ref name (it is empty)`,
		"a.lock":    `branch "a.lock": invalid git ref name (component "a.lock" ends with .lock)`,
		"x y":       `branch "x y": invalid git ref name (it contains " ")`,
		"-f":        `invalid git ref name: branch "-f" starts with a dash`,
		"refs/x":    `invalid git ref name: branch "refs/x": give the branch name without refs/heads/`,
		"team/.env": `branch "team/.env": invalid git ref name (component ".env" begins with a dot)`,
	} {
		err := git.CheckBranchName(context.Background(), in)
		require.Error(t, err, in)
		assert.Equal(t, want, err.Error())
	}
}

// A push whose context has ended reports the context's error, never a
// bad ref name or a rejection.
func TestPushWithEndedContext(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := git.Open(t.TempDir()).Push(ctx, "origin", []string{"HEAD:refs/heads/production"}, git.PushOptions{})
	require.ErrorIs(t, err, context.Canceled)
	assert.NotErrorIs(t, err, git.ErrInvalidRefName)
	var rejected *git.PushRejectedError
	assert.False(t, errors.As(err, &rejected))
}
