// Package gitpush is the "git-push" deployer: it deploys a release by
// pushing the release commit to the production branch of a git remote
// (`git push origin <commit>:refs/heads/production`), for platforms that
// deploy whatever that branch points at (a CI workflow on push, a PaaS
// watching the branch, a Vercel project whose production branch it is).
//
// A push that is not a fast-forward is refused with a
// *shipprod.PushRejectedError unless the configuration says force, and even
// then the push carries a lease on the commit the branch was seen at, so a
// change made meanwhile is never overwritten. Rollback pushes the previous
// release's commit with `--force-with-lease=refs/heads/<branch>:<deployed
// commit>`: if someone moved production since the deploy, the rollback is
// refused rather than overwriting their change.
//
// Optionally the deployer follows the CI run the push triggers, through a
// RunFollower (the GitHub Actions deployer provides one), and fails the
// deploy when that run fails.
//
// Configuration (the "git-push" section of shipprod.yaml):
//
//	deploy:
//	  provider: git-push
//	  git-push:
//	    remote: origin          # default origin; a remote name or URL
//	    branch: production      # default production
//	    force: false            # overwrite a diverged branch (with a lease)
//	    url: https://www.example.com   # the production URL, for the report
package gitpush

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/shipprod/shipprod"
	"github.com/shipprod/shipprod/internal/cifollow"
	"github.com/shipprod/shipprod/internal/git"
	"github.com/shipprod/shipprod/provider"
)

// Name is the name the deployer is registered under.
const Name = "git-push"

func init() {
	provider.Register(Name, func(ctx context.Context, env provider.Env) (shipprod.Deployer, error) {
		var cfg Config
		if err := env.Decode(&cfg); err != nil {
			return nil, err
		}
		return New(ctx, cfg, Options{Dir: env.Dir, Name: env.Name, Clock: env.Clock, Logger: env.Logger})
	})
}

// Config is the deployer's configuration section. The zero value pushes to
// branch production of remote origin, fast-forward only.
type Config struct {
	// Remote is the git remote name or URL (default "origin").
	Remote string `yaml:"remote"`
	// Branch is the production branch (default "production").
	Branch string `yaml:"branch"`
	// Force allows replacing a production branch that has diverged from the
	// release (history rewritten, a hotfix pushed directly). The push still
	// carries a lease on the commit the branch was seen at.
	Force bool `yaml:"force"`
	// URL is the production URL the branch deploys to, for the report.
	URL string `yaml:"url"`
}

// FollowedRun is the CI run a push triggered, once it has completed.
type FollowedRun = cifollow.FollowedRun

// RunFollower follows the CI run that a push of sha to branch triggers until
// it completes. It returns an error when the run fails, is cancelled, never
// appears or outlives its deadline. githubactions.PushFollower is one.
//
// BeforePush is called right before the push, to note what tells the
// push's own run from older runs of the same commit; FollowRun waits for
// the run and follows it (pushed is false when the branch already pointed at
// the commit, a resumed deploy: then the run the earlier push started is the
// one to follow).
type RunFollower = cifollow.RunFollower

// PushMark is what a RunFollower noted right before a push.
type PushMark = cifollow.PushMark

// Options are the run-time things the deployer needs besides its Config.
type Options struct {
	// Dir is the repository the release commit is in ("" means the current
	// directory).
	Dir string
	// Name is the provider name put in Deployments (default Name).
	Name string
	// Clock stamps the deployments; nil means the system clock.
	Clock shipprod.Clock
	// Logger receives diagnostics; nil discards them.
	Logger *slog.Logger
	// Follower, when set, follows the CI run each push triggers.
	Follower RunFollower
	// GitEnv holds extra environment variables ("KEY=value") for git.
	GitEnv []string
}

// Deployer pushes releases to a production branch. It implements
// shipprod.Deployer, shipprod.Rollbacker and shipprod.ActionPlanner.
type Deployer struct {
	cfg   Config
	opts  Options
	repo  *git.Repo
	clock shipprod.Clock
	log   *slog.Logger
}

var (
	_ shipprod.Deployer      = (*Deployer)(nil)
	_ shipprod.Rollbacker    = (*Deployer)(nil)
	_ shipprod.ActionPlanner = (*Deployer)(nil)
)

// New returns a Deployer for cfg, after validating the remote and branch.
func New(ctx context.Context, cfg Config, opts Options) (*Deployer, error) {
	if cfg.Remote == "" {
		cfg.Remote = "origin"
	}
	if cfg.Branch == "" {
		cfg.Branch = "production"
	}
	if err := git.CheckRemoteName(cfg.Remote); err != nil {
		return nil, fmt.Errorf("remote: %w", err)
	}
	if err := git.CheckBranchName(ctx, cfg.Branch); err != nil {
		return nil, fmt.Errorf("branch: %w", err)
	}
	if opts.Name == "" {
		opts.Name = Name
	}
	d := &Deployer{cfg: cfg, opts: opts, repo: &git.Repo{Dir: opts.Dir, Env: opts.GitEnv}, clock: opts.Clock, log: opts.Logger}
	if d.clock == nil {
		d.clock = shipprod.SystemClock()
	}
	if d.log == nil {
		d.log = slog.New(slog.DiscardHandler)
	}
	return d, nil
}

// WithFollower returns a copy of d that follows the CI run each push
// triggers with f.
func (d *Deployer) WithFollower(f RunFollower) *Deployer {
	c := *d
	c.opts.Follower = f
	return &c
}

// String names the deployer in plans and messages.
func (d *Deployer) String() string {
	return fmt.Sprintf("%s to %s/%s", d.opts.Name, git.MaskURL(d.cfg.Remote), d.cfg.Branch)
}

func (d *Deployer) ref() string { return "refs/heads/" + d.cfg.Branch }

// PlanActions lists what Deploy does for rel. The descriptions name the
// release, not its commit, which Plan does not know yet.
func (d *Deployer) PlanActions(ctx context.Context, rel shipprod.Release) ([]shipprod.Action, error) {
	how := "fast-forward only"
	if d.cfg.Force {
		how = "replacing a diverged branch, with a lease"
	}
	acts := []shipprod.Action{{
		Kind:        shipprod.ActionPush,
		Target:      git.MaskURL(d.cfg.Remote) + " " + d.ref(),
		Description: fmt.Sprintf("push release %s to branch %s of %s (%s)", releaseName(rel), d.cfg.Branch, git.MaskURL(d.cfg.Remote), how),
	}}
	if d.opts.Follower != nil {
		acts = append(acts, shipprod.Action{
			Kind:        shipprod.ActionDeploy,
			Target:      git.MaskURL(d.cfg.Remote) + " " + d.ref(),
			Description: fmt.Sprintf("follow the CI run the push to %s triggers until it completes", d.cfg.Branch),
		})
	}
	return acts, nil
}

func releaseName(rel shipprod.Release) string {
	switch {
	case rel.Tag != "":
		return rel.Tag
	case rel.Version != "":
		return rel.Version
	}
	return "(unnamed)"
}

// Deploy pushes the release commit to the production branch and, with a
// follower, waits for the CI run it triggers. Deploying a release the branch
// already points at pushes nothing.
func (d *Deployer) Deploy(ctx context.Context, rel shipprod.Release) (shipprod.Deployment, error) {
	dep := shipprod.Deployment{Provider: d.opts.Name, URL: d.cfg.URL, Environment: d.cfg.Branch, StartedAt: d.clock.Now()}
	fail := func(err error) (shipprod.Deployment, error) {
		return dep, fmt.Errorf("deploying %s to branch %s of %s: %w", releaseName(rel), d.cfg.Branch, git.MaskURL(d.cfg.Remote), err)
	}
	if err := ctx.Err(); err != nil {
		return fail(err)
	}
	commit, err := d.releaseCommit(ctx, rel)
	if err != nil {
		return fail(err)
	}
	dep.ID, dep.Commit = commit, commit
	prev, exists, err := d.repo.RemoteRef(ctx, d.cfg.Remote, d.ref())
	if err != nil {
		return fail(fmt.Errorf("reading the production branch: %w", err))
	}
	dep.Details = map[string]string{"remote": git.MaskURL(d.cfg.Remote), "branch": d.cfg.Branch}
	pushed := prev != commit
	mark, err := d.beforePush(ctx, commit, pushed)
	if err != nil {
		return fail(err)
	}
	switch {
	case !pushed:
		// A re-run: the branch already serves this release.
		d.log.Info("production branch already at the release commit; nothing to push", "branch", d.cfg.Branch, "commit", commit)
		dep.Details["pushed"] = "false (already at the release commit)"
		if rel.PreviousCommit != "" && rel.PreviousCommit != commit {
			dep.PreviousID = rel.PreviousCommit
		}
	default:
		dep.PreviousID = prev
		var opt git.PushOptions
		if d.cfg.Force && exists {
			opt.ForceWithLease = []string{d.ref() + ":" + prev}
		}
		d.log.Info("pushing release to production branch", "branch", d.cfg.Branch, "commit", commit, "previous", prev)
		if err := pushError(d.repo.Push(ctx, d.cfg.Remote, []string{commit + ":" + d.ref()}, opt)); err != nil {
			return fail(d.explainRejection(err, "deploy"))
		}
		dep.Details["pushed"] = "true"
	}
	if dep.PreviousID != "" {
		dep.RollbackSteps = []string{d.rollbackCommand(dep.PreviousID, commit)}
	}
	if err := d.follow(ctx, &dep, mark, pushed); err != nil {
		dep.FinishedAt = d.clock.Now()
		return dep, &shipprod.ProductionChangedError{Deployment: dep, Err: &FollowError{Deployment: dep, Err: err}}
	}
	dep.FinishedAt = d.clock.Now()
	return dep, nil
}

// Rollback returns the production branch to the release to (or, when to has
// no commit, to failed.PreviousID), with a lease on the commit failed
// deployed: if the branch moved since, the rollback is refused with a
// *shipprod.PushRejectedError. A branch already at the target is left alone.
func (d *Deployer) Rollback(ctx context.Context, failed shipprod.Deployment, to shipprod.Release) (shipprod.Deployment, error) {
	dep := shipprod.Deployment{Provider: d.opts.Name, URL: d.cfg.URL, Environment: d.cfg.Branch, StartedAt: d.clock.Now()}
	target := to.Commit
	if target == "" {
		target = failed.PreviousID
	}
	fail := func(err error) (shipprod.Deployment, error) {
		return dep, fmt.Errorf("rolling branch %s of %s back to %s: %w", d.cfg.Branch, git.MaskURL(d.cfg.Remote), cmp.Or(to.Tag, git.ShortSHA(target)), err)
	}
	if err := ctx.Err(); err != nil {
		return fail(err)
	}
	if target == "" {
		return fail(errors.New("no previous release commit is known (a first deployment cannot be rolled back)"))
	}
	expected := cmp.Or(failed.Commit, failed.ID)
	if expected == "" {
		return fail(errors.New("the failed deployment names no commit to lease against"))
	}
	resolved, ok, err := d.repo.ResolveCommit(ctx, target)
	if err != nil {
		return fail(err)
	}
	if !ok {
		return fail(fmt.Errorf("commit %s is not in the repository; fetch it first", target))
	}
	target = resolved
	dep.ID, dep.Commit, dep.PreviousID = target, target, expected
	dep.Details = map[string]string{"remote": git.MaskURL(d.cfg.Remote), "branch": d.cfg.Branch}
	current, _, err := d.repo.RemoteRef(ctx, d.cfg.Remote, d.ref())
	if err != nil {
		return fail(fmt.Errorf("reading the production branch: %w", err))
	}
	pushed := current != target
	mark, err := d.beforePush(ctx, target, pushed)
	if err != nil {
		return fail(err)
	}
	if !pushed {
		d.log.Info("production branch already at the rollback target; nothing to push", "branch", d.cfg.Branch, "commit", target)
		dep.Details["pushed"] = "false (already at the rollback target)"
	} else {
		d.log.Info("rolling back production branch", "branch", d.cfg.Branch, "to", target, "lease", expected)
		err := pushError(d.repo.Push(ctx, d.cfg.Remote, []string{target + ":" + d.ref()}, git.PushOptions{ForceWithLease: []string{d.ref() + ":" + expected}}))
		if err != nil {
			var rej *shipprod.PushRejectedError
			if errors.As(err, &rej) && current != expected {
				rej.Hint = fmt.Sprintf("the branch moved since the deploy: it is at %s, not %s; someone changed production meanwhile, so it was not overwritten — inspect it and roll back by hand if still needed", git.ShortSHA(current), git.ShortSHA(expected))
			}
			return fail(d.explainRejection(err, "rollback"))
		}
		dep.Details["pushed"] = "true"
	}
	dep.RollbackSteps = []string{d.rollbackCommand(expected, target)}
	if err := d.follow(ctx, &dep, mark, pushed); err != nil {
		dep.FinishedAt = d.clock.Now()
		return dep, &shipprod.ProductionChangedError{Deployment: dep, Err: &FollowError{Deployment: dep, Err: err}}
	}
	dep.FinishedAt = d.clock.Now()
	return dep, nil
}

// releaseCommit returns the full SHA of the release commit: rel.Commit, or
// the commit rel.Tag points at.
func (d *Deployer) releaseCommit(ctx context.Context, rel shipprod.Release) (string, error) {
	rev := rel.Commit
	if rev == "" {
		if rel.Tag == "" {
			return "", errors.New("the release has neither a commit nor a tag to push")
		}
		if err := git.CheckTagName(ctx, rel.Tag); err != nil {
			return "", err
		}
		rev = "refs/tags/" + rel.Tag
	}
	sha, ok, err := d.repo.ResolveCommit(ctx, rev)
	if err != nil {
		return "", err
	}
	if !ok {
		return "", fmt.Errorf("release commit %s is not in the repository; fetch it first", rev)
	}
	return sha, nil
}

// pushError turns the push refusal internal/git reports into the root
// package's *shipprod.PushRejectedError; other errors pass unchanged.
func pushError(err error) error {
	var rej *git.PushRejectedError
	if errors.As(err, &rej) {
		return &shipprod.PushRejectedError{Remote: rej.Remote, Refs: rej.Refs, Reason: rej.Reason}
	}
	return err
}

// explainRejection adds a recovery hint to a refused push.
func (d *Deployer) explainRejection(err error, op string) error {
	var rej *shipprod.PushRejectedError
	if !errors.As(err, &rej) || rej.Hint != "" {
		return err
	}
	switch {
	case strings.Contains(rej.Reason, "non-fast-forward") || strings.Contains(rej.Reason, "fetch first"):
		rej.Hint = fmt.Sprintf("not a fast-forward: branch %s has commits that are not in the release (a direct push or a rewritten history?); inspect them with `git fetch %s %s && git log --oneline <release>..FETCH_HEAD`, then merge them into the release or set force: true in the git-push section to replace the branch", d.cfg.Branch, git.MaskURL(d.cfg.Remote), d.cfg.Branch)
	case strings.Contains(rej.Reason, "stale info"):
		rej.Hint = fmt.Sprintf("branch %s changed while the %s was pushing, so it was not overwritten; run again to see the new state", d.cfg.Branch, op)
	default:
		rej.Hint = fmt.Sprintf("the remote refused the %s (a protected branch or a hook?); check the branch's protection rules and the remote's message", op)
	}
	return err
}

// rollbackCommand is the exact command that puts the branch back to prev,
// provided it still points at current.
func (d *Deployer) rollbackCommand(prev, current string) string {
	return fmt.Sprintf("git push --force-with-lease=%s:%s %s %s:%s", d.ref(), current, git.MaskURL(d.cfg.Remote), prev, d.ref())
}

// beforePush lets the follower, when there is one, note the runs of sha
// that exist before the push (when there will be one).
func (d *Deployer) beforePush(ctx context.Context, sha string, push bool) (PushMark, error) {
	if d.opts.Follower == nil || !push {
		return PushMark{Branch: d.cfg.Branch, SHA: sha}, nil
	}
	mark, err := d.opts.Follower.BeforePush(ctx, d.cfg.Branch, sha)
	if err != nil {
		return mark, fmt.Errorf("preparing to follow the CI run of the push: %w", err)
	}
	return mark, nil
}

// follow waits for the CI run the push triggered, when a follower is set.
func (d *Deployer) follow(ctx context.Context, dep *shipprod.Deployment, mark PushMark, pushed bool) error {
	if d.opts.Follower == nil {
		return nil
	}
	run, err := d.opts.Follower.FollowRun(ctx, mark, pushed)
	if run.ID != "" {
		dep.Details["ci_run_id"] = run.ID
	}
	if run.URL != "" {
		dep.Details["ci_run_url"] = run.URL
	}
	if run.Conclusion != "" {
		dep.Details["ci_conclusion"] = run.Conclusion
	}
	return err
}

// FollowError means the push landed but the CI run it triggered failed (or
// could not be followed). Deployment says what was pushed, including the
// commands to roll it back.
type FollowError struct {
	Deployment shipprod.Deployment
	Err        error
}

func (e *FollowError) Error() string {
	msg := fmt.Sprintf("branch %s now points at %s, but the CI run it triggered did not succeed: %v", e.Deployment.Environment, git.ShortSHA(e.Deployment.Commit), e.Err)
	if len(e.Deployment.RollbackSteps) > 0 {
		msg += "; to put the branch back: " + strings.Join(e.Deployment.RollbackSteps, " && ")
	}
	return msg
}

func (e *FollowError) Unwrap() error { return e.Err }

// ReportsURL says whether deployments carry the production URL
// (shipprod.URLReporter): only with deploy.git-push.url.
func (d *Deployer) ReportsURL() bool { return d.cfg.URL != "" }
