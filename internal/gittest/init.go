package gittest

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Init makes an empty repository with a working tree at dir, on branch
// main, as `git init --initial-branch=main` does, but without running git:
// a repository is a handful of files and directories.
func Init(t testing.TB, dir string) {
	t.Helper()
	if err := initRepo(dir, false); err != nil {
		t.Fatal(err)
	}
}

// InitBare makes an empty bare repository at dir, as
// `git init --bare --initial-branch=main` does, without running git.
func InitBare(t testing.TB, dir string) {
	t.Helper()
	if err := initRepo(dir, true); err != nil {
		t.Fatal(err)
	}
}

// initRepo writes the files `git init` writes that matter: HEAD, config and
// the object and ref directories (plus hooks/, where tests install hooks).
// The sample hooks, description and info/exclude are left out.
func initRepo(dir string, bare bool) error {
	gitDir := filepath.Join(dir, ".git")
	config := "[core]\n\trepositoryformatversion = 0\n\tfilemode = true\n\tbare = false\n\tlogallrefupdates = true\n"
	if bare {
		gitDir = dir
		config = "[core]\n\trepositoryformatversion = 0\n\tfilemode = true\n\tbare = true\n"
	}
	for _, d := range []string{"objects/info", "objects/pack", "refs/heads", "refs/tags", "hooks", "info"} {
		if err := os.MkdirAll(filepath.Join(gitDir, d), 0o755); err != nil {
			return err
		}
	}
	if err := os.WriteFile(filepath.Join(gitDir, "HEAD"), []byte("ref: refs/heads/main\n"), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(gitDir, "config"), []byte(config), 0o644)
}

// gitDirOf returns the git directory of the repository at dir: dir/.git for
// a working tree, dir itself for a bare repository.
func gitDirOf(dir string) (string, error) {
	gitDir := filepath.Join(dir, ".git")
	info, err := os.Stat(gitDir)
	switch {
	case err == nil && info.IsDir():
		return gitDir, nil
	case err == nil:
		return "", fmt.Errorf("%s is a file (a linked worktree or submodule?); gittest handles plain repositories only", gitDir)
	case !errors.Is(err, fs.ErrNotExist):
		return "", err
	}
	if _, err := os.Stat(filepath.Join(dir, "HEAD")); err != nil {
		return "", fmt.Errorf("%s is not a git repository: %w", dir, err)
	}
	return dir, nil
}

// readHead returns the branch HEAD is on, or the commit it is at when
// detached (branch "").
func readHead(gitDir string) (branch, commit string, err error) {
	data, err := os.ReadFile(filepath.Join(gitDir, "HEAD"))
	if err != nil {
		return "", "", err
	}
	s := strings.TrimSpace(string(data))
	if ref, ok := strings.CutPrefix(s, "ref: "); ok {
		name, ok := strings.CutPrefix(ref, "refs/heads/")
		if !ok {
			return "", "", fmt.Errorf("HEAD points at %s, not a branch", ref)
		}
		return name, "", nil
	}
	return "", s, nil
}

// readRef returns the object a full ref name points at, or "" when there is
// no such ref, reading the loose ref file or packed-refs as git does.
func readRef(gitDir, ref string) (string, error) {
	data, err := os.ReadFile(filepath.Join(gitDir, filepath.FromSlash(ref)))
	if err == nil {
		return strings.TrimSpace(string(data)), nil
	}
	if info, serr := os.Stat(filepath.Join(gitDir, filepath.FromSlash(ref))); !errors.Is(err, fs.ErrNotExist) && (serr != nil || !info.IsDir()) {
		return "", err
	}
	packed, err := os.ReadFile(filepath.Join(gitDir, "packed-refs"))
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	sc := bufio.NewScanner(bytes.NewReader(packed))
	for sc.Scan() {
		sha, name, ok := strings.Cut(sc.Text(), " ")
		if ok && name == ref && !strings.HasPrefix(sha, "#") && !strings.HasPrefix(sha, "^") {
			return sha, nil
		}
	}
	return "", sc.Err()
}

// writeRef points a full ref name at sha with a loose ref file.
func writeRef(gitDir, ref, sha string) error {
	p := filepath.Join(gitDir, filepath.FromSlash(ref))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	return os.WriteFile(p, []byte(sha+"\n"), 0o644)
}
