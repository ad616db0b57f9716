package notify

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/shipprod/shipprod"
)

// Options are what a Notifier needs from its surroundings. Every field may
// be left zero.
type Options struct {
	// Getenv reads the environment (default os.Getenv).
	Getenv func(string) string
	// HTTPClient sends the requests (default a client with
	// http.DefaultTransport). Its Transport is wrapped with the retries
	// and the per-attempt timeout; its redirect policy is replaced: a
	// redirect is never followed, so a body and its signature only ever
	// go to the configured host.
	HTTPClient *http.Client
	// Clock times the retries (default shipprod.SystemClock()).
	Clock shipprod.Clock
	// Logger receives diagnostics (default none). It never receives a URL's
	// path or a secret.
	Logger *slog.Logger
	// Composer says how the message is written (project name, resume
	// command).
	Composer Composer
}

// Notifier sends the outcome of a run to the configured targets. It
// implements shipprod.Notifier, shipprod.Preflighter,
// shipprod.ActionPlanner and fmt.Stringer, and is safe for concurrent use.
type Notifier struct {
	targets []target
	opts    Options
	// timeout bounds one HTTP attempt.
	timeout time.Duration
}

var (
	_ shipprod.Notifier      = (*Notifier)(nil)
	_ shipprod.Preflighter   = (*Notifier)(nil)
	_ shipprod.ActionPlanner = (*Notifier)(nil)
	_ fmt.Stringer           = (*Notifier)(nil)
)

// target is one configured destination.
type target struct {
	index             int
	kind              string
	urlEnv, secretEnv string
	// on is the set of outcomes sent; nil means all but nothing-to-release.
	on []shipprod.Outcome
}

// New checks cfg and returns its Notifier. It reads no environment
// variable: Preflight checks them, Notify reads them.
func New(cfg Config, opts Options) (*Notifier, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if opts.Getenv == nil {
		opts.Getenv = os.Getenv
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = &http.Client{}
	}
	if opts.Clock == nil {
		opts.Clock = shipprod.SystemClock()
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	n := &Notifier{opts: opts, timeout: cmp.Or(cfg.Timeout, DefaultTimeout)}
	for i, t := range cfg.Targets {
		n.targets = append(n.targets, target{index: i, kind: t.Type, urlEnv: t.URLEnv, secretEnv: t.SecretEnv,
			on: slices.Clone(t.On)})
	}
	return n, nil
}

// String names the targets by type and variable, e.g.
// "notify (slack $SLACK_WEBHOOK_URL, webhook $DEPLOY_HOOK_URL)".
func (n *Notifier) String() string {
	names := make([]string, len(n.targets))
	for i, t := range n.targets {
		names[i] = t.kind + " $" + t.urlEnv
	}
	return "notify (" + strings.Join(names, ", ") + ")"
}

// sends reports whether the target is told about outcome o.
func (t target) sends(o shipprod.Outcome) bool {
	if len(t.on) == 0 {
		return o != shipprod.OutcomeNothingToRelease
	}
	return slices.Contains(t.on, o)
}

// onText says which outcomes the target is told about.
func (t target) onText() string {
	if len(t.on) == 0 {
		return "any outcome but nothing-to-release"
	}
	return outcomeList(t.on)
}

// endpoint is a target's URL as read from the environment.
type endpoint struct {
	u *url.URL
	// raw is the variable's value as it was set.
	raw string
}

// host is the URL's host (and port), without credentials: the only part
// of the URL that is ever shown.
func (e endpoint) host() string { return e.u.Host }

// resolve reads and checks the target's URL; the error names the variable
// and never holds the URL.
func (n *Notifier) resolve(t target) (endpoint, error) {
	raw := strings.TrimSpace(n.opts.Getenv(t.urlEnv))
	if raw == "" {
		return endpoint{}, fmt.Errorf("%s is not set: set it to the %s URL to notify (notify.targets[%d].url_env)", t.urlEnv, t.kind, t.index)
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.Hostname() == "" {
		// url.Parse's error quotes the URL: it is not kept.
		return endpoint{}, fmt.Errorf("%s does not hold an absolute URL (https://host/path)", t.urlEnv)
	}
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && loopback(u.Hostname()):
	case u.Scheme == "http":
		return endpoint{}, fmt.Errorf("%s is an http URL (host %s): use https; plain http is accepted only for a loopback address", t.urlEnv, u.Host)
	default:
		return endpoint{}, fmt.Errorf("%s does not hold an https URL (scheme %q, host %s)", t.urlEnv, u.Scheme, u.Host)
	}
	return endpoint{u: u, raw: raw}, nil
}

func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// secret reads a webhook target's HMAC key.
func (n *Notifier) secret(t target) ([]byte, error) {
	if t.secretEnv == "" {
		return nil, nil
	}
	s := n.opts.Getenv(t.secretEnv)
	if s == "" {
		return nil, fmt.Errorf("%s is not set: set it to the webhook's HMAC key (notify.targets[%d].secret_env)", t.secretEnv, t.index)
	}
	return []byte(s), nil
}

// Preflight implements shipprod.Preflighter: every target's variables are
// set and its URL is https (or http to a loopback address). It sends
// nothing.
func (n *Notifier) Preflight(ctx context.Context, rel shipprod.Release) error {
	var errs []error
	for _, t := range n.targets {
		if _, err := n.resolve(t); err != nil {
			errs = append(errs, fmt.Errorf("%s target: %w", t.kind, err))
		}
		if _, err := n.secret(t); err != nil {
			errs = append(errs, fmt.Errorf("%s target: %w", t.kind, err))
		}
	}
	return errors.Join(errs...)
}

// PlanActions implements shipprod.ActionPlanner: one action per target.
func (n *Notifier) PlanActions(ctx context.Context, rel shipprod.Release) ([]shipprod.Action, error) {
	acts := make([]shipprod.Action, 0, len(n.targets))
	for _, t := range n.targets {
		// The host when the variable holds a valid URL; the variable else
		// (the pre-flight says what is wrong with it).
		where, via := "$"+t.urlEnv, t.kind
		if e, err := n.resolve(t); err == nil {
			where, via = e.host(), t.kind+", $"+t.urlEnv
		}
		acts = append(acts, shipprod.Action{Kind: shipprod.ActionAPI, Target: where,
			Description: fmt.Sprintf("send the outcome to %s (%s) on %s", where, via, t.onText())})
	}
	return acts, nil
}

// Notify implements shipprod.Notifier: it sends res to every target whose
// on list holds res.Outcome, all at once, and returns their errors joined
// (each a *DeliveryError or a configuration error naming the variable).
func (n *Notifier) Notify(ctx context.Context, res shipprod.Result) error {
	scrub := n.scrubber()
	msg := n.opts.Composer.Compose(res).mask(scrub)
	errs := make([]error, len(n.targets))
	var wg sync.WaitGroup
	for i, t := range n.targets {
		if !t.sends(res.Outcome) {
			n.opts.Logger.DebugContext(ctx, "notification not sent: outcome not selected",
				"target", t.kind+" $"+t.urlEnv, "outcome", res.Outcome, "on", t.onText())
			continue
		}
		wg.Go(func() { errs[i] = n.send(ctx, t, res, msg, scrub) })
	}
	wg.Wait()
	return errors.Join(errs...)
}
