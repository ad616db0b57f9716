package health

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/shipprod/shipprod"
)

var _ shipprod.Preflighter = (*Checker)(nil)

// Preflight checks, before anything changes and without a request, that
// every check that targets a URL (http and version checks, and any probe
// that resolves its target) will have an absolute one: its own, or its path
// joined to health.base_url.
//
// A relative URL without health.base_url is resolved only after the deploy,
// against the URL the deployer reports (Vercel its production alias,
// git-push its url, github-actions its environment_url, a custom deployer
// what it returns). The Checker cannot know before the deploy whether the
// deployer will report one, so the pre-flight accepts it; when the deployer
// reports none, Check fails with an error saying to set health.base_url —
// an error, not a failed check, so production is reported not verified and
// is not rolled back for a mistake in the configuration. Setting
// health.base_url makes the pre-flight check the URL too.
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

// urlProblem says what is wrong with a check's target, "" when nothing is,
// when it has none to resolve, or when only the deployment's URL can tell
// (a relative target without health.base_url: ErrNoBaseURL).
func (c *Checker) urlProblem(ch Check, rel shipprod.Release) string {
	tr, ok := ch.Probe.(TargetResolver)
	if !ok {
		return ""
	}
	_, err := tr.ResolveTarget(Target{Release: rel, BaseURL: c.baseURL})
	if err == nil || (c.baseURL == "" && errors.Is(err, ErrNoBaseURL)) {
		return ""
	}
	return fmt.Sprintf("health check %q: %v", ch.Name, err)
}

// RelativeTargets names the checks whose target is relative while
// health.base_url is not set (their TargetResolver returns ErrNoBaseURL
// without one): they resolve against the URL the deployer reports, and
// the pipeline's pre-flight refuses them when the deployer says it
// reports none (shipprod.URLReporter).
func (c *Checker) RelativeTargets() []string {
	if c.baseURL != "" {
		return nil
	}
	var names []string
	for _, ch := range c.checks {
		tr, ok := ch.Probe.(TargetResolver)
		if !ok {
			continue
		}
		if _, err := tr.ResolveTarget(Target{}); errors.Is(err, ErrNoBaseURL) {
			names = append(names, ch.Name)
		}
	}
	return names
}
