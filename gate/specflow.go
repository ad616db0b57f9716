package gate

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/shipprod/shipprod"
	"github.com/shipprod/shipprod/internal/yamlstrict"
)

// Gate names reported by SpecFlow.
const (
	StagingDeployed    = "staging_deployed"
	StagingValidation  = "staging_validation"
	RollbackCapability = "rollback_capability"
	// Phase is advisory unless SpecFlow.RequirePhase is set.
	Phase = "phase"
)

// MaxStateFileSize is the largest state file SpecFlow and StateWriter read:
// 1 MiB. Spec-Flow's own state files are a few kilobytes (its template is
// 4.6 KB), so a file 200 times that size is not one, and parsing it into a
// node tree would cost many times its size in memory (a 52 MB state.yaml
// once cost 700 MB). A larger file is refused before it is read.
const MaxStateFileSize = 1 << 20

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
//
// Where the file records the staging deployment, it must say staging is
// deployed (staging_deployed): deployment.staging.deployed must be true
// (runtime initializer, /ship-staging), or else deployment.staging.deployed_at
// must hold a time (template). A file that records neither has no
// staging_deployed result.
//
// The phase result says whether the feature is at the production ship. It
// is read from the first present of current_phase (skills,
// create-new-feature.sh), workflow.phase (runtime), phase (template) and
// workflow.current_phase (ship-recover.sh), with any "ship:" prefix
// ignored. The feature is at the ship when the phase is
//
//	ship-prod         the phase itself (ship:ship-prod in the runtime dialect)
//	validate-staging  the phase before it: its end is the staging gate above
//	deploy-prod       direct-prod's production phase (ship:deploy-prod)
//	ship              ship-recover.sh's single ship phase
//	optimize          only when the deployment model is direct-prod
//
// Any other phase (spec-flow, spec, plan, implement, ship-staging, finalize,
// …) gives an advisory result: a warning that does not block, unless
// RequirePhase is set. A file that records no phase has no phase result
// (a note says so) unless RequirePhase is set, when it blocks.
//
// Values are read as a YAML decoder reads them: aliases and merge keys
// ("<<: *defaults") are followed, and a key written twice in one mapping
// is an error naming both lines.
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
	// RequirePhase makes the phase result blocking: the state file must say
	// the feature is at the production ship.
	RequirePhase bool
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

// Load reads and parses a state file. A file larger than MaxStateFileSize,
// not YAML, not a mapping, holding more than one document or a key twice in
// one mapping is refused with a *StateFileError naming the file (and the
// line, when there is one).
func Load(path string) (*State, error) {
	_, root, err := readState(path)
	if err != nil {
		return nil, err
	}
	return &State{Path: path, root: root}, nil
}

// readState reads a state file and parses it; it returns the file's bytes
// and the document's top mapping.
func readState(path string) ([]byte, *yaml.Node, error) {
	data, err := readLimited(path)
	if err != nil {
		return nil, nil, err
	}
	root, err := parseState(path, data)
	if err != nil {
		return nil, nil, err
	}
	return data, root, nil
}

// readLimited reads at most MaxStateFileSize bytes of path; a larger file
// is an error, and is not read into memory.
func readLimited(path string) ([]byte, error) {
	unreadable := func(err error) error {
		problem, hint := "cannot read the state file", "check the state setting"
		if errors.Is(err, fs.ErrNotExist) {
			problem, hint = "state file does not exist", "run /feature to create it, or fix the state setting"
		}
		return &StateFileError{Path: path, Problem: problem, Hint: hint, Err: err}
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, unreadable(err)
	}
	defer f.Close()
	tooLarge := func(size string) error {
		return &StateFileError{Path: path,
			Problem: fmt.Sprintf("state file too large: %s, over the %s limit for a state file", size, humanSize(MaxStateFileSize)),
			Hint:    "Spec-Flow's state files are a few kilobytes: check that the state setting names specs/NNN-slug/state.yaml", Err: ErrStateFileTooLarge}
	}
	if info, err := f.Stat(); err == nil && info.Size() > MaxStateFileSize {
		return nil, tooLarge(humanSize(info.Size()))
	}
	data, err := io.ReadAll(io.LimitReader(f, MaxStateFileSize+1))
	if err != nil {
		return nil, unreadable(err)
	}
	if len(data) > MaxStateFileSize {
		return nil, tooLarge("more than " + humanSize(MaxStateFileSize))
	}
	return data, nil
}

// ErrStateFileTooLarge means a state file is larger than MaxStateFileSize.
var ErrStateFileTooLarge = errors.New("state file too large")

func humanSize(n int64) string {
	const mib = 1 << 20
	switch {
	case n >= mib && n%mib == 0:
		return fmt.Sprintf("%d MiB", n/mib)
	case n >= mib:
		return fmt.Sprintf("%.1f MiB", float64(n)/mib)
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}

// parseState parses data as one YAML document holding a mapping.
func parseState(path string, data []byte) (*yaml.Node, error) {
	const rebuild = "fix the file, or run /ship recover to rebuild it"
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil && !errors.Is(err, io.EOF) {
		return nil, &StateFileError{Path: path, Problem: "not valid YAML", Hint: rebuild, Err: err}
	}
	if len(doc.Content) == 0 {
		return nil, &StateFileError{Path: path, Problem: "the state file is empty", Hint: "run /ship recover to rebuild it"}
	}
	var second yaml.Node
	if err := dec.Decode(&second); !errors.Is(err, io.EOF) {
		problem := fmt.Sprintf("line %d: a second YAML document (after ---): a state file holds one", second.Line)
		if err != nil {
			problem = "not valid YAML after the first document"
		}
		return nil, &StateFileError{Path: path, Problem: problem, Hint: rebuild, Err: err}
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, &StateFileError{Path: path, Problem: fmt.Sprintf("line %d: the state file is a YAML %s, not a mapping of keys", root.Line, kindName(root)), Hint: "run /ship recover to rebuild it"}
	}
	if err := yamlstrict.CheckDuplicates("", &doc); err != nil {
		var dup *yamlstrict.DuplicateKeyError
		errors.As(err, &dup)
		return nil, &StateFileError{Path: path,
			Problem: fmt.Sprintf("line %d: key %q is defined twice, at lines %d and %d", dup.Line, dup.Path, dup.FirstLine, dup.Line),
			Hint:    "remove one of them: YAML readers disagree on which one counts, so the gates would depend on the reader", Err: err}
	}
	return root, nil
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
// as absent. Aliases and merge keys are followed as a YAML decoder follows
// them; the line is where the value is written (in the anchored node, for
// a value reached through an alias).
func (st *State) Lookup(path ...string) (value string, line int, ok bool) {
	n := st.node(path...)
	if n == nil || n.Kind != yaml.ScalarNode || isNull(n) {
		return "", 0, false
	}
	return n.Value, n.Line, true
}

// node is the node at a key path, or nil.
func (st *State) node(path ...string) *yaml.Node {
	n := st.root
	for _, key := range path {
		n = child(n, key)
		if n == nil {
			return nil
		}
	}
	return n
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
	if r, ok := stagingDeployed(st); ok {
		report.Gates = append(report.Gates, r)
	}
	report.Gates = append(report.Gates, s.staging(st))
	if s.SkipRollbackGate {
		report.Notes = append(report.Notes, "rollback gate not required (configured)")
	} else {
		report.Gates = append(report.Gates, rollback(st))
	}
	if r, ok := s.phase(st); ok {
		report.Gates = append(report.Gates, r)
	} else {
		report.Notes = append(report.Notes, "phase not checked: the state file records none under "+strings.Join(phaseKeyNames(), ", "))
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

// stagingDeployed is the staging_deployed result, and false when the file
// does not record the staging deployment.
func stagingDeployed(st *State) (shipprod.GateResult, bool) {
	const hint = "staging is not deployed: deploy it with /ship-staging, then run /validate-staging"
	r := shipprod.GateResult{Name: StagingDeployed, Source: st.Path}
	deployed := st.node("deployment", "staging", "deployed")
	at := st.node("deployment", "staging", "deployed_at")
	set := func(key string, n *yaml.Node, required string) {
		r.Key, r.Found, r.Required, r.Source = key, n.Value, required, source(st.Path, n.Line)
	}
	switch {
	case scalar(deployed) && strings.EqualFold(strings.TrimSpace(deployed.Value), "true"):
		set("deployment.staging.deployed", deployed, "true")
		r.Passed = true
	case scalar(at) && strings.TrimSpace(at.Value) != "":
		set("deployment.staging.deployed_at", at, "a deployment time")
		r.Passed = true
	case scalar(deployed):
		set("deployment.staging.deployed", deployed, "true")
		r.Hint = hint
	case isNull(at):
		set("deployment.staging.deployed_at", at, "a deployment time")
		r.Found = "null"
		r.Hint = hint
	default:
		return r, false
	}
	return r, true
}

// scalar reports whether n is a scalar that is not null.
func scalar(n *yaml.Node) bool {
	return n != nil && n.Kind == yaml.ScalarNode && !isNull(n)
}
