package version

import (
	"fmt"

	"github.com/Masterminds/semver/v3"

	"github.com/shipprod/shipprod"
)

// guard holds a forced version (version.bump: a level or an exact version)
// against what the changes since the last release ask for: the commits and
// the CHANGELOG's Unreleased entries (the sources version.bump_from names,
// under the 0.x policies) and a Release-As footer. A forced version below
// them — a forced minor with a breaking commit, a forced patch with a
// "### Removed" entry — is refused with a *BumpTooLowError naming them.
//
// "Below" compares next without its pre-release part with the version the
// changes ask for (what bump: auto would release): after 1.2.3, a breaking
// change asks for 2.0.0, so a forced 1.2.4 or 1.9.0 is below it and a
// forced 2.0.0-rc.1 (on its way to 2.0.0) or 3.0.0 is not. A forced major
// is never below a breaking change; in 0.x, where a breaking change asks
// for a minor (version.breaking_in_0x), a forced minor is not either.
//
// With version.allow_lower_bump the release goes on, and the decision's
// warnings and reasons name what was overridden. A first release has no
// last release whose changes it could hide and is not checked.
func (n *nextVersion) guard(next *semver.Version, bump shipprod.Bump) *BumpTooLowError {
	s := n.s
	if s.bump == "" && s.exact == nil {
		return nil
	}
	core := semver.New(next.Major(), next.Minor(), next.Patch(), "", "")
	if fa := n.footerAs; s.exact != nil && fa != nil && (n.cur == nil || !fa.GreaterThan(core)) {
		n.d.Warnings = append(n.d.Warnings, fmt.Sprintf("commit %s: Release-As %s ignored: version.bump is %s", short(n.an.releaseAsFrom), fa, s.exact))
	}
	if n.cur == nil {
		return nil
	}
	evidence, wanted := n.askingAbove(core)
	if wanted == nil {
		return nil
	}
	configured := string(s.bump)
	if s.exact != nil {
		configured = s.exact.String()
	}
	e := &BumpTooLowError{Configured: configured, Version: next.String(), Wanted: wanted.String(),
		WantedBump: diff(n.base, wanted), Since: n.since, Evidence: evidence}
	if !s.allowLower {
		return e
	}
	n.d.Warnings = append(n.d.Warnings, e.allowed())
	n.reasons = append(n.reasons, shipprod.Reason{Source: "config version.allow_lower_bump",
		Text: fmt.Sprintf("release %s although the changes since %s ask for %s", next, n.since, wanted), Bump: bump})
	n.reasons = append(n.reasons, evidence...)
	return nil
}

// askingAbove lists what asks for a version above v, most significant
// first: a Release-As footer, then the commits and the CHANGELOG entries
// whose bump of the last stable release gives more than v (at most
// version.max_reasons of each). wanted is the highest version they ask for;
// nil when nothing asks for more than v.
func (n *nextVersion) askingAbove(v *semver.Version) (evidence []shipprod.Reason, wanted *semver.Version) {
	s := n.s
	if fa := n.footerAs; fa != nil && fa.GreaterThan(v) {
		evidence = append(evidence, shipprod.Reason{Source: "commit " + short(n.an.releaseAsFrom), Text: "Release-As: " + fa.String(), Bump: shipprod.BumpExact})
		wanted = fa
	}
	// Without a stable release (only pre-releases so far) the bumps apply
	// to nothing: the pre-release's own version is the floor.
	if n.base == nil || n.asked == rankNone {
		return evidence, wanted
	}
	if w := inc(n.base, n.asked); w.GreaterThan(v) {
		if wanted == nil || w.GreaterThan(wanted) {
			wanted = w
		}
	} else {
		return evidence, wanted
	}
	// The least rank asking for more: ranks map to versions monotonically.
	least := rankMajor
	for r := rankPatch; r < rankMajor; r++ {
		if inc(n.base, rankOf(n.effective(r))).GreaterThan(v) {
			least = r
			break
		}
	}
	if s.fromCommits {
		evidence = append(evidence, n.an.reasons(s.maxReasons, least, n.effective)...)
	}
	if s.fromLog && n.cl != nil && n.cl.Unreleased != nil {
		_, entries := changelogRank(n.cl)
		kept := 0
		for r := rankMajor; r >= least; r-- {
			for _, e := range entries {
				if e.rank == r && kept < s.maxReasons {
					evidence = append(evidence, shipprod.Reason{Source: e.source, Text: e.text, Bump: n.effective(e.rank)})
					kept++
				}
			}
		}
	}
	return evidence, wanted
}
