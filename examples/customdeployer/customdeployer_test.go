package customdeployer_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
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
	liveID   string             // deploy in production
	deploys  map[string]*deploy // by id
	posts    int
	requests int
	failNext string
	stalled  bool
}

type deploy struct {
	commit string
	polls  int
	state  string
	msg    string
}

func newHookService(t *testing.T, token string) *hookService {
	h := &hookService{token: token, deploys: map[string]*deploy{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /hook", h.start)
	mux.HandleFunc("GET /deploys/{id}", h.status)
	h.Server = httptest.NewServer(h.auth(mux))
	t.Cleanup(h.Close)
	return h
}

func (h *hookService) auth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.mu.Lock()
		h.requests++
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
	d := &deploy{commit: body.Commit, polls: 2, state: "queued"}
	if h.failNext != "" {
		d.msg, h.failNext = h.failNext, ""
	}
	h.deploys[id] = d
	w.Header().Set("Location", "/deploys/"+id)
	w.WriteHeader(http.StatusAccepted)
	json.NewEncoder(w).Encode(map[string]string{"id": id, "previous_id": h.liveID})
}

func (h *hookService) status(w http.ResponseWriter, r *http.Request) {
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
				d.state, h.live, h.liveID = "succeeded", d.commit, id
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
		return &providertest.Platform{
			Config:   "hook_url: " + h.URL + "/hook\ntoken_env: DEPLOY_HOOK_TOKEN\nurl: https://www.example.com\n",
			Getenv:   func(k string) string { return map[string]string{"DEPLOY_HOOK_TOKEN": token}[k] },
			Releases: releases,
			Live:     h.Live,
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
			Secrets: []string{token},
		}
	}})
}

func open(t *testing.T, h *hookService, config string) shipprod.Deployer {
	t.Helper()
	sec, err := provider.ParseSection("hook_url: " + h.URL + "/hook\n" + config)
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
	for config, want := range map[string]string{
		"hook_url: ftp://x\n":                               `hook_url "ftp://x"`,
		"hook_url: https://x.test/h\ntoken_env: NOPE_XYZ\n": "NOPE_XYZ is not set",
		"hook_url: https://x.test/h\nhook: 1\n":             `unknown key "hook"`,
	} {
		sec, _ := provider.ParseSection(config)
		_, err := provider.Open(context.Background(), "deploy-hook", provider.Env{Config: sec, Getenv: func(string) string { return "" }})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: err = %v, want %q", config, err, want)
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
	if h.posts != 1 || h.requests != 4 {
		t.Fatalf("%d hook calls, %d requests; want 1 and 4", h.posts, h.requests)
	}
	t.Logf("deploy-hook, typical deploy: %d requests (1 hook call + %d status polls)", h.requests, h.requests-1)
}
