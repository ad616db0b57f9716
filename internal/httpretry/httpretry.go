// Package httpretry is an http.RoundTripper that waits out rate limits and
// retries transient failures, for the clients of hosted APIs (GitHub,
// Vercel). Every wait is bounded by the request's context and a maximum, is
// measured on an injected clock, and is reported to a callback.
//
// The retry loop is written here rather than taken from a backoff library
// such as github.com/cenkalti/backoff/v5 because of the clock: backoff.Retry
// waits on a time.Timer it makes itself (its timer option is unexported) and
// measures its elapsed-time limit with time.Now, so its waits cannot go
// through Clock.Sleep, and a test of a five-minute rate-limit wait would
// take five minutes. What the library would add beyond that loop, the
// jittered exponential delay, is the dozen lines of jitter below; the rest —
// reading Retry-After, x-ratelimit-reset or Vercel's limit.reset, refusing a
// wait longer than MaxWait, counting rate-limit waits apart from transient
// retries, rewinding request bodies — the library leaves to its caller
// anyway.
//
// The package imports no shipprod package but internal/clock: Clock is an
// alias of clock.Clock, which has the method set of shipprod.Clock, so a
// shipprod.Clock (shipprodtest.Clock in tests) is passed as it is.
package httpretry

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"

	"github.com/shipprod/shipprod/internal/clock"
)

// Clock is the time source of the waits (an alias of clock.Clock).
type Clock = clock.Clock

// Defaults for the zero Transport.
const (
	DefaultMaxRetries  = 3
	DefaultBaseBackoff = 500 * time.Millisecond
	DefaultMaxWait     = 5 * time.Minute
	// DefaultMaxRateLimitWaits bounds how many rate-limit answers in a row
	// one request waits out.
	DefaultMaxRateLimitWaits = 10
	// maxBodyPeek bounds how much of an error body is buffered for RateLimit.
	maxBodyPeek = 64 << 10
)

// Wait describes one wait the Transport made (or refused to make).
type Wait struct {
	Method, URL string
	Status      int // 0 for a connection error
	// Reason is "rate limit", "secondary rate limit" or "transient error".
	Reason string
	Wait   time.Duration
	// Attempt counts from 1 for the first retry.
	Attempt int
	// Refused is set when the wait exceeded MaxWait and the response was
	// returned instead.
	Refused bool
}

// RateLimitFunc says whether resp is a rate-limit answer and how long to wait
// before retrying. body holds (up to 64 KiB of) the response body.
type RateLimitFunc func(resp *http.Response, body []byte, now time.Time) (wait time.Duration, reason string, limited bool)

// Transport retries requests. Rate-limit answers (as RateLimit decides) are
// always retried after the wait they ask for, since the server did not act
// on the request. 5xx answers and connection errors are retried with
// jittered exponential backoff, MaxRetries times, for idempotent methods, and
// for other methods only when RetryNonIdempotent is set.
type Transport struct {
	Base               http.RoundTripper // default http.DefaultTransport
	Clock              Clock             // default the system clock
	RateLimit          RateLimitFunc     // default GitHubRateLimit
	MaxRetries         int               // default DefaultMaxRetries; negative means none
	BaseBackoff        time.Duration     // default DefaultBaseBackoff
	MaxWait            time.Duration     // default DefaultMaxWait: longest single wait
	MaxRateLimitWaits  int               // default DefaultMaxRateLimitWaits
	RetryNonIdempotent bool
	// OnWait, when set, is told of every wait.
	OnWait func(Wait)
}

// RoundTrip implements http.RoundTripper.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	clk := clock.Or(t.Clock)
	base := t.Base
	if base == nil {
		base = http.DefaultTransport
	}
	rateLimit := t.RateLimit
	if rateLimit == nil {
		rateLimit = GitHubRateLimit
	}
	maxRetries := t.MaxRetries
	if maxRetries == 0 {
		maxRetries = DefaultMaxRetries
	}
	backoff := t.BaseBackoff
	if backoff <= 0 {
		backoff = DefaultBaseBackoff
	}
	maxWait := t.MaxWait
	if maxWait <= 0 {
		maxWait = DefaultMaxWait
	}
	retriable := t.RetryNonIdempotent || idempotent(req.Method) || retrySafe(ctx)

	maxLimited := t.MaxRateLimitWaits
	if maxLimited <= 0 {
		maxLimited = DefaultMaxRateLimitWaits
	}
	transient, limitedWaits := 0, 0
	for attempt := 1; ; attempt++ {
		r, err := rewind(req, attempt)
		if err != nil {
			return nil, err
		}
		resp, err := base.RoundTrip(r)
		var (
			wait   time.Duration
			reason string
			status int
		)
		switch {
		case err != nil:
			if ctx.Err() != nil || !retriable || transient >= maxRetries {
				return nil, err
			}
			transient++
			wait, reason = jitter(backoff, transient, maxWait), "transient error"
		default:
			status = resp.StatusCode
			body, perr := peek(resp)
			if perr != nil {
				return nil, perr
			}
			if d, why, limited := rateLimit(resp, body, clk.Now()); limited {
				wait, reason = d, why
				limitedWaits++
				if wait > maxWait || limitedWaits > maxLimited {
					t.report(Wait{Method: req.Method, URL: req.URL.String(), Status: status, Reason: reason, Wait: wait, Attempt: attempt, Refused: true})
					return resp, nil
				}
			} else if status >= 500 && retriable && transient < maxRetries {
				transient++
				wait, reason = jitter(backoff, transient, maxWait), "transient error"
			} else {
				return resp, nil
			}
			resp.Body.Close()
		}
		t.report(Wait{Method: req.Method, URL: req.URL.String(), Status: status, Reason: reason, Wait: wait, Attempt: attempt})
		if err := clk.Sleep(ctx, wait); err != nil {
			return nil, fmt.Errorf("waiting %s after %s on %s %s: %w", wait.Round(time.Second), reason, req.Method, req.URL.Redacted(), err)
		}
	}
}

func (t *Transport) report(w Wait) {
	if t.OnWait != nil {
		t.OnWait(w)
	}
}

// retrySafeKey marks a context whose requests may be retried whatever their
// method.
type retrySafeKey struct{}

// RetrySafe returns a context whose requests the Transport retries after a
// 5xx answer or a connection error even when their method is not idempotent
// (POST, PATCH). Use it for calls whose repetition the caller detects and
// handles itself, e.g. creating a release, where a duplicate is answered with
// 422 already_exists.
func RetrySafe(ctx context.Context) context.Context {
	return context.WithValue(ctx, retrySafeKey{}, true)
}

func retrySafe(ctx context.Context) bool {
	v, _ := ctx.Value(retrySafeKey{}).(bool)
	return v
}

func idempotent(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodPut, http.MethodDelete:
		return true
	}
	return false
}

// rewind returns the request for an attempt, with a fresh body after the first.
func rewind(req *http.Request, attempt int) (*http.Request, error) {
	if attempt == 1 || req.Body == nil || req.Body == http.NoBody {
		return req, nil
	}
	if req.GetBody == nil {
		return nil, errors.New("httpretry: cannot retry a request whose body cannot be rewound")
	}
	body, err := req.GetBody()
	if err != nil {
		return nil, err
	}
	r := req.Clone(req.Context())
	r.Body = body
	return r, nil
}

// peek buffers an error response's body (bounded) so RateLimit can read it,
// leaving resp.Body readable from the start.
func peek(resp *http.Response) ([]byte, error) {
	if resp.StatusCode < 400 || resp.Body == nil {
		return nil, nil
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBodyPeek))
	rest := resp.Body
	resp.Body = readCloser{io.MultiReader(bytes.NewReader(body), rest), rest}
	if err != nil {
		resp.Body.Close()
		return nil, err
	}
	return body, nil
}

type readCloser struct {
	io.Reader
	io.Closer
}

// MaxBackoff caps a single backoff between retries of transient failures.
const MaxBackoff = 30 * time.Second

// jitter returns a backoff of base·2^(n-1), capped at MaxBackoff (and at
// limit), randomised into [½, 1] of it.
func jitter(base time.Duration, n int, limit time.Duration) time.Duration {
	limit = min(limit, MaxBackoff)
	d := base
	for i := 1; i < n && d < limit; i++ {
		d *= 2
	}
	d = min(d, limit)
	return d/2 + time.Duration(rand.Int64N(int64(d/2)+1))
}

// GitHubRateLimit recognises GitHub's rate-limit answers
// (docs.github.com, "Rate limits for the REST API"): a 403 or 429 with
// retry-after is a secondary limit (wait that many seconds); a 403 or 429
// with x-ratelimit-remaining: 0 is the primary limit (wait until
// x-ratelimit-reset); any other 429 waits a minute, as GitHub advises for
// secondary limits without retry-after.
func GitHubRateLimit(resp *http.Response, body []byte, now time.Time) (time.Duration, string, bool) {
	if resp.StatusCode != http.StatusForbidden && resp.StatusCode != http.StatusTooManyRequests {
		return 0, "", false
	}
	if s := resp.Header.Get("Retry-After"); s != "" {
		if secs, err := strconv.Atoi(s); err == nil && secs >= 0 {
			return time.Duration(secs) * time.Second, "secondary rate limit", true
		}
	}
	if resp.Header.Get("X-RateLimit-Remaining") == "0" {
		if reset, err := strconv.ParseInt(resp.Header.Get("X-RateLimit-Reset"), 10, 64); err == nil {
			d := time.Unix(reset, 0).Sub(now)
			if d < 0 {
				d = 0
			}
			return d + time.Second, "rate limit", true
		}
	}
	if resp.StatusCode == http.StatusTooManyRequests || bytes.Contains(body, []byte("secondary rate limit")) {
		return time.Minute, "secondary rate limit", true
	}
	return 0, "", false
}

// Client returns an *http.Client using t, with the given overall timeout per
// request (0 for none).
func Client(t *Transport, timeout time.Duration) *http.Client {
	return &http.Client{Transport: t, Timeout: timeout}
}
