package tag

import (
	"context"
	"fmt"

	"github.com/shipprod/shipprod"
	"github.com/shipprod/shipprod/internal/git"
)

var _ shipprod.AfterRollbacker = (*Tagger)(nil)

// AfterRollback deletes the failed release's tag, locally and on the remote,
// once production was rolled back — when tag.delete_on_rollback is set, and
// only then: tags are otherwise immutable and the rollback is recorded in
// the report. The Pipeline calls it after the Deployer restored production.
func (t *Tagger) AfterRollback(ctx context.Context, failed shipprod.Release, _ shipprod.Deployment) (string, error) {
	if !t.cfg.DeleteOnRollback {
		return "", nil
	}
	tag := failed.Tag
	if tag == "" && failed.Version != "" {
		tag = t.cfg.Prefix + failed.Version
	}
	if tag == "" {
		return "", fmt.Errorf("tag.delete_on_rollback: the rolled-back deployment names no release tag; nothing was deleted")
	}
	if err := t.Untag(ctx, tag); err != nil {
		return "", fmt.Errorf("tag.delete_on_rollback: %w", err)
	}
	note := fmt.Sprintf("deleted release tag %s locally and on %s (tag.delete_on_rollback)", tag, git.MaskURL(t.git.Remote))
	if t.gh != nil && !t.ghCfg.Release.Skip {
		note += "; its GitHub Release, if published, is now a draft"
	}
	return note, nil
}

// Untag deletes tag locally and on the remote, as Spec-Flow's rollback
// procedure does. The remote deletion carries a lease on the tag object it
// saw, so a tag someone re-pointed meanwhile is left alone. A tag that is
// already gone is not an error. On GitHub, a published release whose tag is
// deleted turns into a draft.
func (t *Tagger) Untag(ctx context.Context, tag string) error {
	if err := git.CheckTagName(ctx, tag); err != nil {
		return err
	}
	remote := t.git.Remote
	tags, err := t.lsRemoteTags(ctx, remote)
	if err != nil {
		return fmt.Errorf("reading the tags of remote %s: %w", git.MaskURL(remote), err)
	}
	ref := "refs/tags/" + tag
	if obj, ok := tags.objects[tag]; ok {
		if _, err := t.repo.Run(ctx, "push", "--porcelain", "--delete", "--force-with-lease="+ref+":"+obj, "--", remote, ref); err != nil {
			return fmt.Errorf("deleting tag %s on %s: %w", tag, git.MaskURL(remote), err)
		}
		t.log.Info("deleted the release tag on the remote", "tag", tag, "remote", git.MaskURL(remote))
	}
	if _, ok, err := t.repo.LookupTag(ctx, tag); err != nil {
		return err
	} else if ok {
		if _, err := t.repo.Run(ctx, "tag", "--delete", "--", tag); err != nil {
			return fmt.Errorf("deleting local tag %s: %w", tag, err)
		}
		t.log.Info("deleted the local release tag", "tag", tag)
	}
	return nil
}
