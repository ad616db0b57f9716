// Package version decides the next semantic version of a git repository,
// explains why, and writes it everywhere it lives. Its Versioner is the
// shipprod.Versioner (and shipprod.ActionPlanner) of the pipeline, and its
// Decide call is what `shipprod version` prints.
//
// # Deciding
//
// The current version is the highest SemVer tag with the configured prefix
// ("v" by default) that is reachable from HEAD. Tags on other branches, with
// other prefixes ("app/v1.2.3") or that are not SemVer ("latest", "v1.2")
// are ignored. Without such a tag the version comes from package.json,
// VERSION or the CHANGELOG's latest "## [x.y.z]" (Config.CurrentFrom sets
// the order), and without any of those the first release is Config.Initial
// (0.1.0). When the tag and a version file (or the CHANGELOG) disagree,
// Decide stops with a *MismatchError naming both, unless Config.Trust names
// the one to believe.
//
// The bump is explicit (Config.Bump: major, minor, patch or an exact
// version) or automatic, from Conventional Commits 1.0.0 since the tag
// (package conventional: "!" and BREAKING CHANGE footers → major, feat →
// minor, fix and perf → patch, other types as Config.Types says, reverted
// commits cancelled, merge commits ignored) and from the CHANGELOG's
// Unreleased section (Keep a Changelog: Removed or a breaking marker →
// major; Added, Changed, Deprecated → minor; Fixed, Security → patch). The
// highest bump wins. While the major version is 0 a breaking change bumps
// the minor version: 1.0.0 is always an explicit decision (bump: major, or
// a "Release-As: 1.0.0" footer). Config.Prerelease makes pre-releases
// (2.7.0-rc.1, then rc.2); releasing without it promotes 2.7.0-rc.2 to
// 2.7.0. Every decision carries its reasons: the commits, CHANGELOG lines
// and settings that drove it.
//
// # A forced bump never hides a change
//
// The commits and the Unreleased section are analysed whatever the bump
// setting (in the same walk: forcing the bump reads nothing twice). A
// forced bump (major, minor, patch or an exact version) that gives a lower
// version than the sources in Config.BumpFrom ask for is refused: Decide
// returns the Decision with Refusal set and a *BumpTooLowError naming each
// commit (short SHA and subject), CHANGELOG line and Release-As footer that
// asks for more, and saying how to go on:
//
//	version.bump: minor gives 1.5.0, below 2.0.0 (major), which the changes
//	since v1.4.0 ask for: commit 1a2b3c4 (feat!: drop v1 API); set
//	version.bump: major (or auto), or version.allow_lower_bump: true to
//	release 1.5.0 anyway
//
// "Lower" compares the forced version, without its pre-release part, with
// the version `bump: auto` would release, under the same 0.x policies: after
// 1.4.0 a breaking change asks for 2.0.0, so a forced minor, an exact 1.4.5
// or 1.9.0 is lower, while a forced major, an exact 2.0.0-rc.1 (on its way to
// 2.0.0) or 3.0.0 is not; in 0.x a breaking change asks for a minor
// (breaking_in_0x), so a forced minor is enough there. A Release-As footer
// above an exact version asks for more too (above a forced level it still
// wins, as with auto). A first release has no last release to compare with
// and is not checked.
//
// Config.AllowLowerBump (version.allow_lower_bump: true, accepted only with
// a forced bump) releases the lower version anyway and records it: the
// Decision's and Release's Warnings say "forced minor (1.5.0) although
// commit 1a2b3c4 (feat!: drop v1 API) asks for major (2.0.0): allowed by
// version.allow_lower_bump", and its Reasons list the override and the
// commits and lines it overrode, so the ship report shows them.
//
// Nothing releasable is not an error for Decide (Decision.NothingToRelease)
// and an error wrapping shipprod.ErrNothingToRelease for NextVersion, which
// the Pipeline treats as a clean stop. A shallow clone is refused with
// ErrShallowClone and the way to fetch the whole history.
//
// A release that stopped after its bump commit (HEAD is the bump commit of
// X, the version files say X, X has no tag yet) is decided again as X, and
// ApplyVersion then changes nothing: the run goes on from the tag.
//
// # Writing
//
// ApplyVersion writes the version into the configured files —
// package.json (with package-lock.json beside it) keeping key order,
// indentation and the final newline; VERSION; Go constants; any file with a
// regular expression whose named group "version" is replaced — and releases
// the CHANGELOG (Unreleased becomes "## [X.Y.Z] - YYYY-MM-DD" under a fresh
// Unreleased section, compare links updated). All files are written or none
// (atomic writes, the earlier ones restored if a later one fails), then
// exactly those files are committed ("chore(release): vX.Y.Z" by default).
// Uncommitted changes to tracked files are refused before anything is written
// (untracked files are left alone: they never get into the release commit).
//
// A release is applied where it was decided: NextVersion records HEAD in
// Release.Base, and ApplyVersion refuses any other HEAD with a *MovedError
// before writing anything, so a commit that lands between the plan and the
// run cannot change what ships unseen (decide again instead). The one
// exception is the release's own bump commit on Base: a resumed run.
//
// # Speed
//
// The tags are listed once and the commits since the tag are streamed from
// one `git rev-list` and analysed as they arrive, without holding the
// messages: on 100,000 commits since the last of 5,000 tags, deciding takes
// about as long as `git log --format=%B <tag>..HEAD` itself (see bench/).
package version
