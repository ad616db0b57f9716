package cli

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/shipprod/shipprod"
	"github.com/shipprod/shipprod/version"
)

func (inv *invocation) shipCommand() *cobra.Command {
	c := &cobra.Command{
		Use:   "ship",
		Short: "Ship the next release to production: the whole pipeline",
		Long: `Ship decides the next version, shows the plan and asks (unless --yes), then
verifies the gates, runs the pre-flight, bumps, tags, publishes, deploys, checks
health, writes the report and watches production. A run that failed after
making its release is resumed by the next ship; --fresh starts over.`,
		Example: `  shipprod ship                 # show the plan, ask, then ship
  shipprod ship --yes           # ship without asking (CI)
  shipprod ship --yes --json    # JSON Lines for programs
  shipprod ship --fresh         # do not resume the last failed run`,
		Args: noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			return ship(c.Context(), inv.opts, inv.stdin, inv.stdout, inv.stderr, inv.logger())
		},
	}
	c.Flags().BoolVarP(&inv.opts.yes, "yes", "y", false, "ship without asking for confirmation")
	c.Flags().BoolVar(&inv.opts.fresh, "fresh", false, "do not resume a failed run from the journal: start over")
	c.Flags().BoolVar(&inv.opts.acceptUnverified, "accept-unverified", false, "exit 0 when the release is live but nothing verified it (it is still reported as not verified)")
	c.Flags().BoolVar(&inv.opts.allowRolledBack, "allow-rolled-back", false, "let the deployer promote a build an earlier run rolled back as unhealthy")
	return c
}

func (inv *invocation) planCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "plan",
		Short: "List every side effect ship would make; change nothing",
		Long: `Plan decides the version, checks the gates and runs the pre-flight, then lists
every action ship would take, in order, without taking any.`,
		Example: `  shipprod plan
  shipprod plan --json | jq '.plan.steps[].actions[].description'`,
		Args: noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			return plan(c.Context(), inv.opts, inv.stdout, inv.logger())
		},
	}
}

func (inv *invocation) versionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Show the current and the next version, and why",
		Long: `Version reads the tags, the version files, the commits since the last release
and the CHANGELOG's Unreleased section, and says which version ship would make
and why. It needs no shipprod.yaml.`,
		Example: `  shipprod version
  shipprod version --json | jq -r .next`,
		Args: noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			return versionCmd(c.Context(), inv.opts, inv.stdout, inv.logger())
		},
	}
}

func (inv *invocation) demoCommand() *cobra.Command {
	c := &cobra.Command{
		Use:   "demo",
		Short: "Ship a throw-away local project to a local production, end to end",
		Long: `Demo builds a git project with an approved Spec-Flow state file, a local bare
remote and a loopback HTTP server that serves the remote's production branch,
then ships it there with the git-push deployer. It needs nothing but git.`,
		Example: `  shipprod demo
  shipprod demo --keep=false`,
		Args: noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			return demo(c.Context(), inv.opts, inv.stdout, inv.stderr, inv.logger())
		},
	}
	c.Flags().BoolVar(&inv.opts.keep, "keep", true, "keep the demo project after the run, to read its report")
	return c
}

// configPath returns the configuration file's path.
func (o options) configPath() string {
	if filepath.IsAbs(o.config) {
		return o.config
	}
	return filepath.Join(o.dir, o.config)
}

// open loads the configuration, which must exist, and builds the pipeline.
func open(ctx context.Context, o options, logger *slog.Logger) (*setup, error) {
	path := o.configPath()
	cfg, err := loadConfig(path)
	if err != nil {
		return nil, err
	}
	if cfg == nil {
		return nil, usageErrorf("no %s found: write one (see the README) or name it with --config", path)
	}
	s, err := build(ctx, o.dir, path, cfg, logger)
	if err != nil {
		return nil, err
	}
	if o.configure != nil {
		if err := o.configure(s.pipeline, cfg); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// ship runs the whole pipeline.
func ship(ctx context.Context, o options, stdin io.Reader, stdout, stderr io.Writer, logger *slog.Logger) error {
	if o.json && !o.yes {
		return usageErrorf("--json needs --yes: there is no one to ask for confirmation")
	}
	// One run at a time: held from the plan to the end of the monitor window.
	l, err := lockRepository(ctx, o.dir, "shipprod ship")
	if err != nil {
		return err
	}
	defer l.Release()
	s, err := open(ctx, o, logger)
	if err != nil {
		return err
	}
	if o.fresh && s.pipeline.Journal != nil {
		s.pipeline.Journal = freshJournal{s.pipeline.Journal}
	}
	s.pipeline.Observer = shipprod.Observers(s.pipeline.Observer, l.Observer())
	s.pipeline.AllowRolledBack = o.allowRolledBack
	err = runPipeline(ctx, s.pipeline, o, stdin, stdout)
	if o.acceptUnverified && onlyNotVerified(ctx, err) {
		return nil // asked for: the output still says "not verified"
	}
	return err
}

// onlyNotVerified reports whether err says the release is live and
// unverified, and nothing worse.
func onlyNotVerified(ctx context.Context, err error) bool {
	return is[*shipprod.NotVerifiedError](err) && ctx.Err() == nil && codeOf(ctx, err) == ExitNotVerified
}

// freshJournal records the run but resumes none (ship --fresh).
type freshJournal struct{ shipprod.Journal }

func (freshJournal) Load(context.Context) (*shipprod.Result, error) { return nil, nil }

// runPipeline confirms (unless --yes), runs p and prints the outcome: the
// events as they come and the summary for people, or the events and the
// result as JSON Lines with --json.
func runPipeline(ctx context.Context, p *shipprod.Pipeline, o options, stdin io.Reader, stdout io.Writer) error {
	out := o.out
	if out == nil {
		out = plainOutput(stdout)
	}
	out.shipCmd = shipCommandLine(out.name, o)
	var confirmed *shipprod.Plan
	if !o.yes {
		if o.json {
			return usageErrorf("--json needs --yes: there is no one to ask for confirmation")
		}
		plan, err := p.Plan(ctx)
		if plan != nil {
			printPlan(stdout, plan)
		}
		if err != nil {
			return err
		}
		if plan.Release.Bump == shipprod.BumpNone {
			return nil
		}
		fmt.Fprintln(stdout)
		if !confirm(stdin, stdout, fmt.Sprintf("Ship %s to production?", plan.Release.Tag)) {
			return usageErrorf("not confirmed, nothing was changed (pass --yes to ship without asking)")
		}
		fmt.Fprintln(stdout)
		confirmed = plan // the plan the user confirmed is the one that runs
	}
	var human *humanObserver
	stopTicking := func() {}
	if o.json {
		p.Observer = shipprod.Observers(p.Observer, newJSONObserver(out.json))
	} else {
		human = &humanObserver{c: out.console, groups: out.gha != nil}
		p.Observer = shipprod.Observers(p.Observer, human)
		stopTicking = human.ticking()
	}
	var (
		res *shipprod.Result
		err error
	)
	if confirmed != nil {
		res, err = p.RunPlan(ctx, confirmed)
	} else {
		res, err = p.Run(ctx)
	}
	stopTicking()
	out.result = res
	if o.json {
		if werr := out.json.write(SchemaResult, encodeResult(res, codeOf(ctx, err))); werr != nil && err == nil {
			return werr
		}
		return err
	}
	human.Flush()
	out.console.line(strings.Join(summaryLines(out.console.style, res, out.shipCmd), "\n"))
	return err
}

// plan prints what ship would do.
func plan(ctx context.Context, o options, stdout io.Writer, logger *slog.Logger) error {
	s, err := open(ctx, o, logger)
	if err != nil {
		return err
	}
	pl, err := s.pipeline.Plan(ctx)
	if o.json {
		// A plan cut short by an error is written as far as it got; the
		// error line follows it.
		if pl != nil {
			if werr := jsonOut(o, stdout).write(SchemaPlan, encodePlan(pl)); werr != nil && err == nil {
				return werr
			}
		}
		return err
	}
	if pl != nil {
		printPlan(stdout, pl)
	}
	return err
}

// versionCmd prints the current and next version and why.
func versionCmd(ctx context.Context, o options, stdout io.Writer, logger *slog.Logger) error {
	path := o.configPath()
	cfg, err := loadConfig(path)
	switch {
	case err != nil:
		return err
	case cfg == nil && o.configSet:
		return usageErrorf("%s does not exist", path)
	case cfg == nil:
		cfg = &Config{} // no configuration: the defaults
	}
	v, err := version.New(cfg.Version, version.Options{Dir: o.dir, Branch: cfg.Git.Branch, Remote: cfg.Git.Remote, Logger: logger})
	if err != nil {
		return &usageError{fmt.Errorf("%s: version: %w", path, err)}
	}
	d, err := v.Decide(ctx)
	if d != nil && d.Refusal != nil {
		// A forced bump below what the changes ask for: show the evidence.
		if o.json {
			_ = jsonOut(o, stdout).write(SchemaVersion, encodeVersion(*d))
		} else {
			_ = d.WriteText(stdout)
		}
		return &usageError{err}
	}
	if err != nil {
		return err
	}
	if o.json {
		return jsonOut(o, stdout).write(SchemaVersion, encodeVersion(*d))
	}
	return d.WriteText(stdout)
}

// jsonOut is where --json lines go.
func jsonOut(o options, stdout io.Writer) *jsonLines {
	if o.out != nil && o.out.json != nil {
		return o.out.json
	}
	return &jsonLines{w: stdout}
}

// confirm asks on stdin; a non-interactive stdin is a refusal.
func confirm(stdin io.Reader, stdout io.Writer, question string) bool {
	if f, ok := stdin.(*os.File); ok {
		if info, err := f.Stat(); err != nil || info.Mode()&os.ModeCharDevice == 0 {
			return false
		}
	}
	fmt.Fprintf(stdout, "%s [y/N] ", question)
	line, _ := bufio.NewReader(stdin).ReadString('\n')
	answer := strings.ToLower(strings.TrimSpace(line))
	return answer == "y" || answer == "yes"
}
