package githubactions_test

import (
	"context"
	"fmt"
	"log"

	"github.com/shipprod/shipprod"
	"github.com/shipprod/shipprod/provider"
	"github.com/shipprod/shipprod/provider/githubactions"
)

// The deployer is built by name from its YAML section, like any registered
// deployer; here its plan shows what a deploy of v1.2.0 would do.
func Example() {
	section, err := provider.ParseSection(`
workflow: deploy-production.yml
inputs:
  version: "{{.Version}}"
  environment: production
environment_url: https://web.example.com
timeout: 20m
`)
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	dep, err := provider.Open(ctx, githubactions.Name, provider.Env{
		Config: section,
		Facts:  map[string]string{githubactions.FactRepository: "acme/web"},
		Getenv: func(string) string { return "token-from-GITHUB_TOKEN" },
	})
	if err != nil {
		log.Fatal(err)
	}
	acts, err := dep.(shipprod.ActionPlanner).PlanActions(ctx, shipprod.Release{Version: "1.2.0", Tag: "v1.2.0"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(dep)
	fmt.Println(acts[0].Description)
	fmt.Println("capabilities:", shipprod.Capabilities(dep))
	// Output:
	// GitHub Actions workflow deploy-production.yml (acme/web)
	// dispatch workflow deploy-production.yml on v1.2.0 in acme/web with inputs environment=production, version=1.2.0, then follow the run until it completes (timeout 20m0s)
	// capabilities: [rollback production follow preflight plan]
}

// Another deployer that pushes to a branch follows the CI run its push
// triggers with a Watcher.
func ExampleWatcher() {
	ctx := context.Background()
	w, err := githubactions.NewWatcher(ctx, githubactions.WatchConfig{Repository: "acme/web"}, provider.Env{
		Getenv: func(string) string { return "token-from-GITHUB_TOKEN" },
	})
	if err != nil {
		log.Fatal(err)
	}
	// Note the time and the runs that exist already, then push: only a run
	// that is new since then counts as the push's run.
	push, err := w.StartPush(ctx, githubactions.PushRun{Workflow: "ci.yml", Ref: "production", SHA: "3f2c9d0e5b7a4c1d8e9f0a1b2c3d4e5f6a7b8c9d"})
	if err != nil {
		log.Fatal(err)
	}
	// … git push origin 3f2c9d0e…:refs/heads/production …
	run, err := w.WaitForPush(ctx, push)
	if err != nil {
		log.Fatal(err) // a *RunError or a *TimeoutError says what happened, with the run's URL
	}
	fmt.Println("CI passed:", run.URL)
}
