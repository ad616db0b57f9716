package notify_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shipprod/shipprod"
	"github.com/shipprod/shipprod/internal/yamlstrict"
	"github.com/shipprod/shipprod/notify"
)

func TestConfigDecodesStrictly(t *testing.T) {
	const doc = `
timeout: 5s
targets:
  - type: slack
    url_env: SLACK_WEBHOOK_URL
    on: [rolled-back, unhealthy, failed]
  - type: webhook
    url_env: DEPLOY_HOOK_URL
    secret_env: DEPLOY_HOOK_SECRET
`
	var cfg notify.Config
	require.NoError(t, yamlstrict.Unmarshal("shipprod.yaml", []byte(doc), &cfg))
	assert.Equal(t, notify.Config{Timeout: 5 * time.Second, Targets: []notify.TargetConfig{
		{Type: "slack", URLEnv: "SLACK_WEBHOOK_URL", On: []shipprod.Outcome{shipprod.OutcomeRolledBack, shipprod.OutcomeUnhealthy, shipprod.OutcomeFailed}},
		{Type: "webhook", URLEnv: "DEPLOY_HOOK_URL", SecretEnv: "DEPLOY_HOOK_SECRET"},
	}}, cfg)
	_, err := notify.New(cfg, notify.Options{})
	assert.NoError(t, err)

	err = yamlstrict.Unmarshal("shipprod.yaml", []byte("targets:\n  - type: slack\n    url: https://hooks.slack.com/x\n"), &cfg)
	assert.ErrorContains(t, err, `unknown key "targets[0].url"`)
}

func TestNewRefusesBadConfiguration(t *testing.T) {
	const secretURL = "https://hooks.slack.com/services/T0/B0/SECRETPATH"
	tests := []struct {
		name string
		cfg  notify.Config
		want []string
	}{
		{"no target", notify.Config{}, []string{"notify.targets: no target is configured"}},
		{"unknown type", notify.Config{Targets: []notify.TargetConfig{{Type: "teams", URLEnv: "X"}}},
			[]string{`notify.targets[0]: type: unknown type "teams" (slack or webhook)`}},
		{"missing type", notify.Config{Targets: []notify.TargetConfig{{URLEnv: "X"}}}, []string{"type: missing (slack or webhook)"}},
		{"missing url_env", notify.Config{Targets: []notify.TargetConfig{{Type: "slack"}}}, []string{"notify.targets[0]: url_env: missing"}},
		{"a URL in url_env", notify.Config{Targets: []notify.TargetConfig{{Type: "slack", URLEnv: secretURL}}},
			[]string{"url_env: not an environment variable name"}},
		{"unknown outcome", notify.Config{Targets: []notify.TargetConfig{{Type: "slack", URLEnv: "X", On: []shipprod.Outcome{"rollback"}}}},
			[]string{`on: unknown outcome "rollback" (known: shipped, not-verified, released, rolled-back, unhealthy, blocked, nothing-to-release, failed, interrupted)`}},
		{"webhook without secret", notify.Config{Targets: []notify.TargetConfig{{Type: "webhook", URLEnv: "X"}}},
			[]string{"secret_env: a webhook target needs the name of the variable holding its HMAC key"}},
		{"slack with secret", notify.Config{Targets: []notify.TargetConfig{{Type: "slack", URLEnv: "X", SecretEnv: "Y"}}},
			[]string{"secret_env: a slack target is not signed"}},
		{"a secret in secret_env", notify.Config{Targets: []notify.TargetConfig{{Type: "webhook", URLEnv: "X", SecretEnv: "s3cr3t value!"}}},
			[]string{"secret_env: not an environment variable name"}},
		{"negative timeout", notify.Config{Timeout: -time.Second, Targets: []notify.TargetConfig{{Type: "slack", URLEnv: "X"}}},
			[]string{"notify.timeout: -1s is negative"}},
		{"every problem at once", notify.Config{Targets: []notify.TargetConfig{{Type: "slack", URLEnv: "X"}, {Type: "pager"}}},
			[]string{"notify.targets[1]: type: unknown type", "notify.targets[1]: url_env: missing"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, err := notify.New(tt.cfg, notify.Options{})
			require.Error(t, err)
			assert.Nil(t, n)
			for _, w := range tt.want {
				assert.ErrorContains(t, err, w)
			}
			assert.NotContains(t, err.Error(), "SECRETPATH", "a misplaced URL is not echoed")
			assert.NotContains(t, err.Error(), "s3cr3t", "a misplaced secret is not echoed")
		})
	}
}

func TestPreflightNamesTheVariable(t *testing.T) {
	cfg := notify.Config{Targets: []notify.TargetConfig{slackTarget(), hookTarget()}}
	const secretPath = "/services/T0/B0/SECRETPATH"
	tests := []struct {
		name string
		env  env
		want []string // each a line of the error, in order; none means no error
	}{
		{"all set", env{"SLACK_WEBHOOK_URL": "https://hooks.slack.com" + secretPath, "DEPLOY_HOOK_URL": "https://hooks.example.com/x",
			"DEPLOY_HOOK_SECRET": "k"}, nil},
		{"http to loopback is allowed", env{"SLACK_WEBHOOK_URL": "http://127.0.0.1:8080" + secretPath, "DEPLOY_HOOK_URL": "http://localhost/x",
			"DEPLOY_HOOK_SECRET": "k"}, nil},
		{"nothing set", env{}, []string{
			"slack target: SLACK_WEBHOOK_URL is not set: set it to the slack URL to notify (notify.targets[0].url_env)",
			"webhook target: DEPLOY_HOOK_URL is not set: set it to the webhook URL to notify (notify.targets[1].url_env)",
			"webhook target: DEPLOY_HOOK_SECRET is not set: set it to the webhook's HMAC key (notify.targets[1].secret_env)",
		}},
		{"plain http", env{"SLACK_WEBHOOK_URL": "http://hooks.slack.com" + secretPath, "DEPLOY_HOOK_URL": "https://hooks.example.com/x",
			"DEPLOY_HOOK_SECRET": "k"}, []string{
			"slack target: SLACK_WEBHOOK_URL is an http URL (host hooks.slack.com): use https; plain http is accepted only for a loopback address",
		}},
		{"not absolute", env{"SLACK_WEBHOOK_URL": "hooks.slack.com" + secretPath, "DEPLOY_HOOK_URL": "ftp://files.example.com/x",
			"DEPLOY_HOOK_SECRET": "k"}, []string{
			"slack target: SLACK_WEBHOOK_URL does not hold an absolute URL (https://host/path)",
			`webhook target: DEPLOY_HOOK_URL does not hold an https URL (scheme "ftp", host files.example.com)`,
		}},
		{"unparsable", env{"SLACK_WEBHOOK_URL": "https://hooks.slack.com" + secretPath + "%zz", "DEPLOY_HOOK_URL": "https://hooks.example.com/x",
			"DEPLOY_HOOK_SECRET": "k"}, []string{
			"slack target: SLACK_WEBHOOK_URL does not hold an absolute URL (https://host/path)",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rcv := newReceiver(t)
			n, _, _ := setup(t, cfg, tt.env)
			err := n.Preflight(bg, release())
			assert.Empty(t, rcv.requests(), "the pre-flight sends nothing")
			if tt.want == nil {
				assert.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Equal(t, tt.want, strings.Split(err.Error(), "\n"))
			assert.NotContains(t, err.Error(), "SECRETPATH")
		})
	}
}

func TestPreflightSendsNothing(t *testing.T) {
	rcv := newReceiver(t)
	n, _, _ := setup(t, notify.Config{Targets: []notify.TargetConfig{slackTarget(), hookTarget()}},
		env{"SLACK_WEBHOOK_URL": rcv.URL + slackPath, "DEPLOY_HOOK_URL": rcv.URL + hookPath, "DEPLOY_HOOK_SECRET": hmacSecret})
	require.NoError(t, n.Preflight(bg, release()))
	_, err := n.PlanActions(bg, release())
	require.NoError(t, err)
	assert.Empty(t, rcv.requests())
}

func TestPlanActionsNameTheHosts(t *testing.T) {
	n, _, _ := setup(t, notify.Config{Targets: []notify.TargetConfig{slackTarget(shipprod.OutcomeUnhealthy, shipprod.OutcomeRolledBack), hookTarget()}},
		env{"SLACK_WEBHOOK_URL": "https://hooks.slack.com" + slackPath})
	acts, err := n.PlanActions(bg, release())
	require.NoError(t, err)
	assert.Equal(t, []shipprod.Action{
		{Kind: shipprod.ActionAPI, Target: "hooks.slack.com",
			Description: "send the outcome to hooks.slack.com (slack, $SLACK_WEBHOOK_URL) on unhealthy, rolled-back"},
		{Kind: shipprod.ActionAPI, Target: "$DEPLOY_HOOK_URL",
			Description: "send the outcome to $DEPLOY_HOOK_URL (webhook) on any outcome but nothing-to-release"},
	}, acts)
	assert.Equal(t, "notify (slack $SLACK_WEBHOOK_URL, webhook $DEPLOY_HOOK_URL)", n.String())
}

func TestPlanActionsMaskCredentials(t *testing.T) {
	n, _, _ := setup(t, notify.Config{Targets: []notify.TargetConfig{slackTarget()}},
		env{"SLACK_WEBHOOK_URL": "https://user:pa55word@chat.example.com/hooks/SECRET"})
	acts, err := n.PlanActions(bg, release())
	require.NoError(t, err)
	assert.Equal(t, "chat.example.com", acts[0].Target)
	assert.NotContains(t, acts[0].Description, "pa55word")
	assert.NotContains(t, acts[0].Description, "SECRET")
}

func TestUsesTheGivenHTTPClient(t *testing.T) {
	rcv := newReceiver(t)
	var seen []string
	client := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		seen = append(seen, r.Header.Get("User-Agent"))
		return http.DefaultTransport.RoundTrip(r)
	})}
	n, err := notify.New(notify.Config{Targets: []notify.TargetConfig{slackTarget()}},
		notify.Options{Getenv: env{"SLACK_WEBHOOK_URL": rcv.URL + slackPath}.get, HTTPClient: client})
	require.NoError(t, err)
	require.NoError(t, n.Notify(bg, results()[shipprod.OutcomeShipped]))
	assert.Equal(t, []string{"shipprod-notify/1"}, seen)
	assert.Len(t, rcv.requests(), 1)
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
