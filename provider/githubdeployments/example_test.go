package githubdeployments_test

import (
	"context"
	"fmt"
	"log"

	"github.com/shipprod/shipprod"
	"github.com/shipprod/shipprod/provider/githubdeployments"
)

type hookDeployer struct{}

func (hookDeployer) Deploy(_ context.Context, rel shipprod.Release) (shipprod.Deployment, error) {
	return shipprod.Deployment{Provider: "hook", ID: rel.Tag, URL: "https://web.example.com"}, nil
}

func (hookDeployer) String() string { return "deploy hook" }

// Wrap records every deploy of any Deployer in GitHub's Deployments API
// (auto_merge off, no required contexts), with in_progress and then success
// or failure statuses. The Pipeline finds the wrapped deployer's
// capabilities through the wrapper.
func ExampleWrap() {
	ctx := context.Background()
	deployer, err := githubdeployments.Wrap(ctx, hookDeployer{}, githubdeployments.Config{Enabled: true},
		githubdeployments.Options{Repository: "acme/web", Getenv: func(string) string { return "token-from-GH_TOKEN" }})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(deployer)
	fmt.Println(shipprod.Capabilities(deployer))
	// Output:
	// deploy hook (recorded in GitHub Deployments of acme/web)
	// [preflight plan]
}
