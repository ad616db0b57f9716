package notify

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/shipprod/shipprod"
	"github.com/shipprod/shipprod/internal/git"
	"github.com/shipprod/shipprod/internal/httpretry"
)

// Delivery bounds. A notification is the last step of a run, which may be
// cleaning up after an interruption on a short deadline: it tries three
// times at most and waits out a rate limit only when the wait is short.
const (
	// maxRetries: two retries after the first attempt, on a 5xx answer or
	// a connection error.
	maxRetries  = 2
	baseBackoff = time.Second
	// maxWait is the longest Retry-After a notification waits out; a
	// longer one is reported as the error.
	maxWait = 30 * time.Second
	// maxRateLimitWaits bounds the 429 answers one notification waits out.
	maxRateLimitWaits = 2
	// defaultRateLimitWait is waited after a 429 without Retry-After.
	defaultRateLimitWait = time.Second
	// maxResponse bounds what is read of an answer's body.
	maxResponse = 1 << 10
	// maxResponseShown bounds what of it an error quotes.
	maxResponseShown = 300
	userAgent        = "shipprod-notify/1"
)

// DeliveryError is a notification that a target did not accept. It names
// the target by type, environment variable and host, and never holds the
// URL's path or query: a Slack webhook URL's path is its credential.
type DeliveryError struct {
	// Target is e.g. "slack target $SLACK_WEBHOOK_URL (hooks.slack.com)".
	Target string
	// StatusCode is the last answer's HTTP status; 0 when none came.
	StatusCode int
	// Response is the start of the last answer's body, e.g. Slack's
	// "invalid_payload" or "channel_not_found", with secrets masked.
	Response string
	// Reason says why no answer came, or why a 429 was not waited out.
	Reason string
	// Attempts counts the requests made.
	Attempts int
	// cause is kept only when it is a context's error: the transport's
	// own errors quote the URL.
	cause error
}

func (e *DeliveryError) Error() string {
	s := e.Target + ": "
	if e.StatusCode != 0 {
		s += fmt.Sprintf("answered %d %s", e.StatusCode, http.StatusText(e.StatusCode))
		if e.Response != "" {
			s += ": " + e.Response
		}
		if e.Reason != "" {
			s += " (" + e.Reason + ")"
		}
	} else {
		s += e.Reason
	}
	if e.Attempts > 1 {
		s += fmt.Sprintf(" [%d attempts]", e.Attempts)
	}
	return s
}

// Unwrap returns context.Canceled or context.DeadlineExceeded when the
// delivery ended with one, nil otherwise.
func (e *DeliveryError) Unwrap() error { return e.cause }

// send delivers res to one target.
func (n *Notifier) send(ctx context.Context, t target, res shipprod.Result, m Message, scrub func(string) string) error {
	e, err := n.resolve(t)
	if err != nil {
		return fmt.Errorf("%s target: %w", t.kind, err)
	}
	secret, err := n.secret(t)
	if err != nil {
		return fmt.Errorf("%s target: %w", t.kind, err)
	}
	name := fmt.Sprintf("%s target $%s (%s)", t.kind, t.urlEnv, e.host())
	header := http.Header{}
	var body []byte
	switch t.kind {
	case TypeSlack:
		body, err = encodeJSON(slackMessage(m))
	default:
		id, sent := rand.Text(), n.opts.Clock.Now()
		body, err = encodeJSON(newWebhookPayload(res, m, id, n.opts.Composer.Project, sent, scrub))
		ts := strconv.FormatInt(sent.Unix(), 10)
		header.Set(HeaderDelivery, id)
		header.Set(HeaderTimestamp, ts)
		header.Set(HeaderSignature, Sign(secret, ts, body))
	}
	if err != nil {
		return fmt.Errorf("%s: encoding the message: %w", name, err)
	}
	return n.post(ctx, name, e, header, body, scrub)
}

// post sends body and reads the answer. Retries resend the same bytes and
// headers, so a webhook delivery keeps its id and signature.
func (n *Notifier) post(ctx context.Context, name string, e endpoint, header http.Header, body []byte, scrub func(string) string) error {
	var attempts atomic.Int32
	attempts.Store(1)
	client := n.client(ctx, name, &attempts)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.u.String(), bytes.NewReader(body))
	if err != nil {
		// Its text would quote the URL.
		return &DeliveryError{Target: name, Reason: "the request could not be built"}
	}
	for k, v := range header {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", userAgent)
	resp, err := client.Do(req)
	if err != nil {
		de := transportError(ctx, name, err, scrub, n.timeout)
		de.Attempts = int(attempts.Load())
		n.opts.Logger.DebugContext(ctx, "notification failed", "target", name, "error", de.Error())
		return de
	}
	defer resp.Body.Close()
	text, _ := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		n.opts.Logger.InfoContext(ctx, "notification sent", "target", name, "status", resp.StatusCode, "attempts", attempts.Load())
		return nil
	}
	de := &DeliveryError{Target: name, StatusCode: resp.StatusCode, Attempts: int(attempts.Load()),
		Response: truncate(scrub(oneLine(string(text))), maxResponseShown)}
	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		de.Reason = fmt.Sprintf("rate limited: a notification waits out %d Retry-After of at most %s", maxRateLimitWaits, maxWait)
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		de.Reason = "redirects are not followed: set the URL the redirect points to"
	}
	n.opts.Logger.DebugContext(ctx, "notification failed", "target", name, "error", de.Error())
	return de
}

// client is the HTTP client of one delivery: the configured transport,
// each attempt bounded by the timeout, retried as the constants above say,
// redirects not followed.
func (n *Notifier) client(ctx context.Context, name string, attempts *atomic.Int32) *http.Client {
	base := n.opts.HTTPClient.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	tr := &httpretry.Transport{
		Base:               attemptTimeout{base: base, timeout: n.timeout},
		Clock:              n.opts.Clock,
		RateLimit:          rateLimited,
		MaxRetries:         maxRetries,
		BaseBackoff:        baseBackoff,
		MaxWait:            maxWait,
		MaxRateLimitWaits:  maxRateLimitWaits,
		RetryNonIdempotent: true, // a duplicate message beats a lost one; webhook receivers dedupe on the delivery id
		OnWait: func(w httpretry.Wait) {
			// w.URL holds the path: it is not logged.
			if w.Refused {
				n.opts.Logger.InfoContext(ctx, "notification not retried: the wait asked for is too long",
					"target", name, "status", w.Status, "wait", w.Wait)
				return
			}
			attempts.Add(1)
			n.opts.Logger.InfoContext(ctx, "notification retried", "target", name, "status", w.Status,
				"reason", w.Reason, "wait", w.Wait, "attempt", w.Attempt+1)
		},
	}
	return &http.Client{
		Transport: tr,
		Timeout:   n.opts.HTTPClient.Timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// rateLimited recognises a 429 and the wait its Retry-After asks for
// (seconds or an HTTP date, RFC 9110 §10.2.3), as Slack sends it.
func rateLimited(resp *http.Response, _ []byte, now time.Time) (time.Duration, string, bool) {
	if resp.StatusCode != http.StatusTooManyRequests {
		return 0, "", false
	}
	return retryAfter(resp.Header.Get("Retry-After"), now), "rate limit", true
}

func retryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil && secs >= 0 {
		return time.Duration(secs) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0)
	}
	return defaultRateLimitWait
}

// attemptTimeout bounds each attempt (the request and the reading of its
// answer) by timeout.
type attemptTimeout struct {
	base    http.RoundTripper
	timeout time.Duration
}

func (t attemptTimeout) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx, cancel := context.WithTimeout(req.Context(), t.timeout)
	resp, err := t.base.RoundTrip(req.WithContext(ctx))
	if err != nil {
		cancel()
		return nil, err
	}
	resp.Body = cancelOnClose{ReadCloser: resp.Body, cancel: cancel}
	return resp, nil
}

type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (c cancelOnClose) Close() error {
	err := c.ReadCloser.Close()
	c.cancel()
	return err
}

// transportError describes a delivery that got no answer, without the URL
// the transport's errors quote.
func transportError(ctx context.Context, name string, err error, scrub func(string) string, timeout time.Duration) *DeliveryError {
	de := &DeliveryError{Target: name}
	inner := err
	var ue *url.Error
	if errors.As(err, &ue) {
		inner = ue.Err // "Post "<url>": …" without its first part
	}
	switch {
	case ctx.Err() != nil:
		de.cause = ctx.Err()
		de.Reason = "not sent: the run's time for notifying ran out (" + ctx.Err().Error() + ")"
		return de
	case errors.Is(err, context.DeadlineExceeded):
		de.cause = context.DeadlineExceeded
		de.Reason = fmt.Sprintf("no answer in time (each attempt may take %s)", timeout)
		return de
	}
	de.Reason = "no answer: " + scrub(oneLine(inner.Error()))
	return de
}

// scrubber returns a function that masks, in any text, every target's URL
// (as set, and as Go prints it), its path and query, every secret, and any
// credentials in URLs. It covers all targets at once, so that one target's
// secret is not sent to, or quoted in the error of, another.
func (n *Notifier) scrubber() func(string) string {
	type pair struct{ old, new string }
	var pairs []pair
	for _, t := range n.targets {
		if e, err := n.resolve(t); err == nil {
			masked := e.u.Scheme + "://" + e.u.Host + "/***"
			for _, s := range []string{e.raw, e.u.String(), e.u.Redacted()} {
				pairs = append(pairs, pair{s, masked})
			}
			for _, p := range []string{e.u.EscapedPath(), e.u.Path} {
				if len(p) > 1 {
					pairs = append(pairs, pair{p, "/***"})
				}
			}
			if e.u.RawQuery != "" {
				pairs = append(pairs, pair{e.u.RawQuery, "***"})
			}
		}
		if s, err := n.secret(t); err == nil && len(s) >= minSecretToMask {
			pairs = append(pairs, pair{string(s), "***"})
		}
	}
	// The replacer tries the strings in order at each position: the longest
	// first, so that a URL is masked whole before its path is.
	slices.SortStableFunc(pairs, func(a, b pair) int { return len(b.old) - len(a.old) })
	args := make([]string, 0, 2*len(pairs))
	for _, p := range pairs {
		args = append(args, p.old, p.new)
	}
	r := strings.NewReplacer(args...)
	return func(s string) string { return git.MaskURL(r.Replace(s)) }
}

// minSecretToMask: a shorter secret is not searched for in texts, where it
// would mask ordinary words.
const minSecretToMask = 8
