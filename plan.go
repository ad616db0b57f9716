package shipprod

import (
	"context"
	"errors"
	"fmt"
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
	Step StepName   `json:"step"`
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
	Step  StepName `json:"step"`
	Title string   `json:"title"`
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
	// Warnings say what the configuration leaves unchecked (no health
	// checks, no monitor, no deployer).
	Warnings []string `json:"warnings,omitempty"`
	// Preflight is every pre-flight check the plan ran, passed or failed,
	// in step order (none when the pre-flight did not run: a gate-less
	// plan with nothing to release, say).
	Preflight []PreflightCheck `json:"preflight,omitempty"`

	// What RunPlan needs to run this plan without deciding again.
	made      bool
	decision  Release
	decideErr error
	resumes   *Result
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

// actionsFor lists the side effects of step s for the release: the
// implementation's own list when it is an ActionPlanner and the step asks
// it, else the step's one generic action.
func (e *execution) actionsFor(ctx context.Context, s stepSpec) ([]Action, error) {
	if ap, ok := s.impl.(ActionPlanner); ok && s.ownActions {
		acts, err := ap.PlanActions(ctx, e.res.Release)
		if err != nil {
			return nil, fmt.Errorf("planning step %s: %w", s.name, err)
		}
		for i := range acts {
			acts[i].Step = s.name
		}
		return acts, nil
	}
	if s.action == nil {
		return nil, nil
	}
	a := s.action(e, describe(s.impl))
	a.Step = s.name
	return []Action{a}, nil
}

// Plan returns every side effect Run would make, without making any: it
// walks the same table of steps as Run. The gates and the version decision
// are evaluated (they only read). When a gate blocks, Plan still lists what
// Run would do once the gates pass, and returns the *GateBlockedError with
// the plan. RunPlan runs the plan as it is.
func (p *Pipeline) Plan(ctx context.Context) (*Plan, error) {
	e := p.newExecution()
	e.plan = &Plan{Release: p.Release, made: true, Warnings: p.configWarnings()}
	e.walk(ctx)
	return e.plan, errors.Join(e.errs...)
}
