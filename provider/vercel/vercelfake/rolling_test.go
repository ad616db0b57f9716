package vercelfake_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/shipprod/shipprod/provider/vercel/vercelfake"
	"github.com/shipprod/shipprod/shipprodtest"
)

// rolling is a fake with project web serving old in production, rolling
// releases configured for manual approval at 5%, 25%, 100%, and a staged
// production deployment canary.
func rolling(t *testing.T) (s *vercelfake.Server, old, canary string) {
	s, old = newServer(t)
	status, _, body := call(t, s, "PATCH", "/v1/projects/web/rolling-release/config", "tok",
		`{"enabled":true,"advancementType":"manual-approval","stages":[{"targetPercentage":5},{"targetPercentage":25},{"targetPercentage":100}]}`)
	if status != 200 {
		t.Fatalf("configure: %d %v", status, body)
	}
	canary = s.AddDeployment(vercelfake.Deployment{ProjectID: "prj_1", Target: "production", SHA: "bbb"})
	return s, old, canary
}

func doc(t *testing.T, body map[string]any) map[string]any {
	t.Helper()
	rr, ok := body["rollingRelease"].(map[string]any)
	if !ok {
		t.Fatalf("no rolling release in %v", body)
	}
	return rr
}

func pct(stage any) any {
	if m, ok := stage.(map[string]any); ok {
		return m["targetPercentage"]
	}
	return stage
}

func TestPromoteStartsARollingReleaseThatApprovalsMoveOn(t *testing.T) {
	s, old, canary := rolling(t)
	status, _, body := call(t, s, "GET", "/v1/projects/web/rolling-release", "tok", "")
	if status != 200 || body["rollingRelease"] != nil {
		t.Fatalf("before any deployment: %d %v, want null", status, body)
	}
	if status, _, _ := call(t, s, "POST", "/v10/projects/prj_1/promote/"+canary, "tok", "{}"); status != 202 {
		t.Fatalf("promote: %d", status)
	}
	if got := s.Production("prj_1"); got != old {
		t.Fatalf("production moved to %s at the first stage", got)
	}
	if got := s.Traffic("prj_1"); got != (vercelfake.Split{Production: old, Canary: canary, CanaryPercent: 5, State: "ACTIVE"}) {
		t.Fatalf("split = %+v", got)
	}
	_, _, body = call(t, s, "GET", "/v1/projects/prj_1/rolling-release?state=ACTIVE", "tok", "")
	rr := doc(t, body)
	cur, _ := rr["currentDeployment"].(map[string]any)
	can, _ := rr["canaryDeployment"].(map[string]any)
	if rr["state"] != "ACTIVE" || cur["id"] != old || can["id"] != canary || pct(rr["activeStage"]) != 5.0 || pct(rr["nextStage"]) != 25.0 ||
		rr["advancementType"] != "manual-approval" || len(rr["stages"].([]any)) != 3 {
		t.Fatalf("rolling release = %v", rr)
	}
	if _, _, body := call(t, s, "GET", "/v13/deployments/"+canary, "tok", ""); body["readySubstate"] != "ROLLING" {
		t.Fatalf("canary substate = %v", body["readySubstate"])
	}
	if _, _, body := call(t, s, "GET", "/v1/projects/web/rolling-release?state=COMPLETE", "tok", ""); body["rollingRelease"] != nil {
		t.Fatalf("state filter: %v", body)
	}

	// Approve the next stage: 25%.
	status, _, body = call(t, s, "POST", "/v1/projects/web/rolling-release/approve-stage", "tok", fmt.Sprintf(`{"nextStageIndex":1,"canaryDeploymentId":%q}`, canary))
	if status != 200 || pct(doc(t, body)["activeStage"]) != 25.0 {
		t.Fatalf("approve: %d %v", status, body)
	}
	// The same approval again: the stage moved.
	status, _, body = call(t, s, "POST", "/v1/projects/web/rolling-release/approve-stage", "tok", fmt.Sprintf(`{"nextStageIndex":1,"canaryDeploymentId":%q}`, canary))
	if e, _ := body["error"].(map[string]any); status != 400 || e["code"] != "bad_request" {
		t.Fatalf("stale approve: %d %v", status, body)
	}
	// Another deployment is not the canary.
	status, _, _ = call(t, s, "POST", "/v1/projects/web/rolling-release/complete", "tok", fmt.Sprintf(`{"canaryDeploymentId":%q}`, old))
	if status != 400 {
		t.Fatalf("complete of another deployment: %d", status)
	}
	// Approving the final stage completes the release: production moves.
	status, _, body = call(t, s, "POST", "/v1/projects/web/rolling-release/approve-stage", "tok", fmt.Sprintf(`{"nextStageIndex":2,"canaryDeploymentId":%q}`, canary))
	if rr := doc(t, body); status != 200 || rr["state"] != "COMPLETE" || pct(rr["activeStage"]) != 100.0 || rr["nextStage"] != nil {
		t.Fatalf("final approve: %d %v", status, body)
	}
	if s.Production("prj_1") != canary {
		t.Fatalf("production = %s after completion, want %s", s.Production("prj_1"), canary)
	}
	status, _, body = call(t, s, "POST", "/v1/projects/web/rolling-release/complete", "tok", fmt.Sprintf(`{"canaryDeploymentId":%q}`, canary))
	if status != 400 {
		t.Fatalf("complete once complete: %d %v", status, body)
	}
	var shares []int
	for _, sp := range s.TrafficHistory("prj_1") {
		shares = append(shares, sp.CanaryPercent)
	}
	if fmt.Sprint(shares) != "[5 25 0]" || s.TrafficHistory("prj_1")[2].State != "COMPLETE" {
		t.Fatalf("history = %+v", s.TrafficHistory("prj_1"))
	}
}

func TestInstantRollbackAbortsTheRollingRelease(t *testing.T) {
	s, old, canary := rolling(t)
	call(t, s, "POST", "/v10/projects/prj_1/promote/"+canary, "tok", "{}")
	if status, _, _ := call(t, s, "POST", "/v1/projects/prj_1/rollback/"+old, "tok", ""); status != 201 {
		t.Fatalf("rollback: %d", status)
	}
	_, _, body := call(t, s, "GET", "/v1/projects/web/rolling-release", "tok", "")
	if rr := doc(t, body); rr["state"] != "ABORTED" || rr["activeStage"] != nil || rr["nextStage"] != nil {
		t.Fatalf("after rollback: %v", rr)
	}
	if sp := s.Traffic("prj_1"); sp.Canary != "" || sp.Production != old {
		t.Fatalf("split = %+v", sp)
	}
	status, _, body := call(t, s, "POST", "/v1/projects/web/rolling-release/approve-stage", "tok", fmt.Sprintf(`{"nextStageIndex":1,"canaryDeploymentId":%q}`, canary))
	if e, _ := body["error"].(map[string]any); status != 404 || e["code"] != "not_found" {
		t.Fatalf("approve without an active release: %d %v", status, body)
	}
	// The configuration stays: the next promote starts a new release.
	if _, _, body := call(t, s, "GET", "/v1/projects/web/rolling-release/config", "tok", ""); doc(t, body)["advancementType"] != "manual-approval" {
		t.Fatalf("config after the abort: %v", body)
	}
}

func TestRollingReleaseConfigIsChecked(t *testing.T) {
	s, _ := newServer(t)
	for _, body := range []string{
		`{"enabled":true,"advancementType":"sometimes","stages":[{"targetPercentage":5},{"targetPercentage":100}]}`,
		`{"enabled":true,"advancementType":"manual-approval","stages":[{"targetPercentage":100}]}`,
		`{"enabled":true,"advancementType":"manual-approval","stages":[{"targetPercentage":50},{"targetPercentage":25},{"targetPercentage":100}]}`,
		`{"enabled":true,"advancementType":"manual-approval","stages":[{"targetPercentage":5},{"targetPercentage":50}]}`,
		`{"enabled":true,"advancementType":"automatic","stages":[{"targetPercentage":5},{"targetPercentage":100}]}`,
		`{"enabled":true,"advancementType":"manual-approval","stages":[{"targetPercentage":5,"duration":5},{"targetPercentage":100}]}`,
	} {
		status, _, resp := call(t, s, "PATCH", "/v1/projects/web/rolling-release/config", "tok", body)
		if e, _ := resp["error"].(map[string]any); status != 400 || e["code"] != "bad_request" {
			t.Errorf("%s: %d %v, want 400 bad_request", body, status, resp)
		}
	}
	if s.RollingRelease("prj_1") != nil {
		t.Fatal("a refused configuration was kept")
	}
	if _, _, body := call(t, s, "GET", "/v9/projects/web", "tok", ""); body["rollingRelease"] != nil {
		t.Fatalf("project rollingRelease = %v", body["rollingRelease"])
	}
	if _, _, body := call(t, s, "GET", "/v1/projects/web/rolling-release/billing", "tok", ""); body["reason"] != "unlimited_slots" || body["availableSlots"] != "unlimited" {
		t.Fatalf("billing on Pro: %v", body)
	}
	s.SetHobby(true)
	status, _, _ := call(t, s, "PATCH", "/v1/projects/web/rolling-release/config", "tok",
		`{"enabled":true,"advancementType":"manual-approval","stages":[{"targetPercentage":5},{"targetPercentage":100}]}`)
	if status != 402 {
		t.Fatalf("hobby plan: %d, want 402", status)
	}
	if _, _, body := call(t, s, "GET", "/v1/projects/web/rolling-release/billing", "tok", ""); body["reason"] != "plan_not_supported" || body["availableSlots"] != float64(0) || body["message"] == "" {
		t.Fatalf("billing on Hobby: %v", body)
	}
}

func TestAutomaticRollingReleaseAdvancesOnTheClock(t *testing.T) {
	clock := shipprodtest.NewClock(time.Unix(1_800_000_000, 0))
	s := vercelfake.New(t, vercelfake.Options{Token: "tok", Clock: clock})
	s.AddProject(vercelfake.Project{ID: "prj_1", Name: "web"})
	old := s.AddDeployment(vercelfake.Deployment{ProjectID: "prj_1", Target: "production", SHA: "aaa", Promoted: true})
	s.SetRollingRelease("prj_1", vercelfake.RollingReleaseConfig{Enabled: true, AdvancementType: "automatic",
		Stages: []vercelfake.Stage{{TargetPercentage: 10, Duration: 5}, {TargetPercentage: 50, Duration: 10}, {TargetPercentage: 100}}})
	// A production deployment that would take the domains over starts a
	// release instead.
	_, _, created := call(t, s, "POST", "/v13/deployments", "tok", `{"name":"web","target":"production","gitSource":{"type":"github","repoId":1,"ref":"main","sha":"bbb"}}`)
	id := created["id"].(string)
	for i := 0; i < 8; i++ {
		call(t, s, "GET", "/v13/deployments/"+id, "tok", "")
	}
	if sp := s.Traffic("prj_1"); sp.Canary != id || sp.CanaryPercent != 10 || s.Production("prj_1") != old {
		t.Fatalf("split = %+v, production %s", sp, s.Production("prj_1"))
	}
	_, _, body := call(t, s, "GET", "/v1/projects/web/rolling-release", "tok", "")
	if st, _ := doc(t, body)["activeStage"].(map[string]any); st["duration"] != 300.0 || st["requireApproval"] != false {
		t.Fatalf("active stage = %v", st)
	}
	clock.Advance(5 * time.Minute)
	if sp := s.Traffic("prj_1"); sp.CanaryPercent != 50 {
		t.Fatalf("after 5m: %+v", sp)
	}
	clock.Advance(10 * time.Minute)
	if sp := s.Traffic("prj_1"); sp.State != "COMPLETE" || s.Production("prj_1") != id {
		t.Fatalf("after 15m: %+v, production %s", sp, s.Production("prj_1"))
	}
}

func TestRollingReleaseErrorsAndRateLimits(t *testing.T) {
	s, _, canary := rolling(t)
	s.SetRollingReleaseErrors(vercelfake.RollingReleaseErrors{
		NotActive: vercelfake.ErrorAnswer{Status: http.StatusConflict, Code: "no_active_rollout"},
	})
	status, _, body := call(t, s, "POST", "/v1/projects/web/rolling-release/complete", "tok", fmt.Sprintf(`{"canaryDeploymentId":%q}`, canary))
	if e, _ := body["error"].(map[string]any); status != 409 || e["code"] != "no_active_rollout" || e["message"] == "" {
		t.Fatalf("configured answer: %d %v", status, body)
	}
	s.Inject(vercelfake.Fault{Path: "/v1/projects/web/rolling-release", RateLimit: time.Minute})
	status, hdr, body := call(t, s, "GET", "/v1/projects/web/rolling-release", "tok", "")
	if e, _ := body["error"].(map[string]any); status != 429 || e["code"] != "rate_limited" || hdr.Get("X-RateLimit-Remaining") != "0" {
		t.Fatalf("rate limit: %d %v", status, body)
	}
	if _, hdr, _ := call(t, s, "GET", "/v1/projects/web/rolling-release/config", "tok", ""); hdr.Get("X-RateLimit-Limit") == "" {
		t.Fatal("no rate-limit headers")
	}
	if got := s.Requests(); got[len(got)-1] != "GET /v1/projects/web/rolling-release/config" {
		t.Fatalf("requests = %v", got)
	}
}

func TestDisablingResolvesTheActiveReleaseOnlyWithTheFlag(t *testing.T) {
	s, old, canary := rolling(t)
	call(t, s, "POST", "/v10/projects/prj_1/promote/"+canary, "tok", "{}")
	call(t, s, "DELETE", "/v1/projects/web/rolling-release/config", "tok", "")
	if sp := s.Traffic("prj_1"); sp.CanaryPercent != 5 {
		t.Fatalf("DELETE changed the release in flight: %+v", sp)
	}
	s.SetResolveOnDisable(true)
	call(t, s, "PATCH", "/v1/projects/web/rolling-release/config", "tok", `{"enabled":false,"disableRolloutAction":"complete"}`)
	if sp := s.Traffic("prj_1"); sp.State != "COMPLETE" || sp.Production != canary || old == canary {
		t.Fatalf("disable with complete: %+v", sp)
	}
}
