package shipprod_test

import (
	"context"
	"strings"
	"testing"

	"github.com/shipprod/shipprod"
)

type plainDeployer struct{}

func (plainDeployer) Deploy(context.Context, shipprod.Release) (shipprod.Deployment, error) {
	return shipprod.Deployment{ID: "d"}, nil
}

// fullDeployer has every optional capability.
type fullDeployer struct{ plainDeployer }

func (fullDeployer) Rollback(context.Context, shipprod.Deployment, shipprod.Release) (shipprod.Deployment, error) {
	return shipprod.Deployment{}, nil
}
func (fullDeployer) Production(context.Context) (shipprod.Deployment, error) {
	return shipprod.Deployment{}, nil
}
func (fullDeployer) Candidate(context.Context, shipprod.Release) (shipprod.Deployment, error) {
	return shipprod.Deployment{}, nil
}
func (fullDeployer) Follow(context.Context, shipprod.Deployment, shipprod.Release) (shipprod.Deployment, error) {
	return shipprod.Deployment{}, nil
}
func (fullDeployer) Preflight(context.Context, shipprod.Release) error { return nil }
func (fullDeployer) PlanActions(context.Context, shipprod.Release) ([]shipprod.Action, error) {
	return nil, nil
}

// recorder wraps a deployer with a Rollback and Follow of its own, and
// plans and checks its own part.
type recorder struct{ inner shipprod.Deployer }

func (r recorder) Deploy(ctx context.Context, rel shipprod.Release) (shipprod.Deployment, error) {
	return r.inner.Deploy(ctx, rel)
}
func (r recorder) Unwrap() shipprod.Deployer { return r.inner }
func (recorder) Rollback(context.Context, shipprod.Deployment, shipprod.Release) (shipprod.Deployment, error) {
	return shipprod.Deployment{}, nil
}
func (recorder) Follow(context.Context, shipprod.Deployment, shipprod.Release) (shipprod.Deployment, error) {
	return shipprod.Deployment{}, nil
}
func (recorder) Preflight(context.Context, shipprod.Release) error { return nil }
func (recorder) PlanActions(context.Context, shipprod.Release) ([]shipprod.Action, error) {
	return nil, nil
}

func TestCapabilities(t *testing.T) {
	for _, tc := range []struct {
		name string
		d    shipprod.Deployer
		want string
	}{
		{"plain", plainDeployer{}, ""},
		{"full", fullDeployer{}, "rollback,production,candidate,follow,preflight,plan"},
		// A wrapper never adds a capability the deployer lacks, but its own
		// pre-flight and plan are its own.
		{"wrapped plain", recorder{plainDeployer{}}, "preflight,plan"},
		{"wrapped full", recorder{fullDeployer{}}, "rollback,production,candidate,follow,preflight,plan"},
	} {
		if got := strings.Join(shipprod.Capabilities(tc.d), ","); got != tc.want {
			t.Errorf("%s: capabilities %q, want %q", tc.name, got, tc.want)
		}
	}
}
