package vercel_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shipprod/shipprod"
	"github.com/shipprod/shipprod/provider/vercel"
	"github.com/shipprod/shipprod/provider/vercel/vercelfake"
)

// stages is the rollout the tests drive: 5%, 25%, 100%.
var stages = &shipprod.Rollout{Stages: []shipprod.RolloutStage{{Percent: 5, Watch: time.Minute}, {Percent: 25, Watch: time.Minute}, {Percent: 100}}}

func manual(percents ...int) vercelfake.RollingReleaseConfig {
	c := vercelfake.RollingReleaseConfig{Enabled: true, AdvancementType: vercelfake.AdvanceManual}
	for _, p := range percents {
		c.Stages = append(c.Stages, vercelfake.Stage{TargetPercentage: p})
	}
	return c
}

// rollingFixture is the fixture with rolling releases configured as
// shipprod drives them, a staged production deployment of sha1 to promote
// and a deployer told the rollout.
func rollingFixture(t *testing.T, cfg vercel.Config) (*fixture, *vercel.Deployer, string) {
	f := newFixture(t)
	f.srv.SetRollingRelease("prj_web", manual(5, 25, 100))
	staged := f.srv.AddDeployment(vercelfake.Deployment{ProjectID: "prj_web", Target: "production", SHA: sha1, Ref: "main"})
	d := f.deployer(cfg, map[string]string{vercel.FactStagingDeploymentID: staged})
	d.UseRollout(stages)
	f.srv.ResetRequests()
	return f, d, staged
}

func shares(f *fixture) string {
	var out []string
	for _, s := range f.srv.TrafficHistory("prj_web") {
		out = append(out, fmt.Sprintf("%s %d%%", s.State, s.CanaryPercent))
	}
	return strings.Join(out, ", ")
}

// A promote on a project with rolling releases starts one: the Deployment
// is the canary at 5%, production stays on the current deployment until
// the last stage.
func TestRollingReleaseMovesStageByStage(t *testing.T) {
	f, d, staged := rollingFixture(t, vercel.Config{URL: "https://www.example.com"})
	ctx := context.Background()
	require.NoError(t, d.Preflight(ctx, rel("1.1.0", sha1, "1.0.0", sha0)))
	assert.Equal(t, []string{"GET /v9/projects/web", "GET /v1/projects/prj_web/rolling-release/config", "GET /v1/projects/prj_web/rolling-release"},
		f.srv.Requests(), "the pre-flight reads the project, the configuration and the release in flight")
	assert.Zero(t, f.srv.Writes())

	f.srv.ResetRequests()
	dep, err := d.Deploy(ctx, rel("1.1.0", sha1, "1.0.0", sha0))
	require.NoError(t, err)
	assert.Equal(t, staged, dep.ID)
	assert.Equal(t, f.prod0, dep.PreviousID)
	assert.Equal(t, "5", dep.Details["traffic_percent"], "the deployment says its share; it does not claim all traffic")
	assert.Contains(t, dep.Details["rolling_release"], "stage 1 of 3 (5%): 5% of production traffic, the rest on "+f.prod0)
	assert.Equal(t, f.prod0, f.srv.Production("prj_web"), "production moves only when the release completes")
	assert.Equal(t, []string{"GET /v9/projects/web", "GET /v1/projects/prj_web/rolling-release/config", "GET /v1/projects/prj_web/rolling-release",
		"GET /v13/deployments/" + staged, "POST /v10/projects/prj_web/promote/" + staged, "GET /v1/projects/prj_web/rolling-release",
	}, f.srv.Requests())

	share, err := d.Traffic(ctx, dep)
	require.NoError(t, err)
	assert.Equal(t, 5, share)

	f.srv.ResetRequests()
	require.NoError(t, d.ShiftTraffic(ctx, dep, 5), "the share it serves already")
	assert.Equal(t, []string{"GET /v1/projects/prj_web/rolling-release"}, f.srv.Requests())
	f.srv.ResetRequests()
	require.NoError(t, d.ShiftTraffic(ctx, dep, 25))
	assert.Equal(t, []string{"GET /v1/projects/prj_web/rolling-release", "POST /v1/projects/prj_web/rolling-release/approve-stage"}, f.srv.Requests())
	assert.Equal(t, vercelfake.Split{Production: f.prod0, Canary: staged, CanaryPercent: 25, State: "ACTIVE"}, f.srv.Traffic("prj_web"))

	err = d.ShiftTraffic(ctx, dep, 5)
	require.Error(t, err, "a share never goes down but by an abort")
	assert.Contains(t, err.Error(), "at stage 2 of 3 (25%) already, above 5%")

	f.srv.ResetRequests()
	require.NoError(t, d.CompleteRollout(ctx, dep))
	assert.Equal(t, []string{"GET /v1/projects/prj_web/rolling-release", "POST /v1/projects/prj_web/rolling-release/complete"}, f.srv.Requests())
	assert.Equal(t, staged, f.srv.Production("prj_web"))
	require.NoError(t, d.CompleteRollout(ctx, dep), "completing a complete release changes nothing")
	share, err = d.Traffic(ctx, dep)
	require.NoError(t, err)
	assert.Equal(t, 100, share)
	assert.Equal(t, "ACTIVE 5%, ACTIVE 25%, COMPLETE 0%", shares(f))
}

func TestAbortRolloutSendsTrafficBackToTheCurrentDeployment(t *testing.T) {
	f, d, staged := rollingFixture(t, vercel.Config{})
	ctx := context.Background()
	dep, err := d.Deploy(ctx, rel("1.1.0", sha1, "1.0.0", sha0))
	require.NoError(t, err)
	require.NoError(t, d.ShiftTraffic(ctx, dep, 25))

	f.srv.ResetRequests()
	require.NoError(t, d.AbortRollout(ctx, dep))
	assert.Equal(t, vercelfake.Split{Production: f.prod0, State: "ABORTED"}, f.srv.Traffic("prj_web"))
	assert.Equal(t, "POST /v1/projects/prj_web/rollback/"+f.prod0, f.srv.Requests()[1], "an instant rollback to the current deployment aborts the release")
	assert.NotNil(t, f.srv.RollingRelease("prj_web"), "the project stays configured")
	share, err := d.Traffic(ctx, dep)
	require.NoError(t, err)
	assert.Zero(t, share)
	require.NoError(t, d.AbortRollout(ctx, dep), "aborting an aborted release changes nothing")
	d2, ok := f.srv.Deployment(staged)
	require.True(t, ok)
	assert.Equal(t, "STAGED", d2.Substate)
	assert.Equal(t, "ACTIVE 5%, ACTIVE 25%, ABORTED 0%", shares(f))
}

// An approval whose answer was lost is sent again; Vercel refuses it (the
// stage moved), and reading the release again shows it took effect.
func TestShiftTrafficWhenTheStageMovedMeanwhile(t *testing.T) {
	f, d, _ := rollingFixture(t, vercel.Config{})
	ctx := context.Background()
	dep, err := d.Deploy(ctx, rel("1.1.0", sha1, "1.0.0", sha0))
	require.NoError(t, err)
	f.srv.Inject(vercelfake.Fault{Method: "POST", Path: "/v1/projects/prj_web/rolling-release/approve-stage", After: true})
	f.srv.ResetRequests()
	require.NoError(t, d.ShiftTraffic(ctx, dep, 25))
	assert.Equal(t, []string{"GET /v1/projects/prj_web/rolling-release", "POST /v1/projects/prj_web/rolling-release/approve-stage",
		"POST /v1/projects/prj_web/rolling-release/approve-stage", "GET /v1/projects/prj_web/rolling-release"}, f.srv.Requests())
	assert.Equal(t, 25, f.srv.Traffic("prj_web").CanaryPercent)
	assert.Equal(t, "ACTIVE 5%, ACTIVE 25%", shares(f), "approved once")
}

// Whatever status Vercel refuses a stale approval with, the release is read
// again.
func TestStageMovedAnswerIsConfigurable(t *testing.T) {
	f, d, _ := rollingFixture(t, vercel.Config{})
	f.srv.SetRollingReleaseErrors(vercelfake.RollingReleaseErrors{StageMoved: vercelfake.ErrorAnswer{Status: 409, Code: "stage_moved"}})
	ctx := context.Background()
	dep, err := d.Deploy(ctx, rel("1.1.0", sha1, "1.0.0", sha0))
	require.NoError(t, err)
	f.srv.Inject(vercelfake.Fault{Method: "POST", Path: "/v1/projects/prj_web/rolling-release/approve-stage", After: true})
	require.NoError(t, d.ShiftTraffic(ctx, dep, 25))
	assert.Equal(t, 25, f.srv.Traffic("prj_web").CanaryPercent)
}

func TestRollingReleaseRateLimitIsWaitedOut(t *testing.T) {
	f, d, _ := rollingFixture(t, vercel.Config{})
	ctx := context.Background()
	dep, err := d.Deploy(ctx, rel("1.1.0", sha1, "1.0.0", sha0))
	require.NoError(t, err)
	f.srv.Inject(vercelfake.Fault{Method: "POST", Path: "/v1/projects/prj_web/rolling-release/complete", RateLimit: 30 * time.Second})
	before, _ := f.clock.Slept()
	require.NoError(t, d.CompleteRollout(ctx, dep))
	after, _ := f.clock.Slept()
	assert.GreaterOrEqual(t, after-before, 30*time.Second)
	assert.Equal(t, dep.ID, f.srv.Production("prj_web"))
}

func TestPreflightChecksTheRollingReleaseConfiguration(t *testing.T) {
	automatic := vercelfake.RollingReleaseConfig{Enabled: true, AdvancementType: "automatic",
		Stages: []vercelfake.Stage{{TargetPercentage: 5, Duration: 5}, {TargetPercentage: 25, Duration: 10}, {TargetPercentage: 100}}}
	fix := `vercel rolling-release configure --cfg='{"advancementType":"manual-approval","enabled":true,"stages":[{"targetPercentage":5},{"targetPercentage":25},{"targetPercentage":100}]}' --scope team_acme`
	tests := []struct {
		name      string
		project   *vercelfake.RollingReleaseConfig
		rollout   *shipprod.Rollout
		configure bool
		// hobby puts the team on the Hobby plan; billing is the billing
		// status Vercel answers instead of the fake's.
		hobby   bool
		billing string
		want    []string // "" means it passes
	}{
		{name: "no rollout, no rolling releases"},
		{name: "rolling releases on but no rollout", project: ptr(manual(10, 50, 100)),
			want: []string{"has Rolling Releases on (stages 10%, 50%, 100%, manual-approval)", "add a rollout section with these stages"}},
		{name: "rollout but no rolling releases", rollout: stages,
			want: []string{"has no rolling release configured, so a promote would move all traffic at once", "deploy.vercel.rolling_release.configure: true", fix}},
		{name: "automatic advancement", project: &automatic, rollout: stages,
			want: []string{"advance automatic", "needs manual-approval", fix}},
		{name: "other stages", project: ptr(manual(10, 50, 100)), rollout: stages,
			want: []string{"rollout.stages (5%, 25%, 100%) do not match the stages of vercel project web's rolling releases (10%, 50%, 100%)", "change rollout.stages to 10%, 50%, 100%", fix}},
		{name: "matching", project: ptr(manual(5, 25, 100)), rollout: stages},
		{name: "configure", project: &automatic, rollout: stages, configure: true},
		{name: "configure on a plan without rolling releases", project: &automatic, rollout: stages, configure: true, hobby: true,
			want: []string{"vercel project web: rolling_release.configure cannot turn Rolling Releases on: the team's Vercel plan does not include them (Vercel says: Rolling Releases are available on the Pro and Enterprise plans); upgrade the team to Pro or Enterprise, or remove the rollout section"}},
		{name: "configure with no slot left", rollout: stages, configure: true,
			billing: `{"availableSlots":0,"reason":"no_available_slots","message":"All 1 slots are in use","enabledProjects":["api","docs"]}`,
			want:    []string{"vercel project web: rolling_release.configure cannot turn Rolling Releases on: the team has no slot left, they are on for api, docs (Vercel says: All 1 slots are in use); turn them off for one of those"}},
		{name: "configure a project that has a slot", project: &automatic, rollout: stages, configure: true,
			billing: `{"availableSlots":0,"reason":"no_available_slots","message":"All 1 slots are in use","enabledProjects":["web"]}`},
		{name: "configure with one stage", rollout: &shipprod.Rollout{Stages: []shipprod.RolloutStage{{Percent: 100}}}, configure: true,
			want: []string{"rollout.stages has 1 stage(s); Vercel's rolling releases have 2 to 10"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			if tt.project != nil {
				f.srv.SetRollingRelease("prj_web", *tt.project)
			}
			f.srv.SetHobby(tt.hobby)
			if tt.billing != "" {
				f.srv.Inject(vercelfake.Fault{Method: "GET", Path: "/v1/projects/prj_web/rolling-release/billing", Status: 200, Body: tt.billing})
			}
			cfg := vercel.Config{}
			if tt.configure {
				cfg.RollingRelease = &vercel.RollingReleaseConfig{Configure: true}
			}
			d := f.deployer(cfg, nil)
			d.UseRollout(tt.rollout)
			f.srv.ResetRequests()
			err := d.Preflight(context.Background(), rel("1.1.0", sha1, "1.0.0", sha0))
			assert.Zero(t, f.srv.Writes(), "the pre-flight changes nothing")
			if len(tt.want) == 0 {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			for _, w := range tt.want {
				assert.Contains(t, err.Error(), w)
			}
			if tt.rollout == nil {
				// The deploy refuses it too, before changing anything.
				_, err := d.Deploy(context.Background(), rel("1.1.0", sha1, "1.0.0", sha0))
				require.Error(t, err)
				assert.Zero(t, f.srv.Writes())
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

// Without a rollout and without rolling releases, the pre-flight makes the
// one request it always made.
func TestPreflightWithoutRollingReleasesReadsOnlyTheProject(t *testing.T) {
	f := newFixture(t)
	d := f.deployer(vercel.Config{}, nil)
	f.srv.ResetRequests()
	require.NoError(t, d.Preflight(context.Background(), rel("1.1.0", sha1, "1.0.0", sha0)))
	assert.Equal(t, []string{"GET /v9/projects/web"}, f.srv.Requests())
}

func TestPreflightRefusesAnotherDeploymentsReleaseInFlight(t *testing.T) {
	f, d, _ := rollingFixture(t, vercel.Config{})
	other := f.srv.AddDeployment(vercelfake.Deployment{ProjectID: "prj_web", Target: "production", SHA: sha2, Ref: "main"})
	_, status := f.post("/v10/projects/prj_web/promote/" + other)
	require.Equal(t, 202, status)
	err := d.Preflight(context.Background(), rel("1.1.0", sha1, "1.0.0", sha0))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "a rolling release of deployment "+other+" is in progress (stage 1 of 3 (5%))")
	assert.Contains(t, err.Error(), "vercel rollback "+f.prod0+" --scope team_acme")

	// The release of this very build (a resumed run) is fine.
	err = d.Preflight(context.Background(), rel("1.1.0", sha2, "1.0.0", sha0))
	require.NoError(t, err)
}

func TestConfigureMakesTheProjectManualApproval(t *testing.T) {
	f, d, staged := rollingFixture(t, vercel.Config{RollingRelease: &vercel.RollingReleaseConfig{Configure: true}})
	f.srv.SetRollingRelease("prj_web", vercelfake.RollingReleaseConfig{Enabled: true, AdvancementType: "automatic",
		Stages: []vercelfake.Stage{{TargetPercentage: 10, Duration: 5}, {TargetPercentage: 100}}})
	actions, err := d.PlanActions(context.Background(), rel("1.1.0", sha1, "1.0.0", sha0))
	require.NoError(t, err)
	require.Len(t, actions, 2)
	assert.Contains(t, actions[0].Description, "manual approval, stages 5%, 25%, 100% (PATCH /v1/projects/web/rolling-release/config)")
	assert.Contains(t, actions[1].Description, "wait until its Vercel rolling release has started: 5% of production traffic on it")

	dep, err := d.Deploy(context.Background(), rel("1.1.0", sha1, "1.0.0", sha0))
	require.NoError(t, err)
	assert.Equal(t, staged, dep.ID)
	got := f.srv.RollingRelease("prj_web")
	require.NotNil(t, got)
	assert.Equal(t, manual(5, 25, 100), *got)
	assert.Equal(t, 5, f.srv.Traffic("prj_web").CanaryPercent)
	assert.Contains(t, dep.Details["note"], "configured the project's rolling releases: manual approval, stages 5%, 25%, 100%")

	// Configured as wanted: no second PATCH.
	f.srv.ResetRequests()
	_, err = d.Deploy(context.Background(), rel("1.1.0", sha1, "1.0.0", sha0))
	require.NoError(t, err, "the release in flight is this deployment's")
	assert.Zero(t, count(f.srv.Requests(), "PATCH "))
	assert.Zero(t, count(f.srv.Requests(), "POST "), "the resumed deploy promotes nothing again")
}

func TestProductionAndRollbackDuringARolloutNameTheCurrentDeployment(t *testing.T) {
	f, d, staged := rollingFixture(t, vercel.Config{})
	ctx := context.Background()
	dep, err := d.Deploy(ctx, rel("1.1.0", sha1, "1.0.0", sha0))
	require.NoError(t, err)
	prod, err := d.Production(ctx)
	require.NoError(t, err)
	assert.Equal(t, f.prod0, prod.ID)
	assert.Equal(t, sha0, prod.Commit)
	assert.Equal(t, staged, prod.Details["canary_deployment"])
	assert.Equal(t, "5", prod.Details["canary_percent"])

	// The production deployment is the rollback's target already: the
	// rollback is made anyway, since it is what aborts the release.
	back, err := d.Rollback(ctx, dep, shipprod.Release{Version: "1.0.0", Commit: sha0})
	require.NoError(t, err)
	assert.Equal(t, f.prod0, back.ID)
	assert.Contains(t, back.Details["note"], "the rollback aborts the rolling release of "+staged+" (stage 1 of 3 (5%))")
	assert.Equal(t, vercelfake.Split{Production: f.prod0, State: "ABORTED"}, f.srv.Traffic("prj_web"))
}

// A run interrupted after the promote follows the release it started.
func TestFollowFindsTheRollingReleaseItStarted(t *testing.T) {
	f, d, staged := rollingFixture(t, vercel.Config{})
	_, status := f.post("/v10/projects/prj_web/promote/" + staged)
	require.Equal(t, 202, status)
	f.srv.ResetRequests()
	dep, err := d.Follow(context.Background(), shipprod.Deployment{Provider: "vercel", ID: staged}, rel("1.1.0", sha1, "1.0.0", sha0))
	require.NoError(t, err)
	assert.Equal(t, staged, dep.ID)
	assert.Equal(t, f.prod0, dep.PreviousID)
	assert.Equal(t, "5", dep.Details["traffic_percent"])
	assert.Zero(t, f.srv.Writes(), "nothing promoted again")
}

// In build mode the new production deployment becomes the canary of a
// rolling release when it is READY.
func TestBuildModeStartsARollingRelease(t *testing.T) {
	f := newFixture(t)
	f.srv.SetRollingRelease("prj_web", manual(5, 25, 100))
	d := f.deployer(vercel.Config{Mode: vercel.ModeBuild}, nil)
	d.UseRollout(stages)
	dep, err := d.Deploy(context.Background(), rel("1.1.0", sha1, "1.0.0", sha0))
	require.NoError(t, err)
	assert.Equal(t, "5", dep.Details["traffic_percent"])
	assert.Equal(t, f.prod0, dep.PreviousID)
	assert.Equal(t, vercelfake.Split{Production: f.prod0, Canary: dep.ID, CanaryPercent: 5, State: "ACTIVE"}, f.srv.Traffic("prj_web"))
}

// post makes a request to the fake as another client would (the Vercel
// dashboard, another run) and returns the answer's body and status.
func (f *fixture) post(path string) (string, int) {
	f.t.Helper()
	req, err := http.NewRequest(http.MethodPost, f.srv.URL+path+"?teamId=team_acme", strings.NewReader("{}"))
	require.NoError(f.t, err)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := f.srv.Client().Do(req)
	require.NoError(f.t, err)
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return string(body), resp.StatusCode
}

// A complete whose answer was lost is sent again and refused (the release
// is complete): reading it again shows it took effect.
func TestCompleteRolloutWhoseAnswerWasLost(t *testing.T) {
	f, d, staged := rollingFixture(t, vercel.Config{})
	ctx := context.Background()
	dep, err := d.Deploy(ctx, rel("1.1.0", sha1, "1.0.0", sha0))
	require.NoError(t, err)
	f.srv.Inject(vercelfake.Fault{Method: "POST", Path: "/v1/projects/prj_web/rolling-release/complete", After: true})
	require.NoError(t, d.CompleteRollout(ctx, dep))
	assert.Equal(t, 2, count(f.srv.Requests(), "POST /v1/projects/prj_web/rolling-release/complete"))
	assert.Equal(t, staged, f.srv.Production("prj_web"))
}

// A deployment without a rolling release: fine when it serves all of
// production already (nothing to roll from), an error otherwise.
func TestShiftTrafficWithoutARollingRelease(t *testing.T) {
	f, d, staged := rollingFixture(t, vercel.Config{})
	ctx := context.Background()
	prod := shipprod.Deployment{Provider: "vercel", ID: f.prod0}
	require.NoError(t, d.ShiftTraffic(ctx, prod, 25))
	require.NoError(t, d.CompleteRollout(ctx, prod))
	err := d.ShiftTraffic(ctx, shipprod.Deployment{Provider: "vercel", ID: staged}, 25)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "vercel project web, deployment "+staged+": sending 25% of production traffic to it: the project has no rolling release, and the deployment is not production")
	assert.Zero(t, f.srv.Writes())
	require.NoError(t, d.AbortRollout(ctx, shipprod.Deployment{Provider: "vercel", ID: staged}), "a deployment serving no traffic has nothing to abort")
	assert.Zero(t, f.srv.Writes())
}
