package customdeployer_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shipprod/shipprod"
	"github.com/shipprod/shipprod/examples/customdeployer"
	"github.com/shipprod/shipprod/provider"
	"github.com/shipprod/shipprod/provider/providertest"
	"github.com/shipprod/shipprod/shipprodtest"
)

// hookService is a deploy-hook service: POST /hook starts a deploy that
// finishes after a few status polls.
type hookService struct {
	*httptest.Server
	token string

	mu       sync.Mutex
	seq      int
	live     string             // commit in production
	liveRel  [2]string          // version and tag in production
	liveID   string             // deploy in production
	prevID   string             // deploy in production before liveID
	deploys  map[string]*deploy // by id
	posts    int
	requests int
	failNext string
	stalled  bool
	// statusBase, when set, is where the hook says the status lives (as
	// status_url, or as Location when locationOnly): another host.
	statusBase   string
	locationOnly bool
	// redirectTo, when set, answers status polls with a redirect to the same
	// path there.
	redirectTo string
	// auths are the Authorization headers received, by "METHOD path".
	auths map[string]string
}

// hookPath is the hook's path: like Vercel's and Netlify's deploy hooks, it
// embeds the secret that lets anyone who knows it deploy.
const (
	hookSecret = "hk_9fXs3cr3tHookId"
	hookPath   = "/hooks/web/" + hookSecret
)

type deploy struct {
	commit       string
	version, tag string
	polls        int
	state        string
	msg          string
}

func newHookService(t *testing.T, token string) *hookService {
	h := &hookService{token: token, deploys: map[string]*deploy{}, auths: map[string]string{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+hookPath, h.start)
	mux.HandleFunc("GET /deploys/{id}", h.status)
	mux.HandleFunc("GET /live", h.liveNow)
	h.Server = httptest.NewServer(h.auth(mux))
	t.Cleanup(h.Close)
	return h
}

func (h *hookService) auth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.mu.Lock()
		h.requests++
		h.auths[r.Method+" "+r.URL.Path] = r.Header.Get("Authorization")
		h.mu.Unlock()
		if h.token != "" && r.Header.Get("Authorization") != "Bearer "+h.token {
			http.Error(w, `{"error":"unauthorized"}`, http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (h *hookService) start(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Version, Tag, Commit string
		Rollback             bool
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil || body.Commit == "" {
		http.Error(w, `{"error":"commit required"}`, http.StatusBadRequest)
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.posts++
	h.seq++
	id := fmt.Sprintf("d-%d", h.seq)
	d := &deploy{commit: body.Commit, version: body.Version, tag: body.Tag, polls: 2, state: "queued"}
	if h.failNext != "" {
		d.msg, h.failNext = h.failNext, ""
	}
	h.deploys[id] = d
	answer := map[string]string{"id": id, "previous_id": h.liveID}
	switch {
	case h.statusBase == "":
		w.Header().Set("Location", "/deploys/"+id)
	case h.locationOnly:
		w.Header().Set("Location", h.statusBase+"/deploys/"+id)
	default:
		answer["status_url"] = h.statusBase + "/deploys/" + id
	}
	w.WriteHeader(http.StatusAccepted)
	json.NewEncoder(w).Encode(answer)
}

// liveNow answers what production runs now.
func (h *hookService) liveNow(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.liveID == "" {
		http.Error(w, `{"error":"nothing deployed yet"}`, http.StatusNotFound)
		return
	}
	json.NewEncoder(w).Encode(map[string]string{"id": h.liveID, "commit": h.live, "previous_id": h.prevID, "version": h.liveRel[0], "tag": h.liveRel[1]})
}

// Posts counts the hook calls: the deploys started.
func (h *hookService) Posts() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.posts
}

// Requests counts every request the service received.
func (h *hookService) Requests() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.requests
}

func (h *hookService) status(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	to := h.redirectTo
	h.mu.Unlock()
	if to != "" {
		http.Redirect(w, r, to+r.URL.Path, http.StatusFound)
		return
	}
	h.report(w, r)
}

// report answers the status of deploy {id}, moving it on.
func (h *hookService) report(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	defer h.mu.Unlock()
	id := r.PathValue("id")
	d := h.deploys[id]
	if d == nil {
		http.NotFound(w, r)
		return
	}
	if !h.stalled && d.state != "succeeded" && d.state != "failed" {
		d.state = "running"
		if d.polls--; d.polls < 0 {
			if d.msg != "" {
				d.state = "failed"
			} else {
				d.state, h.live, h.prevID, h.liveID = "succeeded", d.commit, h.liveID, id
				h.liveRel = [2]string{d.version, d.tag}
			}
		}
	}
	json.NewEncoder(w).Encode(map[string]string{"id": id, "state": d.state, "message": d.msg, "commit": d.commit})
}

func (h *hookService) Live(context.Context) (string, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.live, nil
}

var releases = [2]shipprod.Release{
	{Version: "1.0.0", Tag: "v1.0.0", Commit: "1111111111111111111111111111111111111111"},
	{Version: "1.1.0", Tag: "v1.1.0", Commit: "2222222222222222222222222222222222222222", PreviousVersion: "1.0.0", PreviousTag: "v1.0.0", PreviousCommit: "1111111111111111111111111111111111111111"},
}

func TestConformance(t *testing.T) {
	const token = "hook-t0ken-s3cret"
	providertest.Run(t, providertest.Harness{Name: "deploy-hook", Setup: func(t *testing.T, clock shipprod.Clock) *providertest.Platform {
		h := newHookService(t, token)
		env := map[string]string{"DEPLOY_HOOK_TOKEN": token, "DEPLOY_HOOK_URL": h.URL + hookPath}
		return &providertest.Platform{
			Config:   "hook_url_env: DEPLOY_HOOK_URL\nlive_url: /live\ntoken_env: DEPLOY_HOOK_TOKEN\nurl: https://www.example.com\n",
			Getenv:   func(k string) string { return env[k] },
			Releases: releases,
			Live:     h.Live,
			Deploys:  h.Posts,
			Writes:   h.Posts, // the hook call is the service's only write
			Stall:    func() { h.mu.Lock(); h.stalled = true; h.mu.Unlock() },
			Break: func() func(error) bool {
				h.mu.Lock()
				h.failNext = "migration 0042 failed"
				h.mu.Unlock()
				return func(err error) bool {
					var he *customdeployer.HookError
					return errors.As(err, &he) && he.Message == "migration 0042 failed"
				}
			},
			Secrets: []string{token, hookSecret},
		}
	}})
}

func open(t *testing.T, h *hookService, config string) shipprod.Deployer {
	t.Helper()
	sec, err := provider.ParseSection("hook_url: " + h.URL + hookPath + "\n" + config)
	if err != nil {
		t.Fatal(err)
	}
	d, err := provider.Open(context.Background(), "deploy-hook", provider.Env{Config: sec,
		Clock: shipprodtest.NewClock(time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC))})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestDeadline(t *testing.T) {
	h := newHookService(t, "")
	h.stalled = true
	_, err := open(t, h, "timeout: 10m\n").Deploy(context.Background(), releases[0])
	if err == nil || !strings.Contains(err.Error(), "not finished within 10m0s") {
		t.Fatalf("err = %v", err)
	}
}

func TestConfigErrors(t *testing.T) {
	env := map[string]string{"FTP_HOOK": "ftp://x.test/hooks/" + hookSecret, "BAD_HOOK": "https://x.test/%zz/" + hookSecret}
	for config, want := range map[string]string{
		"hook_url: ftp://x.test/hooks/" + hookSecret + "\n":        `hook_url ftp://x.test/…: want an http(s) URL`,
		"hook_url: https://x.test/h\ntoken_env: NOPE_XYZ\n":        "NOPE_XYZ is not set",
		"hook_url: https://x.test/h\nhook: 1\n":                    `unknown key "hook"`,
		"hook_url_env: NOPE_XYZ\n":                                 "hook_url_env: NOPE_XYZ is not set",
		"hook_url_env: FTP_HOOK\n":                                 "hook_url_env: FTP_HOOK holds ftp://x.test/…: want an http(s) URL",
		"hook_url_env: BAD_HOOK\n":                                 "hook_url_env: BAD_HOOK does not hold a valid URL",
		"hook_url: https://x.test/h\nhook_url_env: FTP_HOOK\n":     "set hook_url or hook_url_env, not both",
		"url: https://www.example.com\n":                           "hook_url or hook_url_env is required",
		"hook_url: https://x.test/h\nlive_url: 'ftp://x.test/l'\n": "live_url ftp://x.test/…: want an http(s) URL",
	} {
		sec, _ := provider.ParseSection(config)
		_, err := provider.Open(context.Background(), "deploy-hook", provider.Env{Config: sec, Getenv: func(k string) string { return env[k] }})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: err = %v, want %q", config, err, want)
		}
		if err != nil && strings.Contains(err.Error(), hookSecret) {
			t.Errorf("%q: the hook's secret path is in the error %q", config, err)
		}
	}
}

func TestRequestCount(t *testing.T) {
	h := newHookService(t, "")
	if _, err := open(t, h, "").Deploy(context.Background(), releases[0]); err != nil {
		t.Fatal(err)
	}
	// One POST, then polls until the deploy finishes (the fake's deploy
	// runs for three polls).
	posts, requests := h.Posts(), h.Requests()
	if posts != 1 || requests != 4 {
		t.Fatalf("%d hook calls, %d requests; want 1 and 4", posts, requests)
	}
	t.Logf("deploy-hook, typical deploy: %d requests (1 hook call + %d status polls)", requests, requests-1)
}

// TestRedeployAsksWhatIsLive: with live_url, deploying (or rolling back to)
// the release production already runs calls the hook no second time;
// without it, the deployer cannot tell, and calls it.
func TestRedeployAsksWhatIsLive(t *testing.T) {
	h := newHookService(t, "")
	d := open(t, h, "live_url: /live\n")
	first, err := d.Deploy(context.Background(), releases[1])
	if err != nil {
		t.Fatal(err)
	}
	again, err := d.Deploy(context.Background(), releases[1])
	if err != nil {
		t.Fatal(err)
	}
	if h.Posts() != 1 {
		t.Fatalf("%d hook calls for one release deployed twice, want 1", h.Posts())
	}
	if again.ID != first.ID || again.Commit != releases[1].Commit || again.Details["hook_called"] != "false" {
		t.Fatalf("re-deploy returned %+v, want deploy %s found live", again, first.ID)
	}
	// Rolling back to what production runs is found live too.
	if _, err := d.(shipprod.Rollbacker).Rollback(context.Background(), first, releases[1]); err != nil || h.Posts() != 1 {
		t.Fatalf("rollback to the live release: %v, %d hook calls", err, h.Posts())
	}

	// Without live_url there is no way to know: the hook is called again.
	h2 := newHookService(t, "")
	d2 := open(t, h2, "")
	for range 2 {
		if _, err := d2.Deploy(context.Background(), releases[1]); err != nil {
			t.Fatal(err)
		}
	}
	if h2.Posts() != 2 {
		t.Fatalf("%d hook calls without live_url, want 2", h2.Posts())
	}
}

// TestTokenStaysOnTheHooksOrigin: the bearer token goes to the hook's own
// scheme, host and port only, never to a status URL elsewhere, given as
// status_url, as Location, or reached by a redirect (another port on the
// same host is another origin: Go's client would forward the header there).
func TestTokenStaysOnTheHooksOrigin(t *testing.T) {
	const token = "hook-t0ken-s3cret"
	for _, how := range []string{"status_url", "Location", "redirect"} {
		t.Run(how, func(t *testing.T) {
			h := newHookService(t, token)
			// Another host serves the same deploys' status, and notes the
			// Authorization headers it is sent.
			var mu sync.Mutex
			var elsewhere []string
			mux := http.NewServeMux()
			mux.HandleFunc("GET /deploys/{id}", func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				elsewhere = append(elsewhere, r.Header.Get("Authorization"))
				mu.Unlock()
				h.report(w, r)
			})
			other := httptest.NewServer(mux)
			t.Cleanup(other.Close)
			switch how {
			case "status_url":
				h.statusBase = other.URL
			case "Location":
				h.statusBase, h.locationOnly = other.URL, true
			case "redirect":
				h.redirectTo = other.URL
			}
			sec, _ := provider.ParseSection("hook_url: " + h.URL + hookPath + "\ntoken_env: T\n")
			d, err := provider.Open(context.Background(), "deploy-hook", provider.Env{Config: sec, Getenv: func(string) string { return token },
				Clock: shipprodtest.NewClock(time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC))})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := d.Deploy(context.Background(), releases[0]); err != nil {
				t.Fatal(err)
			}
			h.mu.Lock()
			got := h.auths["POST "+hookPath]
			h.mu.Unlock()
			if got != "Bearer "+token {
				t.Fatalf("the hook got Authorization %q, want the token", got)
			}
			mu.Lock()
			defer mu.Unlock()
			if len(elsewhere) == 0 {
				t.Fatal("the other host was never asked for the status")
			}
			for _, got := range elsewhere {
				if got != "" {
					t.Fatalf("a status poll on another origin got Authorization %q", got)
				}
			}
		})
	}
}

// TestHookURLIsMasked: the hook URL's path is a secret (deploy hooks embed
// it); it appears in no plan, error, log line or Deployment, whether the URL
// comes from the configuration or the environment.
func TestHookURLIsMasked(t *testing.T) {
	h := newHookService(t, "")
	dead := httptest.NewServer(http.NotFoundHandler())
	deadURL := dead.URL
	dead.Close() // connections to it are refused

	var texts []string
	logs := &shipprodtest.Buffer{}
	openWith := func(config string, env map[string]string) shipprod.Deployer {
		t.Helper()
		sec, err := provider.ParseSection(config)
		if err != nil {
			t.Fatal(err)
		}
		d, err := provider.Open(context.Background(), "deploy-hook", provider.Env{Config: sec, Getenv: func(k string) string { return env[k] },
			Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
			Clock:  shipprodtest.NewClock(time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC))})
		if err != nil {
			t.Fatal(err)
		}
		texts = append(texts, fmt.Sprint(d))
		acts, err := d.(shipprod.ActionPlanner).PlanActions(context.Background(), releases[0])
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range acts {
			texts = append(texts, a.Description, a.Target)
		}
		return d
	}
	deploy := func(d shipprod.Deployer, wantErr string) {
		t.Helper()
		dep, err := d.Deploy(context.Background(), releases[0])
		js, _ := json.Marshal(dep)
		texts = append(texts, string(js))
		switch {
		case wantErr == "" && err != nil:
			t.Fatal(err)
		case wantErr != "" && (err == nil || !strings.Contains(err.Error(), wantErr)):
			t.Fatalf("err = %v, want %q", err, wantErr)
		case err != nil:
			texts = append(texts, err.Error())
		}
	}

	// From the environment: a deploy that works, one the service fails,
	// one that the service refuses (404) and one that cannot connect.
	ok := openWith("hook_url_env: HOOK\nlive_url: /live\n", map[string]string{"HOOK": h.URL + hookPath})
	deploy(ok, "")
	h.failNext = "migration 0042 failed"
	deploy(openWith("hook_url_env: HOOK\n", map[string]string{"HOOK": h.URL + hookPath}), "migration 0042 failed")
	deploy(openWith("hook_url_env: HOOK\n", map[string]string{"HOOK": h.URL + "/hooks/web/wrong-" + hookSecret}), "404 Not Found")
	deploy(openWith("hook_url_env: HOOK\n", map[string]string{"HOOK": deadURL + hookPath}), "connection refused")
	// Status polls that fail (logged, then an error), at a status URL
	// under the hook's path on a host that refuses connections.
	h.statusBase = deadURL + hookPath
	deploy(openWith("hook_url_env: HOOK\n", map[string]string{"HOOK": h.URL + hookPath}), "connection refused")
	if !strings.Contains(logs.String(), "status poll failed") {
		t.Fatalf("no failed status poll was logged:\n%s", logs)
	}
	h.statusBase = ""
	// From the configuration: the same masking.
	h.stalled = true
	deploy(openWith("hook_url: "+h.URL+hookPath+"\ntimeout: 1m\n", nil), "not finished within 1m0s")
	deploy(openWith("hook_url: "+deadURL+hookPath+"?key="+hookSecret+"\n", nil), "connection refused")

	texts = append(texts, logs.String())
	for _, text := range texts {
		if strings.Contains(text, hookSecret) || strings.Contains(text, "/hooks/") {
			t.Fatalf("the hook's path appears in %q", text)
		}
	}
	if want := "deploy-hook " + h.URL + "/…"; texts[0] != want {
		t.Fatalf("String() = %q, want %q", texts[0], want)
	}
}

// unhealthy is a HealthChecker that fails one version.
type unhealthy string

func (u unhealthy) Check(_ context.Context, rel shipprod.Release, _ shipprod.Deployment) (shipprod.HealthReport, error) {
	st := shipprod.HealthPass
	if rel.Version == string(u) {
		st = shipprod.HealthFail
	}
	return shipprod.HealthReport{Checks: []shipprod.CheckResult{{Name: "api", Kind: "http", Status: st}}}, nil
}

// After v1.4.1 was rolled back, live_url says production runs v1.4.0; a
// failed v1.4.2 (whose previous release is v1.4.1) must restore v1.4.0.
func TestRollbackRestoresWhatProductionRan(t *testing.T) {
	h := newHookService(t, "")
	d := open(t, h, "live_url: /live\n")
	ctx := context.Background()
	sha := func(c string) string { return strings.Repeat(c, 40) }
	r140 := shipprod.Release{Version: "1.4.0", Tag: "v1.4.0", Commit: sha("4")}
	r141 := shipprod.Release{Version: "1.4.1", Tag: "v1.4.1", Commit: sha("5"), PreviousVersion: "1.4.0", PreviousTag: "v1.4.0", PreviousCommit: sha("4")}
	r142 := shipprod.Release{Version: "1.4.2", Tag: "v1.4.2", Commit: sha("6"), PreviousVersion: "1.4.1", PreviousTag: "v1.4.1", PreviousCommit: sha("5")}
	if _, err := d.Deploy(ctx, r140); err != nil {
		t.Fatal(err)
	}
	bad, err := d.Deploy(ctx, r141)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.(shipprod.Rollbacker).Rollback(ctx, bad, r140); err != nil {
		t.Fatal(err)
	}
	res, err := (&shipprod.Pipeline{Release: r142, Deployer: d, Health: unhealthy("1.4.2")}).Run(ctx)
	if res.Outcome != shipprod.OutcomeRolledBack {
		t.Fatalf("outcome %s, err %v", res.Outcome, err)
	}
	if live, _ := h.Live(ctx); live != r140.Commit {
		t.Fatalf("production after the rollback runs %s, want v1.4.0's %s", live, r140.Commit)
	}
	if tgt := res.Rollback.Target; tgt.Tag != "v1.4.0" || tgt.Version != "1.4.0" || tgt.Commit != r140.Commit {
		t.Fatalf("rollback target %+v", tgt)
	}
}

func TestPreflightAsksLiveURL(t *testing.T) {
	h := newHookService(t, "right-token")
	t.Setenv("HOOK_TOKEN", "wrong-token")
	d := open(t, h, "live_url: /live\ntoken_env: HOOK_TOKEN\n")
	err := d.(shipprod.Preflighter).Preflight(context.Background(), shipprod.Release{Version: "1.0.0"})
	if err == nil || !strings.Contains(err.Error(), "live_url "+h.URL+"/… does not answer") {
		t.Fatalf("err %v", err)
	}
	if h.Posts() != 0 {
		t.Fatal("the pre-flight called the hook")
	}
	// Without live_url there is nothing to ask, and Production says so.
	d = open(t, h, "")
	if err := d.(shipprod.Preflighter).Preflight(context.Background(), shipprod.Release{}); err != nil {
		t.Fatal(err)
	}
	if _, err := d.(shipprod.ProductionReader).Production(context.Background()); err == nil || !strings.Contains(err.Error(), "live_url is not configured") {
		t.Fatalf("err %v", err)
	}
}
