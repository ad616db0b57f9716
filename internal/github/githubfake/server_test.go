package githubfake

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shipprod/shipprod/shipprodtest"
)

var epoch = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)

type call struct {
	method, path, body string
	header             map[string]string
}

// do sends a raw request with GitHub's usual headers unless overridden
// (an empty value removes a header).
func do(t *testing.T, s *Server, c call) (*http.Response, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(c.method, s.URL+c.path, strings.NewReader(c.body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("User-Agent", "test")
	req.Header.Set("Accept", "application/vnd.github+json")
	req.Header.Set("Authorization", "Bearer tok")
	for k, v := range c.header {
		if v == "" {
			req.Header.Del(k)
			if k == "User-Agent" {
				req.Header.Set(k, "") // present but empty: Go then sends none
			}
		} else {
			req.Header.Set(k, v)
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var v map[string]any
	_ = json.Unmarshal(b, &v)
	if v == nil {
		v = map[string]any{"_raw": string(b)}
	}
	return resp, v
}

func newServer(t *testing.T) (*Server, *shipprodtest.Clock) {
	clock := shipprodtest.NewClock(epoch)
	s := NewT(t, Options{Clock: clock, Token: "tok"})
	s.AddRepo("acme/web", RepoOptions{})
	return s, clock
}

func TestProtocol(t *testing.T) {
	s, _ := newServer(t)
	for _, tc := range []struct {
		name   string
		c      call
		status int
		msg    string
	}{
		{"ok", call{method: "GET", path: "/repos/acme/web/releases"}, 200, ""},
		{"GHES prefix", call{method: "GET", path: "/api/v3/repos/acme/web/releases"}, 200, ""},
		{"go-github accept", call{method: "GET", path: "/repos/acme/web/releases", header: map[string]string{"Accept": "application/vnd.github.v3+json"}}, 200, ""},
		{"no user agent", call{method: "GET", path: "/repos/acme/web/releases", header: map[string]string{"User-Agent": ""}}, 403, "User-Agent"},
		{"old api version", call{method: "GET", path: "/repos/acme/web/releases", header: map[string]string{"X-GitHub-Api-Version": "2021-01-01"}}, 400, "not supported"},
		{"new api version", call{method: "GET", path: "/repos/acme/web/releases", header: map[string]string{"X-GitHub-Api-Version": "2026-03-10"}}, 200, ""},
		{"accept xml", call{method: "GET", path: "/repos/acme/web/releases", header: map[string]string{"Accept": "application/xml"}}, 415, "Accept"},
		{"no token", call{method: "GET", path: "/repos/acme/web/releases", header: map[string]string{"Authorization": ""}}, 401, "Requires authentication"},
		{"wrong token", call{method: "GET", path: "/repos/acme/web/releases", header: map[string]string{"Authorization": "token nope"}}, 401, "Bad credentials"},
		{"unknown repo", call{method: "GET", path: "/repos/acme/other/releases"}, 404, "Not Found"},
		{"unknown path", call{method: "GET", path: "/nope"}, 404, "Not Found"},
	} {
		resp, body := do(t, s, tc.c)
		if resp.StatusCode != tc.status {
			t.Errorf("%s: status %d, want %d (%v)", tc.name, resp.StatusCode, tc.status, body)
		}
		msg, _ := body["message"].(string)
		raw, _ := body["_raw"].(string)
		if !strings.Contains(msg+raw, tc.msg) {
			t.Errorf("%s: body %v, want %q", tc.name, body, tc.msg)
		}
		for _, h := range []string{"X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Used", "X-RateLimit-Reset", "X-RateLimit-Resource"} {
			if resp.Header.Get(h) == "" {
				t.Errorf("%s: no %s header", tc.name, h)
			}
		}
	}
	reqs := s.Requests()
	if !reqs[1].GHES || reqs[1].Path != "/repos/acme/web/releases" {
		t.Fatalf("GHES request recorded as %+v", reqs[1])
	}
}

func TestPrimaryRateLimit(t *testing.T) {
	s, clock := newServer(t)
	s.SetRateLimit(2, 2, time.Hour)
	for i, want := range []string{"1", "0"} {
		resp, _ := do(t, s, call{method: "GET", path: "/repos/acme/web/releases"})
		if resp.StatusCode != 200 || resp.Header.Get("X-RateLimit-Remaining") != want {
			t.Fatalf("request %d: %d remaining %s", i, resp.StatusCode, resp.Header.Get("X-RateLimit-Remaining"))
		}
	}
	resp, body := do(t, s, call{method: "GET", path: "/repos/acme/web/releases"})
	if resp.StatusCode != 403 || resp.Header.Get("X-RateLimit-Remaining") != "0" || !strings.Contains(body["message"].(string), "API rate limit exceeded") {
		t.Fatalf("exhausted: %d %v", resp.StatusCode, body)
	}
	if resp.Header.Get("X-RateLimit-Reset") != "1777640400" {
		t.Fatalf("reset %s", resp.Header.Get("X-RateLimit-Reset"))
	}
	clock.Advance(time.Hour)
	resp, _ = do(t, s, call{method: "GET", path: "/repos/acme/web/releases"})
	if resp.StatusCode != 200 || resp.Header.Get("X-RateLimit-Remaining") != "1" {
		t.Fatalf("after the reset: %d %s", resp.StatusCode, resp.Header.Get("X-RateLimit-Remaining"))
	}
	s.ExhaustRateLimit(429, time.Minute)
	if resp, _ = do(t, s, call{method: "GET", path: "/repos/acme/web/releases"}); resp.StatusCode != 429 {
		t.Fatalf("429 mode: %d", resp.StatusCode)
	}
}

func TestSecondaryRateLimit(t *testing.T) {
	s, _ := newServer(t)
	s.InjectSecondaryRateLimit(1, 30*time.Second)
	resp, body := do(t, s, call{method: "GET", path: "/repos/acme/web/releases"})
	if resp.StatusCode != 403 || resp.Header.Get("Retry-After") != "30" ||
		!strings.HasSuffix(body["documentation_url"].(string), "#about-secondary-rate-limits") || resp.Header.Get("X-RateLimit-Remaining") == "0" {
		t.Fatalf("secondary: %d %v %v", resp.StatusCode, resp.Header, body)
	}
	if resp, _ = do(t, s, call{method: "GET", path: "/repos/acme/web/releases"}); resp.StatusCode != 200 {
		t.Fatalf("the fault should be spent: %d", resp.StatusCode)
	}
}

func TestReleasesBehaviour(t *testing.T) {
	s, _ := newServer(t)
	resp, body := do(t, s, call{method: "POST", path: "/repos/acme/web/releases", body: `{"tag_name":"v1.0.0","draft":true}`})
	if resp.StatusCode != 201 || body["published_at"] != nil || !strings.Contains(body["html_url"].(string), "/releases/tag/untagged-") || resp.Header.Get("Location") == "" {
		t.Fatalf("draft create: %d %v", resp.StatusCode, body)
	}
	if resp, _ := do(t, s, call{method: "GET", path: "/repos/acme/web/releases/tags/v1.0.0"}); resp.StatusCode != 404 {
		t.Fatalf("a draft must be invisible by tag, got %d", resp.StatusCode)
	}
	// A draft takes no tag: a second draft for it is a second release.
	if resp, body := do(t, s, call{method: "POST", path: "/repos/acme/web/releases", body: `{"tag_name":"v1.0.0","draft":true}`}); resp.StatusCode != 201 {
		t.Fatalf("second draft for one tag: %d %v", resp.StatusCode, body)
	}
	if n := len(s.Releases("acme/web")); n != 2 {
		t.Fatalf("two drafts for one tag: %d releases", n)
	}
	if resp, body = do(t, s, call{method: "POST", path: "/repos/acme/web/releases", body: `{"name":"x"}`}); resp.StatusCode != 422 {
		t.Fatalf("missing tag_name: %d %v", resp.StatusCode, body)
	}
	if resp, body = do(t, s, call{method: "POST", path: "/repos/acme/web/releases", body: `{"tag_name":"v2","make_latest":true}`}); resp.StatusCode != 400 && resp.StatusCode != 422 {
		t.Fatalf("make_latest must be a string: %d %v", resp.StatusCode, body)
	}
	id, otherDraft := s.Releases("acme/web")[0].ID, s.Releases("acme/web")[1].ID
	resp, body = do(t, s, call{method: "PATCH", path: "/repos/acme/web/releases/" + itoa(id), body: `{"draft":false}`})
	if resp.StatusCode != 200 || body["published_at"] == nil || body["html_url"] != "https://github.com/acme/web/releases/tag/v1.0.0" {
		t.Fatalf("publish: %d %v", resp.StatusCode, body)
	}
	if _, ok := s.Tag("acme/web", "v1.0.0"); !ok {
		t.Fatal("publishing must create the tag")
	}
	if resp, _ := do(t, s, call{method: "GET", path: "/repos/acme/web/releases/latest"}); resp.StatusCode != 200 {
		t.Fatalf("latest: %d", resp.StatusCode)
	}
	// Once the tag has a published release, a second published one is
	// refused, created or published from a draft; a draft is still taken.
	resp, body = do(t, s, call{method: "POST", path: "/repos/acme/web/releases", body: `{"tag_name":"v1.0.0"}`})
	errs, _ := body["errors"].([]any)
	if resp.StatusCode != 422 || body["message"] != "Validation Failed" || len(errs) != 1 || errs[0].(map[string]any)["code"] != "already_exists" || body["status"] != "422" {
		t.Fatalf("duplicate: %d %v", resp.StatusCode, body)
	}
	resp, body = do(t, s, call{method: "PATCH", path: "/repos/acme/web/releases/" + itoa(otherDraft), body: `{"draft":false}`})
	errs, _ = body["errors"].([]any)
	if resp.StatusCode != 422 || len(errs) != 1 || errs[0].(map[string]any)["code"] != "already_exists" {
		t.Fatalf("publishing a second release for a tag: %d %v", resp.StatusCode, body)
	}
	if rel := s.Releases("acme/web")[1]; !rel.Draft || !rel.PublishedAt.IsZero() {
		t.Fatalf("a refused publish changed the draft: %+v", rel)
	}
	if resp, body := do(t, s, call{method: "POST", path: "/repos/acme/web/releases", body: `{"tag_name":"v1.0.0","draft":true}`}); resp.StatusCode != 201 {
		t.Fatalf("a draft for a published release's tag: %d %v", resp.StatusCode, body)
	}
	// Renaming a release to a tag another release has is refused, and
	// changes nothing.
	if resp, body := do(t, s, call{method: "POST", path: "/repos/acme/web/releases", body: `{"tag_name":"v1.1.0"}`}); resp.StatusCode != 201 {
		t.Fatalf("second release: %d %v", resp.StatusCode, body)
	}
	resp, body = do(t, s, call{method: "PATCH", path: "/repos/acme/web/releases/" + itoa(id), body: `{"tag_name":"v1.1.0","name":"renamed"}`})
	errs, _ = body["errors"].([]any)
	if resp.StatusCode != 422 || len(errs) != 1 || errs[0].(map[string]any)["code"] != "already_exists" {
		t.Fatalf("rename onto a taken tag: %d %v", resp.StatusCode, body)
	}
	if rel := s.Releases("acme/web")[0]; rel.TagName != "v1.0.0" || rel.Name != "" {
		t.Fatalf("a refused update changed the release: %+v", rel)
	}
	resp, body = do(t, s, call{method: "PATCH", path: "/repos/acme/web/releases/" + itoa(id), body: `{"name":"First","body":"notes"}`})
	if resp.StatusCode != 200 || body["name"] != "First" || body["body"] != "notes" || body["tag_name"] != "v1.0.0" {
		t.Fatalf("update: %d %v", resp.StatusCode, body)
	}
}

func TestDeploymentsBehaviour(t *testing.T) {
	s, _ := newServer(t)
	s.AddRepo("acme/web", RepoOptions{BehindDefault: []string{"topic"}, FailingContexts: []string{"ci/build"}})
	resp, body := do(t, s, call{method: "POST", path: "/repos/acme/web/deployments", body: `{"ref":"topic"}`})
	if resp.StatusCode != 202 || body["message"] != "Auto-merged main into topic on deployment." || len(s.Deployments("acme/web")) != 0 {
		t.Fatalf("auto-merge: %d %v", resp.StatusCode, body)
	}
	resp, body = do(t, s, call{method: "POST", path: "/repos/acme/web/deployments", body: `{"ref":"v1","auto_merge":false}`})
	if resp.StatusCode != 409 || !strings.Contains(body["message"].(string), "Commit status checks failed") {
		t.Fatalf("required contexts: %d %v", resp.StatusCode, body)
	}
	resp, body = do(t, s, call{method: "POST", path: "/repos/acme/web/deployments", body: `{"ref":"v1","auto_merge":false,"required_contexts":[]}`})
	if resp.StatusCode != 201 || body["environment"] != "production" || body["production_environment"] != true {
		t.Fatalf("create: %d %v", resp.StatusCode, body)
	}
	id := itoa(int64(body["id"].(float64)))
	if resp, body = do(t, s, call{method: "POST", path: "/repos/acme/web/deployments/" + id + "/statuses", body: `{"state":"done"}`}); resp.StatusCode != 422 {
		t.Fatalf("bad state: %d %v", resp.StatusCode, body)
	}
	resp, body = do(t, s, call{method: "POST", path: "/repos/acme/web/deployments/" + id + "/statuses", body: `{"state":"success","environment_url":"https://web.acme.com","log_url":"https://ci/1"}`})
	if resp.StatusCode != 201 || body["target_url"] != "https://ci/1" || body["environment_url"] != "https://web.acme.com" {
		t.Fatalf("status: %d %v", resp.StatusCode, body)
	}
}

func TestRunsProgressAndFilters(t *testing.T) {
	s, clock := newServer(t)
	s.AddWorkflow("acme/web", Workflow{File: "deploy.yml", Name: "Deploy", Inputs: map[string]Input{"version": {}},
		Script: RunScript{AppearAfter: 2 * time.Second, Queued: 10 * time.Second, Running: 30 * time.Second, Conclusion: "failure"}})
	s.QueueRunScripts("acme/web", "deploy.yml", RunScript{AppearAfter: 2 * time.Second, Stuck: "waiting"})
	if resp, _ := do(t, s, call{method: "POST", path: "/repos/acme/web/actions/workflows/deploy.yml/dispatches", body: `{"ref":"main","inputs":{"version":"1"}}`}); resp.StatusCode != 204 {
		t.Fatalf("dispatch: %d", resp.StatusCode)
	}
	if resp, _ := do(t, s, call{method: "POST", path: "/repos/acme/web/actions/workflows/deploy.yml/dispatches", body: `{"ref":"main","inputs":{"version":"2"}}`}); resp.StatusCode != 204 {
		t.Fatalf("dispatch: %d", resp.StatusCode)
	}
	push := s.TriggerPush("acme/web", "deploy.yml", "v1.0.0", strings.Repeat("c", 40))
	list := func(q string) []any {
		_, body := do(t, s, call{method: "GET", path: "/repos/acme/web/actions/workflows/deploy.yml/runs?" + q})
		return body["workflow_runs"].([]any)
	}
	if n := len(list("")); n != 0 {
		t.Fatalf("%d runs visible before they appear", n)
	}
	clock.Advance(2 * time.Second)
	if n := len(list("")); n != 3 {
		t.Fatalf("%d runs after they appear", n)
	}
	if n := len(list("event=push&head_sha=" + strings.Repeat("c", 40))); n != 1 {
		t.Fatalf("push filter: %d", n)
	}
	if n := len(list("branch=main&event=workflow_dispatch&created=%3E%3D2026-05-01T12:00:02Z")); n != 2 {
		t.Fatalf("dispatch filter: %d", n)
	}
	if n := len(list("created=2026-05-01T11:00:00Z..2026-05-01T12:00:01Z")); n != 0 {
		t.Fatalf("range filter: %d", n)
	}
	if n := len(list("created=2026-05-01")); n != 3 {
		t.Fatalf("date filter: %d", n)
	}
	if n := len(list("per_page=2&page=2")); n != 1 {
		t.Fatalf("paging: %d", n)
	}
	clock.Advance(time.Minute)
	if n := len(list("status=waiting")); n != 1 {
		t.Fatalf("stuck run: %d", n)
	}
	if n := len(list("status=failure")); n != 2 {
		t.Fatalf("failed runs: %d", n)
	}
	_, body := do(t, s, call{method: "GET", path: "/repos/acme/web/actions/runs/" + itoa(push)})
	if body["status"] != "completed" || body["conclusion"] != "failure" || body["event"] != "push" || body["head_branch"] != "v1.0.0" {
		t.Fatalf("push run %v", body)
	}
	if resp, _ := do(t, s, call{method: "POST", path: "/repos/acme/web/actions/runs/" + itoa(push) + "/cancel"}); resp.StatusCode != 409 {
		t.Fatalf("cancel of a completed run: %d", resp.StatusCode)
	}
	stuck := s.Runs("acme/web")[0].ID
	if resp, _ := do(t, s, call{method: "POST", path: "/repos/acme/web/actions/runs/" + itoa(stuck) + "/cancel"}); resp.StatusCode != 202 {
		t.Fatalf("cancel: %d", resp.StatusCode)
	}
	if r := s.Runs("acme/web")[0]; r.Status != "completed" || r.Conclusion != "cancelled" {
		t.Fatalf("cancelled run %+v", r)
	}
}

func TestFaults(t *testing.T) {
	s, _ := newServer(t)
	s.Inject(Fault{Kind: FaultMalformedJSON, Path: "/releases"})
	resp, body := do(t, s, call{method: "POST", path: "/repos/acme/web/releases", body: `{"tag_name":"v1"}`})
	if resp.StatusCode != 201 || body["_raw"] == nil || len(s.Releases("acme/web")) != 1 {
		t.Fatalf("malformed JSON after effect: %d %v", resp.StatusCode, body)
	}
	s.Inject(Fault{Kind: FaultDrop})
	req, _ := http.NewRequest("GET", s.URL+"/repos/acme/web/releases", nil)
	req.Header.Set("User-Agent", "t")
	req.Header.Set("Authorization", "Bearer tok")
	fresh := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	if resp, err := fresh.Do(req); err == nil {
		resp.Body.Close()
		t.Fatal("the connection should have been dropped")
	}
	if reqs := s.Requests(); reqs[len(reqs)-1].Status != 0 || reqs[len(reqs)-1].Method != "GET" {
		t.Fatalf("the dropped request is recorded as %+v", reqs[len(reqs)-1])
	}
}

// TestRequestRecordedBeforeAnswer reads the record while the answer is
// still on its way: the client has the status line and headers and has not
// read the body. The body (16 MiB) is larger than what the sockets buffer
// (4 MiB at most for the sender on Linux by default, 4 KiB for this
// client), so the server is still writing it; a fake that recorded the
// request only after answering would show nothing yet. (The body is closed
// unread: through a 4 KiB window it would take minutes.)
func TestRequestRecordedBeforeAnswer(t *testing.T) {
	s, _ := newServer(t)
	id := s.AddRelease("acme/web", ReleaseInfo{TagName: "v1", Body: strings.Repeat("x", 16<<20)})
	dialer := &net.Dialer{}
	client := &http.Client{Transport: &http.Transport{
		DisableKeepAlives: true,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			conn, err := dialer.DialContext(ctx, network, addr)
			if tc, ok := conn.(*net.TCPConn); ok {
				_ = tc.SetReadBuffer(4096) // keep the body in the server's hands
			}
			return conn, err
		},
	}}
	req, _ := http.NewRequest("GET", s.URL+"/repos/acme/web/releases/"+itoa(id), nil)
	req.Header.Set("User-Agent", "t")
	req.Header.Set("Authorization", "Bearer tok")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	reqs := s.RequestsTo("GET", "/releases/"+itoa(id))
	if len(reqs) != 1 || reqs[0].Status != http.StatusOK {
		t.Fatalf("with the answer's headers in hand, the fake has recorded %+v", reqs)
	}
}

func itoa(i int64) string { return strconv.FormatInt(i, 10) }

// TestGHESPrefixInLinks follows the Link header of paginated lists under
// GitHub Enterprise Server's /api/v3 prefix literally, as clients do, and
// the url fields of the items, which must stay under the prefix too.
func TestGHESPrefixInLinks(t *testing.T) {
	s, clock := newServer(t)
	s.AddWorkflow("acme/web", Workflow{File: "deploy.yml"})
	for i := range 5 {
		s.AddRelease("acme/web", ReleaseInfo{TagName: "v1.0." + strconv.Itoa(i)})
		s.TriggerPush("acme/web", "deploy.yml", "v1.0."+strconv.Itoa(i), strings.Repeat("c", 40))
		clock.Advance(time.Second)
	}
	for _, root := range []string{s.GHESURL(), s.APIURL()} {
		for _, list := range []struct{ path, key, field, selfField string }{
			{"repos/acme/web/releases?per_page=2", "", "tag_name", "url"},
			{"repos/acme/web/actions/workflows/deploy.yml/runs?per_page=2&event=push", "workflow_runs", "head_branch", "workflow_url"},
		} {
			t.Run(root+list.path, func(t *testing.T) {
				s.ResetRequests()
				next := root + list.path
				var got []string
				for pages := 0; next != ""; pages++ {
					if pages > 5 {
						t.Fatal("the Link header never ends")
					}
					resp, items := getList(t, s, next, list.key)
					if resp.StatusCode != http.StatusOK {
						t.Fatalf("GET %s (taken literally from the Link header): %d", next, resp.StatusCode)
					}
					for _, it := range items {
						got = append(got, it[list.field].(string))
						for _, f := range []string{"url", list.selfField} {
							self := it[f].(string)
							if !strings.HasPrefix(self, root) {
								t.Fatalf("%s %s is not under %s", f, self, root)
							}
							if resp, _ := getList(t, s, self, ""); resp.StatusCode != http.StatusOK {
								t.Fatalf("GET %s (the item's %s): %d", self, f, resp.StatusCode)
							}
						}
					}
					next = ""
					for _, l := range parseLink(resp.Header.Get("Link")) {
						if !strings.HasPrefix(l.url, root) {
							t.Fatalf("Link %s %q is not under %s", l.rel, l.url, root)
						}
						if l.rel == "next" {
							next = l.url
						}
					}
				}
				if strings.Join(got, ",") != "v1.0.4,v1.0.3,v1.0.2,v1.0.1,v1.0.0" {
					t.Fatalf("the pages gave %v, want all 5, newest first", got)
				}
				for _, r := range s.Requests() {
					if r.GHES != strings.HasSuffix(root, "/api/v3/") {
						t.Fatalf("request %s %s (GHES %v) left the API root %s", r.Method, r.Path, r.GHES, root)
					}
				}
			})
		}
	}
}

// getList GETs an absolute URL and decodes its JSON: the array under key,
// the array itself when key is "", or one object as a one-element list.
func getList(t *testing.T, s *Server, u, key string) (*http.Response, []map[string]any) {
	t.Helper()
	req, err := http.NewRequest("GET", u, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("User-Agent", "test")
	req.Header.Set("Authorization", "Bearer tok")
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if key != "" {
		var obj map[string][]map[string]any
		_ = json.Unmarshal(b, &obj)
		return resp, obj[key]
	}
	var list []map[string]any
	if json.Unmarshal(b, &list) != nil {
		var one map[string]any
		_ = json.Unmarshal(b, &one)
		list = []map[string]any{one}
	}
	return resp, list
}

type link struct{ url, rel string }

// parseLink parses a Link header as GitHub writes it:
// <url>; rel="next", <url>; rel="last".
func parseLink(h string) []link {
	var out []link
	for _, part := range strings.Split(h, ",") {
		u, params, ok := strings.Cut(strings.TrimSpace(part), ";")
		if !ok {
			continue
		}
		rel := strings.Trim(strings.TrimPrefix(strings.TrimSpace(params), "rel="), `"`)
		out = append(out, link{url: strings.Trim(strings.TrimSpace(u), "<>"), rel: rel})
	}
	return out
}
