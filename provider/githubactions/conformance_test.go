package githubactions

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/shipprod/shipprod"
	"github.com/shipprod/shipprod/internal/github/githubfake"
	"github.com/shipprod/shipprod/provider/providertest"
	"github.com/shipprod/shipprod/tag"
)

// TestConformance runs the deployer conformance kit against the fake
// GitHub: production is whatever commit the newest successful run of the
// deploy workflow deployed.
func TestConformance(t *testing.T) {
	providertest.Run(t, providertest.Harness{
		Name: Name,
		Setup: func(t *testing.T, clock shipprod.Clock) *providertest.Platform {
			fake := githubfake.NewT(t, githubfake.Options{Clock: clock, Token: token})
			fake.AddRepo(repoName, githubfake.RepoOptions{Refs: map[string]string{"main": mainSHA, "v1.1.0": prevSHA, "v1.2.0": relSHA}})
			fake.AddWorkflow(repoName, githubfake.Workflow{File: "deploy.yml", Name: "Deploy",
				Inputs: map[string]githubfake.Input{"version": {Required: true}},
				Script: githubfake.RunScript{AppearAfter: 2 * time.Second, Queued: 5 * time.Second, Running: time.Minute}})
			r0 := shipprod.Release{Version: "1.1.0", Tag: "v1.1.0", Commit: prevSHA}
			r1 := shipprod.Release{Version: "1.2.0", Tag: "v1.2.0", Commit: relSHA, PreviousVersion: "1.1.0", PreviousTag: "v1.1.0", PreviousCommit: prevSHA}
			return &providertest.Platform{
				Config:   "workflow: deploy.yml\ninputs:\n  version: \"{{.Version}}\"\nenvironment_url: https://web.acme.com\n",
				Facts:    map[string]string{FactRepository: repoName, FactAPIURL: fake.APIURL()},
				Getenv:   func(k string) string { return map[string]string{"GITHUB_TOKEN": token}[k] },
				Releases: [2]shipprod.Release{r0, r1},
				// Every workflow run is a deployment started.
				Deploys: func() int { return len(fake.Runs(repoName)) },
				Writes:  fake.Writes,
				Live: func(context.Context) (string, error) {
					runs := fake.Runs(repoName)
					for i := len(runs) - 1; i >= 0; i-- {
						if runs[i].Conclusion == "success" {
							return runs[i].HeadSHA, nil
						}
					}
					return "", nil
				},
				Stall: func() {
					fake.QueueRunScripts(repoName, "deploy.yml", githubfake.RunScript{Stuck: "waiting"})
				},
				Break: func() func(error) bool {
					fake.QueueRunScripts(repoName, "deploy.yml", githubfake.RunScript{Running: time.Minute, Conclusion: "failure"})
					return func(err error) bool {
						var re *RunError
						return errors.Is(err, ErrRunFailed) && errors.As(err, &re) && re.Run.Conclusion == "failure"
					}
				},
				Secrets: []string{token},
			}
		},
	})
}

// The fact keys are shared with the tag package, which hands the `github:`
// settings to deployers.
func TestFactKeysMatchTheTagPackage(t *testing.T) {
	if FactRepository != tag.FactRepository || FactAPIURL != tag.FactAPIURL || FactTokenEnv != tag.FactTokenEnv {
		t.Fatal("fact keys differ from package tag's")
	}
}
