// Command shipprod is the reference command line for the shipprod library:
// it promotes a validated staging build to production as configured in
// shipprod.yaml.
//
// Usage:
//
//	shipprod ship    [--config shipprod.yaml] [--dir .] [--yes] [--fresh] [--json]   run the whole pipeline
//	shipprod plan    [--config shipprod.yaml] [--dir .] [--json]           list every side effect, change nothing
//	shipprod version [--config shipprod.yaml] [--dir .] [--json]           current and next version, and why
//	shipprod demo    [--json] [--keep=false]                               ship a throw-away local project end to end (kept by default)
//
// Exit codes: 0 shipped (or nothing to release); 1 failed; 2 usage or
// configuration error; 3 blocked by a release gate; 4 production unhealthy
// after the deploy (health checks or monitor failed; rolled back or not, as
// the report says).
//
// It is a thin client of the library: everything it does, an importer can do
// with shipprod.Pipeline in a few lines of Go.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/shipprod/shipprod"
	"github.com/shipprod/shipprod/internal/git"
)

// Exit codes.
const (
	exitOK          = 0
	exitFailed      = 1
	exitUsage       = 2
	exitBlocked     = 3
	exitUnhealthy   = 4
	exitNotVerified = 5
)

const usage = `shipprod promotes a validated staging build to production.

Usage:
  shipprod ship    [--config shipprod.yaml] [--dir .] [--yes] [--fresh] [--json]
  shipprod plan    [--config shipprod.yaml] [--dir .] [--json]
  shipprod version [--config shipprod.yaml] [--dir .] [--json]
  shipprod demo    [--json] [--keep=false]

Exit codes: 0 shipped or nothing to release, 1 failed, 2 usage or configuration
error, 3 blocked by a release gate, 4 unhealthy after the deploy.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
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
	verbose   bool
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

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	// Whatever the CLI prints has credentials in URLs masked: a remote
	// configured as https://user:token@host/… shows as https://***@host/….
	stdout, stderr = maskingWriter{stdout}, maskingWriter{stderr}
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprint(stdout, usage)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	cmd := args[0]
	fs := flag.NewFlagSet("shipprod "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	fs.StringVar(&o.config, "config", "shipprod.yaml", "configuration file (relative to --dir)")
	fs.StringVar(&o.dir, "dir", ".", "project root")
	fs.BoolVar(&o.json, "json", false, "print JSON Lines (events, then the result) instead of text")
	fs.BoolVar(&o.verbose, "v", false, "log diagnostics to stderr")
	switch cmd {
	case "ship":
		fs.BoolVar(&o.yes, "yes", false, "ship without asking for confirmation")
		fs.BoolVar(&o.fresh, "fresh", false, "do not resume a failed run from the journal: start over")
	case "demo":
		fs.BoolVar(&o.keep, "keep", true, "keep the demo project after the run, to read its report")
	case "plan", "version":
	default:
		fmt.Fprintf(stderr, "shipprod: unknown command %q\n\n%s", cmd, usage)
		return exitUsage
	}
	if err := fs.Parse(args[1:]); err != nil {
		return exitUsage
	}
	fs.Visit(func(f *flag.Flag) { o.configSet = o.configSet || f.Name == "config" })
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "shipprod %s: unexpected argument %q\n", cmd, fs.Arg(0))
		return exitUsage
	}
	logLevel := slog.LevelWarn
	if o.verbose {
		logLevel = slog.LevelDebug
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: logLevel}))

	var err error
	switch cmd {
	case "ship":
		err = ship(ctx, o, stdin, stdout, stderr, logger)
	case "plan":
		err = plan(ctx, o, stdout, logger)
	case "version":
		err = versionCmd(ctx, o, stdout, logger)
	case "demo":
		err = demo(ctx, o, stdout, stderr, logger)
	}
	return exitCode(err, stderr)
}

// exitCode maps an error to the documented exit codes and prints it.
func exitCode(err error, stderr io.Writer) int {
	if err == nil {
		return exitOK
	}
	var (
		usageErr   *usageError
		blocked    *shipprod.GateBlockedError
		unhealthy  *shipprod.HealthCheckError
		monitorErr *shipprod.MonitorError
		preflight  *shipprod.PreflightError
		notVerif   *shipprod.NotVerifiedError
	)
	code := exitFailed
	switch {
	case errors.As(err, &usageErr), errors.As(err, &preflight):
		code = exitUsage
	case errors.As(err, &blocked):
		code = exitBlocked
	case errors.As(err, &unhealthy), errors.As(err, &monitorErr):
		code = exitUnhealthy
	case errors.As(err, &notVerif):
		code = exitNotVerified
	}
	// Errors go to stderr in --json mode too: stdout carries only JSON.
	fmt.Fprintf(stderr, "shipprod: %v\n", err)
	return code
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
