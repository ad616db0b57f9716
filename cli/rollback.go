package cli

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/shipprod/shipprod"
	"github.com/shipprod/shipprod/internal/git"
)

// rollbackOptions are the flags of the rollback command.
type rollbackOptions struct {
	to     string
	reason string
}

func (inv *invocation) rollbackCommand() *cobra.Command {
	var ro rollbackOptions
	c := &cobra.Command{
		Use:   "rollback",
		Short: "Roll production back to an earlier release and check its health",
		Long: `Rollback returns production to an earlier release with the deployer's own
rollback, checks the restored release with the health checks, and records it
in the ship report, the Spec-Flow state file and the journal, so that status
and the next ship know. It shows what it will do and asks, unless --yes.

What production runs is what the deployer says (when it can tell), else what
the last run deployed. The release restored is --to, else what production ran
before the last deploy, else the release tag before the one production runs.
It holds the repository's lock, so it cannot race a ship. A deployer that
cannot roll back gets the manual procedure printed instead (exit code 1).`,
		Example: `  shipprod rollback                         # show what it will do, ask, roll back
  shipprod rollback --yes --reason "checkout errors up 3x"
  shipprod rollback --to v1.2.0 --yes       # restore a release of your choice
  shipprod rollback --yes --json | jq .outcome`,
		Args: noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			return inv.rollback(c.Context(), ro)
		},
	}
	c.Flags().StringVar(&ro.to, "to", "", "the release tag to restore (default: what production ran before the last deploy)")
	c.Flags().BoolVarP(&inv.opts.yes, "yes", "y", false, "roll back without asking for confirmation")
	c.Flags().StringVar(&ro.reason, "reason", "", "why, for the report, the state file and the notification")
	return c
}

// rollbackRun is one rollback: what it undoes, what it restores and why.
type rollbackRun struct {
	inv    *invocation
	s      *setup
	last   *shipprod.Result
	cur    *running
	target shipprod.Release
	// why says where the target comes from, for people.
	why    string
	reason string
	json   *jsonLines
}

// rollback rolls production back through Pipeline.Rollback.
func (inv *invocation) rollback(ctx context.Context, ro rollbackOptions) error {
	o := inv.opts
	if o.json && !o.yes {
		return usageErrorf("--json needs --yes: there is no one to ask for confirmation")
	}
	s, err := open(ctx, o, inv.logger())
	if err != nil {
		return err
	}
	p := s.pipeline
	if p.Deployer == nil {
		return usageErrorf("deploy.provider is %s: nothing is deployed, so there is nothing to roll back", NoDeployer)
	}
	lk, err := lockRepository(ctx, o.dir, inv.app.name()+" rollback")
	if err != nil {
		return err
	}
	defer lk.Release()
	r := &rollbackRun{inv: inv, s: s, reason: "rolled back by hand with " + inv.app.name() + " rollback"}
	if ro.reason != "" {
		r.reason += ": " + ro.reason
	}
	if o.json {
		r.json = &jsonLines{w: inv.stdout}
	}
	if err := r.decide(ctx, ro.to); err != nil {
		return err
	}
	if !o.yes {
		r.describe(inv.stdout)
		if !confirm(inv.stdin, inv.stdout, fmt.Sprintf("Roll production back to %s?", releaseName(r.target))) {
			return usageErrorf("not confirmed, nothing was changed (pass --yes to roll back without asking)")
		}
		fmt.Fprintln(inv.stdout)
	}
	lk.Doing(string(shipprod.StepRollback) + ": " + r.title())
	return r.run(ctx)
}

// decide works out what production runs and what to restore. A deployer
// that cannot roll back ends it with the manual procedure.
func (r *rollbackRun) decide(ctx context.Context, to string) error {
	o, p := r.inv.opts, r.s.pipeline
	var (
		target *shipprod.Release
		err    error
	)
	if to != "" {
		if target, err = resolveReleaseTag(ctx, o.dir, tagPrefix(r.s.cfg), to); err != nil {
			return err
		}
	}
	if r.last, err = lastRun(ctx, p.Journal); err != nil {
		return err
	}
	cur, curErr := productionNow(ctx, p.Deployer, r.last)
	if !shipprod.CanRollback(p.Deployer) {
		return r.manual(cur)
	}
	if curErr != nil {
		return curErr
	}
	r.cur = cur
	if target != nil {
		r.target, r.why = *target, "as asked (--to)"
	} else if r.target, r.why, err = defaultTarget(ctx, o.dir, tagPrefix(r.s.cfg), cur, r.last); err != nil {
		return err
	}
	if sameRelease(r.target, cur.Release) {
		return usageErrorf("production already runs %s (%s): nothing to roll back; name the release to restore with --to", releaseName(r.target), r.why)
	}
	return nil
}

// manual prints the manual procedure of a deployer that cannot roll back,
// and fails.
func (r *rollbackRun) manual(cur *running) error {
	deployer := describeImpl(r.s.pipeline.Deployer)
	var steps []string
	if cur != nil {
		steps = cur.Deployment.RollbackSteps
	}
	if len(steps) == 0 && r.last != nil && r.last.Deployment != nil {
		steps = r.last.Deployment.RollbackSteps
	}
	err := fmt.Errorf("deployer %s: %w: roll production back by hand", deployer, shipprod.ErrCannotRollback)
	if len(steps) == 0 {
		err = fmt.Errorf("%w (no manual procedure is recorded: use the platform's own rollback)", err)
	} else {
		err = fmt.Errorf("%w (the steps above)", err)
	}
	if r.json != nil {
		out := JSONRollbackRun{Outcome: "manual", From: encodeProduction(cur), Reports: []string{}, ManualSteps: list(steps),
			Warnings: []string{}, Error: err.Error()}
		return errors.Join(err, r.json.write(SchemaRollback, out))
	}
	w := r.inv.stdout
	if cur != nil {
		fmt.Fprintf(w, "Production runs %s, as the %s says.\n", describeRunning(cur), cur.Source)
	}
	fmt.Fprintf(w, "The deployer (%s) cannot roll back on its own.\n", deployer)
	if len(steps) > 0 {
		fmt.Fprintln(w, "To roll production back by hand:")
		for i, s := range steps {
			fmt.Fprintf(w, "  %d. %s\n", i+1, s)
		}
		fmt.Fprintf(w, "  %d. Run the health checks again and watch error rates until they are back to normal.\n", len(steps)+1)
	}
	return err
}

// describe says what the rollback will do, before asking.
func (r *rollbackRun) describe(w io.Writer) {
	p := r.s.pipeline
	fmt.Fprintf(w, "Production runs %s, as the %s says.\n", describeRunning(r.cur), r.cur.Source)
	fmt.Fprintf(w, "Rollback: restore %s%s, %s,\n", releaseName(r.target), commitNote(r.target), r.why)
	fmt.Fprintf(w, "          with %s", describeImpl(p.Deployer))
	if p.Health != nil {
		fmt.Fprintf(w, ", then run the health checks of %s", releaseName(r.target))
	}
	fmt.Fprintln(w, ";")
	fmt.Fprintln(w, "          then write the ship report, the state file and the journal.")
	if p.Health == nil {
		fmt.Fprintln(w, "⚠️  No health checks are configured: nothing will check the restored release.")
	}
	fmt.Fprintf(w, "Reason:   %s\n\n", r.reason)
}

func commitNote(rel shipprod.Release) string {
	if rel.Commit == "" || rel.Tag == "" {
		return ""
	}
	return " (commit " + git.ShortSHA(rel.Commit) + ")"
}

func (r *rollbackRun) title() string { return "Rolling back to " + releaseName(r.target) }

// run rolls back, records the rollback when it changed production, and
// prints the outcome.
func (r *rollbackRun) run(ctx context.Context) error {
	p := r.s.pipeline
	clock := shipprod.SystemClock()
	if !r.inv.opts.json {
		fmt.Fprintf(r.inv.stdout, "%s... ", r.title())
	}
	start := clock.Now()
	report, err := p.Rollback(ctx, r.cur.Deployment, r.target, r.reason)
	res := r.result(report, err, start, clock.Now())
	var warnings []string
	if report != nil && report.Restored.ID != "" {
		// Production changed: say so everywhere, even if interrupted.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), recordTimeout)
		warnings = r.record(rctx, &res)
		cancel()
	}
	if r.json != nil {
		return errors.Join(err, r.json.write(SchemaRollback, encodeRollbackRun(r, &res, warnings)))
	}
	r.print(&res, err, warnings)
	return err
}

// recordTimeout bounds the writing of the report, the state file, the
// notification and the journal after a rollback.
const recordTimeout = 30 * time.Second

// result is the run a rollback records: the last run's release when
// production ran it, rolled back.
func (r *rollbackRun) result(report *shipprod.RollbackReport, err error, start, end time.Time) shipprod.Result {
	var res shipprod.Result
	if r.last != nil && r.cur.FromLastRun {
		res = *r.last
		res.Steps = slices.Clone(r.last.Steps)
	} else {
		res.Release = r.cur.Release
		if r.last != nil {
			res.RolledBackBuilds = r.last.RolledBackBuilds
		}
	}
	dep := r.cur.Deployment
	res.Outcome, res.StartedAt, res.FinishedAt = shipprod.OutcomeRolledBack, start, end
	res.Deployment, res.Rollback = &dep, report
	res.ResumedFrom, res.Accepted, res.Unhealthy = time.Time{}, nil, ""
	res.NotVerified, res.Warnings, res.Reports, res.Error = nil, nil, nil, ""
	step := shipprod.StepRecord{Step: shipprod.StepRollback, Title: r.title(), Status: shipprod.StepDone,
		StartedAt: start, Duration: end.Sub(start), Actions: []shipprod.Action{{Step: shipprod.StepRollback,
			Kind: shipprod.ActionRollback, Target: describeImpl(r.s.pipeline.Deployer),
			Description: fmt.Sprintf("roll production back to %s with %s and check its health", releaseName(r.target), describeImpl(r.s.pipeline.Deployer))}}}
	if err != nil {
		step.Status, step.Error, res.Error = shipprod.StepFailed, err.Error(), err.Error()
		if report == nil || report.Restored.ID == "" {
			res.Outcome = shipprod.OutcomeFailed
		}
	}
	res.Steps = append(res.Steps, step)
	if res.Outcome == shipprod.OutcomeRolledBack && !slices.ContainsFunc(res.RolledBackBuilds, func(d shipprod.Deployment) bool { return sameDeployment(d, dep) }) {
		res.RolledBackBuilds = append(slices.Clone(res.RolledBackBuilds), dep)
	}
	return res
}

// record writes the report and the state file (the Pipeline's Reporter),
// notifies, and journals the rollback. What fails is a warning: production
// was rolled back all the same.
func (r *rollbackRun) record(ctx context.Context, res *shipprod.Result) []string {
	p := r.s.pipeline
	var warnings []string
	if p.Reporter != nil {
		paths, err := p.Reporter.WriteReport(ctx, *res)
		res.Reports = paths
		if err != nil {
			warnings = append(warnings, "report: "+err.Error())
		}
	}
	if p.Notifier != nil {
		if err := p.Notifier.Notify(ctx, *res); err != nil {
			warnings = append(warnings, "notify: "+err.Error())
		}
	}
	if p.Journal != nil {
		if err := p.Journal.Save(ctx, res); err != nil {
			warnings = append(warnings, "journal: "+err.Error()+" (status and the next ship will not know of this rollback)")
		}
	}
	res.Warnings = warnings
	return warnings
}

// print ends the rollback's line and says how it ended.
func (r *rollbackRun) print(res *shipprod.Result, err error, warnings []string) {
	w := r.inv.stdout
	rb := res.Rollback
	restored := rb != nil && rb.Restored.ID != ""
	if restored {
		fmt.Fprintf(w, "✅ (%s)\n", tookText(res.FinishedAt.Sub(res.StartedAt)))
	} else {
		fmt.Fprintf(w, "❌\n%s\n", indent(err.Error(), "   "))
	}
	switch {
	case restored && rb.Health != nil:
		fmt.Fprintf(w, "   Health of %s: %s\n", releaseName(r.target), healthSummary(*rb.Health))
	case restored && err != nil:
		fmt.Fprintf(w, "%s\n", indent(err.Error(), "   "))
	}
	fmt.Fprintln(w)
	switch {
	case restored && err == nil:
		fmt.Fprintf(w, "↩️  Production was rolled back from %s to %s (%s deployment %s)\n",
			releaseName(r.cur.Release), releaseName(r.target), rb.Restored.Provider, shortID(rb.Restored.ID))
	case restored:
		fmt.Fprintf(w, "❌ Production runs %s again, but it could not be verified healthy (above)\n", releaseName(r.target))
	default:
		fmt.Fprintf(w, "❌ The rollback failed; production still runs %s\n", releaseName(r.cur.Release))
		for i, s := range r.cur.Deployment.RollbackSteps {
			if i == 0 {
				fmt.Fprintln(w, "   To roll back by hand:")
			}
			fmt.Fprintf(w, "   %d. %s\n", i+1, s)
		}
	}
	if restored && rb.Health == nil && err == nil {
		fmt.Fprintf(w, "⚠️  %s was not health-checked: no health checks are configured\n", releaseName(r.target))
	}
	for _, n := range rbNotes(rb) {
		fmt.Fprintf(w, "   %s\n", n)
	}
	for _, warn := range warnings {
		fmt.Fprintf(w, "⚠️  %s\n", warn)
	}
	for _, path := range res.Reports {
		fmt.Fprintf(w, "   Report: %s\n", path)
	}
}

// tookText rounds a duration for people: milliseconds under a second.
func tookText(d time.Duration) string {
	if d < time.Second {
		return d.Round(time.Millisecond).String()
	}
	return d.Round(100 * time.Millisecond).String()
}

func rbNotes(rb *shipprod.RollbackReport) []string {
	if rb == nil {
		return nil
	}
	return rb.Notes
}

// healthSummary says how a round of health checks went, e.g.
// "2 checks passed" or "1 of 2 checks failed: api (503)".
func healthSummary(h shipprod.HealthReport) string {
	failed := h.Failed()
	if len(failed) == 0 {
		return fmt.Sprintf("%d checks passed", len(h.Checks))
	}
	names := make([]string, len(failed))
	for i, c := range failed {
		names[i] = c.Name + " (" + oneLine(cmp.Or(c.Error, c.Message, string(c.Status))) + ")"
	}
	return fmt.Sprintf("%d of %d checks failed: %s", len(failed), len(h.Checks), strings.Join(names, ", "))
}

// describeImpl names a step implementation for people: its String method,
// else its type.
func describeImpl(v any) string {
	if s, ok := v.(fmt.Stringer); ok {
		return s.String()
	}
	return fmt.Sprintf("%T", v)
}

// sameRelease reports whether a and b are the same release: the same
// commit, or (when a commit is unknown) the same tag or version.
func sameRelease(a, b shipprod.Release) bool {
	if a.Commit != "" && b.Commit != "" {
		return a.Commit == b.Commit
	}
	if a.Tag != "" && b.Tag != "" {
		return a.Tag == b.Tag
	}
	return a.Version != "" && a.Version == b.Version
}
