package shipprod

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"time"
)

// Journal records a run's progress, so that a run that failed or was
// interrupted after it had made a release resumes where it stopped instead
// of starting over (and finding "nothing to release" because the release's
// tag already exists). The Pipeline saves the Result from the start of the
// version step on (a run killed while it applies its release is seen as
// such), after every step and while the monitor watches, and loads it at
// the start of the next run. See the journal package for a file-backed Journal.
type Journal interface {
	// Load returns the last saved Result, or nil when there is none.
	Load(ctx context.Context) (*Result, error)
	Save(ctx context.Context, res *Result) error
}

// A resuming run reuses the outputs of the steps the journaled run finished
// among version, tag, baseline, deploy and rollback (see stepSpec.resumed);
// the checks, the reports and the monitor always run again.

// Resumable reports whether the next run resumes this one: it made its
// release (or was given one) and then failed or stopped before its end. The
// next run resumes it unless the repository moved on since (a new commit
// means a new release).
func (r *Result) Resumable() bool { return resumable(r) }

// MadeChanges reports whether the run changed anything outside itself: it
// applied its version, tagged or deployed (or resumed a run that did).
func (r *Result) MadeChanges() bool {
	return doneIn(r, StepVersion) || doneIn(r, StepTag) || doneIn(r, StepDeploy)
}

// resumable reports whether prev is a run to resume: it made a release and
// then failed or stopped before its end.
func resumable(prev *Result) bool {
	if prev == nil || prev.Release.Version == "" {
		return false
	}
	if prev.Outcome != OutcomeFailed && prev.Outcome != OutcomeInterrupted && prev.Outcome != "" {
		return false
	}
	// Without a Versioner the release was given, not made: the version step
	// is skipped, and the run is resumable all the same.
	s, ok := prev.Step(StepVersion)
	return ok && (s.Status == StepDone || s.Resumed || s.Reason == reasonGivenRelease)
}

// doneIn reports whether step finished in prev.
func doneIn(prev *Result, step StepName) bool {
	if prev == nil {
		return false
	}
	s, ok := prev.Step(step)
	return ok && (s.Status == StepDone || s.Resumed)
}

// loadJournal reads the last journaled run, if any.
func (p *Pipeline) loadJournal(ctx context.Context) (*Result, error) {
	if p.Journal == nil {
		return nil, nil
	}
	last, err := p.Journal.Load(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading the journal: %w", err)
	}
	return last, nil
}

// resumePoint decides whether this run resumes the journaled run prev.
// decided and decideErr are the Versioner's decision for this run (or the
// Pipeline's seed release without a Versioner): the journaled release is
// resumed only if the repository still points at it — nothing to release
// since its version, or the same version decided again. A new commit since
// means a new release, and the journal is left behind.
func (p *Pipeline) resumePoint(prev *Result, decided Release, decideErr error) (*Result, string) {
	if !resumable(prev) {
		return nil, ""
	}
	rel := prev.Release
	var fresh bool
	switch {
	case p.Versioner == nil:
		fresh = p.Release.Version == "" || p.Release.Version == rel.Version
	case errors.Is(decideErr, ErrNothingToRelease):
		fresh = decided.PreviousVersion == rel.Version && (decided.PreviousCommit == "" || rel.Commit == "" || decided.PreviousCommit == rel.Commit)
	case decideErr == nil:
		// The same version decided again, on the journaled release commit
		// itself: after a rejected push and a `git pull --rebase`, HEAD is
		// another commit, and the journaled one is never pushed again.
		fresh = decided.Version == rel.Version && (rel.Commit == "" || decided.Base == "" || decided.Base == rel.Commit)
	default:
		return nil, "" // the version step fails with decideErr itself
	}
	if !fresh {
		return nil, fmt.Sprintf("not resuming the run of %s: the repository has moved on from %s (its release commit %s is no longer HEAD)",
			prev.StartedAt.Format(time.RFC3339), cmp.Or(rel.Tag, rel.Version), shortSHA(rel.Commit))
	}
	return prev, fmt.Sprintf("resuming the run of %s, which stopped at: %s", prev.StartedAt.Format(time.RFC3339), cmp.Or(prev.Error, "an interruption"))
}
