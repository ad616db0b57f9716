package github

import (
	"context"
	"fmt"
	"net/http"
	"time"

	gogithub "github.com/google/go-github/v89/github"

	"github.com/shipprod/shipprod/internal/httpretry"
)

// DispatchRequest triggers a workflow_dispatch event.
type DispatchRequest struct {
	// Workflow is the workflow's file name ("deploy.yml") or numeric id.
	Workflow string
	// Ref is the branch or tag the workflow runs on.
	Ref string
	// Inputs must be declared by the workflow at Ref; values are sent as
	// strings, as the gh CLI does.
	Inputs map[string]string
	// ReturnRunDetails asks GitHub to answer with the run's id (github.com
	// since 2026-02, GHES 3.21+). Older servers refuse the field with a 400.
	ReturnRunDetails bool
}

// DispatchResult is GitHub's answer to a dispatch. RunID is 0 when GitHub
// answered 204 No Content (no run details).
type DispatchResult struct {
	RunID   int64
	RunURL  string
	HTMLURL string
}

// Dispatch triggers the workflow. It is never retried after a 5xx or a
// dropped connection, since a repeat could start a second deploy; rate-limit
// answers are waited out and retried, as GitHub did not act on them.
func (c *Client) Dispatch(ctx context.Context, req DispatchRequest) (DispatchResult, error) {
	path := fmt.Sprintf("repos/%s/%s/actions/workflows/%s/dispatches", c.owner, c.repo, req.Workflow)
	body := gogithub.CreateWorkflowDispatchEventRequest{Ref: req.Ref}
	if len(req.Inputs) > 0 {
		body.Inputs = make(map[string]any, len(req.Inputs))
		for k, v := range req.Inputs {
			body.Inputs[k] = v
		}
	}
	if req.ReturnRunDetails {
		body.ReturnRunDetails = gogithub.Ptr(true)
	}
	d, resp, err := c.api.Actions.CreateWorkflowDispatchEventByFileName(ctx, c.owner, c.repo, req.Workflow, body)
	if err != nil {
		return DispatchResult{}, c.wrap(http.MethodPost, path, resp, err)
	}
	if d == nil {
		return DispatchResult{}, nil
	}
	return DispatchResult{RunID: d.GetWorkflowRunID(), RunURL: d.GetRunURL(), HTMLURL: d.GetHTMLURL()}, nil
}

// Run is a GitHub Actions workflow run.
type Run struct {
	ID           int64     `json:"id"`
	WorkflowID   int64     `json:"workflow_id"`
	Name         string    `json:"name"`
	DisplayTitle string    `json:"display_title"`
	Event        string    `json:"event"`
	Status       string    `json:"status"`
	Conclusion   string    `json:"conclusion,omitempty"`
	HeadBranch   string    `json:"head_branch"`
	HeadSHA      string    `json:"head_sha"`
	RunNumber    int       `json:"run_number"`
	RunAttempt   int       `json:"run_attempt"`
	HTMLURL      string    `json:"html_url"`
	CreatedAt    time.Time `json:"created_at"`
	UpdatedAt    time.Time `json:"updated_at"`
}

func fromRun(r *gogithub.WorkflowRun) Run {
	return Run{
		ID:           r.GetID(),
		WorkflowID:   r.GetWorkflowID(),
		Name:         r.GetName(),
		DisplayTitle: r.GetDisplayTitle(),
		Event:        r.GetEvent(),
		Status:       r.GetStatus(),
		Conclusion:   r.GetConclusion(),
		HeadBranch:   r.GetHeadBranch(),
		HeadSHA:      r.GetHeadSHA(),
		RunNumber:    r.GetRunNumber(),
		RunAttempt:   r.GetRunAttempt(),
		HTMLURL:      r.GetHTMLURL(),
		CreatedAt:    r.GetCreatedAt().Time,
		UpdatedAt:    r.GetUpdatedAt().Time,
	}
}

// RunFilter selects workflow runs.
type RunFilter struct {
	// Workflow limits the list to one workflow (file name or id); empty
	// lists the runs of every workflow.
	Workflow string
	Event    string // "workflow_dispatch", "push", …
	Branch   string // matches head_branch (a tag name for tag pushes)
	Status   string
	HeadSHA  string
	// CreatedSince keeps runs created at or after it (second precision, as
	// GitHub's created filter).
	CreatedSince time.Time
	PerPage      int // default 30, at most 100
	Page         int
}

// ListRuns returns one page of runs, newest first, and the total count.
func (c *Client) ListRuns(ctx context.Context, f RunFilter) ([]Run, int, error) {
	opt := &gogithub.ListWorkflowRunsOptions{
		Branch:              f.Branch,
		Event:               f.Event,
		Status:              f.Status,
		HeadSHA:             f.HeadSHA,
		ExcludePullRequests: true,
		ListOptions:         gogithub.ListOptions{PerPage: f.PerPage, Page: f.Page},
	}
	if !f.CreatedSince.IsZero() {
		opt.Created = ">=" + f.CreatedSince.UTC().Format(time.RFC3339)
	}
	var (
		runs *gogithub.WorkflowRuns
		resp *gogithub.Response
		err  error
		path string
	)
	if f.Workflow != "" {
		path = fmt.Sprintf("repos/%s/%s/actions/workflows/%s/runs", c.owner, c.repo, f.Workflow)
		runs, resp, err = c.api.Actions.ListWorkflowRunsByFileName(ctx, c.owner, c.repo, f.Workflow, opt)
	} else {
		path = fmt.Sprintf("repos/%s/%s/actions/runs", c.owner, c.repo)
		runs, resp, err = c.api.Actions.ListRepositoryWorkflowRuns(ctx, c.owner, c.repo, opt)
	}
	if err != nil {
		return nil, 0, c.wrap(http.MethodGet, path, resp, err)
	}
	out := make([]Run, 0, len(runs.WorkflowRuns))
	for _, r := range runs.WorkflowRuns {
		out = append(out, fromRun(r))
	}
	return out, runs.GetTotalCount(), nil
}

// GetRun returns run id.
func (c *Client) GetRun(ctx context.Context, id int64) (Run, error) {
	path := fmt.Sprintf("repos/%s/%s/actions/runs/%d", c.owner, c.repo, id)
	r, resp, err := c.api.Actions.GetWorkflowRunByID(ctx, c.owner, c.repo, id)
	if err != nil {
		return Run{}, c.wrap(http.MethodGet, path, resp, err)
	}
	return fromRun(r), nil
}

// CancelRun asks GitHub to cancel run id (GitHub answers 202 Accepted).
func (c *Client) CancelRun(ctx context.Context, id int64) error {
	path := fmt.Sprintf("repos/%s/%s/actions/runs/%d/cancel", c.owner, c.repo, id)
	resp, err := c.api.Actions.CancelWorkflowRunByID(httpretry.RetrySafe(ctx), c.owner, c.repo, id)
	if err != nil {
		if resp != nil && resp.StatusCode == http.StatusAccepted {
			return nil
		}
		return c.wrap(http.MethodPost, path, resp, err)
	}
	return nil
}
