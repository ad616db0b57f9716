// Package vercel is the "vercel" deployer: it puts a release into
// production on Vercel through Vercel's REST API, with a thin hand-written
// client (Vercel publishes no Go SDK).
//
// In the default mode, promote, it ships the build that staging validated
// instead of building again: the deployment whose id the pipeline found in
// Spec-Flow's state.yaml (provider.Env.Facts["staging.deployment_id"]), or
// else the newest READY deployment of the commit that was validated: the
// commit the release was decided at, whose child is the version commit
// shipprod makes (which never has a build of its own). Candidate names it
// before anything changes, so that the pre-flight fails when there is none
// and refuses one an earlier run rolled back. A production
// deployment that is READY but staged is promoted
// (POST /v10/projects/{p}/promote/{d}, then project.lastAliasRequest is
// followed until the promotion succeeds); a preview deployment is rebuilt
// for production (POST /v13/deployments with deploymentId and target
// production), as `vercel promote` does. In build mode a production
// deployment is created from the release tag (gitSource ref and sha).
//
// A new deployment is followed by its dpl_ id — never by an alias, which
// may still point at the previous deployment — until it is READY and live
// (aliasAssigned without aliasError, or readySubstate PROMOTED), within a
// deadline on the injected clock; ERROR, CANCELED and BLOCKED fail with
// Vercel's own message, and on the deadline the deployment can be cancelled
// (cancel_on_timeout). A project left pinned by an earlier instant rollback
// (autoAssignCustomDomains false, so new production builds stay STAGED) is
// detected and said so; the staged build is then promoted, unless
// keep_rollback_pin asks to stop instead.
//
// Rollback returns production to the previous production deployment with
// POST /v1/projects/{p}/rollback/{d}. Note that Vercel then turns automatic
// domain assignment off until the next promote.
//
// With Vercel Rolling Releases on, a promote does not move all traffic: it
// starts a rolling release, whose canary serves the first stage's share
// while the current deployment serves the rest, and the project's
// production target moves only when the release completes. The Deployer is
// then a shipprod.TrafficShifter: Deploy returns the canary with its share
// (Details["traffic_percent"]), and the Pipeline's rollout approves each
// stage (POST /v1/projects/{p}/rolling-release/approve-stage), completes the
// release (…/complete) or aborts it with an instant rollback to the
// current deployment, watching each stage with the monitor. shipprod must
// hold each stage until its monitor says so: the pre-flight checks that the
// project's rolling releases advance by manual approval through the
// percentages of the rollout section, and says how to fix a mismatch —
// rolling_release.configure has shipprod set them so before the promote.
// A project with rolling releases on and no rollout section is refused (a
// promote would leave most traffic on the previous release), and so is one
// whose rolling release of another deployment is still in flight. During a
// release, Production and Rollback name the current deployment, and a
// rollback aborts the release.
//
// Errors are *APIError values matching ErrInvalidToken (403 with
// invalidToken), ErrQuota (402), ErrRateLimited and ErrNotFound; 429 answers
// are waited out until limit.reset (at most max_rate_limit_wait), 5xx
// answers and dropped connections are retried with backoff. Every message
// names the project and, once known, the deployment. The token is read from
// the environment (VERCEL_TOKEN) and never appears in any output.
//
// Configuration (the "vercel" section of shipprod.yaml); every key is
// optional where the Vercel CLI's own fallbacks apply:
//
//	deploy:
//	  provider: vercel
//	  vercel:
//	    project: web             # id or name; else VERCEL_PROJECT_ID, else .vercel/project.json
//	    team: acme               # team_… id or slug; else VERCEL_ORG_ID, else .vercel/project.json
//	    mode: promote            # promote (default) or build
//	    token_env: VERCEL_TOKEN  # the variable holding the token (default VERCEL_TOKEN)
//	    url: https://www.acme.com      # production URL for the report (default: the first alias)
//	    timeout: 20m             # deadline to be READY and live
//	    poll_interval: 2s        # first poll interval; backs off to 15s
//	    cancel_on_timeout: false # cancel the deployment when the deadline passes
//	    keep_rollback_pin: false # stop instead of promoting when a rollback pinned production
//	    max_rate_limit_wait: 2m  # longest wait for a rate limit to reset
//	    api_url: https://api.vercel.com
//	    git_source: {type: github, org: acme, repo: web}  # build mode; default: the project's linked repository
//	    rolling_release:
//	      configure: true        # set the project's rolling releases to manual approval with the rollout's stages
package vercel

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/shipprod/shipprod"
	"github.com/shipprod/shipprod/internal/git"
	"github.com/shipprod/shipprod/internal/httpretry"
	"github.com/shipprod/shipprod/provider"
)

// Name is the name the deployer is registered under.
const Name = "vercel"

// FactStagingDeploymentID is the provider.Env fact naming the deployment
// staging validated (Spec-Flow's deployment.staging.deployment_id).
const FactStagingDeploymentID = "staging.deployment_id"

// Modes.
const (
	ModePromote = "promote"
	ModeBuild   = "build"
)

// Defaults.
const (
	DefaultAPIURL           = "https://api.vercel.com"
	DefaultTokenEnv         = "VERCEL_TOKEN"
	DefaultTimeout          = 20 * time.Minute
	DefaultPollInterval     = 2 * time.Second
	MaxPollInterval         = 15 * time.Second
	DefaultMaxRateLimitWait = 2 * time.Minute
)

func init() {
	provider.Register(Name, func(ctx context.Context, env provider.Env) (shipprod.Deployer, error) {
		var cfg Config
		if err := env.Decode(&cfg); err != nil {
			return nil, err
		}
		return New(cfg, Options{Name: env.Name, Dir: env.Dir, Facts: env.Facts, Clock: env.Clock, Logger: env.Logger, HTTPClient: env.HTTPClient, Getenv: env.Getenv})
	})
}

// Config is the deployer's configuration section; the zero value promotes
// the staging-validated deployment of the project the environment names.
type Config struct {
	// Project is the project's id or name; default VERCEL_PROJECT_ID, else
	// the projectId of .vercel/project.json.
	Project string `yaml:"project"`
	// Team is the team's team_… id or slug; default VERCEL_ORG_ID, else the
	// orgId of .vercel/project.json.
	Team string `yaml:"team"`
	// Mode is promote (default: put the build staging validated into
	// production) or build (build the release tag for production).
	Mode string `yaml:"mode"`
	// TokenEnv names the variable holding the token (default VERCEL_TOKEN).
	TokenEnv string `yaml:"token_env"`
	// URL is the production URL, for the report and the health checks
	// (default: the deployment's first alias).
	URL string `yaml:"url"`
	// Timeout is the deadline for the deployment to be READY and live
	// (default 20m).
	Timeout time.Duration `yaml:"timeout"`
	// PollInterval is the first poll's interval (default 2s); it backs off
	// to 15s.
	PollInterval time.Duration `yaml:"poll_interval"`
	// CancelOnTimeout cancels the deployment when the deadline passes.
	CancelOnTimeout bool `yaml:"cancel_on_timeout"`
	// KeepRollbackPin stops instead of promoting when an earlier instant
	// rollback pinned production (automatic domain assignment off).
	KeepRollbackPin bool `yaml:"keep_rollback_pin"`
	// MaxRateLimitWait is the longest wait for a rate limit to reset
	// (default 2m).
	MaxRateLimitWait time.Duration `yaml:"max_rate_limit_wait"`
	// APIURL is the REST API's root (default https://api.vercel.com).
	APIURL string `yaml:"api_url"`
	// GitSource names the repository a build-mode deployment is built
	// from; default the project's linked repository.
	GitSource *GitSource `yaml:"git_source"`
	// RollingRelease says how shipprod treats the project's Rolling
	// Releases when the Pipeline rolls releases out in stages.
	RollingRelease *RollingReleaseConfig `yaml:"rolling_release"`
}

// GitSource names the repository a build-mode deployment is built from.
type GitSource struct {
	// Type is github, gitlab or bitbucket.
	Type string `yaml:"type"`
	// RepoID is the GitHub repository's numeric id (type github; or org
	// and repo).
	RepoID string `yaml:"repo_id"`
	// Org is the GitHub repository's owner (type github).
	Org string `yaml:"org"`
	// Repo is the GitHub repository's name (type github).
	Repo string `yaml:"repo"`
	// ProjectID is the GitLab project's id (type gitlab).
	ProjectID string `yaml:"project_id"`
	// Owner is the Bitbucket workspace (type bitbucket).
	Owner string `yaml:"owner"`
	// Slug is the Bitbucket repository's slug (type bitbucket).
	Slug string `yaml:"slug"`
}

// Options are the run-time things the deployer needs besides its Config.
type Options struct {
	// Name is the provider name put in Deployments (default Name).
	Name string
	// Dir is where .vercel/project.json is looked for, and the git
	// repository whose tags name the release production runs.
	Dir string
	// Facts may hold FactStagingDeploymentID.
	Facts      map[string]string
	Clock      shipprod.Clock
	Logger     *slog.Logger
	HTTPClient *http.Client
	// Getenv reads the token and VERCEL_ORG_ID/VERCEL_PROJECT_ID; nil means os.Getenv.
	Getenv func(string) string
}

// Deployer deploys to one Vercel project. It implements shipprod.Deployer,
// shipprod.Rollbacker, shipprod.ProductionReader, shipprod.CandidateFinder,
// shipprod.Follower, shipprod.Preflighter, shipprod.ActionPlanner and
// shipprod.TrafficShifter (with Vercel Rolling Releases).
type Deployer struct {
	cfg     Config
	name    string
	project string // as configured: id or name
	team    string // for messages and the CLI commands
	// projectFrom says where the project setting came from.
	projectFrom string
	facts       map[string]string
	api         *client
	repo        *git.Repo
	clock       shipprod.Clock
	log         *slog.Logger
	// rollout is the Pipeline's rollout in stages (UseRollout), nil when
	// it has none.
	rollout *shipprod.Rollout
}

var (
	_ shipprod.Deployer       = (*Deployer)(nil)
	_ shipprod.Rollbacker     = (*Deployer)(nil)
	_ shipprod.ActionPlanner  = (*Deployer)(nil)
	_ shipprod.TrafficShifter = (*Deployer)(nil)
)

// New returns a Deployer for cfg. It resolves the project and team as the
// Vercel CLI does (configuration, then VERCEL_PROJECT_ID/VERCEL_ORG_ID,
// then .vercel/project.json) and reads the token; it makes no request.
func New(cfg Config, opts Options) (*Deployer, error) {
	getenv := opts.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	cfg, base, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	d := &Deployer{cfg: cfg, name: cmp.Or(opts.Name, Name), facts: opts.Facts, repo: git.Open(opts.Dir), clock: opts.Clock, log: opts.Logger}
	if d.clock == nil {
		d.clock = shipprod.SystemClock()
	}
	if d.log == nil {
		d.log = slog.New(slog.DiscardHandler)
	}
	if d.project, d.projectFrom, d.team, err = resolveProject(cfg.Project, cfg.Team, getenv, opts.Dir); err != nil {
		return nil, err
	}
	token := getenv(cfg.TokenEnv)
	if token == "" {
		return nil, fmt.Errorf("project %s: no Vercel token: set %s (create one at vercel.com/account/tokens)", d.project, cfg.TokenEnv)
	}
	d.api = newClient(base, token, teamScope(d.team), opts.HTTPClient, d.clock, cfg.MaxRateLimitWait, func(w httpretry.Wait) {
		d.log.Warn("vercel: waiting before retrying", "reason", w.Reason, "status", w.Status, "wait", w.Wait, "attempt", w.Attempt, "refused", w.Refused, "method", w.Method)
	})
	d.log.Debug("vercel deployer", "project", d.project, "from", d.projectFrom, "team", d.team, "mode", cfg.Mode)
	return d, nil
}

// withDefaults checks cfg, fills in the defaults and returns it with the
// parsed API URL.
func (cfg Config) withDefaults() (Config, *url.URL, error) {
	cfg.Mode = cmp.Or(cfg.Mode, ModePromote)
	if cfg.Mode != ModePromote && cfg.Mode != ModeBuild {
		return cfg, nil, fmt.Errorf("mode %q: want %q or %q", cfg.Mode, ModePromote, ModeBuild)
	}
	cfg.TokenEnv = cmp.Or(cfg.TokenEnv, DefaultTokenEnv)
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = DefaultPollInterval
	}
	if cfg.MaxRateLimitWait <= 0 {
		cfg.MaxRateLimitWait = DefaultMaxRateLimitWait
	}
	cfg.APIURL = cmp.Or(cfg.APIURL, DefaultAPIURL)
	base, err := url.Parse(cfg.APIURL)
	if err != nil || (base.Scheme != "https" && base.Scheme != "http") || base.Host == "" {
		return cfg, nil, fmt.Errorf("api_url %q: want an http(s) URL", cfg.APIURL)
	}
	if base.User != nil {
		return cfg, nil, errors.New("api_url must not carry credentials; the token is read from the environment")
	}
	return cfg, base, nil
}

// resolveProject finds the project, where it came from, and the team, with
// the Vercel CLI's fallbacks: the configuration; VERCEL_PROJECT_ID with
// VERCEL_ORG_ID; .vercel/project.json in dir. A configured team wins over
// the fallbacks' org.
func resolveProject(project, team string, getenv func(string) string, dir string) (string, string, string, error) {
	from := "the vercel section"
	if project == "" {
		if p := getenv("VERCEL_PROJECT_ID"); p != "" {
			project, from = p, "VERCEL_PROJECT_ID"
			if team == "" {
				team = orgTeam(getenv("VERCEL_ORG_ID"))
			}
		}
	}
	if project == "" {
		link, path, err := readProjectJSON(dir)
		if err != nil {
			return "", "", "", err
		}
		if link.ProjectID != "" {
			project, from = link.ProjectID, path
			if team == "" {
				team = orgTeam(link.OrgID)
			}
		}
	}
	if project == "" {
		return "", "", "", errors.New("no Vercel project: set project in the vercel section, or VERCEL_PROJECT_ID and VERCEL_ORG_ID, or link the directory with `vercel link` (.vercel/project.json)")
	}
	if team == "" {
		team = orgTeam(getenv("VERCEL_ORG_ID"))
	}
	return project, from, team, nil
}

// teamScope is the query that scopes every request to the team: teamId
// for a team id, slug for a team slug, nothing for a personal account.
func teamScope(team string) url.Values {
	scope := url.Values{}
	switch {
	case strings.HasPrefix(team, "team_"):
		scope.Set("teamId", team)
	case team != "":
		scope.Set("slug", team)
	}
	return scope
}

// orgTeam maps a Vercel orgId to a team: team ids start with team_; any
// other orgId is a personal account, which takes no team parameter.
func orgTeam(orgID string) string {
	if strings.HasPrefix(orgID, "team_") {
		return orgID
	}
	return ""
}

// projectLink is .vercel/project.json, as `vercel link` writes it.
type projectLink struct {
	ProjectID string `json:"projectId"`
	OrgID     string `json:"orgId"`
}

func readProjectJSON(dir string) (projectLink, string, error) {
	path := filepath.Join(dir, ".vercel", "project.json")
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return projectLink{}, path, nil
	}
	if err != nil {
		return projectLink{}, path, err
	}
	var link projectLink
	if err := json.Unmarshal(data, &link); err != nil {
		return projectLink{}, path, fmt.Errorf("%s: not the JSON `vercel link` writes: %w", path, err)
	}
	return link, path, nil
}

// String names the deployer in plans and messages.
func (d *Deployer) String() string { return fmt.Sprintf("%s project %s", d.name, d.project) }

// PlanActions lists what Deploy does for rel, without asking Vercel.
func (d *Deployer) PlanActions(ctx context.Context, rel shipprod.Release) ([]shipprod.Action, error) {
	target := "vercel project " + d.project
	live, built := fmt.Sprintf("wait until it is live (deadline %s)", d.cfg.Timeout), fmt.Sprintf("wait until it is READY and live (deadline %s)", d.cfg.Timeout)
	if d.rollout != nil {
		live = fmt.Sprintf("wait until its Vercel rolling release has started: %d%% of production traffic on it, the rest on the current deployment, moved on by the rollout step (deadline %s)",
			d.rollout.Stages[0].Percent, d.cfg.Timeout)
		built = live
	}
	var desc string
	switch {
	case d.cfg.Mode == ModeBuild:
		desc = fmt.Sprintf("create a production deployment of Vercel project %s from tag %s and %s", d.project, rel.Tag, built)
	case d.facts[FactStagingDeploymentID] != "":
		desc = fmt.Sprintf("promote staging-validated deployment %s of Vercel project %s to production (a production rebuild if it is a preview) and %s", d.facts[FactStagingDeploymentID], d.project, live)
	default:
		desc = fmt.Sprintf("promote the READY deployment of %s's commit in Vercel project %s to production (a production rebuild if it is a preview) and %s", releaseName(rel), d.project, live)
	}
	deploy := shipprod.Action{Kind: shipprod.ActionDeploy, Target: target, Description: desc}
	if !d.configure() {
		return []shipprod.Action{deploy}, nil
	}
	cfg := shipprod.Action{Kind: shipprod.ActionAPI, Target: target,
		Description: fmt.Sprintf("configure Vercel project %s's rolling releases as shipprod drives them, if they differ: manual approval, stages %s (PATCH /v1/projects/%s/rolling-release/config)",
			d.project, fmtPercents(d.rolloutPercents()), d.project)}
	return []shipprod.Action{cfg, deploy}, nil
}

func releaseName(rel shipprod.Release) string {
	if rel.Tag != "" {
		return rel.Tag
	}
	return rel.Version
}

// opError names the project and deployment of a failed operation.
type opError struct {
	op, project, deployment string
	err                     error
}

func (e *opError) Error() string {
	where := "vercel project " + e.project
	if e.deployment != "" {
		where += ", deployment " + e.deployment
	}
	return fmt.Sprintf("%s: %s: %v", where, e.op, e.err)
}

func (e *opError) Unwrap() error { return e.err }

// run is the state of one call of the Deployer (Deploy, Follow, Rollback…).
type run struct {
	d     *Deployer
	op    string
	dep   shipprod.Deployment
	proj  *project
	depID string // the deployment in question, for messages
	// rr is what the run knows of the project's rolling releases (nil:
	// not read, or not used).
	rr *rolling
}

func (d *Deployer) newRun(op string) *run {
	return &run{d: d, op: op, dep: shipprod.Deployment{Provider: d.name, Environment: "production", StartedAt: d.clock.Now(), Details: map[string]string{}}}
}

func (r *run) fail(err error) (shipprod.Deployment, error) {
	r.dep.FinishedAt = r.d.clock.Now()
	return r.dep, &opError{op: r.op, project: r.d.project, deployment: r.depID, err: err}
}

func (r *run) project(ctx context.Context) error {
	p, err := r.d.api.getProject(ctx, r.d.project)
	if err != nil {
		return err
	}
	r.proj = p
	r.dep.Details["project_id"] = p.ID
	if p.pinnedByRollback() {
		r.note("production is pinned by an earlier instant rollback (autoAssignCustomDomains is false): new production deployments stay STAGED until one is promoted")
	}
	return nil
}

func (r *run) note(msg string) {
	r.d.log.Warn("vercel: "+msg, "project", r.d.project)
	if prev := r.dep.Details["note"]; prev != "" {
		msg = prev + "; " + msg
	}
	r.dep.Details["note"] = msg
}

// Deploy puts rel into production: in promote mode the staging-validated
// build, in build mode a new production build of the release tag.
func (d *Deployer) Deploy(ctx context.Context, rel shipprod.Release) (shipprod.Deployment, error) {
	r := d.newRun("deploying " + releaseName(rel))
	if err := ctx.Err(); err != nil {
		return r.fail(err)
	}
	if err := r.project(ctx); err != nil {
		return r.fail(err)
	}
	if err := r.prepareRolling(ctx); err != nil {
		return r.fail(err)
	}
	if d.cfg.Mode == ModeBuild {
		return r.build(ctx, rel)
	}
	cand, err := r.candidate(ctx, rel)
	if err != nil {
		return r.fail(err)
	}
	return r.promoteDeployment(ctx, rel, cand)
}

// candidate is the READY deployment promote mode puts into production: the
// one staging validated (its id in the state file), else the newest READY
// deployment of the commit that was validated.
func (r *run) candidate(ctx context.Context, rel shipprod.Release) (*deployment, error) {
	if id := r.d.facts[FactStagingDeploymentID]; id != "" {
		return r.stagingDeployment(ctx, rel, id)
	}
	return r.findByCommit(ctx, rel)
}

// stagingDeployment reads the deployment id of the project, as staging
// validated it.
func (r *run) stagingDeployment(ctx context.Context, rel shipprod.Release, id string) (*deployment, error) {
	r.depID = id
	if !strings.HasPrefix(id, "dpl_") {
		// A hostname would be resolved through its alias, possibly to
		// another deployment than the one staging validated.
		return nil, fmt.Errorf("staging deployment %q is not a dpl_ id; record the deployment's id, not its URL", id)
	}
	cand, err := r.d.api.getDeployment(ctx, id)
	if err != nil {
		return nil, err
	}
	if cand.ProjectID != "" && cand.ProjectID != r.proj.ID {
		return nil, fmt.Errorf("the deployment belongs to project %s, not %s", cand.ProjectID, r.proj.ID)
	}
	if sha := cand.sha(); sha != "" && rel.Commit != "" && sha != rel.Commit {
		r.dep.Details["staging_commit"] = sha
		r.d.log.Info("vercel: promoting the staging build of another commit than the release commit (the version bump comes after staging)", "deployment", id, "staging_commit", sha, "release_commit", rel.Commit)
	}
	return cand, nil
}

// validatedCommits are the commits whose build promote mode looks for, in
// order: the commit the release was decided at (rel.Base) — the version
// commit shipprod makes on top of it never has a build of its own — or,
// for a release given without a version step, its commit and then that
// commit's parent (the release commit may be a version commit too).
func (r *run) validatedCommits(ctx context.Context, rel shipprod.Release) []string {
	if rel.Base != "" {
		return []string{rel.Base}
	}
	commit := rel.Commit
	if commit == "" && rel.Tag != "" && git.CheckTagName(ctx, rel.Tag) == nil {
		commit, _, _ = r.d.repo.ResolveCommit(ctx, "refs/tags/"+rel.Tag)
	}
	if commit == "" {
		return nil
	}
	out := []string{commit}
	if parent, ok, err := r.d.repo.ResolveCommit(ctx, commit+"^1"); err == nil && ok {
		out = append(out, parent)
	}
	return out
}

// findByCommit finds the newest READY deployment of the commit that was
// validated (see validatedCommits), preferring a production deployment
// (promoted without a rebuild).
func (r *run) findByCommit(ctx context.Context, rel shipprod.Release) (*deployment, error) {
	commits := r.validatedCommits(ctx, rel)
	if len(commits) == 0 {
		return nil, errors.New("no staging deployment id (staging.deployment_id) and no validated commit to find the staging build by; set one, or use mode: build")
	}
	for _, sha := range commits {
		list, err := r.d.api.listDeployments(ctx, r.proj.ID, url.Values{"sha": {sha}, "state": {"READY"}})
		if err != nil {
			return nil, err
		}
		if dd := pickReady(list, sha); dd != nil {
			return dd, nil
		}
	}
	short := make([]string, len(commits))
	for i, c := range commits {
		short[i] = git.ShortSHA(c)
	}
	return nil, fmt.Errorf("no READY deployment of the validated commit %s (%s): deploy it to staging first, set staging.deployment_id, or use mode: build", strings.Join(short, " or "), releaseName(rel))
}

// pickReady picks the READY deployment of sha to promote: a production one
// if there is one, else the newest preview.
func pickReady(list []deployment, sha string) *deployment {
	var preview *deployment
	for i := range list {
		dd := &list[i]
		if dd.sha() != sha || dd.state() != "READY" {
			continue // the filter is the server's; check it anyway
		}
		if dd.target() == "production" {
			return dd
		}
		if preview == nil {
			preview = dd
		}
	}
	return preview
}

// promoteDeployment promotes a READY deployment: a production one through
// the promote endpoint, a preview one through a production rebuild.
func (r *run) promoteDeployment(ctx context.Context, rel shipprod.Release, cand *deployment) (shipprod.Deployment, error) {
	r.depID = cand.id()
	if err := promotable(cand); err != nil {
		return r.fail(err)
	}
	if cand.target() != "production" {
		return r.rebuildForProduction(ctx, rel, cand)
	}
	return r.promote(ctx, rel, cand)
}

// promotable says why a deployment cannot be promoted; nil when it is
// READY.
func promotable(cand *deployment) error {
	switch cand.state() {
	case "READY":
		return nil
	case "ERROR", "CANCELED", "BLOCKED":
		return fmt.Errorf("the deployment to promote is %s: %s", cand.state(), failureMessage(cand))
	}
	return fmt.Errorf("the deployment to promote is %s, not READY: wait for it to finish, then run again", cand.state())
}

// earlierRebuild is the production rebuild of preview that an earlier run
// started (and that has not failed), or nil when there is none.
func (r *run) earlierRebuild(ctx context.Context, preview *deployment) (*deployment, error) {
	existing, err := r.d.api.listDeployments(ctx, r.proj.ID, url.Values{"target": {"production"}, "sha": {preview.sha()}})
	if err != nil {
		return nil, err
	}
	for i := range existing {
		if e := &existing[i]; e.Meta["shipprodPromotedFrom"] == preview.id() && !failed(e.state()) {
			return e, nil
		}
	}
	return nil, nil
}

// rebuildForProduction promotes a preview deployment the way Vercel does:
// a new production deployment of the same source.
func (r *run) rebuildForProduction(ctx context.Context, rel shipprod.Release, preview *deployment) (shipprod.Deployment, error) {
	r.dep.Details["promoted_from"] = preview.id()
	// A resumed run finds the rebuild it started.
	e, err := r.earlierRebuild(ctx, preview)
	if err != nil {
		return r.fail(err)
	}
	if e != nil {
		r.d.log.Info("vercel: reusing the production rebuild of the preview", "deployment", e.id(), "preview", preview.id())
		return r.followToLive(ctx, rel, e.id())
	}
	body := createRequest{Name: r.proj.Name, Project: r.proj.ID, Target: "production", DeploymentID: preview.id(),
		Meta: map[string]string{"action": "promote", "shipprodPromotedFrom": preview.id(), "shipprodVersion": rel.Version, "shipprodTag": rel.Tag}}
	created, err := r.create(ctx, body, preview.sha())
	if err != nil {
		return r.fail(err)
	}
	r.accepted(ctx, created.id(), preview.sha())
	return r.followToLive(ctx, rel, created.id())
}

// build creates (or, on a re-run, finds) a production deployment of the
// release tag.
func (r *run) build(ctx context.Context, rel shipprod.Release) (shipprod.Deployment, error) {
	if rel.Tag == "" || rel.Commit == "" {
		return r.fail(errors.New("build mode needs the release tag and commit"))
	}
	existing, err := r.d.api.listDeployments(ctx, r.proj.ID, url.Values{"target": {"production"}, "sha": {rel.Commit}})
	if err != nil {
		return r.fail(err)
	}
	for i := range existing {
		e := &existing[i]
		if e.sha() == rel.Commit && e.target() == "production" && !failed(e.state()) {
			r.d.log.Info("vercel: reusing the production deployment of the release commit", "deployment", e.id(), "state", e.state())
			return r.followToLive(ctx, rel, e.id())
		}
	}
	src, err := r.gitSource(rel)
	if err != nil {
		return r.fail(err)
	}
	body := createRequest{Name: r.proj.Name, Project: r.proj.ID, Target: "production", GitSource: src,
		Meta: map[string]string{"shipprodVersion": rel.Version, "shipprodTag": rel.Tag}}
	created, err := r.create(ctx, body, rel.Commit)
	if err != nil {
		return r.fail(err)
	}
	r.accepted(ctx, created.id(), rel.Commit)
	return r.followToLive(ctx, rel, created.id())
}

func failed(state string) bool { return state == "ERROR" || state == "CANCELED" || state == "BLOCKED" }

func (r *run) gitSource(rel shipprod.Release) (map[string]any, error) {
	src := map[string]any{"ref": rel.Tag, "sha": rel.Commit}
	if g := r.d.cfg.GitSource; g != nil {
		src["type"] = g.Type
		switch {
		case g.RepoID != "":
			src["repoId"] = g.RepoID
		case g.ProjectID != "":
			src["projectId"] = g.ProjectID
		case g.Org != "" && g.Repo != "":
			src["org"], src["repo"] = g.Org, g.Repo
		case g.Owner != "" && g.Slug != "":
			src["owner"], src["slug"] = g.Owner, g.Slug
		default:
			return nil, errors.New("git_source needs repo_id, org and repo, project_id, or owner and slug")
		}
		return src, nil
	}
	link := r.proj.Link
	typ, _ := link["type"].(string)
	if typ == "" {
		return nil, errors.New("the project is not linked to a git repository; set git_source in the vercel section")
	}
	src["type"] = typ
	switch {
	case link["repoId"] != nil:
		src["repoId"] = link["repoId"]
	case link["projectId"] != nil:
		src["projectId"] = link["projectId"]
	case link["org"] != nil && link["repo"] != nil:
		src["org"], src["repo"] = link["org"], link["repo"]
	case link["owner"] != nil && link["slug"] != nil:
		src["owner"], src["slug"] = link["owner"], link["slug"]
	default:
		return nil, fmt.Errorf("cannot tell the %s repository from the project's link; set git_source in the vercel section", typ)
	}
	return src, nil
}

// create creates a deployment. A 5xx or a dropped connection may hide a
// deployment that was created anyway, so before trying again it looks for
// one carrying this attempt's marker.
func (r *run) create(ctx context.Context, body createRequest, sha string) (*deployment, error) {
	marker := newMarker()
	body.Meta["shipprodAttempt"] = marker
	since := r.d.clock.Now().Add(-time.Minute).UnixMilli()
	var lastErr error
	for attempt := 1; attempt <= 3; attempt++ {
		created, err := r.d.api.createDeployment(ctx, body)
		if err == nil {
			r.d.log.Info("vercel: created production deployment", "deployment", created.id(), "project", r.d.project)
			return created, nil
		}
		if ctx.Err() != nil || !transient(err) {
			return nil, err
		}
		lastErr = err
		r.d.log.Warn("vercel: creating the deployment failed; checking whether it was created anyway", "error", err, "attempt", attempt)
		if err := r.d.clock.Sleep(ctx, time.Duration(attempt)*2*time.Second); err != nil {
			return nil, err
		}
		list, lerr := r.d.api.listDeployments(ctx, r.proj.ID, url.Values{"target": {"production"}, "since": {fmt.Sprint(since)}})
		if lerr != nil {
			continue
		}
		for i := range list {
			if list[i].Meta["shipprodAttempt"] == marker {
				return &list[i], nil
			}
		}
	}
	return nil, fmt.Errorf("creating the production deployment failed 3 times: %w", lastErr)
}

func newMarker() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// errStaged means a production deployment is READY but STAGED because
// automatic domain assignment is off.
var errStaged = errors.New("READY but STAGED")

// followToLive follows a production deployment until it serves production;
// a build left STAGED by a rollback pin is promoted (or reported).
func (r *run) followToLive(ctx context.Context, rel shipprod.Release, id string) (shipprod.Deployment, error) {
	r.depID = id
	dd, err := r.d.follow(ctx, id, r.proj.pinnedByRollback())
	if errors.Is(err, errStaged) {
		if r.d.cfg.KeepRollbackPin {
			return r.fail(fmt.Errorf("the deployment is READY but STAGED and serves no traffic: production is pinned by an earlier instant rollback (autoAssignCustomDomains is false) and keep_rollback_pin is set; promote it with `vercel promote %s%s`, or unset keep_rollback_pin", id, r.d.scopeFlag()))
		}
		r.note("the new build stayed STAGED because of the rollback pin; promoting it (this turns automatic domain assignment back on)")
		return r.promote(ctx, rel, dd)
	}
	if err != nil {
		return r.fail(err)
	}
	if prev := r.proj.productionID(); prev != id {
		r.dep.PreviousID = prev
	}
	if dd.ReadySubstate == "ROLLING" {
		// It took the domains over as the canary of a rolling release.
		rr, err := r.d.awaitCanary(ctx, r.proj.ID, id)
		if err != nil {
			return r.fail(err)
		}
		return r.finishCanary(rel, dd, rr)
	}
	r.dep.PreviousID = r.previousFor(ctx, rel, id)
	return r.finish(rel, dd)
}

// promote moves production to a READY production deployment and follows the
// promotion until it succeeds.
func (r *run) promote(ctx context.Context, rel shipprod.Release, dd *deployment) (shipprod.Deployment, error) {
	id := dd.id()
	r.depID = id
	if r.proj.productionID() == id && !r.proj.pinnedByRollback() && dd.live() {
		r.d.log.Info("vercel: the deployment already serves production", "deployment", id)
		r.dep.PreviousID = r.previousFor(ctx, rel, id)
		return r.finish(rel, dd)
	}
	if prev := r.proj.productionID(); prev != id {
		r.dep.PreviousID = prev
	}
	if r.rr.on() && r.proj.productionID() != "" {
		return r.promoteRolling(ctx, rel, dd)
	}
	requested := r.d.clock.Now()
	if err := r.d.api.promote(ctx, r.proj.ID, id); err != nil {
		return r.fail(err)
	}
	r.accepted(ctx, id, dd.sha())
	if err := r.d.awaitAliasRequest(ctx, r.proj.ID, "promote", id, requested); err != nil {
		return r.fail(err)
	}
	final, err := r.d.api.getDeployment(ctx, id)
	if err != nil {
		return r.fail(err)
	}
	if r.dep.PreviousID == "" {
		r.dep.PreviousID = r.previousFor(ctx, rel, id)
	}
	return r.finish(rel, final)
}

// previousFor finds the production deployment of the previous release, when
// production already served this one (a re-run) and the project no longer
// says what came before.
func (r *run) previousFor(ctx context.Context, rel shipprod.Release, id string) string {
	if r.dep.PreviousID != "" || rel.PreviousCommit == "" {
		return r.dep.PreviousID
	}
	list, err := r.d.api.listDeployments(ctx, r.proj.ID, url.Values{"target": {"production"}, "sha": {rel.PreviousCommit}, "state": {"READY"}})
	if err != nil {
		r.d.log.Warn("vercel: could not find the previous production deployment", "error", err)
		return ""
	}
	for _, e := range list {
		if e.id() != id && e.sha() == rel.PreviousCommit {
			return e.id()
		}
	}
	return ""
}

// finish fills the Deployment from the live deployment.
func (r *run) finish(rel shipprod.Release, dd *deployment) (shipprod.Deployment, error) {
	r.dep.ID = dd.id()
	r.dep.Commit = dd.sha()
	if r.dep.Commit == "" {
		r.dep.Commit = rel.Commit
	}
	r.dep.URL = r.d.cfg.URL
	if r.dep.URL == "" {
		switch {
		case len(dd.Alias) > 0:
			r.dep.URL = "https://" + dd.Alias[0]
		case dd.URL != "":
			r.dep.URL = "https://" + dd.URL
		}
	}
	if dd.URL != "" {
		r.dep.Details["deployment_url"] = "https://" + dd.URL
	}
	if dd.InspectorURL != "" {
		r.dep.Details["inspector_url"] = dd.InspectorURL
	}
	if r.dep.PreviousID != "" {
		r.dep.RollbackSteps = []string{
			fmt.Sprintf("vercel rollback %s%s --yes", r.dep.PreviousID, r.d.scopeFlag()),
			fmt.Sprintf("POST %s/v1/projects/%s/rollback/%s%s (Authorization: Bearer $%s)", strings.TrimSuffix(r.d.cfg.APIURL, "/"), r.proj.ID, r.dep.PreviousID, r.d.teamQuery(), r.d.cfg.TokenEnv),
		}
	}
	r.dep.FinishedAt = r.d.clock.Now()
	return r.dep, nil
}

func (d *Deployer) scopeFlag() string {
	if d.team == "" {
		return ""
	}
	return " --scope " + d.team
}

func (d *Deployer) teamQuery() string {
	switch {
	case strings.HasPrefix(d.team, "team_"):
		return "?teamId=" + d.team
	case d.team != "":
		return "?slug=" + d.team
	}
	return ""
}

// follow polls a deployment by id until it is READY and live, with backoff
// and a deadline. With pinned set, a READY but STAGED production deployment
// returns errStaged (it would never go live on its own).
func (d *Deployer) follow(ctx context.Context, id string, pinned bool) (*deployment, error) {
	deadline := d.clock.Now().Add(d.cfg.Timeout)
	interval := d.cfg.PollInterval
	var last *deployment
	var lastErr error
	errs := 0
	for {
		dd, err := d.api.getDeployment(ctx, id)
		switch {
		case err != nil && ctx.Err() != nil:
			return nil, err
		case err != nil && transient(err) && errs < 3:
			errs++
			lastErr = err
			d.log.Warn("vercel: polling the deployment failed; trying again", "deployment", id, "error", err)
		case err != nil:
			return nil, err
		default:
			errs, last = 0, dd
			if dd.id() != "" && dd.id() != id {
				return nil, fmt.Errorf("asked for deployment %s, Vercel answered with %s", id, dd.id())
			}
			switch st := dd.state(); st {
			case "READY":
				if dd.AliasError != nil {
					return dd, fmt.Errorf("the deployment is READY but assigning its production domains failed: %s: %s", dd.AliasError.Code, dd.AliasError.Message)
				}
				if dd.live() || dd.ReadySubstate == "ROLLING" {
					// ROLLING: the canary of a rolling release.
					return dd, nil
				}
				if pinned && dd.ReadySubstate == "STAGED" {
					return dd, errStaged
				}
			case "ERROR", "CANCELED", "BLOCKED":
				return dd, fmt.Errorf("the deployment is %s: %s", st, failureMessage(dd))
			}
			if dd.ChecksConclusion == "failed" {
				return dd, errors.New("the deployment's checks failed (checksConclusion failed)")
			}
			d.log.Debug("vercel: deployment not live yet", "deployment", id, "state", dd.state(), "substate", dd.ReadySubstate)
		}
		if !d.clock.Now().Before(deadline) {
			return last, d.timedOut(ctx, id, last, lastErr)
		}
		if err := d.clock.Sleep(ctx, interval); err != nil {
			return nil, fmt.Errorf("waiting for the deployment: %w", err)
		}
		interval = min(interval*3/2, MaxPollInterval)
	}
}

func failureMessage(dd *deployment) string {
	var parts []string
	if dd.ErrorCode != "" {
		parts = append(parts, dd.ErrorCode)
	}
	if dd.ErrorMessage != "" {
		parts = append(parts, dd.ErrorMessage)
	}
	if dd.ReadyStateReason != "" {
		parts = append(parts, dd.ReadyStateReason)
	}
	if len(parts) == 0 {
		return "Vercel gave no reason; see " + cmp.Or(dd.InspectorURL, "the deployment's page")
	}
	msg := strings.Join(parts, ": ")
	if dd.InspectorURL != "" {
		msg += " (" + dd.InspectorURL + ")"
	}
	return msg
}

// TimeoutError means a deployment was not live by the deadline.
type TimeoutError struct {
	Timeout time.Duration
	// State and Substate are the last seen (empty if never seen).
	State, Substate string
	// Why explains a known cause (a builds queue, alias assignment).
	Why string
	// Canceled is set when the deployment was cancelled at the deadline.
	Canceled bool
	// Err is the last polling error, if the last polls failed.
	Err error
}

func (e *TimeoutError) Error() string {
	msg := fmt.Sprintf("not live within %s", e.Timeout)
	if e.State != "" {
		msg += fmt.Sprintf(" (last seen %s", e.State)
		if e.Substate != "" {
			msg += "/" + e.Substate
		}
		msg += ")"
	}
	if e.Why != "" {
		msg += ": " + e.Why
	}
	if e.Err != nil {
		msg += fmt.Sprintf("; last poll failed: %v", e.Err)
	}
	if e.Canceled {
		msg += "; the deployment was cancelled"
	} else {
		msg += "; the deployment was left running (set cancel_on_timeout to cancel it)"
	}
	return msg
}

func (e *TimeoutError) Unwrap() error { return e.Err }

func (d *Deployer) timedOut(ctx context.Context, id string, last *deployment, lastErr error) error {
	te := &TimeoutError{Timeout: d.cfg.Timeout, Err: lastErr}
	if last != nil {
		te.State, te.Substate = last.state(), last.ReadySubstate
		switch {
		case last.IsInConcurrentBuildsQueue:
			te.Why = "waiting in the team's concurrent builds queue (other builds are running)"
		case last.IsInSystemBuildsQueue:
			te.Why = "waiting in Vercel's system builds queue"
		case last.state() == "READY":
			te.Why = "built, but its production domains were not assigned (see vercel.com/status, or promote it by hand)"
		case last.state() == "BUILDING":
			te.Why = "the build did not finish"
		}
	}
	if d.cfg.CancelOnTimeout {
		if err := d.api.cancel(ctx, id); err != nil {
			d.log.Warn("vercel: cancelling the deployment at the deadline failed", "deployment", id, "error", err)
		} else {
			te.Canceled = true
		}
	}
	return te
}

// poll calls try until it reports done, pausing between calls on the
// clock (from min(PollInterval, 1s), backing off to MaxPollInterval). It
// returns try's error unless that is a transient API error (tried again),
// late's error once Timeout has passed, and the context's error, as
// "waiting for <what>", when the context ends during a pause.
func (d *Deployer) poll(ctx context.Context, what string, late func() error, try func() (done bool, err error)) error {
	deadline := d.clock.Now().Add(d.cfg.Timeout)
	interval := min(d.cfg.PollInterval, time.Second)
	for {
		done, err := try()
		switch {
		case err != nil && (ctx.Err() != nil || !transient(err)):
			return err
		case err == nil && done:
			return nil
		}
		if !d.clock.Now().Before(deadline) {
			return late()
		}
		if err := d.clock.Sleep(ctx, interval); err != nil {
			return fmt.Errorf("waiting for %s: %w", what, err)
		}
		interval = min(interval*3/2, MaxPollInterval)
	}
}

// awaitAliasRequest follows project.lastAliasRequest until the promote or
// rollback to id requested at (or after) since has finished.
func (d *Deployer) awaitAliasRequest(ctx context.Context, projectID, kind, id string, since time.Time) error {
	var status string
	return d.poll(ctx, "the "+kind, func() error {
		return fmt.Errorf("the %s did not finish within %s (last status %q)", kind, d.cfg.Timeout, cmp.Or(status, "not started"))
	}, func() (bool, error) {
		p, err := d.api.getProject(ctx, projectID)
		if err != nil {
			return false, err
		}
		req := p.LastAliasRequest
		ours := req != nil && req.ToDeploymentID == id && req.Type == kind &&
			(req.RequestedAt == 0 || req.RequestedAt >= since.Add(-time.Minute).UnixMilli())
		if !ours {
			// Not visible yet; or another request replaced ours, which the
			// production target settles.
			return p.productionID() == id && req != nil && req.Type == kind, nil
		}
		status = req.JobStatus
		switch req.JobStatus {
		case "succeeded":
			return true, nil
		case "skipped":
			if p.productionID() == id {
				return true, nil
			}
			return false, fmt.Errorf("the %s was skipped by Vercel", kind)
		case "failed":
			aliases, aerr := d.api.failedAliases(ctx, projectID, kind)
			if aerr != nil || len(aliases) == 0 {
				return false, fmt.Errorf("the %s failed", kind)
			}
			return false, fmt.Errorf("the %s failed for aliases %s", kind, strings.Join(aliases, ", "))
		}
		return false, nil
	})
}

// Rollback returns production to the deployment that served it before
// failed (failed.PreviousID, or the newest production deployment of
// to.Commit), through Vercel's instant rollback. Vercel then keeps new
// production deployments STAGED until the next promote.
func (d *Deployer) Rollback(ctx context.Context, failed shipprod.Deployment, to shipprod.Release) (shipprod.Deployment, error) {
	r := d.newRun("rolling back to " + cmp.Or(releaseName(to), "the previous deployment"))
	r.depID = failed.PreviousID
	if err := ctx.Err(); err != nil {
		return r.fail(err)
	}
	if err := r.project(ctx); err != nil {
		return r.fail(err)
	}
	target := failed.PreviousID
	if target == "" && to.Commit != "" {
		list, err := d.api.listDeployments(ctx, r.proj.ID, url.Values{"target": {"production"}, "sha": {to.Commit}, "state": {"READY"}})
		if err != nil {
			return r.fail(err)
		}
		for _, e := range list {
			if e.sha() == to.Commit {
				target = e.id()
				break
			}
		}
	}
	if target == "" {
		return r.fail(errors.New("no previous production deployment is known to roll back to"))
	}
	r.depID = target
	r.dep.PreviousID = failed.ID
	active, err := d.activeRelease(ctx, r.proj)
	if err != nil {
		return r.fail(fmt.Errorf("reading the rolling release in flight: %w", err))
	}
	if active != nil {
		// Production still names the deployment the release started
		// from: the instant rollback is what aborts the release.
		r.note(fmt.Sprintf("the rollback aborts the rolling release of %s (%s)", active.canary(), active.describe()))
	}
	if r.proj.productionID() != target || active != nil {
		requested := d.clock.Now()
		desc := "shipprod: rolling back " + cmp.Or(failed.ID, "the failed deployment")
		if err := d.api.rollback(ctx, r.proj.ID, target, desc); err != nil {
			return r.fail(err)
		}
		if err := d.awaitAliasRequest(ctx, r.proj.ID, "rollback", target, requested); err != nil {
			return r.fail(err)
		}
		r.note("Vercel turned automatic domain assignment off with this rollback: new production deployments stay STAGED until one is promoted")
	} else {
		d.log.Info("vercel: production already serves the rollback target", "deployment", target)
	}
	dd, err := d.api.getDeployment(ctx, target)
	if err != nil {
		return r.fail(err)
	}
	dep, err := r.finish(to, dd)
	if err == nil && failed.ID != "" {
		dep.RollbackSteps = []string{fmt.Sprintf("vercel promote %s%s --yes", failed.ID, d.scopeFlag())}
	}
	return dep, err
}
