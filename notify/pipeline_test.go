package notify_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shipprod/shipprod"
	"github.com/shipprod/shipprod/notify"
	"github.com/shipprod/shipprod/shipprodtest"
)

// The Notifier as the Pipeline's last step: the pre-flight asks it, the plan
// lists it, the run sends the outcome, and a failed delivery is a warning.
func TestAsThePipelinesNotifier(t *testing.T) {
	rcv := newReceiver(t)
	cfg := notify.Config{Targets: []notify.TargetConfig{slackTarget()}}
	pipeline := func(e env) *shipprod.Pipeline {
		n, _, _ := setup(t, cfg, e)
		return &shipprod.Pipeline{Notifier: n, Release: shipprod.Release{Version: "2.7.0", Tag: "v2.7.0"},
			Clock: shipprodtest.NewClock(t0)}
	}

	t.Run("pre-flight", func(t *testing.T) {
		res, err := pipeline(env{}).Run(bg)
		var pf *shipprod.PreflightError
		require.ErrorAs(t, err, &pf)
		assert.Contains(t, err.Error(), "SLACK_WEBHOOK_URL is not set")
		assert.Equal(t, shipprod.OutcomeFailed, res.Outcome)
	})

	t.Run("plan", func(t *testing.T) {
		plan, err := pipeline(env{"SLACK_WEBHOOK_URL": rcv.URL + slackPath}).Plan(bg)
		require.NoError(t, err)
		host := strings.TrimPrefix(rcv.URL, "http://")
		assert.Contains(t, plan.Actions(), shipprod.Action{Step: shipprod.StepNotify, Kind: shipprod.ActionAPI, Target: host,
			Description: "send the outcome to " + host + " (slack, $SLACK_WEBHOOK_URL) on any outcome but nothing-to-release"})
	})

	t.Run("run", func(t *testing.T) {
		before := len(rcv.requests())
		res, err := pipeline(env{"SLACK_WEBHOOK_URL": rcv.URL + slackPath}).Run(bg)
		require.NoError(t, err)
		assert.Equal(t, shipprod.OutcomeReleased, res.Outcome)
		got := rcv.requests()[before:]
		require.Len(t, got, 1)
		var body slackBody
		require.NoError(t, json.Unmarshal(got[0].Body, &body))
		assert.Equal(t, ":label: shop: v2.7.0 released (not deployed)", body.Blocks[0].Text.Text)
	})

	t.Run("a failed delivery is a warning", func(t *testing.T) {
		bad := newReceiver(t, answer{status: 404, body: "channel_not_found"})
		res, err := pipeline(env{"SLACK_WEBHOOK_URL": bad.URL + slackPath}).Run(bg)
		require.NoError(t, err)
		assert.Equal(t, shipprod.OutcomeReleased, res.Outcome)
		host := strings.TrimPrefix(bad.URL, "http://")
		assert.Contains(t, res.Warnings, "notify: slack target $SLACK_WEBHOOK_URL ("+host+"): answered 404 Not Found: channel_not_found")
		js, _ := json.Marshal(res)
		assert.NotContains(t, string(js), "xoxSECRETTOKEN1234")
	})
}
