package github

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"time"

	gogithub "github.com/google/go-github/v89/github"

	"github.com/shipprod/shipprod/internal/httpretry"
)

// Release is a GitHub Release.
type Release struct {
	ID              int64
	TagName         string
	Name            string
	Body            string
	TargetCommitish string
	Draft           bool
	Prerelease      bool
	// HTMLURL is the release page.
	HTMLURL     string
	CreatedAt   time.Time
	PublishedAt time.Time // zero for a draft
}

// ReleaseRequest is what a release should look like.
type ReleaseRequest struct {
	TagName string
	// TargetCommitish is used by GitHub only when the tag does not exist yet.
	TargetCommitish string
	Name            string
	Body            string
	Draft           bool
	Prerelease      bool
	// MakeLatest is "true", "false" or "legacy"; "" leaves GitHub's default.
	MakeLatest string
}

// maxReleasePages bounds the scan of the release list for a draft
// (100 per page).
const maxReleasePages = 10

func fromRelease(r *gogithub.RepositoryRelease) Release {
	if r == nil {
		return Release{}
	}
	return Release{
		ID:              r.GetID(),
		TagName:         r.GetTagName(),
		Name:            r.GetName(),
		Body:            r.GetBody(),
		TargetCommitish: r.GetTargetCommitish(),
		Draft:           r.GetDraft(),
		Prerelease:      r.GetPrerelease(),
		HTMLURL:         r.GetHTMLURL(),
		CreatedAt:       r.GetCreatedAt().Time,
		PublishedAt:     r.GetPublishedAt().Time,
	}
}

// ReleaseByTag returns the published release for tag. GitHub answers 404
// for a draft, so false does not mean no draft exists: see FindRelease.
func (c *Client) ReleaseByTag(ctx context.Context, tag string) (Release, bool, error) {
	path := fmt.Sprintf("repos/%s/%s/releases/tags/%s", c.owner, c.repo, url.PathEscape(tag))
	r, resp, err := c.api.Repositories.GetReleaseByTag(ctx, c.owner, c.repo, tag)
	if err != nil {
		if resp != nil && resp.StatusCode == http.StatusNotFound {
			return Release{}, false, nil
		}
		return Release{}, false, c.wrap(http.MethodGet, path, resp, err)
	}
	return fromRelease(r), true, nil
}

// FindRelease returns the release for tag, draft or published: it asks for
// the published one by tag, then scans the release list (which includes
// drafts) newest first.
func (c *Client) FindRelease(ctx context.Context, tag string) (Release, bool, error) {
	if r, ok, err := c.ReleaseByTag(ctx, tag); err != nil || ok {
		return r, ok, err
	}
	path := fmt.Sprintf("repos/%s/%s/releases", c.owner, c.repo)
	opt := &gogithub.ListOptions{PerPage: 100, Page: 1}
	for page := 0; page < maxReleasePages; page++ {
		list, resp, err := c.api.Repositories.ListReleases(ctx, c.owner, c.repo, opt)
		if err != nil {
			return Release{}, false, c.wrap(http.MethodGet, path, resp, err)
		}
		for _, r := range list {
			if r.GetTagName() == tag {
				return fromRelease(r), true, nil
			}
		}
		if resp.NextPage == 0 {
			break
		}
		opt.Page = resp.NextPage
	}
	return Release{}, false, nil
}

// CreateRelease creates a release. A release that already exists for the
// tag is a 422 whose *APIError HasCode("already_exists") — for a published
// release only: GitHub accepts any number of drafts for one tag.
//
// So a create whose answer was lost (a dropped connection, a 5xx after the
// server may have acted) is never sent again blindly: the release list,
// drafts included, is searched for the tag first, and only when no release
// is there is the create sent again (at most createAttempts times).
func (c *Client) CreateRelease(ctx context.Context, req ReleaseRequest) (Release, error) {
	var created Release
	err := c.createOnce(ctx, func() error {
		r, err := c.createRelease(ctx, req)
		created = r
		return err
	}, func() (bool, error) {
		r, found, err := c.FindRelease(ctx, req.TagName)
		created = r
		return found, err
	})
	return created, err
}

func (c *Client) createRelease(ctx context.Context, req ReleaseRequest) (Release, error) {
	path := fmt.Sprintf("repos/%s/%s/releases", c.owner, c.repo)
	body := gogithub.CreateReleaseRequest{
		TagName:    req.TagName,
		Name:       gogithub.Ptr(req.Name),
		Body:       gogithub.Ptr(req.Body),
		Draft:      gogithub.Ptr(req.Draft),
		Prerelease: gogithub.Ptr(req.Prerelease),
	}
	if req.TargetCommitish != "" {
		body.TargetCommitish = gogithub.Ptr(req.TargetCommitish)
	}
	if req.MakeLatest != "" {
		body.MakeLatest = gogithub.Ptr(req.MakeLatest)
	}
	r, resp, err := c.api.Repositories.CreateRelease(ctx, c.owner, c.repo, body)
	if err != nil {
		return Release{}, c.wrap(http.MethodPost, path, resp, err)
	}
	return fromRelease(r), nil
}

// UpdateRelease sets every field of req on release id. Repeating it is
// harmless, so it is retried like a GET.
func (c *Client) UpdateRelease(ctx context.Context, id int64, req ReleaseRequest) (Release, error) {
	path := fmt.Sprintf("repos/%s/%s/releases/%d", c.owner, c.repo, id)
	body := gogithub.UpdateReleaseRequest{
		TagName:    gogithub.Ptr(req.TagName),
		Name:       gogithub.Ptr(req.Name),
		Body:       gogithub.Ptr(req.Body),
		Draft:      gogithub.Ptr(req.Draft),
		Prerelease: gogithub.Ptr(req.Prerelease),
	}
	if req.MakeLatest != "" {
		body.MakeLatest = gogithub.Ptr(req.MakeLatest)
	}
	r, resp, err := c.api.Repositories.UpdateRelease(httpretry.RetrySafe(ctx), c.owner, c.repo, id, body)
	if err != nil {
		return Release{}, c.wrap(http.MethodPatch, path, resp, err)
	}
	return fromRelease(r), nil
}
