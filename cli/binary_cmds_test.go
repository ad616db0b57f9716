package cli

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// builtBinary is the reference binary, examples/shipprod, built once per
// test binary: the commands are tested as a user runs them, through
// exec.
type builtBinary struct {
	once sync.Once
	dir  string
	path string
	err  error
}

// reference is examples/shipprod; TestMain removes it.
var reference = &builtBinary{}

// binary returns the path of the built binary, building it on first use.
func (b *builtBinary) binary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("runs the built binary (go build takes seconds); skipped with -short")
	}
	b.once.Do(func() {
		if b.dir, b.err = os.MkdirTemp("", "shipprod-cli-test-"); b.err != nil {
			return
		}
		b.path = filepath.Join(b.dir, "shipprod")
		out, err := exec.Command("go", "build", "-o", b.path, "github.com/shipprod/shipprod/examples/shipprod").CombinedOutput()
		if err != nil {
			b.err = fmt.Errorf("go build examples/shipprod: %w\n%s", err, out)
		}
	})
	if b.err != nil {
		t.Fatal(b.err)
	}
	return b.path
}

func (b *builtBinary) remove() {
	if b.dir != "" {
		os.RemoveAll(b.dir)
	}
}

// exec runs the built shipprod in the project (--dir) with args, its
// standard input empty (not a terminal), and returns its exit code and
// output.
func (p *project) exec(args ...string) (code int, stdout, stderr string) {
	p.t.Helper()
	return runBinary(p.t, append([]string{args[0], "--dir", p.work}, args[1:]...)...)
}

// runBinary runs the built shipprod with args.
func runBinary(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	cmd := exec.Command(reference.binary(t), args...)
	cmd.Env = os.Environ()
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		code = exit.ExitCode()
	case err != nil:
		t.Fatalf("running shipprod %s: %v", strings.Join(args, " "), err)
	}
	return code, out.String(), errOut.String()
}
