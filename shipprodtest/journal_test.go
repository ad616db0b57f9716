package shipprodtest_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shipprod/shipprod"
	"github.com/shipprod/shipprod/shipprodtest"
)

func TestJournalKeepsACopyOfTheLastSave(t *testing.T) {
	ctx := context.Background()
	j := &shipprodtest.Journal{}
	got, err := j.Load(ctx)
	require.NoError(t, err)
	assert.Nil(t, got, "an empty journal has nothing to resume")

	res := &shipprod.Result{Outcome: shipprod.OutcomeFailed, Release: shipprod.Release{Version: "1.2.0"}}
	require.NoError(t, j.Save(ctx, res))
	res.Release.Version = "changed after the save"
	got, err = j.Load(ctx)
	require.NoError(t, err)
	assert.Equal(t, "1.2.0", got.Release.Version, "the journal shares nothing with the run")
	assert.Equal(t, shipprod.OutcomeFailed, got.Outcome)
}

func TestCancelOnAcceptedCancelsOnceTheDeployIsAccepted(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	j := &shipprodtest.Journal{OnSave: shipprodtest.CancelOnAccepted(cancel)}
	require.NoError(t, j.Save(ctx, &shipprod.Result{}))
	assert.NoError(t, ctx.Err(), "nothing accepted yet")
	require.NoError(t, j.Save(ctx, &shipprod.Result{Accepted: &shipprod.Deployment{ID: "dpl_1"}}))
	assert.ErrorIs(t, ctx.Err(), context.Canceled)
}
