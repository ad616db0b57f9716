package github

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	gogithub "github.com/google/go-github/v89/github"
)

// Workflow is a GitHub Actions workflow.
type Workflow struct {
	ID   int64
	Name string
	// Path is the workflow file, e.g. ".github/workflows/deploy.yml".
	Path string
	// State is "active", "disabled_manually", "disabled_inactivity", …
	State string
}

// Workflow returns the workflow named by its file name or id; a 404 (see
// IsNotFound) means the repository has no such workflow.
func (c *Client) Workflow(ctx context.Context, idOrFile string) (Workflow, error) {
	path := fmt.Sprintf("repos/%s/%s/actions/workflows/%s", c.owner, c.repo, idOrFile)
	var (
		wf   *gogithub.Workflow
		resp *gogithub.Response
		err  error
	)
	if id, ok := numericID(idOrFile); ok {
		wf, resp, err = c.api.Actions.GetWorkflowByID(ctx, c.owner, c.repo, id)
	} else {
		wf, resp, err = c.api.Actions.GetWorkflowByFileName(ctx, c.owner, c.repo, idOrFile)
	}
	if err != nil {
		return Workflow{}, c.wrap(http.MethodGet, path, resp, err)
	}
	return Workflow{ID: wf.GetID(), Name: wf.GetName(), Path: wf.GetPath(), State: wf.GetState()}, nil
}

func numericID(s string) (int64, bool) {
	var id int64
	if s == "" {
		return 0, false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return 0, false
		}
		id = id*10 + int64(r-'0')
	}
	return id, true
}

// FileAt returns the content of the file at path as it is at ref (a branch,
// a tag or a commit SHA) through the contents API. found is false when the
// ref or the file does not exist (GitHub answers 404 for both).
func (c *Client) FileAt(ctx context.Context, path, ref string) (content string, found bool, err error) {
	apiPath := fmt.Sprintf("repos/%s/%s/contents/%s", c.owner, c.repo, path)
	file, _, resp, err := c.api.Repositories.GetContents(ctx, c.owner, c.repo, path, &gogithub.RepositoryContentGetOptions{Ref: ref})
	if err != nil {
		if resp != nil && resp.StatusCode == http.StatusNotFound {
			return "", false, nil
		}
		return "", false, c.wrap(http.MethodGet, apiPath, resp, err)
	}
	if file == nil {
		return "", false, fmt.Errorf("GitHub API GET /%s: %s is a directory, not a file", apiPath, path)
	}
	text, err := file.GetContent()
	if err != nil {
		return "", false, fmt.Errorf("GitHub API GET /%s: %w", apiPath, err)
	}
	return text, true, nil
}

// withoutUserInfo returns raw with any user information (user:password@)
// removed, for URLs sent to GitHub: a URL the deployer was configured with
// (https://user:token@host) may carry a credential that must not leave the
// process. A value that does not parse as a URL is not sent at all.
func withoutUserInfo(raw string) string {
	if raw == "" {
		return ""
	}
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		return ""
	}
	u.User = nil
	return u.String()
}
