package githubfake

import (
	"crypto/sha1"
	"encoding/hex"
	"net/http"
	"regexp"
	"sort"
	"time"
)

// RunDetailsMode says how the dispatch endpoint treats return_run_details.
type RunDetailsMode int

// Run-details modes.
const (
	// DetailsReturned is github.com since 2026-02: with
	// return_run_details: true the answer is 200 with the run's id and
	// URLs, otherwise 204.
	DetailsReturned RunDetailsMode = iota
	// DetailsNever answers 204 whatever the client asks ("even on
	// github.com, we may still get 204 for any reason").
	DetailsNever
	// DetailsRejected is GitHub Enterprise Server ≤ 3.20: the field is
	// unknown and its presence is a 400.
	DetailsRejected
)

// RepoOptions describe a repository of the fake.
type RepoOptions struct {
	// DefaultBranch defaults to "main".
	DefaultBranch string
	// Refs maps branch and tag names to the commit SHA they point at. When
	// empty, any ref name is accepted and gets a made-up SHA.
	Refs map[string]string
	// BehindDefault lists refs behind the default branch: a deployment of
	// one with auto_merge on (GitHub's default) merges the default branch
	// into it and answers 202 instead of creating a deployment.
	BehindDefault []string
	// FailingContexts are commit-status contexts in failure: a deployment
	// that does not send required_contexts: [] is refused with 409.
	FailingContexts []string
	// NoActionsWrite makes the token lack actions:write: dispatches get 403.
	NoActionsWrite bool
	// RunDetails selects the dispatch endpoint's return_run_details behaviour.
	RunDetails RunDetailsMode
	// ReadOnly makes the token's account a reader of the repository: GET
	// /repos/{owner}/{repo} reports permissions.push false.
	ReadOnly bool
}

type repo struct {
	name     string
	opts     RepoOptions
	tags     map[string]string // tags created through releases
	releases []*release
	latestID int64
	deploys  []*deployment
	flows    []*workflow
	runs     []*run
	behind   map[string]bool
	files    map[string]string // ref NUL path → content; ref "" for every ref
}

// AddRepo creates repository fullName ("owner/name"). Requests for
// repositories that were not added are answered 404, as GitHub does for
// private repositories the token cannot see.
func (s *Server) AddRepo(fullName string, o RepoOptions) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if o.DefaultBranch == "" {
		o.DefaultBranch = "main"
	}
	rp := &repo{name: fullName, opts: o, tags: map[string]string{}, behind: map[string]bool{}}
	for _, b := range o.BehindDefault {
		rp.behind[b] = true
	}
	s.repos[fullName] = rp
}

// SetRef points a branch or tag of repository fullName at sha.
func (s *Server) SetRef(fullName, ref, sha string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rp := s.repos[fullName]
	if rp.opts.Refs == nil {
		rp.opts.Refs = map[string]string{}
	}
	rp.opts.Refs[ref] = sha
}

// SetRunDetails changes how dispatches treat return_run_details.
func (s *Server) SetRunDetails(fullName string, mode RunDetailsMode) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.repos[fullName].opts.RunDetails = mode
}

// repoFor returns the repository a request names, answering 404 if none.
// The caller holds s.mu.
func (s *Server) repoFor(w http.ResponseWriter, r *http.Request) *repo {
	rp := s.repos[r.PathValue("owner")+"/"+r.PathValue("repo")]
	if rp == nil {
		notFound(w, "https://docs.github.com/rest/repos/repos#get-a-repository")
	}
	return rp
}

// repoRoute is an endpoint under /repos/{owner}/{repo}: its ServeMux
// pattern and its handler.
type repoRoute struct {
	pattern string
	handle  func(w http.ResponseWriter, r *http.Request, rp *repo)
}

// handleRepo registers each route's handler, called with the server locked
// and the repository the path names (a request for an unknown repository
// gets GitHub's 404 without reaching the handler).
func (s *Server) handleRepo(routes ...repoRoute) {
	for _, rt := range routes {
		s.mux.HandleFunc(rt.pattern, func(w http.ResponseWriter, r *http.Request) {
			s.mu.Lock()
			defer s.mu.Unlock()
			if rp := s.repoFor(w, r); rp != nil {
				rt.handle(w, r, rp)
			}
		})
	}
}

var hexSHA = regexp.MustCompile(`^[0-9a-f]{40}$`)

// resolve returns the SHA ref points at and whether the ref exists. A full
// SHA resolves to itself.
func (rp *repo) resolve(ref string) (string, bool) {
	if hexSHA.MatchString(ref) {
		return ref, true
	}
	if sha, ok := rp.opts.Refs[ref]; ok {
		return sha, true
	}
	if sha, ok := rp.tags[ref]; ok {
		return sha, true
	}
	if len(rp.opts.Refs) == 0 {
		return madeUpSHA(rp.name + "@" + ref), true
	}
	return "", false
}

// refExists is resolve without accepting raw SHAs (dispatch needs a name).
func (rp *repo) refExists(ref string) (string, bool) {
	if hexSHA.MatchString(ref) {
		return "", false
	}
	return rp.resolve(ref)
}

func madeUpSHA(s string) string {
	h := sha1.Sum([]byte(s))
	return hex.EncodeToString(h[:])
}

// ---- snapshots for tests ----

// ReleaseInfo is a release as stored by the fake.
type ReleaseInfo struct {
	ID                                   int64
	TagName, Name, Body, TargetCommitish string
	Draft, Prerelease                    bool
	// MakeLatest is the last make_latest the client sent ("" if never).
	MakeLatest  string
	HTMLURL     string
	CreatedAt   time.Time
	PublishedAt time.Time
	// Latest is true for the repository's latest release.
	Latest bool
}

// Releases returns the releases of fullName, oldest first.
func (s *Server) Releases(fullName string) []ReleaseInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	rp := s.repos[fullName]
	var out []ReleaseInfo
	for _, rel := range rp.releases {
		out = append(out, ReleaseInfo{
			ID: rel.id, TagName: rel.tag, Name: rel.name, Body: rel.body, TargetCommitish: rel.target,
			Draft: rel.draft, Prerelease: rel.prerelease, MakeLatest: rel.makeLatest, HTMLURL: s.releaseHTML(rp, rel),
			CreatedAt: rel.created, PublishedAt: rel.published, Latest: rp.latestID == rel.id,
		})
	}
	return out
}

// AddRelease stores a release directly (e.g. a draft someone left behind).
func (s *Server) AddRelease(fullName string, info ReleaseInfo) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	rp := s.repos[fullName]
	now := s.clock.Now()
	rel := &release{id: s.id(), tag: info.TagName, name: info.Name, body: info.Body, target: info.TargetCommitish,
		draft: info.Draft, prerelease: info.Prerelease, created: now}
	if !rel.draft {
		rel.published = now
	}
	rp.releases = append(rp.releases, rel)
	return rel.id
}

// DeploymentInfo is a deployment as stored by the fake, with what the
// client sent.
type DeploymentInfo struct {
	ID          int64
	Ref, SHA    string
	Task        string
	Environment string
	Description string
	// AutoMerge is what the client sent (nil when absent, which GitHub
	// treats as true).
	AutoMerge *bool
	// RequiredContexts is what the client sent (nil when absent, which
	// GitHub treats as "all contexts").
	RequiredContexts []string
	Payload          any
	Statuses         []StatusInfo
}

// StatusInfo is one deployment status.
type StatusInfo struct {
	ID             int64
	State          string
	EnvironmentURL string
	LogURL         string
	Description    string
	CreatedAt      time.Time
}

// Deployments returns the deployments of fullName, oldest first.
func (s *Server) Deployments(fullName string) []DeploymentInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []DeploymentInfo
	for _, d := range s.repos[fullName].deploys {
		di := DeploymentInfo{ID: d.id, Ref: d.ref, SHA: d.sha, Task: d.task, Environment: d.env, Description: d.description,
			AutoMerge: d.autoMerge, RequiredContexts: d.requiredContexts, Payload: d.payload}
		for _, st := range d.statuses {
			di.Statuses = append(di.Statuses, StatusInfo{ID: st.id, State: st.state, EnvironmentURL: st.envURL, LogURL: st.logURL, Description: st.description, CreatedAt: st.created})
		}
		out = append(out, di)
	}
	return out
}

// RunInfo is a workflow run as the fake sees it now.
type RunInfo struct {
	ID           int64
	Workflow     string // file name
	Event        string
	HeadBranch   string
	HeadSHA      string
	DisplayTitle string
	Inputs       map[string]string
	// TriggeredAt is when the dispatch or push happened; CreatedAt when the
	// run appeared.
	TriggeredAt, CreatedAt time.Time
	Status, Conclusion     string
	Visible                bool
}

// Runs returns the runs of fullName (visible or not yet), oldest first.
func (s *Server) Runs(fullName string) []RunInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock.Now()
	var out []RunInfo
	for _, rn := range s.repos[fullName].runs {
		st, concl, _ := rn.state(now)
		out = append(out, RunInfo{ID: rn.id, Workflow: rn.flow.file, Event: rn.event, HeadBranch: rn.branch, HeadSHA: rn.sha,
			DisplayTitle: rn.title, Inputs: rn.inputs, TriggeredAt: rn.triggered, CreatedAt: rn.created,
			Status: st, Conclusion: concl, Visible: rn.visible(now)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}
