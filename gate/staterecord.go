package gate

import (
	"cmp"
	"regexp"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/shipprod/shipprod"
)

// phaseState is what a run makes of the production ship phase.
type phaseState int

const (
	phaseNone    phaseState = iota // not recorded
	phaseDone                      // shipped: the phase is completed
	phaseFailed                    // failed, unhealthy or rolled back
	phaseRunning                   // released (the deploy happens elsewhere) or interrupted
)

// field is one key of the production block and its value; a nil value
// means "leave it", clearIf means "set it to null if it holds this".
type field struct {
	key     string
	value   *yaml.Node
	clearIf string
	// onlyIfPresent fields are written only where the file has the key.
	onlyIfPresent bool
}

// recordPlan is what a Result writes into a state file.
type recordPlan struct {
	phase  phaseState
	fields []field
	// version is the version production runs, for the version fields
	// outside the production block ("" when the block is not written).
	version    string
	start, end time.Time
}

// maxReasonLen bounds the rollback reason written into the state file.
const maxReasonLen = 300

// planFor decides what res writes. Runs that changed nothing are not
// recorded: blocked by the gates, nothing to release, or failed or
// interrupted before the version commit, the tag or the deploy (the
// pre-flight's "nothing was changed" stays true of the state file too).
func planFor(res shipprod.Result) recordPlan {
	p := recordPlan{start: cmp.Or(res.ResumedFrom, res.StartedAt), end: runEnd(res)}
	changed := res.Deployment != nil || stepDone(res, shipprod.StepTag) || stepDone(res, shipprod.StepVersion)
	switch res.Outcome {
	case shipprod.OutcomeShipped, shipprod.OutcomeNotVerified:
		p.phase = phaseDone
	case shipprod.OutcomeRolledBack, shipprod.OutcomeUnhealthy:
		p.phase = phaseFailed
	case shipprod.OutcomeFailed:
		if changed {
			p.phase = phaseFailed
		}
	case shipprod.OutcomeReleased:
		p.phase = phaseRunning
	case shipprod.OutcomeInterrupted:
		if changed {
			p.phase = phaseRunning
		}
	}
	if p.phase == phaseNone {
		return p
	}
	rel := res.Release
	switch {
	case res.Rollback != nil && res.Rollback.Restored.ID != "":
		p.fields, p.version = rolledBackFields(res)
	case res.Deployment != nil:
		d := res.Deployment
		p.version = rel.Version
		p.fields = []field{
			{key: "deployed", value: boolNode(true), onlyIfPresent: true},
			{key: "version", value: strNode(rel.Version)},
			{key: "previous_version", value: strNode(rel.PreviousVersion)},
			{key: "tag", value: strNode(rel.Tag)},
			{key: "tag_created_at", value: timeNode(tagTime(res))},
			{key: "deployed_at", value: timeNode(cmp.Or(d.FinishedAt, stepEnd(res, shipprod.StepDeploy)))},
			{key: "url", value: strNode(withoutUserInfo(d.URL))},
			{key: "deployment_id", value: strNode(d.ID)},
			{key: "github_release_url", value: strNode(withoutUserInfo(rel.ReleaseURL))},
		}
	case res.Outcome == shipprod.OutcomeReleased && rel.Tag != "":
		p.version = rel.Version
		p.fields = []field{
			{key: "version", value: strNode(rel.Version)},
			{key: "previous_version", value: strNode(rel.PreviousVersion)},
			{key: "tag", value: strNode(rel.Tag)},
			{key: "tag_created_at", value: timeNode(tagTime(res))},
			{key: "github_release_url", value: strNode(withoutUserInfo(rel.ReleaseURL))},
		}
	}
	if p.fields != nil {
		p.fields = append(p.fields, field{key: "outcome", value: strNode(string(res.Outcome))})
	}
	return p
}

// rolledBackFields: after a rollback the block says what production runs
// again (as Spec-Flow's ship-rollback.sh sets version to the rollback's
// target), and rollback_* what was rolled back and why.
func rolledBackFields(res shipprod.Result) ([]field, string) {
	rel, rb := res.Release, res.Rollback
	target := rb.Target
	fields := []field{
		{key: "deployed", value: boolNode(true), onlyIfPresent: true},
		{key: "version", value: strNode(target.Version)},
		{key: "previous_version", value: strNode(rel.PreviousVersion)},
		{key: "tag", value: strNode(target.Tag)},
		// The rolled-back release's tag time and release page do not
		// describe what production runs; shipprod does not know the
		// target's, so they are cleared when they are the rolled-back one's.
		{key: "tag_created_at", clearIf: formatTime(tagTime(res))},
		{key: "deployed_at", value: timeNode(cmp.Or(rb.Restored.FinishedAt, rb.FinishedAt, stepEnd(res, shipprod.StepRollback)))},
		{key: "url", value: strNode(withoutUserInfo(rb.Restored.URL))},
		{key: "deployment_id", value: strNode(rb.Restored.ID)},
		{key: "github_release_url", clearIf: withoutUserInfo(rel.ReleaseURL)},
		{key: "rollback_from", value: strNode(cmp.Or(rel.Tag, rel.Version))},
		{key: "rollback_to", value: strNode(cmp.Or(target.Tag, target.Version, shortCommit(target.Commit)))},
		{key: "rollback_at", value: timeNode(cmp.Or(rb.FinishedAt, rb.StartedAt, stepEnd(res, shipprod.StepRollback)))},
		{key: "rollback_reason", value: strNode(oneLine(withoutUserInfo(rb.Reason), maxReasonLen))},
	}
	if target.Tag == "" {
		fields[3] = field{key: "tag", clearIf: rel.Tag}
	}
	return fields, target.Version
}

// userInfo is the credentials part of a URL ("://user:token@").
var userInfo = regexp.MustCompile(`://[^/\s@]+@`)

// withoutUserInfo masks the credentials of any URL in s: the state file is
// committed with the feature, and a token must not end up in it.
func withoutUserInfo(s string) string { return userInfo.ReplaceAllString(s, "://***@") }

func shortCommit(sha string) string {
	if len(sha) > 12 {
		return sha[:12]
	}
	return sha
}

// oneLine collapses s to one line of at most n characters.
func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		s = string(r[:n-1]) + "…"
	}
	return s
}

func stepDone(res shipprod.Result, name shipprod.StepName) bool {
	s, ok := res.Step(name)
	return ok && (s.Status == shipprod.StepDone || s.Resumed)
}

// stepEnd is when a step this run did ended (zero when it did not run it).
func stepEnd(res shipprod.Result, name shipprod.StepName) time.Time {
	s, ok := res.Step(name)
	if !ok || s.Status != shipprod.StepDone || s.Resumed || s.StartedAt.IsZero() {
		return time.Time{}
	}
	return s.StartedAt.Add(s.Duration)
}

// tagTime is when this run created the tag (zero when an earlier run did).
func tagTime(res shipprod.Result) time.Time { return stepEnd(res, shipprod.StepTag) }

// runEnd is when the run ended, or, while it runs, when its last step did.
func runEnd(res shipprod.Result) time.Time {
	if !res.FinishedAt.IsZero() {
		return res.FinishedAt
	}
	end := res.StartedAt
	for _, s := range res.Steps {
		if e := s.StartedAt.Add(s.Duration); e.After(end) {
			end = e
		}
	}
	return end
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

func strNode(v string) *yaml.Node {
	if v == "" {
		return nil
	}
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: v}
}

func timeNode(t time.Time) *yaml.Node {
	if t.IsZero() {
		return nil
	}
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!timestamp", Value: formatTime(t)}
}

func boolNode(b bool) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: strconv.FormatBool(b)}
}

func intNode(n int64) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: strconv.FormatInt(n, 10)}
}

func nullNode() *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: "null"}
}

// applyPlan edits src as p says and returns the new text and the dotted
// paths that changed.
func applyPlan(src []byte, p recordPlan) ([]byte, []string, error) {
	root, err := parseState("", src)
	if err != nil {
		return nil, nil, err
	}
	ed, err := newEditor(src, root)
	if err != nil {
		return nil, nil, err
	}
	r := &recorder{ed: ed, plan: p, model: modelOf(root)}
	if err := r.production(); err != nil {
		return nil, nil, err
	}
	if err := r.phases(); err != nil {
		return nil, nil, err
	}
	out, err := ed.result()
	if err != nil {
		return nil, nil, err
	}
	return out, ed.changed, nil
}

func modelOf(root *yaml.Node) string {
	st := &State{root: root}
	return st.Facts()["deployment.model"]
}

// recorder writes one plan into one file.
type recorder struct {
	ed    *editor
	plan  recordPlan
	model string
}

// production writes the production block and the version fields outside it.
func (r *recorder) production() error {
	if len(r.plan.fields) == 0 {
		return nil
	}
	ed := r.ed
	prod, err := ed.mapping(ed.root, "", "deployment")
	if err == nil {
		prod, err = ed.mapping(prod, "deployment", "production")
	}
	if err != nil {
		return err
	}
	const path = "deployment.production"
	for _, f := range r.plan.fields {
		present := ownIndex(prod, f.key) >= 0
		switch {
		case f.onlyIfPresent && !present:
		case f.value != nil:
			if _, err := ed.set(prod, path, f.key, f.value); err != nil {
				return err
			}
		case f.clearIf != "" && present:
			if v := deref(ownValue(prod, f.key)); v != nil && v.Kind == yaml.ScalarNode && v.Value == f.clearIf {
				if _, err := ed.set(prod, path, f.key, nullNode()); err != nil {
					return err
				}
			}
		}
	}
	if r.plan.version == "" {
		return nil
	}
	// The version Spec-Flow's finalization reads: deployment.version
	// (ship-finalization.sh) and the top-level version (finalize-workflow.sh).
	if d := deref(ownValue(ed.root, "deployment")); d != nil && ownIndex(d, "version") >= 0 {
		if _, err := ed.set(d, "deployment", "version", strNode(r.plan.version)); err != nil {
			return err
		}
	}
	if ownIndex(ed.root, "version") >= 0 {
		if _, err := ed.set(ed.root, "", "version", strNode(r.plan.version)); err != nil {
			return err
		}
	}
	return nil
}
