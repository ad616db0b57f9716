//go:build unix

package git_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/shipprod/shipprod/internal/gittest"
)

// A cancelled git is interrupted, not killed: a commit stopped while its
// pre-commit hook runs leaves no index.lock behind, and the hook is told
// too, so nothing blocks the next run.
func TestCancelledCommitLeavesNoLock(t *testing.T) {
	r := gittest.New(t)
	hook := filepath.Join(r.Dir, ".git", "hooks", "pre-commit")
	marker := filepath.Join(t.TempDir(), "interrupted")
	script := "#!/bin/sh\ntrap 'echo int > " + marker + "; exit 1' INT\necho started > " + marker + ".started\nwhile :; do sleep 0.05; done\n"
	if err := os.WriteFile(hook, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(r.Dir, "VERSION"), []byte("1.3.0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Run(context.Background(), "add", "--", "VERSION"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		for {
			if _, err := os.Stat(marker + ".started"); err == nil {
				cancel()
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	}()
	start := time.Now()
	_, err := r.Run(ctx, "commit", "--quiet", "-m", "chore(release): v1.3.0")
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v, want context.Canceled", err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("the cancelled commit took %s to stop", took)
	}
	if _, err := os.Stat(filepath.Join(r.Dir, ".git", "index.lock")); !os.IsNotExist(err) {
		t.Fatalf("index.lock left behind (%v)", err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		if data, err := os.ReadFile(marker); err == nil && string(data) == "int\n" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the hook was not interrupted")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if out, err := r.Run(context.Background(), "status", "--porcelain"); err != nil || out == "" {
		t.Fatalf("git works again after the interruption: %q %v", out, err)
	}
}
