package vercelfake_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/shipprod/shipprod/provider/vercel/vercelfake"
	"github.com/shipprod/shipprod/shipprodtest"
)

// call makes a raw request, as any Vercel client would.
func call(t *testing.T, s *vercelfake.Server, method, path, token, body string) (int, http.Header, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, s.URL+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var m map[string]any
	json.Unmarshal(raw, &m)
	return resp.StatusCode, resp.Header, m
}

func newServer(t *testing.T) (*vercelfake.Server, string) {
	clock := shipprodtest.NewClock(time.Unix(1_800_000_000, 0))
	s := vercelfake.New(t, vercelfake.Options{Token: "tok", Clock: clock})
	s.AddProject(vercelfake.Project{ID: "prj_1", Name: "web", Domains: []string{"web.example.com"}, Link: map[string]any{"type": "github", "repoId": 1}})
	old := s.AddDeployment(vercelfake.Deployment{ProjectID: "prj_1", Target: "production", SHA: "aaa", Promoted: true})
	return s, old
}

func TestErrorShapesAndHeaders(t *testing.T) {
	s, _ := newServer(t)
	status, hdr, body := call(t, s, "GET", "/v9/projects/web", "expired", "")
	e, _ := body["error"].(map[string]any)
	if status != 403 || e["code"] != "forbidden" || e["invalidToken"] != true {
		t.Fatalf("bad token: %d %v", status, body)
	}
	if hdr.Get("X-RateLimit-Limit") == "" || hdr.Get("X-RateLimit-Remaining") == "" || hdr.Get("X-RateLimit-Reset") == "" {
		t.Fatalf("rate-limit headers missing: %v", hdr)
	}
	s.Inject(vercelfake.Fault{Path: "/v9/projects", RateLimit: 30 * time.Second})
	status, hdr, body = call(t, s, "GET", "/v9/projects/web", "tok", "")
	e, _ = body["error"].(map[string]any)
	limit, _ := e["limit"].(map[string]any)
	if status != 429 || e["code"] != "rate_limited" || limit["reset"] != float64(1_800_000_030) || hdr.Get("X-RateLimit-Remaining") != "0" {
		t.Fatalf("rate limit: %d %v %v", status, body, hdr)
	}
	s.SetQuota(0)
	status, _, body = call(t, s, "POST", "/v13/deployments", "tok", `{"name":"web","gitSource":{"type":"github","repoId":1,"ref":"main"}}`)
	e, _ = body["error"].(map[string]any)
	if status != 402 || e["code"] != "api-deployments-free-per-day" {
		t.Fatalf("quota: %d %v", status, body)
	}
}

func TestCreateValidatesAndProgressesPerPoll(t *testing.T) {
	s, old := newServer(t)
	for _, bad := range []string{`{"gitSource":{"type":"github","repoId":1,"ref":"main"}}`, `{"name":"web","gitSource":{"type":"github","ref":"main"}}`, `{"name":"web","target":"prod","gitSource":{"type":"github","repoId":1,"ref":"main"}}`} {
		if status, _, body := call(t, s, "POST", "/v13/deployments", "tok", bad); status != 400 {
			t.Fatalf("%s: %d %v", bad, status, body)
		}
	}
	status, _, dep := call(t, s, "POST", "/v13/deployments", "tok", `{"name":"web","target":"production","gitSource":{"type":"github","repoId":1,"ref":"v2","sha":"bbb"}}`)
	if status != 200 || dep["readyState"] != "QUEUED" || !strings.HasPrefix(dep["id"].(string), "dpl_") || strings.Contains(dep["url"].(string), "://") {
		t.Fatalf("create: %d %v", status, dep)
	}
	id := dep["id"].(string)
	var seen []string
	for i := 0; i < 10; i++ {
		// Pitfall: the production domain still resolves to the old deployment.
		if _, _, byAlias := call(t, s, "GET", "/v13/deployments/web.example.com", "tok", ""); i < 5 && byAlias["id"] != old {
			t.Fatalf("alias lookup resolved to %v during the build, want the old %s", byAlias["id"], old)
		}
		_, _, d := call(t, s, "GET", "/v13/deployments/"+id, "tok", "")
		state := d["readyState"].(string)
		if sub, ok := d["readySubstate"].(string); ok {
			state += "/" + sub
		}
		if len(seen) == 0 || seen[len(seen)-1] != state {
			seen = append(seen, state)
		}
	}
	want := "QUEUED INITIALIZING BUILDING READY/STAGED READY/PROMOTED"
	if strings.Join(seen, " ") != want {
		t.Fatalf("states %v, want %s", seen, want)
	}
	if s.Production("prj_1") != id {
		t.Fatal("production did not move")
	}
}

func TestListUsesUIDAndServesV6AndV7(t *testing.T) {
	s, old := newServer(t)
	for _, v := range []string{"v6", "v7"} {
		status, _, body := call(t, s, "GET", "/"+v+"/deployments?projectId=web&target=production&sha=aaa", "tok", "")
		list, _ := body["deployments"].([]any)
		if status != 200 || len(list) != 1 {
			t.Fatalf("%s: %d %v", v, status, body)
		}
		item := list[0].(map[string]any)
		if item["uid"] != old || item["id"] != nil || item["state"] != "READY" {
			t.Fatalf("%s item %v", v, item)
		}
	}
}

func TestRollbackRules(t *testing.T) {
	s, old := newServer(t)
	staged := s.AddDeployment(vercelfake.Deployment{ProjectID: "prj_1", Target: "production", SHA: "bbb"})
	if status, _, _ := call(t, s, "POST", "/v1/projects/prj_1/rollback/"+staged, "tok", ""); status != 409 {
		t.Fatalf("rollback to a never-served deployment: %d", status)
	}
	if status, _, _ := call(t, s, "POST", "/v10/projects/prj_1/promote/"+staged, "tok", "{}"); status != 202 {
		t.Fatalf("promote: %d", status)
	}
	for i := 0; i < 3; i++ {
		call(t, s, "GET", "/v9/projects/prj_1", "tok", "")
	}
	if s.Production("prj_1") != staged || !s.AutoAssign("prj_1") {
		t.Fatal("promote did not complete")
	}
	// The CLI's /v9 path and the documented /v1 path both roll back.
	if status, _, _ := call(t, s, "POST", "/v9/projects/prj_1/rollback/"+old, "tok", "{}"); status != 201 {
		t.Fatalf("rollback: %d", status)
	}
	_, _, p := call(t, s, "GET", "/v9/projects/prj_1", "tok", "")
	last := p["lastAliasRequest"].(map[string]any)
	if last["type"] != "rollback" || last["toDeploymentId"] != old {
		t.Fatalf("lastAliasRequest %v", last)
	}
	call(t, s, "GET", "/v9/projects/prj_1", "tok", "")
	if s.Production("prj_1") != old || s.AutoAssign("prj_1") {
		t.Fatal("rollback did not pin production to the old deployment")
	}
}
