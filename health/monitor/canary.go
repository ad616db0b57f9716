package monitor

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"text/template"

	"github.com/shipprod/shipprod"
)

// CanaryQuery is what the query template of a compare: canary gate
// receives. It is rendered twice per stage: for the canary (Role
// "canary", Deployment the canary) and for the baseline (Role
// "baseline", Deployment the baseline), so that one template measures
// both, e.g.
//
//	sum(rate(http_requests_total{deployment="{{.Deployment.ID}}",code=~"5.."}[1m]))
//	  / sum(rate(http_requests_total{deployment="{{.Deployment.ID}}"}[1m]))
//
// Canary and Baseline are both deployments, whichever is rendered, for the
// queries that need to name the other one.
type CanaryQuery struct {
	Role       string
	Deployment QueryDeployment
	Canary     QueryDeployment
	Baseline   QueryDeployment
}

// QueryDeployment is a deployment as a query template sees it. A field
// the deployer does not know is empty; the canary's Version and Tag
// default to the release's, the baseline's to the previous release's.
type QueryDeployment struct {
	Provider    LabelValue
	ID          LabelValue
	URL         LabelValue
	Environment LabelValue
	Commit      LabelValue
	Version     LabelValue
	Tag         LabelValue
}

// LabelValue is a value for a PromQL label matcher. A template prints it
// escaped for a double-quoted PromQL string, so that
// deployment="{{.Deployment.ID}}" is a valid matcher whatever the ID
// holds; {{.Deployment.ID.Regex}} escapes it for a regular-expression
// matcher (=~"…"), and {{.Deployment.ID.Raw}} gives it as it is.
type LabelValue string

// String escapes v for the inside of a double-quoted PromQL string.
func (v LabelValue) String() string { return quoteInner(string(v)) }

// Regex escapes v for the inside of a double-quoted regular expression:
// it matches v literally.
func (v LabelValue) Regex() string { return quoteInner(regexp.QuoteMeta(string(v))) }

// Raw is v unescaped.
func (v LabelValue) Raw() string { return string(v) }

// quoteInner escapes s as PromQL (like Go) escapes a double-quoted string,
// without the quotes.
func quoteInner(s string) string {
	q := strconv.Quote(s)
	return q[1 : len(q)-1]
}

// Roles of a rendered canary query.
const (
	roleCanary   = "canary"
	roleBaseline = "baseline"
)

func queryDeployment(d shipprod.Deployment, version, tag string) QueryDeployment {
	if d.Version != "" {
		version, tag = d.Version, d.Tag
	}
	return QueryDeployment{Provider: LabelValue(d.Provider), ID: LabelValue(d.ID), URL: LabelValue(d.URL),
		Environment: LabelValue(d.Environment), Commit: LabelValue(d.Commit), Version: LabelValue(version), Tag: LabelValue(tag)}
}

// canaryQueries renders a canary gate's query for the canary and for the
// baseline.
func canaryQueries(tmpl *template.Template, rel shipprod.Release, canary, baseline shipprod.Deployment) (queries [2]string, err error) {
	c := queryDeployment(canary, rel.Version, rel.Tag)
	b := queryDeployment(baseline, rel.PreviousVersion, rel.PreviousTag)
	for i, side := range []struct {
		role string
		dep  QueryDeployment
	}{{roleCanary, c}, {roleBaseline, b}} {
		var buf bytes.Buffer
		if err := tmpl.Execute(&buf, CanaryQuery{Role: side.role, Deployment: side.dep, Canary: c, Baseline: b}); err != nil {
			return queries, fmt.Errorf("rendering the query for the %s: %w", side.role, err)
		}
		queries[i] = strings.TrimSpace(buf.String())
		if queries[i] == "" {
			return queries, fmt.Errorf("the query renders empty for the %s", side.role)
		}
	}
	if queries[0] == queries[1] {
		return queries, fmt.Errorf("the query renders the same for the canary and the baseline (%s): it must tell them apart, e.g. with {{.Deployment.ID}}", queries[0])
	}
	return queries, nil
}

// sampleRelease and the sample deployments are what a canary query
// template is tried on when the configuration is checked: every field
// differs between the two.
var (
	sampleRelease = shipprod.Release{Version: "2.7.0", Tag: "v2.7.0", PreviousVersion: "2.6.3", PreviousTag: "v2.6.3"}
	sampleCanary  = shipprod.Deployment{Provider: "canary-provider", ID: "dpl_canary", URL: "https://canary.example.com",
		Environment: "production", Commit: "c0ffee0"}
	sampleBaseline = shipprod.Deployment{Provider: "baseline-provider", ID: "dpl_baseline", URL: "https://baseline.example.com",
		Environment: "production-baseline", Commit: "beef000"}
)

// parseCanaryQuery parses a canary gate's query template and tries it on
// sample deployments.
func parseCanaryQuery(q string) (*template.Template, error) {
	tmpl, err := template.New("query").Option("missingkey=error").Parse(q)
	if err != nil {
		return nil, fmt.Errorf("query is not a valid template: %w", err)
	}
	if _, err := canaryQueries(tmpl, sampleRelease, sampleCanary, sampleBaseline); err != nil {
		return nil, fmt.Errorf("query template: %w", err)
	}
	return tmpl, nil
}

// validateCanary checks the settings of a compare: canary gate: the keys
// that only threshold and baseline comparisons take are refused, and so
// are the limits the judge replaces.
func validateCanary(gc GateConfig) []string {
	var problems []string
	forbid := func(key string, set bool, why string) {
		if set {
			problems = append(problems, fmt.Sprintf("%s does not apply to compare: canary (%s)", key, why))
		}
	}
	const judged = "the judge compares the canary with the baseline"
	forbid("max", gc.Max != nil, judged)
	forbid("min", gc.Min != nil, judged)
	forbid("max_increase", gc.MaxIncrease != nil, "use judge.allowed_increase or judge.min_effect")
	forbid("max_ratio", gc.MaxRatio != nil, "use judge.allowed_increase")
	forbid("min_delta", gc.MinDelta != 0, "use judge.min_effect")
	forbid("worse", gc.Worse != "", "use judge.direction")
	forbid("baseline_query", gc.BaselineQuery != "", "the query template is rendered for the baseline deployment too")
	forbid("traffic_query", gc.TrafficQuery != "", "a side without traffic has no data, which the judge leaves out")
	forbid("min_traffic", gc.MinTraffic != 0, "a side without traffic has no data, which the judge leaves out")
	forbid("no_data", gc.NoData != "", "a measurement without data is left out; judge.must_have_data fails a gate without enough")
	forbid("failure_limit", gc.FailureLimit != 0, "the judge decides from all the points of the stage")
	forbid("inconclusive_limit", gc.InconclusiveLimit != 0, "monitor.judge.min_points says how many points are needed")
	return problems
}

// errNoRollout refuses a canary gate when the Pipeline has no rollout.
var errNoRollout = errors.New("compare: canary needs a rollout in stages (Options.Rollout, the Pipeline's rollout, has none): " +
	"the canary is compared with the deployment that serves the rest of the traffic during a stage")

// canaryState is what a canary gate gathers over a window: its rendered
// queries and every point measured on each side. The judge compares the
// whole samples, so they grow with the window, by 16 bytes per interval.
type canaryState struct {
	queries          [2]string
	canary, baseline []float64
}

// add keeps the values a measurement took.
func (cs *canaryState) add(meas Measurement) {
	if meas.Value != nil {
		cs.canary = append(cs.canary, *meas.Value)
	}
	if meas.Baseline != nil {
		cs.baseline = append(cs.baseline, *meas.Baseline)
	}
}

// measureCanary measures a canary gate on both sides: passed when both
// gave a value (a point for the judge, not a judgement), inconclusive when
// a side had no data, error when a side's query failed. The side that
// gave a value keeps it either way.
func (m *Monitor) measureCanary(ctx context.Context, g *gate, cs *canaryState) Measurement {
	meas := Measurement{Phase: shipprod.VerdictPassed}
	var texts, errs []string
	for i, role := range []string{roleCanary, roleBaseline} {
		v, ok, detail, err := m.queryValue(ctx, cs.queries[i])
		switch {
		case err != nil:
			errs = append(errs, role+": "+err.Error())
			texts = append(texts, role+" error")
		case !ok:
			if meas.Phase == shipprod.VerdictPassed {
				meas.Phase = shipprod.VerdictInconclusive
			}
			texts = append(texts, fmt.Sprintf("%s no data (%s)", role, detail))
		default:
			if i == 0 {
				meas.Value = finite(v)
			} else {
				meas.Baseline = finite(v)
			}
			texts = append(texts, role+" "+formatValue(v, g.cfg.Unit))
		}
	}
	meas.Message = strings.Join(texts, " vs ")
	if len(errs) > 0 {
		meas.Phase = shipprod.VerdictError
		meas.Message = "error: " + strings.Join(errs, "; ")
	}
	return meas
}
