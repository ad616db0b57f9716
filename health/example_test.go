package health_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/shipprod/shipprod"
	"github.com/shipprod/shipprod/health"
)

// A Checker built from configuration checks the deployed release: here, that
// the home page answers 200, the API reports its database connected, and the
// new version is live.
func Example() {
	production := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/":
			fmt.Fprint(w, "welcome")
		case "/api/health":
			fmt.Fprint(w, `{"database":"connected"}`)
		case "/api/version":
			fmt.Fprint(w, `{"version":"2.6.3"}`) // the CDN still serves the old build
		}
	}))
	defer production.Close()

	checker, err := health.New(health.Config{
		Timing: health.Timing{FailureThreshold: 1},
		Checks: []health.CheckConfig{
			{Name: "home", HTTP: "/", HTTPOptions: health.HTTPOptions{ExpectStatus: 200}},
			{Name: "api", HTTP: "/api/health", HTTPOptions: health.HTTPOptions{ExpectJSON: []string{`.database == "connected"`}}},
			{Name: "live-version", Version: "/api/version"},
		},
	}, health.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	// Relative URLs resolve against the deployment's URL (or base_url).
	report, err := checker.Check(context.Background(),
		shipprod.Release{Version: "2.7.0", Tag: "v2.7.0"},
		shipprod.Deployment{URL: production.URL})
	if err != nil {
		fmt.Println("checks could not run:", err)
		return
	}
	for _, c := range report.Checks {
		if c.Status == shipprod.HealthFail {
			fmt.Printf("%s %s: %s\n", c.Name, c.Status, c.Error)
		} else {
			fmt.Println(c.Name, c.Status)
		}
	}
	fmt.Println("healthy:", report.OK())
	// Output:
	// home pass
	// api pass
	// live-version fail: version 2.6.3 is live, want 2.7.0
	// healthy: false
}

// Importers add their own kinds of check with a Probe. Registered in
// Options.Kinds, a kind can be named in configuration with `custom:`.
func ExampleKind() {
	queueDepth := func(args map[string]string, getenv func(string) string) (health.Probe, error) {
		queue := args["queue"]
		if queue == "" {
			return nil, errors.New("args.queue is required")
		}
		return health.ProbeFunc(func(ctx context.Context, t health.Target) (health.Observation, error) {
			depth := 12 // ask the job system here
			if depth > 100 {
				return health.Observation{}, fmt.Errorf("queue %s holds %d jobs", queue, depth)
			}
			return health.Observation{Message: fmt.Sprintf("queue %s holds %d jobs", queue, depth)}, nil
		}), nil
	}
	checker, err := health.New(health.Config{Checks: []health.CheckConfig{
		{Name: "mail-jobs", Custom: "queue-depth", Args: map[string]string{"queue": "mail"}},
	}}, health.Options{Kinds: map[string]health.Kind{"queue-depth": queueDepth}})
	if err != nil {
		fmt.Println(err)
		return
	}
	report, _ := checker.Check(context.Background(), shipprod.Release{Version: "2.7.0"}, shipprod.Deployment{})
	fmt.Println(report.Checks[0].Kind, report.Checks[0].Status, report.Checks[0].Message)
	// Output:
	// queue-depth pass queue mail holds 12 jobs
}

// PlanActions lists the checks a run will make, for `shipprod plan`.
func ExampleChecker_PlanActions() {
	checker, _ := health.New(health.Config{BaseURL: "https://example.com", Checks: []health.CheckConfig{
		{Name: "home", HTTP: "/"},
		{Name: "live-version", Version: "/api/version"},
		{Name: "db", SQL: &health.SQLConfig{Driver: "shipprodfake", DSN: "fake://app:secret@db:5432/shop"}},
	}}, health.Options{})
	actions, _ := checker.PlanActions(context.Background(), shipprod.Release{Version: "2.7.0"})
	for _, a := range actions {
		fmt.Println(a.Description)
	}
	// Output:
	// health check home: GET https://example.com/, expect 200
	// health check live-version: GET https://example.com/api/version, expect 200 reporting version 2.7.0
	// health check db: ping fake://db:5432/shop
}

// ParseExpr compiles the jq expressions of expect_json. An expectation holds
// when the expression yields values that are neither null nor false.
func ExampleParseExpr() {
	doc := map[string]any{"checks": map[string]any{
		"db":    map[string]any{"status": "fail"},
		"cache": map[string]any{"status": "pass"},
	}}
	for _, src := range []string{
		`.checks["db"].status == "pass"`,
		`.checks | map(.status == "pass") | all`,
		`[.checks[] | select(.status == "fail")] | length <= 1`,
	} {
		e, err := health.ParseExpr(src)
		if err != nil {
			fmt.Println(err)
			continue
		}
		fmt.Println(e.Eval(context.Background(), doc))
	}
	// Output:
	// .checks["db"].status is "fail" (want == "pass")
	// .checks | map(.status == "pass") | all yields false (want neither null nor false)
	// <nil>
}
