package tag

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"strconv"
	"strings"
	"time"

	"github.com/shipprod/shipprod"
	"github.com/shipprod/shipprod/internal/git"
	"github.com/shipprod/shipprod/internal/github"
	"github.com/shipprod/shipprod/provider"
)

// Keys this package adds to shipprod.Deployment.Details.
const (
	// DetailTag is the release tag that was deployed.
	DetailTag = "tag"
	// DetailGitHubDeploymentID is the id of the GitHub deployment record.
	DetailGitHubDeploymentID = "github_deployment_id"
	// DetailDeletedTag is set on a rollback's Deployment when the release
	// tag was deleted (tag.delete_on_rollback).
	DetailDeletedTag = "deleted_tag"
)

// finalStatusTimeout bounds the call that records a deploy's outcome, which
// runs even when the deploy's own context has ended.
const finalStatusTimeout = time.Minute

// WrapDeployer returns d decorated with what the release step owns around a
// deploy:
//
//   - with github.deployments.enabled, each Deploy (and each Rollback) is
//     recorded in GitHub's Deployments API for the tag, in the configured
//     environment, with auto_merge: false and required_contexts: [] so that
//     GitHub never merges branches on the user's behalf, and with the
//     statuses in_progress → success or failure (with the environment URL
//     and the deployer's log URL);
//   - with tag.delete_on_rollback, a successful Rollback deletes the failed
//     release's tag locally and on the remote.
//
// It is a decorator rather than a pipeline Observer because recording needs
// the context, the Release and the Deployment (its URL, its log link), and
// because the status must be written whether the deploy succeeded or not —
// an Observer sees neither the values nor a context. The decorator keeps
// d's optional capabilities: it is a shipprod.Rollbacker, a
// provider.Promoter or a provider.Canceler exactly when d is (a promotion
// is recorded like a deploy), so the pipeline's plan does not change, and
// it is always a shipprod.ActionPlanner listing the record next to d's own
// actions. With neither option set, d is returned as it is.
//
// Recording is best effort: a GitHub failure is logged and noted in the
// Deployment's Details, but never fails the deploy itself.
func (t *Tagger) WrapDeployer(d shipprod.Deployer) shipprod.Deployer {
	record := t.gh != nil && t.ghCfg.Deployments.Enabled
	_, canRollback := d.(shipprod.Rollbacker)
	if !record && !(t.cfg.DeleteOnRollback && canRollback) {
		return d
	}
	w := &wrapped{t: t, inner: d, record: record}
	_, canPromote := d.(provider.Promoter)
	_, canCancel := d.(provider.Canceler)
	switch {
	case canRollback && canPromote && canCancel:
		return wRPC{w}
	case canRollback && canPromote:
		return wRP{w}
	case canRollback && canCancel:
		return wRC{w}
	case canPromote && canCancel:
		return wPC{w}
	case canRollback:
		return wR{w}
	case canPromote:
		return wP{w}
	case canCancel:
		return wC{w}
	}
	return w
}

type wrapped struct {
	t      *Tagger
	inner  shipprod.Deployer
	record bool
}

// The decorator's variants, one per combination of the optional
// capabilities the wrapped deployer has (R rollback, P promote, C cancel).
type (
	wR   struct{ *wrapped }
	wP   struct{ *wrapped }
	wC   struct{ *wrapped }
	wRP  struct{ *wrapped }
	wRC  struct{ *wrapped }
	wPC  struct{ *wrapped }
	wRPC struct{ *wrapped }
)

func (w wR) Rollback(ctx context.Context, f shipprod.Deployment, to shipprod.Release) (shipprod.Deployment, error) {
	return w.rollback(ctx, f, to)
}
func (w wRP) Rollback(ctx context.Context, f shipprod.Deployment, to shipprod.Release) (shipprod.Deployment, error) {
	return w.rollback(ctx, f, to)
}
func (w wRC) Rollback(ctx context.Context, f shipprod.Deployment, to shipprod.Release) (shipprod.Deployment, error) {
	return w.rollback(ctx, f, to)
}
func (w wRPC) Rollback(ctx context.Context, f shipprod.Deployment, to shipprod.Release) (shipprod.Deployment, error) {
	return w.rollback(ctx, f, to)
}
func (w wP) Promote(ctx context.Context, rel shipprod.Release, id string) (shipprod.Deployment, error) {
	return w.promote(ctx, rel, id)
}
func (w wRP) Promote(ctx context.Context, rel shipprod.Release, id string) (shipprod.Deployment, error) {
	return w.promote(ctx, rel, id)
}
func (w wPC) Promote(ctx context.Context, rel shipprod.Release, id string) (shipprod.Deployment, error) {
	return w.promote(ctx, rel, id)
}
func (w wRPC) Promote(ctx context.Context, rel shipprod.Release, id string) (shipprod.Deployment, error) {
	return w.promote(ctx, rel, id)
}
func (w wC) Cancel(ctx context.Context, dep shipprod.Deployment) error   { return w.cancel(ctx, dep) }
func (w wRC) Cancel(ctx context.Context, dep shipprod.Deployment) error  { return w.cancel(ctx, dep) }
func (w wPC) Cancel(ctx context.Context, dep shipprod.Deployment) error  { return w.cancel(ctx, dep) }
func (w wRPC) Cancel(ctx context.Context, dep shipprod.Deployment) error { return w.cancel(ctx, dep) }

var (
	_ shipprod.ActionPlanner = (*wrapped)(nil)
	_ shipprod.Rollbacker    = wRPC{}
	_ provider.Promoter      = wRPC{}
	_ provider.Canceler      = wRPC{}
)

func (w *wrapped) String() string {
	s := describe(w.inner)
	if w.record {
		s += " (recorded in GitHub Deployments)"
	}
	return s
}

func (w *wrapped) environment() string {
	if e := w.t.ghCfg.Deployments.Environment; e != "" {
		return e
	}
	return "production"
}

// PlanActions lists the deployer's own actions and the GitHub record.
func (w *wrapped) PlanActions(ctx context.Context, rel shipprod.Release) ([]shipprod.Action, error) {
	var acts []shipprod.Action
	if w.record {
		acts = append(acts, shipprod.Action{Step: shipprod.StepDeploy, Kind: shipprod.ActionAPI, Target: w.t.gh.Repository(),
			Description: fmt.Sprintf("record the deploy of %s in GitHub Deployments of %s (environment %s): in_progress, then success or failure",
				cmp.Or(rel.Tag, rel.Version), w.t.gh.Repository(), w.environment())})
	}
	if ap, ok := w.inner.(shipprod.ActionPlanner); ok {
		inner, err := ap.PlanActions(ctx, rel)
		if err != nil {
			return nil, err
		}
		return append(acts, inner...), nil
	}
	return append(acts, shipprod.Action{Step: shipprod.StepDeploy, Kind: shipprod.ActionDeploy, Target: describe(w.inner),
		Description: fmt.Sprintf("deploy %s with %s", cmp.Or(rel.Tag, rel.Version), describe(w.inner))}), nil
}

// Deploy records the deploy in GitHub around the wrapped deployer's Deploy.
func (w *wrapped) Deploy(ctx context.Context, rel shipprod.Release) (shipprod.Deployment, error) {
	return w.around(ctx, rel, "deploy", func() (shipprod.Deployment, error) { return w.inner.Deploy(ctx, rel) })
}

// promote records a promotion like a deploy.
func (w *wrapped) promote(ctx context.Context, rel shipprod.Release, id string) (shipprod.Deployment, error) {
	return w.around(ctx, rel, "promote", func() (shipprod.Deployment, error) {
		return w.inner.(provider.Promoter).Promote(ctx, rel, id)
	})
}

// cancel passes a cancellation on to the wrapped deployer.
func (w *wrapped) cancel(ctx context.Context, dep shipprod.Deployment) error {
	return w.inner.(provider.Canceler).Cancel(ctx, dep)
}

// around records do's deploy of rel in GitHub: the deployment and its
// in_progress status before, success or failure after.
func (w *wrapped) around(ctx context.Context, rel shipprod.Release, task string, do func() (shipprod.Deployment, error)) (shipprod.Deployment, error) {
	id, note := w.start(ctx, rel, task)
	dep, err := do()
	if id != 0 {
		w.finish(ctx, id, rel, dep, err)
	}
	dep.Details = withDetails(dep.Details, DetailTag, rel.Tag)
	if id != 0 {
		dep.Details[DetailGitHubDeploymentID] = strconv.FormatInt(id, 10)
	} else if note != "" {
		dep.Details["github_deployment"] = note
	}
	return dep, err
}

// start creates the GitHub deployment and its in_progress status. It returns
// 0 and a note when recording is off or failed.
func (w *wrapped) start(ctx context.Context, rel shipprod.Release, task string) (int64, string) {
	if !w.record {
		return 0, ""
	}
	ref := cmp.Or(rel.Tag, rel.Commit)
	if ref == "" {
		return 0, "not recorded: the release has neither tag nor commit"
	}
	desc := fmt.Sprintf("shipprod %s %s with %s", task, ref, describe(w.inner))
	id, err := w.t.gh.CreateDeployment(ctx, github.DeploymentRequest{
		Ref: ref, Environment: w.environment(), Description: desc,
		Payload: map[string]any{"version": rel.Version, "tag": rel.Tag, "commit": rel.Commit, "task": task},
	})
	if err != nil {
		w.t.log.Warn("could not record the deploy in GitHub Deployments; deploying anyway", "ref", ref, "err", err)
		return 0, "not recorded: " + err.Error()
	}
	if err := w.t.gh.CreateDeploymentStatus(ctx, id, github.DeploymentStatus{State: "in_progress", Description: desc}); err != nil {
		w.t.log.Warn("could not set the GitHub deployment in_progress", "id", id, "err", err)
	}
	return id, ""
}

// finish records the outcome. It runs even when ctx has ended (a cancelled
// deploy is recorded as failed), bounded by its own timeout.
func (w *wrapped) finish(ctx context.Context, id int64, rel shipprod.Release, dep shipprod.Deployment, deployErr error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), finalStatusTimeout)
	defer cancel()
	st := github.DeploymentStatus{State: "success", Description: "Deployed " + cmp.Or(rel.Tag, rel.Version),
		EnvironmentURL: cmp.Or(dep.URL, w.t.ghCfg.Deployments.EnvironmentURL), LogURL: logURL(dep)}
	if deployErr != nil {
		st.State = "failure"
		st.Description = firstLine("Failed: " + deployErr.Error())
	}
	if err := w.t.gh.CreateDeploymentStatus(ctx, id, st); err != nil {
		w.t.log.Warn("could not record the deploy outcome in GitHub Deployments", "id", id, "state", st.State, "err", err)
	}
}

// logURL picks the deployer's link to its log, by the keys built-in
// deployers use.
func logURL(dep shipprod.Deployment) string {
	for _, k := range []string{"log_url", "run_url", "inspector_url"} {
		if v := dep.Details[k]; strings.HasPrefix(v, "http") {
			return v
		}
	}
	return ""
}

// rollback records the rollback as a deployment of the restored release,
// marks the failed deployment failed, and deletes the failed release's tag
// when tag.delete_on_rollback is set.
func (w *wrapped) rollback(ctx context.Context, failed shipprod.Deployment, to shipprod.Release) (shipprod.Deployment, error) {
	restored, err := w.around(ctx, to, "rollback", func() (shipprod.Deployment, error) {
		return w.inner.(shipprod.Rollbacker).Rollback(ctx, failed, to)
	})
	if err != nil {
		return restored, err
	}
	if fid, perr := strconv.ParseInt(failed.Details[DetailGitHubDeploymentID], 10, 64); w.record && perr == nil {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), finalStatusTimeout)
		serr := w.t.gh.CreateDeploymentStatus(sctx, fid, github.DeploymentStatus{State: "failure",
			Description: "Rolled back to " + cmp.Or(to.Tag, "the previous release")})
		cancel()
		if serr != nil {
			w.t.log.Warn("could not mark the rolled-back GitHub deployment failed", "id", fid, "err", serr)
		}
	}
	if w.t.cfg.DeleteOnRollback {
		tag := failed.Details[DetailTag]
		switch {
		case tag == "":
			w.t.log.Warn("tag.delete_on_rollback: the failed deployment does not name its tag; nothing deleted")
		default:
			if derr := w.t.Untag(ctx, tag); derr != nil {
				w.t.log.Warn("rollback done, but the release tag could not be deleted", "tag", tag, "err", derr)
				restored.Details["tag_delete_error"] = derr.Error()
			} else {
				restored.Details[DetailDeletedTag] = tag
			}
		}
	}
	return restored, nil
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

func withDetails(d map[string]string, k, v string) map[string]string {
	out := maps.Clone(d)
	if out == nil {
		out = map[string]string{}
	}
	if v != "" {
		if _, set := out[k]; !set {
			out[k] = v
		}
	}
	return out
}

func describe(impl any) string {
	if s, ok := impl.(fmt.Stringer); ok {
		return s.String()
	}
	return fmt.Sprintf("%T", impl)
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
