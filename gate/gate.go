package gate

import (
	"context"

	"github.com/hashicorp/go-multierror"

	"github.com/shipprod/shipprod"
)

// Func adapts a function to a shipprod.GateSource.
type Func func(ctx context.Context) (shipprod.GateReport, error)

// CheckGates calls f.
func (f Func) CheckGates(ctx context.Context) (shipprod.GateReport, error) { return f(ctx) }

// Static returns a GateSource that always reports results, e.g. gates an
// importer has already checked elsewhere.
func Static(source string, results ...shipprod.GateResult) shipprod.GateSource {
	report := shipprod.GateReport{Source: source, Gates: results}
	for i := range report.Gates {
		if report.Gates[i].Source == "" {
			report.Gates[i].Source = source
		}
	}
	return Func(func(context.Context) (shipprod.GateReport, error) { return report, nil })
}

// Approved returns a passed gate result, for Static.
func Approved(name string) shipprod.GateResult {
	return shipprod.GateResult{Name: name, Found: "approved", Required: "approved", Passed: true, Key: name}
}

// All returns a GateSource that checks every source and merges their
// reports. Every source is checked even when one fails, so the report lists
// every gate that blocks; errors are combined.
func All(sources ...shipprod.GateSource) shipprod.GateSource {
	return Func(func(ctx context.Context) (shipprod.GateReport, error) {
		var merged shipprod.GateReport
		var errs *multierror.Error
		for _, s := range sources {
			r, err := s.CheckGates(ctx)
			if merged.Source == "" {
				merged.Source = r.Source
			} else if r.Source != "" {
				merged.Source += ", " + r.Source
			}
			merged.Notes = append(merged.Notes, r.Notes...)
			merged.Gates = append(merged.Gates, r.Gates...)
			if err != nil {
				errs = multierror.Append(errs, err)
			}
		}
		return merged, errs.ErrorOrNil()
	})
}
