package health_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"github.com/shipprod/shipprod"
	"github.com/shipprod/shipprod/health"
	"github.com/shipprod/shipprod/internal/yamlstrict"
	"github.com/shipprod/shipprod/shipprodtest"
)

// scripted is a Probe whose attempts succeed or fail as scripted ('+' pass,
// '-' fail, 'w' warn); the last entry repeats.
type scripted struct {
	mu     sync.Mutex
	script string
	n      int
	clock  *shipprodtest.Clock
	times  []time.Duration
}

func (s *scripted) Probe(ctx context.Context, _ health.Target) (health.Observation, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.script[min(s.n, len(s.script)-1)]
	s.n++
	if s.clock != nil {
		s.times = append(s.times, s.clock.Now().Sub(testStart))
	}
	switch c {
	case '+':
		return health.Observation{Message: fmt.Sprintf("attempt %d ok", s.n)}, nil
	case 'w':
		return health.Observation{Status: shipprod.HealthWarn, Message: "degraded"}, nil
	default:
		return health.Observation{}, fmt.Errorf("attempt %d failed", s.n)
	}
}

func TestThresholds(t *testing.T) {
	tests := []struct {
		name     string
		script   string
		timing   health.Timing
		status   shipprod.HealthStatus
		attempts int
		at       []time.Duration // when each attempt ran, on the fake clock
		errText  string
	}{
		{name: "first attempt passes", script: "+", status: shipprod.HealthPass, attempts: 1, at: []time.Duration{0}},
		{name: "defaults: 3 failures in a row fail, 5s apart", script: "-", status: shipprod.HealthFail, attempts: 3,
			at: []time.Duration{0, 5 * time.Second, 10 * time.Second}, errText: "attempt 3 failed"},
		{name: "recovers before the failure threshold", script: "--+", status: shipprod.HealthPass, attempts: 3},
		{name: "initial delay and period", script: "-+", timing: health.Timing{InitialDelay: 30 * time.Second, Period: 2 * time.Second},
			status: shipprod.HealthPass, attempts: 2, at: []time.Duration{30 * time.Second, 32 * time.Second}},
		{name: "success threshold needs consecutive successes", script: "+-++", timing: health.Timing{SuccessThreshold: 2},
			status: shipprod.HealthPass, attempts: 4},
		{name: "failure threshold 1 fails at once", script: "-+", timing: health.Timing{FailureThreshold: 1}, status: shipprod.HealthFail, attempts: 1},
		{name: "failures are counted in a row", script: "--+--+---", timing: health.Timing{SuccessThreshold: 2, MaxAttempts: 20},
			status: shipprod.HealthFail, attempts: 9},
		{name: "flapping ends at max attempts", script: "+-+-+-+-+-", timing: health.Timing{SuccessThreshold: 2, FailureThreshold: 2},
			status: shipprod.HealthFail, attempts: 8, errText: "flapping: neither 2 successes nor 2 failures in a row in 8 attempts (last: attempt 8 failed)"},
		{name: "warn passes with a warning", script: "w", status: shipprod.HealthWarn, attempts: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := shipprodtest.NewClock(testStart)
			probe := &scripted{script: tt.script, clock: clock}
			c, err := health.New(health.Config{}, health.Options{Clock: clock, Checks: []health.Check{
				{Name: "svc", Kind: "scripted", Target: "svc", Probe: probe, Timing: tt.timing},
			}})
			require.NoError(t, err)
			rep, err := c.Check(context.Background(), testRelease, shipprod.Deployment{})
			require.NoError(t, err)
			res := rep.Checks[0]
			assert.Equal(t, tt.status, res.Status, res.Error)
			assert.Equal(t, tt.attempts, res.Attempts)
			if tt.at != nil {
				assert.Equal(t, tt.at, probe.times)
			}
			if tt.errText != "" {
				assert.Equal(t, tt.errText, res.Error)
			}
			assert.Equal(t, testStart, rep.CheckedAt)
		})
	}
}

func TestRunOnceMakesOneAttempt(t *testing.T) {
	clock := shipprodtest.NewClock(testStart)
	probe := &scripted{script: "-+"}
	c, err := health.New(health.Config{}, health.Options{Clock: clock, Checks: []health.Check{
		{Name: "svc", Probe: probe, Timing: health.Timing{InitialDelay: time.Minute}},
	}})
	require.NoError(t, err)
	rep, err := c.RunOnce(context.Background(), testRelease, shipprod.Deployment{})
	require.NoError(t, err)
	assert.Equal(t, shipprod.HealthFail, rep.Checks[0].Status)
	assert.Equal(t, 1, rep.Checks[0].Attempts)
	assert.Equal(t, testStart, clock.Now(), "RunOnce waits for nothing")
	rep, err = c.Once().Check(context.Background(), testRelease, shipprod.Deployment{})
	require.NoError(t, err)
	assert.Equal(t, shipprod.HealthPass, rep.Checks[0].Status)
	assert.Equal(t, "custom", rep.Checks[0].Kind)
}

// The pool runs at most Concurrency checks at once, and all of them.
func TestConcurrencyIsBounded(t *testing.T) {
	var inFlight, peak, total atomic.Int64
	probe := health.ProbeFunc(func(ctx context.Context, _ health.Target) (health.Observation, error) {
		n := inFlight.Add(1)
		defer inFlight.Add(-1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		total.Add(1)
		time.Sleep(5 * time.Millisecond)
		return health.Observation{}, nil
	})
	var checks []health.Check
	for i := range 40 {
		checks = append(checks, health.Check{Name: fmt.Sprintf("c%02d", i), Probe: probe})
	}
	c, err := health.New(health.Config{Concurrency: 3}, health.Options{Checks: checks})
	require.NoError(t, err)
	rep, err := c.Check(context.Background(), testRelease, shipprod.Deployment{})
	require.NoError(t, err)
	assert.Len(t, rep.Checks, 40)
	assert.EqualValues(t, 40, total.Load())
	assert.EqualValues(t, 3, peak.Load())
	for i, r := range rep.Checks {
		assert.Equal(t, fmt.Sprintf("c%02d", i), r.Name, "report keeps the configured order")
	}
}

func TestConfigErrorsAreAllReported(t *testing.T) {
	cfg := health.Config{
		BaseURL:     "example.com",
		Concurrency: -1,
		Checks: []health.CheckConfig{
			{HTTP: "/"},
			{Name: "two-kinds", HTTP: "/", TCP: "db:5432"},
			{Name: "nothing"},
			{Name: "bad-json", HTTP: "/", HTTPOptions: health.HTTPOptions{ExpectJSON: []string{`database == "x"`, `.a = 1`}}},
			{Name: "bad-regex", HTTP: "/", HTTPOptions: health.HTTPOptions{ExpectBodyRegex: "("}},
			{Name: "tcp-with-http-options", TCP: "db:5432", HTTPOptions: health.HTTPOptions{ExpectStatus: 200}},
			{Name: "tcp-no-port", TCP: "db"},
			{Name: "dup", HTTP: "/a"},
			{Name: "dup", HTTP: "/b"},
			{Name: "sql-no-driver", SQL: &health.SQLConfig{Driver: "nosuchdriver", DSNEnv: "NO_SUCH_DSN"}},
			{Name: "custom", Custom: "mine"},
			{Name: "negative", HTTP: "/", Timing: health.Timing{Period: -time.Second}},
			{Name: "status", HTTP: "/", HTTPOptions: health.HTTPOptions{ExpectStatus: 2000}},
			{Name: "redis-user", Redis: &health.RedisConfig{Addr: "cache:6379", Username: "app"}},
			{Name: "cmd", Command: []string{"true"}, ExpectExit: 300},
		},
	}
	_, err := health.New(cfg, health.Options{Getenv: func(string) string { return "" }})
	require.Error(t, err)
	msg := err.Error()
	for _, want := range []string{
		"problems in the health configuration:",
		`health.base_url: "example.com" must be an absolute http or https URL`,
		"health.concurrency is -1",
		"health.checks[0]: name is missing",
		"health.checks[1] (two-kinds): sets http and tcp; a check has exactly one kind",
		"health.checks[2] (nothing): no kind: set one of http, version, assets, tcp, dns, sql, redis, command or custom",
		`health.checks[3] (bad-json): expect_json: expression "database == \"x\"": function not defined: database/0`,
		`expect_json: expression ".a = 1": = assigns in jq and its result always holds; compare with ==`,
		"health.checks[4] (bad-regex): expect_body_regex: error parsing regexp",
		"health.checks[5] (tcp-with-http-options): http options (expect_status): only for http and version checks, not tcp",
		`health.checks[6] (tcp-no-port): tcp "db" is not host:port`,
		`health.checks[8] (dup): name "dup" is used by another check`,
		`health.checks[9] (sql-no-driver): sql.dsn_env: environment variable NO_SUCH_DSN is empty or unset; sql.driver "nosuchdriver" is not registered`,
		`health.checks[10] (custom): custom kind "mine" is not registered (known: none)`,
		"health.checks[11] (negative).period must not be negative",
		"health.checks[12] (status): expect_status 2000 is not an HTTP status",
		"health.checks[13] (redis-user): redis.username needs redis.password_env",
		"health.checks[14] (cmd): expect_exit 300 is not an exit status",
	} {
		assert.Contains(t, msg, want)
	}
}

// The configuration decodes strictly from YAML with the keys the CLI uses.
func TestConfigYAML(t *testing.T) {
	src := `
base_url: https://example.com
timeout: 3s
concurrency: 8
failure_threshold: 5
checks:
  - name: home
    http: /
    expect_status: 200
    timeout: 2s
  - name: api
    http: /api/health
    expect_json: ['.database == "connected"']
    expect_headers: {Content-Type: application/json}
    max_latency: 800ms
    follow_redirects: true
  - name: live-version
    version: /api/version
    version_field: .version
    period: 10s
    initial_delay: 30s
    success_threshold: 2
  - name: db
    sql: {driver: pgx, dsn_env: DATABASE_URL, query: "SELECT 1", expect: "1"}
  - name: cache
    redis: {addr: "cache:6380", password_env: REDIS_PASSWORD, db: 2, tls: {enabled: true, ca_file: /etc/ca.pem}}
  - name: dns
    dns: example.com
    min_addresses: 2
  - name: port
    tcp: example.com:443
  - name: worker
    command: [/usr/local/bin/check-worker, --queue, default]
    expect_exit: 0
`
	var cfg health.Config
	require.NoError(t, yamlstrict.Unmarshal("shipprod.yaml", []byte(src), &cfg))
	assert.Equal(t, "https://example.com", cfg.BaseURL)
	assert.Equal(t, 3*time.Second, cfg.Timeout)
	assert.Equal(t, 5, cfg.FailureThreshold)
	require.Len(t, cfg.Checks, 8)
	assert.Equal(t, 200, cfg.Checks[0].ExpectStatus)
	assert.Equal(t, 2*time.Second, cfg.Checks[0].Timeout)
	assert.Equal(t, 800*time.Millisecond, cfg.Checks[1].MaxLatency)
	assert.Equal(t, 30*time.Second, cfg.Checks[2].InitialDelay)
	assert.Equal(t, "DATABASE_URL", cfg.Checks[3].SQL.DSNEnv)
	assert.True(t, cfg.Checks[4].Redis.TLS.Enabled)
	assert.Equal(t, []string{"/usr/local/bin/check-worker", "--queue", "default"}, cfg.Checks[7].Command)

	err := yamlstrict.Unmarshal("shipprod.yaml", []byte("checks:\n  - name: x\n    http: /\n    expect_stauts: 200\n"), &cfg)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `shipprod.yaml:4: unknown key "checks[0].expect_stauts"`)

	// yaml.v3 alone decodes it too (for importers not using yamlstrict).
	var plain health.Config
	require.NoError(t, yaml.Unmarshal([]byte(src), &plain))
	assert.Equal(t, cfg.Checks[1].ExpectJSON, plain.Checks[1].ExpectJSON)
}

func TestCustomKinds(t *testing.T) {
	kinds := map[string]health.Kind{
		"queue-depth": func(args map[string]string, getenv func(string) string) (health.Probe, error) {
			if args["queue"] == "" {
				return nil, errors.New("args.queue is required")
			}
			return health.ProbeFunc(func(ctx context.Context, t health.Target) (health.Observation, error) {
				return health.Observation{Message: "queue " + args["queue"] + " depth 3 for " + t.Release.Version}, nil
			}), nil
		},
	}
	c := newChecker(t, health.Config{Checks: []health.CheckConfig{
		{Name: "jobs", Custom: "queue-depth", Args: map[string]string{"queue": "mail"}},
	}}, health.Options{Kinds: kinds, Checks: []health.Check{
		{Name: "go-check", Kind: "inline", Target: "in-process", Probe: health.ProbeFunc(func(context.Context, health.Target) (health.Observation, error) {
			return health.Observation{Message: "fine"}, nil
		})},
	}})
	rep, err := c.Check(context.Background(), testRelease, shipprod.Deployment{})
	require.NoError(t, err)
	require.Len(t, rep.Checks, 2)
	assert.Equal(t, shipprod.CheckResult{Name: "jobs", Kind: "queue-depth", Target: "queue-depth", Status: shipprod.HealthPass, Attempts: 1,
		Latency: rep.Checks[0].Latency, Message: "queue mail depth 3 for 2.7.0"}, rep.Checks[0])
	assert.Equal(t, "inline", rep.Checks[1].Kind)

	_, err = health.New(health.Config{Checks: []health.CheckConfig{{Name: "jobs", Custom: "queue-depth"}}}, health.Options{Kinds: kinds})
	require.Error(t, err)
	assert.Contains(t, err.Error(), `health.checks[0] (jobs): custom kind "queue-depth": args.queue is required`)
}

func TestPanickingProbeFailsTheCheck(t *testing.T) {
	c := newChecker(t, health.Config{}, health.Options{Checks: []health.Check{{Name: "boom", Probe: health.ProbeFunc(
		func(context.Context, health.Target) (health.Observation, error) { panic("nil map") })}}})
	rep, err := c.Check(context.Background(), testRelease, shipprod.Deployment{})
	require.NoError(t, err)
	assert.Equal(t, shipprod.HealthFail, rep.Checks[0].Status)
	assert.Equal(t, "probe panicked: nil map", rep.Checks[0].Error)
}

func TestCancelledContextIsAnError(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	probe := health.ProbeFunc(func(ctx context.Context, _ health.Target) (health.Observation, error) {
		cancel()
		return health.Observation{}, errors.New("down")
	})
	c, err := health.New(health.Config{}, health.Options{Clock: shipprodtest.NewClock(testStart), Checks: []health.Check{{Name: "x", Probe: probe}}})
	require.NoError(t, err)
	rep, err := c.Check(ctx, testRelease, shipprod.Deployment{})
	require.ErrorIs(t, err, context.Canceled)
	assert.Equal(t, shipprod.HealthFail, rep.Checks[0].Status)
	assert.Contains(t, rep.Checks[0].Error, "interrupted after 1 attempts (last: down)")
}

// Plan and Run agree: one read-only check action per check, in order, and
// the checks Run reports are the ones planned.
func TestPlanActionsAgreeWithRun(t *testing.T) {
	srv := app(t)
	cfg := health.Config{Checks: []health.CheckConfig{
		{Name: "home", HTTP: "/"},
		{Name: "live-version", Version: "/api/version"},
		{Name: "port", TCP: strings.TrimPrefix(srv.URL, "http://")},
		{Name: "worker", Command: []string{"true", "--queue", "default mail"}},
	}}
	c := newChecker(t, cfg, health.Options{})
	acts, err := c.PlanActions(context.Background(), testRelease)
	require.NoError(t, err)
	again, err := c.PlanActions(context.Background(), testRelease)
	require.NoError(t, err)
	assert.Equal(t, acts, again)
	require.Len(t, acts, 4)
	for _, a := range acts {
		assert.Equal(t, shipprod.ActionCheck, a.Kind)
	}
	assert.Equal(t, "<deployment URL>/", acts[0].Target)
	assert.Equal(t, "health check home: GET <deployment URL>/, expect 200", acts[0].Description)
	assert.Equal(t, "health check live-version: GET <deployment URL>/api/version, expect 200 reporting version 2.7.0", acts[1].Description)
	assert.Equal(t, `health check worker: run true --queue "default mail", expect exit status 0`, acts[3].Description)

	rep, err := c.Check(context.Background(), testRelease, shipprod.Deployment{URL: srv.URL})
	require.NoError(t, err)
	require.Len(t, rep.Checks, len(acts))
	for i, r := range rep.Checks {
		assert.Contains(t, acts[i].Description, "health check "+r.Name+":")
	}

	// With a base URL the plan names the real URLs.
	cfg.BaseURL = "https://example.com/"
	c = newChecker(t, cfg, health.Options{})
	acts, err = c.PlanActions(context.Background(), testRelease)
	require.NoError(t, err)
	assert.Equal(t, "https://example.com/api/version", acts[1].Target)
}

func TestSubset(t *testing.T) {
	probe := health.ProbeFunc(func(context.Context, health.Target) (health.Observation, error) { return health.Observation{}, nil })
	c := newChecker(t, health.Config{}, health.Options{Checks: []health.Check{{Name: "a", Probe: probe}, {Name: "b", Probe: probe}, {Name: "c", Probe: probe}}})
	sub, err := c.Subset("c", "a")
	require.NoError(t, err)
	rep, err := sub.Check(context.Background(), testRelease, shipprod.Deployment{})
	require.NoError(t, err)
	require.Len(t, rep.Checks, 2)
	assert.Equal(t, "c", rep.Checks[0].Name)
	_, err = c.Subset("x")
	assert.EqualError(t, err, `no health check is named "x" (known: a, b, c)`)
	assert.Equal(t, "health checks (3)", c.String())
}

// HealthCheckError from the root package renders a failed report.
func TestReportWithHealthCheckError(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusBadGateway) }))
	defer srv.Close()
	c := newChecker(t, health.Config{BaseURL: srv.URL, Checks: []health.CheckConfig{{Name: "home", HTTP: "/"}}}, health.Options{})
	rep, err := c.Check(context.Background(), testRelease, shipprod.Deployment{})
	require.NoError(t, err)
	require.False(t, rep.OK())
	herr := &shipprod.HealthCheckError{Report: rep}
	assert.Equal(t, "1 of 1 health checks failed: home (http "+srv.URL+"/): status 502 Bad Gateway, want 200", herr.Error())
}
