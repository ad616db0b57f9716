package version

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/Masterminds/semver/v3"

	"github.com/shipprod/shipprod"
	"github.com/shipprod/shipprod/internal/atomicfile"
	"github.com/shipprod/shipprod/internal/git"
	"github.com/shipprod/shipprod/version/changelog"
)

// Options are the run-time things a Versioner needs besides its Config.
type Options struct {
	// Dir is the repository's working tree; "" means the current directory.
	// Version file paths are relative to it.
	Dir string
	// Branch is the branch releases are made from (shipprod.yaml git.branch);
	// "" accepts whatever branch HEAD is on.
	Branch string
	// Remote is the git remote releases are pushed to (git.remote); it is
	// recorded in Release.Remote, with any credentials in a URL masked.
	Remote string
	// Clock dates the CHANGELOG section; nil means the system clock.
	Clock shipprod.Clock
	// Logger receives diagnostics; nil discards them.
	Logger *slog.Logger
	// RunRecords are the files shipprod's other steps write on every run
	// (the ship report, the Spec-Flow state file), relative to Dir. Their
	// uncommitted changes do not block the next release, which commits only
	// the version files.
	RunRecords []string
}

// Versioner decides the next version from the repository and writes it. It
// implements shipprod.Versioner and shipprod.ActionPlanner. It holds no
// state between calls and is safe for concurrent use.
type Versioner struct {
	s      *settings
	repo   *git.Repo
	dir    string
	branch string
	remote string
	clock  shipprod.Clock
	log    *slog.Logger
	// records are Options.RunRecords, slash-separated.
	records []string
}

var (
	_ shipprod.Versioner     = (*Versioner)(nil)
	_ shipprod.ActionPlanner = (*Versioner)(nil)
)

// New returns a Versioner for cfg. It checks the configuration (each error
// names its key) but does not touch the repository.
func New(cfg Config, opts Options) (*Versioner, error) {
	s, err := cfg.settings()
	if err != nil {
		return nil, err
	}
	dir := opts.Dir
	if dir == "" {
		dir = "."
	}
	// The remote is recorded in releases (and so in reports and journals):
	// a URL's credentials must not be.
	v := &Versioner{s: s, repo: git.Open(dir), dir: dir, branch: opts.Branch, remote: git.MaskURL(opts.Remote), clock: opts.Clock, log: opts.Logger}
	for _, r := range opts.RunRecords {
		v.records = append(v.records, filepath.ToSlash(filepath.Clean(r)))
	}
	if v.clock == nil {
		v.clock = shipprod.SystemClock()
	}
	if v.log == nil {
		v.log = slog.New(slog.DiscardHandler)
	}
	if opts.Branch != "" {
		if strings.HasPrefix(opts.Branch, "-") {
			return nil, fmt.Errorf("git.branch: %w: %q", git.ErrInvalidRefName, opts.Branch)
		}
		if err := git.CheckBranchName(context.Background(), opts.Branch); err != nil {
			return nil, fmt.Errorf("git.branch: %w", err)
		}
	}
	return v, nil
}

// String names the Versioner in plans.
func (v *Versioner) String() string { return "version" }

// repoState is what Decide learns about HEAD.
type repoState struct {
	head   string
	branch string // "" when detached
}

func (v *Versioner) state(ctx context.Context) (repoState, error) {
	shallow, head, err := v.shallowAndHead(ctx)
	if err != nil {
		return repoState{}, fmt.Errorf("%s is not a git repository: %w", v.dir, err)
	}
	if shallow {
		return repoState{}, fmt.Errorf("%w: %s", ErrShallowClone, shallowHint)
	}
	if head == "" {
		return repoState{}, ErrNoCommits
	}
	branch, err := v.repo.CurrentBranch(ctx)
	if errors.Is(err, git.ErrDetachedHead) {
		branch, err = "", nil
	}
	return repoState{head: head, branch: branch}, err
}

// shallowAndHead asks one git process whether the repository is shallow
// and which commit HEAD is ("" when there is none yet).
func (v *Versioner) shallowAndHead(ctx context.Context) (shallow bool, head string, err error) {
	out, err := v.repo.Run(ctx, "rev-parse", "--is-shallow-repository", "--verify", "--quiet", "--end-of-options", "HEAD^{commit}")
	flag, head, _ := strings.Cut(out, "\n")
	if flag != "true" && flag != "false" {
		if err == nil {
			err = fmt.Errorf("git rev-parse --is-shallow-repository: unexpected output %q", out)
		}
		return false, "", err
	}
	// --verify --quiet exits 1, saying nothing, when HEAD names no commit.
	var ge *git.Error
	if err != nil && !(errors.As(err, &ge) && ge.ExitCode == 1 && head == "") {
		return false, "", err
	}
	return flag == "true", head, nil
}

// checkBranch refuses a detached HEAD and a branch other than the release
// branch.
func (v *Versioner) checkBranch(st repoState) error {
	if st.branch == "" {
		want := v.branch
		if want == "" {
			want = "<branch>"
		}
		return fmt.Errorf("%w at %s: the version bump must be committed to a branch; check out the release branch first (git switch %s)", ErrDetachedHead, short(st.head), want)
	}
	if v.branch != "" && st.branch != v.branch {
		return fmt.Errorf("HEAD is on branch %q, but releases are made from %q (git.branch); check it out first (git switch %s)", st.branch, v.branch, v.branch)
	}
	return nil
}

// NextVersion decides the next release without changing anything. When
// nothing is releasable it returns the release with the previous version
// and an error wrapping shipprod.ErrNothingToRelease that says why.
func (v *Versioner) NextVersion(ctx context.Context) (shipprod.Release, error) {
	d, err := v.Decide(ctx)
	if err != nil {
		return shipprod.Release{}, err
	}
	rel := d.Release()
	rel.Remote = v.remote
	rel.Warnings = d.Warnings
	if d.NothingToRelease {
		return rel, fmt.Errorf("%w%s", shipprod.ErrNothingToRelease, strings.TrimPrefix(d.Why, "nothing to release"))
	}
	if err := v.checkBranch(repoState{head: d.Head, branch: d.Branch}); err != nil {
		return shipprod.Release{}, err
	}
	return rel, nil
}

// Decide works out the current version, the next one and why, without
// changing anything. "Nothing to release" is a Decision (NothingToRelease
// set, Why saying why), not an error; errors are problems to fix: a shallow
// clone, a version file that cannot be read, sources that disagree, a
// CHANGELOG without an Unreleased section, a tag that already exists, a
// forced version.bump below what the changes ask for. That last one, a
// *BumpTooLowError, comes with the Decision (Refusal set), so that the
// caller can show what the changes ask for (WriteText does).
func (v *Versioner) Decide(ctx context.Context) (*Decision, error) {
	start := time.Now()
	s := v.s
	st, err := v.state(ctx)
	if err != nil {
		return nil, err
	}
	d := &Decision{Head: st.head, Branch: st.branch, Bump: shipprod.BumpNone}

	// The CHANGELOG, read first: whether its Unreleased section is empty
	// decides whether the walk keeps entries to generate notes from.
	cl, clErr := v.readChangelog()
	if clErr != nil {
		return nil, clErr
	}
	collect := cl == nil || cl.Unreleased == nil || cl.Unreleased.AllEntries() == nil

	files, err := v.readFiles()
	if err != nil {
		return nil, err
	}

	h, err := readHistory(ctx, v.repo, s, st.head, collect)
	if err != nil {
		return nil, err
	}
	v.log.Debug("version history read", "stable", h.stable, "prerelease", h.pre, "commits", h.sinceStable.commits, "elapsed", time.Since(start))

	if v.pending(ctx, d, h, files, cl) {
		return d, nil
	}
	cur, err := v.current(d, h, files, cl)
	if err != nil {
		return nil, err
	}
	if err := v.next(d, h, cur, cl); err != nil {
		if d.Refusal != nil {
			d.Warnings = append(d.Warnings, h.sinceStable.warnings...)
			return d, err
		}
		return nil, err
	}
	d.Warnings = append(d.Warnings, h.sinceStable.warnings...)
	if d.NothingToRelease {
		return d, nil
	}

	// Notes: the Unreleased section, else entries generated from the commits.
	if cl != nil && cl.Unreleased != nil {
		d.Notes = cl.UnreleasedText()
	}
	if d.Notes == "" {
		d.Notes = h.sinceStable.notes()
	}

	next := semver.MustParse(d.Next)
	edits, _, err := v.edits(next, d.Tag, d.Notes, files, cl)
	if err != nil {
		return nil, err
	}
	for _, e := range edits {
		d.Files = append(d.Files, e.path)
	}
	if cl == nil && s.clExplicit {
		return nil, &FileError{Path: s.changelog, Msg: "the configured changelog does not exist; create it, fix version.changelog, or set it to \"-\" for none"}
	}
	v.log.Debug("version decided", "next", d.Next, "bump", d.Bump, "elapsed", time.Since(start))
	return d, nil
}

// readChangelog parses the CHANGELOG; nil when there is none.
func (v *Versioner) readChangelog() (*changelogFile, error) {
	if v.s.changelog == "" {
		return nil, nil
	}
	full := filepath.Join(v.dir, filepath.FromSlash(v.s.changelog))
	data, err := os.ReadFile(full)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, &FileError{Path: v.s.changelog, Msg: err.Error(), Err: err}
	}
	info, err := os.Stat(full)
	if err != nil {
		return nil, &FileError{Path: v.s.changelog, Msg: err.Error(), Err: err}
	}
	c, err := changelog.Parse(data)
	if err != nil {
		var ce *changelog.Error
		if errors.As(err, &ce) {
			return nil, &FileError{Path: v.s.changelog, Line: ce.Line, Msg: ce.Msg, Err: err}
		}
		return nil, &FileError{Path: v.s.changelog, Msg: err.Error(), Err: err}
	}
	return &changelogFile{Changelog: c, path: v.s.changelog, content: data, perm: info.Mode().Perm()}, nil
}

// changelogFile is a parsed CHANGELOG and where it came from.
type changelogFile struct {
	*changelog.Changelog
	path    string
	content []byte
	perm    fs.FileMode
}

// latest returns the CHANGELOG's latest released version, or nil.
func (c *changelogFile) latest() (*semver.Version, *changelog.Section, error) {
	sec := c.Latest()
	if sec == nil {
		return nil, nil, nil
	}
	v, err := semver.StrictNewVersion(sec.Version)
	if err != nil {
		return nil, nil, &FileError{Path: c.path, Line: sec.Line, Value: sec.Version,
			Msg: fmt.Sprintf("version %q in heading %q is not a valid semantic version (want MAJOR.MINOR.PATCH, e.g. 1.2.0)", sec.Version, "## "+sec.Heading), Err: err}
	}
	return v, sec, nil
}

// readFiles reads the configured version files (and the npm lock files
// beside package.json). Without configured files, package.json and VERSION
// are used when they exist and hold a version.
func (v *Versioner) readFiles() ([]*found, error) {
	list := v.s.files
	if v.s.autoFiles {
		list = nil
		for _, name := range []string{"package.json", "VERSION"} {
			if _, err := os.Stat(filepath.Join(v.dir, name)); err == nil {
				vf, _ := newVersionFile(File{Path: name})
				list = append(list, vf)
			}
		}
	}
	var out []*found
	for _, f := range list {
		fd, err := f.read(v.dir)
		if err != nil {
			if v.s.autoFiles && errors.Is(err, ErrNoVersion) {
				continue // e.g. a private package.json without a version
			}
			return nil, err
		}
		out = append(out, fd)
		for _, lock := range f.lockFiles(v.dir) {
			if containsFile(list, lock.path) {
				continue
			}
			lfd, err := lock.read(v.dir)
			if err != nil {
				return nil, err
			}
			out = append(out, lfd)
		}
	}
	return out, nil
}

func containsFile(list []versionFile, p string) bool {
	for _, f := range list {
		if f.path == p {
			return true
		}
	}
	return false
}

// current resolves the current version and checks that the sources agree.
func (v *Versioner) current(d *Decision, h *history, files []*found, cl *changelogFile) (*semver.Version, error) {
	vs, err := versionSourcesOf(h, files, cl)
	if err != nil {
		return nil, err
	}
	chosen, ok, err := v.chooseSource(vs, files)
	if err != nil {
		return nil, err
	}
	if !ok {
		d.CurrentSource = "none"
		return nil, nil
	}
	if chosen, err = v.reconcile(d, vs, chosen); err != nil {
		return nil, err
	}
	cur := vs.versions[chosen.Key]
	d.Current = cur.String()
	d.CurrentSource = chosen.Name
	return cur, nil
}

// versionSources are the places that name a version, in the order found,
// and the version each names.
type versionSources struct {
	list     []Source
	versions map[string]*semver.Version // by Source.Key
}

func (vs *versionSources) add(src Source, ver *semver.Version) {
	vs.list = append(vs.list, src)
	vs.versions[src.Key] = ver
}

// versionSourcesOf lists the sources of the current version: the release
// tag, the version files and the CHANGELOG's latest release.
func versionSourcesOf(h *history, files []*found, cl *changelogFile) (*versionSources, error) {
	vs := &versionSources{versions: map[string]*semver.Version{}}
	if t := h.current(); t != nil {
		vs.add(Source{Name: "tag " + t.name, Key: SourceTag, Version: t.version.String()}, t.version)
	}
	for _, fd := range files {
		vs.add(Source{Name: fmt.Sprintf("%s:%d", fd.file.path, fd.spans[0].line), Key: fd.file.path, Version: fd.version.String()}, fd.version)
	}
	if cl != nil {
		lv, sec, err := cl.latest()
		if err != nil {
			return nil, err
		}
		if lv != nil {
			vs.add(Source{Name: fmt.Sprintf("%s:%d", cl.path, sec.Line), Key: FromChangelog, Version: lv.String()}, lv)
		}
	}
	return vs, nil
}

// chooseSource picks the first source in version.current_from order that
// names a version. A file named there that is not a version file is read
// as a fallback (and added to vs). ok is false when no source names one.
func (v *Versioner) chooseSource(vs *versionSources, files []*found) (chosen Source, ok bool, err error) {
	for _, key := range v.s.currentFrom {
		if _, ok := vs.versions[key]; ok {
			for _, src := range vs.list {
				if src.Key == key {
					return src, true, nil
				}
			}
			return Source{}, false, nil
		}
		if key == SourceTag || key == FromChangelog || containsFound(files, key) {
			continue
		}
		src, ver, ok, err := v.fallbackSource(key)
		if err != nil {
			return Source{}, false, err
		}
		if ok {
			vs.add(src, ver)
			return src, true, nil
		}
	}
	return Source{}, false, nil
}

// fallbackSource reads a version from key, a file in version.current_from
// that is not a configured version file. ok is false when it does not
// exist or names no version.
func (v *Versioner) fallbackSource(key string) (Source, *semver.Version, bool, error) {
	vf, err := newVersionFile(File{Path: key})
	if err != nil {
		return Source{}, nil, false, nil
	}
	if _, err := os.Stat(filepath.Join(v.dir, filepath.FromSlash(key))); err != nil {
		return Source{}, nil, false, nil
	}
	fd, err := vf.read(v.dir)
	if errors.Is(err, ErrNoVersion) {
		return Source{}, nil, false, nil
	}
	if err != nil {
		return Source{}, nil, false, err
	}
	return Source{Name: fmt.Sprintf("%s:%d", key, fd.spans[0].line), Key: key, Version: fd.version.String()}, fd.version, true, nil
}

// reconcile checks that every other source agrees with chosen, unless
// version.trust picks one (each disagreement is then a warning in d), and
// returns the source to believe.
func (v *Versioner) reconcile(d *Decision, vs *versionSources, chosen Source) (Source, error) {
	s := v.s
	cur := vs.versions[chosen.Key]
	for _, src := range vs.list {
		if src.Key == chosen.Key {
			continue
		}
		if src.Key == FromChangelog && cur.Prerelease() != "" {
			continue // pre-releases are not written into the CHANGELOG
		}
		if vs.versions[src.Key].Equal(cur) {
			continue
		}
		if s.trust == "" {
			return Source{}, &MismatchError{Want: chosen, Got: src}
		}
		d.Warnings = append(d.Warnings, fmt.Sprintf("%s says %s but %s says %s; trusting %s (version.trust)", chosen.Name, chosen.Version, src.Name, src.Version, s.trust))
	}
	if s.trust == "" || s.trust == chosen.Key {
		return chosen, nil
	}
	if _, ok := vs.versions[s.trust]; !ok {
		if len(d.Warnings) > 0 {
			return Source{}, fmt.Errorf("version.trust: %q names no version (sources: %s)", s.trust, sourceNames(vs.list))
		}
		return chosen, nil
	}
	for _, src := range vs.list {
		if src.Key == s.trust {
			chosen = src // the last, as the version map holds the last
		}
	}
	return chosen, nil
}

func containsFound(files []*found, p string) bool {
	for _, f := range files {
		if f.file.path == p {
			return true
		}
	}
	return false
}

func sourceNames(sources []Source) string {
	names := make([]string, len(sources))
	for i, s := range sources {
		names[i] = s.Name
	}
	return strings.Join(names, ", ")
}

// edit is one file the release rewrites.
type edit struct {
	path     string
	old, new []byte
	perm     fs.FileMode
	// what describes the change for a plan.
	what string
}

// edits computes the new content of every file that changes for next.
// notes is written into the CHANGELOG when Unreleased is empty and
// generate_changelog is on. It returns the CHANGELOG section's text too.
func (v *Versioner) edits(next *semver.Version, tagName, notes string, files []*found, cl *changelogFile) ([]edit, string, error) {
	var out []edit
	for _, fd := range files {
		nb := fd.with(next)
		if string(nb) == string(fd.content) {
			continue
		}
		out = append(out, edit{path: fd.file.path, old: fd.content, new: nb, perm: fd.perm,
			what: fmt.Sprintf("set version %s in %s (was %s)", next, fd.file.path, fd.first())})
	}
	section := ""
	if cl != nil && next.Prerelease() == "" {
		opt := changelog.ReleaseOptions{Version: next.String(), Date: v.clock.Now().Format("2006-01-02"), Tag: tagName}
		if v.s.generate {
			opt.Generated = notes
		}
		nb, text, err := cl.Release(opt)
		if err != nil {
			var ce *changelog.Error
			if errors.As(err, &ce) {
				return nil, "", &FileError{Path: cl.path, Line: ce.Line, Msg: ce.Msg, Err: err}
			}
			return nil, "", &FileError{Path: cl.path, Msg: err.Error(), Err: err}
		}
		what := fmt.Sprintf("release %s's Unreleased section as %s", cl.path, next)
		if l := cl.Link("Unreleased"); l != nil && strings.Contains(string(nb), "["+next.String()+"]: ") {
			what += " and update its compare links"
		}
		out = append(out, edit{path: cl.path, old: cl.content, new: nb, perm: cl.perm, what: what})
		section = text
	}
	return out, section, nil
}

// message is the bump commit's message for rel.
func (v *Versioner) message(rel shipprod.Release) string {
	return strings.NewReplacer("{version}", rel.Version, "{tag}", rel.Tag,
		"{previous_version}", rel.PreviousVersion, "{previous_tag}", rel.PreviousTag).Replace(v.s.message)
}

// prepare reads the files and computes the edits for rel.
func (v *Versioner) prepare(rel shipprod.Release) ([]edit, string, error) {
	next, err := semver.StrictNewVersion(rel.Version)
	if err != nil {
		return nil, "", fmt.Errorf("release version %q is not a valid semantic version: %w", rel.Version, err)
	}
	cl, err := v.readChangelog()
	if err != nil {
		return nil, "", err
	}
	files, err := v.readFiles()
	if err != nil {
		return nil, "", err
	}
	tagName := rel.Tag
	if tagName == "" {
		tagName = v.s.prefix + rel.Version
	}
	return v.edits(next, tagName, rel.Notes, files, cl)
}

// PlanActions lists the side effects ApplyVersion makes for rel: one
// write-file action per file, in the order they are written, then the
// commit. It reads the files but changes nothing, and refuses what
// ApplyVersion would refuse: a tree with uncommitted changes, a HEAD that
// moved since rel was decided.
func (v *Versioner) PlanActions(ctx context.Context, rel shipprod.Release) ([]shipprod.Action, error) {
	if rel.Version == "" {
		return nil, nil
	}
	if head, ok, err := v.repo.ResolveCommit(ctx, "HEAD"); err == nil && ok {
		if err := v.checkBase(ctx, head, rel); err != nil {
			return nil, err
		}
		if v.resumed(ctx, head, rel) {
			return nil, nil // done already: ApplyVersion will change nothing
		}
	}
	dirty, err := v.modifiedPaths(ctx)
	if err != nil {
		return nil, err
	}
	if len(dirty) > 0 {
		return nil, &DirtyTreeError{Paths: dirty}
	}
	edits, _, err := v.prepare(rel)
	if err != nil {
		return nil, err
	}
	var acts []shipprod.Action
	var paths []string
	for _, e := range edits {
		acts = append(acts, shipprod.Action{Step: shipprod.StepVersion, Kind: shipprod.ActionWriteFile, Target: e.path, Description: e.what})
		paths = append(paths, e.path)
	}
	if len(paths) > 0 {
		branch := rel.Branch
		if branch == "" {
			branch = "HEAD"
		}
		acts = append(acts, shipprod.Action{Step: shipprod.StepVersion, Kind: shipprod.ActionCommit, Target: branch,
			Description: fmt.Sprintf("commit %s on %s: %q", strings.Join(paths, ", "), branch, v.message(rel))})
	}
	return acts, nil
}

// ApplyVersion writes rel.Version into the version files and releases the
// CHANGELOG, all or nothing, then commits exactly those files. Before
// writing anything it refuses a HEAD other than the commit rel was decided
// at (rel.Base, when set) with a *MovedError, and uncommitted changes to
// tracked files (naming the paths) with a *DirtyTreeError; untracked files
// are left alone and out of the commit. If the commit fails, the files are
// restored. When HEAD already is this release's bump commit (a resumed
// run) it changes nothing and returns rel with Commit set.
func (v *Versioner) ApplyVersion(ctx context.Context, rel shipprod.Release) (shipprod.Release, error) {
	if rel.Version == "" {
		return rel, errors.New("version: the release has no version to apply")
	}
	st, err := v.state(ctx)
	if err != nil {
		return rel, err
	}
	if err := v.checkBranch(st); err != nil {
		return rel, err
	}
	rel.Branch = st.branch
	if rel.Remote == "" {
		rel.Remote = v.remote
	}
	if rel.Tag == "" {
		rel.Tag = v.s.prefix + rel.Version
	}
	if err := v.checkBase(ctx, st.head, rel); err != nil {
		return rel, err
	}
	// Untracked files are not refused: the release commit takes exactly the
	// version files, so they cannot slip into it (and the previous ship
	// report, left untracked beside state.yaml, must not block the next).
	dirty, err := v.modifiedPaths(ctx)
	if err != nil {
		return rel, err
	}
	if len(dirty) > 0 {
		return rel, &DirtyTreeError{Paths: dirty}
	}
	if v.resumed(ctx, st.head, rel) {
		rel.Commit = st.head
		return rel, nil
	}
	edits, section, err := v.prepare(rel)
	if err != nil {
		return rel, err
	}
	if t, ok, err := v.repo.LookupTag(ctx, rel.Tag); err != nil {
		return rel, err
	} else if ok {
		return rel, fmt.Errorf("%w: %s (at commit %s)", ErrTagExists, rel.Tag, short(t.Commit))
	}
	if len(edits) == 0 {
		rel.Commit = st.head
		return rel, nil
	}
	sha, paths, err := v.commitEdits(ctx, rel, edits)
	if err != nil {
		return rel, err
	}
	rel.Commit = sha
	rel.Files = paths
	if section != "" {
		rel.Notes = section
	}
	v.log.Info("version applied", "version", rel.Version, "commit", sha, "files", paths)
	return rel, nil
}

// commitEdits writes the edits, all or nothing, and commits exactly those
// files with rel's bump commit message. If the commit fails, the files are
// restored and unstaged.
func (v *Versioner) commitEdits(ctx context.Context, rel shipprod.Release, edits []edit) (sha string, paths []string, err error) {
	head, err := v.repo.Head(ctx)
	if err != nil {
		return "", nil, err
	}
	manifest, err := v.writeManifest(ctx, rel, head, edits)
	if err != nil {
		return "", nil, fmt.Errorf("recording the version files about to be written: %w", err)
	}
	// Once committed or restored, there is nothing left to recover; when
	// the restore failed, the manifest stays for the next run.
	restoreFailed := false
	defer func() {
		if restoreFailed {
			return
		}
		if rmErr := os.Remove(manifest); rmErr != nil && err == nil {
			v.log.Warn("could not remove the apply manifest", "path", manifest, "err", rmErr)
		}
	}()
	var batch atomicfile.Batch
	for _, e := range edits {
		batch.Add(filepath.Join(v.dir, filepath.FromSlash(e.path)), e.new, e.perm)
		paths = append(paths, e.path)
	}
	if err := batch.Commit(); err != nil {
		return "", nil, fmt.Errorf("writing version %s (no file was changed): %w", rel.Version, err)
	}
	sha, err = v.repo.CommitPaths(ctx, v.message(rel), paths...)
	if err == nil {
		return sha, paths, nil
	}
	var restore atomicfile.Batch
	for _, e := range edits {
		restore.Add(filepath.Join(v.dir, filepath.FromSlash(e.path)), e.old, e.perm)
	}
	if rerr := restore.Commit(); rerr != nil {
		restoreFailed = true
		return "", nil, fmt.Errorf("committing version %s: %w; restoring the files failed too: %v", rel.Version, err, rerr)
	}
	// Unstage what the failed commit staged, even when the failure was
	// the context ending.
	if _, rerr := v.repo.Run(context.WithoutCancel(ctx), append([]string{"reset", "--quiet", "--"}, paths...)...); rerr != nil {
		restoreFailed = true
		return "", nil, fmt.Errorf("committing version %s (the files were restored, but they stay staged): %w", rel.Version, err)
	}
	return "", nil, fmt.Errorf("committing version %s (the files were restored): %w", rel.Version, err)
}

// checkBase refuses to apply rel on any commit but the one it was decided
// at (rel.Base), so that a commit landing in between cannot change what
// ships: the version, the notes and the files were decided from Base.
// HEAD may also be rel's own bump commit made on Base: a resumed run. A
// release without a Base (decided by an older version, or by hand) is not
// checked.
func (v *Versioner) checkBase(ctx context.Context, head string, rel shipprod.Release) error {
	if rel.Base == "" || head == rel.Base {
		return nil
	}
	if parents, ok := v.bumpCommit(ctx, head, rel); ok && len(parents) == 1 && parents[0] == rel.Base {
		return nil
	}
	return &MovedError{Decided: rel.Base, Head: head}
}

// resumed reports whether head is rel's bump commit already (a run that
// stopped after the version step and runs again).
func (v *Versioner) resumed(ctx context.Context, head string, rel shipprod.Release) bool {
	_, ok := v.bumpCommit(ctx, head, rel)
	return ok
}

// bumpCommit reports whether commit is rel's bump commit: its message is
// rel's and every version file holds rel.Version. It returns the commit's
// parents too.
func (v *Versioner) bumpCommit(ctx context.Context, commit string, rel shipprod.Release) (parents []string, ok bool) {
	out, err := v.repo.RunRaw(ctx, "log", "-1", "--format=%P%n%B", commit)
	if err != nil {
		return nil, false
	}
	parentLine, msg, _ := strings.Cut(string(out), "\n")
	if strings.TrimSpace(msg) != strings.TrimSpace(v.message(rel)) {
		return nil, false
	}
	files, err := v.readFiles()
	if err != nil {
		return nil, false
	}
	for _, fd := range files {
		if fd.version.String() != rel.Version {
			return nil, false
		}
	}
	return strings.Fields(parentLine), true
}

// modifiedPaths lists the tracked files with uncommitted changes, leaving
// out the run records (Options.RunRecords) that are not version files.
func (v *Versioner) modifiedPaths(ctx context.Context) ([]string, error) {
	dirty, err := v.repo.ModifiedPaths(ctx)
	if err != nil || len(v.records) == 0 {
		return dirty, err
	}
	out := dirty[:0]
	for _, p := range dirty {
		if !slices.Contains(v.records, p) || containsFile(v.s.files, p) || p == v.s.changelog {
			out = append(out, p)
		}
	}
	return out, nil
}
