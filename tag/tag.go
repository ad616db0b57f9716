// Package tag is shipprod's Tagger: it creates the annotated (and, when
// asked, signed) release tag on the release commit, pushes that commit and
// the tag together with `git push --atomic`, and publishes the GitHub Release
// for the tag — and it is safe to run twice.
//
// The most common complaint about release tools is a tag pushed while the
// hosted release was never created, after which a rerun says "nothing to
// release". Here every stage checks what already exists before acting:
//
//   - a tag that already points at the release commit, locally or on the
//     remote, is reused; one that points elsewhere stops the run with a
//     *ConflictError naming both commits (a published tag is never moved);
//     a tag that exists only on the remote is fetched and verified;
//   - the bump commit and the tag are pushed in one atomic push, so a
//     rejected branch update (someone pushed meanwhile) leaves no orphan tag
//     on the remote: the error is a *shipprod.PushRejectedError saying how to
//     recover;
//   - the GitHub Release is looked up by tag and in the release list (which
//     is where drafts are), then created, updated or reused — never
//     duplicated — and its URL goes into Release.ReleaseURL.
//
// A run that pushed the tag and then failed before the release therefore
// resumes with the release and nothing else.
//
// Optionally (tag.delete_on_rollback) the Tagger deletes the release tag
// once production was rolled back (see AfterRollback). Recording deploys in
// GitHub's Deployments API is package provider/githubdeployments' part; its
// configuration stays in the `github.deployments` section.
package tag

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"text/template"
	"time"

	"github.com/shipprod/shipprod"
	"github.com/shipprod/shipprod/internal/git"
	"github.com/shipprod/shipprod/internal/github"
	"github.com/shipprod/shipprod/provider/githubdeployments"
)

// DefaultMessage is the default annotated-tag message template: "Release
// v1.2.0", a blank line and the release's CHANGELOG section.
const DefaultMessage = "Release {{.Tag}}{{if .Notes}}\n\n{{.Notes}}{{end}}"

// DefaultReleaseName is the default GitHub Release name template.
const DefaultReleaseName = "{{.Tag}}"

// Config is the `tag:` section of shipprod.yaml. The zero value makes
// unsigned annotated tags with the default message and keeps tags on
// rollback.
type Config struct {
	// Prefix names the tag prefix+version when the Release has no Tag yet
	// (default "v"). The Versioner normally sets Release.Tag itself.
	Prefix string `yaml:"prefix"`
	// Message is a text/template for the tag message over the Release
	// ({{.Tag}}, {{.Version}}, {{.Notes}}, {{.PreviousTag}}, …); default
	// DefaultMessage.
	Message string `yaml:"message"`
	// Sign signs the tag with git's own configuration (`git tag -s`): GPG,
	// or SSH when gpg.format=ssh, with user.signingkey.
	Sign bool `yaml:"sign"`
	// SigningKey signs with this key id instead (`git tag -u KEY`); it
	// implies Sign.
	SigningKey string `yaml:"signing_key"`
	// DeleteOnRollback deletes the release tag locally and on the remote
	// after production was rolled back (see AfterRollback). Off by default:
	// tags stay immutable and the rollback is recorded in the report.
	DeleteOnRollback bool `yaml:"delete_on_rollback"`
}

// Git is the `git:` section: where the release commit and tag are pushed.
type Git struct {
	// Remote defaults to "origin".
	Remote string `yaml:"remote"`
	// Branch is the branch the release commit is pushed to; default the
	// Release's Branch, else the branch checked out.
	Branch string `yaml:"branch"`
}

// GitHub is the `github:` section. Repository, APIURL and TokenEnv are shared
// with the GitHub Actions deployer (see Facts).
type GitHub struct {
	// Repository is "owner/name"; default: parsed from the git remote's URL.
	Repository string `yaml:"repository"`
	// APIURL is the REST API root: default https://api.github.com/; GitHub
	// Enterprise Server: https://HOST/api/v3/.
	APIURL string `yaml:"api_url"`
	// TokenEnv names the variable holding the token; default GH_TOKEN,
	// else GITHUB_TOKEN (the gh CLI's order).
	TokenEnv string `yaml:"token_env"`
	// MaxRateLimitWait bounds each rate-limit wait (default 10m); a longer
	// one fails the call with the time the limit resets.
	MaxRateLimitWait time.Duration `yaml:"max_rate_limit_wait"`
	// MaxRetries bounds retries after 5xx answers and dropped connections
	// (default 3).
	MaxRetries int `yaml:"max_retries"`

	// Release is the GitHub Release published for each release tag.
	Release ReleaseConfig `yaml:"release"`
	// Deployments records each deploy in GitHub's Deployments API.
	Deployments DeploymentsConfig `yaml:"deployments"`
}

// ReleaseConfig is `github.release`.
type ReleaseConfig struct {
	// Skip creates no GitHub Release (the tag is still pushed).
	Skip bool `yaml:"skip"`
	// Name is a text/template for the release name; default DefaultReleaseName.
	Name string `yaml:"name"`
	// Draft creates the release as a draft. An already published release
	// is never turned back into a draft.
	Draft bool `yaml:"draft"`
	// Prerelease is "auto" (default: SemVer pre-releases such as 1.2.0-rc.1),
	// "true" or "false".
	Prerelease string `yaml:"prerelease"`
	// MakeLatest is "auto" (default: "true" only for the highest stable
	// version among the repository's tags), "true", "false" or "legacy".
	MakeLatest string `yaml:"make_latest"`
}

// DeploymentsConfig is `github.deployments`, the configuration of package
// provider/githubdeployments (which records each deploy in GitHub's
// Deployments API); it is read with the rest of the `github` section.
type DeploymentsConfig = githubdeployments.Config

// DeploymentsOptions returns what provider/githubdeployments needs to reach
// GitHub with this section's settings: the repository (else the one of git
// remote remote in dir), the API, the token's variable and the limits.
func (g GitHub) DeploymentsOptions(dir, remote string, logger *slog.Logger) githubdeployments.Options {
	return githubdeployments.Options{Repository: g.Repository, Dir: dir, Remote: remote, APIURL: g.APIURL, TokenEnv: g.TokenEnv,
		MaxRateLimitWait: g.MaxRateLimitWait, MaxRetries: g.MaxRetries, Logger: logger}
}

// Fact keys under which the GitHub settings are handed to deployers through
// provider.Env.Facts (the GitHub Actions deployer reads them).
const (
	FactRepository = "github.repository"
	FactAPIURL     = "github.api_url"
	FactTokenEnv   = "github.token_env"
)

// Facts returns the settings a deployer shares with this section, for
// provider.Env.Facts.
func (g GitHub) Facts() map[string]string {
	facts := map[string]string{}
	for k, v := range map[string]string{FactRepository: g.Repository, FactAPIURL: g.APIURL, FactTokenEnv: g.TokenEnv} {
		if v != "" {
			facts[k] = v
		}
	}
	return facts
}

// Env is what a Tagger needs at run time.
type Env struct {
	// Dir is the repository's working tree ("" means the current directory).
	Dir string
	// Git says where to push.
	Git Git
	// GitHub enables the GitHub Release; nil means a plain git tag.
	GitHub *GitHub
	// GitEnv holds extra environment variables for git ("KEY=value").
	GitEnv []string
	// Clock measures rate-limit waits; nil means the system clock.
	Clock shipprod.Clock
	// Logger receives diagnostics; nil discards them.
	Logger *slog.Logger
	// HTTPClient supplies the transport for GitHub calls; nil means a default one.
	HTTPClient *http.Client
	// Getenv reads the token; nil means os.Getenv.
	Getenv func(string) string
}

// Tagger is the shipprod.Tagger (and shipprod.ActionPlanner) of this package.
type Tagger struct {
	cfg     Config
	git     Git
	ghCfg   *GitHub
	gh      *github.Client
	repo    *git.Repo
	log     *slog.Logger
	message *template.Template
	relName *template.Template
}

var (
	_ shipprod.Tagger        = (*Tagger)(nil)
	_ shipprod.ActionPlanner = (*Tagger)(nil)
)

// New returns a Tagger. It checks the configuration at once — templates
// (rendered against a sample release, so that a field the Release does not
// have is an error now rather than after the version commit), the remote
// (a URL, a path or a remote the repository has), branch names and, when
// GitHub is configured, the token and the repository — so that a mistake is
// reported before anything ships. It makes no network request; Preflight
// asks the remote and GitHub.
func New(ctx context.Context, cfg Config, env Env) (*Tagger, error) {
	t := &Tagger{cfg: cfg, git: env.Git, ghCfg: env.GitHub, log: env.Logger}
	if t.log == nil {
		t.log = slog.New(slog.DiscardHandler)
	}
	if t.cfg.Prefix == "" {
		t.cfg.Prefix = "v"
	}
	if t.git.Remote == "" {
		t.git.Remote = "origin"
	}
	if err := git.CheckRemoteName(t.git.Remote); err != nil {
		return nil, fmt.Errorf("git.remote: %w", err)
	}
	if t.git.Branch != "" {
		if err := git.CheckBranchName(ctx, t.git.Branch); err != nil {
			return nil, fmt.Errorf("git.branch: %w", err)
		}
	}
	if strings.HasPrefix(cfg.SigningKey, "-") {
		return nil, fmt.Errorf("tag.signing_key %q must be a key id, not an option", cfg.SigningKey)
	}
	var err error
	if t.message, err = parseTemplate("tag.message", cfg.Message, DefaultMessage); err != nil {
		return nil, err
	}
	t.repo = &git.Repo{Dir: env.Dir, Env: env.GitEnv}
	if err := t.repo.CheckRemote(ctx, t.git.Remote); err != nil {
		return nil, fmt.Errorf("git.remote: %w", err)
	}

	if gh := env.GitHub; gh != nil {
		if t.relName, err = parseTemplate("github.release.name", gh.Release.Name, DefaultReleaseName); err != nil {
			return nil, err
		}
		if err := oneOf("github.release.prerelease", gh.Release.Prerelease, "", "auto", "true", "false"); err != nil {
			return nil, err
		}
		if err := oneOf("github.release.make_latest", gh.Release.MakeLatest, "", "auto", "true", "false", "legacy"); err != nil {
			return nil, err
		}
		t.gh, err = github.New(ctx, github.Options{
			Repository:       gh.Repository,
			Dir:              env.Dir,
			Remote:           t.git.Remote,
			APIURL:           gh.APIURL,
			TokenEnv:         gh.TokenEnv,
			Getenv:           env.Getenv,
			HTTPClient:       env.HTTPClient,
			Clock:            env.Clock,
			Logger:           t.log,
			MaxRateLimitWait: gh.MaxRateLimitWait,
			MaxRetries:       gh.MaxRetries,
		})
		if err != nil {
			return nil, err
		}
	}
	return t, nil
}

// parseTemplate parses a template over the Release and renders it once
// against a sample release: text/template finds a field the Release does not
// have ({{.Foo}}) only when it runs, and the tag message runs after the
// version commit.
func parseTemplate(field, text, def string) (*template.Template, error) {
	if text == "" {
		text = def
	}
	tmpl, err := template.New(field).Option("missingkey=error").Parse(text)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", field, err)
	}
	if err := tmpl.Execute(io.Discard, sampleRelease); err != nil {
		return nil, fmt.Errorf("%s: %w (the template is rendered over the release: .Tag, .Version, .Notes, .PreviousTag, .PreviousVersion, .Commit, .Branch, …)", field, err)
	}
	return tmpl, nil
}

// sampleRelease has every field of a Release set, to try templates on.
var sampleRelease = shipprod.Release{
	Version: "1.2.3", PreviousVersion: "1.2.2", Tag: "v1.2.3", PreviousTag: "v1.2.2", Bump: shipprod.BumpPatch,
	Reasons: []shipprod.Reason{{Source: "commit 0123456", Text: "fix: a bug", Bump: shipprod.BumpPatch}},
	Notes:   "### Fixed\n- a bug", Files: []string{"VERSION", "CHANGELOG.md"},
	Commit: strings.Repeat("1", 40), PreviousCommit: strings.Repeat("2", 40), Base: strings.Repeat("3", 40),
	Branch: "main", Remote: "origin", ReleaseURL: "https://github.com/acme/web/releases/tag/v1.2.3",
	Warnings: []string{"a warning"},
}

func oneOf(field, v string, allowed ...string) error {
	for _, a := range allowed {
		if v == a {
			return nil
		}
	}
	return fmt.Errorf("%s: %q is not one of %s", field, v, strings.Join(allowed[1:], ", "))
}

// String names the Tagger in plans and reports.
func (t *Tagger) String() string {
	if t.gh != nil && !t.ghCfg.Release.Skip {
		return "git tag and GitHub Release (" + t.gh.Repository() + ")"
	}
	return "git tag"
}

// Repository returns the GitHub repository ("owner/name"), or "" when
// GitHub is not configured.
func (t *Tagger) Repository() string {
	if t.gh == nil {
		return ""
	}
	return t.gh.Repository()
}

// ConflictError means the release tag already exists at another commit.
// shipprod never moves a tag that may have been published.
type ConflictError struct {
	Tag string
	// Where is "locally" or "on remote <name>".
	Where string
	// Existing is the commit the tag points at; Release the release commit.
	Existing, Release string
}

func (e *ConflictError) Error() string {
	return fmt.Sprintf("tag %s already exists %s at commit %s, not at the release commit %s; shipprod never moves a tag: release another version, or delete the tag if it was made by mistake",
		e.Tag, e.Where, e.Existing, e.Release)
}

// resolved is a Release with every name decided.
type resolved struct {
	rel            shipprod.Release
	tag, branch    string
	remote, prefix string
}

// resolve fills in the tag, branch and remote of rel, reading only.
func (t *Tagger) resolve(ctx context.Context, rel shipprod.Release) (resolved, error) {
	r := resolved{rel: rel, remote: t.git.Remote}
	if rel.Version == "" && rel.Tag == "" {
		return r, errors.New("the release has no version")
	}
	r.tag = rel.Tag
	if r.tag == "" {
		r.tag = t.cfg.Prefix + rel.Version
	}
	r.prefix = t.cfg.Prefix
	if rel.Version != "" && strings.HasSuffix(r.tag, rel.Version) {
		r.prefix = strings.TrimSuffix(r.tag, rel.Version)
	}
	if err := git.CheckTagName(ctx, r.tag); err != nil {
		return r, err
	}
	r.branch = t.git.Branch
	if r.branch == "" {
		r.branch = rel.Branch
	}
	if r.branch == "" {
		b, err := t.repo.CurrentBranch(ctx)
		if err != nil {
			return r, fmt.Errorf("deciding the branch to push: %w (or set git.branch)", err)
		}
		r.branch = b
	}
	if err := git.CheckBranchName(ctx, r.branch); err != nil {
		return r, err
	}
	r.rel.Tag, r.rel.Branch, r.rel.Remote = r.tag, r.branch, git.MaskURL(r.remote)
	return r, nil
}

// PlanActions lists the tag, the push and the release as separate actions.
// It reads only, and for the same Release it returns the same list before
// and after the version commit exists (no SHAs in the descriptions), so the
// plan and the run agree.
func (t *Tagger) PlanActions(ctx context.Context, rel shipprod.Release) ([]shipprod.Action, error) {
	r, err := t.resolve(ctx, rel)
	if err != nil {
		return nil, err
	}
	signed := ""
	switch {
	case t.cfg.SigningKey != "":
		signed = ", signed with key " + t.cfg.SigningKey
	case t.cfg.Sign:
		signed = ", signed with git's signing configuration"
	}
	acts := []shipprod.Action{
		{Step: shipprod.StepTag, Kind: shipprod.ActionTag, Target: "refs/tags/" + r.tag,
			Description: fmt.Sprintf("create annotated tag %s on the release commit%s (reused if it already points there)", r.tag, signed)},
		{Step: shipprod.StepTag, Kind: shipprod.ActionPush, Target: git.MaskURL(r.remote),
			Description: fmt.Sprintf("push the release commit to %s/%s and tag %s in one atomic push", git.MaskURL(r.remote), r.branch, r.tag)},
	}
	if t.gh != nil && !t.ghCfg.Release.Skip {
		kind := "release"
		if t.prerelease(r) {
			kind = "pre-release"
		}
		if t.ghCfg.Release.Draft {
			kind = "draft " + kind
		}
		acts = append(acts, shipprod.Action{Step: shipprod.StepTag, Kind: shipprod.ActionAPI, Target: t.gh.Repository(),
			Description: fmt.Sprintf("create or update the GitHub %s %s in %s (never a duplicate)", kind, r.tag, t.gh.Repository())})
	}
	return acts, nil
}

// Tag creates (or reuses) the annotated tag at rel.Commit, pushes the commit
// and the tag atomically, and creates (or updates, or reuses) the GitHub
// Release. It returns rel with Tag, Branch, Remote, Commit and ReleaseURL set.
func (t *Tagger) Tag(ctx context.Context, rel shipprod.Release) (shipprod.Release, error) {
	r, err := t.resolve(ctx, rel)
	if err != nil {
		return rel, err
	}
	remoteTags, err := t.lsRemoteTags(ctx, r.remote)
	if err != nil {
		return rel, fmt.Errorf("reading the tags of remote %s: %w", git.MaskURL(r.remote), err)
	}
	local, hasLocal, err := t.repo.LookupTag(ctx, r.tag)
	if err != nil {
		return rel, err
	}
	remoteCommit, hasRemote := remoteTags.commit(r.tag)

	if r.rel.Commit == "" {
		switch {
		case hasLocal:
			r.rel.Commit = local.Commit
		case hasRemote:
			r.rel.Commit = remoteCommit
		default:
			if r.rel.Commit, err = t.repo.Head(ctx); err != nil {
				return rel, err
			}
		}
	} else if full, ok, err := t.repo.ResolveCommit(ctx, r.rel.Commit); err != nil {
		return rel, err
	} else if !ok {
		return rel, fmt.Errorf("release commit %s does not exist in %s", r.rel.Commit, orDot(t.repo.Dir))
	} else {
		r.rel.Commit = full
	}

	if hasLocal && local.Commit != r.rel.Commit {
		return rel, &ConflictError{Tag: r.tag, Where: "locally", Existing: local.Commit, Release: r.rel.Commit}
	}
	if hasRemote && remoteCommit != r.rel.Commit {
		return rel, &ConflictError{Tag: r.tag, Where: "on remote " + git.MaskURL(r.remote), Existing: remoteCommit, Release: r.rel.Commit}
	}

	created := false
	switch {
	case hasLocal:
		if !local.Annotated {
			t.log.Warn("reusing a lightweight tag: git describe ignores it", "tag", r.tag)
		}
		t.log.Info("tag already exists at the release commit; reusing it", "tag", r.tag, "commit", r.rel.Commit)
	case hasRemote:
		if err := t.fetchTag(ctx, r); err != nil {
			return rel, err
		}
	default:
		if err := t.createTag(ctx, r); err != nil {
			return rel, err
		}
		created = true
	}

	if hasRemote {
		t.log.Info("tag already on the remote; nothing to push", "tag", r.tag, "remote", git.MaskURL(r.remote))
	} else if err := t.push(ctx, r, created); err != nil {
		return rel, err
	}

	if t.gh != nil && !t.ghCfg.Release.Skip {
		ghRel, err := t.ensureRelease(ctx, r, remoteTags)
		if err != nil {
			return r.rel, fmt.Errorf("tag %s is pushed, but the GitHub Release is missing (run again to create it): %w", r.tag, err)
		}
		r.rel.ReleaseURL = ghRel.HTMLURL
	}
	return r.rel, nil
}

// createTag makes the annotated tag.
func (t *Tagger) createTag(ctx context.Context, r resolved) error {
	var msg bytes.Buffer
	if err := t.message.Execute(&msg, r.rel); err != nil {
		return fmt.Errorf("tag.message: %w", err)
	}
	// --cleanup=whitespace keeps lines starting with "#": the default
	// cleanup would strip the CHANGELOG's "### Added" headings as comments.
	extra := []string{"--cleanup=whitespace"}
	signed := true
	switch {
	case t.cfg.SigningKey != "":
		extra = append(extra, "--local-user="+t.cfg.SigningKey)
	case t.cfg.Sign:
		extra = append(extra, "--sign")
	default:
		signed = false
	}
	text := strings.TrimRight(msg.String(), " \t\n") + "\n"
	if err := t.repo.CreateAnnotatedTag(ctx, r.tag, r.rel.Commit, text, extra...); err != nil {
		if signed && ctx.Err() == nil { // an interrupted signing says nothing about the configuration
			return fmt.Errorf("creating signed tag %s (check user.signingkey and gpg.format in your git config): %w", r.tag, err)
		}
		return fmt.Errorf("creating tag %s: %w", r.tag, err)
	}
	if signed {
		if err := t.checkSigned(ctx, r.tag); err != nil {
			return err
		}
	}
	t.log.Info("created annotated tag", "tag", r.tag, "commit", r.rel.Commit, "signed", signed)
	return nil
}

// signatureMarkers open the signature blocks git appends to signed tags
// (OpenPGP, SSH, X.509).
var signatureMarkers = []string{"-----BEGIN PGP SIGNATURE-----", "-----BEGIN SSH SIGNATURE-----", "-----BEGIN SIGNED MESSAGE-----"}

// checkSigned makes sure a tag meant to be signed carries a signature. Some
// git versions (2.39 with gpg.format=ssh, for one) create the tag even when
// the signing program fails, with its error text where the signature should
// be; such a tag is deleted again before anything is pushed.
func (t *Tagger) checkSigned(ctx context.Context, tag string) error {
	raw, err := t.repo.Run(ctx, "cat-file", "tag", "refs/tags/"+tag)
	if err != nil {
		return err
	}
	for _, m := range signatureMarkers {
		if strings.Contains(raw, m) {
			return nil
		}
	}
	_, _ = t.repo.Run(ctx, "tag", "--delete", "--", tag)
	said := ""
	if i := strings.LastIndex(raw, "error:"); i >= 0 {
		said = ": " + firstLine(strings.TrimSpace(raw[i:]))
	}
	return fmt.Errorf("git created tag %s without a signature%s; the tag was deleted again (check user.signingkey and gpg.format in your git config)", tag, said)
}

// fetchTag fetches a tag that exists only on the remote and verifies it.
func (t *Tagger) fetchTag(ctx context.Context, r resolved) error {
	ref := "refs/tags/" + r.tag
	if _, err := t.repo.Run(ctx, "fetch", "--no-tags", "--quiet", "--", r.remote, ref+":"+ref); err != nil {
		return fmt.Errorf("fetching tag %s from %s: %w", r.tag, git.MaskURL(r.remote), err)
	}
	got, ok, err := t.repo.LookupTag(ctx, r.tag)
	if err != nil {
		return err
	}
	if !ok || got.Commit != r.rel.Commit {
		return &ConflictError{Tag: r.tag, Where: "after fetching it from " + git.MaskURL(r.remote), Existing: got.Commit, Release: r.rel.Commit}
	}
	t.log.Info("fetched the release tag from the remote and verified it", "tag", r.tag, "commit", got.Commit)
	return nil
}

// push sends the release commit to the branch and the tag in one atomic
// push. When the remote refuses, nothing was pushed; a tag this run created
// is deleted again so that a rerun after `git pull --rebase` starts clean.
func (t *Tagger) push(ctx context.Context, r resolved, createdTag bool) error {
	refspecs := []string{r.rel.Commit + ":refs/heads/" + r.branch, "refs/tags/" + r.tag}
	err := pushError(t.repo.Push(ctx, r.remote, refspecs, git.PushOptions{Atomic: true}))
	if err == nil {
		t.log.Info("pushed the release commit and tag atomically", "remote", git.MaskURL(r.remote), "branch", r.branch, "tag", r.tag)
		return nil
	}
	var rej *shipprod.PushRejectedError
	if !errors.As(err, &rej) {
		return fmt.Errorf("pushing %s and tag %s to %s: %w", r.branch, r.tag, git.MaskURL(r.remote), err)
	}
	removed := ""
	if createdTag {
		if _, derr := t.repo.Run(ctx, "tag", "--delete", "--", r.tag); derr == nil {
			removed = fmt.Sprintf(" The local tag %s was removed again.", r.tag)
		}
	}
	switch {
	case !movedMeanwhile(rej.Reason):
		// A hook or a branch protection rule refused it: pulling does not help.
		rej.Hint = fmt.Sprintf("nothing was pushed (the push is atomic): %s refused the push (%s).%s The branch may be protected or the token may lack the right to push to it: allow this push, or release from a branch that accepts it",
			rej.Remote, rej.Reason, removed)
	case strings.Contains(rej.Reason, "refs/tags/") && !strings.Contains(rej.Reason, "refs/heads/"):
		rej.Hint = fmt.Sprintf("nothing was pushed (the push is atomic): tag %s appeared on %s meanwhile, pushed by another release.%s Run git fetch %s tag %s to see which commit it marks; that release is out: pull it (git pull --rebase --autostash %s %s) before releasing again",
			r.tag, rej.Remote, removed, rej.Remote, r.tag, rej.Remote, r.branch)
	default:
		rej.Hint = fmt.Sprintf("nothing was pushed (the push is atomic), so no tag reached %s: %s/%s has commits this release does not (someone pushed meanwhile).%s To recover: git pull --rebase --autostash %s %s, then run shipprod again",
			rej.Remote, rej.Remote, r.branch, removed, rej.Remote, r.branch)
	}
	return rej
}

// movedMeanwhile reports whether git's reason for refusing a push means the
// remote has commits or tags the push does not (someone pushed meanwhile),
// rather than a hook or a protection rule refusing it.
func movedMeanwhile(reason string) bool {
	for _, s := range []string{"fetch first", "non-fast-forward", "stale info", "already exists"} {
		if strings.Contains(reason, s) {
			return true
		}
	}
	return false
}

// pushError turns the push refusal internal/git reports into the root
// package's *shipprod.PushRejectedError; other errors pass unchanged.
func pushError(err error) error {
	var rej *git.PushRejectedError
	if errors.As(err, &rej) {
		return &shipprod.PushRejectedError{Remote: rej.Remote, Refs: rej.Refs, Reason: rej.Reason}
	}
	return err
}

// remoteTagList holds the tags of a remote: object and peeled commit SHAs.
type remoteTagList struct {
	objects, peeled map[string]string
}

func (l remoteTagList) commit(tag string) (string, bool) {
	if c, ok := l.peeled[tag]; ok {
		return c, true
	}
	c, ok := l.objects[tag]
	return c, ok
}

func (t *Tagger) lsRemoteTags(ctx context.Context, remote string) (remoteTagList, error) {
	l := remoteTagList{objects: map[string]string{}, peeled: map[string]string{}}
	out, err := t.repo.Run(ctx, "ls-remote", "--tags", "--", remote)
	if err != nil {
		return l, err
	}
	for _, line := range strings.Split(out, "\n") {
		sha, ref, ok := strings.Cut(line, "\t")
		if !ok {
			continue
		}
		name := strings.TrimPrefix(ref, "refs/tags/")
		if p, isPeeled := strings.CutSuffix(name, "^{}"); isPeeled {
			l.peeled[p] = sha
		} else {
			l.objects[name] = sha
		}
	}
	return l, nil
}

func orDot(dir string) string {
	if dir == "" {
		return "."
	}
	return dir
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
