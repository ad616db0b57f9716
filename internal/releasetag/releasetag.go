// Package releasetag tells release tags from other tags and reads the
// version a tag names, for the deployers that report which release
// production runs from the tags that point at its commit.
package releasetag

import (
	"github.com/Masterminds/semver/v3"
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
