package github

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
)

// Access is what GitHub says about the token's rights on the repository.
type Access struct {
	// Known is false when the answer carries no permissions the check can
	// rely on: GitHub App installation tokens (ghs_…, which is what a
	// workflow's GITHUB_TOKEN is) have per-permission rights that the
	// repository answer does not describe.
	Known bool
	// Push is write access to the repository (contents, releases,
	// deployments); Admin implies it.
	Push, Admin bool
	// DefaultBranch is the repository's default branch.
	DefaultBranch string
}

// CheckAccess reads the repository (GET /repos/{owner}/{repo}, one request
// that needs only metadata read access and changes nothing) and tells
// whether the token is valid, the repository exists and the token may write
// to it. need says, for the message, what the caller will write ("contents:
// write, for the release tag and the GitHub Release"); "" means the caller
// only reads, and write access is not asked for.
//
// How write access is told, by the kind of token (GitHub's documented
// prefixes): for a user's token (classic ghp_, fine-grained github_pat_,
// OAuth gho_, user-to-server ghu_) the answer's permissions say what its
// account may do, and push (or admin) is required. An installation token
// (ghs_, GitHub Apps and Actions' GITHUB_TOKEN) carries its own permission
// set, which no read-only request reveals — X-Accepted-GitHub-Permissions
// lists what an endpoint needs, not what the token has — so for it the
// check stops at a valid token and a visible repository, and Access.Known is
// false: the rights show when the write is made (the tag's push dry run
// covers contents for the git remote).
func (c *Client) CheckAccess(ctx context.Context, need string) (Access, error) {
	path := fmt.Sprintf("repos/%s/%s", c.owner, c.repo)
	r, resp, err := c.api.Repositories.Get(ctx, c.owner, c.repo)
	if err != nil {
		err = c.wrap(http.MethodGet, path, resp, err)
		return Access{}, c.explainAccess(err)
	}
	a := Access{DefaultBranch: r.GetDefaultBranch()}
	if c.installation || r.Permissions == nil || need == "" {
		return a, nil
	}
	a.Known, a.Push, a.Admin = true, r.Permissions.GetPush(), r.Permissions.GetAdmin()
	if !a.Push && !a.Admin {
		return a, fmt.Errorf("the token in %s may only read %s, and shipprod needs %s: give its account write access to the repository, or use a token of an account that has it",
			c.tokenEnv, c.Repository(), need)
	}
	return a, nil
}

// explainAccess turns the refusal of the repository read into what to fix.
func (c *Client) explainAccess(err error) error {
	var ae *APIError
	if !errors.As(err, &ae) {
		return err
	}
	switch ae.Status {
	case http.StatusUnauthorized:
		return fmt.Errorf("%s is not valid (GitHub answered 401 %s): create a new token and set it in %s: %w",
			c.tokenNames(), ae.Message, c.tokenEnv, err)
	case http.StatusNotFound:
		return fmt.Errorf("repository %s does not exist, or the token in %s cannot see it (a private repository needs a token with access to it): check github.repository and the token: %w",
			c.Repository(), c.tokenEnv, err)
	case http.StatusForbidden:
		if ae.RateLimitReset.IsZero() {
			return fmt.Errorf("GitHub refused the token in %s access to %s (an organization's SSO or IP allow list?): %w", c.tokenEnv, c.Repository(), err)
		}
	}
	return err
}

// tokenNames names the token's variable for messages. When it was read from
// the defaults, it also says why that one: "GH_TOKEN (read before
// GITHUB_TOKEN)", or "GITHUB_TOKEN (GH_TOKEN is not set)".
func (c *Client) tokenNames() string {
	i := slices.Index(DefaultTokenEnvs, c.tokenEnv)
	if !c.tokenDefault || i < 0 {
		return "the token in " + c.tokenEnv
	}
	if i == 0 {
		return "the token in " + c.tokenEnv + " (read before " + strings.Join(DefaultTokenEnvs[1:], ", ") + ")"
	}
	return "the token in " + c.tokenEnv + " (" + strings.Join(DefaultTokenEnvs[:i], ", ") + " is not set)"
}
