// Package providertest is the conformance kit for deployers: the contract
// the shipprod Pipeline relies on, as a test suite any Deployer author runs
// against an implementation, in the spirit of gocloud.dev's drivertest.
//
// A deployer's test describes how to set up a fresh platform (a fake API
// server, a bare git remote, …) and the kit does the rest:
//
//	func TestConformance(t *testing.T) {
//		providertest.Run(t, providertest.Harness{
//			Name: "deploy-hook", // as registered with provider.Register
//			Setup: func(t *testing.T, clock shipprod.Clock) *providertest.Platform {
//				srv := newFakeHookServer(t, clock)
//				return &providertest.Platform{
//					Config:   "hook_url: " + srv.URL + "/hook\n",
//					Releases: [2]shipprod.Release{v1, v2},
//					Live:     srv.LiveCommit,
//					Deploys:  srv.HookCalls,   // deployments started on the platform
//					Writes:   srv.Writes,      // requests that change something
//					Break:    srv.FailNext,    // make the platform refuse the next deploy
//				}
//			},
//		})
//	}
//
// The kit opens the deployer through the registry (so registration and
// strict configuration decoding are part of the contract) and checks that:
//
//   - an unknown configuration key is an error naming the key;
//   - deploying fills the Deployment (provider name, id, commit, times, and
//     the previous deployment when the deployer can roll back) and production
//     then serves the release;
//   - deploying the same release again (a resumed run does) succeeds,
//     leaves production as it is and starts no deployment on the platform
//     (counted by Platform.Deploys: runs dispatched, builds created, hook
//     calls, pushes made);
//   - a cancelled context is honoured promptly, before and (with
//     Platform.Stall) during a deploy, and the error wraps context.Canceled;
//   - a refused deploy (Platform.Break, required) is an error that carries
//     the platform's cause for errors.Is/As;
//   - a deployer that can roll back (shipprod.CanRollback: a wrapper's
//     Rollback counts only when the wrapped deployer has one) restores the
//     previous release, twice in a row without harm, and honours
//     cancellation;
//   - an ActionPlanner lists the same actions whether or not the release
//     commit is known yet (Plan runs before the commit exists, Run after) and
//     changes nothing while planning;
//   - a ProductionReader says what production runs before any deploy of the
//     kit and after each (the commit Platform.Live reports, and the
//     release's version and tag when it names them), and reading changes
//     nothing;
//   - a Preflighter's pre-flight passes on a healthy platform, before the
//     release commit exists and after, and changes nothing on the platform
//     (counted by Platform.Writes, and Platform.Deploys and Live); so does
//     a CandidateFinder's Candidate;
//   - no goroutine is left running after any of these;
//   - no secret (Platform.Secrets) appears in errors, deployments or logs.
//
// The kit counts goroutines process-wide, so do not call Run from parallel
// tests.
package providertest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"reflect"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shipprod/shipprod"
	"github.com/shipprod/shipprod/provider"
	"github.com/shipprod/shipprod/shipprodtest"
)

// Harness describes the deployer under test.
type Harness struct {
	// Name is the name the deployer is registered under.
	Name string
	// Setup prepares a fresh platform for one check and returns it; it runs
	// once per check. Release resources with t.Cleanup. clock is the clock the
	// kit gives the deployer: a fake server that computes times (rate-limit
	// resets) should read the same one.
	Setup func(t *testing.T, clock shipprod.Clock) *Platform
}

// Platform is one fresh deployment target: the deployer's configuration,
// and the hooks through which the kit observes and disturbs the platform.
type Platform struct {
	// Config is the deployer's configuration section as YAML: a block
	// mapping, or empty.
	Config string
	// Dir, Facts and Getenv are passed to the deployer in its provider.Env.
	Dir    string
	Facts  map[string]string
	Getenv func(string) string
	// HTTPClient is passed in the Env; nil means a client of the kit's own.
	// The kit closes its idle connections before counting goroutines.
	HTTPClient *http.Client

	// Releases are two releases, deployed in this order. Releases[1] must
	// name Releases[0] as its previous release (PreviousVersion, PreviousTag,
	// PreviousCommit) and both must have a Commit.
	Releases [2]shipprod.Release
	// Live returns the commit production serves now ("" for none).
	Live func(ctx context.Context) (string, error)
	// Deploys counts the deployments started on the platform so far: workflow
	// runs dispatched, builds created or promoted, hook calls, pushes that
	// moved a branch. Harnesses should set it: without it the kit cannot
	// tell that re-deploying a release that is already live starts nothing
	// (a second build, a second workflow run), only that production still
	// serves it. The count must grow when a deploy starts something.
	Deploys func() int
	// Writes counts the requests that could change something on the
	// platform so far (every API call but a GET, every push), whatever
	// their answer. With it the kit checks that a pre-flight, reading what
	// production runs and naming the candidate build change nothing;
	// without it, only that they start no deployment and leave production
	// as it is.
	Writes func() int

	// Stall, when set, makes the platform stop making progress: a deploy
	// started afterwards must keep waiting (on the clock or on the network)
	// until its context ends. Without it the kit checks cancellation only
	// before the deploy starts.
	Stall func()
	// Break makes the platform refuse the next deploy the way it really
	// refuses (a failed build, a rejected push, a revoked token). It returns
	// a function saying whether the deploy's error carries the cause in a
	// form errors.Is or errors.As finds (e.g. a *shipprod.PushRejectedError).
	// Both are required: the RefusedDeployIsAWrappedError check fails
	// without them, as every deployer must let its caller tell why a deploy
	// failed.
	Break func() func(error) bool

	// Secrets are values (tokens, passwords) that must never appear in an
	// error, a Deployment or a log line.
	Secrets []string
}

// Budgets of the kit, in real time.
const (
	// PromptReturn is how soon a deployer must return once its context ends.
	PromptReturn = 2 * time.Second
)

// promptReturn is PromptReturn (a variable so that the kit's own tests can
// shorten it).
var promptReturn = PromptReturn

// settleTime is how long goroutines get to finish before counting as
// leaked (a variable so that the kit's own tests can shorten it).
var settleTime = 3 * time.Second

// check is one conformance check. It returns nil when the deployer passes.
type check struct {
	name string
	// applies says whether the check applies to this deployer and platform.
	applies func(inst *instance) bool
	run     func(ctx context.Context, inst *instance) error
}

var checks = []check{
	{"UnknownConfigKeyIsAnError", nil, checkUnknownKey},
	{"DeployFillsDeployment", nil, checkDeploy},
	{"RedeployIsIdempotent", nil, checkRedeploy},
	{"CanceledBeforeDeploy", nil, checkCanceledBefore},
	{"CanceledDuringDeploy", func(i *instance) bool { return i.p.Stall != nil }, checkCanceledDuring},
	{"RefusedDeployIsAWrappedError", nil, checkBroken},
	{"RollbackRestoresPrevious", isRollbacker, checkRollback},
	{"RollbackHonoursCancel", isRollbacker, checkRollbackCanceled},
	{"PlanAgreesWithRun", isPlanner, checkPlan},
	{"ProductionIsReadAsDeployed", isProductionReader, checkProduction},
	{"PreflightChangesNothing", isPreflighter, checkPreflight},
}

// isRollbacker asks what the Pipeline asks: a wrapper's Rollback is used
// only when the deployer it wraps can roll back.
func isRollbacker(i *instance) bool { return shipprod.CanRollback(i.d) }
func isPlanner(i *instance) bool    { _, ok := i.d.(shipprod.ActionPlanner); return ok }
func isProductionReader(i *instance) bool {
	_, ok := shipprod.DeployerAs[shipprod.ProductionReader](i.d)
	return ok
}
func isPreflighter(i *instance) bool {
	_, pre := i.d.(shipprod.Preflighter)
	_, cand := shipprod.DeployerAs[shipprod.CandidateFinder](i.d)
	return pre || cand
}

// Run runs every conformance check that applies to the deployer, each as a
// subtest on a fresh platform.
func Run(t *testing.T, h Harness) {
	t.Helper()
	if h.Name == "" || h.Setup == nil {
		t.Fatal("providertest: Harness needs a Name and a Setup")
	}
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			if err := runCheck(t, h, c); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// errSkip marks a check that does not apply.
var errSkip = errors.New("does not apply")

// runCheck sets up a platform, opens the deployer, runs c, and then checks
// for leaked goroutines and secrets.
func runCheck(t *testing.T, h Harness, c check) error {
	clock := shipprod.Clock(shipprodtest.NewClock(time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)))
	if c.name == "CanceledDuringDeploy" {
		clock = stalledClock{}
	}
	inst, err := open(t, h, clock)
	if err != nil {
		return fmt.Errorf("opening deployer %q: %w", h.Name, err)
	}
	if c.applies != nil && !c.applies(inst) {
		t.Skipf("%s: %v", c.name, errSkip)
	}
	before := goroutineIDs()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := c.run(ctx, inst); err != nil {
		return err
	}
	if err := inst.noLeaks(before); err != nil {
		return err
	}
	return inst.noSecrets("logs", inst.logs.String())
}

// instance is a deployer opened on a platform.
type instance struct {
	t      *testing.T
	h      Harness
	p      *Platform
	d      shipprod.Deployer
	clock  shipprod.Clock
	client *http.Client
	logs   *shipprodtest.Buffer
}

// open sets up a platform and opens the deployer on it.
func open(t *testing.T, h Harness, clock shipprod.Clock) (*instance, error) {
	p := h.Setup(t, clock)
	if p == nil {
		return nil, errors.New("the Harness's Setup returned no Platform")
	}
	if p.Live == nil {
		return nil, errors.New("Platform.Live is required")
	}
	for i, r := range p.Releases {
		if r.Commit == "" || r.Version == "" {
			return nil, fmt.Errorf("Platform.Releases[%d] needs a Version and a Commit", i)
		}
	}
	inst := &instance{t: t, h: h, p: p, clock: clock, client: p.HTTPClient, logs: &shipprodtest.Buffer{}}
	if inst.client == nil {
		inst.client = &http.Client{Transport: &http.Transport{}}
	}
	d, err := inst.openDeployer("")
	if err != nil {
		return nil, err
	}
	inst.d = d
	return inst, nil
}

// openDeployer opens the deployer on the instance's platform, with
// extraConfig appended to the platform's configuration.
func (inst *instance) openDeployer(extraConfig string) (shipprod.Deployer, error) {
	p := inst.p
	cfg := p.Config
	if extraConfig != "" {
		if cfg != "" && !strings.HasSuffix(cfg, "\n") {
			cfg += "\n"
		}
		cfg += extraConfig
	}
	section, err := provider.ParseSection(cfg)
	if err != nil {
		return nil, fmt.Errorf("Platform.Config is not YAML: %w", err)
	}
	env := provider.Env{
		Config:     section,
		Dir:        p.Dir,
		Facts:      p.Facts,
		Clock:      inst.clock,
		Logger:     slog.New(slog.NewTextHandler(inst.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		HTTPClient: inst.client,
		Getenv:     p.Getenv,
	}
	if env.Getenv == nil {
		env.Getenv = func(string) string { return "" }
	}
	return provider.Open(context.Background(), inst.h.Name, env)
}

// deploys returns Platform.Deploys, or 0 without it.
func (inst *instance) deploys() int {
	if inst.p.Deploys == nil {
		return 0
	}
	return inst.p.Deploys()
}

func (inst *instance) live(ctx context.Context) (string, error) {
	c, err := inst.p.Live(ctx)
	if err != nil {
		return "", fmt.Errorf("Platform.Live: %w", err)
	}
	return c, nil
}

// wantLive checks that production serves commit.
func (inst *instance) wantLive(ctx context.Context, commit, after string) error {
	got, err := inst.live(ctx)
	if err != nil {
		return err
	}
	if got != commit {
		return fmt.Errorf("after %s production serves %q, want %q", after, got, commit)
	}
	return nil
}

// deploy runs Deploy and checks the Deployment it returns.
func (inst *instance) deploy(ctx context.Context, rel shipprod.Release) (shipprod.Deployment, error) {
	dep, err := inst.d.Deploy(ctx, rel)
	if err != nil {
		return dep, fmt.Errorf("Deploy(%s): %w", rel.Version, err)
	}
	if err := inst.wellFormed("Deploy("+rel.Version+")", dep, rel); err != nil {
		return dep, err
	}
	return dep, inst.wantLive(ctx, rel.Commit, "Deploy("+rel.Version+")")
}

// wellFormed checks the fields the Pipeline and the ship report rely on.
func (inst *instance) wellFormed(call string, dep shipprod.Deployment, rel shipprod.Release) error {
	var problems []string
	if dep.Provider != inst.h.Name {
		problems = append(problems, fmt.Sprintf("Provider is %q, want the registered name %q", dep.Provider, inst.h.Name))
	}
	if dep.ID == "" {
		problems = append(problems, "ID is empty")
	}
	if dep.Commit != rel.Commit {
		problems = append(problems, fmt.Sprintf("Commit is %q, want the release commit %q", dep.Commit, rel.Commit))
	}
	if dep.StartedAt.IsZero() || dep.FinishedAt.IsZero() || dep.FinishedAt.Before(dep.StartedAt) {
		problems = append(problems, fmt.Sprintf("StartedAt %v and FinishedAt %v are not an interval", dep.StartedAt, dep.FinishedAt))
	}
	if len(problems) > 0 {
		return fmt.Errorf("%s returned a Deployment with: %s", call, strings.Join(problems, "; "))
	}
	js, _ := json.Marshal(dep)
	return inst.noSecrets(call+" Deployment", string(js))
}

func (inst *instance) noSecrets(where, text string) error {
	for _, s := range inst.p.Secrets {
		if s != "" && strings.Contains(text, s) {
			return fmt.Errorf("a secret appears in %s", where)
		}
	}
	return nil
}

func (inst *instance) errNoSecrets(call string, err error) error {
	if err == nil {
		return nil
	}
	return inst.noSecrets(call+" error", err.Error())
}

func checkUnknownKey(ctx context.Context, inst *instance) error {
	_, err := inst.openDeployer("providertest_unknown_key: 1\n")
	if err == nil {
		return errors.New("an unknown key in the configuration section was accepted; decode it with Env.Decode (strict)")
	}
	if !strings.Contains(err.Error(), "providertest_unknown_key") {
		return fmt.Errorf("the error for an unknown configuration key does not name it: %v", err)
	}
	return nil
}

func checkDeploy(ctx context.Context, inst *instance) error {
	r0, r1 := inst.p.Releases[0], inst.p.Releases[1]
	if _, err := inst.deploy(ctx, r0); err != nil {
		return err
	}
	dep, err := inst.deploy(ctx, r1)
	if err != nil {
		return err
	}
	if isRollbacker(inst) && dep.PreviousID == "" {
		return errors.New("the second release's Deploy left PreviousID empty: a Rollbacker must say what production served before, the target of a rollback")
	}
	return nil
}

func checkRedeploy(ctx context.Context, inst *instance) error {
	r0, r1 := inst.p.Releases[0], inst.p.Releases[1]
	if _, err := inst.deploy(ctx, r0); err != nil {
		return err
	}
	if inst.p.Deploys == nil {
		inst.t.Log("Platform.Deploys is not set: the kit checks only that a re-deploy leaves production as it is, not that it starts no second deployment")
	} else if inst.deploys() == 0 {
		return fmt.Errorf("Platform.Deploys counted no deployment after Deploy(%s) made %s live; it must count what a deploy starts on the platform", r0.Version, r0.Commit)
	}
	first, err := inst.deploy(ctx, r1)
	if err != nil {
		return err
	}
	before := inst.deploys()
	again, err := inst.d.Deploy(ctx, r1)
	if started := inst.deploys() - before; started != 0 {
		return fmt.Errorf("re-deploying %s, which production already serves (a resumed run does this), started %d deployment(s) on the platform; find the live release and start nothing", r1.Version, started)
	}
	if err != nil {
		return fmt.Errorf("deploying %s a second time (a resumed run does this): %w", r1.Version, err)
	}
	if err := inst.wellFormed("Deploy("+r1.Version+") again", again, r1); err != nil {
		return err
	}
	if again.Commit != first.Commit {
		return fmt.Errorf("re-deploy changed the commit from %q to %q", first.Commit, again.Commit)
	}
	return inst.wantLive(ctx, r1.Commit, "re-deploying "+r1.Version)
}

func checkCanceledBefore(ctx context.Context, inst *instance) error {
	before, err := inst.live(ctx)
	if err != nil {
		return err
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	start := time.Now()
	_, err = inst.d.Deploy(cctx, inst.p.Releases[0])
	if took := time.Since(start); took > promptReturn {
		return fmt.Errorf("a Deploy with a cancelled context took %v, want under %v", took, promptReturn)
	}
	if !errors.Is(err, context.Canceled) {
		return fmt.Errorf("a Deploy with a cancelled context returned %v, want an error wrapping context.Canceled", err)
	}
	if err := inst.errNoSecrets("Deploy", err); err != nil {
		return err
	}
	return inst.wantLive(ctx, before, "a cancelled Deploy")
}

func checkCanceledDuring(ctx context.Context, inst *instance) error {
	inst.p.Stall()
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := inst.d.Deploy(cctx, inst.p.Releases[0])
		done <- err
	}()
	select {
	case err := <-done:
		return fmt.Errorf("a Deploy on a stalled platform returned before its context ended (err=%v); it must wait for the platform", err)
	case <-time.After(100 * time.Millisecond):
	}
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			return fmt.Errorf("a Deploy cancelled mid-way returned %v, want an error wrapping context.Canceled", err)
		}
		return inst.errNoSecrets("Deploy", err)
	case <-time.After(promptReturn):
		return fmt.Errorf("a Deploy did not return within %v of its context being cancelled", promptReturn)
	}
}

func checkBroken(ctx context.Context, inst *instance) error {
	if inst.p.Break == nil {
		return errors.New("Platform.Break is required: make the platform refuse the next deploy the way it really refuses, so that the kit can check the error carries the cause")
	}
	carries := inst.p.Break()
	if carries == nil {
		return errors.New("Platform.Break returned no cause to look for: return a function that tells, with errors.Is or errors.As, whether an error carries the platform's refusal")
	}
	_, err := inst.d.Deploy(ctx, inst.p.Releases[0])
	if err == nil {
		return errors.New("a Deploy on a platform that refuses it succeeded")
	}
	if strings.TrimSpace(err.Error()) == "" {
		return errors.New("the refused Deploy failed with an empty message")
	}
	if !carries(err) {
		return fmt.Errorf("the refused Deploy's error does not carry its cause for errors.Is/As (wrap with %%w): %v", err)
	}
	return inst.errNoSecrets("Deploy", err)
}

// deployBoth deploys the first release, then the second, and returns the
// second deployment: the one a rollback undoes.
func (inst *instance) deployBoth(ctx context.Context) (shipprod.Deployment, error) {
	if _, err := inst.deploy(ctx, inst.p.Releases[0]); err != nil {
		return shipprod.Deployment{}, err
	}
	return inst.deploy(ctx, inst.p.Releases[1])
}

func checkRollback(ctx context.Context, inst *instance) error {
	rb, _ := shipprod.DeployerAs[shipprod.Rollbacker](inst.d)
	r0, r1 := inst.p.Releases[0], inst.p.Releases[1]
	dep, err := inst.deployBoth(ctx)
	if err != nil {
		return err
	}
	to := r1.Previous()
	restored, err := rb.Rollback(ctx, dep, to)
	if err != nil {
		return fmt.Errorf("a Rollback to %s: %w", to.Version, err)
	}
	if err := inst.wellFormed("Rollback", restored, r0); err != nil {
		return err
	}
	if err := inst.wantLive(ctx, r0.Commit, "Rollback"); err != nil {
		return err
	}
	// A resumed run may ask again: it must not fail nor move production.
	if _, err := rb.Rollback(ctx, dep, to); err != nil {
		return fmt.Errorf("a second Rollback to %s (a resumed run does this): %w", to.Version, err)
	}
	return inst.wantLive(ctx, r0.Commit, "a second Rollback")
}

func checkRollbackCanceled(ctx context.Context, inst *instance) error {
	rb, _ := shipprod.DeployerAs[shipprod.Rollbacker](inst.d)
	r1 := inst.p.Releases[1]
	dep, err := inst.deployBoth(ctx)
	if err != nil {
		return err
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	start := time.Now()
	_, err = rb.Rollback(cctx, dep, r1.Previous())
	if took := time.Since(start); took > promptReturn {
		return fmt.Errorf("a Rollback with a cancelled context took %v", took)
	}
	if !errors.Is(err, context.Canceled) {
		return fmt.Errorf("a Rollback with a cancelled context returned %v, want an error wrapping context.Canceled", err)
	}
	return inst.wantLive(ctx, r1.Commit, "a cancelled Rollback")
}

// fullSHA matches a full git object name.
var fullSHA = regexp.MustCompile(`\b[0-9a-f]{40}\b`)

func checkPlan(ctx context.Context, inst *instance) error {
	ap := inst.d.(shipprod.ActionPlanner)
	before, err := inst.live(ctx)
	if err != nil {
		return err
	}
	for _, rel := range inst.p.Releases {
		// Plan runs before the release commit exists; Run calls PlanActions
		// again with it. Both must list the same actions.
		planned := rel
		planned.Commit, planned.PreviousCommit = "", ""
		atPlan, err := ap.PlanActions(ctx, planned)
		if err != nil {
			return fmt.Errorf("PlanActions(%s) without the commit (as Plan calls it): %w", rel.Version, err)
		}
		atRun, err := ap.PlanActions(ctx, rel)
		if err != nil {
			return fmt.Errorf("PlanActions(%s): %w", rel.Version, err)
		}
		if len(atRun) == 0 {
			return fmt.Errorf("PlanActions(%s) listed no actions", rel.Version)
		}
		if !reflect.DeepEqual(atPlan, atRun) {
			return fmt.Errorf("PlanActions(%s) differs once the commit is known:\n plan: %v\n run:  %v", rel.Version, atPlan, atRun)
		}
		for _, a := range atRun {
			if a.Kind == "" || a.Description == "" {
				return fmt.Errorf("PlanActions(%s): action %+v needs a Kind and a Description", rel.Version, a)
			}
			if fullSHA.MatchString(a.Description) || fullSHA.MatchString(a.Target) {
				return fmt.Errorf("PlanActions(%s): action %q names a commit SHA, which Plan cannot know", rel.Version, a.Description)
			}
			if err := inst.noSecrets("an action", a.Description+" "+a.Target); err != nil {
				return err
			}
		}
	}
	return inst.wantLive(ctx, before, "PlanActions (planning must change nothing)")
}

// noLeaks waits for the goroutines started since before to end.
func (inst *instance) noLeaks(before map[int]bool) error {
	inst.client.CloseIdleConnections()
	deadline := time.Now().Add(settleTime)
	for {
		leaked := newGoroutines(before)
		if len(leaked) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d goroutine(s) still running %v after the check:\n%s", len(leaked), settleTime, strings.Join(leaked, "\n\n"))
		}
		inst.client.CloseIdleConnections()
		time.Sleep(10 * time.Millisecond)
	}
}

// goroutineIDs returns the ids of the running goroutines.
func goroutineIDs() map[int]bool {
	ids := map[int]bool{}
	for id := range stacks() {
		ids[id] = true
	}
	return ids
}

// newGoroutines returns the stacks of goroutines not in before, leaving out
// the fake servers' own connection handlers, which end when their clients
// close (the kit closes its client's connections; a Platform's server closes
// at cleanup).
func newGoroutines(before map[int]bool) []string {
	var out []string
	for id, stack := range stacks() {
		if before[id] || strings.Contains(stack, "net/http.(*conn).serve") || strings.Contains(stack, "net/http/httptest.(*Server).goServe") {
			continue
		}
		out = append(out, stack)
	}
	slices.Sort(out)
	return out
}

var goroutineHeader = regexp.MustCompile(`^goroutine (\d+) `)

func stacks() map[int]string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	out := map[int]string{}
	for _, g := range strings.Split(string(buf), "\n\n") {
		m := goroutineHeader.FindStringSubmatch(g)
		if m == nil {
			continue
		}
		var id int
		fmt.Sscan(m[1], &id)
		out[id] = g
	}
	return out
}

// stalledClock is a clock on which no time passes: Sleep waits until the
// context ends. A deployer polling a stalled platform therefore waits until
// it is cancelled.
type stalledClock struct{}

func (stalledClock) Now() time.Time { return time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC) }

func (stalledClock) Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	<-ctx.Done()
	return ctx.Err()
}

// footprint is what a read-only call must leave as it was.
type footprint struct {
	writes, deploys int
	live            string
}

func (inst *instance) footprint(ctx context.Context) (footprint, error) {
	fp := footprint{deploys: inst.deploys()}
	if inst.p.Writes != nil {
		fp.writes = inst.p.Writes()
	}
	var err error
	fp.live, err = inst.live(ctx)
	return fp, err
}

// unchanged checks that call left the platform as before.
func (inst *instance) unchanged(ctx context.Context, before footprint, call string) error {
	after, err := inst.footprint(ctx)
	if err != nil {
		return err
	}
	switch {
	case after.writes != before.writes:
		return fmt.Errorf("%s made %d write(s) on the platform (Platform.Writes); it must only read", call, after.writes-before.writes)
	case after.deploys != before.deploys:
		return fmt.Errorf("%s started %d deployment(s) on the platform", call, after.deploys-before.deploys)
	case after.live != before.live:
		return fmt.Errorf("%s changed what production serves from %q to %q", call, before.live, after.live)
	}
	return nil
}

// production calls Production and checks that it says production serves
// want (a commit, or nothing) and names rel when it names a release.
func (inst *instance) production(ctx context.Context, pr shipprod.ProductionReader, want string, rel *shipprod.Release, after string) error {
	before, err := inst.footprint(ctx)
	if err != nil {
		return err
	}
	cur, err := pr.Production(ctx)
	if err != nil {
		return fmt.Errorf("Production() %s: %w", after, err)
	}
	if err := inst.unchanged(ctx, before, "Production()"); err != nil {
		return err
	}
	switch {
	case want == "" && (cur.ID != "" || cur.Commit != ""):
		return fmt.Errorf("Production() %s, when production serves nothing, returned deployment %q of commit %q; want an empty Deployment", after, cur.ID, cur.Commit)
	case want != "" && cur.Commit != want:
		return fmt.Errorf("Production() %s says production runs commit %q; Platform.Live says %q", after, cur.Commit, want)
	case want != "" && cur.ID == "":
		return fmt.Errorf("Production() %s names no deployment ID", after)
	case rel != nil && cur.Version != "" && cur.Version != rel.Version:
		return fmt.Errorf("Production() %s names version %q, want %q", after, cur.Version, rel.Version)
	case rel != nil && cur.Tag != "" && cur.Tag != rel.Tag:
		return fmt.Errorf("Production() %s names tag %q, want %q", after, cur.Tag, rel.Tag)
	}
	js, _ := json.Marshal(cur)
	return inst.noSecrets("Production()", string(js))
}

func checkProduction(ctx context.Context, inst *instance) error {
	pr, _ := shipprod.DeployerAs[shipprod.ProductionReader](inst.d)
	live, err := inst.live(ctx)
	if err != nil {
		return err
	}
	if err := inst.production(ctx, pr, live, nil, "before any deploy"); err != nil {
		return err
	}
	for _, rel := range inst.p.Releases {
		if _, err := inst.deploy(ctx, rel); err != nil {
			return err
		}
		if err := inst.production(ctx, pr, rel.Commit, &rel, "after Deploy("+rel.Version+")"); err != nil {
			return err
		}
	}
	return nil
}

func checkPreflight(ctx context.Context, inst *instance) error {
	if inst.p.Writes == nil {
		inst.t.Log("Platform.Writes is not set: the kit checks only that the pre-flight starts no deployment and leaves production as it is, not that it writes nothing")
	}
	for _, rel := range inst.p.Releases {
		// At the pre-flight the release commit does not exist yet: the
		// release is decided at a commit (Base) the version commit will
		// follow. A resumed run's pre-flight knows the commit.
		decided := rel
		decided.Commit, decided.Base = "", rel.Commit
		for _, r := range []shipprod.Release{decided, rel} {
			if err := inst.preflightOnce(ctx, r); err != nil {
				return err
			}
		}
	}
	return nil
}

func (inst *instance) preflightOnce(ctx context.Context, rel shipprod.Release) error {
	call := fmt.Sprintf("Preflight(%s, commit %q)", rel.Version, rel.Commit)
	before, err := inst.footprint(ctx)
	if err != nil {
		return err
	}
	if p, ok := inst.d.(shipprod.Preflighter); ok {
		if err := p.Preflight(ctx, rel); err != nil {
			return fmt.Errorf("%s on a healthy platform: %w", call, err)
		}
		if err := inst.unchanged(ctx, before, call); err != nil {
			return err
		}
	}
	if cf, ok := shipprod.DeployerAs[shipprod.CandidateFinder](inst.d); ok {
		call = fmt.Sprintf("Candidate(%s, commit %q)", rel.Version, rel.Commit)
		if _, err := cf.Candidate(ctx, rel); err != nil {
			return fmt.Errorf("%s on a healthy platform: %w", call, err)
		}
		if err := inst.unchanged(ctx, before, call); err != nil {
			return err
		}
	}
	return nil
}
