// Package clock is the time source of shipprod's plumbing: the method set
// of shipprod.Clock, declared here so that nothing under internal/ imports
// the root package. A shipprod.Clock (shipprodtest.Clock in tests) is a
// Clock as it is.
package clock

import (
	"context"
	"time"
)

// Clock is what everything that waits reads the time from.
type Clock interface {
	Now() time.Time
	// Sleep waits for d, or until ctx ends, whichever comes first; in the
	// latter case it returns ctx.Err().
	Sleep(ctx context.Context, d time.Duration) error
}

// System returns the clock of the real world.
func System() Clock { return system{} }

// Or returns c, or the system clock when c is nil.
func Or(c Clock) Clock {
	if c == nil {
		return System()
	}
	return c
}

type system struct{}

func (system) Now() time.Time { return time.Now() }

func (system) Sleep(ctx context.Context, d time.Duration) error {
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
