// Package cifollow holds the small contract between a deployer that pushes
// (provider/gitpush) and a follower of the CI run the push triggers
// (provider/githubactions' PushFollower), so that neither provider imports
// the other. provider/gitpush re-exports these types under its own names
// (gitpush.RunFollower, gitpush.PushMark, gitpush.FollowedRun), which are the
// public API; this package exists only to keep the providers apart.
package cifollow

import (
	"context"
	"time"
)

// FollowedRun is the CI run a push triggered, once it has completed.
type FollowedRun struct {
	ID         string
	URL        string
	Conclusion string
}

// RunFollower follows the CI run that a push of sha to branch triggers until
// it completes. It returns an error when the run fails, is cancelled, never
// appears or outlives its deadline.
type RunFollower interface {
	// BeforePush is called right before the push. It notes what it needs
	// to tell the push's own run from older runs of the same commit (a
	// rollback pushes a commit that was deployed before, and the run of that
	// earlier deploy says nothing about the rollback).
	BeforePush(ctx context.Context, branch, sha string) (PushMark, error)
	// FollowRun waits for the run and follows it. pushed is false when the
	// branch already pointed at the commit (a resumed deploy): then the run
	// the earlier push started is the one to follow.
	FollowRun(ctx context.Context, mark PushMark, pushed bool) (FollowedRun, error)
}

// PushMark is what a RunFollower noted right before a push.
type PushMark struct {
	Branch, SHA string
	// At is when the push was about to happen.
	At time.Time
	// Existing are the ids of the runs of SHA that existed before it.
	Existing []string
}
