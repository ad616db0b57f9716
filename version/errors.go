package version

import (
	"errors"
	"fmt"
	"strings"
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
