// Package provider is the registry of deployers, in the style of
// database/sql drivers: a deployer package registers a Factory under a name
// in its init function, and a program builds whichever deployer its
// configuration names. A custom deployer therefore needs only a blank import:
//
//	import _ "example.com/release/mydeployer"
//
//	dep, err := provider.Open(ctx, "my-deployer", provider.Env{Config: section})
//
// The optional capabilities a Deployer may have (rolling back, reading what
// production runs, naming the build it will promote, following a deployment
// an interrupted run started) are declared in the root package, in one
// place: see shipprod.DeployerAs and shipprod.Capabilities.
//
// The built-in deployers live in the sub-packages gitpush, vercel and
// githubactions; providertest is the conformance kit every deployer should pass.
package provider

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"

	"gopkg.in/yaml.v3"

	"github.com/shipprod/shipprod"
	"github.com/shipprod/shipprod/internal/yamlstrict"
)

// Factory builds a Deployer from its environment. It should validate its
// configuration fully, so that a mistake is reported before anything ships.
type Factory func(ctx context.Context, env Env) (shipprod.Deployer, error)

// Section is a deployer's own configuration section.
type Section interface {
	// Decode decodes the section into v strictly: a key v does not have is
	// an error naming the key and its line.
	Decode(v any) error
}

// Env is what a Factory gets to build a Deployer.
type Env struct {
	// Name is the name the deployer is opened under.
	Name string
	// Config is the deployer's configuration section; nil means empty.
	Config Section
	// Dir is the repository's working tree ("" means the current directory).
	Dir string
	// Facts are values the pipeline knows about the release context, e.g.
	// "staging.deployment_id" from Spec-Flow's state.yaml.
	Facts map[string]string
	// Clock is the time source for polling; nil means shipprod.SystemClock().
	Clock shipprod.Clock
	// Logger receives diagnostics; nil discards them.
	Logger *slog.Logger
	// HTTPClient is the client for API calls; nil means a default client.
	HTTPClient *http.Client
	// Getenv reads secrets (tokens) from the environment; nil means os.Getenv.
	Getenv func(string) string
}

// Decode decodes the deployer's section into v (strictly); an absent
// section leaves v as it is.
func (e Env) Decode(v any) error {
	if e.Config == nil {
		return nil
	}
	return e.Config.Decode(v)
}

// ClockOrDefault returns e.Clock or the system clock.
func (e Env) ClockOrDefault() shipprod.Clock {
	if e.Clock != nil {
		return e.Clock
	}
	return shipprod.SystemClock()
}

// LoggerOrDefault returns e.Logger or a logger that discards.
func (e Env) LoggerOrDefault() *slog.Logger {
	if e.Logger != nil {
		return e.Logger
	}
	return slog.New(slog.DiscardHandler)
}

// EnvVar returns the environment variable name, through e.Getenv.
func (e Env) EnvVar(name string) string {
	if e.Getenv != nil {
		return e.Getenv(name)
	}
	return os.Getenv(name)
}

// The registry is the one piece of package-level mutable state in shipprod:
// an explicit registry, like database/sql's drivers.
var (
	mu        sync.RWMutex
	factories = map[string]Factory{}
)

// Register makes a deployer available under name. It panics if name is
// empty, f is nil or name is already registered, since that is a programming
// error found at init time.
func Register(name string, f Factory) {
	mu.Lock()
	defer mu.Unlock()
	if name == "" || f == nil {
		panic("provider: Register needs a name and a factory")
	}
	if _, dup := factories[name]; dup {
		panic("provider: Register called twice for deployer " + name)
	}
	factories[name] = f
}

// Names returns the registered deployer names, sorted.
func Names() []string {
	mu.RLock()
	defer mu.RUnlock()
	names := make([]string, 0, len(factories))
	for n := range factories {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// UnknownError is returned by Open for a name nobody registered.
type UnknownError struct {
	Name  string
	Known []string
}

func (e *UnknownError) Error() string {
	known := "none"
	if len(e.Known) > 0 {
		known = strings.Join(e.Known, ", ")
	}
	return fmt.Sprintf("unknown deployer %q (forgotten import?); known deployers: %s", e.Name, known)
}

// Open builds the deployer registered under name.
func Open(ctx context.Context, name string, env Env) (shipprod.Deployer, error) {
	mu.RLock()
	f, ok := factories[name]
	mu.RUnlock()
	if !ok {
		return nil, &UnknownError{Name: name, Known: Names()}
	}
	env.Name = name
	d, err := f(ctx, env)
	if err != nil {
		return nil, fmt.Errorf("deployer %s: %w", name, err)
	}
	return d, nil
}

// YAMLSection is a Section read from a YAML configuration file.
type YAMLSection struct {
	// File names the configuration file in messages.
	File string
	// Path is the section's dotted path in the file, e.g. "deploy.vercel".
	Path string
	Node *yaml.Node
}

// Decode implements Section.
func (s YAMLSection) Decode(v any) error {
	if s.Node == nil {
		return nil
	}
	return yamlstrict.Decode(s.File, s.Path, s.Node, v)
}

// ParseSection returns the Section for a YAML text, for tests and for
// programs that keep deployer settings outside a file.
func ParseSection(text string) (Section, error) {
	var n yaml.Node
	if err := yaml.Unmarshal([]byte(text), &n); err != nil {
		return nil, err
	}
	if len(n.Content) == 0 {
		return YAMLSection{}, nil
	}
	return YAMLSection{Node: n.Content[0]}, nil
}
