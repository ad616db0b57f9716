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
//	    hook_url: https://deploy.example.com/hooks/web   # POST starts a deploy
//	    token_env: DEPLOY_HOOK_TOKEN                      # optional bearer token, read from the environment
//	    url: https://www.example.com                      # the production URL, for the report
//	    timeout: 15m                                      # deadline for the deploy to finish
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
package customdeployer

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
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
	HookURL      string        `yaml:"hook_url"`
	TokenEnv     string        `yaml:"token_env"`
	URL          string        `yaml:"url"`
	Timeout      time.Duration `yaml:"timeout"`       // default 15m
	PollInterval time.Duration `yaml:"poll_interval"` // default 5s
}

// Deployer deploys through a deploy hook. It implements shipprod.Deployer,
// shipprod.Rollbacker and shipprod.ActionPlanner.
type Deployer struct {
	cfg   Config
	name  string
	hook  *url.URL
	token string
	http  *http.Client
	clock shipprod.Clock
	log   *slog.Logger
}

// New returns a Deployer for cfg, with the run-time things from env.
func New(cfg Config, env provider.Env) (*Deployer, error) {
	hook, err := url.Parse(cfg.HookURL)
	if err != nil || (hook.Scheme != "https" && hook.Scheme != "http") || hook.Host == "" {
		return nil, fmt.Errorf("hook_url %q: want an http(s) URL", hook.Redacted())
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 15 * time.Minute
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = 5 * time.Second
	}
	d := &Deployer{cfg: cfg, name: env.Name, hook: hook, http: env.HTTPClient, clock: env.ClockOrDefault(), log: env.LoggerOrDefault()}
	if d.name == "" {
		d.name = Name
	}
	if d.http == nil {
		d.http = &http.Client{Timeout: time.Minute}
	}
	if cfg.TokenEnv != "" {
		if d.token = env.EnvVar(cfg.TokenEnv); d.token == "" {
			return nil, fmt.Errorf("token_env: %s is not set", cfg.TokenEnv)
		}
	}
	return d, nil
}

// String names the deployer in plans.
func (d *Deployer) String() string { return d.name + " " + d.hook.Redacted() }

// PlanActions lists the one side effect of Deploy.
func (d *Deployer) PlanActions(ctx context.Context, rel shipprod.Release) ([]shipprod.Action, error) {
	return []shipprod.Action{{Kind: shipprod.ActionDeploy, Target: d.hook.Redacted(),
		Description: fmt.Sprintf("call the deploy hook %s for %s and wait until the deploy finishes (deadline %s)", d.hook.Redacted(), rel.Tag, d.cfg.Timeout)}}, nil
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

type status struct {
	ID        string `json:"id"`
	StatusURL string `json:"status_url"`
	State     string `json:"state"`
	Message   string `json:"message"`
	Commit    string `json:"commit"`
	// PreviousID is the deploy that production ran before this one.
	PreviousID string `json:"previous_id"`
}

func (d *Deployer) run(ctx context.Context, rel shipprod.Release, rollback bool, previous string) (shipprod.Deployment, error) {
	dep := shipprod.Deployment{Provider: d.name, URL: d.cfg.URL, Environment: "production", Commit: rel.Commit, StartedAt: d.clock.Now(), PreviousID: previous}
	fail := func(err error) (shipprod.Deployment, error) {
		return dep, fmt.Errorf("deploy-hook %s, %s: %w", d.hook.Redacted(), rel.Tag, err)
	}
	if err := ctx.Err(); err != nil {
		return fail(err)
	}
	body, _ := json.Marshal(map[string]any{"version": rel.Version, "tag": rel.Tag, "commit": rel.Commit, "rollback": rollback})
	var started status
	resp, err := d.call(ctx, http.MethodPost, d.hook.String(), body, &started)
	if err != nil {
		return fail(err)
	}
	dep.ID = started.ID
	statusURL := started.StatusURL
	if statusURL == "" {
		statusURL = resp.Header.Get("Location")
	}
	su, err := d.hook.Parse(statusURL) // relative to the hook URL
	if err != nil || statusURL == "" {
		return fail(fmt.Errorf("the hook answered without a status_url or Location"))
	}
	if previous == "" {
		dep.PreviousID = started.PreviousID
	}
	deadline := d.clock.Now().Add(d.cfg.Timeout)
	for failures := 0; ; {
		var st status
		_, err := d.call(ctx, http.MethodGet, su.String(), nil, &st)
		switch {
		case err != nil && ctx.Err() != nil:
			return fail(err)
		case err != nil:
			if failures++; failures > 3 {
				return fail(err)
			}
			d.log.Warn("deploy-hook: status poll failed; trying again", "error", err)
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

func (d *Deployer) call(ctx context.Context, method, u string, body []byte, out any) (*http.Response, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if d.token != "" {
		req.Header.Set("Authorization", "Bearer "+d.token)
	}
	resp, err := d.http.Do(req)
	if err != nil {
		return nil, err // *url.Error: the URL, never the token (a header)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode >= 300 {
		return nil, fmt.Errorf("%s %s: %s: %s", method, req.URL.Redacted(), resp.Status, bytes.TrimSpace(data))
	}
	if err := json.Unmarshal(data, out); err != nil {
		return nil, fmt.Errorf("%s %s: not JSON: %w", method, req.URL.Redacted(), err)
	}
	return resp, nil
}
