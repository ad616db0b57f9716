package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"

	"github.com/shipprod/shipprod/gate"
	"github.com/shipprod/shipprod/internal/atomicfile"
	"github.com/shipprod/shipprod/internal/git"
	"github.com/shipprod/shipprod/internal/github"
	"github.com/shipprod/shipprod/provider/githubactions"
	"github.com/shipprod/shipprod/provider/gitpush"
	"github.com/shipprod/shipprod/provider/vercel"
)

func (inv *invocation) initCommand() *cobra.Command {
	var force bool
	c := &cobra.Command{
		Use:   "init",
		Short: "Write a commented shipprod.yaml from what the project has",
		Long: `Init looks at the project — its git remote (a GitHub repository gets a github
section, for the GitHub Release), its version files (package.json, VERSION, a
Go const Version = "x.y.z") and CHANGELOG.md, its Spec-Flow state files, a
linked Vercel project (.vercel/project.json) or a GitHub Actions workflow that
can be dispatched — and writes a commented shipprod.yaml that uses them; with
none of those, it deploys by pushing to a production branch. Health checks are
left as a commented example: only you know what production must answer.

It refuses to overwrite an existing file unless --force. Then run
shipprod check, which validates it and runs the pre-flight, and shipprod ship.`,
		Example: `  shipprod init
  shipprod init --force                  # overwrite an existing shipprod.yaml
  shipprod init --config ci/shipprod.yaml`,
		Args: noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			return inv.init(c.Context(), force)
		},
	}
	c.Flags().BoolVar(&force, "force", false, "overwrite an existing configuration file")
	return c
}

// detection is what init found in the project.
type detection struct {
	Remote       string
	RemoteURL    string
	GitHub       string
	Branch       string
	VersionFiles []string
	Changelog    string
	StateFile    string
	Deployer     string
	Vercel       *vercelProject
	Workflow     string
}

// vercelProject is the link `vercel link` writes in .vercel/project.json.
type vercelProject struct {
	Project string `json:"projectId"`
	Org     string `json:"orgId"`
}

// init writes shipprod.yaml from what it detects.
func (inv *invocation) init(ctx context.Context, force bool) error {
	o := inv.opts
	path := o.configPath()
	if _, err := os.Stat(path); err == nil && !force {
		return usageErrorf("%s exists: edit it, or pass --force to write a new one over it", path)
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	d, err := detect(ctx, o.dir)
	if err != nil {
		return err
	}
	text := d.config()
	// What init writes must load as the CLI reads it: a mistake here is a
	// bug, not the user's.
	var cfg Config
	if err := checkConfigText(path, text, &cfg); err != nil {
		return fmt.Errorf("init wrote a configuration it cannot read (a bug): %w", err)
	}
	if err := atomicfile.WriteFile(path, []byte(text), 0o644); err != nil {
		return err
	}
	next := d.next(inv.app.name(), o)
	if o.json {
		return (&jsonLines{w: inv.stdout}).write(SchemaInit, JSONInit{Path: path, Detected: encodeDetection(d), Next: next})
	}
	d.print(inv.stdout, path)
	fmt.Fprintln(inv.stdout, "\nNext:")
	fmt.Fprintf(inv.stdout, "  1. Read %s, and set what init could not know (the health checks, the production URL).\n", filepath.Base(path))
	for i, step := range next {
		fmt.Fprintf(inv.stdout, "  %d. %s   # %s\n", i+2, step.Command, step.Why)
	}
	return nil
}

// checkConfigText decodes text as loadConfig does.
func checkConfigText(path, text string, cfg *Config) error {
	dir, err := os.MkdirTemp("", "shipprod-init-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	tmp := filepath.Join(dir, filepath.Base(path))
	if err := os.WriteFile(tmp, []byte(text), 0o600); err != nil {
		return err
	}
	loaded, err := loadConfig(tmp)
	if err == nil && loaded != nil {
		*cfg = *loaded
	}
	return err
}

// detect looks at the project at dir.
func detect(ctx context.Context, dir string) (detection, error) {
	var d detection
	repo := git.Open(dir)
	if _, err := repo.Run(ctx, "rev-parse", "--git-dir"); err != nil {
		return d, usageErrorf("%s is not a git repository: shipprod releases from git (run git init first): %v", dir, err)
	}
	d.Branch, _ = repo.CurrentBranch(ctx)
	d.detectRemote(ctx, repo)
	d.detectVersions(dir)
	if path, _, err := (&gate.SpecFlow{Dir: dir}).Locate(); err == nil {
		if rel, err := filepath.Rel(dir, path); err == nil {
			d.StateFile = filepath.ToSlash(rel)
		}
	}
	d.detectDeployer(dir)
	return d, nil
}

// detectRemote takes origin, else the first remote.
func (d *detection) detectRemote(ctx context.Context, repo *git.Repo) {
	out, err := repo.Run(ctx, "remote")
	if err != nil || out == "" {
		return
	}
	remotes := strings.Fields(out)
	d.Remote = remotes[0]
	if slices.Contains(remotes, "origin") {
		d.Remote = "origin"
	}
	url, err := repo.Run(ctx, "remote", "get-url", "--", d.Remote)
	if err != nil {
		return
	}
	d.RemoteURL = git.MaskURL(url)
	if isGitHubURL(url) {
		if owner, name, err := github.ParseRepository(url); err == nil {
			d.GitHub = owner + "/" + name
		}
	}
}

// isGitHubURL reports whether a remote URL is on github.com.
func isGitHubURL(url string) bool {
	for _, p := range []string{"https://github.com/", "http://github.com/", "ssh://git@github.com/", "git@github.com:", "git://github.com/"} {
		if strings.HasPrefix(url, p) {
			return true
		}
	}
	return githubWithCredentials.MatchString(url)
}

// githubWithCredentials is an https URL of github.com with credentials.
var githubWithCredentials = regexp.MustCompile(`^https://[^/@]+@github\.com/`)

// goVersionRe finds a Go `const Version = "x.y.z"` the versioner can bump.
var goVersionRe = regexp.MustCompile(`(?m)^[ \t]*(?:(?:const|var)[ \t]+)?Version[ \t]*(?:string[ \t]*)?=[ \t]*"v?[0-9]+\.[0-9]+\.[0-9]+[^"\n]*"`)

// detectVersions finds the version files and the changelog.
func (d *detection) detectVersions(dir string) {
	for _, name := range []string{"package.json", "VERSION", "VERSION.txt", "version.txt"} {
		if isFile(filepath.Join(dir, name)) {
			d.VersionFiles = append(d.VersionFiles, name)
		}
	}
	if f := findGoVersion(dir); f != "" {
		d.VersionFiles = append(d.VersionFiles, f)
	}
	if isFile(filepath.Join(dir, "CHANGELOG.md")) {
		d.Changelog = "CHANGELOG.md"
	}
}

// findGoVersion returns the first .go file (not a test, not vendored, at
// most three directories down) that declares a Version constant.
func findGoVersion(dir string) string {
	var found string
	_ = filepath.WalkDir(dir, func(path string, e fs.DirEntry, err error) error {
		if err != nil || found != "" {
			return filepath.SkipDir
		}
		rel, _ := filepath.Rel(dir, path)
		if e.IsDir() {
			if skipDir(e.Name()) && rel != "." || strings.Count(rel, string(filepath.Separator)) >= 3 {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(e.Name(), ".go") || strings.HasSuffix(e.Name(), "_test.go") {
			return nil
		}
		if data, err := os.ReadFile(path); err == nil && len(data) < 1<<20 && goVersionRe.Match(data) {
			found = filepath.ToSlash(rel)
		}
		return nil
	})
	return found
}

func skipDir(name string) bool {
	return strings.HasPrefix(name, ".") || slices.Contains([]string{"node_modules", "vendor", "testdata", "dist", "build"}, name)
}

func isFile(path string) bool {
	info, err := os.Stat(path)
	return err == nil && info.Mode().IsRegular()
}

// detectDeployer picks the deployer: a linked Vercel project, else a
// GitHub Actions workflow that can be dispatched, else a git push to a
// production branch.
func (d *detection) detectDeployer(dir string) {
	if data, err := os.ReadFile(filepath.Join(dir, ".vercel", "project.json")); err == nil {
		var p vercelProject
		if json.Unmarshal(data, &p) == nil && p.Project != "" {
			d.Deployer, d.Vercel = vercel.Name, &p
			return
		}
	}
	if wf := dispatchableWorkflow(dir); wf != "" {
		d.Deployer, d.Workflow = githubactions.Name, wf
		return
	}
	d.Deployer = gitpush.Name
}

// dispatchableWorkflow returns the file name of a workflow under
// .github/workflows that has a workflow_dispatch trigger, preferring one
// whose name says deploy or production.
func dispatchableWorkflow(dir string) string {
	files, _ := filepath.Glob(filepath.Join(dir, ".github", "workflows", "*.y*ml"))
	var found []string
	for _, f := range files {
		if data, err := os.ReadFile(f); err == nil && hasDispatch(data) {
			found = append(found, filepath.Base(f))
		}
	}
	for _, f := range found {
		if strings.Contains(f, "deploy") || strings.Contains(f, "prod") {
			return f
		}
	}
	if len(found) > 0 {
		return found[0]
	}
	return ""
}

// hasDispatch reports whether a workflow file's `on` names
// workflow_dispatch (as a string, in a list, or as a key).
func hasDispatch(data []byte) bool {
	var wf struct {
		On yaml.Node `yaml:"on"`
	}
	if yaml.Unmarshal(data, &wf) != nil {
		return false
	}
	n := wf.On
	switch n.Kind {
	case yaml.ScalarNode:
		return n.Value == "workflow_dispatch"
	case yaml.SequenceNode:
		return slices.ContainsFunc(n.Content, func(c *yaml.Node) bool { return c.Value == "workflow_dispatch" })
	case yaml.MappingNode:
		for i := 0; i < len(n.Content); i += 2 {
			if n.Content[i].Value == "workflow_dispatch" {
				return true
			}
		}
	}
	return false
}

// next are the commands to run after init.
func (d detection) next(name string, o options) []JSONNextStep {
	flags := ""
	if o.dir != "." {
		flags += " --dir " + o.dir
	}
	if o.configSet {
		flags += " --config " + o.config
	}
	var out []JSONNextStep
	if d.GitHub != "" || d.Deployer == githubactions.Name {
		out = append(out, JSONNextStep{"export GITHUB_TOKEN=…", "a token that can push tags, create releases and dispatch workflows"})
	}
	if d.Deployer == vercel.Name {
		out = append(out, JSONNextStep{"export VERCEL_TOKEN=…", "a Vercel token for the project's team"})
	}
	return append(out, JSONNextStep{name + " check" + flags, "validates it and runs the pre-flight, changing nothing"},
		JSONNextStep{name + " ship" + flags, "shows the plan, asks, then ships"})
}

// print says what init found.
func (d detection) print(w io.Writer, path string) {
	fmt.Fprintf(w, "Wrote %s from what the project has:\n", path)
	row := func(k, v string) { fmt.Fprintf(w, "  %-11s %s\n", k, v) }
	if d.Remote != "" {
		row("git remote", d.Remote+" ("+d.RemoteURL+")")
	} else {
		row("git remote", "none: add one before shipping (git remote add origin …)")
	}
	if d.GitHub != "" {
		row("GitHub", d.GitHub+": the release is published as a GitHub Release")
	}
	if d.Branch != "" {
		row("branch", d.Branch)
	}
	row("versions", orNone(strings.Join(d.VersionFiles, ", "), "no version file: the version lives in the tags"))
	row("changelog", orNone(d.Changelog, "none"))
	row("gates", orNone(d.StateFile, "no Spec-Flow state file: the release gates are skipped (gates.skip)"))
	row("deploy", d.deployLine())
}

func orNone(s, none string) string {
	if s == "" {
		return none
	}
	return s
}

func (d detection) deployLine() string {
	switch d.Deployer {
	case vercel.Name:
		return "vercel, project " + d.Vercel.Project + " (from .vercel/project.json)"
	case githubactions.Name:
		return "github-actions, workflow " + d.Workflow + " (it can be dispatched)"
	}
	return "git-push to branch production of " + orNone(d.Remote, "origin")
}
