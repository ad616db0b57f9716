package tag

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/Masterminds/semver/v3"

	"github.com/shipprod/shipprod/internal/github"
)

// maxReleaseAttempts bounds the find → create/update loop when GitHub
// answers ambiguously (a 5xx after the retries, an unreadable answer, or a
// concurrent creator's already_exists).
const maxReleaseAttempts = 3

// ensureRelease makes the GitHub Release for the tag look as configured:
// it finds an existing one (published by tag, drafts through the list) and
// reuses it when it already matches, updates it when it does not, and
// creates it only when there is none.
func (t *Tagger) ensureRelease(ctx context.Context, r resolved, remote remoteTagList) (github.Release, error) {
	want, err := t.releaseRequest(ctx, r, remote)
	if err != nil {
		return github.Release{}, err
	}
	var lastErr error
	for attempt := 1; attempt <= maxReleaseAttempts; attempt++ {
		if err := ctx.Err(); err != nil {
			return github.Release{}, err
		}
		existing, found, err := t.gh.FindRelease(ctx, r.tag)
		if err != nil {
			if !github.IsTransient(err) || github.IsRateLimited(err) {
				return github.Release{}, err
			}
			lastErr = err
			continue
		}
		if found {
			// Never turn a published release back into a draft.
			req := want
			req.Draft = want.Draft && existing.Draft
			if matches(existing, req) {
				t.log.Info("GitHub Release already exists as configured; reusing it", "tag", r.tag, "url", existing.HTMLURL)
				return existing, nil
			}
			updated, err := t.gh.UpdateRelease(ctx, existing.ID, req)
			if err != nil {
				if !github.IsTransient(err) || github.IsRateLimited(err) {
					return github.Release{}, err
				}
				lastErr = err
				continue
			}
			t.log.Info("updated the existing GitHub Release", "tag", r.tag, "url", updated.HTMLURL, "was_draft", existing.Draft)
			return updated, nil
		}
		created, err := t.gh.CreateRelease(ctx, want)
		var ae *github.APIError
		switch {
		case err == nil:
			t.log.Info("created the GitHub Release", "tag", r.tag, "url", created.HTMLURL)
			return created, nil
		case errors.As(err, &ae) && ae.HasCode("already_exists"):
			// Someone (or our own retried request) created it meanwhile:
			// find it and reconcile.
			lastErr = err
		case github.IsTransient(err) && !github.IsRateLimited(err):
			lastErr = err
		default:
			return github.Release{}, err
		}
	}
	return github.Release{}, fmt.Errorf("after %d attempts: %w", maxReleaseAttempts, lastErr)
}

func matches(have github.Release, want github.ReleaseRequest) bool {
	return have.TagName == want.TagName && have.Name == want.Name &&
		strings.TrimSpace(normalizeNewlines(have.Body)) == strings.TrimSpace(normalizeNewlines(want.Body)) &&
		have.Draft == want.Draft && have.Prerelease == want.Prerelease
}

func normalizeNewlines(s string) string { return strings.ReplaceAll(s, "\r\n", "\n") }

// releaseRequest is what the release should look like.
func (t *Tagger) releaseRequest(ctx context.Context, r resolved, remote remoteTagList) (github.ReleaseRequest, error) {
	var name bytes.Buffer
	if err := t.relName.Execute(&name, r.rel); err != nil {
		return github.ReleaseRequest{}, fmt.Errorf("github.release.name: %w", err)
	}
	req := github.ReleaseRequest{
		TagName:         r.tag,
		TargetCommitish: r.rel.Commit,
		Name:            strings.TrimSpace(name.String()),
		Body:            r.rel.Notes,
		Draft:           t.ghCfg.Release.Draft,
		Prerelease:      t.prerelease(r),
	}
	switch ml := t.ghCfg.Release.MakeLatest; ml {
	case "", "auto":
		latest, err := t.isHighestStable(ctx, r, remote)
		if err != nil {
			return req, err
		}
		req.MakeLatest = "false"
		if latest && !req.Prerelease && !req.Draft {
			req.MakeLatest = "true"
		}
	default:
		req.MakeLatest = ml
	}
	return req, nil
}

// prerelease applies github.release.prerelease: "auto" marks SemVer
// pre-releases (1.2.0-rc.1).
func (t *Tagger) prerelease(r resolved) bool {
	switch t.ghCfg.Release.Prerelease {
	case "true":
		return true
	case "false":
		return false
	}
	v, err := semver.NewVersion(versionOf(r))
	return err == nil && v.Prerelease() != ""
}

func versionOf(r resolved) string {
	if r.rel.Version != "" {
		return r.rel.Version
	}
	return strings.TrimPrefix(r.tag, r.prefix)
}

// isHighestStable reports whether the release's version is at least every
// stable version tagged with the same prefix, locally or on the remote, so
// that an older maintenance release (1.4.3 after 2.0.0) never becomes
// "latest".
func (t *Tagger) isHighestStable(ctx context.Context, r resolved, remote remoteTagList) (bool, error) {
	mine, err := semver.NewVersion(versionOf(r))
	if err != nil || mine.Prerelease() != "" {
		return false, nil
	}
	out, err := t.repo.Run(ctx, "for-each-ref", "--format=%(refname:strip=2)", "refs/tags/")
	if err != nil {
		return false, err
	}
	names := strings.Split(out, "\n")
	for n := range remote.objects {
		names = append(names, n)
	}
	for _, n := range names {
		rest, ok := strings.CutPrefix(n, r.prefix)
		if !ok || n == r.tag {
			continue
		}
		v, err := semver.StrictNewVersion(rest)
		if err != nil || v.Prerelease() != "" {
			continue
		}
		if v.GreaterThan(mine) {
			t.log.Info("not marking the release as latest: a higher stable version exists", "tag", r.tag, "higher", n)
			return false, nil
		}
	}
	return true, nil
}
