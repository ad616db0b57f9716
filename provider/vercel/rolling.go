package vercel

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/shipprod/shipprod"
)

// Vercel Rolling Releases: with them on, a promote (or a production
// deployment taking the domains over) does not move all traffic. It starts
// a rolling release: the new deployment, the canary, serves the first
// stage's share of production traffic and the current deployment the rest;
// the project's production target moves only when the release completes.
// shipprod drives such a release stage by stage (shipprod.TrafficShifter):
// approve-stage for each share, complete for 100%, and an instant rollback
// to the current deployment to abort it (which is what `vercel
// rolling-release abort` does, and it leaves the project's configuration
// in place).

// RollingReleaseConfig is the rolling_release section.
type RollingReleaseConfig struct {
	// Configure sets the project's rolling releases to manual approval
	// with the stages of the rollout section (PATCH
	// /v1/projects/{p}/rolling-release/config) before the promote, when
	// they differ. Without it the project must already be configured so.
	Configure bool `yaml:"configure"`
}

// Advancement types of a rolling release.
const (
	advanceManual    = "manual-approval"
	advanceAutomatic = "automatic"
)

// Rolling release states.
const (
	rrActive   = "ACTIVE"
	rrComplete = "COMPLETE"
	rrAborted  = "ABORTED"
)

// rrStage is a stage: in the configuration (targetPercentage, duration in
// minutes, requireApproval) and in a release document (with index and
// isFinalStage, and the duration in seconds).
type rrStage struct {
	Index            int      `json:"index"`
	IsFinalStage     bool     `json:"isFinalStage"`
	TargetPercentage float64  `json:"targetPercentage"`
	RequireApproval  bool     `json:"requireApproval"`
	Duration         *float64 `json:"duration"`
}

func (s rrStage) percent() int { return int(math.Round(s.TargetPercentage)) }

// rrConfig is the project's configuration: {"rollingRelease": …} of GET and
// PATCH /v1/projects/{p}/rolling-release/config.
type rrConfig struct {
	Target          string    `json:"target"`
	Enabled         *bool     `json:"enabled"`
	AdvancementType string    `json:"advancementType"`
	Stages          []rrStage `json:"stages"`
}

// enabled reports whether a promote starts a rolling release. An answer
// without enabled (the SDK's schema of the GET has none) is enabled when
// it has stages.
func (c *rrConfig) enabled() bool {
	return c != nil && (c.Enabled == nil || *c.Enabled) && len(c.Stages) > 0
}

// advancement is the advancementType, or, in an answer without it, what
// the stages say: approval before a stage, or durations.
func (c *rrConfig) advancement() string {
	if c.AdvancementType != "" {
		return c.AdvancementType
	}
	for i, s := range c.Stages {
		switch {
		case i < len(c.Stages)-1 && s.RequireApproval:
			return advanceManual
		case s.Duration != nil:
			return advanceAutomatic
		}
	}
	return "unknown"
}

// rrDeployment is a deployment in a release document.
type rrDeployment struct {
	ID  string `json:"id"`
	URL string `json:"url"`
}

// rollingRelease is a release document: {"rollingRelease": …} of GET
// /v1/projects/{p}/rolling-release, approve-stage and complete.
type rollingRelease struct {
	State             string        `json:"state"`
	CurrentDeployment *rrDeployment `json:"currentDeployment"`
	CanaryDeployment  *rrDeployment `json:"canaryDeployment"`
	AdvancementType   string        `json:"advancementType"`
	Stages            []rrStage     `json:"stages"`
	ActiveStage       *rrStage      `json:"activeStage"`
	NextStage         *rrStage      `json:"nextStage"`
}

func (r *rollingRelease) canary() string {
	if r == nil || r.CanaryDeployment == nil {
		return ""
	}
	return r.CanaryDeployment.ID
}

func (r *rollingRelease) current() string {
	if r == nil || r.CurrentDeployment == nil {
		return ""
	}
	return r.CurrentDeployment.ID
}

// share is the canary's share of production traffic.
func (r *rollingRelease) share() int {
	switch {
	case r == nil:
		return 0
	case r.State == rrComplete:
		return 100
	case r.State == rrActive && r.ActiveStage != nil:
		return r.ActiveStage.percent()
	}
	return 0
}

// describe says where the release is: "stage 2 of 3 (25%)".
func (r *rollingRelease) describe() string {
	if r == nil {
		return "gone"
	}
	if r.State == rrActive && r.ActiveStage != nil {
		return fmt.Sprintf("stage %d of %d (%d%%)", r.ActiveStage.Index+1, len(r.Stages), r.ActiveStage.percent())
	}
	return strings.ToLower(r.State)
}

// rrBilling is GET /v1/projects/{p}/rolling-release/billing: whether the
// team's plan lets the project turn rolling releases on. Reason is
// available_slots, unlimited_slots, no_available_slots (EnabledProjects
// then use the team's slots) or plan_not_supported (Vercel's REST
// reference, "Get rolling release billing status").
type rrBilling struct {
	Reason          string   `json:"reason"`
	Message         string   `json:"message"`
	EnabledProjects []string `json:"enabledProjects"`
}

// Billing reasons that refuse turning rolling releases on.
const (
	billingPlanNotSupported = "plan_not_supported"
	billingNoSlots          = "no_available_slots"
)

type rrConfigEnvelope struct {
	RollingRelease *rrConfig `json:"rollingRelease"`
}

type rrEnvelope struct {
	RollingRelease *rollingRelease `json:"rollingRelease"`
}

func rrPath(project, rest string) string {
	return "/v1/projects/" + esc(project) + "/rolling-release" + rest
}

func (c *client) rollingConfig(ctx context.Context, project string) (*rrConfig, error) {
	var env rrConfigEnvelope
	if err := c.do(ctx, c.reads, http.MethodGet, rrPath(project, "/config"), nil, nil, &env); err != nil {
		return nil, err
	}
	return env.RollingRelease, nil
}

func (c *client) setRollingConfig(ctx context.Context, project string, body any) (*rrConfig, error) {
	var env rrConfigEnvelope
	if err := c.do(ctx, c.changes, http.MethodPatch, rrPath(project, "/config"), nil, body, &env); err != nil {
		return nil, err
	}
	return env.RollingRelease, nil
}

func (c *client) rollingBilling(ctx context.Context, project string) (*rrBilling, error) {
	var b rrBilling
	if err := c.do(ctx, c.reads, http.MethodGet, rrPath(project, "/billing"), nil, nil, &b); err != nil {
		return nil, err
	}
	return &b, nil
}

// rollingRelease reads the project's latest release (with state, the
// latest in that state); nil when there is none.
func (c *client) rollingRelease(ctx context.Context, project, state string) (*rollingRelease, error) {
	var q url.Values
	if state != "" {
		q = url.Values{"state": {state}}
	}
	var env rrEnvelope
	if err := c.do(ctx, c.reads, http.MethodGet, rrPath(project, ""), q, nil, &env); err != nil {
		return nil, err
	}
	return env.RollingRelease, nil
}

// approveStage and completeRolling are safe to repeat: a repeat after one
// that took effect is refused (the stage moved, the release completed),
// and the callers read the release again to tell.
func (c *client) approveStage(ctx context.Context, project string, next int, canary string) (*rollingRelease, error) {
	var env rrEnvelope
	body := map[string]any{"nextStageIndex": next, "canaryDeploymentId": canary}
	if err := c.do(ctx, c.changes, http.MethodPost, rrPath(project, "/approve-stage"), nil, body, &env); err != nil {
		return nil, err
	}
	return c.orRead(ctx, project, env.RollingRelease)
}

// orRead is rr, or, for an answer that carried no release, the release
// read again.
func (c *client) orRead(ctx context.Context, project string, rr *rollingRelease) (*rollingRelease, error) {
	if rr != nil {
		return rr, nil
	}
	return c.rollingRelease(ctx, project, "")
}

func (c *client) completeRolling(ctx context.Context, project, canary string) (*rollingRelease, error) {
	var env rrEnvelope
	body := map[string]any{"canaryDeploymentId": canary}
	if err := c.do(ctx, c.changes, http.MethodPost, rrPath(project, "/complete"), nil, body, &env); err != nil {
		return nil, err
	}
	return c.orRead(ctx, project, env.RollingRelease)
}

// UseRollout tells the deployer the stages the Pipeline takes a release
// through (Pipeline.Rollout; shipprod.RolloutUser: the Pipeline calls it).
// The pre-flight then checks the project's rolling releases against them.
// A deployer never told refuses a project with rolling releases on: its
// promote would start a rolling release that nothing moves on.
func (d *Deployer) UseRollout(r *shipprod.Rollout) {
	if r != nil && len(r.Stages) == 0 {
		r = nil
	}
	d.rollout = r
}

func (d *Deployer) configure() bool {
	return d.rollout != nil && d.cfg.RollingRelease != nil && d.cfg.RollingRelease.Configure
}

func (d *Deployer) rolloutPercents() []int {
	var out []int
	for _, s := range d.rollout.Stages {
		out = append(out, s.Percent)
	}
	return out
}

func configPercents(c *rrConfig) []int {
	var out []int
	for _, s := range c.Stages {
		out = append(out, s.percent())
	}
	return out
}

func fmtPercents(ps []int) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = strconv.Itoa(p) + "%"
	}
	return strings.Join(s, ", ")
}

// wantConfig is the configuration shipprod drives: manual approval, the
// rollout's stages.
func (d *Deployer) wantConfig() map[string]any {
	stages := []map[string]any{}
	for _, p := range d.rolloutPercents() {
		stages = append(stages, map[string]any{"targetPercentage": p})
	}
	return map[string]any{"enabled": true, "advancementType": advanceManual, "stages": stages}
}

// fixCommand is the Vercel CLI command that configures the project as
// shipprod drives it.
func (d *Deployer) fixCommand() string {
	cfg, _ := json.Marshal(d.wantConfig())
	return fmt.Sprintf("vercel rolling-release configure --cfg='%s'%s", cfg, d.scopeFlag())
}

// drivable reports whether the project's configuration c is the one
// shipprod drives: enabled, manual approval, the rollout's stages.
// checkRolling says which of them is not.
func (d *Deployer) drivable(c *rrConfig) bool {
	return d.rollout != nil && c.enabled() && c.advancement() == advanceManual && slices.Equal(configPercents(c), d.rolloutPercents())
}

// checkRolling checks the project's rolling release configuration against
// the rollout the Pipeline drives, and says how to fix a mismatch.
func (d *Deployer) checkRolling(c *rrConfig) error {
	how := func() string {
		return fmt.Sprintf("set deploy.vercel.rolling_release.configure: true to let shipprod configure it, or run: %s", d.fixCommand())
	}
	switch {
	case d.rollout == nil && c.enabled():
		return fmt.Errorf("vercel project %s has Rolling Releases on (stages %s, %s): a promote starts a rolling release that shipprod would not move on, leaving most production traffic on the current deployment; add a rollout section with these stages to shipprod.yaml, or turn Rolling Releases off for the project",
			d.project, fmtPercents(configPercents(c)), c.advancement())
	case d.rollout == nil:
		return nil
	case d.configure():
		if n := len(d.rollout.Stages); n < 2 || n > 10 {
			return fmt.Errorf("rollout.stages has %d stage(s); Vercel's rolling releases have 2 to 10", n)
		}
		return nil
	case !c.enabled():
		return fmt.Errorf("rollout.stages is set, but vercel project %s has no rolling release configured, so a promote would move all traffic at once: %s", d.project, how())
	case c.advancement() != advanceManual:
		return fmt.Errorf("vercel project %s's rolling releases advance %s: Vercel would move to the next stage on its own, whatever shipprod's monitor finds; shipprod approves each stage itself and needs manual-approval: %s",
			d.project, c.advancement(), how())
	case !slices.Equal(configPercents(c), d.rolloutPercents()):
		return fmt.Errorf("rollout.stages (%s) do not match the stages of vercel project %s's rolling releases (%s): change rollout.stages to %s, or %s",
			fmtPercents(d.rolloutPercents()), d.project, fmtPercents(configPercents(c)), fmtPercents(configPercents(c)), how())
	}
	return nil
}

// rolling is what a run knows of the project's rolling releases.
type rolling struct {
	// cfg is the configuration, nil when a promote moves all traffic.
	cfg *rrConfig
	// active is the release in flight, nil when none.
	active *rollingRelease
}

// on reports whether a promote starts a rolling release.
func (rr *rolling) on() bool { return rr != nil && rr.cfg != nil }

// readRolling reads the project's configuration and the release in
// flight, unless neither the Pipeline nor the project uses them.
func (r *run) readRolling(ctx context.Context) error {
	if !r.d.usesRolling(r.proj) {
		return nil
	}
	cfg, err := r.d.api.rollingConfig(ctx, r.proj.ID)
	if err != nil {
		return fmt.Errorf("reading the rolling release configuration: %w", err)
	}
	rr := &rolling{}
	if cfg.enabled() {
		rr.cfg = cfg
	}
	if rr.active, err = r.d.api.rollingRelease(ctx, r.proj.ID, rrActive); err != nil {
		return fmt.Errorf("reading the rolling release in flight: %w", err)
	}
	r.rr = rr
	return nil
}

// prepareRolling reads the project's rolling releases before a deploy,
// configures them when asked, and refuses a configuration shipprod cannot
// drive.
func (r *run) prepareRolling(ctx context.Context) error {
	if err := r.readRolling(ctx); err != nil || r.rr == nil {
		return err
	}
	cfg := r.rr.cfg
	if r.d.configure() && !r.d.drivable(cfg) {
		got, err := r.d.api.setRollingConfig(ctx, r.proj.ID, r.d.wantConfig())
		if err != nil {
			return fmt.Errorf("configuring rolling releases (manual approval, stages %s): %w", fmtPercents(r.d.rolloutPercents()), err)
		}
		if !got.enabled() {
			got = &rrConfig{AdvancementType: advanceManual}
			for _, p := range r.d.rolloutPercents() {
				got.Stages = append(got.Stages, rrStage{TargetPercentage: float64(p)})
			}
		}
		r.rr.cfg = got
		r.note(fmt.Sprintf("configured the project's rolling releases: manual approval, stages %s", fmtPercents(r.d.rolloutPercents())))
	}
	return r.d.checkRolling(r.rr.cfg)
}

// busyError refuses a promote while another deployment's release is in
// flight.
func (d *Deployer) busyError(a *rollingRelease) error {
	return fmt.Errorf("a rolling release of deployment %s is in progress (%s): finish it first, with `vercel rolling-release complete --dpl %s%s` or by aborting it with `vercel rollback %s%s`",
		a.canary(), a.describe(), a.canary(), d.scopeFlag(), a.current(), d.scopeFlag())
}

// promoteRolling promotes a READY production deployment on a project with
// rolling releases on: the promote starts a release at the first stage
// (or, resumed, finds the release of this deployment in flight).
func (r *run) promoteRolling(ctx context.Context, rel shipprod.Release, dd *deployment) (shipprod.Deployment, error) {
	id := dd.id()
	if a := r.rr.active; a != nil {
		if a.canary() != id {
			return r.fail(r.d.busyError(a))
		}
		r.d.log.Info("vercel: the rolling release of the deployment is in flight already", "deployment", id, "at", a.describe())
		return r.finishCanary(rel, dd, a)
	}
	if err := r.d.api.promote(ctx, r.proj.ID, id); err != nil {
		return r.fail(err)
	}
	r.accepted(ctx, id, dd.sha())
	rr, err := r.d.awaitCanary(ctx, r.proj.ID, id)
	if err != nil {
		return r.fail(err)
	}
	return r.finishCanary(rel, dd, rr)
}

// awaitCanary follows the project's rolling release until it is the
// release of deployment id.
func (d *Deployer) awaitCanary(ctx context.Context, projectID, id string) (*rollingRelease, error) {
	var started *rollingRelease
	err := d.poll(ctx, "the rolling release to start", func() error {
		return fmt.Errorf("no rolling release of the deployment started within %s", d.cfg.Timeout)
	}, func() (bool, error) {
		rr, err := d.api.rollingRelease(ctx, projectID, "")
		if err != nil || rr.canary() != id {
			return false, err
		}
		switch rr.State {
		case rrActive, rrComplete:
			started = rr
			return true, nil
		case rrAborted:
			return false, errors.New("the rolling release of the deployment was aborted as it started")
		}
		return false, nil
	})
	if err != nil {
		return nil, err
	}
	return started, nil
}

// finishCanary fills the Deployment of a canary: the share it serves, not
// all of production.
func (r *run) finishCanary(rel shipprod.Release, dd *deployment, rr *rollingRelease) (shipprod.Deployment, error) {
	if cur := rr.current(); cur != "" && cur != dd.id() {
		r.dep.PreviousID = cur
	}
	r.dep.Details["traffic_percent"] = strconv.Itoa(rr.share())
	if rr.State == rrActive {
		r.dep.Details["rolling_release"] = fmt.Sprintf("%s: %d%% of production traffic, the rest on %s", rr.describe(), rr.share(), rr.current())
		r.d.log.Info("vercel: rolling release started", "deployment", dd.id(), "at", rr.describe())
	}
	return r.finish(rel, dd)
}

// projectID is the project's id for a deployment Deploy returned (its
// details carry it), else read.
func (d *Deployer) projectID(ctx context.Context, dep shipprod.Deployment) (string, error) {
	if id := dep.Details["project_id"]; id != "" {
		return id, nil
	}
	p, err := d.api.getProject(ctx, d.project)
	if err != nil {
		return "", err
	}
	return p.ID, nil
}

// shiftError names the project and deployment of a failed traffic change.
func (d *Deployer) shiftError(op string, dep shipprod.Deployment, err error) error {
	return &opError{op: op, project: d.project, deployment: dep.ID, err: err}
}

// releaseOf reads the project of dep and its current rolling release;
// errors say what op was doing.
func (d *Deployer) releaseOf(ctx context.Context, op string, dep shipprod.Deployment) (string, *rollingRelease, error) {
	pid, err := d.projectID(ctx, dep)
	if err != nil {
		return "", nil, d.shiftError(op, dep, err)
	}
	rr, err := d.api.rollingRelease(ctx, pid, "")
	if err != nil {
		return "", nil, d.shiftError(op, dep, err)
	}
	return pid, rr, nil
}

// Traffic says which share of production traffic dep serves: its rolling
// release's active stage; 100 once the release completed (or when it is
// the production deployment without one); 0 otherwise.
func (d *Deployer) Traffic(ctx context.Context, dep shipprod.Deployment) (int, error) {
	pid, rr, err := d.releaseOf(ctx, "reading its share of traffic", dep)
	if err != nil {
		return 0, err
	}
	if rr.canary() == dep.ID {
		return rr.share(), nil
	}
	p, err := d.api.getProject(ctx, pid)
	if err != nil {
		return 0, d.shiftError("reading its share of traffic", dep, err)
	}
	if p.productionID() == dep.ID {
		return 100, nil
	}
	return 0, nil
}

// ShiftTraffic approves the stage of dep's rolling release that sends it
// percent of production traffic: the next stage, by the nextStageIndex of
// a fresh read. When the stage moved meanwhile (the approval is refused),
// it reads the release once more: done if it is at percent now. A release
// already at percent is left as it is; one beyond it is an error (a share
// never goes down but by an abort).
func (d *Deployer) ShiftTraffic(ctx context.Context, dep shipprod.Deployment, percent int) error {
	op := fmt.Sprintf("sending %d%% of production traffic to it", percent)
	pid, rr, err := d.releaseOf(ctx, op, dep)
	if err != nil {
		return err
	}
	if rr.canary() != dep.ID {
		return d.noRelease(ctx, op, pid, dep, rr)
	}
	next, err := stageFor(rr, percent)
	switch {
	case err != nil:
		return d.shiftError(op, dep, err)
	case next < 0:
		return nil // at percent already
	}
	got, err := d.api.approveStage(ctx, pid, next, dep.ID)
	if err != nil {
		if got, err = d.afterRefusal(ctx, pid, dep, err); err != nil {
			return d.shiftError(op, dep, err)
		}
		if got.canary() == dep.ID && got.share() < percent {
			if n, serr := stageFor(got, percent); serr == nil && n >= 0 {
				got, err = d.api.approveStage(ctx, pid, n, dep.ID)
			}
		}
		if err != nil {
			return d.shiftError(op, dep, err)
		}
	}
	if got.canary() != dep.ID || got.share() != percent {
		return d.shiftError(op, dep, fmt.Errorf("after the approval the rolling release is %s, not at %d%%", got.describe(), percent))
	}
	d.log.Info("vercel: rolling release moved on", "deployment", dep.ID, "at", got.describe())
	return nil
}

// stageFor is the index of the stage of rr that sends percent, when it is
// the next one; -1 when rr is at percent already.
func stageFor(rr *rollingRelease, percent int) (int, error) {
	switch share := rr.share(); {
	case rr.State != rrActive:
		return 0, fmt.Errorf("the rolling release is %s", strings.ToLower(rr.State))
	case share == percent:
		return -1, nil
	case share > percent:
		return 0, fmt.Errorf("the rolling release is at %s already, above %d%%: it was moved on outside shipprod", rr.describe(), percent)
	}
	i := slices.IndexFunc(rr.Stages, func(s rrStage) bool { return s.percent() == percent })
	switch {
	case i < 0:
		var ps []int
		for _, s := range rr.Stages {
			ps = append(ps, s.percent())
		}
		return 0, fmt.Errorf("the rolling release has no stage of %d%% (its stages: %s)", percent, fmtPercents(ps))
	case rr.NextStage == nil || rr.NextStage.Index != i:
		return 0, fmt.Errorf("the rolling release is at %s; %d%% is not its next stage", rr.describe(), percent)
	}
	return i, nil
}

// afterRefusal reads the release again after a refused approve or
// complete: the request may have been refused because it (or a retry of
// it) took effect already.
func (d *Deployer) afterRefusal(ctx context.Context, pid string, dep shipprod.Deployment, refused error) (*rollingRelease, error) {
	var api *APIError
	if !errors.As(refused, &api) || api.Status >= 500 || api.Status == http.StatusTooManyRequests || api.InvalidToken {
		return nil, refused
	}
	rr, err := d.api.rollingRelease(ctx, pid, "")
	if err != nil {
		return nil, errors.Join(refused, err)
	}
	if rr.canary() != dep.ID {
		return nil, fmt.Errorf("%w; the project's rolling release is no longer this deployment's", refused)
	}
	return rr, nil
}

// noRelease handles a traffic change for a deployment that has no rolling
// release: fine when it serves all of production already (a first
// production deployment has nothing to roll from), an error otherwise.
func (d *Deployer) noRelease(ctx context.Context, op, pid string, dep shipprod.Deployment, rr *rollingRelease) error {
	p, err := d.api.getProject(ctx, pid)
	if err != nil {
		return d.shiftError(op, dep, err)
	}
	if p.productionID() == dep.ID {
		d.log.Info("vercel: the deployment serves all production traffic already (no rolling release)", "deployment", dep.ID)
		return nil
	}
	msg := "the project has no rolling release"
	if rr != nil {
		msg = fmt.Sprintf("the project's rolling release is deployment %s's (%s)", rr.canary(), rr.describe())
	}
	return d.shiftError(op, dep, fmt.Errorf("%s, and the deployment is not production: promote it again (ship again) to start one", msg))
}

// CompleteRollout completes dep's rolling release: the canary serves all
// traffic and becomes the project's production deployment.
func (d *Deployer) CompleteRollout(ctx context.Context, dep shipprod.Deployment) error {
	const op = "completing its rolling release"
	pid, rr, err := d.releaseOf(ctx, op, dep)
	if err != nil {
		return err
	}
	switch {
	case rr.canary() != dep.ID:
		return d.noRelease(ctx, op, pid, dep, rr)
	case rr.State == rrComplete:
		return nil
	case rr.State != rrActive:
		return d.shiftError(op, dep, fmt.Errorf("the rolling release is %s", strings.ToLower(rr.State)))
	}
	got, err := d.api.completeRolling(ctx, pid, dep.ID)
	if err != nil {
		if got, err = d.afterRefusal(ctx, pid, dep, err); err != nil {
			return d.shiftError(op, dep, err)
		}
	}
	if got.canary() == dep.ID && got.State == rrActive {
		// Completing may take a moment; follow it, as a promote.
		if got, err = d.awaitRolling(ctx, pid, dep.ID, rrComplete); err != nil {
			return d.shiftError(op, dep, err)
		}
	}
	if got.canary() != dep.ID || got.State != rrComplete {
		return d.shiftError(op, dep, fmt.Errorf("the rolling release is %s, not complete", got.describe()))
	}
	d.log.Info("vercel: rolling release complete", "deployment", dep.ID)
	return nil
}

// awaitRolling follows dep's release until it leaves ACTIVE (want is the
// state expected, for the message).
func (d *Deployer) awaitRolling(ctx context.Context, pid, id, want string) (*rollingRelease, error) {
	want = strings.ToLower(want)
	var left *rollingRelease
	err := d.poll(ctx, "the rolling release to be "+want, func() error {
		return fmt.Errorf("the rolling release was not %s within %s", want, d.cfg.Timeout)
	}, func() (bool, error) {
		rr, err := d.api.rollingRelease(ctx, pid, "")
		switch {
		case err != nil:
			return false, err
		case rr.canary() != id:
			return false, errors.New("the project's rolling release is no longer this deployment's")
		}
		left = rr
		return rr.State != rrActive, nil
	})
	if err != nil {
		return nil, err
	}
	return left, nil
}

// AbortRollout sends all production traffic back to the deployment that
// served it before dep. A rolling release in flight is aborted with an
// instant rollback to its current deployment (as `vercel rolling-release
// abort` does; the project's rolling release configuration stays). A
// completed one is rolled back like any release; a deployment that serves
// no traffic is left as it is.
func (d *Deployer) AbortRollout(ctx context.Context, dep shipprod.Deployment) error {
	const op = "aborting its rolling release"
	pid, rr, err := d.releaseOf(ctx, op, dep)
	if err != nil {
		return err
	}
	switch {
	case rr.canary() == dep.ID && rr.State == rrAborted:
		return nil
	case rr.canary() == dep.ID && rr.State == rrActive:
		return d.abortActive(ctx, pid, dep, rr)
	}
	p, err := d.api.getProject(ctx, pid)
	if err != nil {
		return d.shiftError(op, dep, err)
	}
	if p.productionID() != dep.ID {
		d.log.Info("vercel: the deployment serves no production traffic; nothing to abort", "deployment", dep.ID)
		return nil
	}
	_, err = d.Rollback(ctx, dep, shipprod.Release{})
	return err
}

func (d *Deployer) abortActive(ctx context.Context, pid string, dep shipprod.Deployment, rr *rollingRelease) error {
	const op = "aborting its rolling release"
	target := rr.current()
	if target == "" {
		return d.shiftError(op, dep, errors.New("the rolling release names no current deployment to send the traffic back to"))
	}
	requested := d.clock.Now()
	if err := d.api.rollback(ctx, pid, target, "shipprod: aborting the rolling release of "+dep.ID); err != nil {
		return d.shiftError(op, dep, err)
	}
	if err := d.awaitAliasRequest(ctx, pid, "rollback", target, requested); err != nil {
		return d.shiftError(op, dep, err)
	}
	after, err := d.api.rollingRelease(ctx, pid, "")
	if err != nil {
		return d.shiftError(op, dep, err)
	}
	if after.canary() == dep.ID && after.State == rrActive {
		return d.shiftError(op, dep, fmt.Errorf("the instant rollback to %s finished, but the rolling release is still %s", target, after.describe()))
	}
	d.log.Warn("vercel: rolling release aborted; Vercel turned automatic domain assignment off with the rollback until the next promote",
		"deployment", dep.ID, "production", target)
	return nil
}

// preflightRolling checks, reading only, that the project's rolling
// releases are what the rollout needs (or can be configured so: the
// stages fit, and the team's plan has them), and that no other
// deployment's release is in flight.
func (d *Deployer) preflightRolling(ctx context.Context, rel shipprod.Release, p *project) error {
	if !d.usesRolling(p) {
		return nil
	}
	cfg, err := d.api.rollingConfig(ctx, p.ID)
	if err != nil {
		return fmt.Errorf("vercel project %s: reading the rolling release configuration: %w", d.project, err)
	}
	if err := d.checkRolling(cfg); err != nil {
		return err
	}
	if d.configure() && !d.drivable(cfg) {
		if err := d.checkBilling(ctx, p.ID, cfg); err != nil {
			return fmt.Errorf("vercel project %s: %w", d.project, err)
		}
	}
	active, err := d.api.rollingRelease(ctx, p.ID, rrActive)
	if err != nil || active == nil {
		return err
	}
	ours, err := d.isRelease(ctx, active.canary(), rel)
	if err != nil || ours {
		return err
	}
	return fmt.Errorf("vercel project %s: %w", d.project, d.busyError(active))
}

// checkBilling asks Vercel whether the team's plan lets the project's
// rolling releases be configured (cfg is the configuration now), so that
// a plan without them fails the pre-flight rather than the deploy's
// PATCH, after the release was tagged.
func (d *Deployer) checkBilling(ctx context.Context, pid string, cfg *rrConfig) error {
	b, err := d.api.rollingBilling(ctx, pid)
	if err != nil {
		return fmt.Errorf("reading whether the team's plan allows rolling releases: %w", err)
	}
	switch {
	case b.Reason == billingPlanNotSupported:
		return fmt.Errorf("rolling_release.configure cannot turn Rolling Releases on: the team's Vercel plan does not include them (Vercel says: %s); upgrade the team to Pro or Enterprise, or remove the rollout section to promote all at once",
			cmp.Or(b.Message, b.Reason))
	case b.Reason == billingNoSlots && !cfg.enabled():
		return fmt.Errorf("rolling_release.configure cannot turn Rolling Releases on: the team has no slot left, they are on for %s (Vercel says: %s); turn them off for one of those, or remove the rollout section to promote all at once",
			cmp.Or(strings.Join(b.EnabledProjects, ", "), "other projects"), cmp.Or(b.Message, b.Reason))
	}
	return nil
}

// isRelease reports whether deployment id is a build of rel (a resumed
// run finds its own rolling release in flight).
func (d *Deployer) isRelease(ctx context.Context, id string, rel shipprod.Release) (bool, error) {
	if staging := d.facts[FactStagingDeploymentID]; staging != "" && id == staging {
		return true, nil
	}
	dd, err := d.api.getDeployment(ctx, id)
	if err != nil {
		return false, err
	}
	sha := dd.sha()
	switch {
	case sha != "" && (sha == rel.Base || sha == rel.Commit):
		return true, nil
	case rel.Tag != "" && dd.Meta["shipprodTag"] == rel.Tag:
		return true, nil
	}
	staging := d.facts[FactStagingDeploymentID]
	return staging != "" && dd.Meta["shipprodPromotedFrom"] == staging, nil
}

// usesRolling reports whether the project's rolling releases need reading:
// the Pipeline drives a rollout, or GET /v9/projects says the project has
// a rolling release configuration.
func (d *Deployer) usesRolling(p *project) bool { return d.rollout != nil || p.rollingHint() }

// rollingHint reports whether GET /v9/projects says the project has a
// rolling release configuration (its rollingRelease field is not null).
func (p *project) rollingHint() bool {
	s := strings.TrimSpace(string(p.RollingRelease))
	return s != "" && s != "null"
}

// activeRelease reads the release in flight of a project whose rolling
// releases are (or were) configured; nil otherwise.
func (d *Deployer) activeRelease(ctx context.Context, p *project) (*rollingRelease, error) {
	if !d.usesRolling(p) {
		return nil, nil
	}
	return d.api.rollingRelease(ctx, p.ID, rrActive)
}

var _ shipprod.RolloutUser = (*Deployer)(nil)

// ReportsURL says that deployments carry the production URL
// (shipprod.URLReporter): the configured url, else the project's alias.
func (d *Deployer) ReportsURL() bool { return true }
