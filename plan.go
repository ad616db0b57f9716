package shipprod

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"time"
)

// ActionKind classifies a side effect.
type ActionKind string

// Action kinds.
const (
	ActionWriteFile ActionKind = "write-file" // a file written in the working tree
	ActionCommit    ActionKind = "commit"     // a git commit
	ActionTag       ActionKind = "tag"        // a git tag
	ActionPush      ActionKind = "push"       // a git push
	ActionAPI       ActionKind = "api"        // a call that changes something at a hosted service
	ActionDeploy    ActionKind = "deploy"     // a deployment
	ActionCheck     ActionKind = "check"      // a read-only probe (health check)
	ActionWatch     ActionKind = "watch"      // the monitor window
	ActionRollback  ActionKind = "rollback"   // a rollback of production
)

// Action is one side effect a step makes. Plan returns them all before
// anything happens; Run reports the same list as it performs it.
type Action struct {
	Step string     `json:"step"`
	Kind ActionKind `json:"kind"`
	// Target is what the action touches: a path, a ref, a URL.
	Target string `json:"target"`
	// Description says it for a human, e.g. "create annotated tag v2.7.0".
	Description string `json:"description"`
}

func (a Action) String() string {
	return fmt.Sprintf("[%s] %s", a.Step, a.Description)
}

// ActionPlanner is implemented by steps that can list their side effects for
// a release before making them. The Pipeline calls it in Plan and again, with
// the same release, right before running the step, so Plan and Run agree.
// A step that does not implement it gets one generic action in the plan.
type ActionPlanner interface {
	PlanActions(ctx context.Context, rel Release) ([]Action, error)
}

// PlannedStep is one step of a Plan.
type PlannedStep struct {
	Step  string `json:"step"`
	Title string `json:"title"`
	// Skipped steps will not run; Reason says why.
	Skipped bool   `json:"skipped,omitempty"`
	Reason  string `json:"reason,omitempty"`
	// Condition is set for steps that run only if something happens
	// (a rollback runs only if production is found unhealthy).
	Condition string   `json:"condition,omitempty"`
	Actions   []Action `json:"actions,omitempty"`
}

// Plan is what Run would do, computed without side effects.
type Plan struct {
	Gates   GateReport    `json:"gates"`
	Release Release       `json:"release"`
	Steps   []PlannedStep `json:"steps"`
	// Note says whether Run resumes a journaled run, when there is one.
	Note string `json:"note,omitempty"`
}

// Actions returns the side effects Run makes unconditionally, in order.
func (p *Plan) Actions() []Action {
	var out []Action
	for _, s := range p.Steps {
		if s.Skipped || s.Condition != "" {
			continue
		}
		out = append(out, s.Actions...)
	}
	return out
}

// actionsFor lists the side effects of one step for rel. Each step asks the
// implementation it belongs to when that implementation is an ActionPlanner;
// the secondary steps of an implementation (the baseline of a Monitor, the
// rollback of a Deployer) have fixed descriptions.
func (p *Pipeline) actionsFor(ctx context.Context, step string, impl any, rel Release) ([]Action, error) {
	switch step {
	case StepGates, StepBaseline:
		return nil, nil // read-only
	case StepRollback:
		return []Action{{Step: step, Kind: ActionRollback, Target: describe(impl),
			Description: fmt.Sprintf("roll production back to %s with %s and check its health", cmp.Or(rel.PreviousTag, "the previous release"), describe(impl))}}, nil
	}
	if ap, ok := impl.(ActionPlanner); ok {
		acts, err := ap.PlanActions(ctx, rel)
		if err != nil {
			return nil, fmt.Errorf("planning step %s: %w", step, err)
		}
		for i := range acts {
			acts[i].Step = step
		}
		return acts, nil
	}
	name := describe(impl)
	var a Action
	switch step {
	case StepVersion:
		a = Action{Kind: ActionCommit, Target: rel.Version, Description: fmt.Sprintf("write version %s with %s and commit it", rel.Version, name)}
	case StepTag:
		a = Action{Kind: ActionTag, Target: rel.Tag, Description: fmt.Sprintf("create and publish tag %s with %s", rel.Tag, name)}
	case StepDeploy:
		a = Action{Kind: ActionDeploy, Target: name, Description: fmt.Sprintf("deploy %s with %s", cmp.Or(rel.Tag, rel.Version), name)}
	case StepHealth:
		a = Action{Kind: ActionCheck, Target: name, Description: "run health checks with " + name}
	case StepReport, StepFinalReport:
		a = Action{Kind: ActionWriteFile, Target: name, Description: "write the ship report with " + name}
	case StepMonitor:
		a = Action{Kind: ActionWatch, Target: name, Description: "watch production with " + name}
	default:
		return nil, nil
	}
	a.Step = step
	return []Action{a}, nil
}

// Plan returns every side effect Run would make, without making any. The
// gates and the version decision are evaluated (they only read). When a gate
// blocks, Plan still lists what Run would do once the gates pass, and returns
// the *GateBlockedError with the plan.
func (p *Pipeline) Plan(ctx context.Context) (*Plan, error) {
	plan := &Plan{Release: p.Release}
	skip := func(reason string, steps ...string) {
		for _, s := range steps {
			plan.Steps = append(plan.Steps, PlannedStep{Step: s, Title: stepTitle(s, plan.Release), Skipped: true, Reason: reason})
		}
	}
	add := func(step string, impl any, condition string) error {
		acts, err := p.actionsFor(ctx, step, impl, plan.Release)
		if err != nil {
			return &StepError{Step: step, Err: err}
		}
		plan.Steps = append(plan.Steps, PlannedStep{Step: step, Title: stepTitle(step, plan.Release), Condition: condition, Actions: acts})
		return nil
	}

	var blocked error
	if p.Gates == nil {
		skip("no GateSource configured", StepGates)
	} else {
		report, err := p.Gates.CheckGates(ctx)
		plan.Gates = report
		switch {
		case err != nil:
			blocked = &GateBlockedError{Gates: report.Blocking(), Err: err}
		case len(report.Blocking()) > 0:
			blocked = &GateBlockedError{Gates: report.Blocking()}
		}
		if err := add(StepGates, p.Gates, ""); err != nil {
			return plan, err
		}
	}

	var (
		rel Release
		err error
	)
	if p.Versioner != nil {
		rel, err = p.Versioner.NextVersion(ctx)
	}
	prev, note, jerr := p.resumePoint(ctx, rel, err)
	if jerr != nil {
		return plan, errors.Join(blocked, &StepError{Step: StepVersion, Err: jerr})
	}
	plan.Note = note
	resumed := func(step string) bool {
		if !doneIn(prev, step) {
			return false
		}
		skip("done by the run of "+prev.StartedAt.Format(time.RFC3339)+", which ship resumes", step)
		return true
	}
	switch {
	case prev != nil:
		plan.Release = prev.Release
		resumed(StepVersion)
	case p.Versioner == nil:
		skip(reasonGivenRelease, StepVersion)
	default:
		if errors.Is(err, ErrNothingToRelease) {
			plan.Release = rel
			skip(err.Error(), StepVersion)
			skip("nothing to release", stepsAfter(StepVersion)...)
			return plan, blocked
		}
		if err != nil {
			return plan, errors.Join(blocked, &StepError{Step: StepVersion, Err: err})
		}
		plan.Release = rel
		if err := add(StepVersion, p.Versioner, ""); err != nil {
			return plan, err
		}
	}

	steps := []struct {
		step string
		impl any
		none string
	}{
		{StepTag, p.Tagger, "no Tagger configured"},
		{StepBaseline, p.Monitor, "no Monitor configured"},
		{StepDeploy, p.Deployer, "no Deployer configured"},
		{StepHealth, p.Health, "no HealthChecker configured"},
	}
	for _, s := range steps {
		if s.step != StepHealth && resumed(s.step) {
			continue
		}
		if s.impl == nil {
			skip(s.none, s.step)
			continue
		}
		if err := add(s.step, s.impl, ""); err != nil {
			return plan, err
		}
	}

	_, canRollback := p.Deployer.(Rollbacker)
	switch {
	case p.Deployer == nil:
		skip("nothing is deployed", StepRollback)
	case p.policy() != PolicyRollback:
		skip(fmt.Sprintf("policy %s: production is left as it is when unhealthy", p.policy()), StepRollback)
	case !canRollback:
		skip(fmt.Sprintf("deployer %s cannot roll back", describe(p.Deployer)), StepRollback)
	default:
		if err := add(StepRollback, p.Deployer, "only if health checks or the monitor find production unhealthy"); err != nil {
			return plan, err
		}
	}

	if p.Reporter == nil {
		skip("no Reporter configured", StepReport)
	} else if err := add(StepReport, p.Reporter, ""); err != nil {
		return plan, err
	}
	switch {
	case p.Monitor == nil:
		skip("no Monitor configured", StepMonitor, StepFinalReport)
	case p.Deployer == nil:
		skip("nothing is deployed", StepMonitor, StepFinalReport)
	default:
		if err := add(StepMonitor, p.Monitor, ""); err != nil {
			return plan, err
		}
		if p.Reporter == nil {
			skip("no Reporter configured", StepFinalReport)
		} else if err := add(StepFinalReport, p.Reporter, ""); err != nil {
			return plan, err
		}
	}
	return plan, blocked
}
