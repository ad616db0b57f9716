package provider_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/shipprod/shipprod"
	"github.com/shipprod/shipprod/internal/yamlstrict"
	"github.com/shipprod/shipprod/provider"
)

// echoConfig is the configuration section of the test deployers.
type echoConfig struct {
	URL    string `yaml:"url"`
	Region string `yaml:"region"`
}

// echoDeployer deploys nothing and says where it would have.
type echoDeployer struct {
	name string
	cfg  echoConfig
}

func (d *echoDeployer) Deploy(ctx context.Context, rel shipprod.Release) (shipprod.Deployment, error) {
	return shipprod.Deployment{Provider: d.name, ID: rel.Tag, URL: d.cfg.URL, Commit: rel.Commit}, nil
}

func echoFactory(ctx context.Context, env provider.Env) (shipprod.Deployer, error) {
	var cfg echoConfig
	if err := env.Decode(&cfg); err != nil {
		return nil, err
	}
	if cfg.URL == "" {
		return nil, errors.New("url is required")
	}
	return &echoDeployer{name: env.Name, cfg: cfg}, nil
}

func init() {
	provider.Register("registrytest-echo", echoFactory)
}

func section(t *testing.T, text string) provider.Section {
	t.Helper()
	s, err := provider.ParseSection(text)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestOpenBuildsTheNamedDeployerWithItsSection(t *testing.T) {
	d, err := provider.Open(context.Background(), "registrytest-echo", provider.Env{Config: section(t, "url: https://example.test\nregion: eu\n")})
	if err != nil {
		t.Fatal(err)
	}
	dep, err := d.Deploy(context.Background(), shipprod.Release{Tag: "v1.0.0"})
	if err != nil {
		t.Fatal(err)
	}
	if dep.Provider != "registrytest-echo" || dep.URL != "https://example.test" {
		t.Fatalf("deployment = %+v, want provider registrytest-echo and the configured URL", dep)
	}
}

func TestOpenErrors(t *testing.T) {
	tests := []struct {
		name     string
		deployer string
		config   string
		want     []string
	}{
		{"unknown name lists the known ones", "registrytest-nope", "", []string{`unknown deployer "registrytest-nope" (forgotten import?)`, "registrytest-echo"}},
		{"unknown key is named with its line", "registrytest-echo", "url: https://x.test\nregoin: eu\n", []string{"line 2", `unknown key "regoin"`, "region, url"}},
		{"factory validation names the deployer", "registrytest-echo", "region: eu\n", []string{"deployer registrytest-echo: url is required"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := provider.Open(context.Background(), tt.deployer, provider.Env{Config: section(t, tt.config)})
			if err == nil {
				t.Fatal("Open succeeded, want an error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestOpenErrorsAreTyped(t *testing.T) {
	_, err := provider.Open(context.Background(), "registrytest-nope", provider.Env{})
	var unknown *provider.UnknownError
	if !errors.As(err, &unknown) || unknown.Name != "registrytest-nope" {
		t.Fatalf("errors.As(%v, *UnknownError) failed", err)
	}
	_, err = provider.Open(context.Background(), "registrytest-echo", provider.Env{Config: section(t, "url: x\nbogus: 1\n")})
	var strict *yamlstrict.Error
	if !errors.As(err, &strict) || strict.Key != "bogus" {
		t.Fatalf("errors.As(%v, *yamlstrict.Error) failed", err)
	}
}

func TestRegisterPanics(t *testing.T) {
	provider.Register("registrytest-dup", echoFactory)
	tests := []struct {
		name    string
		regName string
		f       provider.Factory
		want    string
	}{
		{"duplicate name", "registrytest-dup", echoFactory, "Register called twice for deployer registrytest-dup"},
		{"empty name", "", echoFactory, "needs a name"},
		{"nil factory", "registrytest-nil", nil, "needs a name and a factory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				r := recover()
				if r == nil {
					t.Fatal("Register did not panic")
				}
				if !strings.Contains(r.(string), tt.want) {
					t.Fatalf("panic %q does not contain %q", r, tt.want)
				}
			}()
			provider.Register(tt.regName, tt.f)
		})
	}
}

func TestNamesIsSorted(t *testing.T) {
	provider.Register("registrytest-a", echoFactory)
	names := provider.Names()
	var ours []string
	for _, n := range names {
		if strings.HasPrefix(n, "registrytest-") {
			ours = append(ours, n)
		}
	}
	if len(ours) < 2 || ours[0] != "registrytest-a" {
		t.Fatalf("Names() = %v, want sorted with registrytest-a first among ours", names)
	}
}

func TestEnvDefaults(t *testing.T) {
	var env provider.Env
	if env.ClockOrDefault() == nil || env.LoggerOrDefault() == nil {
		t.Fatal("defaults are nil")
	}
	var cfg echoConfig
	if err := env.Decode(&cfg); err != nil || cfg != (echoConfig{}) {
		t.Fatalf("decoding an absent section: %v, %+v", err, cfg)
	}
	env.Getenv = func(k string) string { return "v-" + k }
	if got := env.EnvVar("X"); got != "v-X" {
		t.Fatalf("EnvVar = %q", got)
	}
}
