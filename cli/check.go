package cli

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/shipprod/shipprod"
)

func (inv *invocation) checkCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "check",
		Short: "Validate shipprod.yaml and run the pre-flight; change nothing",
		Long: `Check reads shipprod.yaml strictly, builds every step from it, reads the
release gates, decides the version and asks every step whether it can do its
part (credentials, permissions, remotes, workflows, the build to promote), as
ship does before its first change. It changes nothing. It lists each check
and what the configuration leaves unchecked (no health checks, no monitor).

Exit codes: 0 when everything passes, 2 for a mistake in the configuration
or a failed pre-flight check, 3 when a release gate blocks, 1 for anything
else that would stop ship (uncommitted changes, say).`,
		Example: `  shipprod check
  shipprod check --config ci/shipprod.yaml
  shipprod check --json | jq '.preflight[] | select(.passed | not)'`,
		Args: noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			return inv.check(c.Context())
		},
	}
}

// checkFailed is check's error: the plan's error, which decides the exit
// code, said in one line (the checks themselves are printed).
type checkFailed struct{ err error }

func (e *checkFailed) Error() string {
	switch {
	case is[*shipprod.PreflightError](e.err):
		return "check: the pre-flight failed (see above); nothing was changed"
	case is[*shipprod.GateBlockedError](e.err):
		return "check: a release gate blocks the release (see above); nothing was changed"
	}
	return "check: " + e.err.Error()
}

func (e *checkFailed) Unwrap() error { return e.err }

// check validates the configuration and runs the pre-flight through
// Pipeline.Plan.
func (inv *invocation) check(ctx context.Context) error {
	o := inv.opts
	out := JSONCheckReport{Config: o.configPath(), Gates: encodeGates(shipprod.GateReport{}), Preflight: []JSONPreflightCheck{},
		Warnings: []string{}, Errors: []string{}}
	s, err := open(ctx, o, inv.logger())
	if err != nil {
		if o.json && isUsage(err) {
			out.ConfigError = err.Error()
			return errors.Join(err, (&jsonLines{w: inv.stdout}).write(SchemaCheck, out))
		}
		return err
	}
	plan, planErr := s.pipeline.Plan(ctx)
	if plan == nil {
		return planErr
	}
	fillCheck(&out, plan, planErr)
	if o.json {
		if err := (&jsonLines{w: inv.stdout}).write(SchemaCheck, out); err != nil {
			return err
		}
	} else {
		printCheck(inv.stdout, out, inv.app.name())
	}
	if planErr != nil {
		return &checkFailed{planErr}
	}
	return nil
}

func fillCheck(out *JSONCheckReport, plan *shipprod.Plan, planErr error) {
	out.Gates = encodeGates(plan.Gates)
	rel := plan.Release
	if rel.Bump == shipprod.BumpNone {
		out.NothingToRelease = true
	} else if rel.Version != "" || rel.Tag != "" {
		r := encodeRelease(rel)
		out.Release = &r
	}
	for _, c := range plan.Preflight {
		out.Preflight = append(out.Preflight, JSONPreflightCheck{Step: string(c.Step), Impl: c.Impl, Passed: c.Error == "", Error: c.Error})
	}
	out.Warnings = append(out.Warnings, plan.Warnings...)
	if plan.Note != "" {
		out.Warnings = append(out.Warnings, plan.Note)
	}
	if planErr != nil {
		for _, e := range flatten(planErr) {
			if !is[*shipprod.PreflightError](e) && !is[*shipprod.GateBlockedError](e) {
				out.Errors = append(out.Errors, e.Error())
			}
		}
	}
	out.OK = planErr == nil
}

// flatten lists the errors errors.Join joined.
func flatten(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok && !is[*shipprod.PreflightError](err) {
		return j.Unwrap()
	}
	return []error{err}
}

// printCheck writes the check for people.
func printCheck(w io.Writer, c JSONCheckReport, name string) {
	fmt.Fprintf(w, "Configuration %s: ✅ valid\n", c.Config)
	if c.Gates.Source != "" || len(c.Gates.Gates) > 0 {
		fmt.Fprintf(w, "Release gates (%s):\n", c.Gates.Source)
		for _, g := range c.Gates.Gates {
			fmt.Fprintf(w, "  %s %s%s\n", gateMark(g), g.Name, gateDetail(g))
		}
	}
	switch {
	case c.Release != nil:
		fmt.Fprintf(w, "Release: %s", releaseName(shipprod.Release{Version: c.Release.Version, Tag: c.Release.Tag}))
		if c.Release.PreviousTag != "" {
			fmt.Fprintf(w, " (from %s)", c.Release.PreviousTag)
		}
		fmt.Fprintln(w)
	case c.NothingToRelease:
		fmt.Fprintln(w, "Release: nothing to release; the pre-flight checks a release, so it did not run")
	}
	if len(c.Preflight) > 0 {
		fmt.Fprintln(w, "Pre-flight:")
	}
	for _, p := range c.Preflight {
		if p.Passed {
			fmt.Fprintf(w, "  ✅ %s: %s\n", p.Step, p.Impl)
		} else {
			fmt.Fprintf(w, "  ❌ %s: %s\n%s\n", p.Step, p.Impl, indent(p.Error, "     "))
		}
	}
	for _, e := range c.Errors {
		fmt.Fprintf(w, "❌ %s\n", oneLine(e))
	}
	for _, warn := range c.Warnings {
		fmt.Fprintf(w, "⚠️  %s\n", warn)
	}
	switch {
	case c.OK && c.NothingToRelease:
		fmt.Fprintf(w, "\n✅ The configuration is valid; there is nothing to release now.\n")
	case c.OK:
		fmt.Fprintf(w, "\n✅ Every check passed: %s ship can run.\n", name)
	}
}

func gateMark(g JSONGate) string {
	switch {
	case g.Passed:
		return "✅"
	case g.Advisory:
		return "⚠️ "
	}
	return "❌"
}

func gateDetail(g JSONGate) string {
	if g.Passed {
		return ""
	}
	s := fmt.Sprintf(": %q, want %q", g.Found, g.Required)
	if g.Hint != "" {
		s += " (" + g.Hint + ")"
	}
	return s
}
