// Package githubactions is the GitHub Actions deployer, registered as
// "github-actions": it deploys a release by running the production workflow
// and waiting until the run completes.
//
// Two ways to start the run:
//
//   - trigger: dispatch (the default) sends a workflow_dispatch event for the
//     workflow on a ref (default: the release tag) with templated inputs,
//     asking GitHub for the run's id (return_run_details). When GitHub
//     answers 204 without details, or refuses the flag as GitHub Enterprise
//     Server ≤ 3.20 does, the run is found instead: event workflow_dispatch,
//     the ref as branch, created since the dispatch minus a clock skew, and
//     — when the workflow declares one and shows it in its run-name — a
//     unique correlation token passed as an input. Without a token, the
//     runs that exist before the dispatch are listed first and left aside,
//     and exactly one new run must match and stay the only one for the
//     clock skew, or the deploy stops rather than follow someone else's run.
//   - trigger: push follows the run that the release tag's push started
//     (a workflow on: push: tags, like Spec-Flow's deploy-production.yml),
//     found by event push, the ref and the release commit. That push was
//     made by the tag step, before the deploy, so its run may already exist
//     when the deploy starts and is not filtered by time; the ref (by
//     default the release tag, new with each release) keeps earlier
//     releases' runs out.
//
// The run is followed with adaptive polling on the injected clock (fast at
// first, then slower, slower still when the rate limit runs low) until a
// deadline, within a request budget: at most one request per 5.5 seconds on
// average after the first six, whatever the configured intervals (with the
// defaults a 10-minute run costs about 38 requests; a typical 3-minute
// deploy 16). Each conclusion other than success fails the deploy
// with its own message and the run's URL; a run stuck queued or waiting
// hits the deadline with the likely reason.
//
// What production runs is the release the latest successful deploy (or
// rollback) run deployed (see Production); Rollback dispatches the same
// workflow (or a configured rollback workflow) with the release to restore,
// which the Pipeline reads that way before the deploy. A run is reported
// accepted as soon as it is known, and an interrupted deploy follows it
// (Follow) instead of dispatching again; the pre-flight checks the token,
// the workflow, its workflow_dispatch trigger at the ref and the inputs.
// Watcher is the run-following part on its own, for other deployers that
// trigger CI runs.
package githubactions

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"text/template"
	"time"

	"github.com/shipprod/shipprod"
	"github.com/shipprod/shipprod/internal/git"
	"github.com/shipprod/shipprod/internal/github"
	"github.com/shipprod/shipprod/internal/releasetag"
	"github.com/shipprod/shipprod/provider"
)

// Name is the name the deployer is registered under.
const Name = "github-actions"

func init() {
	provider.Register(Name, func(ctx context.Context, env provider.Env) (shipprod.Deployer, error) {
		var cfg Config
		if err := env.Decode(&cfg); err != nil {
			return nil, err
		}
		return New(ctx, cfg, env)
	})
}

// Triggers.
const (
	TriggerDispatch = "dispatch"
	TriggerPush     = "push"
)

// DefaultClockSkew is WatchConfig.ClockSkew's default: how far GitHub's
// clock may be from ours.
const DefaultClockSkew = 5 * time.Second

// Config is the deployer's section, `deploy.github-actions` in shipprod.yaml.
type Config struct {
	// Workflow is the workflow's file name ("deploy-production.yml") or
	// numeric id. Required.
	Workflow string `yaml:"workflow"`
	// Trigger is "dispatch" (default) or "push".
	Trigger string `yaml:"trigger"`
	// Ref is a template for the ref to dispatch on (dispatch) or the pushed
	// ref to match (push); default "{{.Tag}}", the release tag.
	Ref string `yaml:"ref"`
	// Inputs are the workflow_dispatch inputs, each a template over the
	// Release: {version: "{{.Version}}", environment: production}.
	Inputs map[string]string `yaml:"inputs"`
	// CorrelationInput names a declared input that receives a unique token
	// for finding the run when GitHub returns no run id; the workflow's
	// run-name must show it. Default: detected from the workflow file in the
	// repository (an input named dispatch_id, distinct_id, correlation_id or
	// shipprod_id that appears in run-name).
	CorrelationInput string `yaml:"correlation_input"`
	// ReturnRunDetails asks GitHub for the run id on dispatch (default
	// true); set false for servers known to refuse it.
	ReturnRunDetails *bool `yaml:"return_run_details"`
	// Environment is recorded in the Deployment (default "production").
	Environment string `yaml:"environment"`
	// EnvironmentURL is a template for the production URL the run deploys
	// to, recorded in the Deployment (health checks and reports use it).
	EnvironmentURL string `yaml:"environment_url"`
	// Rollback configures the rollback dispatch.
	Rollback RollbackConfig `yaml:"rollback"`

	WatchConfig `yaml:",inline"`
}

// RollbackConfig is `deploy.github-actions.rollback`. Its templates are
// rendered over the release to restore (the previous one).
type RollbackConfig struct {
	// Workflow defaults to the deploy workflow.
	Workflow string `yaml:"workflow"`
	// Ref defaults to "{{.Tag}}" (the previous release's tag).
	Ref string `yaml:"ref"`
	// Inputs default to the deploy inputs.
	Inputs map[string]string `yaml:"inputs"`
}

// Deployer runs a GitHub Actions workflow to deploy. It implements
// shipprod.Deployer, shipprod.Rollbacker, shipprod.ProductionReader,
// shipprod.Follower, shipprod.Preflighter and shipprod.ActionPlanner.
type Deployer struct {
	cfg   Config
	w     *Watcher
	dir   string
	env   provider.Env
	corr  string // the correlation input, "" for none
	tmpl  templates
	skew  time.Duration
	ask   bool
	noRDS atomic.Bool // the server refused return_run_details once
}

type templates struct {
	ref, envURL *template.Template
	inputs      map[string]*template.Template
	rbRef       *template.Template
	rbInputs    map[string]*template.Template
	rbWorkflow  string
}

var (
	_ shipprod.Deployer      = (*Deployer)(nil)
	_ shipprod.Rollbacker    = (*Deployer)(nil)
	_ shipprod.ActionPlanner = (*Deployer)(nil)
)

// New returns the deployer. It checks the configuration fully — workflow,
// trigger, templates, token, repository — before anything ships.
func New(ctx context.Context, cfg Config, env provider.Env) (*Deployer, error) {
	if cfg.Workflow == "" {
		return nil, errors.New("workflow: required (the workflow file name under .github/workflows, or its id)")
	}
	if strings.ContainsAny(cfg.Workflow, "/?#") {
		return nil, fmt.Errorf("workflow %q: give the file name (deploy.yml) or the numeric id, not a path", cfg.Workflow)
	}
	switch cfg.Trigger {
	case "":
		cfg.Trigger = TriggerDispatch
	case TriggerDispatch, TriggerPush:
	default:
		return nil, fmt.Errorf("trigger %q: want dispatch or push", cfg.Trigger)
	}
	if cfg.Ref == "" {
		cfg.Ref = "{{.Tag}}"
	}
	if cfg.Environment == "" {
		cfg.Environment = "production"
	}
	d := &Deployer{cfg: cfg, dir: env.Dir, env: env, ask: cfg.ReturnRunDetails == nil || *cfg.ReturnRunDetails}
	var err error
	if d.tmpl.ref, err = parse("ref", cfg.Ref); err != nil {
		return nil, err
	}
	if d.tmpl.envURL, err = parse("environment_url", cfg.EnvironmentURL); err != nil {
		return nil, err
	}
	if d.tmpl.inputs, err = parseInputs("inputs", cfg.Inputs); err != nil {
		return nil, err
	}
	rb := cfg.Rollback
	d.tmpl.rbWorkflow = cmp.Or(rb.Workflow, cfg.Workflow)
	if d.tmpl.rbRef, err = parse("rollback.ref", cmp.Or(rb.Ref, "{{.Tag}}")); err != nil {
		return nil, err
	}
	rbInputs := rb.Inputs
	if rbInputs == nil {
		rbInputs = cfg.Inputs
	}
	if d.tmpl.rbInputs, err = parseInputs("rollback.inputs", rbInputs); err != nil {
		return nil, err
	}
	if len(cfg.Inputs) > 24 {
		return nil, fmt.Errorf("inputs: %d given; GitHub accepts at most 25 (one is kept for the correlation token)", len(cfg.Inputs))
	}
	d.corr = cfg.CorrelationInput
	if d.corr == "" && cfg.Trigger == TriggerDispatch {
		d.corr = detectCorrelationInput(d.dir, cfg.Workflow)
	}
	if _, clash := cfg.Inputs[d.corr]; clash && d.corr != "" {
		return nil, fmt.Errorf("inputs.%s: this input carries the correlation token; remove it from inputs or set correlation_input", d.corr)
	}
	if d.w, err = NewWatcher(ctx, cfg.WatchConfig, env); err != nil {
		return nil, err
	}
	d.skew = d.w.cfg.ClockSkew
	return d, nil
}

func parse(field, text string) (*template.Template, error) {
	t, err := template.New(field).Option("missingkey=error").Parse(text)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", field, err)
	}
	return t, nil
}

func parseInputs(field string, in map[string]string) (map[string]*template.Template, error) {
	out := make(map[string]*template.Template, len(in))
	for k, v := range in {
		t, err := parse(field+"."+k, v)
		if err != nil {
			return nil, err
		}
		out[k] = t
	}
	return out, nil
}

func render(t *template.Template, rel shipprod.Release) (string, error) {
	var b bytes.Buffer
	if err := t.Execute(&b, rel); err != nil {
		return "", fmt.Errorf("%s: %w", t.Name(), err)
	}
	return strings.TrimSpace(b.String()), nil
}

func renderInputs(ts map[string]*template.Template, rel shipprod.Release) (map[string]string, error) {
	out := make(map[string]string, len(ts))
	for k, t := range ts {
		v, err := render(t, rel)
		if err != nil {
			return nil, err
		}
		out[k] = v
	}
	return out, nil
}

// String names the deployer in plans and reports.
func (d *Deployer) String() string {
	return fmt.Sprintf("GitHub Actions workflow %s (%s)", d.cfg.Workflow, d.w.Repository())
}

// Watcher returns the deployer's run follower.
func (d *Deployer) Watcher() *Watcher { return d.w }

// CorrelationInput returns the input that carries the correlation token,
// or "" when the run is found without one.
func (d *Deployer) CorrelationInput() string { return d.corr }

// PlanActions describes the deploy without making it.
func (d *Deployer) PlanActions(_ context.Context, rel shipprod.Release) ([]shipprod.Action, error) {
	ref, err := render(d.tmpl.ref, rel)
	if err != nil {
		return nil, err
	}
	target := d.w.Repository() + " " + d.cfg.Workflow
	if d.cfg.Trigger == TriggerPush {
		return []shipprod.Action{{Step: shipprod.StepDeploy, Kind: shipprod.ActionDeploy, Target: target,
			Description: fmt.Sprintf("follow the %s run that the push of %s started in %s until it completes (timeout %s)",
				d.cfg.Workflow, cmp.Or(ref, "the release commit"), d.w.Repository(), d.cfg.Timeout)}}, nil
	}
	inputs, err := renderInputs(d.tmpl.inputs, rel)
	if err != nil {
		return nil, err
	}
	desc := fmt.Sprintf("dispatch workflow %s on %s in %s", d.cfg.Workflow, ref, d.w.Repository())
	if s := describeInputs(inputs); s != "" {
		desc += " with inputs " + s
	}
	if d.corr != "" {
		desc += fmt.Sprintf(" (and a correlation token in %s)", d.corr)
	}
	desc += fmt.Sprintf(", then follow the run until it completes (timeout %s)", d.w.cfg.Timeout)
	return []shipprod.Action{{Step: shipprod.StepDeploy, Kind: shipprod.ActionDeploy, Target: target, Description: desc}}, nil
}

func describeInputs(in map[string]string) string {
	keys := make([]string, 0, len(in))
	for k := range in {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, k+"="+in[k])
	}
	return strings.Join(parts, ", ")
}

// Deploy runs the workflow for rel and waits for the run to succeed. It
// reads first what production runs (the latest successful run, see
// Production): that is what the Deployment names as the target of a
// rollback, and when it is rel's commit already nothing is dispatched. As
// soon as the run is known it is reported accepted (shipprod.ReportAccepted),
// so that an interrupted deploy is followed on resume, not dispatched again.
func (d *Deployer) Deploy(ctx context.Context, rel shipprod.Release) (shipprod.Deployment, error) {
	start := d.w.clock.Now()
	base := d.w.Requests()
	ref, err := render(d.tmpl.ref, rel)
	if err != nil {
		return shipprod.Deployment{}, err
	}
	cur, prev := d.current(ctx, rel)
	report := func(r Run) { shipprod.ReportAccepted(ctx, d.deployment(rel, prev, r, start)) }
	var run Run
	if d.cfg.Trigger == TriggerPush {
		if rel.Commit == "" {
			return shipprod.Deployment{}, errors.New("trigger push: the release has no commit to find its run by")
		}
		run, err = d.followPush(ctx, PushRun{Workflow: d.cfg.Workflow, Ref: ref, SHA: rel.Commit}, report)
	} else {
		var inputs map[string]string
		if inputs, err = renderInputs(d.tmpl.inputs, rel); err != nil {
			return shipprod.Deployment{}, err
		}
		run, err = d.deployOnce(ctx, dispatch{workflow: d.cfg.Workflow, ref: ref, commit: rel.Commit, inputs: inputs, start: start, live: cur, accepted: report})
	}
	dep := d.deployment(rel, prev, run, start)
	dep.Details["requests"] = strconv.FormatInt(d.w.Requests()-base, 10)
	if err != nil {
		return dep, fmt.Errorf("deploying %s with %s: %w", cmp.Or(rel.Tag, rel.Version), d.cfg.Workflow, err)
	}
	if url, uerr := render(d.tmpl.envURL, rel); uerr == nil {
		dep.URL = url
	}
	return dep, nil
}

// followPush finds the run the release tag's push started, reports it
// accepted and follows it.
func (d *Deployer) followPush(ctx context.Context, q PushRun, accepted func(Run)) (Run, error) {
	run, err := d.w.FindPushRun(ctx, q)
	if err != nil {
		return run, err
	}
	accepted(run)
	return d.w.Follow(ctx, run.ID)
}

// deployment describes the deploy of rel by run; prev is the release
// production ran before, which its rollback steps restore.
func (d *Deployer) deployment(rel, prev shipprod.Release, run Run, start time.Time) shipprod.Deployment {
	dep := shipprod.Deployment{
		Provider:    Name,
		Environment: d.cfg.Environment,
		Commit:      cmp.Or(rel.Commit, run.HeadSHA),
		Version:     rel.Version,
		Tag:         rel.Tag,
		StartedAt:   start,
		FinishedAt:  d.w.clock.Now(),
		PreviousID:  cmp.Or(prev.Tag, prev.Commit),
		Details:     map[string]string{"workflow": d.cfg.Workflow, "repository": d.w.Repository()},
	}
	if run.ID != 0 {
		dep.ID = strconv.FormatInt(run.ID, 10)
		dep.Details["run_id"] = dep.ID
		dep.Details["run_url"] = run.URL
		dep.Details["run_number"] = strconv.Itoa(run.RunNumber)
		dep.Details["event"] = run.Event
		if run.Conclusion != "" {
			dep.Details["conclusion"] = run.Conclusion
		}
	}
	if prev.Version != "" || prev.Tag != "" {
		if ref, err := render(d.tmpl.rbRef, prev); err == nil && ref != "" {
			inputs, _ := renderInputs(d.tmpl.rbInputs, prev)
			cmd := fmt.Sprintf("gh workflow run %s --repo %s --ref %s", d.tmpl.rbWorkflow, d.w.Repository(), ref)
			for _, kv := range strings.Split(describeInputs(inputs), ", ") {
				if kv != "" {
					cmd += " -f " + kv
				}
			}
			dep.RollbackSteps = []string{cmd, "gh run watch --repo " + d.w.Repository() + " --exit-status"}
		}
	}
	return dep
}

// Rollback dispatches the rollback workflow (default: the deploy workflow)
// for the release to restore — what production ran before the failed
// deploy, as the Pipeline read it — and waits for it. When production runs
// that release's commit already (a rollback asked twice), nothing is
// dispatched.
func (d *Deployer) Rollback(ctx context.Context, failed shipprod.Deployment, to shipprod.Release) (shipprod.Deployment, error) {
	start := d.w.clock.Now()
	if to.Version == "" {
		to.Version, _ = releasetag.Version(to.Tag)
	}
	ref, err := render(d.tmpl.rbRef, to)
	if err != nil {
		return shipprod.Deployment{}, err
	}
	if ref == "" {
		return shipprod.Deployment{}, errors.New("rollback: the release to restore has no tag to dispatch on (set deploy.github-actions.rollback.ref)")
	}
	inputs, err := renderInputs(d.tmpl.rbInputs, to)
	if err != nil {
		return shipprod.Deployment{}, err
	}
	cur, _ := d.current(ctx, shipprod.Release{})
	run, err := d.deployOnce(ctx, dispatch{workflow: d.tmpl.rbWorkflow, ref: ref, commit: to.Commit, inputs: inputs, start: start, live: cur, accepted: func(Run) {}})
	dep := d.deployment(to, shipprod.Release{}, run, start)
	dep.Details["workflow"] = d.tmpl.rbWorkflow
	dep.Details["rolled_back"] = failed.ID
	if err != nil {
		return dep, fmt.Errorf("rolling back to %s with %s: %w", cmp.Or(to.Tag, to.Version), d.tmpl.rbWorkflow, err)
	}
	if url, uerr := render(d.tmpl.envURL, to); uerr == nil {
		dep.URL = url
	}
	return dep, nil
}

// dispatch is one dispatch of a workflow: what to send, and what production
// ran before it.
type dispatch struct {
	workflow, ref, commit string
	inputs                map[string]string
	start                 time.Time
	// live is the latest successful run (what production runs), if known.
	live *Run
	// accepted is told the run as soon as it is known.
	accepted func(Run)
}

// deployOnce dispatches workflow for commit and follows the run, unless
// production already runs commit: when the latest successful deploy (or
// rollback) run is for commit, nothing is dispatched. So deploying (or
// rolling back to) a release that is live starts nothing. A run for commit
// that is still going is not taken over: it may be someone else's, and the
// workflow's concurrency settings decide how two runs of one release meet.
func (d *Deployer) deployOnce(ctx context.Context, q dispatch) (Run, error) {
	if q.commit != "" && q.live != nil && q.live.HeadSHA == q.commit {
		d.w.log.Info("the latest successful run deployed this commit already; nothing to dispatch", "run", q.live.ID, "commit", git.ShortSHA(q.commit))
		return *q.live, nil
	}
	return d.dispatchAndFollow(ctx, q.workflow, q.ref, q.inputs, q.start, q.accepted)
}

func (d *Deployer) dispatchAndFollow(ctx context.Context, workflow, ref string, inputs map[string]string, start time.Time, accepted func(Run)) (Run, error) {
	deadline := start.Add(d.w.cfg.Timeout)
	p := d.w.newPacer(start, deadline)
	token := ""
	if d.corr != "" {
		token = newToken()
		inputs[d.corr] = token
	}
	req := github.DispatchRequest{Workflow: workflow, Ref: ref, Inputs: inputs, ReturnRunDetails: d.ask && !d.noRDS.Load()}
	var known map[int64]bool
	if token == "" {
		// GitHub may answer 204 without the run's id even when asked for
		// it; without a token the run is then told from others only as a
		// new one, so note the runs that exist before the dispatch.
		var err error
		if known, err = d.recentRuns(ctx, workflow, ref, d.w.clock.Now()); err != nil {
			return Run{}, err
		}
	}
	dispatchedAt := d.w.clock.Now()
	res, err := d.w.client.Dispatch(ctx, req)
	if err != nil && req.ReturnRunDetails && github.StatusOf(err) == http.StatusBadRequest {
		// GitHub Enterprise Server ≤ 3.20 does not know the field and
		// refuses the whole request, so nothing was dispatched: remember,
		// and dispatch again without it.
		d.noRDS.Store(true)
		d.w.log.Info("the server refuses return_run_details (GitHub Enterprise Server ≤ 3.20?); dispatching without it and finding the run instead", "err", err)
		req.ReturnRunDetails = false
		dispatchedAt = d.w.clock.Now()
		res, err = d.w.client.Dispatch(ctx, req)
	}
	if err != nil {
		if github.IsTransient(err) && token != "" {
			// The dispatch may have happened: look for our token before
			// concluding anything.
			d.w.log.Warn("the dispatch failed ambiguously; looking for its run by correlation token", "err", err)
			run, ferr := d.findDispatched(ctx, p, workflow, ref, token, dispatchedAt, known)
			if ferr == nil {
				accepted(run)
				return d.w.follow(ctx, run.ID, p)
			}
		}
		return Run{}, dispatchError(err, workflow, ref, d.w.Repository())
	}
	if res.RunID != 0 {
		d.w.log.Info("dispatched the workflow", "workflow", workflow, "ref", ref, "run", res.RunID, "url", res.HTMLURL)
		accepted(Run{ID: res.RunID, URL: res.HTMLURL, HeadBranch: ref, Event: "workflow_dispatch"})
		return d.w.follow(ctx, res.RunID, p)
	}
	d.w.log.Info("dispatched the workflow without run details (204); finding the run", "workflow", workflow, "ref", ref, "correlation_input", d.corr)
	run, err := d.findDispatched(ctx, p, workflow, ref, token, dispatchedAt, known)
	if err != nil {
		return Run{}, err
	}
	accepted(run)
	return d.w.follow(ctx, run.ID, p)
}

// recentRuns lists the ids of the dispatch runs that exist before our
// dispatch, so that discovery without a token ignores them.
func (d *Deployer) recentRuns(ctx context.Context, workflow, ref string, since time.Time) (map[int64]bool, error) {
	runs, _, err := d.w.client.ListRuns(ctx, github.RunFilter{Workflow: workflow, Event: "workflow_dispatch", Branch: ref,
		CreatedSince: since.Add(-d.skew - d.w.cfg.DiscoveryTimeout), PerPage: 100})
	if err != nil {
		if github.StatusOf(err) == http.StatusNotFound {
			return nil, fmt.Errorf("listing the runs of %s before dispatching it: %w (no workflow %s in %s: give the file name under .github/workflows or the id; or the token cannot see the repository)",
				workflow, err, workflow, d.w.Repository())
		}
		return nil, fmt.Errorf("listing the runs of %s before dispatching it: %w", workflow, err)
	}
	known := make(map[int64]bool, len(runs))
	for _, r := range runs {
		known[r.ID] = true
	}
	return known, nil
}

// findDispatched finds the run of our dispatch: by the correlation token
// in its title when there is one, else the one new run created since the
// dispatch (minus the clock skew) that stays the only one for the clock
// skew — and refuses to guess between several.
func (d *Deployer) findDispatched(ctx context.Context, p *pacer, workflow, ref, token string, since time.Time, known map[int64]bool) (Run, error) {
	dp := d.w.newPacer(d.w.clock.Now(), minTime(p.deadline, d.w.clock.Now().Add(d.w.cfg.DiscoveryTimeout)))
	filter := github.RunFilter{Workflow: workflow, Event: "workflow_dispatch", Branch: ref, CreatedSince: since.Add(-d.skew), PerPage: 50}
	// Without a token, a lone new run may be someone else's that GitHub
	// shows before ours (pitfall: runs appear seconds after the dispatch,
	// in no set order). It is taken only once it has stayed alone for the
	// clock skew; if ours shows up meanwhile, the two cannot be told apart.
	var lone int64
	var loneSince time.Time
	run, err := d.w.discover(ctx, dp, filter, func(runs []github.Run) (github.Run, bool, error) {
		var matches []github.Run
		for _, r := range runs {
			switch {
			case token != "":
				if strings.Contains(r.DisplayTitle, token) || strings.Contains(r.Name, token) {
					matches = append(matches, r)
				}
			case !known[r.ID]:
				matches = append(matches, r)
			}
		}
		switch {
		case len(matches) == 1 && token != "":
			return matches[0], true, nil
		case len(matches) == 1:
			now := d.w.clock.Now()
			if matches[0].ID != lone {
				lone, loneSince = matches[0].ID, now
				d.w.log.Info("one new run of the workflow; waiting the clock skew to be sure it is the only one", "run", lone, "clock_skew", d.skew.String())
			}
			if settled := loneSince.Add(d.skew); now.Before(settled) {
				dp.atLeast(settled.Sub(now))
				return github.Run{}, false, nil
			}
			return matches[0], true, nil
		case len(matches) > 1 && token != "":
			return matches[0], true, nil // the same token twice can only be our own dispatch retried
		case len(matches) > 1:
			ids := make([]string, 0, len(matches))
			for _, m := range matches {
				ids = append(ids, strconv.FormatInt(m.ID, 10))
			}
			return github.Run{}, false, fmt.Errorf("%d runs of %s on %s started around the dispatch (%s): cannot tell which is ours; declare a correlation input (e.g. dispatch_id, shown in run-name) or use a server that returns run details",
				len(matches), workflow, ref, strings.Join(ids, ", "))
		}
		return github.Run{}, false, nil
	})
	if err != nil {
		var te *TimeoutError
		if errors.As(err, &te) {
			how := "as the only new run"
			if token != "" {
				how = fmt.Sprintf("by the token in input %s", d.corr)
			}
			te.Reason = fmt.Sprintf("GitHub accepted the dispatch of %s on %s, but no run was found %s within %s; see %s",
				workflow, ref, how, d.w.cfg.DiscoveryTimeout, "the repository's Actions tab")
			if lone != 0 {
				te.Reason = fmt.Sprintf("GitHub accepted the dispatch of %s on %s; run %d appeared, but the time ran out before it had been the only new run for %s (the clock skew), so it was not taken for ours; declare a correlation input (e.g. dispatch_id, shown in run-name) to identify the run for certain",
					workflow, ref, lone, d.skew)
			}
		}
		return Run{}, err
	}
	return run, nil
}

// dispatchError adds what to do to GitHub's message.
func dispatchError(err error, workflow, ref, repo string) error {
	var ae *github.APIError
	if !errors.As(err, &ae) {
		return fmt.Errorf("dispatching %s on %s: %w", workflow, ref, err)
	}
	hint := ""
	switch {
	case ae.Status == http.StatusNotFound:
		hint = fmt.Sprintf("no workflow %s in %s (give the file name under .github/workflows or the id), or the token cannot see the repository", workflow, repo)
	case ae.Status == http.StatusForbidden:
		hint = "the token lacks actions:write (fine-grained token: Actions read and write; GITHUB_TOKEN: permissions: actions: write)"
	case strings.Contains(ae.Message, "workflow_dispatch"):
		hint = fmt.Sprintf("add `on: workflow_dispatch` to %s, at %s and on the default branch, or use trigger: push", workflow, ref)
	case strings.Contains(ae.Message, "No ref found"):
		hint = fmt.Sprintf("ref %s does not exist on GitHub: push it first (the tag step pushes the release tag) or set deploy.github-actions.ref", ref)
	case strings.Contains(ae.Message, "Unexpected inputs"):
		hint = fmt.Sprintf("declare them under on.workflow_dispatch.inputs of %s, or remove them from deploy.github-actions.inputs", workflow)
	case strings.Contains(ae.Message, "Required input"):
		hint = "add it to deploy.github-actions.inputs"
	case ae.Transient():
		hint = fmt.Sprintf("GitHub may or may not have started a run: check the Actions tab of %s before trying again", repo)
	}
	if hint != "" {
		return fmt.Errorf("dispatching %s on %s: %w (%s)", workflow, ref, err, hint)
	}
	return fmt.Errorf("dispatching %s on %s: %w", workflow, ref, err)
}

// newToken returns a unique correlation token.
func newToken() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return "shipprod-" + hex.EncodeToString(b)
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// ReportsURL says whether deployments carry the production URL
// (shipprod.URLReporter): only with environment_url.
func (d *Deployer) ReportsURL() bool { return d.cfg.EnvironmentURL != "" }
