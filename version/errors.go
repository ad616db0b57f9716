package version

import (
	"errors"
	"fmt"
	"strings"

	"github.com/shipprod/shipprod"
)

// ErrShallowClone means the repository is a shallow clone: the tags and
// commits that decide the version may be missing, so no version is decided.
var ErrShallowClone = errors.New("the repository is a shallow clone, so the commits and tags since the last release may be missing")

// shallowHint says how to get the full history.
const shallowHint = "fetch the full history with `git fetch --unshallow --tags` (GitHub Actions: actions/checkout with `fetch-depth: 0`; GitLab CI: GIT_DEPTH: 0)"

// ErrDetachedHead means HEAD is not on a branch, so there is no branch to
// commit the version bump to.
var ErrDetachedHead = errors.New("HEAD is detached")

// ErrTagExists means the tag of the next version already exists.
var ErrTagExists = errors.New("tag already exists")

// ErrNoCommits means the repository has no commits yet.
var ErrNoCommits = errors.New("the repository has no commits yet")

// DirtyTreeError means the working tree has uncommitted changes; ApplyVersion
// refuses to write anything then.
type DirtyTreeError struct {
	Paths []string
}

func (e *DirtyTreeError) Error() string {
	const show = 10
	paths := e.Paths
	more := ""
	if len(paths) > show {
		more = fmt.Sprintf(" and %d more", len(paths)-show)
		paths = paths[:show]
	}
	return fmt.Sprintf("the working tree has uncommitted changes: %s%s; commit or stash them first (git stash)", strings.Join(paths, ", "), more)
}

// Source is a place that names the current version.
type Source struct {
	// Name is "tag v2.5.0", "package.json:3" or "CHANGELOG.md:7".
	Name string
	// Key is how version.current_from and version.trust name it: "tag",
	// "changelog" or the file's path.
	Key     string
	Version string
}

// MismatchError means two sources of the current version disagree.
type MismatchError struct {
	Want, Got Source
}

func (e *MismatchError) Error() string {
	return fmt.Sprintf("version sources disagree: %s says %s but %s says %s; fix the wrong one, or set version.trust to %q or %q to believe one of them",
		e.Want.Name, e.Want.Version, e.Got.Name, e.Got.Version, e.Want.Key, e.Got.Key)
}

// MovedError means HEAD is not the commit the release was decided at
// (Release.Base): a commit landed, or the branch moved, between deciding
// the version and applying it, so the decision may not hold. ApplyVersion
// returns it before writing anything.
type MovedError struct {
	// Decided is the commit the release was decided at, Head the commit
	// HEAD is now.
	Decided, Head string
}

func (e *MovedError) Error() string {
	return fmt.Sprintf("HEAD moved since the version was decided: the release was decided at %s, but HEAD is now %s; nothing was written: decide the version again (run shipprod plan again)", short(e.Decided), short(e.Head))
}

// BumpTooLowError means a forced version.bump gives a version below what
// the changes since the last release ask for: a forced minor (1.5.0) when
// a commit is breaking (2.0.0), a forced patch when the CHANGELOG's
// Unreleased section has a "### Removed" entry, an exact 1.2.4 when a
// breaking change asks for 2.0.0. Nothing is released: raise version.bump
// (or set it to auto), or set version.allow_lower_bump: true to release the
// lower version anyway, which the release then records in its warnings
// and reasons. Decide returns it with the Decision (Decision.Refusal).
type BumpTooLowError struct {
	// Configured is version.bump: "minor", or a version such as "1.2.4".
	Configured string `json:"configured"`
	// Version is the version it gives ("1.5.0", "1.5.0-rc.1").
	Version string `json:"version"`
	// Wanted is the version the changes ask for (what bump: auto would
	// release, "2.0.0"), and WantedBump that bump from the last stable
	// release.
	Wanted     string        `json:"wanted"`
	WantedBump shipprod.Bump `json:"wanted_bump"`
	// Since names the last release: its tag ("v1.4.0"), or its version
	// and where it was read.
	Since string `json:"since"`
	// Evidence are the commits ("commit 1a2b3c4" and its subject),
	// CHANGELOG lines ("CHANGELOG.md:9" and the entry) and Release-As
	// footers that ask for more than Version, most significant first.
	Evidence []shipprod.Reason `json:"evidence"`
}

func (e *BumpTooLowError) Error() string {
	return fmt.Sprintf("%s: %s; %s", e.Summary(), e.evidenceList(), e.Fix())
}

// Summary is the refusal in one clause, e.g. "version.bump: minor gives
// 1.5.0, below 2.0.0 (major), which the changes since v1.4.0 ask for".
func (e *BumpTooLowError) Summary() string {
	forced := e.Configured
	if forced != e.Version {
		forced += " gives " + e.Version
	}
	return fmt.Sprintf("version.bump: %s, below %s (%s), which the changes since %s ask for", forced, e.Wanted, e.WantedBump, e.Since)
}

// Fix says how to go on: raise the bump, or allow the lower one.
func (e *BumpTooLowError) Fix() string {
	raise := "version.bump: " + e.Wanted + " or higher"
	if rankOf(shipprod.Bump(e.Configured)) != rankNone && rankOf(e.WantedBump) != rankNone {
		raise = "version.bump: " + string(e.WantedBump)
	}
	return fmt.Sprintf("set %s (or auto), or version.allow_lower_bump: true to release %s anyway", raise, e.Version)
}

// allowed is the warning a release allowed by version.allow_lower_bump
// carries, e.g. "forced minor (1.5.0) although commit 1a2b3c4 (feat!: drop
// v1 API) asks for major (2.0.0): allowed by version.allow_lower_bump".
func (e *BumpTooLowError) allowed() string {
	forced := e.Configured
	if forced != e.Version {
		forced += " (" + e.Version + ")"
	}
	verb := "ask"
	if len(e.Evidence) == 1 {
		verb = "asks"
	}
	return fmt.Sprintf("forced %s although %s %s for %s (%s): allowed by version.allow_lower_bump", forced, e.evidenceList(), verb, e.WantedBump, e.Wanted)
}

// evidenceList names the first few pieces of evidence, e.g. "commit
// 1a2b3c4 (feat!: drop v1 API), CHANGELOG.md:9 (Removed: the v1 API)".
func (e *BumpTooLowError) evidenceList() string {
	const show = 5
	var parts []string
	for i, r := range e.Evidence {
		if i == show {
			parts = append(parts, fmt.Sprintf("and %d more", len(e.Evidence)-show))
			break
		}
		if r.Source == "commits" { // "and 3 major more"
			parts = append(parts, r.Text+" commits")
			continue
		}
		parts = append(parts, fmt.Sprintf("%s (%s)", r.Source, r.Text))
	}
	return strings.Join(parts, ", ")
}
