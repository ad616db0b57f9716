package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shipprod/shipprod"
	"github.com/shipprod/shipprod/health/prometheus/promtest"
	"github.com/shipprod/shipprod/provider/vercel/vercelfake"
	"github.com/shipprod/shipprod/report"
)

// The demo project shipped to a fake Vercel whose project has Rolling
// Releases: the release goes to 5%, then 25%, then 100% of production
// traffic, each stage watched by a compare: canary gate reading a fake
// Prometheus, which reports the error ratio each deployment served.

const (
	rrToken   = "vcp_rolling-test-token"
	rrProject = "prj_demo"
	rrOld     = "dpl_v120" // production before the release
	rrNew     = "dpl_v130" // the staging build of the release: the canary
)

// splitProduction is "production": a loopback server that routes each
// request to a deployment by the fake Vercel's split (every request whose
// rank falls in the canary's share goes to the canary), answers with that
// deployment's version, and remembers the outcome of each checkout request
// per deployment, for the fake Prometheus.
type splitProduction struct {
	URL      string
	api      *vercelfake.Server
	versions map[string]string
	// failing says whether a deployment fails its checkout requests while
	// it serves share percent of the traffic.
	failing func(dep string, share int) bool
	n       atomic.Int64

	mu       sync.Mutex
	outcomes map[string][]bool // per deployment, the latest checkout requests: true = 5xx
}

func startSplitProduction(t *testing.T, api *vercelfake.Server, failing func(string, int) bool) *splitProduction {
	sp := &splitProduction{api: api, versions: map[string]string{rrOld: "1.2.0", rrNew: "1.3.0"}, failing: failing, outcomes: map[string][]bool{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, r *http.Request) {
		dep, _ := sp.route()
		w.Header().Set("Content-Type", "application/health+json")
		json.NewEncoder(w).Encode(map[string]any{"status": "pass", "version": sp.versions[dep]})
	})
	mux.HandleFunc("GET /api/version", func(w http.ResponseWriter, r *http.Request) {
		dep, _ := sp.route()
		w.Header().Set("X-Deployment", dep)
		json.NewEncoder(w).Encode(map[string]string{"version": sp.versions[dep]})
	})
	mux.HandleFunc("GET /api/checkout", func(w http.ResponseWriter, r *http.Request) {
		dep, share := sp.route()
		failed := sp.failing != nil && sp.failing(dep, share)
		sp.mu.Lock()
		o := append(sp.outcomes[dep], failed)
		sp.outcomes[dep] = o[max(0, len(o)-50):]
		sp.mu.Unlock()
		w.Header().Set("X-Deployment", dep)
		if failed {
			http.Error(w, "checkout failed", http.StatusInternalServerError)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	sp.URL = srv.URL
	return sp
}

// route picks the deployment that serves the next request, and its share.
func (sp *splitProduction) route() (string, int) {
	s := sp.api.Traffic(rrProject)
	n := sp.n.Add(1)
	if pct := int64(s.CanaryPercent); s.Canary != "" && n*pct/100 > (n-1)*pct/100 {
		return s.Canary, s.CanaryPercent
	}
	return s.Production, 100 - s.CanaryPercent
}

// errorRatio is the share of a deployment's latest checkout requests that
// failed (false when it served none).
func (sp *splitProduction) errorRatio(dep string) (float64, bool) {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	o := sp.outcomes[dep]
	if len(o) == 0 {
		return 0, false
	}
	failed := 0
	for _, f := range o {
		if f {
			failed++
		}
	}
	return float64(failed) / float64(len(o)), true
}

// servedVersions asks production n times which version it serves.
func (sp *splitProduction) servedVersions(t *testing.T, n int) map[string]int {
	t.Helper()
	out := map[string]int{}
	for range n {
		resp, err := http.Get(sp.URL + "/api/version")
		require.NoError(t, err)
		var v struct{ Version string }
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&v))
		resp.Body.Close()
		out[v.Version]++
	}
	return out
}

// generateTraffic sends checkout requests to production, one a
// millisecond, until the test ends: the users the canary is measured on.
func (sp *splitProduction) generateTraffic(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	t.Cleanup(func() { cancel(); <-done })
	go func() {
		defer close(done)
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, sp.URL+"/api/checkout", nil)
			if resp, err := http.DefaultClient.Do(req); err == nil {
				resp.Body.Close()
			}
		}
	}()
}

// rollingSetup is the demo project shipping to the fake Vercel.
type rollingSetup struct {
	p    *project
	api  *vercelfake.Server
	prom *promtest.Server
	prod *splitProduction
}

const rollingConfig = `version:
  files: [package.json, VERSION]
  changelog: CHANGELOG.md
git:
  remote: origin
  branch: main
deploy:
  provider: vercel
  vercel:
    project: demo-app
    api_url: VERCEL_URL
    url: PROD_URL
    poll_interval: 10ms
    timeout: 30s
EXTRA
health:
  base_url: PROD_URL
  timeout: 2s
  checks:
    - name: health
      http: /health
      expect_status: 200
rollout:
  stages:
    - {percent: 5, watch: 300ms}
    - {percent: 25, watch: 300ms}
    - {percent: 100}
monitor:
  interval: 20ms
  prometheus: {url: PROM_URL}
  gates:
    - name: checkout-errors
      query: checkout_error_ratio{deployment="{{.Deployment.ID}}"}
      compare: canary
      unit: ratio
      critical: true
      judge: {min_effect: 0.01}
`

// newRollingSetup makes the demo project ship with the vercel deployer to
// a fake Vercel project whose production runs v1.2.0 (rrOld) and whose
// staging build of the release commit (rrNew) is READY. project says how
// the project's rolling releases are configured; extra is added to the
// vercel section.
func newRollingSetup(t *testing.T, project *vercelfake.RollingReleaseConfig, extra string, failing func(string, int) bool) *rollingSetup {
	t.Helper()
	t.Setenv("VERCEL_TOKEN", rrToken)
	t.Setenv("VERCEL_ORG_ID", "")
	t.Setenv("VERCEL_PROJECT_ID", "")
	s := &rollingSetup{p: newProject(t), api: vercelfake.New(t, vercelfake.Options{Token: rrToken}), prom: promtest.NewServer(t)}
	s.api.AddProject(vercelfake.Project{ID: rrProject, Name: "demo-app", Domains: []string{"demo.example.com"}})
	s.prod = startSplitProduction(t, s.api, failing)
	cfg := strings.NewReplacer("VERCEL_URL", s.api.URL, "PROD_URL", s.prod.URL, "PROM_URL", s.prom.URL, "EXTRA\n", extra).Replace(rollingConfig)
	s.p.edit("shipprod.yaml", func(string) string { return cfg })
	old := s.p.git(s.p.local, "rev-parse", "v1.2.0^{commit}")
	s.api.AddDeployment(vercelfake.Deployment{ID: rrOld, ProjectID: rrProject, Target: "production", SHA: old, Ref: "v1.2.0", Promoted: true,
		Meta: map[string]string{"shipprodVersion": "1.2.0", "shipprodTag": "v1.2.0"}})
	// Staging validated a production build of the commit the release is
	// decided at, left staged (vercel --prod --skip-domain).
	head := s.p.git(s.p.local, "rev-parse", "HEAD")
	s.api.AddDeployment(vercelfake.Deployment{ID: rrNew, ProjectID: rrProject, Target: "production", SHA: head, Ref: "main"})
	if project != nil {
		s.api.SetRollingRelease(rrProject, *project)
	}
	for _, dep := range []string{rrOld, rrNew} {
		s.prom.SetFunc(`checkout_error_ratio{deployment="`+dep+`"}`, func(int) promtest.Response {
			if r, ok := s.prod.errorRatio(dep); ok {
				return promtest.Vector(r)
			}
			return promtest.Empty()
		})
	}
	s.prod.generateTraffic(t)
	return s
}

func manualStages(percents ...int) *vercelfake.RollingReleaseConfig {
	c := &vercelfake.RollingReleaseConfig{Enabled: true, AdvancementType: vercelfake.AdvanceManual}
	for _, p := range percents {
		c.Stages = append(c.Stages, vercelfake.Stage{TargetPercentage: p})
	}
	return c
}

// history is the fake's split history, as "ACTIVE 5%, …".
func (s *rollingSetup) history() string {
	var out []string
	for _, sp := range s.api.TrafficHistory(rrProject) {
		out = append(out, fmt.Sprintf("%s %d%%", sp.State, sp.CanaryPercent))
	}
	return strings.Join(out, ", ")
}

// run runs the CLI in the project with the deployer metered.
func (s *rollingSetup) run(m *meter, args ...string) (int, string, string) {
	var out, errOut bytes.Buffer
	app := &App{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errOut}
	if m != nil {
		app.Configure = func(p *shipprod.Pipeline, _ *Config) error {
			m.Deployer = p.Deployer
			p.Deployer = m
			return nil
		}
	}
	code := app.Run(context.Background(), append([]string{args[0], "--dir", s.p.work}, args[1:]...))
	return code, out.String(), errOut.String()
}

func (s *rollingSetup) readReport(t *testing.T) report.Document {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(s.p.work, "specs", demoFeature, "production-ship-report.json"))
	require.NoError(t, err)
	var doc report.Document
	require.NoError(t, json.Unmarshal(raw, &doc))
	return doc
}

func TestRollingReleaseMovesThroughItsStagesAndCompletes(t *testing.T) {
	endToEnd(t)
	// The project has no rolling releases yet: shipprod configures them.
	s := newRollingSetup(t, nil, "    rolling_release: {configure: true}\n", nil)
	code, out, errOut := s.run(nil, "plan")
	require.Equal(t, ExitOK, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
	assert.Contains(t, out, "configure Vercel project demo-app's rolling releases as shipprod drives them, if they differ: manual approval, stages 5%, 25%, 100%")
	assert.Contains(t, out, "wait until its Vercel rolling release has started: 5% of production traffic on it")
	assert.Zero(t, s.api.Writes(), "plan changed nothing at Vercel")

	m := newMeter(s.api)
	code, out, errOut = s.run(m, "ship", "--yes")
	require.Equal(t, ExitOK, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
	for _, line := range []string{"Deploying v1.3.0 to production... ✅", "Rolling v1.3.0 out in stages... ✅", "✅ Shipped v1.3.0 to production with vercel"} {
		assert.Contains(t, out, line)
	}
	assert.Equal(t, *manualStages(5, 25, 100), *s.api.RollingRelease(rrProject), "the project was configured as the rollout drives it")
	assert.Equal(t, "ACTIVE 5%, ACTIVE 25%, COMPLETE 0%", s.history())
	assert.Equal(t, rrNew, s.api.Production(rrProject), "production is on the release")
	assert.Equal(t, map[string]int{"1.3.0": 40}, s.prod.servedVersions(t, 40))

	doc := s.readReport(t)
	assert.Equal(t, "shipped", doc.Outcome)
	require.NotNil(t, doc.Deployment)
	assert.Equal(t, rrNew, doc.Deployment.ID)
	assert.Equal(t, rrOld, doc.Deployment.PreviousID)
	assert.Equal(t, "5", doc.Deployment.Details["traffic_percent"], "the deploy did not claim all traffic")
	m.log(t)
	assert.Equal(t, 1, m.count("ShiftTraffic 25%", "POST /v1/projects/prj_demo/rolling-release/approve-stage"))
	assert.Equal(t, 0, m.count("ShiftTraffic 5%", "POST "), "the promote started the release at 5%")
	assert.Equal(t, 1, m.count("CompleteRollout", "POST /v1/projects/prj_demo/rolling-release/complete"))
	assert.Equal(t, 1, m.count("Deploy", "PATCH /v1/projects/prj_demo/rolling-release/config"))
}

func TestRollingReleaseWhoseErrorsRiseIsAbortedAtThatStage(t *testing.T) {
	endToEnd(t)
	// The release's checkout fails under load: from 25% of the traffic on.
	failing := func(dep string, share int) bool { return dep == rrNew && share >= 25 }
	s := newRollingSetup(t, manualStages(5, 25, 100), "", failing)
	m := newMeter(s.api)
	code, out, errOut := s.run(m, "ship", "--yes")
	require.Equal(t, ExitUnhealthy, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
	assert.Contains(t, out, "Rolling v1.3.0 out in stages... ❌")
	assert.Contains(t, errOut, "stage 2 of 3 (25% of traffic) failed")
	assert.Contains(t, errOut, "checkout-errors")
	assert.Equal(t, "ACTIVE 5%, ACTIVE 25%, ABORTED 0%", s.history(), "aborted at 25%, never sent further")
	assert.Equal(t, rrOld, s.api.Production(rrProject))
	assert.Equal(t, map[string]int{"1.2.0": 40}, s.prod.servedVersions(t, 40), "production is back on the previous release")
	assert.NotNil(t, s.api.RollingRelease(rrProject), "the project keeps its rolling release configuration")

	doc := s.readReport(t)
	assert.Equal(t, "rolled-back", doc.Outcome)
	require.NotNil(t, doc.Rollback)
	require.NotNil(t, doc.Rollback.Health)
	assert.True(t, doc.Rollback.Health.Passed, "the restored release was checked")
	m.log(t)
	assert.Equal(t, 1, m.count("AbortRollout", "POST /v1/projects/prj_demo/rollback/"+rrOld))
	assert.Zero(t, m.count("CompleteRollout", ""))
}

func TestRollingReleaseKilledDuringAStageResumesAtThatStage(t *testing.T) {
	endToEnd(t)
	s := newRollingSetup(t, manualStages(5, 25, 100), "", nil)
	// Run the built binary, and kill it (SIGKILL: no journal written on the
	// way out) once it reports the second stage.
	cmd := exec.Command(reference.binary(t), "ship", "--yes", "--json", "--dir", s.p.work)
	cmd.Env = os.Environ()
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	killed := false
	for sc.Scan() {
		if strings.Contains(sc.Text(), `"message":"stage 2 of 3: 25% of production traffic on v1.3.0"`) {
			require.NoError(t, cmd.Process.Kill())
			killed = true
			break
		}
	}
	_ = cmd.Wait()
	require.True(t, killed, "the run never reported stage 2; stderr:\n%s", stderr.String())
	assert.Equal(t, "ACTIVE 5%, ACTIVE 25%", s.history())

	// status says where the killed run got to.
	code, out, errOut := s.run(nil, "status")
	require.Equal(t, ExitOK, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
	assert.Contains(t, out, "rollout stage 2 of 3 reached (25% of traffic), in progress")
	code, out, _ = s.run(nil, "status", "--json")
	require.Equal(t, ExitOK, code)
	var st JSONStatus
	require.NoError(t, json.Unmarshal([]byte(out), &st))
	require.NotNil(t, st.LastRun)
	require.NotNil(t, st.LastRun.Rollout)
	assert.Equal(t, 1, st.LastRun.Rollout.Current)
	assert.Equal(t, 3, st.LastRun.Rollout.Total)
	assert.Equal(t, []int{5, 25}, []int{st.LastRun.Rollout.Stages[0].Percent, st.LastRun.Rollout.Stages[1].Percent})

	s.api.ResetRequests()
	m := newMeter(s.api)
	code, out, errOut = s.run(m, "ship", "--yes")
	require.Equal(t, ExitOK, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
	assert.Contains(t, out, "✅ Shipped v1.3.0 to production with vercel")
	assert.Equal(t, "ACTIVE 5%, ACTIVE 25%, COMPLETE 0%", s.history(), "it went on at 25%: never restarted, never higher")
	assert.Equal(t, rrNew, s.api.Production(rrProject))
	m.log(t)
	assert.Equal(t, []string{"Preflight", "ShiftTraffic 25%", "CompleteRollout"}, m.calls(), "no second deploy, no stage 1")
	assert.Zero(t, m.count("ShiftTraffic 25%", "POST "), "25% was approved before the kill")
	assert.Equal(t, "shipped", s.readReport(t).Outcome)
}

// A project whose rolling releases advance on their own, or through other
// stages, is refused before anything changes, with the fix.
func TestRollingReleasePreflightRefusesWhatShipprodCannotDrive(t *testing.T) {
	endToEnd(t)
	for _, tt := range []struct {
		name    string
		project *vercelfake.RollingReleaseConfig
		want    string
	}{
		{"other stages", manualStages(10, 50, 100), "rollout.stages (5%, 25%, 100%) do not match the stages of vercel project demo-app's rolling releases (10%, 50%, 100%)"},
		{"automatic", &vercelfake.RollingReleaseConfig{Enabled: true, AdvancementType: "automatic",
			Stages: []vercelfake.Stage{{TargetPercentage: 5, Duration: 5}, {TargetPercentage: 25, Duration: 5}, {TargetPercentage: 100}}},
			"rolling releases advance automatic: Vercel would move to the next stage on its own"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := newRollingSetup(t, tt.project, "", nil)
			before := s.p.snapshot()
			code, out, errOut := s.run(nil, "ship", "--yes")
			require.Equal(t, ExitUsage, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
			assert.Contains(t, errOut, tt.want)
			assert.Contains(t, errOut, "rolling_release.configure: true")
			assert.Equal(t, before, s.p.snapshot(), "no commit, tag or push")
			assert.Zero(t, s.api.Writes(), "nothing changed at Vercel")
		})
	}
}

// meter wraps the deployer to count the Vercel API requests each of its
// calls makes.
type meter struct {
	shipprod.Deployer
	api *vercelfake.Server

	mu     sync.Mutex
	phases []meterPhase
}

type meterPhase struct {
	name string
	reqs []string
}

func newMeter(api *vercelfake.Server) *meter { return &meter{api: api} }

func (m *meter) Unwrap() shipprod.Deployer { return m.Deployer }

func (m *meter) measure(name string, f func() error) error {
	before := len(m.api.Requests())
	err := f()
	reqs := m.api.Requests()[before:]
	m.mu.Lock()
	m.phases = append(m.phases, meterPhase{name, reqs})
	m.mu.Unlock()
	return err
}

func (m *meter) calls() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	for _, p := range m.phases {
		out = append(out, p.name)
	}
	return out
}

// count counts the requests of the calls named name that start with
// prefix.
func (m *meter) count(name, prefix string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, p := range m.phases {
		for _, r := range p.reqs {
			if p.name == name && strings.HasPrefix(r, prefix) {
				n++
			}
		}
	}
	return n
}

func (m *meter) log(t *testing.T) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, p := range m.phases {
		t.Logf("%-18s %d requests: %s", p.name, len(p.reqs), strings.Join(p.reqs, ", "))
	}
}

func (m *meter) Deploy(ctx context.Context, rel shipprod.Release) (dep shipprod.Deployment, err error) {
	err = m.measure("Deploy", func() error { dep, err = m.Deployer.Deploy(ctx, rel); return err })
	return dep, err
}

func (m *meter) Preflight(ctx context.Context, rel shipprod.Release) error {
	return m.measure("Preflight", func() error { return m.Deployer.(shipprod.Preflighter).Preflight(ctx, rel) })
}

func (m *meter) PlanActions(ctx context.Context, rel shipprod.Release) ([]shipprod.Action, error) {
	return m.Deployer.(shipprod.ActionPlanner).PlanActions(ctx, rel)
}

func (m *meter) Production(ctx context.Context) (dep shipprod.Deployment, err error) {
	pr, _ := shipprod.DeployerAs[shipprod.ProductionReader](m.Deployer)
	err = m.measure("Production", func() error { dep, err = pr.Production(ctx); return err })
	return dep, err
}

func (m *meter) Candidate(ctx context.Context, rel shipprod.Release) (dep shipprod.Deployment, err error) {
	cf, _ := shipprod.DeployerAs[shipprod.CandidateFinder](m.Deployer)
	err = m.measure("Candidate", func() error { dep, err = cf.Candidate(ctx, rel); return err })
	return dep, err
}

func (m *meter) shifter() shipprod.TrafficShifter {
	sh, _ := shipprod.DeployerAs[shipprod.TrafficShifter](m.Deployer)
	return sh
}

func (m *meter) Traffic(ctx context.Context, dep shipprod.Deployment) (p int, err error) {
	err = m.measure("Traffic", func() error { p, err = m.shifter().Traffic(ctx, dep); return err })
	return p, err
}

func (m *meter) ShiftTraffic(ctx context.Context, dep shipprod.Deployment, percent int) error {
	return m.measure(fmt.Sprintf("ShiftTraffic %d%%", percent), func() error { return m.shifter().ShiftTraffic(ctx, dep, percent) })
}

func (m *meter) CompleteRollout(ctx context.Context, dep shipprod.Deployment) error {
	return m.measure("CompleteRollout", func() error { return m.shifter().CompleteRollout(ctx, dep) })
}

func (m *meter) AbortRollout(ctx context.Context, dep shipprod.Deployment) error {
	return m.measure("AbortRollout", func() error { return m.shifter().AbortRollout(ctx, dep) })
}

func (m *meter) Rollback(ctx context.Context, failed shipprod.Deployment, to shipprod.Release) (dep shipprod.Deployment, err error) {
	rb, _ := shipprod.DeployerAs[shipprod.Rollbacker](m.Deployer)
	err = m.measure("Rollback", func() error { dep, err = rb.Rollback(ctx, failed, to); return err })
	return dep, err
}

func (m *meter) Follow(ctx context.Context, accepted shipprod.Deployment, rel shipprod.Release) (dep shipprod.Deployment, err error) {
	f, _ := shipprod.DeployerAs[shipprod.Follower](m.Deployer)
	err = m.measure("Follow", func() error { dep, err = f.Follow(ctx, accepted, rel); return err })
	return dep, err
}
