// Package releasetag tells release tags from other tags and reads the
// version a tag names, for the deployers that report which release
// production runs from the tags that point at its commit.
package releasetag

import (
	"context"
	"strings"

	"github.com/Masterminds/semver/v3"

	"github.com/shipprod/shipprod/internal/git"
)

// Version returns the SemVer version a release tag names: "v1.4.0" and
// "1.4.0" name 1.4.0, and so does a prefixed "web-v1.4.0"; false for a tag
// that names no version ("latest", "deploy-2").
func Version(tag string) (string, bool) {
	for i := 0; i < len(tag); i++ {
		if tag[i] < '0' || tag[i] > '9' || (i > 0 && (tag[i-1] >= '0' && tag[i-1] <= '9' || tag[i-1] == '.')) {
			continue
		}
		if v, err := semver.StrictNewVersion(tag[i:]); err == nil {
			return v.String(), true
		}
	}
	return "", false
}

// Pick returns, among tags (all pointing at the same commit), the release
// tag naming the highest version, and that version; "" when none names one.
func Pick(tags []string) (tag, version string) {
	var best *semver.Version
	for _, t := range tags {
		v, ok := Version(t)
		if !ok {
			continue
		}
		sv := semver.MustParse(v)
		if best == nil || sv.GreaterThan(best) || (sv.Equal(best) && t < tag) {
			best, tag, version = sv, t, v
		}
	}
	return tag, version
}

// AtCommit returns the release tag of the repository that marks sha and its
// version: a tag pointing at sha, or else a tag pointing at a child of sha
// whose first parent is sha — the version commit a release makes on top of
// the commit that was validated (a platform that built the validated commit
// runs the release whose tag marks its version commit). "" when there is
// none, or when the repository cannot tell (it lacks the commit, or dir is
// no repository).
func AtCommit(ctx context.Context, repo *git.Repo, sha string) (tag, version string) {
	if sha == "" {
		return "", ""
	}
	out, err := repo.RunRaw(ctx, "for-each-ref", "--format=%(refname:strip=2)%00%(objectname)%00%(*objectname)", "refs/tags/")
	if err != nil {
		return "", ""
	}
	byCommit := map[string][]string{}
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Split(line, "\x00")
		if len(f) != 3 {
			continue
		}
		if _, ok := Version(f[0]); !ok {
			continue
		}
		commit := f[2]
		if commit == "" {
			commit = f[1] // a lightweight tag
		}
		byCommit[commit] = append(byCommit[commit], f[0])
	}
	if tags := byCommit[sha]; len(tags) > 0 {
		return Pick(tags)
	}
	if len(byCommit) == 0 {
		return "", ""
	}
	// One git command reads the parents of every tagged commit.
	args := []string{"log", "--no-walk=unsorted", "--format=%H %P", "--end-of-options"}
	for commit := range byCommit {
		args = append(args, commit)
	}
	parents, err := repo.Run(ctx, args...)
	if err != nil {
		return "", ""
	}
	var children []string
	for _, line := range strings.Split(parents, "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 && f[1] == sha {
			children = append(children, byCommit[f[0]]...)
		}
	}
	return Pick(children)
}
