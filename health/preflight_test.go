package health_test

import (
	"context"
	"strings"
	"testing"

	"github.com/shipprod/shipprod"
	"github.com/shipprod/shipprod/health"
)

func TestPreflightNeedsAnAbsoluteURL(t *testing.T) {
	rel := shipprod.Release{Version: "1.2.0", Tag: "v1.2.0"}
	relative := []health.CheckConfig{
		{Name: "api", HTTP: "/health"},
		{Name: "tcp", TCP: "db.internal:5432"}, // not a URL: nothing to resolve
		{Name: "version", Version: "/version"},
	}
	for _, tc := range []struct {
		name string
		cfg  health.Config
		want []string // "" means the pre-flight passes
	}{
		{"absolute URLs", health.Config{Checks: []health.CheckConfig{{Name: "api", HTTP: "https://www.example.com/health"}}}, nil},
		{"relative URLs and base_url", health.Config{BaseURL: "https://www.example.com/app", Checks: relative}, nil},
		{"relative URLs without base_url", health.Config{Checks: relative}, []string{
			`health check "api": URL "/health" is relative and health.base_url is not set`,
			`health check "version": URL "/version" is relative`,
			"set health.base_url to the production URL",
		}},
	} {
		c, err := health.New(tc.cfg, health.Options{})
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		err = c.Preflight(context.Background(), rel)
		if len(tc.want) == 0 {
			if err != nil {
				t.Errorf("%s: %v", tc.name, err)
			}
			continue
		}
		for _, w := range tc.want {
			if err == nil || !strings.Contains(err.Error(), w) {
				t.Errorf("%s: %v, want %q", tc.name, err, w)
			}
		}
		if strings.Contains(err.Error(), "tcp") {
			t.Errorf("%s: a tcp check has no URL to complain about: %v", tc.name, err)
		}
	}
}
