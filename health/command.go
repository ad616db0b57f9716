package health

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"
)

// commandProbe runs a program with an explicit argument list — never
// through a shell — and checks its exit status.
type commandProbe struct {
	argv   []string
	dir    string
	env    []string
	expect int
}

func newCommandProbe(cc CheckConfig, defaultDir string) (*commandProbe, error) {
	p := &commandProbe{argv: cc.Command, dir: cc.Dir, env: cc.Env, expect: cc.ExpectExit}
	if p.dir == "" {
		p.dir = defaultDir
	}
	if strings.TrimSpace(p.argv[0]) == "" {
		return nil, errors.New("command: the program (the first element) is empty")
	}
	if p.expect < 0 || p.expect > 255 {
		return nil, fmt.Errorf("expect_exit %d is not an exit status (0-255)", p.expect)
	}
	for _, kv := range p.env {
		if k, _, ok := strings.Cut(kv, "="); !ok || k == "" {
			return nil, fmt.Errorf("env entry %q is not KEY=VALUE", kv)
		}
	}
	return p, nil
}

func (p *commandProbe) target() string { return strings.Join(quoteArgs(p.argv), " ") }

func (p *commandProbe) describe() string {
	return fmt.Sprintf("run %s, expect exit status %d", p.target(), p.expect)
}

func quoteArgs(argv []string) []string {
	out := make([]string, len(argv))
	for i, a := range argv {
		if a == "" || strings.ContainsAny(a, " \t\n\"'\\$`") {
			a = fmt.Sprintf("%q", a)
		}
		out[i] = a
	}
	return out
}

// tailBuffer keeps the last n bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	n   int
	buf []byte
}

func (t *tailBuffer) Write(b []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, b...)
	if len(t.buf) > t.n {
		t.buf = append(t.buf[:0], t.buf[len(t.buf)-t.n:]...)
	}
	return len(b), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(bytes.TrimSpace(t.buf))
}

func (p *commandProbe) Probe(ctx context.Context, _ Target) (Observation, error) {
	cmd := exec.CommandContext(ctx, p.argv[0], p.argv[1:]...)
	cmd.Dir = p.dir
	if len(p.env) > 0 {
		cmd.Env = append(os.Environ(), p.env...)
	}
	out := &tailBuffer{n: 2048}
	cmd.Stdout, cmd.Stderr = out, out
	// A child that keeps the output open must not hold the check past its
	// timeout.
	cmd.WaitDelay = time.Second
	err := cmd.Run()
	code := cmd.ProcessState.ExitCode()
	var exitErr *exec.ExitError
	switch {
	case err == nil || errors.As(err, &exitErr) && ctx.Err() == nil:
		// The program ran to its end; its status decides.
	case ctx.Err() != nil:
		return Observation{}, fmt.Errorf("killed: %w%s", ctx.Err(), outputNote(out))
	default:
		return Observation{}, fmt.Errorf("cannot run %s: %w", p.argv[0], err)
	}
	if code != p.expect {
		if code < 0 {
			return Observation{}, fmt.Errorf("%s%s", cmd.ProcessState, outputNote(out))
		}
		return Observation{}, fmt.Errorf("exit status %d, want %d%s", code, p.expect, outputNote(out))
	}
	return Observation{Message: fmt.Sprintf("exit status %d", code)}, nil
}

func outputNote(out *tailBuffer) string {
	s := out.String()
	if s == "" {
		return ""
	}
	return "; output: " + oneLine(s)
}
