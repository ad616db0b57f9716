package notify_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shipprod/shipprod"
	"github.com/shipprod/shipprod/notify"
	"github.com/shipprod/shipprod/shipprodtest"
)

// The secret parts of the targets: the Slack webhook path and the HMAC key.
const (
	slackPath  = "/services/T0SECRETTEAM/B0SECRETHOOK/xoxSECRETTOKEN1234"
	hookPath   = "/hooks/shipprod?token=qsSECRETTOKEN"
	hmacSecret = "whsec-SECRET-key-0123456789"
)

// setup builds a Notifier for cfg with the environment e, a fake clock and
// the logs captured.
func setup(t *testing.T, cfg notify.Config, e env) (*notify.Notifier, *shipprodtest.Clock, *shipprodtest.Buffer) {
	t.Helper()
	clock := shipprodtest.NewClock(t1)
	logs := &shipprodtest.Buffer{}
	n, err := notify.New(cfg, notify.Options{
		Getenv: e.get, Clock: clock,
		Logger:   slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Composer: notify.Composer{Project: "shop"},
	})
	require.NoError(t, err)
	return n, clock, logs
}

func slackTarget(on ...shipprod.Outcome) notify.TargetConfig {
	return notify.TargetConfig{Type: notify.TypeSlack, URLEnv: "SLACK_WEBHOOK_URL", On: on}
}

func hookTarget(on ...shipprod.Outcome) notify.TargetConfig {
	return notify.TargetConfig{Type: notify.TypeWebhook, URLEnv: "DEPLOY_HOOK_URL", SecretEnv: "DEPLOY_HOOK_SECRET", On: on}
}

// slackBody is the part of Slack's payload the tests read.
type slackBody struct {
	Text   string `json:"text"`
	Blocks []struct {
		Type string `json:"type"`
		Text *struct {
			Type  string `json:"type"`
			Text  string `json:"text"`
			Emoji bool   `json:"emoji"`
		} `json:"text"`
		Elements []struct {
			Type string `json:"type"`
			Text string `json:"text"`
		} `json:"elements"`
	} `json:"blocks"`
}

func TestSlackPayloadForEveryOutcome(t *testing.T) {
	for _, outcome := range notify.Outcomes() {
		t.Run(string(outcome), func(t *testing.T) {
			rcv := newReceiver(t)
			n, _, _ := setup(t, notify.Config{Targets: []notify.TargetConfig{slackTarget(notify.Outcomes()...)}},
				env{"SLACK_WEBHOOK_URL": rcv.URL + slackPath})
			res := results()[outcome]
			require.NoError(t, n.Notify(bg, res))

			got := rcv.requests()
			require.Len(t, got, 1)
			assert.Equal(t, http.MethodPost, got[0].Method)
			assert.Equal(t, slackPath, got[0].Path)
			assert.Equal(t, "application/json", got[0].Header.Get("Content-Type"))
			var body slackBody
			require.NoError(t, json.Unmarshal(got[0].Body, &body))
			m := notify.Composer{Project: "shop"}.Compose(res)

			assert.True(t, strings.HasPrefix(body.Text, "*"+m.Title+"*\n"), "text starts with the title: %q", body.Text)
			require.GreaterOrEqual(t, len(body.Blocks), 3)
			header := body.Blocks[0]
			assert.Equal(t, "header", header.Type)
			assert.Equal(t, "plain_text", header.Text.Type)
			assert.True(t, strings.HasSuffix(header.Text.Text, " "+m.Title), header.Text.Text)
			assert.LessOrEqual(t, len([]rune(header.Text.Text)), 150)
			assert.Equal(t, "section", body.Blocks[1].Type)
			assert.Equal(t, "mrkdwn", body.Blocks[1].Text.Type)
			assert.True(t, strings.HasPrefix(body.Blocks[1].Text.Text, m.Summary), body.Blocks[1].Text.Text)
			last := body.Blocks[len(body.Blocks)-1]
			assert.Equal(t, "context", last.Type)
			assert.Equal(t, "Outcome: *"+string(outcome)+"*", last.Elements[0].Text)
			for _, c := range commands(m) {
				assert.Contains(t, body.Text, "```\n"+c+"\n```", "every command is in a code block")
			}
		})
	}
}

func TestSlackPayloadEscapesMrkdwn(t *testing.T) {
	rcv := newReceiver(t)
	n, _, _ := setup(t, notify.Config{Targets: []notify.TargetConfig{slackTarget()}}, env{"SLACK_WEBHOOK_URL": rcv.URL + slackPath})
	res := results()[shipprod.OutcomeFailed]
	res.Error = "step deploy: <!channel> build failed & x > y"
	require.NoError(t, n.Notify(bg, res))
	body := string(rcv.requests()[0].Body)
	assert.Contains(t, body, "step deploy: &lt;!channel&gt; build failed &amp; x &gt; y")
	assert.NotContains(t, body, "<!channel>")
}

func TestSlackRollbackSection(t *testing.T) {
	rcv := newReceiver(t)
	n, _, _ := setup(t, notify.Config{Targets: []notify.TargetConfig{slackTarget()}}, env{"SLACK_WEBHOOK_URL": rcv.URL + slackPath})
	require.NoError(t, n.Notify(bg, results()[shipprod.OutcomeUnhealthy]))
	var body slackBody
	require.NoError(t, json.Unmarshal(rcv.requests()[0].Body, &body))
	assert.Equal(t, "*What to do*\n• To roll back:\n```\n"+rollbackCmd+"\n```", body.Blocks[2].Text.Text)
	assert.Equal(t, ":rotating_light: shop: v2.7.0 is in production and unhealthy", body.Blocks[0].Text.Text)
}

// verify checks a delivery's signature the way a receiver in any language
// would: HMAC-SHA256 of "<timestamp>.<body>", compared in constant time.
func verify(t *testing.T, r recorded, secret string) {
	t.Helper()
	ts := r.Header.Get("X-Shipprod-Timestamp")
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(ts + "." + string(r.Body)))
	want := "sha256=" + hex.EncodeToString(mac.Sum(nil))
	assert.True(t, hmac.Equal([]byte(want), []byte(r.Header.Get("X-Shipprod-Signature-256"))),
		"signature %q, want %q", r.Header.Get("X-Shipprod-Signature-256"), want)
}

func TestWebhookPayloadIsSigned(t *testing.T) {
	rcv := newReceiver(t, answer{status: http.StatusNoContent})
	n, clock, _ := setup(t, notify.Config{Targets: []notify.TargetConfig{hookTarget()}},
		env{"DEPLOY_HOOK_URL": rcv.URL + hookPath, "DEPLOY_HOOK_SECRET": hmacSecret})
	res := results()[shipprod.OutcomeUnhealthy]
	require.NoError(t, n.Notify(bg, res))

	got := rcv.requests()
	require.Len(t, got, 1)
	r := got[0]
	assert.Equal(t, hookPath, r.Path)
	assert.Equal(t, strconv.FormatInt(clock.Now().Unix(), 10), r.Header.Get("X-Shipprod-Timestamp"))
	verify(t, r, hmacSecret)
	require.NoError(t, notify.VerifySignature([]byte(hmacSecret), r.Header, r.Body, clock.Now(), 0))

	var p notify.WebhookPayload
	require.NoError(t, json.Unmarshal(r.Body, &p))
	assert.Equal(t, 1, p.SchemaVersion)
	assert.Equal(t, "run.finished", p.Event)
	assert.Equal(t, r.Header.Get("X-Shipprod-Delivery"), p.ID)
	assert.NotEmpty(t, p.ID)
	assert.Equal(t, "shop", p.Project)
	assert.Equal(t, shipprod.OutcomeUnhealthy, p.Outcome)
	assert.Equal(t, notify.SeverityCritical, p.Severity)
	assert.Equal(t, "shop: v2.7.0 is in production and unhealthy", p.Title)
	assert.Equal(t, notify.WebhookRelease{Version: "2.7.0", Tag: "v2.7.0", PreviousVersion: "2.6.3", PreviousTag: "v2.6.3",
		Commit: release().Commit, URL: release().ReleaseURL}, p.Release)
	assert.Equal(t, &notify.WebhookDeployment{Provider: "vercel", ID: "dpl_new", URL: "https://shop.example.com",
		Environment: "production", RollbackSteps: []string{rollbackCmd}}, p.Deployment)
	assert.Equal(t, &notify.WebhookHealth{Checks: 2, Failed: []notify.WebhookCheck{{Name: "api", Kind: "http",
		Target: "https://shop.example.com/api/health", Error: "503 Service Unavailable"}}}, p.Health)
	assert.Equal(t, []notify.Instruction{{Text: "To roll back:", Commands: []string{rollbackCmd}},
		{Text: "Fix v2.7.0, then ship a new version."}}, p.Actions)
	assert.Equal(t, "2026-03-14T10:08:53Z", p.SentAt)
	assert.Equal(t, "2026-03-14T09:26:53Z", p.StartedAt)
	assert.Equal(t, "2026-03-14T10:08:53Z", p.FinishedAt)
}

func TestWebhookPayloadForEveryOutcome(t *testing.T) {
	for _, outcome := range notify.Outcomes() {
		t.Run(string(outcome), func(t *testing.T) {
			rcv := newReceiver(t)
			n, _, _ := setup(t, notify.Config{Targets: []notify.TargetConfig{hookTarget(notify.Outcomes()...)}},
				env{"DEPLOY_HOOK_URL": rcv.URL + hookPath, "DEPLOY_HOOK_SECRET": hmacSecret})
			res := results()[outcome]
			require.NoError(t, n.Notify(bg, res))
			r := rcv.requests()[0]
			verify(t, r, hmacSecret)
			var p notify.WebhookPayload
			require.NoError(t, json.Unmarshal(r.Body, &p))
			m := notify.Composer{Project: "shop"}.Compose(res)
			assert.Equal(t, outcome, p.Outcome)
			assert.Equal(t, m, p.Message, "the body carries the message")
			assert.Equal(t, res.Error, p.Error)
			if outcome == shipprod.OutcomeBlocked {
				assert.Equal(t, []notify.WebhookGate{{Name: "staging_validation", Source: "specs/001-checkout/state.yaml",
					Key: "manual_gates.staging_validation.status", Found: "pending", Required: "approved",
					Hint: "run /validate-staging and approve it"}}, p.BlockingGates)
			}
			if outcome == shipprod.OutcomeRolledBack {
				assert.Equal(t, &notify.WebhookRollback{Reason: res.Rollback.Reason, Target: "v2.6.3", RestoredDeployment: "dpl_prev"}, p.Rollback)
			}
		})
	}
}

func TestVerifySignatureRefuses(t *testing.T) {
	body := []byte(`{"outcome":"shipped"}`)
	signed := func(ts time.Time, secret string, b []byte) http.Header {
		h := http.Header{}
		s := strconv.FormatInt(ts.Unix(), 10)
		h.Set(notify.HeaderTimestamp, s)
		h.Set(notify.HeaderSignature, notify.Sign([]byte(secret), s, b))
		return h
	}
	tests := []struct {
		name   string
		header http.Header
		body   []byte
		want   string
	}{
		{"valid", signed(t0, "k", body), body, ""},
		{"tampered body", signed(t0, "k", body), []byte(`{"outcome":"failed"}`), "the HMAC does not match"},
		{"wrong secret", signed(t0, "other", body), body, "the HMAC does not match"},
		{"replayed later", signed(t0.Add(-6*time.Minute), "k", body), body, "more than 5m0s from now"},
		{"from the future", signed(t0.Add(6*time.Minute), "k", body), body, "more than 5m0s from now"},
		{"unsigned", http.Header{}, body, "is missing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := notify.VerifySignature([]byte("k"), tt.header, tt.body, t0, 0)
			if tt.want == "" {
				assert.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, notify.ErrSignature)
			assert.ErrorContains(t, err, tt.want)
		})
	}
}

func TestOnSelectsTheOutcomes(t *testing.T) {
	tests := []struct {
		name    string
		on      []shipprod.Outcome
		outcome shipprod.Outcome
		sent    bool
	}{
		{"default sends shipped", nil, shipprod.OutcomeShipped, true},
		{"default sends unhealthy", nil, shipprod.OutcomeUnhealthy, true},
		{"default skips nothing-to-release", nil, shipprod.OutcomeNothingToRelease, false},
		{"listed", []shipprod.Outcome{shipprod.OutcomeRolledBack, shipprod.OutcomeFailed}, shipprod.OutcomeFailed, true},
		{"not listed", []shipprod.Outcome{shipprod.OutcomeRolledBack, shipprod.OutcomeFailed}, shipprod.OutcomeShipped, false},
		{"nothing-to-release when asked", []shipprod.Outcome{shipprod.OutcomeNothingToRelease}, shipprod.OutcomeNothingToRelease, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rcv := newReceiver(t)
			n, _, _ := setup(t, notify.Config{Targets: []notify.TargetConfig{slackTarget(tt.on...)}}, env{"SLACK_WEBHOOK_URL": rcv.URL + slackPath})
			require.NoError(t, n.Notify(bg, results()[tt.outcome]))
			assert.Equal(t, tt.sent, len(rcv.requests()) == 1, "sent")
		})
	}
}

func TestEachTargetHasItsOwnOn(t *testing.T) {
	loud, quiet := newReceiver(t), newReceiver(t)
	n, _, _ := setup(t, notify.Config{Targets: []notify.TargetConfig{
		slackTarget(),
		{Type: notify.TypeSlack, URLEnv: "PAGER_URL", On: []shipprod.Outcome{shipprod.OutcomeUnhealthy}},
	}}, env{"SLACK_WEBHOOK_URL": loud.URL + slackPath, "PAGER_URL": quiet.URL + "/page"})
	require.NoError(t, n.Notify(bg, results()[shipprod.OutcomeShipped]))
	require.NoError(t, n.Notify(bg, results()[shipprod.OutcomeUnhealthy]))
	assert.Len(t, loud.requests(), 2)
	assert.Len(t, quiet.requests(), 1)
	assert.Contains(t, string(quiet.requests()[0].Body), "unhealthy")
}

func TestSlackErrorsAreQuoted(t *testing.T) {
	tests := []struct {
		status int
		body   string
		want   string
	}{
		{400, "invalid_payload", "answered 400 Bad Request: invalid_payload"},
		{400, "no_text", "answered 400 Bad Request: no_text"},
		{403, "action_prohibited", "answered 403 Forbidden: action_prohibited"},
		{404, "channel_not_found", "answered 404 Not Found: channel_not_found"},
		{410, "channel_is_archived", "answered 410 Gone: channel_is_archived"},
	}
	for _, tt := range tests {
		t.Run(tt.body, func(t *testing.T) {
			rcv := newReceiver(t, answer{status: tt.status, body: tt.body})
			n, clock, _ := setup(t, notify.Config{Targets: []notify.TargetConfig{slackTarget()}}, env{"SLACK_WEBHOOK_URL": rcv.URL + slackPath})
			err := n.Notify(bg, results()[shipprod.OutcomeFailed])
			require.Error(t, err)
			host := strings.TrimPrefix(rcv.URL, "http://")
			assert.Equal(t, "slack target $SLACK_WEBHOOK_URL ("+host+"): "+tt.want, err.Error())
			var de *notify.DeliveryError
			require.ErrorAs(t, err, &de)
			assert.Equal(t, tt.status, de.StatusCode)
			assert.Equal(t, 1, de.Attempts)
			assert.Len(t, rcv.requests(), 1, "a 4xx is not retried")
			_, naps := clock.Slept()
			assert.Zero(t, naps)
		})
	}
}

func TestRetriesA503OnTheClock(t *testing.T) {
	rcv := newReceiver(t, answer{status: 503, body: "busy"}, answer{status: 502}, answer{status: 200, body: "ok"})
	n, clock, logs := setup(t, notify.Config{Targets: []notify.TargetConfig{hookTarget()}},
		env{"DEPLOY_HOOK_URL": rcv.URL + hookPath, "DEPLOY_HOOK_SECRET": hmacSecret})
	require.NoError(t, n.Notify(bg, results()[shipprod.OutcomeRolledBack]))

	got := rcv.requests()
	require.Len(t, got, 3)
	for _, r := range got[1:] {
		assert.Equal(t, got[0].Body, r.Body, "a retry resends the same body")
		assert.Equal(t, got[0].Header.Get("X-Shipprod-Delivery"), r.Header.Get("X-Shipprod-Delivery"))
		verify(t, r, hmacSecret)
	}
	slept, naps := clock.Slept()
	assert.Equal(t, 2, naps)
	assert.Greater(t, slept, time.Duration(0))
	assert.LessOrEqual(t, slept, 3*time.Second, "backoff of 1s then 2s at most")
	assert.Contains(t, logs.String(), "notification retried")
	assert.Contains(t, logs.String(), "attempts=3")
}

func TestGivesUpAfterThreeAttempts(t *testing.T) {
	rcv := newReceiver(t, answer{status: 503, body: "rollup_error"})
	n, _, _ := setup(t, notify.Config{Targets: []notify.TargetConfig{slackTarget()}}, env{"SLACK_WEBHOOK_URL": rcv.URL + slackPath})
	err := n.Notify(bg, results()[shipprod.OutcomeFailed])
	require.Error(t, err)
	assert.ErrorContains(t, err, "answered 503 Service Unavailable: rollup_error [3 attempts]")
	assert.Len(t, rcv.requests(), 3)
}

func TestWaitsOutA429(t *testing.T) {
	rcv := newReceiver(t, answer{status: 429, body: "rate_limited", header: map[string]string{"Retry-After": "7"}}, answer{status: 200, body: "ok"})
	n, clock, _ := setup(t, notify.Config{Targets: []notify.TargetConfig{slackTarget()}}, env{"SLACK_WEBHOOK_URL": rcv.URL + slackPath})
	require.NoError(t, n.Notify(bg, results()[shipprod.OutcomeShipped]))
	assert.Len(t, rcv.requests(), 2)
	slept, naps := clock.Slept()
	assert.Equal(t, 7*time.Second, slept)
	assert.Equal(t, 1, naps)
}

func TestWaitsOutTwo429sAtMost(t *testing.T) {
	rcv := newReceiver(t, answer{status: 429, header: map[string]string{"Retry-After": "1"}})
	n, clock, _ := setup(t, notify.Config{Targets: []notify.TargetConfig{slackTarget()}}, env{"SLACK_WEBHOOK_URL": rcv.URL + slackPath})
	err := n.Notify(bg, results()[shipprod.OutcomeShipped])
	assert.ErrorContains(t, err, "answered 429 Too Many Requests (rate limited: a notification waits out 2 Retry-After of at most 30s) [3 attempts]")
	assert.Len(t, rcv.requests(), 3)
	slept, _ := clock.Slept()
	assert.Equal(t, 2*time.Second, slept)
}

func TestDoesNotWaitOutALong429(t *testing.T) {
	rcv := newReceiver(t, answer{status: 429, body: "rate_limited", header: map[string]string{"Retry-After": "120"}})
	n, clock, _ := setup(t, notify.Config{Targets: []notify.TargetConfig{slackTarget()}}, env{"SLACK_WEBHOOK_URL": rcv.URL + slackPath})
	err := n.Notify(bg, results()[shipprod.OutcomeShipped])
	assert.ErrorContains(t, err, "answered 429 Too Many Requests: rate_limited (rate limited: a notification waits out 2 Retry-After of at most 30s)")
	assert.Len(t, rcv.requests(), 1)
	_, naps := clock.Slept()
	assert.Zero(t, naps)
}

func TestDoesNotFollowRedirects(t *testing.T) {
	elsewhere := newReceiver(t)
	rcv := newReceiver(t, answer{status: http.StatusTemporaryRedirect, header: map[string]string{"Location": elsewhere.URL + "/steal"}})
	n, _, _ := setup(t, notify.Config{Targets: []notify.TargetConfig{hookTarget()}},
		env{"DEPLOY_HOOK_URL": rcv.URL + hookPath, "DEPLOY_HOOK_SECRET": hmacSecret})
	err := n.Notify(bg, results()[shipprod.OutcomeShipped])
	assert.ErrorContains(t, err, "answered 307 Temporary Redirect (redirects are not followed: set the URL the redirect points to)")
	assert.Empty(t, elsewhere.requests(), "the body and its signature went nowhere else")
}

func TestEachAttemptIsBounded(t *testing.T) {
	rcv := newReceiver(t, answer{hang: true})
	n, _, _ := setup(t, notify.Config{Timeout: 20 * time.Millisecond, Targets: []notify.TargetConfig{slackTarget()}},
		env{"SLACK_WEBHOOK_URL": rcv.URL + slackPath})
	err := n.Notify(bg, results()[shipprod.OutcomeFailed])
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.ErrorContains(t, err, "no answer in time (each attempt may take 20ms) [3 attempts]")
	assert.Len(t, rcv.requests(), 3, "a timeout is retried like a connection error")
}

func TestStopsWhenTheContextEnds(t *testing.T) {
	rcv := newReceiver(t)
	n, _, _ := setup(t, notify.Config{Targets: []notify.TargetConfig{slackTarget()}}, env{"SLACK_WEBHOOK_URL": rcv.URL + slackPath})
	ctx, cancel := context.WithCancel(bg)
	cancel()
	err := n.Notify(ctx, results()[shipprod.OutcomeFailed])
	require.ErrorIs(t, err, context.Canceled)
	assert.ErrorContains(t, err, "not sent: the run's time for notifying ran out")
}

func TestEveryTargetIsTried(t *testing.T) {
	bad, good := newReceiver(t, answer{status: 400, body: "invalid_payload"}), newReceiver(t)
	n, _, _ := setup(t, notify.Config{Targets: []notify.TargetConfig{
		slackTarget(),
		hookTarget(),
		{Type: notify.TypeSlack, URLEnv: "UNSET_URL"},
	}}, env{"SLACK_WEBHOOK_URL": bad.URL + slackPath, "DEPLOY_HOOK_URL": good.URL + hookPath, "DEPLOY_HOOK_SECRET": hmacSecret})
	err := n.Notify(bg, results()[shipprod.OutcomeUnhealthy])
	require.Error(t, err)
	assert.Len(t, good.requests(), 1)
	lines := strings.Split(err.Error(), "\n")
	require.Len(t, lines, 2)
	assert.Contains(t, lines[0], "slack target $SLACK_WEBHOOK_URL")
	assert.Contains(t, lines[0], "invalid_payload")
	assert.Equal(t, "slack target: UNSET_URL is not set: set it to the slack URL to notify (notify.targets[2].url_env)", lines[1])
}

// TestSecretsAppearNowhere drives every way a delivery can fail, with a
// receiver that echoes what it got, and looks for the webhook path, its
// query and the HMAC key in every error and log line.
func TestSecretsAppearNowhere(t *testing.T) {
	closed := newReceiver(t)
	closed.Close()
	scenarios := []struct {
		name    string
		answers []answer
		url     func(*receiver) string
	}{
		{"4xx echoing the request", []answer{{status: 400, body: "bad request to " + slackPath + " " + hookPath + " with key " + hmacSecret}}, nil},
		{"5xx retried", []answer{{status: 500, body: "oops at " + slackPath}}, nil},
		{"long 429", []answer{{status: 429, header: map[string]string{"Retry-After": "600"}}}, nil},
		{"redirect", []answer{{status: 302, header: map[string]string{"Location": "/elsewhere" + slackPath}}}, nil},
		{"connection refused", nil, func(*receiver) string { return closed.URL }},
		{"timeout", []answer{{hang: true}}, nil},
	}
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			rcv := newReceiver(t, sc.answers...)
			base := rcv.URL
			if sc.url != nil {
				base = sc.url(rcv)
			}
			n, _, logs := setup(t, notify.Config{Timeout: 50 * time.Millisecond, Targets: []notify.TargetConfig{slackTarget(), hookTarget()}},
				env{"SLACK_WEBHOOK_URL": base + slackPath, "DEPLOY_HOOK_URL": base + hookPath, "DEPLOY_HOOK_SECRET": hmacSecret})
			err := n.Notify(bg, results()[shipprod.OutcomeUnhealthy])
			require.Error(t, err)
			assert.Contains(t, err.Error(), "$SLACK_WEBHOOK_URL")
			assert.Contains(t, err.Error(), "$DEPLOY_HOOK_URL")
			for _, out := range []string{err.Error(), logs.String()} {
				for _, secret := range []string{"T0SECRETTEAM", "B0SECRETHOOK", "xoxSECRETTOKEN1234", "qsSECRETTOKEN", hmacSecret} {
					assert.NotContains(t, out, secret)
				}
			}
		})
	}
}

func TestSecretsAreNotSentOnEither(t *testing.T) {
	rcv := newReceiver(t)
	n, _, _ := setup(t, notify.Config{Targets: []notify.TargetConfig{slackTarget(), hookTarget()}},
		env{"SLACK_WEBHOOK_URL": rcv.URL + slackPath, "DEPLOY_HOOK_URL": rcv.URL + hookPath, "DEPLOY_HOOK_SECRET": hmacSecret})
	res := results()[shipprod.OutcomeFailed]
	// A step's error that quoted a notification URL and a credential.
	res.Error = "step report: posting to " + rcv.URL + slackPath + " failed; remote https://ci:ghp_TOKEN@github.com/acme/shop.git"
	require.NoError(t, n.Notify(bg, res))
	for _, r := range rcv.requests() {
		for _, secret := range []string{"xoxSECRETTOKEN1234", "ghp_TOKEN", hmacSecret} {
			assert.NotContains(t, string(r.Body), secret)
		}
		assert.Contains(t, string(r.Body), "https://***@github.com/acme/shop.git")
	}
}
