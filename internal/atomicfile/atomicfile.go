// Package atomicfile writes files so that a reader (or a crash) sees either
// the old content or the new, never half of either, and writes groups of
// files all or nothing.
package atomicfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// WriteFile writes data to path atomically: it writes a temporary file in the
// same directory, syncs it and renames it over path. An existing file keeps
// its permission bits; a new one gets perm.
func WriteFile(path string, data []byte, perm fs.FileMode) error {
	tmp, err := writeTemp(path, data, perm)
	if err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// writeTemp writes data to a synced temporary file beside path, with path's
// mode (or perm for a new file), and returns its name.
func writeTemp(path string, data []byte, perm fs.FileMode) (string, error) {
	if info, err := os.Stat(path); err == nil {
		perm = info.Mode().Perm()
	} else if !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("write %s: %w", path, err)
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return "", fmt.Errorf("write %s: %w", path, err)
	}
	name := f.Name()
	fail := func(err error) (string, error) {
		f.Close()
		os.Remove(name)
		return "", fmt.Errorf("write %s: %w", path, err)
	}
	if _, err := f.Write(data); err != nil {
		return fail(err)
	}
	if err := f.Chmod(perm); err != nil {
		return fail(err)
	}
	if err := f.Sync(); err != nil {
		return fail(err)
	}
	if err := f.Close(); err != nil {
		return fail(err)
	}
	return name, nil
}

// Batch is a group of file writes that happen all or nothing.
type Batch struct {
	writes []write
}

type write struct {
	path string
	data []byte
	perm fs.FileMode
}

// Add queues data to be written to path (perm for a new file).
func (b *Batch) Add(path string, data []byte, perm fs.FileMode) {
	b.writes = append(b.writes, write{path, data, perm})
}

// Paths returns the queued paths in order.
func (b *Batch) Paths() []string {
	out := make([]string, len(b.writes))
	for i, w := range b.writes {
		out[i] = w.path
	}
	return out
}

// Commit writes every queued file. It first writes all the new contents to
// temporary files, so that a full disk or a permission problem is found
// before anything changes; then it renames them into place. If a rename
// fails, the files already replaced get their old content back (and files
// that did not exist are removed), so the batch leaves every file either as
// it was or fully written.
func (b *Batch) Commit() error {
	type staged struct {
		write
		tmp     string
		old     []byte
		existed bool
	}
	var done []staged
	cleanup := func() {
		for _, s := range done {
			os.Remove(s.tmp)
		}
	}
	for _, w := range b.writes {
		old, err := os.ReadFile(w.path)
		existed := err == nil
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			cleanup()
			return fmt.Errorf("write %s: %w", w.path, err)
		}
		tmp, err := writeTemp(w.path, w.data, w.perm)
		if err != nil {
			cleanup()
			return err
		}
		done = append(done, staged{write: w, tmp: tmp, old: old, existed: existed})
	}
	for i, s := range done {
		if err := os.Rename(s.tmp, s.path); err != nil {
			err = fmt.Errorf("write %s: %w", s.path, err)
			cleanup()
			var restoreErrs []error
			for _, prev := range done[:i] {
				var rerr error
				if prev.existed {
					rerr = WriteFile(prev.path, prev.old, prev.perm)
				} else {
					rerr = os.Remove(prev.path)
				}
				if rerr != nil {
					restoreErrs = append(restoreErrs, fmt.Errorf("restoring %s: %w", prev.path, rerr))
				}
			}
			return errors.Join(append([]error{err}, restoreErrs...)...)
		}
	}
	return nil
}
