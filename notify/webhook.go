package notify

import (
	"bytes"
	"cmp"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/shipprod/shipprod"
)

// The headers of a webhook delivery.
const (
	// HeaderSignature carries "sha256=" and the hex HMAC-SHA256 of
	// "<timestamp>.<body>" keyed with the target's secret.
	HeaderSignature = "X-Shipprod-Signature-256"
	// HeaderTimestamp carries the Unix time, in seconds, at which the
	// delivery was signed.
	HeaderTimestamp = "X-Shipprod-Timestamp"
	// HeaderDelivery carries the delivery's id (also the body's "id"): the
	// same on every retry of one notification, so a receiver can drop a
	// duplicate.
	HeaderDelivery = "X-Shipprod-Delivery"
)

// SchemaVersion is the version of WebhookPayload. Fields may be added
// within a version; a field that is removed or changes meaning changes the
// version.
const SchemaVersion = 1

// EventRunFinished is the event of every notification: a run ended.
const EventRunFinished = "run.finished"

// WebhookPayload is the JSON body a webhook target receives. Times are RFC
// 3339, UTC; optional parts are omitted when empty. Every string has
// credentials in URLs masked.
type WebhookPayload struct {
	SchemaVersion int    `json:"schema_version"`
	Event         string `json:"event"`
	// ID identifies the delivery (HeaderDelivery).
	ID      string `json:"id"`
	SentAt  string `json:"sent_at"`
	Project string `json:"project,omitempty"`
	Message
	Release    WebhookRelease     `json:"release"`
	Deployment *WebhookDeployment `json:"deployment,omitempty"`
	Health     *WebhookHealth     `json:"health,omitempty"`
	Monitor    *WebhookMonitor    `json:"monitor,omitempty"`
	Rollback   *WebhookRollback   `json:"rollback,omitempty"`
	// NotVerified says why a live release is not verified.
	NotVerified []string `json:"not_verified,omitempty"`
	// BlockingGates are the release gates that blocked the run.
	BlockingGates []WebhookGate `json:"blocking_gates,omitempty"`
	Error         string        `json:"error,omitempty"`
	Warnings      []string      `json:"warnings,omitempty"`
	// Reports are the paths of the ship report on the machine that ran.
	Reports    []string `json:"reports,omitempty"`
	StartedAt  string   `json:"started_at,omitempty"`
	FinishedAt string   `json:"finished_at,omitempty"`
}

// WebhookRelease is the release the run made (or tried to).
type WebhookRelease struct {
	Version         string `json:"version,omitempty"`
	Tag             string `json:"tag,omitempty"`
	PreviousVersion string `json:"previous_version,omitempty"`
	PreviousTag     string `json:"previous_tag,omitempty"`
	Commit          string `json:"commit,omitempty"`
	URL             string `json:"url,omitempty"`
}

// WebhookDeployment is where the release runs and how to roll it back by hand.
type WebhookDeployment struct {
	Provider      string   `json:"provider"`
	ID            string   `json:"id,omitempty"`
	URL           string   `json:"url,omitempty"`
	Environment   string   `json:"environment,omitempty"`
	RollbackSteps []string `json:"rollback_steps,omitempty"`
}

// WebhookHealth counts the health checks and lists the failed ones.
type WebhookHealth struct {
	Checks int            `json:"checks"`
	Failed []WebhookCheck `json:"failed,omitempty"`
}

// WebhookCheck is a failed health check.
type WebhookCheck struct {
	Name   string `json:"name"`
	Kind   string `json:"kind,omitempty"`
	Target string `json:"target,omitempty"`
	Error  string `json:"error,omitempty"`
}

// WebhookMonitor is the monitor's verdict.
type WebhookMonitor struct {
	Verdict shipprod.Verdict `json:"verdict"`
	Reason  string           `json:"reason,omitempty"`
}

// WebhookRollback is the automatic rollback.
type WebhookRollback struct {
	Reason string `json:"reason,omitempty"`
	// Target names the release restored.
	Target string `json:"target,omitempty"`
	// RestoredDeployment is the deployment production runs again.
	RestoredDeployment string `json:"restored_deployment,omitempty"`
	Error              string `json:"error,omitempty"`
}

// WebhookGate is a release gate that did not pass.
type WebhookGate struct {
	Name     string `json:"name"`
	Source   string `json:"source,omitempty"`
	Key      string `json:"key,omitempty"`
	Found    string `json:"found"`
	Required string `json:"required"`
	Hint     string `json:"hint,omitempty"`
}

// newWebhookPayload builds the body for res, whose message is m (already
// masked). mask is applied to every other string.
func newWebhookPayload(res shipprod.Result, m Message, id, project string, sent time.Time, mask func(string) string) WebhookPayload {
	r := res.Release
	p := WebhookPayload{
		SchemaVersion: SchemaVersion, Event: EventRunFinished, ID: id, SentAt: stamp(sent), Project: project, Message: m,
		Release: WebhookRelease{Version: r.Version, Tag: r.Tag, PreviousVersion: r.PreviousVersion, PreviousTag: r.PreviousTag,
			Commit: r.Commit, URL: mask(r.ReleaseURL)},
		NotVerified: maskAll(res.NotVerified, mask), Error: mask(res.Error), Warnings: maskAll(res.Warnings, mask),
		Reports: res.Reports, StartedAt: stamp(res.StartedAt), FinishedAt: stamp(res.FinishedAt),
	}
	if d := res.Deployment; d != nil {
		p.Deployment = &WebhookDeployment{Provider: d.Provider, ID: d.ID, URL: mask(d.URL), Environment: d.Environment,
			RollbackSteps: maskAll(d.RollbackSteps, mask)}
	}
	if h := res.Health; h != nil {
		p.Health = &WebhookHealth{Checks: len(h.Checks)}
		for _, c := range h.Failed() {
			p.Health.Failed = append(p.Health.Failed, WebhookCheck{Name: c.Name, Kind: c.Kind, Target: mask(c.Target),
				Error: mask(oneLine(cmp.Or(c.Error, c.Message)))})
		}
	}
	if mo := res.Monitor; mo != nil {
		p.Monitor = &WebhookMonitor{Verdict: mo.Verdict, Reason: mask(mo.Reason)}
	}
	if rb := res.Rollback; rb != nil {
		p.Rollback = &WebhookRollback{Reason: mask(rb.Reason), Target: cmp.Or(rb.Target.Tag, rb.Target.Version, shortSHA(rb.Target.Commit)),
			RestoredDeployment: rb.Restored.ID, Error: mask(rb.Error)}
	}
	if res.Outcome == shipprod.OutcomeBlocked {
		for _, g := range res.Gates.Blocking() {
			p.BlockingGates = append(p.BlockingGates, WebhookGate{Name: g.Name, Source: g.Source, Key: g.Key,
				Found: g.Found, Required: g.Required, Hint: mask(g.Hint)})
		}
	}
	return p
}

// encodeJSON encodes v without escaping <, > and & (the body is not HTML).
func encodeJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// Sign returns the value of HeaderSignature for body sent at timestamp
// (Unix seconds, as in HeaderTimestamp): "sha256=" followed by the hex
// HMAC-SHA256 of "<timestamp>.<body>" keyed with secret.
func Sign(secret []byte, timestamp string, body []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(timestamp))
	mac.Write([]byte{'.'})
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// DefaultTolerance is how far a delivery's timestamp may be from the
// receiver's clock before VerifySignature refuses it as a possible replay.
const DefaultTolerance = 5 * time.Minute

// ErrSignature means a delivery's signature did not verify.
var ErrSignature = errors.New("notify: webhook signature did not verify")

// VerifySignature checks a delivery, for receivers written in Go: h holds
// its headers, body its exact bytes, as received. It refuses a missing or
// wrong signature, and a timestamp further than tolerance from now (0 means
// DefaultTolerance). Errors wrap ErrSignature.
func VerifySignature(secret []byte, h http.Header, body []byte, now time.Time, tolerance time.Duration) error {
	if tolerance <= 0 {
		tolerance = DefaultTolerance
	}
	ts, sig := h.Get(HeaderTimestamp), h.Get(HeaderSignature)
	if ts == "" || sig == "" {
		return fmt.Errorf("%w: %s or %s is missing", ErrSignature, HeaderTimestamp, HeaderSignature)
	}
	secs, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: %s is not Unix seconds", ErrSignature, HeaderTimestamp)
	}
	if age := now.Sub(time.Unix(secs, 0)); age > tolerance || age < -tolerance {
		return fmt.Errorf("%w: signed at %s, more than %s from now", ErrSignature, time.Unix(secs, 0).UTC().Format(time.RFC3339), tolerance)
	}
	if !strings.HasPrefix(sig, "sha256=") {
		return fmt.Errorf("%w: %s does not start with sha256=", ErrSignature, HeaderSignature)
	}
	if !hmac.Equal([]byte(sig), []byte(Sign(secret, ts, body))) {
		return fmt.Errorf("%w: the HMAC does not match the body", ErrSignature)
	}
	return nil
}
