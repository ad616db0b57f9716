package github

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shipprod/shipprod/internal/github/githubfake"
	"github.com/shipprod/shipprod/internal/gittest"
	"github.com/shipprod/shipprod/internal/httpretry"
	"github.com/shipprod/shipprod/shipprodtest"
)

const (
	testRepo  = "acme/web"
	testToken = "ghp_TESTSECRET0123456789abcdefABCDEF0000"
)

var epoch = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)

type harness struct {
	fake  *githubfake.Server
	clock *shipprodtest.Clock
	c     *Client
	logs  *shipprodtest.Buffer
	waits []httpretry.Wait
	mu    sync.Mutex
}

// newHarness starts a fake GitHub and a client for it; the test fails at
// the end if the token shows up in any log line.
func newHarness(t *testing.T, mod func(*Options)) *harness {
	t.Helper()
	h := &harness{clock: shipprodtest.NewClock(epoch), logs: &shipprodtest.Buffer{}}
	h.fake = githubfake.NewT(t, githubfake.Options{Clock: h.clock, Token: testToken})
	h.fake.AddRepo(testRepo, githubfake.RepoOptions{})
	o := Options{
		Repository: testRepo,
		APIURL:     h.fake.APIURL(),
		Getenv:     func(k string) string { return map[string]string{"GITHUB_TOKEN": testToken}[k] },
		Clock:      h.clock,
		Logger:     slog.New(slog.NewTextHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		OnWait: func(w httpretry.Wait) {
			h.mu.Lock()
			h.waits = append(h.waits, w)
			h.mu.Unlock()
		},
	}
	if mod != nil {
		mod(&o)
	}
	c, err := New(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	h.c = c
	t.Cleanup(func() {
		if strings.Contains(h.logs.String(), testToken) {
			t.Errorf("the token appears in the logs:\n%s", h.logs)
		}
	})
	return h
}

func noToken(t *testing.T, err error) {
	t.Helper()
	if err != nil && strings.Contains(err.Error(), testToken) {
		t.Fatalf("the token appears in an error: %v", err)
	}
}

func TestParseRepository(t *testing.T) {
	for _, tc := range []struct{ in, owner, name string }{
		{"acme/web", "acme", "web"},
		{"https://github.com/acme/web", "acme", "web"},
		{"https://github.com/acme/web.git", "acme", "web"},
		{"https://github.com/acme/web/", "acme", "web"},
		{"https://x-access-token:ghp_abc@github.com/acme/web.git", "acme", "web"},
		{"http://ghe.example.com/acme/web.git", "acme", "web"},
		{"git@github.com:acme/web.git", "acme", "web"},
		{"git@github.com:acme/web", "acme", "web"},
		{"github.com:acme/web.git", "acme", "web"},
		{"ssh://git@github.com/acme/web.git", "acme", "web"},
		{"ssh://git@ghe.example.com:2222/acme/web.git", "acme", "web"},
		{"git://github.com/acme/web.git", "acme", "web"},
		{"https://github.com/acme/my.repo_name-2.git", "acme", "my.repo_name-2"},
	} {
		owner, name, err := ParseRepository(tc.in)
		if err != nil || owner != tc.owner || name != tc.name {
			t.Errorf("ParseRepository(%q) = %q, %q, %v; want %q, %q", tc.in, owner, name, err, tc.owner, tc.name)
		}
	}
	for _, bad := range []string{"", "web", "/srv/git/web.git", "./web.git", "file:///srv/git/web.git", "https://github.com/acme", "acme/we b", "https://user:ghp_secret@github.com/"} {
		_, _, err := ParseRepository(bad)
		if err == nil {
			t.Errorf("ParseRepository(%q) succeeded, want an error", bad)
			continue
		}
		if strings.Contains(err.Error(), "ghp_secret") {
			t.Errorf("error leaks the credential: %v", err)
		}
	}
}

func TestRepositoryFromGitRemote(t *testing.T) {
	gittest.Isolate(t)
	dir := gittest.Build(t, gittest.Spec{Remotes: map[string]string{
		"origin": "https://x-access-token:ghp_remote_secret@github.com/acme/web.git",
		"local":  filepath.Join(t.TempDir(), "bare.git"),
	}}).Dir
	getenv := func(k string) string { return map[string]string{"GH_TOKEN": testToken}[k] }

	c, err := New(context.Background(), Options{Dir: dir, Getenv: getenv})
	if err != nil {
		t.Fatal(err)
	}
	if c.Repository() != "acme/web" {
		t.Fatalf("repository = %q, want acme/web", c.Repository())
	}
	_, err = New(context.Background(), Options{Dir: dir, Remote: "local", Getenv: getenv})
	if err == nil || !strings.Contains(err.Error(), "github.repository") {
		t.Fatalf("a local remote should ask for github.repository, got %v", err)
	}
	_, err = New(context.Background(), Options{Dir: dir, Remote: "nope", Getenv: getenv})
	if err == nil || !strings.Contains(err.Error(), `"nope"`) {
		t.Fatalf("a missing remote should be named, got %v", err)
	}
	// An interrupted lookup is not a missing URL.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = New(ctx, Options{Dir: dir, Getenv: getenv})
	if !errors.Is(err, context.Canceled) || strings.Contains(err.Error(), "has no URL") {
		t.Fatalf("a cancelled lookup should say so, got %v", err)
	}
}

func TestToken(t *testing.T) {
	env := map[string]string{}
	getenv := func(k string) string { return env[k] }
	_, err := New(context.Background(), Options{Repository: testRepo, Getenv: getenv})
	if !errors.Is(err, ErrNoToken) || !strings.Contains(err.Error(), "GH_TOKEN or GITHUB_TOKEN") {
		t.Fatalf("missing token: got %v", err)
	}
	_, err = New(context.Background(), Options{Repository: testRepo, Getenv: getenv, TokenEnv: "RELEASE_TOKEN"})
	if !errors.Is(err, ErrNoToken) || !strings.Contains(err.Error(), "RELEASE_TOKEN") {
		t.Fatalf("missing configured token: got %v", err)
	}
	// GITHUB_TOKEN is read when GH_TOKEN is not set; GH_TOKEN wins when
	// both are (the gh CLI's order); a configured name is used alone.
	env["GITHUB_TOKEN"] = "ghp_from_github_token"
	if c, err := New(context.Background(), Options{Repository: testRepo, Getenv: getenv}); err != nil {
		t.Fatal(err)
	} else if c.TokenEnv() != "GITHUB_TOKEN" {
		t.Fatalf("with GITHUB_TOKEN alone, the token came from %s", c.TokenEnv())
	}
	env["GH_TOKEN"] = testToken
	c, err := New(context.Background(), Options{Repository: testRepo, Getenv: getenv})
	if err != nil {
		t.Fatal(err)
	}
	if c.TokenEnv() != "GH_TOKEN" {
		t.Fatalf("with GH_TOKEN and GITHUB_TOKEN both set, the token came from %s, want GH_TOKEN", c.TokenEnv())
	}
	if _, err := New(context.Background(), Options{Repository: testRepo, Getenv: getenv, TokenEnv: "RELEASE_TOKEN"}); !errors.Is(err, ErrNoToken) {
		t.Fatalf("configured name must not fall back: %v", err)
	}
	// The token never appears in configuration errors.
	_, err = New(context.Background(), Options{Repository: testRepo, Getenv: getenv, APIURL: "https://user:" + testToken + "@ghe.example.com/api/v3/"})
	if err == nil {
		t.Fatal("credentials in api_url must be refused")
	}
	noToken(t, err)
}

func TestHeadersAndGHESPrefix(t *testing.T) {
	for _, ghes := range []bool{false, true} {
		h := newHarness(t, func(o *Options) {
			if ghes {
				o.APIURL = strings.TrimSuffix(o.APIURL, "/") + "/api/v3" // no trailing slash: added
			}
		})
		if _, ok, err := h.c.FindRelease(context.Background(), "v1.0.0"); err != nil || ok {
			t.Fatalf("FindRelease on an empty repo: %v %v", ok, err)
		}
		reqs := h.fake.Requests()
		if len(reqs) != 2 {
			t.Fatalf("want get-by-tag then list, got %d requests", len(reqs))
		}
		for _, r := range reqs {
			if r.GHES != ghes || r.UserAgent != "shipprod" || r.APIVersion != "2022-11-28" || !strings.Contains(r.Accept, "json") || r.Status != http.StatusOK && r.Status != http.StatusNotFound {
				t.Errorf("request %+v", r)
			}
		}
	}
}

func TestReleases(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t, nil)
	rel, err := h.c.CreateRelease(ctx, ReleaseRequest{TagName: "v1.0.0", Name: "v1.0.0", Body: "notes", MakeLatest: "true"})
	if err != nil {
		t.Fatal(err)
	}
	if rel.ID == 0 || rel.HTMLURL != "https://github.com/acme/web/releases/tag/v1.0.0" || rel.Draft {
		t.Fatalf("created %+v", rel)
	}
	_, err = h.c.CreateRelease(ctx, ReleaseRequest{TagName: "v1.0.0"})
	var ae *APIError
	if !errors.As(err, &ae) || ae.Status != 422 || !ae.HasCode("already_exists") {
		t.Fatalf("duplicate create: %v", err)
	}
	if !strings.Contains(err.Error(), "422 Validation Failed (Release.tag_name already_exists)") {
		t.Fatalf("message %q", err)
	}

	// A draft is invisible by tag but found through the list.
	h.fake.AddRelease(testRepo, githubfake.ReleaseInfo{TagName: "v1.1.0", Draft: true})
	if _, ok, err := h.c.ReleaseByTag(ctx, "v1.1.0"); ok || err != nil {
		t.Fatalf("draft by tag: %v %v", ok, err)
	}
	d, ok, err := h.c.FindRelease(ctx, "v1.1.0")
	if err != nil || !ok || !d.Draft {
		t.Fatalf("FindRelease draft: %+v %v %v", d, ok, err)
	}
	up, err := h.c.UpdateRelease(ctx, d.ID, ReleaseRequest{TagName: "v1.1.0", Name: "v1.1.0", Body: "b", MakeLatest: "true"})
	if err != nil || up.Draft || up.PublishedAt.IsZero() {
		t.Fatalf("publishing the draft: %+v %v", up, err)
	}

	// Paging: a draft beyond the first 100 releases is still found.
	for i := 0; i < 120; i++ {
		h.fake.AddRelease(testRepo, githubfake.ReleaseInfo{TagName: "old-" + string(rune('a'+i%26)) + string(rune('a'+i/26))})
	}
	h.clock.Advance(time.Minute)
	// The draft is the oldest now; the list is newest first.
	h.fake.ResetRequests()
	if _, ok, err := h.c.FindRelease(ctx, "v1.0.0"); !ok || err != nil {
		t.Fatalf("published release: %v %v", ok, err)
	}
	if n := h.fake.RequestCount(); n != 1 {
		t.Fatalf("a published release needs one request, made %d", n)
	}
}

func TestFindReleaseScansPages(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t, nil)
	h.fake.AddRelease(testRepo, githubfake.ReleaseInfo{TagName: "v0.9.0", Draft: true})
	h.clock.Advance(time.Second)
	for i := 0; i < 150; i++ {
		h.fake.AddRelease(testRepo, githubfake.ReleaseInfo{TagName: "t" + time.Duration(i).String()})
	}
	rel, ok, err := h.c.FindRelease(ctx, "v0.9.0")
	if err != nil || !ok || !rel.Draft {
		t.Fatalf("%+v %v %v", rel, ok, err)
	}
	if got := len(h.fake.RequestsTo("GET", "/releases")); got != 3 {
		t.Fatalf("want get-by-tag and two pages, got %d requests", got)
	}
}

func TestDeploymentBody(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t, nil)
	h.fake.AddRepo(testRepo, githubfake.RepoOptions{FailingContexts: []string{"ci/build"}, BehindDefault: []string{"v1.0.0"}})
	id, err := h.c.CreateDeployment(ctx, DeploymentRequest{Ref: "v1.0.0", Description: "shipprod v1.0.0"})
	if err != nil {
		t.Fatal(err)
	}
	reqs := h.fake.RequestsTo("POST", "/deployments")
	var body map[string]json.RawMessage
	if err := reqs[0].JSON(&body); err != nil {
		t.Fatal(err)
	}
	if string(body["auto_merge"]) != "false" || string(body["required_contexts"]) != "[]" || string(body["environment"]) != `"production"` {
		t.Fatalf("deployment body %s", reqs[0].Body)
	}
	for _, st := range []DeploymentStatus{{State: "in_progress"}, {State: "success", EnvironmentURL: "https://web.acme.com", Description: strings.Repeat("x", 200)}} {
		if err := h.c.CreateDeploymentStatus(ctx, id, st); err != nil {
			t.Fatal(err)
		}
	}
	deps := h.fake.Deployments(testRepo)
	if len(deps) != 1 || len(deps[0].Statuses) != 2 || deps[0].Statuses[1].EnvironmentURL != "https://web.acme.com" {
		t.Fatalf("deployments %+v", deps)
	}
	if n := len([]rune(deps[0].Statuses[1].Description)); n != 140 {
		t.Fatalf("description cut to %d runes, want 140", n)
	}
}

func TestRateLimits(t *testing.T) {
	ctx := context.Background()
	for _, status := range []int{http.StatusForbidden, http.StatusTooManyRequests} {
		h := newHarness(t, nil)
		h.fake.ExhaustRateLimit(status, 30*time.Second)
		start := h.clock.Now()
		if _, _, err := h.c.FindRelease(ctx, "v1"); err != nil {
			t.Fatalf("status %d: %v", status, err)
		}
		if waited := h.clock.Now().Sub(start); waited < 30*time.Second || waited > 32*time.Second {
			t.Fatalf("status %d: waited %s, want about 31s (until the reset)", status, waited)
		}
		if len(h.waits) != 1 || h.waits[0].Reason != "rate limit" || h.waits[0].Status != status {
			t.Fatalf("waits %+v", h.waits)
		}
		if !strings.Contains(h.logs.String(), "rate limit") {
			t.Fatalf("the wait was not logged: %s", h.logs)
		}
	}

	// A reset further away than the maximum is not waited for.
	h := newHarness(t, func(o *Options) { o.MaxRateLimitWait = time.Minute })
	h.fake.ExhaustRateLimit(http.StatusForbidden, time.Hour)
	start := h.clock.Now()
	_, _, err := h.c.FindRelease(ctx, "v1")
	var ae *APIError
	if !errors.As(err, &ae) || ae.RateLimitReset.IsZero() || !ae.Transient() || h.clock.Now() != start {
		t.Fatalf("over-long wait: err %v, waited %s", err, h.clock.Now().Sub(start))
	}
	if !strings.Contains(err.Error(), "rate limit resets at 2026-05-01T13:00:00Z") {
		t.Fatalf("message %q", err)
	}
	if len(h.waits) != 1 || !h.waits[0].Refused {
		t.Fatalf("the refused wait must be reported: %+v", h.waits)
	}

	// Secondary limit with retry-after, on a POST (GitHub did not act, so
	// even a dispatch is repeated).
	h = newHarness(t, nil)
	h.fake.AddWorkflow(testRepo, githubfake.Workflow{File: "deploy.yml"})
	h.fake.InjectSecondaryRateLimit(1, 45*time.Second)
	start = h.clock.Now()
	if _, err := h.c.Dispatch(ctx, DispatchRequest{Workflow: "deploy.yml", Ref: "main"}); err != nil {
		t.Fatal(err)
	}
	if w := h.clock.Now().Sub(start); w != 45*time.Second {
		t.Fatalf("secondary wait %s, want 45s", w)
	}
	if len(h.fake.Runs(testRepo)) != 1 {
		t.Fatalf("want exactly one run")
	}

	// Secondary limit without retry-after: a minute.
	h = newHarness(t, nil)
	h.fake.InjectSecondaryRateLimit(1, 0)
	start = h.clock.Now()
	if _, _, err := h.c.ReleaseByTag(ctx, "v1"); err != nil {
		t.Fatal(err)
	}
	if w := h.clock.Now().Sub(start); w != time.Minute {
		t.Fatalf("secondary wait without retry-after %s, want 1m", w)
	}
}

func TestTransientFailures(t *testing.T) {
	ctx := context.Background()
	t.Run("5xx burst on GET is retried", func(t *testing.T) {
		h := newHarness(t, nil)
		h.fake.Inject(githubfake.Fault{Kind: githubfake.FaultStatus, Status: 502, Times: 2})
		if _, _, err := h.c.ReleaseByTag(ctx, "v1"); err != nil {
			t.Fatal(err)
		}
		if n := h.fake.RequestCount(); n != 3 {
			t.Fatalf("requests %d, want 3", n)
		}
	})
	t.Run("a burst longer than the retries fails with the status", func(t *testing.T) {
		h := newHarness(t, func(o *Options) { o.MaxRetries = 2 })
		h.fake.Inject(githubfake.Fault{Kind: githubfake.FaultStatus, Status: 503, Times: 10})
		_, _, err := h.c.ReleaseByTag(ctx, "v1")
		if StatusOf(err) != 503 || !IsTransient(err) || h.fake.RequestCount() != 3 {
			t.Fatalf("err %v after %d requests", err, h.fake.RequestCount())
		}
	})
	t.Run("dropped connections are retried", func(t *testing.T) {
		h := newHarness(t, nil)
		h.fake.Inject(githubfake.Fault{Kind: githubfake.FaultDrop, Times: 2})
		if _, _, err := h.c.ReleaseByTag(ctx, "v1"); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("a dispatch is never repeated after a 5xx", func(t *testing.T) {
		h := newHarness(t, nil)
		h.fake.AddWorkflow(testRepo, githubfake.Workflow{File: "deploy.yml"})
		h.fake.Inject(githubfake.Fault{Kind: githubfake.FaultStatus, Status: 502, AfterEffect: true})
		_, err := h.c.Dispatch(ctx, DispatchRequest{Workflow: "deploy.yml", Ref: "main"})
		if StatusOf(err) != 502 || h.fake.RequestCount() != 1 || len(h.fake.Runs(testRepo)) != 1 {
			t.Fatalf("err %v, %d requests, %d runs", err, h.fake.RequestCount(), len(h.fake.Runs(testRepo)))
		}
	})
	t.Run("a release create whose answer was lost finds the release it made", func(t *testing.T) {
		for _, fault := range []githubfake.Fault{
			{Kind: githubfake.FaultStatus, Status: 502, AfterEffect: true, Method: "POST"},
			{Kind: githubfake.FaultDrop, AfterEffect: true, Method: "POST"},
		} {
			for _, draft := range []bool{false, true} {
				h := newHarness(t, nil)
				h.fake.Inject(fault)
				rel, err := h.c.CreateRelease(ctx, ReleaseRequest{TagName: "v1.0.0", Draft: draft})
				if err != nil || rel.TagName != "v1.0.0" || rel.Draft != draft {
					t.Fatalf("fault %v, draft %v: release %+v, err %v", fault.Kind, draft, rel, err)
				}
				if n := len(h.fake.Releases(testRepo)); n != 1 {
					t.Fatalf("fault %v, draft %v: %d releases", fault.Kind, draft, n)
				}
				// GitHub accepts any number of drafts for one tag: the create
				// sent blindly again would have made a second draft (a second
				// published release is refused).
				_, err = h.c.createRelease(ctx, ReleaseRequest{TagName: "v1.0.0", Draft: draft})
				if want := map[bool]int{false: 1, true: 2}[draft]; len(h.fake.Releases(testRepo)) != want || (err == nil) != draft {
					t.Fatalf("fault %v, draft %v: a blind resend left %d releases (err %v), want %d", fault.Kind, draft, len(h.fake.Releases(testRepo)), err, want)
				}
			}
		}
	})
	t.Run("a release create that failed before taking effect is sent again", func(t *testing.T) {
		h := newHarness(t, nil)
		h.fake.Inject(githubfake.Fault{Kind: githubfake.FaultDrop, Method: "POST"})
		if _, err := h.c.CreateRelease(ctx, ReleaseRequest{TagName: "v1.0.0", Draft: true}); err != nil {
			t.Fatal(err)
		}
		if n := len(h.fake.Releases(testRepo)); n != 1 {
			t.Fatalf("%d releases", n)
		}
	})
	t.Run("a deployment create whose answer was lost finds the deployment it made", func(t *testing.T) {
		h := newHarness(t, nil)
		h.fake.Inject(githubfake.Fault{Kind: githubfake.FaultDrop, AfterEffect: true, Method: "POST"})
		id, err := h.c.CreateDeployment(ctx, DeploymentRequest{Ref: "v1.0.0", Description: "deploy"})
		deps := h.fake.Deployments(testRepo)
		if err != nil || len(deps) != 1 || deps[0].ID != id {
			t.Fatalf("id %d, err %v, deployments %+v", id, err, deps)
		}
	})
	t.Run("malformed JSON is a transient error", func(t *testing.T) {
		h := newHarness(t, nil)
		if _, err := h.c.CreateRelease(ctx, ReleaseRequest{TagName: "v1.0.0"}); err != nil {
			t.Fatal(err)
		}
		h.fake.Inject(githubfake.Fault{Kind: githubfake.FaultMalformedJSON})
		_, _, err := h.c.ReleaseByTag(ctx, "v1.0.0")
		if err == nil || !IsTransient(err) {
			t.Fatalf("err %v", err)
		}
	})
	t.Run("other 4xx fail at once with GitHub's message", func(t *testing.T) {
		h := newHarness(t, nil)
		h.fake.AddWorkflow(testRepo, githubfake.Workflow{File: "deploy.yml", NoDispatch: true})
		_, err := h.c.Dispatch(ctx, DispatchRequest{Workflow: "deploy.yml", Ref: "main"})
		if StatusOf(err) != 422 || !strings.Contains(err.Error(), "Workflow does not have 'workflow_dispatch' trigger") || h.fake.RequestCount() != 1 {
			t.Fatalf("err %v", err)
		}
		noToken(t, err)
	})
	t.Run("a wrong token is 401 and does not leak", func(t *testing.T) {
		h := newHarness(t, func(o *Options) {
			o.Getenv = func(string) string { return "ghp_WRONG_but_secret_too" }
		})
		_, _, err := h.c.ReleaseByTag(ctx, "v1")
		if StatusOf(err) != 401 || strings.Contains(err.Error(), "ghp_WRONG") || !strings.Contains(err.Error(), "Bad credentials") {
			t.Fatalf("err %v", err)
		}
	})
	t.Run("a cancelled context stops a rate-limit wait", func(t *testing.T) {
		h := newHarness(t, nil)
		h.fake.ExhaustRateLimit(403, time.Minute)
		ctx, cancel := context.WithCancel(ctx)
		cancel()
		_, _, err := h.c.ReleaseByTag(ctx, "v1")
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err %v", err)
		}
	})
}

func TestDispatchAndRuns(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t, nil)
	h.fake.AddRepo(testRepo, githubfake.RepoOptions{Refs: map[string]string{"main": strings.Repeat("a", 40), "v1.2.0": strings.Repeat("b", 40)}})
	h.fake.AddWorkflow(testRepo, githubfake.Workflow{File: "deploy.yml", Name: "Deploy",
		Inputs:  map[string]githubfake.Input{"version": {Required: true}, "dispatch_id": {}},
		RunName: "Deploy ${{ inputs.version }} ${{ inputs.dispatch_id }}",
		Script:  githubfake.RunScript{AppearAfter: 3 * time.Second, Queued: 5 * time.Second, Running: time.Minute}})

	res, err := h.c.Dispatch(ctx, DispatchRequest{Workflow: "deploy.yml", Ref: "v1.2.0", Inputs: map[string]string{"version": "1.2.0"}, ReturnRunDetails: true})
	if err != nil || res.RunID == 0 || !strings.Contains(res.HTMLURL, "/actions/runs/") {
		t.Fatalf("dispatch with details: %+v %v", res, err)
	}
	run, err := h.c.GetRun(ctx, res.RunID)
	if err != nil || run.Status != "queued" || run.DisplayTitle != "Deploy 1.2.0 " || run.HeadSHA != strings.Repeat("b", 40) {
		t.Fatalf("run %+v %v", run, err)
	}

	res, err = h.c.Dispatch(ctx, DispatchRequest{Workflow: "deploy.yml", Ref: "main", Inputs: map[string]string{"version": "1.2.0", "dispatch_id": "abc"}})
	if err != nil || res.RunID != 0 {
		t.Fatalf("204 dispatch: %+v %v", res, err)
	}
	runs, total, err := h.c.ListRuns(ctx, RunFilter{Workflow: "deploy.yml", Event: "workflow_dispatch", Branch: "main", CreatedSince: epoch})
	if err != nil || total != 0 || len(runs) != 0 {
		t.Fatalf("the run must not exist before it appears: %v %d %v", runs, total, err)
	}
	h.clock.Advance(3 * time.Second)
	runs, total, err = h.c.ListRuns(ctx, RunFilter{Workflow: "deploy.yml", Event: "workflow_dispatch", Branch: "main", CreatedSince: epoch})
	if err != nil || total != 1 || runs[0].DisplayTitle != "Deploy 1.2.0 abc" {
		t.Fatalf("runs %+v %d %v", runs, total, err)
	}
	if runs, _, _ := h.c.ListRuns(ctx, RunFilter{Workflow: "deploy.yml", CreatedSince: epoch.Add(4 * time.Second)}); len(runs) != 0 {
		t.Fatalf("created filter: %+v", runs)
	}
	if runs, _, _ := h.c.ListRuns(ctx, RunFilter{Status: "queued"}); len(runs) != 2 {
		t.Fatalf("status filter: %+v", runs)
	}
	h.clock.Advance(2 * time.Minute)
	if runs, _, _ := h.c.ListRuns(ctx, RunFilter{Status: "success"}); len(runs) != 2 {
		t.Fatalf("conclusion filter: %+v", runs)
	}

	// 422 variants and the GHES 400.
	for _, tc := range []struct {
		req  DispatchRequest
		want string
	}{
		{DispatchRequest{Workflow: "deploy.yml", Ref: "nope", Inputs: map[string]string{"version": "1"}}, "No ref found for: nope"},
		{DispatchRequest{Workflow: "deploy.yml", Ref: strings.Repeat("a", 40), Inputs: map[string]string{"version": "1"}}, "No ref found for"},
		{DispatchRequest{Workflow: "deploy.yml", Ref: "main", Inputs: map[string]string{"version": "1", "foo": "x"}}, `Unexpected inputs provided: ["foo"]`},
		{DispatchRequest{Workflow: "deploy.yml", Ref: "main"}, "Required input 'version' not provided"},
		{DispatchRequest{Workflow: "nope.yml", Ref: "main"}, "404 Not Found"},
	} {
		_, err := h.c.Dispatch(ctx, tc.req)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("dispatch %+v: got %v, want %q", tc.req, err, tc.want)
		}
	}
	h.fake.SetRunDetails(testRepo, githubfake.DetailsRejected)
	_, err = h.c.Dispatch(ctx, DispatchRequest{Workflow: "deploy.yml", Ref: "main", Inputs: map[string]string{"version": "1"}, ReturnRunDetails: true})
	if StatusOf(err) != 400 || !strings.Contains(err.Error(), "return_run_details") {
		t.Fatalf("GHES 3.20 refuses the flag: %v", err)
	}
	h.fake.AddRepo("acme/ro", githubfake.RepoOptions{NoActionsWrite: true})
	h.fake.AddWorkflow("acme/ro", githubfake.Workflow{File: "deploy.yml"})
	ro := newHarnessFor(t, h, "acme/ro")
	_, err = ro.Dispatch(ctx, DispatchRequest{Workflow: "deploy.yml", Ref: "main"})
	if StatusOf(err) != 403 || !strings.Contains(err.Error(), "Resource not accessible by integration") {
		t.Fatalf("no actions:write: %v", err)
	}
}

// newHarnessFor returns a client for another repository of h's fake.
func newHarnessFor(t *testing.T, h *harness, repo string) *Client {
	c, err := New(context.Background(), Options{Repository: repo, APIURL: h.fake.APIURL(), Clock: h.clock,
		Getenv: func(string) string { return testToken }})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestRequestsCounted(t *testing.T) {
	h := newHarness(t, nil)
	h.fake.Inject(githubfake.Fault{Kind: githubfake.FaultStatus, Status: 500})
	_, _, _ = h.c.ReleaseByTag(context.Background(), "v1")
	if h.c.Requests() != 2 || h.fake.RequestCount() != 2 {
		t.Fatalf("client counted %d, server saw %d", h.c.Requests(), h.fake.RequestCount())
	}
	if r := h.c.Rate(); !r.Known || r.Limit != 5000 || r.Remaining != 4999 {
		t.Fatalf("rate %+v", r)
	}
}
