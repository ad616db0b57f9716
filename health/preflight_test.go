package health_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/shipprod/shipprod"
	"github.com/shipprod/shipprod/health"
)

// badTarget is a custom probe whose target cannot be resolved.
type badTarget struct{}

func (badTarget) Probe(context.Context, health.Target) (health.Observation, error) {
	return health.Observation{}, nil
}

func (badTarget) ResolveTarget(health.Target) (string, error) {
	return "", errors.New("queue name missing")
}

// queueProbe is a custom probe whose target is a path on the deployment,
// like an http check's relative URL.
type queueProbe struct{}

func (queueProbe) Probe(context.Context, health.Target) (health.Observation, error) {
	return health.Observation{}, nil
}

func (queueProbe) ResolveTarget(t health.Target) (string, error) {
	if t.BaseURL == "" {
		return "", fmt.Errorf("queue /jobs is on the deployment and there is %w", health.ErrNoBaseURL)
	}
	return t.BaseURL + "/jobs", nil
}

// Every check whose target is relative is named, custom probes included,
// so that the pipeline's pre-flight can refuse them for a deployer that
// reports no URL.
func TestRelativeTargets(t *testing.T) {
	checks := []health.Check{{Name: "jobs", Kind: "queue", Probe: queueProbe{}}, {Name: "broken", Kind: "queue", Probe: badTarget{}}}
	cfg := health.Config{Checks: []health.CheckConfig{
		{Name: "api", HTTP: "/health"},
		{Name: "abs", HTTP: "https://www.example.com/health"},
		{Name: "tcp", TCP: "db.internal:5432"},
		{Name: "assets", Assets: &health.AssetsConfig{Page: "/"}},
	}}
	c, err := health.New(cfg, health.Options{Checks: checks})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := c.RelativeTargets(), []string{"api", "assets", "jobs"}; !slices.Equal(got, want) {
		t.Errorf("RelativeTargets() = %q, want %q", got, want)
	}
	cfg.BaseURL = "https://www.example.com"
	if c, err = health.New(cfg, health.Options{Checks: checks[:1]}); err != nil {
		t.Fatal(err)
	}
	if got := c.RelativeTargets(); len(got) != 0 {
		t.Errorf("with base_url: RelativeTargets() = %q", got)
	}
}

func TestPreflightChecksTheURLsItCan(t *testing.T) {
	rel := shipprod.Release{Version: "1.2.0", Tag: "v1.2.0"}
	relative := []health.CheckConfig{
		{Name: "api", HTTP: "/health"},
		{Name: "tcp", TCP: "db.internal:5432"}, // not a URL: nothing to resolve
		{Name: "version", Version: "/version"},
	}
	for _, tc := range []struct {
		name   string
		cfg    health.Config
		checks []health.Check
		want   string // "" means the pre-flight passes
	}{
		{name: "absolute URLs", cfg: health.Config{Checks: []health.CheckConfig{{Name: "api", HTTP: "https://www.example.com/health"}}}},
		{name: "relative URLs and base_url", cfg: health.Config{BaseURL: "https://www.example.com/app", Checks: relative}},
		// Only the deployer can tell, after the deploy: accepted.
		{name: "relative URLs without base_url", cfg: health.Config{Checks: relative}},
		{name: "a target that cannot be resolved", checks: []health.Check{{Name: "jobs", Kind: "queue", Probe: badTarget{}}},
			want: `health check "jobs": queue name missing`},
		{name: "a custom probe's relative target without base_url", checks: []health.Check{{Name: "jobs", Kind: "queue", Probe: queueProbe{}}}},
	} {
		c, err := health.New(tc.cfg, health.Options{Checks: tc.checks})
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		err = c.Preflight(context.Background(), rel)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
	// What the pre-flight accepts fails the check itself — an error, not an
	// unhealthy production — when the deployer reports no URL.
	c, err := health.New(health.Config{Checks: relative[:1]}, health.Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Check(context.Background(), rel, shipprod.Deployment{ID: "d1"})
	if err == nil || !strings.Contains(err.Error(), "set health.base_url") {
		t.Fatalf("no URL from the deployer: %v", err)
	}
}
