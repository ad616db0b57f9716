package git

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
)

// Head returns the full SHA of HEAD.
func (r *Repo) Head(ctx context.Context) (string, error) {
	return r.Run(ctx, "rev-parse", "--verify", "--end-of-options", "HEAD^{commit}")
}

// ResolveCommit returns the full SHA of the commit rev names, and false when
// rev names nothing.
func (r *Repo) ResolveCommit(ctx context.Context, rev string) (string, bool, error) {
	out, err := r.Run(ctx, "rev-parse", "--verify", "--quiet", "--end-of-options", rev+"^{commit}")
	if err != nil {
		var ge *Error
		if errors.As(err, &ge) && ge.ExitCode == 1 {
			return "", false, nil
		}
		return "", false, err
	}
	return out, true, nil
}

// ErrDetachedHead means HEAD is not on a branch.
var ErrDetachedHead = errors.New("HEAD is detached: check out the release branch first")

// CurrentBranch returns the branch HEAD is on, or ErrDetachedHead.
func (r *Repo) CurrentBranch(ctx context.Context) (string, error) {
	out, err := r.Run(ctx, "symbolic-ref", "--quiet", "--short", "HEAD")
	if err != nil {
		var ge *Error
		if errors.As(err, &ge) && ge.ExitCode == 1 {
			return "", ErrDetachedHead
		}
		return "", err
	}
	return out, nil
}

// IsShallow reports whether the repository is a shallow clone.
func (r *Repo) IsShallow(ctx context.Context) (bool, error) {
	out, err := r.Run(ctx, "rev-parse", "--is-shallow-repository")
	return out == "true", err
}

// DirtyPaths returns the paths with uncommitted changes (staged, unstaged or
// untracked), as git status reports them.
func (r *Repo) DirtyPaths(ctx context.Context) ([]string, error) {
	return r.status(ctx, "--untracked-files=all")
}

// ModifiedPaths returns the tracked paths with uncommitted changes (staged
// or unstaged), leaving untracked files out, as `git describe --dirty` does.
func (r *Repo) ModifiedPaths(ctx context.Context) ([]string, error) {
	return r.status(ctx, "--untracked-files=no")
}

func (r *Repo) status(ctx context.Context, untracked string) ([]string, error) {
	out, err := r.RunRaw(ctx, "status", "--porcelain=v1", "-z", untracked)
	if err != nil {
		return nil, err
	}
	var paths []string
	fields := bytes.Split(out, []byte{0})
	for i := 0; i < len(fields); i++ {
		f := fields[i]
		if len(f) < 4 {
			continue
		}
		paths = append(paths, string(f[3:]))
		if f[0] == 'R' || f[0] == 'C' {
			i++ // the next field is the rename's source
		}
	}
	return paths, nil
}

// CommitPaths stages exactly paths and commits them with message, returning
// the new commit's SHA. Nothing else in the index is committed.
func (r *Repo) CommitPaths(ctx context.Context, message string, paths ...string) (string, error) {
	if len(paths) == 0 {
		return "", errors.New("git commit: no paths to commit")
	}
	if _, err := r.Run(ctx, append([]string{"add", "--"}, paths...)...); err != nil {
		return "", err
	}
	args := append([]string{"commit", "--quiet", "--file=-", "--only", "--"}, paths...)
	if _, err := r.RunInput(ctx, []byte(message), args...); err != nil {
		return "", err
	}
	return r.Head(ctx)
}

// Tag describes an existing tag.
type Tag struct {
	Name string
	// Commit is the commit the tag points at (peeled).
	Commit string
	// Annotated is false for a lightweight tag.
	Annotated bool
	// Message is an annotated tag's message.
	Message string
}

// LookupTag returns the local tag name, and false when it does not exist.
// One git command reads all of it.
func (r *Repo) LookupTag(ctx context.Context, name string) (Tag, bool, error) {
	if err := CheckTagName(ctx, name); err != nil {
		return Tag{}, false, err
	}
	ref := "refs/tags/" + name
	// Fields end in NUL (a message cannot hold one); for-each-ref ends each
	// ref with a newline. The pattern also matches refs below ref
	// ("v1/x" for "v1"), so the record is picked by its name.
	out, err := r.RunRaw(ctx, "for-each-ref", "--format=%(refname)%00%(objecttype)%00%(objectname)%00%(*objecttype)%00%(*objectname)%00%(contents)%00",
		"--end-of-options", ref)
	if err != nil {
		return Tag{}, false, err
	}
	fields := strings.Split(string(out), "\x00")
	for i := 0; i+6 <= len(fields); i += 6 {
		f := fields[i : i+6]
		if strings.TrimPrefix(f[0], "\n") != ref {
			continue
		}
		t := Tag{Name: name, Annotated: f[1] == "tag"}
		switch {
		case f[1] == "commit":
			t.Commit = f[2]
		case t.Annotated && f[3] == "commit":
			t.Commit = f[4]
		default: // a tag of a tag, or of a tree or blob
			if t.Commit, _, err = r.ResolveCommit(ctx, ref); err != nil {
				return Tag{}, false, err
			}
		}
		if t.Annotated {
			t.Message = strings.TrimSpace(f[5])
		}
		return t, true, nil
	}
	return Tag{}, false, nil
}

// CreateAnnotatedTag creates the annotated tag name at commit with message.
// extraArgs go before the tag name (e.g. "--sign" or "--local-user=KEY").
func (r *Repo) CreateAnnotatedTag(ctx context.Context, name, commit, message string, extraArgs ...string) error {
	if err := CheckTagName(ctx, name); err != nil {
		return err
	}
	args := append([]string{"tag", "--annotate", "--file=-"}, extraArgs...)
	args = append(args, "--", name, commit)
	_, err := r.RunInput(ctx, []byte(message), args...)
	return err
}

// RemoteRef returns the SHA a remote ref points at, peeled to the commit for
// annotated tags, and false when the remote has no such ref.
func (r *Repo) RemoteRef(ctx context.Context, remote, ref string) (string, bool, error) {
	if err := CheckRemoteName(remote); err != nil {
		return "", false, err
	}
	if err := CheckRefFormat(ctx, ref); err != nil {
		return "", false, err
	}
	out, err := r.Run(ctx, "ls-remote", "--", remote, ref, ref+"^{}")
	if err != nil {
		return "", false, err
	}
	var sha, peeled string
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) != 2 {
			continue
		}
		switch f[1] {
		case ref:
			sha = f[0]
		case ref + "^{}":
			peeled = f[0]
		}
	}
	if peeled != "" {
		sha = peeled
	}
	return sha, sha != "", nil
}

// RemoteRefs returns the refs of remote that match patterns (as `git
// ls-remote` matches them: "refs/tags/*", "refs/heads/main"), each with the
// commit it points at (annotated tags peeled), in one request to the remote.
func (r *Repo) RemoteRefs(ctx context.Context, remote string, patterns ...string) (map[string]string, error) {
	if err := CheckRemoteName(remote); err != nil {
		return nil, err
	}
	for _, p := range patterns {
		if strings.HasPrefix(p, "-") {
			return nil, fmt.Errorf("%w: pattern %q", ErrInvalidRefName, p)
		}
	}
	out, err := r.Run(ctx, append([]string{"ls-remote", "--", remote}, patterns...)...)
	if err != nil {
		return nil, err
	}
	refs := map[string]string{}
	peeled := map[string]string{}
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) != 2 {
			continue
		}
		if ref, ok := strings.CutSuffix(f[1], "^{}"); ok {
			peeled[ref] = f[0]
		} else {
			refs[f[1]] = f[0]
		}
	}
	for ref, sha := range peeled {
		refs[ref] = sha
	}
	return refs, nil
}

// PushOptions modify Push.
type PushOptions struct {
	// Atomic makes the remote accept every ref or none (`--atomic`).
	Atomic bool
	// DryRun does everything but send the updates (`--dry-run`): git asks
	// the remote for its refs — which proves it exists, is reachable and
	// lets the credentials push (a receive-pack advertisement needs write
	// access on GitHub) — and refuses what is not a fast-forward, or a tag
	// that exists already. Hooks and protection rules that the remote
	// applies when it receives an update (GitHub's protected branches) are
	// not consulted: nothing is received.
	DryRun bool
	// ForceWithLease entries are "<ref>:<expected sha>": the push may
	// overwrite ref only if the remote still has expected there.
	ForceWithLease []string
}

// PushRejectedError is a push the remote refused: someone pushed meanwhile
// (non-fast-forward, stale lease), a protected branch, or a hook. Callers
// turn it into a *shipprod.PushRejectedError (this package does not import
// the root package).
type PushRejectedError struct {
	Remote string // remote name or URL, credentials masked
	Refs   []string
	// Reason is the remote's own words, e.g. "refs/heads/main [rejected]
	// (non-fast-forward)", and what its hooks printed.
	Reason string
}

func (e *PushRejectedError) Error() string {
	return fmt.Sprintf("push to %s rejected (%s): %s", e.Remote, strings.Join(e.Refs, ", "), e.Reason)
}

// Push pushes refspecs to remote. A refusal by the remote is returned as a
// *PushRejectedError carrying the remote's reason; a push whose context
// ended returns the context's error, whatever git printed.
func (r *Repo) Push(ctx context.Context, remote string, refspecs []string, opt PushOptions) error {
	if err := CheckRemoteName(remote); err != nil {
		return err
	}
	for _, rs := range refspecs {
		if err := checkRefspec(ctx, rs); err != nil {
			return err
		}
	}
	args := []string{"push", "--porcelain"}
	if opt.DryRun {
		args = append(args, "--dry-run")
	}
	if opt.Atomic {
		args = append(args, "--atomic")
	}
	for _, l := range opt.ForceWithLease {
		args = append(args, "--force-with-lease="+l)
	}
	args = append(args, "--", remote)
	args = append(args, refspecs...)
	out, err := r.RunRaw(ctx, args...)
	if err == nil || contextEnded(err) {
		return err
	}
	if reason := rejections(out); reason != "" {
		var ge *Error
		if errors.As(err, &ge) {
			if said := remoteSays(ge.Stderr); said != "" {
				reason += "; the remote said: " + said
			}
		}
		return &PushRejectedError{Remote: MaskURL(remote), Refs: refspecs, Reason: reason}
	}
	return err
}

// remoteSays collects what the remote's hooks printed ("remote: …" lines),
// which is often the only explanation of a refusal.
func remoteSays(stderr string) string {
	var said []string
	for _, line := range strings.Split(stderr, "\n") {
		if msg, ok := strings.CutPrefix(line, "remote: "); ok && strings.TrimSpace(msg) != "" {
			said = append(said, strings.TrimSpace(msg))
		}
	}
	return strings.Join(said, " / ")
}

// checkRefspec validates the destination of "src:dst" (or a lone ref).
func checkRefspec(ctx context.Context, rs string) error {
	rs = strings.TrimPrefix(rs, "+")
	src, dst, found := strings.Cut(rs, ":")
	if !found {
		dst = src
	}
	if src == "" || strings.HasPrefix(src, "-") {
		return fmt.Errorf("%w: refspec %q", ErrInvalidRefName, rs)
	}
	if !strings.HasPrefix(dst, "refs/") {
		return fmt.Errorf("%w: refspec %q: name the full destination ref (refs/heads/… or refs/tags/…)", ErrInvalidRefName, rs)
	}
	return CheckRefFormat(ctx, dst)
}

// rejections extracts the remote's reasons from `git push --porcelain`
// output: lines "!\t<src>:<dst>\t[rejected] (non-fast-forward)".
func rejections(out []byte) string {
	var reasons []string
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "!") {
			continue
		}
		f := strings.SplitN(line, "\t", 3)
		if len(f) < 3 {
			continue
		}
		_, dst, _ := strings.Cut(f[1], ":")
		reasons = append(reasons, dst+" "+f[2])
	}
	return strings.Join(reasons, "; ")
}
