// Package git runs the git command line for shipprod's steps.
//
// Every command runs with an explicit argument list (never through a shell),
// with GIT_TERMINAL_PROMPT=0 so that git never waits for a password, and with
// a C locale so that its messages can be recognised. Ref names are validated
// by the rules of `git check-ref-format` before use, paths follow `--`, and
// errors carry git's own stderr with any credentials in URLs masked. An error
// of a command whose context ended wraps the context's error, never a
// classification of git's exit status or output.
package git

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"time"
)

// Repo is a git working tree.
type Repo struct {
	// Dir is the working tree (or bare repository) git runs in.
	Dir string
	// Env holds extra environment variables ("KEY=value") for every command.
	Env []string
}

// stopDelay bounds how long a cancelled git has, after the interrupt, to
// clean up (remove its lock files, unstage what it staged) and exit before
// it is killed.
const stopDelay = 10 * time.Second

// Open returns the Repo for dir.
func Open(dir string) *Repo { return &Repo{Dir: dir} }

// Error is a failed git command.
type Error struct {
	// Args are the command's arguments, credentials masked.
	Args []string
	// Stderr is git's own message, credentials masked.
	Stderr   string
	ExitCode int
	Err      error
}

func (e *Error) Error() string {
	msg := strings.TrimSpace(e.Stderr)
	switch {
	case msg == "":
		msg = e.Err.Error()
	case contextEnded(e.Err):
		msg = e.Err.Error() + ": " + msg
	}
	return fmt.Sprintf("git %s: %s", strings.Join(e.Args, " "), msg)
}

func (e *Error) Unwrap() error { return e.Err }

// credentialsInURL matches the user-info part of a URL ("https://user:token@").
// Quotes and angle brackets end it, so that masking JSON or quoted text
// never reaches past the URL.
var credentialsInURL = regexp.MustCompile(`([a-zA-Z][a-zA-Z0-9+.-]*://)[^/@\s"'<>]+@`)

// MaskURL replaces credentials in any URL inside s with "***".
func MaskURL(s string) string {
	return credentialsInURL.ReplaceAllString(s, "${1}***@")
}

// Run runs git with args and returns its stdout with surrounding whitespace trimmed.
func (r *Repo) Run(ctx context.Context, args ...string) (string, error) {
	out, err := r.run(ctx, nil, args...)
	return strings.TrimSpace(string(out)), err
}

// RunRaw runs git with args and returns its stdout untouched.
func (r *Repo) RunRaw(ctx context.Context, args ...string) ([]byte, error) {
	return r.run(ctx, nil, args...)
}

// RunInput runs git with args, feeding stdin.
func (r *Repo) RunInput(ctx context.Context, stdin []byte, args ...string) (string, error) {
	out, err := r.run(ctx, stdin, args...)
	return strings.TrimSpace(string(out)), err
}

// Command returns the exec.Cmd for git args, set up like Run's, for callers
// that stream git's output (e.g. a long `git log`).
func (r *Repo) Command(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = r.Dir
	cmd.Env = append(os.Environ(),
		"GIT_TERMINAL_PROMPT=0",
		"GCM_INTERACTIVE=never",
		"LC_ALL=C",
		"LANGUAGE=C",
	)
	cmd.Env = append(cmd.Env, r.Env...)
	// When ctx ends, git is interrupted, not killed: like a Ctrl-C, SIGINT
	// goes to git and to what it started (a hook, receive-pack, ssh), which
	// run in a process group of their own, so git removes its index.lock
	// and the like on its way out. Only if it has not exited after
	// stopDelay is it killed; WaitDelay also bounds the wait for a child
	// that keeps git's output pipes open.
	interruptOnCancel(cmd)
	cmd.WaitDelay = stopDelay
	return cmd
}

func (r *Repo) run(ctx context.Context, stdin []byte, args ...string) ([]byte, error) {
	cmd := r.Command(ctx, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	if err := cmd.Run(); err != nil {
		// Once the context has ended, git was (or may have been) killed:
		// its exit status and output say nothing about the command, so the
		// error is the context's and no caller classifies it.
		if ctxErr := ctx.Err(); ctxErr != nil {
			err = ctxErr
		}
		e := &Error{Args: maskAll(args), Stderr: MaskURL(stderr.String()), Err: err}
		var exitErr *exec.ExitError
		if errors.As(err, &exitErr) {
			e.ExitCode = exitErr.ExitCode()
		}
		return stdout.Bytes(), e
	}
	return stdout.Bytes(), nil
}

// contextEnded reports whether err is (or wraps) the error of an ended
// context.
func contextEnded(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

func maskAll(args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = MaskURL(a)
	}
	return out
}

// CheckRemoteName validates a remote name or URL: it must not look like an
// option.
func CheckRemoteName(remote string) error {
	if remote == "" || strings.HasPrefix(remote, "-") || strings.ContainsAny(remote, "\n\x00") {
		return fmt.Errorf("invalid git remote %q", MaskURL(remote))
	}
	return nil
}

// ShortSHA abbreviates a commit SHA for messages (12 characters, enough to
// stay unique in large repositories).
func ShortSHA(sha string) string {
	if len(sha) > 12 {
		return sha[:12]
	}
	return sha
}

// LooksLikeURL reports whether remote is a URL or a path (what git accepts
// in place of a remote's name) rather than the name of a configured remote.
func LooksLikeURL(remote string) bool {
	switch {
	case strings.Contains(remote, "://"),
		strings.HasPrefix(remote, "/"), strings.HasPrefix(remote, "./"), strings.HasPrefix(remote, "../"),
		strings.HasPrefix(remote, "~"), remote == "." || remote == "..":
		return true
	}
	// scp-like "[user@]host:path"; a name cannot hold a colon.
	return strings.Contains(remote, ":")
}

// CheckRemote makes sure remote names something git can push to: a URL or
// a path is taken as it is; a name must be a remote configured in the
// repository. The error names the remote and lists the configured ones.
func (r *Repo) CheckRemote(ctx context.Context, remote string) error {
	if err := CheckRemoteName(remote); err != nil {
		return err
	}
	if LooksLikeURL(remote) {
		return nil
	}
	if _, err := r.Run(ctx, "remote", "get-url", "--", remote); err == nil {
		return nil
	} else if ctx.Err() != nil {
		return err
	}
	names, err := r.Run(ctx, "remote")
	if err != nil {
		return fmt.Errorf("no git remote %q: %w", remote, err)
	}
	if names == "" {
		return fmt.Errorf("no git remote %q: the repository has no remote; add one (git remote add %s <url>) or give a URL", remote, remote)
	}
	return fmt.Errorf("no git remote %q; the repository has %s (git remote -v lists them with their URLs)", remote, strings.Join(strings.Fields(names), ", "))
}
