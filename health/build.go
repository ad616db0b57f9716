package health

import (
	"crypto/tls"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/hashicorp/go-multierror"
)

// buildEnv is what building a check from its configuration needs.
type buildEnv struct {
	getenv   func(string) string
	client   *http.Client
	dir      string
	resolver Resolver
	kinds    map[string]Kind
	conc     int
}

func defaultHTTPClient(concurrency int) *http.Client {
	return &http.Client{Transport: &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConnsPerHost:   concurrency,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
	}}
}

func checkBaseURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("%q is not a URL: %w", redactURL(raw), err)
	}
	if !u.IsAbs() || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return fmt.Errorf("%q must be an absolute http or https URL", redactURL(raw))
	}
	return nil
}

// kindKeys lists the kind keys set in cc.
func kindKeys(cc CheckConfig) []string {
	var keys []string
	add := func(key string, set bool) {
		if set {
			keys = append(keys, key)
		}
	}
	add("http", cc.HTTP != "")
	add("version", cc.Version != "")
	add("assets", cc.Assets != nil)
	add("tcp", cc.TCP != "")
	add("dns", cc.DNS != "")
	add("sql", cc.SQL != nil)
	add("redis", cc.Redis != nil)
	add("command", len(cc.Command) > 0)
	add("custom", cc.Custom != "")
	return keys
}

// buildCheck turns one configured check into a Check. It returns the secrets
// the check holds even when it fails, so that they are masked in the error.
func buildCheck(cc CheckConfig, env buildEnv) (Check, []string, error) {
	ch := Check{Name: strings.TrimSpace(cc.Name)}
	var errs *multierror.Error
	if ch.Name == "" {
		errs = multierror.Append(errs, errors.New("name is missing; every check needs a name for the report"))
	}
	kind, err := checkKind(cc)
	if err != nil {
		return ch, nil, joinErrors(multierror.Append(errs, err))
	}
	ch.Kind = kind
	for _, err := range misplacedOptions(cc, kind) {
		errs = multierror.Append(errs, err)
	}
	secrets, err := buildProbe(cc, env, &ch)
	if err != nil {
		// One problem a line: a probe's own list is flattened into ours.
		var merr *multierror.Error
		if errors.As(err, &merr) {
			for _, e := range merr.Errors {
				errs = multierror.Append(errs, e)
			}
		} else {
			errs = multierror.Append(errs, err)
		}
	}
	return ch, secrets, joinErrors(errs)
}

// checkKind returns the one kind key set in cc.
func checkKind(cc CheckConfig) (string, error) {
	keys := kindKeys(cc)
	switch len(keys) {
	case 0:
		return "", errors.New("no kind: set one of http, version, assets, tcp, dns, sql, redis, command or custom")
	case 1:
		return keys[0], nil
	default:
		return "", fmt.Errorf("sets %s; a check has exactly one kind", strings.Join(keys, " and "))
	}
}

// misplacedOptions reports the options set for another kind than the
// check's: they are mistakes worth reporting, not settings to ignore.
func misplacedOptions(cc CheckConfig, kind string) []error {
	var errs []error
	notFor := func(key string, set bool, kinds ...string) {
		if set && !slices.Contains(kinds, kind) {
			errs = append(errs, fmt.Errorf("%s: only for %s checks, not %s", key, strings.Join(kinds, " and "), kind))
		}
	}
	if kind == "assets" {
		// An assets check behaves as a browser: GET, redirects followed,
		// 200 wanted from every asset.
		o := cc.HTTPOptions
		o.Headers, o.HeadersFromEnv, o.InsecureSkipVerify = nil, nil, false
		if keys := httpOptionKeys(o); len(keys) > 0 {
			errs = append(errs, fmt.Errorf("%s: not for assets checks, which take headers, headers_from_env and insecure_skip_verify", strings.Join(keys, ", ")))
		}
	} else {
		notFor("http options ("+strings.Join(httpOptionKeys(cc.HTTPOptions), ", ")+")", !cc.HTTPOptions.isZero(), "http", "version")
	}
	notFor("version_field", cc.VersionField != "", "version")
	notFor("version_regex", cc.VersionRegex != "", "version")
	notFor("version_header", cc.VersionHeader != "", "version")
	notFor("min_addresses", cc.MinAddresses != 0, "dns")
	notFor("expect_addresses", len(cc.ExpectAddresses) > 0, "dns")
	notFor("expect_exit", cc.ExpectExit != 0, "command")
	notFor("dir", cc.Dir != "", "command")
	notFor("env", len(cc.Env) > 0, "command")
	notFor("args", len(cc.Args) > 0, "custom")
	return errs
}

// buildProbe builds the probe of ch's kind and sets ch's Probe, Target and
// Description. It returns the secrets the probe holds.
func buildProbe(cc CheckConfig, env buildEnv, ch *Check) ([]string, error) {
	var (
		secrets []string
		err     error
	)
	switch ch.Kind {
	case "http", "version":
		var p *httpProbe
		p, secrets, err = newHTTPProbe(cc, env)
		if p != nil {
			ch.Probe, ch.Target, ch.Description = p, p.rawURL, p.describe("")
		}
	case "assets":
		var p *assetsProbe
		p, secrets, err = newAssetsProbe(cc, env)
		if p != nil {
			ch.Probe, ch.Target, ch.Description = p, p.page, p.describeFor(p.page, "")
		}
	case "tcp":
		ch.Probe, err = newTCPProbe(cc.TCP)
		ch.Target, ch.Description = cc.TCP, "connect to "+cc.TCP
	case "dns":
		ch.Probe, err = newDNSProbe(cc, env.resolver)
		ch.Target, ch.Description = cc.DNS, "resolve "+cc.DNS
	case "sql":
		var p *sqlProbe
		p, secrets, err = newSQLProbe(*cc.SQL, env.getenv)
		if p != nil {
			ch.Probe, ch.Target, ch.Description = p, p.target, p.describe()
		}
	case "redis":
		var p *redisProbe
		p, secrets, err = newRedisProbe(*cc.Redis, env.getenv)
		if p != nil {
			ch.Probe, ch.Target, ch.Description = p, p.addr, p.describe()
		}
	case "command":
		var p *commandProbe
		p, err = newCommandProbe(cc, env.dir)
		if p != nil {
			ch.Probe, ch.Target, ch.Description = p, p.target(), p.describe()
		}
	case "custom":
		secrets, err = buildCustom(cc, env, ch)
	}
	return secrets, err
}

// buildCustom builds a check of a kind the importer registered.
func buildCustom(cc CheckConfig, env buildEnv, ch *Check) ([]string, error) {
	kind, ok := env.kinds[cc.Custom]
	if !ok {
		known := make([]string, 0, len(env.kinds))
		for k := range env.kinds {
			known = append(known, k)
		}
		sort.Strings(known)
		return nil, fmt.Errorf("custom kind %q is not registered (known: %s); register it in health.Options.Kinds", cc.Custom, orNone(known))
	}
	ch.Kind, ch.Target = cc.Custom, cc.Custom
	p, err := kind(cc.Args, env.getenv)
	if err == nil && p == nil {
		err = fmt.Errorf("custom kind %q returned no Probe", cc.Custom)
	}
	var secrets []string
	if sh, ok := p.(SecretHolder); ok {
		secrets = sh.Secrets()
	}
	ch.Probe = p
	if err != nil {
		return secrets, fmt.Errorf("custom kind %q: %w", cc.Custom, err)
	}
	return secrets, nil
}

// joinErrors renders the problems of one check on one line.
func joinErrors(errs *multierror.Error) error {
	if errs == nil {
		return nil
	}
	if len(errs.Errors) == 1 {
		return errs.Errors[0]
	}
	msgs := make([]string, len(errs.Errors))
	for i, e := range errs.Errors {
		msgs[i] = e.Error()
	}
	return errors.New(strings.Join(msgs, "; "))
}

func orNone(list []string) string {
	if len(list) == 0 {
		return "none"
	}
	return strings.Join(list, ", ")
}

func httpOptionKeys(o HTTPOptions) []string {
	var keys []string
	add := func(key string, set bool) {
		if set {
			keys = append(keys, key)
		}
	}
	add("method", o.Method != "")
	add("headers", len(o.Headers) > 0)
	add("headers_from_env", len(o.HeadersFromEnv) > 0)
	add("expect_status", o.ExpectStatus != 0)
	add("follow_redirects", o.FollowRedirects)
	add("max_redirects", o.MaxRedirects != 0)
	add("expect_body", o.ExpectBody != "")
	add("expect_body_regex", o.ExpectBodyRegex != "")
	add("expect_json", len(o.ExpectJSON) > 0)
	add("expect_headers", len(o.ExpectHeaders) > 0)
	add("max_latency", o.MaxLatency != 0)
	add("health_json", o.HealthJSON)
	add("insecure_skip_verify", o.InsecureSkipVerify)
	return keys
}

// newHTTPProbe builds an http or version probe.
func newHTTPProbe(cc CheckConfig, env buildEnv) (*httpProbe, []string, error) {
	o := cc.HTTPOptions
	p := &httpProbe{rawURL: strings.TrimSpace(cc.HTTP), opts: o, header: http.Header{}}
	if cc.Version != "" {
		p.rawURL = strings.TrimSpace(cc.Version)
	}
	var errs *multierror.Error
	fail := func(format string, args ...any) { errs = multierror.Append(errs, fmt.Errorf(format, args...)) }

	secrets := p.checkURL(fail)
	p.applyDefaults(fail)
	secrets = append(secrets, p.setHeaders(env.getenv, fail)...)
	p.compileExpectations(fail)
	if cc.Version != "" {
		p.version = newVersionSpec(cc, fail)
	}
	client, err := probeClient(env.client, p.opts)
	if err != nil {
		fail("%v", err)
	}
	p.client = client
	if errs != nil {
		return p, secrets, errs
	}
	return p, secrets, nil
}

// checkURL reports a URL that cannot be checked, and returns the password
// in its user info, a secret to mask.
func (p *httpProbe) checkURL(fail func(string, ...any)) []string {
	u, err := url.Parse(p.rawURL)
	if err != nil {
		fail("%q is not a URL: %v", redactURL(p.rawURL), err)
		return nil
	}
	if u.IsAbs() && u.Scheme != "http" && u.Scheme != "https" {
		fail("%q: only http and https URLs can be checked", redactURL(p.rawURL))
	}
	if u.User != nil {
		if pw, ok := u.User.Password(); ok {
			return []string{pw}
		}
	}
	return nil
}

// applyDefaults fills in the method, status and redirect limit, and
// reports the values that cannot work.
func (p *httpProbe) applyDefaults(fail func(string, ...any)) {
	o := &p.opts
	if o.Method == "" {
		o.Method = http.MethodGet
	}
	o.Method = strings.ToUpper(o.Method)
	if o.ExpectStatus == 0 {
		o.ExpectStatus = http.StatusOK
	}
	if o.ExpectStatus < 100 || o.ExpectStatus > 599 {
		fail("expect_status %d is not an HTTP status (100-599)", o.ExpectStatus)
	}
	if o.MaxRedirects < 0 {
		fail("max_redirects must not be negative")
	}
	if o.MaxRedirects > 0 && !o.FollowRedirects {
		fail("max_redirects needs follow_redirects: true")
	}
	if o.MaxRedirects == 0 {
		o.MaxRedirects = DefaultMaxRedirects
	}
	if o.MaxLatency < 0 {
		fail("max_latency must not be negative")
	}
}

// setHeaders sets the request headers, reading headers_from_env; their
// values are secrets, returned to be masked.
func (p *httpProbe) setHeaders(getenv func(string) string, fail func(string, ...any)) []string {
	for k, v := range p.opts.Headers {
		p.header.Set(k, v)
	}
	var secrets []string
	for k, name := range p.opts.HeadersFromEnv {
		v := getenv(name)
		if v == "" {
			fail("headers_from_env: %s: environment variable %s is empty or unset", k, name)
			continue
		}
		secrets = append(secrets, v)
		p.header.Set(k, v)
	}
	return secrets
}

// compileExpectations compiles expect_body_regex and the expect_json jq
// expressions, so that a mistake in one is a configuration error.
func (p *httpProbe) compileExpectations(fail func(string, ...any)) {
	if p.opts.ExpectBodyRegex != "" {
		re, err := regexp.Compile(p.opts.ExpectBodyRegex)
		if err != nil {
			fail("expect_body_regex: %v", err)
		}
		p.bodyRe = re
	}
	for _, src := range p.opts.ExpectJSON {
		e, err := ParseExpr(src)
		if err != nil {
			fail("expect_json: %v", err)
			continue
		}
		p.exprs = append(p.exprs, e)
	}
}

// newVersionSpec reads where a version check finds the version: one of
// version_field (a jq expression), version_regex and version_header.
func newVersionSpec(cc CheckConfig, fail func(string, ...any)) *versionSpec {
	v := &versionSpec{header: cc.VersionHeader}
	if src := strings.TrimSpace(cc.VersionField); src != "" {
		field, err := parseJQ(src)
		if err != nil {
			fail("version_field %q is not a jq expression such as .version or .build.version: %v", cc.VersionField, err)
		} else {
			field.text = src
			v.field = field
		}
	}
	if cc.VersionRegex != "" {
		re, err := regexp.Compile(cc.VersionRegex)
		if err != nil {
			fail("version_regex: %v", err)
		}
		v.re = re
	}
	set := 0
	for _, s := range []string{cc.VersionField, cc.VersionRegex, cc.VersionHeader} {
		if s != "" {
			set++
		}
	}
	if set > 1 {
		fail("set one of version_field, version_regex and version_header")
	}
	return v
}

// probeClient returns a copy of the caller's client with the check's
// redirect policy and, with insecure_skip_verify, a transport that does not
// verify certificates.
func probeClient(base *http.Client, o HTTPOptions) (*http.Client, error) {
	client := *base
	var err error
	if o.InsecureSkipVerify {
		tr, ok := client.Transport.(*http.Transport)
		if client.Transport == nil {
			tr, ok = http.DefaultTransport.(*http.Transport)
		}
		if ok {
			tr = tr.Clone()
			if tr.TLSClientConfig == nil {
				tr.TLSClientConfig = &tls.Config{}
			}
			tr.TLSClientConfig.InsecureSkipVerify = true
			client.Transport = tr
		} else {
			err = errors.New("insecure_skip_verify needs the HTTP client's Transport to be an *http.Transport")
		}
	}
	follow, maxRedirects := o.FollowRedirects, o.MaxRedirects
	client.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if !follow {
			return http.ErrUseLastResponse
		}
		if len(via) > maxRedirects {
			return fmt.Errorf("stopped after %d redirects (max_redirects)", maxRedirects)
		}
		return nil
	}
	return &client, err
}

// sqlDriverRegistered reports whether database/sql knows the driver.
func sqlDriverRegistered(name string) bool {
	return slices.Contains(sql.Drivers(), name)
}
