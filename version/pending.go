package version

import (
	"context"
	"fmt"
	"strings"

	"github.com/Masterminds/semver/v3"

	"github.com/shipprod/shipprod"
)

// pending recognises a release that stopped after its bump commit: HEAD is
// the bump commit of version X (its message is the one ApplyVersion writes
// for X), every version file already says X, and X has no tag yet. Without
// this, the version files (X) and the last tag (the version before) would
// disagree, and the release could never be finished. The decision is X
// again, so the run goes on from the tag step (ApplyVersion then changes
// nothing).
func (v *Versioner) pending(ctx context.Context, d *Decision, h *history, files []*found, cl *changelogFile) bool {
	var x *semver.Version
	for _, fd := range files {
		switch {
		case x == nil:
			x = fd.version
		case !x.Equal(fd.version):
			return false
		}
	}
	if x == nil {
		return false
	}
	tagName := v.s.prefix + x.String()
	for _, t := range h.all { // every release tag, so X's too if it exists
		if t.name == tagName {
			return false // tagged: the usual decision applies
		}
	}
	rel := shipprod.Release{Version: x.String(), Tag: tagName}
	var cur *semver.Version
	if t := h.current(); t != nil {
		if !x.GreaterThan(t.version) {
			return false
		}
		cur = t.version
		rel.PreviousVersion, rel.PreviousTag = t.version.String(), t.name
	}
	msg, err := v.repo.Run(ctx, "log", "-1", "--format=%B", d.Head)
	if err != nil || strings.TrimSpace(msg) != strings.TrimSpace(v.message(rel)) {
		return false
	}

	d.Next, d.Tag = rel.Version, rel.Tag
	d.Current, d.CurrentSource = rel.PreviousVersion, "none"
	d.Bump = shipprod.BumpExact
	if t := h.current(); t != nil {
		d.CurrentSource = "tag " + t.name
		d.CurrentTag, d.CurrentCommit = t.name, t.commit
		d.Bump = diff(cur, x)
	}
	d.Commits = h.sinceStable.commits
	d.Reasons = []shipprod.Reason{{Source: "commit " + short(d.Head),
		Text: fmt.Sprintf("HEAD is the release commit of %s, not tagged yet: the release goes on from its tag", rel.Version), Bump: d.Bump}}
	for _, fd := range files {
		d.Files = append(d.Files, fd.file.path)
	}
	if cl != nil {
		if sec := cl.Find(rel.Version); sec != nil {
			d.Files = append(d.Files, cl.path)
			lines := strings.Split(string(cl.content), "\n")
			if sec.Line < sec.End-1 && sec.End-1 <= len(lines) {
				d.Notes = strings.TrimSpace(strings.Join(lines[sec.Line:sec.End-1], "\n"))
			}
		}
	}
	return true
}
