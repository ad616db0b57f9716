package cli

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// Inside a GitHub Actions job (GITHUB_ACTIONS=true) the CLI also writes the
// step's outputs to $GITHUB_OUTPUT, a Markdown summary to
// $GITHUB_STEP_SUMMARY, errors and warnings as workflow commands
// (annotations), and groups long steps' progress in the log. The formats
// are GitHub's "workflow commands" and "environment files"; see
// docs/github-actions.md.

// githubActions writes what a run tells GitHub Actions.
type githubActions struct {
	outputPath, summaryPath string
	// stdout and stderr carry workflow commands past their guards.
	stdout, stderr *commandGuard
	// random makes the multi-line delimiters (crypto/rand.Reader).
	random io.Reader
}

// newGitHubActions returns nil unless getenv says this is a GitHub Actions
// job.
func newGitHubActions(getenv func(string) string, stdout, stderr *commandGuard) *githubActions {
	if getenv("GITHUB_ACTIONS") != "true" {
		return nil
	}
	return &githubActions{outputPath: getenv("GITHUB_OUTPUT"), summaryPath: getenv("GITHUB_STEP_SUMMARY"),
		stdout: stdout, stderr: stderr, random: rand.Reader}
}

// ghOutput is one step output.
type ghOutput struct{ name, value string }

// setOutputs appends the outputs to $GITHUB_OUTPUT: name=value, or, for a
// value with a line break, the multi-line form with a random delimiter
// that occurs nowhere in the value:
//
//	name<<ghadelimiter_0f1e…
//	value
//	ghadelimiter_0f1e…
func (g *githubActions) setOutputs(outs []ghOutput) error {
	if g.outputPath == "" {
		return nil
	}
	var b strings.Builder
	for _, o := range outs {
		if !strings.ContainsAny(o.value, "\r\n") {
			fmt.Fprintf(&b, "%s=%s\n", o.name, o.value)
			continue
		}
		delim, err := g.delimiter(o.value)
		if err != nil {
			return err
		}
		fmt.Fprintf(&b, "%s<<%s\n%s\n%s\n", o.name, delim, o.value, delim)
	}
	return appendFile(g.outputPath, b.String())
}

// delimiter returns a multi-line delimiter that value does not contain.
func (g *githubActions) delimiter(value string) (string, error) {
	for range 8 {
		var raw [16]byte
		if _, err := io.ReadFull(g.random, raw[:]); err != nil {
			return "", fmt.Errorf("making a GITHUB_OUTPUT delimiter: %w", err)
		}
		d := "ghadelimiter_" + hex.EncodeToString(raw[:])
		if !strings.Contains(value, d) {
			return d, nil
		}
	}
	return "", fmt.Errorf("making a GITHUB_OUTPUT delimiter: every candidate occurs in the value")
}

// appendSummary appends Markdown to $GITHUB_STEP_SUMMARY.
func (g *githubActions) appendSummary(md string) error {
	if g.summaryPath == "" {
		return nil
	}
	return appendFile(g.summaryPath, md)
}

func appendFile(path, text string) error {
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	_, err = f.WriteString(text)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// annotation formats a workflow command, e.g.
// `::error title=shipprod ship failed::the message`, with the properties and
// the message escaped as GitHub documents, so that no value can end the
// command or start another.
func annotation(kind, title, message string) string {
	var b strings.Builder
	b.WriteString("::")
	b.WriteString(kind)
	if title != "" {
		b.WriteString(" title=")
		b.WriteString(escapeProperty(title))
	}
	b.WriteString("::")
	b.WriteString(escapeData(message))
	return b.String()
}

// escapeData escapes a workflow command's message: % as %25, CR as %0D, LF
// as %0A.
func escapeData(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A").Replace(s)
}

// escapeProperty escapes a workflow command's property value: as data, and
// : as %3A and , as %2C.
func escapeProperty(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C").Replace(s)
}

// commandGuard passes output through to w, defusing whatever the runner
// would take for a workflow command: a line whose first non-blank
// character is ':' (the "::command::" form, which the runner recognises
// after leading blanks) gets a zero-width space before it, and "##[" (the
// legacy form, recognised anywhere in a line) becomes "##\u200b[". The
// text reads the same; only the CLI's own commands, written with command,
// reach the runner. The runner splits lines at CR as well as LF.
type commandGuard struct {
	mu sync.Mutex
	w  io.Writer
	// midLine is set once the current line has a non-blank character.
	midLine bool
	// hashes counts the '#' just written on the current line.
	hashes int
}

const zeroWidthSpace = "\u200b"

func (g *commandGuard) Write(p []byte) (int, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	var b bytes.Buffer
	for rest := p; len(rest) > 0; {
		r, size := utf8.DecodeRune(rest)
		switch {
		case r == '\n' || r == '\r':
			g.midLine, g.hashes = false, 0
		case !g.midLine && r != utf8.RuneError && unicode.IsSpace(r):
			// still the line's leading blanks
		default:
			if !g.midLine && r == ':' {
				b.WriteString(zeroWidthSpace)
			}
			if r == '[' && g.hashes >= 2 {
				b.WriteString(zeroWidthSpace)
			}
			g.midLine = true
			if r == '#' {
				g.hashes++
			} else {
				g.hashes = 0
			}
		}
		b.Write(rest[:size])
		rest = rest[size:]
	}
	if _, err := g.w.Write(b.Bytes()); err != nil {
		return 0, err
	}
	return len(p), nil
}

// command writes line, a workflow command this program means, unguarded,
// on a line of its own.
func (g *commandGuard) command(line string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	prefix := ""
	if g.midLine {
		prefix = "\n"
	}
	io.WriteString(g.w, prefix+line+"\n")
	g.midLine, g.hashes = false, 0
}
