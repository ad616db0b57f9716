// Package github is shipprod's one GitHub REST client, shared by the release
// step (tag), the GitHub Deployments recorder and the GitHub Actions
// deployer. It is a thin layer over google/go-github that
//
//   - reads the token from an environment variable (GH_TOKEN, else
//     GITHUB_TOKEN, as the gh CLI does, or a configured name) and never puts
//     it in a log line or an
//     error;
//   - talks to github.com, to GitHub Enterprise Server (https://HOST/api/v3/)
//     or to a test server, as configured;
//   - finds the repository from the configuration or from the git remote URL;
//   - waits out primary and secondary rate limits and retries 5xx answers and
//     dropped connections through internal/httpretry, on an injected clock,
//     each wait bounded and reported;
//   - returns plain values and *APIError, so callers never handle go-github's
//     pointer-heavy types.
package github

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	gogithub "github.com/google/go-github/v89/github"

	"github.com/shipprod/shipprod/internal/clock"
	"github.com/shipprod/shipprod/internal/git"
	"github.com/shipprod/shipprod/internal/httpretry"
)

// DefaultAPIURL is the REST API of github.com.
const DefaultAPIURL = "https://api.github.com/"

// DefaultMaxRateLimitWait bounds a single rate-limit wait unless configured.
const DefaultMaxRateLimitWait = 10 * time.Minute

// DefaultTokenEnvs are the variables the token is read from, in order, when
// no variable is configured.
var DefaultTokenEnvs = []string{"GH_TOKEN", "GITHUB_TOKEN"}

// Options configure a Client.
type Options struct {
	// Repository is "owner/name" (or any GitHub URL of the repository).
	// Empty means: parse it from the URL of the git remote Remote in Dir.
	Repository string
	// Dir is the repository's working tree, for finding the remote URL.
	Dir string
	// Remote is the git remote whose URL names the repository (default "origin").
	Remote string
	// APIURL is the REST API root, used as given: "" means
	// https://api.github.com/; GitHub Enterprise Server is
	// "https://HOST/api/v3/"; tests pass their fake server's URL.
	APIURL string
	// TokenEnv names the environment variable holding the token. Empty means
	// GH_TOKEN, else GITHUB_TOKEN (gh's order: GH_TOKEN wins).
	TokenEnv string
	// Getenv reads the environment; nil means os.Getenv.
	Getenv func(string) string
	// HTTPClient supplies the base transport (its Transport is used beneath
	// the retrying one; its Timeout is not, since a rate-limit wait may
	// legitimately outlast it). Nil means a default transport.
	HTTPClient *http.Client
	// Clock measures waits; nil means the system clock.
	Clock clock.Clock
	// Logger receives diagnostics (rate-limit waits, retries); nil discards.
	Logger *slog.Logger
	// MaxRateLimitWait bounds each single rate-limit wait (default
	// DefaultMaxRateLimitWait). A longer wait is not made: the call fails
	// with an *APIError saying when the limit resets.
	MaxRateLimitWait time.Duration
	// MaxRetries bounds retries after 5xx answers and connection errors
	// (default httpretry.DefaultMaxRetries; negative means none).
	MaxRetries int
	// BaseBackoff is the first retry's backoff (default
	// httpretry.DefaultBaseBackoff); later ones double, with jitter.
	BaseBackoff time.Duration
	// OnWait, when set, is told of every wait (rate limit or retry), in
	// addition to the log line.
	OnWait func(httpretry.Wait)
	// UserAgent defaults to "shipprod".
	UserAgent string
}

// Client is a GitHub REST client bound to one repository. It is safe for
// concurrent use.
type Client struct {
	api         *gogithub.Client
	owner, repo string
	apiURL      string
	// tokenEnv is the variable the token was read from, for messages;
	// tokenDefault says it was found among DefaultTokenEnvs (no variable
	// was configured).
	tokenEnv     string
	tokenDefault bool
	// installation marks a GitHub App installation token (ghs_…), whose
	// rights the repository answer does not describe.
	installation bool
	log          *slog.Logger
	clock        clock.Clock
	// createBackoff is waited before a lost create is sent again.
	createBackoff time.Duration

	requests atomic.Int64
	rateMu   sync.Mutex
	rate     Rate
}

// Rate is the rate-limit state GitHub reported on its last answer.
type Rate struct {
	Limit, Remaining int
	Reset            time.Time
	// Known is false until an answer carried rate-limit headers.
	Known bool
}

// ErrNoToken means no token was found in the environment.
var ErrNoToken = errors.New("no GitHub token")

// New returns a Client. It fails when the token or the repository cannot be
// found, naming the variable or the remote, never the token itself.
func New(ctx context.Context, o Options) (*Client, error) {
	getenv := o.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	token, tokenEnv, err := readToken(o.TokenEnv, getenv)
	if err != nil {
		return nil, err
	}
	owner, repo, err := resolveRepository(ctx, o)
	if err != nil {
		return nil, err
	}
	apiURL, err := normalizeAPIURL(o.APIURL)
	if err != nil {
		return nil, err
	}
	c := &Client{owner: owner, repo: repo, apiURL: apiURL, tokenEnv: tokenEnv, tokenDefault: o.TokenEnv == "",
		installation: strings.HasPrefix(token, "ghs_"), log: o.Logger, clock: o.Clock}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.clock == nil {
		c.clock = clock.System()
	}
	c.createBackoff = cmp.Or(o.BaseBackoff, httpretry.DefaultBaseBackoff)

	base := http.RoundTripper(nil)
	if o.HTTPClient != nil && o.HTTPClient.Transport != nil {
		base = o.HTTPClient.Transport
	}
	if base == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.ResponseHeaderTimeout = 90 * time.Second
		base = t
	}
	maxWait := o.MaxRateLimitWait
	if maxWait <= 0 {
		maxWait = DefaultMaxRateLimitWait
	}
	retry := &httpretry.Transport{
		Base:        &observer{base: base, c: c},
		Clock:       c.clock,
		RateLimit:   httpretry.GitHubRateLimit,
		MaxRetries:  o.MaxRetries,
		BaseBackoff: o.BaseBackoff,
		MaxWait:     maxWait,
		OnWait: func(w httpretry.Wait) {
			c.reportWait(w, maxWait)
			if o.OnWait != nil {
				o.OnWait(w)
			}
		},
	}
	ua := o.UserAgent
	if ua == "" {
		ua = "shipprod"
	}
	api, err := gogithub.NewClient(
		gogithub.WithTransport(retry),
		gogithub.WithAuthToken(token),
		gogithub.WithURLs(&apiURL, &apiURL),
		gogithub.WithUserAgent(ua),
		// go-github remembers a rate-limit answer and refuses later calls
		// until the reset, measured on the wall clock, without asking the
		// server. The retrying transport beneath already waits out every
		// limit on the injected clock, bounded and reported, so go-github's
		// own pre-emption would only turn those waits into errors.
		gogithub.WithDisableRateLimitCheck(),
	)
	if err != nil {
		return nil, fmt.Errorf("github: api_url %q: %w", apiURL, err)
	}
	c.api = api
	return c, nil
}

func (c *Client) reportWait(w httpretry.Wait, maxWait time.Duration) {
	u := redactURL(w.URL)
	if w.Refused {
		c.log.Warn("GitHub asks for a wait longer than allowed; not waiting",
			"method", w.Method, "url", u, "status", w.Status, "reason", w.Reason,
			"wait", w.Wait.Round(time.Second).String(), "max_wait", maxWait.String())
		return
	}
	c.log.Warn("waiting before retrying a GitHub request",
		"method", w.Method, "url", u, "status", w.Status, "reason", w.Reason,
		"wait", w.Wait.Round(time.Millisecond).String(), "attempt", w.Attempt)
}

// Owner returns the repository's owner.
func (c *Client) Owner() string { return c.owner }

// Name returns the repository's name.
func (c *Client) Name() string { return c.repo }

// Repository returns "owner/name".
func (c *Client) Repository() string { return c.owner + "/" + c.repo }

// TokenEnv returns the name of the environment variable the token was read
// from, for messages that say which token to fix.
func (c *Client) TokenEnv() string { return c.tokenEnv }

// APIURL returns the REST API root the client talks to.
func (c *Client) APIURL() string { return c.apiURL }

// Requests returns the number of HTTP requests sent so far, retries included.
func (c *Client) Requests() int64 { return c.requests.Load() }

// Rate returns the rate-limit state of the last answer.
func (c *Client) Rate() Rate {
	c.rateMu.Lock()
	defer c.rateMu.Unlock()
	return c.rate
}

// API returns the underlying go-github client, for calls this package does
// not wrap. It shares the retrying transport and the token.
func (c *Client) API() *gogithub.Client { return c.api }

// observer counts requests and records the rate-limit headers of every
// answer, beneath the retrying transport so that retries count too.
type observer struct {
	base http.RoundTripper
	c    *Client
}

func (o *observer) RoundTrip(req *http.Request) (*http.Response, error) {
	o.c.requests.Add(1)
	resp, err := o.base.RoundTrip(req)
	if err != nil {
		return resp, err
	}
	if lim, err1 := strconv.Atoi(resp.Header.Get("X-RateLimit-Limit")); err1 == nil {
		rem, _ := strconv.Atoi(resp.Header.Get("X-RateLimit-Remaining"))
		reset, _ := strconv.ParseInt(resp.Header.Get("X-RateLimit-Reset"), 10, 64)
		o.c.rateMu.Lock()
		o.c.rate = Rate{Limit: lim, Remaining: rem, Reset: time.Unix(reset, 0), Known: true}
		o.c.rateMu.Unlock()
	}
	return resp, nil
}

// readToken returns the token and the variable it was read from: the
// configured variable, or the first of DefaultTokenEnvs that is set.
func readToken(env string, getenv func(string) string) (string, string, error) {
	names := DefaultTokenEnvs
	if env != "" {
		names = []string{env}
	}
	for _, n := range names {
		if v := strings.TrimSpace(getenv(n)); v != "" {
			return v, n, nil
		}
	}
	return "", "", fmt.Errorf("%w: set %s (a token with contents, actions and deployments write access)", ErrNoToken, strings.Join(names, " or "))
}

func normalizeAPIURL(s string) (string, error) {
	if s == "" {
		return DefaultAPIURL, nil
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return "", fmt.Errorf("github: api_url %q is not an http(s) URL (github.com: %s; GitHub Enterprise Server: https://HOST/api/v3/)", redactURL(s), DefaultAPIURL)
	}
	if u.User != nil {
		return "", fmt.Errorf("github: api_url %q must not carry credentials; the token comes from the environment", redactURL(s))
	}
	if !strings.HasSuffix(u.Path, "/") {
		u.Path += "/"
	}
	return u.String(), nil
}

// resolveRepository returns the owner and name from the options, or from the
// git remote's URL.
func resolveRepository(ctx context.Context, o Options) (string, string, error) {
	if o.Repository != "" {
		owner, name, err := ParseRepository(o.Repository)
		if err != nil {
			return "", "", fmt.Errorf("github: repository: %w", err)
		}
		return owner, name, nil
	}
	remote := o.Remote
	if remote == "" {
		remote = "origin"
	}
	if err := git.CheckRemoteName(remote); err != nil {
		return "", "", err
	}
	remoteURL, err := git.Open(o.Dir).Run(ctx, "remote", "get-url", remote)
	if err != nil && ctx.Err() != nil {
		// Interrupted: the remote may well have a URL.
		return "", "", fmt.Errorf("github: reading the URL of git remote %q: %w", remote, err)
	}
	if err != nil {
		return "", "", fmt.Errorf("github: repository not configured and the git remote %q has no URL (%v); set github.repository to owner/name", remote, err)
	}
	owner, name, err := ParseRepository(remoteURL)
	if err != nil {
		return "", "", fmt.Errorf("github: repository not configured and the URL of git remote %q does not name a GitHub repository (%w); set github.repository to owner/name", remote, err)
	}
	return owner, name, nil
}

var (
	namePart = regexp.MustCompile(`^[A-Za-z0-9_.-]+$`)
	// scpLike matches git's "[user@]host:path" form (no scheme).
	scpLike = regexp.MustCompile(`^(?:[^@/\s]+@)?([^:/\s]+):(.+)$`)
)

// ParseRepository returns the owner and name of a GitHub repository given as
// "owner/name" or as a remote URL: https://github.com/owner/name(.git),
// git@github.com:owner/name.git, ssh://git@github.com/owner/name.git,
// git://…, with or without credentials, a port or a trailing slash.
func ParseRepository(s string) (owner, name string, err error) {
	s = strings.TrimSpace(s)
	var path string
	switch {
	case strings.Contains(s, "://"):
		u, perr := url.Parse(s)
		if perr != nil {
			return "", "", fmt.Errorf("%q is not a URL", redactURL(s))
		}
		if u.Scheme == "file" {
			return "", "", fmt.Errorf("%q is a local path, not a GitHub repository", redactURL(s))
		}
		path = u.Path
	case strings.HasPrefix(s, "/") || strings.HasPrefix(s, "."):
		return "", "", fmt.Errorf("%q is a local path, not a GitHub repository", s)
	case scpLike.MatchString(s) && strings.Contains(strings.SplitN(s, ":", 2)[0], "."):
		// git@github.com:owner/name.git — the host part has a dot, which
		// tells it from a bare "owner/name".
		path = scpLike.FindStringSubmatch(s)[2]
	default:
		path = s
	}
	path = strings.Trim(path, "/")
	path = strings.TrimSuffix(path, ".git")
	parts := strings.Split(path, "/")
	if len(parts) < 2 {
		return "", "", fmt.Errorf("%q does not name a repository as owner/name", redactURL(s))
	}
	owner, name = parts[len(parts)-2], parts[len(parts)-1]
	for _, p := range []string{owner, name} {
		if !namePart.MatchString(p) || p == "." || p == ".." {
			return "", "", fmt.Errorf("%q does not name a repository as owner/name", redactURL(s))
		}
	}
	return owner, name, nil
}

// redactURL masks credentials in a URL-ish string.
func redactURL(s string) string { return git.MaskURL(s) }

// APIError is an unsuccessful GitHub API call.
type APIError struct {
	Method string
	// Path is the request path relative to the API root, e.g.
	// "repos/acme/web/releases".
	Path string
	// Status is the HTTP status; 0 when no answer arrived.
	Status int
	// Message is GitHub's message ("Validation Failed", "Not Found", …).
	Message string
	// Errors are the validation errors of a 422: "Release.tag_name already_exists".
	Errors []FieldError
	// DocumentationURL is GitHub's pointer to the docs, when given.
	DocumentationURL string
	// RateLimitReset is set when the call failed on a rate limit whose wait
	// exceeded the allowed maximum.
	RateLimitReset time.Time
	// Err is the underlying error (transport, decoding, or go-github's).
	Err error
}

// FieldError is one validation error of a 422 answer.
type FieldError struct {
	Resource, Field, Code, Message string
}

func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "GitHub API %s /%s: ", e.Method, e.Path)
	switch {
	case e.Status == 0 && e.Message != "":
		b.WriteString(e.Message)
		return b.String()
	case e.Status == 0:
		fmt.Fprintf(&b, "%v", e.Err)
		return b.String()
	case e.Message != "":
		fmt.Fprintf(&b, "%d %s", e.Status, e.Message)
	default:
		fmt.Fprintf(&b, "%d %s", e.Status, http.StatusText(e.Status))
	}
	var details []string
	for _, fe := range e.Errors {
		d := strings.TrimSpace(strings.Join(nonEmpty(fe.Resource+"."+strings.TrimPrefix(fe.Field, "."), fe.Code, fe.Message), " "))
		details = append(details, strings.TrimPrefix(d, ". "))
	}
	if len(details) > 0 {
		fmt.Fprintf(&b, " (%s)", strings.Join(details, "; "))
	}
	if !e.RateLimitReset.IsZero() {
		fmt.Fprintf(&b, "; the rate limit resets at %s", e.RateLimitReset.UTC().Format(time.RFC3339))
	}
	return b.String()
}

func (e *APIError) Unwrap() error { return e.Err }

func nonEmpty(ss ...string) []string {
	var out []string
	for _, s := range ss {
		if s != "" && s != "." {
			out = append(out, s)
		}
	}
	return out
}

// HasCode reports whether a 422 carries a validation error with code
// ("already_exists", "missing_field", …).
func (e *APIError) HasCode(code string) bool {
	for _, fe := range e.Errors {
		if fe.Code == code {
			return true
		}
	}
	return false
}

// Transient reports whether the call may succeed if repeated: a 5xx answer,
// a rate limit, no answer at all, or an answer that could not be decoded.
func (e *APIError) Transient() bool {
	return e.Status == 0 || e.Status >= 500 || !e.RateLimitReset.IsZero() || e.Status == http.StatusTooManyRequests
}

// StatusOf returns the HTTP status of an *APIError in err's chain, or 0.
func StatusOf(err error) int {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.Status
	}
	return 0
}

// IsNotFound reports whether err is a 404 from GitHub.
func IsNotFound(err error) bool { return StatusOf(err) == http.StatusNotFound }

// IsRateLimited reports whether err is a rate limit whose wait was longer
// than allowed: repeating the call before RateLimitReset is pointless.
func IsRateLimited(err error) bool {
	var ae *APIError
	return errors.As(err, &ae) && !ae.RateLimitReset.IsZero()
}

// IsTransient reports whether err is an *APIError that may go away when the
// call is repeated.
func IsTransient(err error) bool {
	var ae *APIError
	return errors.As(err, &ae) && ae.Transient()
}

// wrap turns go-github's answer into an *APIError (or nil).
func (c *Client) wrap(method, path string, resp *gogithub.Response, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("GitHub API %s /%s: %w", method, path, err)
	}
	ae := &APIError{Method: method, Path: path, Err: err}
	if resp != nil && resp.Response != nil {
		ae.Status = resp.StatusCode
	}
	var er *gogithub.ErrorResponse
	var rl *gogithub.RateLimitError
	var abuse *gogithub.AbuseRateLimitError
	var accepted *gogithub.AcceptedError
	var urlErr *url.Error
	var netErr net.Error
	switch {
	case errors.As(err, &rl):
		ae.Message = rl.Message
		ae.RateLimitReset = rl.Rate.Reset.Time
		if ae.RateLimitReset.IsZero() {
			ae.RateLimitReset = c.clock.Now()
		}
		if rl.Response != nil {
			ae.Status = rl.Response.StatusCode
		}
	case errors.As(err, &abuse):
		ae.Message = abuse.Message
		if abuse.Response != nil {
			ae.Status = abuse.Response.StatusCode
		}
		reset := c.clock.Now()
		if ra := abuse.GetRetryAfter(); ra > 0 {
			reset = reset.Add(ra)
		}
		ae.RateLimitReset = reset
	case errors.As(err, &er):
		ae.Message = er.Message
		ae.DocumentationURL = er.DocumentationURL
		if er.Response != nil {
			ae.Status = er.Response.StatusCode
		}
		for _, fe := range er.Errors {
			ae.Errors = append(ae.Errors, FieldError{Resource: fe.Resource, Field: fe.Field, Code: fe.Code, Message: fe.Message})
		}
	case errors.As(err, &accepted):
		ae.Status = http.StatusAccepted
		ae.Message = acceptedMessage(accepted.Raw)
	case errors.As(err, &urlErr), errors.As(err, &netErr):
		ae.Status = 0
	default:
		// A 2xx whose body could not be decoded: the call may have taken
		// effect, so callers treat it as transient and re-read.
		if ae.Status >= 200 && ae.Status < 300 {
			ae.Message = "answer could not be decoded: " + err.Error()
			ae.Status = 0
		}
	}
	return ae
}

func acceptedMessage(raw []byte) string {
	var v struct {
		Message string `json:"message"`
	}
	if err := json.Unmarshal(raw, &v); err == nil && v.Message != "" {
		return v.Message
	}
	return "Accepted"
}

// createAttempts bounds how often a create whose answer was lost is sent.
const createAttempts = 3

// createOnce runs create, a request that must not take effect twice (a
// POST that makes a release or a deployment). When its answer is lost — no
// answer, or a 5xx after which the server may have acted — find looks for
// what it may have made; only when nothing is found is create sent again,
// after a backoff.
func (c *Client) createOnce(ctx context.Context, create func() error, find func() (bool, error)) error {
	var err error
	for attempt := 1; ; attempt++ {
		if err = create(); err == nil || !outcomeUnknown(err) || attempt == createAttempts {
			return err
		}
		c.log.Warn("the answer to a create was lost; looking for what it made before sending it again", "err", err)
		found, ferr := find()
		if ferr != nil {
			return errors.Join(err, ferr)
		}
		if found {
			return nil
		}
		if serr := c.clock.Sleep(ctx, c.createBackoff<<(attempt-1)); serr != nil {
			return errors.Join(err, serr)
		}
	}
}

// outcomeUnknown reports whether err leaves it unknown whether the request
// took effect: no answer arrived, or a 5xx did.
func outcomeUnknown(err error) bool {
	var ae *APIError
	if !errors.As(err, &ae) {
		return false
	}
	return ae.Status == 0 || ae.Status >= 500
}
