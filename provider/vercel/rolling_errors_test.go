package vercel_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shipprod/shipprod"
	"github.com/shipprod/shipprod/provider/vercel"
	"github.com/shipprod/shipprod/provider/vercel/vercelfake"
)

// releaseDoc is a GET /v1/projects/{p}/rolling-release answer: a release of
// the 5%, 25%, 100% stages in state, at stage 1 when ACTIVE.
func releaseDoc(state, canary, current string) string {
	active := "null"
	next := `{"index":1,"isFinalStage":false,"targetPercentage":25,"requireApproval":true}`
	if state == "ACTIVE" {
		active = `{"index":0,"isFinalStage":false,"targetPercentage":5,"requireApproval":true}`
	} else {
		next = "null"
	}
	return fmt.Sprintf(`{"rollingRelease":{"state":%q,"advancementType":"manual-approval","canaryDeployment":{"id":%q},"currentDeployment":{"id":%q},`+
		`"stages":[{"index":0,"targetPercentage":5},{"index":1,"targetPercentage":25},{"index":2,"isFinalStage":true,"targetPercentage":100}],"activeStage":%s,"nextStage":%s}}`,
		state, canary, current, active, next)
}

// theRelease selects the reads of the project's release (not its
// configuration, not the release in flight read by state).
func theRelease(r *http.Request) bool {
	return r.URL.Path == "/v1/projects/prj_web/rolling-release" && !r.URL.Query().Has("state")
}

// What a user reads when a rolling release does not go as it should.
func TestRollingReleaseFailuresSayWhatHappened(t *testing.T) {
	tests := []struct {
		name string
		// deployed runs the op on a deployment Deploy returned first.
		deployed bool
		setup    func(f *fixture, staged string)
		op       func(d *vercel.Deployer, ctx context.Context, dep shipprod.Deployment) error
		want     string
		// promoted says whether the promote was made.
		promoted bool
	}{
		{name: "the plan refuses configuring rolling releases",
			setup: func(f *fixture, _ string) {
				f.srv.SetRollingRelease("prj_web", vercelfake.RollingReleaseConfig{Enabled: true, AdvancementType: "automatic",
					Stages: []vercelfake.Stage{{TargetPercentage: 10, Duration: 5}, {TargetPercentage: 100}}})
				f.srv.SetHobby(true)
			},
			want: "vercel project web: deploying v1.1.0: configuring rolling releases (manual approval, stages 5%, 25%, 100%): plan limit or quota reached (402 payment_required: Rolling Releases are available on the Pro and Enterprise plans on PATCH /v1/projects/prj_web/rolling-release/config)"},
		{name: "the promote starts no rolling release",
			setup: func(f *fixture, _ string) {
				f.srv.Inject(vercelfake.Fault{Method: "GET", Match: theRelease, Times: 1000, Status: 200, Body: `{"rollingRelease":null}`})
			},
			want: "vercel project web, deployment {staged}: deploying v1.1.0: no rolling release of the deployment started within 20m0s", promoted: true},
		{name: "the rolling release is aborted as it starts",
			setup: func(f *fixture, staged string) {
				f.srv.Inject(vercelfake.Fault{Method: "GET", Match: theRelease, Status: 200, Body: releaseDoc("ABORTED", staged, f.prod0)})
			},
			want: "vercel project web, deployment {staged}: deploying v1.1.0: the rolling release of the deployment was aborted as it started", promoted: true},
		{name: "complete answers with an aborted release", deployed: true,
			setup: func(f *fixture, staged string) {
				f.srv.Inject(vercelfake.Fault{Method: "POST", Path: "/v1/projects/prj_web/rolling-release/complete", Status: 200, Body: releaseDoc("ABORTED", staged, f.prod0)})
			},
			op:   (*vercel.Deployer).CompleteRollout,
			want: "vercel project web, deployment {staged}: completing its rolling release: the rolling release is aborted, not complete"},
		{name: "complete never completes", deployed: true,
			setup: func(f *fixture, staged string) {
				// Accepted, and nothing happens: the release stays at 5%.
				f.srv.Inject(vercelfake.Fault{Method: "POST", Path: "/v1/projects/prj_web/rolling-release/complete", Status: 200, Body: releaseDoc("ACTIVE", staged, f.prod0)})
			},
			op:   (*vercel.Deployer).CompleteRollout,
			want: "vercel project web, deployment {staged}: completing its rolling release: the rolling release was not complete within 20m0s"},
		{name: "the abort's instant rollback is refused", deployed: true,
			setup: func(f *fixture, _ string) {
				f.srv.Inject(vercelfake.Fault{Method: "POST", Path: "/v1/projects/prj_web/rollback/", Status: 409,
					Body: `{"error":{"code":"conflict","message":"Another rollback is in progress"}}`})
			},
			op:   (*vercel.Deployer).AbortRollout,
			want: "vercel project web, deployment {staged}: aborting its rolling release: POST /v1/projects/prj_web/rollback/{prod0}: 409 conflict: Another rollback is in progress"},
		{name: "the release is still active after the abort's rollback", deployed: true,
			setup: func(f *fixture, staged string) {
				// Both reads, before and after the rollback, see it at 5%.
				f.srv.Inject(vercelfake.Fault{Method: "GET", Match: theRelease, Times: 2, Status: 200, Body: releaseDoc("ACTIVE", staged, f.prod0)})
			},
			op:   (*vercel.Deployer).AbortRollout,
			want: "vercel project web, deployment {staged}: aborting its rolling release: the instant rollback to {prod0} finished, but the rolling release is still stage 1 of 3 (5%)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, d, staged := rollingFixture(t, vercel.Config{RollingRelease: &vercel.RollingReleaseConfig{Configure: true}})
			ctx := context.Background()
			var err error
			if tt.deployed {
				dep, derr := d.Deploy(ctx, rel("1.1.0", sha1, "1.0.0", sha0))
				require.NoError(t, derr)
				f.srv.ResetRequests()
				tt.setup(f, staged)
				err = tt.op(d, ctx, dep)
				require.Error(t, err)
			} else {
				tt.setup(f, staged)
				_, err = d.Deploy(ctx, rel("1.1.0", sha1, "1.0.0", sha0))
				require.Error(t, err)
				assert.Equal(t, tt.promoted, count(f.srv.Requests(), "POST /v10/projects/prj_web/promote/") == 1, "promoted")
			}
			want := strings.NewReplacer("{staged}", staged, "{prod0}", f.prod0).Replace(tt.want)
			assert.Equal(t, want, err.Error())
		})
	}
}
