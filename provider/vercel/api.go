package vercel

import (
	"bytes"
	"encoding/json"
	"strconv"
)

// Wire types of the Vercel REST API, with the fields shipprod reads
// (names from Vercel's OpenAPI description, as used by its SDK).

// apiErrorBody is Vercel's error envelope: {"error":{…}}.
type apiErrorBody struct {
	Error struct {
		Code         string `json:"code"`
		Message      string `json:"message"`
		InvalidToken bool   `json:"invalidToken"`
		Limit        *struct {
			Remaining int   `json:"remaining"`
			Reset     int64 `json:"reset"`   // epoch seconds
			ResetMs   int64 `json:"resetMs"` // epoch milliseconds
			Total     int   `json:"total"`
		} `json:"limit"`
	} `json:"error"`
}

// statusError is {code, message}, as in aliasError.
type statusError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// flexTime is a field the API sends as a boolean, a millisecond timestamp
// or null (aliasAssigned: boolean on a deployment, a timestamp in lists).
type flexTime struct{ set bool }

func (f *flexTime) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch string(b) {
	case "null", "false", "0":
		f.set = false
	case "true":
		f.set = true
	default:
		_, err := strconv.ParseFloat(string(b), 64)
		f.set = err == nil
	}
	return nil
}

// deployment is GET /v13/deployments/{id} (and the create response); list
// items (GET /v6/deployments) carry uid instead of id and state as well as
// readyState.
type deployment struct {
	ID                        string            `json:"id"`
	UID                       string            `json:"uid"`
	URL                       string            `json:"url"`
	Name                      string            `json:"name"`
	ProjectID                 string            `json:"projectId"`
	Target                    *string           `json:"target"`
	ReadyState                string            `json:"readyState"`
	State                     string            `json:"state"`
	ReadySubstate             string            `json:"readySubstate"`
	Alias                     []string          `json:"alias"`
	AliasAssigned             flexTime          `json:"aliasAssigned"`
	AliasError                *statusError      `json:"aliasError"`
	InspectorURL              string            `json:"inspectorUrl"`
	CreatedAt                 int64             `json:"createdAt"`
	GitSource                 map[string]any    `json:"gitSource"`
	Meta                      map[string]string `json:"meta"`
	ErrorCode                 string            `json:"errorCode"`
	ErrorMessage              string            `json:"errorMessage"`
	ReadyStateReason          string            `json:"readyStateReason"`
	ChecksConclusion          string            `json:"checksConclusion"`
	IsInConcurrentBuildsQueue bool              `json:"isInConcurrentBuildsQueue"`
	IsInSystemBuildsQueue     bool              `json:"isInSystemBuildsQueue"`
	IsRollbackCandidate       bool              `json:"isRollbackCandidate"`
}

func (d *deployment) id() string {
	if d.ID != "" {
		return d.ID
	}
	return d.UID
}

func (d *deployment) state() string {
	if d.ReadyState != "" {
		return d.ReadyState
	}
	return d.State
}

func (d *deployment) target() string {
	if d.Target == nil {
		return "preview"
	}
	return *d.Target
}

// sha is the commit the deployment was built from.
func (d *deployment) sha() string {
	if s, ok := d.GitSource["sha"].(string); ok && s != "" {
		return s
	}
	return d.Meta["githubCommitSha"]
}

// live reports whether a READY deployment serves its production domains.
func (d *deployment) live() bool {
	return d.state() == "READY" && d.AliasError == nil && (d.AliasAssigned.set || d.ReadySubstate == "PROMOTED")
}

type deploymentList struct {
	Deployments []deployment `json:"deployments"`
	Pagination  struct {
		Next *int64 `json:"next"`
	} `json:"pagination"`
}

// aliasRequest is project.lastAliasRequest: the state of the latest promote
// or rollback.
type aliasRequest struct {
	FromDeploymentID string `json:"fromDeploymentId"`
	ToDeploymentID   string `json:"toDeploymentId"`
	JobStatus        string `json:"jobStatus"` // pending | in-progress | succeeded | failed | skipped
	RequestedAt      int64  `json:"requestedAt"`
	Type             string `json:"type"` // promote | rollback
}

type project struct {
	ID                      string         `json:"id"`
	Name                    string         `json:"name"`
	AutoAssignCustomDomains *bool          `json:"autoAssignCustomDomains"`
	LastAliasRequest        *aliasRequest  `json:"lastAliasRequest"`
	Link                    map[string]any `json:"link"`
	// RollingRelease is the rolling release configuration's summary, or
	// null; rollingHint reads it.
	RollingRelease json.RawMessage `json:"rollingRelease"`
	Targets        struct {
		Production *deployment `json:"production"`
	} `json:"targets"`
}

// pinnedByRollback reports the state an instant rollback leaves: production
// domains are no longer assigned to new production deployments.
func (p *project) pinnedByRollback() bool {
	return p.AutoAssignCustomDomains != nil && !*p.AutoAssignCustomDomains
}

func (p *project) productionID() string {
	if p.Targets.Production == nil {
		return ""
	}
	return p.Targets.Production.id()
}

type aliasList struct {
	Aliases []struct {
		Status string `json:"status"`
		Alias  struct {
			Alias        string `json:"alias"`
			DeploymentID string `json:"deploymentId"`
		} `json:"alias"`
	} `json:"aliases"`
}

// createRequest is the body of POST /v13/deployments.
type createRequest struct {
	Name         string            `json:"name"`
	Project      string            `json:"project,omitempty"`
	Target       string            `json:"target,omitempty"`
	DeploymentID string            `json:"deploymentId,omitempty"`
	GitSource    map[string]any    `json:"gitSource,omitempty"`
	Meta         map[string]string `json:"meta,omitempty"`
}
