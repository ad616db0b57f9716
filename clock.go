package shipprod

import (
	"context"
	"time"
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
func SystemClock() Clock { return systemClock{} }

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

func (systemClock) Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
