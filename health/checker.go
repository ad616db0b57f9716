package health

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-multierror"

	"github.com/shipprod/shipprod"
)

// Options are the run-time things a Checker needs. Every field is optional.
type Options struct {
	// Clock measures the waits between attempts (default the system clock).
	Clock shipprod.Clock
	// Logger receives diagnostics, with secrets masked (default: discard).
	Logger *slog.Logger
	// HTTPClient sends the requests of http and version checks. The Checker
	// copies it to set its redirect policy and never changes it. The
	// default keeps as many idle connections per host as Concurrency.
	HTTPClient *http.Client
	// Getenv reads the environment variables named in the configuration
	// (default os.Getenv).
	Getenv func(string) string
	// Dir is the default working directory of command checks.
	Dir string
	// Resolver resolves the names of dns checks (default net.DefaultResolver).
	Resolver Resolver
	// Kinds are the importer's own kinds of check, named by `custom:` in
	// the configuration.
	Kinds map[string]Kind
	// Checks are added after the configured ones, e.g. checks written in Go.
	Checks []Check
}

// Checker runs health checks against a deployed release. It implements
// shipprod.HealthChecker and shipprod.ActionPlanner, and is safe for
// concurrent use.
type Checker struct {
	checks      []Check
	baseURL     string
	concurrency int
	clock       shipprod.Clock
	log         *slog.Logger
	mask        *masker
}

var (
	_ shipprod.HealthChecker = (*Checker)(nil)
	_ shipprod.ActionPlanner = (*Checker)(nil)
)

// New builds a Checker from its configuration. It validates every check and
// reports all the problems it finds at once, each naming the check and the
// key, so that a mistake is found before anything ships.
func New(cfg Config, opts Options) (*Checker, error) {
	c := &Checker{
		baseURL:     strings.TrimSpace(cfg.BaseURL),
		concurrency: cfg.Concurrency,
		clock:       opts.Clock,
		log:         opts.Logger,
		mask:        newMasker(),
	}
	if c.clock == nil {
		c.clock = shipprod.SystemClock()
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	errs := c.validateSettings(cfg)
	seen := map[string]bool{}
	errs = multierror.Append(errs, c.addConfigured(cfg, newBuildEnv(opts, c.concurrency), seen))
	errs = multierror.Append(errs, c.addChecks(opts.Checks, cfg.Timing, seen))
	if err := errs.ErrorOrNil(); err != nil {
		return nil, errors.New(c.mask.mask(formatErrors(errs)))
	}
	return c, nil
}

// validateSettings checks the settings of the whole Checker and fills in
// the default concurrency.
func (c *Checker) validateSettings(cfg Config) *multierror.Error {
	var errs *multierror.Error
	if c.concurrency < 0 {
		errs = multierror.Append(errs, fmt.Errorf("health.concurrency is %d; it must be positive (0 means %d)", c.concurrency, DefaultConcurrency))
	}
	if c.concurrency <= 0 {
		c.concurrency = DefaultConcurrency
	}
	if c.baseURL != "" {
		if err := checkBaseURL(c.baseURL); err != nil {
			errs = multierror.Append(errs, fmt.Errorf("health.base_url: %w", err))
		}
	}
	if err := validateTiming("health", cfg.Timing); err != nil {
		errs = multierror.Append(errs, err)
	}
	return errs
}

// newBuildEnv is what building the configured checks needs, with defaults.
func newBuildEnv(opts Options, concurrency int) buildEnv {
	env := buildEnv{
		getenv:   opts.Getenv,
		client:   opts.HTTPClient,
		dir:      opts.Dir,
		resolver: opts.Resolver,
		kinds:    opts.Kinds,
		conc:     concurrency,
	}
	if env.getenv == nil {
		env.getenv = os.Getenv
	}
	if env.client == nil {
		env.client = defaultHTTPClient(concurrency)
	}
	return env
}

// addConfigured builds the configured checks. The secrets of every check,
// even one that fails to build, are masked from then on.
func (c *Checker) addConfigured(cfg Config, env buildEnv, seen map[string]bool) *multierror.Error {
	var errs *multierror.Error
	for i, cc := range cfg.Checks {
		where := fmt.Sprintf("health.checks[%d]", i)
		if cc.Name != "" {
			where += " (" + cc.Name + ")"
		}
		ch, secrets, err := buildCheck(cc, env)
		c.mask.add(secrets...)
		if err != nil {
			errs = multierror.Append(errs, fmt.Errorf("%s: %w", where, err))
			continue
		}
		if err := validateTiming(where, cc.Timing); err != nil {
			errs = multierror.Append(errs, err)
		}
		if seen[ch.Name] {
			errs = multierror.Append(errs, fmt.Errorf("%s: name %q is used by another check; names must be unique", where, ch.Name))
		}
		seen[ch.Name] = true
		ch.Timing = cc.Timing.withDefaults(cfg.Timing)
		c.checks = append(c.checks, ch)
	}
	return errs
}

// addChecks adds the checks written in Go (Options.Checks).
func (c *Checker) addChecks(checks []Check, defaults Timing, seen map[string]bool) *multierror.Error {
	var errs *multierror.Error
	for i, ch := range checks {
		where := fmt.Sprintf("Options.Checks[%d]", i)
		switch {
		case ch.Name == "":
			errs = multierror.Append(errs, fmt.Errorf("%s: the check has no name", where))
			continue
		case ch.Probe == nil:
			errs = multierror.Append(errs, fmt.Errorf("%s (%s): the check has no Probe", where, ch.Name))
			continue
		case seen[ch.Name]:
			errs = multierror.Append(errs, fmt.Errorf("%s: name %q is used by another check; names must be unique", where, ch.Name))
		}
		seen[ch.Name] = true
		if sh, ok := ch.Probe.(SecretHolder); ok {
			c.mask.add(sh.Secrets()...)
		}
		if ch.Kind == "" {
			ch.Kind = "custom"
		}
		ch.Timing = ch.Timing.withDefaults(defaults)
		c.checks = append(c.checks, ch)
	}
	return errs
}

// formatErrors lists every error on a line of its own.
func formatErrors(errs *multierror.Error) string {
	if len(errs.Errors) == 1 {
		return errs.Errors[0].Error()
	}
	lines := make([]string, 0, len(errs.Errors)+1)
	lines = append(lines, fmt.Sprintf("%d problems in the health configuration:", len(errs.Errors)))
	for _, e := range errs.Errors {
		lines = append(lines, "  - "+e.Error())
	}
	return strings.Join(lines, "\n")
}

func validateTiming(where string, t Timing) error {
	var errs *multierror.Error
	neg := func(key string, bad bool) {
		if bad {
			errs = multierror.Append(errs, fmt.Errorf("%s.%s must not be negative", where, key))
		}
	}
	neg("timeout", t.Timeout < 0)
	neg("period", t.Period < 0)
	neg("initial_delay", t.InitialDelay < 0)
	neg("success_threshold", t.SuccessThreshold < 0)
	neg("failure_threshold", t.FailureThreshold < 0)
	neg("max_attempts", t.MaxAttempts < 0)
	if errs == nil {
		return nil
	}
	if len(errs.Errors) == 1 {
		return errs.Errors[0]
	}
	return errs
}

// String describes the Checker in plans and messages.
func (c *Checker) String() string {
	return fmt.Sprintf("health checks (%d)", len(c.checks))
}

// Checks returns the checks the Checker runs, with their settings resolved.
func (c *Checker) Checks() []Check {
	return append([]Check(nil), c.checks...)
}

// Subset returns a Checker that runs only the named checks, with the same
// settings. It is how a monitor gate watches some of the checks.
func (c *Checker) Subset(names ...string) (*Checker, error) {
	byName := map[string]Check{}
	var known []string
	for _, ch := range c.checks {
		byName[ch.Name] = ch
		known = append(known, ch.Name)
	}
	sub := *c
	sub.checks = nil
	for _, n := range names {
		ch, ok := byName[n]
		if !ok {
			return nil, fmt.Errorf("no health check is named %q (known: %s)", n, strings.Join(known, ", "))
		}
		sub.checks = append(sub.checks, ch)
	}
	return &sub, nil
}

// Check runs every check against the deployed release until each has passed
// or failed by its thresholds, concurrently on a bounded pool. Failing checks
// are in the report; the error is non-nil only when the checks could not run
// at all: a target that cannot be resolved, or ctx ending.
func (c *Checker) Check(ctx context.Context, rel shipprod.Release, dep shipprod.Deployment) (shipprod.HealthReport, error) {
	return c.run(ctx, rel, dep, false)
}

// RunOnce makes a single attempt of every check, with no initial delay and no
// retries: one measurement of production, as a monitor takes every interval.
func (c *Checker) RunOnce(ctx context.Context, rel shipprod.Release, dep shipprod.Deployment) (shipprod.HealthReport, error) {
	return c.run(ctx, rel, dep, true)
}

// Once returns a shipprod.HealthChecker whose Check is c.RunOnce.
func (c *Checker) Once() shipprod.HealthChecker { return onceChecker{c} }

type onceChecker struct{ c *Checker }

func (o onceChecker) Check(ctx context.Context, rel shipprod.Release, dep shipprod.Deployment) (shipprod.HealthReport, error) {
	return o.c.RunOnce(ctx, rel, dep)
}

func (c *Checker) run(ctx context.Context, rel shipprod.Release, dep shipprod.Deployment, once bool) (shipprod.HealthReport, error) {
	start := c.clock.Now()
	report := shipprod.HealthReport{CheckedAt: start, Checks: make([]shipprod.CheckResult, len(c.checks))}
	tgt := Target{Release: rel, Deployment: dep, BaseURL: c.baseURL}
	if tgt.BaseURL == "" {
		tgt.BaseURL = dep.URL
	}

	// Resolve every target first: a check that cannot say what it checks
	// cannot run, and nothing is checked half-way.
	targets := make([]string, len(c.checks))
	var errs *multierror.Error
	for i, ch := range c.checks {
		targets[i] = ch.Target
		if r, ok := ch.Probe.(TargetResolver); ok {
			t, err := r.ResolveTarget(tgt)
			if err != nil {
				errs = multierror.Append(errs, fmt.Errorf("health check %s: %s", ch.Name, c.mask.mask(err.Error())))
				continue
			}
			targets[i] = t
		}
	}
	if errs != nil {
		report.Checks = nil
		if len(errs.Errors) == 1 {
			return report, errs.Errors[0]
		}
		return report, errors.New(formatErrors(errs))
	}

	runPool(c.concurrency, len(c.checks), func(i int) {
		report.Checks[i] = c.runCheck(ctx, c.checks[i], targets[i], tgt, once)
		if !once {
			shipprod.ReportProgress(ctx, Progress(report.Checks[i]))
		}
	})
	report.Duration = c.clock.Now().Sub(start)
	if err := ctx.Err(); err != nil {
		return report, fmt.Errorf("health checks interrupted: %w", err)
	}
	return report, nil
}

// runPool calls fn(0) … fn(n-1) on at most workers goroutines.
func runPool(workers, n int, fn func(i int)) {
	if workers > n {
		workers = n
	}
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for i := range jobs {
				fn(i)
			}
		})
	}
	for i := range n {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
}

// runCheck attempts one check until its thresholds decide.
func (c *Checker) runCheck(ctx context.Context, ch Check, target string, tgt Target, once bool) shipprod.CheckResult {
	res := shipprod.CheckResult{Name: ch.Name, Kind: ch.Kind, Target: c.mask.mask(target), Status: shipprod.HealthFail}
	t := ch.Timing
	if !once && t.InitialDelay > 0 {
		if err := c.clock.Sleep(ctx, t.InitialDelay); err != nil {
			res.Error = "not run: " + err.Error()
			return res
		}
	}
	var (
		okRun, failRun int
		obs            Observation
		lastErr        error
	)
	for {
		res.Attempts++
		var latency time.Duration
		obs, latency, lastErr = c.attempt(ctx, ch, tgt)
		res.Latency = latency
		c.log.Debug("health check attempt", "check", ch.Name, "kind", ch.Kind, "target", res.Target,
			"attempt", res.Attempts, "ok", lastErr == nil, "latency", latency, "error", c.errText(lastErr))
		if lastErr == nil {
			okRun, failRun = okRun+1, 0
		} else {
			okRun, failRun = 0, failRun+1
		}
		if once || okRun >= t.SuccessThreshold || failRun >= t.FailureThreshold {
			break
		}
		if res.Attempts >= t.MaxAttempts {
			lastErr = fmt.Errorf("flapping: neither %d successes nor %d failures in a row in %d attempts (last: %s)",
				t.SuccessThreshold, t.FailureThreshold, res.Attempts, c.attemptText(obs, lastErr))
			break
		}
		if err := c.clock.Sleep(ctx, t.Period); err != nil {
			lastErr = fmt.Errorf("interrupted after %d attempts (last: %s): %w", res.Attempts, c.attemptText(obs, lastErr), err)
			break
		}
	}
	if lastErr != nil {
		res.Error = c.errText(lastErr)
	} else {
		res.Status = shipprod.HealthPass
		if obs.Status == shipprod.HealthWarn {
			res.Status = shipprod.HealthWarn
		}
		res.Message = c.mask.mask(obs.Message)
	}
	level := slog.LevelInfo
	if res.Status == shipprod.HealthFail {
		level = slog.LevelWarn
	}
	c.log.Log(ctx, level, "health check", "check", res.Name, "kind", res.Kind, "target", res.Target,
		"status", res.Status, "attempts", res.Attempts, "latency", res.Latency, "message", res.Message, "error", res.Error)
	return res
}

func (c *Checker) errText(err error) string {
	if err == nil {
		return ""
	}
	return c.mask.mask(err.Error())
}

func (c *Checker) attemptText(obs Observation, err error) string {
	if err != nil {
		return err.Error()
	}
	if obs.Message != "" {
		return "passed: " + obs.Message
	}
	return "passed"
}

// attempt makes one attempt, bounded by the check's timeout. A panicking
// Probe (importers write their own) is a failed attempt, not a crash.
func (c *Checker) attempt(ctx context.Context, ch Check, tgt Target) (obs Observation, latency time.Duration, err error) {
	actx, cancel := context.WithTimeout(ctx, ch.Timing.Timeout)
	defer cancel()
	start := time.Now()
	defer func() {
		latency = time.Since(start)
		if p := recover(); p != nil {
			c.log.Error("health probe panicked", "check", ch.Name, "panic", c.mask.mask(fmt.Sprint(p)), "stack", c.mask.mask(string(debug.Stack())))
			obs, err = Observation{}, fmt.Errorf("probe panicked: %v", p)
		}
		if err != nil && ctx.Err() == nil && timedOut(actx) {
			err = fmt.Errorf("timed out after %s: %w", ch.Timing.Timeout, err)
		}
	}()
	obs, err = ch.Probe.Probe(actx, tgt)
	return obs, 0, err
}

// timedOut reports whether actx's deadline has passed. Reading the clock as
// well as actx.Err matters: a probe that sets its connection's deadline from
// the context (the DNS resolver does) can fail with "i/o timeout" a moment
// before the context's own timer fires, and that is a timeout all the same.
func timedOut(actx context.Context) bool {
	if errors.Is(actx.Err(), context.DeadlineExceeded) {
		return true
	}
	dl, ok := actx.Deadline()
	return ok && !time.Now().Before(dl)
}

// PlanActions lists one read-only check action per check, for rel. Run
// performs exactly these checks.
func (c *Checker) PlanActions(ctx context.Context, rel shipprod.Release) ([]shipprod.Action, error) {
	acts := make([]shipprod.Action, 0, len(c.checks))
	for _, ch := range c.checks {
		target, desc := ch.Target, ch.Description
		if p, ok := ch.Probe.(planner); ok {
			target, desc = p.plan(rel, c.baseURL)
		}
		if desc == "" {
			desc = fmt.Sprintf("run %s check %s", ch.Kind, ch.Name)
		}
		acts = append(acts, shipprod.Action{
			Kind:        shipprod.ActionCheck,
			Target:      c.mask.mask(target),
			Description: c.mask.mask(fmt.Sprintf("health check %s: %s", ch.Name, desc)),
		})
	}
	return acts, nil
}

// planner is implemented by the built-in probes whose plan depends on the
// release or the base URL.
type planner interface {
	plan(rel shipprod.Release, baseURL string) (target, description string)
}

// Progress is how a finished check is told while the round goes on, one
// line each: "api (http https://x/api/health): 200 OK in 41ms" (the
// probes' messages say how long the answer took).
func Progress(r shipprod.CheckResult) shipprod.Progress {
	what := r.Message
	if r.Status == shipprod.HealthFail && r.Error != "" {
		what = r.Error
	}
	msg := fmt.Sprintf("%s (%s %s): %s", r.Name, r.Kind, r.Target, cmp.Or(what, string(r.Status)))
	if r.Attempts > 1 {
		msg += fmt.Sprintf(" after %d attempts", r.Attempts)
	}
	return shipprod.Progress{Message: msg, Status: r.Status}
}
