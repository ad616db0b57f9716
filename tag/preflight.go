package tag

import (
	"context"
	"errors"
	"fmt"

	"github.com/shipprod/shipprod"
	"github.com/shipprod/shipprod/internal/git"
)

var _ shipprod.Preflighter = (*Tagger)(nil)

// Preflight checks, before anything changes, that the tag step will be able
// to do its part for rel:
//
//   - the release tag does not exist already at another commit, locally or
//     on the remote (another clone released this version first; with a
//     version still to be committed, any existing tag is one);
//   - the remote accepts the push: `git push --dry-run --atomic` of exactly
//     the refs Tag will push (the release branch and the tag), which proves
//     the remote exists and is reachable, that the credentials may push, and
//     that the branch update is a fast-forward. A rule the remote applies
//     only when it receives an update (a protected branch on GitHub, a
//     pre-receive hook) does not show in a dry run;
//   - with GitHub: the token is valid, the repository exists and the token
//     may write to it (see the GET /repos/{owner}/{repo} check).
//
// It changes nothing: no tag, no push, no API call but reads.
func (t *Tagger) Preflight(ctx context.Context, rel shipprod.Release) error {
	r, err := t.resolve(ctx, rel)
	if err != nil {
		return err
	}
	remoteTags, err := t.lsRemoteTags(ctx, r.remote)
	if err != nil {
		return fmt.Errorf("git.remote: remote %s cannot be read (is it reachable, and may these credentials read it?): %w", git.MaskURL(r.remote), err)
	}
	onRemote, err := t.checkExistingTags(ctx, r, rel, remoteTags)
	if err != nil {
		return err
	}
	if !onRemote {
		if err := t.dryRunPush(ctx, r, rel); err != nil {
			return err
		}
	}
	if t.gh != nil && !t.ghCfg.Release.Skip {
		if _, err := t.gh.CheckAccess(ctx, "contents: write, for the GitHub Release of "+r.tag); err != nil {
			return fmt.Errorf("github: %w", err)
		}
	}
	return nil
}

// checkExistingTags refuses a release tag that exists at another commit
// than the release's, and reports whether the remote has it already (then
// Tag pushes nothing).
func (t *Tagger) checkExistingTags(ctx context.Context, r resolved, rel shipprod.Release, remote remoteTagList) (bool, error) {
	want, fresh, err := t.expectedCommit(ctx, rel)
	if err != nil {
		return false, err
	}
	remoteCommit, onRemote := remote.commit(r.tag)
	local, hasLocal, err := t.repo.LookupTag(ctx, r.tag)
	if err != nil {
		return false, err
	}
	release := want
	if fresh {
		release = "the release commit this run will make on " + git.ShortSHA(rel.Base)
	}
	switch {
	case onRemote && (fresh || want != "" && remoteCommit != want):
		return false, fmt.Errorf("%w (another clone released %s first? git fetch --tags shows it)",
			&ConflictError{Tag: r.tag, Where: "on remote " + git.MaskURL(r.remote), Existing: remoteCommit, Release: release}, r.tag)
	case hasLocal && (fresh || want != "" && local.Commit != want):
		return false, &ConflictError{Tag: r.tag, Where: "locally", Existing: local.Commit, Release: release}
	case onRemote && hasLocal && local.Commit != remoteCommit:
		return false, &ConflictError{Tag: r.tag, Where: "on remote " + git.MaskURL(r.remote), Existing: remoteCommit, Release: local.Commit}
	}
	return onRemote, nil
}

// expectedCommit is the commit the tag will mark: the release commit when
// it exists (fresh false), or none yet when the version step will make it
// on top of rel.Base (fresh true). Without either, Tag takes an existing
// tag's commit or HEAD, so any commit is accepted ("", false).
func (t *Tagger) expectedCommit(ctx context.Context, rel shipprod.Release) (string, bool, error) {
	if rel.Commit != "" {
		full, ok, err := t.repo.ResolveCommit(ctx, rel.Commit)
		if err != nil {
			return "", false, err
		}
		if !ok {
			return "", false, fmt.Errorf("release commit %s does not exist in %s", rel.Commit, orDot(t.repo.Dir))
		}
		return full, false, nil
	}
	return "", rel.Base != "", nil
}

// dryRunPush asks the remote whether it would take the atomic push of the
// release branch and the tag, without sending either. The commit pushed is
// the release commit, or the commit the release is decided at (the version
// commit will be a child of it, so a fast-forward of one is a fast-forward
// of the other), or HEAD.
func (t *Tagger) dryRunPush(ctx context.Context, r resolved, rel shipprod.Release) error {
	src := "HEAD"
	switch {
	case rel.Commit != "":
		src = rel.Commit
	case rel.Base != "":
		src = rel.Base
	}
	refspecs := []string{src + ":refs/heads/" + r.branch, src + ":refs/tags/" + r.tag}
	err := pushError(t.repo.Push(ctx, r.remote, refspecs, git.PushOptions{Atomic: true, DryRun: true}))
	if err == nil {
		return nil
	}
	var rej *shipprod.PushRejectedError
	if !errors.As(err, &rej) {
		return fmt.Errorf("git.remote: a dry run of the push to %s failed (does the remote exist, and may these credentials push to it?): %w", git.MaskURL(r.remote), err)
	}
	switch {
	case movedMeanwhile(rej.Reason):
		rej.Hint = fmt.Sprintf("a dry run of the release push was refused: %s/%s has commits the release does not have; pull them (git pull --rebase --autostash %s %s) and run shipprod again, or set git.branch to the branch you release from",
			rej.Remote, r.branch, rej.Remote, r.branch)
	default:
		rej.Hint = fmt.Sprintf("a dry run of the release push was refused by %s (%s): allow this push to %s, or release from a branch that accepts it (git.branch)", rej.Remote, rej.Reason, r.branch)
	}
	return rej
}
