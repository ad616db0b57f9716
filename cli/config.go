package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/shipprod/shipprod"
	"github.com/shipprod/shipprod/gate"
	"github.com/shipprod/shipprod/health"
	"github.com/shipprod/shipprod/health/monitor"
	"github.com/shipprod/shipprod/internal/yamlstrict"
	"github.com/shipprod/shipprod/notify"
	"github.com/shipprod/shipprod/provider"
	"github.com/shipprod/shipprod/provider/githubactions"
	"github.com/shipprod/shipprod/provider/githubdeployments"
	"github.com/shipprod/shipprod/provider/gitpush"
	"github.com/shipprod/shipprod/report"
	"github.com/shipprod/shipprod/tag"
	"github.com/shipprod/shipprod/version"
)

// Config is shipprod.yaml. Each section is the configuration type of the
// package that implements the step, so the CLI adds nothing of its own but
// the deploy section's shape.
type Config struct {
	// State is the Spec-Flow state file; empty means the newest
	// specs/NNN-*/state.yaml (or epics/NNN-*/state.yaml).
	State gate.StateConfig `yaml:"state"`
	// Gates tunes the release gates read from the state file: staging
	// validated and approved, the rollback drill passed.
	Gates GatesConfig `yaml:"gates"`
	// Version decides the next version (Conventional Commits, the
	// CHANGELOG's Unreleased section) and writes it into the version
	// files and the CHANGELOG, in one commit.
	Version version.Config `yaml:"version"`
	// Git says where the release commit and tag are pushed.
	Git tag.Git `yaml:"git"`
	// Tag makes the annotated (optionally signed) release tag.
	Tag tag.Config `yaml:"tag"`
	// GitHub publishes the release as a GitHub Release, and optionally
	// records each deploy in GitHub Deployments; without it, only the tag
	// is pushed.
	GitHub *tag.GitHub `yaml:"github"`
	// Deploy names the deployer that puts the release into production, and
	// holds its settings.
	Deploy DeployConfig `yaml:"deploy"`
	// Health are the checks run right after the deploy (and after a
	// rollback): HTTP, version, TCP, DNS, SQL, Redis, a command.
	Health health.Config `yaml:"health"`
	// Monitor watches production for a window after the deploy, against
	// its baseline, and fails the release (rolling it back) when it
	// degrades.
	Monitor *monitor.Config `yaml:"monitor"`
	// Report says where the ship report (Markdown and its JSON twin) is
	// written.
	Report report.Config `yaml:"report"`
	// Journal says where a run's progress is kept, for the next run to
	// resume it.
	Journal JournalConfig `yaml:"journal"`
	// OnFailure says what the Pipeline does when production is found
	// unhealthy after the deploy (health checks, the monitor, a deploy that
	// failed after changing production).
	OnFailure FailureConfig `yaml:"on_failure"`
	// Notify sends the outcome of each run to webhooks (Slack-compatible or
	// signed JSON).
	Notify *notify.Config `yaml:"notify"`
	// Records says what happens to the files a run writes (the report, the
	// state file): left in the working tree (default), or committed and
	// pushed to the release branch.
	Records report.RecordsConfig `yaml:"records"`
	// Rollout sends the release to production in stages, each watched by
	// the monitor, when the deployer can shift traffic (Vercel Rolling
	// Releases).
	Rollout *RolloutConfig `yaml:"rollout"`
}

// RolloutConfig is the rollout section.
type RolloutConfig struct {
	// Stages rise to 100 percent, e.g. [{percent: 5, watch: 5m}, {percent: 25,
	// watch: 10m}, {percent: 100}].
	Stages []RolloutStageConfig `yaml:"stages"`
}

// RolloutStageConfig is one stage of the rollout.
type RolloutStageConfig struct {
	// Percent is the share of production traffic the release gets.
	Percent int `yaml:"percent"`
	// Watch is how long the monitor watches the stage before the next one.
	Watch time.Duration `yaml:"watch"`
}

// FailureConfig is the on_failure section.
type FailureConfig struct {
	// Policy is rollback (default), freeze or notify.
	Policy shipprod.FailurePolicy `yaml:"policy"`
}

func (f FailureConfig) validate() error {
	switch f.Policy {
	case "", shipprod.PolicyRollback, shipprod.PolicyFreeze, shipprod.PolicyNotify:
		return nil
	}
	return fmt.Errorf("on_failure.policy %q is not rollback, freeze or notify", f.Policy)
}

// JournalConfig says where a run's progress is kept, so that a run that
// failed after making its release resumes it.
type JournalConfig struct {
	// Path of the journal; default .git/shipprod/journal.json.
	Path string `yaml:"path"`
	// Disabled keeps no journal: a failed run is not resumed.
	Disabled bool `yaml:"disabled"`
}

// GatesConfig tunes the Spec-Flow gates.
type GatesConfig struct {
	// Skip ships without checking any gate (the skip is reported).
	Skip bool `yaml:"skip"`
	// AllowAutoSkipped accepts a staging gate Spec-Flow's auto mode skipped.
	AllowAutoSkipped bool `yaml:"allow_auto_skipped"`
	// SkipRollbackGate does not require the staging rollback drill.
	SkipRollbackGate bool `yaml:"skip_rollback_gate"`
	// RequirePhase blocks a release whose state file does not say the
	// feature is at the production ship phase (otherwise a warning).
	RequirePhase bool `yaml:"require_phase"`
}

// DeployConfig names the deployer and holds each deployer's own section
// under its name, e.g. deploy.git-push.
type DeployConfig struct {
	// Provider is the registered name of the deployer (git-push, vercel,
	// github-actions, …), or "none" to tag and publish the release without
	// deploying it. It is required: a configuration that deploys nothing
	// says so.
	Provider string `yaml:"provider"`
	// FollowCI makes the git-push deployer follow the GitHub Actions run its
	// push triggers, and fail when that run fails.
	FollowCI *FollowCIConfig `yaml:"follow_ci"`
	// Sections holds every other key: the deployers' sections.
	Sections map[string]yaml.Node `yaml:",inline"`
}

// FollowCIConfig is deploy.follow_ci.
type FollowCIConfig struct {
	// Workflow is the workflow file the push triggers ("" for any).
	Workflow                  string `yaml:"workflow"`
	githubactions.WatchConfig `yaml:",inline"`
}

// MaxConfigSize bounds shipprod.yaml: a larger file is refused unread.
const MaxConfigSize = 1 << 20

// LoadConfig reads shipprod.yaml strictly: an unknown key, a key defined
// twice or a value of the wrong type is an error naming the key and its
// line. A file that does not exist gives a nil Config and no error.
func LoadConfig(path string) (*Config, error) {
	return loadConfig(path)
}

func loadConfig(path string) (*Config, error) {
	var cfg Config
	if info, err := os.Stat(path); err == nil && info.Size() > MaxConfigSize {
		return nil, usageErrorf("%s is %d bytes, more than a configuration can be (%d): is it the right file?", path, info.Size(), MaxConfigSize)
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, usageErrorf("reading the configuration: %w", err)
	}
	if err := yamlstrict.Unmarshal(path, data, &cfg); err != nil {
		return nil, &usageError{err}
	}
	known := map[string]bool{}
	for _, n := range provider.Names() {
		known[n] = true
	}
	for name, node := range cfg.Deploy.Sections {
		if !known[name] {
			return nil, usageErrorf("%s:%d: unknown key \"deploy.%s\": no deployer is registered under that name (known: %s)", path, node.Line, name, strings.Join(provider.Names(), ", "))
		}
	}
	return &cfg, nil
}

// NoDeployer is the deploy.provider that releases without deploying.
const NoDeployer = "none"

// Build turns cfg, read from configPath, into a Pipeline for the project at
// dir. Mistakes in the configuration are errors naming the key; a setup
// cut short because ctx ended (a step's constructor runs git or asks an
// API) is the context's error.
func Build(ctx context.Context, dir, configPath string, cfg *Config, logger *slog.Logger) (*shipprod.Pipeline, error) {
	s, err := build(ctx, dir, configPath, cfg, logger)
	if err != nil {
		return nil, err
	}
	return s.pipeline, nil
}

// setup is a pipeline built from the configuration, with the pieces the
// commands need besides it.
type setup struct {
	pipeline  *shipprod.Pipeline
	versioner *version.Versioner
	cfg       *Config
}

// builder builds a Pipeline from a Config, one section at a time.
type builder struct {
	ctx        context.Context
	dir, path  string
	cfg        *Config
	log        *slog.Logger
	p          *shipprod.Pipeline
	facts      map[string]string
	feature    string
	specflow   *gate.SpecFlow
	statePath  string
	stateFound bool
	tagger     *tag.Tagger
	versioner  *version.Versioner
	checker    *health.Checker
}

// build turns the configuration into a Pipeline. Mistakes in the
// configuration are usage errors (exit code 2); a setup cut short because
// ctx ended (a step's constructor runs git or asks an API) is not one.
func build(ctx context.Context, dir, configPath string, cfg *Config, logger *slog.Logger) (*setup, error) {
	b := &builder{ctx: ctx, dir: dir, path: configPath, cfg: cfg, log: logger, p: &shipprod.Pipeline{Logger: logger}, facts: map[string]string{}}
	for _, step := range []struct {
		section string
		build   func() error
	}{
		{"gates", b.gates}, {"version", b.version}, {"tag", b.tag}, {"deploy", b.deploy},
		{"health", b.health}, {"on_failure", b.onFailure}, {"rollout", b.rollout}, {"monitor", b.monitor}, {"report", b.report},
		{"records", b.records}, {"notify", b.notify}, {"journal", b.journal},
	} {
		if err := step.build(); err != nil {
			return nil, b.wrap(step.section, err)
		}
	}
	return &setup{pipeline: b.p, versioner: b.versioner, cfg: cfg}, nil
}

// wrap says which section of which file a mistake is in.
func (b *builder) wrap(section string, err error) error {
	if ctxErr := b.ctx.Err(); ctxErr != nil {
		if errors.Is(err, ctxErr) {
			return fmt.Errorf("setting up %s: %w", section, err)
		}
		return fmt.Errorf("setting up %s: %w (%v)", section, ctxErr, err)
	}
	if is[*usageError](err) {
		return err
	}
	if strings.HasPrefix(err.Error(), section+".") || strings.HasPrefix(err.Error(), section+":") {
		return &usageError{fmt.Errorf("%s: %w", b.path, err)} // the error names its key already
	}
	return &usageError{fmt.Errorf("%s: %s: %w", b.path, section, err)}
}

// gates sets up the Spec-Flow gates, and reads the facts the state file
// gives the deployers (Vercel promotes the deployment staging validated)
// and the report (its title and its place, beside state.yaml, where
// Spec-Flow keeps a feature's reports).
func (b *builder) gates() error {
	g := b.cfg.Gates
	b.specflow = &gate.SpecFlow{Dir: b.dir, Path: b.cfg.State.Path, AllowAutoSkipped: g.AllowAutoSkipped,
		SkipRollbackGate: g.SkipRollbackGate, RequirePhase: g.RequirePhase}
	if g.Skip {
		// No GateSource: the pipeline reports the gates step as skipped.
		b.log.Warn("release gates are disabled in the configuration (gates.skip)")
	} else {
		b.p.Gates = b.specflow
	}
	path, _, err := b.specflow.Locate()
	if err != nil {
		return nil // the gates step says why, when it runs
	}
	b.statePath, b.stateFound = path, true
	if st, err := gate.Load(path); err == nil {
		b.facts = st.Facts()
		b.feature = b.facts["feature.slug"]
	}
	return nil
}

func (b *builder) version() error {
	v, err := version.New(b.cfg.Version, version.Options{Dir: b.dir, Branch: b.cfg.Git.Branch, Remote: b.cfg.Git.Remote, Logger: b.log,
		RunRecords: b.runRecords()})
	if err != nil {
		return err
	}
	b.p.Versioner, b.versioner = v, v
	return nil
}

func (b *builder) tag() error {
	t, err := tag.New(b.ctx, b.cfg.Tag, tag.Env{Dir: b.dir, Git: b.cfg.Git, GitHub: b.cfg.GitHub, Logger: b.log})
	if err != nil {
		return err
	}
	b.p.Tagger, b.tagger = t, t
	if b.cfg.GitHub != nil {
		maps.Copy(b.facts, b.cfg.GitHub.Facts())
	}
	if b.cfg.Git.Remote != "" {
		b.facts["git.remote"] = b.cfg.Git.Remote
	}
	return nil
}

// deploy opens the deployer deploy.provider names, with its own section.
func (b *builder) deploy() error {
	d := b.cfg.Deploy
	switch d.Provider {
	case "":
		return usageErrorf("%s: deploy.provider is not set: name the deployer (%s), or %q to tag and publish without deploying",
			b.path, strings.Join(provider.Names(), ", "), NoDeployer)
	case NoDeployer:
		if len(d.Sections) > 0 || d.FollowCI != nil {
			return errors.New("deploy.provider is none, but deployer sections are configured: name the deployer to use")
		}
		return nil
	}
	env := provider.Env{Dir: b.dir, Facts: b.facts, Logger: b.log}
	if node, ok := d.Sections[d.Provider]; ok {
		env.Config = provider.YAMLSection{File: b.path, Path: "deploy." + d.Provider, Node: &node}
	}
	dep, err := provider.Open(b.ctx, d.Provider, env)
	if err != nil {
		if _, unknown := errors.AsType[*provider.UnknownError](err); unknown {
			return fmt.Errorf("deploy.provider: %w", err)
		}
		return fmt.Errorf("deploy.%s: %w", d.Provider, err)
	}
	if dep, err = b.followCI(dep, env); err != nil {
		return err
	}
	// Records GitHub Deployments (github.deployments.enabled); otherwise
	// the deployer is used as it is. (tag.delete_on_rollback is the
	// Tagger's own: the Pipeline asks it after a rollback.)
	if gh := b.cfg.GitHub; gh != nil {
		if dep, err = githubdeployments.Wrap(b.ctx, dep, gh.Deployments, gh.DeploymentsOptions(b.dir, b.cfg.Git.Remote, b.log)); err != nil {
			return err
		}
	}
	b.p.Deployer = dep
	return nil
}

// followCI makes the git-push deployer follow the CI run its push starts.
func (b *builder) followCI(dep shipprod.Deployer, env provider.Env) (shipprod.Deployer, error) {
	f := b.cfg.Deploy.FollowCI
	if f == nil {
		return dep, nil
	}
	gp, ok := dep.(*gitpush.Deployer)
	if !ok {
		return nil, fmt.Errorf("deploy.follow_ci: only the git-push deployer follows a CI run; %s does so itself", b.cfg.Deploy.Provider)
	}
	w, err := githubactions.NewWatcher(b.ctx, f.WatchConfig, env)
	if err != nil {
		return nil, fmt.Errorf("deploy.follow_ci: %w", err)
	}
	return gp.WithFollower(githubactions.PushFollower{Watcher: w, Workflow: f.Workflow}), nil
}

func (b *builder) health() error {
	if len(b.cfg.Health.Checks) == 0 {
		return nil
	}
	checker, err := health.New(b.cfg.Health, health.Options{Dir: b.dir, Logger: b.log})
	if err != nil {
		return err
	}
	b.p.Health, b.checker = checker, checker
	return nil
}

func (b *builder) onFailure() error {
	if err := b.cfg.OnFailure.validate(); err != nil {
		return err
	}
	b.p.OnFailure = b.cfg.OnFailure.Policy
	if b.p.OnFailure == shipprod.PolicyNotify && b.cfg.Notify == nil {
		return errors.New("on_failure.policy is notify, but there is no notify section: name where to send it (see notify.targets)")
	}
	return nil
}

// rollout sets the stages the release goes through.
func (b *builder) rollout() error {
	r := b.cfg.Rollout
	if r == nil || len(r.Stages) == 0 {
		return nil
	}
	out := &shipprod.Rollout{}
	for _, s := range r.Stages {
		out.Stages = append(out.Stages, shipprod.RolloutStage{Percent: s.Percent, Watch: s.Watch})
	}
	if err := out.Validate(); err != nil {
		return err
	}
	// A deployer that cannot shift traffic keeps sending the release to all
	// traffic at once: the plan's rollout step says so.
	b.p.Rollout = out
	return nil
}

func (b *builder) monitor() error {
	if b.cfg.Monitor == nil {
		return nil
	}
	mon, err := monitor.New(*b.cfg.Monitor, monitor.Options{Logger: b.log, Health: b.checker, Policy: b.p.OnFailure, Rollout: b.p.Rollout})
	if err != nil {
		return err
	}
	b.p.Monitor = mon
	return nil
}

// reportWriter is the ship report's writer: by default beside the state
// file, where Spec-Flow keeps a feature's reports.
func (b *builder) reportWriter() *report.Writer {
	cfg := b.cfg.Report
	if cfg.Path == "" && b.stateFound {
		if rel, err := filepath.Rel(b.dir, filepath.Dir(b.statePath)); err == nil && !strings.HasPrefix(rel, "..") {
			cfg.Path = filepath.ToSlash(filepath.Join(rel, report.DefaultPath))
		}
	}
	return report.New(b.dir, cfg, b.feature)
}

// runRecords are the files every run writes (the report, the state file):
// left uncommitted, they must not block the next release.
func (b *builder) runRecords() []string {
	w := b.reportWriter()
	records := []string{w.Path, w.JSONPath}
	if b.stateFound && b.cfg.State.WriteEnabled() {
		if rel, err := filepath.Rel(b.dir, b.statePath); err == nil {
			records = append(records, rel)
		}
	}
	return records
}

// report writes the ship report and records the run in the state file
// itself unless state.write is false.
func (b *builder) report() error {
	b.p.Reporter = b.reportWriter()
	if b.stateFound && b.cfg.State.WriteEnabled() {
		b.p.Reporter = shipprod.Reporters(b.p.Reporter, &gate.StateWriter{SpecFlow: b.specflow})
	}
	return nil
}

// records commits and pushes the run's records when records.commit asks.
func (b *builder) records() error {
	if !b.cfg.Records.Commit {
		return nil
	}
	a, err := report.NewGitArchiver(b.dir, b.cfg.Git.Remote, b.cfg.Git.Branch, b.cfg.Records)
	if err != nil {
		return err
	}
	b.p.Archiver = a
	return nil
}

func (b *builder) notify() error {
	if b.cfg.Notify == nil {
		return nil
	}
	n, err := notify.New(*b.cfg.Notify, notify.Options{Logger: b.log, Composer: notify.Composer{Project: b.feature}})
	if err != nil {
		return err
	}
	b.p.Notifier = n
	return nil
}

func (b *builder) journal() error {
	j, err := journalFile(b.ctx, b.dir, b.cfg.Journal)
	if err != nil || j == nil {
		return err
	}
	b.p.Journal = *j
	return nil
}
