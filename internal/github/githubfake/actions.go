package githubfake

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

const (
	docDispatch     = "https://docs.github.com/rest/actions/workflows#create-a-workflow-dispatch-event"
	docListRuns     = "https://docs.github.com/rest/actions/workflow-runs#list-workflow-runs-for-a-workflow"
	docGetRun       = "https://docs.github.com/rest/actions/workflow-runs#get-a-workflow-run"
	docGetWorkflow  = "https://docs.github.com/rest/actions/workflows#get-a-workflow"
	docCancelRun    = "https://docs.github.com/rest/actions/workflow-runs#cancel-a-workflow-run"
	maxInputs       = 25
	workflowsFolder = ".github/workflows/"
)

// Input is a declared workflow_dispatch input.
type Input struct {
	Required bool
	Default  string
}

// RunScript says how a run behaves over time, measured from its trigger.
type RunScript struct {
	// AppearAfter is how long after the dispatch or push the run exists
	// (GitHub takes a few seconds; runs list does not show it before).
	AppearAfter time.Duration
	// Queued is how long it stays queued before in_progress.
	Queued time.Duration
	// Running is how long it stays in_progress before completed.
	Running time.Duration
	// Conclusion when completed; default "success".
	Conclusion string
	// Stuck, when set ("queued", "waiting", "pending", "requested"), keeps
	// the run in that status forever (e.g. waiting for an environment
	// reviewer), after Queued.
	Stuck string
}

// Workflow describes a workflow of a repository.
type Workflow struct {
	// File is the file name under .github/workflows ("deploy.yml").
	File string
	// Name is the workflow's name ("Deploy"); default the file name.
	Name string
	// NoDispatch means the workflow has no workflow_dispatch trigger.
	NoDispatch bool
	// Inputs are the declared workflow_dispatch inputs.
	Inputs map[string]Input
	// RunName is the run-name template, e.g. "Deploy ${{ inputs.version }}";
	// ${{ inputs.X }}, ${{ github.ref_name }} and ${{ github.event_name }}
	// are expanded into the run's display_title.
	RunName string
	// Script is how runs behave unless a queued script says otherwise.
	Script RunScript
	// State is the workflow's state in GET …/actions/workflows/{id}
	// (default "active"; GitHub's others are disabled_manually,
	// disabled_inactivity, disabled_fork and deleted). The fake only
	// reports it: a disabled workflow's runs still start.
	State string
}

type workflow struct {
	id      int64
	def     Workflow
	file    string
	created time.Time
	queue   []RunScript
	number  int
}

type run struct {
	id                 int64
	flow               *workflow
	event, branch, sha string
	title              string
	inputs             map[string]string
	triggered, created time.Time
	script             RunScript
	number             int
	cancelled          time.Time
}

// AddWorkflow adds a workflow to repository fullName and returns its id.
func (s *Server) AddWorkflow(fullName string, wf Workflow) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	rp := s.repos[fullName]
	if wf.Name == "" {
		wf.Name = wf.File
	}
	f := &workflow{id: s.id(), def: wf, file: wf.File, created: s.clock.Now()}
	rp.flows = append(rp.flows, f)
	return f.id
}

// QueueRunScripts makes the next runs of the workflow behave as scripts,
// one per run, before falling back to the workflow's Script.
func (s *Server) QueueRunScripts(fullName, file string, scripts ...RunScript) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.repos[fullName].flowByName(file)
	f.queue = append(f.queue, scripts...)
}

// TriggerPush records a push of ref at sha that triggers the workflow
// (on: push), as GitHub does for a branch or tag push, and returns the run id.
func (s *Server) TriggerPush(fullName, file, ref, sha string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	rp := s.repos[fullName]
	f := rp.flowByName(file)
	return s.newRun(rp, f, "push", ref, sha, nil, false).id
}

// TriggerDispatch records a workflow_dispatch made by someone else (not
// through the API under test) and returns the run id.
func (s *Server) TriggerDispatch(fullName, file, ref string, inputs map[string]string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	rp := s.repos[fullName]
	sha, _ := rp.resolve(ref)
	return s.newRun(rp, rp.flowByName(file), "workflow_dispatch", ref, sha, inputs, false).id
}

// CompleteRun finishes a run now with conclusion (e.g. to unstick it).
func (s *Server) CompleteRun(fullName string, id int64, conclusion string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, rn := range s.repos[fullName].runs {
		if rn.id == id {
			now := s.clock.Now()
			rn.script = RunScript{Conclusion: conclusion}
			rn.triggered, rn.created = now.Add(-time.Nanosecond), minTime(rn.created, now)
		}
	}
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func (rp *repo) flowByName(idOrFile string) *workflow {
	for _, f := range rp.flows {
		if f.file == idOrFile || strconv.FormatInt(f.id, 10) == idOrFile {
			return f
		}
	}
	return nil
}

// newRun creates a run; the caller holds s.mu. immediate makes it visible
// at once (the dispatch answered with its id).
func (s *Server) newRun(rp *repo, f *workflow, event, ref, sha string, inputs map[string]string, immediate bool) *run {
	now := s.clock.Now()
	script := f.def.Script
	if len(f.queue) > 0 {
		script, f.queue = f.queue[0], f.queue[1:]
	}
	f.number++
	rn := &run{id: 9_000_000_000 + s.id(), flow: f, event: event, branch: ref, sha: sha, inputs: inputs,
		triggered: now, created: now.Add(script.AppearAfter), script: script, number: f.number}
	if immediate {
		rn.created = now
	}
	rn.title = expandRunName(f.def, event, ref, inputs)
	rp.runs = append(rp.runs, rn)
	return rn
}

var expr = regexp.MustCompile(`\$\{\{\s*([a-zA-Z0-9_.-]+)\s*\}\}`)

func expandRunName(wf Workflow, event, ref string, inputs map[string]string) string {
	if wf.RunName == "" {
		return wf.Name
	}
	return expr.ReplaceAllStringFunc(wf.RunName, func(m string) string {
		key := expr.FindStringSubmatch(m)[1]
		switch {
		case strings.HasPrefix(key, "inputs."):
			name := strings.TrimPrefix(key, "inputs.")
			if v, ok := inputs[name]; ok {
				return v
			}
			return wf.Inputs[name].Default
		case key == "github.ref_name":
			return ref
		case key == "github.event_name":
			return event
		}
		return ""
	})
}

func (rn *run) visible(now time.Time) bool { return !now.Before(rn.created) }

// state returns the run's status and conclusion at now, and when it last changed.
func (rn *run) state(now time.Time) (status, conclusion string, updated time.Time) {
	sc := rn.script
	start := rn.created
	if !rn.cancelled.IsZero() && !now.Before(rn.cancelled) {
		return "completed", "cancelled", rn.cancelled
	}
	queuedUntil := start.Add(sc.Queued)
	if now.Before(queuedUntil) {
		return "queued", "", start
	}
	if sc.Stuck != "" {
		return sc.Stuck, "", queuedUntil
	}
	doneAt := queuedUntil.Add(sc.Running)
	if now.Before(doneAt) {
		return "in_progress", "", queuedUntil
	}
	c := sc.Conclusion
	if c == "" {
		c = "success"
	}
	return "completed", c, doneAt
}

func (s *Server) runJSON(r *http.Request, rp *repo, rn *run, now time.Time) map[string]any {
	status, conclusion, updated := rn.state(now)
	self := s.apiURL(r, fmt.Sprintf("/repos/%s/actions/runs/%d", rp.name, rn.id))
	var concl any
	if conclusion != "" {
		concl = conclusion
	}
	return map[string]any{
		"id": rn.id, "name": rn.flow.def.Name, "node_id": fmt.Sprintf("WFR_fake%d", rn.id),
		"display_title": rn.title, "run_number": rn.number, "run_attempt": 1,
		"event": rn.event, "status": status, "conclusion": concl,
		"head_branch": rn.branch, "head_sha": rn.sha, "path": workflowsFolder + rn.flow.file,
		"workflow_id": rn.flow.id, "check_suite_id": rn.id + 1, "url": self,
		"html_url":   fmt.Sprintf("%s/%s/actions/runs/%d", s.webURL, rp.name, rn.id),
		"created_at": ts(rn.created), "updated_at": ts(updated), "run_started_at": ts(rn.created),
		"jobs_url": self + "/jobs", "logs_url": self + "/logs", "cancel_url": self + "/cancel", "rerun_url": self + "/rerun",
		"workflow_url":     s.apiURL(r, fmt.Sprintf("/repos/%s/actions/workflows/%d", rp.name, rn.flow.id)),
		"actor":            map[string]any{"login": "shipprod-bot"},
		"triggering_actor": map[string]any{"login": "shipprod-bot"},
		"pull_requests":    []any{},
	}
}

func (s *Server) workflowJSON(r *http.Request, rp *repo, f *workflow) map[string]any {
	return map[string]any{
		"id": f.id, "node_id": fmt.Sprintf("W_fake%d", f.id), "name": f.def.Name,
		"path": workflowsFolder + f.file, "state": cmp.Or(f.def.State, "active"),
		"created_at": ts(f.created), "updated_at": ts(f.created),
		"url":       s.apiURL(r, fmt.Sprintf("/repos/%s/actions/workflows/%d", rp.name, f.id)),
		"html_url":  fmt.Sprintf("%s/%s/blob/%s/%s%s", s.webURL, rp.name, rp.opts.DefaultBranch, workflowsFolder, f.file),
		"badge_url": fmt.Sprintf("%s/%s/workflows/%s/badge.svg", s.webURL, rp.name, f.def.Name),
	}
}

// actionsRoutes are the workflows and workflow-runs endpoints.
func (s *Server) actionsRoutes() []repoRoute {
	return []repoRoute{
		{"GET /repos/{owner}/{repo}/actions/workflows", s.listWorkflows},
		{"GET /repos/{owner}/{repo}/actions/workflows/{wf}", s.getWorkflow},
		{"POST /repos/{owner}/{repo}/actions/workflows/{wf}/dispatches", s.dispatchWorkflow},
		{"GET /repos/{owner}/{repo}/actions/workflows/{wf}/runs", s.listWorkflowRuns},
		{"GET /repos/{owner}/{repo}/actions/runs", s.listRepoRuns},
		{"GET /repos/{owner}/{repo}/actions/runs/{id}", s.getRun},
		{"POST /repos/{owner}/{repo}/actions/runs/{id}/cancel", s.cancelRun},
	}
}

// listWorkflows lists the repository's workflows.
func (s *Server) listWorkflows(w http.ResponseWriter, r *http.Request, rp *repo) {
	out := []any{}
	for _, f := range paginate(w, r, rp.flows) {
		out = append(out, s.workflowJSON(r, rp, f))
	}
	writeJSON(w, http.StatusOK, map[string]any{"total_count": len(rp.flows), "workflows": out})
}

// getWorkflow answers a workflow by id or file name.
func (s *Server) getWorkflow(w http.ResponseWriter, r *http.Request, rp *repo) {
	f := rp.flowByName(r.PathValue("wf"))
	if f == nil {
		notFound(w, docGetWorkflow)
		return
	}
	writeJSON(w, http.StatusOK, s.workflowJSON(r, rp, f))
}

// dispatchRequest is the body of a workflow dispatch.
type dispatchRequest struct {
	Ref              string         `json:"ref"`
	Inputs           map[string]any `json:"inputs"`
	ReturnRunDetails bool           `json:"return_run_details"`
}

// dispatchWorkflow creates a workflow_dispatch run: 204, or 200 with the
// run's details when asked and the repository's mode returns them.
func (s *Server) dispatchWorkflow(w http.ResponseWriter, r *http.Request, rp *repo) {
	f := rp.flowByName(r.PathValue("wf"))
	if f == nil {
		notFound(w, docDispatch)
		return
	}
	if rp.opts.NoActionsWrite {
		writeRaw(w, http.StatusForbidden, errorBody(http.StatusForbidden, "Resource not accessible by integration", docDispatch))
		return
	}
	req, status, msg := decodeDispatch(mustRead(r), rp.opts.RunDetails != DetailsRejected)
	if msg != "" {
		writeRaw(w, status, errorBody(status, msg, docDispatch))
		return
	}
	sha, msg := dispatchRef(rp, f, req.Ref)
	var inputs map[string]string
	if msg == "" {
		inputs, msg = dispatchInputs(f.def, req.Inputs)
	}
	if msg != "" {
		writeRaw(w, http.StatusUnprocessableEntity, errorBody(http.StatusUnprocessableEntity, msg, docDispatch))
		return
	}
	details := req.ReturnRunDetails && rp.opts.RunDetails == DetailsReturned
	rn := s.newRun(rp, f, "workflow_dispatch", req.Ref, sha, inputs, details)
	if !details {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"workflow_run_id": rn.id,
		"run_url":         s.apiURL(r, fmt.Sprintf("/repos/%s/actions/runs/%d", rp.name, rn.id)),
		"html_url":        fmt.Sprintf("%s/%s/actions/runs/%d", s.webURL, rp.name, rn.id),
	})
}

// decodeDispatch decodes a dispatch body as GitHub does: malformed JSON and
// keys it does not know (return_run_details is one where runDetailsKnown
// is false) are a 400, fields of the wrong type a 422. On failure it
// returns the status and GitHub's message.
func decodeDispatch(body []byte, runDetailsKnown bool) (dispatchRequest, int, string) {
	var req dispatchRequest
	var raw map[string]json.RawMessage
	if err := json.NewDecoder(bytes.NewReader(body)).Decode(&raw); err != nil {
		return req, http.StatusBadRequest, "Problems parsing JSON"
	}
	for k := range raw {
		permitted := k == "ref" || k == "inputs" || (k == "return_run_details" && runDetailsKnown)
		if !permitted {
			return req, http.StatusBadRequest, fmt.Sprintf("Invalid request.\n\n%q is not a permitted key.", k)
		}
	}
	b, _ := json.Marshal(raw)
	if err := json.Unmarshal(b, &req); err != nil {
		return req, http.StatusUnprocessableEntity, "Invalid request.\n\n" + err.Error()
	}
	return req, 0, ""
}

// dispatchRef returns the SHA of the ref a dispatch names, or GitHub's
// message when the ref is missing or unknown or the workflow has no
// workflow_dispatch trigger.
func dispatchRef(rp *repo, f *workflow, ref string) (sha, msg string) {
	if ref == "" {
		return "", "Invalid request.\n\n\"ref\" wasn't supplied."
	}
	sha, ok := rp.refExists(ref)
	if !ok {
		return "", "No ref found for: " + ref
	}
	if f.def.NoDispatch {
		return "", "Workflow does not have 'workflow_dispatch' trigger"
	}
	return sha, ""
}

// dispatchInputs checks the inputs given against the workflow's declared
// ones and returns them as strings (non-string JSON values as JSON), or
// GitHub's message for too many, unexpected or missing required inputs.
func dispatchInputs(wf Workflow, given map[string]any) (map[string]string, string) {
	if len(given) > maxInputs {
		return nil, fmt.Sprintf("Invalid request.\n\nNo more than %d properties are allowed; %d were supplied.", maxInputs, len(given))
	}
	var unexpected []string
	inputs := map[string]string{}
	for k, v := range given {
		if _, declared := wf.Inputs[k]; !declared {
			unexpected = append(unexpected, k)
			continue
		}
		switch v := v.(type) {
		case string:
			inputs[k] = v
		default:
			b, _ := json.Marshal(v)
			inputs[k] = string(b)
		}
	}
	if len(unexpected) > 0 {
		sort.Strings(unexpected)
		list, _ := json.Marshal(unexpected)
		return nil, "Unexpected inputs provided: " + string(list)
	}
	names := make([]string, 0, len(wf.Inputs))
	for n := range wf.Inputs {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		in := wf.Inputs[n]
		if _, ok := inputs[n]; !ok && in.Required && in.Default == "" {
			return nil, fmt.Sprintf("Required input '%s' not provided", n)
		}
	}
	return inputs, ""
}

// listWorkflowRuns lists the runs of one workflow.
func (s *Server) listWorkflowRuns(w http.ResponseWriter, r *http.Request, rp *repo) {
	f := rp.flowByName(r.PathValue("wf"))
	if f == nil {
		notFound(w, docListRuns)
		return
	}
	s.listRuns(w, r, rp, f)
}

// listRepoRuns lists the runs of every workflow of the repository.
func (s *Server) listRepoRuns(w http.ResponseWriter, r *http.Request, rp *repo) {
	s.listRuns(w, r, rp, nil)
}

// listRuns lists the visible runs (of workflow only, when not nil), newest
// first, filtered by event, branch, head_sha, status and created.
func (s *Server) listRuns(w http.ResponseWriter, r *http.Request, rp *repo, only *workflow) {
	now := s.clock.Now()
	q := r.URL.Query()
	created, err := parseCreated(q.Get("created"))
	if err != nil {
		writeRaw(w, http.StatusUnprocessableEntity, validationError(docListRuns,
			map[string]string{"resource": "WorkflowRun", "code": "invalid", "field": "created", "message": err.Error()}))
		return
	}
	var list []*run
	for _, rn := range rp.runs {
		if !rn.visible(now) || (only != nil && rn.flow != only) {
			continue
		}
		status, conclusion, _ := rn.state(now)
		if (q.Get("event") != "" && q.Get("event") != rn.event) ||
			(q.Get("branch") != "" && q.Get("branch") != rn.branch) ||
			(q.Get("head_sha") != "" && q.Get("head_sha") != rn.sha) ||
			(q.Get("status") != "" && q.Get("status") != status && q.Get("status") != conclusion) ||
			!created.contains(rn.created) {
			continue
		}
		list = append(list, rn)
	}
	sort.SliceStable(list, func(i, j int) bool {
		if !list[i].created.Equal(list[j].created) {
			return list[i].created.After(list[j].created)
		}
		return list[i].id > list[j].id
	})
	out := []any{}
	for _, rn := range paginate(w, r, list) {
		out = append(out, s.runJSON(r, rp, rn, now))
	}
	writeJSON(w, http.StatusOK, map[string]any{"total_count": len(list), "workflow_runs": out})
}

// getRun answers a run by id, once it is visible.
func (s *Server) getRun(w http.ResponseWriter, r *http.Request, rp *repo) {
	now := s.clock.Now()
	if rn := rp.runByID(r.PathValue("id")); rn != nil && rn.visible(now) {
		writeJSON(w, http.StatusOK, s.runJSON(r, rp, rn, now))
		return
	}
	notFound(w, docGetRun)
}

// cancelRun cancels a run that has not completed (409 when it has).
func (s *Server) cancelRun(w http.ResponseWriter, r *http.Request, rp *repo) {
	now := s.clock.Now()
	rn := rp.runByID(r.PathValue("id"))
	if rn == nil || !rn.visible(now) {
		notFound(w, docCancelRun)
		return
	}
	if status, _, _ := rn.state(now); status == "completed" {
		writeRaw(w, http.StatusConflict, errorBody(http.StatusConflict, "Cannot cancel a workflow run that is completed.", docCancelRun))
		return
	}
	rn.cancelled = now
	writeJSON(w, http.StatusAccepted, map[string]any{})
}

func (rp *repo) runByID(id string) *run {
	for _, rn := range rp.runs {
		if strconv.FormatInt(rn.id, 10) == id {
			return rn
		}
	}
	return nil
}

func mustRead(r *http.Request) []byte {
	var b bytes.Buffer
	_, _ = b.ReadFrom(r.Body)
	return b.Bytes()
}

// timeRange is a parsed created filter: [from, to] (zero = open).
type timeRange struct {
	from, to         time.Time
	fromOpen, toOpen bool // exclusive bounds
	hasFrom, hasTo   bool
}

func (tr timeRange) contains(t time.Time) bool {
	t = t.Truncate(time.Second)
	if tr.hasFrom && (t.Before(tr.from) || (tr.fromOpen && t.Equal(tr.from))) {
		return false
	}
	if tr.hasTo && (t.After(tr.to) || (tr.toOpen && t.Equal(tr.to))) {
		return false
	}
	return true
}

// parseCreated parses GitHub's search date syntax: ">=T", ">T", "<=T", "<T",
// "A..B" (either side may be "*"), or a bare date/time (that day or instant).
func parseCreated(q string) (timeRange, error) {
	var tr timeRange
	if q == "" {
		return tr, nil
	}
	var err error
	switch {
	case strings.HasPrefix(q, ">="):
		tr.from, err = parseSearchTime(q[2:], false)
		tr.hasFrom = true
	case strings.HasPrefix(q, ">"):
		tr.from, err = parseSearchTime(q[1:], true)
		tr.hasFrom, tr.fromOpen = true, true
	case strings.HasPrefix(q, "<="):
		tr.to, err = parseSearchTime(q[2:], true)
		tr.hasTo = true
	case strings.HasPrefix(q, "<"):
		tr.to, err = parseSearchTime(q[1:], false)
		tr.hasTo, tr.toOpen = true, true
	case strings.Contains(q, ".."):
		a, b, _ := strings.Cut(q, "..")
		if a != "*" {
			tr.from, err = parseSearchTime(a, false)
			tr.hasFrom = true
		}
		if err == nil && b != "*" {
			tr.to, err = parseSearchTime(b, true)
			tr.hasTo = true
		}
	default:
		tr.from, err = parseSearchTime(q, false)
		if err == nil {
			tr.to, err = parseSearchTime(q, true)
		}
		tr.hasFrom, tr.hasTo = true, true
	}
	if err != nil {
		return tr, fmt.Errorf("created %q: %v", q, err)
	}
	return tr, nil
}

// parseSearchTime parses a date or date-time; a bare date means the start
// of the day, or its last second when end is set.
func parseSearchTime(s string, end bool) (time.Time, error) {
	s = strings.TrimSpace(s)
	for _, layout := range []string{time.RFC3339, "2006-01-02T15:04:05", "2006-01-02T15:04"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		return time.Time{}, fmt.Errorf("not a date")
	}
	if end {
		t = t.Add(24*time.Hour - time.Second)
	}
	return t, nil
}
