package shipprod

import (
	"context"
	"errors"
)

// Reporters returns a Reporter that has each of rs write its report, in
// order: the ship report and the Spec-Flow state file, say. It writes them
// all even when one fails, returns every path written and the errors
// joined, and lists every one's actions in a plan.
func Reporters(rs ...Reporter) Reporter { return reporters(rs) }

type reporters []Reporter

func (rs reporters) WriteReport(ctx context.Context, res Result) ([]string, error) {
	var (
		paths []string
		errs  []error
	)
	for _, r := range rs {
		p, err := r.WriteReport(ctx, res)
		paths = append(paths, p...)
		if err != nil {
			errs = append(errs, err)
		}
	}
	return paths, errors.Join(errs...)
}

// PlanActions lists the actions of every Reporter (one generic action for
// a Reporter that does not list its own).
func (rs reporters) PlanActions(ctx context.Context, rel Release) ([]Action, error) {
	var out []Action
	for _, r := range rs {
		if ap, ok := r.(ActionPlanner); ok {
			acts, err := ap.PlanActions(ctx, rel)
			if err != nil {
				return nil, err
			}
			out = append(out, acts...)
			continue
		}
		out = append(out, reportAction(nil, describe(r)))
	}
	return out, nil
}

// Preflight asks every Reporter that has a pre-flight check.
func (rs reporters) Preflight(ctx context.Context, rel Release) error {
	var errs []error
	for _, r := range rs {
		if pf, ok := r.(Preflighter); ok {
			errs = append(errs, pf.Preflight(ctx, rel))
		}
	}
	return errors.Join(errs...)
}

func (rs reporters) String() string {
	s := ""
	for i, r := range rs {
		if i > 0 {
			s += " and "
		}
		s += describe(r)
	}
	return s
}
