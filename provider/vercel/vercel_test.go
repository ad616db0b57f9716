package vercel_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shipprod/shipprod"
	"github.com/shipprod/shipprod/provider"
	"github.com/shipprod/shipprod/provider/providertest"
	"github.com/shipprod/shipprod/provider/vercel"
	"github.com/shipprod/shipprod/provider/vercel/vercelfake"
	"github.com/shipprod/shipprod/shipprodtest"
)

const (
	token = "vcp_s3cr3t-t0ken-value"
	sha0  = "0000000000000000000000000000000000000000"
	sha1  = "1111111111111111111111111111111111111111"
	sha2  = "2222222222222222222222222222222222222222"
)

// fixture is a fake Vercel with project "web" serving sha0 in production.
type fixture struct {
	t     *testing.T
	srv   *vercelfake.Server
	clock *shipprodtest.Clock
	logs  *shipprodtest.Buffer
	prod0 string
}

func newFixture(t *testing.T) *fixture {
	clock := shipprodtest.NewClock(time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC))
	srv := vercelfake.New(t, vercelfake.Options{Token: token, TeamID: "team_acme", Clock: clock})
	srv.AddProject(vercelfake.Project{ID: "prj_web", Name: "web", Domains: []string{"web.example.com"},
		Link: map[string]any{"type": "github", "repoId": 264885110, "org": "acme", "repo": "web"}})
	f := &fixture{t: t, srv: srv, clock: clock, logs: &shipprodtest.Buffer{}}
	f.prod0 = srv.AddDeployment(vercelfake.Deployment{ProjectID: "prj_web", Target: "production", SHA: sha0, Ref: "v1.0.0", Promoted: true})
	return f
}

func (f *fixture) deployer(cfg vercel.Config, facts map[string]string) *vercel.Deployer {
	f.t.Helper()
	d, err := f.newDeployer(cfg, facts, map[string]string{"VERCEL_TOKEN": token})
	if err != nil {
		f.t.Fatal(err)
	}
	return d
}

func (f *fixture) newDeployer(cfg vercel.Config, facts map[string]string, env map[string]string) (*vercel.Deployer, error) {
	if cfg.APIURL == "" {
		cfg.APIURL = f.srv.URL
	}
	if cfg.Project == "" && env["VERCEL_PROJECT_ID"] == "" {
		cfg.Project = "web"
	}
	if cfg.Team == "" && env["VERCEL_ORG_ID"] == "" {
		cfg.Team = "team_acme"
	}
	return vercel.New(cfg, vercel.Options{Facts: facts, Clock: f.clock, HTTPClient: f.srv.Client(),
		Logger: slog.New(slog.NewTextHandler(f.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Getenv: func(k string) string { return env[k] }})
}

func rel(version, commit, prevVersion, prevCommit string) shipprod.Release {
	r := shipprod.Release{Version: version, Tag: "v" + version, Commit: commit}
	if prevVersion != "" {
		r.PreviousVersion, r.PreviousTag, r.PreviousCommit = prevVersion, "v"+prevVersion, prevCommit
	}
	return r
}

// count counts the requests whose "METHOD /path" starts with prefix.
func count(reqs []string, prefix string) int {
	n := 0
	for _, r := range reqs {
		if strings.HasPrefix(r, prefix) {
			n++
		}
	}
	return n
}

func TestPromoteStagingDeploymentByID(t *testing.T) {
	f := newFixture(t)
	staged := f.srv.AddDeployment(vercelfake.Deployment{ProjectID: "prj_web", Target: "production", SHA: sha1, Ref: "main"})
	d := f.deployer(vercel.Config{URL: "https://www.example.com"}, map[string]string{vercel.FactStagingDeploymentID: staged})
	f.srv.ResetRequests()

	dep, err := d.Deploy(context.Background(), rel("1.1.0", sha1, "1.0.0", sha0))
	if err != nil {
		t.Fatal(err)
	}
	if got := f.srv.Production("prj_web"); got != staged {
		t.Fatalf("production = %s, want the staging-validated %s", got, staged)
	}
	if dep.ID != staged || dep.PreviousID != f.prod0 || dep.Commit != sha1 || dep.URL != "https://www.example.com" || dep.Provider != "vercel" {
		t.Fatalf("deployment = %+v", dep)
	}
	if !strings.Contains(dep.RollbackSteps[0], "vercel rollback "+f.prod0+" --scope team_acme --yes") {
		t.Fatalf("rollback steps = %q", dep.RollbackSteps)
	}
	reqs := f.srv.Requests()
	want := []string{"GET /v9/projects/web", "GET /v13/deployments/" + staged, "POST /v10/projects/prj_web/promote/" + staged,
		"GET /v9/projects/prj_web", "GET /v9/projects/prj_web", "GET /v13/deployments/" + staged}
	if strings.Join(reqs, "\n") != strings.Join(want, "\n") {
		t.Fatalf("requests:\n%s\nwant:\n%s", strings.Join(reqs, "\n"), strings.Join(want, "\n"))
	}
	t.Logf("promote by staging id: %d API requests", len(reqs))
}

func TestPromoteByCommitPrefersProductionOverPreview(t *testing.T) {
	f := newFixture(t)
	f.srv.AddDeployment(vercelfake.Deployment{ProjectID: "prj_web", SHA: sha1, Ref: "main"}) // a preview
	staged := f.srv.AddDeployment(vercelfake.Deployment{ProjectID: "prj_web", Target: "production", SHA: sha1, Ref: "main"})
	f.srv.AddDeployment(vercelfake.Deployment{ProjectID: "prj_web", SHA: sha1, Ref: "main"}) // a newer preview
	f.srv.ResetRequests()
	dep, err := f.deployer(vercel.Config{}, nil).Deploy(context.Background(), rel("1.1.0", sha1, "1.0.0", sha0))
	if err != nil {
		t.Fatal(err)
	}
	if dep.ID != staged || f.srv.Production("prj_web") != staged {
		t.Fatalf("promoted %s, production %s; want the production deployment %s", dep.ID, f.srv.Production("prj_web"), staged)
	}
	if dep.URL != "https://web.example.com" {
		t.Fatalf("URL = %q, want the production domain", dep.URL)
	}
	t.Logf("promote by commit: %d API requests", len(f.srv.Requests()))
}

func TestPromotePreviewRebuildsForProduction(t *testing.T) {
	f := newFixture(t)
	preview := f.srv.AddDeployment(vercelfake.Deployment{ProjectID: "prj_web", SHA: sha1, Ref: "feature"})
	d := f.deployer(vercel.Config{}, map[string]string{vercel.FactStagingDeploymentID: preview})
	f.srv.ResetRequests()
	dep, err := d.Deploy(context.Background(), rel("1.1.0", sha1, "1.0.0", sha0))
	if err != nil {
		t.Fatal(err)
	}
	reqs := f.srv.Requests()
	if count(reqs, "POST /v13/deployments") != 1 || count(reqs, "POST /v10/") != 0 {
		t.Fatalf("want one production rebuild and no promote call, got:\n%s", strings.Join(reqs, "\n"))
	}
	built, _ := f.srv.Deployment(dep.ID)
	if dep.ID == preview || built.Target != "production" || built.SHA != sha1 || built.Meta["action"] != "promote" || f.srv.Production("prj_web") != dep.ID {
		t.Fatalf("rebuild %+v, production %s", built, f.srv.Production("prj_web"))
	}
	if dep.Details["promoted_from"] != preview {
		t.Fatalf("details = %v", dep.Details)
	}
	t.Logf("promote a preview (production rebuild): %d API requests", len(reqs))

	// Run again (a resumed run): the rebuild is found, not made twice.
	again, err := d.Deploy(context.Background(), rel("1.1.0", sha1, "1.0.0", sha0))
	if err != nil || again.ID != dep.ID {
		t.Fatalf("re-run: %v, %s; want %s again", err, again.ID, dep.ID)
	}
	if n := count(f.srv.Requests(), "POST /v13/deployments"); n != 1 {
		t.Fatalf("%d deployments created in all, want 1", n)
	}
}

func TestBuildModeFollowsByIDUntilLive(t *testing.T) {
	f := newFixture(t)
	// Slow queue and build, and READY-but-STAGED for a while before the
	// domains move: returning on READY would be too early.
	f.srv.SetBuilds(vercelfake.Builds{QueuedPolls: 6, BuildingPolls: 10, AliasPolls: 3, PromotePolls: 1})
	d := f.deployer(vercel.Config{Mode: vercel.ModeBuild}, nil)
	f.srv.ResetRequests()
	dep, err := d.Deploy(context.Background(), rel("1.1.0", sha1, "1.0.0", sha0))
	if err != nil {
		t.Fatal(err)
	}
	built, _ := f.srv.Deployment(dep.ID)
	if built.Substate != "PROMOTED" || f.srv.Production("prj_web") != dep.ID || dep.PreviousID != f.prod0 {
		t.Fatalf("returned while %s/%s; production %s; previous %s", built.State, built.Substate, f.srv.Production("prj_web"), dep.PreviousID)
	}
	reqs := f.srv.Requests()
	for _, r := range reqs {
		if strings.HasPrefix(r, "GET /v13/deployments/") && !strings.HasPrefix(r, "GET /v13/deployments/dpl_") {
			t.Fatalf("polled by something other than the dpl_ id: %s", r)
		}
	}
	slept, naps := f.clock.Slept()
	t.Logf("build mode, slow build (21 polls): %d API requests, %d sleeps totalling %s", len(reqs), naps, slept)
}

// aliasSpy is the deployer's transport. After each answer about the new
// deployment it notes what the deployer saw and, while that deployment is
// not yet live, looks the production domain up the way a naive deployer
// would (GET /v13/deployments/{domain}), as a bystander.
type aliasSpy struct {
	base http.RoundTripper
	api  string // the fake's URL
	old  string // the deployment production served before

	mu      sync.Mutex
	asked   []string // the deployer's own requests, "METHOD /path"
	seen    []string // "state/substate/aliasAssigned" of each answer about the new deployment
	lookups []string // "state of the new deployment → id the domain resolved to"
}

func (s *aliasSpy) RoundTrip(req *http.Request) (*http.Response, error) {
	s.mu.Lock()
	s.asked = append(s.asked, req.Method+" "+req.URL.Path)
	s.mu.Unlock()
	resp, err := s.base.RoundTrip(req)
	if err != nil || req.Method != http.MethodGet || !strings.HasPrefix(req.URL.Path, "/v13/deployments/dpl_") || strings.HasSuffix(req.URL.Path, "/"+s.old) {
		return resp, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	var d struct {
		ReadyState    string `json:"readyState"`
		ReadySubstate string `json:"readySubstate"`
		AliasAssigned bool   `json:"aliasAssigned"`
	}
	if err := json.Unmarshal(body, &d); err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.seen = append(s.seen, fmt.Sprintf("%s/%s/%v", d.ReadyState, d.ReadySubstate, d.AliasAssigned))
	s.mu.Unlock()
	if d.ReadyState == "READY" && d.ReadySubstate == "PROMOTED" {
		return resp, nil
	}
	// Mid-build (or READY but STAGED): what does the domain say?
	lookup, _ := http.NewRequestWithContext(req.Context(), http.MethodGet, s.api+"/v13/deployments/web.example.com?teamId=team_acme", nil)
	lookup.Header.Set("Authorization", "Bearer "+token)
	lr, err := s.base.RoundTrip(lookup)
	if err != nil {
		return nil, err
	}
	defer lr.Body.Close()
	var via struct {
		ID string `json:"id"`
	}
	if err := json.NewDecoder(lr.Body).Decode(&via); err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.lookups = append(s.lookups, d.ReadyState+"/"+d.ReadySubstate+" → "+via.ID)
	s.mu.Unlock()
	return resp, nil
}

// TestAliasLookupResolvesToTheOldDeployment reproduces the pitfall of
// following a deploy by its production domain: until the domains move, the
// domain names the previous deployment (which is READY). The deployer must
// not be fooled: it follows the new deployment by its dpl_ id and reports
// success only once that one is READY and live.
func TestAliasLookupResolvesToTheOldDeployment(t *testing.T) {
	f := newFixture(t)
	f.srv.SetBuilds(vercelfake.DefaultBuilds) // queued, building, READY but STAGED for a poll, then live
	spy := &aliasSpy{base: f.srv.Client().Transport, api: f.srv.URL, old: f.prod0}
	d, err := vercel.New(vercel.Config{Project: "web", Team: "team_acme", APIURL: f.srv.URL, Mode: vercel.ModeBuild},
		vercel.Options{Clock: f.clock, HTTPClient: &http.Client{Transport: spy}, Getenv: func(string) string { return token }})
	if err != nil {
		t.Fatal(err)
	}
	dep, err := d.Deploy(context.Background(), rel("1.1.0", sha1, "1.0.0", sha0))
	if err != nil {
		t.Fatal(err)
	}

	// The pitfall is there: mid-build and while READY but STAGED, the
	// production domain resolved to the old deployment.
	var building, staged int
	for _, l := range spy.lookups {
		if !strings.HasSuffix(l, " → "+f.prod0) {
			t.Fatalf("a lookup of the production domain before the new deployment was live gave %q, want the old deployment %s", l, f.prod0)
		}
		switch {
		case strings.HasPrefix(l, "BUILDING/"):
			building++
		case strings.HasPrefix(l, "READY/STAGED"):
			staged++
		}
	}
	if building == 0 || staged == 0 {
		t.Fatalf("lookups %q: want some while BUILDING and some while READY but STAGED", spy.lookups)
	}

	// The deployer was not fooled: it asked about deployments by dpl_ id
	// only, and returned the new deployment once it was READY and live.
	for _, r := range spy.asked {
		if strings.HasPrefix(r, "GET /v13/deployments/") && !strings.HasPrefix(r, "GET /v13/deployments/dpl_") {
			t.Fatalf("the deployer asked by something other than a dpl_ id: %s", r)
		}
	}
	if dep.ID == f.prod0 || !strings.HasPrefix(dep.ID, "dpl_") || dep.PreviousID != f.prod0 {
		t.Fatalf("deployment %s (previous %s), want a new dpl_ id after %s", dep.ID, dep.PreviousID, f.prod0)
	}
	if last := spy.seen[len(spy.seen)-1]; last != "READY/PROMOTED/true" {
		t.Fatalf("the deployer returned after seeing the new deployment %s (answers %q), want READY/PROMOTED/true", last, spy.seen)
	}
	if got := f.srv.Production("prj_web"); got != dep.ID || f.srv.LiveCommit("prj_web") != sha1 {
		t.Fatalf("production is %s serving %s, want %s serving %s", got, f.srv.LiveCommit("prj_web"), dep.ID, sha1)
	}
	t.Logf("build mode, typical build: %d API requests (answers seen: %s)", len(spy.asked), strings.Join(spy.seen, ", "))
}

func TestBuildModeSendsGitSourceFromTag(t *testing.T) {
	f := newFixture(t)
	d := f.deployer(vercel.Config{Mode: vercel.ModeBuild}, nil)
	dep, err := d.Deploy(context.Background(), rel("1.1.0", sha1, "1.0.0", sha0))
	if err != nil {
		t.Fatal(err)
	}
	built, _ := f.srv.Deployment(dep.ID)
	if built.SHA != sha1 || built.Meta["githubCommitRef"] != "v1.1.0" || built.Meta["shipprodTag"] != "v1.1.0" {
		t.Fatalf("built %+v", built)
	}
	// Idempotent: the same release again makes no new build.
	n := len(f.srv.Deployments())
	if again, err := d.Deploy(context.Background(), rel("1.1.0", sha1, "1.0.0", sha0)); err != nil || again.ID != dep.ID || len(f.srv.Deployments()) != n {
		t.Fatalf("re-deploy: %v, %s vs %s, %d deployments (was %d)", err, again.ID, dep.ID, len(f.srv.Deployments()), n)
	}
}

func TestFailedBuildsCarryVercelsMessage(t *testing.T) {
	for _, st := range []string{"ERROR", "CANCELED", "BLOCKED"} {
		t.Run(st, func(t *testing.T) {
			f := newFixture(t)
			f.srv.FailNextBuild(st, "BUILD_FAILED", "Command \"npm run build\" exited with 1")
			_, err := f.deployer(vercel.Config{Mode: vercel.ModeBuild}, nil).Deploy(context.Background(), rel("1.1.0", sha1, "1.0.0", sha0))
			if err == nil {
				t.Fatal("deploy succeeded")
			}
			for _, want := range []string{"vercel project web", "deployment dpl_", "is " + st, `Command "npm run build" exited with 1`} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q lacks %q", err, want)
				}
			}
			if f.srv.Production("prj_web") != f.prod0 {
				t.Fatal("production moved")
			}
		})
	}
}

func TestDeadline(t *testing.T) {
	for _, cancel := range []bool{false, true} {
		f := newFixture(t)
		f.srv.Stall()
		d := f.deployer(vercel.Config{Mode: vercel.ModeBuild, Timeout: 15 * time.Minute, CancelOnTimeout: cancel}, nil)
		_, err := d.Deploy(context.Background(), rel("1.1.0", sha1, "1.0.0", sha0))
		var te *vercel.TimeoutError
		if !errors.As(err, &te) || te.State != "BUILDING" || te.Canceled != cancel {
			t.Fatalf("cancel=%v: err = %v, want a TimeoutError in BUILDING", cancel, err)
		}
		if !strings.Contains(err.Error(), "not live within 15m0s") || !strings.Contains(err.Error(), "deployment dpl_") {
			t.Fatalf("error %q", err)
		}
		ids := f.srv.Deployments()
		last, _ := f.srv.Deployment(ids[len(ids)-1])
		if cancel != (last.State == "CANCELED") {
			t.Fatalf("cancel_on_timeout=%v but the deployment is %s", cancel, last.State)
		}
		if slept, _ := f.clock.Slept(); slept < 15*time.Minute || slept > 16*time.Minute {
			t.Fatalf("waited %s on the clock, want about the 15m deadline", slept)
		}
	}
}

func TestRollbackPinIsDetected(t *testing.T) {
	t.Run("promoted by default", func(t *testing.T) {
		f := newFixture(t)
		f.srv.SetAutoAssign("prj_web", false)
		dep, err := f.deployer(vercel.Config{Mode: vercel.ModeBuild}, nil).Deploy(context.Background(), rel("1.1.0", sha1, "1.0.0", sha0))
		if err != nil {
			t.Fatal(err)
		}
		if f.srv.Production("prj_web") != dep.ID || !f.srv.AutoAssign("prj_web") {
			t.Fatal("the staged build was not promoted")
		}
		if !strings.Contains(dep.Details["note"], "pinned by an earlier instant rollback") {
			t.Fatalf("note = %q", dep.Details["note"])
		}
	})
	t.Run("keep_rollback_pin stops", func(t *testing.T) {
		f := newFixture(t)
		f.srv.SetAutoAssign("prj_web", false)
		_, err := f.deployer(vercel.Config{Mode: vercel.ModeBuild, KeepRollbackPin: true}, nil).Deploy(context.Background(), rel("1.1.0", sha1, "1.0.0", sha0))
		if err == nil || !strings.Contains(err.Error(), "READY but STAGED") || !strings.Contains(err.Error(), "vercel promote dpl_") {
			t.Fatalf("err = %v", err)
		}
		if f.srv.Production("prj_web") != f.prod0 {
			t.Fatal("production moved")
		}
	})
}

func TestRollback(t *testing.T) {
	f := newFixture(t)
	d := f.deployer(vercel.Config{Mode: vercel.ModeBuild}, nil)
	r2 := rel("1.1.0", sha1, "1.0.0", sha0)
	dep, err := d.Deploy(context.Background(), r2)
	if err != nil {
		t.Fatal(err)
	}
	f.srv.ResetRequests()
	restored, err := d.Rollback(context.Background(), dep, r2.Previous())
	if err != nil {
		t.Fatal(err)
	}
	if f.srv.Production("prj_web") != f.prod0 || restored.ID != f.prod0 || restored.Commit != sha0 || f.srv.AutoAssign("prj_web") {
		t.Fatalf("rollback: production %s, restored %+v, autoAssign %v", f.srv.Production("prj_web"), restored, f.srv.AutoAssign("prj_web"))
	}
	if count(f.srv.Requests(), "POST /v1/projects/prj_web/rollback/"+f.prod0) != 1 || !strings.Contains(restored.Details["note"], "automatic domain assignment off") {
		t.Fatalf("requests %v, details %v", f.srv.Requests(), restored.Details)
	}
	t.Logf("rollback: %d API requests", len(f.srv.Requests()))

	// The next release deploys fine: the pin is detected and undone.
	if _, err := d.Deploy(context.Background(), rel("1.2.0", sha2, "1.0.0", sha0)); err != nil {
		t.Fatal(err)
	}
}

func TestHobbyRollbackLimitIsQuota(t *testing.T) {
	f := newFixture(t)
	f.srv.SetHobby(true)
	d := f.deployer(vercel.Config{Mode: vercel.ModeBuild}, nil)
	if _, err := d.Deploy(context.Background(), rel("1.1.0", sha1, "1.0.0", sha0)); err != nil {
		t.Fatal(err)
	}
	dep, err := d.Deploy(context.Background(), rel("1.2.0", sha2, "1.1.0", sha1))
	if err != nil {
		t.Fatal(err)
	}
	// Two releases back is beyond the Hobby plan.
	_, err = d.Rollback(context.Background(), shipprod.Deployment{ID: dep.ID, PreviousID: f.prod0}, shipprod.Release{})
	if !errors.Is(err, vercel.ErrQuota) || !strings.Contains(err.Error(), "upgrade to pro") {
		t.Fatalf("err = %v, want ErrQuota with Vercel's message", err)
	}
}

func TestAPIErrors(t *testing.T) {
	tests := []struct {
		name   string
		fault  vercelfake.Fault
		quota  int
		mode   string
		token  string
		is     error
		want   string
		sleeps time.Duration // at least this long on the clock
	}{
		{name: "expired token", token: "vcp_expired", is: vercel.ErrInvalidToken, want: "token invalid or expired"},
		{name: "daily quota", mode: vercel.ModeBuild, quota: -2, is: vercel.ErrQuota, want: "api-deployments-free-per-day"},
		{name: "rate limit beyond the bound", fault: vercelfake.Fault{Path: "/v9/projects", RateLimit: time.Hour}, is: vercel.ErrRateLimited, want: "later than max_rate_limit_wait"},
		{name: "not found", fault: vercelfake.Fault{Path: "/v9/projects", Status: 404, Body: `{"error":{"code":"not_found","message":"Project not found"}}`}, is: vercel.ErrNotFound, want: "Project not found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			if tt.fault.Path != "" {
				f.srv.Inject(tt.fault)
			}
			if tt.quota == -2 {
				f.srv.SetQuota(0)
			}
			tok := token
			if tt.token != "" {
				tok = tt.token
			}
			d, err := f.newDeployer(vercel.Config{Mode: tt.mode}, nil, map[string]string{"VERCEL_TOKEN": tok})
			if err != nil {
				t.Fatal(err)
			}
			_, err = d.Deploy(context.Background(), rel("1.1.0", sha1, "1.0.0", sha0))
			if !errors.Is(err, tt.is) || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "vercel project web") {
				t.Fatalf("err = %v, want %v containing %q and naming the project", err, tt.is, tt.want)
			}
			if strings.Contains(err.Error(), tok) || strings.Contains(f.logs.String(), tok) {
				t.Fatal("the token leaked into the error or the logs")
			}
		})
	}
}

func TestTransientFaultsAreRidden(t *testing.T) {
	tests := []struct {
		name    string
		faults  []vercelfake.Fault
		minWait time.Duration
	}{
		{"rate limit waits for limit.reset", []vercelfake.Fault{{Path: "/v13/deployments/dpl_", RateLimit: 40 * time.Second}}, 40 * time.Second},
		{"5xx burst", []vercelfake.Fault{{Path: "/v9/projects", Status: 502, Times: 3}}, 0},
		{"dropped connections", []vercelfake.Fault{{Path: "/v13/deployments/dpl_", Drop: true, Times: 2}}, 0},
		{"malformed JSON", []vercelfake.Fault{{Path: "/v13/deployments/dpl_", Malformed: true}, {Path: "/v6/deployments", Malformed: true}}, 0},
		{"create answered 503", []vercelfake.Fault{{Method: "POST", Path: "/v13/deployments", Status: 503}}, 0},
		{"create succeeded but the answer was lost", []vercelfake.Fault{{Method: "POST", Path: "/v13/deployments", Drop: true, After: true}}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			for _, fl := range tt.faults {
				f.srv.Inject(fl)
			}
			before := len(f.srv.Deployments())
			dep, err := f.deployer(vercel.Config{Mode: vercel.ModeBuild}, nil).Deploy(context.Background(), rel("1.1.0", sha1, "1.0.0", sha0))
			if err != nil {
				t.Fatal(err)
			}
			if f.srv.Production("prj_web") != dep.ID {
				t.Fatal("not live")
			}
			if n := len(f.srv.Deployments()) - before; n != 1 {
				t.Fatalf("%d deployments created, want exactly 1", n)
			}
			if slept, _ := f.clock.Slept(); slept < tt.minWait {
				t.Fatalf("slept %s, want at least %s", slept, tt.minWait)
			}
		})
	}
}

func TestConfigFallbacks(t *testing.T) {
	f := newFixture(t)
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, ".vercel"), 0o755)
	os.WriteFile(filepath.Join(dir, ".vercel", "project.json"), []byte(`{"projectId":"prj_web","orgId":"team_acme"}`), 0o644)

	open := func(config string, env map[string]string, dir string, facts map[string]string) (shipprod.Deployer, error) {
		sec, err := provider.ParseSection("api_url: " + f.srv.URL + "\n" + config)
		if err != nil {
			t.Fatal(err)
		}
		return provider.Open(context.Background(), "vercel", provider.Env{Config: sec, Dir: dir, Facts: facts, Clock: f.clock, HTTPClient: f.srv.Client(),
			Getenv: func(k string) string { return env[k] }})
	}
	withToken := func(m map[string]string) map[string]string { m["VERCEL_TOKEN"] = token; return m }
	ok := []struct {
		name, config string
		env          map[string]string
		dir          string
	}{
		{"config", "project: web\nteam: team_acme\n", withToken(map[string]string{}), ""},
		{"environment", "", withToken(map[string]string{"VERCEL_PROJECT_ID": "prj_web", "VERCEL_ORG_ID": "team_acme"}), ""},
		{".vercel/project.json", "", withToken(map[string]string{}), dir},
		{"token_env", "project: web\nteam: team_acme\ntoken_env: MY_VERCEL\n", map[string]string{"MY_VERCEL": token}, ""},
	}
	for _, tt := range ok {
		t.Run(tt.name, func(t *testing.T) {
			staged := f.srv.AddDeployment(vercelfake.Deployment{ProjectID: "prj_web", Target: "production", SHA: sha1})
			d, err := open(tt.config, tt.env, tt.dir, map[string]string{vercel.FactStagingDeploymentID: staged})
			if err != nil {
				t.Fatal(err)
			}
			dep, err := d.Deploy(context.Background(), rel("1.1.0", sha1, "", ""))
			if err != nil {
				t.Fatal(err)
			}
			if dep.ID != staged || f.srv.Production("prj_web") != staged {
				t.Fatalf("deployed %s, production %s, want %s promoted", dep.ID, f.srv.Production("prj_web"), staged)
			}
		})
	}
	bad := []struct {
		name, config string
		env          map[string]string
		want         string
	}{
		{"no token", "project: web\n", map[string]string{}, "no Vercel token: set VERCEL_TOKEN"},
		{"no project", "", withToken(map[string]string{}), "no Vercel project"},
		{"bad mode", "project: web\nmode: yolo\n", withToken(map[string]string{}), `mode "yolo"`},
		{"unknown key", "project: web\nteam_id: x\n", withToken(map[string]string{}), `unknown key "team_id"`},
		{"token in config is not a key", "project: web\ntoken: abc\n", withToken(map[string]string{}), `unknown key "token"`},
		{"wrong team", "project: web\nteam: other\n", withToken(map[string]string{}), ""},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			d, err := open(tt.config, tt.env, "", nil)
			if err == nil && tt.want == "" {
				_, err = d.Deploy(context.Background(), rel("1.1.0", sha1, "", ""))
				if err == nil || !strings.Contains(err.Error(), "403") {
					t.Fatalf("deploy with the wrong team: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestFailedPromoteNamesAliases(t *testing.T) {
	f := newFixture(t)
	staged := f.srv.AddDeployment(vercelfake.Deployment{ProjectID: "prj_web", Target: "production", SHA: sha1})
	f.srv.FailNextPromote("prj_web")
	_, err := f.deployer(vercel.Config{}, map[string]string{vercel.FactStagingDeploymentID: staged}).Deploy(context.Background(), rel("1.1.0", sha1, "", ""))
	if err == nil || !strings.Contains(err.Error(), "the promote failed for aliases web.example.com") || !strings.Contains(err.Error(), staged) {
		t.Fatalf("err = %v", err)
	}
}

func TestStagingIDMustBeADeploymentID(t *testing.T) {
	f := newFixture(t)
	_, err := f.deployer(vercel.Config{}, map[string]string{vercel.FactStagingDeploymentID: "web.example.com"}).Deploy(context.Background(), rel("1.1.0", sha1, "", ""))
	if err == nil || !strings.Contains(err.Error(), "not a dpl_ id") {
		t.Fatalf("err = %v", err)
	}
}

func TestPlanActions(t *testing.T) {
	f := newFixture(t)
	acts, _ := f.deployer(vercel.Config{}, map[string]string{vercel.FactStagingDeploymentID: "dpl_abc"}).PlanActions(context.Background(), rel("1.1.0", "", "", ""))
	if len(acts) != 1 || !strings.Contains(acts[0].Description, "promote staging-validated deployment dpl_abc of Vercel project web") {
		t.Fatalf("actions = %+v", acts)
	}
	acts, _ = f.deployer(vercel.Config{Mode: vercel.ModeBuild}, nil).PlanActions(context.Background(), rel("1.1.0", "", "", ""))
	if !strings.Contains(acts[0].Description, "from tag v1.1.0") {
		t.Fatalf("actions = %+v", acts)
	}
}

// TestConformance runs the provider kit against both modes.
func TestConformance(t *testing.T) {
	for _, mode := range []string{vercel.ModePromote, vercel.ModeBuild} {
		t.Run(mode, func(t *testing.T) {
			providertest.Run(t, providertest.Harness{Name: "vercel", Setup: func(t *testing.T, clock shipprod.Clock) *providertest.Platform {
				srv := vercelfake.New(t, vercelfake.Options{Token: token, TeamSlug: "acme", Clock: clock})
				srv.AddProject(vercelfake.Project{ID: "prj_web", Name: "web", Domains: []string{"web.example.com"},
					Link: map[string]any{"type": "github", "org": "acme", "repo": "web"}})
				srv.AddDeployment(vercelfake.Deployment{ProjectID: "prj_web", Target: "production", SHA: sha0, Promoted: true})
				if mode == vercel.ModePromote {
					srv.AddDeployment(vercelfake.Deployment{ProjectID: "prj_web", Target: "production", SHA: sha1})
					srv.AddDeployment(vercelfake.Deployment{ProjectID: "prj_web", SHA: sha2}) // a preview
				}
				return &providertest.Platform{
					Config:   "project: web\nteam: acme\nmode: " + mode + "\napi_url: " + srv.URL + "\n",
					Getenv:   func(k string) string { return map[string]string{"VERCEL_TOKEN": token}[k] },
					Releases: [2]shipprod.Release{rel("1.0.0", sha1, "0.9.0", sha0), rel("1.1.0", sha2, "1.0.0", sha1)},
					Live:     func(context.Context) (string, error) { return srv.LiveCommit("prj_web"), nil },
					Deploys:  func() int { return deploysStarted(srv.Requests()) },
					Writes:   srv.Writes,
					Stall:    srv.Stall,
					Break: func() func(error) bool {
						srv.Inject(vercelfake.Fault{Status: http.StatusForbidden})
						return func(err error) bool { return errors.Is(err, vercel.ErrInvalidToken) }
					},
					Secrets: []string{token},
				}
			}})
		})
	}
}

// deploysStarted counts the requests that start a deployment: builds
// created (production rebuilds included), promotions and rollbacks.
func deploysStarted(reqs []string) int {
	n := 0
	for _, r := range reqs {
		method, path, _ := strings.Cut(r, " ")
		parts := strings.Split(strings.Trim(path, "/"), "/")
		switch {
		case method != "POST":
		case path == "/v13/deployments":
			n++
		case len(parts) == 5 && parts[1] == "projects" && (parts[3] == "promote" || parts[3] == "rollback"):
			n++
		}
	}
	return n
}
