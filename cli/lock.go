package cli

import (
	"context"
	"errors"
	"fmt"

	"github.com/shipprod/shipprod/lock"
)

// lockRepository takes the repository's lock for a command that changes
// it. When another run holds it, the error says who; that is a failure of
// this run (exit 1), not a usage error.
func lockRepository(ctx context.Context, dir, command string) (*lock.Lock, error) {
	path, err := lock.InGitDir(ctx, dir)
	if err != nil {
		if ctx.Err() != nil {
			return nil, err
		}
		return nil, &usageError{fmt.Errorf("%s is not a git repository (or git cannot read it): %w", dir, err)}
	}
	l, err := lock.Acquire(path, lock.Holder{Command: command}, nil)
	if held, ok := errors.AsType[*lock.HeldError](err); ok {
		return nil, held
	}
	return l, err
}
