package provider_test

import (
	"context"
	"fmt"

	"github.com/shipprod/shipprod"
	"github.com/shipprod/shipprod/provider"
)

// A deployer package registers its factory in init; a program then builds
// whichever deployer its configuration names.
func ExampleRegister() {
	type config struct {
		URL string `yaml:"url"`
	}
	provider.Register("example-static", func(ctx context.Context, env provider.Env) (shipprod.Deployer, error) {
		var cfg config
		if err := env.Decode(&cfg); err != nil { // strict: unknown keys are errors
			return nil, err
		}
		return deployFunc(func(ctx context.Context, rel shipprod.Release) (shipprod.Deployment, error) {
			return shipprod.Deployment{Provider: env.Name, ID: rel.Tag, URL: cfg.URL}, nil
		}), nil
	})

	section, _ := provider.ParseSection("url: https://www.example.com\n")
	d, err := provider.Open(context.Background(), "example-static", provider.Env{Config: section})
	if err != nil {
		fmt.Println(err)
		return
	}
	dep, _ := d.Deploy(context.Background(), shipprod.Release{Tag: "v1.2.0"})
	fmt.Println(dep.Provider, dep.ID, dep.URL)

	_, err = provider.Open(context.Background(), "example-statik", provider.Env{})
	fmt.Println(err != nil)
	// Output:
	// example-static v1.2.0 https://www.example.com
	// true
}

type deployFunc func(context.Context, shipprod.Release) (shipprod.Deployment, error)

func (f deployFunc) Deploy(ctx context.Context, rel shipprod.Release) (shipprod.Deployment, error) {
	return f(ctx, rel)
}
