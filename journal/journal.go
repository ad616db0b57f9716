// Package journal keeps a shipprod run's progress in a file, so that a run
// that failed after making its release (the tag pushed, the deploy refused)
// resumes where it stopped instead of finding "nothing to release": see
// shipprod.Journal.
//
// The file is JSON (the shipprod.Result of the run so far), written
// atomically after every step, with credentials in URLs masked. InGitDir puts it inside the repository's git
// directory, where it is never committed and belongs to the one clone that
// ran the release.
package journal

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/shipprod/shipprod"
	"github.com/shipprod/shipprod/internal/atomicfile"
	"github.com/shipprod/shipprod/internal/git"
)

// File is a shipprod.Journal kept in a JSON file.
type File struct {
	Path string
}

var _ shipprod.Journal = File{}

// InGitDir returns the journal of the repository at dir:
// <git dir>/shipprod/journal.json.
func InGitDir(ctx context.Context, dir string) (File, error) {
	gitDir, err := git.Open(dir).Run(ctx, "rev-parse", "--absolute-git-dir")
	if err != nil {
		return File{}, fmt.Errorf("finding the git directory for the journal: %w", err)
	}
	return File{Path: filepath.Join(gitDir, "shipprod", "journal.json")}, nil
}

// MaxSize bounds a journal file: a larger one is refused unread (a run's
// journal is a few kilobytes; the limit leaves room for long histories of
// rolled-back builds and big health reports).
const MaxSize = 16 << 20

// Load implements shipprod.Journal. A missing file is no journal.
func (f File) Load(ctx context.Context) (*shipprod.Result, error) {
	if info, err := os.Stat(f.Path); err == nil && info.Size() > MaxSize {
		return nil, fmt.Errorf("%s is %d bytes, more than a journal can be (%d): it is not a shipprod journal; delete it to start over", f.Path, info.Size(), MaxSize)
	}
	data, err := os.ReadFile(f.Path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var res shipprod.Result
	if err := json.Unmarshal(data, &res); err != nil {
		return nil, fmt.Errorf("%s: not a shipprod journal (%w); delete it to start over", f.Path, err)
	}
	return &res, nil
}

// Save implements shipprod.Journal.
func (f File) Save(ctx context.Context, res *shipprod.Result) error {
	data, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return err
	}
	// Whatever a step put in the result, credentials in URLs (a remote
	// such as https://x-access-token:TOKEN@github.com/…) stay out of the file.
	data = []byte(git.MaskURL(string(data)))
	if err := os.MkdirAll(filepath.Dir(f.Path), 0o755); err != nil {
		return err
	}
	return atomicfile.WriteFile(f.Path, append(data, '\n'), 0o644)
}
