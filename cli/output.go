package cli

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/shipprod/shipprod"
)

// output is where one invocation's results go: the console for people, JSON
// Lines for programs (--json), and GitHub Actions' outputs, summary and
// annotations when it runs in a workflow.
type output struct {
	// name is the program's name, for messages and the next commands.
	name    string
	console *console
	// json is set with --json: stdout then carries only JSON Lines.
	json   *jsonLines
	stderr io.Writer
	// gha is set inside a GitHub Actions job.
	gha *githubActions
	// result is the last pipeline run's, and shipCmd the command that
	// ships (or resumes) its project: what GitHub Actions is told at exit.
	result  *shipprod.Result
	shipCmd string
}

// guardStreams defuses, inside a GitHub Actions job, whatever in the
// output the runner would take for a workflow command (see commandGuard).
func (inv *invocation) guardStreams() {
	if inv.getenv("GITHUB_ACTIONS") != "true" {
		return
	}
	inv.outGuard, inv.errGuard = &commandGuard{w: inv.stdout}, &commandGuard{w: inv.stderr}
	inv.stdout, inv.stderr = inv.outGuard, inv.errGuard
}

// output returns the invocation's output, made once the flags are parsed.
func (inv *invocation) output() *output {
	if inv.out != nil {
		return inv.out
	}
	o := &output{name: inv.app.name(), stderr: inv.stderr,
		console: &console{w: inv.stdout, tty: inv.tty && !inv.opts.json, width: inv.width,
			style: style{on: !inv.opts.json && colorWanted(inv.tty, inv.opts.noColor, inv.getenv)}, commands: inv.outGuard},
		gha: newGitHubActions(inv.getenv, inv.outGuard, inv.errGuard)}
	if inv.opts.json {
		o.json = &jsonLines{w: inv.stdout}
	}
	inv.out, inv.opts.out = o, o
	return o
}

// plainOutput is the output of a caller that has no invocation's: text on
// w, JSON Lines on w with --json.
func plainOutput(w io.Writer) *output {
	return &output{name: "shipprod", console: &console{w: w}, json: &jsonLines{w: w}, stderr: io.Discard}
}

// shipCommandLine is the command that ships the project o names, for the
// next steps a summary gives.
func shipCommandLine(name string, o options) string {
	cmd := name + " ship"
	if o.dir != "" && o.dir != "." {
		cmd += " --dir " + shellQuote(o.dir)
	}
	if o.configSet {
		cmd += " --config " + shellQuote(o.config)
	}
	return cmd
}

// finish ends the invocation: in --json mode a failure is also a
// shipprod.error/v1 line on stdout, and inside GitHub Actions the outputs,
// the summary and the annotations are written.
func (o *output) finish(code int, err error) {
	if err != nil && o.json != nil {
		if werr := o.json.write(SchemaError, JSONError{Message: err.Error(), ExitCode: code}); werr != nil {
			fmt.Fprintf(o.stderr, "%s: writing the JSON error line: %v\n", o.name, werr)
		}
	}
	if o.gha != nil && (o.result != nil || err != nil) {
		o.reportToGitHub(code, err)
	}
}

// reportToGitHub writes the step's outputs, its summary and the
// annotations for the warnings and the failure.
func (o *output) reportToGitHub(code int, err error) {
	g, res := o.gha, o.result
	outs := []ghOutput{{"exit-code", strconv.Itoa(code)}}
	if res != nil {
		outs = append(resultOutputs(res), outs...)
	}
	if werr := g.setOutputs(outs); werr != nil {
		fmt.Fprintf(o.stderr, "%s: GitHub Actions outputs: %v\n", o.name, werr)
	}
	if werr := g.appendSummary(githubSummary(res, code, err, o.name, o.shipCmd)); werr != nil {
		fmt.Fprintf(o.stderr, "%s: GitHub Actions step summary: %v\n", o.name, werr)
	}
	if res != nil {
		for _, w := range res.Warnings {
			o.annotate(annotation("warning", o.name, w))
		}
	}
	if err != nil {
		title := fmt.Sprintf("%s failed (exit code %d)", o.name, code)
		if res != nil {
			title = fmt.Sprintf("%s: %s (exit code %d)", o.name, res.Outcome, code)
		}
		o.annotate(annotation("error", title, err.Error()))
	}
}

// annotate writes a workflow command: on stdout with the text, on stderr
// in --json mode (stdout carries only JSON).
func (o *output) annotate(line string) {
	if o.json != nil {
		o.gha.stderr.command(line)
		return
	}
	o.console.command(line)
}

// resultOutputs are the step outputs a run sets.
func resultOutputs(res *shipprod.Result) []ghOutput {
	var id, url string
	if d := res.Deployment; d != nil {
		id, url = d.ID, d.URL
	}
	return []ghOutput{
		{"version", res.Release.Version}, {"tag", res.Release.Tag}, {"release-url", res.Release.ReleaseURL},
		{"deployment-id", id}, {"deployment-url", url}, {"outcome", string(res.Outcome)},
	}
}

// githubSummary is the Markdown summary of a run for the workflow's page.
func githubSummary(res *shipprod.Result, code int, err error, name, shipCmd string) string {
	var b strings.Builder
	if res == nil {
		fmt.Fprintf(&b, "## ❌ %s failed (exit code %d)\n\n%s\n\n", name, code, mdText(errText(err)))
		return b.String()
	}
	fmt.Fprintf(&b, "## %s\n\n", mdText(headline(style{}, res)))
	b.WriteString("| | |\n|---|---|\n")
	row := func(k, v string) {
		if v != "" {
			fmt.Fprintf(&b, "| %s | %s |\n", k, v)
		}
	}
	rel := res.Release
	row("Outcome", fmt.Sprintf("%s (exit code %d)", res.Outcome, code))
	if rel.Version != "" {
		row("Version", mdCell(strings.TrimSpace(rel.Version+" "+bumpNote(rel))))
	}
	row("Release", mdLink(cmpOr(rel.Tag, rel.ReleaseURL), rel.ReleaseURL))
	if d := res.Deployment; d != nil {
		row("Production", mdLink(d.URL, d.URL))
		row("Deployment", mdCell(strings.TrimSpace(d.Provider+" "+d.ID)))
	}
	for _, r := range res.Reports {
		row("Report", mdCell(r))
	}
	if res.Error != "" && err == nil {
		row("Error", mdCell(res.Error))
	}
	b.WriteString("\n")
	summaryDetails(&b, res, shipCmd)
	if err != nil {
		fmt.Fprintf(&b, "### Error\n\n%s\n\n", mdText(err.Error()))
	}
	return b.String()
}

// summaryDetails writes the summary's sections: not verified, health
// checks, monitor, rollback, warnings and next steps.
func summaryDetails(b *strings.Builder, res *shipprod.Result, shipCmd string) {
	if len(res.NotVerified) > 0 {
		b.WriteString("### Not verified\n\n")
		for _, r := range res.NotVerified {
			fmt.Fprintf(b, "- %s\n", mdText(r))
		}
		b.WriteString("\n")
	}
	if h := res.Health; h != nil && len(h.Checks) > 0 {
		healthTable(b, "Health checks", *h)
	}
	if m := res.Monitor; m != nil {
		fmt.Fprintf(b, "### Monitor: %s\n\n%s\n\n", m.Verdict, mdText(m.Reason))
		if len(m.Gates) > 0 {
			b.WriteString("| Gate | Verdict | Measurements | Failures | Errors | Message |\n|---|---|---|---|---|---|\n")
			for _, g := range m.Gates {
				fmt.Fprintf(b, "| %s | %s | %d | %d | %d | %s |\n", mdCell(g.Name), g.Verdict, g.Measurements, g.Failures, g.Errors, mdCell(g.Message))
			}
			b.WriteString("\n")
		}
	}
	if r := res.Rollback; r != nil {
		b.WriteString("### Rollback\n\n")
		fmt.Fprintf(b, "- Reason: %s\n- Target: %s\n", mdText(r.Reason), mdText(cmpOr(r.Target.Tag, r.Target.Version)))
		if r.Error != "" {
			fmt.Fprintf(b, "- **Failed**: %s\n", mdText(r.Error))
		} else {
			fmt.Fprintf(b, "- Restored: deployment %s\n", mdText(r.Restored.ID))
		}
		b.WriteString("\n")
		if r.Health != nil && len(r.Health.Checks) > 0 {
			healthTable(b, "Health of the restored version", *r.Health)
		}
	}
	if len(res.Warnings) > 0 {
		b.WriteString("### Warnings\n\n")
		for _, w := range res.Warnings {
			fmt.Fprintf(b, "- %s\n", mdText(w))
		}
		b.WriteString("\n")
	}
	if steps := followUps(res, shipCmd); len(steps) > 0 {
		b.WriteString("### Next steps\n\n")
		for _, s := range steps {
			fmt.Fprintf(b, "- %s\n", mdText(s.text))
			if len(s.commands) > 0 {
				b.WriteString("\n  ```sh\n")
				for _, c := range s.commands {
					fmt.Fprintf(b, "  %s\n", strings.ReplaceAll(oneLine(c), "```", "` ` `"))
				}
				b.WriteString("  ```\n\n")
			}
		}
	}
}

func healthTable(b *strings.Builder, title string, h shipprod.HealthReport) {
	fmt.Fprintf(b, "### %s: %d of %d passed\n\n| | Check | Target | Result | Time |\n|---|---|---|---|---|\n", title, len(h.Checks)-len(h.Failed()), len(h.Checks))
	for _, c := range h.Checks {
		mark := map[shipprod.HealthStatus]string{shipprod.HealthPass: "✅ pass", shipprod.HealthWarn: "⚠️ warn", shipprod.HealthFail: "❌ fail"}[c.Status]
		what := c.Message
		if c.Status == shipprod.HealthFail && c.Error != "" {
			what = c.Error
		}
		fmt.Fprintf(b, "| %s | %s | %s | %s | %s |\n", mark, mdCell(c.Name), mdCell(strings.TrimSpace(c.Kind+" "+c.Target)), mdCell(what), c.Latency.Round(time.Millisecond))
	}
	b.WriteString("\n")
}

func bumpNote(rel shipprod.Release) string {
	switch {
	case rel.PreviousTag != "" && rel.Bump != "":
		return fmt.Sprintf("(%s bump from %s)", rel.Bump, rel.PreviousTag)
	case rel.PreviousTag == "" && rel.Version != "":
		return "(first release)"
	}
	return ""
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// mdText makes untrusted text inert in Markdown: HTML is escaped and line
// breaks become spaces, so it cannot open a block, a tag or a table row.
func mdText(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(oneLine(s))
}

// mdCell is mdText for a table cell: | is escaped too.
func mdCell(s string) string { return strings.ReplaceAll(mdText(s), "|", `\|`) }

// mdLink is a link to url named text, or "" without a url. Only http(s)
// URLs are links; anything else is shown as text.
func mdLink(text, url string) string {
	if url == "" {
		return ""
	}
	if !strings.HasPrefix(url, "https://") && !strings.HasPrefix(url, "http://") {
		return mdCell(url)
	}
	url = strings.NewReplacer("(", "%28", ")", "%29", " ", "%20", "|", "%7C", "<", "%3C", ">", "%3E").Replace(url)
	return "[" + strings.NewReplacer("[", `\[`, "]", `\]`).Replace(mdCell(text)) + "](" + url + ")"
}
