package vercel

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/shipprod/shipprod"
	"github.com/shipprod/shipprod/internal/releasetag"
)

var (
	_ shipprod.ProductionReader = (*Deployer)(nil)
	_ shipprod.CandidateFinder  = (*Deployer)(nil)
	_ shipprod.Follower         = (*Deployer)(nil)
	_ shipprod.Preflighter      = (*Deployer)(nil)
)

// accepted tells the Pipeline that Vercel accepted deployment id (a build
// created, a promotion requested), so that a run interrupted while it waits
// follows id instead of deploying again.
func (r *run) accepted(ctx context.Context, id, sha string) {
	shipprod.ReportAccepted(ctx, shipprod.Deployment{Provider: r.d.name, ID: id, Commit: sha, Environment: "production",
		StartedAt: r.dep.StartedAt, Details: map[string]string{"project_id": r.proj.ID}})
}

// Production reads the project's current production deployment (one GET
// /v9/projects request): its id, its commit, and the release it runs — from
// the meta shipprod gives the deployments it creates, else from the release
// tag of the git repository that marks the commit (or the version commit
// made on top of it, when production runs the build of a validated commit).
// A project that never served production is a Deployment with no ID.
func (d *Deployer) Production(ctx context.Context) (shipprod.Deployment, error) {
	r := d.newRun("reading production")
	if err := r.project(ctx); err != nil {
		_, err = r.fail(err)
		return shipprod.Deployment{Provider: d.name}, err
	}
	cur := r.proj.Targets.Production
	dep := shipprod.Deployment{Provider: d.name, Environment: "production", URL: d.cfg.URL, Details: map[string]string{"project_id": r.proj.ID}}
	if cur == nil || cur.id() == "" {
		return dep, nil
	}
	cur, err := d.currentDuringRollout(ctx, r.proj, cur, &dep)
	if err != nil {
		_, err = r.fail(err)
		return dep, err
	}
	dep.ID, dep.Commit = cur.id(), cur.sha()
	dep.Version, dep.Tag = cur.Meta["shipprodVersion"], cur.Meta["shipprodTag"]
	if dep.Version == "" && dep.Tag == "" {
		dep.Tag, dep.Version = releasetag.AtCommit(ctx, d.repo, dep.Commit)
	}
	if dep.URL == "" && len(cur.Alias) > 0 {
		dep.URL = "https://" + cur.Alias[0]
	}
	return dep, nil
}

// Candidate names the deployment Deploy will put into production, without
// changing anything: in promote mode the staging-validated build (by its
// id, else by the validated commit), or the production rebuild of it that
// an earlier run made and Deploy would reuse; an error when there is none
// that can be promoted. In build mode the build does not exist before the
// release commit does: Candidate returns an empty Deployment.
func (d *Deployer) Candidate(ctx context.Context, rel shipprod.Release) (shipprod.Deployment, error) {
	if d.cfg.Mode == ModeBuild {
		return shipprod.Deployment{}, nil
	}
	r := d.newRun("finding the build to promote for " + cmp.Or(releaseName(rel), "the release"))
	if err := r.project(ctx); err != nil {
		return r.fail(err)
	}
	cand, err := r.candidate(ctx, rel)
	if err != nil {
		return r.fail(err)
	}
	r.depID = cand.id()
	if err := promotable(cand); err != nil {
		return r.fail(err)
	}
	if cand.target() != "production" {
		// Deploy reuses a production rebuild an earlier run made of it.
		rebuild, err := r.earlierRebuild(ctx, cand)
		if err != nil {
			return r.fail(err)
		}
		if rebuild != nil {
			cand = rebuild
		}
	}
	return shipprod.Deployment{Provider: d.name, ID: cand.id(), Commit: cand.sha(), Environment: cand.target(),
		Details: map[string]string{"project_id": r.proj.ID}}, nil
}

// Follow follows the deployment an interrupted run reported accepted,
// without starting another: a build still going is followed until it is
// live; a READY production build whose promotion is still pending is
// waited for, and one that is not (yet) production is promoted — the same
// promotion again, not a new build.
func (d *Deployer) Follow(ctx context.Context, accepted shipprod.Deployment, rel shipprod.Release) (shipprod.Deployment, error) {
	r := d.newRun("following deployment " + accepted.ID + " of " + cmp.Or(releaseName(rel), "the release"))
	r.depID = accepted.ID
	if err := ctx.Err(); err != nil {
		return r.fail(err)
	}
	if !strings.HasPrefix(accepted.ID, "dpl_") {
		return r.fail(fmt.Errorf("the accepted deployment %q is not a dpl_ id", accepted.ID))
	}
	if err := r.project(ctx); err != nil {
		return r.fail(err)
	}
	if err := r.prepareRolling(ctx); err != nil {
		return r.fail(err)
	}
	dd, err := d.api.getDeployment(ctx, accepted.ID)
	if err != nil {
		return r.fail(err)
	}
	switch st := dd.state(); {
	case failed(st):
		return r.fail(fmt.Errorf("the deployment is %s: %s", st, failureMessage(dd)))
	case r.rr != nil && r.rr.active.canary() == accepted.ID:
		// Its rolling release started before the run was interrupted.
		return r.finishCanary(rel, dd, r.rr.active)
	case st != "READY":
		return r.followToLive(ctx, rel, accepted.ID)
	}
	if req := r.proj.LastAliasRequest; req != nil && req.ToDeploymentID == accepted.ID && req.Type == "promote" &&
		(req.JobStatus == "pending" || req.JobStatus == "in-progress") {
		if err := d.awaitAliasRequest(ctx, r.proj.ID, "promote", accepted.ID, d.clock.Now().Add(-d.cfg.Timeout)); err != nil {
			return r.fail(err)
		}
		final, err := d.api.getDeployment(ctx, accepted.ID)
		if err != nil {
			return r.fail(err)
		}
		r.dep.PreviousID = r.previousFor(ctx, rel, accepted.ID)
		return r.finish(rel, final)
	}
	return r.promoteDeployment(ctx, rel, dd)
}

// Preflight checks, reading only, that the token is valid and sees the
// project under the team (one GET /v9/projects request); in build mode,
// that the project is linked to a repository (or git_source is set). The
// build promote mode will promote is found by Candidate, which the
// Pipeline's pre-flight asks too.
func (d *Deployer) Preflight(ctx context.Context, rel shipprod.Release) error {
	p, err := d.api.getProject(ctx, d.project)
	if err != nil {
		return d.explainAccess(err)
	}
	if d.cfg.Mode == ModeBuild && d.cfg.GitSource == nil {
		if typ, _ := p.Link["type"].(string); typ == "" {
			return fmt.Errorf("vercel project %s is not linked to a git repository, so mode: build has nothing to build from: link it in Vercel, or set git_source in the vercel section", d.project)
		}
	}
	return d.preflightRolling(ctx, rel, p)
}

// currentDuringRollout is what serves production beside a rolling release
// in flight: its current deployment (the project's production target
// moves only when the release completes); the canary and its share go in
// dep's details.
func (d *Deployer) currentDuringRollout(ctx context.Context, p *project, cur *deployment, dep *shipprod.Deployment) (*deployment, error) {
	active, err := d.activeRelease(ctx, p)
	if err != nil || active == nil {
		return cur, err
	}
	dep.Details["canary_deployment"] = active.canary()
	dep.Details["canary_percent"] = strconv.Itoa(active.share())
	if id := active.current(); id != "" && id != cur.id() {
		return d.api.getDeployment(ctx, id)
	}
	return cur, nil
}

// explainAccess says what to fix when the project cannot be read.
func (d *Deployer) explainAccess(err error) error {
	var api *APIError
	if !errors.As(err, &api) {
		return fmt.Errorf("vercel project %s: %w", d.project, err)
	}
	scope := "the token's personal account"
	if d.team != "" {
		scope = "team " + d.team
	}
	switch {
	case api.InvalidToken:
		return fmt.Errorf("vercel: the token in %s is invalid or expired: create a new one at vercel.com/account/tokens and set %s: %w", d.cfg.TokenEnv, d.cfg.TokenEnv, err)
	case api.Status == http.StatusForbidden:
		return fmt.Errorf("vercel: the token in %s may not read project %s under %s: set team in the vercel section (or VERCEL_ORG_ID) to the team that owns the project, and use a token with access to that team: %w",
			d.cfg.TokenEnv, d.project, scope, err)
	case api.Status == http.StatusNotFound:
		return fmt.Errorf("vercel: project %s (from %s) not found in %s: check project (or VERCEL_PROJECT_ID) and team (or VERCEL_ORG_ID): %w",
			d.project, d.projectFrom, scope, err)
	}
	return fmt.Errorf("vercel project %s: %w", d.project, err)
}
