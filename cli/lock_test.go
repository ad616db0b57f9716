package cli

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shipprod/shipprod"
	"github.com/shipprod/shipprod/lock"
)

// A second ship while one runs exits 1, says who holds the repository, and
// changes nothing.
func TestSecondShipIsToldWhoHoldsTheLock(t *testing.T) {
	p := newProject(t)
	path, err := lock.InGitDir(context.Background(), p.work)
	require.NoError(t, err)
	first, err := lock.Acquire(path, lock.Holder{Command: "shipprod ship", Host: "ci-runner-7"}, nil)
	require.NoError(t, err)
	first.Observer().Observe(shipprod.Event{Step: shipprod.StepMonitor, Kind: shipprod.EventStarted, Title: "Monitoring production"})

	before := p.snapshot()
	code, _, errOut := p.run("ship", "--yes")
	assert.Equal(t, ExitFailed, code, errOut)
	assert.Contains(t, errOut, "the repository is locked by another shipprod run: shipprod ship (pid ")
	assert.Contains(t, errOut, "on ci-runner-7")
	assert.Contains(t, errOut, "now at monitor: Monitoring production")
	assert.Equal(t, before, p.snapshot(), "nothing changed")

	require.NoError(t, first.Release())
	code, out, errOut := p.run("ship", "--yes")
	assert.Equal(t, ExitOK, code, out+errOut)
}
