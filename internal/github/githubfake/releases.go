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

func (s *Server) routesReleases() {
	s.repoHandler("GET /repos/{owner}/{repo}/releases", func(w http.ResponseWriter, r *http.Request, rp *repo) {
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
	})

	s.repoHandler("POST /repos/{owner}/{repo}/releases", func(w http.ResponseWriter, r *http.Request, rp *repo) {
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
		if req.MakeLatest != nil && !contains([]string{"true", "false", "legacy"}, *req.MakeLatest) {
			writeRaw(w, http.StatusUnprocessableEntity, validationError(docCreateRelease,
				map[string]string{"resource": "Release", "code": "invalid", "field": "make_latest"}))
			return
		}
		for _, rel := range rp.releases {
			if rel.tag == *req.TagName {
				writeRaw(w, http.StatusUnprocessableEntity, validationError(docCreateRelease,
					map[string]string{"resource": "Release", "code": "already_exists", "field": "tag_name"}))
				return
			}
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
	})

	s.repoHandler("GET /repos/{owner}/{repo}/releases/latest", func(w http.ResponseWriter, r *http.Request, rp *repo) {
		for _, rel := range rp.releases {
			if rel.id == rp.latestID {
				writeJSON(w, http.StatusOK, s.releaseJSON(r, rp, rel))
				return
			}
		}
		notFound(w, docLatestRelease)
	})

	s.repoHandler("GET /repos/{owner}/{repo}/releases/tags/{tag...}", func(w http.ResponseWriter, r *http.Request, rp *repo) {
		tag := unescape(r.PathValue("tag"))
		for _, rel := range rp.releases {
			// Drafts are not found by tag: they have no tag until published.
			if rel.tag == tag && !rel.draft {
				writeJSON(w, http.StatusOK, s.releaseJSON(r, rp, rel))
				return
			}
		}
		notFound(w, docGetByTag)
	})

	s.repoHandler("GET /repos/{owner}/{repo}/releases/{id}", func(w http.ResponseWriter, r *http.Request, rp *repo) {
		if rel := rp.releaseByID(r.PathValue("id")); rel != nil {
			writeJSON(w, http.StatusOK, s.releaseJSON(r, rp, rel))
			return
		}
		notFound(w, docGetRelease)
	})

	s.repoHandler("PATCH /repos/{owner}/{repo}/releases/{id}", func(w http.ResponseWriter, r *http.Request, rp *repo) {
		rel := rp.releaseByID(r.PathValue("id"))
		if rel == nil {
			notFound(w, docUpdateRelease)
			return
		}
		var req struct {
			TagName         *string `json:"tag_name"`
			TargetCommitish *string `json:"target_commitish"`
			Name            *string `json:"name"`
			Body            *string `json:"body"`
			Draft           *bool   `json:"draft"`
			Prerelease      *bool   `json:"prerelease"`
			MakeLatest      *string `json:"make_latest"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			writeRaw(w, http.StatusBadRequest, errorBody(http.StatusBadRequest, "Problems parsing JSON", docUpdateRelease))
			return
		}
		if req.MakeLatest != nil && !contains([]string{"true", "false", "legacy"}, *req.MakeLatest) {
			writeRaw(w, http.StatusUnprocessableEntity, validationError(docUpdateRelease,
				map[string]string{"resource": "Release", "code": "invalid", "field": "make_latest"}))
			return
		}
		if req.TagName != nil && *req.TagName != rel.tag {
			for _, other := range rp.releases {
				if other.tag == *req.TagName {
					writeRaw(w, http.StatusUnprocessableEntity, validationError(docUpdateRelease,
						map[string]string{"resource": "Release", "code": "already_exists", "field": "tag_name"}))
					return
				}
			}
			rel.tag = *req.TagName
		}
		if req.TargetCommitish != nil {
			rel.target = *req.TargetCommitish
		}
		if req.Name != nil {
			rel.name = *req.Name
		}
		if req.Body != nil {
			rel.body = *req.Body
		}
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
		if req.MakeLatest != nil {
			rel.makeLatest = *req.MakeLatest
		}
		rp.setLatest(rel)
		writeJSON(w, http.StatusOK, s.releaseJSON(r, rp, rel))
	})

	s.repoHandler("DELETE /repos/{owner}/{repo}/releases/{id}", func(w http.ResponseWriter, r *http.Request, rp *repo) {
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
	})
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
