// Package lock lets one shipprod run at a time work on a repository. Two
// runs at once in one clone race each other (one ships, the other's "restore
// the files" writes the old version back over it), so a run holds the lock
// from its start to its end, the monitor window included.
//
// The lock is an advisory file lock (github.com/gofrs/flock: flock(2) on
// Unix, LockFileEx on Windows) on <git dir>/shipprod/lock. The operating
// system releases it when the process ends, however it ends, so a lock left
// by a dead process is simply free: the next run takes it over, and nothing
// has to guess whether a pid is still alive. Beside the lock, the holder
// writes who it is and what it is doing (lock.json), so that a second run
// can say who holds the lock instead of failing with a bare error.
package lock

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/gofrs/flock"

	"github.com/shipprod/shipprod"
	"github.com/shipprod/shipprod/internal/atomicfile"
	"github.com/shipprod/shipprod/internal/git"
)

// Holder says who holds the lock and what it is doing.
type Holder struct {
	PID  int    `json:"pid"`
	Host string `json:"host"`
	// Command is what the holder runs, e.g. "shipprod ship".
	Command string    `json:"command,omitempty"`
	Started time.Time `json:"started"`
	// Doing is the step the holder is at, e.g. "monitor: Monitoring production".
	Doing   string    `json:"doing,omitempty"`
	Updated time.Time `json:"updated"`
}

func (h Holder) String() string {
	s := fmt.Sprintf("pid %d on %s, started %s", h.PID, h.Host, h.Started.Format(time.RFC3339))
	if h.Command != "" {
		s = h.Command + " (" + s + ")"
	}
	if h.Doing != "" {
		s += ", now at " + h.Doing
	}
	return s
}

// HeldError means another run holds the lock.
type HeldError struct {
	Path string
	// Holder is what the holder wrote about itself; zero when it wrote
	// nothing yet.
	Holder Holder
}

func (e *HeldError) Error() string {
	who := "another shipprod run"
	if e.Holder.PID != 0 {
		who += ": " + e.Holder.String()
	}
	return fmt.Sprintf("the repository is locked by %s; wait for it to end (its lock is %s)", who, e.Path)
}

// Lock is a held lock.
type Lock struct {
	fl     *flock.Flock
	info   string
	mu     sync.Mutex
	holder Holder
	clock  shipprod.Clock
}

// InGitDir returns the lock path of the repository at dir:
// <git dir>/shipprod/lock.
func InGitDir(ctx context.Context, dir string) (string, error) {
	gitDir, err := git.Open(dir).Run(ctx, "rev-parse", "--absolute-git-dir")
	if err != nil {
		return "", fmt.Errorf("finding the git directory for the lock: %w", err)
	}
	return filepath.Join(gitDir, "shipprod", "lock"), nil
}

// Acquire takes the lock at path without waiting: when another run holds
// it, it returns a *HeldError saying who. h describes this run (PID, Host
// and Started default to this process, the host name and now).
func Acquire(path string, h Holder, clock shipprod.Clock) (*Lock, error) {
	if clock == nil {
		clock = shipprod.SystemClock()
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("lock: %w", err)
	}
	fl := flock.New(path)
	ok, err := fl.TryLock()
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	if !ok {
		held, _, _ := Inspect(path)
		return nil, &HeldError{Path: path, Holder: held}
	}
	l := &Lock{fl: fl, info: infoPath(path), holder: defaults(h, clock), clock: clock}
	if err := l.write(); err != nil {
		_ = fl.Unlock()
		return nil, err
	}
	return l, nil
}

func defaults(h Holder, clock shipprod.Clock) Holder {
	if h.PID == 0 {
		h.PID = os.Getpid()
	}
	if h.Host == "" {
		h.Host, _ = os.Hostname()
	}
	if h.Started.IsZero() {
		h.Started = clock.Now()
	}
	h.Updated = clock.Now()
	return h
}

func infoPath(path string) string { return path + ".json" }

// Doing records what the holder is doing now, for a run that finds the lock
// held. A failure to write it is not an error: the lock itself is held.
func (l *Lock) Doing(what string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.holder.Doing, l.holder.Updated = what, l.clock.Now()
	_ = l.writeLocked()
}

// Observer returns a shipprod.Observer that records each step the run
// starts as what the holder is doing.
func (l *Lock) Observer() shipprod.Observer {
	return shipprod.ObserverFunc(func(e shipprod.Event) {
		if e.Kind == shipprod.EventStarted {
			l.Doing(string(e.Step) + ": " + e.Title)
		}
	})
}

func (l *Lock) write() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.writeLocked()
}

func (l *Lock) writeLocked() error {
	data, err := json.MarshalIndent(l.holder, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(l.info, append(data, '\n'), 0o644)
}

// Release removes the holder's note and unlocks.
func (l *Lock) Release() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := os.Remove(l.info); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return errors.Join(err, l.fl.Unlock())
	}
	return l.fl.Unlock()
}

// Inspect says whether the lock at path is held and, if its holder wrote
// it, by whom. It does not take the lock.
func Inspect(path string) (Holder, bool, error) {
	fl := flock.New(path)
	ok, err := fl.TryRLock()
	if err != nil {
		return Holder{}, false, err
	}
	if ok {
		_ = fl.Unlock()
		return Holder{}, false, nil
	}
	var h Holder
	data, err := os.ReadFile(infoPath(path))
	if err == nil && len(data) < 1<<16 {
		_ = json.Unmarshal(data, &h)
	}
	return h, true, nil
}
