// Package githubfake is a local fake of the GitHub REST API for tests: an
// httptest server that follows GitHub's documented behaviour for the
// endpoints shipprod uses — releases, deployments and their statuses,
// workflow dispatch and workflow runs — closely enough that a real client
// (google/go-github) cannot tell the difference, including the ways GitHub
// misbehaves:
//
//   - every answer carries x-ratelimit-limit/remaining/used/reset/resource;
//     the primary limit is counted per request and resets on the injected
//     clock, and can be exhausted on demand (403 or 429 with remaining 0);
//     secondary limits (403/429 with retry-after and the
//     #about-secondary-rate-limits documentation URL) can be injected;
//   - a User-Agent is required (403 without), X-GitHub-Api-Version must be
//     2022-11-28 or 2026-03-10 (400 otherwise), Accept must be JSON-ish;
//   - the API is served under "/" and under GitHub Enterprise Server's
//     "/api/v3/" prefix, and the URLs an answer carries (Link, url,
//     Location) stay under the prefix the request used;
//   - releases: 201 on create, 422 already_exists when a published release
//     would share its tag with another published one (a draft takes no tag:
//     any number of drafts may name one tag), get-by-tag answers 404 for
//     drafts, the list includes drafts, newest first, paged with a Link
//     header;
//   - deployments: 201, 202 when auto_merge merged the default branch (no
//     deployment created), 409 when required commit statuses fail, statuses
//     with auto_inactive;
//   - workflow dispatch: 204, or 200 with run details when asked (or 400 for
//     the unknown field, as GitHub Enterprise Server ≤ 3.20 answers), 422
//     for a missing trigger, unknown ref, unexpected or missing inputs, 403
//     without actions:write;
//   - runs appear a configurable time after the trigger, move queued →
//     in_progress → completed on the injected clock (or stay stuck), and
//     the runs list filters by event, branch, status, created, head_sha and
//     pages;
//   - the repository (with the token's permissions) and file contents at a
//     ref, base64-encoded; workflow files are generated from the workflows'
//     definitions unless set with SetFile;
//   - faults: 5xx bursts, dropped connections (before or after the request
//     took effect), malformed JSON.
//
// Time in the fake — timestamps, run progress, rate-limit resets — follows
// the clock.Clock it is given, so tests use shipprodtest.Clock and run
// half an hour of GitHub in milliseconds.
package githubfake

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shipprod/shipprod/internal/clock"
)

// SupportedAPIVersions are the X-GitHub-Api-Version values the fake accepts;
// any other is a 400, as GitHub answers.
var SupportedAPIVersions = []string{"2022-11-28", "2026-03-10"}

// Options configure a Server.
type Options struct {
	// Clock is the fake's time; nil means the system clock.
	Clock clock.Clock
	// Token, when set, is the only token accepted (Bearer or token scheme);
	// requests without it get 401. Empty accepts any token but still
	// requires one.
	Token string
	// RateLimit is the primary budget per hour (default 5000).
	RateLimit int
	// WebURL is the web root used in html_url fields (default https://github.com).
	WebURL string
	// GHESVersion, when set, makes GET /meta report installed_version, as
	// GitHub Enterprise Server does.
	GHESVersion string
}

// Server is a fake GitHub. Create it with New or NewT; it is safe for
// concurrent use.
type Server struct {
	// URL is the server's root, without a trailing slash. The REST API is
	// at URL+"/" (like api.github.com) and at URL+"/api/v3/" (like GitHub
	// Enterprise Server).
	URL string

	srv    *httptest.Server
	clock  clock.Clock
	token  string
	webURL string
	ghes   string

	mu       sync.Mutex
	repos    map[string]*repo
	nextID   int64
	faults   []*Fault
	rate     rateState
	requests []Request
	mux      *http.ServeMux
}

type rateState struct {
	limit, remaining int
	reset            time.Time
	status           int // status of a primary rate-limit answer (403 or 429)
}

// Request is one request the server received.
type Request struct {
	Method string
	// Path is the API path without the /api/v3 prefix, e.g.
	// "/repos/acme/web/releases".
	Path     string
	RawQuery string
	Body     []byte
	// GHES is true when the request came in under /api/v3/.
	GHES       bool
	UserAgent  string
	APIVersion string
	Accept     string
	// Status is the status the server answered (0 for a dropped connection).
	Status int
}

// JSON decodes the request body into v.
func (r Request) JSON(v any) error { return json.Unmarshal(r.Body, v) }

// New starts a Server. Close it when done.
func New(o Options) *Server {
	s := &Server{
		clock:  o.Clock,
		token:  o.Token,
		webURL: strings.TrimSuffix(o.WebURL, "/"),
		ghes:   o.GHESVersion,
		repos:  map[string]*repo{},
		nextID: 1000,
	}
	if s.clock == nil {
		s.clock = clock.System()
	}
	if s.webURL == "" {
		s.webURL = "https://github.com"
	}
	limit := o.RateLimit
	if limit <= 0 {
		limit = 5000
	}
	s.rate = rateState{limit: limit, remaining: limit, reset: s.clock.Now().Add(time.Hour), status: http.StatusForbidden}
	s.mux = http.NewServeMux()
	s.routes()
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.srv.URL
	return s
}

// NewT starts a Server that is closed when the test ends.
func NewT(t testing.TB, o Options) *Server {
	t.Helper()
	s := New(o)
	t.Cleanup(s.Close)
	return s
}

// Close shuts the server down.
func (s *Server) Close() { s.srv.Close() }

// APIURL is the REST root in github.com style (URL + "/").
func (s *Server) APIURL() string { return s.URL + "/" }

// GHESURL is the REST root in GitHub Enterprise Server style (URL + "/api/v3/").
func (s *Server) GHESURL() string { return s.URL + "/api/v3/" }

// Client returns an HTTP client for the server.
func (s *Server) Client() *http.Client { return s.srv.Client() }

// Requests returns every request received so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// RequestCount returns the number of requests received so far.
func (s *Server) RequestCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.requests)
}

// RequestsTo returns the requests whose method matches (""=any) and whose
// path contains pathPart.
func (s *Server) RequestsTo(method, pathPart string) []Request {
	var out []Request
	for _, r := range s.Requests() {
		if (method == "" || r.Method == method) && strings.Contains(r.Path, pathPart) {
			out = append(out, r)
		}
	}
	return out
}

// ResetRequests forgets the recorded requests.
func (s *Server) ResetRequests() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = nil
}

// ---- rate limits and faults ----

// ExhaustRateLimit spends the primary rate limit: until resetIn has passed
// on the server's clock, every request is answered with status (403 or 429)
// and x-ratelimit-remaining: 0, as GitHub does.
func (s *Server) ExhaustRateLimit(status int, resetIn time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rate.remaining = 0
	s.rate.reset = s.clock.Now().Add(resetIn).Truncate(time.Second)
	s.rate.status = status
}

// SetRateLimit sets the primary budget and what is left of it; the window
// resets after resetIn.
func (s *Server) SetRateLimit(limit, remaining int, resetIn time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rate.limit, s.rate.remaining = limit, remaining
	s.rate.reset = s.clock.Now().Add(resetIn).Truncate(time.Second)
}

// FaultKind is what an injected fault does.
type FaultKind int

// Fault kinds.
const (
	// FaultStatus answers Status (e.g. 502) with a GitHub-style error body.
	FaultStatus FaultKind = iota + 1
	// FaultDrop closes the connection without an answer.
	FaultDrop
	// FaultMalformedJSON serves the real answer's status with its JSON body cut short.
	FaultMalformedJSON
	// FaultSecondaryRateLimit answers 403 (or Status) with GitHub's
	// secondary-rate-limit message and, when RetryAfter > 0, retry-after.
	FaultSecondaryRateLimit
)

// Fault is a misbehaviour injected into matching requests.
type Fault struct {
	Kind FaultKind
	// Method and Path select the requests ("" matches any; Path is a
	// substring of the API path).
	Method, Path string
	// Times is how many matching requests the fault affects (default 1).
	Times int
	// Status for FaultStatus (default 502) and FaultSecondaryRateLimit (default 403).
	Status int
	// RetryAfter for FaultSecondaryRateLimit.
	RetryAfter time.Duration
	// AfterEffect makes FaultStatus and FaultDrop happen after the request
	// took effect (the release was created, the workflow dispatched), the
	// ambiguous failure clients must survive. FaultMalformedJSON always
	// happens after the effect.
	AfterEffect bool
}

// Inject adds faults. They apply in order to matching requests.
func (s *Server) Inject(faults ...Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range faults {
		f := faults[i]
		if f.Times <= 0 {
			f.Times = 1
		}
		s.faults = append(s.faults, &f)
	}
}

// ClearFaults removes every fault not yet spent.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

// InjectSecondaryRateLimit makes the next n requests hit a secondary rate limit.
func (s *Server) InjectSecondaryRateLimit(n int, retryAfter time.Duration) {
	s.Inject(Fault{Kind: FaultSecondaryRateLimit, Times: n, RetryAfter: retryAfter})
}

// takeFault returns the first fault matching r, consuming one of its uses.
func (s *Server) takeFault(method, path string) *Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, f := range s.faults {
		if (f.Method == "" || f.Method == method) && strings.Contains(path, f.Path) {
			f.Times--
			if f.Times <= 0 {
				s.faults = append(s.faults[:i:i], s.faults[i+1:]...)
			}
			c := *f
			return &c
		}
	}
	return nil
}

// ---- the request pipeline ----

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	path := r.URL.Path
	ghes := false
	if p, ok := strings.CutPrefix(path, ghesPrefix); ok && (p == "" || strings.HasPrefix(p, "/")) {
		path, ghes = p, true
		if path == "" {
			path = "/"
		}
		// The routes see the path without the prefix; the URLs the
		// answer carries (Link, url, Location) put it back.
		r = r.WithContext(context.WithValue(r.Context(), prefixKey{}, ghesPrefix))
		r.URL.Path = path
		r.URL.RawPath = ""
	}
	rec := Request{
		Method: r.Method, Path: path, RawQuery: r.URL.RawQuery, Body: body, GHES: ghes,
		UserAgent: r.UserAgent(), APIVersion: r.Header.Get("X-GitHub-Api-Version"), Accept: r.Header.Get("Accept"),
	}
	a := s.handle(r)
	// The request is on record before the client sees any byte of the
	// answer: a test that reads Requests as soon as its client returned
	// finds every request the client made.
	rec.Status = a.status
	s.mu.Lock()
	s.requests = append(s.requests, rec)
	s.mu.Unlock()
	s.write(w, a)
}

// answer is what the server does with a request, decided before any of it
// is written: a status, body and headers, or a dropped connection.
type answer struct {
	status int // 0 when dropped
	body   []byte
	header http.Header
}

func dropped() answer { return answer{} }

// handle runs one request and returns its answer.
func (s *Server) handle(r *http.Request) answer {
	fault := s.takeFault(r.Method, r.URL.Path)
	if fault != nil && !fault.AfterEffect {
		if a, ok := faultBeforeEffect(fault); ok {
			return a
		}
	}
	if a, refused := s.refuse(r); refused {
		return a
	}
	resp := httptest.NewRecorder()
	s.mux.ServeHTTP(resp, r)
	a := answer{status: resp.Code, body: resp.Body.Bytes(), header: resp.Header()}
	if fault != nil && (fault.AfterEffect || fault.Kind == FaultMalformedJSON) {
		return faultAfterEffect(fault, a)
	}
	return a
}

// faultBeforeEffect is the answer of a fault that strikes before the
// request reaches the API; ok is false for the kinds that strike after.
func faultBeforeEffect(f *Fault) (answer, bool) {
	switch f.Kind {
	case FaultDrop:
		return dropped(), true
	case FaultStatus:
		st := orInt(f.Status, http.StatusBadGateway)
		return answer{status: st, body: errorBody(st, serverErrorMessage(st), "")}, true
	case FaultSecondaryRateLimit:
		st := orInt(f.Status, http.StatusForbidden)
		h := http.Header{}
		if f.RetryAfter > 0 {
			h.Set("Retry-After", strconv.Itoa(int((f.RetryAfter+time.Second-1)/time.Second)))
		}
		return answer{status: st, header: h, body: errorBody(st,
			"You have exceeded a secondary rate limit. Please wait a few minutes before you try again. If you reach out to GitHub Support for help, please include the request ID 0000:0000:0000000:0000000:00000000.",
			"https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits")}, true
	}
	return answer{}, false
}

// faultAfterEffect turns the real answer a into what the fault makes of it.
func faultAfterEffect(f *Fault, a answer) answer {
	switch f.Kind {
	case FaultDrop:
		return dropped()
	case FaultStatus:
		st := orInt(f.Status, http.StatusBadGateway)
		return answer{status: st, body: errorBody(st, serverErrorMessage(st), "")}
	case FaultMalformedJSON:
		if len(a.body) < 2 {
			a.body = []byte(`{"message":`)
		} else {
			a.body = a.body[:len(a.body)/2]
		}
	}
	return a
}

// refuse checks what GitHub checks before routing — User-Agent, API
// version, Accept, credentials, the primary rate limit — and returns the
// refusal, if any.
func (s *Server) refuse(r *http.Request) (answer, bool) {
	if r.UserAgent() == "" {
		// GitHub's text for a request without User-Agent.
		return answer{status: http.StatusForbidden, header: http.Header{"Content-Type": {"text/plain; charset=utf-8"}},
			body: []byte("Request forbidden by administrative rules. Please make sure your request has a User-Agent header (https://docs.github.com/en/rest/overview/resources-in-the-rest-api#user-agent-required). Check https://developer.github.com for other possible causes.\n")}, true
	}
	if v := r.Header.Get("X-GitHub-Api-Version"); v != "" && !contains(SupportedAPIVersions, v) {
		return answer{status: http.StatusBadRequest, body: errorBody(http.StatusBadRequest,
			fmt.Sprintf("API version '%s' is not supported. Supported versions are %s.", v, strings.Join(SupportedAPIVersions, ", ")),
			"https://docs.github.com/rest/about-the-rest-api/api-versions")}, true
	}
	if a := r.Header.Get("Accept"); a != "" && !acceptable(a) {
		return answer{status: http.StatusUnsupportedMediaType, body: errorBody(http.StatusUnsupportedMediaType,
			"Unsupported 'Accept' header: '"+a+"'. Must accept 'application/json'.", "https://docs.github.com/rest/overview/media-types")}, true
	}
	if !s.authorized(r) {
		msg := "Bad credentials"
		if r.Header.Get("Authorization") == "" {
			msg = "Requires authentication"
		}
		return answer{status: http.StatusUnauthorized, body: errorBody(http.StatusUnauthorized, msg, "https://docs.github.com/rest")}, true
	}
	if st, limited := s.spendRate(); limited {
		return answer{status: st, body: errorBody(st, "API rate limit exceeded for user ID 1. If you reach out to GitHub Support for help, please include the request ID 0000:0000:0000000:0000000:00000000.",
			"https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-the-rate-limit")}, true
	}
	return answer{}, false
}

// write sends a, with GitHub's common headers, or drops the connection.
func (s *Server) write(w http.ResponseWriter, a answer) {
	if a.status == 0 {
		drop(w)
		return
	}
	for k, vs := range a.header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	if w.Header().Get("Content-Type") == "" && len(a.body) > 0 {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
	}
	s.mu.Lock()
	rs := s.rate
	s.mu.Unlock()
	w.Header().Set("X-RateLimit-Limit", strconv.Itoa(rs.limit))
	w.Header().Set("X-RateLimit-Remaining", strconv.Itoa(rs.remaining))
	w.Header().Set("X-RateLimit-Used", strconv.Itoa(rs.limit-rs.remaining))
	w.Header().Set("X-RateLimit-Reset", strconv.FormatInt(rs.reset.Unix(), 10))
	w.Header().Set("X-RateLimit-Resource", "core")
	w.Header().Set("X-GitHub-Media-Type", "github.v3; format=json")
	w.Header().Set("X-GitHub-Api-Version-Selected", "2022-11-28")
	w.Header().Set("X-GitHub-Request-Id", fmt.Sprintf("FAKE:%04X", len(a.body)))
	w.WriteHeader(a.status)
	if a.status != http.StatusNoContent {
		_, _ = w.Write(a.body)
	}
}

// spendRate counts a request against the primary limit; it reports the
// status to answer when the limit is spent.
func (s *Server) spendRate() (int, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock.Now()
	if !now.Before(s.rate.reset) {
		s.rate.remaining = s.rate.limit
		s.rate.reset = now.Add(time.Hour).Truncate(time.Second)
	}
	if s.rate.remaining <= 0 {
		return s.rate.status, true
	}
	s.rate.remaining--
	return 0, false
}

func (s *Server) authorized(r *http.Request) bool {
	h := r.Header.Get("Authorization")
	var tok string
	switch {
	case strings.HasPrefix(h, "Bearer "):
		tok = strings.TrimPrefix(h, "Bearer ")
	case strings.HasPrefix(h, "token "):
		tok = strings.TrimPrefix(h, "token ")
	default:
		return false
	}
	return tok != "" && (s.token == "" || tok == s.token)
}

func drop(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic("githubfake: cannot drop the connection")
	}
	conn, _, err := hj.Hijack()
	if err == nil {
		conn.Close()
	}
}

func acceptable(a string) bool {
	for _, part := range strings.Split(a, ",") {
		mt := strings.TrimSpace(strings.SplitN(part, ";", 2)[0])
		if mt == "*/*" || mt == "application/*" || strings.HasSuffix(mt, "json") || strings.HasPrefix(mt, "application/vnd.github") {
			return true
		}
	}
	return false
}

func serverErrorMessage(status int) string {
	switch status {
	case http.StatusBadGateway:
		return "Server Error"
	case http.StatusServiceUnavailable:
		return "Service Unavailable"
	case http.StatusGatewayTimeout:
		return "We couldn't respond to your request in time. Sorry about that. Please try resubmitting your request and contact us if the problem persists."
	default:
		return http.StatusText(status)
	}
}

// errorBody is GitHub's error shape.
func errorBody(status int, message, docURL string) []byte {
	if docURL == "" {
		docURL = "https://docs.github.com/rest"
	}
	b, _ := json.Marshal(map[string]any{"message": message, "documentation_url": docURL, "status": strconv.Itoa(status)})
	return b
}

// validationError is a 422 with GitHub's errors array.
func validationError(docURL string, errs ...map[string]string) []byte {
	b, _ := json.Marshal(map[string]any{"message": "Validation Failed", "errors": errs, "documentation_url": docURL, "status": "422"})
	return b
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeRaw(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

func notFound(w http.ResponseWriter, docURL string) {
	writeRaw(w, http.StatusNotFound, errorBody(http.StatusNotFound, "Not Found", docURL))
}

func orInt(v, def int) int {
	if v != 0 {
		return v
	}
	return def
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// ts formats a time as GitHub does (UTC, seconds).
func ts(t time.Time) string { return t.UTC().Truncate(time.Second).Format(time.RFC3339) }

func tsOrNil(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return ts(t)
}

// paginate cuts items into the page the query asks for and sets the Link
// header as GitHub does.
func paginate[T any](w http.ResponseWriter, r *http.Request, items []T) []T {
	q := r.URL.Query()
	per, _ := strconv.Atoi(q.Get("per_page"))
	if per <= 0 {
		per = 30
	}
	if per > 100 {
		per = 100
	}
	page, _ := strconv.Atoi(q.Get("page"))
	if page <= 0 {
		page = 1
	}
	last := (len(items) + per - 1) / per
	if last == 0 {
		last = 1
	}
	link := func(p int, rel string) string {
		u := *r.URL
		qq := u.Query()
		qq.Set("page", strconv.Itoa(p))
		qq.Set("per_page", strconv.Itoa(per))
		u.RawQuery = qq.Encode()
		u.Scheme, u.Host = "http", r.Host
		u.Path = apiPrefix(r) + u.Path
		return fmt.Sprintf("<%s>; rel=%q", u.String(), rel)
	}
	var links []string
	if page < last {
		links = append(links, link(page+1, "next"), link(last, "last"))
	}
	if page > 1 {
		links = append(links, link(1, "first"), link(page-1, "prev"))
	}
	if len(links) > 0 {
		w.Header().Set("Link", strings.Join(links, ", "))
	}
	start := (page - 1) * per
	if start >= len(items) {
		return []T{}
	}
	end := min(start+per, len(items))
	return items[start:end]
}

// ghesPrefix is where GitHub Enterprise Server serves the REST API.
const ghesPrefix = "/api/v3"

// prefixKey marks, in a request's context, the API prefix the request came
// in under (the path the routes see has it stripped).
type prefixKey struct{}

// apiPrefix is the prefix r came in under: "/api/v3" or "".
func apiPrefix(r *http.Request) string {
	p, _ := r.Context().Value(prefixKey{}).(string)
	return p
}

// apiURL is the API URL of path for self links, under the root r came in
// under, so that a client of GitHub Enterprise Server can follow it.
func (s *Server) apiURL(r *http.Request, path string) string { return s.URL + apiPrefix(r) + path }

func (s *Server) id() int64 {
	s.nextID++
	return s.nextID
}

func unescape(p string) string {
	if u, err := url.PathUnescape(p); err == nil {
		return u
	}
	return p
}
