package notify

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/shipprod/shipprod"
)

// Defaults for the zero Config.
const (
	// DefaultTimeout bounds one HTTP attempt.
	DefaultTimeout = 10 * time.Second
)

// The target types.
const (
	// TypeSlack posts Slack's incoming-webhook payload (text and blocks).
	TypeSlack = "slack"
	// TypeWebhook posts the documented JSON body (WebhookPayload), signed
	// with HMAC-SHA256.
	TypeWebhook = "webhook"
)

// Config is the notify section of shipprod.yaml:
//
//	notify:
//	  timeout: 10s                       # per HTTP attempt (default 10s)
//	  targets:
//	    - type: slack                    # Slack incoming webhook (or a Slack-compatible one)
//	      url_env: SLACK_WEBHOOK_URL     # the variable holding the webhook URL
//	      on: [rolled-back, unhealthy, failed, interrupted]
//	    - type: webhook                  # signed JSON (see WebhookPayload)
//	      url_env: DEPLOY_HOOK_URL
//	      secret_env: DEPLOY_HOOK_SECRET # the HMAC-SHA256 key
//
// URLs and secrets are never written in the file: each target names the
// environment variables that hold them. A Slack webhook URL is a credential
// in itself (its path is the key), so it is never logged nor put in an
// error; targets are named by their variable and host.
//
// on lists the outcomes a target is told about (shipped, not-verified,
// released, rolled-back, unhealthy, blocked, nothing-to-release, failed,
// interrupted). Omitted or empty, it means every outcome but
// nothing-to-release: a run that had nothing to do is not news, and an
// outcome added to shipprod later is sent rather than silently dropped.
type Config struct {
	// Timeout bounds one HTTP attempt (default 10s). Retries make at most
	// three attempts, plus waits for rate limits.
	Timeout time.Duration  `yaml:"timeout"`
	Targets []TargetConfig `yaml:"targets"`
}

// TargetConfig is one destination of the notifications.
type TargetConfig struct {
	// Type is "slack" or "webhook".
	Type string `yaml:"type"`
	// URLEnv names the environment variable holding the URL to POST to:
	// https, or http to a loopback address (for tests).
	URLEnv string `yaml:"url_env"`
	// SecretEnv names the environment variable holding the HMAC key; it
	// is required for type webhook and not allowed for type slack.
	SecretEnv string `yaml:"secret_env"`
	// On lists the outcomes sent to this target; empty means every
	// outcome but nothing-to-release.
	On []shipprod.Outcome `yaml:"on"`
}

// Outcomes are the outcome names on accepts, in the order a run can reach
// them.
func Outcomes() []shipprod.Outcome {
	return []shipprod.Outcome{
		shipprod.OutcomeShipped, shipprod.OutcomeNotVerified, shipprod.OutcomeReleased,
		shipprod.OutcomeRolledBack, shipprod.OutcomeUnhealthy, shipprod.OutcomeBlocked,
		shipprod.OutcomeNothingToRelease, shipprod.OutcomeFailed, shipprod.OutcomeInterrupted,
	}
}

// envName is what an environment variable name may be. The check is there
// to catch a URL or a secret written where its variable's name belongs —
// and never to echo it.
var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// validate checks the configuration without reading the environment.
func (c Config) validate() error {
	if c.Timeout < 0 {
		return fmt.Errorf("notify.timeout: %s is negative", c.Timeout)
	}
	if len(c.Targets) == 0 {
		return errors.New("notify.targets: no target is configured")
	}
	var errs []error
	for i, t := range c.Targets {
		for _, err := range t.validate() {
			errs = append(errs, fmt.Errorf("notify.targets[%d]: %w", i, err))
		}
	}
	return errors.Join(errs...)
}

// validate returns every problem of the target, each on its own.
func (t TargetConfig) validate() []error {
	var errs []error
	switch t.Type {
	case TypeSlack:
		if t.SecretEnv != "" {
			errs = append(errs, errors.New("secret_env: a slack target is not signed (Slack authenticates by the webhook URL); remove secret_env or use type webhook"))
		}
	case TypeWebhook:
		if t.SecretEnv == "" {
			errs = append(errs, errors.New("secret_env: a webhook target needs the name of the variable holding its HMAC key, e.g. secret_env: DEPLOY_HOOK_SECRET"))
		}
	case "":
		errs = append(errs, errors.New("type: missing (slack or webhook)"))
	default:
		errs = append(errs, fmt.Errorf("type: unknown type %q (slack or webhook)", t.Type))
	}
	switch {
	case t.URLEnv == "":
		errs = append(errs, errors.New("url_env: missing: name the environment variable holding the URL, e.g. url_env: SLACK_WEBHOOK_URL"))
	case !envName.MatchString(t.URLEnv):
		errs = append(errs, errors.New("url_env: not an environment variable name (letters, digits and _): put the URL in the environment and its variable's name here"))
	}
	if t.SecretEnv != "" && !envName.MatchString(t.SecretEnv) {
		errs = append(errs, errors.New("secret_env: not an environment variable name (letters, digits and _): put the secret in the environment and its variable's name here"))
	}
	known := Outcomes()
	for _, o := range t.On {
		if !slices.Contains(known, o) {
			errs = append(errs, fmt.Errorf("on: unknown outcome %q (known: %s)", o, outcomeList(known)))
		}
	}
	return errs
}

func outcomeList(os []shipprod.Outcome) string {
	s := make([]string, len(os))
	for i, o := range os {
		s[i] = string(o)
	}
	return strings.Join(s, ", ")
}
