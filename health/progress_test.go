package health_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sort"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shipprod/shipprod"
	"github.com/shipprod/shipprod/health"
	"github.com/shipprod/shipprod/shipprodtest"
)

// Each check is told on its own line as it finishes, as Spec-Flow's ship
// phase shows them ("API endpoints: 200 OK ✅").
func TestEachCheckIsToldAsItFinishes(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/broken" {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(srv.Close)
	checker, err := health.New(health.Config{BaseURL: srv.URL, Checks: []health.CheckConfig{
		{Name: "home", HTTP: "/"},
		{Name: "broken", HTTP: "/broken", Timing: health.Timing{FailureThreshold: 1}},
	}}, health.Options{})
	require.NoError(t, err)
	rec := &shipprodtest.Recorder{}
	p := &shipprod.Pipeline{Release: shipprod.Release{Version: "1.0.0", Tag: "v1.0.0"}, Deployer: staticDeployer{srv.URL}, Health: checker, Observer: rec}
	_, err = p.Run(context.Background())
	require.Error(t, err)

	var lines []string
	for _, e := range rec.Events() {
		if e.Kind == shipprod.EventProgress {
			require.Equal(t, shipprod.StepHealth, e.Step)
			lines = append(lines, string(e.Progress.Status)+" "+e.Progress.Message[:len("broken (http ")])
		}
	}
	sort.Strings(lines)
	assert.Equal(t, []string{"fail broken (http ", "pass home (http ht"}, lines)
}

type staticDeployer struct{ url string }

func (d staticDeployer) Deploy(context.Context, shipprod.Release) (shipprod.Deployment, error) {
	return shipprod.Deployment{Provider: "static", ID: "1", URL: d.url}, nil
}
