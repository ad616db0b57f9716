package gitpush

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/shipprod/shipprod"
	"github.com/shipprod/shipprod/internal/git"
	"github.com/shipprod/shipprod/internal/releasetag"
)

var (
	_ shipprod.ProductionReader = (*Deployer)(nil)
	_ shipprod.Preflighter      = (*Deployer)(nil)
)

// Production reads what production runs: the head of the production branch
// on the remote and, when a release tag points at that commit, the release
// (the tag naming the highest version, if several do). One `git ls-remote`
// asks for both. A branch that does not exist yet is a Deployment with no
// ID: nothing is in production.
func (d *Deployer) Production(ctx context.Context) (shipprod.Deployment, error) {
	dep := shipprod.Deployment{Provider: d.opts.Name, URL: d.cfg.URL, Environment: d.cfg.Branch}
	refs, err := d.repo.RemoteRefs(ctx, d.cfg.Remote, d.ref(), "refs/tags/*")
	if err != nil {
		return dep, fmt.Errorf("reading branch %s of %s: %w", d.cfg.Branch, git.MaskURL(d.cfg.Remote), err)
	}
	head := refs[d.ref()]
	if head == "" {
		return dep, nil
	}
	var tags []string
	for ref, sha := range refs {
		if name, ok := strings.CutPrefix(ref, "refs/tags/"); ok && sha == head {
			tags = append(tags, name)
		}
	}
	dep.ID, dep.Commit = head, head
	dep.Tag, dep.Version = releasetag.Pick(tags)
	dep.Details = map[string]string{"remote": git.MaskURL(d.cfg.Remote), "branch": d.cfg.Branch}
	return dep, nil
}

// Preflight checks, without changing anything, that the deploy's push will
// be accepted: the remote is a URL or a configured remote, and `git push
// --dry-run` of the production branch ref (with a lease when force is set)
// is not refused — which proves the remote is reachable, that the
// credentials may push, and that the update is a fast-forward. The commit
// tried is the release commit, else the commit the release is decided at
// (the version commit will be its child), else HEAD. A rule the remote
// applies only when it receives an update (GitHub's protected branches, a
// pre-receive hook) does not show in a dry run. With a CI follower that can
// check itself, its own pre-flight runs too.
//
// Without url this deployer reports no production URL, so health checks
// with relative URLs need health.base_url (the health checker's own
// pre-flight cannot know, before the deploy, what URL the deployer will
// report; its check then fails with an error saying so, without rolling
// back).
func (d *Deployer) Preflight(ctx context.Context, rel shipprod.Release) error {
	if err := d.repo.CheckRemote(ctx, d.cfg.Remote); err != nil {
		return fmt.Errorf("deploy.git-push.remote: %w", err)
	}
	src, err := d.preflightCommit(ctx, rel)
	if err != nil {
		return err
	}
	opt := git.PushOptions{DryRun: true}
	if d.cfg.Force {
		cur, exists, err := d.repo.RemoteRef(ctx, d.cfg.Remote, d.ref())
		if err != nil {
			return fmt.Errorf("deploy.git-push.remote: branch %s of %s cannot be read (is the remote reachable?): %w", d.cfg.Branch, git.MaskURL(d.cfg.Remote), err)
		}
		if exists {
			opt.ForceWithLease = []string{d.ref() + ":" + cur}
		}
	}
	err = pushError(d.repo.Push(ctx, d.cfg.Remote, []string{src + ":" + d.ref()}, opt))
	var rej *shipprod.PushRejectedError
	switch {
	case errors.As(err, &rej):
		return fmt.Errorf("deploy.git-push: a dry run of the push to branch %s of %s was refused: %w", d.cfg.Branch, git.MaskURL(d.cfg.Remote), d.explainRejection(err, "deploy"))
	case err != nil:
		return fmt.Errorf("deploy.git-push.remote: a dry run of the push to %s failed (does it exist, and may these credentials push to it?): %w", git.MaskURL(d.cfg.Remote), err)
	}
	if p, ok := d.opts.Follower.(shipprod.Preflighter); ok {
		if err := p.Preflight(ctx, rel); err != nil {
			return fmt.Errorf("deploy.follow_ci: %w", err)
		}
	}
	return nil
}

// preflightCommit is the commit the pre-flight's dry run pushes.
func (d *Deployer) preflightCommit(ctx context.Context, rel shipprod.Release) (string, error) {
	for _, rev := range []string{rel.Commit, rel.Base} {
		if rev == "" {
			continue
		}
		sha, ok, err := d.repo.ResolveCommit(ctx, rev)
		if err != nil {
			return "", err
		}
		if !ok {
			return "", fmt.Errorf("commit %s is not in the repository; fetch it first", rev)
		}
		return sha, nil
	}
	if rel.Tag != "" && git.CheckTagName(ctx, rel.Tag) == nil {
		if sha, ok, err := d.repo.ResolveCommit(ctx, "refs/tags/"+rel.Tag); err != nil {
			return "", err
		} else if ok {
			return sha, nil
		}
	}
	return d.repo.Head(ctx)
}
