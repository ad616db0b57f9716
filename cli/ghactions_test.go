package cli

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"unicode"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"github.com/shipprod/shipprod"
)

// The CLI's own tests must not write to the outputs of the CI job that
// runs them.
func init() {
	for _, k := range []string{"GITHUB_ACTIONS", "GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY"} {
		os.Unsetenv(k)
	}
}

// workflowCommand is a workflow command as the runner reads it.
type workflowCommand struct {
	name, properties, data string
}

// runnerCommands reads output as the GitHub Actions runner does: it splits
// lines at CR and LF; a line whose first non-blank characters are "::" is
// a command ("::name props::data"), and so is a line holding "##[" anywhere
// (the legacy "##[name props]data" form).
func runnerCommands(out string) []workflowCommand {
	var cmds []workflowCommand
	for _, line := range strings.FieldsFunc(out, func(r rune) bool { return r == '\n' || r == '\r' }) {
		trimmed := strings.TrimLeftFunc(line, unicode.IsSpace)
		if rest, ok := strings.CutPrefix(trimmed, "::"); ok {
			if info, data, ok := strings.Cut(rest, "::"); ok {
				name, props, _ := strings.Cut(info, " ")
				cmds = append(cmds, workflowCommand{name: name, properties: props, data: unescapeData(data)})
				continue
			}
		}
		if _, rest, ok := strings.Cut(line, "##["); ok {
			if info, data, ok := strings.Cut(rest, "]"); ok {
				name, props, _ := strings.Cut(info, " ")
				cmds = append(cmds, workflowCommand{name: name, properties: props, data: data})
			}
		}
	}
	return cmds
}

// unescapeData undoes escapeData in the runner's order.
func unescapeData(s string) string {
	return strings.NewReplacer("%0D", "\r", "%0A", "\n").Replace(s)
}

// readOutputs reads a $GITHUB_OUTPUT file as the runner does: name=value
// lines, and name<<DELIMITER … DELIMITER blocks.
func readOutputs(t *testing.T, path string) map[string]string {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	outs := map[string]string{}
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		eq, heredoc := strings.Index(line, "="), strings.Index(line, "<<")
		if eq >= 0 && (heredoc < 0 || eq < heredoc) {
			outs[line[:eq]] = line[eq+1:]
			continue
		}
		require.GreaterOrEqual(t, heredoc, 0, "line %q is neither name=value nor name<<DELIMITER", line)
		name, delim := line[:heredoc], line[heredoc+2:]
		var value []string
		for i++; i < len(lines) && lines[i] != delim; i++ {
			value = append(value, lines[i])
		}
		require.Less(t, i, len(lines), "the delimiter of %s ends its value", name)
		outs[name] = strings.Join(value, "\n")
	}
	return outs
}

func TestWorkflowCommandEscaping(t *testing.T) {
	assert.Equal(t, "50%25 done%0D%0A::error::x", escapeData("50% done\r\n::error::x"))
	assert.Equal(t, "a%3A b%2C c%25", escapeProperty("a: b, c%"))
	line := annotation("error", "shipprod: failed, exit 1", "first\n::error::injected %0A")
	assert.Equal(t, "::error title=shipprod%3A failed%2C exit 1::first%0A::error::injected %250A", line)
	cmds := runnerCommands(line)
	require.Len(t, cmds, 1, "one line, one command")
	assert.Equal(t, "first\n::error::injected %0A", strings.ReplaceAll(cmds[0].data, "%25", "%"))
}

// Outputs with a line break use a delimiter that occurs nowhere in the
// value, even a value made to hold the first one tried.
func TestOutputsMultiLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "output")
	// The random source gives zeros first, then ones.
	random := bytes.NewReader(append(make([]byte, 16), bytes.Repeat([]byte{1}, 16)...))
	g := &githubActions{outputPath: path, random: random}
	hostile := "line one\nghadelimiter_00000000000000000000000000000000\nversion=9.9.9"
	require.NoError(t, g.setOutputs([]ghOutput{{"version", "1.3.0"}, {"notes", hostile}, {"empty", ""}}))
	outs := readOutputs(t, path)
	assert.Equal(t, map[string]string{"version": "1.3.0", "notes": hostile, "empty": ""}, outs)
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Contains(t, string(data), "notes<<ghadelimiter_01010101010101010101010101010101\n")
}

// Output that the runner would take for a workflow command is defused;
// the CLI's own commands pass.
func TestCommandGuard(t *testing.T) {
	var out bytes.Buffer
	g := &commandGuard{w: &out}
	for _, chunk := range []string{
		"plain line\n",
		"::error::at the start\n",
		"   \t::warning::after blanks\n",
		"text then\r::error::after a carriage return\n",
		"a legacy ##[error]anywhere\n",
		"split #", "#", "[error]across writes\n",
		"Title... ", // a line left open
	} {
		_, err := g.Write([]byte(chunk))
		require.NoError(t, err)
	}
	g.command("::group::Monitoring production")
	g.Write([]byte("::endgroup:: from a value\n"))
	g.command("::endgroup::")
	assert.Equal(t, []workflowCommand{{name: "group", data: "Monitoring production"}, {name: "endgroup"}}, runnerCommands(out.String()))
	assert.Contains(t, out.String(), "Title... \n::group::", "a command starts a line of its own")
	assert.Contains(t, out.String(), "   \t\u200b::warning::after blanks", "the text reads the same")
}

// In a workflow, a command that fails before running anything still tells
// the job: the exit code as an output, a summary, and the error as an
// annotation no value can break out of; its error text on stderr cannot
// issue a command either.
func TestGitHubActionsFailure(t *testing.T) {
	dir := t.TempDir()
	output, summary := filepath.Join(dir, "output"), filepath.Join(dir, "summary")
	env := map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_OUTPUT": output, "GITHUB_STEP_SUMMARY": summary}
	var out, errOut bytes.Buffer
	app := &App{Stdout: &out, Stderr: &errOut, Getenv: func(k string) string { return env[k] }}
	code := app.Run(t.Context(), []string{"plan", "--dir", dir, "--bogus\n::error::injected"})
	require.Equal(t, ExitUsage, code)
	assert.Equal(t, map[string]string{"exit-code": "2"}, readOutputs(t, output))
	md, err := os.ReadFile(summary)
	require.NoError(t, err)
	assert.Contains(t, string(md), "## ❌ shipprod failed (exit code 2)")
	cmds := runnerCommands(out.String() + "\n" + errOut.String())
	require.Len(t, cmds, 1, "stdout:\n%s\nstderr:\n%s", out.String(), errOut.String())
	assert.Equal(t, "error", cmds[0].name)
	assert.Equal(t, "title=shipprod failed (exit code 2)", cmds[0].properties)
	assert.Contains(t, cmds[0].data, "unknown flag: --bogus\n::error::injected")
	assert.Contains(t, errOut.String(), "\u200b::error::injected", "stderr still shows the text")
}

// failingNotifier fails with a message made to inject workflow commands.
type failingNotifier struct{ msg string }

func (n failingNotifier) Notify(context.Context, shipprod.Result) error { return errors.New(n.msg) }

// Shipping in a workflow sets the step's outputs, writes the summary and
// turns the warnings into annotations whose text cannot inject a command.
func TestGitHubActionsShip(t *testing.T) {
	endToEnd(t)
	p := newProject(t)
	dir := t.TempDir()
	output, summary := filepath.Join(dir, "output"), filepath.Join(dir, "summary")
	env := map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_OUTPUT": output, "GITHUB_STEP_SUMMARY": summary}
	const hostile = "webhook said:\n::error::injected %0A ##[error]legacy"
	var out, errOut bytes.Buffer
	app := &App{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errOut, Getenv: func(k string) string { return env[k] },
		Configure: func(pl *shipprod.Pipeline, _ *Config) error {
			pl.Notifier = failingNotifier{msg: hostile}
			return nil
		}}
	code := app.Run(context.Background(), []string{"ship", "--yes", "--dir", p.work})
	require.Equal(t, ExitOK, code, "stdout:\n%s\nstderr:\n%s", out.String(), errOut.String())

	head := p.git(p.local, "rev-parse", "HEAD")
	assert.Equal(t, map[string]string{
		"version": "1.3.0", "tag": "v1.3.0", "release-url": "", "deployment-id": head, "deployment-url": p.prod.URL,
		"outcome": "shipped", "exit-code": "0",
	}, readOutputs(t, output))

	md, err := os.ReadFile(summary)
	require.NoError(t, err)
	for _, want := range []string{
		"## ✅ Shipped v1.3.0 to production with git-push (deployment " + head + ")",
		"| Outcome | shipped (exit code 0) |",
		"| Version | 1.3.0 (minor bump from v1.2.0) |",
		"| Production | [" + p.prod.URL + "](" + p.prod.URL + ") |",
		"### Health checks: 2 of 2 passed",
		"| ✅ pass | health | http " + p.prod.URL + "/health |",
		"### Monitor: passed",
		"### Warnings\n\n- notify: webhook said: ::error::injected %0A ##[error]legacy\n",
	} {
		assert.Contains(t, string(md), want)
	}

	cmds := runnerCommands(out.String() + "\n" + errOut.String())
	var names []string
	for _, c := range cmds {
		names = append(names, c.name)
	}
	assert.Equal(t, []string{"group", "endgroup", "warning"}, names, "the monitor's measurements are grouped; the warning is the one annotation")
	warning := cmds[len(cmds)-1]
	assert.Equal(t, "title=shipprod", warning.properties)
	assert.Equal(t, "notify: "+hostile, strings.ReplaceAll(warning.data, "%25", "%"), "the runner reads back the warning as it was")
	assert.Contains(t, out.String(), "::warning title=shipprod::notify: webhook said:%0A::error::injected %250A ##[error]legacy\n")
}

// action.yml's outputs are the outputs the CLI sets, its inputs reach its
// scripts only through the environment, and its scripts are valid bash;
// the workflow in docs/github-actions.md is valid YAML and uses the action.
func TestActionAndExampleWorkflow(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "action.yml"))
	require.NoError(t, err)
	var action struct {
		Inputs  map[string]struct{ Default string }
		Outputs map[string]struct{ Value string }
		Runs    struct {
			Using string
			Steps []struct {
				ID, Run, Shell, Uses string
				Env                  map[string]string
			}
		}
	}
	require.NoError(t, yaml.Unmarshal(data, &action))
	assert.Equal(t, "composite", action.Runs.Using)
	var names []string
	for _, o := range resultOutputs(&shipprod.Result{}) {
		names = append(names, o.name)
	}
	names = append(names, "exit-code")
	var declared []string
	for name, o := range action.Outputs {
		declared = append(declared, name)
		assert.Equal(t, "${{ steps.shipprod.outputs."+name+" }}", o.Value)
	}
	assert.ElementsMatch(t, names, declared)
	assert.Subset(t, keys(action.Inputs), []string{"command", "config", "working-directory", "args", "version"})
	for _, s := range action.Runs.Steps {
		if s.Run == "" {
			continue
		}
		assert.NotContains(t, s.Run, "${{", "step %q: inputs go through env, never into the script", s.ID)
		assert.Equal(t, "bash", s.Shell)
		script := filepath.Join(t.TempDir(), "step.sh")
		require.NoError(t, os.WriteFile(script, []byte(s.Run), 0o644))
		out, err := exec.Command("bash", "-n", script).CombinedOutput()
		assert.NoError(t, err, "step %q: %s", s.ID, out)
	}

	doc, err := os.ReadFile(filepath.Join("..", "docs", "github-actions.md"))
	require.NoError(t, err)
	_, rest, ok := strings.Cut(string(doc), "## An example workflow\n\n```yaml\n")
	require.True(t, ok)
	block, _, _ := strings.Cut(rest, "```")
	var workflow map[string]any
	require.NoError(t, yaml.Unmarshal([]byte(block), &workflow))
	for _, want := range []string{"fetch-depth: 0", "concurrency:", "actions/cache/save", ".git/shipprod/journal.json",
		"GH_TOKEN: ${{ secrets.GITHUB_TOKEN }}", "VERCEL_TOKEN: ${{ secrets.VERCEL_TOKEN }}", "contents: write", "uses: shipprod/shipprod@"} {
		assert.Contains(t, block, want)
	}
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
