package notify_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/shipprod/shipprod"
)

var (
	t0 = time.Date(2026, 3, 14, 9, 26, 53, 0, time.UTC)
	t1 = t0.Add(42 * time.Minute)
)

// The rollback command a Vercel deployment writes.
const rollbackCmd = "vercel promote dpl_prev --scope acme --yes"

func release() shipprod.Release {
	return shipprod.Release{Version: "2.7.0", Tag: "v2.7.0", PreviousVersion: "2.6.3", PreviousTag: "v2.6.3",
		Commit: "1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b", Branch: "main",
		ReleaseURL: "https://github.com/acme/shop/releases/tag/v2.7.0"}
}

func deployment() *shipprod.Deployment {
	return &shipprod.Deployment{Provider: "vercel", ID: "dpl_new", URL: "https://shop.example.com", Environment: "production",
		Commit: release().Commit, Version: "2.7.0", Tag: "v2.7.0", PreviousID: "dpl_prev", RollbackSteps: []string{rollbackCmd}}
}

func failedHealth() *shipprod.HealthReport {
	return &shipprod.HealthReport{CheckedAt: t1, Checks: []shipprod.CheckResult{
		{Name: "home", Kind: "http", Target: "https://shop.example.com/", Status: shipprod.HealthPass, Attempts: 1},
		{Name: "api", Kind: "http", Target: "https://shop.example.com/api/health", Status: shipprod.HealthFail, Attempts: 3,
			Error: "503 Service Unavailable"},
	}}
}

// results holds a Result for every outcome, as the Pipeline makes them.
func results() map[shipprod.Outcome]shipprod.Result {
	base := func(o shipprod.Outcome) shipprod.Result {
		return shipprod.Result{Outcome: o, StartedAt: t0, FinishedAt: t1, Release: release()}
	}
	shipped := base(shipprod.OutcomeShipped)
	shipped.Deployment = deployment()
	shipped.Health = &shipprod.HealthReport{CheckedAt: t1, Checks: []shipprod.CheckResult{
		{Name: "home", Kind: "http", Status: shipprod.HealthPass}, {Name: "api", Kind: "http", Status: shipprod.HealthPass}}}
	shipped.Monitor = &shipprod.MonitorReport{Verdict: shipprod.VerdictPassed, Window: 30 * time.Minute}

	notVerified := base(shipprod.OutcomeNotVerified)
	notVerified.Deployment = deployment()
	notVerified.Monitor = &shipprod.MonitorReport{Verdict: shipprod.VerdictError, Reason: "prometheus unreachable"}
	notVerified.NotVerified = []string{"the monitor's verdict is error: prometheus unreachable"}

	released := base(shipprod.OutcomeReleased)

	rolledBack := base(shipprod.OutcomeRolledBack)
	rolledBack.Deployment = deployment()
	rolledBack.Health = failedHealth()
	rolledBack.Unhealthy = "health check api failed: 503 Service Unavailable"
	rolledBack.Rollback = &shipprod.RollbackReport{Reason: "health check api failed: 503 Service Unavailable",
		Target:   shipprod.Release{Version: "2.6.3", Tag: "v2.6.3"},
		Restored: shipprod.Deployment{Provider: "vercel", ID: "dpl_prev", Tag: "v2.6.3"}}
	rolledBack.Reports = []string{"production-ship-report.md", "production-ship-report.json"}

	unhealthy := base(shipprod.OutcomeUnhealthy)
	unhealthy.Deployment = deployment()
	unhealthy.Health = failedHealth()
	unhealthy.Unhealthy = "health check api failed: 503 Service Unavailable"
	unhealthy.Steps = []shipprod.StepRecord{{Step: shipprod.StepRollback, Status: shipprod.StepSkipped,
		Reason: "policy freeze: production left as it is"}}

	blocked := shipprod.Result{Outcome: shipprod.OutcomeBlocked, StartedAt: t0, FinishedAt: t0,
		Gates: shipprod.GateReport{Source: "specs/001-checkout/state.yaml", Gates: []shipprod.GateResult{
			{Name: "staging_validation", Source: "specs/001-checkout/state.yaml", Key: "manual_gates.staging_validation.status",
				Found: "pending", Required: "approved", Hint: "run /validate-staging and approve it"},
			{Name: "ci", Passed: true, Found: "passed", Required: "passed"},
		}},
		Error: "blocked by release gates"}

	nothing := shipprod.Result{Outcome: shipprod.OutcomeNothingToRelease, StartedAt: t0, FinishedAt: t0,
		Release: shipprod.Release{PreviousVersion: "2.6.3", PreviousTag: "v2.6.3"}}

	failed := base(shipprod.OutcomeFailed)
	failed.Steps = []shipprod.StepRecord{{Step: shipprod.StepVersion, Status: shipprod.StepDone},
		{Step: shipprod.StepTag, Status: shipprod.StepFailed, Error: "push rejected: remote main moved"}}
	failed.Error = "step tag: push rejected: remote main moved"

	interrupted := base(shipprod.OutcomeInterrupted)
	interrupted.Release.Commit = ""
	interrupted.Error = "context canceled"

	return map[shipprod.Outcome]shipprod.Result{
		shipprod.OutcomeShipped: shipped, shipprod.OutcomeNotVerified: notVerified, shipprod.OutcomeReleased: released,
		shipprod.OutcomeRolledBack: rolledBack, shipprod.OutcomeUnhealthy: unhealthy, shipprod.OutcomeBlocked: blocked,
		shipprod.OutcomeNothingToRelease: nothing, shipprod.OutcomeFailed: failed, shipprod.OutcomeInterrupted: interrupted,
	}
}

// recorded is one request a receiver got.
type recorded struct {
	Method, Path string
	Header       http.Header
	Body         []byte
}

// answer is what a receiver answers to one request.
type answer struct {
	status int
	body   string
	header map[string]string
	// hang waits until the request's context ends, answering nothing.
	hang bool
}

// receiver is a fake webhook endpoint: it records each request before it
// answers it, with the answers scripted in order (the last one repeats).
type receiver struct {
	*httptest.Server
	mu      sync.Mutex
	got     []recorded
	answers []answer
}

func newReceiver(t *testing.T, answers ...answer) *receiver {
	t.Helper()
	if len(answers) == 0 {
		answers = []answer{{status: http.StatusOK, body: "ok"}}
	}
	r := &receiver{answers: answers}
	r.Server = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	r.got = append(r.got, recorded{Method: req.Method, Path: req.URL.RequestURI(), Header: req.Header.Clone(), Body: body})
	a := r.answers[min(len(r.got), len(r.answers))-1]
	r.mu.Unlock()
	if a.hang {
		<-req.Context().Done()
		return
	}
	for k, v := range a.header {
		w.Header().Set(k, v)
	}
	w.Header().Set("Content-Type", "text/plain")
	w.WriteHeader(a.status)
	io.WriteString(w, a.body)
}

func (r *receiver) requests() []recorded {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]recorded(nil), r.got...)
}

// env is a fake environment.
type env map[string]string

func (e env) get(k string) string { return e[k] }

var bg = context.Background()
