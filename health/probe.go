package health

import (
	"context"
	"errors"

	"github.com/shipprod/shipprod"
)

// Probe is one kind of health check. Probe performs a single attempt; the
// Checker adds the timeout, the retries and the thresholds around it.
//
// A nil error is a successful attempt: Observation.Message says what was
// observed ("200 OK", "version 2.7.0") and Observation.Status may be
// shipprod.HealthWarn to pass with a warning. An error is a failed attempt
// and says why. Importers implement Probe for their own kinds of check, and
// add them with Options.Checks or, to name them in configuration, with
// Options.Kinds.
type Probe interface {
	Probe(ctx context.Context, t Target) (Observation, error)
}

// ProbeFunc adapts a function to a Probe.
type ProbeFunc func(ctx context.Context, t Target) (Observation, error)

// Probe calls f(ctx, t).
func (f ProbeFunc) Probe(ctx context.Context, t Target) (Observation, error) { return f(ctx, t) }

// Target is what a check is run against.
type Target struct {
	Release    shipprod.Release
	Deployment shipprod.Deployment
	// BaseURL is the URL relative URLs resolve against: Config.BaseURL, or
	// the Deployment's URL when that is empty. It may be empty.
	BaseURL string
}

// Observation is the outcome of one successful attempt.
type Observation struct {
	// Status is HealthPass (the default when empty) or HealthWarn.
	Status shipprod.HealthStatus
	// Message says what was observed.
	Message string
}

// TargetResolver is implemented by Probes whose target depends on where the
// release runs, such as a URL relative to the base URL. The Checker calls it
// before any check runs: an error means the check cannot run at all (and
// Check returns it), the string replaces Check.Target in the report.
//
// A target relative to a base URL that t does not have is an error wrapping
// ErrNoBaseURL: the pre-flight then leaves it to the URL the deployer
// reports (Checker.RelativeTargets names the check).
type TargetResolver interface {
	ResolveTarget(t Target) (string, error)
}

// ErrNoBaseURL means a target is relative and there is no base URL to
// resolve it against: health.base_url is not set and the deployer reported
// no URL.
var ErrNoBaseURL = errors.New("no base URL")

// SecretHolder is implemented by Probes that hold secrets (passwords, DSNs,
// tokens); the Checker masks them in every report, error and log line.
type SecretHolder interface {
	Secrets() []string
}

// Kind builds the Probe of a `custom:` check from its `args:`. getenv reads
// secrets from the environment; a Probe holding any should implement
// SecretHolder.
type Kind func(args map[string]string, getenv func(string) string) (Probe, error)

// Check is a named Probe with its settings: what the Checker runs.
type Check struct {
	Name string
	// Kind names the kind of check in the report ("http", "tcp", "mykind").
	Kind string
	// Target describes what is checked, for the report and the plan; it
	// must hold no secret.
	Target string
	// Description says what the check expects, for the plan
	// (e.g. "GET /health, expect 200").
	Description string
	Probe       Probe
	// Timing holds the probe settings; zero fields take the Config's.
	Timing Timing
}
