package github

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"strconv"

	gogithub "github.com/google/go-github/v89/github"

	"github.com/shipprod/shipprod/internal/httpretry"
)

// DeploymentRequest describes a GitHub deployment to record.
type DeploymentRequest struct {
	// Ref is the branch, tag or SHA deployed.
	Ref string
	// Environment defaults to "production".
	Environment string
	Description string
	// Payload is extra JSON data stored with the deployment.
	Payload map[string]any
}

// CreateDeployment records a deployment and returns its id. It always sends
// auto_merge: false and required_contexts: [], so that GitHub neither merges
// the default branch into the ref on the user's behalf nor refuses the
// record because of commit statuses: shipprod records what it deploys, the
// gates have already decided whether it may.
//
// GitHub answers 202 when it merged instead of creating a deployment; with
// auto_merge off that should not happen, and it is reported as an error.
func (c *Client) CreateDeployment(ctx context.Context, req DeploymentRequest) (int64, error) {
	req.Payload = maps.Clone(req.Payload)
	if req.Payload == nil {
		req.Payload = map[string]any{}
	}
	// A token in the payload recognises this very request's deployment in
	// the list, should its answer be lost.
	token := strconv.FormatInt(c.clock.Now().UnixNano(), 36)
	req.Payload[payloadToken] = token
	var id int64
	err := c.createOnce(ctx, func() error {
		var err error
		id, err = c.createDeployment(ctx, req)
		return err
	}, func() (bool, error) {
		var found bool
		var err error
		id, found, err = c.findDeployment(ctx, req, token)
		return found, err
	})
	return id, err
}

// payloadToken is the payload key of the token that identifies a
// deployment request.
const payloadToken = "shipprod_request"

func (c *Client) createDeployment(ctx context.Context, req DeploymentRequest) (int64, error) {
	path := fmt.Sprintf("repos/%s/%s/deployments", c.owner, c.repo)
	body := gogithub.DeploymentRequest{
		Ref:              req.Ref,
		Task:             gogithub.Ptr("deploy"),
		AutoMerge:        gogithub.Ptr(false),
		RequiredContexts: []string{}, // an empty list, not an absent one: absent means "all contexts"
		Environment:      gogithub.Ptr(req.environment()),
		Description:      gogithub.Ptr(redactURL(req.Description)),
		Payload:          req.Payload,
	}
	d, resp, err := c.api.Repositories.CreateDeployment(ctx, c.owner, c.repo, body)
	if err != nil {
		return 0, c.wrap(http.MethodPost, path, resp, err)
	}
	return d.GetID(), nil
}

// defaultEnvironment is the environment of a deployment that names none.
const defaultEnvironment = "production"

func (r DeploymentRequest) environment() string { return cmp.Or(r.Environment, defaultEnvironment) }

// findDeployment looks for the deployment of req that carries token among
// the newest deployments of its ref and environment.
func (c *Client) findDeployment(ctx context.Context, req DeploymentRequest, token string) (int64, bool, error) {
	return c.scanDeployments(ctx, req.Ref, req.environment(), func(t any) bool { return t == token })
}

// LatestDeployment returns the newest deployment of ref in environment
// (default production) that shipprod recorded (its payload carries the
// request token CreateDeployment adds), and false when there is none among
// the newest 30.
func (c *Client) LatestDeployment(ctx context.Context, ref, environment string) (int64, bool, error) {
	return c.scanDeployments(ctx, ref, cmp.Or(environment, defaultEnvironment), func(t any) bool { return t != nil })
}

// scanDeployments returns the newest of the 30 newest deploy-task
// deployments of ref in environment whose payload's request token
// satisfies match (nil when the payload has none).
func (c *Client) scanDeployments(ctx context.Context, ref, environment string, match func(token any) bool) (int64, bool, error) {
	path := fmt.Sprintf("repos/%s/%s/deployments", c.owner, c.repo)
	opt := &gogithub.DeploymentsListOptions{Ref: ref, Environment: environment, Task: "deploy", ListOptions: gogithub.ListOptions{PerPage: 30}}
	list, resp, err := c.api.Repositories.ListDeployments(ctx, c.owner, c.repo, opt)
	if err != nil {
		return 0, false, c.wrap(http.MethodGet, path, resp, err)
	}
	for _, d := range list { // newest first
		var payload map[string]any
		if json.Unmarshal(d.Payload, &payload) == nil && match(payload[payloadToken]) {
			return d.GetID(), true, nil
		}
	}
	return 0, false, nil
}

// DeploymentStatus is one state of a deployment.
type DeploymentStatus struct {
	// State is one of error, failure, inactive, in_progress, queued,
	// pending, success.
	State string
	// EnvironmentURL is the live URL of the deployment.
	EnvironmentURL string
	// LogURL links to the deploy's log (e.g. the workflow run).
	LogURL string
	// Description is cut to GitHub's 140 characters.
	Description string
}

// CreateDeploymentStatus adds a status to deployment id. Repeating it only
// adds the same status again, so it is retried like a GET.
func (c *Client) CreateDeploymentStatus(ctx context.Context, id int64, st DeploymentStatus) error {
	path := fmt.Sprintf("repos/%s/%s/deployments/%d/statuses", c.owner, c.repo, id)
	body := gogithub.DeploymentStatusRequest{State: st.State}
	// No credential in a URL ever reaches GitHub: a deployer's URL may
	// carry one (deploy.git-push.url: https://user:token@host).
	if u := withoutUserInfo(st.EnvironmentURL); u != "" {
		body.EnvironmentURL = gogithub.Ptr(u)
	}
	if u := withoutUserInfo(st.LogURL); u != "" {
		body.LogURL = gogithub.Ptr(u)
	}
	if st.Description != "" {
		d := redactURL(st.Description)
		if r := []rune(d); len(r) > 140 {
			d = string(r[:139]) + "…"
		}
		body.Description = gogithub.Ptr(d)
	}
	_, resp, err := c.api.Repositories.CreateDeploymentStatus(httpretry.RetrySafe(ctx), c.owner, c.repo, id, body)
	return c.wrap(http.MethodPost, path, resp, err)
}
