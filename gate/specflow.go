package gate

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/shipprod/shipprod"
)

// Gate names reported by SpecFlow.
const (
	StagingValidation  = "staging_validation"
	RollbackCapability = "rollback_capability"
)

// ErrNoStateFile means no Spec-Flow state file was found.
var ErrNoStateFile = errors.New("no Spec-Flow state file found")

// StateFileError is a state file that cannot be used: missing, unreadable or
// not YAML. It unwraps to the cause (fs.ErrNotExist for a missing file).
type StateFileError struct {
	Path string
	// Problem says what is wrong, Hint what to do.
	Problem string
	Hint    string
	Err     error
}

func (e *StateFileError) Error() string {
	msg := e.Path + ": " + e.Problem
	if e.Err != nil && !strings.Contains(e.Problem, e.Err.Error()) {
		msg += ": " + e.Err.Error()
	}
	if e.Hint != "" {
		msg += " (" + e.Hint + ")"
	}
	return msg
}

func (e *StateFileError) Unwrap() error { return e.Err }

// SpecFlow is the GateSource for Spec-Flow's state.yaml.
//
// The staging gate is read from the first of these keys that is present:
//
//	manual_gates.staging_validation.status             (template, skills)
//	workflow.manual_gates.staging_validation.status    (runtime initializer)
//	workflow.manual_gates.validate_staging.status
//	workflow.manual_gates."validate-staging".status
//	manual_gates[name=staging_validation|validate_staging|validate-staging].status  (epic schema: a list)
//
// and must be "approved" ("auto_skipped" passes only with AllowAutoSkipped).
// The rollback gate is read from the first present of:
//
//	quality_gates.rollback.status                       must be "passed"   (production skill)
//	quality_gates.rollback_capability.passed            must be true       (/validate-staging)
//	manual_gates.staging_validation.rollback_tested     must be true       (template)
type SpecFlow struct {
	// Path is the state file, relative to Dir unless absolute. When empty,
	// the newest specs/NNN-*/state.yaml under Dir by number is used, or,
	// when there is none, the newest epics/NNN-*/state.yaml.
	Path string
	// Dir is the project root; "" means the current directory.
	Dir string
	// AllowAutoSkipped accepts a staging gate Spec-Flow's auto mode skipped.
	AllowAutoSkipped bool
	// SkipRollbackGate does not require the rollback drill (e.g. for a first
	// deployment that has nothing to roll back to and no record of the drill).
	SkipRollbackGate bool
}

// State is a parsed Spec-Flow state file.
type State struct {
	// Path is the file, as found (relative to the project root when it was
	// searched for).
	Path string
	root *yaml.Node
}

// Locate returns the state file s uses and a note saying how it was chosen.
func (s *SpecFlow) Locate() (path, note string, err error) {
	dir := s.Dir
	if dir == "" {
		dir = "."
	}
	if s.Path != "" {
		path := s.Path
		if !filepath.IsAbs(path) {
			path = filepath.Join(dir, path)
		}
		return path, "state file " + s.display(path) + " (configured)", nil
	}
	for _, base := range []string{"specs", "epics"} {
		candidates, err := numberedStateFiles(dir, base)
		if err != nil {
			return "", "", err
		}
		if len(candidates) == 0 {
			continue
		}
		chosen := candidates[len(candidates)-1]
		rel := filepath.ToSlash(filepath.Join(base, chosen.dir, "state.yaml"))
		note := fmt.Sprintf("state file %s (the highest-numbered of %d under %s/)", rel, len(candidates), base)
		return filepath.Join(dir, base, chosen.dir, "state.yaml"), note, nil
	}
	return "", "", &StateFileError{
		Path:    filepath.Join(dir, "specs"),
		Problem: "no state file found: looked for specs/NNN-*/state.yaml and epics/NNN-*/state.yaml",
		Hint:    "run /feature to start one, or name the file with the state setting",
		Err:     ErrNoStateFile,
	}
}

type numbered struct {
	n   int
	dir string
}

var numberedDir = regexp.MustCompile(`^(\d+)-`)

// numberedStateFiles lists base/NNN-*/state.yaml under dir, lowest number first.
func numberedStateFiles(dir, base string) ([]numbered, error) {
	entries, err := os.ReadDir(filepath.Join(dir, base))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("looking for state files: %w", err)
	}
	var out []numbered
	for _, e := range entries {
		m := numberedDir.FindStringSubmatch(e.Name())
		if !e.IsDir() || m == nil {
			continue
		}
		if _, err := os.Stat(filepath.Join(dir, base, e.Name(), "state.yaml")); err != nil {
			continue
		}
		n, _ := strconv.Atoi(m[1])
		out = append(out, numbered{n, e.Name()})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].n != out[j].n {
			return out[i].n < out[j].n
		}
		return out[i].dir < out[j].dir
	})
	return out, nil
}

// Load reads and parses a state file.
func Load(path string) (*State, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		problem := "cannot read the state file"
		hint := "check the state setting"
		if errors.Is(err, fs.ErrNotExist) {
			problem = "state file does not exist"
			hint = "run /feature to create it, or fix the state setting"
		}
		return nil, &StateFileError{Path: path, Problem: problem, Hint: hint, Err: err}
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, &StateFileError{Path: path, Problem: "not valid YAML", Hint: "fix the file, or run /ship recover to rebuild it", Err: err}
	}
	if len(doc.Content) == 0 {
		return nil, &StateFileError{Path: path, Problem: "the state file is empty", Hint: "run /ship recover to rebuild it"}
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, &StateFileError{Path: path, Problem: fmt.Sprintf("line %d: the state file is a YAML %s, not a mapping of keys", root.Line, kindName(root)), Hint: "run /ship recover to rebuild it"}
	}
	return &State{Path: path, root: root}, nil
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.SequenceNode:
		return "list"
	case yaml.ScalarNode:
		return "scalar"
	}
	return "document"
}

// Lookup returns the scalar at a key path (each element a mapping key; a
// list is searched for the item whose "name" equals the element) with its
// line, and whether it is present. A present key with a null value counts
// as absent.
func (st *State) Lookup(path ...string) (value string, line int, ok bool) {
	n := st.root
	for _, key := range path {
		n = child(n, key)
		if n == nil {
			return "", 0, false
		}
	}
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		return "", 0, false
	}
	return n.Value, n.Line, true
}

func child(n *yaml.Node, key string) *yaml.Node {
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == key {
				return n.Content[i+1]
			}
		}
	case yaml.SequenceNode:
		for _, item := range n.Content {
			if name := child(item, "name"); name != nil && name.Value == key {
				return item
			}
		}
	}
	return nil
}

// Facts returns values from the state file that later steps can use:
// "staging.deployment_id", "staging.url", "production.url", "feature.slug",
// "deployment.model". Only keys present in the file are included.
func (st *State) Facts() map[string]string {
	facts := map[string]string{}
	lookups := []struct {
		fact string
		keys [][]string
	}{
		{"staging.deployment_id", [][]string{{"deployment", "staging", "deployment_id"}, {"deployment", "staging", "deployment_ids", "app"}}},
		{"staging.url", [][]string{{"deployment", "staging", "url"}, {"manual_gates", "staging_validation", "staging_url"}}},
		{"production.url", [][]string{{"deployment", "production", "url"}}},
		{"feature.slug", [][]string{{"feature", "slug"}, {"current_feature"}, {"feature"}, {"epic"}}},
		{"deployment.model", [][]string{{"deployment_model"}, {"deployment", "model"}}},
	}
	for _, l := range lookups {
		for _, k := range l.keys {
			if v, _, ok := st.Lookup(k...); ok && v != "" {
				facts[l.fact] = v
				break
			}
		}
	}
	return facts
}

// gateKey is one place a gate may be recorded and the value that passes there.
type gateKey struct {
	path []string
	pass string
}

var stagingKeys = []gateKey{
	{[]string{"manual_gates", "staging_validation", "status"}, "approved"},
	{[]string{"workflow", "manual_gates", "staging_validation", "status"}, "approved"},
	{[]string{"workflow", "manual_gates", "validate_staging", "status"}, "approved"},
	{[]string{"workflow", "manual_gates", "validate-staging", "status"}, "approved"},
	{[]string{"manual_gates", "validate_staging", "status"}, "approved"},
	{[]string{"manual_gates", "validate-staging", "status"}, "approved"},
}

var rollbackKeys = []gateKey{
	{[]string{"quality_gates", "rollback", "status"}, "passed"},
	{[]string{"quality_gates", "rollback_capability", "passed"}, "true"},
	{[]string{"manual_gates", "staging_validation", "rollback_tested"}, "true"},
}

// CheckGates implements shipprod.GateSource.
func (s *SpecFlow) CheckGates(ctx context.Context) (shipprod.GateReport, error) {
	path, note, err := s.Locate()
	if err != nil {
		return shipprod.GateReport{}, err
	}
	report := shipprod.GateReport{Source: s.display(path), Notes: []string{note}}
	st, err := Load(path)
	if err != nil {
		return report, err
	}
	st.Path = s.display(path)
	report.Gates = append(report.Gates, s.staging(st))
	if s.SkipRollbackGate {
		report.Notes = append(report.Notes, "rollback gate not required (configured)")
	} else {
		report.Gates = append(report.Gates, rollback(st))
	}
	return report, nil
}

// display is path as reports show it: relative to Dir when it is inside it.
func (s *SpecFlow) display(path string) string {
	if s.Dir == "" || !filepath.IsAbs(path) {
		return path
	}
	dir, err := filepath.Abs(s.Dir)
	if err != nil {
		return path
	}
	if rel, err := filepath.Rel(dir, path); err == nil && !strings.HasPrefix(rel, "..") {
		return filepath.ToSlash(rel)
	}
	return path
}

// find returns the first present key and its value.
func find(st *State, keys []gateKey) (key gateKey, value string, line int, found bool) {
	for _, k := range keys {
		if v, l, ok := st.Lookup(k.path...); ok {
			return k, v, l, true
		}
	}
	return keys[0], "", 0, false
}

func (s *SpecFlow) staging(st *State) shipprod.GateResult {
	key, value, line, found := find(st, stagingKeys)
	r := shipprod.GateResult{Name: StagingValidation, Source: source(st.Path, line), Key: strings.Join(key.path, "."), Found: value, Required: key.pass}
	switch v := strings.ToLower(strings.TrimSpace(value)); {
	case !found:
		r.Key = ""
		r.Hint = fmt.Sprintf("no staging validation is recorded under %s or %d other keys: deploy to staging with /ship-staging, then run /validate-staging", strings.Join(key.path, "."), len(stagingKeys)-1)
	case v == "approved":
		r.Passed = true
	case v == "auto_skipped" && s.AllowAutoSkipped:
		r.Passed = true
		r.Hint = "auto_skipped accepted (configured)"
	case v == "auto_skipped":
		r.Hint = "Spec-Flow's auto mode skipped the staging validation: run /validate-staging, or allow auto_skipped gates in the configuration"
	case v == "pending" || v == "waiting" || v == "in_progress":
		r.Hint = "staging validation is not finished: run /validate-staging and approve it"
	case v == "rejected" || v == "failed":
		r.Hint = "staging validation was rejected: fix the blockers in staging-validation-report.md, redeploy staging and run /validate-staging again"
	case v == "not_applicable":
		r.Hint = "staging validation is marked not_applicable: this state file has no staging phase (direct-prod or local-only); validate on staging with /validate-staging before shipping to production"
	default:
		r.Hint = "unknown status; Spec-Flow writes pending, approved, rejected or auto_skipped: run /validate-staging"
	}
	return r
}

func rollback(st *State) shipprod.GateResult {
	key, value, line, found := find(st, rollbackKeys)
	r := shipprod.GateResult{Name: RollbackCapability, Source: source(st.Path, line), Key: strings.Join(key.path, "."), Found: value, Required: key.pass}
	switch v := strings.ToLower(strings.TrimSpace(value)); {
	case !found:
		r.Key = ""
		r.Hint = fmt.Sprintf("no rollback drill is recorded under %s or %d other keys: run /validate-staging (it tests rolling staging back and forward)", strings.Join(key.path, "."), len(rollbackKeys)-1)
	case v == key.pass:
		r.Passed = true
	case v == "false" || v == "failed":
		r.Hint = "the staging rollback drill failed: fix rollback on staging and run /validate-staging again"
	default:
		r.Hint = "the staging rollback drill has not passed: run /validate-staging"
	}
	return r
}

func source(path string, line int) string {
	if line == 0 {
		return path
	}
	return fmt.Sprintf("%s:%d", path, line)
}
