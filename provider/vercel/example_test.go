package vercel_test

import (
	"context"
	"fmt"
	"time"

	"github.com/shipprod/shipprod"
	"github.com/shipprod/shipprod/provider"
	"github.com/shipprod/shipprod/provider/vercel"
	"github.com/shipprod/shipprod/provider/vercel/vercelfake"
	"github.com/shipprod/shipprod/shipprodtest"
)

// Promote the deployment staging validated, against the fake Vercel API.
// A program passes the id it read from Spec-Flow's state.yaml as a fact.
func Example() {
	clock := shipprodtest.NewClock(time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC))
	api := vercelfake.Start(vercelfake.Options{Token: "example-token", Clock: clock})
	defer api.Close()
	api.AddProject(vercelfake.Project{ID: "prj_web", Name: "web", Domains: []string{"www.example.com"}})
	api.AddDeployment(vercelfake.Deployment{ProjectID: "prj_web", Target: "production", SHA: "aaaa", Promoted: true})
	staged := api.AddDeployment(vercelfake.Deployment{ProjectID: "prj_web", Target: "production", SHA: "bbbb"})

	section, _ := provider.ParseSection("project: web\napi_url: " + api.URL + "\n")
	d, err := provider.Open(context.Background(), "vercel", provider.Env{
		Config: section,
		Facts:  map[string]string{vercel.FactStagingDeploymentID: staged},
		Clock:  clock,
		Getenv: func(k string) string { return map[string]string{"VERCEL_TOKEN": "example-token"}[k] },
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	dep, err := d.Deploy(context.Background(), shipprod.Release{Version: "1.1.0", Tag: "v1.1.0", Commit: "bbbb"})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(dep.ID == staged, dep.URL, api.Production("prj_web") == staged)
	fmt.Println(dep.RollbackSteps[0] == "vercel rollback "+dep.PreviousID+" --yes")
	// Output:
	// true https://www.example.com true
	// true
}
