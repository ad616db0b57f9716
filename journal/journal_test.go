package journal_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shipprod/shipprod"
	"github.com/shipprod/shipprod/internal/gittest"
	"github.com/shipprod/shipprod/journal"
)

func TestFileRoundTrip(t *testing.T) {
	r := gittest.New(t)
	j, err := journal.InGitDir(context.Background(), r.Dir)
	require.NoError(t, err)
	assert.Equal(t, filepath.Join(r.Dir, ".git", "shipprod", "journal.json"), j.Path)

	got, err := j.Load(context.Background())
	require.NoError(t, err)
	assert.Nil(t, got, "no journal yet")

	res := &shipprod.Result{
		Outcome:   shipprod.OutcomeFailed,
		StartedAt: time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC),
		Release:   shipprod.Release{Version: "1.3.0", Tag: "v1.3.0", Commit: "abc"},
		Steps:     []shipprod.StepRecord{{Step: shipprod.StepVersion, Status: shipprod.StepDone, Duration: time.Second}},
		Error:     "deploy: refused",
	}
	require.NoError(t, j.Save(context.Background(), res))
	got, err = j.Load(context.Background())
	require.NoError(t, err)
	assert.Equal(t, res, got)
	assert.Empty(t, r.Git("status", "--porcelain", "--untracked-files=all"), "the journal is not in the working tree")
}

func TestCorruptJournalSaysWhatToDo(t *testing.T) {
	path := filepath.Join(t.TempDir(), "journal.json")
	require.NoError(t, os.WriteFile(path, []byte("{not json"), 0o644))
	_, err := journal.File{Path: path}.Load(context.Background())
	require.Error(t, err)
	assert.Contains(t, err.Error(), path)
	assert.Contains(t, err.Error(), "delete it to start over")
}

func TestOversizedJournalIsRefusedUnread(t *testing.T) {
	path := filepath.Join(t.TempDir(), "journal.json")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(journal.MaxSize + 1); err != nil {
		t.Fatal(err)
	}
	f.Close()
	_, err = journal.File{Path: path}.Load(context.Background())
	if err == nil || !strings.Contains(err.Error(), "more than a journal can be") || !strings.Contains(err.Error(), "delete it to start over") {
		t.Fatalf("err %v", err)
	}
}
