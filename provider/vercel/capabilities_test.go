package vercel_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/shipprod/shipprod"
	"github.com/shipprod/shipprod/internal/gittest"
	"github.com/shipprod/shipprod/provider/vercel"
	"github.com/shipprod/shipprod/provider/vercel/vercelfake"
	"github.com/shipprod/shipprod/shipprodtest"
)

// unhealthy is a HealthChecker that fails one version.
type unhealthy string

func (u unhealthy) Check(_ context.Context, rel shipprod.Release, _ shipprod.Deployment) (shipprod.HealthReport, error) {
	st := shipprod.HealthPass
	if rel.Version == string(u) {
		st = shipprod.HealthFail
	}
	return shipprod.HealthReport{Checks: []shipprod.CheckResult{{Name: "api", Kind: "http", Status: st}}}, nil
}

// history is a repository where each release's version commit (tagged) sits
// on the commit staging validated, as shipprod's version step makes it.
type history struct {
	dir       string
	validated map[string]string // version → the validated commit (built by Vercel)
	release   map[string]string // version → the tagged version commit
}

func newHistory(t *testing.T, versions ...string) *history {
	t.Helper()
	gittest.Isolate(t)
	var spec gittest.Spec
	for _, v := range versions {
		spec.Commits = append(spec.Commits, gittest.Commit{ID: "p" + v, Message: "feat: work for " + v},
			gittest.Commit{ID: "c" + v, Message: "chore(release): " + v, Files: map[string]string{"VERSION": v + "\n"}})
		spec.Tags = append(spec.Tags, gittest.Tag{Name: "v" + v, At: "c" + v, Message: "Release v" + v})
	}
	r := gittest.Build(t, spec)
	h := &history{dir: r.Dir, validated: map[string]string{}, release: map[string]string{}}
	for _, v := range versions {
		h.validated[v], h.release[v] = r.SHA("p"+v), r.SHA("c"+v)
	}
	return h
}

// rel is the release of version v as the version step made it, its previous
// release prev.
func (h *history) rel(v, prev string) shipprod.Release {
	r := shipprod.Release{Version: v, Tag: "v" + v, Commit: h.release[v], Base: h.validated[v]}
	if prev != "" {
		r.PreviousVersion, r.PreviousTag, r.PreviousCommit = prev, "v"+prev, h.release[prev]
	}
	return r
}

func (f *fixture) deployerIn(dir string, cfg vercel.Config, staging string) *vercel.Deployer {
	f.t.Helper()
	cfg.APIURL, cfg.Project, cfg.Team = f.srv.URL, "web", "team_acme"
	var facts map[string]string
	if staging != "" {
		facts = map[string]string{vercel.FactStagingDeploymentID: staging}
	}
	d, err := vercel.New(cfg, vercel.Options{Dir: dir, Facts: facts, Clock: f.clock, HTTPClient: f.srv.Client(),
		Logger: slog.New(slog.NewTextHandler(f.logs, nil)),
		Getenv: func(k string) string { return map[string]string{"VERCEL_TOKEN": token}[k] }})
	if err != nil {
		f.t.Fatal(err)
	}
	return d
}

// staged adds the production build staging validated for commit sha,
// READY and not promoted (`vercel --prod --skip-domain`).
func (f *fixture) staged(sha string) string {
	return f.srv.AddDeployment(vercelfake.Deployment{ProjectID: "prj_web", Target: "production", SHA: sha, Ref: "main"})
}

// After v1.4.1 was rolled back, production runs v1.4.0's build again; a
// failed v1.4.2 (whose previous release is v1.4.1) must restore v1.4.0's
// build, and the report's manual command must name it.
func TestRollbackRestoresWhatProductionRan(t *testing.T) {
	f := newFixture(t)
	h := newHistory(t, "1.4.0", "1.4.1", "1.4.2")
	ctx := context.Background()
	a, b, c := f.staged(h.validated["1.4.0"]), f.staged(h.validated["1.4.1"]), f.staged(h.validated["1.4.2"])
	if _, err := f.deployerIn(h.dir, vercel.Config{}, a).Deploy(ctx, h.rel("1.4.0", "")); err != nil {
		t.Fatal(err)
	}
	d141 := f.deployerIn(h.dir, vercel.Config{}, b)
	bad, err := d141.Deploy(ctx, h.rel("1.4.1", "1.4.0"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d141.Rollback(ctx, bad, h.rel("1.4.0", "")); err != nil || f.srv.Production("prj_web") != a {
		t.Fatalf("rolling v1.4.1 back: %v, production %s", err, f.srv.Production("prj_web"))
	}

	d := f.deployerIn(h.dir, vercel.Config{}, c)
	cur, err := d.Production(ctx)
	if err != nil || cur.ID != a || cur.Commit != h.validated["1.4.0"] || cur.Tag != "v1.4.0" || cur.Version != "1.4.0" {
		t.Fatalf("production before v1.4.2: %+v, %v", cur, err)
	}
	res, err := (&shipprod.Pipeline{Release: h.rel("1.4.2", "1.4.1"), Deployer: d, Health: unhealthy("1.4.2")}).Run(ctx)
	if res.Outcome != shipprod.OutcomeRolledBack {
		t.Fatalf("outcome %s, err %v", res.Outcome, err)
	}
	if got := f.srv.Production("prj_web"); got != a {
		t.Fatalf("production after the rollback = %s, want v1.4.0's %s (not v1.4.1's %s)", got, a, b)
	}
	if tgt := res.Rollback.Target; tgt.Tag != "v1.4.0" || tgt.Version != "1.4.0" {
		t.Fatalf("rollback target %+v", tgt)
	}
	steps := strings.Join(res.Deployment.RollbackSteps, "\n")
	if !strings.Contains(steps, "vercel rollback "+a) || strings.Contains(steps, b) {
		t.Fatalf("the manual rollback must name v1.4.0's deployment %s: %s", a, steps)
	}
}

func TestCandidateIsTheValidatedBuild(t *testing.T) {
	f := newFixture(t)
	h := newHistory(t, "1.1.0")
	ctx := context.Background()
	built := f.staged(h.validated["1.1.0"])
	d := f.deployerIn(h.dir, vercel.Config{}, "")
	f.srv.ResetRequests()
	// Found by the commit the release was decided at, not by the version
	// commit shipprod makes on top of it, which never has a build.
	for _, r := range []shipprod.Release{h.rel("1.1.0", ""), {Version: "1.1.0", Tag: "v1.1.0", Base: h.validated["1.1.0"]}} {
		cand, err := d.Candidate(ctx, r)
		if err != nil || cand.ID != built {
			t.Fatalf("candidate of %+v: %+v, %v", r, cand, err)
		}
	}
	// A release given without a version step: its commit's parent.
	cand, err := d.Candidate(ctx, shipprod.Release{Version: "1.1.0", Tag: "v1.1.0"})
	if err != nil || cand.ID != built {
		t.Fatalf("candidate by the tag's parent: %+v, %v", cand, err)
	}
	if f.srv.Writes() != 0 {
		t.Fatalf("Candidate changed something: %v", f.srv.Requests())
	}
	t.Logf("Candidate requests (three calls): %q", f.srv.Requests())
	dep, err := d.Deploy(ctx, h.rel("1.1.0", ""))
	if err != nil || dep.ID != built || f.srv.Production("prj_web") != built {
		t.Fatalf("deploy promoted %s (%v), production %s; want %s", dep.ID, err, f.srv.Production("prj_web"), built)
	}

	// No build of the validated commit: the pre-flight fails, before anything changes.
	f2 := newFixture(t)
	_, err = f2.deployerIn(h.dir, vercel.Config{}, "").Candidate(ctx, h.rel("1.1.0", ""))
	if err == nil || !strings.Contains(err.Error(), "no READY deployment of the validated commit "+h.validated["1.1.0"][:12]) {
		t.Fatalf("missing build: %v", err)
	}
	res, err := (&shipprod.Pipeline{Release: h.rel("1.1.0", ""), Deployer: f2.deployerIn(h.dir, vercel.Config{}, "")}).Run(ctx)
	var pe *shipprod.PreflightError
	if !errors.As(err, &pe) || f2.srv.Writes() != 0 || res.Deployment != nil {
		t.Fatalf("pipeline without a build: %v", err)
	}
}

func TestRolledBackBuildIsRefused(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	staged := f.staged(sha1)
	j := &shipprodtest.Journal{}
	d := f.deployer(vercel.Config{}, map[string]string{vercel.FactStagingDeploymentID: staged})
	p := &shipprod.Pipeline{Release: rel("1.1.0", sha1, "1.0.0", sha0), Deployer: d, Health: unhealthy("1.1.0"), Journal: j}
	res, _ := p.Run(ctx)
	if res.Outcome != shipprod.OutcomeRolledBack || len(res.RolledBackBuilds) != 1 || res.RolledBackBuilds[0].ID != staged {
		t.Fatalf("first run: %s, rolled back %+v", res.Outcome, res.RolledBackBuilds)
	}
	// The state file still names the same staging build: promoting it again
	// is refused before anything changes.
	writes := f.srv.Writes()
	p.Release, p.Health = rel("1.1.1", sha1, "1.0.0", sha0), nil
	_, err := p.Run(ctx)
	var pe *shipprod.PreflightError
	if !errors.As(err, &pe) || !strings.Contains(err.Error(), "deployment "+staged+" (v1.1.0) was rolled back as unhealthy") {
		t.Fatalf("second run: %v", err)
	}
	if f.srv.Writes() != writes || f.srv.Production("prj_web") != f.prod0 {
		t.Fatal("the refused run changed production")
	}
	p.AllowRolledBack = true
	if res, err := p.Run(ctx); err != nil && res.Outcome != shipprod.OutcomeNotVerified || f.srv.Production("prj_web") != staged {
		t.Fatalf("allowed: %s %v, production %s", res.Outcome, err, f.srv.Production("prj_web"))
	}
}

func TestInterruptedDeployIsFollowedNotRepeated(t *testing.T) {
	for _, tc := range []struct {
		name string
		// start is the staging build to promote.
		start  func(f *fixture) string
		starts string // the request that starts the deployment
	}{
		{"production rebuild of a preview", func(f *fixture) string {
			return f.srv.AddDeployment(vercelfake.Deployment{ProjectID: "prj_web", SHA: sha1, Ref: "feature"})
		}, "POST /v13/deployments"},
		{"promotion of a staged build", func(f *fixture) string { return f.staged(sha1) }, "POST /v10/projects/prj_web/promote/"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			staging := tc.start(f)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			j := &shipprodtest.Journal{OnSave: shipprodtest.CancelOnAccepted(cancel)}
			p := &shipprod.Pipeline{Release: rel("1.1.0", sha1, "1.0.0", sha0), Journal: j,
				Deployer: f.deployer(vercel.Config{}, map[string]string{vercel.FactStagingDeploymentID: staging})}
			res, _ := p.Run(ctx)
			if res.Outcome != shipprod.OutcomeInterrupted || res.Accepted == nil {
				t.Fatalf("first run: %s, accepted %+v", res.Outcome, res.Accepted)
			}
			accepted := res.Accepted.ID
			if n := count(f.srv.Requests(), tc.starts); n != 1 {
				t.Fatalf("%d starts in the first run", n)
			}
			res, err := p.Run(context.Background())
			if res.Deployment == nil || res.Deployment.ID != accepted || f.srv.Production("prj_web") != accepted {
				t.Fatalf("resumed run: %v, deployment %+v, production %s; want %s", err, res.Deployment, f.srv.Production("prj_web"), accepted)
			}
			if n := count(f.srv.Requests(), tc.starts); n != 1 {
				t.Fatalf("the resumed run started the deployment again: %d starts", n)
			}
			if st, _ := res.Step(shipprod.StepDeploy); !strings.Contains(st.Warning, "followed deployment "+accepted) {
				t.Fatalf("deploy step %+v", st)
			}
		})
	}
}

func TestPreflightChecksTokenTeamAndProject(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.srv.ResetRequests()
	if err := f.deployer(vercel.Config{}, nil).Preflight(ctx, rel("1.1.0", "", "", "")); err != nil {
		t.Fatal(err)
	}
	t.Logf("pre-flight requests: %q", f.srv.Requests())
	for _, tc := range []struct {
		name string
		cfg  vercel.Config
		env  map[string]string
		want string
	}{
		{"revoked token", vercel.Config{}, map[string]string{"VERCEL_TOKEN": "vcp_revoked"}, "vercel: the token in VERCEL_TOKEN is invalid or expired"},
		{"another team", vercel.Config{Team: "team_other"}, map[string]string{"VERCEL_TOKEN": token},
			"vercel: the token in VERCEL_TOKEN may not read project web under team team_other: set team in the vercel section (or VERCEL_ORG_ID)"},
		{"unknown project", vercel.Config{Project: "blog"}, map[string]string{"VERCEL_TOKEN": token},
			"vercel: project blog (from the vercel section) not found in team team_acme: check project (or VERCEL_PROJECT_ID)"},
	} {
		d, err := f.newDeployer(tc.cfg, nil, tc.env)
		if err != nil {
			t.Fatal(err)
		}
		err = d.Preflight(ctx, rel("1.1.0", "", "", ""))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
	if f.srv.Writes() != 0 {
		t.Fatalf("the pre-flight changed something: %v", f.srv.Requests())
	}
	// Build mode needs a repository to build from.
	f.srv.AddProject(vercelfake.Project{ID: "prj_blog", Name: "blog"})
	d, _ := f.newDeployer(vercel.Config{Project: "blog", Mode: vercel.ModeBuild}, nil, map[string]string{"VERCEL_TOKEN": token})
	if err := d.Preflight(ctx, rel("1.1.0", "", "", "")); err == nil || !strings.Contains(err.Error(), "set git_source") {
		t.Fatalf("unlinked project in build mode: %v", err)
	}
}
