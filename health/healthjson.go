package health

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/shipprod/shipprod"
)

// healthDoc is an application/health+json document
// (draft-inadarei-api-health-check-06).
type healthDoc struct {
	Status    string                       `json:"status"`
	Version   string                       `json:"version"`
	ReleaseID string                       `json:"releaseId"`
	Output    string                       `json:"output"`
	Notes     []string                     `json:"notes"`
	Checks    map[string][]healthComponent `json:"checks"`
}

type healthComponent struct {
	ComponentID   string `json:"componentId"`
	ComponentType string `json:"componentType"`
	Status        string `json:"status"`
	ObservedValue any    `json:"observedValue"`
	ObservedUnit  string `json:"observedUnit"`
	Output        string `json:"output"`
}

// healthStatus maps a status word to pass, warn or fail, with the draft's
// aliases and those of common frameworks (Spring's UP/DOWN, hellofresh's
// "Partially Available"/"Unavailable"). Case does not matter.
func healthStatus(s string) (shipprod.HealthStatus, bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "pass", "ok", "up":
		return shipprod.HealthPass, true
	case "warn", "warning", "partially available", "degraded":
		return shipprod.HealthWarn, true
	case "fail", "error", "down", "unavailable":
		return shipprod.HealthFail, true
	}
	return "", false
}

func worse(a, b shipprod.HealthStatus) shipprod.HealthStatus {
	rank := map[shipprod.HealthStatus]int{shipprod.HealthPass: 0, shipprod.HealthWarn: 1, shipprod.HealthFail: 2}
	if rank[b] > rank[a] {
		return b
	}
	return a
}

// evalHealthJSON reads a health+json body. The status is the worst of the
// top-level status and every component's; detail names what is not passing.
func evalHealthJSON(body []byte) (shipprod.HealthStatus, string, error) {
	var doc healthDoc
	if err := json.Unmarshal(body, &doc); err != nil {
		return "", "", fmt.Errorf("body is not valid health+json: %v: %s", err, snippet(body))
	}
	if doc.Status == "" {
		return "", "", fmt.Errorf("health+json body has no status: %s", snippet(body))
	}
	status, ok := healthStatus(doc.Status)
	if !ok {
		return "", "", fmt.Errorf("health+json status %q is not pass, warn or fail", doc.Status)
	}
	var details []string
	if status != shipprod.HealthPass {
		d := "service " + string(status)
		if doc.Output != "" {
			d += fmt.Sprintf(" (%s)", oneLine(doc.Output))
		}
		details = append(details, d)
	}
	keys := make([]string, 0, len(doc.Checks))
	for k := range doc.Checks {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		for i, c := range doc.Checks[k] {
			if c.Status == "" {
				continue // the draft makes a component's status optional
			}
			cs, ok := healthStatus(c.Status)
			if !ok {
				cs = shipprod.HealthFail
			}
			if cs == shipprod.HealthPass {
				continue
			}
			status = worse(status, cs)
			name := k
			if len(doc.Checks[k]) > 1 {
				name = fmt.Sprintf("%s[%d]", k, i)
			}
			d := fmt.Sprintf("%s %s", name, strings.ToLower(c.Status))
			if c.ObservedValue != nil {
				d += fmt.Sprintf(" observed %s%s", jsonText(c.ObservedValue), c.ObservedUnit)
			}
			if c.Output != "" {
				d += fmt.Sprintf(" (%s)", oneLine(c.Output))
			}
			details = append(details, d)
		}
	}
	return status, strings.Join(details, ", "), nil
}

func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 200 {
		s = s[:197] + "..."
	}
	return s
}
