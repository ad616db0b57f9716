// Package prometheus is a small client for the two parts of the Prometheus
// HTTP API that a release monitor needs: instant queries (/api/v1/query) and
// the alerts the server evaluates (/api/v1/alerts).
//
// The API calls are client_golang's (github.com/prometheus/client_golang/api
// and api/prometheus/v1): it sends queries as a POST form and falls back to
// GET when the server (or a proxy) answers 403, 405 or 501, decodes the
// envelope, the result types (sample values "NaN", "+Inf" and "-Inf"
// included), warnings and infos, and types the API's errors. This package
// adds what a release monitor needs around it, and what client_golang does
// not do:
//
//   - Credentials: Header (e.g. Authorization) is sent with every request,
//     and only to URL. Transport errors name the URL with its user info
//     masked whole (a token may be the user name) and without the query
//     string (the PromQL).
//   - Errors as values: every failure is an *Error carrying the endpoint,
//     the HTTP status and the API's errorType, so that a caller can tell a
//     broken query (bad_data, execution) from an unavailable server. For
//     answers other than 400 and 422, client_golang reports only
//     client_error or server_error; the API's own type (timeout with 503,
//     internal with 500, canceled with 499, …) is read back from the body.
//     The *v1.Error (or the transport error) is kept in Error.Err.
//   - A bounded body: answers are read up to 16 MiB.
//   - Plain values: results come back as Result (float64 samples), not
//     as client_golang's model types; the string result type, which the
//     API documents and client_golang does not decode, is decoded here.
//
// Nothing here retries: a monitor measures every interval and counts a
// failed measurement as an Error, never as a production failure.
package prometheus

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/api"
	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
)

// ValueType is the type of a query result.
type ValueType string

// Result types of the query API.
const (
	ValueVector ValueType = "vector"
	ValueScalar ValueType = "scalar"
	ValueMatrix ValueType = "matrix"
	ValueString ValueType = "string"
)

// ErrorType is the API's errorType, or one of the client-side types
// (bad_response, client_error, server_error) for answers without one. It is
// client_golang's v1.ErrorType, so its constants compare with these.
type ErrorType = v1.ErrorType

// Error types.
const (
	ErrBadData                 = v1.ErrBadData     // 400: a bad or missing parameter, a parse error
	ErrExecution               = v1.ErrExec        // 422: the query failed to run
	ErrTimeout                 = v1.ErrTimeout     // 503
	ErrCanceled                = v1.ErrCanceled    // 499 (503 in older servers)
	ErrBadResponse             = v1.ErrBadResponse // a body that is not the API's JSON
	ErrClient                  = v1.ErrClient      // another 4xx
	ErrServer                  = v1.ErrServer      // another 5xx, or no answer at all
	ErrInternal      ErrorType = "internal"        // 500
	ErrNotFound      ErrorType = "not_found"       // 404
	ErrNotAcceptable ErrorType = "not_acceptable"  // 406
	ErrUnavailable   ErrorType = "unavailable"
)

// Error is a failed API call.
type Error struct {
	// Endpoint is the API path, e.g. "/api/v1/query".
	Endpoint string
	// StatusCode is the HTTP status (0 when the failure was not HTTP).
	StatusCode int
	Type       ErrorType
	Message    string
	// Err is what failed underneath: client_golang's *v1.Error, or the
	// transport failure (a refused connection, a context deadline).
	Err error
}

// Unwrap returns Err.
func (e *Error) Unwrap() error { return e.Err }

func (e *Error) Error() string {
	status := ""
	if e.StatusCode != 0 {
		status = fmt.Sprintf(" (HTTP %d)", e.StatusCode)
	}
	return fmt.Sprintf("prometheus %s: %s%s: %s", e.Endpoint, e.Type, status, e.Message)
}

// Sample is one value of a result.
type Sample struct {
	// Metric holds the series' labels (empty for a scalar).
	Metric map[string]string `json:"metric,omitempty"`
	Time   time.Time         `json:"time"`
	Value  float64           `json:"value"`
}

// Result is the outcome of an instant query.
type Result struct {
	Type ValueType
	// Samples holds one sample per series of a vector, the single sample of
	// a scalar, and every point of every series of a matrix.
	Samples []Sample
	// String is the value of a string result.
	String   string
	Warnings []string
	Infos    []string
}

// Alert is an active alert as /api/v1/alerts reports it.
type Alert struct {
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations,omitempty"`
	// State is "firing" or "pending".
	State    string    `json:"state"`
	ActiveAt time.Time `json:"activeAt"`
	Value    string    `json:"value,omitempty"`
}

// Name returns the alert's alertname label.
func (a Alert) Name() string { return a.Labels["alertname"] }

// Client calls the Prometheus HTTP API. The zero value is not usable: set URL.
type Client struct {
	// URL is the server's base URL, e.g. "http://prometheus:9090" (a path
	// prefix, as behind a proxy, is kept). User info in it is sent as basic
	// authentication and masked in errors, but a server's error body that
	// repeats the credentials is not: prefer setting Header.
	URL string
	// HTTPClient defaults to http.DefaultClient.
	HTTPClient *http.Client
	// Header is added to every request (e.g. Authorization).
	Header http.Header
	// Timeout, when set, is sent as the query's timeout parameter so that
	// the server stops evaluating when the client gives up.
	Timeout time.Duration
}

// Endpoints.
const (
	endpointQuery  = "/api/v1/query"
	endpointAlerts = "/api/v1/alerts"
)

// Query evaluates an instant query at the time at, or at the server's now
// when at is zero.
func (c *Client) Query(ctx context.Context, query string, at time.Time) (Result, error) {
	var opts []v1.Option
	if c.Timeout > 0 {
		opts = append(opts, v1.WithTimeout(c.Timeout))
	}
	var ans answer
	api, err := c.api(endpointQuery)
	if err != nil {
		return Result{}, err
	}
	val, warnings, infos, err := api.Query(withAnswer(ctx, &ans), query, at, opts...)
	if err != nil {
		if res, ok := stringResult(ans.body); ok {
			return res, nil
		}
		return Result{}, callError(endpointQuery, &ans, err)
	}
	res, err := fromModel(val)
	if err != nil {
		return Result{}, &Error{Endpoint: endpointQuery, StatusCode: ans.status, Type: ErrBadResponse, Message: err.Error()}
	}
	res.Warnings, res.Infos = warnings, infos
	return res, nil
}

// Alerts returns the active (pending and firing) alerts.
func (c *Client) Alerts(ctx context.Context) ([]Alert, error) {
	var ans answer
	api, err := c.api(endpointAlerts)
	if err != nil {
		return nil, err
	}
	res, err := api.Alerts(withAnswer(ctx, &ans))
	if err != nil {
		return nil, callError(endpointAlerts, &ans, err)
	}
	alerts := make([]Alert, 0, len(res.Alerts))
	for _, a := range res.Alerts {
		alerts = append(alerts, Alert{Labels: labels(a.Labels), Annotations: labels(a.Annotations),
			State: string(a.State), ActiveAt: a.ActiveAt, Value: a.Value})
	}
	return alerts, nil
}

// FormatTime formats t as the API's float Unix seconds.
func FormatTime(t time.Time) string {
	return strconv.FormatFloat(float64(t.Unix())+float64(t.Nanosecond())/1e9, 'f', -1, 64)
}

// api returns client_golang's API over this Client's connection.
func (c *Client) api(endpoint string) (v1.API, error) {
	if c.URL == "" {
		return nil, &Error{Endpoint: endpoint, Type: ErrClient, Message: "no Prometheus URL configured"}
	}
	base, err := url.Parse(strings.TrimRight(c.URL, "/"))
	if err != nil {
		return nil, &Error{Endpoint: endpoint, Type: ErrClient, Message: fmt.Sprintf("URL %s: %v", redact(c.URL), errors.Unwrap(err)), Err: err}
	}
	return v1.NewAPI(conn{c: c, base: base}), nil
}

// maxBody bounds the response read; alerts and query results of a release
// monitor are small.
const maxBody = 16 << 20

// conn is the api.Client client_golang's v1 API calls through: it adds
// Header, bounds the body, records the answer for errors, and keeps
// credentials and the PromQL out of transport errors.
type conn struct {
	c    *Client
	base *url.URL
}

var _ api.Client = conn{}

// URL joins the endpoint to the base URL's path (a prefix, as behind a
// proxy, is kept).
func (cn conn) URL(ep string, _ map[string]string) *url.URL {
	u := *cn.base
	u.Path = path.Join(u.Path, ep)
	return &u
}

func (cn conn) Do(ctx context.Context, req *http.Request) (*http.Response, []byte, error) {
	req = req.WithContext(ctx)
	for k, vs := range cn.c.Header {
		req.Header[k] = vs
	}
	req.Header.Set("Accept", "application/json")
	hc := cn.c.HTTPClient
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = fmt.Errorf("%s %s: %w", uerr.Op, redact(uerr.URL), uerr.Err)
		}
		return nil, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return nil, nil, fmt.Errorf("reading the response: %w", err)
	}
	if ans, ok := ctx.Value(answerKey{}).(*answer); ok {
		ans.status, ans.body = resp.StatusCode, body
	}
	return resp, body, nil
}

// answer is the last HTTP answer of one call, for its error.
type answer struct {
	status int
	body   []byte
}

type answerKey struct{}

func withAnswer(ctx context.Context, a *answer) context.Context {
	return context.WithValue(ctx, answerKey{}, a)
}

// redact drops the query string (it holds the PromQL, which can be long)
// from a URL for messages, and masks its user info whole: the user name
// may be the credential (a token), not only the password.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		// Unparsable: keep only what follows any user info.
		if at := strings.LastIndex(raw, "@"); at >= 0 {
			return "***" + raw[at:]
		}
		return raw
	}
	u.RawQuery = ""
	if u.User == nil {
		return u.String()
	}
	u.User = nil
	return strings.Replace(u.String(), "//", "//***@", 1)
}

// callError turns what client_golang returned into an *Error.
func callError(endpoint string, ans *answer, err error) error {
	var verr *v1.Error
	if !errors.As(err, &verr) {
		// No answer: the transport failed, or ctx ended.
		return &Error{Endpoint: endpoint, Type: ErrServer, Message: err.Error(), Err: err}
	}
	e := &Error{Endpoint: endpoint, StatusCode: ans.status, Type: verr.Type, Message: verr.Msg, Err: err}
	switch {
	case verr.Type == ErrBadResponse && ans.status/100 == 2 && isSuccess(ans.body):
		e.Message = "decoding the result: " + verr.Msg
	case verr.Type == ErrBadResponse:
		e.Message = fmt.Sprintf("not the API's JSON (%s): %s", verr.Msg, snippet(ans.body))
	case (verr.Type == ErrServer || verr.Type == ErrClient) && ans.status/100 != 2:
		// client_golang reads the API's error envelope only from 400 and
		// 422 answers; Prometheus sends it with other codes too (timeout
		// with 503, internal with 500, canceled with 499). Anything else
		// came from a proxy and may be any page.
		var env struct {
			Status    string    `json:"status"`
			ErrorType ErrorType `json:"errorType"`
			Error     string    `json:"error"`
		}
		if json.Unmarshal(ans.body, &env) == nil && env.Status == "error" && env.ErrorType != "" {
			e.Type, e.Message = env.ErrorType, env.Error
		} else {
			e.Message = fmt.Sprintf("%s: %s", http.StatusText(ans.status), snippet(ans.body))
		}
	}
	return e
}

// isSuccess reports whether body is the API's success envelope.
func isSuccess(body []byte) bool {
	var env struct {
		Status string `json:"status"`
	}
	return json.Unmarshal(body, &env) == nil && env.Status == "success"
}

// stringResult decodes a query answer of the string result type, which
// the API documents and client_golang does not decode.
func stringResult(body []byte) (Result, bool) {
	var env struct {
		Status string `json:"status"`
		Data   struct {
			ResultType ValueType          `json:"resultType"`
			Result     [2]json.RawMessage `json:"result"`
		} `json:"data"`
		Warnings []string `json:"warnings"`
		Infos    []string `json:"infos"`
	}
	if json.Unmarshal(body, &env) != nil || env.Status != "success" || env.Data.ResultType != ValueString {
		return Result{}, false
	}
	res := Result{Type: ValueString, Warnings: env.Warnings, Infos: env.Infos}
	if json.Unmarshal(env.Data.Result[1], &res.String) != nil {
		return Result{}, false
	}
	return res, true
}

func snippet(b []byte) string {
	s := strings.Join(strings.Fields(string(b)), " ")
	if s == "" {
		return "empty body"
	}
	if len(s) > 200 {
		s = s[:197] + "..."
	}
	return strconv.Quote(s)
}

// fromModel converts client_golang's result.
func fromModel(val model.Value) (Result, error) {
	switch v := val.(type) {
	case model.Vector:
		res := Result{Type: ValueVector, Samples: make([]Sample, 0, len(v))}
		for _, s := range v {
			if s.Histogram != nil {
				return res, fmt.Errorf("series %s is a native histogram; query a float (e.g. with histogram_quantile)", s.Metric)
			}
			res.Samples = append(res.Samples, Sample{Metric: labels(model.LabelSet(s.Metric)), Time: s.Timestamp.Time().UTC(), Value: float64(s.Value)})
		}
		return res, nil
	case *model.Scalar:
		return Result{Type: ValueScalar, Samples: []Sample{{Time: v.Timestamp.Time().UTC(), Value: float64(v.Value)}}}, nil
	case model.Matrix:
		res := Result{Type: ValueMatrix}
		for _, ss := range v {
			if len(ss.Histograms) > 0 {
				return res, fmt.Errorf("series %s holds native histograms; query a float (e.g. with histogram_quantile)", ss.Metric)
			}
			for _, p := range ss.Values {
				res.Samples = append(res.Samples, Sample{Metric: labels(model.LabelSet(ss.Metric)), Time: p.Timestamp.Time().UTC(), Value: float64(p.Value)})
			}
		}
		return res, nil
	case *model.String:
		return Result{Type: ValueString, String: v.Value}, nil
	default:
		return Result{}, fmt.Errorf("unknown result %T", val)
	}
}

// labels converts a label set; an empty one is nil, as the API's {} decoded.
func labels(ls model.LabelSet) map[string]string {
	if len(ls) == 0 {
		return nil
	}
	out := make(map[string]string, len(ls))
	for k, v := range ls {
		out[string(k)] = string(v)
	}
	return out
}
