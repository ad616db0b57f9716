package providertest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shipprod/shipprod"
	"github.com/shipprod/shipprod/provider"
)

// memPlatform is an in-memory production: a deploy is a job that finishes
// after a few polls.
type memPlatform struct {
	mu      sync.Mutex
	live    string
	stalled bool
	broken  bool
	jobs    map[string]int // commit → polls left
	started int            // deploy jobs started
	writes  int            // requests that change something (jobs, settings)
}

// Writes counts the platform's writes: jobs started and other changes.
func (p *memPlatform) Writes() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.writes + p.started
}

var errRefused = errors.New("platform refused the deploy")

func (p *memPlatform) start(commit string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.broken {
		p.broken = false
		return errRefused
	}
	p.jobs[commit] = 3
	p.started++
	return nil
}

// Started counts the deploy jobs started on the platform.
func (p *memPlatform) Started() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.started
}

// poll reports whether the job for commit has finished.
func (p *memPlatform) poll(commit string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stalled {
		return false
	}
	p.jobs[commit]--
	if p.jobs[commit] <= 0 {
		p.live = commit
		return true
	}
	return false
}

func (p *memPlatform) Live(context.Context) (string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.live, nil
}

// memConfig switches on misbehaviours, to show the kit catches them.
type memConfig struct {
	Platform     string `yaml:"platform"`
	IgnoreCancel bool   `yaml:"ignore_cancel"`
	Unwrapped    bool   `yaml:"unwrapped"`
	Leak         bool   `yaml:"leak"`
	PlanSHA      bool   `yaml:"plan_sha"`
	LogToken     bool   `yaml:"log_token"`
	// Redeploy starts a new job even when production already serves the
	// release.
	Redeploy bool `yaml:"redeploy"`
	// PreflightWrites makes the pre-flight change a setting on the
	// platform; ProductionStale makes Production report the first commit
	// ever deployed.
	PreflightWrites bool `yaml:"preflight_writes"`
	ProductionStale bool `yaml:"production_stale"`
}

var platforms sync.Map // name → *memPlatform

type memDeployer struct {
	env provider.Env
	cfg memConfig
	p   *memPlatform
}

func init() {
	provider.Register("providertest-memory", func(ctx context.Context, env provider.Env) (shipprod.Deployer, error) {
		var cfg memConfig
		if err := env.Decode(&cfg); err != nil {
			return nil, err
		}
		p, ok := platforms.Load(cfg.Platform)
		if !ok {
			return nil, fmt.Errorf("no platform %q", cfg.Platform)
		}
		return &memDeployer{env: env, cfg: cfg, p: p.(*memPlatform)}, nil
	})
	provider.Register("providertest-lenient", func(ctx context.Context, env provider.Env) (shipprod.Deployer, error) {
		return nil, nil // accepts any configuration
	})
}

func (d *memDeployer) wrap(what string, err error) error {
	if d.cfg.Unwrapped {
		return fmt.Errorf("%s: %v", what, err)
	}
	return fmt.Errorf("%s: %w", what, err)
}

func (d *memDeployer) Deploy(ctx context.Context, rel shipprod.Release) (shipprod.Deployment, error) {
	clock := d.env.ClockOrDefault()
	dep := shipprod.Deployment{Provider: d.env.Name, ID: "job-" + rel.Version, Commit: rel.Commit, StartedAt: clock.Now()}
	if err := ctx.Err(); err != nil {
		return dep, d.wrap("deploy", err)
	}
	prev, _ := d.p.Live(ctx)
	if prev == rel.Commit && !d.cfg.Redeploy {
		// Already live (a resumed run): nothing to start.
		dep.FinishedAt = clock.Now()
		return dep, nil
	}
	dep.PreviousID = prev
	if d.cfg.LogToken {
		d.env.LoggerOrDefault().Info("deploying", "token", d.env.EnvVar("MEM_TOKEN"))
	}
	if d.cfg.Leak {
		go time.Sleep(500 * time.Millisecond)
	}
	if err := d.p.start(rel.Commit); err != nil {
		return dep, d.wrap("deploy "+rel.Version, err)
	}
	for start := time.Now(); !d.p.poll(rel.Commit); {
		if d.cfg.IgnoreCancel {
			if time.Since(start) > time.Second {
				return dep, errors.New("gave up")
			}
			time.Sleep(5 * time.Millisecond)
			continue
		}
		if err := clock.Sleep(ctx, time.Second); err != nil {
			return dep, d.wrap("waiting for "+rel.Version, err)
		}
	}
	dep.FinishedAt = clock.Now()
	return dep, nil
}

func (d *memDeployer) Rollback(ctx context.Context, failed shipprod.Deployment, to shipprod.Release) (shipprod.Deployment, error) {
	clock := d.env.ClockOrDefault()
	if err := ctx.Err(); err != nil {
		return shipprod.Deployment{}, d.wrap("rollback", err)
	}
	d.p.mu.Lock()
	d.p.live = to.Commit
	d.p.mu.Unlock()
	now := clock.Now()
	return shipprod.Deployment{Provider: d.env.Name, ID: "rollback-" + to.Version, Commit: to.Commit, StartedAt: now, FinishedAt: now}, nil
}

func (d *memDeployer) Production(ctx context.Context) (shipprod.Deployment, error) {
	live, _ := d.p.Live(ctx)
	if d.cfg.ProductionStale && live != "" {
		live = sha1
	}
	if live == "" {
		return shipprod.Deployment{Provider: d.env.Name}, nil
	}
	return shipprod.Deployment{Provider: d.env.Name, ID: "job-" + live[:7], Commit: live}, nil
}

func (d *memDeployer) Preflight(ctx context.Context, rel shipprod.Release) error {
	if d.cfg.PreflightWrites {
		d.p.mu.Lock()
		d.p.writes++
		d.p.mu.Unlock()
	}
	return ctx.Err()
}

func (d *memDeployer) PlanActions(ctx context.Context, rel shipprod.Release) ([]shipprod.Action, error) {
	desc := "deploy " + rel.Version + " to the memory platform"
	if d.cfg.PlanSHA {
		desc += " at " + rel.Commit
	}
	return []shipprod.Action{{Kind: shipprod.ActionDeploy, Target: "memory", Description: desc}}, nil
}

const (
	sha1 = "1111111111111111111111111111111111111111"
	sha2 = "2222222222222222222222222222222222222222"
)

// memHarness returns a harness for the memory deployer with extra
// configuration (a misbehaviour).
func memHarness(name, extra string) Harness {
	return Harness{
		Name: name,
		Setup: func(t *testing.T, clock shipprod.Clock) *Platform {
			p := &memPlatform{jobs: map[string]int{}}
			key := t.Name()
			platforms.Store(key, p)
			t.Cleanup(func() { platforms.Delete(key) })
			return &Platform{
				Config: fmt.Sprintf("platform: %q\n%s", key, extra),
				Releases: [2]shipprod.Release{
					{Version: "1.0.0", Tag: "v1.0.0", Commit: sha1},
					{Version: "1.1.0", Tag: "v1.1.0", Commit: sha2, PreviousVersion: "1.0.0", PreviousTag: "v1.0.0", PreviousCommit: sha1},
				},
				Live:    p.Live,
				Deploys: p.Started,
				Writes:  p.Writes,
				Stall:   func() { p.mu.Lock(); p.stalled = true; p.mu.Unlock() },
				Break: func() func(error) bool {
					p.mu.Lock()
					p.broken = true
					p.mu.Unlock()
					return func(err error) bool { return errors.Is(err, errRefused) }
				},
				Getenv:  func(k string) string { return map[string]string{"MEM_TOKEN": "s3cret-token"}[k] },
				Secrets: []string{"s3cret-token"},
			}
		},
	}
}

func TestWellBehavedDeployerPasses(t *testing.T) {
	Run(t, memHarness("providertest-memory", ""))
}

func TestKitCatchesMisbehaviour(t *testing.T) {
	settleTime, promptReturn = 200*time.Millisecond, 300*time.Millisecond
	t.Cleanup(func() { settleTime, promptReturn = 3*time.Second, PromptReturn })
	byName := map[string]check{}
	for _, c := range checks {
		byName[c.name] = c
	}
	tests := []struct {
		name, harnessName, extra, check, want string
		// platform, when set, changes what the harness provides.
		platform func(*Platform)
	}{
		{"lenient config", "providertest-lenient", "", "UnknownConfigKeyIsAnError", "unknown key in the configuration section was accepted", nil},
		{"ignores cancel", "providertest-memory", "ignore_cancel: true\n", "CanceledDuringDeploy", "did not return within 300ms", nil},
		{"unwrapped errors", "providertest-memory", "unwrapped: true\n", "CanceledBeforeDeploy", "want an error wrapping context.Canceled", nil},
		{"unwrapped platform error", "providertest-memory", "unwrapped: true\n", "RefusedDeployIsAWrappedError", "does not carry its cause", nil},
		{"leaks a goroutine", "providertest-memory", "leak: true\n", "DeployFillsDeployment", "goroutine(s) still running", nil},
		{"plans with the SHA", "providertest-memory", "plan_sha: true\n", "PlanAgreesWithRun", "differs once the commit is known", nil},
		{"logs the token", "providertest-memory", "log_token: true\n", "DeployFillsDeployment", "a secret appears in logs", nil},
		{"re-deploy starts a second deployment", "providertest-memory", "redeploy: true\n", "RedeployIsIdempotent", "started 1 deployment(s) on the platform", nil},
		{"counter that counts nothing", "providertest-memory", "", "RedeployIsIdempotent", "Platform.Deploys counted no deployment",
			func(p *Platform) { p.Deploys = func() int { return 0 } }},
		{"no Break", "providertest-memory", "", "RefusedDeployIsAWrappedError", "Platform.Break is required",
			func(p *Platform) { p.Break = nil }},
		{"Break without a cause to find", "providertest-memory", "", "RefusedDeployIsAWrappedError", "Platform.Break returned no cause",
			func(p *Platform) { orig := p.Break; p.Break = func() func(error) bool { orig(); return nil } }},
		{"pre-flight that writes", "providertest-memory", "preflight_writes: true\n", "PreflightChangesNothing", "made 1 write(s) on the platform", nil},
		{"stale production", "providertest-memory", "production_stale: true\n", "ProductionIsReadAsDeployed",
			`after Deploy(1.1.0) says production runs commit "` + sha1 + `"; Platform.Live says "` + sha2 + `"`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := memHarness(tt.harnessName, tt.extra)
			if tt.platform != nil {
				setup := h.Setup
				h.Setup = func(t *testing.T, clock shipprod.Clock) *Platform {
					p := setup(t, clock)
					tt.platform(p)
					return p
				}
			}
			if tt.harnessName == "providertest-lenient" {
				h.Setup = func(t *testing.T, clock shipprod.Clock) *Platform {
					return &Platform{Live: func(context.Context) (string, error) { return "", nil },
						Releases: [2]shipprod.Release{{Version: "1", Commit: sha1}, {Version: "2", Commit: sha2}}}
				}
			}
			err := runCheck(t, h, byName[tt.check])
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("check %s returned %v, want an error containing %q", tt.check, err, tt.want)
			}
		})
	}
}
