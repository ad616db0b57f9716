package githubfake

import (
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"sort"
	"strings"
)

const (
	docGetRepo     = "https://docs.github.com/rest/repos/repos#get-a-repository"
	docGetContents = "https://docs.github.com/rest/repos/contents#get-repository-content"
)

// repoRoutes are the repository and contents endpoints.
func (s *Server) repoRoutes() []repoRoute {
	return []repoRoute{
		{"GET /repos/{owner}/{repo}", s.getRepo},
		{"GET /repos/{owner}/{repo}/contents/{path...}", s.getContents},
	}
}

// getRepo answers the repository, with the permissions of the token's
// account as GitHub reports them for a user's token.
func (s *Server) getRepo(w http.ResponseWriter, r *http.Request, rp *repo) {
	owner, name, _ := strings.Cut(rp.name, "/")
	push := !rp.opts.ReadOnly
	writeJSON(w, http.StatusOK, map[string]any{
		"id": 1296269, "node_id": "R_fake", "name": name, "full_name": rp.name, "private": true,
		"owner":          map[string]any{"login": owner, "type": "Organization"},
		"html_url":       s.webURL + "/" + rp.name,
		"url":            s.apiURL(r, "/repos/"+rp.name),
		"default_branch": rp.opts.DefaultBranch, "visibility": "private", "archived": false,
		"permissions": map[string]bool{"admin": false, "maintain": push, "push": push, "triage": true, "pull": true},
	})
}

// SetFile makes path read content at ref through the contents API ("" for
// every ref), e.g. a workflow file as it is at a tag. Without it, a
// workflow added with AddWorkflow reads as a file generated from its
// definition.
func (s *Server) SetFile(fullName, ref, path, content string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rp := s.repos[fullName]
	if rp.files == nil {
		rp.files = map[string]string{}
	}
	rp.files[ref+"\x00"+path] = content
}

// getContents answers a file at a ref (default: the default branch), base64
// encoded as GitHub does; 404 for a ref or a path that does not exist.
func (s *Server) getContents(w http.ResponseWriter, r *http.Request, rp *repo) {
	path := strings.Trim(r.PathValue("path"), "/")
	ref := r.URL.Query().Get("ref")
	if ref == "" {
		ref = rp.opts.DefaultBranch
	}
	if _, ok := rp.resolve(ref); !ok || !rp.knownCommit(ref) {
		writeRaw(w, http.StatusNotFound, errorBody(http.StatusNotFound, "No commit found for the ref "+ref, docGetContents))
		return
	}
	content, ok := rp.file(ref, path)
	if !ok {
		notFound(w, docGetContents)
		return
	}
	sum := sha1.Sum([]byte(fmt.Sprintf("blob %d\x00%s", len(content), content)))
	_, file := cutLast(path, "/")
	writeJSON(w, http.StatusOK, map[string]any{
		"type": "file", "encoding": "base64", "size": len(content), "name": file, "path": path,
		"content": wrap60(base64.StdEncoding.EncodeToString([]byte(content))), "sha": hex.EncodeToString(sum[:]),
		"url":          s.apiURL(r, "/repos/"+rp.name+"/contents/"+path) + "?ref=" + ref,
		"html_url":     fmt.Sprintf("%s/%s/blob/%s/%s", s.webURL, rp.name, ref, path),
		"download_url": fmt.Sprintf("https://raw.githubusercontent.com/%s/%s/%s", rp.name, ref, path),
	})
}

// knownCommit reports whether a ref that is a full SHA names a commit the
// repository has (one its refs point at); with no refs configured, every
// commit is known. The contents API answers 404 for a commit GitHub does
// not have (one that was never pushed).
func (rp *repo) knownCommit(ref string) bool {
	if !hexSHA.MatchString(ref) || len(rp.opts.Refs) == 0 {
		return true
	}
	for _, sha := range rp.opts.Refs {
		if sha == ref {
			return true
		}
	}
	for _, sha := range rp.tags {
		if sha == ref {
			return true
		}
	}
	return false
}

// file returns the content of path at ref: a file set for the ref, else
// one set for every ref, else a workflow file generated from its definition.
func (rp *repo) file(ref, path string) (string, bool) {
	if c, ok := rp.files[ref+"\x00"+path]; ok {
		return c, true
	}
	if c, ok := rp.files["\x00"+path]; ok {
		return c, true
	}
	if file, ok := strings.CutPrefix(path, workflowsFolder); ok {
		if f := rp.flowByName(file); f != nil && f.file == file {
			return workflowYAML(f.def), true
		}
	}
	return "", false
}

// workflowYAML writes a workflow file that declares what def describes.
func workflowYAML(def Workflow) string {
	var b strings.Builder
	fmt.Fprintf(&b, "name: %s\n", def.Name)
	if def.RunName != "" {
		fmt.Fprintf(&b, "run-name: %q\n", def.RunName)
	}
	b.WriteString("on:\n  push:\n    tags: ['v*']\n")
	if !def.NoDispatch {
		b.WriteString("  workflow_dispatch:\n")
		names := make([]string, 0, len(def.Inputs))
		for n := range def.Inputs {
			names = append(names, n)
		}
		sort.Strings(names)
		if len(names) > 0 {
			b.WriteString("    inputs:\n")
		}
		for _, n := range names {
			in := def.Inputs[n]
			fmt.Fprintf(&b, "      %s:\n        required: %t\n", n, in.Required)
			if in.Default != "" {
				fmt.Fprintf(&b, "        default: %q\n", in.Default)
			}
		}
	}
	b.WriteString("jobs:\n  deploy:\n    runs-on: ubuntu-latest\n    steps:\n      - run: ./deploy.sh\n")
	return b.String()
}

// wrap60 breaks base64 text into lines of 60 characters, as GitHub sends it.
func wrap60(s string) string {
	var b strings.Builder
	for len(s) > 60 {
		b.WriteString(s[:60] + "\n")
		s = s[60:]
	}
	b.WriteString(s + "\n")
	return b.String()
}

func cutLast(s, sep string) (string, string) {
	if i := strings.LastIndex(s, sep); i >= 0 {
		return s[:i], s[i+len(sep):]
	}
	return "", s
}

// Writes counts the requests received so far that could change something
// (every method but GET and HEAD), whatever their answer: a pre-flight
// check must make none.
func (s *Server) Writes() int {
	n := 0
	for _, r := range s.Requests() {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			n++
		}
	}
	return n
}
