package shipprod_test

import (
	"context"
	"fmt"

	"github.com/shipprod/shipprod"
	"github.com/shipprod/shipprod/gate"
)

// hookDeployer is a custom Deployer: anything with a Deploy method will do.
type hookDeployer struct{ url string }

func (d hookDeployer) Deploy(ctx context.Context, rel shipprod.Release) (shipprod.Deployment, error) {
	// A real deployer would call its platform here and wait until the release is live.
	return shipprod.Deployment{Provider: "hook", ID: "deploy-" + rel.Version, URL: d.url}, nil
}

// smokeTest is a custom HealthChecker: a release nothing verified is
// "not verified", never "shipped".
type smokeTest struct{}

func (smokeTest) Check(ctx context.Context, rel shipprod.Release, dep shipprod.Deployment) (shipprod.HealthReport, error) {
	// A real check would request dep.URL and look at the answer.
	return shipprod.HealthReport{Checks: []shipprod.CheckResult{{Name: "home", Kind: "http", Target: dep.URL, Status: shipprod.HealthPass}}}, nil
}

// Compose a Pipeline from the steps you need; nil steps are skipped and the
// skips are reported.
func Example() {
	p := &shipprod.Pipeline{
		Gates:    gate.Static("ci", gate.Approved("staging_validation")),
		Release:  shipprod.Release{Version: "1.4.0", Tag: "v1.4.0"}, // no Versioner: ship this release as given
		Deployer: hookDeployer{url: "https://app.example.com"},
		Health:   smokeTest{},
		Observer: shipprod.ObserverFunc(func(e shipprod.Event) {
			if e.Kind == shipprod.EventFinished {
				fmt.Printf("%s... ✅\n", e.Title)
			}
		}),
	}
	res, err := p.Run(context.Background())
	if err != nil {
		fmt.Println("not shipped:", err)
		return
	}
	fmt.Println(res.Outcome, res.Deployment.ID, res.Deployment.URL)
	// Output:
	// Verifying release gates... ✅
	// Deploying v1.4.0 to production... ✅
	// Running health checks... ✅
	// shipped deploy-1.4.0 https://app.example.com
}

// Plan lists every side effect before anything happens.
func ExamplePipeline_Plan() {
	p := &shipprod.Pipeline{
		Release:  shipprod.Release{Version: "1.4.0", Tag: "v1.4.0"},
		Deployer: hookDeployer{},
	}
	plan, err := p.Plan(context.Background())
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, a := range plan.Actions() {
		fmt.Println(a)
	}
	// Output:
	// [deploy] deploy v1.4.0 with shipprod_test.hookDeployer
}
