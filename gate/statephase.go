package gate

import (
	"time"

	"gopkg.in/yaml.v3"
)

// phaseWords spells a phaseState in one dialect's vocabulary.
type phaseWords struct{ done, failed, running string }

var (
	// workflow.status, the template's status, create-new-feature.sh's
	// phases[].status, ship-recover.sh's status and phases.<p>.status.
	workflowWords = phaseWords{"completed", "failed", "in_progress"}
	// The minimal feature/epic templates: status and phases.<p>.
	statusWords = phaseWords{"shipped", "blocked", "in-progress"}
	phaseMap    = phaseWords{"done", "blocked", "in-progress"}
)

func (w phaseWords) of(p phaseState) string {
	switch p {
	case phaseDone:
		return w.done
	case phaseFailed:
		return w.failed
	}
	return w.running
}

// shipPhase is the production phase's name without the runtime "ship:"
// namespace: deploy-prod for direct-prod (phases.yaml), else ship-prod.
func (r *recorder) shipPhase() string {
	if r.model == "direct-prod" {
		return "deploy-prod"
	}
	return "ship-prod"
}

// phases updates every phase field the file has, each in its own shape;
// none is added that the file does not have.
func (r *recorder) phases() error {
	ed, root := r.ed, r.ed.root
	steps := []func() error{}
	if wf := deref(ownValue(root, "workflow")); wf != nil && wf.Kind == yaml.MappingNode {
		if hasAny(wf, "phase", "completed_phases", "failed_phases", "phase_timing") {
			steps = append(steps, r.runtime)
		}
		if ownIndex(wf, "current_phase") >= 0 {
			steps = append(steps, func() error { return r.setIn("workflow", "current_phase", r.recoveredPhase()) })
		}
	}
	if ownIndex(root, "current_phase") >= 0 {
		steps = append(steps, func() error { return r.setIn("", "current_phase", r.shipPhase()) })
	}
	if ownIndex(root, "phase") >= 0 {
		steps = append(steps, func() error { return r.setIn("", "phase", r.shipPhase()) })
	}
	if l := ed.list(root, "completed_phases"); l != nil {
		steps = append(steps, func() error {
			return r.listMembership(root, "", "completed_phases", r.shipPhase(), r.plan.phase == phaseDone)
		})
	}
	switch ph := deref(ownValue(root, "phases")); {
	case ph != nil && ph.Kind == yaml.MappingNode:
		steps = append(steps, r.phaseMap)
	case ph != nil && ph.Kind == yaml.SequenceNode:
		steps = append(steps, r.phaseList)
	}
	if ownIndex(root, "status") >= 0 {
		words := workflowWords
		if r.minimal() {
			words = statusWords
		}
		steps = append(steps, func() error { return r.setIn("", "status", words.of(r.plan.phase)) })
	}
	if ownIndex(root, "last_updated") >= 0 {
		steps = append(steps, func() error { return r.setNode("", "last_updated", timeNode(r.plan.end)) })
	}
	if f := deref(ownValue(root, "feature")); f != nil && f.Kind == yaml.MappingNode && ownIndex(f, "last_updated") >= 0 {
		steps = append(steps, func() error { return r.setNode("feature", "last_updated", timeNode(r.plan.end)) })
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return err
		}
	}
	return nil
}

func hasAny(m *yaml.Node, keys ...string) bool {
	for _, k := range keys {
		if ownIndex(m, k) >= 0 {
			return true
		}
	}
	return false
}

// minimal reports whether the file is the minimal feature/epic template:
// phases is a mapping of plain statuses.
func (r *recorder) minimal() bool {
	ph := deref(ownValue(r.ed.root, "phases"))
	if ph == nil || ph.Kind != yaml.MappingNode {
		return false
	}
	for i := 1; i < len(ph.Content); i += 2 {
		if v := deref(ph.Content[i]); v != nil && v.Kind != yaml.ScalarNode {
			return false
		}
	}
	return true
}

// recoveredPhase is workflow.current_phase's value: ship-recover.sh names
// the whole ship "ship" (with phases.ship); other files use ship-prod. It
// follows the key phaseMap writes (ship unless the map has ship-prod), so
// that the name is the same whether phases.ship was there before the run
// or the run added it: recording a run twice changes nothing the second
// time.
func (r *recorder) recoveredPhase() string {
	if ph := deref(ownValue(r.ed.root, "phases")); ph != nil && ph.Kind == yaml.MappingNode && ownIndex(ph, "ship-prod") < 0 {
		return "ship"
	}
	return r.shipPhase()
}

// setIn sets the text value of key in the top-level mapping section ("" for
// the root).
func (r *recorder) setIn(section, key, value string) error {
	return r.setNode(section, key, strNode(value))
}

func (r *recorder) setNode(section, key string, v *yaml.Node) error {
	if v == nil {
		return nil
	}
	m := r.ed.root
	if section != "" {
		var err error
		if m, err = r.ed.mapping(m, "", section); err != nil {
			return err
		}
	}
	_, err := r.ed.set(m, section, key, v)
	return err
}

// runtime writes the runtime dialect's workflow block as Spec-Flow's
// update_workflow_phase and complete_phase_timing do.
func (r *recorder) runtime() error {
	ed := r.ed
	wf, err := ed.mapping(ed.root, "", "workflow")
	if err != nil {
		return err
	}
	name := "ship:" + r.shipPhase()
	if _, err := ed.set(wf, "workflow", "phase", strNode(name)); err != nil {
		return err
	}
	if _, err := ed.set(wf, "workflow", "status", strNode(workflowWords.of(r.plan.phase))); err != nil {
		return err
	}
	if err := r.listMembership(wf, "workflow", "completed_phases", name, r.plan.phase == phaseDone); err != nil {
		return err
	}
	if err := r.listMembership(wf, "workflow", "failed_phases", name, r.plan.phase == phaseFailed); err != nil {
		return err
	}
	if ownIndex(wf, "phase_timing") < 0 {
		return nil
	}
	timing, err := ed.mapping(wf, "workflow", "phase_timing")
	if err == nil {
		timing, err = ed.mapping(timing, "workflow.phase_timing", name)
	}
	if err != nil {
		return err
	}
	return r.timing(timing, "workflow.phase_timing."+name)
}

// timing writes a phase_timing entry: started_at and status, and, once the
// phase ended (completed or failed), completed_at and duration_seconds.
func (r *recorder) timing(m *yaml.Node, path string) error {
	p := r.plan
	if _, err := r.ed.set(m, path, "started_at", timeNode(p.start)); err != nil {
		return err
	}
	if p.phase == phaseRunning {
		for _, k := range []string{"completed_at", "duration_seconds"} {
			if err := r.ed.deleteKey(m, path, k); err != nil {
				return err
			}
		}
	} else {
		secs := int64(max(p.end.Sub(p.start), 0) / time.Second)
		if _, err := r.ed.set(m, path, "completed_at", timeNode(p.end)); err != nil {
			return err
		}
		if _, err := r.ed.set(m, path, "duration_seconds", intNode(secs)); err != nil {
			return err
		}
	}
	_, err := r.ed.set(m, path, "status", strNode(workflowWords.of(p.phase)))
	return err
}

// listMembership puts name in the list at key of m when in is true and
// takes it out otherwise (a phase is in completed_phases or in
// failed_phases, never both). A missing list is left missing.
func (r *recorder) listMembership(m *yaml.Node, path, key, name string, in bool) error {
	l := r.ed.list(m, key)
	if l == nil {
		return nil
	}
	path = joinPath(path, key)
	for i := len(l.Content) - 1; i >= 0; i-- {
		if item := deref(l.Content[i]); item.Kind == yaml.ScalarNode && item.Value == name {
			if in {
				return nil
			}
			if err := r.ed.removeItem(m, key, path, l, i); err != nil {
				return err
			}
		}
	}
	if in {
		r.ed.appendItem(l, path, strNode(name))
	}
	return nil
}

// phaseMap writes phases.<ship> of the minimal templates (a status) and of
// ship-recover.sh (a mapping with a status): ship-prod when the file has
// it, else ship, the name both use.
func (r *recorder) phaseMap() error {
	ed := r.ed
	ph, err := ed.mapping(ed.root, "", "phases")
	if err != nil {
		return err
	}
	key := "ship"
	if ownIndex(ph, "ship-prod") >= 0 {
		key = "ship-prod"
	}
	if r.minimal() {
		_, err := ed.set(ph, "phases", key, strNode(phaseMap.of(r.plan.phase)))
		return err
	}
	entry, err := ed.mapping(ph, "phases", key)
	if err != nil {
		return err
	}
	_, err = ed.set(entry, "phases."+key, "status", strNode(workflowWords.of(r.plan.phase)))
	return err
}

// phaseList writes create-new-feature.sh's list of {name, status,
// started_at}: the ship phase's item, added when it is missing.
func (r *recorder) phaseList() error {
	ed := r.ed
	l := ed.list(ed.root, "phases")
	if l == nil {
		return nil
	}
	name, status := r.shipPhase(), workflowWords.of(r.plan.phase)
	for _, item := range l.Content {
		if item.Kind != yaml.MappingNode {
			continue
		}
		if n := deref(ownValue(item, "name")); n != nil && n.Value == name {
			_, err := ed.set(item, "phases."+name, "status", strNode(status))
			return err
		}
	}
	item := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	ed.parent[item] = l
	for _, kv := range []struct {
		k string
		v *yaml.Node
	}{{"name", strNode(name)}, {"status", strNode(status)}, {"started_at", timeNode(r.plan.start)}} {
		if kv.v == nil {
			continue
		}
		if _, err := ed.set(item, "phases."+name, kv.k, kv.v); err != nil {
			return err
		}
	}
	ed.appendItem(l, "phases", item)
	return nil
}
