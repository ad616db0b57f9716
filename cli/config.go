package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/shipprod/shipprod"
	"github.com/shipprod/shipprod/gate"
	"github.com/shipprod/shipprod/health"
	"github.com/shipprod/shipprod/health/monitor"
	"github.com/shipprod/shipprod/internal/yamlstrict"
	"github.com/shipprod/shipprod/journal"
	"github.com/shipprod/shipprod/notify"
	"github.com/shipprod/shipprod/provider"
	"github.com/shipprod/shipprod/provider/githubactions"
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
	State   gate.StateConfig `yaml:"state"`
	Gates   GatesConfig      `yaml:"gates"`
	Version version.Config   `yaml:"version"`
	Git     tag.Git          `yaml:"git"`
	Tag     tag.Config       `yaml:"tag"`
	GitHub  *tag.GitHub      `yaml:"github"`
	Deploy  DeployConfig     `yaml:"deploy"`
	Health  health.Config    `yaml:"health"`
	Monitor *monitor.Config  `yaml:"monitor"`
	Report  report.Config    `yaml:"report"`
	Journal JournalConfig    `yaml:"journal"`
	// OnFailure says what the Pipeline does when production is found
	// unhealthy after the deploy (health checks, the monitor, a deploy that
	// failed after changing production).
	OnFailure FailureConfig `yaml:"on_failure"`
	// Notify sends the outcome of each run to webhooks (Slack-compatible or
	// signed JSON).
	Notify *notify.Config `yaml:"notify"`
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

// loadConfig reads the configuration file; a file that does not exist gives
// a nil Config and no error.
func loadConfig(path string) (*Config, error) {
	var cfg Config
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

// setup is a pipeline built from the configuration, with the pieces the
// commands need besides it.
type setup struct {
	pipeline  *shipprod.Pipeline
	versioner *version.Versioner
}

// build turns the configuration into a Pipeline. Mistakes in the
// configuration are usage errors (exit code 2); a setup cut short because
// ctx ended (a step's constructor runs git or asks an API) is not one.
func build(ctx context.Context, dir, configPath string, cfg *Config, logger *slog.Logger) (*setup, error) {
	wrap := func(section string, err error) error {
		if ctxErr := ctx.Err(); ctxErr != nil {
			if errors.Is(err, ctxErr) {
				return fmt.Errorf("setting up %s: %w", section, err)
			}
			return fmt.Errorf("setting up %s: %w (%v)", section, ctxErr, err)
		}
		if strings.HasPrefix(err.Error(), section+".") {
			return &usageError{fmt.Errorf("%s: %w", configPath, err)} // the error names its key already
		}
		return &usageError{fmt.Errorf("%s: %s: %w", configPath, section, err)}
	}
	p := &shipprod.Pipeline{Logger: logger}
	facts := map[string]string{}
	feature := ""
	reportCfg := cfg.Report

	sf := &gate.SpecFlow{Dir: dir, Path: cfg.State.Path, AllowAutoSkipped: cfg.Gates.AllowAutoSkipped,
		SkipRollbackGate: cfg.Gates.SkipRollbackGate, RequirePhase: cfg.Gates.RequirePhase}
	if cfg.Gates.Skip {
		// No GateSource: the pipeline reports the gates step as skipped.
		logger.Warn("release gates are disabled in the configuration (gates.skip)")
	} else {
		p.Gates = sf
	}
	// Facts for the deployers (Vercel promotes the deployment staging
	// validated) and the report's title and default place: next to
	// state.yaml, where Spec-Flow keeps a feature's reports.
	statePath, _, stateErr := sf.Locate()
	if stateErr == nil {
		if st, err := gate.Load(statePath); err == nil {
			facts = st.Facts()
			feature = facts["feature.slug"]
		}
		if reportCfg.Path == "" {
			if rel, err := filepath.Rel(dir, filepath.Dir(statePath)); err == nil && !strings.HasPrefix(rel, "..") {
				reportCfg.Path = filepath.ToSlash(filepath.Join(rel, report.DefaultPath))
			}
		}
	}

	v, err := version.New(cfg.Version, version.Options{Dir: dir, Branch: cfg.Git.Branch, Remote: cfg.Git.Remote, Logger: logger})
	if err != nil {
		return nil, wrap("version", err)
	}
	p.Versioner = v

	tagger, err := tag.New(ctx, cfg.Tag, tag.Env{Dir: dir, Git: cfg.Git, GitHub: cfg.GitHub, Logger: logger})
	if err != nil {
		return nil, wrap("tag", err)
	}
	p.Tagger = tagger
	if cfg.GitHub != nil {
		for k, v := range cfg.GitHub.Facts() {
			facts[k] = v
		}
	}
	if cfg.Git.Remote != "" {
		facts["git.remote"] = cfg.Git.Remote
	}

	if name := cfg.Deploy.Provider; name != "" {
		env := provider.Env{Dir: dir, Facts: facts, Logger: logger}
		if node, ok := cfg.Deploy.Sections[name]; ok {
			env.Config = provider.YAMLSection{File: configPath, Path: "deploy." + name, Node: &node}
		}
		dep, err := provider.Open(ctx, name, env)
		if err != nil {
			var unknown *provider.UnknownError
			if errors.As(err, &unknown) {
				return nil, wrap("deploy.provider", err)
			}
			return nil, wrap("deploy."+name, err)
		}
		if f := cfg.Deploy.FollowCI; f != nil {
			gp, ok := dep.(*gitpush.Deployer)
			if !ok {
				return nil, wrap("deploy.follow_ci", fmt.Errorf("only the git-push deployer follows a CI run; %s does so itself", name))
			}
			w, err := githubactions.NewWatcher(ctx, f.WatchConfig, env)
			if err != nil {
				return nil, wrap("deploy.follow_ci", err)
			}
			dep = gp.WithFollower(githubactions.PushFollower{Watcher: w, Workflow: f.Workflow})
		}
		// Records GitHub Deployments (github.deployments.enabled) and
		// deletes the tag after a rollback (tag.delete_on_rollback); with
		// neither, the deployer is returned as it is.
		dep = tagger.WrapDeployer(dep)
		p.Deployer = dep
	} else if len(cfg.Deploy.Sections) > 0 || cfg.Deploy.FollowCI != nil {
		return nil, wrap("deploy", errors.New("deploy.provider is not set: name the deployer to use"))
	}

	var checker *health.Checker
	if len(cfg.Health.Checks) > 0 {
		checker, err = health.New(cfg.Health, health.Options{Dir: dir, Logger: logger})
		if err != nil {
			return nil, wrap("health", err)
		}
		p.Health = checker
	}
	if err := cfg.OnFailure.validate(); err != nil {
		return nil, wrap("on_failure", err)
	}
	p.OnFailure = cfg.OnFailure.Policy
	if cfg.Monitor != nil {
		mon, err := monitor.New(*cfg.Monitor, monitor.Options{Logger: logger, Health: checker, Policy: p.OnFailure})
		if err != nil {
			return nil, wrap("monitor", err)
		}
		p.Monitor = mon
	}

	p.Reporter = report.New(dir, reportCfg, feature)
	if stateErr == nil && cfg.State.WriteEnabled() {
		// The run is recorded in the state file too, in its own dialect.
		p.Reporter = shipprod.Reporters(p.Reporter, &gate.StateWriter{SpecFlow: sf})
	}

	if cfg.Notify != nil {
		n, err := notify.New(*cfg.Notify, notify.Options{Logger: logger, Composer: notify.Composer{Project: feature}})
		if err != nil {
			return nil, wrap("notify", err)
		}
		p.Notifier = n
	} else if p.OnFailure == shipprod.PolicyNotify {
		return nil, wrap("on_failure", errors.New("on_failure.policy is notify, but there is no notify section: name where to send it (see notify.targets)"))
	}

	if !cfg.Journal.Disabled {
		j := journal.File{Path: cfg.Journal.Path}
		if j.Path == "" {
			if j, err = journal.InGitDir(ctx, dir); err != nil {
				return nil, wrap("journal", err)
			}
		} else if !filepath.IsAbs(j.Path) {
			j.Path = filepath.Join(dir, j.Path)
		}
		p.Journal = j
	}
	return &setup{pipeline: p, versioner: v}, nil
}
