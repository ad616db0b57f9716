package shipprod

import (
	"context"
	"slices"
)

// The optional capabilities of a Deployer are declared here, in one place.
// The Pipeline finds them with DeployerAs, which follows wrappers (see
// DeployerWrapper) the way errors.As follows wrapped errors.

// Rollbacker is implemented by Deployers that can return production to an
// earlier release. failed is the deployment to undo; to is the release to
// restore (Release.Previous of the one shipped).
type Rollbacker interface {
	Rollback(ctx context.Context, failed Deployment, to Release) (Deployment, error)
}

// ProductionReader is implemented by Deployers that can tell what production
// runs now: Vercel's current production deployment, the head of the
// production branch, the release the workflow last deployed. The Pipeline
// asks right before the deploy and journals the answer
// (Result.PreviousProduction) before anything changes: it is the target of
// the automatic rollback, of Pipeline.Rollback and of the report's manual
// commands, so that all of them name what production really ran — not the
// previous tag, which may itself have been rolled back.
type ProductionReader interface {
	Production(ctx context.Context) (Deployment, error)
}

// URLReporter is implemented by Deployers that can tell, before deploying,
// whether the Deployment they return carries the URL production serves
// (git-push only with deploy.git-push.url; Vercel always, its production
// alias). The pre-flight uses it to refuse health checks with relative
// paths that nothing would resolve, before the release is made.
type URLReporter interface {
	ReportsURL() bool
}

// CandidateFinder is implemented by Deployers that promote an existing build
// and can say, before deploying, which one (Vercel's promote mode). The
// pre-flight uses it to refuse promoting a build that an earlier run rolled
// back as unhealthy (see Pipeline.AllowRolledBack), and to fail before any
// change when no build can be found.
type CandidateFinder interface {
	Candidate(ctx context.Context, rel Release) (Deployment, error)
}

// Follower is implemented by Deployers that can pick up a deployment the
// platform already accepted and wait until it is live (or failed), instead
// of starting another: a deploy whose run was interrupted after it reported
// the accepted deployment (ReportAccepted) is resumed with Follow, never
// started twice.
type Follower interface {
	Follow(ctx context.Context, accepted Deployment, rel Release) (Deployment, error)
}

// ReportAccepted tells the Pipeline, from inside Deploy, that the platform
// accepted dep (a build queued, a workflow run created) before the deploy
// waits for it to go live. The Pipeline journals it at once, so that a run
// interrupted while it waits resumes by following dep (see Follower)
// rather than deploying again. Outside a Pipeline run it does nothing.
func ReportAccepted(ctx context.Context, dep Deployment) {
	if f, ok := ctx.Value(acceptedKey{}).(func(Deployment)); ok {
		f(dep)
	}
}

type acceptedKey struct{}

// ApplyRecoverer is implemented by Versioners that can clean up after an
// ApplyVersion of rel that was cut short (the process killed while it
// wrote the version files or committed them): they restore the files they
// write to what HEAD holds, when what the files hold is their own work and
// nothing else, so that the next decision is not taken on half-written
// files. The Pipeline calls it before deciding when the journal says the
// version step was running when the last run ended. note says what was
// done, for the run's warnings.
type ApplyRecoverer interface {
	RecoverApply(ctx context.Context, rel Release) (note string, err error)
}

// AfterRollbacker is implemented by step implementations that undo their
// own part of a release once production was rolled back: the Tagger
// deleting the failed release's tag (tag.delete_on_rollback), say. The
// Pipeline calls it on its Tagger after the Deployer restored production
// (Pipeline.Rollback, and so the automatic rollback); failed is the release
// that was rolled back, as its Deployment names it. The note, when not
// empty, goes into RollbackReport.Notes; an error is a warning, since
// production is restored either way.
type AfterRollbacker interface {
	AfterRollback(ctx context.Context, failed Release, restored Deployment) (note string, err error)
}

// DeployerWrapper is implemented by a Deployer that wraps another to add
// behaviour around it (recording deployments somewhere, say). Capability
// lookups follow Unwrap, so a wrapper needs one type whatever the wrapped
// deployer can do.
//
// A wrapper may implement a capability itself, to intercept it; it must
// then call the wrapped deployer's through DeployerAs. A wrapper never adds
// a capability: DeployerAs finds a wrapper's method only when the deployer
// at the bottom of the chain has the capability too.
type DeployerWrapper interface {
	Deployer
	Unwrap() Deployer
}

// DeployerAs finds capability T in d: the outermost deployer of the chain of
// wrappers that implements T, provided the innermost (the deployer that
// does the work) implements it too.
func DeployerAs[T any](d Deployer) (T, bool) {
	var (
		found T
		ok    bool
	)
	for d != nil {
		if c, is := d.(T); is && !ok {
			found, ok = c, true
		}
		w, isWrapper := d.(DeployerWrapper)
		if !isWrapper {
			_, bottomHas := d.(T)
			if !bottomHas {
				var zero T
				return zero, false
			}
			return found, ok
		}
		d = w.Unwrap()
	}
	var zero T
	return zero, false
}

// CanRollback reports whether d can roll a deployment back.
func CanRollback(d Deployer) bool {
	_, ok := DeployerAs[Rollbacker](d)
	return ok
}

// Capabilities lists the optional capabilities d has, for messages and
// documentation: "rollback" (Rollbacker), "production" (ProductionReader),
// "candidate" (CandidateFinder), "follow" (Follower), "preflight"
// (Preflighter) and "plan" (ActionPlanner).
func Capabilities(d Deployer) []string {
	var caps []string
	if CanRollback(d) {
		caps = append(caps, "rollback")
	}
	if _, ok := DeployerAs[ProductionReader](d); ok {
		caps = append(caps, "production")
	}
	if _, ok := DeployerAs[CandidateFinder](d); ok {
		caps = append(caps, "candidate")
	}
	if _, ok := DeployerAs[Follower](d); ok {
		caps = append(caps, "follow")
	}
	// A wrapper checks and lists its own part too, so the outermost
	// deployer's own methods count here (as the Pipeline calls them).
	if _, ok := d.(Preflighter); ok {
		caps = append(caps, "preflight")
	}
	if _, ok := d.(ActionPlanner); ok {
		caps = append(caps, "plan")
	}
	return slices.Clip(caps)
}
