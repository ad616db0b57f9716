package gittest

import (
	"bufio"
	"bytes"
	"cmp"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// Epoch is the time (Unix seconds: 2024-01-01T00:00:00Z) of the first
// commit a Builder makes; each further commit or tag is one second later.
const Epoch int64 = 1_704_067_200

// Commit describes one commit for Builder.Commit and Spec.
type Commit struct {
	// ID names the commit, so that later commits, tags and branches (and
	// Repo.SHA) can refer to it. Optional.
	ID string
	// Branch is the branch the commit is made on; "" means the branch HEAD
	// is on. A branch that does not exist yet is created, starting at the
	// first parent, as `git switch -c` and a commit would.
	Branch string
	// Parents are the commit's parents: IDs, branch names, "HEAD", tags made
	// by the same Builder or SHAs. By default the commit follows the tip of
	// Branch (or, for a new branch, the commit HEAD is at; a new
	// repository's first commit has none). A second parent makes a merge
	// commit (see Builder.Commit).
	Parents []string
	// Message is the commit message; a final newline is added as
	// `git commit -m` adds it.
	Message string
	// Files are the files the commit writes (path → content, mode 0644);
	// every other file is as in the first parent.
	Files map[string]string
	// Delete are the files the commit removes.
	Delete []string
}

// Tag describes a tag for Builder.Tag and Spec.
type Tag struct {
	Name string
	// At names the tagged commit (as Commit.Parents do); "" means HEAD.
	At string
	// Message makes an annotated tag (a final newline is added as
	// `git tag -m` adds it); without one the tag is lightweight.
	Message string
}

// Builder writes history into a repository through `git fast-import`: one
// process takes every commit, tag and branch until Flush, which ends it and
// brings HEAD's index and working tree up to date. A commit's SHA is asked
// back from fast-import as soon as the commit is written (its get-mark
// command), so the next commit may quote it.
//
// A Builder keeps the working tree as git would: a commit on the branch
// HEAD is on writes its files there, and moving HEAD to another commit
// changes the files that differ (when this Builder made both commits; else
// Flush checks HEAD out afresh). Files it did not write are left alone.
// Between Flushes the repository is not up to date: run git on it only
// after Flush. Commits made meanwhile by git itself are seen by the next
// import, which starts from the refs it finds. A Builder is not safe for
// concurrent use.
type Builder struct {
	t      testing.TB
	dir    string // working tree, or the bare repository
	gitDir string
	bare   bool
	when   int64 // Unix time of the next commit or tag

	// trees holds the files of every commit this Builder made (for merges
	// and the working tree); parents holds their parents.
	trees   map[string]map[string]string
	parents map[string][]string
	ids     map[string]string // Commit.ID → SHA
	tags    map[string]string // tag → the commit it points at

	s *session // nil between Flushes
}

// session is what a Builder knows between two Flushes: the refs it read or
// wrote, and HEAD.
type session struct {
	tips      map[string]string // branch → commit, once read or written
	head      string            // branch HEAD is on; "" when detached
	detached  string            // the commit a detached HEAD is at
	startHead string            // the commit HEAD was at when the session began
	headMoved bool              // HEAD must be rewritten at Flush
	hardReset bool              // the working tree could not be kept in step
	imp       *importer         // nil until something is written
	// marks are the commits written in this session: fast-import knows them
	// by mark only, until it ends.
	marks map[string]int
}

// importer is one `git fast-import` process.
type importer struct {
	cmd    *exec.Cmd
	in     *bufio.Writer
	stdin  io.WriteCloser
	out    *bufio.Reader
	stderr bytes.Buffer
	mark   int
}

// NewBuilder returns a Builder for the repository at dir (a working tree or
// a bare repository, made by Init, InitBare or git).
func NewBuilder(t testing.TB, dir string) *Builder {
	t.Helper()
	gitDir, err := gitDirOf(dir)
	if err != nil {
		t.Fatal(err)
	}
	return &Builder{t: t, dir: dir, gitDir: gitDir, bare: gitDir == dir, when: Epoch,
		trees: map[string]map[string]string{}, parents: map[string][]string{}, ids: map[string]string{}, tags: map[string]string{}}
}

// SHA returns the SHA of the commit with Commit.ID id, failing the test when
// there is none.
func (b *Builder) SHA(id string) string {
	b.t.Helper()
	sha, ok := b.ids[id]
	if !ok {
		b.t.Fatalf("gittest: no commit with ID %q", id)
	}
	return sha
}

// command returns git args for the repository. The Builder's own commands
// read no configuration but their own, whether or not the test isolated
// git, and skip fsync.
func (b *Builder) command(args ...string) *exec.Cmd {
	cmd := exec.Command("git", append([]string{"-c", "core.fsync=none"}, args...)...)
	cmd.Dir = b.dir
	cmd.Env = append(os.Environ(), "GIT_DIR="+b.gitDir, "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1")
	if !b.bare {
		cmd.Env = append(cmd.Env, "GIT_WORK_TREE="+b.dir)
	}
	return cmd
}

// session returns the current session, beginning one (reading HEAD) when
// there is none.
func (b *Builder) session() *session {
	b.t.Helper()
	if b.s != nil {
		return b.s
	}
	head, detached, err := readHead(b.gitDir)
	if err != nil {
		b.t.Fatal(err)
	}
	b.s = &session{tips: map[string]string{}, head: head, detached: detached, marks: map[string]int{}}
	b.s.startHead = b.headCommit()
	return b.s
}

// importer returns the running fast-import, starting one when there is none.
func (b *Builder) importer() *importer {
	b.t.Helper()
	s := b.session()
	if s.imp != nil {
		return s.imp
	}
	imp := &importer{}
	// Every import goes into a pack (by default fast-import unpacks small
	// ones into loose objects, with one more process).
	imp.cmd = b.command("-c", "fastimport.unpackLimit=0", "fast-import", "--quiet", "--done", "--force", "--date-format=raw")
	imp.cmd.Stderr = &imp.stderr
	var err error
	if imp.stdin, err = imp.cmd.StdinPipe(); err != nil {
		b.t.Fatal(err)
	}
	stdout, err := imp.cmd.StdoutPipe()
	if err != nil {
		b.t.Fatal(err)
	}
	if err := imp.cmd.Start(); err != nil {
		b.t.Fatalf("gittest: starting git fast-import: %v", err)
	}
	imp.in, imp.out = bufio.NewWriter(imp.stdin), bufio.NewReader(stdout)
	s.imp = imp
	// Kill an import a failed test left running, before its directory goes.
	b.t.Cleanup(func() {
		if b.s != nil && b.s.imp == imp {
			imp.cmd.Process.Kill()
			imp.cmd.Wait()
			b.s = nil
		}
	})
	return imp
}

// fail ends the test with fast-import's own complaint.
func (b *Builder) fail(what string, err error) {
	b.t.Helper()
	imp := b.s.imp
	imp.stdin.Close()
	imp.cmd.Wait()
	b.s = nil
	b.t.Fatalf("gittest: %s: %v\n%s", what, err, imp.stderr.String())
}

// tip returns the commit branch points at ("" for none).
func (b *Builder) tip(branch string) string {
	b.t.Helper()
	s := b.session()
	if sha, ok := s.tips[branch]; ok {
		return sha
	}
	sha, err := readRef(b.gitDir, "refs/heads/"+branch)
	if err != nil {
		b.t.Fatal(err)
	}
	s.tips[branch] = sha
	return sha
}

// headCommit returns the commit HEAD is at ("" on an unborn branch).
func (b *Builder) headCommit() string {
	s := b.session()
	if s.head == "" {
		return s.detached
	}
	return b.tip(s.head)
}

var fullSHA = regexp.MustCompile(`^[0-9a-f]{40}$`)

// resolve returns the commit name names: a Commit.ID, a branch, "HEAD", a
// tag this Builder made or a SHA.
func (b *Builder) resolve(name string) string {
	b.t.Helper()
	if sha, ok := b.ids[name]; ok {
		return sha
	}
	if name == "HEAD" {
		if sha := b.headCommit(); sha != "" {
			return sha
		}
		b.t.Fatal("gittest: HEAD has no commit yet")
	}
	if sha := b.tip(name); sha != "" {
		return sha
	}
	if sha, ok := b.tags[name]; ok {
		return sha
	}
	if fullSHA.MatchString(name) {
		return name
	}
	b.t.Fatalf("gittest: %q names no commit (give an ID, a branch, HEAD, a tag made here or a full SHA)", name)
	return ""
}

// Commit writes commit c and returns its SHA.
//
// A merge commit (two or more parents) gets the files of all its parents:
// a file changed on one side since their common ancestor is taken from
// that side. The parents must have been made by this Builder, and a file
// changed differently on both sides fails the test (there is no conflict
// resolution).
func (b *Builder) Commit(c Commit) string {
	b.t.Helper()
	s := b.session()
	branch := c.Branch
	if branch == "" {
		if branch = s.head; branch == "" {
			b.t.Fatal("gittest: HEAD is detached; give the commit a Branch")
		}
	}
	parents := make([]string, 0, len(c.Parents))
	for _, p := range c.Parents {
		parents = append(parents, b.resolve(p))
	}
	if len(c.Parents) == 0 {
		if tip := b.tip(branch); tip != "" {
			parents = append(parents, tip)
		} else if head := b.headCommit(); head != "" {
			parents = append(parents, head)
		}
	}
	files, deletes := c.Files, c.Delete
	if len(parents) > 1 {
		files, deletes = b.mergeChanges(parents, files, deletes)
	}
	tree := b.treeAfter(parents, files, deletes)

	imp := b.importer()
	imp.mark++
	fmt.Fprintf(imp.in, "commit refs/heads/%s\nmark :%d\n", branch, imp.mark)
	b.writeIdent("author")
	b.writeIdent("committer")
	writeData(imp.in, message(c.Message))
	for i, p := range parents {
		if i == 0 {
			fmt.Fprintf(imp.in, "from %s\n", b.dataref(p))
		} else {
			fmt.Fprintf(imp.in, "merge %s\n", b.dataref(p))
		}
	}
	for _, path := range slices.Sorted(maps.Keys(files)) {
		fmt.Fprintf(imp.in, "M 100644 inline %s\n", b.checkPath(path))
		writeData(imp.in, files[path])
	}
	for _, path := range deletes {
		fmt.Fprintf(imp.in, "D %s\n", b.checkPath(path))
	}
	sha := b.getMark(imp.mark)
	s.marks[sha] = imp.mark

	b.trees[sha], b.parents[sha] = tree, parents
	if c.ID != "" {
		b.ids[c.ID] = sha
	}
	before := b.headCommit()
	s.tips[branch] = sha
	if branch == s.head {
		if len(parents) > 0 && before == parents[0] {
			b.writeFiles(files, deletes)
		} else {
			b.moveWorkTree(before, sha)
		}
	}
	return sha
}

// dataref names commit sha in the import: by its mark when this session
// wrote it (fast-import cannot look it up by SHA before it ends).
func (b *Builder) dataref(sha string) string {
	if mark, ok := b.s.marks[sha]; ok {
		return fmt.Sprintf(":%d", mark)
	}
	return sha
}

// getMark asks fast-import for the SHA of mark.
func (b *Builder) getMark(mark int) string {
	b.t.Helper()
	imp := b.s.imp
	fmt.Fprintf(imp.in, "\nget-mark :%d\n", mark)
	if err := imp.in.Flush(); err != nil {
		b.fail("writing to git fast-import", err)
	}
	line, err := imp.out.ReadString('\n')
	if err != nil {
		b.fail("reading from git fast-import", err)
	}
	return strings.TrimSpace(line)
}

// writeIdent writes an author, committer or tagger line and moves the
// clock on.
func (b *Builder) writeIdent(role string) {
	fmt.Fprintf(b.s.imp.in, "%s %s <%s> %d +0000\n", role, Name, Email, b.when)
	if role != "author" {
		b.when++
	}
}

func writeData(w *bufio.Writer, data string) {
	fmt.Fprintf(w, "data %d\n%s\n", len(data), data)
}

// message returns msg as git commit -m and git tag -m store it.
func message(msg string) string {
	if !strings.HasSuffix(msg, "\n") {
		msg += "\n"
	}
	return msg
}

// checkPath refuses paths fast-import would need quoted.
func (b *Builder) checkPath(path string) string {
	b.t.Helper()
	if path == "" || strings.ContainsAny(path, "\n\"\\") || strings.HasPrefix(path, "/") {
		b.t.Fatalf("gittest: unsupported file path %q", path)
	}
	return path
}

// treeAfter returns the files of a commit on parents that writes files and
// removes deletes, or nil when the first parent's files are unknown.
func (b *Builder) treeAfter(parents []string, files map[string]string, deletes []string) map[string]string {
	var tree map[string]string
	if len(parents) == 0 {
		tree = map[string]string{}
	} else if base, ok := b.trees[parents[0]]; ok {
		tree = maps.Clone(base)
	} else {
		return nil
	}
	maps.Copy(tree, files)
	for _, d := range deletes {
		delete(tree, d)
	}
	return tree
}

// mergeChanges returns what a merge of parents changes relative to the
// first parent (plus the files and deletes the commit itself adds).
func (b *Builder) mergeChanges(parents []string, files map[string]string, deletes []string) (map[string]string, []string) {
	b.t.Helper()
	files = maps.Clone(files)
	if files == nil {
		files = map[string]string{}
	}
	ours := b.knownTree(parents[0])
	merged := maps.Clone(ours)
	for _, p := range parents[1:] {
		theirs, base := b.knownTree(p), b.knownTree(b.mergeBase(parents[0], p))
		for _, path := range slices.Sorted(maps.Keys(unionKeys(merged, theirs))) {
			o, oOK := merged[path]
			th, tOK := theirs[path]
			ba, bOK := base[path]
			switch {
			case o == th && oOK == tOK, th == ba && tOK == bOK:
				// Same on both sides, or unchanged on theirs: keep ours.
			case o == ba && oOK == bOK:
				if tOK {
					merged[path] = th
				} else {
					delete(merged, path)
				}
			default:
				b.t.Fatalf("gittest: merging %s: %s changed on both sides", p, path)
			}
		}
	}
	for path, content := range merged {
		if old, ok := ours[path]; !ok || old != content {
			if _, set := files[path]; !set {
				files[path] = content
			}
		}
	}
	for path := range ours {
		if _, ok := merged[path]; !ok {
			deletes = append(deletes, path)
		}
	}
	return files, deletes
}

func (b *Builder) knownTree(sha string) map[string]string {
	b.t.Helper()
	tree, ok := b.trees[sha]
	if !ok || tree == nil {
		b.t.Fatalf("gittest: a merge needs parents this Builder made; it did not make %s", sha)
	}
	return tree
}

// mergeBase returns a common ancestor of x and y among the commits this
// Builder made: the first ancestor of y (breadth first) that x reaches.
func (b *Builder) mergeBase(x, y string) string {
	b.t.Helper()
	ofX := map[string]bool{}
	for queue := []string{x}; len(queue) > 0; queue = queue[1:] {
		if !ofX[queue[0]] {
			ofX[queue[0]] = true
			queue = append(queue, b.parents[queue[0]]...)
		}
	}
	seen := map[string]bool{}
	for queue := []string{y}; len(queue) > 0; queue = queue[1:] {
		c := queue[0]
		if ofX[c] {
			return c
		}
		if !seen[c] {
			seen[c] = true
			queue = append(queue, b.parents[c]...)
		}
	}
	b.t.Fatalf("gittest: %s and %s have no common ancestor", x, y)
	return ""
}

func unionKeys(a, b map[string]string) map[string]bool {
	u := map[string]bool{}
	for k := range a {
		u[k] = true
	}
	for k := range b {
		u[k] = true
	}
	return u
}

// Tag writes tag tg.
func (b *Builder) Tag(tg Tag) {
	b.t.Helper()
	at := b.resolve(cmp.Or(tg.At, "HEAD"))
	b.tags[tg.Name] = at
	imp := b.importer()
	if tg.Message == "" {
		fmt.Fprintf(imp.in, "reset refs/tags/%s\nfrom %s\n\n", tg.Name, b.dataref(at))
		return
	}
	fmt.Fprintf(imp.in, "tag %s\nfrom %s\n", tg.Name, b.dataref(at))
	b.writeIdent("tagger")
	writeData(imp.in, message(tg.Message))
}

// Branch points branch at the commit at names (created or moved, as
// `git branch --force` does); at "" means HEAD.
func (b *Builder) Branch(branch, at string) {
	b.t.Helper()
	sha := b.resolve(cmp.Or(at, "HEAD"))
	before := b.headCommit()
	fmt.Fprintf(b.importer().in, "reset refs/heads/%s\nfrom %s\n\n", branch, b.dataref(sha))
	s := b.session()
	s.tips[branch] = sha
	if branch == s.head {
		b.moveWorkTree(before, sha)
	}
}

// Checkout puts HEAD on branch, which must have a commit, and changes the
// working tree to match, as `git switch` does.
func (b *Builder) Checkout(branch string) {
	b.t.Helper()
	s := b.session()
	before, sha := b.headCommit(), b.tip(branch)
	if sha == "" {
		b.t.Fatalf("gittest: no branch %q to check out", branch)
	}
	s.head, s.detached, s.headMoved = branch, "", true
	b.moveWorkTree(before, sha)
}

// Detach detaches HEAD at the commit at names ("" for where HEAD is), as
// `git switch --detach` does.
func (b *Builder) Detach(at string) {
	b.t.Helper()
	s := b.session()
	before, sha := b.headCommit(), b.resolve(cmp.Or(at, "HEAD"))
	s.head, s.detached, s.headMoved = "", sha, true
	b.moveWorkTree(before, sha)
}

// moveWorkTree changes the working tree from commit from's files to commit
// to's, or leaves it to Flush when either is unknown.
func (b *Builder) moveWorkTree(from, to string) {
	b.t.Helper()
	if b.bare || from == to {
		return
	}
	old, oldOK := b.trees[from]
	if from == "" {
		old, oldOK = map[string]string{}, true
	}
	nu, nuOK := b.trees[to]
	if !oldOK || !nuOK || old == nil || nu == nil {
		b.s.hardReset = true
		return
	}
	var gone []string
	for path := range old {
		if _, ok := nu[path]; !ok {
			gone = append(gone, path)
		}
	}
	changed := map[string]string{}
	for path, content := range nu {
		if was, ok := old[path]; !ok || was != content {
			changed[path] = content
		}
	}
	b.writeFiles(changed, gone)
}

// writeFiles writes files into the working tree and removes deletes.
func (b *Builder) writeFiles(files map[string]string, deletes []string) {
	b.t.Helper()
	if b.bare {
		return
	}
	for path, content := range files {
		p := filepath.Join(b.dir, filepath.FromSlash(path))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			b.t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			b.t.Fatal(err)
		}
	}
	for _, path := range deletes {
		if err := os.Remove(filepath.Join(b.dir, filepath.FromSlash(path))); err != nil && !os.IsNotExist(err) {
			b.t.Fatal(err)
		}
	}
}

// Flush ends the import: git writes the refs, HEAD is set, and the index
// (and, where this Builder could not keep it in step, the working tree) is
// brought to HEAD: written here when this Builder knows HEAD's files, by
// `git reset` otherwise. Nothing happens when nothing changed since the
// last Flush.
func (b *Builder) Flush() {
	b.t.Helper()
	s := b.s
	if s == nil {
		return
	}
	head := b.headCommit()
	if imp := s.imp; imp != nil {
		imp.in.WriteString("done\n")
		if err := imp.in.Flush(); err != nil {
			b.fail("writing to git fast-import", err)
		}
		imp.stdin.Close()
		if err := imp.cmd.Wait(); err != nil {
			b.s = nil
			b.t.Fatalf("gittest: git fast-import: %v\n%s", err, imp.stderr.String())
		}
	}
	b.s = nil
	if s.headMoved {
		content := "ref: refs/heads/" + s.head + "\n"
		if s.head == "" {
			content = s.detached + "\n"
		}
		if err := os.WriteFile(filepath.Join(b.gitDir, "HEAD"), []byte(content), 0o644); err != nil {
			b.t.Fatal(err)
		}
	}
	if b.bare || head == s.startHead && !s.hardReset {
		return
	}
	if tree := b.trees[head]; tree != nil && !s.hardReset {
		// The working tree is in step; only the index is behind.
		if err := writeIndex(b.gitDir, b.dir, tree); err != nil {
			b.t.Fatal(err)
		}
		return
	}
	args := []string{"reset", "--quiet"}
	if s.hardReset {
		args = append(args, "--hard")
	}
	if out, err := b.command(args...).CombinedOutput(); err != nil {
		b.t.Fatalf("gittest: git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}
