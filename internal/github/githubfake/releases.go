package githubfake

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"time"
)

const (
	docCreateRelease = "https://docs.github.com/rest/releases/releases#create-a-release"
	docGetByTag      = "https://docs.github.com/rest/releases/releases#get-a-release-by-tag-name"
	docUpdateRelease = "https://docs.github.com/rest/releases/releases#update-a-release"
	docGetRelease    = "https://docs.github.com/rest/releases/releases#get-a-release"
	docLatestRelease = "https://docs.github.com/rest/releases/releases#get-the-latest-release"
)

type release struct {
	id                        int64
	tag, name, body, target   string
	draft, prerelease         bool
	makeLatest                string
	created, published        time.Time
	untagged                  string // the draft's placeholder URL part
	discussionCategory        string
	generateNotesWasRequested bool
}

func (s *Server) releaseHTML(rp *repo, rel *release) string {
	if rel.draft {
		if rel.untagged == "" {
			rel.untagged = "untagged-" + madeUpSHA(strconv.FormatInt(rel.id, 10))[:20]
		}
		return fmt.Sprintf("%s/%s/releases/tag/%s", s.webURL, rp.name, rel.untagged)
	}
	return fmt.Sprintf("%s/%s/releases/tag/%s", s.webURL, rp.name, rel.tag)
}

func (s *Server) releaseJSON(r *http.Request, rp *repo, rel *release) map[string]any {
	self := s.apiURL(r, fmt.Sprintf("/repos/%s/releases/%d", rp.name, rel.id))
	return map[string]any{
		"url":              self,
		"html_url":         s.releaseHTML(rp, rel),
		"assets_url":       self + "/assets",
		"upload_url":       fmt.Sprintf("%s/repos/%s/releases/%d/assets{?name,label}", s.URL, rp.name, rel.id),
		"tarball_url":      s.apiURL(r, fmt.Sprintf("/repos/%s/tarball/%s", rp.name, rel.tag)),
		"zipball_url":      s.apiURL(r, fmt.Sprintf("/repos/%s/zipball/%s", rp.name, rel.tag)),
		"id":               rel.id,
		"node_id":          fmt.Sprintf("RE_fake%d", rel.id),
		"tag_name":         rel.tag,
		"target_commitish": rel.target,
		"name":             rel.name,
		"body":             rel.body,
		"draft":            rel.draft,
		"prerelease":       rel.prerelease,
		"immutable":        false,
		"created_at":       ts(rel.created),
		"published_at":     tsOrNil(rel.published),
		"author":           map[string]any{"login": "shipprod-bot", "id": 1, "type": "User"},
		"assets":           []any{},
	}
}

// setLatest applies make_latest after a release was created or changed.
func (rp *repo) setLatest(rel *release) {
	if rel.draft || rel.prerelease {
		if rp.latestID == rel.id {
			rp.latestID = 0
		}
		return
	}
	switch rel.makeLatest {
	case "", "true", "legacy":
		// "legacy" picks by creation date and semver; the newest wins here.
		rp.latestID = rel.id
	}
}

// releaseRoutes are the releases endpoints.
func (s *Server) releaseRoutes() []repoRoute {
	return []repoRoute{
		{"GET /repos/{owner}/{repo}/releases", s.listReleases},
		{"POST /repos/{owner}/{repo}/releases", s.createRelease},
		{"GET /repos/{owner}/{repo}/releases/latest", s.latestRelease},
		{"GET /repos/{owner}/{repo}/releases/tags/{tag...}", s.getReleaseByTag},
		{"GET /repos/{owner}/{repo}/releases/{id}", s.getRelease},
		{"PATCH /repos/{owner}/{repo}/releases/{id}", s.updateRelease},
		{"DELETE /repos/{owner}/{repo}/releases/{id}", s.deleteRelease},
	}
}

// listReleases lists the releases, drafts included, newest first.
func (s *Server) listReleases(w http.ResponseWriter, r *http.Request, rp *repo) {
	rels := append([]*release(nil), rp.releases...)
	sort.SliceStable(rels, func(i, j int) bool {
		if !rels[i].created.Equal(rels[j].created) {
			return rels[i].created.After(rels[j].created)
		}
		return rels[i].id > rels[j].id
	})
	page := paginate(w, r, rels)
	out := make([]any, 0, len(page))
	for _, rel := range page {
		out = append(out, s.releaseJSON(r, rp, rel))
	}
	writeJSON(w, http.StatusOK, out)
}

// validMakeLatest is what make_latest accepts.
var validMakeLatest = []string{"true", "false", "legacy"}

// createRelease creates a release; publishing creates the tag at
// target_commitish. A draft never takes a tag: GitHub accepts any number of
// drafts for one tag, published or not, and answers 422 already_exists only
// to a published release whose tag a published release has (see
// /work/shared/reference/vercel-github-api.md §2.3, and
// ncipollo/release-action#7: "GitHub allows you to have multiple drafts
// which point to the same tag (unlike normal releases)").
func (s *Server) createRelease(w http.ResponseWriter, r *http.Request, rp *repo) {
	var req struct {
		TagName                *string `json:"tag_name"`
		TargetCommitish        string  `json:"target_commitish"`
		Name                   *string `json:"name"`
		Body                   string  `json:"body"`
		Draft                  bool    `json:"draft"`
		Prerelease             bool    `json:"prerelease"`
		MakeLatest             *string `json:"make_latest"`
		GenerateReleaseNotes   bool    `json:"generate_release_notes"`
		DiscussionCategoryName string  `json:"discussion_category_name"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		writeRaw(w, http.StatusBadRequest, errorBody(http.StatusBadRequest, "Problems parsing JSON", docCreateRelease))
		return
	}
	if req.TagName == nil || *req.TagName == "" {
		writeRaw(w, http.StatusUnprocessableEntity, validationError(docCreateRelease,
			map[string]string{"resource": "Release", "code": "missing_field", "field": "tag_name"}))
		return
	}
	if req.MakeLatest != nil && !contains(validMakeLatest, *req.MakeLatest) {
		writeRaw(w, http.StatusUnprocessableEntity, validationError(docCreateRelease,
			map[string]string{"resource": "Release", "code": "invalid", "field": "make_latest"}))
		return
	}
	if !req.Draft && rp.publishedByTag(*req.TagName, nil) != nil {
		writeRaw(w, http.StatusUnprocessableEntity, validationError(docCreateRelease,
			map[string]string{"resource": "Release", "code": "already_exists", "field": "tag_name"}))
		return
	}
	now := s.clock.Now()
	target := req.TargetCommitish
	if target == "" {
		target = rp.opts.DefaultBranch
	}
	rel := &release{id: s.id(), tag: *req.TagName, body: req.Body, target: target,
		draft: req.Draft, prerelease: req.Prerelease, created: now, discussionCategory: req.DiscussionCategoryName,
		generateNotesWasRequested: req.GenerateReleaseNotes}
	if req.Name != nil {
		rel.name = *req.Name
	}
	if req.MakeLatest != nil {
		rel.makeLatest = *req.MakeLatest
	}
	if !rel.draft {
		rel.published = now
		rp.ensureTag(rel.tag, target)
	}
	rp.releases = append(rp.releases, rel)
	rp.setLatest(rel)
	w.Header().Set("Location", s.apiURL(r, fmt.Sprintf("/repos/%s/releases/%d", rp.name, rel.id)))
	writeJSON(w, http.StatusCreated, s.releaseJSON(r, rp, rel))
}

// latestRelease answers the repository's latest release, 404 when none.
func (s *Server) latestRelease(w http.ResponseWriter, r *http.Request, rp *repo) {
	for _, rel := range rp.releases {
		if rel.id == rp.latestID {
			writeJSON(w, http.StatusOK, s.releaseJSON(r, rp, rel))
			return
		}
	}
	notFound(w, docLatestRelease)
}

// getReleaseByTag answers the published release of a tag.
func (s *Server) getReleaseByTag(w http.ResponseWriter, r *http.Request, rp *repo) {
	tag := unescape(r.PathValue("tag"))
	for _, rel := range rp.releases {
		// Drafts are not found by tag: they have no tag until published.
		if rel.tag == tag && !rel.draft {
			writeJSON(w, http.StatusOK, s.releaseJSON(r, rp, rel))
			return
		}
	}
	notFound(w, docGetByTag)
}

// getRelease answers a release by id, drafts included.
func (s *Server) getRelease(w http.ResponseWriter, r *http.Request, rp *repo) {
	if rel := rp.releaseByID(r.PathValue("id")); rel != nil {
		writeJSON(w, http.StatusOK, s.releaseJSON(r, rp, rel))
		return
	}
	notFound(w, docGetRelease)
}

// releaseUpdate is the body of PATCH /releases/{id}: absent fields stay.
type releaseUpdate struct {
	TagName         *string `json:"tag_name"`
	TargetCommitish *string `json:"target_commitish"`
	Name            *string `json:"name"`
	Body            *string `json:"body"`
	Draft           *bool   `json:"draft"`
	Prerelease      *bool   `json:"prerelease"`
	MakeLatest      *string `json:"make_latest"`
}

// updateRelease changes a release; publishing a draft creates its tag. A
// release that is published after the change may not share its tag with
// another published release (422 already_exists, nothing changed); a draft
// may carry any tag.
func (s *Server) updateRelease(w http.ResponseWriter, r *http.Request, rp *repo) {
	rel := rp.releaseByID(r.PathValue("id"))
	if rel == nil {
		notFound(w, docUpdateRelease)
		return
	}
	var req releaseUpdate
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		writeRaw(w, http.StatusBadRequest, errorBody(http.StatusBadRequest, "Problems parsing JSON", docUpdateRelease))
		return
	}
	if req.MakeLatest != nil && !contains(validMakeLatest, *req.MakeLatest) {
		writeRaw(w, http.StatusUnprocessableEntity, validationError(docUpdateRelease,
			map[string]string{"resource": "Release", "code": "invalid", "field": "make_latest"}))
		return
	}
	tag, draft := rel.tag, rel.draft
	if req.TagName != nil {
		tag = *req.TagName
	}
	if req.Draft != nil {
		draft = *req.Draft
	}
	if !draft && rp.publishedByTag(tag, rel) != nil {
		writeRaw(w, http.StatusUnprocessableEntity, validationError(docUpdateRelease,
			map[string]string{"resource": "Release", "code": "already_exists", "field": "tag_name"}))
		return
	}
	s.applyReleaseUpdate(rp, rel, req)
	writeJSON(w, http.StatusOK, s.releaseJSON(r, rp, rel))
}

// applyReleaseUpdate sets the fields req carries on rel.
func (s *Server) applyReleaseUpdate(rp *repo, rel *release, req releaseUpdate) {
	set := func(dst *string, v *string) {
		if v != nil {
			*dst = *v
		}
	}
	set(&rel.tag, req.TagName)
	set(&rel.target, req.TargetCommitish)
	set(&rel.name, req.Name)
	set(&rel.body, req.Body)
	set(&rel.makeLatest, req.MakeLatest)
	if req.Prerelease != nil {
		rel.prerelease = *req.Prerelease
	}
	if req.Draft != nil {
		if rel.draft && !*req.Draft {
			rel.published = s.clock.Now()
			rp.ensureTag(rel.tag, rel.target)
		}
		rel.draft = *req.Draft
	}
	rp.setLatest(rel)
}

// deleteRelease deletes a release (its tag stays).
func (s *Server) deleteRelease(w http.ResponseWriter, r *http.Request, rp *repo) {
	for i, rel := range rp.releases {
		if strconv.FormatInt(rel.id, 10) == r.PathValue("id") {
			rp.releases = append(rp.releases[:i:i], rp.releases[i+1:]...)
			if rp.latestID == rel.id {
				rp.latestID = 0
			}
			w.WriteHeader(http.StatusNoContent)
			return
		}
	}
	notFound(w, "https://docs.github.com/rest/releases/releases#delete-a-release")
}

// publishedByTag returns the published release of tag other than except,
// or nil. Drafts do not count: they take no tag until published.
func (rp *repo) publishedByTag(tag string, except *release) *release {
	for _, rel := range rp.releases {
		if rel.tag == tag && !rel.draft && rel != except {
			return rel
		}
	}
	return nil
}

func (rp *repo) releaseByID(id string) *release {
	for _, rel := range rp.releases {
		if strconv.FormatInt(rel.id, 10) == id {
			return rel
		}
	}
	return nil
}

// ensureTag creates tag at target when publishing a release for a tag that
// does not exist yet; an existing tag stays where it is (GitHub then ignores
// target_commitish).
func (rp *repo) ensureTag(tag, target string) {
	if _, ok := rp.opts.Refs[tag]; ok {
		return
	}
	if _, ok := rp.tags[tag]; ok {
		return
	}
	sha, _ := rp.resolve(target)
	rp.tags[tag] = sha
}

// Tag returns the SHA the fake's tag points at, and whether it exists.
func (s *Server) Tag(fullName, tag string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rp := s.repos[fullName]
	if sha, ok := rp.opts.Refs[tag]; ok {
		return sha, true
	}
	sha, ok := rp.tags[tag]
	return sha, ok
}
