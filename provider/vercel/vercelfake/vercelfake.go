// Package vercelfake is a fake Vercel REST API server for tests, following
// the documented API (paths, bodies, status codes, error shapes, rate-limit
// headers) and reproducing the ways the real platform misbehaves:
//
//   - builds that sit in QUEUED (the concurrent builds queue) and BUILDING
//     for a configurable number of polls, or forever (Stall);
//   - production deployments that are READY but still STAGED for a few polls
//     before their domains are assigned, and stay STAGED when automatic
//     domain assignment is off (after an instant rollback);
//   - GET /v13/deployments/{host} with a production alias resolving to
//     whatever deployment the alias points at now, not the new one;
//   - 402 quota (api-deployments-free-per-day), 403 invalidToken for an
//     unknown token, 429 rate_limited with limit.reset, 5xx bursts, dropped
//     connections and malformed JSON, injected with Inject.
//
// Deployments advance one step each time they are fetched by id, so tests
// control progress without real time. Timestamps and rate-limit resets read
// the Clock the server is given, which tests share with the client.
//
// Served: POST /v13/deployments, GET /v13/deployments/{id|host},
// GET /v6|v7/deployments, PATCH /v12/deployments/{id}/cancel,
// GET /v9/projects/{idOrName}, POST /v10/projects/{p}/promote/{d},
// POST /v1|v9/projects/{p}/rollback/{d},
// GET /v1|v9/projects/{p}/promote|rollback/aliases, and the Rolling
// Releases endpoints (see rolling.go): GET|PATCH|DELETE
// /v1/projects/{p}/rolling-release/config, GET
// /v1/projects/{p}/rolling-release, POST
// /v1/projects/{p}/rolling-release/approve-stage|complete|start, GET
// /v1/projects/{p}/rolling-release/billing.
package vercelfake

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shipprod/shipprod"
)

// Options configure a Server.
type Options struct {
	// Token is the only bearer token accepted (default "test-token").
	Token string
	// TeamID and TeamSlug, when set, must be given as teamId or slug on
	// every request; a missing or different team is a 403.
	TeamID, TeamSlug string
	// Clock stamps times and rate-limit resets (default the system clock).
	Clock shipprod.Clock
}

// Builds says how new deployments progress, in polls of GET /v13/deployments/{id}.
type Builds struct {
	// QueuedPolls is how many polls a deployment stays QUEUED (with
	// isInConcurrentBuildsQueue set), BuildingPolls how many BUILDING.
	QueuedPolls, BuildingPolls int
	// AliasPolls is how many polls a READY production deployment stays
	// STAGED before its domains are assigned.
	AliasPolls int
	// PromotePolls is how many project polls a promote or rollback stays
	// pending/in-progress.
	PromotePolls int
}

// DefaultBuilds is how deployments progress unless SetBuilds says otherwise.
var DefaultBuilds = Builds{QueuedPolls: 1, BuildingPolls: 2, AliasPolls: 1, PromotePolls: 1}

// Fault is an injected failure for the requests it matches.
type Fault struct {
	// Method and Path select requests: an empty Method matches any, Path is
	// a prefix of the request path ("" matches any).
	Method, Path string
	// Match, when set, selects among those too: the fault applies to the
	// requests it returns true for (one path but not its sub-paths, one
	// query). It runs with the server locked and must not call it.
	Match func(r *http.Request) bool
	// Times is how many matching requests fail (default 1).
	Times int
	// Status and Body answer the request (Body defaults to Vercel's error
	// envelope for Status).
	Status int
	Body   string
	// RateLimit answers 429 rate_limited with limit.reset this far ahead.
	RateLimit time.Duration
	// Drop closes the connection without an answer.
	Drop bool
	// Malformed answers 200 with a truncated JSON body.
	Malformed bool
	// After lets the request through to the real handler first and then
	// drops the connection before the answer (the request took effect).
	After bool
}

// Project is a fake project.
type Project struct {
	ID, Name string
	// Domains are the production domains ("web.example.com").
	Domains []string
	// Link is the linked git repository, as in GET /v9/projects ({"type":
	// "github", "repoId": 1, "org": …, "repo": …}).
	Link map[string]any
}

// Deployment is a fake deployment, for AddDeployment and for inspection.
type Deployment struct {
	ID, ProjectID string
	// Target is "production" or "" (a preview).
	Target string
	// SHA and Ref are the git commit and ref it is built from.
	SHA, Ref string
	// State is the readyState; Substate the readySubstate.
	State, Substate string
	// Promoted makes an added READY production deployment the project's
	// current production (it has served production).
	Promoted bool
	Meta     map[string]string
}

type project struct {
	Project
	autoAssign   bool
	production   string // current production deployment id
	history      []string
	lastAlias    map[string]any
	aliasPending int
	aliasTarget  string
	aliasFail    bool
	rrConfig     *RollingReleaseConfig
	rr           *rollout
	splits       []Split
}

type deployment struct {
	id, url, name, projectID, target string
	state, substate                  string
	aliasAssigned                    int64
	aliasError                       map[string]string
	gitSource                        map[string]any
	meta                             map[string]string
	createdAt, canceledAt            int64
	errorCode, errorMessage          string
	served                           bool
	skipDomain                       bool
	schedule                         []string // states still to go through
	outcome                          [3]string
	aliasPolls                       int
}

// Server is the fake Vercel API.
type Server struct {
	// URL is the base URL to give the client as its API URL.
	URL string
	srv *httptest.Server
	opt Options

	mu          sync.Mutex
	projects    map[string]*project
	deployments map[string]*deployment
	order       []string
	requests    []string
	faults      []*Fault
	builds      Builds
	quota       int // deployments left today; -1 is unlimited
	hobby       bool
	stalled     bool
	nextFail    *[3]string
	seq         int
	// rrErrors answers refused rolling release requests.
	rrErrors         RollingReleaseErrors
	resolveOnDisable bool
}

// New starts a server; it is closed when the test ends.
func New(tb testing.TB, opt Options) *Server {
	s := Start(opt)
	tb.Cleanup(s.Close)
	return s
}

// Close shuts the server down.
func (s *Server) Close() { s.srv.Close() }

// Start starts a server outside a test (an Example); Close it when done.
func Start(opt Options) *Server {
	if opt.Token == "" {
		opt.Token = "test-token"
	}
	if opt.Clock == nil {
		opt.Clock = shipprod.SystemClock()
	}
	s := &Server{opt: opt, projects: map[string]*project{}, deployments: map[string]*deployment{}, builds: DefaultBuilds, quota: -1,
		rrErrors: DefaultRollingReleaseErrors}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.srv.URL
	return s
}

// Client returns an HTTP client for the server.
func (s *Server) Client() *http.Client { return s.srv.Client() }

// AddProject adds a project with automatic domain assignment on.
func (s *Server) AddProject(p Project) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.projects[p.ID] = &project{Project: p, autoAssign: true}
}

// AddDeployment adds a finished deployment and returns its id.
func (s *Server) AddDeployment(d Deployment) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.projects[d.ProjectID]
	if p == nil {
		panic("vercelfake: AddDeployment to unknown project " + d.ProjectID)
	}
	dd := s.newDeployment(p, d.Target, map[string]any{"type": "github", "ref": d.Ref, "sha": d.SHA}, d.Meta)
	if d.ID != "" {
		delete(s.deployments, dd.id)
		s.order = slices.DeleteFunc(s.order, func(id string) bool { return id == dd.id })
		dd.id = d.ID
		s.deployments[dd.id] = dd
		s.order = append(s.order, dd.id)
	}
	dd.schedule = nil
	dd.state = cmp.Or(d.State, "READY")
	dd.substate = d.Substate
	if dd.state == "READY" && dd.target == "production" && dd.substate == "" {
		dd.substate = "STAGED"
	}
	// A production deployment added unpromoted is a staged one (`vercel
	// --prod --skip-domain`): it waits for a promote.
	dd.skipDomain = dd.target == "production" && !d.Promoted
	if d.Promoted {
		s.makeProduction(p, dd)
	}
	return dd.id
}

// SetBuilds changes how new deployments progress.
func (s *Server) SetBuilds(b Builds) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.builds = b
}

// FailNextBuild makes the next created deployment end in state (ERROR,
// CANCELED or BLOCKED) with Vercel's error code and message.
func (s *Server) FailNextBuild(state, code, message string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nextFail = &[3]string{state, code, message}
}

// FailNextPromote makes the next promote or rollback end with jobStatus failed.
func (s *Server) FailNextPromote(projectID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.projects[projectID].aliasFail = true
}

// Stall stops every deployment from making progress: builds stay BUILDING
// and promotions pending.
func (s *Server) Stall() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stalled = true
}

// SetQuota leaves n deployments for the day; then creating one is a 402.
func (s *Server) SetQuota(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.quota = n
}

// SetHobby restricts rollbacks to the previous production deployment (402
// otherwise) and refuses to turn rolling releases on (402; billing answers
// plan_not_supported), as on the Hobby plan.
func (s *Server) SetHobby(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hobby = on
}

// SetAutoAssign sets the project's autoAssignCustomDomains.
func (s *Server) SetAutoAssign(projectID string, on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.projects[projectID].autoAssign = on
}

// Inject adds a fault.
func (s *Server) Inject(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f.Times == 0 {
		f.Times = 1
	}
	s.faults = append(s.faults, &f)
}

// Production returns the project's current production deployment id.
func (s *Server) Production(projectID string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.projects[projectID].production
}

// LiveCommit returns the commit the project's production serves.
func (s *Server) LiveCommit(projectID string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if d := s.deployments[s.projects[projectID].production]; d != nil {
		return d.sha()
	}
	return ""
}

// AutoAssign reports the project's autoAssignCustomDomains.
func (s *Server) AutoAssign(projectID string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.projects[projectID].autoAssign
}

// Deployment returns a snapshot of a deployment.
func (s *Server) Deployment(id string) (Deployment, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.deployments[id]
	if d == nil {
		return Deployment{}, false
	}
	return Deployment{ID: d.id, ProjectID: d.projectID, Target: d.target, SHA: d.sha(), State: d.state, Substate: d.substate, Promoted: d.served, Meta: d.meta}, true
}

// Deployments returns the ids of all deployments, oldest first.
func (s *Server) Deployments() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.order)
}

// Requests returns every request served so far as "METHOD /path".
func (s *Server) Requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

// Writes counts the requests served so far that could change something
// (every method but GET and HEAD), whatever their answer: a pre-flight
// check must make none.
func (s *Server) Writes() int {
	n := 0
	for _, r := range s.Requests() {
		if !strings.HasPrefix(r, "GET ") && !strings.HasPrefix(r, "HEAD ") {
			n++
		}
	}
	return n
}

// ResetRequests forgets the requests served so far.
func (s *Server) ResetRequests() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = nil
}

func (d *deployment) sha() string {
	if sha, _ := d.gitSource["sha"].(string); sha != "" {
		return sha
	}
	return d.meta["githubCommitSha"]
}

func (s *Server) now() time.Time { return s.opt.Clock.Now() }

func (s *Server) newDeployment(p *project, target string, src map[string]any, meta map[string]string) *deployment {
	s.seq++
	id := fmt.Sprintf("dpl_%s%04d", "fake", s.seq)
	d := &deployment{id: id, url: fmt.Sprintf("%s-%04d-acme.vercel.app", p.Name, s.seq), name: p.Name, projectID: p.ID,
		target: target, state: "QUEUED", gitSource: src, meta: map[string]string{}, createdAt: s.now().UnixMilli()}
	for k, v := range meta {
		d.meta[k] = v
	}
	if sha, _ := src["sha"].(string); sha != "" {
		d.meta["githubCommitSha"] = sha
	}
	if ref, _ := src["ref"].(string); ref != "" {
		d.meta["githubCommitRef"] = ref
	}
	for i := 0; i < s.builds.QueuedPolls; i++ {
		d.schedule = append(d.schedule, "QUEUED")
	}
	d.schedule = append(d.schedule, "INITIALIZING")
	for i := 0; i < s.builds.BuildingPolls; i++ {
		d.schedule = append(d.schedule, "BUILDING")
	}
	d.outcome = [3]string{"READY"}
	if s.nextFail != nil {
		d.outcome, s.nextFail = *s.nextFail, nil
	}
	d.aliasPolls = s.builds.AliasPolls
	s.deployments[id] = d
	s.order = append(s.order, id)
	return d
}

// advance moves a deployment one step on, as time passes between polls.
func (s *Server) advance(d *deployment) {
	if s.stalled {
		if d.state == "QUEUED" || d.state == "INITIALIZING" {
			d.state = "BUILDING"
		}
		return
	}
	if len(d.schedule) > 0 {
		d.state, d.schedule = d.schedule[0], d.schedule[1:]
		return
	}
	switch d.state {
	case "QUEUED", "INITIALIZING", "BUILDING":
		d.state = d.outcome[0]
		if d.state != "READY" {
			d.errorCode, d.errorMessage = d.outcome[1], d.outcome[2]
			return
		}
		d.substate = "STAGED"
		if d.target != "production" {
			d.substate = ""
			d.aliasAssigned = s.now().UnixMilli() // its preview aliases
		}
		return
	case "READY":
	default:
		return
	}
	p := s.projects[d.projectID]
	if d.target == "production" && d.substate == "STAGED" && !d.served && p.autoAssign && !d.skipDomain && p.production != d.id {
		if d.aliasPolls > 0 {
			d.aliasPolls--
			return
		}
		// Only a deployment newer than production takes the domains over;
		// with rolling releases on, it starts a rolling release instead
		// (or waits, queued, while another one is active).
		cur := s.deployments[p.production]
		switch {
		case cur != nil && cur.createdAt > d.createdAt:
		case p.rollingEnabled() && cur != nil:
			if s.tick(p); p.rr == nil || p.rr.state != StateActive {
				s.startRolling(p, d)
			}
		default:
			s.makeProduction(p, d)
		}
	}
}

func (s *Server) makeProduction(p *project, d *deployment) {
	if p.production != "" && p.production != d.id {
		p.history = append(p.history, p.production)
	}
	p.production = d.id
	d.substate = "PROMOTED"
	d.served = true
	d.aliasAssigned = s.now().UnixMilli()
}

// advanceAlias moves a pending promote or rollback on, once per project poll.
func (s *Server) advanceAlias(p *project) {
	if p.lastAlias == nil || s.stalled {
		return
	}
	switch p.lastAlias["jobStatus"] {
	case "pending", "in-progress":
	default:
		return
	}
	if p.aliasPending > 0 {
		p.aliasPending--
		p.lastAlias["jobStatus"] = "in-progress"
		return
	}
	if p.aliasFail {
		p.aliasFail = false
		p.lastAlias["jobStatus"] = "failed"
		return
	}
	p.lastAlias["jobStatus"] = "succeeded"
	d := s.deployments[p.aliasTarget]
	s.makeProduction(p, d)
	p.autoAssign = p.lastAlias["type"] == "promote"
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.requests = append(s.requests, r.Method+" "+r.URL.Path)
	fault := s.takeFault(r)
	s.mu.Unlock()
	if fault != nil && !fault.After {
		s.answerFault(w, fault)
		return
	}
	if fault != nil && fault.After {
		rec := httptest.NewRecorder()
		s.handle(rec, r)
		drop(w)
		return
	}
	s.handle(w, r)
}

func (s *Server) takeFault(r *http.Request) *Fault {
	for i, f := range s.faults {
		if (f.Method == "" || f.Method == r.Method) && strings.HasPrefix(r.URL.Path, f.Path) && (f.Match == nil || f.Match(r)) {
			f.Times--
			if f.Times <= 0 {
				s.faults = slices.Delete(s.faults, i, i+1)
			}
			return f
		}
	}
	return nil
}

func drop(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			conn.Close()
			return
		}
	}
	panic(http.ErrAbortHandler)
}

func (s *Server) answerFault(w http.ResponseWriter, f *Fault) {
	switch {
	case f.Drop:
		drop(w)
	case f.Malformed:
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"id":"dpl_trunc`)
	case f.RateLimit > 0:
		reset := s.now().Add(f.RateLimit)
		s.rateHeaders(w, 0, reset)
		writeJSON(w, http.StatusTooManyRequests, map[string]any{"error": map[string]any{
			"code": "rate_limited", "message": "The rate limit of 100 exceeded for 'api-deployments'. Try again in " + f.RateLimit.String(),
			"limit": map[string]any{"remaining": 0, "reset": reset.Unix(), "resetMs": reset.UnixMilli(), "total": 100}}})
	default:
		if f.Body != "" {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(f.Status)
			io.WriteString(w, f.Body)
			return
		}
		switch f.Status {
		case http.StatusPaymentRequired:
			apiError(w, f.Status, "api-deployments-free-per-day", `Resource is limited - try again in 24 hours (more than 100, code: "api-deployments-free-per-day")`, nil)
		case http.StatusForbidden:
			apiError(w, f.Status, "forbidden", "Not authorized", map[string]any{"invalidToken": true})
		default:
			apiError(w, f.Status, "internal_server_error", "An unexpected internal error occurred", nil)
		}
	}
}

func (s *Server) rateHeaders(w http.ResponseWriter, remaining int, reset time.Time) {
	w.Header().Set("X-RateLimit-Limit", "100")
	w.Header().Set("X-RateLimit-Remaining", strconv.Itoa(remaining))
	w.Header().Set("X-RateLimit-Reset", strconv.FormatInt(reset.Unix(), 10))
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func apiError(w http.ResponseWriter, status int, code, message string, extra map[string]any) {
	e := map[string]any{"code": code, "message": message}
	for k, v := range extra {
		e[k] = v
	}
	writeJSON(w, status, map[string]any{"error": e})
}

func (s *Server) handle(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rateHeaders(w, 99, s.now().Add(time.Minute))
	if r.Header.Get("Authorization") != "Bearer "+s.opt.Token {
		apiError(w, http.StatusForbidden, "forbidden", "Not authorized", map[string]any{"invalidToken": true})
		return
	}
	q := r.URL.Query()
	if s.opt.TeamID != "" || s.opt.TeamSlug != "" {
		if !(s.opt.TeamID != "" && q.Get("teamId") == s.opt.TeamID || s.opt.TeamSlug != "" && q.Get("slug") == s.opt.TeamSlug) {
			apiError(w, http.StatusForbidden, "forbidden", "You don't have permission to access this resource without the team scope", nil)
			return
		}
	}
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	route := r.Method + " " + strings.Join(routeShape(parts), "/")
	switch route {
	case "POST v13/deployments":
		s.create(w, r)
	case "GET v13/deployments/*":
		s.getDeployment(w, parts[2])
	case "GET v6/deployments", "GET v7/deployments":
		s.list(w, q)
	case "PATCH v12/deployments/*/cancel":
		s.cancel(w, parts[2])
	case "GET v9/projects/*":
		s.getProject(w, parts[2])
	case "POST v10/projects/*/promote/*":
		s.aliasRequest(w, parts[2], parts[4], "promote")
	case "POST v1/projects/*/rollback/*", "POST v9/projects/*/rollback/*":
		s.aliasRequest(w, parts[2], parts[4], "rollback")
	case "GET v9/projects/*/promote/aliases", "GET v1/projects/*/promote/aliases",
		"GET v9/projects/*/rollback/aliases", "GET v1/projects/*/rollback/aliases":
		s.failedAliases(w, parts[2])
	default:
		if s.rollingRoute(w, r, route, parts) {
			return
		}
		apiError(w, http.StatusNotFound, "not_found", "The requested endpoint was not found", nil)
	}
}

// routeShape replaces the variable segments of a path (ids) by "*".
func routeShape(parts []string) []string {
	out := slices.Clone(parts)
	if len(out) >= 3 && (out[1] == "projects" || out[1] == "deployments") {
		out[2] = "*"
	}
	if len(out) >= 5 && out[1] == "projects" && (out[3] == "promote" || out[3] == "rollback") && out[4] != "aliases" {
		out[4] = "*"
	}
	return out
}

func (s *Server) findProject(idOrName string) *project {
	if p := s.projects[idOrName]; p != nil {
		return p
	}
	for _, p := range s.projects {
		if p.Name == idOrName {
			return p
		}
	}
	return nil
}

func (s *Server) create(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Name                    string            `json:"name"`
		Project                 string            `json:"project"`
		Target                  string            `json:"target"`
		DeploymentID            string            `json:"deploymentId"`
		GitSource               map[string]any    `json:"gitSource"`
		Meta                    map[string]string `json:"meta"`
		AutoAssignCustomDomains *bool             `json:"autoAssignCustomDomains"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		apiError(w, http.StatusBadRequest, "bad_request", "Invalid JSON: "+err.Error(), nil)
		return
	}
	if body.Name == "" {
		apiError(w, http.StatusBadRequest, "bad_request", "Invalid request: should have required property 'name'", nil)
		return
	}
	p := s.findProject(cmp.Or(body.Project, body.Name))
	if p == nil {
		apiError(w, http.StatusNotFound, "not_found", "Project not found", nil)
		return
	}
	if body.Target != "" && body.Target != "production" && body.Target != "staging" && body.Target != "preview" {
		apiError(w, http.StatusBadRequest, "bad_request", "Invalid request: `target` should be equal to one of the allowed values", nil)
		return
	}
	src := body.GitSource
	meta := map[string]string{}
	switch {
	case body.DeploymentID != "":
		old := s.deployments[body.DeploymentID]
		if old == nil || old.projectID != p.ID {
			apiError(w, http.StatusNotFound, "not_found", "Could not find the deployment: "+body.DeploymentID, nil)
			return
		}
		src = old.gitSource
		for k, v := range old.meta {
			meta[k] = v
		}
	case src != nil:
		if msg := checkGitSource(src); msg != "" {
			apiError(w, http.StatusBadRequest, "bad_request", msg, nil)
			return
		}
	default:
		apiError(w, http.StatusBadRequest, "bad_request", "Invalid request: missing `gitSource`, `files` or `deploymentId`", nil)
		return
	}
	if s.quota == 0 {
		apiError(w, http.StatusPaymentRequired, "api-deployments-free-per-day", `Resource is limited - try again in 24 hours (more than 100, code: "api-deployments-free-per-day")`, nil)
		return
	}
	if s.quota > 0 {
		s.quota--
	}
	for k, v := range body.Meta {
		meta[k] = v
	}
	target := body.Target
	if target == "preview" {
		target = ""
	}
	d := s.newDeployment(p, target, src, meta)
	d.skipDomain = body.AutoAssignCustomDomains != nil && !*body.AutoAssignCustomDomains
	writeJSON(w, http.StatusOK, s.render(d, false))
}

func checkGitSource(src map[string]any) string {
	typ, _ := src["type"].(string)
	has := func(k string) bool { v, ok := src[k]; return ok && v != nil && v != "" }
	switch typ {
	case "github", "github-limited":
		if !has("ref") || !(has("repoId") || has("org") && has("repo")) {
			return "Invalid request: `gitSource` of type github needs `ref` and either `repoId` or `org` and `repo`"
		}
	case "gitlab":
		if !has("ref") || !has("projectId") {
			return "Invalid request: `gitSource` of type gitlab needs `projectId` and `ref`"
		}
	case "bitbucket":
		if !has("ref") || !(has("repoUuid") || has("owner") && has("slug")) {
			return "Invalid request: `gitSource` of type bitbucket needs `ref` and `repoUuid` or `owner` and `slug`"
		}
	default:
		return fmt.Sprintf("Invalid request: unknown `gitSource.type` %q", typ)
	}
	return ""
}

func (s *Server) getDeployment(w http.ResponseWriter, idOrHost string) {
	d := s.deployments[idOrHost]
	if d == nil && !strings.HasPrefix(idOrHost, "dpl_") {
		// A hostname: the deployment's own URL, or an alias, which resolves
		// to whatever the alias points at now.
		for _, id := range s.order {
			if s.deployments[id].url == idOrHost {
				d = s.deployments[id]
			}
		}
		for _, p := range s.projects {
			if slices.Contains(p.Domains, idOrHost) && p.production != "" {
				d = s.deployments[p.production]
			}
		}
	}
	if d == nil {
		apiError(w, http.StatusNotFound, "not_found", "Could not find the deployment: "+idOrHost, nil)
		return
	}
	s.advance(d)
	writeJSON(w, http.StatusOK, s.render(d, false))
}

func (s *Server) render(d *deployment, listItem bool) map[string]any {
	p := s.projects[d.projectID]
	var target any
	if d.target != "" {
		target = d.target
	}
	alias := []string{}
	if d.target == "production" {
		alias = append(alias, p.Domains...)
	}
	alias = append(alias, p.Name+"-acme.vercel.app")
	var substate any
	if d.state == "READY" && d.substate != "" {
		substate = d.substate
	}
	var aliasError any
	if d.aliasError != nil {
		aliasError = d.aliasError
	}
	m := map[string]any{
		"url": d.url, "name": d.name, "projectId": d.projectID, "target": target,
		"readyState": d.state, "readySubstate": substate, "aliasError": aliasError,
		"inspectorUrl": "https://vercel.com/acme/" + d.name + "/" + strings.TrimPrefix(d.id, "dpl_"),
		"createdAt":    d.createdAt, "meta": d.meta, "creator": map[string]string{"uid": "u_1", "username": "ci-bot"},
	}
	if listItem {
		m["uid"], m["state"], m["created"] = d.id, d.state, d.createdAt
		m["isRollbackCandidate"] = d.served && d.id != p.production
		if d.aliasAssigned != 0 {
			m["aliasAssigned"] = d.aliasAssigned
		} else {
			m["aliasAssigned"] = nil
		}
		return m
	}
	m["id"], m["status"], m["alias"] = d.id, d.state, alias
	m["aliasAssigned"] = d.aliasAssigned != 0
	m["gitSource"] = d.gitSource
	m["isInConcurrentBuildsQueue"] = d.state == "QUEUED"
	m["isInSystemBuildsQueue"] = false
	m["errorCode"], m["errorMessage"] = nilIfEmpty(d.errorCode), nilIfEmpty(d.errorMessage)
	if d.canceledAt != 0 {
		m["canceledAt"] = d.canceledAt
	}
	return m
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func (s *Server) list(w http.ResponseWriter, q map[string][]string) {
	get := func(k string) string {
		if v := q[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	var p *project
	if id := get("projectId"); id != "" {
		if p = s.findProject(id); p == nil {
			apiError(w, http.StatusNotFound, "not_found", "Project not found", nil)
			return
		}
	}
	limit := 20
	if l, err := strconv.Atoi(get("limit")); err == nil && l > 0 {
		limit = min(l, 100)
	}
	var states []string
	if st := get("state"); st != "" {
		states = strings.Split(st, ",")
	}
	since, _ := strconv.ParseInt(get("since"), 10, 64)
	until, _ := strconv.ParseInt(get("until"), 10, 64)
	var out []map[string]any
	ids := slices.Clone(s.order)
	sort.SliceStable(ids, func(i, j int) bool { return s.deployments[ids[i]].createdAt > s.deployments[ids[j]].createdAt })
	for _, id := range ids {
		d := s.deployments[id]
		switch {
		case p != nil && d.projectID != p.ID,
			get("target") == "production" && d.target != "production",
			get("target") == "preview" && d.target != "",
			get("sha") != "" && d.sha() != get("sha"),
			len(states) > 0 && !slices.Contains(states, d.state),
			since > 0 && d.createdAt < since,
			until > 0 && d.createdAt >= until:
			continue
		}
		out = append(out, s.render(d, true))
		if len(out) == limit {
			break
		}
	}
	if out == nil {
		out = []map[string]any{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"deployments": out, "pagination": map[string]any{"count": len(out), "next": nil, "prev": nil}})
}

func (s *Server) cancel(w http.ResponseWriter, id string) {
	d := s.deployments[id]
	if d == nil {
		apiError(w, http.StatusNotFound, "not_found", "Could not find the deployment: "+id, nil)
		return
	}
	switch d.state {
	case "QUEUED", "INITIALIZING", "BUILDING":
		d.state, d.schedule, d.canceledAt = "CANCELED", nil, s.now().UnixMilli()
		d.outcome = [3]string{"CANCELED"}
	default:
		apiError(w, http.StatusBadRequest, "bad_request", "Deployment cannot be canceled: it is "+d.state, nil)
		return
	}
	writeJSON(w, http.StatusOK, s.render(d, false))
}

func (s *Server) getProject(w http.ResponseWriter, idOrName string) {
	p := s.findProject(idOrName)
	if p == nil {
		apiError(w, http.StatusNotFound, "not_found", "Project not found", nil)
		return
	}
	s.tick(p)
	s.advanceAlias(p)
	var prod any
	if d := s.deployments[p.production]; d != nil {
		r := s.render(d, false)
		prod = map[string]any{"id": d.id, "url": d.url, "readyState": d.state, "readySubstate": r["readySubstate"], "alias": r["alias"], "meta": d.meta}
	}
	var last any
	if p.lastAlias != nil {
		last = p.lastAlias
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"id": p.ID, "name": p.Name, "accountId": "team_fake", "autoAssignCustomDomains": p.autoAssign,
		"link": p.Link, "targets": map[string]any{"production": prod}, "lastAliasRequest": last,
		"rollingRelease": rollingReleaseField(p.rrConfig), "framework": "nextjs",
	})
}

func (s *Server) aliasRequest(w http.ResponseWriter, projectID, deploymentID, kind string) {
	p := s.findProject(projectID)
	d := s.deployments[deploymentID]
	switch {
	case p == nil:
		apiError(w, http.StatusNotFound, "not_found", "Project not found", nil)
		return
	case d == nil || d.projectID != p.ID:
		apiError(w, http.StatusNotFound, "not_found", "Could not find the deployment: "+deploymentID, nil)
		return
	case d.state != "READY":
		apiError(w, http.StatusBadRequest, "bad_request", "Deployment is not ready", nil)
		return
	case d.target != "production":
		apiError(w, http.StatusBadRequest, "bad_request", "Only production deployments can be "+kind+"d; promote a preview by redeploying it", nil)
		return
	case kind == "rollback" && !d.served:
		apiError(w, http.StatusConflict, "conflict", "Cannot roll back to a deployment that has never served production", nil)
		return
	case kind == "rollback" && s.hobby && (len(p.history) == 0 || p.history[len(p.history)-1] != d.id):
		apiError(w, http.StatusPaymentRequired, "payment_required", "To roll back further than the previous production deployment, upgrade to pro", nil)
		return
	}
	if kind == "promote" && s.promoteRolling(w, p, d) {
		return
	}
	if kind == "rollback" && p.rr != nil && p.rr.state == StateActive {
		// An instant rollback aborts the rolling release in flight.
		s.abortRolling(p)
	}
	p.lastAlias = map[string]any{"fromDeploymentId": p.production, "toDeploymentId": d.id, "jobStatus": "pending",
		"requestedAt": s.now().UnixMilli(), "type": kind}
	p.aliasPending, p.aliasTarget = s.builds.PromotePolls, d.id
	// Both answer with an empty body: promote 201 or 202, rollback 201.
	status := http.StatusCreated
	if kind == "promote" {
		status = http.StatusAccepted
	}
	w.WriteHeader(status)
}

func (s *Server) failedAliases(w http.ResponseWriter, projectID string) {
	p := s.findProject(projectID)
	if p == nil {
		apiError(w, http.StatusNotFound, "not_found", "Project not found", nil)
		return
	}
	aliases := []map[string]any{}
	if p.lastAlias != nil && p.lastAlias["jobStatus"] == "failed" {
		for i, dom := range p.Domains {
			aliases = append(aliases, map[string]any{"id": fmt.Sprint("alias_", i), "status": "failed",
				"alias": map[string]string{"alias": dom, "deploymentId": p.aliasTarget}})
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"aliases": aliases, "pagination": map[string]any{"count": len(aliases), "next": nil, "prev": nil}})
}
