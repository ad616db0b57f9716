// Package gittest makes real git repositories for tests: a working tree
// with a bare "origin" remote, isolated from the machine's git
// configuration.
package gittest

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/shipprod/shipprod/internal/git"
)

// Isolate points git at an empty global configuration and sets a fixed
// author and committer for the rest of the test, so that tests do not
// depend on (or change) the machine's git settings.
func Isolate(t testing.TB) {
	t.Helper()
	cfg := filepath.Join(t.TempDir(), "gitconfig")
	if err := os.WriteFile(cfg, []byte("[init]\n\tdefaultBranch = main\n[tag]\n\tgpgSign = false\n[commit]\n\tgpgSign = false\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{
		"GIT_CONFIG_GLOBAL":   cfg,
		"GIT_CONFIG_NOSYSTEM": "1",
		"GIT_AUTHOR_NAME":     "Ship Tester",
		"GIT_AUTHOR_EMAIL":    "tester@example.com",
		"GIT_COMMITTER_NAME":  "Ship Tester",
		"GIT_COMMITTER_EMAIL": "tester@example.com",
	} {
		t.Setenv(k, v)
	}
}

// Repo is a working tree with a bare remote named origin.
type Repo struct {
	*git.Repo
	// Remote is the bare repository origin points at.
	Remote *git.Repo
	t      testing.TB
}

// New makes a repository on branch main with one commit, pushed to a bare
// origin. It calls Isolate.
func New(t testing.TB) *Repo {
	t.Helper()
	Isolate(t)
	root := t.TempDir()
	bare := filepath.Join(root, "origin.git")
	work := filepath.Join(root, "work")
	r := &Repo{Repo: git.Open(work), Remote: git.Open(bare), t: t}
	ctx := context.Background()
	r.must(git.Open(root).Run(ctx, "init", "--quiet", "--bare", "--initial-branch=main", "--", bare))
	r.must(git.Open(root).Run(ctx, "init", "--quiet", "--initial-branch=main", "--", work))
	r.Git("remote", "add", "origin", bare)
	r.Commit("initial commit", map[string]string{"README.md": "# test\n"})
	r.Git("push", "--quiet", "origin", "main")
	return r
}

func (r *Repo) must(out string, err error) string {
	r.t.Helper()
	if err != nil {
		r.t.Fatal(err)
	}
	return out
}

// Git runs git in the working tree and fails the test on error.
func (r *Repo) Git(args ...string) string {
	r.t.Helper()
	return r.must(r.Run(context.Background(), args...))
}

// Write writes files (path → content) in the working tree.
func (r *Repo) Write(files map[string]string) {
	r.t.Helper()
	for name, content := range files {
		p := filepath.Join(r.Dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			r.t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			r.t.Fatal(err)
		}
	}
}

// Commit writes files and commits everything with message, returning the SHA.
func (r *Repo) Commit(message string, files map[string]string) string {
	r.t.Helper()
	r.Write(files)
	r.Git("add", "--all")
	r.Git("commit", "--quiet", "--allow-empty", "-m", message)
	return r.Git("rev-parse", "HEAD")
}

// Path returns the absolute path of a file in the working tree.
func (r *Repo) Path(name string) string { return filepath.Join(r.Dir, name) }
