// Package promtest is a fake Prometheus server for tests, in the spirit of
// net/http/httptest. It answers the instant-query API (/api/v1/query, GET
// and POST form) and the alerts API (/api/v1/alerts) the way a real server
// does — the same envelope, result types, string-encoded sample values,
// error types and HTTP status codes — with results scripted per query.
// It covers what a real Prometheus cannot produce on demand: NaN, empty
// results, each error type, slow answers, warnings, infos and refused POSTs.
//
//	srv := promtest.NewServer(t)
//	srv.Set(`sum(rate(http_requests_total{code=~"5.."}[5m]))`, promtest.Vector(0.002), promtest.Vector(0.09))
//	srv.Set(`histogram_quantile(0.95, …)`, promtest.Fail(prometheus.ErrTimeout, "query timed out in expression evaluation"))
//	// srv.URL is the Prometheus URL.
package promtest

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shipprod/shipprod/health/prometheus"
)

// StatusCode returns the HTTP status a Prometheus server answers with for an
// error type.
func StatusCode(t prometheus.ErrorType) int {
	switch t {
	case prometheus.ErrBadData:
		return http.StatusBadRequest
	case prometheus.ErrExecution:
		return http.StatusUnprocessableEntity
	case prometheus.ErrTimeout:
		return http.StatusServiceUnavailable
	case prometheus.ErrCanceled:
		return 499
	case prometheus.ErrNotFound:
		return http.StatusNotFound
	case prometheus.ErrNotAcceptable:
		return http.StatusNotAcceptable
	default: // internal, unavailable and anything else
		return http.StatusInternalServerError
	}
}

// Response is a scripted answer.
type Response struct {
	resultType prometheus.ValueType
	samples    []prometheus.Sample
	str        string
	errType    prometheus.ErrorType
	errMsg     string
	rawStatus  int
	rawBody    string
	hang       bool
	delay      time.Duration
	warnings   []string
	infos      []string
}

// Vector answers a vector with one series per value, labelled
// {series="0"}, {series="1"}, …
func Vector(values ...float64) Response {
	r := Response{resultType: prometheus.ValueVector}
	for i, v := range values {
		r.samples = append(r.samples, prometheus.Sample{Metric: map[string]string{"series": strconv.Itoa(i)}, Value: v})
	}
	return r
}

// Series answers a vector of the given samples (their Time is ignored).
func Series(samples ...prometheus.Sample) Response {
	return Response{resultType: prometheus.ValueVector, samples: samples}
}

// Empty answers an empty vector: no series matched, as for a service that
// had no traffic.
func Empty() Response { return Response{resultType: prometheus.ValueVector} }

// NaN answers a one-series vector whose value is NaN, as 0/0 gives.
func NaN() Response { return Vector(math.NaN()) }

// Scalar answers a scalar.
func Scalar(v float64) Response {
	return Response{resultType: prometheus.ValueScalar, samples: []prometheus.Sample{{Value: v}}}
}

// Matrix answers a range vector of one series with the values, 15 s apart.
func Matrix(values ...float64) Response {
	r := Response{resultType: prometheus.ValueMatrix}
	for _, v := range values {
		r.samples = append(r.samples, prometheus.Sample{Metric: map[string]string{"series": "0"}, Value: v})
	}
	return r
}

// String answers a string result.
func String(s string) Response { return Response{resultType: prometheus.ValueString, str: s} }

// Fail answers the API's error envelope with the status code the real
// server uses for the type (see StatusCode).
func Fail(t prometheus.ErrorType, msg string) Response {
	return Response{errType: t, errMsg: msg}
}

// Raw answers a status and a body as they are, as a proxy in front of
// Prometheus might (a 502 HTML page, say).
func Raw(status int, body string) Response { return Response{rawStatus: status, rawBody: body} }

// Hang answers nothing until the client gives up (its request context ends).
func Hang() Response { return Response{hang: true} }

// WithWarnings adds warnings to a successful answer.
func (r Response) WithWarnings(w ...string) Response {
	r.warnings = append(append([]string(nil), r.warnings...), w...)
	return r
}

// WithInfos adds info annotations to a successful answer, as Prometheus 3
// sends them beside warnings.
func (r Response) WithInfos(i ...string) Response {
	r.infos = append(append([]string(nil), r.infos...), i...)
	return r
}

// After delays the answer by d (real time; keep it short).
func (r Response) After(d time.Duration) Response {
	r.delay = d
	return r
}

// Request is a request the server received.
type Request struct {
	Method      string
	Path        string
	ContentType string
	// Query, Time and Timeout are the API parameters, from the URL or the
	// form body.
	Query, Time, Timeout string
}

// Server is a fake Prometheus. Its methods are safe for concurrent use.
type Server struct {
	*httptest.Server
	// RejectPOST makes the query endpoint answer 405 to POST, like a proxy
	// that allows only GET; clients should then fall back to GET. Set it
	// before the server gets requests.
	RejectPOST bool

	mu       sync.Mutex
	scripts  map[string]*script
	alerts   []prometheus.Alert
	alertsR  *Response
	requests []Request // the last KeepRequests
	counts   map[string]int
	now      func() time.Time
}

// KeepRequests is how many of the latest requests a Server remembers for
// Requests; Count counts them all. The bound keeps long simulated windows
// (a day of queries) from filling the test's memory.
const KeepRequests = 1000

type script struct {
	responses []Response
	fn        func(n int) Response
	n         int
}

// NewServer starts a fake Prometheus on loopback and closes it when the test
// ends. Queries that nothing was scripted for answer an empty vector, as a
// real server does for series that do not exist.
func NewServer(tb testing.TB) *Server {
	s := New()
	tb.Cleanup(s.Close)
	return s
}

// New starts a fake Prometheus on loopback; the caller closes it.
func New() *Server {
	s := &Server{scripts: map[string]*script{}, counts: map[string]int{}, now: time.Now}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// SetNow sets the clock the server evaluates queries at when the request
// gives no time (default time.Now).
func (s *Server) SetNow(now func() time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now = now
}

// Set scripts the answers to a query: the first request gets the first
// response, and so on; the last one repeats.
func (s *Server) Set(query string, responses ...Response) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.scripts[query] = &script{responses: responses}
}

// SetFunc answers a query with fn(n), n counting the requests for it from 0.
func (s *Server) SetFunc(query string, fn func(n int) Response) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.scripts[query] = &script{fn: fn}
}

// SetAlerts sets the active alerts /api/v1/alerts reports.
func (s *Server) SetAlerts(alerts ...prometheus.Alert) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.alerts, s.alertsR = alerts, nil
}

// SetAlertsResponse makes /api/v1/alerts answer r (a Fail, Raw or Hang).
func (s *Server) SetAlertsResponse(r Response) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.alertsR = &r
}

// Requests returns the requests received so far (the last KeepRequests).
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Count returns how many times a query was asked.
func (s *Server) Count(query string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts[query]
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	// Every request is on record before it is answered, refused ones too.
	formErr := r.ParseForm()
	req := Request{Method: r.Method, Path: r.URL.Path, ContentType: r.Header.Get("Content-Type"),
		Query: r.Form.Get("query"), Time: r.Form.Get("time"), Timeout: r.Form.Get("timeout")}
	s.mu.Lock()
	if len(s.requests) == KeepRequests {
		s.requests = append(s.requests[:0], s.requests[1:]...)
	}
	s.requests = append(s.requests, req)
	if r.URL.Path == "/api/v1/query" && formErr == nil {
		s.counts[req.Query]++
	}
	now, rejectPOST := s.now, s.RejectPOST
	s.mu.Unlock()

	switch {
	case r.Method != http.MethodGet && r.Method != http.MethodPost:
		w.Header().Set("Allow", "GET, POST")
		http.Error(w, "Method Not Allowed", http.StatusMethodNotAllowed)
		return
	case formErr != nil:
		writeError(w, prometheus.ErrBadData, "error parsing form values: "+formErr.Error())
		return
	}
	switch r.URL.Path {
	case "/api/v1/query":
		if r.Method == http.MethodPost && rejectPOST {
			http.Error(w, "Method Not Allowed", http.StatusMethodNotAllowed)
			return
		}
		s.query(w, r, req, now)
	case "/api/v1/alerts":
		s.mu.Lock()
		alerts, override := s.alerts, s.alertsR
		s.mu.Unlock()
		if override != nil {
			s.write(w, r, *override, time.Time{})
			return
		}
		if alerts == nil {
			alerts = []prometheus.Alert{}
		}
		writeJSON(w, http.StatusOK, map[string]any{"status": "success", "data": map[string]any{"alerts": alerts}})
	case "/-/ready", "/-/healthy":
		fmt.Fprintln(w, "Prometheus Server is Ready.")
	default:
		http.NotFound(w, r)
	}
}

func (s *Server) query(w http.ResponseWriter, r *http.Request, req Request, now func() time.Time) {
	if strings.TrimSpace(req.Query) == "" {
		writeError(w, prometheus.ErrBadData, `invalid parameter "query": 1:1: parse error: no expression found in input`)
		return
	}
	at := now()
	if req.Time != "" {
		t, err := parseTime(req.Time)
		if err != nil {
			writeError(w, prometheus.ErrBadData, fmt.Sprintf(`invalid parameter "time": cannot parse %q to a valid timestamp`, req.Time))
			return
		}
		at = t
	}
	if req.Timeout != "" {
		if _, err := parseDuration(req.Timeout); err != nil {
			writeError(w, prometheus.ErrBadData, fmt.Sprintf(`invalid parameter "timeout": cannot parse %q to a valid duration`, req.Timeout))
			return
		}
	}
	s.mu.Lock()
	sc := s.scripts[req.Query]
	var resp Response
	switch {
	case sc == nil:
		resp = Empty()
	case sc.fn != nil:
		resp = sc.fn(sc.n)
	case len(sc.responses) == 0:
		resp = Empty()
	default:
		resp = sc.responses[min(sc.n, len(sc.responses)-1)]
	}
	if sc != nil {
		sc.n++
	}
	s.mu.Unlock()
	s.write(w, r, resp, at)
}

func (s *Server) write(w http.ResponseWriter, r *http.Request, resp Response, at time.Time) {
	if resp.hang {
		<-r.Context().Done()
		return
	}
	if resp.delay > 0 {
		select {
		case <-time.After(resp.delay):
		case <-r.Context().Done():
			return
		}
	}
	switch {
	case resp.rawStatus != 0:
		w.WriteHeader(resp.rawStatus)
		fmt.Fprint(w, resp.rawBody)
		return
	case resp.errType != "":
		writeError(w, resp.errType, resp.errMsg)
		return
	}
	ts := float64(at.UnixNano()) / 1e9
	var result any
	switch resp.resultType {
	case prometheus.ValueScalar:
		result = []any{ts, FormatValue(resp.samples[0].Value)}
	case prometheus.ValueString:
		result = []any{ts, resp.str}
	case prometheus.ValueMatrix:
		var values [][]any
		for i, smp := range resp.samples {
			values = append(values, []any{ts - 15*float64(len(resp.samples)-1-i), FormatValue(smp.Value)})
		}
		result = []any{map[string]any{"metric": resp.samples[0].Metric, "values": values}}
	default:
		series := make([]any, 0, len(resp.samples))
		for _, smp := range resp.samples {
			metric := smp.Metric
			if metric == nil {
				metric = map[string]string{}
			}
			series = append(series, map[string]any{"metric": metric, "value": []any{ts, FormatValue(smp.Value)}})
		}
		result = series
	}
	body := map[string]any{"status": "success", "data": map[string]any{"resultType": resp.resultType, "result": result}}
	if len(resp.warnings) > 0 {
		body["warnings"] = resp.warnings
	}
	if len(resp.infos) > 0 {
		body["infos"] = resp.infos
	}
	writeJSON(w, http.StatusOK, body)
}

// FormatValue formats a sample value as Prometheus does: NaN, +Inf, -Inf or
// the shortest decimal.
func FormatValue(v float64) string {
	switch {
	case math.IsNaN(v):
		return "NaN"
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

func writeError(w http.ResponseWriter, t prometheus.ErrorType, msg string) {
	writeJSON(w, StatusCode(t), map[string]any{"status": "error", "errorType": t, "error": msg})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// parseTime accepts the API's float Unix seconds or RFC 3339.
func parseTime(s string) (time.Time, error) {
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		sec, frac := math.Modf(f)
		return time.Unix(int64(sec), int64(frac*1e9)), nil
	}
	return time.Parse(time.RFC3339Nano, s)
}

// parseDuration accepts float seconds or a Prometheus duration such as 30s.
func parseDuration(s string) (time.Duration, error) {
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		return time.Duration(f * float64(time.Second)), nil
	}
	return time.ParseDuration(s)
}
