// Package notify tells people how a shipprod run ended: a Slack message, or
// a signed JSON webhook, saying the verdict and what to do about it.
//
// A Notifier, built by New from the notify section of shipprod.yaml (see
// Config), is the Pipeline's Notifier: the last step, run whatever the
// outcome. Each target picks the outcomes it is told about (on:). The
// Notifier is also a shipprod.Preflighter — the pre-flight fails, naming the
// variable, when a target's environment variable is missing or its URL is
// not https — and a shipprod.ActionPlanner, so the plan lists every host a
// run will notify.
//
// # The message
//
// Composer.Compose turns a shipprod.Result into a Message: a one-line
// title, the verdict, the facts behind it and what to do, with the exact
// commands. When production is unhealthy and was left as it is, the message
// says what production runs, why it is unhealthy and how to roll it back
// (the Deployment's RollbackSteps, the commands the deployer wrote); after
// an automatic rollback, what was restored and that the release needs a
// fix; for a failed or interrupted run that had made its release, that
// running "shipprod ship" again resumes it. Credentials in URLs
// (user:password@) are masked in everything sent.
//
// # Slack
//
// A target of type slack posts Slack's incoming-webhook payload: text
// (the whole message in mrkdwn, shown in notifications) and blocks (a
// header, mrkdwn sections and a context line):
//
//	{"text": "*v2.7.0 is in production and unhealthy*\n…",
//	 "blocks": [
//	   {"type": "header", "text": {"type": "plain_text", "text": ":rotating_light: v2.7.0 is in production and unhealthy", "emoji": true}},
//	   {"type": "section", "text": {"type": "mrkdwn", "text": "Production runs v2.7.0 and is unhealthy: …"}},
//	   {"type": "section", "text": {"type": "mrkdwn", "text": "*What to do*\n• To roll back:\n```\nvercel promote dpl_prev --yes\n```"}},
//	   {"type": "context", "elements": [{"type": "mrkdwn", "text": "Outcome: *unhealthy*"}]}]}
//
// Slack answers 200 "ok", or a 4xx with a plain-text error such as
// invalid_payload or channel_not_found, which the error quotes. Mattermost
// documents its incoming webhooks as Slack-compatible, and Discord takes a
// Slack-compatible payload at the webhook URL with /slack appended
// ("Execute Slack-Compatible Webhook"); both read the text field, which is
// why it holds the whole message — the blocks are Slack's own (Mattermost
// does not render them).
//
// # Signed webhooks
//
// A target of type webhook posts a WebhookPayload, documented field by
// field, versioned by schema_version, with these headers:
//
//	Content-Type: application/json
//	X-Shipprod-Delivery: <id, also the body's "id", the same on every retry>
//	X-Shipprod-Timestamp: <Unix seconds when it was signed>
//	X-Shipprod-Signature-256: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">
//
// The HMAC is keyed with the secret in the target's secret_env variable, and
// covers the timestamp, a dot, and the exact bytes of the body. The header
// takes the form of GitHub's X-Hub-Signature-256; the signed content
// follows Stripe's scheme (timestamp "." payload), so that a captured
// delivery cannot be replayed later with a fresh timestamp. (Standard
// Webhooks signs "<id>.<timestamp>.<body>"; here the id is inside the
// body, so it is signed as well.) A receiver recomputes the HMAC over the
// raw body before parsing it, compares in constant time, refuses a
// timestamp more than a few minutes from its clock, and drops an id it
// has seen: VerifySignature does all but the last, and the package's
// Example shows the same check with crypto/hmac alone.
//
// # Delivery
//
// All targets are tried, at once; their errors are joined. Each attempt is
// bounded by the timeout (default 10s). A 5xx answer or a connection error
// is retried twice, with backoff; a 429 is retried after the wait its
// Retry-After asks for when that is at most 30s; waits are measured on the
// injected clock. Redirects are not followed. Every error and log line names
// the target by its variable and host — a Slack webhook URL's path is its
// credential, so no path, query or secret is ever logged or returned.
package notify
