package githubactions

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
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
	inputs, runName, ok := parseWorkflow(b)
	if !ok {
		return ""
	}
	for _, name := range correlationCandidates {
		if _, declared := inputs[name]; declared && showsInput(runName, name) {
			return name
		}
	}
	return ""
}

// parseWorkflow returns the declared workflow_dispatch inputs and the
// run-name of a workflow file.
func parseWorkflow(b []byte) (map[string]any, string, bool) {
	var wf workflowFile
	if err := yaml.Unmarshal(b, &wf); err != nil {
		return nil, "", false
	}
	on, ok := wf.On.(map[string]any)
	if !ok {
		return nil, wf.RunName, true
	}
	disp, _ := on["workflow_dispatch"].(map[string]any)
	inputs, _ := disp["inputs"].(map[string]any)
	return inputs, wf.RunName, true
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

// dispatchTrigger reads a workflow file's `on:` — a string, a list of
// events or a map of them — and tells whether it has workflow_dispatch and
// which inputs that declares.
func dispatchTrigger(b []byte) (bool, map[string]inputSpec, error) {
	var wf workflowFile
	if err := yaml.Unmarshal(b, &wf); err != nil {
		return false, nil, err
	}
	switch on := wf.On.(type) {
	case string:
		return on == "workflow_dispatch", map[string]inputSpec{}, nil
	case []any:
		for _, e := range on {
			if e == "workflow_dispatch" {
				return true, map[string]inputSpec{}, nil
			}
		}
		return false, nil, nil
	case map[string]any:
		disp, has := on["workflow_dispatch"]
		if !has {
			return false, nil, nil
		}
		m, _ := disp.(map[string]any)
		raw, _ := m["inputs"].(map[string]any)
		inputs := make(map[string]inputSpec, len(raw))
		for name, v := range raw {
			spec, _ := v.(map[string]any)
			_, hasDefault := spec["default"]
			inputs[name] = inputSpec{required: spec["required"] == true || spec["required"] == "true", hasDefault: hasDefault}
		}
		return true, inputs, nil
	case nil:
		return false, nil, fmt.Errorf("it has no `on:` triggers")
	}
	return false, nil, fmt.Errorf("its `on:` is a %T, not events", wf.On)
}
