package githubfake_test

import (
	"context"
	"fmt"
	"log"
	"strings"
	"time"

	"github.com/shipprod/shipprod/internal/github"
	"github.com/shipprod/shipprod/internal/github/githubfake"
	"github.com/shipprod/shipprod/shipprodtest"
)

// A dispatched run appears a few seconds after the 204, then moves from
// queued to completed as the fake clock advances.
func Example() {
	clock := shipprodtest.NewClock(time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC))
	fake := githubfake.New(githubfake.Options{Clock: clock, Token: "test-token"})
	defer fake.Close()
	fake.AddRepo("acme/web", githubfake.RepoOptions{RunDetails: githubfake.DetailsNever})
	fake.AddWorkflow("acme/web", githubfake.Workflow{File: "deploy.yml",
		Script: githubfake.RunScript{AppearAfter: 3 * time.Second, Queued: 5 * time.Second, Running: time.Minute, Conclusion: "failure"}})

	ctx := context.Background()
	c, err := github.New(ctx, github.Options{Repository: "acme/web", APIURL: fake.GHESURL(), Clock: clock,
		Getenv: func(string) string { return "test-token" }})
	if err != nil {
		log.Fatal(err)
	}
	res, err := c.Dispatch(ctx, github.DispatchRequest{Workflow: "deploy.yml", Ref: "main", ReturnRunDetails: true})
	fmt.Println("run id in the answer:", res.RunID, err)
	for _, wait := range []time.Duration{0, 3 * time.Second, 10 * time.Second, time.Minute} {
		clock.Advance(wait)
		runs, _, _ := c.ListRuns(ctx, github.RunFilter{Workflow: "deploy.yml", Event: "workflow_dispatch"})
		for _, r := range runs {
			fmt.Println(strings.TrimSpace(r.Status + " " + r.Conclusion))
		}
		if len(runs) == 0 {
			fmt.Println("no run yet")
		}
	}
	// Output:
	// run id in the answer: 0 <nil>
	// no run yet
	// queued
	// in_progress
	// completed failure
}
