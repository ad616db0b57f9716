package gittest

import (
	"cmp"
	"context"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/shipprod/shipprod/internal/git"
)

// Spec describes a repository for Build: what a test sets up, in the order
// git would have made it.
type Spec struct {
	// Commits are made in order (see Commit for the defaults: on main, each
	// on the one before).
	Commits []Commit
	// Tags are made after the commits.
	Tags []Tag
	// Branches are extra branches: name → the commit it points at (an ID,
	// a branch name or a SHA).
	Branches map[string]string
	// Head is the branch checked out at the end; "" means main.
	Head string
	// Origin, when set, makes a bare repository origin.git next to the
	// working tree, configured as its remote "origin", holding what Origin
	// says was pushed to it.
	Origin *Origin
	// Remotes are further remotes to configure: name → URL (written into
	// the configuration; nothing is fetched).
	Remotes map[string]string
}

// Origin is what a Spec's bare origin holds, as if pushed there. The remote
// gets every object of the history; its refs say what was pushed.
type Origin struct {
	// Branches maps each branch of origin to the local branch or commit (ID
	// or SHA) it holds, e.g. {"main": "main", "production": "v1"}; nil means
	// {"main": "main"}, and an empty map an origin without branches. The
	// working tree's remote-tracking branches (origin/<branch>) follow, as
	// after a push.
	Branches map[string]string
	// Tags are the local tags pushed to origin.
	Tags []string
}

// Repo is a working tree made by Build or New, with its bare origin when the
// Spec asked for one.
type Repo struct {
	*git.Repo
	// Remote is the bare repository origin points at; nil without one.
	Remote *git.Repo
	// Builder adds commits, tags and branches cheaply (see Commit); Flush
	// it before running git.
	Builder *Builder
	t       testing.TB
}

// Build makes the repository spec describes in a new temporary directory:
// the working tree is <dir>/work and origin, if any, <dir>/origin.git. It
// runs git once: fast-import writes the history. The index, the origin
// (sharing the working tree's pack) and its refs are written without git.
func Build(t testing.TB, spec Spec) *Repo {
	t.Helper()
	root := t.TempDir()
	work := filepath.Join(root, "work")
	Init(t, work)
	b := NewBuilder(t, work)
	r := &Repo{Repo: git.Open(work), Builder: b, t: t}
	for _, c := range spec.Commits {
		b.Commit(c)
	}
	for _, tg := range spec.Tags {
		b.Tag(tg)
	}
	for _, name := range slices.Sorted(maps.Keys(spec.Branches)) {
		b.Branch(name, spec.Branches[name])
	}
	if head := cmp.Or(spec.Head, "main"); len(spec.Commits) > 0 && head != b.session().head {
		b.Checkout(head)
	}
	b.Flush()
	var config strings.Builder
	if spec.Origin != nil {
		r.Remote = git.Open(filepath.Join(root, "origin.git"))
		r.makeOrigin(*spec.Origin)
		fmt.Fprintf(&config, "[remote \"origin\"]\n\turl = %s\n\tfetch = +refs/heads/*:refs/remotes/origin/*\n", r.Remote.Dir)
	}
	for _, name := range slices.Sorted(maps.Keys(spec.Remotes)) {
		fmt.Fprintf(&config, "[remote %q]\n\turl = %s\n\tfetch = +refs/heads/*:refs/remotes/%s/*\n", name, spec.Remotes[name], name)
	}
	if config.Len() > 0 {
		f, err := os.OpenFile(filepath.Join(work, ".git", "config"), os.O_APPEND|os.O_WRONLY, 0)
		if err == nil {
			_, err = f.WriteString(config.String())
			if cerr := f.Close(); err == nil {
				err = cerr
			}
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	return r
}

// makeOrigin makes the bare origin: it shares the working tree's packs
// (hard links; packs are never changed in place) and gets the refs o names.
func (r *Repo) makeOrigin(o Origin) {
	t := r.t
	t.Helper()
	InitBare(t, r.Remote.Dir)
	localGit, remoteGit := filepath.Join(r.Dir, ".git"), r.Remote.Dir
	if err := linkObjects(filepath.Join(localGit, "objects"), filepath.Join(remoteGit, "objects")); err != nil {
		t.Fatal(err)
	}
	branches := o.Branches
	if branches == nil {
		branches = map[string]string{"main": "main"}
	}
	for _, name := range slices.Sorted(maps.Keys(branches)) {
		sha := r.Builder.resolve(cmp.Or(branches[name], name))
		for _, ref := range []string{"refs/heads/" + name, "refs/remotes/origin/" + name} {
			dir := remoteGit
			if strings.HasPrefix(ref, "refs/remotes/") {
				dir = localGit
			}
			if err := writeRef(dir, ref, sha); err != nil {
				t.Fatal(err)
			}
		}
	}
	r.Builder.Flush() // resolving reads refs in a session of its own
	for _, tag := range o.Tags {
		obj, err := readRef(localGit, "refs/tags/"+tag)
		if err == nil && obj == "" {
			err = fmt.Errorf("gittest: origin: no local tag %q to push", tag)
		}
		if err == nil {
			err = writeRef(remoteGit, "refs/tags/"+tag, obj)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

// linkObjects gives the object directory dst every object of src, by hard
// links (git never changes an object file or pack in place) or copies.
func linkObjects(src, dst string) error {
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil || path == src {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		if filepath.Dir(rel) == "info" || !d.Type().IsRegular() {
			return nil // alternates and the like belong to src
		}
		if err := os.Link(path, target); err == nil {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, 0o444)
	})
}

// New makes a repository on branch main with one commit ("initial commit",
// README.md), pushed to a bare origin. It calls Isolate.
func New(t testing.TB) *Repo {
	t.Helper()
	Isolate(t)
	return Build(t, Spec{
		Commits: []Commit{{Message: "initial commit", Files: map[string]string{"README.md": "# test\n"}}},
		Origin:  &Origin{},
	})
}

// SHA returns the SHA of the commit with Commit.ID id.
func (r *Repo) SHA(id string) string {
	r.t.Helper()
	return r.Builder.SHA(id)
}

func (r *Repo) must(out string, err error) string {
	r.t.Helper()
	if err != nil {
		r.t.Fatal(err)
	}
	return out
}

// Git runs git in the working tree and fails the test on error.
func (r *Repo) Git(args ...string) string {
	r.t.Helper()
	r.Builder.Flush()
	return r.must(r.Run(context.Background(), args...))
}

// Write writes files (path → content) in the working tree.
func (r *Repo) Write(files map[string]string) {
	r.t.Helper()
	for name, content := range files {
		p := filepath.Join(r.Dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			r.t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			r.t.Fatal(err)
		}
	}
}

// Commit commits files (path → content) on top of HEAD, on the branch HEAD
// is on, writes them into the working tree and returns the new commit's
// SHA. Other changes in the working tree stay uncommitted. It runs git once
// (see Builder).
func (r *Repo) Commit(message string, files map[string]string) string {
	r.t.Helper()
	sha := r.Builder.Commit(Commit{Message: message, Files: files})
	r.Builder.Flush()
	return sha
}

// Path returns the absolute path of a file in the working tree.
func (r *Repo) Path(name string) string { return filepath.Join(r.Dir, name) }
