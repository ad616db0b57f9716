package gate

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/shipprod/shipprod"
)

// FuzzApplyPlan: whatever the file, recording a run either fails or gives a
// file that parses, and recording the same run again changes nothing.
func FuzzApplyPlan(f *testing.F) {
	files, _ := filepath.Glob("testdata/specflow/*.yaml")
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err == nil {
			f.Add(data)
		}
	}
	for _, s := range []string{
		"deployment: {production: {version: 1.0.0}}\n",
		"deployment:\n  production: null\nworkflow: {phase: x, completed_phases: [a, 'ship:ship-prod']}\n",
		"d: &d {url: x}\ndeployment:\n  production: *d\nphases:\n- name: ship-prod\n  status: x\n",
		"phases: {ship: pending}\nstatus: planning\nlast_updated: 1970-01-01T00:00:00Z",
		"workflow:\r\n  phase_timing:\r\n    ship:ship-prod:\r\n      started_at: x\r\n      completed_at: y\r\n",
	} {
		f.Add([]byte(s))
	}
	t0 := time.Date(2025, 12, 1, 10, 0, 0, 0, time.UTC)
	res := shipprod.Result{Outcome: shipprod.OutcomeShipped, StartedAt: t0,
		Release:    shipprod.Release{Version: "1.1.0", PreviousVersion: "1.0.0", Tag: "v1.1.0", ReleaseURL: "https://x/r"},
		Deployment: &shipprod.Deployment{ID: "dpl_1", URL: "https://app", FinishedAt: t0.Add(time.Minute)},
		Steps:      []shipprod.StepRecord{{Step: shipprod.StepTag, Status: shipprod.StepDone, StartedAt: t0, Duration: time.Second}}}
	plans := []recordPlan{planFor(res)}
	res.Outcome = shipprod.OutcomeReleased
	res.Deployment = nil
	plans = append(plans, planFor(res))
	f.Fuzz(func(t *testing.T, src []byte) {
		if len(src) > 1<<14 {
			return
		}
		for _, p := range plans {
			out, _, err := applyPlan(src, p)
			if err != nil {
				continue
			}
			if _, err := parseState("", out); err != nil {
				t.Fatalf("the written file does not parse: %v\n%s", err, out)
			}
			again, _, err := applyPlan(out, p)
			if err != nil {
				t.Fatalf("the written file cannot be written again: %v\n%s", err, out)
			}
			if !bytes.Equal(again, out) {
				t.Fatalf("a second write changed the file:\n%s\n---\n%s", out, again)
			}
		}
	})
}
