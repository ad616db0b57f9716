// Package customdeployer is an example of a custom shipprod deployer: a
// small, real one that deploys by calling a deploy-hook URL and polling a
// status URL, registered as "deploy-hook". It is what a team writes when its
// platform has a hook and a status page but no built-in shipprod deployer,
// and it passes the provider conformance kit (see its test).
//
// A CLI (such as the reference CLI, examples/shipprod) needs one blank
// import to offer it:
//
//	import _ "github.com/shipprod/shipprod/examples/customdeployer"
//
// and shipprod.yaml selects and configures it:
//
//	deploy:
//	  provider: deploy-hook
//	  deploy-hook:
//	    hook_url_env: DEPLOY_HOOK_URL   # the hook URL, read from the environment (or hook_url: https://…)
//	    live_url: /live                 # optional, relative to the hook URL: what production runs now
//	    token_env: DEPLOY_HOOK_TOKEN    # optional bearer token, read from the environment
//	    url: https://www.example.com    # the production URL, for the report
//	    timeout: 15m                    # deadline for the deploy to finish
//	    poll_interval: 5s
//
// The protocol: POST hook_url with the JSON body
// {"version","tag","commit","rollback"} answers 201 or 202 with
// {"id","status_url","previous_id"} (or a Location header for the status
// URL; previous_id names the deploy production ran before, the target of a
// rollback); GET status_url answers
// {"state": "queued"|"running"|"succeeded"|"failed", "message", "commit"}
// until the state is final. Rollback posts the previous release with
// "rollback": true.
//
// Re-deploying is safe when the service has a live_url: GET live_url
// answers {"id","commit","previous_id","version","tag"} for the deploy
// production runs now (404 when none; version and tag are optional). Before
// calling the hook the deployer asks it, and when production already runs
// the release's commit (a resumed run, a repeated rollback) it reports that
// deploy and calls the hook no second time. Without live_url it cannot tell,
// and every Deploy calls the hook.
//
// With live_url the deployer also tells the Pipeline what production runs
// before a deploy (shipprod.ProductionReader), which is what a rollback
// restores, and checks before anything changes that the service answers
// (shipprod.Preflighter).
//
// Secrets stay where they belong. The bearer token is sent only to the hook
// URL's own origin (scheme, host and port), never to a status URL, live URL
// or redirect elsewhere. Deploy hooks often carry their secret in the path
// (Vercel's and Netlify's do), so the deployer shows every URL it was given
// or told as its origin followed by "/…" in plans, errors, logs and
// deployments; hook_url_env keeps the URL out of shipprod.yaml as well.
package customdeployer

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/shipprod/shipprod"
	"github.com/shipprod/shipprod/provider"
)

// Name is the name the deployer is registered under.
const Name = "deploy-hook"

func init() {
	provider.Register(Name, func(ctx context.Context, env provider.Env) (shipprod.Deployer, error) {
		var cfg Config
		if err := env.Decode(&cfg); err != nil {
			return nil, err
		}
		return New(cfg, env)
	})
}

// Config is the "deploy-hook" section.
type Config struct {
	// HookURL is the deploy hook; HookURLEnv names the environment variable
	// holding it instead. Exactly one is required.
	HookURL    string `yaml:"hook_url"`
	HookURLEnv string `yaml:"hook_url_env"`
	// LiveURL, absolute or relative to the hook URL, answers what production
	// runs now; with it, re-deploying a live release calls the hook no
	// second time.
	LiveURL      string        `yaml:"live_url"`
	TokenEnv     string        `yaml:"token_env"`
	URL          string        `yaml:"url"`
	Timeout      time.Duration `yaml:"timeout"`       // default 15m
	PollInterval time.Duration `yaml:"poll_interval"` // default 5s
}

// Deployer deploys through a deploy hook. It implements shipprod.Deployer,
// shipprod.Rollbacker, shipprod.ProductionReader, shipprod.Preflighter and
// shipprod.ActionPlanner.
type Deployer struct {
	cfg   Config
	name  string
	hook  *url.URL
	live  *url.URL // nil without live_url
	token string
	http  *http.Client
	clock shipprod.Clock
	log   *slog.Logger
}

// New returns a Deployer for cfg, with the run-time things from env.
func New(cfg Config, env provider.Env) (*Deployer, error) {
	var hook *url.URL
	var err error
	switch {
	case cfg.HookURL != "" && cfg.HookURLEnv != "":
		return nil, errors.New("set hook_url or hook_url_env, not both")
	case cfg.HookURL != "":
		if hook, err = parseHTTP(cfg.HookURL); errors.Is(err, errNotURL) {
			return nil, errors.New("hook_url: not a valid URL")
		} else if err != nil {
			return nil, fmt.Errorf("hook_url %w", err)
		}
	case cfg.HookURLEnv != "":
		raw := env.EnvVar(cfg.HookURLEnv)
		if raw == "" {
			return nil, fmt.Errorf("hook_url_env: %s is not set", cfg.HookURLEnv)
		}
		if hook, err = parseHTTP(raw); errors.Is(err, errNotURL) {
			return nil, fmt.Errorf("hook_url_env: %s does not hold a valid URL", cfg.HookURLEnv)
		} else if err != nil {
			return nil, fmt.Errorf("hook_url_env: %s holds %w", cfg.HookURLEnv, err)
		}
	default:
		return nil, errors.New("hook_url or hook_url_env is required")
	}
	d := &Deployer{cfg: cfg, name: env.Name, hook: hook, clock: env.ClockOrDefault(), log: env.LoggerOrDefault()}
	if cfg.LiveURL != "" {
		live, err := hook.Parse(cfg.LiveURL) // relative to the hook URL
		if err != nil {
			return nil, errors.New("live_url: not a valid URL")
		}
		if live.Scheme != "https" && live.Scheme != "http" || live.Host == "" {
			return nil, fmt.Errorf("live_url %s: want an http(s) URL", mask(live))
		}
		d.live = live
	}
	if d.cfg.Timeout <= 0 {
		d.cfg.Timeout = 15 * time.Minute
	}
	if d.cfg.PollInterval <= 0 {
		d.cfg.PollInterval = 5 * time.Second
	}
	if d.name == "" {
		d.name = Name
	}
	d.http = d.client(env.HTTPClient)
	if cfg.TokenEnv != "" {
		if d.token = env.EnvVar(cfg.TokenEnv); d.token == "" {
			return nil, fmt.Errorf("token_env: %s is not set", cfg.TokenEnv)
		}
	}
	return d, nil
}

// errNotURL is a hook URL that does not parse.
var errNotURL = errors.New("not a valid URL")

// parseHTTP parses an http(s) URL. Its errors show the URL masked (a url
// package error would quote it whole).
func parseHTTP(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, errNotURL
	}
	if u.Scheme != "https" && u.Scheme != "http" || u.Host == "" {
		return nil, fmt.Errorf("%s: want an http(s) URL", mask(u))
	}
	return u, nil
}

// client returns a copy of hc (or a client of its own) whose redirects
// carry the token only back to the hook's origin: Go's client forwards it
// to any port of the same host, and to subdomains.
func (d *Deployer) client(hc *http.Client) *http.Client {
	c := &http.Client{Timeout: time.Minute}
	if hc != nil {
		copied := *hc
		c = &copied
	}
	next := c.CheckRedirect
	c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if !sameOrigin(req.URL, d.hook) {
			req.Header.Del("Authorization")
		}
		if next != nil {
			return next(req, via)
		}
		if len(via) >= 10 {
			return errors.New("stopped after 10 redirects")
		}
		return nil
	}
	return c
}

// mask shows u as its origin followed by "/…": deploy hooks carry their
// secret in the path (and some in the query), so no more of a URL the
// deployer was given or told leaves it.
func mask(u *url.URL) string {
	if u == nil {
		return ""
	}
	origin := u.Scheme + "://" + u.Host
	if u.Opaque == "" && (u.Path == "" || u.Path == "/") && u.RawQuery == "" && u.Fragment == "" {
		return origin
	}
	return origin + "/…"
}

// sameOrigin reports whether a and b have the same scheme, host and port.
func sameOrigin(a, b *url.URL) bool {
	return strings.EqualFold(a.Scheme, b.Scheme) && strings.EqualFold(a.Hostname(), b.Hostname()) && port(a) == port(b)
}

func port(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	if strings.EqualFold(u.Scheme, "https") {
		return "443"
	}
	return "80"
}

// String names the deployer in plans.
func (d *Deployer) String() string { return d.name + " " + mask(d.hook) }

// PlanActions lists the one side effect of Deploy.
func (d *Deployer) PlanActions(ctx context.Context, rel shipprod.Release) ([]shipprod.Action, error) {
	desc := fmt.Sprintf("call the deploy hook %s for %s and wait until the deploy finishes (deadline %s)", mask(d.hook), rel.Tag, d.cfg.Timeout)
	if d.live != nil {
		desc += ", unless live_url says production already runs it"
	}
	return []shipprod.Action{{Kind: shipprod.ActionDeploy, Target: mask(d.hook), Description: desc}}, nil
}

// Deploy calls the hook for rel and waits for the deploy to finish.
func (d *Deployer) Deploy(ctx context.Context, rel shipprod.Release) (shipprod.Deployment, error) {
	return d.run(ctx, rel, false, "")
}

// Rollback calls the hook for the previous release, marked as a rollback.
func (d *Deployer) Rollback(ctx context.Context, failed shipprod.Deployment, to shipprod.Release) (shipprod.Deployment, error) {
	if to.Commit == "" {
		return shipprod.Deployment{}, errors.New("deploy-hook: rollback needs the previous release's commit")
	}
	return d.run(ctx, to, true, failed.ID)
}

// HookError is a deploy the hook's service reported as failed.
type HookError struct {
	ID, Message string
}

func (e *HookError) Error() string { return fmt.Sprintf("deploy %s failed: %s", e.ID, e.Message) }

// StatusError is an HTTP answer outside 2xx from the hook's service.
type StatusError struct {
	Method string
	URL    string // masked
	Code   int
	Status string
	Body   string // trimmed, the hook's path masked
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("%s %s: %s: %s", e.Method, e.URL, e.Status, e.Body)
}

type status struct {
	ID        string `json:"id"`
	StatusURL string `json:"status_url"`
	State     string `json:"state"`
	Message   string `json:"message"`
	Commit    string `json:"commit"`
	// PreviousID is the deploy that production ran before this one.
	PreviousID string `json:"previous_id"`
	// Version and Tag name the release a live deploy runs, when the service
	// knows them.
	Version string `json:"version"`
	Tag     string `json:"tag"`
}

// errNoLiveURL means the deployer cannot ask what production runs.
var errNoLiveURL = errors.New("live_url is not configured, so what production runs cannot be asked")

// Production asks live_url what production runs now: the deploy, its commit
// and, when the service says, its release. An empty Deployment means
// nothing is deployed yet.
func (d *Deployer) Production(ctx context.Context) (shipprod.Deployment, error) {
	dep := shipprod.Deployment{Provider: d.name, URL: d.cfg.URL, Environment: "production"}
	if d.live == nil {
		return dep, fmt.Errorf("deploy-hook: %w", errNoLiveURL)
	}
	cur, _, err := d.liveNow(ctx)
	if err != nil {
		return dep, fmt.Errorf("deploy-hook: asking live_url what production runs: %w", err)
	}
	dep.ID, dep.Commit, dep.PreviousID, dep.Version, dep.Tag = cur.ID, cur.Commit, cur.PreviousID, cur.Version, cur.Tag
	return dep, nil
}

// Preflight asks live_url, when there is one, what production runs: that
// proves, reading only, that the service answers and takes the token. The
// hook itself cannot be tried without deploying.
func (d *Deployer) Preflight(ctx context.Context, _ shipprod.Release) error {
	if d.live == nil {
		return nil
	}
	if _, _, err := d.liveNow(ctx); err != nil {
		return fmt.Errorf("deploy-hook: live_url %s does not answer (is token_env right?): %w", mask(d.live), err)
	}
	return nil
}

// liveNow asks live_url what production runs now; known is false without
// live_url, and the status empty when production runs nothing yet.
func (d *Deployer) liveNow(ctx context.Context) (st status, known bool, err error) {
	if d.live == nil {
		return status{}, false, nil
	}
	_, err = d.call(ctx, http.MethodGet, d.live, nil, &st)
	var se *StatusError
	if errors.As(err, &se) && se.Code == http.StatusNotFound {
		return status{}, true, nil
	}
	return st, err == nil, err
}

func (d *Deployer) run(ctx context.Context, rel shipprod.Release, rollback bool, previous string) (shipprod.Deployment, error) {
	dep := shipprod.Deployment{Provider: d.name, URL: d.cfg.URL, Environment: "production", Commit: rel.Commit, StartedAt: d.clock.Now(), PreviousID: previous,
		Details: map[string]string{"hook": mask(d.hook)}}
	fail := func(err error) (shipprod.Deployment, error) {
		return dep, fmt.Errorf("deploy-hook %s, %s: %w", mask(d.hook), rel.Tag, err)
	}
	if err := ctx.Err(); err != nil {
		return fail(err)
	}
	cur, known, err := d.liveNow(ctx)
	if err != nil {
		return fail(fmt.Errorf("asking live_url what production runs: %w", err))
	}
	if known && cur.Commit != "" && cur.Commit == rel.Commit {
		// A resumed run, or a rollback asked twice: production already
		// runs this commit, and a second hook call would deploy it again.
		d.log.Info("deploy-hook: production already runs the release; not calling the hook", "deploy", cur.ID, "commit", rel.Commit)
		dep.ID = cmp.Or(cur.ID, rel.Commit)
		if dep.PreviousID == "" {
			dep.PreviousID = cur.PreviousID
		}
		dep.Details["hook_called"] = "false"
		dep.FinishedAt = d.clock.Now()
		return dep, nil
	}
	body, _ := json.Marshal(map[string]any{"version": rel.Version, "tag": rel.Tag, "commit": rel.Commit, "rollback": rollback})
	var started status
	resp, err := d.call(ctx, http.MethodPost, d.hook, body, &started)
	if err != nil {
		return fail(err)
	}
	dep.ID = started.ID
	dep.Details["hook_called"] = "true"
	statusURL := started.StatusURL
	if statusURL == "" {
		statusURL = resp.Header.Get("Location")
	}
	su, err := d.hook.Parse(statusURL) // relative to the hook URL
	if err != nil || statusURL == "" || su.Scheme != "https" && su.Scheme != "http" {
		return fail(fmt.Errorf("the hook answered deploy %s without a usable status_url or Location", dep.ID))
	}
	if dep.PreviousID == "" {
		dep.PreviousID = cmp.Or(started.PreviousID, cur.ID)
	}
	deadline := d.clock.Now().Add(d.cfg.Timeout)
	for failures := 0; ; {
		var st status
		_, err := d.call(ctx, http.MethodGet, su, nil, &st)
		switch {
		case err != nil && ctx.Err() != nil:
			return fail(err)
		case err != nil:
			if failures++; failures > 3 {
				return fail(err)
			}
			d.log.Warn("deploy-hook: status poll failed; trying again", "deploy", dep.ID, "error", err)
		case st.State == "succeeded":
			dep.FinishedAt = d.clock.Now()
			return dep, nil
		case st.State == "failed":
			return fail(&HookError{ID: dep.ID, Message: st.Message})
		default:
			failures = 0
		}
		if !d.clock.Now().Before(deadline) {
			return fail(fmt.Errorf("deploy %s not finished within %s", dep.ID, d.cfg.Timeout))
		}
		if err := d.clock.Sleep(ctx, d.cfg.PollInterval); err != nil {
			return fail(err)
		}
	}
}

// call sends one request and decodes its JSON answer into out. The token
// goes only to the hook's origin; errors show URLs masked.
func (d *Deployer) call(ctx context.Context, method string, u *url.URL, body []byte, out any) (*http.Response, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		return nil, fmt.Errorf("%s %s: cannot make the request", method, mask(u))
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if d.token != "" && sameOrigin(u, d.hook) {
		req.Header.Set("Authorization", "Bearer "+d.token)
	}
	resp, err := d.http.Do(req)
	if err != nil {
		// A *url.Error quotes the URL (the one redirected to, if any).
		var ue *url.Error
		if errors.As(err, &ue) {
			if pu, perr := url.Parse(ue.URL); perr == nil {
				ue.URL = mask(pu)
			} else {
				ue.URL = mask(u)
			}
		}
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("%s %s: reading the answer: %w", method, mask(u), err)
	}
	if resp.StatusCode >= 300 {
		return nil, &StatusError{Method: method, URL: mask(u), Code: resp.StatusCode, Status: resp.Status, Body: d.scrub(data)}
	}
	if err := json.Unmarshal(data, out); err != nil {
		return nil, fmt.Errorf("%s %s: not JSON: %w", method, mask(u), err)
	}
	return resp, nil
}

// scrub returns an answer's body for an error message: trimmed, shortened,
// with the hook's path and query masked should the service echo them.
func (d *Deployer) scrub(data []byte) string {
	text := strings.TrimSpace(string(data))
	if len(text) > 512 {
		text = text[:512] + "…"
	}
	for _, secret := range []string{d.hook.EscapedPath(), d.hook.Path, d.hook.RawQuery} {
		if len(secret) > 1 {
			text = strings.ReplaceAll(text, secret, "/…")
		}
	}
	return text
}

// ReportsURL says whether deployments carry the production URL
// (shipprod.URLReporter): only with url.
func (d *Deployer) ReportsURL() bool { return d.cfg.URL != "" }
