package version

import (
	"fmt"
	"io"
	"strings"

	"github.com/shipprod/shipprod"
)

// Decision is what Decide found: the current version, the next one, the
// bump and the evidence for it. It is what `shipprod version` prints, as
// text (WriteText) or JSON.
type Decision struct {
	// Current is the current version ("" before the first release) and
	// CurrentSource where it was read ("tag v1.4.0", "package.json:3", "none").
	Current       string `json:"current"`
	CurrentSource string `json:"current_source"`
	// CurrentTag and CurrentCommit are the current version's tag and the
	// commit it points at, when the version comes from a tag.
	CurrentTag    string `json:"current_tag,omitempty"`
	CurrentCommit string `json:"current_commit,omitempty"`
	// Stable is the last stable release tag's version, when Current is a
	// pre-release after it.
	Stable string `json:"stable,omitempty"`
	// Next is the next version and Tag its tag; both empty when there is
	// nothing to release.
	Next string        `json:"next,omitempty"`
	Tag  string        `json:"tag,omitempty"`
	Bump shipprod.Bump `json:"bump"`
	// Reasons are the commits, CHANGELOG entries and settings behind the
	// bump, most significant first.
	Reasons []shipprod.Reason `json:"reasons,omitempty"`
	// NothingToRelease is set when nothing releasable happened; Why says
	// why, e.g. "nothing to release since v1.4.0: 3 commits, none
	// releasable (2 chore, 1 docs)".
	NothingToRelease bool   `json:"nothing_to_release,omitempty"`
	Why              string `json:"why,omitempty"`
	// Commits counts the commits since the current version.
	Commits int `json:"commits"`
	// Files are the files the release rewrites, in the order written.
	Files []string `json:"files,omitempty"`
	// Notes is the release's CHANGELOG section (or, when the Unreleased
	// section is empty, entries generated from the commits).
	Notes string `json:"notes,omitempty"`
	// Head is the commit decided on, Branch the branch it is on ("" when
	// HEAD is detached).
	Head   string `json:"head"`
	Branch string `json:"branch,omitempty"`
	// Warnings are things worth knowing that did not stop the decision.
	Warnings []string `json:"warnings,omitempty"`
	// Refusal is set when the forced version.bump is below what the
	// changes since the last release ask for, and not allowed
	// (version.allow_lower_bump): Decide returns this Decision with the
	// same error, and Next and Tag are empty.
	Refusal *BumpTooLowError `json:"refusal,omitempty"`
}

// Release returns the decision as the shipprod.Release the pipeline ships.
func (d *Decision) Release() shipprod.Release {
	rel := shipprod.Release{
		Version:         d.Next,
		PreviousVersion: d.Current,
		Tag:             d.Tag,
		PreviousTag:     d.CurrentTag,
		PreviousCommit:  d.CurrentCommit,
		Bump:            d.Bump,
		Reasons:         d.Reasons,
		Notes:           d.Notes,
		Files:           d.Files,
		Branch:          d.Branch,
		Base:            d.Head,
	}
	if d.NothingToRelease {
		rel.Bump = shipprod.BumpNone
	}
	return rel
}

// WriteText writes the decision for a human:
//
//	current  1.4.0 (tag v1.4.0)
//	next     1.5.0 (tag v1.5.0)
//	bump     minor, from 3 commits
//	reasons  minor  commit 1a2b3c4  feat(api): add pagination
//	         patch  commit 5d6e7f8  fix: crash on empty input
//	files    package.json, CHANGELOG.md
func (d *Decision) WriteText(w io.Writer) error {
	var b strings.Builder
	row := func(label, format string, args ...any) {
		fmt.Fprintf(&b, "%-9s%s\n", label, fmt.Sprintf(format, args...))
	}
	if d.Current == "" {
		row("current", "none (first release)")
	} else {
		row("current", "%s (%s)", d.Current, d.CurrentSource)
	}
	if d.Refusal != nil {
		writeRefusal(row, d.Refusal)
	} else if d.NothingToRelease {
		row("next", "nothing to release")
		row("why", "%s", strings.TrimPrefix(d.Why, "nothing to release "))
	} else {
		row("next", "%s (tag %s)", d.Next, d.Tag)
		row("bump", "%s, from %d %s", d.Bump, d.Commits, plural(d.Commits, "commit", "commits"))
		for i, r := range d.Reasons {
			label := ""
			if i == 0 {
				label = "reasons"
			}
			row(label, "%-11s %-15s %s", r.Bump, r.Source, r.Text)
		}
		if len(d.Files) > 0 {
			row("files", "%s", strings.Join(d.Files, ", "))
		}
	}
	for i, wn := range d.Warnings {
		label := ""
		if i == 0 {
			label = "warnings"
		}
		row(label, "%s", wn)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// writeRefusal writes a refused forced bump for a human:
//
//	next     refused: version.bump: minor gives 1.5.0, below 2.0.0 (major), which the changes since v1.4.0 ask for
//	asking   major       commit 1a2b3c4  feat!: drop v1 API
//	fix      set version.bump: major (or auto), or version.allow_lower_bump: true to release 1.5.0 anyway
func writeRefusal(row func(label, format string, args ...any), e *BumpTooLowError) {
	row("next", "refused: %s", e.Summary())
	for i, r := range e.Evidence {
		label := ""
		if i == 0 {
			label = "asking"
		}
		row(label, "%-11s %-15s %s", r.Bump, r.Source, r.Text)
	}
	row("fix", "%s", e.Fix())
}

// String is the decision as WriteText writes it.
func (d *Decision) String() string {
	var b strings.Builder
	d.WriteText(&b)
	return b.String()
}
