package version

import (
	"bytes"
	"fmt"
	"sort"
	"strings"

	"github.com/Masterminds/semver/v3"

	"github.com/shipprod/shipprod"
	"github.com/shipprod/shipprod/version/changelog"
	"github.com/shipprod/shipprod/version/conventional"
)

// rank orders bumps: none < patch < minor < major.
type rank int

const (
	rankNone rank = iota
	rankPatch
	rankMinor
	rankMajor
)

func rankOf(b shipprod.Bump) rank {
	switch b {
	case shipprod.BumpPatch:
		return rankPatch
	case shipprod.BumpMinor:
		return rankMinor
	case shipprod.BumpMajor:
		return rankMajor
	}
	return rankNone
}

func (r rank) bump() shipprod.Bump {
	return [...]shipprod.Bump{shipprod.BumpNone, shipprod.BumpPatch, shipprod.BumpMinor, shipprod.BumpMajor}[r]
}

// candidate is a releasable commit kept as a reason.
type candidate struct {
	sha      string
	header   string
	note     string // the BREAKING CHANGE footer, when it says more than the header
	rank     rank
	breaking bool
}

// pendingRevert is a revert commit whose fate is known at the end of the
// walk: it cancels its target when the target is in the range (and then
// both are dropped), else it is a change of its own.
type pendingRevert struct {
	sha     string
	commit  *conventional.Commit // nil for a git-style "Revert" message
	header  string
	targets []string
	matched bool
}

// nonConventional is the first commit that is not a Conventional Commit.
type nonConventional struct {
	sha, subject string
	err          error
}

// analysis accumulates what the commits of a range say, one commit at a
// time, keeping only counts and a bounded number of reasons: git log is
// streamed through it and no message is held after it was read.
type analysis struct {
	s       *settings
	collect bool // keep changelog entries for the releasable commits

	// watch maps a commit to the pre-release tags on it; found collects
	// those met in the range.
	watch map[string][]*tag
	found []*tag

	commits, merges, nonConv, reverted int
	typeCounts                         map[string]int
	firstNonConv                       *nonConventional
	levels                             [4]int
	kept                               [4][]candidate
	releaseAs                          *semver.Version
	releaseAsFrom                      string
	warnings                           []string
	reverts                            []*pendingRevert
	revertTargets                      map[string]*pendingRevert // full SHAs
	entries                            []changelog.GroupedEntry
	entriesLeft                        int // releasable commits beyond maxEntries
}

func newAnalysis(s *settings, collect bool) *analysis {
	return &analysis{s: s, collect: collect, typeCounts: map[string]int{}, revertTargets: map[string]*pendingRevert{}}
}

func short(sha string) string {
	if len(sha) > 7 {
		return sha[:7]
	}
	return sha
}

func subjectOf(msg string) string {
	msg = strings.TrimLeft(msg, "\r\n")
	if i := strings.IndexByte(msg, '\n'); i >= 0 {
		msg = msg[:i]
	}
	return strings.TrimRight(msg, "\r ")
}

// add reads one commit of the range. sha and msg are only valid during the
// call (they point into git log's output buffer).
func (a *analysis) add(shaBytes []byte, parents int, msg []byte) {
	a.commits++
	if tags, ok := a.watch[string(shaBytes)]; ok {
		a.found = append(a.found, tags...)
	}
	if len(a.reverts) > 0 && a.cancelled(string(shaBytes)) {
		return
	}
	c, err := parseMessage(msg)
	if err != nil {
		sha := string(shaBytes)
		text := string(msg)
		if rv, ok := conventional.ParseRevert(text, nil); ok {
			a.addRevert(sha, nil, subjectOf(text), rv)
			return
		}
		if parents > 1 {
			a.merges++
			return
		}
		a.nonConv++
		if a.firstNonConv == nil {
			a.firstNonConv = &nonConventional{sha: sha, subject: subjectOf(text), err: err}
		}
		return
	}
	if c.Type == "revert" {
		if rv, ok := conventional.ParseRevert(string(msg), &c); ok {
			// A copy is kept, so that c itself stays on the stack for the
			// common commit (one allocation less per commit).
			kept := c
			a.addRevert(string(shaBytes), &kept, c.Header(), rv)
			return
		}
	}
	a.typeCounts[c.Type]++
	if v, ok := c.Footer("Release-As"); ok {
		a.releaseAsFooter(string(shaBytes), v)
	}
	a.count(shaBytes, &c, "")
}

// parseMessage parses msg as conventional.Parse does, as far as deciding a
// version is concerned: type, scope, description, breaking change and the
// Release-As and Refs footers. Most messages need only their header, so
// the footers are read only when the message could hold a BREAKING CHANGE
// or Release-As footer, or is a revert (or starts with blank space, which
// Parse trims).
func parseMessage(msg []byte) (conventional.Commit, error) {
	if len(msg) == 0 || msg[0] == ' ' || msg[0] == '\t' || msg[0] == '\r' || msg[0] == '\n' ||
		bytes.Contains(msg, []byte("BREAKING")) || containsReleaseAs(msg) {
		return conventional.Parse(string(msg))
	}
	header, rest, _ := bytes.Cut(msg, []byte{'\n'})
	c, err := conventional.ParseHeader(string(header))
	if err != nil || c.Type == "revert" {
		return conventional.Parse(string(msg))
	}
	// The body must begin one blank line after the header.
	if line2, _, _ := bytes.Cut(rest, []byte{'\n'}); len(bytes.TrimSpace(line2)) > 0 {
		return conventional.Parse(string(msg))
	}
	return c, nil
}

// containsReleaseAs reports whether s contains "release-as", ignoring case. It
// looks around each "-", which is rarer in text than any letter.
func containsReleaseAs(s []byte) bool {
	for off := 0; ; {
		i := bytes.IndexByte(s[off:], '-')
		if i < 0 {
			return false
		}
		i += off
		if i >= 7 && i+3 <= len(s) && bytes.EqualFold(s[i-7:i], []byte("release")) && bytes.EqualFold(s[i+1:i+3], []byte("as")) {
			return true
		}
		off = i + 1
	}
}

// count adds a conventional commit's bump. header is the commit's first
// line; "" formats it from c when it is needed.
func (a *analysis) count(shaBytes []byte, c *conventional.Commit, header string) {
	r := rankOf(a.s.types[c.Type])
	breaking := c.Breaking()
	if breaking {
		r = rankMajor
	}
	if r == rankNone {
		return
	}
	a.levels[r]++
	if len(a.kept[r]) < a.s.maxReasons {
		if header == "" {
			header = c.Header()
		}
		cand := candidate{sha: string(shaBytes), header: header, rank: r, breaking: breaking}
		if note := c.BreakingNote(); breaking && note != c.Description {
			cand.note = note
		}
		a.kept[r] = append(a.kept[r], cand)
	}
	if a.collect {
		if len(a.entries) < maxEntries {
			a.entries = append(a.entries, entryFor(string(shaBytes), c, breaking))
		} else {
			a.entriesLeft++
		}
	}
}

// cancelled reports whether sha is the target of a revert met earlier (git
// log lists a revert before the commit it reverts) and marks both.
func (a *analysis) cancelled(sha string) bool {
	if len(a.reverts) == 0 {
		return false
	}
	p := a.revertTargets[sha]
	if p == nil {
		for _, r := range a.reverts {
			for _, t := range r.targets {
				if len(t) < len(sha) && strings.HasPrefix(sha, t) {
					p = r
				}
			}
		}
	}
	if p == nil || p.matched {
		return false
	}
	p.matched = true
	a.reverted += 2
	return true
}

func (a *analysis) addRevert(sha string, c *conventional.Commit, header string, rv conventional.Revert) {
	p := &pendingRevert{sha: sha, commit: c, header: header, targets: rv.Commits}
	a.reverts = append(a.reverts, p)
	for _, t := range rv.Commits {
		if len(t) >= 40 {
			a.revertTargets[t] = p
		}
	}
}

func (a *analysis) releaseAsFooter(sha, value string) {
	v, err := semver.StrictNewVersion(strings.TrimPrefix(strings.TrimSpace(value), "v"))
	if err != nil {
		a.warnings = append(a.warnings, fmt.Sprintf("commit %s: Release-As %q is not a version such as 1.0.0; ignored", short(sha), value))
		return
	}
	if a.releaseAs == nil || v.GreaterThan(a.releaseAs) {
		a.releaseAs, a.releaseAsFrom = v, sha
	}
}

// finish settles the reverts whose target was not in the range: they are
// changes of their own (type revert, patch by default).
func (a *analysis) finish() {
	for _, p := range a.reverts {
		if p.matched {
			continue
		}
		c := p.commit
		if c == nil {
			c = &conventional.Commit{Type: "revert", Description: p.header}
		}
		a.typeCounts["revert"]++
		a.count([]byte(p.sha), c, p.header)
	}
	a.reverts = nil
}

// rank is the highest bump the commits ask for.
func (a *analysis) rank() rank {
	for r := rankMajor; r > rankNone; r-- {
		if a.levels[r] > 0 {
			return r
		}
	}
	return rankNone
}

// reasons lists the kept commits of rank least and above, most
// significant first, at most max, with their bump mapped by effective (the
// 0.x policy). A last reason counts the commits left out.
func (a *analysis) reasons(max int, least rank, effective func(rank) shipprod.Bump) []shipprod.Reason {
	var out []shipprod.Reason
	var left [4]int
	for r := rankMajor; r >= least && r > rankNone; r-- {
		left[r] = a.levels[r]
		for _, c := range a.kept[r] {
			if len(out) >= max {
				break
			}
			text := c.header
			if c.note != "" {
				text += " (BREAKING CHANGE: " + firstLine(c.note) + ")"
			}
			out = append(out, shipprod.Reason{Source: "commit " + short(c.sha), Text: text, Bump: effective(r)})
			left[r]--
		}
	}
	var parts []string
	top := rankNone
	for r := rankMajor; r > rankNone; r-- {
		if left[r] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", left[r], r.bump()))
			if top == rankNone {
				top = r
			}
		}
	}
	if len(parts) > 0 {
		out = append(out, shipprod.Reason{Source: "commits", Text: "and " + strings.Join(parts, ", ") + " more", Bump: effective(top)})
	}
	return out
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i] + " …"
	}
	return s
}

// summary describes the range when nothing in it is releasable, e.g.
// "3 commits, none releasable (2 chore, 1 docs)".
func (a *analysis) summary() string {
	type kv struct {
		k string
		n int
	}
	var items []kv
	for k, n := range a.typeCounts {
		items = append(items, kv{k, n})
	}
	sort.Slice(items, func(i, j int) bool {
		if items[i].n != items[j].n {
			return items[i].n > items[j].n
		}
		return items[i].k < items[j].k
	})
	var parts []string
	for _, it := range items {
		parts = append(parts, fmt.Sprintf("%d %s", it.n, it.k))
	}
	if a.nonConv > 0 {
		parts = append(parts, fmt.Sprintf("%d not conventional", a.nonConv))
	}
	if a.merges > 0 {
		parts = append(parts, fmt.Sprintf("%d %s", a.merges, plural(a.merges, "merge", "merges")))
	}
	if a.reverted > 0 {
		parts = append(parts, fmt.Sprintf("%d reverted", a.reverted))
	}
	s := fmt.Sprintf("%d %s, none releasable", a.commits, plural(a.commits, "commit", "commits"))
	if len(parts) > 0 {
		s += " (" + strings.Join(parts, ", ") + ")"
	}
	return s
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// maxEntries bounds the changelog entries generated from commits: a
// release of a hundred thousand commits gets the newest thousand and a line
// counting the rest, not a novel.
const maxEntries = 1000

// notes formats the generated entries as Keep a Changelog groups.
func (a *analysis) notes() string {
	entries := a.entries
	if a.entriesLeft > 0 {
		entries = append(entries[:len(entries):len(entries)], changelog.GroupedEntry{Group: "Changed",
			Entry: changelog.Entry{Text: fmt.Sprintf("… and %d more changes (see the git log)", a.entriesLeft)}})
	}
	return changelog.Generate(entries)
}

// entryGroups maps commit types to Keep a Changelog groups.
var entryGroups = map[string]string{
	"feat":       "Added",
	"fix":        "Fixed",
	"security":   "Security",
	"deprecate":  "Deprecated",
	"deprecated": "Deprecated",
	"remove":     "Removed",
	"removed":    "Removed",
}

// entryFor is the changelog entry generated for a commit.
func entryFor(sha string, c *conventional.Commit, breaking bool) changelog.GroupedEntry {
	group, ok := entryGroups[c.Type]
	if !ok {
		group = "Changed"
	}
	var b strings.Builder
	if breaking {
		b.WriteString("**BREAKING:** ")
	}
	if c.Scope != "" {
		b.WriteString("**" + c.Scope + ":** ")
	}
	b.WriteString(c.Description)
	if note := c.BreakingNote(); breaking && note != c.Description {
		b.WriteString(": " + strings.ReplaceAll(note, "\n", " "))
	}
	b.WriteString(" (" + short(sha) + ")")
	return changelog.GroupedEntry{Group: group, Entry: changelog.Entry{Text: b.String()}}
}
