package cli

import (
	"fmt"
	"strings"

	"github.com/shipprod/shipprod"
)

// The last lines of a run: the outcome, where the release is (the Release
// URL and the Production URL), how it was verified, the reports, the
// warnings and, when the run did not end well, the exact commands to run
// next.

// summaryLines is the summary of a run; shipCmd is the command that ships
// (or resumes) this project, e.g. "shipprod ship --dir app".
func summaryLines(st style, res *shipprod.Result, shipCmd string) []string {
	lines := []string{"", headline(st, res)}
	if res.Outcome == shipprod.OutcomeNotVerified {
		for _, r := range res.NotVerified {
			lines = append(lines, st.yellow("   - "+oneLine(r)))
		}
	}
	if u := res.Release.ReleaseURL; u != "" {
		lines = append(lines, "   Release URL:    "+u)
	}
	if d := res.Deployment; d != nil && d.URL != "" {
		lines = append(lines, "   Production URL: "+d.URL)
	}
	lines = append(lines, verification(res)...)
	for _, r := range res.Reports {
		lines = append(lines, "   Report: "+r)
	}
	for _, w := range res.Warnings {
		lines = append(lines, st.yellow(indent("Warning: "+w, "⚠️  ")))
	}
	if steps := followUps(res, shipCmd); len(steps) > 0 {
		lines = append(lines, "", st.bold("Next:"))
		for _, s := range steps {
			lines = append(lines, "   "+s.text)
			for _, c := range s.commands {
				lines = append(lines, "     $ "+c)
			}
		}
	}
	return lines
}

// headline is the outcome in one line.
func headline(st style, res *shipprod.Result) string {
	rel := res.Release
	switch res.Outcome {
	case shipprod.OutcomeShipped:
		via := ""
		if d := res.Deployment; d != nil {
			via = fmt.Sprintf(" with %s (deployment %s)", d.Provider, d.ID)
		}
		return st.green(fmt.Sprintf("✅ Shipped %s to production%s", rel.Tag, via))
	case shipprod.OutcomeNotVerified:
		return st.yellow(fmt.Sprintf("⚠️  Shipped %s to production, not verified:", rel.Tag))
	case shipprod.OutcomeReleased:
		return st.green(fmt.Sprintf("🏷️  Released %s (tagged and published; nothing was deployed)", rel.Tag))
	case shipprod.OutcomeInterrupted:
		return st.yellow("⏸️  Interrupted: " + oneLine(res.Error))
	case shipprod.OutcomeNothingToRelease:
		return "➖ Nothing to release"
	case shipprod.OutcomeRolledBack:
		return st.red(fmt.Sprintf("↩️  %s was unhealthy in production and was rolled back to %s", rel.Tag, rel.PreviousTag))
	case shipprod.OutcomeUnhealthy:
		return st.red(fmt.Sprintf("❌ %s is in production and unhealthy; it was left as it is", rel.Tag))
	case shipprod.OutcomeBlocked:
		return st.red("⛔ Blocked by the release gates; nothing was changed")
	}
	return st.red("❌ Failed: " + oneLine(res.Error))
}

// verification says what the health checks, the monitor and a rollback
// found.
func verification(res *shipprod.Result) []string {
	var lines []string
	if h := res.Health; h != nil && len(h.Checks) > 0 {
		lines = append(lines, fmt.Sprintf("   Health checks:  %d of %d passed", len(h.Checks)-len(h.Failed()), len(h.Checks)))
	}
	if m := res.Monitor; m != nil {
		line := "   Monitor:        " + string(m.Verdict)
		if m.Reason != "" {
			line += ": " + oneLine(m.Reason)
		}
		lines = append(lines, line)
	}
	if r := res.Rollback; r != nil {
		switch {
		case r.Error != "":
			lines = append(lines, "   Rollback:       failed: "+oneLine(r.Error))
		default:
			lines = append(lines, fmt.Sprintf("   Rollback:       production restored to %s (deployment %s)", cmpOr(r.Target.Tag, r.Target.Version), r.Restored.ID))
		}
	}
	return lines
}

// followUp is one thing to do after a run, with the commands that do it.
type followUp struct {
	text     string
	commands []string
}

// followUps says what to do after a run that did not end well.
func followUps(res *shipprod.Result, shipCmd string) []followUp {
	rel := res.Release
	switch res.Outcome {
	case shipprod.OutcomeFailed:
		if madeChanges(res) {
			return []followUp{{text: "Fix the cause above, then resume this run where it stopped (add --fresh to start over instead):", commands: []string{shipCmd}}}
		}
		return []followUp{{text: "Fix the cause above, then ship again:", commands: []string{shipCmd}}}
	case shipprod.OutcomeInterrupted:
		return []followUp{{text: "Resume this run where it stopped:", commands: []string{shipCmd}}}
	case shipprod.OutcomeBlocked:
		return []followUp{{text: "Pass the gates named above (each says how), then ship:", commands: []string{shipCmd}}}
	case shipprod.OutcomeRolledBack:
		return []followUp{{text: fmt.Sprintf("Production runs %s again. Fix what made %s unhealthy, commit the fix and ship a new version:", cmpOr(rel.PreviousTag, "the previous release"), rel.Tag),
			commands: []string{shipCmd}}}
	case shipprod.OutcomeUnhealthy:
		return unhealthySteps(res, shipCmd)
	case shipprod.OutcomeNotVerified:
		return []followUp{{text: fmt.Sprintf("Nothing verified %s: check production yourself, and configure health checks and a monitor so that the next release is verified.", rel.Tag)}}
	}
	return nil
}

// unhealthySteps are the next steps when production was left unhealthy:
// the deployer's own rollback commands.
func unhealthySteps(res *shipprod.Result, shipCmd string) []followUp {
	rel := res.Release
	var rollback []string
	if d := res.Deployment; d != nil {
		rollback = d.RollbackSteps
	}
	first := followUp{text: fmt.Sprintf("Production still runs %s. Roll it back to %s by hand:", rel.Tag, cmpOr(rel.PreviousTag, "the previous release")), commands: rollback}
	if len(rollback) == 0 {
		first.text = fmt.Sprintf("Production still runs %s. Roll it back to %s by hand (the deployer gave no rollback steps; the ship report has what is known).", rel.Tag, cmpOr(rel.PreviousTag, "the previous release"))
	}
	return []followUp{first, {text: "Then fix the cause, commit the fix and ship a new version:", commands: []string{shipCmd}}}
}

// madeChanges reports whether a run made a release that the next run
// resumes: its version, tag or deploy step finished (or was resumed).
func madeChanges(res *shipprod.Result) bool {
	for _, s := range res.Steps {
		switch s.Step {
		case shipprod.StepVersion, shipprod.StepTag, shipprod.StepDeploy:
			if s.Status == shipprod.StepDone || s.Resumed {
				return true
			}
		}
	}
	return false
}

func cmpOr(s, fallback string) string {
	if s != "" {
		return s
	}
	return fallback
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_./:=@%+-,") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
