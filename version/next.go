package version

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/Masterminds/semver/v3"

	"github.com/shipprod/shipprod"
)

// next decides the next version from the current one: the bump level and
// its reasons, whether there is anything to release, the target version,
// the pre-release counter, and the checks the result must pass.
func (v *Versioner) next(d *Decision, h *history, cur *semver.Version, cl *changelogFile) error {
	s := v.s
	if nc := h.sinceStable.firstNonConv; s.strict && nc != nil {
		return fmt.Errorf("commit %s is not a Conventional Commit (version.require_conventional): %v; subject %q", short(nc.sha), nc.err, nc.subject)
	}
	n := v.startNext(d, h, cur, cl)
	n.decideLevel()
	if why := n.nothingToRelease(); why != "" {
		d.NothingToRelease = true
		d.Why = "nothing to release since " + n.since + ": " + why
		d.Reasons = nil
		return nil
	}
	target, bump, err := n.target()
	if err != nil {
		return err
	}
	next := target
	if s.prerelease != "" && target.Prerelease() == "" {
		next, bump = n.prereleaseOf(target), shipprod.BumpPrerelease
	}
	if err := n.guard(next, bump); err != nil {
		d.Bump, d.Reasons, d.Refusal = bump, n.reasons, err
		return err
	}
	if err := n.check(next); err != nil {
		return err
	}
	d.Next, d.Tag, d.Bump, d.Reasons = next.String(), s.prefix+next.String(), bump, n.reasons
	return nil
}

// nextVersion is what deciding the next version starts from and collects.
type nextVersion struct {
	s  *settings
	d  *Decision
	h  *history
	an *analysis // the commits since the last stable release
	cl *changelogFile
	// cur is the current version (nil before the first release), base the
	// stable version a bump applies to, pre the pre-release being continued
	// or promoted.
	cur, base, pre *semver.Version
	sinceCur       *analysis // the commits since cur
	since          string    // what "nothing to release since …" names
	zeroX          bool      // the 0.x policies apply
	// releaseAs is a Release-As footer's version above cur, nil when there
	// is none or it is ignored; footerAs is that footer even when an exact
	// version.bump overrides it, for guard.
	releaseAs, footerAs *semver.Version
	// asked is the bump the commits and the CHANGELOG ask for (under the
	// 0.x policies), and askedReasons its reasons, whatever version.bump
	// says.
	asked        rank
	askedReasons []shipprod.Reason
	explicit     bool // the configuration or a Release-As footer asks for the version
	promoting    bool // a pre-release becomes its stable version
	level        rank
	reasons      []shipprod.Reason
}

// startNext works out where the next version starts from, and records it
// in d: the commits since the current version, its tag and the last stable
// version when the current one is a pre-release.
func (v *Versioner) startNext(d *Decision, h *history, cur *semver.Version, cl *changelogFile) *nextVersion {
	s := v.s
	n := &nextVersion{s: s, d: d, h: h, an: h.sinceStable, cl: cl, cur: cur}
	if cur != nil {
		if cur.Prerelease() == "" {
			n.base = cur
		} else {
			n.pre = cur
			if h.stable != nil {
				n.base = h.stable.version
			}
		}
	}
	n.sinceCur = n.an
	if h.pre != nil && n.pre != nil && h.current() == h.pre {
		n.sinceCur = h.sincePre
	}
	d.Commits = n.sinceCur.commits
	if t := h.current(); t != nil {
		d.CurrentTag, d.CurrentCommit = t.name, t.commit
	}
	if h.stable != nil && n.pre != nil {
		d.Stable = h.stable.version.String()
	}
	n.since = d.CurrentTag
	if n.since == "" && cur != nil {
		n.since = cur.String() + " (" + d.CurrentSource + ")"
	}
	n.zeroX = n.base != nil && n.base.Major() == 0 || n.base == nil && n.pre != nil && n.pre.Major() == 0

	// A Release-As footer above the current version is an explicit request.
	n.releaseAs = n.an.releaseAs
	if n.releaseAs != nil && cur != nil && !n.releaseAs.GreaterThan(cur) {
		d.Warnings = append(d.Warnings, fmt.Sprintf("commit %s: Release-As %s is not above the current version; ignored", short(n.an.releaseAsFrom), n.releaseAs))
		n.releaseAs = nil
	}
	// An exact version.bump decides the version; guard holds the footer
	// against it.
	if n.footerAs = n.releaseAs; s.exact != nil {
		n.releaseAs = nil
	}
	n.explicit = s.bump != "" || s.exact != nil || n.releaseAs != nil
	n.promoting = n.pre != nil && s.prerelease == "" && !n.explicit
	return n
}

// effective is the bump rank r makes, under the 0.x policies while the
// major version is 0.
func (n *nextVersion) effective(r rank) shipprod.Bump {
	if n.zeroX {
		switch r {
		case rankMajor:
			return n.s.breakingIn0x
		case rankMinor:
			return n.s.featureIn0x
		}
	}
	return r.bump()
}

// decideLevel decides the bump level and its reasons: an exact version or
// bump the configuration asks for, else what the sources ask for. The
// sources are read either way: guard holds a forced bump against them.
func (n *nextVersion) decideLevel() {
	s := n.s
	n.asked, n.askedReasons = n.levelFromSources()
	switch {
	case s.exact != nil:
		n.reasons = append(n.reasons, shipprod.Reason{Source: "config version.bump", Text: "release " + s.exact.String() + " as configured", Bump: shipprod.BumpExact})
	case s.bump != "":
		n.level = rankOf(s.bump)
		n.reasons = append(n.reasons, shipprod.Reason{Source: "config version.bump", Text: "bump " + string(s.bump) + " as configured", Bump: s.bump})
	default:
		n.level, n.reasons = n.asked, n.askedReasons
	}
}

// levelFromSources returns the highest bump the commits and the
// CHANGELOG's Unreleased entries ask for (version.bump_from), under the 0.x
// policies, and its reasons.
func (n *nextVersion) levelFromSources() (rank, []shipprod.Reason) {
	s, cl := n.s, n.cl
	level := rankNone
	var reasons []shipprod.Reason
	if s.fromCommits {
		level = n.an.rank()
		reasons = append(reasons, n.an.reasons(s.maxReasons, rankPatch, n.effective)...)
	}
	if s.fromLog && cl != nil && cl.Unreleased != nil {
		r, entries := changelogRank(cl)
		level = max(level, r)
		for _, e := range entries {
			if len(reasons) >= s.maxReasons {
				break
			}
			reasons = append(reasons, shipprod.Reason{Source: e.source, Text: e.text, Bump: n.effective(e.rank)})
		}
	}
	if !n.zeroX {
		return level, reasons
	}
	if level == rankMajor && s.breakingIn0x != shipprod.BumpMajor {
		reasons = append(reasons, shipprod.Reason{Source: "config version.breaking_in_0x", Text: "0.x: a breaking change bumps the minor version; release 1.0.0 explicitly (bump: major, or a Release-As: 1.0.0 footer)", Bump: s.breakingIn0x})
	}
	if level == rankMinor && s.featureIn0x == shipprod.BumpPatch {
		reasons = append(reasons, shipprod.Reason{Source: "config version.feature_in_0x", Text: "0.x: a feature bumps the patch version", Bump: shipprod.BumpPatch})
	}
	return rankOf(n.effective(level)), reasons
}

// nothingToRelease says why there is nothing to release, or "" when there
// is something.
func (n *nextVersion) nothingToRelease() string {
	s, cl := n.s, n.cl
	switch {
	case n.cur == nil:
		// A first release: there is at least HEAD.
	case n.sinceCur.commits == 0 && !n.promoting:
		if n.d.CurrentTag == "" {
			return "no commits"
		}
		return "no commits since the tag"
	case n.explicit || n.promoting:
	case n.pre != nil && s.prerelease != "" && s.fromCommits:
		// The next pre-release needs something new since the last one.
		if n.sinceCur.rank() == rankNone {
			return n.sinceCur.summary()
		}
	case n.level == rankNone:
		why := n.an.summary()
		if s.fromLog && cl != nil && cl.Unreleased != nil {
			why += "; " + cl.path + "'s Unreleased section has no entries"
		}
		return why
	}
	return ""
}

// target decides the version to release, before any pre-release counter,
// and its bump: the configured version, the initial version of a first
// release, or the current version bumped; a higher Release-As wins.
func (n *nextVersion) target() (*semver.Version, shipprod.Bump, error) {
	s := n.s
	var target *semver.Version
	bump := shipprod.BumpNone
	switch {
	case s.exact != nil:
		target, bump = s.exact, shipprod.BumpExact
	case n.cur == nil && !n.explicit:
		target, bump = s.initial, shipprod.BumpExact
		n.reasons = append([]shipprod.Reason{{Source: "config version.initial", Text: fmt.Sprintf("first release: no release tag %s*, version file or CHANGELOG release found", s.prefix), Bump: shipprod.BumpExact}}, n.reasons...)
	default:
		target, bump = n.bumped()
	}
	if ra := n.releaseAs; ra != nil && (target == nil || ra.GreaterThan(target)) {
		target, bump = ra, shipprod.BumpExact
		n.reasons = append([]shipprod.Reason{{Source: "commit " + short(n.an.releaseAsFrom), Text: "Release-As: " + ra.String(), Bump: shipprod.BumpExact}}, n.reasons...)
	}
	if target == nil {
		return nil, bump, fmt.Errorf("no version could be decided from %s", n.d.CurrentSource)
	}
	return target, bump, nil
}

// bumped is the base version bumped by the level, or the version of the
// pre-release being continued or promoted when that is higher; nil when
// neither gives a version.
func (n *nextVersion) bumped() (*semver.Version, shipprod.Bump) {
	from := n.base
	if from == nil && n.pre == nil {
		from = semver.New(0, 0, 0, "", "")
	}
	var target *semver.Version
	if from != nil && n.level > rankNone {
		target = inc(from, n.level)
	}
	if pre := n.pre; pre != nil {
		core := semver.New(pre.Major(), pre.Minor(), pre.Patch(), "", "")
		if target == nil || target.LessThan(core) {
			target = core
		}
		if n.promoting {
			n.reasons = append([]shipprod.Reason{{Source: "tag " + n.d.CurrentTag, Text: fmt.Sprintf("promote pre-release %s to %s", pre, target), Bump: diff(n.base, target)}}, n.reasons...)
		}
	}
	if target == nil {
		return nil, shipprod.BumpNone
	}
	return target, diff(n.base, target)
}

// prereleaseOf is target with the next pre-release counter of the
// configured identifier. The counter follows every tag of this version,
// reachable or not, and the current version (which may come from a file).
func (n *nextVersion) prereleaseOf(target *semver.Version) *semver.Version {
	id := n.s.prerelease
	seen := []*semver.Version{}
	for _, t := range n.h.all {
		seen = append(seen, t.version)
	}
	if n.cur != nil {
		seen = append(seen, n.cur)
	}
	counter := 0
	for _, tv := range seen {
		if tv.Major() == target.Major() && tv.Minor() == target.Minor() && tv.Patch() == target.Patch() {
			if rest, ok := strings.CutPrefix(tv.Prerelease(), id+"."); ok && isNumeric(rest) {
				var k int
				fmt.Sscan(rest, &k)
				counter = max(counter, k)
			}
		}
	}
	next, _ := semver.StrictNewVersion(fmt.Sprintf("%s-%s.%d", target, id, counter+1))
	n.reasons = append(n.reasons, shipprod.Reason{Source: "config version.prerelease", Text: fmt.Sprintf("pre-release %s.%d of %s", id, counter+1, target), Bump: shipprod.BumpPrerelease})
	return next
}

// check refuses a next version that is not above the current one, or
// whose tag exists already.
func (n *nextVersion) check(next *semver.Version) error {
	if n.cur != nil && !next.GreaterThan(n.cur) {
		return fmt.Errorf("the next version %s would not be above the current version %s (%s); SemVer orders pre-releases by their identifiers, so pick a higher version or identifier", next, n.cur, n.d.CurrentSource)
	}
	tagName := n.s.prefix + next.String()
	for _, t := range n.h.all {
		if t.name == tagName {
			return fmt.Errorf("%w: %s (at commit %s); the next version %s was released already, so check which tag the history is missing or set version.bump", ErrTagExists, tagName, short(t.commit), next)
		}
	}
	return nil
}

var breakingEntryRe = regexp.MustCompile(`(?i)^\W*breaking\b`)

// changelogRank reads the bump the Unreleased entries ask for (Keep a
// Changelog 1.1.0): Removed or a breaking marker → major; Added, Changed,
// Deprecated → minor; Fixed, Security and anything else → patch.
func changelogRank(cl *changelogFile) (rank, []candidateEntry) {
	var out []candidateEntry
	top := rankNone
	for _, e := range cl.Unreleased.AllEntries() {
		g := strings.ToLower(e.Group)
		r := rankPatch
		switch {
		case g == "removed" || strings.Contains(g, "breaking"):
			r = rankMajor
		case g == "added" || g == "changed" || g == "deprecated":
			r = rankMinor
		}
		if breakingEntryRe.MatchString(e.Text) {
			r = rankMajor
		}
		top = max(top, r)
		text := firstLine(e.Text)
		if e.Group != "" {
			text = e.Group + ": " + text
		}
		out = append(out, candidateEntry{source: fmt.Sprintf("%s:%d", cl.path, e.Line), text: text, rank: r})
	}
	return top, out
}

type candidateEntry struct {
	source, text string
	rank         rank
}

// inc bumps v by r.
func inc(v *semver.Version, r rank) *semver.Version {
	var n semver.Version
	switch r {
	case rankMajor:
		n = v.IncMajor()
	case rankMinor:
		n = v.IncMinor()
	default:
		n = v.IncPatch()
	}
	return &n
}

// diff is the bump from a to b (a may be nil: a first release).
func diff(a, b *semver.Version) shipprod.Bump {
	switch {
	case a == nil:
		return shipprod.BumpExact
	case a.Major() != b.Major():
		return shipprod.BumpMajor
	case a.Minor() != b.Minor():
		return shipprod.BumpMinor
	case a.Patch() != b.Patch():
		return shipprod.BumpPatch
	}
	return shipprod.BumpNone
}
