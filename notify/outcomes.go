package notify

import (
	"cmp"
	"fmt"
	"strings"

	"github.com/shipprod/shipprod"
)

// The outcomes where production or the release needs a human.

func (b *composition) rolledBack() {
	rb := b.res.Rollback
	target := b.previousName()
	if rb != nil {
		target = cmp.Or(rb.Target.Tag, rb.Target.Version, rb.Restored.Tag, rb.Restored.Version, target)
	}
	b.title("%s was rolled back to %s", b.name(), target)
	s := fmt.Sprintf("Production was unhealthy after %s was deployed: %s. It was rolled back to %s", b.name(), b.unhealthyReason(), target)
	if rb != nil && rb.Restored.ID != "" {
		s += " (deployment " + rb.Restored.ID + ")"
	}
	b.m.Summary = s + "."
	b.unhealthyFacts()
	restoredSick := false
	if rb != nil {
		for _, n := range rb.Notes {
			b.detail("%s", n)
		}
		if rb.Health != nil && !rb.Health.OK() {
			restoredSick = true
			for _, c := range rb.Health.Failed() {
				b.detail("After the rollback, health check %s failed: %s", c.Name, cmp.Or(c.Error, c.Message))
			}
		}
		if rb.Error != "" {
			b.detail("Rollback: %s", rb.Error)
		}
	}
	if restoredSick {
		b.do(fmt.Sprintf("Production runs %s again, but its health checks failed too: check production now.", target))
	}
	b.do(fmt.Sprintf("%s needs a fix: find out why it was unhealthy%s, fix it and ship a new version.", b.name(), b.seeReport()))
}

func (b *composition) unhealthy() {
	where := ""
	if d := b.res.Deployment; d != nil && d.URL != "" {
		where = " (" + d.URL + ")"
	}
	b.title("%s is in production and unhealthy", b.name())
	b.m.Summary = fmt.Sprintf("Production%s runs %s and is unhealthy: %s. It was not rolled back: %s.",
		where, b.name(), b.unhealthyReason(), b.whyLeft())
	b.unhealthyFacts()
	b.rollbackSteps("To roll back:")
	b.do(fmt.Sprintf("Fix %s%s, then ship a new version.", b.name(), b.seeReport()))
}

// whyLeft says why an unhealthy production was not rolled back.
func (b *composition) whyLeft() string {
	if rb := b.res.Rollback; rb != nil && rb.Error != "" {
		return "the rollback failed: " + rb.Error
	}
	if s, ok := b.res.Step(shipprod.StepRollback); ok {
		switch {
		case s.Status == shipprod.StepSkipped && s.Reason != "":
			return s.Reason
		case s.Status == shipprod.StepFailed && s.Error != "":
			return "the rollback failed: " + s.Error
		}
	}
	return "no rollback was made"
}

// unhealthyReason says why production was found unhealthy.
func (b *composition) unhealthyReason() string {
	r := b.res.Unhealthy
	if r == "" && b.res.Rollback != nil {
		r = b.res.Rollback.Reason
	}
	if r == "" && b.res.Monitor != nil && b.res.Monitor.Verdict == shipprod.VerdictFailed {
		r = b.res.Monitor.Reason
	}
	if r == "" && b.res.Health != nil {
		if failed := b.res.Health.Failed(); len(failed) > 0 {
			r = plural(len(failed), "health check") + " failed"
		}
	}
	return strings.TrimSuffix(oneLine(cmp.Or(r, "the reason was not recorded")), ".")
}

// unhealthyFacts lists the failed health checks and monitor gates.
func (b *composition) unhealthyFacts() {
	if h := b.res.Health; h != nil {
		for _, c := range h.Failed() {
			target := ""
			if c.Target != "" {
				target = " (" + c.Target + ")"
			}
			b.detail("Health check %s%s failed: %s", c.Name, target, cmp.Or(c.Error, c.Message))
		}
	}
	if m := b.res.Monitor; m != nil && m.Verdict == shipprod.VerdictFailed {
		for _, g := range m.Gates {
			if g.Verdict == shipprod.VerdictFailed {
				b.detail("Monitor gate %s failed: %s", g.Name, g.Message)
			}
		}
	}
}

func (b *composition) seeReport() string {
	if len(b.res.Reports) == 0 {
		return ""
	}
	return " (see the ship report, " + b.res.Reports[0] + ")"
}

func (b *composition) blocked() {
	b.title("Release blocked by the release gates")
	blocking := b.res.Gates.Blocking()
	if len(blocking) == 0 {
		b.m.Summary = "Nothing was changed: the release gates could not be checked."
		b.errorLines()
		return
	}
	b.m.Summary = fmt.Sprintf("Nothing was changed: %s did not pass.", plural(len(blocking), "release gate"))
	for _, g := range blocking {
		where := ""
		if g.Source != "" {
			where = " (" + g.Source + ")"
		}
		found := cmp.Or(g.Found, "nothing")
		if g.Found != "" {
			found = fmt.Sprintf("%q", g.Found)
		}
		b.detail("Gate %s%s: %s is %s, needs %q", g.Name, where, cmp.Or(g.Key, "the gate"), found, g.Required)
		if g.Hint != "" {
			b.do(g.Name + ": " + g.Hint)
		}
	}
}

func (b *composition) failed() {
	verb := "failed"
	if b.res.Outcome == shipprod.OutcomeInterrupted {
		verb = "was interrupted"
	}
	if b.res.Release.Version != "" || b.res.Release.Tag != "" {
		b.title("Release %s %s", b.name(), verb)
	} else {
		b.title("Release %s", verb)
	}
	b.m.Summary = b.failure(verb)
	b.errorLines()
	cmd := cmp.Or(b.c.ResumeCommand, DefaultResumeCommand)
	switch {
	case b.res.Release.Commit != "":
		b.do(fmt.Sprintf("Run the release again to resume it where this run stopped (%s is not made again):", b.name()), cmd)
	case b.res.Outcome == shipprod.OutcomeInterrupted:
		b.do("No release was made; run it again:", cmd)
	default:
		b.do("No release was made; fix the error, then run it again:", cmd)
	}
	if b.res.Deployment != nil {
		b.rollbackSteps(fmt.Sprintf("%s was deployed; if production is not healthy, roll it back by hand:", b.name()))
	}
}

// failure says which step failed, e.g. "Step tag failed." or "The run was
// interrupted during deploy."
func (b *composition) failure(verb string) string {
	for _, s := range b.res.Steps {
		switch s.Status {
		case shipprod.StepFailed:
			return fmt.Sprintf("Step %s failed.", s.Step)
		case shipprod.StepRunning:
			return fmt.Sprintf("The run %s during step %s.", verb, s.Step)
		}
	}
	return "The run " + verb + "."
}

// errorLines lists the run's error, one line per joined error.
func (b *composition) errorLines() {
	for _, l := range strings.Split(b.res.Error, "\n") {
		if l = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(l), "- ")); l != "" {
			b.detail("%s", l)
		}
	}
}

// warnings adds the run's warnings to the details.
func (b *composition) warnings() {
	for _, w := range b.res.Warnings {
		b.detail("Warning: %s", w)
	}
}

func (b *composition) links() {
	if u := b.res.Release.ReleaseURL; u != "" {
		b.m.Links = append(b.m.Links, Link{Label: "Release", URL: u})
	}
	if d := b.res.Deployment; d != nil && d.URL != "" {
		b.m.Links = append(b.m.Links, Link{Label: "Production", URL: d.URL})
	}
}
