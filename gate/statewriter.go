package gate

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/shipprod/shipprod"
	"github.com/shipprod/shipprod/internal/atomicfile"
	"github.com/shipprod/shipprod/internal/yamlstrict"
)

// StateConfig is the state section of shipprod.yaml:
//
//	state:
//	  path: specs/003-checkout/state.yaml   # default: the file SpecFlow finds
//	  write: false                          # default true
//
// The short form "state: specs/003-checkout/state.yaml" sets the path only.
type StateConfig struct {
	// Path is the state file, relative to the project root; empty means the
	// highest-numbered specs/NNN-*/state.yaml (or epics/NNN-*/state.yaml).
	Path string `yaml:"path"`
	// Write records each run in the state file (StateWriter); nil means true.
	Write *bool `yaml:"write"`
}

// WriteEnabled reports whether runs are written back to the state file.
func (c StateConfig) WriteEnabled() bool { return c.Write == nil || *c.Write }

// UnmarshalYAML accepts the mapping and the short form (a path), and
// refuses unknown keys as the rest of the configuration does.
func (c *StateConfig) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		if !isNull(n) {
			c.Path = n.Value
		}
		return nil
	}
	type fields StateConfig // without this method
	return yamlstrict.Decode("", "state", n, (*fields)(c))
}

// StateWriter records a run in the Spec-Flow state file that the gates
// read, in the file's own dialect, as Spec-Flow's own ship scripts do: the
// production deployment block (deployment.production.*) and the phase
// fields. The package documentation says what is written for each dialect
// and each outcome.
//
// The file is edited in place (see the package documentation): only the
// lines that record the run change. It is written atomically and keeps its
// permissions. A file that is not valid YAML, or that cannot be edited in
// place, is refused with an error naming it, and nothing is written.
//
// StateWriter is a shipprod.Reporter (combine it with the ship report with
// shipprod.Reporters), a shipprod.ActionPlanner and a shipprod.Preflighter.
type StateWriter struct {
	// SpecFlow finds the file: pass the GateSource, so that the file written
	// is the file the gates read.
	SpecFlow *SpecFlow
}

func (w *StateWriter) String() string { return "Spec-Flow state file" }

// locate returns the state file's path and its path for people.
func (w *StateWriter) locate() (path, display string, err error) {
	if w.SpecFlow == nil {
		return "", "", errors.New("gate.StateWriter: no SpecFlow to locate the state file")
	}
	path, _, err = w.SpecFlow.Locate()
	if err != nil {
		return "", "", err
	}
	return path, w.SpecFlow.display(path), nil
}

// WriteReport implements shipprod.Reporter: it records res in the state
// file and returns the file's path. The file is rewritten only when the
// record changes it; its path is returned whenever it holds the record,
// so that the final report of a run (which replaces Result.Reports) still
// lists the file the run's first report wrote. Runs that changed nothing
// (blocked by the gates, nothing to release, failed or interrupted before
// the version commit, the tag or the deploy) are not recorded, and no path
// is returned.
func (w *StateWriter) WriteReport(ctx context.Context, res shipprod.Result) ([]string, error) {
	plan := planFor(res)
	if plan.phase == phaseNone {
		return nil, nil
	}
	path, display, err := w.locate()
	if err != nil {
		return nil, fmt.Errorf("updating the Spec-Flow state file: %w", err)
	}
	src, _, err := readState(path)
	if err != nil {
		return nil, fmt.Errorf("updating the Spec-Flow state file: %w", err)
	}
	out, _, err := applyPlan(src, plan)
	if err != nil {
		return nil, fmt.Errorf("updating the Spec-Flow state file %s: %w (nothing was written)", display, err)
	}
	if bytes.Equal(out, src) {
		return []string{display}, nil // already recorded: nothing to write
	}
	if err := atomicfile.WriteFile(path, out, 0o644); err != nil {
		return nil, fmt.Errorf("updating the Spec-Flow state file: %w", err)
	}
	return []string{display}, nil
}

// PlanActions implements shipprod.ActionPlanner.
func (w *StateWriter) PlanActions(ctx context.Context, rel shipprod.Release) ([]shipprod.Action, error) {
	// The description does not depend on the file's content, so that the
	// plan and each report's write list the same action.
	target := "the Spec-Flow state file"
	if _, display, err := w.locate(); err == nil {
		target = display
	}
	return []shipprod.Action{{Kind: shipprod.ActionWriteFile, Target: target,
		Description: fmt.Sprintf("update %s: deployment.production.* and the phase fields", target)}}, nil
}

// Preflight implements shipprod.Preflighter: the state file exists, is
// valid YAML, can be edited in place for a shipped and a rolled-back run,
// and can be written. Nothing is written.
func (w *StateWriter) Preflight(ctx context.Context, rel shipprod.Release) error {
	path, display, err := w.locate()
	if err != nil {
		return err
	}
	src, _, err := readState(path)
	if err != nil {
		return err
	}
	const hint = "or set state.write: false to leave the state file alone"
	for _, rolledBack := range []bool{false, true} {
		if _, _, err := applyPlan(src, planFor(sampleResult(rel, rolledBack))); err != nil {
			return &StateFileError{Path: display, Problem: "cannot record the run in the state file", Hint: "rewrite the value on one line, " + hint, Err: err}
		}
	}
	if err := writable(path); err != nil {
		return &StateFileError{Path: display, Problem: "the state file cannot be written", Hint: "make it and its directory writable, " + hint, Err: err}
	}
	return nil
}

// writable checks that path and its directory (for the atomic rename) can
// be written, without writing anything.
func writable(path string) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return dirWritable(filepath.Dir(path))
}

// sampleResult is a run of rel as the pipeline reports it, for the dry runs
// of PlanActions and Preflight.
func sampleResult(rel shipprod.Release, rolledBack bool) shipprod.Result {
	now := time.Now()
	dep := &shipprod.Deployment{ID: "preflight", URL: "https://preflight.invalid", StartedAt: now, FinishedAt: now}
	res := shipprod.Result{Outcome: shipprod.OutcomeShipped, StartedAt: now, Release: rel, Deployment: dep,
		Steps: []shipprod.StepRecord{{Step: shipprod.StepTag, Status: shipprod.StepDone, StartedAt: now}}}
	res.Release.ReleaseURL = cmp.Or(rel.ReleaseURL, "https://preflight.invalid/release")
	res.Release.PreviousVersion = cmp.Or(rel.PreviousVersion, "0.0.0")
	if rolledBack {
		res.Outcome = shipprod.OutcomeRolledBack
		res.Rollback = &shipprod.RollbackReport{Reason: "preflight", Target: rel.Previous(), FinishedAt: now,
			Restored: shipprod.Deployment{ID: "preflight-previous"}}
	}
	return res
}
