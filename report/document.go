package report

import (
	"cmp"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/shipprod/shipprod"
	"github.com/shipprod/shipprod/internal/git"
)

// Schema identifies the JSON twin's format.
const Schema = "shipprod.ship-report/v1"

// Document holds the facts of a ship report. It is the JSON twin as is, and
// the Markdown report is rendered from it.
type Document struct {
	Schema          string    `json:"schema"`
	Feature         string    `json:"feature,omitempty"`
	Outcome         string    `json:"outcome"`
	Version         string    `json:"version,omitempty"`
	Tag             string    `json:"tag,omitempty"`
	PreviousVersion string    `json:"previous_version,omitempty"`
	PreviousTag     string    `json:"previous_tag,omitempty"`
	Bump            string    `json:"bump,omitempty"`
	Reasons         []Reason  `json:"reasons,omitempty"`
	Commit          string    `json:"commit,omitempty"`
	Branch          string    `json:"branch,omitempty"`
	Remote          string    `json:"remote,omitempty"`
	ReleaseURL      string    `json:"release_url,omitempty"`
	ProductionURL   string    `json:"production_url,omitempty"`
	DeployedAt      string    `json:"deployed_at,omitempty"`
	Deployment      *Deploy   `json:"deployment,omitempty"`
	Changes         string    `json:"changes,omitempty"`
	Gates           []Gate    `json:"gates,omitempty"`
	GateSource      string    `json:"gate_source,omitempty"`
	Health          *Health   `json:"health,omitempty"`
	Monitor         *Monitor  `json:"monitor,omitempty"`
	MonitorStatus   string    `json:"monitor_status"`
	Rollback        *Rollback `json:"rollback,omitempty"`
	RollbackSteps   []string  `json:"rollback_procedure"`
	Steps           []Step    `json:"steps"`
	Warnings        []string  `json:"warnings,omitempty"`
	Error           string    `json:"error,omitempty"`
	StartedAt       string    `json:"started_at"`
	FinishedAt      string    `json:"finished_at,omitempty"`
	Files           []string  `json:"files,omitempty"`
	Reports         []string  `json:"-"`
}

// Reason is one piece of evidence behind the version bump.
type Reason struct {
	Source string `json:"source"`
	Text   string `json:"text"`
	Bump   string `json:"bump"`
}

// Deploy is the deployment.
type Deploy struct {
	Provider    string            `json:"provider"`
	ID          string            `json:"id"`
	URL         string            `json:"url,omitempty"`
	Environment string            `json:"environment,omitempty"`
	Commit      string            `json:"commit,omitempty"`
	PreviousID  string            `json:"previous_id,omitempty"`
	StartedAt   string            `json:"started_at,omitempty"`
	FinishedAt  string            `json:"finished_at,omitempty"`
	DurationMS  int64             `json:"duration_ms"`
	Details     map[string]string `json:"details,omitempty"`
}

// Gate is one release gate.
type Gate struct {
	Name     string `json:"name"`
	Source   string `json:"source"`
	Key      string `json:"key,omitempty"`
	Found    string `json:"found"`
	Required string `json:"required"`
	Passed   bool   `json:"passed"`
	Advisory bool   `json:"advisory,omitempty"`
	Hint     string `json:"hint,omitempty"`
}

// Health is a round of health checks.
type Health struct {
	Passed    bool    `json:"passed"`
	CheckedAt string  `json:"checked_at"`
	Checks    []Check `json:"checks"`
}

// Check is one health check.
type Check struct {
	Name      string `json:"name"`
	Kind      string `json:"kind"`
	Target    string `json:"target,omitempty"`
	Status    string `json:"status"`
	Attempts  int    `json:"attempts"`
	LatencyMS int64  `json:"latency_ms"`
	Message   string `json:"message,omitempty"`
	Error     string `json:"error,omitempty"`
}

// Monitor is the monitor window.
type Monitor struct {
	Verdict       string        `json:"verdict"`
	Reason        string        `json:"reason,omitempty"`
	WindowSeconds int64         `json:"window_seconds"`
	StartedAt     string        `json:"started_at"`
	FinishedAt    string        `json:"finished_at"`
	Gates         []MonitorGate `json:"gates"`
}

// MonitorGate is one monitor gate.
type MonitorGate struct {
	Name         string `json:"name"`
	Verdict      string `json:"verdict"`
	Measurements int    `json:"measurements"`
	Failures     int    `json:"failures"`
	Errors       int    `json:"errors"`
	Inconclusive int    `json:"inconclusive"`
	Critical     bool   `json:"critical,omitempty"`
	DryRun       bool   `json:"dry_run,omitempty"`
	Message      string `json:"message,omitempty"`
}

// Rollback is an automatic rollback.
type Rollback struct {
	Reason     string  `json:"reason"`
	Restored   *Deploy `json:"restored,omitempty"`
	Health     *Health `json:"health,omitempty"`
	Error      string  `json:"error,omitempty"`
	StartedAt  string  `json:"started_at"`
	FinishedAt string  `json:"finished_at"`
}

// Step is one pipeline step.
type Step struct {
	Step       string `json:"step"`
	Title      string `json:"title,omitempty"`
	Status     string `json:"status"`
	DurationMS int64  `json:"duration_ms"`
	Reason     string `json:"reason,omitempty"`
	Warning    string `json:"warning,omitempty"`
	Error      string `json:"error,omitempty"`
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Format(time.RFC3339)
}

// Build collects the facts of res. feature names what was shipped.
func Build(res shipprod.Result, feature string) *Document {
	rel := res.Release
	d := &Document{
		Schema:          Schema,
		Feature:         feature,
		Outcome:         string(res.Outcome),
		Version:         rel.Version,
		Tag:             rel.Tag,
		PreviousVersion: rel.PreviousVersion,
		PreviousTag:     rel.PreviousTag,
		Bump:            string(rel.Bump),
		Commit:          rel.Commit,
		Branch:          rel.Branch,
		Remote:          git.MaskURL(rel.Remote),
		ReleaseURL:      rel.ReleaseURL,
		Changes:         strings.TrimSpace(rel.Notes),
		GateSource:      res.Gates.Source,
		Warnings:        res.Warnings,
		Error:           res.Error,
		StartedAt:       stamp(res.StartedAt),
		FinishedAt:      stamp(res.FinishedAt),
		Files:           rel.Files,
		RollbackSteps:   []string{},
		Steps:           []Step{},
	}
	if d.Outcome == "" {
		d.Outcome = "in progress"
	}
	for _, r := range rel.Reasons {
		d.Reasons = append(d.Reasons, Reason{Source: r.Source, Text: r.Text, Bump: string(r.Bump)})
	}
	for _, g := range res.Gates.Gates {
		d.Gates = append(d.Gates, Gate(g))
	}
	if dep := res.Deployment; dep != nil {
		d.Deployment = deploy(*dep)
		d.ProductionURL = git.MaskURL(dep.URL)
		d.DeployedAt = stamp(dep.FinishedAt)
		d.RollbackSteps = append(d.RollbackSteps, dep.RollbackSteps...)
	}
	if res.Health != nil {
		d.Health = health(*res.Health)
	}
	if m := res.Monitor; m != nil {
		d.Monitor = &Monitor{Verdict: string(m.Verdict), Reason: m.Reason, WindowSeconds: int64(m.Window / time.Second),
			StartedAt: stamp(m.StartedAt), FinishedAt: stamp(m.FinishedAt)}
		for _, g := range m.Gates {
			d.Monitor.Gates = append(d.Monitor.Gates, MonitorGate{Name: g.Name, Verdict: string(g.Verdict), Measurements: g.Measurements,
				Failures: g.Failures, Errors: g.Errors, Inconclusive: g.Inconclusive, Critical: g.Critical, DryRun: g.DryRun, Message: g.Message})
		}
		d.MonitorStatus = "finished: " + string(m.Verdict)
	} else if s, ok := res.Step(shipprod.StepMonitor); ok && s.Status == shipprod.StepSkipped {
		d.MonitorStatus = "not run: " + s.Reason
	} else if s, ok := res.Step(shipprod.StepMonitor); ok {
		d.MonitorStatus = string(s.Status) + ": " + s.Error
	} else {
		d.MonitorStatus = "pending: the monitor starts after this report is written, and the report is updated when its window ends"
	}
	if rb := res.Rollback; rb != nil {
		d.Rollback = &Rollback{Reason: rb.Reason, Error: rb.Error, StartedAt: stamp(rb.StartedAt), FinishedAt: stamp(rb.FinishedAt)}
		if rb.Restored.ID != "" {
			d.Rollback.Restored = deploy(rb.Restored)
		}
		if rb.Health != nil {
			d.Rollback.Health = health(*rb.Health)
		}
	}
	if rel.Tag != "" && rel.Commit != "" {
		remote := cmp.Or(d.Remote, "origin")
		if strings.Contains(remote, "***") {
			remote = "<remote>" // its credentials are masked: name your own remote
		}
		d.RollbackSteps = append(d.RollbackSteps,
			fmt.Sprintf("Optional, only if %s must never be deployed again (tags are kept by default so that the history stays true): git tag -d %s && git push %s :refs/tags/%s", rel.Tag, rel.Tag, remote, rel.Tag))
	}
	for _, s := range res.Steps {
		d.Steps = append(d.Steps, Step{Step: string(s.Step), Title: s.Title, Status: string(s.Status), DurationMS: s.Duration.Milliseconds(),
			Reason: s.Reason, Warning: s.Warning, Error: s.Error})
	}
	d.Reports = res.Reports
	return d
}

func deploy(dep shipprod.Deployment) *Deploy {
	details := map[string]string{}
	for k, v := range dep.Details {
		details[k] = git.MaskURL(v)
	}
	if len(details) == 0 {
		details = nil
	}
	var dur int64
	if !dep.StartedAt.IsZero() && !dep.FinishedAt.IsZero() {
		dur = dep.FinishedAt.Sub(dep.StartedAt).Milliseconds()
	}
	return &Deploy{Provider: dep.Provider, ID: dep.ID, URL: git.MaskURL(dep.URL), Environment: dep.Environment, Commit: dep.Commit,
		PreviousID: dep.PreviousID, StartedAt: stamp(dep.StartedAt), FinishedAt: stamp(dep.FinishedAt), DurationMS: dur, Details: details}
}

func health(h shipprod.HealthReport) *Health {
	out := &Health{Passed: h.OK(), CheckedAt: stamp(h.CheckedAt), Checks: []Check{}}
	for _, c := range h.Checks {
		out.Checks = append(out.Checks, Check{Name: c.Name, Kind: c.Kind, Target: git.MaskURL(c.Target), Status: string(c.Status),
			Attempts: c.Attempts, LatencyMS: c.Latency.Milliseconds(), Message: c.Message, Error: c.Error})
	}
	return out
}

var outcomeLine = map[string]string{
	string(shipprod.OutcomeShipped):          "✅ Deployed to Production",
	string(shipprod.OutcomeRolledBack):       "↩️ Rolled back: production was unhealthy after the deploy and now runs the previous release",
	string(shipprod.OutcomeUnhealthy):        "❌ Deployed but unhealthy: production was left as it is",
	string(shipprod.OutcomeFailed):           "❌ Failed",
	string(shipprod.OutcomeBlocked):          "⛔ Blocked by release gates",
	string(shipprod.OutcomeNothingToRelease): "➖ Nothing to release",
}

// Markdown renders the report.
func (d *Document) Markdown() string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	title := d.Feature
	if title == "" {
		title = d.Tag
	}
	p("# Production Ship Report: %s\n\n", title)
	status := outcomeLine[d.Outcome]
	if status == "" {
		status = d.Outcome
	}
	p("**Status**: %s\n\n", status)

	p("## Summary\n\n")
	if d.Version != "" {
		from := ""
		if d.PreviousTag != "" {
			from = " from " + d.PreviousTag
		}
		via := ""
		if d.Deployment != nil {
			via = " with " + d.Deployment.Provider
		}
		what := fmt.Sprintf("%s (%s bump%s)", d.Tag, cmp.Or(d.Bump, "unspecified"), from)
		switch shipprod.Outcome(d.Outcome) {
		case shipprod.OutcomeShipped:
			p("Shipped %s to production%s.\n\n", what, via)
		case shipprod.OutcomeRolledBack:
			p("Deployed %s%s, found it unhealthy and rolled production back to %s.\n\n", what, via, cmp.Or(d.PreviousTag, "the previous release"))
		case shipprod.OutcomeUnhealthy:
			p("Deployed %s%s; production is unhealthy and was left as it is.\n\n", what, via)
		case shipprod.OutcomeFailed:
			p("Shipping %s failed; see the error below and the steps table.\n\n", what)
		default:
			p("Shipping %s%s: in progress.\n\n", what, via)
		}
	}
	p("Production URL: %s\n\n", cmp.Or(d.ProductionURL, "not captured"))
	if d.Error != "" {
		p("Error: %s\n\n", oneLine(d.Error))
	}

	p("## Deployment Summary\n\n")
	p("- **Version**: %s\n", cmp.Or(d.Tag, "none"))
	if d.PreviousTag != "" {
		p("- **Previous version**: %s\n", d.PreviousTag)
	}
	p("- **Deployed at**: %s\n", cmp.Or(d.DeployedAt, "not deployed"))
	id := "none"
	if d.Deployment != nil {
		id = d.Deployment.ID
	}
	p("- **Deployment ID**: %s\n", id)
	p("- **Production URL**: %s\n", cmp.Or(d.ProductionURL, "not captured"))
	p("- **Release URL**: %s\n\n", cmp.Or(d.ReleaseURL, "not published"))

	p("## Changes\n\n")
	p("%s\n\n", cmp.Or(d.Changes, "No CHANGELOG entries."))
	if len(d.Reasons) > 0 {
		p("Why %s:\n\n", cmp.Or(d.Bump, "this version"))
		for _, r := range d.Reasons {
			p("- %s: %s (%s)\n", r.Source, oneLine(r.Text), r.Bump)
		}
		p("\n")
	}

	p("## Release Gates\n\n")
	if len(d.Gates) == 0 {
		p("No gates were checked.\n\n")
	}
	for _, g := range d.Gates {
		if g.Passed {
			p("- ✅ %s: `%s` is %q (%s)\n", g.Name, g.Key, g.Found, g.Source)
		} else {
			p("- ❌ %s\n", shipprod.DescribeGate(shipprod.GateResult(g)))
		}
	}
	if len(d.Gates) > 0 {
		p("\n")
	}

	p("## Health Checks\n\n")
	if d.Health == nil {
		p("Not run.\n\n")
	} else {
		writeChecks(&b, d.Health)
	}

	p("## Monitoring\n\n")
	if m := d.Monitor; m != nil {
		p("- **Verdict**: %s%s\n", verdictMark(m.Verdict), m.Verdict)
		p("- **Window**: %s (%s to %s)\n", time.Duration(m.WindowSeconds)*time.Second, m.StartedAt, m.FinishedAt)
		if m.Reason != "" {
			p("- **Reason**: %s\n", m.Reason)
		}
		for _, g := range m.Gates {
			extra := ""
			if g.DryRun {
				extra = " (dry run)"
			}
			p("- %s%s%s: %d measurements, %d failed, %d errors, %d inconclusive", verdictMark(g.Verdict), g.Name, extra, g.Measurements, g.Failures, g.Errors, g.Inconclusive)
			if g.Message != "" {
				p(": %s", g.Message)
			}
			p("\n")
		}
		p("\n")
	} else {
		p("%s\n\n", upperFirst(d.MonitorStatus))
	}

	if rb := d.Rollback; rb != nil {
		p("## Automatic Rollback\n\n")
		p("- **Why**: %s\n", oneLine(rb.Reason))
		if rb.Restored != nil {
			p("- **Restored deployment**: %s (%s)\n", rb.Restored.ID, rb.Restored.Provider)
		}
		if rb.Error != "" {
			p("- **Rollback failed**: %s\n", oneLine(rb.Error))
		}
		p("\n")
		if rb.Health != nil {
			p("Health of the restored version:\n\n")
			writeChecks(&b, rb.Health)
		}
	}

	p("## Deployment Artifacts\n\n")
	p("- **Git tag**: %s\n", cmp.Or(d.Tag, "none"))
	p("- **Commit SHA**: %s\n", cmp.Or(d.Commit, "none"))
	platform := "none"
	if d.Deployment != nil {
		platform = d.Deployment.Provider
	}
	p("- **Deployment platform**: %s\n", platform)
	if d.Deployment != nil {
		keys := make([]string, 0, len(d.Deployment.Details))
		for k := range d.Deployment.Details {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			p("- **%s**: %s\n", k, d.Deployment.Details[k])
		}
	}
	if len(d.Files) > 0 {
		p("- **Version files**: %s\n", strings.Join(d.Files, ", "))
	}
	p("\n")

	p("## Rollback Procedure\n\n")
	if len(d.RollbackSteps) == 0 {
		p("Nothing was deployed, so there is nothing to roll back.\n\n")
	} else {
		for i, s := range d.RollbackSteps {
			p("%d. %s\n", i+1, s)
		}
		p("%d. Run the health checks again and watch error rates until they are back to normal.\n\n", len(d.RollbackSteps)+1)
	}

	p("## Pipeline Steps\n\n")
	p("| Step | Status | Duration | Note |\n|---|---|---|---|\n")
	for _, s := range d.Steps {
		note := s.Reason
		if s.Error != "" {
			note = s.Error
		} else if s.Warning != "" {
			note = s.Warning
		}
		p("| %s | %s | %s | %s |\n", s.Step, s.Status, time.Duration(s.DurationMS)*time.Millisecond, cell(note))
	}
	p("\n")
	if len(d.Warnings) > 0 {
		p("## Warnings\n\n")
		for _, w := range d.Warnings {
			p("- %s\n", oneLine(w))
		}
		p("\n")
	}
	if d.FinishedAt != "" {
		p("_Generated by shipprod for the run of %s to %s._\n", d.StartedAt, d.FinishedAt)
	} else {
		p("_Generated by shipprod for the run started at %s._\n", d.StartedAt)
	}
	return b.String()
}

func writeChecks(b *strings.Builder, h *Health) {
	if len(h.Checks) == 0 {
		b.WriteString("No checks configured.\n\n")
		return
	}
	for _, c := range h.Checks {
		fmt.Fprintf(b, "- %s %s (%s %s): ", statusMark(c.Status), c.Name, c.Kind, c.Target)
		if c.Error != "" {
			b.WriteString(oneLine(c.Error))
		} else {
			b.WriteString(cmp.Or(oneLine(c.Message), c.Status))
		}
		fmt.Fprintf(b, " — %d attempt(s), %s\n", c.Attempts, time.Duration(c.LatencyMS)*time.Millisecond)
	}
	b.WriteString("\n")
}

func statusMark(s string) string {
	switch shipprod.HealthStatus(s) {
	case shipprod.HealthPass:
		return "✅"
	case shipprod.HealthWarn:
		return "⚠️"
	}
	return "❌"
}

func verdictMark(v string) string {
	switch shipprod.Verdict(v) {
	case shipprod.VerdictPassed:
		return "✅ "
	case shipprod.VerdictFailed:
		return "❌ "
	}
	return "⚠️ "
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func cell(s string) string { return strings.ReplaceAll(oneLine(s), "|", "\\|") }

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
