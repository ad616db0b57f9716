package githubactions

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// correlationCandidates are the input names conventionally used to carry a
// dispatch's correlation id (return-dispatch uses distinct_id).
var correlationCandidates = []string{"dispatch_id", "distinct_id", "correlation_id", "shipprod_id"}

// workflowFile is the part of a workflow file discovery needs.
type workflowFile struct {
	RunName string `yaml:"run-name"`
	On      any    `yaml:"on"`
}

// detectCorrelationInput reads .github/workflows/<workflow> in dir and
// returns the first conventional correlation input that the workflow both
// declares under on.workflow_dispatch.inputs and shows in its run-name
// (only then can the run be recognised by its title). It returns "" when
// the file is absent or has no such input.
func detectCorrelationInput(dir, workflow string) string {
	if workflow == "" || strings.ContainsAny(workflow, `/\`) {
		return ""
	}
	b, err := os.ReadFile(filepath.Join(dir, ".github", "workflows", workflow))
	if err != nil {
		return ""
	}
	wf, err := parseWorkflow(b)
	if err != nil {
		return ""
	}
	for _, name := range correlationCandidates {
		if _, declared := wf.inputs[name]; declared && showsInput(wf.runName, name) {
			return name
		}
	}
	return ""
}

// showsInput reports whether a run-name expression uses inputs.<name>
// (or github.event.inputs.<name>).
func showsInput(runName, name string) bool {
	re := regexp.MustCompile(`\$\{\{[^}]*\b(?:github\.event\.)?inputs\.` + regexp.QuoteMeta(name) + `\b[^}]*\}\}`)
	return re.MatchString(runName)
}

// inputSpec is a declared workflow_dispatch input.
type inputSpec struct {
	required, hasDefault bool
}

// dispatchable is what a workflow file says about dispatching it.
type dispatchable struct {
	// trigger says the file's `on:` has workflow_dispatch.
	trigger bool
	// inputs are the inputs workflow_dispatch declares.
	inputs map[string]inputSpec
	// runName is the file's run-name.
	runName string
}

// parseWorkflow reads a workflow file's run-name and its `on:` — a string,
// a list of events or a map of them — and tells whether it has
// workflow_dispatch and which inputs that declares.
func parseWorkflow(b []byte) (dispatchable, error) {
	var wf workflowFile
	if err := yaml.Unmarshal(b, &wf); err != nil {
		return dispatchable{}, err
	}
	out := dispatchable{runName: wf.RunName, inputs: map[string]inputSpec{}}
	switch on := wf.On.(type) {
	case string:
		out.trigger = on == "workflow_dispatch"
	case []any:
		out.trigger = slices.Contains(on, any("workflow_dispatch"))
	case map[string]any:
		disp, has := on["workflow_dispatch"]
		out.trigger = has
		m, _ := disp.(map[string]any)
		raw, _ := m["inputs"].(map[string]any)
		for name, v := range raw {
			spec, _ := v.(map[string]any)
			_, hasDefault := spec["default"]
			out.inputs[name] = inputSpec{required: spec["required"] == true || spec["required"] == "true", hasDefault: hasDefault}
		}
	case nil:
		return out, fmt.Errorf("it has no `on:` triggers")
	default:
		return out, fmt.Errorf("its `on:` is a %T, not events", wf.On)
	}
	return out, nil
}
