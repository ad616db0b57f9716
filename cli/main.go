// Package cli is shipprod's command line as a library: loading and
// validating shipprod.yaml, building the Pipeline from it, every command
// (ship, plan, check, version, rollback, status, init, demo, completion)
// and the renderers for people, for programs (--json) and for GitHub
// Actions. The reference binary, examples/shipprod, is a few lines around
// Main; a team's own binary is the same few lines plus a blank import of
// its deployer packages, which register themselves with provider.Register:
//
//	package main
//
//	import (
//		"os"
//
//		"github.com/shipprod/shipprod/cli"
//		_ "example.com/acme/release/k8sdeployer" // deploy.provider: k8s
//	)
//
//	func main() { os.Exit(cli.Main()) }
//
// Exit codes (see the README's "When a release fails"):
//
//	0   shipped and verified, released without a deploy, or nothing to release
//	1   failed (a step's error; the report says which)
//	2   usage or configuration error, or the pre-flight found a step that cannot do its part; nothing was changed
//	3   blocked by a release gate; nothing was changed
//	4   production unhealthy after the deploy; rolled back or left, per on_failure
//	5   shipped but not verified (no health check or monitor, or the monitor could not judge); --accept-unverified makes it 0
//	130 interrupted by a signal; the journal holds where it stopped and the next ship resumes it
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/shipprod/shipprod"
	"github.com/shipprod/shipprod/internal/git"
	"github.com/shipprod/shipprod/version"

	// The built-in deployers, by the names deploy.provider takes.
	_ "github.com/shipprod/shipprod/provider/githubactions"
	_ "github.com/shipprod/shipprod/provider/gitpush"
	_ "github.com/shipprod/shipprod/provider/vercel"
)

// Exit codes.
const (
	ExitOK          = 0
	ExitFailed      = 1
	ExitUsage       = 2
	ExitBlocked     = 3
	ExitUnhealthy   = 4
	ExitNotVerified = 5
	ExitInterrupted = 130
)

// App is a shipprod command line. The zero value is the reference CLI on
// the process's standard streams and environment.
type App struct {
	// Name is the program's name in help and messages (default "shipprod").
	Name string
	// Version is what --version prints (default: the main module's version
	// from the build information).
	Version string
	// Stdin, Stdout and Stderr default to the process's.
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	// Getenv reads the environment (default os.Getenv).
	Getenv func(string) string
	// Configure, when set, is called with every Pipeline built from
	// shipprod.yaml before it is used: to add a step, wrap the deployer,
	// set a Notifier of one's own.
	Configure func(*shipprod.Pipeline, *Config) error
}

// Main runs the reference command line with the process's arguments and
// returns its exit code. The first SIGINT or SIGTERM stops the current step
// at a safe point (the journal and the report are written, and the output
// says how to resume); a second one exits at once.
func Main() int {
	return (&App{}).Main()
}

// Main is the package-level Main for a with its settings.
func (a *App) Main() int {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	signals := make(chan os.Signal, 2)
	signal.Notify(signals, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(signals)
	go func() {
		sig, ok := <-signals
		if !ok {
			return
		}
		fmt.Fprintf(a.stderr(), "\n%s: %s received: stopping at a safe point (again to exit at once)\n", a.name(), sig)
		cancel()
		<-signals
		fmt.Fprintf(a.stderr(), "%s: second signal: exiting now; the journal holds where the run was\n", a.name())
		os.Exit(ExitInterrupted)
	}()
	return a.Run(ctx, os.Args[1:])
}

// Run runs the command line with args (without the program's name) and
// returns the exit code.
func (a *App) Run(ctx context.Context, args []string) int {
	inv := a.invocation()
	cmd := a.command(inv)
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(ctx)
	if err != nil && !isUsage(err) && strings.HasPrefix(err.Error(), "unknown command ") {
		err = &usageError{fmt.Errorf("%w (see %s --help)", err, a.name())}
	}
	return exitCode(ctx, err, inv)
}

// Command returns the root command, for programs that embed it in a
// command line of their own.
func (a *App) Command() *cobra.Command { return a.command(a.invocation()) }

func (a *App) name() string {
	if a.Name != "" {
		return a.Name
	}
	return "shipprod"
}

func (a *App) version() string {
	if a.Version != "" {
		return a.Version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "(devel)"
}

func (a *App) stderr() io.Writer {
	if a.Stderr != nil {
		return a.Stderr
	}
	return os.Stderr
}

// invocation is one run of the command line: its streams, environment and
// flags.
type invocation struct {
	app            *App
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
	opts           options
	// tty and width describe stdout when it is a terminal.
	tty   bool
	width int
	// outGuard and errGuard guard stdout and stderr inside GitHub Actions.
	outGuard, errGuard *commandGuard
	// out is made once the flags are parsed (output).
	out *output
}

func (a *App) invocation() *invocation {
	inv := &invocation{app: a, stdin: a.Stdin, stdout: a.Stdout, stderr: a.stderr(), getenv: a.Getenv}
	inv.opts.configure = a.Configure
	if inv.stdin == nil {
		inv.stdin = os.Stdin
	}
	if inv.stdout == nil {
		inv.stdout = os.Stdout
	}
	if inv.getenv == nil {
		inv.getenv = os.Getenv
	}
	inv.tty, inv.width = terminal(inv.stdout)
	// Whatever the CLI prints has credentials in URLs masked: a remote
	// configured as https://user:token@host/… shows as https://***@host/….
	inv.stdout, inv.stderr = maskingWriter{inv.stdout}, maskingWriter{inv.stderr}
	inv.guardStreams()
	return inv
}

// options are the flags shared by the commands.
type options struct {
	config    string
	configSet bool
	dir       string
	yes       bool
	json      bool
	keep      bool
	fresh     bool
	// acceptUnverified makes a live but unverified release exit 0.
	acceptUnverified bool
	// allowRolledBack lets the deployer promote a build rolled back before.
	allowRolledBack bool
	verbose         bool
	noColor         bool
	// out is where the command's results go (set once the flags are parsed).
	out *output
	// configure is App.Configure.
	configure func(*shipprod.Pipeline, *Config) error
}

func (inv *invocation) logger() *slog.Logger {
	level := slog.LevelError
	if inv.opts.verbose {
		level = slog.LevelDebug
	}
	// Log lines go through the console, which takes the live progress line
	// out of their way.
	return slog.New(slog.NewTextHandler(inv.output().console.logWriter(inv.stderr), &slog.HandlerOptions{Level: level}))
}

// maskingWriter masks credentials in URLs in everything written through it.
// Each Write is masked on its own; the CLI writes whole lines.
type maskingWriter struct{ w io.Writer }

func (m maskingWriter) Write(p []byte) (int, error) {
	if _, err := io.WriteString(m.w, git.MaskURL(string(p))); err != nil {
		return 0, err
	}
	return len(p), nil
}

// usageError is a mistake in the command line or the configuration.
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

func usageErrorf(format string, args ...any) error {
	return &usageError{fmt.Errorf(format, args...)}
}

// exitCode maps an error to the documented exit codes and prints it; the
// output says it too in --json mode and inside GitHub Actions.
func exitCode(ctx context.Context, err error, inv *invocation) int {
	code := codeOf(ctx, err)
	if err != nil {
		// Errors go to stderr in --json mode too.
		fmt.Fprintf(inv.stderr, "%s: %v\n", inv.app.name(), err)
	}
	inv.output().finish(code, err)
	return code
}

// codeOf maps an error to the documented exit codes.
func codeOf(ctx context.Context, err error) int {
	if err == nil {
		return ExitOK
	}
	code := ExitFailed
	switch {
	case isUsage(err):
		code = ExitUsage
	case is[*shipprod.GateBlockedError](err):
		code = ExitBlocked
	case is[*shipprod.HealthCheckError](err), is[*shipprod.MonitorError](err), is[*shipprod.ResumedUnhealthyError](err):
		code = ExitUnhealthy
	case ctx.Err() != nil && errors.Is(err, ctx.Err()):
		code = ExitInterrupted
	case is[*shipprod.NotVerifiedError](err):
		code = ExitNotVerified
	}
	return code
}

func isUsage(err error) bool {
	return is[*usageError](err) || is[*shipprod.PreflightError](err) || is[*version.BumpTooLowError](err)
}

func is[E error](err error) bool {
	_, ok := errors.AsType[E](err)
	return ok
}

// root builds the command tree.
func (a *App) command(inv *invocation) *cobra.Command {
	root := &cobra.Command{
		Use:   a.name(),
		Short: "Promote a validated staging build to production",
		Long: a.name() + ` promotes a validated staging build to production: it verifies the release
gates, checks that every step can do its part, bumps the version, tags and
publishes the release, deploys it, checks its health, writes the ship report
and watches production, rolling back on its own when it degrades.`,
		Version:       a.version(),
		SilenceErrors: true,
		SilenceUsage:  true,
	}
	root.SetIn(inv.stdin)
	root.SetOut(inv.stdout)
	root.SetErr(inv.stderr)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return &usageError{fmt.Errorf("%w (see %s --help)", err, c.CommandPath())}
	})
	f := root.PersistentFlags()
	f.StringVarP(&inv.opts.config, "config", "c", "shipprod.yaml", "configuration file (relative to --dir)")
	f.StringVarP(&inv.opts.dir, "dir", "C", ".", "project root")
	f.BoolVar(&inv.opts.json, "json", false, "print JSON Lines (events, then the result) instead of text")
	f.BoolVar(&inv.opts.verbose, "verbose", false, "log diagnostics to stderr")
	f.BoolVar(&inv.opts.noColor, "no-color", false, "no colour on a terminal (as NO_COLOR=1 does)")
	root.PersistentPreRun = func(c *cobra.Command, _ []string) {
		inv.opts.configSet = c.Flags().Changed("config")
		inv.output()
	}
	root.AddCommand(inv.shipCommand(), inv.planCommand(), inv.versionCommand(), inv.demoCommand(), inv.rollbackCommand(),
		inv.statusCommand(), inv.checkCommand(), inv.initCommand())
	return root
}

// noArgs refuses arguments: the commands take flags only.
func noArgs(c *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usageErrorf("%s: unexpected argument %q (see %s --help)", c.CommandPath(), args[0], c.CommandPath())
	}
	return nil
}
