// Package provider is the registry of deployers, in the style of
// database/sql drivers: a deployer package registers a Factory under a name
// in its init function, and a program builds whichever deployer its
// configuration names. A custom deployer therefore needs only a blank import:
//
//	import _ "example.com/release/mydeployer"
//
//	dep, err := provider.Open(ctx, "my-deployer", provider.Env{Config: section})
//
// Optional capabilities are optional interfaces a Deployer may implement,
// detected by type assertion: shipprod.Rollbacker to roll back, Promoter to
// put an existing, already validated build into production instead of
// building again, Canceler to cancel a deployment that is still in progress.
// Capabilities lists them for a Deployer.
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
	"slices"
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

// Canceler is implemented by deployers that can cancel a deployment still in
// progress (e.g. when its deadline passes).
type Canceler interface {
	Cancel(ctx context.Context, dep shipprod.Deployment) error
}

// Promoter is implemented by deployers that can put an existing, already
// built and validated deployment into production (for instance the Vercel
// deployment that staging validated) instead of building the release again.
// id is the provider's identifier of that deployment.
type Promoter interface {
	Promote(ctx context.Context, rel shipprod.Release, id string) (shipprod.Deployment, error)
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

// Capabilities lists the optional capabilities d implements, for messages
// and documentation ("rollback", "promote", "cancel", "plan").
func Capabilities(d shipprod.Deployer) []string {
	var caps []string
	if _, ok := d.(shipprod.Rollbacker); ok {
		caps = append(caps, "rollback")
	}
	if _, ok := d.(Promoter); ok {
		caps = append(caps, "promote")
	}
	if _, ok := d.(Canceler); ok {
		caps = append(caps, "cancel")
	}
	if _, ok := d.(shipprod.ActionPlanner); ok {
		caps = append(caps, "plan")
	}
	return slices.Clip(caps)
}
