package version

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/Masterminds/semver/v3"

	"github.com/shipprod/shipprod/internal/git"
)

// tag is a release tag: a tag whose name is the prefix and a SemVer version.
type tag struct {
	name    string
	version *semver.Version
	commit  string // peeled; "" until resolved
}

func (t *tag) String() string { return t.name }

// topTags is how many of the highest stable tags the first walk excludes.
// The highest reachable tag is nearly always among them; when it is not
// (a release branch far behind main), a second walk excludes them all.
const topTags = 32

// listTags returns the release tags (valid SemVer after the prefix), the
// highest version first. Tags with another prefix, or whose rest is not
// SemVer ("latest", "v1.2"), are not release tags.
func listTags(ctx context.Context, repo *git.Repo, prefix string) ([]*tag, error) {
	pattern := "refs/tags"
	if prefix != "" {
		pattern = "refs/tags/" + prefix + "*"
	}
	out, err := repo.RunRaw(ctx, "for-each-ref", "--format=%(refname)", pattern)
	if err != nil {
		return nil, fmt.Errorf("listing tags: %w", err)
	}
	var tags []*tag
	for _, line := range strings.Split(string(out), "\n") {
		name, ok := strings.CutPrefix(line, "refs/tags/")
		if !ok || !strings.HasPrefix(name, prefix) {
			continue
		}
		v, err := semver.StrictNewVersion(name[len(prefix):])
		if err != nil {
			continue
		}
		tags = append(tags, &tag{name: name, version: v})
	}
	sort.SliceStable(tags, func(i, j int) bool {
		if c := tags[i].version.Compare(tags[j].version); c != 0 {
			return c > 0
		}
		return tags[i].name < tags[j].name
	})
	return tags, nil
}

// peel resolves the commits of tags that do not know theirs yet, with one
// `git rev-parse` (which reads only those refs), falling back to
// for-each-ref when a tag does not point at a commit.
func peel(ctx context.Context, repo *git.Repo, tags []*tag) error {
	var todo []*tag
	args := []string{"rev-parse"} // tag refs never start with "-"
	for _, t := range tags {
		if t.commit == "" {
			todo = append(todo, t)
			args = append(args, "refs/tags/"+t.name+"^{commit}")
		}
	}
	if len(todo) == 0 {
		return nil
	}
	if out, err := repo.Run(ctx, args...); err == nil {
		shas := strings.Fields(out)
		if len(shas) == len(todo) {
			for i, t := range todo {
				t.commit = shas[i]
			}
			return nil
		}
	}
	return peelEach(ctx, repo, todo)
}

// peelEach resolves tags one by one; a tag that does not point at a commit
// keeps an empty commit and is left out of the walk.
func peelEach(ctx context.Context, repo *git.Repo, tags []*tag) error {
	for _, t := range tags {
		sha, ok, err := repo.ResolveCommit(ctx, "refs/tags/"+t.name)
		if err != nil {
			return fmt.Errorf("resolving tag %s: %w", t.name, err)
		}
		if ok {
			t.commit = sha
		}
	}
	return nil
}

// commitFunc receives one commit of a walk. msg is only valid during the call.
type commitFunc func(sha []byte, parents int, msg []byte)

// walkFormat is the format of every commit in a walk's output. git
// rev-list writes each commit as "commit [-]<sha> <parents>\n" (the "-"
// marking a boundary commit), then this format, then "\n". The leading NUL
// makes the stream unambiguous (a message cannot hold one), and the line
// rev-list writes itself costs git less than %m%H %P in a format does.
const walkFormat = "--format=%x00%B"

// walk streams `git rev-list` over revs (commit SHAs, "^sha" to exclude)
// into fn, newest first, and returns the boundary: the excluded commits
// that are parents of listed ones. Messages are never held: each is handed
// to fn and dropped, so memory stays flat however long the range is.
func walk(ctx context.Context, repo *git.Repo, revs []string, fn commitFunc) (boundary []string, err error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	cmd := repo.Command(ctx, "rev-list", "--boundary", "--parents", walkFormat, "--stdin")
	// git flushes its output after every commit when it goes to a pipe:
	// 100,000 commits would be 100,000 writes, each waking the reader.
	// GIT_FLUSH=0 lets stdio fill its buffer first.
	cmd.Env = append(cmd.Env, "GIT_FLUSH=0")
	cmd.Stdin = strings.NewReader(strings.Join(revs, "\n") + "\n")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, pw, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer stdout.Close()
	growPipe(pw)
	cmd.Stdout = pw
	err = cmd.Start()
	pw.Close()
	if err != nil {
		return nil, fmt.Errorf("git rev-list: %w", err)
	}
	readErr := scanCommits(stdout, func(marker byte, sha []byte, parents int, msg []byte) {
		if marker == '-' {
			boundary = append(boundary, string(sha))
			return
		}
		fn(sha, parents, msg)
	})
	if readErr != nil {
		cancel()
		io.Copy(io.Discard, stdout)
	}
	waitErr := cmd.Wait()
	if readErr != nil {
		return nil, readErr
	}
	if waitErr != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, &git.Error{Args: []string{"rev-list", "--stdin"}, Stderr: git.MaskURL(stderr.String()), Err: waitErr}
	}
	return boundary, nil
}

// maxMessage bounds a single commit message read from git.
const maxMessage = 64 << 20

// scanCommits parses `git rev-list --boundary --parents --format=%x00%B`
// output and hands fn each commit: its marker ('-' for a boundary commit,
// else 0), SHA, number of parents and message. The stream, split at each
// NUL, is a first header line, then for each commit its message, "\n" and
// the next commit's header line; the last piece has no header. So every
// piece but the last ends with a header, which is its last line.
func scanCommits(r io.Reader, fn func(marker byte, sha []byte, parents int, msg []byte)) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 256<<10), maxMessage)
	last := false
	sc.Split(func(data []byte, atEOF bool) (int, []byte, error) {
		if i := bytes.IndexByte(data, 0); i >= 0 {
			return i + 1, data[:i], nil
		}
		if atEOF && len(data) > 0 {
			last = true
			return len(data), data, nil
		}
		return 0, nil, nil
	})
	var header []byte // the header of the commit whose message comes next
	for sc.Scan() {
		piece := sc.Bytes()
		if last {
			if header == nil {
				return fmt.Errorf("git rev-list: unexpected output %q", firstLine(string(piece)))
			}
			return emitCommit(header, bytes.TrimSuffix(piece, []byte{'\n'}), fn)
		}
		// The header line is the piece's last line; the message is what
		// comes before it, without the "\n" rev-list adds after the format.
		nl := lastNewline(piece[:max(len(piece)-1, 0)])
		next := piece[nl+1:]
		if header != nil {
			if nl < 0 {
				return fmt.Errorf("git rev-list: unexpected output %q", firstLine(string(piece)))
			}
			if err := emitCommit(header, piece[:nl], fn); err != nil {
				return err
			}
		} else if nl >= 0 {
			return fmt.Errorf("git rev-list: unexpected output %q", firstLine(string(piece)))
		}
		// Copied: the scanner reuses its buffer for the next piece.
		header = append(header[:0], next...)
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return fmt.Errorf("git rev-list: a commit message is longer than %d MB", maxMessage>>20)
		}
		return fmt.Errorf("git rev-list: %w", err)
	}
	if header != nil {
		return errors.New("git rev-list: the output ended after a commit's header")
	}
	return nil
}

// lastNewline is bytes.LastIndexByte(b, '\n'), faster where the last line
// is short (a header line): bytes.LastIndexByte reads backwards a byte at a
// time, bytes.IndexByte forwards many at a time.
func lastNewline(b []byte) int {
	const window = 128 // a header line with one parent is 89 bytes
	from := max(len(b)-window, 0)
	nl := -1
	for i := from; ; {
		j := bytes.IndexByte(b[i:], '\n')
		if j < 0 {
			break
		}
		nl = i + j
		i = nl + 1
	}
	if nl < 0 && from > 0 {
		return bytes.LastIndexByte(b[:from], '\n')
	}
	return nl
}

// emitCommit parses a header line, "commit [-]<sha>[ <parent>...]\n", and
// hands its commit to fn.
func emitCommit(header, msg []byte, fn func(marker byte, sha []byte, parents int, msg []byte)) error {
	line, ok := bytes.CutPrefix(bytes.TrimSuffix(header, []byte{'\n'}), []byte("commit "))
	if !ok || len(line) == 0 {
		return fmt.Errorf("git rev-list: unexpected header %q", header)
	}
	var marker byte
	if line[0] == '-' {
		marker, line = '-', line[1:]
	}
	sha, parentList, _ := bytes.Cut(line, []byte{' '})
	parents := 0
	if len(parentList) > 0 {
		parents = bytes.Count(parentList, []byte{' '}) + 1
	}
	fn(marker, sha, parents, msg)
	return nil
}

// isAncestor reports whether commit a is an ancestor of (or is) commit b.
func isAncestor(ctx context.Context, repo *git.Repo, a, b string) (bool, error) {
	_, err := repo.Run(ctx, "merge-base", "--is-ancestor", a, b)
	if err == nil {
		return true, nil
	}
	var ge *git.Error
	if errors.As(err, &ge) && ge.ExitCode == 1 {
		return false, nil
	}
	return false, err
}

// mergedTags returns the names of the release tags reachable from any of
// commits.
func mergedTags(ctx context.Context, repo *git.Repo, prefix string, commits []string) (map[string]bool, error) {
	pattern := "refs/tags"
	if prefix != "" {
		pattern = "refs/tags/" + prefix + "*"
	}
	args := []string{"for-each-ref", "--format=%(refname:lstrip=2)"}
	for _, c := range commits {
		args = append(args, "--merged="+c)
	}
	args = append(args, pattern)
	out, err := repo.Run(ctx, args...)
	if err != nil {
		return nil, fmt.Errorf("finding reachable tags: %w", err)
	}
	set := map[string]bool{}
	for _, l := range strings.Split(out, "\n") {
		if l != "" {
			set[l] = true
		}
	}
	return set, nil
}

// history is what the tags and commits say about HEAD.
type history struct {
	all []*tag // every release tag, highest first
	// stable is the highest stable release tag reachable from HEAD; pre the
	// highest pre-release tag above it that is reachable.
	stable, pre *tag
	// sinceStable analyses the commits since stable (all of HEAD's history
	// when there is none); sincePre those since pre.
	sinceStable, sincePre *analysis
}

// current is the tag of the current version: pre, else stable.
func (h *history) current() *tag {
	if h.pre != nil {
		return h.pre
	}
	return h.stable
}

// readHistory finds the highest release tag reachable from head and
// analyses the commits since, in one streamed `git log` in the common case.
//
// The walk lists head's history minus the history of the highest stable
// tags (N) with --boundary. Every reachable commit is then either listed
// (R) or an ancestor of a boundary commit (B), so the highest reachable tag
// S of N is a tag on B, or a higher tag of N that is an ancestor of B
// (checked with merge-base, cheap because such tags sit near B). The range
// S..HEAD is R plus the history of the other boundary commits that S does
// not contain, which a second, small walk adds. When no tag of N is
// reachable (a release branch far behind the newest tags), the walk is
// repeated excluding every stable tag, and the tags behind B are listed
// with for-each-ref --merged. This keeps the cost at one walk of the range,
// where `git tag --merged HEAD` alone would walk the whole history.
func readHistory(ctx context.Context, repo *git.Repo, s *settings, head string, collect bool) (*history, error) {
	all, err := listTags(ctx, repo, s.prefix)
	if err != nil {
		return nil, err
	}
	var stable, pres []*tag
	for _, t := range all {
		if t.version.Prerelease() == "" {
			stable = append(stable, t)
		} else {
			pres = append(pres, t)
		}
	}
	n := stable
	if len(n) > topTags {
		n = n[:topTags]
	}
	h, again, err := walkSince(ctx, repo, s, head, collect, stable, pres, n)
	if err != nil {
		return nil, err
	}
	if again {
		if h, _, err = walkSince(ctx, repo, s, head, collect, stable, pres, stable); err != nil {
			return nil, err
		}
	}
	h.all = all

	// The commits since a pre-release being continued or promoted.
	if h.pre != nil {
		h.sincePre = newAnalysis(s, false)
		revs := []string{head, "^" + h.pre.commit}
		if _, err := walk(ctx, repo, revs, h.sincePre.add); err != nil {
			return nil, err
		}
		h.sincePre.finish()
	}
	return h, nil
}

// walkSince walks head excluding the tags n (a prefix of stable). It returns
// again=true when n does not settle the answer and every stable tag must be
// excluded.
func walkSince(ctx context.Context, repo *git.Repo, s *settings, head string, collect bool, stable, pres, n []*tag) (*history, bool, error) {
	everything := len(n) == len(stable)
	w, err := startWalk(ctx, repo, s, collect, n, watchedPrereleases(pres, n, everything))
	if err != nil {
		return nil, false, err
	}
	if err := w.walkRange(ctx, head); err != nil {
		return nil, false, err
	}
	best, err := w.highestReachable(ctx)
	if err != nil {
		return nil, false, err
	}
	if best == nil {
		if !everything {
			return nil, true, nil
		}
		if best, err = w.highestMerged(ctx, stable); err != nil {
			return nil, false, err
		}
	}
	if err := w.walkRest(ctx, best); err != nil {
		return nil, false, err
	}
	w.an.finish()
	h := &history{stable: best, sinceStable: w.an}
	for _, p := range w.an.found {
		if best != nil && !p.version.GreaterThan(best.version) {
			continue
		}
		if h.pre == nil || p.version.GreaterThan(h.pre.version) {
			h.pre = p
		}
	}
	return h, false, nil
}

// watchedPrereleases are the pre-release tags that could be above the
// answer, to spot in the walk: those above the lowest tag of n, or every
// one when n is every stable tag.
func watchedPrereleases(pres, n []*tag, everything bool) []*tag {
	var watch []*tag
	for _, p := range pres {
		if everything || p.version.GreaterThan(n[len(n)-1].version) {
			watch = append(watch, p)
		}
	}
	return watch
}

// sinceWalk is one walk of head minus the history of the tags n.
type sinceWalk struct {
	repo     *git.Repo
	s        *settings
	n        []*tag            // the excluded tags that point at commits
	atCommit map[string][]*tag // the tags of n by commit
	an       *analysis
	boundary []string // the excluded commits the walk met
}

// startWalk resolves the commits of n and watch and sets up the analysis,
// which notes the watched pre-release tags it meets.
func startWalk(ctx context.Context, repo *git.Repo, s *settings, collect bool, n, watch []*tag) (*sinceWalk, error) {
	if err := peel(ctx, repo, append(append([]*tag(nil), n...), watch...)); err != nil {
		return nil, err
	}
	w := &sinceWalk{repo: repo, s: s, atCommit: map[string][]*tag{}, an: newAnalysis(s, collect)}
	// Tags on trees or blobs (rare, but git allows them) are no releases.
	for _, t := range n {
		if t.commit != "" {
			w.n = append(w.n, t)
			w.atCommit[t.commit] = append(w.atCommit[t.commit], t)
		}
	}
	w.an.watch = map[string][]*tag{}
	for _, p := range watch {
		if p.commit != "" {
			w.an.watch[p.commit] = append(w.an.watch[p.commit], p)
		}
	}
	return w, nil
}

// walkRange walks head minus the history of n into the analysis and notes
// the boundary.
func (w *sinceWalk) walkRange(ctx context.Context, head string) error {
	revs := []string{head}
	seen := map[string]bool{}
	for _, t := range w.n {
		if !seen[t.commit] {
			seen[t.commit] = true
			revs = append(revs, "^"+t.commit)
		}
	}
	boundary, err := walk(ctx, w.repo, revs, w.an.add)
	if err != nil {
		return err
	}
	if w.an.commits == 0 && len(boundary) == 0 && len(w.atCommit) > 0 {
		boundary = []string{head} // head itself is behind a tag of n
	}
	w.boundary = boundary
	return nil
}

// highestReachable is the highest tag of n reachable from head: the
// highest on a boundary commit, unless a higher tag of n is behind one.
// It is nil when no tag of n is on the boundary.
func (w *sinceWalk) highestReachable(ctx context.Context) (*tag, error) {
	var best *tag
	for _, b := range w.boundary {
		for _, t := range w.atCommit[b] {
			if best == nil || t.version.GreaterThan(best.version) {
				best = t
			}
		}
	}
	if best == nil {
		return nil, nil
	}
	var higher []*tag
	for _, t := range w.n {
		if t.version.GreaterThan(best.version) && !containsString(w.boundary, t.commit) {
			higher = append(higher, t)
		}
	}
	switch {
	case len(higher) == 0:
		return best, nil
	case len(higher)*len(w.boundary) <= 16:
		// merge-base is cheap here: such tags sit near the boundary.
		for _, t := range higher { // highest first
			for _, b := range w.boundary {
				ok, err := isAncestor(ctx, w.repo, t.commit, b)
				if err != nil {
					return nil, err
				}
				if ok {
					return t, nil
				}
			}
		}
		return best, nil
	}
	merged, err := mergedTags(ctx, w.repo, w.s.prefix, w.boundary)
	if err != nil {
		return nil, err
	}
	for _, t := range higher {
		if merged[t.name] {
			return t, nil
		}
	}
	return best, nil
}

// highestMerged is the highest stable tag behind the boundary, asked of
// git (for-each-ref --merged), for when no tag of n is reachable: every
// stable tag was excluded, so the tags behind the boundary are those
// reachable from head. It is nil when there is none.
func (w *sinceWalk) highestMerged(ctx context.Context, stable []*tag) (*tag, error) {
	if len(w.boundary) == 0 {
		return nil, nil
	}
	merged, err := mergedTags(ctx, w.repo, w.s.prefix, w.boundary)
	if err != nil {
		return nil, err
	}
	for _, t := range stable { // highest first
		if merged[t.name] {
			if err := peel(ctx, w.repo, []*tag{t}); err != nil {
				return nil, err
			}
			return t, nil
		}
	}
	return nil, nil
}

// walkRest adds the rest of best..head to the analysis: what the boundary
// commits other than best's bring.
func (w *sinceWalk) walkRest(ctx context.Context, best *tag) error {
	var revs []string
	for _, b := range w.boundary {
		if best == nil || b != best.commit {
			revs = append(revs, b)
		}
	}
	if len(revs) == 0 {
		return nil
	}
	if best != nil {
		revs = append(revs, "^"+best.commit)
	}
	_, err := walk(ctx, w.repo, revs, w.an.add)
	return err
}
