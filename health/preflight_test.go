package health_test

import (
	"context"
	"errors"
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
