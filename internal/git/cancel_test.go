package git_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/shipprod/shipprod/internal/git"
)

// A cancelled command returns promptly even when a child of git (here the
// shell of an alias) keeps git's output pipes open.
func TestCancelledCommandReturnsPromptly(t *testing.T) {
	t.Setenv("GIT_CONFIG_NOSYSTEM", "1")
	t.Setenv("GIT_CONFIG_GLOBAL", "/dev/null")
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := (&git.Repo{Dir: t.TempDir()}).Run(ctx, "-c", "alias.slow=!sleep 3", "slow")
	if took := time.Since(start); took > 1500*time.Millisecond {
		t.Fatalf("cancelled git returned after %v", took)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want context.DeadlineExceeded", err)
	}
}
