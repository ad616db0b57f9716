package prometheus_test

import (
	"context"
	"math"
	"net"
	"net/http"
	"testing"
	"time"

	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shipprod/shipprod/health/prometheus"
	"github.com/shipprod/shipprod/health/prometheus/promtest"
)

func TestQueryResults(t *testing.T) {
	srv := promtest.NewServer(t)
	at := time.Date(2026, 3, 1, 12, 0, 0, 500_000_000, time.UTC)
	srv.SetNow(func() time.Time { return at })
	srv.Set("vector", promtest.Series(
		prometheus.Sample{Metric: map[string]string{"__name__": "up", "job": "app"}, Value: 1},
		prometheus.Sample{Metric: map[string]string{"__name__": "up", "job": "db"}, Value: 0}))
	srv.Set("scalar", promtest.Scalar(0.25))
	srv.Set("nan", promtest.NaN())
	srv.Set("inf", promtest.Vector(math.Inf(1), math.Inf(-1)))
	srv.Set("matrix", promtest.Matrix(1, 2, 3))
	srv.Set("string", promtest.String("hello"))
	srv.Set("warned", promtest.Vector(0.5).WithWarnings("PromQL warning: encountered a mix of histograms and floats"))
	srv.Set("informed", promtest.Vector(0.5).WithInfos(`PromQL info: metric might not be a counter, name does not end in _total/_sum/_count/_bucket: "up"`))
	srv.Set("string warned", promtest.String("hi").WithWarnings("w"))

	c := &prometheus.Client{URL: srv.URL}
	ctx := context.Background()

	res, err := c.Query(ctx, "vector", time.Time{})
	require.NoError(t, err)
	assert.Equal(t, prometheus.ValueVector, res.Type)
	require.Len(t, res.Samples, 2)
	assert.Equal(t, prometheus.Sample{Metric: map[string]string{"__name__": "up", "job": "app"}, Time: at, Value: 1}, res.Samples[0])
	assert.Equal(t, 0.0, res.Samples[1].Value)

	res, err = c.Query(ctx, "scalar", time.Time{})
	require.NoError(t, err)
	assert.Equal(t, prometheus.ValueScalar, res.Type)
	assert.Equal(t, []prometheus.Sample{{Time: at, Value: 0.25}}, res.Samples)

	res, err = c.Query(ctx, "nan", time.Time{})
	require.NoError(t, err)
	assert.True(t, math.IsNaN(res.Samples[0].Value))

	res, err = c.Query(ctx, "inf", time.Time{})
	require.NoError(t, err)
	assert.True(t, math.IsInf(res.Samples[0].Value, 1))
	assert.True(t, math.IsInf(res.Samples[1].Value, -1))

	res, err = c.Query(ctx, "not scripted: an empty vector", time.Time{})
	require.NoError(t, err)
	assert.Equal(t, prometheus.ValueVector, res.Type)
	assert.Empty(t, res.Samples)

	res, err = c.Query(ctx, "matrix", time.Time{})
	require.NoError(t, err)
	assert.Equal(t, prometheus.ValueMatrix, res.Type)
	require.Len(t, res.Samples, 3)
	assert.Equal(t, at.Add(-30*time.Second), res.Samples[0].Time)
	assert.Equal(t, 3.0, res.Samples[2].Value)

	res, err = c.Query(ctx, "string", time.Time{})
	require.NoError(t, err)
	assert.Equal(t, "hello", res.String)

	res, err = c.Query(ctx, "warned", time.Time{})
	require.NoError(t, err)
	assert.Equal(t, []string{"PromQL warning: encountered a mix of histograms and floats"}, res.Warnings)
	assert.Empty(t, res.Infos)

	res, err = c.Query(ctx, "informed", time.Time{})
	require.NoError(t, err)
	assert.Equal(t, []string{`PromQL info: metric might not be a counter, name does not end in _total/_sum/_count/_bucket: "up"`}, res.Infos)
	assert.Empty(t, res.Warnings)

	res, err = c.Query(ctx, "string warned", time.Time{})
	require.NoError(t, err)
	assert.Equal(t, prometheus.Result{Type: prometheus.ValueString, String: "hi", Warnings: []string{"w"}}, res)
}

// The API's error is also client_golang's, for callers that use its types.
func TestQueryErrorsAreClientGolangErrors(t *testing.T) {
	srv := promtest.NewServer(t)
	srv.Set("rate(x[5m]", promtest.Fail(prometheus.ErrBadData, `1:11: parse error: unclosed left parenthesis`))
	srv.Set("slow", promtest.Fail(prometheus.ErrTimeout, "query timed out in expression evaluation"))
	c := &prometheus.Client{URL: srv.URL}

	_, err := c.Query(context.Background(), "rate(x[5m]", time.Time{})
	var verr *v1.Error
	require.ErrorAs(t, err, &verr)
	assert.Equal(t, v1.ErrBadData, verr.Type)
	assert.Equal(t, "1:11: parse error: unclosed left parenthesis", verr.Msg)

	// A 503 with the API's envelope is a timeout, not just a server error.
	_, err = c.Query(context.Background(), "slow", time.Time{})
	var perr *prometheus.Error
	require.ErrorAs(t, err, &perr)
	assert.Equal(t, v1.ErrTimeout, perr.Type)
	assert.Equal(t, 503, perr.StatusCode)
	assert.EqualError(t, err, "prometheus /api/v1/query: timeout (HTTP 503): query timed out in expression evaluation")
}

func TestQuerySendsPOSTFormAndFallsBackToGET(t *testing.T) {
	srv := promtest.NewServer(t)
	srv.Set(`sum(rate(http_requests_total{code=~"5.."}[5m]))`, promtest.Scalar(1))
	c := &prometheus.Client{URL: srv.URL + "/", Timeout: 1500 * time.Millisecond}
	at := time.Unix(1767225600, 250_000_000)
	_, err := c.Query(context.Background(), `sum(rate(http_requests_total{code=~"5.."}[5m]))`, at)
	require.NoError(t, err)
	reqs := srv.Requests()
	require.Len(t, reqs, 1)
	assert.Equal(t, promtest.Request{Method: http.MethodPost, Path: "/api/v1/query", ContentType: "application/x-www-form-urlencoded",
		Query: `sum(rate(http_requests_total{code=~"5.."}[5m]))`, Time: "1767225600.25", Timeout: "1.5s"}, reqs[0])

	srv.RejectPOST = true
	res, err := c.Query(context.Background(), `sum(rate(http_requests_total{code=~"5.."}[5m]))`, time.Time{})
	require.NoError(t, err)
	assert.Equal(t, 1.0, res.Samples[0].Value)
	reqs = srv.Requests()
	require.Len(t, reqs, 3)
	assert.Equal(t, http.MethodPost, reqs[1].Method)
	assert.Equal(t, http.MethodGet, reqs[2].Method)
	assert.Equal(t, `sum(rate(http_requests_total{code=~"5.."}[5m]))`, reqs[2].Query)
	assert.Equal(t, 3, srv.Count(`sum(rate(http_requests_total{code=~"5.."}[5m]))`))
}

func TestQueryErrors(t *testing.T) {
	tests := []struct {
		name   string
		resp   promtest.Response
		status int
		typ    prometheus.ErrorType
		msg    string
	}{
		{"bad_data", promtest.Fail(prometheus.ErrBadData, "1:5: parse error: unexpected end of input"), 400, prometheus.ErrBadData, "1:5: parse error: unexpected end of input"},
		{"execution", promtest.Fail(prometheus.ErrExecution, "many-to-many matching not allowed"), 422, prometheus.ErrExecution, "many-to-many"},
		{"timeout", promtest.Fail(prometheus.ErrTimeout, "query timed out in expression evaluation"), 503, prometheus.ErrTimeout, "timed out"},
		{"canceled", promtest.Fail(prometheus.ErrCanceled, "query was canceled"), 499, prometheus.ErrCanceled, "canceled"},
		{"internal", promtest.Fail(prometheus.ErrInternal, "storage failure"), 500, prometheus.ErrInternal, "storage failure"},
		{"not_found", promtest.Fail(prometheus.ErrNotFound, "not found"), 404, prometheus.ErrNotFound, "not found"},
		{"not_acceptable", promtest.Fail(prometheus.ErrNotAcceptable, "not acceptable"), 406, prometheus.ErrNotAcceptable, "not acceptable"},
		{"proxy 502 page", promtest.Raw(502, "<html><body>Bad Gateway</body></html>"), 502, prometheus.ErrServer, `Bad Gateway: "<html><body>Bad Gateway</body></html>"`},
		{"proxy 401", promtest.Raw(401, "Unauthorized"), 401, prometheus.ErrClient, "Unauthorized"},
		{"200 that is not JSON", promtest.Raw(200, "OK"), 200, prometheus.ErrBadResponse, "not the API's JSON"},
		{"200 with an error envelope", promtest.Raw(200, `{"status":"error","errorType":"internal","error":"boom"}`), 200, prometheus.ErrInternal, "boom"},
		{"unknown result type", promtest.Raw(200, `{"status":"success","data":{"resultType":"histogram","result":[]}}`), 200, prometheus.ErrBadResponse,
			`decoding the result: unknown value type "histogram"`},
		{"value not a number", promtest.Raw(200, `{"status":"success","data":{"resultType":"scalar","result":[1,"abc"]}}`), 200, prometheus.ErrBadResponse,
			`parsing "abc": invalid syntax`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := promtest.NewServer(t)
			srv.Set("q", tt.resp)
			_, err := (&prometheus.Client{URL: srv.URL}).Query(context.Background(), "q", time.Time{})
			var perr *prometheus.Error
			require.ErrorAs(t, err, &perr)
			assert.Equal(t, tt.status, perr.StatusCode)
			assert.Equal(t, tt.typ, perr.Type)
			assert.Contains(t, perr.Message, tt.msg)
			assert.Equal(t, "/api/v1/query", perr.Endpoint)
		})
	}

	// The fake validates parameters like the real server.
	srv := promtest.NewServer(t)
	_, err := (&prometheus.Client{URL: srv.URL}).Query(context.Background(), "", time.Time{})
	var perr *prometheus.Error
	require.ErrorAs(t, err, &perr)
	assert.Equal(t, "prometheus /api/v1/query: bad_data (HTTP 400): invalid parameter \"query\": 1:1: parse error: no expression found in input", err.Error())
}

func TestQueryTransportFailures(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	ln.Close()
	_, err = (&prometheus.Client{URL: "http://" + addr}).Query(context.Background(), "up", time.Time{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "connection refused")
	assert.NotContains(t, err.Error(), "query=", "the PromQL is not repeated in the message")

	// Credentials in the URL (a token as user name, too) stay out of it.
	for _, userInfo := range []string{"tok_5ecretUser", "admin:pw_5ecret"} {
		_, err = (&prometheus.Client{URL: "http://" + userInfo + "@" + addr}).Query(context.Background(), "up", time.Time{})
		require.Error(t, err)
		assert.Contains(t, err.Error(), "http://***@"+addr+"/api/v1/query")
		assert.NotContains(t, err.Error(), "5ecret")
	}

	srv := promtest.NewServer(t)
	srv.Set("slow", promtest.Hang())
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err = (&prometheus.Client{URL: srv.URL}).Query(ctx, "slow", time.Time{})
	require.Error(t, err)
	assert.ErrorIs(t, err, context.DeadlineExceeded)

	_, err = (&prometheus.Client{}).Query(context.Background(), "up", time.Time{})
	assert.EqualError(t, err, "prometheus /api/v1/query: client_error: no Prometheus URL configured")
}

func TestAlerts(t *testing.T) {
	srv := promtest.NewServer(t)
	active := time.Date(2026, 3, 1, 11, 58, 0, 0, time.UTC)
	srv.SetAlerts(
		prometheus.Alert{Labels: map[string]string{"alertname": "HighErrorRate", "severity": "critical"}, Annotations: map[string]string{"summary": "5xx above 5%"},
			State: "firing", ActiveAt: active, Value: "1e+00"},
		prometheus.Alert{Labels: map[string]string{"alertname": "DiskFilling", "severity": "warning"}, State: "pending", ActiveAt: active},
	)
	c := &prometheus.Client{URL: srv.URL, Header: http.Header{"Authorization": {"Bearer t"}}}
	alerts, err := c.Alerts(context.Background())
	require.NoError(t, err)
	require.Len(t, alerts, 2)
	assert.Equal(t, "HighErrorRate", alerts[0].Name())
	assert.Equal(t, "firing", alerts[0].State)
	assert.Equal(t, active, alerts[0].ActiveAt)
	assert.Equal(t, "pending", alerts[1].State)
	assert.Equal(t, http.MethodGet, srv.Requests()[0].Method)

	srv.SetAlerts()
	alerts, err = c.Alerts(context.Background())
	require.NoError(t, err)
	assert.Empty(t, alerts)

	srv.SetAlertsResponse(promtest.Fail(prometheus.ErrUnavailable, "rule manager not ready"))
	_, err = c.Alerts(context.Background())
	assert.EqualError(t, err, "prometheus /api/v1/alerts: unavailable (HTTP 500): rule manager not ready")
}
