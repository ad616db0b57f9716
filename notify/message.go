package notify

import (
	"cmp"
	"fmt"
	"strings"
	"time"

	"github.com/shipprod/shipprod"
	"github.com/shipprod/shipprod/internal/git"
)

// Severity grades an outcome for people and for receivers that route on it.
type Severity string

// Severities, from the least to the most urgent.
const (
	// SeverityOK: shipped, released, or nothing to release.
	SeverityOK Severity = "ok"
	// SeverityWarning: live but not verified, blocked by a gate, or
	// interrupted.
	SeverityWarning Severity = "warning"
	// SeverityError: the run failed, or production was unhealthy and was
	// rolled back.
	SeverityError Severity = "error"
	// SeverityCritical: production is unhealthy now and was left as it is.
	SeverityCritical Severity = "critical"
)

// Message is what a notification says: a one-line title, the verdict, the
// facts behind it and what to do. Compose builds it from a Result; the Slack
// text and the webhook body are both rendered from it, so they say the same.
// Every string in it has credentials in URLs masked.
type Message struct {
	Outcome  shipprod.Outcome `json:"outcome"`
	Severity Severity         `json:"severity"`
	// Title is one line, e.g. "checkout: v2.7.0 is in production and unhealthy".
	Title string `json:"title"`
	// Summary is the verdict in a sentence or two.
	Summary string `json:"summary"`
	// Details are the facts behind the verdict: the reasons, the failed
	// checks, the blocking gates, the warnings.
	Details []string `json:"details,omitempty"`
	// Actions say what to do, with the exact commands.
	Actions []Instruction `json:"actions,omitempty"`
	// Links are the release page and the production URL, when known.
	Links []Link `json:"links,omitempty"`
}

// Instruction is one thing to do. Commands, when set, are to be run in
// order, exactly as written.
type Instruction struct {
	Text     string   `json:"text"`
	Commands []string `json:"commands,omitempty"`
}

// Link is a labelled URL.
type Link struct {
	Label string `json:"label"`
	URL   string `json:"url"`
}

// DefaultResumeCommand is the command that resumes a failed run with the
// reference command line.
const DefaultResumeCommand = "shipprod ship"

// Composer builds Messages.
type Composer struct {
	// Project names what was shipped, as a prefix of the title ("" for
	// none).
	Project string
	// ResumeCommand is the command that resumes a failed run (default
	// DefaultResumeCommand). An importer that runs the Pipeline its own
	// way names its own command here.
	ResumeCommand string
}

// maxDetails bounds the facts a message lists, so that a run with
// hundreds of failed checks still sends a readable message.
const maxDetails = 12

// Compose builds the message for res. It only reads res.
func (c Composer) Compose(res shipprod.Result) Message {
	b := &composition{c: c, res: res, m: Message{Outcome: res.Outcome, Severity: severityOf(res.Outcome)}}
	switch res.Outcome {
	case shipprod.OutcomeShipped:
		b.shipped()
	case shipprod.OutcomeNotVerified:
		b.notVerified()
	case shipprod.OutcomeReleased:
		b.released()
	case shipprod.OutcomeRolledBack:
		b.rolledBack()
	case shipprod.OutcomeUnhealthy:
		b.unhealthy()
	case shipprod.OutcomeBlocked:
		b.blocked()
	case shipprod.OutcomeNothingToRelease:
		b.nothingToRelease()
	case shipprod.OutcomeFailed, shipprod.OutcomeInterrupted:
		b.failed()
	default:
		b.title("%s ended %s", b.name(), cmp.Or(string(res.Outcome), "without an outcome"))
		b.m.Summary = b.m.Title + "."
		b.errorLines()
	}
	b.warnings()
	b.links()
	if len(b.m.Details) > maxDetails {
		n := len(b.m.Details) - maxDetails + 1
		b.m.Details = append(b.m.Details[:maxDetails-1], fmt.Sprintf("… and %d more (see the ship report)", n))
	}
	return b.m.mask(git.MaskURL)
}

func severityOf(o shipprod.Outcome) Severity {
	switch o {
	case shipprod.OutcomeShipped, shipprod.OutcomeReleased, shipprod.OutcomeNothingToRelease:
		return SeverityOK
	case shipprod.OutcomeNotVerified, shipprod.OutcomeBlocked, shipprod.OutcomeInterrupted:
		return SeverityWarning
	case shipprod.OutcomeUnhealthy:
		return SeverityCritical
	}
	return SeverityError
}

// mask returns m with f applied to every string.
func (m Message) mask(f func(string) string) Message {
	out := m
	out.Title, out.Summary = f(m.Title), f(m.Summary)
	out.Details = maskAll(m.Details, f)
	out.Actions = make([]Instruction, len(m.Actions))
	for i, a := range m.Actions {
		out.Actions[i] = Instruction{Text: f(a.Text), Commands: maskAll(a.Commands, f)}
	}
	out.Links = make([]Link, len(m.Links))
	for i, l := range m.Links {
		out.Links[i] = Link{Label: f(l.Label), URL: f(l.URL)}
	}
	if len(out.Actions) == 0 {
		out.Actions = nil
	}
	if len(out.Links) == 0 {
		out.Links = nil
	}
	return out
}

func maskAll(ss []string, f func(string) string) []string {
	if ss == nil {
		return nil
	}
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = f(s)
	}
	return out
}

// Text renders the message as plain text: the title, the summary, the
// details as a list, then what to do with each command on a line of its own.
func (m Message) Text() string {
	var b strings.Builder
	b.WriteString(m.Title + "\n\n" + m.Summary + "\n")
	for _, d := range m.Details {
		b.WriteString("- " + d + "\n")
	}
	if len(m.Actions) > 0 {
		b.WriteString("\nWhat to do:\n")
	}
	for _, a := range m.Actions {
		b.WriteString("- " + a.Text + "\n")
		for _, c := range a.Commands {
			b.WriteString("    " + c + "\n")
		}
	}
	for _, l := range m.Links {
		b.WriteString("\n" + l.Label + ": " + l.URL)
	}
	return strings.TrimRight(b.String(), "\n")
}

// composition is the state of one Compose.
type composition struct {
	c   Composer
	res shipprod.Result
	m   Message
}

func (b *composition) title(format string, args ...any) {
	t := fmt.Sprintf(format, args...)
	if b.c.Project != "" {
		t = b.c.Project + ": " + t
	}
	b.m.Title = oneLine(t)
}

func (b *composition) detail(format string, args ...any) {
	b.m.Details = append(b.m.Details, oneLine(fmt.Sprintf(format, args...)))
}

func (b *composition) do(text string, commands ...string) {
	b.m.Actions = append(b.m.Actions, Instruction{Text: text, Commands: commands})
}

// name names the release, e.g. "v2.7.0".
func (b *composition) name() string {
	r := b.res.Release
	return cmp.Or(r.Tag, r.Version, shortSHA(r.Commit), "the release")
}

// where says where the release runs, e.g. "with vercel (deployment
// dpl_123) at https://example.com".
func (b *composition) where() string {
	d := b.res.Deployment
	if d == nil {
		return ""
	}
	s := "with " + cmp.Or(d.Provider, "the deployer")
	if d.ID != "" {
		s += " (deployment " + d.ID + ")"
	}
	if d.URL != "" {
		s += " at " + d.URL
	}
	return s
}

func (b *composition) shipped() {
	b.title("%s shipped to production", b.name())
	s := fmt.Sprintf("%s is live %s", b.name(), b.where())
	if v := b.verifiedBy(); v != "" {
		s += " and verified: " + v
	}
	b.m.Summary = strings.TrimSpace(s) + "."
	if prev := b.res.Release.PreviousTag; prev != "" {
		b.detail("Previous release: %s", prev)
	}
}

// verifiedBy says what verified the release, e.g. "3 health checks passed
// and the monitor passed over 30m0s".
func (b *composition) verifiedBy() string {
	var parts []string
	if h := b.res.Health; h != nil && len(h.Checks) > 0 {
		warn := 0
		for _, c := range h.Checks {
			if c.Status == shipprod.HealthWarn {
				warn++
			}
		}
		p := plural(len(h.Checks), "health check") + " passed"
		if warn > 0 {
			p += fmt.Sprintf(" (%d with a warning)", warn)
		}
		parts = append(parts, p)
	}
	if m := b.res.Monitor; m != nil && m.Verdict == shipprod.VerdictPassed {
		parts = append(parts, "the monitor passed over "+m.Window.String())
	}
	return strings.Join(parts, " and ")
}

func (b *composition) notVerified() {
	b.title("%s is live, not verified", b.name())
	b.m.Summary = strings.TrimSpace(fmt.Sprintf("%s is live %s", b.name(), b.where())) + ", but nothing verified it."
	for _, r := range b.res.NotVerified {
		b.detail("%s", r)
	}
	production := "production"
	if d := b.res.Deployment; d != nil && d.URL != "" {
		production += " (" + d.URL + ")"
	}
	b.do("Check that " + production + " serves " + b.name() + " and works.")
	b.rollbackSteps("If it does not, roll it back by hand:")
	if b.res.Health == nil && b.res.Monitor == nil {
		b.do("Configure health checks (health:) or a monitor (monitor:) in shipprod.yaml, so that the next release is verified.")
	}
}

func (b *composition) released() {
	b.title("%s released (not deployed)", b.name())
	b.m.Summary = b.name() + " was tagged and published; no deployer is configured, so nothing was deployed."
}

func (b *composition) nothingToRelease() {
	b.title("Nothing to release")
	if prev := b.res.Release.PreviousTag; prev != "" {
		b.m.Summary = "No releasable change since " + prev + "; nothing was changed."
		return
	}
	b.m.Summary = "No releasable change; nothing was changed."
}

// rollbackSteps tells how to roll the deployment back by hand, or that no
// command is known.
func (b *composition) rollbackSteps(intro string) {
	d := b.res.Deployment
	if d == nil {
		return
	}
	if len(d.RollbackSteps) > 0 {
		b.do(intro, d.RollbackSteps...)
		return
	}
	b.do(fmt.Sprintf("%s names no rollback command: return production to %s with %s's own tools.",
		cmp.Or(d.Provider, "The deployer"), b.previousName(), cmp.Or(d.Provider, "the provider")))
}

// previousName names what production ran before this release.
func (b *composition) previousName() string {
	if p := b.res.PreviousProduction; p != nil {
		if n := cmp.Or(p.Tag, p.Version, p.ID); n != "" {
			return n
		}
	}
	return cmp.Or(b.res.Release.PreviousTag, b.res.Release.PreviousVersion, "the previous release")
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

func shortSHA(sha string) string {
	if len(sha) > 12 {
		return sha[:12]
	}
	return sha
}

// oneLine folds s onto one line.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// stamp formats t in RFC 3339, UTC ("" for the zero time).
func stamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}
