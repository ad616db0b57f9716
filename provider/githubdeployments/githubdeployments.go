// Package githubdeployments records deploys in GitHub's Deployments API: it
// wraps any shipprod.Deployer so that each deploy (and each rollback) shows
// on the repository's environments page, with the statuses in_progress →
// success or failure, the live URL and the deployer's log link.
//
// Wrap returns one wrapper type, whatever the wrapped deployer can do: it
// implements shipprod.DeployerWrapper, so the Pipeline finds the wrapped
// deployer's optional capabilities through Unwrap (shipprod.DeployerAs). The
// wrapper's own Rollback and Follow record what they do and are used only
// when the wrapped deployer has the capability too.
//
// Every record is made with auto_merge: false and required_contexts: [], so
// that GitHub never merges branches on the user's behalf nor refuses the
// record over commit statuses. Recording is best effort and never fails
// the deploy itself: a record GitHub refuses to create is logged and
// noted in the Deployment's Details (key github_deployment); a status it
// refuses (in_progress, the outcome, a rolled-back record's failure) is
// logged only. No URL sent to GitHub carries credentials: user
// information (https://user:token@host) is stripped from the environment
// and log URLs.
//
// Configuration is the `github.deployments` section of shipprod.yaml (the
// repository, API and token come from the `github` section):
//
//	github:
//	  deployments:
//	    enabled: true
//	    environment: production              # default production
//	    environment_url: https://www.acme.com   # when the deployer reports no URL
package githubdeployments

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/shipprod/shipprod"
	"github.com/shipprod/shipprod/internal/github"
)

// Config is the `github.deployments` section.
type Config struct {
	// Enabled records each deploy in GitHub's Deployments API.
	Enabled bool `yaml:"enabled"`
	// Environment defaults to "production".
	Environment string `yaml:"environment"`
	// EnvironmentURL is the live URL recorded when the deployer reports none.
	EnvironmentURL string `yaml:"environment_url"`
}

// Options say which repository to record in and how to reach GitHub: the
// settings of the `github` section.
type Options struct {
	// Repository is "owner/name"; empty means: parsed from the URL of git
	// remote Remote (default origin) in Dir.
	Repository  string
	Dir, Remote string
	// APIURL is the REST API root (default https://api.github.com/).
	APIURL string
	// TokenEnv names the token's variable; empty means GH_TOKEN, then
	// GITHUB_TOKEN.
	TokenEnv string
	// MaxRateLimitWait bounds each rate-limit wait; MaxRetries the retries
	// after 5xx answers and dropped connections.
	MaxRateLimitWait time.Duration
	MaxRetries       int
	// Getenv reads the token (default os.Getenv).
	Getenv     func(string) string
	HTTPClient *http.Client
	Clock      shipprod.Clock
	Logger     *slog.Logger
}

// DetailDeploymentID is the Deployment.Details key of the id of the GitHub
// deployment record.
const DetailDeploymentID = "github_deployment_id"

// detailNote is the Deployment.Details key that says why nothing was recorded.
const detailNote = "github_deployment"

// finalStatusTimeout bounds the call that records a deploy's outcome, which
// runs even when the deploy's own context has ended.
const finalStatusTimeout = time.Minute

// Deployer is a Deployer whose deploys are recorded in GitHub Deployments.
type Deployer struct {
	inner shipprod.Deployer
	cfg   Config
	gh    *github.Client
	log   *slog.Logger
}

var (
	_ shipprod.DeployerWrapper = (*Deployer)(nil)
	_ shipprod.Rollbacker      = (*Deployer)(nil)
	_ shipprod.Follower        = (*Deployer)(nil)
	_ shipprod.ActionPlanner   = (*Deployer)(nil)
	_ shipprod.Preflighter     = (*Deployer)(nil)
)

// Wrap returns d recorded in GitHub Deployments, or d as it is when
// recording is not enabled. It fails when the token or the repository
// cannot be found (no request is made).
func Wrap(ctx context.Context, d shipprod.Deployer, cfg Config, opts Options) (shipprod.Deployer, error) {
	if !cfg.Enabled {
		return d, nil
	}
	if d == nil {
		return nil, fmt.Errorf("github.deployments: there is no deployer to record")
	}
	gh, err := github.New(ctx, github.Options{
		Repository: opts.Repository, Dir: opts.Dir, Remote: opts.Remote, APIURL: opts.APIURL, TokenEnv: opts.TokenEnv,
		Getenv: opts.Getenv, HTTPClient: opts.HTTPClient, Clock: opts.Clock, Logger: opts.Logger,
		MaxRateLimitWait: opts.MaxRateLimitWait, MaxRetries: opts.MaxRetries,
	})
	if err != nil {
		return nil, fmt.Errorf("github.deployments: %w", err)
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Deployer{inner: d, cfg: cfg, gh: gh, log: log}, nil
}

// Unwrap returns the recorded deployer.
func (w *Deployer) Unwrap() shipprod.Deployer { return w.inner }

// String names the deployer in plans and reports.
func (w *Deployer) String() string {
	return describe(w.inner) + " (recorded in GitHub Deployments of " + w.gh.Repository() + ")"
}

func (w *Deployer) environment() string { return cmp.Or(w.cfg.Environment, "production") }

// Preflight checks that the token is valid and may write deployments
// (GET /repos/{owner}/{repo}), then asks the wrapped deployer's own
// pre-flight, when it has one.
func (w *Deployer) Preflight(ctx context.Context, rel shipprod.Release) error {
	if _, err := w.gh.CheckAccess(ctx, "deployments: write, for github.deployments"); err != nil {
		return fmt.Errorf("github.deployments: %w", err)
	}
	if p, ok := w.inner.(shipprod.Preflighter); ok {
		return p.Preflight(ctx, rel)
	}
	return nil
}

// PlanActions lists the GitHub record next to the wrapped deployer's own
// actions (or its one generic action).
func (w *Deployer) PlanActions(ctx context.Context, rel shipprod.Release) ([]shipprod.Action, error) {
	acts := []shipprod.Action{{Step: shipprod.StepDeploy, Kind: shipprod.ActionAPI, Target: w.gh.Repository(),
		Description: fmt.Sprintf("record the deploy of %s in GitHub Deployments of %s (environment %s): in_progress, then success or failure",
			cmp.Or(rel.Tag, rel.Version), w.gh.Repository(), w.environment())}}
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
func (w *Deployer) Deploy(ctx context.Context, rel shipprod.Release) (shipprod.Deployment, error) {
	id, note := w.start(ctx, rel, "deploy")
	dep, err := w.inner.Deploy(ctx, rel)
	return w.finished(ctx, id, note, rel, dep, err)
}

// finished records the outcome and returns the deployment with the record's
// id, also in a *shipprod.ProductionChangedError (the Pipeline takes the
// deployment from there, and its rollback marks that record failed).
func (w *Deployer) finished(ctx context.Context, id int64, note string, rel shipprod.Release, dep shipprod.Deployment, err error) (shipprod.Deployment, error) {
	dep = w.finish(ctx, id, note, rel, dep, err)
	if changed, ok := errors.AsType[*shipprod.ProductionChangedError](err); ok {
		details := maps.Clone(changed.Deployment.Details)
		if details == nil {
			details = map[string]string{}
		}
		for _, k := range []string{DetailDeploymentID, detailNote} {
			if v, set := dep.Details[k]; set {
				details[k] = v
			}
		}
		changed.Deployment.Details = details
	}
	return dep, err
}

// Follow follows the deployment an interrupted run left, through the
// wrapped deployer's Follower, and records its outcome on the record that
// run opened (the newest shipprod record of the release), or on a new one.
func (w *Deployer) Follow(ctx context.Context, accepted shipprod.Deployment, rel shipprod.Release) (shipprod.Deployment, error) {
	f, ok := shipprod.DeployerAs[shipprod.Follower](w.inner)
	if !ok {
		return accepted, fmt.Errorf("deployer %s cannot follow a deployment it started", describe(w.inner))
	}
	id, note := w.reopen(ctx, rel)
	dep, err := f.Follow(ctx, accepted, rel)
	return w.finished(ctx, id, note, rel, dep, err)
}

// Rollback records the rollback as a deployment of the restored release and
// marks the failed deployment's record failed. It rolls back through the
// wrapped deployer's Rollbacker (the Pipeline calls it only when there is
// one).
func (w *Deployer) Rollback(ctx context.Context, failed shipprod.Deployment, to shipprod.Release) (shipprod.Deployment, error) {
	rb, ok := shipprod.DeployerAs[shipprod.Rollbacker](w.inner)
	if !ok {
		return shipprod.Deployment{}, fmt.Errorf("deployer %s: %w", describe(w.inner), shipprod.ErrCannotRollback)
	}
	id, note := w.start(ctx, to, "rollback")
	restored, err := rb.Rollback(ctx, failed, to)
	restored = w.finish(ctx, id, note, to, restored, err)
	if err != nil {
		return restored, err
	}
	if fid, perr := strconv.ParseInt(failed.Details[DetailDeploymentID], 10, 64); perr == nil {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), finalStatusTimeout)
		serr := w.gh.CreateDeploymentStatus(sctx, fid, github.DeploymentStatus{State: "failure",
			Description: "Rolled back to " + cmp.Or(to.Tag, to.Version, "the previous release")})
		cancel()
		if serr != nil {
			w.log.Warn("could not mark the rolled-back GitHub deployment failed", "id", fid, "err", serr)
		}
	}
	return restored, nil
}

// start creates the GitHub deployment and its in_progress status. It returns
// 0 and a note when recording failed.
func (w *Deployer) start(ctx context.Context, rel shipprod.Release, task string) (int64, string) {
	ref := cmp.Or(rel.Tag, rel.Commit)
	if ref == "" {
		return 0, "not recorded: the release has neither tag nor commit"
	}
	desc := fmt.Sprintf("shipprod %s %s with %s", task, ref, describe(w.inner))
	id, err := w.gh.CreateDeployment(ctx, github.DeploymentRequest{
		Ref: ref, Environment: w.environment(), Description: desc,
		Payload: map[string]any{"version": rel.Version, "tag": rel.Tag, "commit": rel.Commit, "task": task},
	})
	if err != nil {
		w.log.Warn("could not record the deploy in GitHub Deployments; deploying anyway", "ref", ref, "err", err)
		return 0, "not recorded: " + err.Error()
	}
	if err := w.gh.CreateDeploymentStatus(ctx, id, github.DeploymentStatus{State: "in_progress", Description: desc}); err != nil {
		w.log.Warn("could not set the GitHub deployment in_progress", "id", id, "err", err)
	}
	return id, ""
}

// reopen finds the record an interrupted deploy of rel opened, or opens one.
func (w *Deployer) reopen(ctx context.Context, rel shipprod.Release) (int64, string) {
	if ref := cmp.Or(rel.Tag, rel.Commit); ref != "" {
		id, found, err := w.gh.LatestDeployment(ctx, ref, w.environment())
		if err == nil && found {
			return id, ""
		}
		if err != nil {
			w.log.Warn("could not look up the GitHub deployment of the interrupted deploy; recording a new one", "ref", ref, "err", err)
		}
	}
	return w.start(ctx, rel, "deploy")
}

// finish records the outcome of a deploy on record id and returns dep with
// the record's id (or why there is none) in its Details. It runs even when
// ctx has ended (a cancelled deploy is recorded as failed), bounded by its
// own timeout.
func (w *Deployer) finish(ctx context.Context, id int64, note string, rel shipprod.Release, dep shipprod.Deployment, deployErr error) shipprod.Deployment {
	dep.Details = maps.Clone(dep.Details)
	if dep.Details == nil {
		dep.Details = map[string]string{}
	}
	if id == 0 {
		if note != "" {
			dep.Details[detailNote] = note
		}
		return dep
	}
	dep.Details[DetailDeploymentID] = strconv.FormatInt(id, 10)
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), finalStatusTimeout)
	defer cancel()
	st := github.DeploymentStatus{State: "success", Description: "Deployed " + cmp.Or(rel.Tag, rel.Version),
		EnvironmentURL: cmp.Or(dep.URL, w.cfg.EnvironmentURL), LogURL: logURL(dep)}
	if deployErr != nil {
		st.State = "failure"
		st.Description = firstLine("Failed: " + deployErr.Error())
	}
	if err := w.gh.CreateDeploymentStatus(ctx, id, st); err != nil {
		w.log.Warn("could not record the deploy outcome in GitHub Deployments", "id", id, "state", st.State, "err", err)
	}
	return dep
}

// logURL picks the deployer's link to its log, by the keys built-in
// deployers use.
func logURL(dep shipprod.Deployment) string {
	for _, k := range []string{"log_url", "run_url", "inspector_url", "ci_run_url"} {
		if v := dep.Details[k]; strings.HasPrefix(v, "http") {
			return v
		}
	}
	return ""
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
