package githubfake

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

const (
	docCreateDeployment = "https://docs.github.com/rest/deployments/deployments#create-a-deployment"
	docCreateStatus     = "https://docs.github.com/rest/deployments/statuses#create-a-deployment-status"
)

type deployment struct {
	id                   int64
	ref, sha, task, env  string
	origEnv, description string
	autoMerge            *bool
	requiredContexts     []string
	payload              any
	transient, prod      bool
	created, updated     time.Time
	statuses             []*depStatus
}

type depStatus struct {
	id                                 int64
	state, envURL, logURL, description string
	environment                        string
	created                            time.Time
}

var deploymentStates = []string{"error", "failure", "inactive", "in_progress", "queued", "pending", "success"}

func (s *Server) deploymentJSON(r *http.Request, rp *repo, d *deployment) map[string]any {
	self := s.apiURL(r, fmt.Sprintf("/repos/%s/deployments/%d", rp.name, d.id))
	payload := d.payload
	if payload == nil {
		payload = map[string]any{}
	}
	return map[string]any{
		"id": d.id, "node_id": fmt.Sprintf("DE_fake%d", d.id), "url": self,
		"sha": d.sha, "ref": d.ref, "task": d.task, "payload": payload,
		"original_environment": d.origEnv, "environment": d.env, "description": d.description,
		"creator":    map[string]any{"login": "shipprod-bot", "id": 1, "type": "User"},
		"created_at": ts(d.created), "updated_at": ts(d.updated),
		"statuses_url":          self + "/statuses",
		"repository_url":        s.apiURL(r, "/repos/"+rp.name),
		"transient_environment": d.transient, "production_environment": d.prod,
	}
}

func (s *Server) statusJSON(r *http.Request, rp *repo, d *deployment, st *depStatus) map[string]any {
	dep := s.apiURL(r, fmt.Sprintf("/repos/%s/deployments/%d", rp.name, d.id))
	return map[string]any{
		"id": st.id, "node_id": fmt.Sprintf("DES_fake%d", st.id),
		"url": fmt.Sprintf("%s/statuses/%d", dep, st.id), "state": st.state,
		"creator":     map[string]any{"login": "shipprod-bot", "id": 1, "type": "User"},
		"description": st.description, "environment": st.environment,
		"target_url": st.logURL, "log_url": st.logURL, "environment_url": st.envURL,
		"created_at": ts(st.created), "updated_at": ts(st.created),
		"deployment_url": dep, "repository_url": s.apiURL(r, "/repos/"+rp.name),
	}
}

// deploymentRoutes are the deployments and deployment-statuses endpoints.
func (s *Server) deploymentRoutes() []repoRoute {
	return []repoRoute{
		{"POST /repos/{owner}/{repo}/deployments", s.createDeployment},
		{"GET /repos/{owner}/{repo}/deployments", s.listDeployments},
		{"GET /repos/{owner}/{repo}/deployments/{id}", s.getDeployment},
		{"POST /repos/{owner}/{repo}/deployments/{id}/statuses", s.createDeploymentStatus},
		{"GET /repos/{owner}/{repo}/deployments/{id}/statuses", s.listDeploymentStatuses},
	}
}

// deploymentRequest is the body of POST /deployments; pointers tell an
// absent field (GitHub's default applies) from a given one.
type deploymentRequest struct {
	Ref                   string    `json:"ref"`
	Task                  *string   `json:"task"`
	AutoMerge             *bool     `json:"auto_merge"`
	RequiredContexts      *[]string `json:"required_contexts"`
	Payload               any       `json:"payload"`
	Environment           *string   `json:"environment"`
	Description           string    `json:"description"`
	TransientEnvironment  bool      `json:"transient_environment"`
	ProductionEnvironment *bool     `json:"production_environment"`
}

// createDeployment creates a deployment: 201, or 202 when auto_merge merged
// the default branch instead, or 409 when required commit statuses fail.
func (s *Server) createDeployment(w http.ResponseWriter, r *http.Request, rp *repo) {
	var req deploymentRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		writeRaw(w, http.StatusBadRequest, errorBody(http.StatusBadRequest, "Problems parsing JSON", docCreateDeployment))
		return
	}
	if req.Ref == "" {
		writeRaw(w, http.StatusUnprocessableEntity, errorBody(http.StatusUnprocessableEntity, "Invalid request.\n\n\"ref\" wasn't supplied.", docCreateDeployment))
		return
	}
	sha, ok := rp.resolve(req.Ref)
	if !ok {
		writeRaw(w, http.StatusUnprocessableEntity, errorBody(http.StatusUnprocessableEntity, "No ref found for: "+req.Ref, docCreateDeployment))
		return
	}
	if rp.deploymentRefused(w, req) {
		return
	}
	now := s.clock.Now()
	d := &deployment{id: s.id(), ref: req.Ref, sha: sha, task: "deploy", env: "production",
		description: req.Description, autoMerge: req.AutoMerge, payload: req.Payload,
		transient: req.TransientEnvironment, created: now, updated: now}
	if req.Task != nil {
		d.task = *req.Task
	}
	if req.Environment != nil && *req.Environment != "" {
		d.env = *req.Environment
	}
	d.origEnv = d.env
	d.prod = d.env == "production"
	if req.ProductionEnvironment != nil {
		d.prod = *req.ProductionEnvironment
	}
	if req.RequiredContexts != nil {
		d.requiredContexts = append([]string{}, (*req.RequiredContexts)...)
	}
	rp.deploys = append(rp.deploys, d)
	writeJSON(w, http.StatusCreated, s.deploymentJSON(r, rp, d))
}

// deploymentRefused answers, and reports true, when GitHub creates no
// deployment for a valid request: auto-merge or failing commit statuses.
func (rp *repo) deploymentRefused(w http.ResponseWriter, req deploymentRequest) bool {
	// auto_merge defaults to true: a ref behind the default branch gets
	// the default branch merged into it, and no deployment is created.
	if (req.AutoMerge == nil || *req.AutoMerge) && rp.behind[req.Ref] {
		delete(rp.behind, req.Ref)
		writeJSON(w, http.StatusAccepted, map[string]string{
			"message": fmt.Sprintf("Auto-merged %s into %s on deployment.", rp.opts.DefaultBranch, req.Ref)})
		return true
	}
	// required_contexts defaults to every context: failing commit
	// statuses refuse the deployment.
	if req.RequiredContexts == nil && len(rp.opts.FailingContexts) > 0 {
		var ctxs []map[string]string
		for _, c := range rp.opts.FailingContexts {
			ctxs = append(ctxs, map[string]string{"context": c, "state": "failure"})
		}
		writeJSON(w, http.StatusConflict, map[string]any{
			"message": "Conflict: Commit status checks failed for " + req.Ref + ".",
			"errors": []any{map[string]any{"resource": "Deployment", "field": "required_contexts",
				"code": "invalid", "contexts": ctxs}},
			"documentation_url": docCreateDeployment, "status": "409"})
		return true
	}
	return false
}

// listDeployments lists deployments, newest first, filtered by sha, ref,
// task and environment.
func (s *Server) listDeployments(w http.ResponseWriter, r *http.Request, rp *repo) {
	q := r.URL.Query()
	var list []*deployment
	for i := len(rp.deploys) - 1; i >= 0; i-- {
		d := rp.deploys[i]
		if (q.Get("sha") == "" || q.Get("sha") == d.sha) && (q.Get("ref") == "" || q.Get("ref") == d.ref) &&
			(q.Get("task") == "" || q.Get("task") == d.task) && (q.Get("environment") == "" || q.Get("environment") == d.env) {
			list = append(list, d)
		}
	}
	out := []any{}
	for _, d := range paginate(w, r, list) {
		out = append(out, s.deploymentJSON(r, rp, d))
	}
	writeJSON(w, http.StatusOK, out)
}

// getDeployment answers a deployment by id.
func (s *Server) getDeployment(w http.ResponseWriter, r *http.Request, rp *repo) {
	if d := rp.deploymentByID(r.PathValue("id")); d != nil {
		writeJSON(w, http.StatusOK, s.deploymentJSON(r, rp, d))
		return
	}
	notFound(w, "https://docs.github.com/rest/deployments/deployments#get-a-deployment")
}

// createDeploymentStatus adds a status to a deployment; a success marks
// the environment's earlier deployments inactive (auto_inactive).
func (s *Server) createDeploymentStatus(w http.ResponseWriter, r *http.Request, rp *repo) {
	d := rp.deploymentByID(r.PathValue("id"))
	if d == nil {
		notFound(w, docCreateStatus)
		return
	}
	var req struct {
		State          string `json:"state"`
		TargetURL      string `json:"target_url"`
		LogURL         string `json:"log_url"`
		Description    string `json:"description"`
		Environment    string `json:"environment"`
		EnvironmentURL string `json:"environment_url"`
		AutoInactive   *bool  `json:"auto_inactive"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		writeRaw(w, http.StatusBadRequest, errorBody(http.StatusBadRequest, "Problems parsing JSON", docCreateStatus))
		return
	}
	if !contains(deploymentStates, req.State) {
		writeRaw(w, http.StatusUnprocessableEntity, validationError(docCreateStatus,
			map[string]string{"resource": "DeploymentStatus", "code": "invalid", "field": "state"}))
		return
	}
	if len([]rune(req.Description)) > 140 {
		writeRaw(w, http.StatusUnprocessableEntity, validationError(docCreateStatus,
			map[string]string{"resource": "DeploymentStatus", "code": "custom", "field": "description",
				"message": "description is too long (maximum is 140 characters)"}))
		return
	}
	now := s.clock.Now()
	logURL := req.LogURL
	if logURL == "" {
		logURL = req.TargetURL
	}
	st := &depStatus{id: s.id(), state: req.State, envURL: req.EnvironmentURL, logURL: logURL,
		description: req.Description, environment: d.env, created: now}
	if req.Environment != "" {
		d.env, st.environment = req.Environment, req.Environment
	}
	d.statuses = append(d.statuses, st)
	d.updated = now
	// auto_inactive defaults to true.
	if req.State == "success" && (req.AutoInactive == nil || *req.AutoInactive) {
		s.inactivateEarlier(rp, d, now)
	}
	writeJSON(w, http.StatusCreated, s.statusJSON(r, rp, d, st))
}

// inactivateEarlier gives the earlier non-transient, non-production
// deployments of d's environment an inactive status, as a success with
// auto_inactive does.
func (s *Server) inactivateEarlier(rp *repo, d *deployment, now time.Time) {
	for _, other := range rp.deploys {
		if other.id != d.id && other.env == d.env && !other.transient && !other.prod && other.created.Before(d.created.Add(time.Nanosecond)) {
			other.statuses = append(other.statuses, &depStatus{id: s.id(), state: "inactive", environment: other.env, created: now})
		}
	}
}

// listDeploymentStatuses lists a deployment's statuses, newest first.
func (s *Server) listDeploymentStatuses(w http.ResponseWriter, r *http.Request, rp *repo) {
	d := rp.deploymentByID(r.PathValue("id"))
	if d == nil {
		notFound(w, "https://docs.github.com/rest/deployments/statuses#list-deployment-statuses")
		return
	}
	var list []*depStatus
	for i := len(d.statuses) - 1; i >= 0; i-- {
		list = append(list, d.statuses[i])
	}
	out := []any{}
	for _, st := range paginate(w, r, list) {
		out = append(out, s.statusJSON(r, rp, d, st))
	}
	writeJSON(w, http.StatusOK, out)
}

func (rp *repo) deploymentByID(id string) *deployment {
	for _, d := range rp.deploys {
		if strconv.FormatInt(d.id, 10) == id {
			return d
		}
	}
	return nil
}
