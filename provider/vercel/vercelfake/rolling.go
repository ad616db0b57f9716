package vercelfake

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"time"
)

// Rolling Releases (staged traffic), as Vercel's REST reference and its
// SDK (vercel/sdk, models/*rollingrelease*) describe them:
//
//	GET|PATCH|DELETE /v1/projects/{idOrName}/rolling-release/config
//	GET  /v1/projects/{idOrName}/rolling-release[?state=ACTIVE|COMPLETE|ABORTED]
//	POST /v1/projects/{idOrName}/rolling-release/approve-stage {nextStageIndex, canaryDeploymentId}
//	POST /v1/projects/{idOrName}/rolling-release/complete      {canaryDeploymentId}
//	POST /v1/projects/{idOrName}/rolling-release/start         {canaryDeploymentId}
//	GET  /v1/projects/{idOrName}/rolling-release/billing
//
// Every answer but billing's is {"rollingRelease": …|null}. Billing says
// whether the team's plan lets the project turn rolling releases on:
// {"availableSlots": 0, "reason": "plan_not_supported", "message": …} on
// the Hobby plan (SetHobby), where enabling them is refused with 402, and
// {"availableSlots": "unlimited", "reason": "unlimited_slots", …}
// otherwise (the SDK's getrollingreleasebillingstatusop also has
// available_slots and no_available_slots with enabledProjects, which the
// fake does not model: inject them). With rolling releases
// enabled, a promote (POST /v10/projects/{p}/promote/{d}) or a production
// deployment that would take the domains over starts a rolling release at
// the first stage instead: the canary serves that share, and the project's
// production target moves only when the release completes (approving the
// final stage, or complete). An instant rollback aborts the active release.
// Automatic advancement moves on when a stage's duration (minutes) has
// passed on the server's clock.
//
// UNVERIFIED — the documentation is silent, these are the fake's choices:
// a promote that starts a release answers 202 at once and leaves
// lastAliasRequest alone; a promote while another deployment's release is
// active is refused (RollingReleaseErrors.Busy; Vercel may queue it, see
// queuedDeploymentId); the canary's readySubstate is ROLLING during the
// release and STAGED after an abort; approving the final stage completes
// the release; GET …/config answers enabled and advancementType, as Vercel's
// Terraform provider reads them (the SDK's schema of that answer has
// neither); which status each refusal gets (RollingReleaseErrors).

// Advancement types.
const (
	AdvanceAutomatic = "automatic"
	AdvanceManual    = "manual-approval"
)

// Rolling release states.
const (
	StateActive   = "ACTIVE"
	StateComplete = "COMPLETE"
	StateAborted  = "ABORTED"
)

// Stage is a stage of a project's rolling release configuration.
type Stage struct {
	TargetPercentage int
	// Duration is the minutes an automatic stage lasts (0: none).
	Duration int
}

// RollingReleaseConfig is a project's rolling release configuration, the
// template of the next rolling release.
type RollingReleaseConfig struct {
	Enabled         bool
	AdvancementType string
	Stages          []Stage
}

// Split says what serves a project's production traffic: Canary serves
// CanaryPercent of it during a rolling release, Production the rest.
type Split struct {
	Production, Canary string
	CanaryPercent      int
	// State is the rolling release's (ACTIVE, COMPLETE, ABORTED), "" when
	// the project never had one.
	State string
}

// ErrorAnswer is the status and error code of a refused request.
type ErrorAnswer struct {
	Status int
	Code   string
}

// RollingReleaseErrors are the answers to rolling release requests that
// cannot be served. Vercel documents the status codes these endpoints
// answer with (400, 401, 403, 404, 410) but not which condition gets which:
// UNVERIFIED, hence configurable (SetRollingReleaseErrors).
type RollingReleaseErrors struct {
	// NotActive: approve or complete with no active rolling release.
	NotActive ErrorAnswer
	// AlreadyComplete: approve or complete once the release completed.
	AlreadyComplete ErrorAnswer
	// StageMoved: approve with a nextStageIndex that is not the next stage.
	StageMoved ErrorAnswer
	// CanaryMismatch: a canaryDeploymentId that is not the active canary.
	CanaryMismatch ErrorAnswer
	// Busy: a promote while another deployment's release is active.
	Busy ErrorAnswer
}

// DefaultRollingReleaseErrors are the answers unless
// SetRollingReleaseErrors says otherwise.
var DefaultRollingReleaseErrors = RollingReleaseErrors{
	NotActive:       ErrorAnswer{http.StatusNotFound, "not_found"},
	AlreadyComplete: ErrorAnswer{http.StatusBadRequest, "bad_request"},
	StageMoved:      ErrorAnswer{http.StatusBadRequest, "bad_request"},
	CanaryMismatch:  ErrorAnswer{http.StatusBadRequest, "bad_request"},
	Busy:            ErrorAnswer{http.StatusConflict, "conflict"},
}

// rollout is a project's latest rolling release.
type rollout struct {
	state           string
	current, canary string
	advancement     string
	stages          []Stage
	active          int // the active stage's index; -1 once aborted
	startedAt       int64
	updatedAt       int64
	stageAt         time.Time
}

func (r *rollout) share() int {
	switch {
	case r.state == StateComplete:
		return 100
	case r.state != StateActive || r.active < 0:
		return 0
	}
	return r.stages[r.active].TargetPercentage
}

// SetRollingRelease configures a project's rolling releases, as the
// dashboard (or PATCH …/rolling-release/config) does; it does not check the
// configuration.
func (s *Server) SetRollingRelease(projectID string, cfg RollingReleaseConfig) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := cfg
	c.Stages = slices.Clone(cfg.Stages)
	s.projects[projectID].rrConfig = &c
}

// RollingRelease returns a project's rolling release configuration (nil
// when it was never configured or was deleted).
func (s *Server) RollingRelease(projectID string) *RollingReleaseConfig {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.projects[projectID].rrConfig
	if c == nil {
		return nil
	}
	out := *c
	out.Stages = slices.Clone(c.Stages)
	return &out
}

// SetRollingReleaseErrors changes the answers to refused rolling release
// requests.
func (s *Server) SetRollingReleaseErrors(e RollingReleaseErrors) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rrErrors = e
}

// SetResolveOnDisable makes PATCH …/rolling-release/config with enabled
// false resolve the active release (disableRolloutAction abort or
// complete), as Vercel does with its resolve-on-disable flag; without it
// the release goes on.
func (s *Server) SetResolveOnDisable(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.resolveOnDisable = on
}

// Traffic says what serves the project's production traffic now, for a
// test's "production" server to route requests by.
func (s *Server) Traffic(projectID string) Split {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.projects[projectID]
	s.tick(p)
	return s.split(p)
}

// TrafficHistory lists every change of the project's split, oldest first:
// each rolling release's start, stages, completion or abort.
func (s *Server) TrafficHistory(projectID string) []Split {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.projects[projectID]
	s.tick(p)
	return slices.Clone(p.splits)
}

func (s *Server) split(p *project) Split {
	sp := Split{Production: p.production}
	if r := p.rr; r != nil {
		sp.State = r.state
		if r.state == StateActive {
			sp.Canary, sp.CanaryPercent = r.canary, r.share()
		}
	}
	return sp
}

// recordSplit notes a change of the split.
func (s *Server) recordSplit(p *project) {
	p.splits = append(p.splits, s.split(p))
}

func (p *project) rollingEnabled() bool { return p.rrConfig != nil && p.rrConfig.Enabled }

// startRolling starts a rolling release of d at the first stage.
func (s *Server) startRolling(p *project, d *deployment) {
	c := p.rrConfig
	now := s.now()
	p.rr = &rollout{state: StateActive, current: p.production, canary: d.id, advancement: c.AdvancementType,
		stages: slices.Clone(c.Stages), startedAt: now.UnixMilli(), updatedAt: now.UnixMilli(), stageAt: now}
	d.substate = "ROLLING"
	s.recordSplit(p)
}

// tick advances an automatic rolling release whose stage has lasted its
// duration.
func (s *Server) tick(p *project) {
	r := p.rr
	for r != nil && r.state == StateActive && r.advancement == AdvanceAutomatic {
		st := r.stages[r.active]
		if st.Duration <= 0 || s.now().Sub(r.stageAt) < time.Duration(st.Duration)*time.Minute {
			return
		}
		s.advanceStage(p, r.active+1)
	}
}

// advanceStage moves the active release to stage i; the final stage
// completes it.
func (s *Server) advanceStage(p *project, i int) {
	r := p.rr
	if i >= len(r.stages)-1 {
		s.completeRolling(p)
		return
	}
	r.active, r.stageAt, r.updatedAt = i, s.now(), s.now().UnixMilli()
	s.recordSplit(p)
}

// completeRolling sends all traffic to the canary: the project's
// production target moves to it.
func (s *Server) completeRolling(p *project) {
	r := p.rr
	r.state, r.active, r.updatedAt = StateComplete, len(r.stages)-1, s.now().UnixMilli()
	s.makeProduction(p, s.deployments[r.canary])
	s.recordSplit(p)
}

// abortRolling sends all traffic back to the current deployment.
func (s *Server) abortRolling(p *project) {
	r := p.rr
	r.state, r.active, r.updatedAt = StateAborted, -1, s.now().UnixMilli()
	if d := s.deployments[r.canary]; d != nil {
		// It never served production as a whole; it waits for a promote.
		d.substate, d.skipDomain = "STAGED", true
	}
	s.recordSplit(p)
}

// promoteRolling handles a promote on a project with rolling releases:
// it starts (or, for the active canary, keeps) a release. It reports
// false when the promote is an ordinary one.
func (s *Server) promoteRolling(w http.ResponseWriter, p *project, d *deployment) bool {
	if !p.rollingEnabled() || p.production == "" || p.production == d.id {
		return false
	}
	s.tick(p)
	if r := p.rr; r != nil && r.state == StateActive {
		if r.canary != d.id {
			s.rrError(w, s.rrErrors.Busy, fmt.Sprintf("A rolling release of deployment %s is in progress; complete or abort it first", r.canary))
			return true
		}
	} else {
		s.startRolling(p, d)
	}
	p.autoAssign = true
	w.WriteHeader(http.StatusAccepted)
	return true
}

func (s *Server) rrError(w http.ResponseWriter, a ErrorAnswer, message string) {
	apiError(w, a.Status, a.Code, message, nil)
}

// rollingRoute serves the rolling release endpoints; it reports false for
// any other route.
func (s *Server) rollingRoute(w http.ResponseWriter, r *http.Request, route string, parts []string) bool {
	switch route {
	case "GET v1/projects/*/rolling-release/config", "PATCH v1/projects/*/rolling-release/config",
		"DELETE v1/projects/*/rolling-release/config", "GET v1/projects/*/rolling-release",
		"POST v1/projects/*/rolling-release/approve-stage", "POST v1/projects/*/rolling-release/complete",
		"POST v1/projects/*/rolling-release/start", "GET v1/projects/*/rolling-release/billing":
	default:
		return false
	}
	p := s.findProject(parts[2])
	if p == nil {
		apiError(w, http.StatusNotFound, "not_found", "Project not found", nil)
		return true
	}
	s.tick(p)
	switch route {
	case "GET v1/projects/*/rolling-release/config":
		writeJSON(w, http.StatusOK, map[string]any{"rollingRelease": renderConfig(p.rrConfig)})
	case "PATCH v1/projects/*/rolling-release/config":
		s.patchConfig(w, r, p)
	case "GET v1/projects/*/rolling-release/billing":
		if s.hobby {
			writeJSON(w, http.StatusOK, map[string]any{"availableSlots": 0, "reason": "plan_not_supported", "message": hobbyRolling})
			return true
		}
		writeJSON(w, http.StatusOK, map[string]any{"availableSlots": "unlimited", "reason": "unlimited_slots", "message": "Rolling Releases are available for all projects"})
	case "DELETE v1/projects/*/rolling-release/config":
		// The release in flight, if any, goes on.
		p.rrConfig = nil
		writeJSON(w, http.StatusOK, map[string]any{"rollingRelease": nil})
	case "GET v1/projects/*/rolling-release":
		var doc any
		if p.rr != nil && (r.URL.Query().Get("state") == "" || r.URL.Query().Get("state") == p.rr.state) {
			doc = s.renderRollout(p.rr)
		}
		writeJSON(w, http.StatusOK, map[string]any{"rollingRelease": doc})
	default:
		s.changeRolling(w, r, p, parts[4])
	}
	return true
}

// hobbyRolling is why the Hobby plan has no rolling releases.
const hobbyRolling = "Rolling Releases are available on the Pro and Enterprise plans"

// configBody is the body of PATCH …/rolling-release/config.
type configBody struct {
	Enabled         *bool  `json:"enabled"`
	AdvancementType string `json:"advancementType"`
	Stages          []struct {
		TargetPercentage *float64 `json:"targetPercentage"`
		Duration         *float64 `json:"duration"`
		RequireApproval  *bool    `json:"requireApproval"`
	} `json:"stages"`
	DisableRolloutAction string `json:"disableRolloutAction"`
}

func (s *Server) patchConfig(w http.ResponseWriter, r *http.Request, p *project) {
	var body configBody
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		apiError(w, http.StatusBadRequest, "bad_request", "Invalid JSON: "+err.Error(), nil)
		return
	}
	if body.Enabled != nil && !*body.Enabled {
		if s.resolveOnDisable && p.rr != nil && p.rr.state == StateActive {
			if body.DisableRolloutAction == "complete" {
				s.completeRolling(p)
			} else {
				s.abortRolling(p)
			}
		}
		p.rrConfig = nil
		writeJSON(w, http.StatusOK, map[string]any{"rollingRelease": nil})
		return
	}
	if s.hobby {
		apiError(w, http.StatusPaymentRequired, "payment_required", hobbyRolling, nil)
		return
	}
	cfg, msg := checkConfig(body)
	if msg != "" {
		apiError(w, http.StatusBadRequest, "bad_request", "Invalid request: "+msg, nil)
		return
	}
	p.rrConfig = cfg
	writeJSON(w, http.StatusOK, map[string]any{"rollingRelease": renderConfig(cfg)})
}

// checkConfig checks an enabling configuration as Vercel does (its
// Terraform provider's client checks the same before sending): an
// advancement type, 2 to 10 stages rising to 100, durations of 1 to 10000
// minutes on every automatic stage but the last, none for manual approval.
func checkConfig(body configBody) (*RollingReleaseConfig, string) {
	cfg := &RollingReleaseConfig{Enabled: true, AdvancementType: body.AdvancementType}
	if cfg.AdvancementType != AdvanceAutomatic && cfg.AdvancementType != AdvanceManual {
		return nil, fmt.Sprintf("`advancementType` must be %q or %q, not %q", AdvanceAutomatic, AdvanceManual, body.AdvancementType)
	}
	if n := len(body.Stages); n < 2 || n > 10 {
		return nil, fmt.Sprintf("`stages` must have 2 to 10 stages, not %d", n)
	}
	prev := 0
	for i, st := range body.Stages {
		if st.TargetPercentage == nil {
			return nil, fmt.Sprintf("`stages[%d]` should have required property 'targetPercentage'", i)
		}
		pct := int(*st.TargetPercentage)
		if float64(pct) != *st.TargetPercentage || pct <= prev || pct > 100 {
			return nil, fmt.Sprintf("`stages[%d].targetPercentage` %v must be a whole number above the stage before (%d) and at most 100", i, *st.TargetPercentage, prev)
		}
		prev = pct
		last := i == len(body.Stages)-1
		stage := Stage{TargetPercentage: pct}
		switch {
		case st.Duration != nil && (cfg.AdvancementType == AdvanceManual || last):
			return nil, fmt.Sprintf("`stages[%d].duration` is only for the stages of an automatic rolling release but the last", i)
		case st.Duration != nil && (*st.Duration < 1 || *st.Duration > 10000):
			return nil, fmt.Sprintf("`stages[%d].duration` must be 1 to 10000 minutes", i)
		case st.Duration == nil && cfg.AdvancementType == AdvanceAutomatic && !last:
			return nil, fmt.Sprintf("`stages[%d].duration` is required for automatic advancement", i)
		case st.Duration != nil:
			stage.Duration = int(*st.Duration)
		}
		cfg.Stages = append(cfg.Stages, stage)
	}
	if prev != 100 {
		return nil, "the last stage's `targetPercentage` must be 100"
	}
	return cfg, ""
}

// changeRolling serves approve-stage, complete and start.
func (s *Server) changeRolling(w http.ResponseWriter, r *http.Request, p *project, verb string) {
	var body struct {
		NextStageIndex     *float64 `json:"nextStageIndex"`
		CanaryDeploymentID string   `json:"canaryDeploymentId"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		apiError(w, http.StatusBadRequest, "bad_request", "Invalid JSON: "+err.Error(), nil)
		return
	}
	switch {
	case body.CanaryDeploymentID == "":
		apiError(w, http.StatusBadRequest, "bad_request", "Invalid request: should have required property 'canaryDeploymentId'", nil)
		return
	case verb == "approve-stage" && body.NextStageIndex == nil:
		apiError(w, http.StatusBadRequest, "bad_request", "Invalid request: should have required property 'nextStageIndex'", nil)
		return
	case verb == "start":
		s.startByRequest(w, p, body.CanaryDeploymentID)
		return
	}
	rr := p.rr
	switch {
	case rr == nil || rr.state == StateAborted:
		s.rrError(w, s.rrErrors.NotActive, "No active rolling release found for this project")
		return
	case rr.state == StateComplete:
		s.rrError(w, s.rrErrors.AlreadyComplete, "The rolling release of deployment "+rr.canary+" is already complete")
		return
	case body.CanaryDeploymentID != rr.canary:
		s.rrError(w, s.rrErrors.CanaryMismatch, fmt.Sprintf("Deployment %s is not the canary of the active rolling release (%s)", body.CanaryDeploymentID, rr.canary))
		return
	}
	if verb == "complete" {
		s.completeRolling(p)
	} else {
		next := int(*body.NextStageIndex)
		if float64(next) != *body.NextStageIndex || next != rr.active+1 {
			s.rrError(w, s.rrErrors.StageMoved, fmt.Sprintf("The rolling release is at stage %d: nextStageIndex %v is not the next stage (%d)", rr.active, *body.NextStageIndex, rr.active+1))
			return
		}
		s.advanceStage(p, next)
	}
	writeJSON(w, http.StatusOK, map[string]any{"rollingRelease": s.renderRollout(rr)})
}

// startByRequest serves POST …/rolling-release/start: a release of the
// deployment, or the active one unchanged when it is that deployment's.
func (s *Server) startByRequest(w http.ResponseWriter, p *project, id string) {
	d := s.deployments[id]
	switch {
	case !p.rollingEnabled():
		apiError(w, http.StatusBadRequest, "bad_request", "Rolling releases are not enabled for this project", nil)
		return
	case d == nil || d.projectID != p.ID:
		apiError(w, http.StatusNotFound, "not_found", "Could not find the deployment: "+id, nil)
		return
	case d.state != "READY" || d.target != "production":
		apiError(w, http.StatusUnprocessableEntity, "unprocessable", "Only a READY production deployment can be rolled out", nil)
		return
	case p.rr != nil && p.rr.state == StateActive && p.rr.canary != id:
		s.rrError(w, s.rrErrors.Busy, fmt.Sprintf("A rolling release of deployment %s is in progress; complete or abort it first", p.rr.canary))
		return
	case p.rr == nil || p.rr.state != StateActive:
		s.startRolling(p, d)
	}
	writeJSON(w, http.StatusOK, map[string]any{"rollingRelease": s.renderRollout(p.rr)})
}

func renderConfig(c *RollingReleaseConfig) any {
	if c == nil || !c.Enabled {
		return nil
	}
	stages := make([]map[string]any, len(c.Stages))
	for i, st := range c.Stages {
		m := map[string]any{"targetPercentage": st.TargetPercentage}
		if c.AdvancementType == AdvanceManual && i < len(c.Stages)-1 {
			m["requireApproval"] = true
		}
		if st.Duration > 0 {
			m["duration"] = st.Duration
		}
		stages[i] = m
	}
	return map[string]any{"target": "production", "enabled": true, "advancementType": c.AdvancementType,
		"stages": stages, "canaryResponseHeader": false}
}

func (s *Server) renderStage(r *rollout, i int) map[string]any {
	st := r.stages[i]
	final := i == len(r.stages)-1
	var duration any
	if r.advancement == AdvanceAutomatic && !final && st.Duration > 0 {
		duration = st.Duration * 60 // seconds, in the release document
	}
	return map[string]any{"index": i, "isFinalStage": final, "targetPercentage": st.TargetPercentage,
		"requireApproval": r.advancement == AdvanceManual && !final, "duration": duration, "linearShift": false}
}

func (s *Server) renderRollout(r *rollout) map[string]any {
	stages := make([]map[string]any, len(r.stages))
	for i := range r.stages {
		stages[i] = s.renderStage(r, i)
	}
	var active, next any
	if r.active >= 0 {
		active = stages[r.active]
	}
	if r.state == StateActive && r.active+1 < len(stages) {
		next = stages[r.active+1]
	}
	return map[string]any{
		"state": r.state, "substate": nil, "queuedDeploymentId": nil, "advancementType": r.advancement,
		"currentDeployment": s.rolloutDeployment(r.current), "canaryDeployment": s.rolloutDeployment(r.canary),
		"stages": stages, "activeStage": active, "nextStage": next,
		"startedAt": r.startedAt, "updatedAt": r.updatedAt,
	}
}

func (s *Server) rolloutDeployment(id string) any {
	d := s.deployments[id]
	if d == nil {
		return nil
	}
	var target any
	if d.target != "" {
		target = d.target
	}
	return map[string]any{"id": d.id, "name": d.name, "url": d.url, "target": target, "source": "git",
		"createdAt": d.createdAt, "readyState": d.state, "readyStateAt": d.createdAt}
}

// rollingReleaseField is the project's rollingRelease in GET
// /v9/projects: the configuration's target and stages, or null.
func rollingReleaseField(c *RollingReleaseConfig) any {
	cfg, _ := renderConfig(c).(map[string]any)
	if cfg == nil {
		return nil
	}
	return map[string]any{"target": cfg["target"], "stages": cfg["stages"], "canaryResponseHeader": false}
}
