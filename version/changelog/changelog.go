// Package changelog reads and releases CHANGELOG.md files written in the
// Keep a Changelog 1.1.0 style (https://keepachangelog.com/en/1.1.0/):
//
//	## [Unreleased]
//
//	### Added
//	- New thing.
//
//	## [1.4.0] - 2024-05-02
//	…
//
//	[Unreleased]: https://github.com/o/r/compare/v1.4.0...HEAD
//	[1.4.0]: https://github.com/o/r/compare/v1.3.0...v1.4.0
//
// Parse finds the Unreleased section with its entries (grouped under ###
// headings, with line numbers), the released sections and the link
// reference definitions. Release turns the Unreleased section into a
// version section, leaves a fresh empty Unreleased section on top and
// updates the compare links, changing nothing else in the file. Headings
// inside fenced code blocks are ignored.
package changelog

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// Changelog is a parsed CHANGELOG file.
type Changelog struct {
	lines   []string // without line ends
	crlf    bool     // the file uses "\r\n"
	finalNL bool     // the file ends with a line end

	// Unreleased is the Unreleased section, nil when there is none.
	Unreleased *Section
	// Releases are the released sections, in file order (newest first in a
	// well-kept file).
	Releases []Section
	// Links are the link reference definitions ("[1.4.0]: https://…").
	Links []Link
}

// Section is one "## " section.
type Section struct {
	// Heading is the heading line without "## ".
	Heading string
	// Version is the version the heading names, as written but without
	// brackets or a leading "v" ("1.4.0"); "" for the Unreleased section.
	Version string
	// Date is the first YYYY-MM-DD date in the heading, if any.
	Date string
	// Line is the heading's 1-based line number.
	Line int
	// End is the 1-based line number just after the section's last line.
	End int
	// Groups are the "### " groups of entries (only parsed for Unreleased).
	Groups []Group
	// Entries without a group heading, directly under the section heading.
	Loose []Entry
}

// Group is a "### Added"-style group of entries.
type Group struct {
	Name    string
	Line    int
	Entries []Entry
}

// Entry is one change: a top-level list item (with its continuation lines)
// or a paragraph.
type Entry struct {
	Text string
	Line int
}

// AllEntries returns every entry of the section with the name of its group
// ("" for loose entries), in file order.
func (s *Section) AllEntries() []GroupedEntry {
	var out []GroupedEntry
	for _, e := range s.Loose {
		out = append(out, GroupedEntry{Entry: e})
	}
	for _, g := range s.Groups {
		for _, e := range g.Entries {
			out = append(out, GroupedEntry{Group: g.Name, Entry: e})
		}
	}
	return out
}

// GroupedEntry is an entry with the name of its group.
type GroupedEntry struct {
	Group string
	Entry
}

// Link is a link reference definition.
type Link struct {
	Label string
	URL   string
	Line  int
}

// Error is a problem with a CHANGELOG, at a line (0 when it concerns the
// whole file).
type Error struct {
	Line int
	Msg  string
	// Err is the sentinel the error is an instance of, if any
	// (ErrAlreadyReleased).
	Err error
}

func (e *Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("line %d: %s", e.Line, e.Msg)
	}
	return e.Msg
}

func (e *Error) Unwrap() error { return e.Err }

// ErrNoUnreleased means the CHANGELOG has no Unreleased section.
var ErrNoUnreleased = errors.New(`no "## [Unreleased]" section`)

// ErrAlreadyReleased means the CHANGELOG already has a section for the
// version being released.
var ErrAlreadyReleased = errors.New("version already released")

var (
	linkDefRe = regexp.MustCompile(`^ {0,3}\[([^\]]+)\]:\s*(\S+)`)
	dateRe    = regexp.MustCompile(`\b\d{4}-\d{2}-\d{2}\b`)
	bulletRe  = regexp.MustCompile(`^ ?[-*+][ \t]+(.*)$`)
	fenceRe   = regexp.MustCompile("^ {0,3}(```+|~~~+)")
)

// Parse parses a CHANGELOG. It fails only on a file with two Unreleased
// sections; everything else is Markdown it keeps as it is.
func Parse(data []byte) (*Changelog, error) {
	text := string(data)
	c := &Changelog{finalNL: strings.HasSuffix(text, "\n")}
	if c.finalNL {
		text = text[:len(text)-1]
	}
	c.crlf = strings.HasSuffix(string(data), "\r\n") || strings.Contains(text, "\r\n")
	if len(data) > 0 {
		c.lines = strings.Split(text, "\n")
	}
	for i, l := range c.lines {
		c.lines[i] = strings.TrimSuffix(l, "\r")
	}

	// Headings and link definitions, outside fenced code blocks.
	var headings []int
	var scan scanner
	for i, l := range c.lines {
		if !scan.text(l) {
			continue
		}
		if strings.HasPrefix(l, "## ") || l == "##" {
			headings = append(headings, i)
			continue
		}
		if m := linkDefRe.FindStringSubmatch(l); m != nil {
			c.Links = append(c.Links, Link{Label: m[1], URL: m[2], Line: i + 1})
		}
	}
	// The trailing block of link definitions and blank lines ends the last
	// section.
	tail := len(c.lines)
	for tail > 0 {
		l := c.lines[tail-1]
		if strings.TrimSpace(l) == "" || linkDefRe.MatchString(l) {
			tail--
			continue
		}
		break
	}
	for k, h := range headings {
		end := len(c.lines)
		if k+1 < len(headings) {
			end = headings[k+1]
		} else if tail > h {
			end = tail
		}
		title := strings.TrimSpace(strings.TrimPrefix(c.lines[h], "##"))
		s := Section{Heading: title, Line: h + 1, End: end + 1}
		if isUnreleased(title) {
			if c.Unreleased != nil {
				return nil, &Error{Line: h + 1, Msg: fmt.Sprintf("a second Unreleased section (the first is at line %d)", c.Unreleased.Line)}
			}
			s.parseEntries(c.lines, h+1, end)
			c.Unreleased = &s
			continue
		}
		s.Version = headingVersion(title)
		s.Date = dateRe.FindString(title)
		c.Releases = append(c.Releases, s)
	}
	return c, nil
}

// scanner follows fenced code blocks and HTML comments line by line.
type scanner struct {
	fence     string // the open fence's marker, "" outside code
	inComment bool
}

// text reports whether line l is Markdown text: not inside (or opening or
// closing) a fenced code block or an HTML comment.
func (s *scanner) text(l string) bool {
	if s.inComment {
		s.inComment = !strings.Contains(l, "-->")
		return false
	}
	if m := fenceRe.FindStringSubmatch(l); m != nil {
		marker := m[1][:1]
		switch {
		case s.fence == "":
			s.fence = marker
		case marker == s.fence:
			s.fence = ""
		}
		return false
	}
	if s.fence != "" {
		return false
	}
	if t := strings.TrimSpace(l); strings.HasPrefix(t, "<!--") {
		s.inComment = !strings.Contains(t[4:], "-->")
		return false
	}
	return true
}

// isUnreleased reports whether a heading names the Unreleased section:
// "[Unreleased]", "Unreleased", "[Unreleased](url)", any case.
func isUnreleased(title string) bool {
	t := strings.TrimLeft(title, "[")
	word := t
	if i := strings.IndexAny(t, "] ("); i >= 0 {
		word = t[:i]
	}
	return strings.EqualFold(word, "unreleased")
}

// headingVersion extracts the version a release heading names.
func headingVersion(title string) string {
	v := title
	if strings.HasPrefix(v, "[") {
		if i := strings.Index(v, "]"); i > 0 {
			v = v[1:i]
		} else {
			v = v[1:]
		}
	} else if i := strings.IndexAny(v, " \t("); i >= 0 {
		v = v[:i]
	}
	v = strings.TrimSpace(v)
	if len(v) > 1 && (v[0] == 'v' || v[0] == 'V') && v[1] >= '0' && v[1] <= '9' {
		v = v[1:]
	}
	return v
}

// parseEntries fills the section's groups and entries from lines[from:to].
func (s *Section) parseEntries(lines []string, from, to int) {
	var cur *Entry // the entry continuation lines belong to
	prevBlank := true
	inFence, fence, inComment := false, "", false
	add := func(text string, line int) {
		e := Entry{Text: text, Line: line}
		if len(s.Groups) > 0 {
			g := &s.Groups[len(s.Groups)-1]
			g.Entries = append(g.Entries, e)
			cur = &g.Entries[len(g.Entries)-1]
		} else {
			s.Loose = append(s.Loose, e)
			cur = &s.Loose[len(s.Loose)-1]
		}
	}
	for i := from; i < to; i++ {
		l := lines[i]
		if inComment {
			if strings.Contains(l, "-->") {
				inComment = false
			}
			continue
		}
		if m := fenceRe.FindStringSubmatch(l); m != nil {
			marker := m[1][:1]
			opening := !inFence
			if opening {
				inFence, fence = true, marker
			} else if marker == fence {
				inFence = false
			}
			// An unindented fence after a blank line starts an entry of its
			// own; otherwise the code belongs to the entry above.
			indented := l[0] == ' ' || l[0] == '\t'
			if cur != nil && (!opening || indented || !prevBlank) {
				cur.Text += "\n" + l
			} else {
				add(l, i+1)
			}
			prevBlank = false
			continue
		}
		if inFence {
			if cur != nil {
				cur.Text += "\n" + l
			}
			continue
		}
		trimmed := strings.TrimSpace(l)
		switch {
		case trimmed == "":
			prevBlank = true
			continue
		case strings.HasPrefix(trimmed, "<!--"):
			if !strings.Contains(trimmed, "-->") {
				inComment = true
			}
			continue
		case strings.HasPrefix(l, "### "):
			s.Groups = append(s.Groups, Group{Name: strings.TrimSpace(strings.TrimRight(strings.TrimSpace(l[4:]), ":")), Line: i + 1})
			cur = nil
		case strings.HasPrefix(l, "#"):
			// A deeper heading inside a group reads as text of the group.
			add(trimmed, i+1)
			cur = nil
		default:
			if m := bulletRe.FindStringSubmatch(l); m != nil {
				add(strings.TrimSpace(m[1]), i+1)
			} else if cur != nil && (!prevBlank || l[0] == ' ' || l[0] == '\t') {
				cur.Text += "\n" + trimmed
			} else {
				add(trimmed, i+1)
			}
		}
		prevBlank = false
	}
}

// Latest returns the first released section whose version is not empty,
// or nil.
func (c *Changelog) Latest() *Section {
	for i := range c.Releases {
		if c.Releases[i].Version != "" {
			return &c.Releases[i]
		}
	}
	return nil
}

// Find returns the released section for version, or nil.
func (c *Changelog) Find(version string) *Section {
	for i := range c.Releases {
		if c.Releases[i].Version == version {
			return &c.Releases[i]
		}
	}
	return nil
}

// Link returns the link definition with label (case-insensitive), or nil.
func (c *Changelog) Link(label string) *Link {
	for i := range c.Links {
		if strings.EqualFold(c.Links[i].Label, label) {
			return &c.Links[i]
		}
	}
	return nil
}

// UnreleasedText returns the text Release would move into the version
// section: the Unreleased section's groups that have entries, and its loose
// entries, as written. It is "" when the section is missing or empty.
func (c *Changelog) UnreleasedText() string {
	if c.Unreleased == nil {
		return ""
	}
	moved, _ := c.split()
	return strings.Join(moved, "\n")
}

// split divides the Unreleased body into the lines that move to the released
// section and those that stay under Unreleased: HTML comments (templates'
// hints) and group headings without entries stay.
func (c *Changelog) split() (moved, kept []string) {
	u := c.Unreleased
	body := c.lines[u.Line:min(u.End-1, len(c.lines))]
	// Line numbers of group headings that have entries.
	full := map[int]bool{}
	for _, g := range u.Groups {
		if len(g.Entries) > 0 {
			full[g.Line] = true
		}
	}
	target := &moved
	var comment []string // the lines of the comment being read
	inComment, inFence, fence := false, false, ""
	for k, l := range body {
		lineNo := u.Line + 1 + k
		trimmed := strings.TrimSpace(l)
		if m := fenceRe.FindStringSubmatch(l); m != nil && !inComment {
			marker := m[1][:1]
			switch {
			case !inFence:
				inFence, fence = true, marker
			case marker == fence:
				inFence = false
			}
			*target = append(*target, l)
			continue
		}
		switch {
		case inFence:
			*target = append(*target, l)
		case inComment || strings.HasPrefix(trimmed, "<!--"):
			if !inComment {
				comment = nil
				trimmed = trimmed[4:]
			}
			comment = append(comment, l)
			inComment = !strings.Contains(trimmed, "-->")
			if !inComment {
				kept = append(kept, comment...)
			}
		case strings.HasPrefix(l, "### "):
			if full[lineNo] {
				target = &moved
			} else {
				target = &kept
			}
			*target = append(*target, l)
		default:
			*target = append(*target, l)
		}
	}
	if inComment {
		// A comment that never closes hides the rest of the file; it must
		// stay below the new heading.
		moved = append(moved, comment...)
	}
	return tidy(moved), tidy(kept)
}

// tidy trims blank lines at both ends and squeezes runs of blank lines.
func tidy(lines []string) []string {
	var out []string
	for _, l := range lines {
		if strings.TrimSpace(l) == "" {
			if len(out) == 0 || out[len(out)-1] == "" {
				continue
			}
			l = ""
		}
		out = append(out, l)
	}
	for len(out) > 0 && out[len(out)-1] == "" {
		out = out[:len(out)-1]
	}
	return out
}

// ReleaseOptions say what Release writes.
type ReleaseOptions struct {
	// Version is the version released ("1.5.0").
	Version string
	// Date is the release date, "YYYY-MM-DD".
	Date string
	// Tag is the release's git tag ("v1.5.0"), for the compare links.
	Tag string
	// Generated is the section body to write when the Unreleased section
	// has no entries (e.g. entries generated from commits); "" leaves the
	// released section empty.
	Generated string
}

// Release moves the Unreleased section's entries into a new section
// "## [Version] - Date" right below a fresh, empty "## [Unreleased]", and
// updates the compare links when the file has an Unreleased link of the
// form ".../compare/<previous>...HEAD" (or ".../commits/<branch>" before
// the first release). It returns the new file and the new section's body,
// which is the release's notes. The Changelog itself is not changed.
func (c *Changelog) Release(opt ReleaseOptions) ([]byte, string, error) {
	if c.Unreleased == nil {
		return nil, "", c.noUnreleased()
	}
	if s := c.Find(strings.TrimPrefix(opt.Version, "v")); s != nil {
		return nil, "", &Error{Line: s.Line, Msg: fmt.Sprintf("%v: %q", ErrAlreadyReleased, "## "+s.Heading), Err: ErrAlreadyReleased}
	}
	u := c.Unreleased
	moved, kept := c.split()
	if len(moved) == 0 && strings.TrimSpace(opt.Generated) != "" {
		moved = tidy(strings.Split(strings.ReplaceAll(opt.Generated, "\r\n", "\n"), "\n"))
	}
	heading := "## " + opt.Version
	if strings.HasPrefix(u.Heading, "[") {
		heading = "## [" + opt.Version + "]"
	}
	if opt.Date != "" {
		heading += " - " + opt.Date
	}

	var out []string
	out = append(out, c.lines[:u.Line]...) // up to and including the Unreleased heading
	if len(kept) > 0 {
		out = append(out, "")
		out = append(out, kept...)
	}
	out = append(out, "", heading)
	if len(moved) > 0 {
		out = append(out, "")
		out = append(out, moved...)
	}
	rest := c.lines[min(u.End-1, len(c.lines)):]
	if len(rest) > 0 {
		out = append(out, "")
		for len(rest) > 0 && strings.TrimSpace(rest[0]) == "" {
			rest = rest[1:]
		}
	}
	// out's line k corresponds to the old line restStart+k-len(out) for the
	// rest, so link lines are found by their old numbers.
	restStart := len(c.lines) - len(rest)
	offset := len(out) - restStart
	out = append(out, rest...)
	out = c.updateLinks(out, offset, opt)

	sep := "\n"
	if c.crlf {
		sep = "\r\n"
	}
	text := strings.Join(out, sep)
	if c.finalNL || len(c.lines) == 0 {
		text += sep
	}
	return []byte(text), strings.Join(moved, "\n"), nil
}

var (
	compareRe = regexp.MustCompile(`^(.*)/compare/(.+?)\.\.\.(.+)$`)
	branchRe  = regexp.MustCompile(`^(.*)/(?:commits|tree)/([^/]+)$`)
)

// updateLinks rewrites the Unreleased link and adds the version's link
// right below it. offset maps old line numbers (of the rest of the file)
// to indices in out.
func (c *Changelog) updateLinks(out []string, offset int, opt ReleaseOptions) []string {
	l := c.Link("Unreleased")
	if l == nil || opt.Tag == "" {
		return out
	}
	idx := l.Line - 1
	if idx >= c.Unreleased.Line { // in the part of the file after the section
		idx += offset
	}
	if idx < 0 || idx >= len(out) || !strings.Contains(out[idx], l.URL) {
		return out
	}
	var newUnreleased, versionURL string
	if m := compareRe.FindStringSubmatch(l.URL); m != nil {
		newUnreleased = m[1] + "/compare/" + opt.Tag + "..." + m[3]
		versionURL = m[1] + "/compare/" + m[2] + "..." + opt.Tag
	} else if m := branchRe.FindStringSubmatch(l.URL); m != nil {
		newUnreleased = m[1] + "/compare/" + opt.Tag + "..." + m[2]
		versionURL = m[1] + "/releases/tag/" + opt.Tag
	} else {
		return out
	}
	line := out[idx]
	pos := strings.Index(line, l.URL)
	out[idx] = line[:pos] + newUnreleased + line[pos+len(l.URL):]
	label := "[" + opt.Version + "]: "
	res := make([]string, 0, len(out)+1)
	res = append(res, out[:idx+1]...)
	res = append(res, label+versionURL)
	return append(res, out[idx+1:]...)
}

func (c *Changelog) noUnreleased() error {
	hint := `add "## [Unreleased]" above the latest release`
	if l := c.Latest(); l != nil {
		hint = fmt.Sprintf(`add "## [Unreleased]" above "## %s" at line %d`, l.Heading, l.Line)
	}
	return fmt.Errorf("%w: %s", ErrNoUnreleased, hint)
}

// Generate formats entries as Keep a Changelog groups in the standard
// order (Added, Changed, Deprecated, Removed, Fixed, Security, then any
// other group in the order first seen), each entry a list item.
func Generate(entries []GroupedEntry) string {
	order := []string{"Added", "Changed", "Deprecated", "Removed", "Fixed", "Security"}
	byGroup := map[string][]string{}
	for _, e := range entries {
		g := e.Group
		if g == "" {
			g = "Changed"
		}
		if _, ok := byGroup[g]; !ok && !contains(order, g) {
			order = append(order, g)
		}
		byGroup[g] = append(byGroup[g], e.Text)
	}
	var b strings.Builder
	for _, g := range order {
		items := byGroup[g]
		if len(items) == 0 {
			continue
		}
		if b.Len() > 0 {
			b.WriteString("\n")
		}
		b.WriteString("### " + g + "\n\n")
		for _, it := range items {
			b.WriteString("- " + strings.ReplaceAll(it, "\n", "\n  ") + "\n")
		}
	}
	return strings.TrimSuffix(b.String(), "\n")
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
