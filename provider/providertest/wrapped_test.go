package providertest

import (
	"context"
	"fmt"
	"testing"

	"github.com/shipprod/shipprod"
	"github.com/shipprod/shipprod/internal/github/githubfake"
	"github.com/shipprod/shipprod/provider"
	"github.com/shipprod/shipprod/provider/githubdeployments"
)

// deployOnly is the memory deployer with Deploy alone: it cannot roll back,
// read production, plan or pre-flight.
type deployOnly struct{ d *memDeployer }

func (d deployOnly) Deploy(ctx context.Context, rel shipprod.Release) (shipprod.Deployment, error) {
	return d.d.Deploy(ctx, rel)
}

// recordedConfig is the configuration of the recorded deployers: the memory
// platform and the fake GitHub API that records its deploys.
type recordedConfig struct {
	Platform string `yaml:"platform"`
	GitHub   string `yaml:"github_api"`
}

const recordedToken = "ghp_PROVIDERTESTSECRET0123456789abcdefAB"

// openRecorded opens the memory deployer wrapped by githubdeployments; bare
// strips the memory deployer's optional capabilities first.
func openRecorded(bare bool) provider.Factory {
	return func(ctx context.Context, env provider.Env) (shipprod.Deployer, error) {
		var cfg recordedConfig
		if err := env.Decode(&cfg); err != nil {
			return nil, err
		}
		p, ok := platforms.Load(cfg.Platform)
		if !ok {
			return nil, fmt.Errorf("no platform %q", cfg.Platform)
		}
		var d shipprod.Deployer = &memDeployer{env: env, p: p.(*memPlatform)}
		if bare {
			d = deployOnly{d.(*memDeployer)}
		}
		return githubdeployments.Wrap(ctx, d, githubdeployments.Config{Enabled: true}, githubdeployments.Options{
			Repository: "acme/web", APIURL: cfg.GitHub, Getenv: env.Getenv,
			HTTPClient: env.HTTPClient, Clock: env.Clock, Logger: env.Logger,
		})
	}
}

func init() {
	provider.Register("providertest-recorded", openRecorded(false))
	provider.Register("providertest-recorded-bare", openRecorded(true))
}

// recordedHarness is memHarness for a recorded deployer: the platform's
// configuration also names a fake GitHub API of its own.
func recordedHarness(name string) Harness {
	h := memHarness(name, "")
	setup := h.Setup
	h.Setup = func(t *testing.T, clock shipprod.Clock) *Platform {
		p := setup(t, clock)
		gh := githubfake.NewT(t, githubfake.Options{Clock: clock, Token: recordedToken})
		gh.AddRepo("acme/web", githubfake.RepoOptions{})
		p.Config += fmt.Sprintf("github_api: %q\n", gh.APIURL())
		p.Getenv = func(k string) string { return map[string]string{"GH_TOKEN": recordedToken}[k] }
		p.Secrets = []string{recordedToken}
		return p
	}
	return h
}

// The kit checks a wrapper by what the Pipeline would use: the wrapper's
// Rollback only when the wrapped deployer can roll back.
func TestRecordedDeployerPasses(t *testing.T) {
	for _, name := range []string{"providertest-recorded", "providertest-recorded-bare"} {
		t.Run(name, func(t *testing.T) { Run(t, recordedHarness(name)) })
	}
}
