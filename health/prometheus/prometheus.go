// Package prometheus is a small client for the two parts of the Prometheus
// HTTP API that a release monitor needs: instant queries (/api/v1/query) and
// the alerts the server evaluates (/api/v1/alerts).
//
// Like client_golang's v1 API it sends queries as a POST form and falls back
// to GET when the server (or a proxy) answers 403, 405 or 501. Failures come
// back as *Error carrying the API's errorType (bad_data, execution, timeout,
// …) and the HTTP status, so that a caller can tell a broken query from an
// unavailable server. Sample values are float64; "NaN", "+Inf" and "-Inf"
// decode to their float values.
package prometheus

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
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
// (bad_response, client_error, server_error) for answers without one.
type ErrorType string

// Error types.
const (
	ErrBadData       ErrorType = "bad_data"       // 400: a bad or missing parameter, a parse error
	ErrExecution     ErrorType = "execution"      // 422: the query failed to run
	ErrTimeout       ErrorType = "timeout"        // 503
	ErrCanceled      ErrorType = "canceled"       // 499 (503 in older servers)
	ErrInternal      ErrorType = "internal"       // 500
	ErrNotFound      ErrorType = "not_found"      // 404
	ErrNotAcceptable ErrorType = "not_acceptable" // 406
	ErrUnavailable   ErrorType = "unavailable"
	ErrBadResponse   ErrorType = "bad_response" // a body that is not the API's JSON
	ErrClient        ErrorType = "client_error" // another 4xx
	ErrServer        ErrorType = "server_error" // another 5xx
)

// Error is a failed API call.
type Error struct {
	// Endpoint is the API path, e.g. "/api/v1/query".
	Endpoint string
	// StatusCode is the HTTP status (0 when the failure was not HTTP).
	StatusCode int
	Type       ErrorType
	Message    string
	// Err is the transport failure behind the error, if any (a refused
	// connection, a context deadline).
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

// envelope is the API's response shape.
type envelope struct {
	Status    string          `json:"status"`
	Data      json.RawMessage `json:"data"`
	ErrorType ErrorType       `json:"errorType"`
	Error     string          `json:"error"`
	Warnings  []string        `json:"warnings"`
	Infos     []string        `json:"infos"`
}

// Query evaluates an instant query at the time at, or at the server's now
// when at is zero.
func (c *Client) Query(ctx context.Context, query string, at time.Time) (Result, error) {
	args := url.Values{"query": {query}}
	if !at.IsZero() {
		args.Set("time", FormatTime(at))
	}
	if c.Timeout > 0 {
		args.Set("timeout", strconv.FormatFloat(c.Timeout.Seconds(), 'f', -1, 64)+"s")
	}
	env, err := c.call(ctx, "/api/v1/query", args, true)
	if err != nil {
		return Result{}, err
	}
	res, err := decodeResult(env.Data)
	if err != nil {
		return Result{}, &Error{Endpoint: "/api/v1/query", Type: ErrBadResponse, Message: err.Error()}
	}
	res.Warnings, res.Infos = env.Warnings, env.Infos
	return res, nil
}

// Alerts returns the active (pending and firing) alerts.
func (c *Client) Alerts(ctx context.Context) ([]Alert, error) {
	env, err := c.call(ctx, "/api/v1/alerts", nil, false)
	if err != nil {
		return nil, err
	}
	var data struct {
		Alerts []Alert `json:"alerts"`
	}
	if err := json.Unmarshal(env.Data, &data); err != nil {
		return nil, &Error{Endpoint: "/api/v1/alerts", Type: ErrBadResponse, Message: "decoding the alerts: " + err.Error()}
	}
	return data.Alerts, nil
}

// FormatTime formats t as the API's float Unix seconds.
func FormatTime(t time.Time) string {
	return strconv.FormatFloat(float64(t.Unix())+float64(t.Nanosecond())/1e9, 'f', -1, 64)
}

func (c *Client) call(ctx context.Context, endpoint string, args url.Values, post bool) (*envelope, error) {
	if c.URL == "" {
		return nil, &Error{Endpoint: endpoint, Type: ErrClient, Message: "no Prometheus URL configured"}
	}
	u := strings.TrimRight(c.URL, "/") + endpoint
	if post {
		resp, body, err := c.do(ctx, http.MethodPost, u, args)
		if err != nil {
			return nil, &Error{Endpoint: endpoint, Message: err.Error(), Type: ErrServer, Err: err}
		}
		switch resp.StatusCode {
		case http.StatusForbidden, http.StatusMethodNotAllowed, http.StatusNotImplemented:
			// Servers or proxies that refuse POST: ask again with GET.
		default:
			return parse(endpoint, resp, body)
		}
	}
	resp, body, err := c.do(ctx, http.MethodGet, u, args)
	if err != nil {
		return nil, &Error{Endpoint: endpoint, Message: err.Error(), Type: ErrServer, Err: err}
	}
	return parse(endpoint, resp, body)
}

// maxBody bounds the response read; alerts and query results of a release
// monitor are small.
const maxBody = 16 << 20

func (c *Client) do(ctx context.Context, method, u string, args url.Values) (*http.Response, []byte, error) {
	var body io.Reader
	if method == http.MethodGet {
		if len(args) > 0 {
			u += "?" + args.Encode()
		}
	} else {
		body = strings.NewReader(args.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return nil, nil, err
	}
	for k, vs := range c.Header {
		req.Header[k] = vs
	}
	if method == http.MethodPost {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.Header.Set("Accept", "application/json")
	hc := c.HTTPClient
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
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return nil, nil, fmt.Errorf("reading the response: %w", err)
	}
	return resp, b, nil
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

// parse turns a response into its envelope or an *Error, the way the
// server's status codes mean it: 400 and 422 carry the API's JSON error;
// other non-2xx codes may come from a proxy and carry anything.
func parse(endpoint string, resp *http.Response, body []byte) (*envelope, error) {
	var env envelope
	jsonErr := json.Unmarshal(body, &env)
	code := resp.StatusCode
	if code/100 != 2 {
		e := &Error{Endpoint: endpoint, StatusCode: code}
		if jsonErr == nil && env.Status == "error" && env.ErrorType != "" {
			e.Type, e.Message = env.ErrorType, env.Error
			return nil, e
		}
		e.Type = ErrServer
		if code/100 == 4 {
			e.Type = ErrClient
		}
		e.Message = fmt.Sprintf("%s: %s", http.StatusText(code), snippet(body))
		return nil, e
	}
	if jsonErr != nil {
		return nil, &Error{Endpoint: endpoint, StatusCode: code, Type: ErrBadResponse, Message: fmt.Sprintf("not the API's JSON (%v): %s", jsonErr, snippet(body))}
	}
	switch env.Status {
	case "success":
		return &env, nil
	case "error":
		t := env.ErrorType
		if t == "" {
			t = ErrBadResponse
		}
		return nil, &Error{Endpoint: endpoint, StatusCode: code, Type: t, Message: env.Error}
	default:
		return nil, &Error{Endpoint: endpoint, StatusCode: code, Type: ErrBadResponse, Message: fmt.Sprintf("status %q is neither success nor error", env.Status)}
	}
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

// decodeResult decodes the data of a query response.
func decodeResult(data json.RawMessage) (Result, error) {
	var raw struct {
		ResultType ValueType       `json:"resultType"`
		Result     json.RawMessage `json:"result"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return Result{}, fmt.Errorf("decoding the result: %w", err)
	}
	res := Result{Type: raw.ResultType}
	switch raw.ResultType {
	case ValueVector:
		var series []struct {
			Metric map[string]string `json:"metric"`
			Value  point             `json:"value"`
		}
		if err := json.Unmarshal(raw.Result, &series); err != nil {
			return res, fmt.Errorf("decoding a vector: %w", err)
		}
		res.Samples = make([]Sample, 0, len(series))
		for _, s := range series {
			res.Samples = append(res.Samples, Sample{Metric: s.Metric, Time: s.Value.t, Value: s.Value.v})
		}
	case ValueScalar:
		var p point
		if err := json.Unmarshal(raw.Result, &p); err != nil {
			return res, fmt.Errorf("decoding a scalar: %w", err)
		}
		res.Samples = []Sample{{Time: p.t, Value: p.v}}
	case ValueMatrix:
		var series []struct {
			Metric map[string]string `json:"metric"`
			Values []point           `json:"values"`
		}
		if err := json.Unmarshal(raw.Result, &series); err != nil {
			return res, fmt.Errorf("decoding a matrix: %w", err)
		}
		for _, s := range series {
			for _, p := range s.Values {
				res.Samples = append(res.Samples, Sample{Metric: s.Metric, Time: p.t, Value: p.v})
			}
		}
	case ValueString:
		var pair [2]json.RawMessage
		if err := json.Unmarshal(raw.Result, &pair); err != nil {
			return res, fmt.Errorf("decoding a string: %w", err)
		}
		if err := json.Unmarshal(pair[1], &res.String); err != nil {
			return res, fmt.Errorf("decoding a string: %w", err)
		}
	default:
		return res, fmt.Errorf("unknown resultType %q", raw.ResultType)
	}
	return res, nil
}

// point is a [<unix seconds>, "<value>"] pair.
type point struct {
	t time.Time
	v float64
}

func (p *point) UnmarshalJSON(b []byte) error {
	var pair [2]json.RawMessage
	if err := json.Unmarshal(b, &pair); err != nil {
		return err
	}
	var ts float64
	if err := json.Unmarshal(pair[0], &ts); err != nil {
		return fmt.Errorf("timestamp %s: %w", pair[0], err)
	}
	var s string
	if err := json.Unmarshal(pair[1], &s); err != nil {
		return fmt.Errorf("sample value %s is not a string: %w", pair[1], err)
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return fmt.Errorf("sample value %q is not a number", s)
	}
	sec, frac := math.Modf(ts)
	p.t = time.Unix(int64(sec), int64(math.Round(frac*1e9))).UTC()
	p.v = v
	return nil
}
