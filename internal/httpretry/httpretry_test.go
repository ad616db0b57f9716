package httpretry_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shipprod/shipprod"
	"github.com/shipprod/shipprod/internal/httpretry"
	"github.com/shipprod/shipprod/shipprodtest"
)

// The root package's clocks are httpretry Clocks as they are: callers pass
// them without a conversion.
var (
	_ httpretry.Clock = shipprod.SystemClock()
	_ httpretry.Clock = (*shipprodtest.Clock)(nil)
)

var start = time.Unix(1_800_000_000, 0)

// scripted answers requests with the given handlers in turn.
func scripted(t *testing.T, handlers ...http.HandlerFunc) (*httptest.Server, *atomic.Int32, *[]string) {
	var n atomic.Int32
	var bodies []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i := int(n.Add(1)) - 1
		b, _ := io.ReadAll(r.Body)
		bodies = append(bodies, string(b))
		if i >= len(handlers) {
			t.Errorf("unexpected request %d", i+1)
			w.WriteHeader(500)
			return
		}
		handlers[i](w, r)
	}))
	t.Cleanup(srv.Close)
	return srv, &n, &bodies
}

func ok(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "fine") }

func status(code int, headers map[string]string, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		for k, v := range headers {
			w.Header().Set(k, v)
		}
		w.WriteHeader(code)
		io.WriteString(w, body)
	}
}

func client(clock *shipprodtest.Clock, waits *[]httpretry.Wait, maxWait time.Duration) *http.Client {
	return httpretry.Client(&httpretry.Transport{Clock: clock, MaxWait: maxWait, OnWait: func(w httpretry.Wait) { *waits = append(*waits, w) }}, 0)
}

func TestRateLimitsAreWaitedOut(t *testing.T) {
	reset := strconv.FormatInt(start.Add(90*time.Second).Unix(), 10)
	tests := []struct {
		name     string
		first    http.HandlerFunc
		wantWait time.Duration
		reason   string
	}{
		{"primary 403", status(403, map[string]string{"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset}, `{"message":"API rate limit exceeded"}`), 91 * time.Second, "rate limit"},
		{"primary 429", status(429, map[string]string{"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset}, `{}`), 91 * time.Second, "rate limit"},
		{"secondary with retry-after", status(403, map[string]string{"Retry-After": "30"}, `{"message":"You have exceeded a secondary rate limit"}`), 30 * time.Second, "secondary rate limit"},
		{"secondary without retry-after", status(403, nil, `{"message":"You have exceeded a secondary rate limit"}`), time.Minute, "secondary rate limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, n, _ := scripted(t, tt.first, ok)
			clock := shipprodtest.NewClock(start)
			var waits []httpretry.Wait
			resp, err := client(clock, &waits, 0).Post(srv.URL, "application/json", strings.NewReader(`{"tag":"v1"}`))
			require.NoError(t, err)
			defer resp.Body.Close()
			assert.Equal(t, 200, resp.StatusCode)
			assert.EqualValues(t, 2, n.Load(), "a rate-limited POST is retried: the server did not act on it")
			require.Len(t, waits, 1)
			assert.Equal(t, tt.wantWait, waits[0].Wait)
			assert.Equal(t, tt.reason, waits[0].Reason)
			slept, _ := clock.Slept()
			assert.Equal(t, tt.wantWait, slept)
		})
	}
}

func TestWaitLongerThanMaxIsRefused(t *testing.T) {
	reset := strconv.FormatInt(start.Add(time.Hour).Unix(), 10)
	srv, n, _ := scripted(t, status(403, map[string]string{"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset}, `{"message":"API rate limit exceeded"}`))
	clock := shipprodtest.NewClock(start)
	var waits []httpretry.Wait
	resp, err := client(clock, &waits, 5*time.Minute).Get(srv.URL)
	require.NoError(t, err)
	defer resp.Body.Close()
	assert.Equal(t, 403, resp.StatusCode, "the caller gets the rate-limit answer")
	body, _ := io.ReadAll(resp.Body)
	assert.Equal(t, `{"message":"API rate limit exceeded"}`, string(body), "the body is still readable")
	assert.EqualValues(t, 1, n.Load())
	require.Len(t, waits, 1)
	assert.True(t, waits[0].Refused)
}

func TestTransientErrorsRetryIdempotentOnly(t *testing.T) {
	srv, n, _ := scripted(t, status(502, nil, "bad gateway"), status(503, nil, ""), ok)
	clock := shipprodtest.NewClock(start)
	var waits []httpretry.Wait
	resp, err := client(clock, &waits, 0).Get(srv.URL)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, 200, resp.StatusCode)
	assert.EqualValues(t, 3, n.Load())
	require.Len(t, waits, 2)
	assert.LessOrEqual(t, waits[0].Wait, httpretry.DefaultBaseBackoff)
	assert.GreaterOrEqual(t, waits[0].Wait, httpretry.DefaultBaseBackoff/2)
	assert.LessOrEqual(t, waits[1].Wait, 2*httpretry.DefaultBaseBackoff, "backoff doubles")

	srv2, n2, _ := scripted(t, status(502, nil, "bad gateway"))
	resp, err = client(clock, &waits, 0).Post(srv2.URL, "text/plain", strings.NewReader("dispatch"))
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, 502, resp.StatusCode, "a POST that may have been acted on is not repeated")
	assert.EqualValues(t, 1, n2.Load())
}

func TestRetriesAreBounded(t *testing.T) {
	srv, n, _ := scripted(t, status(500, nil, ""), status(500, nil, ""), status(500, nil, ""), status(500, nil, "still down"))
	clock := shipprodtest.NewClock(start)
	var waits []httpretry.Wait
	resp, err := client(clock, &waits, 0).Get(srv.URL)
	require.NoError(t, err)
	defer resp.Body.Close()
	assert.Equal(t, 500, resp.StatusCode)
	assert.EqualValues(t, 1+httpretry.DefaultMaxRetries, n.Load())
}

func TestBodyIsResentOnRetry(t *testing.T) {
	srv, _, bodies := scripted(t, status(429, map[string]string{"Retry-After": "1"}, ""), ok)
	clock := shipprodtest.NewClock(start)
	var waits []httpretry.Wait
	resp, err := client(clock, &waits, 0).Post(srv.URL, "application/json", strings.NewReader(`{"ref":"main"}`))
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, []string{`{"ref":"main"}`, `{"ref":"main"}`}, *bodies)
}

func TestConnectionErrorsRetryThenFail(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close() // connection refused from now on
	clock := shipprodtest.NewClock(start)
	var waits []httpretry.Wait
	_, err := client(clock, &waits, 0).Get(url)
	require.Error(t, err)
	assert.Len(t, waits, httpretry.DefaultMaxRetries)
	assert.Equal(t, 0, waits[0].Status)
}

func TestContextEndsTheWait(t *testing.T) {
	srv, _, _ := scripted(t, status(429, map[string]string{"Retry-After": "30"}, ""))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
	_, err := httpretry.Client(&httpretry.Transport{Clock: shipprodtest.NewClock(start)}, 0).Do(req)
	require.ErrorIs(t, err, context.Canceled)
}

func TestRateLimitWaitsAreBounded(t *testing.T) {
	var handlers []http.HandlerFunc
	for i := 0; i <= httpretry.DefaultMaxRateLimitWaits; i++ {
		handlers = append(handlers, status(429, map[string]string{"Retry-After": "1"}, `{"message":"slow down"}`))
	}
	srv, n, _ := scripted(t, handlers...)
	clock := shipprodtest.NewClock(start)
	var waits []httpretry.Wait
	resp, err := client(clock, &waits, 0).Get(srv.URL)
	require.NoError(t, err)
	defer resp.Body.Close()
	assert.Equal(t, 429, resp.StatusCode)
	assert.EqualValues(t, httpretry.DefaultMaxRateLimitWaits+1, n.Load())
	assert.True(t, waits[len(waits)-1].Refused)
}

func TestBackoffIsCappedHoweverManyRetries(t *testing.T) {
	var handlers []http.HandlerFunc
	for i := 0; i < 41; i++ {
		handlers = append(handlers, status(503, nil, ""))
	}
	srv, n, _ := scripted(t, handlers...)
	clock := shipprodtest.NewClock(start)
	var waits []httpretry.Wait
	tr := &httpretry.Transport{Clock: clock, MaxRetries: 40, OnWait: func(w httpretry.Wait) { waits = append(waits, w) }}
	resp, err := httpretry.Client(tr, 0).Get(srv.URL)
	require.NoError(t, err)
	resp.Body.Close()
	assert.EqualValues(t, 41, n.Load())
	for _, w := range waits {
		assert.LessOrEqual(t, w.Wait, httpretry.MaxBackoff)
		assert.Greater(t, w.Wait, time.Duration(0))
	}
}
