package githubactions

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shipprod/shipprod"
	"github.com/shipprod/shipprod/internal/github/githubfake"
	"github.com/shipprod/shipprod/provider"
	"github.com/shipprod/shipprod/shipprodtest"
)

const (
	repoName = "acme/web"
	token    = "ghp_ACTIONSSECRET_0123456789abcdefABCDEF"
)

var epoch = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)

var (
	mainSHA = strings.Repeat("a", 40)
	relSHA  = strings.Repeat("b", 40)
	prevSHA = strings.Repeat("c", 40)
)

type fixture struct {
	t     *testing.T
	fake  *githubfake.Server
	clock *shipprodtest.Clock
	logs  *shipprodtest.Buffer
	dir   string
}

// deployWorkflow is a production workflow with a correlation input shown in
// its run-name, as Codex-/return-dispatch recommends.
const deployWorkflow = `name: Deploy production
run-name: Deploy ${{ inputs.version }} [${{ inputs.dispatch_id }}]
on:
  workflow_dispatch:
    inputs:
      version:
        required: true
      environment:
        default: production
      dispatch_id:
        description: correlation id set by shipprod
jobs:
  deploy:
    runs-on: ubuntu-latest
    steps:
      - run: ./deploy.sh
`

func newFixture(t *testing.T, repoOpts githubfake.RepoOptions) *fixture {
	t.Helper()
	f := &fixture{t: t, clock: shipprodtest.NewClock(epoch), logs: &shipprodtest.Buffer{}, dir: t.TempDir()}
	f.fake = githubfake.NewT(t, githubfake.Options{Clock: f.clock, Token: token})
	if repoOpts.Refs == nil {
		repoOpts.Refs = map[string]string{"main": mainSHA, "v1.2.0": relSHA, "v1.1.0": prevSHA}
	}
	f.fake.AddRepo(repoName, repoOpts)
	t.Cleanup(func() {
		if strings.Contains(f.logs.String(), token) {
			t.Error("the token appears in the logs")
		}
	})
	return f
}

// workflow adds the deploy workflow to the fake and, when local is set, its
// file to the working tree (where correlation inputs are detected).
func (f *fixture) workflow(script githubfake.RunScript, local bool) {
	f.fake.AddWorkflow(repoName, githubfake.Workflow{File: "deploy.yml", Name: "Deploy production",
		RunName: "Deploy ${{ inputs.version }} [${{ inputs.dispatch_id }}]",
		Inputs:  map[string]githubfake.Input{"version": {Required: true}, "environment": {Default: "production"}, "dispatch_id": {}},
		Script:  script})
	if local {
		path := filepath.Join(f.dir, ".github", "workflows", "deploy.yml")
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			f.t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(deployWorkflow), 0o644); err != nil {
			f.t.Fatal(err)
		}
	}
}

func (f *fixture) env() provider.Env {
	return provider.Env{
		Dir:    f.dir,
		Facts:  map[string]string{FactRepository: repoName, FactAPIURL: f.fake.APIURL()},
		Clock:  f.clock,
		Logger: slog.New(slog.NewTextHandler(f.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Getenv: func(k string) string { return map[string]string{"GITHUB_TOKEN": token}[k] },
	}
}

func (f *fixture) deployer(cfg Config) *Deployer {
	f.t.Helper()
	if cfg.Workflow == "" {
		cfg.Workflow = "deploy.yml"
	}
	if cfg.Inputs == nil {
		cfg.Inputs = map[string]string{"version": "{{.Version}}", "environment": "production"}
	}
	d, err := New(context.Background(), cfg, f.env())
	if err != nil {
		f.t.Fatal(err)
	}
	return d
}

func release() shipprod.Release {
	return shipprod.Release{Version: "1.2.0", Tag: "v1.2.0", Commit: relSHA, PreviousVersion: "1.1.0", PreviousTag: "v1.1.0", PreviousCommit: prevSHA}
}

func noToken(t *testing.T, err error) {
	t.Helper()
	if err != nil && strings.Contains(err.Error(), token) {
		t.Fatalf("token in error: %v", err)
	}
}

// typicalRun is a deploy that queues 10 s and runs 3 minutes.
var typicalRun = githubfake.RunScript{AppearAfter: 3 * time.Second, Queued: 10 * time.Second, Running: 3 * time.Minute}

func TestDeployWithRunDetails(t *testing.T) {
	f := newFixture(t, githubfake.RepoOptions{})
	f.workflow(typicalRun, false)
	d := f.deployer(Config{EnvironmentURL: "https://web.acme.com"})
	dep, err := d.Deploy(context.Background(), release())
	if err != nil {
		t.Fatal(err)
	}
	runs := f.fake.Runs(repoName)
	if len(runs) != 1 || dep.ID == "" || dep.ID != itoa(runs[0].ID) {
		t.Fatalf("deployment %+v, runs %+v", dep, runs)
	}
	if runs[0].HeadBranch != "v1.2.0" || runs[0].Inputs["version"] != "1.2.0" || runs[0].Inputs["environment"] != "production" {
		t.Fatalf("dispatched %+v", runs[0])
	}
	if dep.Provider != "github-actions" || dep.URL != "https://web.acme.com" || dep.Commit != relSHA || dep.Environment != "production" ||
		dep.Details["run_url"] != "https://github.com/acme/web/actions/runs/"+dep.ID || dep.Details["conclusion"] != "success" || dep.PreviousID != "v1.1.0" {
		t.Fatalf("deployment %+v", dep)
	}
	if len(dep.RollbackSteps) == 0 || !strings.Contains(dep.RollbackSteps[0], "gh workflow run deploy.yml --repo acme/web --ref v1.1.0 -f environment=production -f version=1.1.0") {
		t.Fatalf("rollback steps %q", dep.RollbackSteps)
	}
	if got := f.clock.Now().Sub(epoch); got < 3*time.Minute+10*time.Second || got > 4*time.Minute {
		t.Fatalf("the deploy took %s on the clock; the run takes 3m10s", got)
	}
	n := f.fake.RequestCount()
	t.Logf("typical deploy (run details, 10 s queued, 3 min running): %d API requests, %s", n, dep.Details["requests"])
	if n > 25 || dep.Details["requests"] != itoa(int64(n)) {
		t.Fatalf("%d requests (deployment says %s)", n, dep.Details["requests"])
	}
	// The dispatch asked for the run details.
	var body map[string]any
	_ = f.fake.RequestsTo("POST", "/dispatches")[0].JSON(&body)
	if body["return_run_details"] != true {
		t.Fatalf("dispatch body %v", body)
	}
}

func TestDispatch204FindsRunByCorrelationToken(t *testing.T) {
	f := newFixture(t, githubfake.RepoOptions{RunDetails: githubfake.DetailsNever})
	f.workflow(typicalRun, true)
	d := f.deployer(Config{})
	if d.CorrelationInput() != "dispatch_id" {
		t.Fatalf("correlation input %q, want it detected from the workflow file", d.CorrelationInput())
	}
	// Someone else dispatched the same workflow on the same ref in the same second.
	other := f.fake.TriggerDispatch(repoName, "deploy.yml", "v1.2.0", map[string]string{"version": "1.2.0", "dispatch_id": "someone-else"})
	dep, err := d.Deploy(context.Background(), release())
	if err != nil {
		t.Fatal(err)
	}
	if dep.ID == itoa(other) {
		t.Fatal("followed someone else's run")
	}
	runs := f.fake.Runs(repoName)
	mine := runs[len(runs)-1]
	if dep.ID != itoa(mine.ID) || !strings.HasPrefix(mine.Inputs["dispatch_id"], "shipprod-") || !strings.Contains(mine.DisplayTitle, mine.Inputs["dispatch_id"]) {
		t.Fatalf("deployment %s, runs %+v", dep.ID, runs)
	}
	t.Logf("typical deploy (204, run found by token): %d API requests", f.fake.RequestCount())
}

func TestDispatchWithoutDetailsOrToken(t *testing.T) {
	t.Run("one new run is ours", func(t *testing.T) {
		f := newFixture(t, githubfake.RepoOptions{RunDetails: githubfake.DetailsNever})
		f.workflow(typicalRun, false)
		d := f.deployer(Config{})
		if d.CorrelationInput() != "" {
			t.Fatal("no workflow file: no correlation input")
		}
		dep, err := d.Deploy(context.Background(), release())
		if err != nil {
			t.Fatal(err)
		}
		if runs := f.fake.Runs(repoName); len(runs) != 1 || dep.ID != itoa(runs[0].ID) {
			t.Fatalf("deployment %s, runs %+v", dep.ID, runs)
		}
		t.Logf("typical deploy (204, no token, run found as the only new one): %d API requests", f.fake.RequestCount())
	})
	t.Run("two dispatches in the same second are refused, not guessed", func(t *testing.T) {
		f := newFixture(t, githubfake.RepoOptions{RunDetails: githubfake.DetailsNever})
		f.workflow(githubfake.RunScript{AppearAfter: 3 * time.Second, Running: time.Minute}, false)
		f.fake.TriggerDispatch(repoName, "deploy.yml", "v1.2.0", map[string]string{"version": "1.2.0"})
		_, err := f.deployer(Config{}).Deploy(context.Background(), release())
		if err == nil || !strings.Contains(err.Error(), "cannot tell which is ours") || !strings.Contains(err.Error(), "correlation input") {
			t.Fatalf("err %v", err)
		}
	})
	t.Run("GHES 3.20 refuses the flag: dispatch again without it, ignoring older runs", func(t *testing.T) {
		f := newFixture(t, githubfake.RepoOptions{RunDetails: githubfake.DetailsRejected})
		f.workflow(typicalRun, false)
		f.fake.TriggerDispatch(repoName, "deploy.yml", "v1.2.0", map[string]string{"version": "1.2.0"})
		f.clock.Advance(4 * time.Second) // the other run exists before ours
		d := f.deployer(Config{})
		dep, err := d.Deploy(context.Background(), release())
		if err != nil {
			t.Fatal(err)
		}
		runs := f.fake.Runs(repoName)
		if dep.ID != itoa(runs[1].ID) {
			t.Fatalf("followed %s, want the new run %d", dep.ID, runs[1].ID)
		}
		posts := f.fake.RequestsTo("POST", "/dispatches")
		if len(posts) != 2 || posts[0].Status != 400 || posts[1].Status != 204 {
			t.Fatalf("dispatches %+v", posts)
		}
		// The refusal is remembered: the rollback does not send the flag again.
		f.fake.ResetRequests()
		if _, err := d.Rollback(context.Background(), dep, release().Previous()); err != nil {
			t.Fatal(err)
		}
		if posts := f.fake.RequestsTo("POST", "/dispatches"); len(posts) != 1 || strings.Contains(string(posts[0].Body), "return_run_details") {
			t.Fatalf("rollback dispatches %+v", posts)
		}
	})
	t.Run("a run that exists before the dispatch is not ours, even on the 204 path", func(t *testing.T) {
		f := newFixture(t, githubfake.RepoOptions{RunDetails: githubfake.DetailsNever})
		f.workflow(typicalRun, false)
		f.fake.QueueRunScripts(repoName, "deploy.yml",
			githubfake.RunScript{Running: time.Minute},                                                      // someone else's, a success
			githubfake.RunScript{AppearAfter: 3 * time.Second, Running: time.Minute, Conclusion: "failure"}) // ours
		other := f.fake.TriggerDispatch(repoName, "deploy.yml", "v1.2.0", map[string]string{"version": "1.2.0"})
		f.clock.Advance(3 * time.Second) // within the 5 s clock skew of our dispatch
		d := f.deployer(Config{})
		dep, err := d.Deploy(context.Background(), release())
		ours := f.fake.Runs(repoName)[1].ID
		var re *RunError
		if !errors.As(err, &re) || re.Run.ID != ours || dep.ID != itoa(ours) {
			t.Fatalf("followed %s (the other run is %d, ours %d): %v", dep.ID, other, ours, err)
		}
		// The dispatch asked for details, GitHub answered 204 anyway.
		if posts := f.fake.RequestsTo("POST", "/dispatches"); len(posts) != 1 || posts[0].Status != 204 || !strings.Contains(string(posts[0].Body), "return_run_details") {
			t.Fatalf("dispatches %+v", posts)
		}
	})
	t.Run("a foreign run that shows up one poll before ours is not followed", func(t *testing.T) {
		f := newFixture(t, githubfake.RepoOptions{RunDetails: githubfake.DetailsNever})
		f.workflow(typicalRun, false)
		// Someone dispatches the same workflow on the same ref just as we
		// do; GitHub shows their run at +2 s, ours at +6 s: between our
		// polls at +3 s and +7.5 s.
		f.fake.QueueRunScripts(repoName, "deploy.yml",
			githubfake.RunScript{AppearAfter: 2 * time.Second, Running: time.Minute},
			githubfake.RunScript{AppearAfter: 6 * time.Second, Running: time.Minute, Conclusion: "failure"})
		other := f.fake.TriggerDispatch(repoName, "deploy.yml", "v1.2.0", map[string]string{"version": "1.2.0"})
		_, err := f.deployer(Config{}).Deploy(context.Background(), release())
		if err == nil || !strings.Contains(err.Error(), "cannot tell which is ours") || !strings.Contains(err.Error(), "declare a correlation input") {
			t.Fatalf("err %v", err)
		}
		if got := f.fake.RequestsTo("GET", "/actions/runs/"+itoa(other)); len(got) != 0 {
			t.Fatalf("the foreign run %d was followed: %d requests", other, len(got))
		}
	})
	t.Run("a lone run not yet confirmed when discovery ends is not taken", func(t *testing.T) {
		f := newFixture(t, githubfake.RepoOptions{RunDetails: githubfake.DetailsNever})
		f.workflow(typicalRun, false)
		_, err := f.deployer(Config{WatchConfig: WatchConfig{DiscoveryTimeout: 4 * time.Second, ClockSkew: 5 * time.Second}}).Deploy(context.Background(), release())
		var te *TimeoutError
		if !errors.As(err, &te) || !strings.Contains(err.Error(), "had been the only new run for 5s") || !strings.Contains(err.Error(), "declare a correlation input") {
			t.Fatalf("err %v", err)
		}
	})
	t.Run("no run appears", func(t *testing.T) {
		f := newFixture(t, githubfake.RepoOptions{RunDetails: githubfake.DetailsNever})
		f.workflow(githubfake.RunScript{AppearAfter: time.Hour}, true)
		_, err := f.deployer(Config{WatchConfig: WatchConfig{DiscoveryTimeout: time.Minute}}).Deploy(context.Background(), release())
		var te *TimeoutError
		if !errors.As(err, &te) || te.Run != nil || !strings.Contains(err.Error(), "no run was found by the token in input dispatch_id within 1m0s") {
			t.Fatalf("err %v", err)
		}
	})
}

func TestPushTriggeredWorkflow(t *testing.T) {
	f := newFixture(t, githubfake.RepoOptions{})
	f.fake.AddWorkflow(repoName, githubfake.Workflow{File: "deploy-production.yml", NoDispatch: true,
		Script: githubfake.RunScript{AppearAfter: 20 * time.Second, Queued: 5 * time.Second, Running: 2 * time.Minute}})
	// The tag step pushed v1.2.0; GitHub starts the run on its own.
	f.fake.TriggerPush(repoName, "deploy-production.yml", "v1.1.0", prevSHA)
	push := f.fake.TriggerPush(repoName, "deploy-production.yml", "v1.2.0", relSHA)
	d := f.deployer(Config{Workflow: "deploy-production.yml", Trigger: TriggerPush, Inputs: map[string]string{}})
	dep, err := d.Deploy(context.Background(), release())
	if err != nil {
		t.Fatal(err)
	}
	if dep.ID != itoa(push) || dep.Details["event"] != "push" {
		t.Fatalf("deployment %+v", dep)
	}
	if n := len(f.fake.RequestsTo("POST", "")); n != 0 {
		t.Fatalf("trigger push must not dispatch (%d POSTs)", n)
	}
	acts, _ := d.PlanActions(context.Background(), release())
	if len(acts) != 1 || !strings.Contains(acts[0].Description, "follow the deploy-production.yml run that the push of v1.2.0 started") {
		t.Fatalf("plan %+v", acts)
	}
}

// TestPushTriggeredRunStartedBeforeTheDeploy: in trigger push mode the push
// is the tag step's, made before the deploy starts, so the run may already
// be there (and even done) when the deploy looks; it is still the run to
// follow, while a run of another tag on the same commit is not.
func TestPushTriggeredRunStartedBeforeTheDeploy(t *testing.T) {
	f := newFixture(t, githubfake.RepoOptions{})
	f.fake.AddWorkflow(repoName, githubfake.Workflow{File: "deploy-production.yml", NoDispatch: true,
		Script: githubfake.RunScript{AppearAfter: 2 * time.Second, Running: 20 * time.Second, Conclusion: "failure"}})
	f.fake.QueueRunScripts(repoName, "deploy-production.yml", githubfake.RunScript{Running: time.Minute}) // v1.1.0's, a success
	f.fake.TriggerPush(repoName, "deploy-production.yml", "v1.1.0", relSHA)
	f.clock.Advance(time.Hour)
	push := f.fake.TriggerPush(repoName, "deploy-production.yml", "v1.2.0", relSHA)
	f.clock.Advance(30 * time.Second) // the release step took a while
	d := f.deployer(Config{Workflow: "deploy-production.yml", Trigger: TriggerPush, Inputs: map[string]string{}})
	dep, err := d.Deploy(context.Background(), release())
	var re *RunError
	if !errors.As(err, &re) || dep.ID != itoa(push) {
		t.Fatalf("deployment %s (want run %d): %v", dep.ID, push, err)
	}
}

func TestConclusions(t *testing.T) {
	reasons := map[string]bool{}
	for _, c := range []string{"failure", "cancelled", "timed_out", "startup_failure", "action_required", "skipped", "neutral"} {
		t.Run(c, func(t *testing.T) {
			f := newFixture(t, githubfake.RepoOptions{})
			f.workflow(githubfake.RunScript{Queued: time.Second, Running: 30 * time.Second, Conclusion: c}, false)
			dep, err := f.deployer(Config{}).Deploy(context.Background(), release())
			var re *RunError
			if !errors.As(err, &re) || !errors.Is(err, ErrRunFailed) || re.Run.Conclusion != c {
				t.Fatalf("err %v", err)
			}
			if !strings.Contains(err.Error(), "https://github.com/acme/web/actions/runs/"+dep.ID) {
				t.Fatalf("the message must carry the run URL: %v", err)
			}
			if reasons[re.Reason] {
				t.Fatalf("conclusion %s shares its message with another", c)
			}
			reasons[re.Reason] = true
			if dep.ID == "" || dep.Details["conclusion"] != c {
				t.Fatalf("a failed deploy still reports its run: %+v", dep)
			}
		})
	}
}

func TestStuckRunsHitTheDeadline(t *testing.T) {
	for _, tc := range []struct {
		status, reason string
		cancel         bool
	}{
		{"waiting", "required reviewer", false},
		{"queued", "no runner picked it up", true},
		{"pending", "concurrency group", false},
	} {
		t.Run(tc.status, func(t *testing.T) {
			f := newFixture(t, githubfake.RepoOptions{})
			script := githubfake.RunScript{Stuck: tc.status}
			if tc.status == "queued" {
				script = githubfake.RunScript{Queued: 24 * time.Hour}
			}
			f.workflow(script, false)
			_, err := f.deployer(Config{WatchConfig: WatchConfig{Timeout: 15 * time.Minute, CancelOnTimeout: tc.cancel}}).Deploy(context.Background(), release())
			var te *TimeoutError
			if !errors.As(err, &te) || te.Run == nil || te.Run.Status != tc.status || !strings.Contains(err.Error(), tc.reason) || te.Cancelled != tc.cancel {
				t.Fatalf("err %v", err)
			}
			if waited := f.clock.Now().Sub(epoch); waited < 15*time.Minute || waited > 16*time.Minute {
				t.Fatalf("gave up after %s, want the 15m deadline", waited)
			}
			if tc.cancel {
				if r := f.fake.Runs(repoName)[0]; r.Conclusion != "cancelled" {
					t.Fatalf("run %+v should have been cancelled", r)
				}
			}
		})
	}
}

// TestPollingBudget checks the budget over a 10-minute run: at most one
// request per 5 seconds on average, i.e. 120, and records the figure.
func TestPollingBudget(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  WatchConfig
	}{
		{"defaults", WatchConfig{}},
		{"aggressive configuration", WatchConfig{PollInterval: time.Second, MaxPollInterval: time.Second}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, githubfake.RepoOptions{})
			f.workflow(githubfake.RunScript{Queued: 30 * time.Second, Running: 10 * time.Minute}, false)
			if _, err := f.deployer(Config{WatchConfig: tc.cfg}).Deploy(context.Background(), release()); err != nil {
				t.Fatal(err)
			}
			n := f.fake.RequestCount()
			took := f.clock.Now().Sub(epoch)
			t.Logf("%s: %d requests over %s", tc.name, n, took.Round(time.Second))
			if limit := int(took/(5*time.Second)) + 1; n > limit {
				t.Fatalf("%d requests over %s exceed the budget of %d", n, took, limit)
			}
			// The first polls are fast: the run is noticed soon after it starts.
			reqs := f.fake.Requests()
			if len(reqs) < 4 {
				t.Fatalf("only %d requests", len(reqs))
			}
		})
	}
}

func TestPollingSlowsWhenRateLimitRunsLow(t *testing.T) {
	f := newFixture(t, githubfake.RepoOptions{})
	f.workflow(githubfake.RunScript{Running: 10 * time.Minute}, false)
	f.fake.SetRateLimit(5000, 20, 20*time.Minute)
	if _, err := f.deployer(Config{}).Deploy(context.Background(), release()); err != nil {
		t.Fatal(err)
	}
	// The list before the dispatch, the dispatch, then polls spread over
	// what is left (without the slowdown, 37 requests).
	if n := f.fake.RequestCount(); n > 13 {
		t.Fatalf("%d requests with 20 left for 20 minutes", n)
	}
	if !strings.Contains(f.logs.String(), "polling more slowly") {
		t.Fatal("the slowdown was not logged")
	}
}

func TestTransientErrorsWhilePolling(t *testing.T) {
	f := newFixture(t, githubfake.RepoOptions{})
	f.workflow(typicalRun, false)
	f.fake.Inject(
		githubfake.Fault{Kind: githubfake.FaultStatus, Status: 502, Method: "GET", Path: "/actions/runs/", Times: 3},
		githubfake.Fault{Kind: githubfake.FaultDrop, Method: "GET", Path: "/actions/runs/", Times: 2},
		githubfake.Fault{Kind: githubfake.FaultMalformedJSON, Method: "GET", Path: "/actions/runs/", Times: 2},
		githubfake.Fault{Kind: githubfake.FaultSecondaryRateLimit, Method: "GET", Path: "/actions/runs/", RetryAfter: 30 * time.Second},
	)
	f.fake.ExhaustRateLimit(403, 20*time.Second)
	if _, err := f.deployer(Config{}).Deploy(context.Background(), release()); err != nil {
		t.Fatal(err)
	}
}

func TestDispatchErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		repo githubfake.RepoOptions
		wf   githubfake.Workflow
		cfg  Config
		want []string
	}{
		{"no dispatch trigger", githubfake.RepoOptions{}, githubfake.Workflow{File: "deploy.yml", NoDispatch: true}, Config{Inputs: map[string]string{}},
			[]string{"422 Workflow does not have 'workflow_dispatch' trigger", "add `on: workflow_dispatch`"}},
		{"unknown ref", githubfake.RepoOptions{}, githubfake.Workflow{File: "deploy.yml"}, Config{Ref: "v9.9.9", Inputs: map[string]string{}},
			[]string{"No ref found for: v9.9.9", "push it first"}},
		{"undeclared input", githubfake.RepoOptions{}, githubfake.Workflow{File: "deploy.yml"}, Config{},
			[]string{`Unexpected inputs provided: ["environment","version"]`, "declare them"}},
		{"no actions:write", githubfake.RepoOptions{NoActionsWrite: true}, githubfake.Workflow{File: "deploy.yml"}, Config{Inputs: map[string]string{}},
			[]string{"403 Resource not accessible by integration", "actions:write"}},
		{"unknown workflow", githubfake.RepoOptions{}, githubfake.Workflow{File: "other.yml"}, Config{Inputs: map[string]string{}},
			[]string{"404", "no workflow deploy.yml in acme/web"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, tc.repo)
			f.fake.AddWorkflow(repoName, tc.wf)
			_, err := f.deployer(tc.cfg).Deploy(context.Background(), release())
			for _, w := range tc.want {
				if err == nil || !strings.Contains(err.Error(), w) {
					t.Fatalf("err %v, want %q", err, w)
				}
			}
			noToken(t, err)
			want := 1
			if tc.name == "unknown workflow" {
				want = 0 // the list of runs before the dispatch already answers 404
			}
			if n := len(f.fake.RequestsTo("POST", "/dispatches")); n != want {
				t.Fatalf("a 4xx must not be retried: %d dispatches", n)
			}
		})
	}
	t.Run("a 5xx on dispatch is not repeated", func(t *testing.T) {
		f := newFixture(t, githubfake.RepoOptions{})
		f.workflow(typicalRun, false)
		f.fake.Inject(githubfake.Fault{Kind: githubfake.FaultStatus, Status: 502, Method: "POST", AfterEffect: true})
		_, err := f.deployer(Config{}).Deploy(context.Background(), release())
		if err == nil || !strings.Contains(err.Error(), "may or may not have started a run") || len(f.fake.Runs(repoName)) != 1 {
			t.Fatalf("err %v", err)
		}
	})
	t.Run("a 5xx on dispatch with a correlation token finds the run it started", func(t *testing.T) {
		f := newFixture(t, githubfake.RepoOptions{})
		f.workflow(typicalRun, true)
		f.fake.Inject(githubfake.Fault{Kind: githubfake.FaultStatus, Status: 502, Method: "POST", AfterEffect: true})
		dep, err := f.deployer(Config{}).Deploy(context.Background(), release())
		if err != nil || len(f.fake.Runs(repoName)) != 1 || dep.ID != itoa(f.fake.Runs(repoName)[0].ID) {
			t.Fatalf("err %v, runs %+v", err, f.fake.Runs(repoName))
		}
	})
}

func TestRollback(t *testing.T) {
	f := newFixture(t, githubfake.RepoOptions{})
	f.workflow(typicalRun, false)
	f.fake.AddWorkflow(repoName, githubfake.Workflow{File: "rollback.yml", Inputs: map[string]githubfake.Input{"version": {Required: true}}})
	t.Run("same workflow, previous version", func(t *testing.T) {
		d := f.deployer(Config{EnvironmentURL: "https://web.acme.com"})
		var _ shipprod.Rollbacker = d
		dep, err := d.Rollback(context.Background(), shipprod.Deployment{ID: "1"}, release().Previous())
		if err != nil {
			t.Fatal(err)
		}
		runs := f.fake.Runs(repoName)
		last := runs[len(runs)-1]
		if last.Workflow != "deploy.yml" || last.HeadBranch != "v1.1.0" || last.Inputs["version"] != "1.1.0" || dep.URL != "https://web.acme.com" || dep.Details["rolled_back"] != "1" {
			t.Fatalf("run %+v, deployment %+v", last, dep)
		}
	})
	t.Run("configured rollback workflow", func(t *testing.T) {
		// A fresh repository: after the rollback above, production runs
		// v1.1.0 already, and rolling back to it again dispatches nothing.
		f := newFixture(t, githubfake.RepoOptions{})
		f.workflow(typicalRun, false)
		f.fake.AddWorkflow(repoName, githubfake.Workflow{File: "rollback.yml", Inputs: map[string]githubfake.Input{"version": {Required: true}}})
		d := f.deployer(Config{Rollback: RollbackConfig{Workflow: "rollback.yml", Ref: "main", Inputs: map[string]string{"version": "{{.Version}}"}}})
		if _, err := d.Rollback(context.Background(), shipprod.Deployment{}, release().Previous()); err != nil {
			t.Fatal(err)
		}
		runs := f.fake.Runs(repoName)
		last := runs[len(runs)-1]
		if last.Workflow != "rollback.yml" || last.HeadBranch != "main" || last.Inputs["version"] != "1.1.0" {
			t.Fatalf("run %+v", last)
		}
	})
	t.Run("nothing to roll back to", func(t *testing.T) {
		_, err := f.deployer(Config{}).Rollback(context.Background(), shipprod.Deployment{}, shipprod.Release{})
		if err == nil || !strings.Contains(err.Error(), "no tag") {
			t.Fatalf("err %v", err)
		}
	})
}

// blockingClock never lets time pass: Sleep waits for the context.
type blockingClock struct {
	*shipprodtest.Clock
	sleeping chan struct{}
}

func (c blockingClock) Sleep(ctx context.Context, _ time.Duration) error {
	select {
	case c.sleeping <- struct{}{}:
	default:
	}
	<-ctx.Done()
	return ctx.Err()
}

func TestContextCancellationIsPrompt(t *testing.T) {
	f := newFixture(t, githubfake.RepoOptions{})
	f.workflow(githubfake.RunScript{Running: time.Hour}, false)
	env := f.env()
	clock := blockingClock{Clock: f.clock, sleeping: make(chan struct{}, 1)}
	env.Clock = clock
	d, err := New(context.Background(), Config{Workflow: "deploy.yml", Inputs: map[string]string{"version": "{{.Version}}"}}, env)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := d.Deploy(ctx, release())
		done <- err
	}()
	<-clock.sleeping // dispatched, polled once, now waiting
	cancel()
	select {
	case err := <-done:
		// The latest successful run, the list before the dispatch, the
		// dispatch, one poll.
		if !errors.Is(err, context.Canceled) || f.fake.RequestCount() != 4 {
			t.Fatalf("err %v after %d requests", err, f.fake.RequestCount())
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Deploy did not return after the context was cancelled")
	}
}

func TestRegistryAndConfig(t *testing.T) {
	f := newFixture(t, githubfake.RepoOptions{})
	f.workflow(typicalRun, false)
	env := f.env()
	sec, err := provider.ParseSection("workflow: deploy.yml\ninputs:\n  version: \"{{.Version}}\"\n  environment: production\ntimeout: 20m\npoll_interval: 2s\nclock_skew: 2s\nrollback:\n  workflow: deploy.yml\n")
	if err != nil {
		t.Fatal(err)
	}
	env.Config = sec
	d, err := provider.Open(context.Background(), Name, env)
	if err != nil {
		t.Fatal(err)
	}
	gd := d.(*Deployer)
	if gd.w.cfg.Timeout != 20*time.Minute || gd.w.cfg.PollInterval != 2*time.Second || gd.skew != 2*time.Second {
		t.Fatalf("config %+v", gd.w.cfg)
	}
	if caps := shipprod.Capabilities(d); strings.Join(caps, ",") != "rollback,production,follow,preflight,plan" {
		t.Fatalf("capabilities %v", caps)
	}
	for _, tc := range []struct{ yaml, want string }{
		{"workflow: deploy.yml\ninptus: {}\n", `unknown key "inptus"`},
		{"inputs: {}\n", "workflow: required"},
		{"workflow: .github/workflows/deploy.yml\n", "not a path"},
		{"workflow: deploy.yml\ntrigger: schedule\n", `trigger "schedule"`},
		{"workflow: deploy.yml\ninputs:\n  version: \"{{.Version\"\n", "inputs.version"},
		{"workflow: deploy.yml\ntimeout: soon\n", "soon"},
	} {
		env.Config, _ = provider.ParseSection(tc.yaml)
		_, err := provider.Open(context.Background(), Name, env)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: got %v, want %q", tc.yaml, err, tc.want)
		}
	}
	env.Config, _ = provider.ParseSection("workflow: deploy.yml\n")
	env.Getenv = func(string) string { return "" }
	if _, err := provider.Open(context.Background(), Name, env); err == nil || !strings.Contains(err.Error(), "GH_TOKEN or GITHUB_TOKEN") {
		t.Fatalf("missing token: %v", err)
	}
}

func TestPlanIsStableAndSecretFree(t *testing.T) {
	f := newFixture(t, githubfake.RepoOptions{})
	f.workflow(typicalRun, true)
	d := f.deployer(Config{})
	a, _ := d.PlanActions(context.Background(), shipprod.Release{Version: "1.2.0", Tag: "v1.2.0"})
	b, _ := d.PlanActions(context.Background(), release())
	if len(a) != 1 || a[0] != b[0] {
		t.Fatalf("plans differ:\n%+v\n%+v", a, b)
	}
	want := "dispatch workflow deploy.yml on v1.2.0 in acme/web with inputs environment=production, version=1.2.0 (and a correlation token in dispatch_id), then follow the run until it completes (timeout 30m0s)"
	if a[0].Description != want || a[0].Kind != shipprod.ActionDeploy {
		t.Fatalf("plan %q", a[0].Description)
	}
	if f.fake.RequestCount() != 0 {
		t.Fatal("planning made requests")
	}
}

func TestWatcherForOtherDeployers(t *testing.T) {
	f := newFixture(t, githubfake.RepoOptions{})
	f.fake.AddWorkflow(repoName, githubfake.Workflow{File: "ci.yml", Script: githubfake.RunScript{AppearAfter: 40 * time.Second, Running: time.Minute}})
	w, err := NewWatcher(context.Background(), WatchConfig{}, f.env())
	if err != nil {
		t.Fatal(err)
	}
	id := f.fake.TriggerPush(repoName, "ci.yml", "production", relSHA)
	run, err := w.WaitForPush(context.Background(), PushRun{Workflow: "ci.yml", Ref: "production", SHA: relSHA})
	if err != nil || run.ID != id || run.Conclusion != "success" || run.HeadBranch != "production" {
		t.Fatalf("run %+v err %v", run, err)
	}
	_, err = w.FindPushRun(context.Background(), PushRun{Workflow: "ci.yml", SHA: prevSHA})
	var te *TimeoutError
	if !errors.As(err, &te) || !strings.Contains(err.Error(), "GITHUB_TOKEN pushes do not") {
		t.Fatalf("err %v", err)
	}
}

func itoa(i int64) string { return strconv.FormatInt(i, 10) }
