// Package gittest makes real git repositories for tests, cheaply.
//
// Spawning git is what makes tests of git-driven code slow, so this package
// spawns as little as it can: Build writes a whole history described by a
// Spec (commits with their files, annotated and lightweight tags, branches,
// a bare origin with what was pushed to it) through one `git fast-import`
// process, and the repository, its index and the origin's refs without git;
// Init makes an empty repository without running git at all; a Builder
// keeps adding commits the same way and hands back each commit's SHA at
// once; and a Template is built once per test binary and copied for each
// test. Isolate (one test) and Main (a whole test binary) keep git away from
// the machine's configuration.
//
// The repositories are ordinary: branch main, remote origin, an index and
// working tree matching HEAD. Commits made here have fixed, increasing
// times and the author and committer Isolate sets, so the same Spec always
// yields the same SHAs.
package gittest

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Name and Email are the author and committer of every commit and tag made
// by tests (Isolate sets them for git too).
const (
	Name  = "Ship Tester"
	Email = "tester@example.com"
)

// gitConfig is the whole git configuration tests see. Besides the identity
// and the default branch, it turns off what costs time and proves nothing
// in a test: signing, automatic maintenance and gc after commits and
// pushes, and fsync.
const gitConfig = `[init]
	defaultBranch = main
[user]
	name = ` + Name + `
	email = ` + Email + `
[commit]
	gpgSign = false
[tag]
	gpgSign = false
[maintenance]
	auto = false
[gc]
	auto = 0
[receive]
	autogc = false
[core]
	fsync = none
[protocol "file"]
	allow = always
[advice]
	detachedHead = false
`

// Env writes the tests' git configuration into dir and returns the
// environment entries ("KEY=value") that make git read only it, with a fixed
// author and committer. Code that takes extra git environment (tag.Env's
// GitEnv, gitpush.Options' GitEnv) can be given these directly.
func Env(dir string) ([]string, error) {
	cfg := filepath.Join(dir, "gitconfig")
	if err := os.WriteFile(cfg, []byte(gitConfig), 0o644); err != nil {
		return nil, err
	}
	// git init copies its template into every new repository: a dozen
	// sample hooks, a description, info/exclude. The tests make hundreds of
	// repositories, and creating files is what they spend most time on, so
	// their template is an empty hooks/ directory (where tests install hooks).
	template := filepath.Join(dir, "git-template")
	if err := os.MkdirAll(filepath.Join(template, "hooks"), 0o755); err != nil {
		return nil, err
	}
	return []string{
		"GIT_TEMPLATE_DIR=" + template,
		"GIT_CONFIG_GLOBAL=" + cfg,
		"GIT_CONFIG_NOSYSTEM=1",
		"GIT_AUTHOR_NAME=" + Name,
		"GIT_AUTHOR_EMAIL=" + Email,
		"GIT_COMMITTER_NAME=" + Name,
		"GIT_COMMITTER_EMAIL=" + Email,
		"GIT_TERMINAL_PROMPT=0",
	}, nil
}

// Isolate points git at the tests' own configuration (see Env) for the rest
// of the test, so that tests do not depend on (or change) the machine's git
// settings. Like t.Setenv, it cannot be used in parallel tests: use Main
// for those.
func Isolate(t testing.TB) {
	t.Helper()
	env, err := Env(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
}

// Main isolates git as Isolate does, for the whole test binary, runs the
// tests and returns their exit code. Tests of a package whose TestMain is
//
//	func TestMain(m *testing.M) { os.Exit(gittest.Main(m)) }
//
// need no Isolate and may call t.Parallel.
//
// When TMPDIR is not set and a tmpfs with room is mounted (/dev/shm), Main
// also points TMPDIR, and so t.TempDir, at a directory of its own there,
// removed when the tests end. Tests of git make and delete thousands of
// small files, and on some disk filesystems (ext4 without a journal, as on
// many cloud VMs) creating a file right after many were deleted costs a
// scan of the deleted ones: in memory the package's tests take a fraction
// of the time. Set TMPDIR to keep them on disk.
func Main(m *testing.M) int {
	if root := useMemoryTempDir(); root != "" {
		defer os.RemoveAll(root)
	}
	dir, err := os.MkdirTemp("", "gittest-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "gittest:", err)
		return 2
	}
	defer os.RemoveAll(dir)
	env, err := Env(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "gittest:", err)
		return 2
	}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		os.Setenv(k, v)
	}
	return m.Run()
}

// useMemoryTempDir points TMPDIR at a new directory on a tmpfs, unless
// TMPDIR is set or there is no tmpfs with 1 GiB free, and returns that
// directory ("" when it changed nothing).
func useMemoryTempDir() string {
	if os.Getenv("TMPDIR") != "" {
		return ""
	}
	mem := memoryDir(1 << 30)
	if mem == "" {
		return ""
	}
	root, err := os.MkdirTemp(mem, "gittest-tmp-")
	if err != nil {
		return ""
	}
	os.Setenv("TMPDIR", root)
	return root
}
