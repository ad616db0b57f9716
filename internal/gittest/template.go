package gittest

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// Template is a directory (repositories and files around them) built once
// per test binary and copied for every test that asks: copying a few dozen
// files costs far less than the git commands that made them. Declare it in
// a package-level variable and remove it in TestMain:
//
//	var project = gittest.NewTemplate(func(dir string) error { … })
//
//	func TestMain(m *testing.M) {
//		code := gittest.Main(m)
//		project.Remove()
//		os.Exit(code)
//	}
type Template struct {
	build func(dir string) error
	once  sync.Once
	dir   string
	err   error
}

// NewTemplate returns a Template that build makes in an empty directory on
// first use.
func NewTemplate(build func(dir string) error) *Template {
	return &Template{build: build}
}

// CopyTo copies the template into dst (created if need be), building the
// template first if no test has yet. The template's own path is replaced by
// dst's in the copies' git configuration files (remote URLs), so that each
// copy is self-contained.
func (tp *Template) CopyTo(t testing.TB, dst string) {
	t.Helper()
	tp.once.Do(func() {
		if tp.dir, tp.err = os.MkdirTemp("", "gittest-template-"); tp.err == nil {
			tp.err = tp.build(tp.dir)
		}
		if tp.err == nil {
			tp.err = compact(tp.dir)
		}
	})
	if tp.err != nil {
		t.Fatalf("gittest: building the template: %v", tp.err)
	}
	if err := copyTree(tp.dir, dst); err != nil {
		t.Fatalf("gittest: copying the template: %v", err)
	}
}

// Remove deletes the template's directory.
func (tp *Template) Remove() {
	if tp.dir != "" {
		os.RemoveAll(tp.dir)
	}
}

// compact packs the objects and refs of every repository under dir, so
// that each copy creates a handful of files instead of one per object and
// ref (creating files is most of what a copy costs).
func compact(dir string) error {
	var gitDirs []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() || !isGitDir(path) {
			return err
		}
		gitDirs = append(gitDirs, path)
		return filepath.SkipDir
	})
	for _, g := range gitDirs {
		for _, args := range [][]string{{"repack", "-a", "-d", "-q"}, {"pack-refs", "--all"}} {
			cmd := exec.Command("git", append([]string{"--git-dir=" + g}, args...)...)
			if out, err := cmd.CombinedOutput(); err != nil {
				return fmt.Errorf("git %s in %s: %w: %s", args[0], g, err, out)
			}
		}
	}
	return err
}

// copyTree copies the directory tree src into dst, keeping modes and
// symbolic links, and rewrites src's path to dst's in git config files.
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			return os.MkdirAll(target, info.Mode().Perm()|0o700)
		case d.Type()&fs.ModeSymlink != 0:
			link, err := os.Readlink(path)
			if err != nil {
				return err
			}
			return os.Symlink(link, target)
		case d.Type().IsRegular():
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			if d.Name() == "config" && isGitDir(filepath.Dir(path)) {
				data = bytes.ReplaceAll(data, []byte(src), []byte(dst))
			}
			return os.WriteFile(target, data, info.Mode().Perm())
		default:
			return fmt.Errorf("%s: cannot copy a %v", path, d.Type())
		}
	})
}

// isGitDir reports whether dir looks like a git directory (a .git
// directory or a bare repository).
func isGitDir(dir string) bool {
	for _, name := range []string{"HEAD", "objects", "refs"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			return false
		}
	}
	return true
}
