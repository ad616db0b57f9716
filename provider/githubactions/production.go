package githubactions

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"text/template"

	"github.com/shipprod/shipprod"
	"github.com/shipprod/shipprod/internal/git"
	"github.com/shipprod/shipprod/internal/github"
	"github.com/shipprod/shipprod/internal/releasetag"
)

var (
	_ shipprod.ProductionReader = (*Deployer)(nil)
	_ shipprod.Follower         = (*Deployer)(nil)
	_ shipprod.Preflighter      = (*Deployer)(nil)
	_ shipprod.Preflighter      = PushFollower{}
)

// workflows are the workflows that deploy to production: the deploy
// workflow and, when it is another one, the rollback workflow.
func (d *Deployer) workflows() []string {
	if d.tmpl.rbWorkflow == d.cfg.Workflow {
		return []string{d.cfg.Workflow}
	}
	return []string{d.cfg.Workflow, d.tmpl.rbWorkflow}
}

// latestSuccess returns the newest successful run of the workflows that
// deploy to production, nil when none has run; a workflow GitHub does not
// know is passed over (the dispatch, and the pre-flight, report it).
func (d *Deployer) latestSuccess(ctx context.Context) (*Run, error) {
	var newest *Run
	for _, wf := range d.workflows() {
		runs, _, err := d.w.client.ListRuns(ctx, github.RunFilter{Workflow: wf, Status: "success", PerPage: 1})
		if err != nil && !github.IsNotFound(err) {
			return nil, fmt.Errorf("listing the latest successful run of %s: %w", wf, err)
		}
		if len(runs) == 0 {
			continue
		}
		r := fromRun(runs[0])
		if newest == nil || r.CreatedAt.After(newest.CreatedAt) || r.CreatedAt.Equal(newest.CreatedAt) && r.ID > newest.ID {
			newest = &r
		}
	}
	return newest, nil
}

// releaseOf names the release a run deployed: its ref when that is a
// release tag (the default ref is the tag), else the release tag of the
// local repository that marks its commit.
func (d *Deployer) releaseOf(ctx context.Context, r Run) shipprod.Release {
	rel := shipprod.Release{Commit: r.HeadSHA}
	if v, ok := releasetag.Version(r.HeadBranch); ok {
		rel.Tag, rel.Version = r.HeadBranch, v
		return rel
	}
	rel.Tag, rel.Version = releasetag.AtCommit(ctx, git.Open(d.dir), r.HeadSHA)
	return rel
}

// current reads what production runs: the latest successful run and the
// release it deployed. When that cannot be told (no run yet, or GitHub
// cannot be asked), the release is rel's previous one.
func (d *Deployer) current(ctx context.Context, rel shipprod.Release) (*Run, shipprod.Release) {
	run, err := d.latestSuccess(ctx)
	if err != nil {
		d.w.log.Warn("could not read what production runs; the rollback steps name the previous release", "err", err)
	}
	if run == nil {
		return nil, rel.Previous()
	}
	return run, d.releaseOf(ctx, *run)
}

// Production reads what production runs: the newest successful run of the
// deploy workflow (or of the rollback workflow, if that is another one and
// ran last), and the release it deployed — its ref when that is a release
// tag, else the repository's release tag at its commit. One or two GET
// …/actions/workflows/{workflow}/runs?status=success&per_page=1 requests.
//
// The last successful run is chosen over GitHub's Deployments of the
// environment: every workflow shipprod dispatches has runs, while
// deployment records exist only when the workflow's jobs name an
// environment or github.deployments is on; and reading runs needs only
// actions: read.
func (d *Deployer) Production(ctx context.Context) (shipprod.Deployment, error) {
	dep := shipprod.Deployment{Provider: Name, Environment: d.cfg.Environment}
	run, err := d.latestSuccess(ctx)
	if err != nil || run == nil {
		return dep, err
	}
	rel := d.releaseOf(ctx, *run)
	dep.ID, dep.Commit, dep.Version, dep.Tag = strconv.FormatInt(run.ID, 10), run.HeadSHA, rel.Version, rel.Tag
	dep.Details = map[string]string{"run_id": dep.ID, "run_url": run.URL}
	if url, err := render(d.tmpl.envURL, rel); err == nil {
		dep.URL = url
	}
	return dep, nil
}

// Follow follows the workflow run an interrupted deploy reported accepted,
// until it completes, instead of dispatching another.
func (d *Deployer) Follow(ctx context.Context, accepted shipprod.Deployment, rel shipprod.Release) (shipprod.Deployment, error) {
	start := d.w.clock.Now()
	id, err := strconv.ParseInt(accepted.ID, 10, 64)
	if err != nil {
		return accepted, fmt.Errorf("following the deploy of %s: %q is not a workflow run id", cmp.Or(rel.Tag, rel.Version), accepted.ID)
	}
	run, err := d.w.Follow(ctx, id)
	dep := d.deployment(rel, shipprod.Release{}, run, start)
	dep.PreviousID, dep.RollbackSteps = accepted.PreviousID, accepted.RollbackSteps
	if !accepted.StartedAt.IsZero() {
		dep.StartedAt = accepted.StartedAt
	}
	if err != nil {
		return dep, fmt.Errorf("following the deploy of %s (workflow run %d): %w", cmp.Or(rel.Tag, rel.Version), id, err)
	}
	if url, uerr := render(d.tmpl.envURL, rel); uerr == nil {
		dep.URL = url
	}
	return dep, nil
}

// Preflight checks, reading only, that the deploy can be dispatched:
//
//   - the token is valid and sees the repository, and (for a user's token)
//     may write to it, as a dispatch needs (GET /repos/{owner}/{repo});
//   - the workflow exists and is enabled (GET …/actions/workflows/{workflow});
//   - with trigger dispatch, the workflow file at the ref declares
//     workflow_dispatch, and the inputs shipprod will send are the ones it
//     declares: none it does not know, every required one (without a
//     default) given (GET …/contents/{path}?ref=…). The release tag does not
//     exist yet when the pre-flight runs; the file is then read at the
//     release commit or the commit the release is decided at, on GitHub,
//     else in the local repository (the tag will carry that file);
//   - the same for the rollback workflow and inputs, when configured apart.
func (d *Deployer) Preflight(ctx context.Context, rel shipprod.Release) error {
	need := "actions: write, to dispatch " + d.cfg.Workflow
	if d.cfg.Trigger == TriggerPush {
		need = ""
	}
	if _, err := d.w.client.CheckAccess(ctx, need); err != nil {
		return fmt.Errorf("deploy.github-actions: %w", err)
	}
	wf, err := d.w.checkWorkflow(ctx, "deploy.github-actions.workflow", d.cfg.Workflow)
	if err != nil || d.cfg.Trigger == TriggerPush {
		return err
	}
	ref, err := render(d.tmpl.ref, rel)
	if err != nil {
		return fmt.Errorf("deploy.github-actions.ref: %w", err)
	}
	if err := d.checkDispatch(ctx, wf, "deploy.github-actions.inputs", sentInputs(d.tmpl.inputs, d.corr), ref, rel.Commit, rel.Base); err != nil {
		return err
	}
	if d.tmpl.rbWorkflow == d.cfg.Workflow && d.cfg.Rollback.Inputs == nil {
		return nil
	}
	rbwf := wf
	if d.tmpl.rbWorkflow != d.cfg.Workflow {
		if rbwf, err = d.w.checkWorkflow(ctx, "deploy.github-actions.rollback.workflow", d.tmpl.rbWorkflow); err != nil {
			return err
		}
	}
	prev := rel.Previous()
	rbRef, _ := render(d.tmpl.rbRef, prev)
	return d.checkDispatch(ctx, rbwf, "deploy.github-actions.rollback.inputs", sentInputs(d.tmpl.rbInputs, ""), rbRef, prev.Commit)
}

// checkWorkflow makes sure the workflow exists and is enabled (a disabled
// workflow is neither dispatched nor run on a push); key is the
// configuration key that names it, for the messages.
func (w *Watcher) checkWorkflow(ctx context.Context, key, name string) (github.Workflow, error) {
	wf, err := w.client.Workflow(ctx, name)
	switch {
	case github.IsNotFound(err):
		return wf, fmt.Errorf("%s: %s has no workflow %s (give the file name under .github/workflows, or its id): %w", key, w.Repository(), name, err)
	case err != nil:
		return wf, fmt.Errorf("%s: reading workflow %s: %w", key, name, err)
	case wf.State != "" && wf.State != "active":
		return wf, fmt.Errorf("%s: workflow %s of %s is %s: enable it (gh workflow enable %s --repo %s)", key, name, w.Repository(), wf.State, name, w.Repository())
	}
	return wf, nil
}

// checkDispatch reads the workflow file at the first of refs that has it
// and checks its workflow_dispatch trigger and inputs.
func (d *Deployer) checkDispatch(ctx context.Context, wf github.Workflow, key string, sent []string, refs ...string) error {
	text, where, err := d.workflowText(ctx, wf.Path, refs)
	if err != nil {
		return fmt.Errorf("deploy.github-actions.workflow: %w", err)
	}
	parsed, err := parseWorkflow([]byte(text))
	if err != nil {
		return fmt.Errorf("deploy.github-actions.workflow: %s at %s is not a valid workflow file: %w", wf.Path, where, err)
	}
	declared := parsed.inputs
	if !parsed.trigger {
		return fmt.Errorf("deploy.github-actions.workflow: %s at %s has no workflow_dispatch trigger, so GitHub refuses to dispatch it: add `on: workflow_dispatch` to it (on the default branch too), or set trigger: push",
			wf.Path, where)
	}
	names := make([]string, 0, len(declared))
	for n := range declared {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, s := range sent {
		if _, ok := declared[s]; !ok {
			return fmt.Errorf("%s.%s: %s at %s declares no input %s (it declares %s): declare it under on.workflow_dispatch.inputs, or remove it",
				key, s, wf.Path, where, s, orNone(names))
		}
	}
	for _, n := range names {
		if in := declared[n]; in.required && !in.hasDefault && !slices.Contains(sent, n) {
			return fmt.Errorf("%s: %s at %s requires input %s, which shipprod does not send: add it to %s", key, wf.Path, where, n, key)
		}
	}
	return nil
}

// workflowText reads path at the first of refs GitHub has it at, else in
// the local repository at the first of refs (or HEAD) that has it; where
// says which.
func (d *Deployer) workflowText(ctx context.Context, path string, refs []string) (text, where string, err error) {
	var tried []string
	for _, ref := range refs {
		if ref == "" || slices.Contains(tried, ref) {
			continue
		}
		tried = append(tried, ref)
		text, found, err := d.w.client.FileAt(ctx, path, ref)
		if err != nil {
			return "", "", fmt.Errorf("reading %s at %s: %w", path, ref, err)
		}
		if found {
			return text, ref + " on GitHub", nil
		}
	}
	repo := git.Open(d.dir)
	for _, rev := range append(slices.DeleteFunc(slices.Clone(refs), isNotSHA), "HEAD") {
		if out, err := repo.Run(ctx, "show", rev+":"+path); err == nil {
			return out, git.ShortSHA(rev) + " in the local repository", nil
		}
	}
	return "", "", fmt.Errorf("%s cannot be read at %s on GitHub, nor in the local repository", path, orNone(tried))
}

func isNotSHA(s string) bool {
	if len(s) != 40 {
		return true
	}
	return strings.Trim(s, "0123456789abcdef") != ""
}

// sentInputs are the names of the inputs a dispatch sends.
func sentInputs(ts map[string]*template.Template, corr string) []string {
	out := make([]string, 0, len(ts)+1)
	for k := range ts {
		out = append(out, k)
	}
	if corr != "" {
		out = append(out, corr)
	}
	sort.Strings(out)
	return out
}

func orNone(list []string) string {
	if len(list) == 0 {
		return "none"
	}
	return strings.Join(list, ", ")
}

// Preflight checks that the token is valid and sees the repository, and
// that the workflow to follow exists and is enabled: reading only, as
// following does.
func (f PushFollower) Preflight(ctx context.Context, _ shipprod.Release) error {
	if _, err := f.Watcher.client.CheckAccess(ctx, ""); err != nil {
		return err
	}
	if f.Workflow == "" {
		return nil
	}
	_, err := f.Watcher.checkWorkflow(ctx, "deploy.follow_ci.workflow", f.Workflow)
	return err
}
