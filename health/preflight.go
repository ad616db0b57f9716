package health

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/shipprod/shipprod"
)

var _ shipprod.Preflighter = (*Checker)(nil)

// Preflight checks, before anything changes, that every check that targets
// a URL (http and version checks, and any probe that resolves its target)
// has an absolute one: its own, or its path joined to health.base_url.
//
// A relative URL without health.base_url would be resolved only after the
// deploy, against the URL the deployer reports — and the checker cannot
// know before the deploy whether the deployer will report one (git-push
// reports deploy.git-push.url only when it is set; github-actions its
// environment_url; Vercel its production alias). A deployer that reports
// none fails the check after production has changed, which triggers the
// rollback for a mistake in the configuration. So the pre-flight refuses it
// and asks for health.base_url, the production URL, which is known before
// any deploy. It makes no request.
func (c *Checker) Preflight(ctx context.Context, rel shipprod.Release) error {
	var problems []string
	for _, ch := range c.checks {
		if err := ctx.Err(); err != nil {
			return err
		}
		if msg := c.urlProblem(ch, rel); msg != "" {
			problems = append(problems, msg)
		}
	}
	if len(problems) > 0 {
		return errors.New(c.mask.mask(strings.Join(problems, "; ")))
	}
	return nil
}

// urlProblem says what is wrong with a check's URL, "" when nothing is (or
// it targets no URL).
func (c *Checker) urlProblem(ch Check, rel shipprod.Release) string {
	tr, ok := ch.Probe.(TargetResolver)
	if !ok {
		return ""
	}
	if hp, isHTTP := ch.Probe.(*httpProbe); isHTTP && c.baseURL == "" {
		if u, err := url.Parse(hp.rawURL); err == nil && !u.IsAbs() {
			return fmt.Sprintf("health check %q: URL %q is relative and health.base_url is not set, so it could only be resolved after the deploy, against the URL the deployer reports (if it reports one: git-push only with deploy.git-push.url, github-actions only with environment_url); set health.base_url to the production URL, or give the check an absolute URL",
				ch.Name, hp.rawURL)
		}
	}
	if _, err := tr.ResolveTarget(Target{Release: rel, BaseURL: c.baseURL}); err != nil {
		return fmt.Sprintf("health check %q: %v", ch.Name, err)
	}
	return ""
}
