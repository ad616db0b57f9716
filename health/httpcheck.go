package health

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/shipprod/shipprod"
)

// maxBody bounds how much of a response body is read.
const maxBody = 1 << 20

// httpProbe checks an HTTP endpoint; with version set it checks the
// version the endpoint reports.
type httpProbe struct {
	rawURL  string
	opts    HTTPOptions
	header  http.Header
	client  *http.Client
	bodyRe  *regexp.Regexp
	exprs   []*Expr
	version *versionSpec
}

type versionSpec struct {
	// field is the version_field jq expression (nil: the default).
	field  *jqQuery
	re     *regexp.Regexp
	header string
}

// ResolveTarget resolves the URL against the base URL.
func (p *httpProbe) ResolveTarget(t Target) (string, error) {
	u, err := resolveURL(p.rawURL, t.BaseURL)
	if err != nil {
		return "", err
	}
	return redactURL(u), nil
}

// resolveURL returns raw when it is absolute, else base and raw joined: a
// base URL with a path keeps it ("https://x/app" + "/health" is
// "https://x/app/health").
func resolveURL(raw, base string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("%q is not a URL: %w", redactURL(raw), err)
	}
	if u.IsAbs() {
		return raw, nil
	}
	if base == "" {
		return "", fmt.Errorf("URL %q is relative and there is %w: set health.base_url, or deploy with a provider that reports the deployment URL", raw, ErrNoBaseURL)
	}
	if err := checkBaseURL(base); err != nil {
		return "", fmt.Errorf("base URL (the deployment URL): %w", err)
	}
	joined := strings.TrimRight(base, "/")
	if raw != "" && !strings.HasPrefix(raw, "?") {
		joined += "/" + strings.TrimLeft(raw, "/")
	} else {
		joined += raw
	}
	if _, err := url.Parse(joined); err != nil {
		return "", fmt.Errorf("%q joined to the base URL is not a URL: %w", raw, err)
	}
	return joined, nil
}

func (p *httpProbe) plan(rel shipprod.Release, baseURL string) (string, string) {
	target := planTarget(p.rawURL, baseURL)
	return target, p.describeFor(target, rel.Version)
}

// planTarget is what a plan shows of a check's URL: raw joined to the base
// URL when it is relative ("<deployment URL>" when the deploy will tell),
// credentials redacted.
func planTarget(raw, baseURL string) string {
	target := raw
	if u, err := url.Parse(raw); err == nil && !u.IsAbs() {
		base := baseURL
		if base == "" {
			base = "<deployment URL>"
		}
		target = strings.TrimRight(base, "/") + "/" + strings.TrimLeft(raw, "/")
	}
	return redactURL(target)
}

func (p *httpProbe) describe(version string) string { return p.describeFor(p.rawURL, version) }

func (p *httpProbe) describeFor(target, version string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s, expect %d", p.opts.Method, redactURL(target), p.opts.ExpectStatus)
	if p.version != nil {
		if version == "" {
			version = "the release version"
		}
		fmt.Fprintf(&b, " reporting version %s", version)
	}
	if p.opts.FollowRedirects {
		b.WriteString(" (following redirects)")
	}
	for _, e := range p.exprs {
		fmt.Fprintf(&b, ", %s", e)
	}
	if p.opts.MaxLatency > 0 {
		fmt.Fprintf(&b, ", within %s", p.opts.MaxLatency)
	}
	return b.String()
}

// Probe sends the request and checks the response against every expectation;
// all the problems found are reported together.
func (p *httpProbe) Probe(ctx context.Context, t Target) (Observation, error) {
	resp, body, latency, err := p.fetch(ctx, t)
	if err != nil {
		return Observation{}, err
	}
	f := findings{status: shipprod.HealthPass}
	p.checkStatus(&f, resp)
	p.checkHealthJSON(&f, resp, body)
	p.checkBody(ctx, &f, body)
	p.checkHeaders(&f, resp)
	if p.opts.MaxLatency > 0 && latency > p.opts.MaxLatency {
		f.problem("latency %s exceeds max_latency %s", roundLatency(latency), p.opts.MaxLatency)
	}
	versionNote := p.checkVersion(ctx, &f, resp, body, t.Release)
	if len(f.problems) > 0 {
		return Observation{}, errors.New(strings.Join(f.problems, "; "))
	}
	msg := fmt.Sprintf("%d %s in %s", resp.StatusCode, http.StatusText(resp.StatusCode), roundLatency(latency))
	if versionNote != "" {
		msg = versionNote + " (" + msg + ")"
	}
	if len(f.notes) > 0 {
		msg += "; " + strings.Join(f.notes, "; ")
	}
	return Observation{Status: f.status, Message: msg}, nil
}

// findings collects what one response showed: every problem (the check
// fails), notes for the message, and a warn status.
type findings struct {
	status   shipprod.HealthStatus
	problems []string
	notes    []string
}

func (f *findings) problem(format string, args ...any) {
	f.problems = append(f.problems, fmt.Sprintf(format, args...))
}

// fetch sends the request and reads (a bounded part of) the body; latency
// runs from sending to the end of the body.
func (p *httpProbe) fetch(ctx context.Context, t Target) (*http.Response, []byte, time.Duration, error) {
	raw, err := resolveURL(p.rawURL, t.BaseURL)
	if err != nil {
		return nil, nil, 0, err
	}
	req, err := http.NewRequestWithContext(ctx, p.opts.Method, raw, nil)
	if err != nil {
		return nil, nil, 0, fmt.Errorf("building the request: %w", err)
	}
	for k, vs := range p.header {
		req.Header[k] = vs
	}
	if req.Header.Get("User-Agent") == "" {
		req.Header.Set("User-Agent", "shipprod-health/1")
	}
	start := time.Now()
	resp, err := p.client.Do(req)
	if err != nil {
		return nil, nil, 0, describeTransportError(err)
	}
	body, readErr := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	_ = resp.Body.Close()
	latency := time.Since(start)
	if readErr != nil {
		return nil, nil, 0, fmt.Errorf("%d %s, reading the body: %w", resp.StatusCode, http.StatusText(resp.StatusCode), readErr)
	}
	return resp, body, latency, nil
}

// checkStatus compares the status code, and says so when an unfollowed
// redirect is why it differs.
func (p *httpProbe) checkStatus(f *findings, resp *http.Response) {
	if resp.StatusCode == p.opts.ExpectStatus {
		return
	}
	msg := fmt.Sprintf("status %d %s, want %d", resp.StatusCode, http.StatusText(resp.StatusCode), p.opts.ExpectStatus)
	if loc := resp.Header.Get("Location"); resp.StatusCode >= 300 && resp.StatusCode < 400 && loc != "" && !p.opts.FollowRedirects {
		msg += fmt.Sprintf(" (redirect to %s not followed; set follow_redirects: true to follow it)", redactURL(loc))
	}
	f.problems = append(f.problems, msg)
}

// checkHealthJSON judges an application/health+json body (or any body,
// with health_json set): fail fails the check, warn makes it warn.
func (p *httpProbe) checkHealthJSON(f *findings, resp *http.Response, body []byte) {
	if !p.opts.HealthJSON && !isHealthJSON(resp.Header.Get("Content-Type")) {
		return
	}
	hs, detail, err := evalHealthJSON(body)
	switch {
	case err != nil:
		f.problems = append(f.problems, err.Error())
	case hs == shipprod.HealthFail:
		f.problems = append(f.problems, "health+json status fail: "+detail)
	case hs == shipprod.HealthWarn:
		f.status = shipprod.HealthWarn
		f.notes = append(f.notes, "health+json status warn: "+detail)
	}
}

// checkBody applies expect_body, expect_body_regex and expect_json.
func (p *httpProbe) checkBody(ctx context.Context, f *findings, body []byte) {
	if p.opts.ExpectBody != "" && !bytes.Contains(body, []byte(p.opts.ExpectBody)) {
		f.problem("body does not contain %q (body: %s)", p.opts.ExpectBody, snippet(body))
	}
	if p.bodyRe != nil && !p.bodyRe.Match(body) {
		f.problem("body does not match %q (body: %s)", p.bodyRe, snippet(body))
	}
	if len(p.exprs) == 0 {
		return
	}
	doc, err := decodeJSON(body)
	if err != nil {
		f.problem("body is not JSON (%v): %s", err, snippet(body))
		return
	}
	for _, e := range p.exprs {
		if err := e.Eval(ctx, doc); err != nil {
			f.problems = append(f.problems, err.Error())
		}
	}
}

// checkHeaders applies expect_headers, in the order of their names.
func (p *httpProbe) checkHeaders(f *findings, resp *http.Response) {
	for _, k := range sortedKeys(p.opts.ExpectHeaders) {
		want := p.opts.ExpectHeaders[k]
		got := strings.Join(resp.Header.Values(k), ", ")
		switch {
		case got == want:
		case got == "":
			f.problem("header %s is absent, want %q", k, want)
		default:
			f.problem("header %s is %q, want %q", k, got, want)
		}
	}
}

// checkVersion compares the version the response reports with the
// release's; it returns the note for the message when they match.
func (p *httpProbe) checkVersion(ctx context.Context, f *findings, resp *http.Response, body []byte, rel shipprod.Release) string {
	if p.version == nil {
		return ""
	}
	found, err := p.version.extract(ctx, resp, body)
	switch {
	case err != nil:
		f.problems = append(f.problems, err.Error())
	case rel.Version == "":
		f.problem("version %s is live, but the release has no version to compare it with", found)
	case !sameVersion(found, rel.Version, rel.Tag):
		f.problem("version %s is live, want %s", found, rel.Version)
	default:
		return fmt.Sprintf("version %s is live", found)
	}
	return ""
}

// describeTransportError keeps the useful part of a client error: the URL is
// already in the report, and Go's url.Error repeats it.
func describeTransportError(err error) error {
	var uerr *url.Error
	if errors.As(err, &uerr) {
		return fmt.Errorf("%s %s: %w", uerr.Op, redactURL(uerr.URL), uerr.Err)
	}
	return err
}

func roundLatency(d time.Duration) time.Duration {
	switch {
	case d >= 10*time.Second:
		return d.Round(100 * time.Millisecond)
	case d >= time.Millisecond:
		return d.Round(time.Millisecond)
	default:
		return d.Round(time.Microsecond)
	}
}

// snippet shows the start of a body in a message.
func snippet(body []byte) string {
	const n = 120
	s := strings.TrimSpace(string(body))
	if s == "" {
		return "empty"
	}
	if len(s) > n {
		s = s[:n] + "..."
	}
	return strconv.Quote(s)
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// extract finds the version in a response.
func (v *versionSpec) extract(ctx context.Context, resp *http.Response, body []byte) (string, error) {
	switch {
	case v.header != "":
		got := strings.TrimSpace(resp.Header.Get(v.header))
		if got == "" {
			return "", fmt.Errorf("response has no %s header to read the version from", v.header)
		}
		return got, nil
	case v.re != nil:
		m := v.re.FindSubmatch(body)
		if m == nil {
			return "", fmt.Errorf("version_regex %q does not match the body (%s)", v.re, snippet(body))
		}
		if len(m) > 1 {
			return strings.TrimSpace(string(m[1])), nil
		}
		return strings.TrimSpace(string(m[0])), nil
	case v.field != nil:
		return v.fromField(ctx, body)
	}
	// The default: .version of a JSON object, or the plain-text body.
	doc, err := decodeJSON(body)
	if obj, isObj := doc.(map[string]any); err == nil && isObj {
		got, ok := obj["version"]
		if !ok {
			return "", fmt.Errorf("JSON body has no .version (set version_field): %s", snippet(body))
		}
		return versionText(".version", got)
	}
	s := strings.TrimSpace(string(body))
	if s == "" || strings.ContainsAny(s, " \t\n\r<>{}\"") || len(s) > 100 {
		return "", fmt.Errorf("body is not a bare version (set version_field or version_regex): %s", snippet(body))
	}
	return s, nil
}

// fromField reads the version with the version_field jq expression: its
// first value.
func (v *versionSpec) fromField(ctx context.Context, body []byte) (string, error) {
	doc, err := decodeJSON(body)
	if err != nil {
		return "", fmt.Errorf("body is not JSON (%v), cannot read %s: %s", err, v.field, snippet(body))
	}
	got, err := v.field.values(ctx, doc, 1)
	switch {
	case err != nil:
		return "", fmt.Errorf("version_field %s: %w", v.field, err)
	case len(got) == 0 || got[0] == nil && v.field.absent(ctx, doc):
		return "", fmt.Errorf("JSON body has no %s: %s", v.field, snippet(body))
	}
	return versionText(v.field.String(), got[0])
}

// versionText is a version found in JSON: a string, or a number as written.
func versionText(field string, got any) (string, error) {
	switch g := got.(type) {
	case string:
		return strings.TrimSpace(g), nil
	case float64:
		return strconv.FormatFloat(g, 'f', -1, 64), nil
	case int:
		return strconv.Itoa(g), nil
	default:
		return "", fmt.Errorf("%s is %s, not a version string", field, jsonText(got))
	}
}

// sameVersion compares versions with or without a leading "v", and accepts
// the release's tag as written.
func sameVersion(found, version, tag string) bool {
	norm := func(s string) string { return strings.TrimPrefix(strings.TrimPrefix(strings.TrimSpace(s), "v"), "V") }
	return norm(found) == norm(version) || (tag != "" && strings.TrimSpace(found) == tag)
}

// isHealthJSON reports whether a Content-Type is application/health+json.
func isHealthJSON(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && mt == "application/health+json"
}
