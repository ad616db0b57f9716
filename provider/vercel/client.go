package vercel

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/shipprod/shipprod"
	"github.com/shipprod/shipprod/internal/httpretry"
)

// Sentinel errors an *APIError matches with errors.Is.
var (
	// ErrInvalidToken: Vercel refused the token (403 with invalidToken,
	// which is how Vercel reports an expired or revoked token — not 401).
	ErrInvalidToken = errors.New("token invalid or expired")
	// ErrQuota: a plan limit refused the request (402), e.g. the Hobby
	// plan's 100 deployments a day, or a rollback further than the
	// previous production deployment.
	ErrQuota = errors.New("plan limit or quota reached")
	// ErrRateLimited: still rate limited after waiting as long as allowed.
	ErrRateLimited = errors.New("rate limited")
	// ErrNotFound: the project or deployment does not exist (or the token's
	// scope cannot see it).
	ErrNotFound = errors.New("not found")
)

// APIError is an error answer of the Vercel API.
type APIError struct {
	Method string
	// Path is the request path without the query.
	Path   string
	Status int
	// Code and Message are Vercel's own, from {"error":{"code","message"}}.
	Code         string
	Message      string
	InvalidToken bool
	// Reset is when a rate limit resets (429 only).
	Reset time.Time
}

func (e *APIError) Error() string {
	call := fmt.Sprintf("%s %s", e.Method, e.Path)
	what := fmt.Sprintf("%d %s: %s", e.Status, e.Code, e.Message)
	switch {
	case e.InvalidToken:
		return fmt.Sprintf("token invalid or expired (%s on %s); create a new token at vercel.com/account/tokens and set it in the token's environment variable", what, call)
	case e.Status == http.StatusPaymentRequired:
		return fmt.Sprintf("plan limit or quota reached (%s on %s)", what, call)
	case e.Status == http.StatusTooManyRequests:
		msg := fmt.Sprintf("rate limited (%s on %s)", what, call)
		if !e.Reset.IsZero() {
			msg += fmt.Sprintf("; the limit resets at %s, later than max_rate_limit_wait allows", e.Reset.UTC().Format(time.RFC3339))
		}
		return msg
	}
	return fmt.Sprintf("%s: %s", call, what)
}

// Is matches the sentinel errors.
func (e *APIError) Is(target error) bool {
	switch target {
	case ErrInvalidToken:
		return e.InvalidToken
	case ErrQuota:
		return e.Status == http.StatusPaymentRequired
	case ErrRateLimited:
		return e.Status == http.StatusTooManyRequests
	case ErrNotFound:
		return e.Status == http.StatusNotFound
	}
	return false
}

// transient reports whether err may go away if the request is made again.
func transient(err error) bool {
	var api *APIError
	if errors.As(err, &api) {
		return api.Status >= 500
	}
	var bad *malformedError
	var netErr net.Error
	return errors.As(err, &bad) || errors.As(err, &netErr) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF)
}

// malformedError is a response body that is not the JSON it should be.
type malformedError struct {
	call string
	err  error
}

func (e *malformedError) Error() string {
	return fmt.Sprintf("%s: malformed response from Vercel: %v", e.call, e.err)
}
func (e *malformedError) Unwrap() error { return e.err }

// RateLimit recognises Vercel's rate-limit answers for httpretry: a 429
// whose body says when the limit resets (error.limit.reset, epoch seconds;
// resetMs in milliseconds), or else the X-RateLimit-Reset header; without
// either it waits a minute.
func RateLimit(resp *http.Response, body []byte, now time.Time) (time.Duration, string, bool) {
	if resp.StatusCode != http.StatusTooManyRequests {
		return 0, "", false
	}
	reset := rateLimitReset(resp, body)
	if reset.IsZero() {
		return time.Minute, "rate limit", true
	}
	d := reset.Sub(now)
	if d < 0 {
		d = 0
	}
	return d + time.Second, "rate limit", true
}

func rateLimitReset(resp *http.Response, body []byte) time.Time {
	var eb apiErrorBody
	if json.Unmarshal(body, &eb) == nil && eb.Error.Limit != nil {
		switch {
		case eb.Error.Limit.ResetMs > 0:
			return time.UnixMilli(eb.Error.Limit.ResetMs)
		case eb.Error.Limit.Reset > 0:
			return time.Unix(eb.Error.Limit.Reset, 0)
		}
	}
	if s, err := strconv.ParseInt(resp.Header.Get("X-RateLimit-Reset"), 10, 64); err == nil && s > 0 {
		return time.Unix(s, 0)
	}
	return time.Time{}
}

// client is a thin client of the Vercel REST API.
type client struct {
	base  *url.URL
	token string
	team  url.Values // teamId or slug, on every request
	clock shipprod.Clock
	// reads retries idempotent requests; changes also retries the POSTs that
	// are safe to repeat (promote, rollback, cancel); create retries only
	// rate limits, since a 5xx may hide a deployment that was created.
	reads, changes, create *http.Client
}

func newClient(base *url.URL, token string, team url.Values, hc *http.Client, clock shipprod.Clock, maxWait time.Duration, onWait func(httpretry.Wait)) *client {
	if hc == nil {
		hc = &http.Client{}
	}
	mk := func(retryPOST bool, maxRetries int) *http.Client {
		c := *hc
		c.Transport = &httpretry.Transport{Base: hc.Transport, Clock: clock, RateLimit: RateLimit, MaxRetries: maxRetries,
			BaseBackoff: time.Second, MaxWait: maxWait, RetryNonIdempotent: retryPOST, OnWait: onWait}
		return &c
	}
	return &client{base: base, token: token, team: team, clock: clock,
		reads: mk(false, 4), changes: mk(true, 4), create: mk(false, 4)}
}

// do sends a request and decodes a JSON answer into out (when non-nil).
// GET answers that are not valid JSON are asked again, twice.
func (c *client) do(ctx context.Context, hc *http.Client, method, path string, query url.Values, body, out any) error {
	call := method + " " + path
	for attempt := 1; ; attempt++ {
		raw, err := c.send(ctx, hc, method, path, query, body)
		if err != nil {
			return err
		}
		if out == nil {
			return nil
		}
		err = json.Unmarshal(raw, out)
		if err == nil {
			return nil
		}
		merr := &malformedError{call: call, err: err}
		if method != http.MethodGet || attempt >= 3 {
			return merr
		}
		if err := c.clock.Sleep(ctx, time.Duration(attempt)*time.Second); err != nil {
			return fmt.Errorf("%s: %w", call, err)
		}
	}
}

func (c *client) send(ctx context.Context, hc *http.Client, method, path string, query url.Values, body any) ([]byte, error) {
	call := method + " " + path
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", call, err)
	}
	u := *c.base
	u.Path = strings.TrimSuffix(u.Path, "/") + path
	q := url.Values{}
	for k, v := range query {
		q[k] = v
	}
	for k, v := range c.team {
		q[k] = v
	}
	u.RawQuery = q.Encode()
	var rd io.Reader
	var payload []byte
	if body != nil {
		var err error
		if payload, err = json.Marshal(body); err != nil {
			return nil, err
		}
		rd = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		return nil, err
	}
	if payload != nil {
		req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(payload)), nil }
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "shipprod")
	resp, err := hc.Do(req)
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, fmt.Errorf("%s: %w", call, ctxErr)
		}
		// *url.Error names the URL (no credentials: the token is a header).
		return nil, fmt.Errorf("%s: %w", call, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, fmt.Errorf("%s: %w", call, ctxErr)
		}
		return nil, fmt.Errorf("%s: reading the response: %w", call, err)
	}
	if resp.StatusCode >= 300 {
		e := &APIError{Method: method, Path: path, Status: resp.StatusCode, Message: http.StatusText(resp.StatusCode)}
		var eb apiErrorBody
		if json.Unmarshal(raw, &eb) == nil && eb.Error.Code != "" {
			e.Code, e.Message, e.InvalidToken = eb.Error.Code, eb.Error.Message, eb.Error.InvalidToken
		}
		if resp.StatusCode == http.StatusTooManyRequests {
			e.Reset = rateLimitReset(resp, raw)
		}
		return nil, e
	}
	return raw, nil
}

func esc(s string) string { return url.PathEscape(s) }

func (c *client) getProject(ctx context.Context, idOrName string) (*project, error) {
	var p project
	if err := c.do(ctx, c.reads, http.MethodGet, "/v9/projects/"+esc(idOrName), nil, nil, &p); err != nil {
		return nil, err
	}
	return &p, nil
}

func (c *client) getDeployment(ctx context.Context, id string) (*deployment, error) {
	var d deployment
	if err := c.do(ctx, c.reads, http.MethodGet, "/v13/deployments/"+esc(id), nil, nil, &d); err != nil {
		return nil, err
	}
	return &d, nil
}

// listDeployments lists a project's deployments, newest first.
func (c *client) listDeployments(ctx context.Context, projectID string, filter url.Values) ([]deployment, error) {
	q := url.Values{"projectId": {projectID}, "limit": {"20"}}
	for k, v := range filter {
		q[k] = v
	}
	var l deploymentList
	if err := c.do(ctx, c.reads, http.MethodGet, "/v6/deployments", q, nil, &l); err != nil {
		return nil, err
	}
	return l.Deployments, nil
}

func (c *client) createDeployment(ctx context.Context, body createRequest) (*deployment, error) {
	var d deployment
	if err := c.do(ctx, c.create, http.MethodPost, "/v13/deployments", nil, body, &d); err != nil {
		return nil, err
	}
	return &d, nil
}

func (c *client) promote(ctx context.Context, projectID, deploymentID string) error {
	return c.do(ctx, c.changes, http.MethodPost, "/v10/projects/"+esc(projectID)+"/promote/"+esc(deploymentID), nil, struct{}{}, nil)
}

func (c *client) rollback(ctx context.Context, projectID, deploymentID, description string) error {
	return c.do(ctx, c.changes, http.MethodPost, "/v1/projects/"+esc(projectID)+"/rollback/"+esc(deploymentID), url.Values{"description": {description}}, nil, nil)
}

func (c *client) cancel(ctx context.Context, deploymentID string) error {
	return c.do(ctx, c.changes, http.MethodPatch, "/v12/deployments/"+esc(deploymentID)+"/cancel", nil, nil, nil)
}

// failedAliases lists the aliases a failed promote or rollback could not move.
func (c *client) failedAliases(ctx context.Context, projectID, kind string) ([]string, error) {
	var l aliasList
	q := url.Values{"failedOnly": {"true"}, "limit": {"20"}}
	if err := c.do(ctx, c.reads, http.MethodGet, "/v9/projects/"+esc(projectID)+"/"+kind+"/aliases", q, nil, &l); err != nil {
		return nil, err
	}
	var out []string
	for _, a := range l.Aliases {
		out = append(out, a.Alias.Alias)
	}
	return out, nil
}
