package version

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/shipprod/shipprod"
	"github.com/shipprod/shipprod/internal/atomicfile"
)

// applyManifest is what ApplyVersion is about to do, written before it
// writes anything and removed once it committed or restored the files: a
// run killed in between leaves it, and RecoverApply can then tell the
// version files it wrote from changes of anyone else's.
type applyManifest struct {
	Version string         `json:"version"`
	Head    string         `json:"head"`
	Files   []manifestFile `json:"files"`
}

type manifestFile struct {
	Path string `json:"path"`
	// Old and New are the SHA-256 of the file before and after the edit.
	Old string `json:"old"`
	New string `json:"new"`
}

var _ shipprod.ApplyRecoverer = (*Versioner)(nil)

func sum(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// manifestPath is <git dir>/shipprod/apply.json.
func (v *Versioner) manifestPath(ctx context.Context) (string, error) {
	gitDir, err := v.repo.Run(ctx, "rev-parse", "--absolute-git-dir")
	if err != nil {
		return "", err
	}
	return filepath.Join(gitDir, "shipprod", "apply.json"), nil
}

// writeManifest records the edits about to be written on head.
func (v *Versioner) writeManifest(ctx context.Context, rel shipprod.Release, head string, edits []edit) (string, error) {
	path, err := v.manifestPath(ctx)
	if err != nil {
		return "", err
	}
	m := applyManifest{Version: rel.Version, Head: head}
	for _, e := range edits {
		m.Files = append(m.Files, manifestFile{Path: e.path, Old: sum(e.old), New: sum(e.new)})
	}
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return "", err
	}
	return path, atomicfile.WriteFile(path, data, 0o644)
}

// RecoverApply cleans up after an ApplyVersion that was cut short
// (shipprod.ApplyRecoverer): when the version files hold what it wrote and
// no commit followed, they are restored, unstaged, to what HEAD holds, so
// that the release is decided and applied again from a clean tree. A file
// that holds anything else is left alone and named; an index.lock git left
// behind is named too (only a person can tell that no git command still
// runs). rel is the release the cut-short run applied.
func (v *Versioner) RecoverApply(ctx context.Context, rel shipprod.Release) (string, error) {
	path, err := v.manifestPath(ctx)
	if err != nil {
		return "", err
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil // nothing was written, or it was committed or restored
	}
	if err != nil {
		return "", err
	}
	var m applyManifest
	if err := json.Unmarshal(data, &m); err != nil {
		return "", fmt.Errorf("%s is not readable (%w): delete it, check the version files with git status, and run again", path, err)
	}
	if lock := filepath.Join(filepath.Dir(filepath.Dir(path)), "index.lock"); fileExists(lock) {
		return "", fmt.Errorf("%s was left by git, killed while it committed version %s: if no git command is running, delete it (rm %s) and run shipprod ship again", lock, m.Version, lock)
	}
	if committed, err := v.bumpCommitted(ctx, m); err != nil || committed {
		if err == nil {
			err = os.Remove(path)
		}
		return "", err
	}
	restore, err := v.filesToRestore(m)
	if err != nil || len(restore) == 0 {
		if err == nil {
			err = os.Remove(path)
		}
		return "", err
	}
	args := append([]string{"restore", "--source=" + m.Head, "--staged", "--worktree", "--"}, restore...)
	if _, err := v.repo.Run(context.WithoutCancel(ctx), args...); err != nil {
		return "", fmt.Errorf("restoring %s: %w", strings.Join(restore, ", "), err)
	}
	if err := os.Remove(path); err != nil {
		return "", err
	}
	return fmt.Sprintf("restored %s, which a run cut short while it applied %s had written and not committed", strings.Join(restore, ", "), m.Version), nil
}

// bumpCommitted reports whether the cut-short run's commit landed after all.
func (v *Versioner) bumpCommitted(ctx context.Context, m applyManifest) (bool, error) {
	head, err := v.repo.Head(ctx)
	if err != nil || head == m.Head {
		return false, err
	}
	parent, err := v.repo.Run(ctx, "rev-parse", "--verify", "--quiet", head+"^")
	if err != nil {
		return false, nil
	}
	_, ok := v.bumpCommit(ctx, head, shipprod.Release{Version: m.Version, Tag: v.s.prefix + m.Version, Base: parent})
	return ok && parent == m.Head, nil
}

// filesToRestore lists the files that hold what the cut-short run wrote;
// a file changed since by anyone else is an error.
func (v *Versioner) filesToRestore(m applyManifest) ([]string, error) {
	var restore []string
	for _, f := range m.Files {
		data, err := os.ReadFile(filepath.Join(v.dir, filepath.FromSlash(f.Path)))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		switch sum(data) {
		case f.Old:
		case f.New:
			restore = append(restore, f.Path)
		default:
			return nil, fmt.Errorf("%s changed since a run cut short while it applied %s wrote it: compare it with HEAD (git diff -- %s), commit or discard the change, and run again", f.Path, m.Version, f.Path)
		}
	}
	return restore, nil
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
