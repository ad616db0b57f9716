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

func (s *Server) routesDeployments() {
	s.repoHandler("POST /repos/{owner}/{repo}/deployments", func(w http.ResponseWriter, r *http.Request, rp *repo) {
		var req struct {
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
		// auto_merge defaults to true: a ref behind the default branch gets
		// the default branch merged into it, and no deployment is created.
		if (req.AutoMerge == nil || *req.AutoMerge) && rp.behind[req.Ref] {
			delete(rp.behind, req.Ref)
			writeJSON(w, http.StatusAccepted, map[string]string{
				"message": fmt.Sprintf("Auto-merged %s into %s on deployment.", rp.opts.DefaultBranch, req.Ref)})
			return
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
	})

	s.repoHandler("GET /repos/{owner}/{repo}/deployments", func(w http.ResponseWriter, r *http.Request, rp *repo) {
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
	})

	s.repoHandler("GET /repos/{owner}/{repo}/deployments/{id}", func(w http.ResponseWriter, r *http.Request, rp *repo) {
		if d := rp.deploymentByID(r.PathValue("id")); d != nil {
			writeJSON(w, http.StatusOK, s.deploymentJSON(r, rp, d))
			return
		}
		notFound(w, "https://docs.github.com/rest/deployments/deployments#get-a-deployment")
	})

	s.repoHandler("POST /repos/{owner}/{repo}/deployments/{id}/statuses", func(w http.ResponseWriter, r *http.Request, rp *repo) {
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
		// auto_inactive (default true): a success marks the earlier
		// non-transient, non-production deployments of the environment inactive.
		if req.State == "success" && (req.AutoInactive == nil || *req.AutoInactive) {
			for _, other := range rp.deploys {
				if other.id != d.id && other.env == d.env && !other.transient && !other.prod && other.created.Before(d.created.Add(time.Nanosecond)) {
					other.statuses = append(other.statuses, &depStatus{id: s.id(), state: "inactive", environment: other.env, created: now})
				}
			}
		}
		writeJSON(w, http.StatusCreated, s.statusJSON(r, rp, d, st))
	})

	s.repoHandler("GET /repos/{owner}/{repo}/deployments/{id}/statuses", func(w http.ResponseWriter, r *http.Request, rp *repo) {
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
	})
}

func (rp *repo) deploymentByID(id string) *deployment {
	for _, d := range rp.deploys {
		if strconv.FormatInt(d.id, 10) == id {
			return d
		}
	}
	return nil
}
