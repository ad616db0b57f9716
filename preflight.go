package shipprod

import (
	"cmp"
	"context"
	"errors"
	"fmt"
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
// can do its part, and checks what the Pipeline's own configuration
// promises (pipelineChecks). Steps this run resumes or skips are not asked.
func (e *execution) preflight(ctx context.Context) (string, error) {
	var (
		failures []PreflightFailure
		warnings []string
	)
	check := func(step StepName, impl string, err error) {
		if e.plan != nil {
			c := PreflightCheck{Step: step, Impl: impl}
			if err != nil {
				c.Error = err.Error()
			}
			e.plan.Preflight = append(e.plan.Preflight, c)
		}
		if err != nil {
			failures = append(failures, PreflightFailure{Step: step, Impl: impl, Err: err})
		}
	}
	for _, s := range e.preflighters() {
		err := s.impl.(Preflighter).Preflight(ctx, e.res.Release)
		if err != nil && ctx.Err() != nil {
			return "", ctx.Err()
		}
		check(s.name, describe(s.impl), err)
	}
	for _, c := range e.pipelineChecks() {
		warning, err := c.run(ctx)
		if err != nil && ctx.Err() != nil {
			return "", ctx.Err()
		}
		check(c.step, c.impl, err)
		if warning != "" {
			warnings = append(warnings, warning)
		}
	}
	if len(failures) > 0 {
		return "", &PreflightError{Failures: failures}
	}
	return strings.Join(warnings, "; "), nil
}

// pipelineCheck is a pre-flight check of what the Pipeline's configuration
// asks for, as opposed to a step implementation's own.
type pipelineCheck struct {
	step StepName
	impl string
	run  func(context.Context) (warning string, err error)
}

// pipelineChecks are the checks that apply to this Pipeline.
func (e *execution) pipelineChecks() []pipelineCheck {
	var out []pipelineCheck
	if e.p.Rollout != nil && len(e.p.Rollout.Stages) > 0 {
		out = append(out, pipelineCheck{StepRollout, "Pipeline.Rollout", func(context.Context) (string, error) { return "", e.checkRollout() }})
	}
	if e.p.policy() == PolicyNotify {
		out = append(out, pipelineCheck{StepNotify, "Pipeline.OnFailure", func(context.Context) (string, error) {
			if e.p.Notifier == nil {
				return "", errors.New("the failure policy is notify, but no Notifier is configured: nobody would be told that production is unhealthy")
			}
			return "", nil
		}})
	}
	if err := e.checkHealthURLs(); err != nil {
		// Listed only when it fails: the health checks' own pre-flight
		// stands for their URLs otherwise.
		out = append(out, pipelineCheck{StepHealth, describe(e.p.Health), func(context.Context) (string, error) { return "", err }})
	}
	if _, ok := DeployerAs[CandidateFinder](e.p.Deployer); ok && !e.resumesDeploy() {
		out = append(out, pipelineCheck{StepDeploy, describe(e.p.Deployer) + " (the build to promote)", e.checkCandidate})
	}
	return out
}

// checkRollout checks the stages, and that the monitor can watch those it
// is asked to watch.
func (e *execution) checkRollout() error {
	if err := e.p.Rollout.Validate(); err != nil {
		return err
	}
	if !hasShifter(e.p) || !slices.ContainsFunc(e.p.Rollout.Stages, func(s RolloutStage) bool { return s.Watch > 0 }) {
		return nil
	}
	switch _, ok := e.p.Monitor.(StageWatcher); {
	case e.p.Monitor == nil:
		return errors.New("rollout.stages watch production, but no Monitor is configured to watch them: configure one, or give the stages no watch")
	case !ok:
		return fmt.Errorf("rollout.stages watch production, but the monitor %s cannot watch a stage: use one that can (health/monitor), or give the stages no watch", describe(e.p.Monitor))
	}
	return nil
}

// resumesDeploy reports whether this run takes the deployment of the run it
// resumes rather than deploying.
func (e *execution) resumesDeploy() bool {
	return e.prev != nil && e.prev.Deployment != nil && (doneIn(e.prev, StepDeploy) || e.unhealthy != nil)
}

// checkCandidate asks a deployer that promotes an existing build which one
// it will promote, and refuses one that an earlier run rolled back as
// unhealthy, unless the Pipeline allows it.
func (e *execution) checkCandidate(ctx context.Context) (string, error) {
	cf, _ := DeployerAs[CandidateFinder](e.p.Deployer)
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
// pre-flight check, each implementation once: steps that use the same
// Pipeline field (implOf) ask it once. Steps this run resumes are not
// asked.
func (e *execution) preflighters() []stepSpec {
	var (
		out   []stepSpec
		asked = map[StepName]bool{}
	)
	for _, s := range e.p.steps() {
		if _, ok := s.impl.(Preflighter); !ok || s.name == StepPreflight || e.resumes(s) || asked[implOf(s.name)] {
			continue
		}
		asked[implOf(s.name)] = true
		out = append(out, s)
	}
	return out
}

// implOf is the step whose Pipeline field step's implementation is: the
// Deployer serves the deploy, the rollout and the rollback, the Reporter
// both reports, the Monitor the baseline and the monitor.
func implOf(step StepName) StepName {
	switch step {
	case StepRollout, StepRollback:
		return StepDeploy
	case StepFinalReport:
		return StepReport
	case StepMonitor:
		return StepBaseline
	}
	return step
}

func (e *execution) skipPreflight() string {
	if len(e.preflighters()) == 0 && len(e.pipelineChecks()) == 0 {
		return "no step implementation has a pre-flight check"
	}
	return ""
}

// relativeTargeter is a HealthChecker that says which of its checks have
// relative URLs (health.Checker).
type relativeTargeter interface{ RelativeTargets() []string }

// checkHealthURLs refuses health checks whose relative paths nothing will
// resolve: the HealthChecker says which need a base URL
// (RelativeTargets), and the Deployer, that it reports none.
func (e *execution) checkHealthURLs() error {
	rt, ok := e.p.Health.(relativeTargeter)
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
