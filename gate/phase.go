package gate

import (
	"fmt"
	"strings"

	"github.com/shipprod/shipprod"
)

// phaseKeys are where the dialects record the current phase, in the order
// they are read.
var phaseKeys = [][]string{
	{"current_phase"},             // skills, create-new-feature.sh
	{"workflow", "phase"},         // runtime initializer (namespaced: ship:ship-prod)
	{"phase"},                     // template
	{"workflow", "current_phase"}, // ship-recover.sh
}

func phaseKeyNames() []string {
	out := make([]string, len(phaseKeys))
	for i, k := range phaseKeys {
		out[i] = strings.Join(k, ".")
	}
	return out
}

// normPhase spells a phase for comparison: lower case, dashes, no "ship:"
// namespace ("ship:validate-staging" → "validate-staging").
func normPhase(p string) string {
	p = strings.ToLower(strings.TrimSpace(p))
	p = strings.TrimPrefix(p, "ship:")
	return strings.ReplaceAll(p, "_", "-")
}

// atShip reports whether phase (normalized) means the feature is ready for
// the production ship: see SpecFlow.
func atShip(phase, model string) bool {
	switch phase {
	case "ship-prod", "validate-staging", "deploy-prod", "ship":
		return true
	case "optimize":
		return model == "direct-prod"
	}
	return false
}

// phase is the phase result, and false when the file records no phase and
// RequirePhase is not set.
func (s *SpecFlow) phase(st *State) (shipprod.GateResult, bool) {
	model := st.Facts()["deployment.model"]
	r := shipprod.GateResult{Name: Phase, Source: st.Path, Required: "ship-prod", Advisory: !s.RequirePhase}
	for _, k := range phaseKeys {
		v, line, ok := st.Lookup(k...)
		if !ok {
			continue
		}
		r.Key, r.Found, r.Source = strings.Join(k, "."), v, source(st.Path, line)
		if r.Key == "workflow.phase" {
			r.Required = "ship:ship-prod"
			if model == "direct-prod" {
				r.Required = "ship:deploy-prod"
			}
		}
		r.Passed = atShip(normPhase(v), model)
		if !r.Passed {
			r.Hint = phaseHint(v)
		}
		return r, true
	}
	if !s.RequirePhase {
		return r, false
	}
	r.Hint = fmt.Sprintf("no phase is recorded under %s: run /ship to bring the feature to ship-prod, or record the phase", strings.Join(phaseKeyNames(), ", "))
	return r, true
}

func phaseHint(raw string) string {
	switch phase := normPhase(raw); phase {
	case "ship-staging":
		return "the feature is at ship-staging: finish /ship-staging, then run /validate-staging"
	case "finalize":
		return "the feature is at finalize: it has shipped already; ship a new change from its own feature (/feature)"
	case "spec-flow", "spec", "clarify", "plan", "tasks", "analyze", "validate", "implement", "optimize":
		return fmt.Sprintf("the feature is at %s, before the ship phases: finish it, then run /ship-staging and /validate-staging", raw)
	}
	return fmt.Sprintf("unknown phase %q: Spec-Flow's phases before production end with ship-staging, validate-staging, ship-prod", raw)
}
