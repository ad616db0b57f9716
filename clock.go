package shipprod

import (
	"context"
	"time"

	"github.com/shipprod/shipprod/internal/clock"
)

// Clock is the time source of everything that waits: polling, backoff,
// health-check periods and the monitor window. Tests replace it (see
// shipprodtest.Clock) so that a 30-minute window runs in milliseconds.
type Clock interface {
	Now() time.Time
	// Sleep waits for d, or until ctx ends, whichever comes first; in the
	// latter case it returns ctx.Err().
	Sleep(ctx context.Context, d time.Duration) error
}

// SystemClock returns the Clock of the real world.
func SystemClock() Clock { return clock.System() }
