package atomicfile_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shipprod/shipprod/internal/atomicfile"
)

func TestWriteFileKeepsMode(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "run.sh")
	require.NoError(t, os.WriteFile(p, []byte("old"), 0o750))
	require.NoError(t, atomicfile.WriteFile(p, []byte("new"), 0o644))
	got, err := os.ReadFile(p)
	require.NoError(t, err)
	assert.Equal(t, "new", string(got))
	info, err := os.Stat(p)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o750), info.Mode().Perm())

	fresh := filepath.Join(dir, "fresh")
	require.NoError(t, atomicfile.WriteFile(fresh, []byte("x"), 0o600))
	info, err = os.Stat(fresh)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), info.Mode().Perm())
	assertNoTemps(t, dir)
}

func TestBatchAllOrNothing(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "package.json")
	b := filepath.Join(dir, "VERSION")
	require.NoError(t, os.WriteFile(a, []byte(`{"version":"1.0.0"}`), 0o644))
	// A directory where the third file should go makes its rename fail after
	// the first two files were replaced.
	blocker := filepath.Join(dir, "CHANGELOG.md")
	require.NoError(t, os.MkdirAll(filepath.Join(blocker, "sub"), 0o755))

	var batch atomicfile.Batch
	batch.Add(a, []byte(`{"version":"1.1.0"}`), 0o644)
	batch.Add(b, []byte("1.1.0\n"), 0o644)
	batch.Add(blocker, []byte("## [1.1.0]\n"), 0o644)
	assert.Equal(t, []string{a, b, blocker}, batch.Paths())
	err := batch.Commit()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "CHANGELOG.md")

	got, err := os.ReadFile(a)
	require.NoError(t, err)
	assert.Equal(t, `{"version":"1.0.0"}`, string(got), "the first file got its old content back")
	_, err = os.Stat(b)
	assert.True(t, os.IsNotExist(err), "a file that did not exist before is removed again")
	assertNoTemps(t, dir)
}

func TestBatchFailsBeforeTouchingAnything(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "a")
	require.NoError(t, os.WriteFile(a, []byte("old"), 0o644))
	var batch atomicfile.Batch
	batch.Add(a, []byte("new"), 0o644)
	batch.Add(filepath.Join(dir, "no", "such", "dir"), []byte("x"), 0o644)
	require.Error(t, batch.Commit())
	got, _ := os.ReadFile(a)
	assert.Equal(t, "old", string(got))
	assertNoTemps(t, dir)
}

func assertNoTemps(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	for _, e := range entries {
		assert.False(t, strings.Contains(e.Name(), ".tmp-"), "temporary file left behind: %s", e.Name())
	}
}
