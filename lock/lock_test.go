package lock_test

import (
	"bufio"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shipprod/shipprod"
	"github.com/shipprod/shipprod/lock"
	"github.com/shipprod/shipprod/shipprodtest"
)

func TestSecondRunIsToldWhoHoldsTheLock(t *testing.T) {
	path := filepath.Join(t.TempDir(), "shipprod", "lock")
	clock := shipprodtest.NewClock(time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC))
	first, err := lock.Acquire(path, lock.Holder{Command: "shipprod ship", Host: "ci-7"}, clock)
	require.NoError(t, err)
	first.Observer().Observe(shipprod.Event{Step: shipprod.StepMonitor, Kind: shipprod.EventStarted, Title: "Monitoring production"})

	_, err = lock.Acquire(path, lock.Holder{Command: "shipprod ship"}, clock)
	var held *lock.HeldError
	require.ErrorAs(t, err, &held)
	assert.Equal(t, os.Getpid(), held.Holder.PID)
	assert.Equal(t, "the repository is locked by another shipprod run: shipprod ship (pid "+itoa(os.Getpid())+
		" on ci-7, started 2026-12-04T10:00:00Z), now at monitor: Monitoring production; wait for it to end (its lock is "+path+")", err.Error())

	h, isHeld, err := lock.Inspect(path)
	require.NoError(t, err)
	assert.True(t, isHeld)
	assert.Equal(t, "ci-7", h.Host)

	require.NoError(t, first.Release())
	_, isHeld, err = lock.Inspect(path)
	require.NoError(t, err)
	assert.False(t, isHeld)
	again, err := lock.Acquire(path, lock.Holder{}, clock)
	require.NoError(t, err, "a released lock is free")
	require.NoError(t, again.Release())
}

func itoa(n int) string { return strconv.Itoa(n) }

// A process killed while it holds the lock leaves it free: the operating
// system drops a file lock with its holder.
func TestLockOfAKilledProcessIsTakenOver(t *testing.T) {
	if os.Getenv("SHIPPROD_LOCK_HOLDER") != "" {
		holdUntilKilled(os.Getenv("SHIPPROD_LOCK_HOLDER"))
		return
	}
	path := filepath.Join(t.TempDir(), "lock")
	cmd := exec.Command(os.Args[0], "-test.run=^TestLockOfAKilledProcessIsTakenOver$")
	cmd.Env = append(os.Environ(), "SHIPPROD_LOCK_HOLDER="+path)
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	line, err := bufio.NewReader(out).ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, "locked\n", line)

	_, err = lock.Acquire(path, lock.Holder{}, nil)
	var held *lock.HeldError
	require.ErrorAs(t, err, &held, "the child holds it")
	assert.Equal(t, cmd.Process.Pid, held.Holder.PID)

	require.NoError(t, cmd.Process.Kill())
	_ = cmd.Wait()
	l, err := lock.Acquire(path, lock.Holder{}, nil)
	require.NoError(t, err, "the killed holder's lock is taken over")
	require.NoError(t, l.Release())
}

func holdUntilKilled(path string) {
	if _, err := lock.Acquire(path, lock.Holder{Command: "holder"}, nil); err != nil {
		os.Stdout.WriteString("error: " + err.Error() + "\n")
		os.Exit(1)
	}
	os.Stdout.WriteString("locked\n")
	select {} // until killed
}

func TestHeldErrorWithoutANote(t *testing.T) {
	err := &lock.HeldError{Path: "/r/.git/shipprod/lock"}
	assert.Equal(t, "the repository is locked by another shipprod run; wait for it to end (its lock is /r/.git/shipprod/lock)", err.Error())
	assert.False(t, errors.Is(err, os.ErrNotExist))
}
