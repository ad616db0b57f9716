package health_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shipprod/shipprod"
	"github.com/shipprod/shipprod/health"
	"github.com/shipprod/shipprod/shipprodtest"
)

var (
	testRelease = shipprod.Release{Version: "2.7.0", Tag: "v2.7.0", PreviousVersion: "2.6.3", PreviousTag: "v2.6.3"}
	testStart   = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
)

// newChecker builds a Checker on a fake clock; one attempt decides each
// check unless the config says otherwise.
func newChecker(t *testing.T, cfg health.Config, opts health.Options) *health.Checker {
	t.Helper()
	if cfg.FailureThreshold == 0 {
		cfg.FailureThreshold = 1
	}
	if opts.Clock == nil {
		opts.Clock = shipprodtest.NewClock(testStart)
	}
	c, err := health.New(cfg, opts)
	require.NoError(t, err)
	return c
}

// checkOne runs a single configured check against dep and returns its result.
func checkOne(t *testing.T, cc health.CheckConfig, base string) shipprod.CheckResult {
	t.Helper()
	c := newChecker(t, health.Config{BaseURL: base, Checks: []health.CheckConfig{cc}}, health.Options{})
	rep, err := c.Check(context.Background(), testRelease, shipprod.Deployment{})
	require.NoError(t, err)
	require.Len(t, rep.Checks, 1)
	return rep.Checks[0]
}

// app is a loopback "production" with the endpoints the tests check.
func app(t *testing.T) *httptest.Server {
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		fmt.Fprint(w, "<h1>Welcome to production</h1>")
	})
	mux.HandleFunc("/api/health", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		fmt.Fprint(w, `{"status":"ok","database":"connected","cache":{"hits":12,"ready":true},"replicas":3,"errors":[]}`)
	})
	mux.HandleFunc("/api/degraded", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"status":"ok","database":"disconnected","replicas":1}`)
	})
	mux.HandleFunc("/api/status", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"status":"UP","checks":[{"name":"db","status":"up"},{"name":"cache","status":"up"},{"name":"queue","status":"down"}]}`)
	})
	mux.HandleFunc("/not-json", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "<html>oops</html>")
	})
	mux.HandleFunc("/old", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/", http.StatusFound)
	})
	mux.HandleFunc("/loop", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/loop", http.StatusFound)
	})
	mux.HandleFunc("/down", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "maintenance", http.StatusServiceUnavailable)
	})
	mux.HandleFunc("/created", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(80 * time.Millisecond)
		fmt.Fprint(w, "finally")
	})
	mux.HandleFunc("/hang", func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	})
	mux.HandleFunc("/secure", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer s3cr3t-token" {
			http.Error(w, "unauthorized: got "+r.Header.Get("Authorization"), http.StatusUnauthorized)
			return
		}
		fmt.Fprint(w, "ok")
	})
	mux.HandleFunc("/post-only", func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodHead {
			w.WriteHeader(http.StatusMethodNotAllowed)
		}
	})
	for path, body := range map[string]string{
		"/health/pass": `{"status":"pass","version":"1","checks":{"db:responseTime":[{"status":"pass","observedValue":3,"observedUnit":"ms"}]}}`,
		"/health/warn": `{"status":"pass","checks":{"disk:utilization":[{"status":"warn","observedValue":91,"observedUnit":"%","output":"disk almost full"}],"db:responseTime":[{"status":"pass"}]}}`,
		"/health/fail": `{"status":"fail","output":"db down","checks":{"db:connections":[{"status":"fail","output":"connection refused"}],"cache:ping":[{"status":"pass"}]}}`,
		"/health/up":   `{"status":"UP"}`,
		"/health/bad":  `{"status":"pass"`,
		"/health/odd":  `{"status":"sideways"}`,
	} {
		mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/health+json; charset=utf-8")
			if strings.Contains(body, `"status":"fail"`) {
				w.WriteHeader(http.StatusServiceUnavailable)
			}
			fmt.Fprint(w, body)
		})
	}
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func TestHTTPCheck(t *testing.T) {
	srv := app(t)
	t.Setenv("HEALTH_TOKEN", "Bearer s3cr3t-token")
	tests := []struct {
		name       string
		cc         health.CheckConfig
		status     shipprod.HealthStatus
		wantInMsg  string // in Message (pass) or Error (fail)
		notInError string
	}{
		{name: "200 by default", cc: health.CheckConfig{HTTP: "/"}, status: shipprod.HealthPass, wantInMsg: "200 OK in "},
		{name: "absolute URL", cc: health.CheckConfig{HTTP: srv.URL + "/api/health"}, status: shipprod.HealthPass, wantInMsg: "200 OK"},
		{name: "wrong status", cc: health.CheckConfig{HTTP: "/down"}, status: shipprod.HealthFail, wantInMsg: "status 503 Service Unavailable, want 200"},
		{name: "404", cc: health.CheckConfig{HTTP: "/nope"}, status: shipprod.HealthFail, wantInMsg: "status 404 Not Found, want 200"},
		{name: "exact expected status", cc: health.CheckConfig{HTTP: "/created", HTTPOptions: health.HTTPOptions{ExpectStatus: 204}}, status: shipprod.HealthPass, wantInMsg: "204 No Content"},
		{name: "2xx other than expected fails", cc: health.CheckConfig{HTTP: "/created"}, status: shipprod.HealthFail, wantInMsg: "status 204 No Content, want 200"},
		{name: "redirect not followed", cc: health.CheckConfig{HTTP: "/old"}, status: shipprod.HealthFail,
			wantInMsg: "status 302 Found, want 200 (redirect to / not followed; set follow_redirects: true to follow it)"},
		{name: "redirect expected", cc: health.CheckConfig{HTTP: "/old", HTTPOptions: health.HTTPOptions{ExpectStatus: 302}}, status: shipprod.HealthPass, wantInMsg: "302 Found"},
		{name: "redirect followed", cc: health.CheckConfig{HTTP: "/old", HTTPOptions: health.HTTPOptions{FollowRedirects: true, ExpectBody: "Welcome"}}, status: shipprod.HealthPass, wantInMsg: "200 OK"},
		{name: "redirect loop", cc: health.CheckConfig{HTTP: "/loop", HTTPOptions: health.HTTPOptions{FollowRedirects: true, MaxRedirects: 3}}, status: shipprod.HealthFail, wantInMsg: "stopped after 3 redirects"},
		{name: "body contains", cc: health.CheckConfig{HTTP: "/", HTTPOptions: health.HTTPOptions{ExpectBody: "Welcome"}}, status: shipprod.HealthPass},
		{name: "body missing text", cc: health.CheckConfig{HTTP: "/", HTTPOptions: health.HTTPOptions{ExpectBody: "Goodbye"}}, status: shipprod.HealthFail,
			wantInMsg: `body does not contain "Goodbye" (body: "<h1>Welcome to production</h1>")`},
		{name: "body regex", cc: health.CheckConfig{HTTP: "/", HTTPOptions: health.HTTPOptions{ExpectBodyRegex: `Welcome to \w+`}}, status: shipprod.HealthPass},
		{name: "body regex mismatch", cc: health.CheckConfig{HTTP: "/", HTTPOptions: health.HTTPOptions{ExpectBodyRegex: `^\{`}}, status: shipprod.HealthFail, wantInMsg: "body does not match"},
		{name: "json fields", cc: health.CheckConfig{HTTP: "/api/health", HTTPOptions: health.HTTPOptions{ExpectJSON: []string{
			`.database == "connected"`, `.replicas >= 2`, `.cache.ready`, `.cache["hits"] > 0`, `.status != "fail"`}}}, status: shipprod.HealthPass},
		{name: "json field mismatch lists every problem", cc: health.CheckConfig{HTTP: "/api/degraded", HTTPOptions: health.HTTPOptions{ExpectJSON: []string{
			`.database == "connected"`, `.replicas >= 2`, `.cache.ready`}}}, status: shipprod.HealthFail,
			wantInMsg: `.database is "disconnected" (want == "connected"); .replicas is 1 (want >= 2); .cache.ready is absent (want present)`},
		{name: "jq: select, length, any", cc: health.CheckConfig{HTTP: "/api/status", HTTPOptions: health.HTTPOptions{ExpectJSON: []string{
			`[.checks[] | select(.status == "down")] | length <= 1`, `.checks | length == 3`, `any(.checks[]; .name == "db" and .status == "up")`,
			`.status | ascii_downcase == "up"`}}}, status: shipprod.HealthPass},
		{name: "jq: every check up", cc: health.CheckConfig{HTTP: "/api/status", HTTPOptions: health.HTTPOptions{ExpectJSON: []string{
			`.checks | map(.status == "up") | all`, `[.checks[] | select(.status != "up") | .name] == []`}}}, status: shipprod.HealthFail,
			wantInMsg: `.checks | map(.status == "up") | all yields false (want neither null nor false); [.checks[] | select(.status != "up") | .name] is ["queue"] (want == [])`},
		{name: "jq error", cc: health.CheckConfig{HTTP: "/api/status", HTTPOptions: health.HTTPOptions{ExpectJSON: []string{`.status.code == 200`}}}, status: shipprod.HealthFail,
			wantInMsg: `.status.code == 200: expected an object but got: string ("UP")`},
		{name: "jq bounded by the attempt timeout", cc: health.CheckConfig{HTTP: "/api/status", Timing: health.Timing{Timeout: 50 * time.Millisecond},
			HTTPOptions: health.HTTPOptions{ExpectJSON: []string{`last(range(1e15)) > 0`}}}, status: shipprod.HealthFail,
			wantInMsg: `timed out after 50ms: last(range(1e15)) > 0: context deadline exceeded`},
		{name: "bad JSON", cc: health.CheckConfig{HTTP: "/not-json", HTTPOptions: health.HTTPOptions{ExpectJSON: []string{`.ok`}}}, status: shipprod.HealthFail,
			wantInMsg: `body is not JSON`},
		{name: "header match", cc: health.CheckConfig{HTTP: "/api/health", HTTPOptions: health.HTTPOptions{ExpectHeaders: map[string]string{"content-type": "application/json", "Cache-Control": "no-store"}}}, status: shipprod.HealthPass},
		{name: "header mismatch", cc: health.CheckConfig{HTTP: "/api/health", HTTPOptions: health.HTTPOptions{ExpectHeaders: map[string]string{"Cache-Control": "max-age=60", "X-Build": "42"}}}, status: shipprod.HealthFail,
			wantInMsg: `header Cache-Control is "no-store", want "max-age=60"; header X-Build is absent, want "42"`},
		{name: "latency within budget", cc: health.CheckConfig{HTTP: "/", HTTPOptions: health.HTTPOptions{MaxLatency: 2 * time.Second}}, status: shipprod.HealthPass},
		{name: "latency over budget", cc: health.CheckConfig{HTTP: "/slow", HTTPOptions: health.HTTPOptions{MaxLatency: 20 * time.Millisecond}}, status: shipprod.HealthFail, wantInMsg: "exceeds max_latency 20ms"},
		{name: "timeout", cc: health.CheckConfig{HTTP: "/hang", Timing: health.Timing{Timeout: 50 * time.Millisecond}}, status: shipprod.HealthFail, wantInMsg: "timed out after 50ms"},
		{name: "method", cc: health.CheckConfig{HTTP: "/post-only", HTTPOptions: health.HTTPOptions{Method: "head"}}, status: shipprod.HealthPass},
		{name: "secret header from env", cc: health.CheckConfig{HTTP: "/secure", HTTPOptions: health.HTTPOptions{HeadersFromEnv: map[string]string{"Authorization": "HEALTH_TOKEN"}}}, status: shipprod.HealthPass},
		{name: "health+json pass", cc: health.CheckConfig{HTTP: "/health/pass"}, status: shipprod.HealthPass},
		{name: "health+json alias UP", cc: health.CheckConfig{HTTP: "/health/up"}, status: shipprod.HealthPass},
		{name: "health+json component warn", cc: health.CheckConfig{HTTP: "/health/warn"}, status: shipprod.HealthWarn,
			wantInMsg: `health+json status warn: disk:utilization warn observed 91% (disk almost full)`},
		{name: "health+json fail with components", cc: health.CheckConfig{HTTP: "/health/fail"}, status: shipprod.HealthFail,
			wantInMsg: `status 503 Service Unavailable, want 200; health+json status fail: service fail (db down), db:connections fail (connection refused)`},
		{name: "health+json invalid", cc: health.CheckConfig{HTTP: "/health/bad"}, status: shipprod.HealthFail, wantInMsg: "body is not valid health+json"},
		{name: "health+json unknown status", cc: health.CheckConfig{HTTP: "/health/odd"}, status: shipprod.HealthFail, wantInMsg: `health+json status "sideways" is not pass, warn or fail`},
		{name: "health+json forced on a JSON body", cc: health.CheckConfig{HTTP: "/api/health", HTTPOptions: health.HTTPOptions{HealthJSON: true}}, status: shipprod.HealthPass},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cc.Name = "web"
			res := checkOne(t, tt.cc, srv.URL)
			assert.Equal(t, tt.status, res.Status, "error: %s", res.Error)
			assert.Equal(t, "http", res.Kind)
			assert.Equal(t, 1, res.Attempts)
			if tt.status == shipprod.HealthFail {
				assert.Contains(t, res.Error, tt.wantInMsg)
				assert.Empty(t, res.Message)
			} else {
				assert.Empty(t, res.Error)
				assert.Contains(t, res.Message, tt.wantInMsg)
			}
			assert.NotContains(t, res.Error+res.Message, "s3cr3t-token")
		})
	}
}

func TestHTTPCheckConnectionRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())

	res := checkOne(t, health.CheckConfig{Name: "gone", HTTP: "http://" + addr + "/health"}, "")
	assert.Equal(t, shipprod.HealthFail, res.Status)
	assert.Contains(t, res.Error, "connection refused")
	assert.Equal(t, "http://"+addr+"/health", res.Target)
}

func TestHTTPCheckURLResolution(t *testing.T) {
	var (
		mu    sync.Mutex
		paths []string
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock() // the checks run concurrently
		defer mu.Unlock()
		paths = append(paths, r.URL.RequestURI())
	}))
	defer srv.Close()

	cfg := health.Config{Checks: []health.CheckConfig{
		{Name: "slash", HTTP: "/health"},
		{Name: "bare", HTTP: "ready?full=1"},
	}}

	// No base URL: relative URLs resolve against the deployment's URL,
	// keeping its path.
	c := newChecker(t, cfg, health.Options{})
	rep, err := c.Check(context.Background(), testRelease, shipprod.Deployment{URL: srv.URL + "/app/"})
	require.NoError(t, err)
	assert.Equal(t, []string{"/app/health", "/app/ready?full=1"}, sortedCopy(paths))
	assert.Equal(t, srv.URL+"/app/health", rep.Checks[0].Target)

	// A base URL wins over the deployment's.
	paths = nil
	cfg.BaseURL = srv.URL + "/base"
	c = newChecker(t, cfg, health.Options{})
	_, err = c.Check(context.Background(), testRelease, shipprod.Deployment{URL: "https://elsewhere.invalid"})
	require.NoError(t, err)
	assert.Equal(t, []string{"/base/health", "/base/ready?full=1"}, sortedCopy(paths))

	// Neither: the checks cannot run at all, which is an error, not a
	// failed check.
	cfg.BaseURL = ""
	c = newChecker(t, cfg, health.Options{})
	rep, err = c.Check(context.Background(), testRelease, shipprod.Deployment{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), `URL "/health" is relative and there is no base URL: set health.base_url`)
	assert.Contains(t, err.Error(), `"ready?full=1"`)
	assert.Empty(t, rep.Checks)
}

func sortedCopy(s []string) []string {
	out := append([]string(nil), s...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

func TestVersionCheck(t *testing.T) {
	live := "2.7.0"
	mux := http.NewServeMux()
	mux.HandleFunc("/api/version", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"version":"v%s","commit":"abc"}`, live)
	})
	mux.HandleFunc("/build.json", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `{"build":{"version":"%s","number":7}}`, live)
	})
	mux.HandleFunc("/version.txt", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintf(w, "%s\n", live) })
	mux.HandleFunc("/footer", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "<footer>Acme web, release %s (c) 2026</footer>", live)
	})
	mux.HandleFunc("/header", func(w http.ResponseWriter, r *http.Request) { w.Header().Set("X-App-Version", live) })
	mux.HandleFunc("/noversion", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, `{"commit":"abc"}`) })
	srv := httptest.NewServer(mux)
	defer srv.Close()

	tests := []struct {
		name  string
		cc    health.CheckConfig
		live  string
		ok    bool
		inMsg string
	}{
		{"json .version with v prefix", health.CheckConfig{Version: "/api/version"}, "2.7.0", true, "version v2.7.0 is live (200 OK"},
		{"json field", health.CheckConfig{Version: "/build.json", VersionField: ".build.version"}, "2.7.0", true, "version 2.7.0 is live"},
		{"plain text", health.CheckConfig{Version: "/version.txt"}, "2.7.0", true, "version 2.7.0 is live"},
		{"regex", health.CheckConfig{Version: "/footer", VersionRegex: `release (\S+)`}, "2.7.0", true, "version 2.7.0 is live"},
		{"header", health.CheckConfig{Version: "/header", VersionHeader: "X-App-Version"}, "2.7.0", true, "version 2.7.0 is live"},
		{"old version still live", health.CheckConfig{Version: "/api/version"}, "2.6.3", false, "version v2.6.3 is live, want 2.7.0"},
		{"old version in text", health.CheckConfig{Version: "/version.txt"}, "2.6.3", false, "version 2.6.3 is live, want 2.7.0"},
		{"missing field", health.CheckConfig{Version: "/noversion"}, "2.7.0", false, `JSON body has no .version (set version_field)`},
		{"jq field", health.CheckConfig{Version: "/build.json", VersionField: `.release // .build.version`}, "2.7.0", true, "version 2.7.0 is live"},
		{"jq field absent", health.CheckConfig{Version: "/build.json", VersionField: `.build.tag`}, "2.7.0", false, `JSON body has no .build.tag: `},
		{"jq field not a string", health.CheckConfig{Version: "/build.json", VersionField: `.build`}, "2.7.0", false, `.build is {"number":7,"version":"2.7.0"}, not a version string`},
		{"jq field error", health.CheckConfig{Version: "/build.json", VersionField: `.build.version.major`}, "2.7.0", false,
			`version_field .build.version.major: expected an object but got: string ("2.7.0")`},
		{"regex no match", health.CheckConfig{Version: "/footer", VersionRegex: `build (\d+)`}, "2.7.0", false, `version_regex "build (\\d+)" does not match the body`},
		{"header missing", health.CheckConfig{Version: "/version.txt", VersionHeader: "X-App-Version"}, "2.7.0", false, "response has no X-App-Version header"},
		{"html is not a version", health.CheckConfig{Version: "/footer"}, "2.7.0", false, "body is not a bare version"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			live = tt.live
			tt.cc.Name = "live-version"
			res := checkOne(t, tt.cc, srv.URL)
			assert.Equal(t, "version", res.Kind)
			if tt.ok {
				assert.Equal(t, shipprod.HealthPass, res.Status, res.Error)
				assert.Contains(t, res.Message, tt.inMsg)
			} else {
				assert.Equal(t, shipprod.HealthFail, res.Status)
				assert.Contains(t, res.Error, tt.inMsg)
			}
		})
	}
}

// The version check waits for a CDN to propagate: the old version is served
// for a while, and the check retries every period until the new one shows.
func TestVersionFieldIsCompiledWithTheConfiguration(t *testing.T) {
	_, err := health.New(health.Config{Checks: []health.CheckConfig{
		{Name: "live-version", Version: "https://example.com/build.json", VersionField: ".build["},
	}}, health.Options{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), `health.checks[0] (live-version): version_field ".build[" is not a jq expression such as .version or .build.version: unexpected EOF`)
}

func TestVersionCheckWaitsForPropagation(t *testing.T) {
	clock := shipprodtest.NewClock(testStart)
	propagatedAt := testStart.Add(95 * time.Second)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v := "2.6.3"
		if !clock.Now().Before(propagatedAt) {
			v = "2.7.0"
		}
		fmt.Fprintf(w, `{"version":%q}`, v)
	}))
	defer srv.Close()

	c, err := health.New(health.Config{
		BaseURL: srv.URL,
		Checks: []health.CheckConfig{{Name: "cdn", Version: "/version.json",
			Timing: health.Timing{InitialDelay: 15 * time.Second, Period: 10 * time.Second, FailureThreshold: 30}}},
	}, health.Options{Clock: clock})
	require.NoError(t, err)
	rep, err := c.Check(context.Background(), testRelease, shipprod.Deployment{})
	require.NoError(t, err)
	res := rep.Checks[0]
	assert.Equal(t, shipprod.HealthPass, res.Status, res.Error)
	// Attempts at 15s, 25s, … 95s.
	assert.Equal(t, 9, res.Attempts)
	assert.Equal(t, 95*time.Second, rep.Duration)
	assert.Equal(t, testStart.Add(95*time.Second), clock.Now())

	// The same check against the restored release after a rollback
	// expects the previous version.
	rep, err = c.Check(context.Background(), testRelease.Previous(), shipprod.Deployment{})
	require.NoError(t, err)
	assert.Equal(t, shipprod.HealthFail, rep.Checks[0].Status)
	assert.Contains(t, rep.Checks[0].Error, "version 2.7.0 is live, want 2.6.3")
}
