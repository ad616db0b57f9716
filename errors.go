package shipprod

import (
	"errors"
	"fmt"
	"strings"
)

// ErrNothingToRelease is returned by a Versioner when nothing releasable
// happened since the last release. The Pipeline treats it as a clean stop
// (Result.Outcome is OutcomeNothingToRelease), not as a failure.
var ErrNothingToRelease = errors.New("nothing to release")

// GateBlockedError means the release gates refused the ship. Gates lists every
// gate that did not pass; Err, when set, is why the gates could not be read at
// all (a missing or malformed state file).
type GateBlockedError struct {
	Gates []GateResult
	Err   error
}

func (e *GateBlockedError) Error() string {
	var b strings.Builder
	b.WriteString("blocked by release gates")
	if e.Err != nil {
		fmt.Fprintf(&b, ": %v", e.Err)
	}
	for _, g := range e.Gates {
		b.WriteString("\n  - ")
		b.WriteString(DescribeGate(g))
	}
	return b.String()
}

func (e *GateBlockedError) Unwrap() error { return e.Err }

// DescribeGate says in one line what a gate found and what it needs, e.g.
// `staging_validation: specs/001-x/state.yaml: manual_gates.staging_validation.status is "pending", want "approved" (run /validate-staging)`.
func DescribeGate(g GateResult) string {
	var b strings.Builder
	b.WriteString(g.Name)
	b.WriteString(": ")
	if g.Source != "" {
		b.WriteString(g.Source)
		b.WriteString(": ")
	}
	switch {
	case g.Key == "":
		fmt.Fprintf(&b, "no key records this gate, want %q", g.Required)
	case g.Found == "":
		fmt.Fprintf(&b, "%s is absent, want %q", g.Key, g.Required)
	default:
		fmt.Fprintf(&b, "%s is %q, want %q", g.Key, g.Found, g.Required)
	}
	if g.Hint != "" {
		fmt.Fprintf(&b, " (%s)", g.Hint)
	}
	return b.String()
}

// HealthCheckError means one or more health checks failed after a deploy.
type HealthCheckError struct {
	Report HealthReport
}

func (e *HealthCheckError) Error() string {
	failed := e.Report.Failed()
	parts := make([]string, 0, len(failed))
	for _, c := range failed {
		msg := c.Error
		if msg == "" {
			msg = c.Message
		}
		parts = append(parts, fmt.Sprintf("%s (%s %s): %s", c.Name, c.Kind, c.Target, msg))
	}
	return fmt.Sprintf("%d of %d health checks failed: %s", len(failed), len(e.Report.Checks), strings.Join(parts, "; "))
}

// MonitorError means a monitor gate failed during the post-deploy window.
type MonitorError struct {
	Report MonitorReport
}

func (e *MonitorError) Error() string {
	if e.Report.Reason != "" {
		return "production monitor failed: " + e.Report.Reason
	}
	return fmt.Sprintf("production monitor verdict %s", e.Report.Verdict)
}

// PushRejectedError means a remote refused a push: someone pushed meanwhile
// (non-fast-forward, stale lease), a protected branch, or a hook.
type PushRejectedError struct {
	Remote string // remote name or URL, credentials masked
	Refs   []string
	// Reason is the remote's own words, e.g. "non-fast-forward" or "stale info".
	Reason string
	// Hint says how to recover.
	Hint string
}

func (e *PushRejectedError) Error() string {
	msg := fmt.Sprintf("push to %s rejected (%s): %s", e.Remote, strings.Join(e.Refs, ", "), e.Reason)
	if e.Hint != "" {
		msg += "; " + e.Hint
	}
	return msg
}

// ProductionChangedError is returned by a Deployer whose deploy failed after
// it had already changed production: say, the push to the production branch
// landed but the CI run it triggered failed. Deployment describes the
// change, so the Pipeline records it, writes the report and applies its
// failure policy (a rollback by default) as it does for failed health checks.
type ProductionChangedError struct {
	Deployment Deployment
	Err        error
}

func (e *ProductionChangedError) Error() string { return e.Err.Error() }

func (e *ProductionChangedError) Unwrap() error { return e.Err }

// StepError says which pipeline step failed. It wraps the step's error, so
// errors.As still finds the typed errors above.
type StepError struct {
	Step StepName
	Err  error
}

func (e *StepError) Error() string { return string(e.Step) + ": " + e.Err.Error() }

func (e *StepError) Unwrap() error { return e.Err }

// NotVerifiedError means the release is live but nothing verified it: no
// health check or monitor is configured, or the monitor could not judge
// production (its verdict was error or inconclusive). Production was left
// as it is; Reasons say what is missing.
type NotVerifiedError struct {
	Reasons []string
}

func (e *NotVerifiedError) Error() string {
	return "shipped, but not verified: " + strings.Join(e.Reasons, "; ")
}

// ResumedUnhealthyError is the verdict of a journaled run that had found
// production unhealthy, taken over by the run that resumes it.
type ResumedUnhealthyError struct {
	Reason string
}

func (e *ResumedUnhealthyError) Error() string {
	return "production was found unhealthy by the run this one resumes: " + e.Reason
}
