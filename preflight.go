package shipprod

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
)

// Preflighter is implemented by step implementations that talk to something
// (a git remote, an API, a metrics server) and can tell, before anything
// changes, whether they will be able to do their part: push rights, a token
// valid for the calls they make with the permissions those calls need, a
// workflow that can be dispatched, the build to promote. The pre-flight
// step calls it, in Plan and Run alike, on the implementation of every step
// that will run, and the run stops before its first side effect when any of
// them fails.
//
// rel is the release the run will make. An error should name what to fix:
// the configuration key or the environment variable, and how.
type Preflighter interface {
	Preflight(ctx context.Context, rel Release) error
}

// PreflightError means the pre-flight found that a step could not do its
// part. Nothing was changed. Failures lists each, in step order.
type PreflightError struct {
	Failures []PreflightFailure
}

// PreflightCheck is one pre-flight check a Plan ran: the implementation
// of a step that was asked whether it can do its part, and its answer.
type PreflightCheck struct {
	Step StepName `json:"step"`
	// Impl names the implementation that was asked.
	Impl string `json:"impl"`
	// Error is why it cannot do its part; empty when it passed.
	Error string `json:"error,omitempty"`
}

// PreflightFailure is one failed pre-flight check.
type PreflightFailure struct {
	Step StepName
	// Impl names the implementation that failed its check.
	Impl string
	Err  error
}

func (e *PreflightError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "pre-flight failed, nothing was changed:")
	for _, f := range e.Failures {
		fmt.Fprintf(&b, "\n  - %s (%s): %v", f.Step, f.Impl, f.Err)
	}
	return b.String()
}

// Unwrap returns the failures' errors, for errors.Is and errors.As.
func (e *PreflightError) Unwrap() []error {
	errs := make([]error, len(e.Failures))
	for i, f := range e.Failures {
		errs[i] = f.Err
	}
	return errs
}

// preflight asks the implementation of every step that will run whether it
// can do its part. Steps this run resumes or skips are not asked.
func (e *execution) preflight(ctx context.Context) (string, error) {
	var failures []PreflightFailure
	if err := e.p.Rollout.Validate(); err != nil {
		failures = append(failures, PreflightFailure{Step: StepRollout, Impl: "Pipeline.Rollout", Err: err})
	}
	if e.p.policy() == PolicyNotify && e.p.Notifier == nil {
		f := PreflightFailure{Step: StepNotify, Impl: "Pipeline.OnFailure",
			Err: errors.New("the failure policy is notify, but no Notifier is configured: nobody would be told that production is unhealthy")}
		failures = append(failures, f)
		if e.plan != nil {
			e.plan.Preflight = append(e.plan.Preflight, PreflightCheck{Step: f.Step, Impl: f.Impl, Error: f.Err.Error()})
		}
	}
	for _, s := range e.preflighters() {
		err := s.impl.(Preflighter).Preflight(ctx, e.res.Release)
		if err != nil && ctx.Err() != nil {
			return "", ctx.Err()
		}
		e.recordPreflight(s.name, s.impl, err)
		if err != nil {
			failures = append(failures, PreflightFailure{Step: s.name, Impl: describe(s.impl), Err: err})
		}
	}
	if err := e.checkHealthURLs(); err != nil {
		failures = append(failures, PreflightFailure{Step: StepHealth, Impl: describe(e.p.Health), Err: err})
	}
	warning, err := e.checkCandidate(ctx)
	if err != nil {
		e.recordPreflight(StepDeploy, e.p.Deployer, err)
		failures = append(failures, PreflightFailure{Step: StepDeploy, Impl: describe(e.p.Deployer), Err: err})
	}
	if len(failures) > 0 {
		return "", &PreflightError{Failures: failures}
	}
	return warning, nil
}

// recordPreflight adds a check's answer to the plan, when planning.
func (e *execution) recordPreflight(step StepName, impl any, err error) {
	if e.plan == nil {
		return
	}
	c := PreflightCheck{Step: step, Impl: describe(impl)}
	if err != nil {
		c.Error = err.Error()
	}
	e.plan.Preflight = append(e.plan.Preflight, c)
}

// checkCandidate asks a deployer that promotes an existing build which one
// it will promote, and refuses one that an earlier run rolled back as
// unhealthy, unless the Pipeline allows it.
func (e *execution) checkCandidate(ctx context.Context) (string, error) {
	cf, ok := DeployerAs[CandidateFinder](e.p.Deployer)
	if !ok || e.resumes(stepSpec{name: StepDeploy, resumed: (*execution).hasDeployment}) {
		return "", nil
	}
	cand, err := cf.Candidate(ctx, e.res.Release)
	if err != nil {
		return "", err
	}
	i := slices.IndexFunc(e.res.RolledBackBuilds, func(d Deployment) bool { return d.ID == cand.ID })
	if i < 0 {
		return "", nil
	}
	bad := e.res.RolledBackBuilds[i]
	msg := fmt.Sprintf("deployment %s (%s) was rolled back as unhealthy by an earlier run", cand.ID, cmp.Or(bad.Tag, bad.Version, bad.Commit))
	if e.p.AllowRolledBack {
		return msg + "; promoting it again as asked", nil
	}
	return "", fmt.Errorf("%s: validate a new staging build and record its id in the state file, or allow promoting it again (shipprod ship --allow-rolled-back)", msg)
}

// preflighters are the steps that will run and whose implementation has a
// pre-flight check, each implementation once (the Deployer serves the
// deploy and the rollback, the Reporter two reports). Steps this run
// resumes are not asked.
func (e *execution) preflighters() []stepSpec {
	var (
		out   []stepSpec
		asked []any
	)
	for _, s := range e.p.steps() {
		if _, ok := s.impl.(Preflighter); !ok || s.name == StepPreflight || e.resumes(s) || askedBefore(asked, s.impl) {
			continue
		}
		asked = append(asked, s.impl)
		out = append(out, s)
	}
	return out
}

func (e *execution) skipPreflight() string {
	if len(e.preflighters()) == 0 && (e.p.policy() != PolicyNotify || e.p.Notifier != nil) {
		return "no step implementation has a pre-flight check"
	}
	return ""
}

// askedBefore reports whether impl (the same value) was asked already.
func askedBefore(asked []any, impl any) bool {
	for _, a := range asked {
		if sameImpl(a, impl) {
			return true
		}
	}
	return false
}

// sameImpl reports whether a and b are the same implementation: equal
// values of one type, or, for types that cannot be compared (a slice such
// as the Reporters of shipprod.Reporters), the same slice, map or function.
func sameImpl(a, b any) bool {
	ta, tb := reflect.TypeOf(a), reflect.TypeOf(b)
	if ta != tb {
		return false
	}
	if ta.Comparable() {
		return a == b
	}
	va, vb := reflect.ValueOf(a), reflect.ValueOf(b)
	switch va.Kind() {
	case reflect.Slice:
		return va.Len() == vb.Len() && (va.Len() == 0 || va.Pointer() == vb.Pointer())
	case reflect.Map, reflect.Func:
		return va.Pointer() == vb.Pointer()
	}
	return false
}

// checkHealthURLs refuses health checks whose relative paths nothing will
// resolve: the HealthChecker says which need a base URL
// (RelativeTargets), and the Deployer, that it reports none.
func (e *execution) checkHealthURLs() error {
	rt, ok := e.p.Health.(interface{ RelativeTargets() []string })
	if !ok || e.p.Deployer == nil {
		return nil
	}
	names := rt.RelativeTargets()
	if len(names) == 0 {
		return nil
	}
	if ur, ok := DeployerAs[URLReporter](e.p.Deployer); !ok || ur.ReportsURL() {
		return nil // it reports one, or cannot say: the checks will tell
	}
	return fmt.Errorf("health checks %s have relative URLs, but health.base_url is not set and deployer %s does not say where production serves: set health.base_url, or the deployer's url",
		strings.Join(names, ", "), describe(e.p.Deployer))
}
