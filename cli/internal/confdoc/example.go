package confdoc

import (
	_ "embed"
	"fmt"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// Example is the reference example of shipprod.yaml: every key set to a
// typical value.
//
//go:embed example.yaml
var Example []byte

// example is the parsed reference example.
type example struct{ root *yaml.Node }

func loadExample() (*example, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(Example, &doc); err != nil {
		return nil, fmt.Errorf("confdoc: example.yaml: %w", err)
	}
	return &example{root: doc.Content[0]}, nil
}

// attach gives every key its example, and fails on a key the example does
// not show, or an example of a key that does not exist.
func (e *example) attach(doc *node) error {
	if err := attachExample(doc, e.root); err != nil {
		return err
	}
	var missing []string
	doc.walk(func(n *node) {
		if n.path != "" && n.example == nil {
			missing = append(missing, n.path)
		}
	})
	if len(missing) > 0 {
		return fmt.Errorf("confdoc: example.yaml shows no value of %s: add one", strings.Join(missing, ", "))
	}
	return nil
}

// attachExample walks the example value y of key n alongside n. A list's
// items and a map's values are each an example of its element, so that
// different items show different keys.
func attachExample(n *node, y *yaml.Node) error {
	if n.example == nil {
		n.example = y
	}
	switch {
	case n.kind == kObject && y.Kind == yaml.MappingNode:
		for i := 0; i+1 < len(y.Content); i += 2 {
			k := y.Content[i].Value
			j := slices.IndexFunc(n.props, func(p *node) bool { return p.key == k })
			if j < 0 {
				return errorf(join(n.path, k), "example.yaml, line %d: no such key", y.Content[i].Line)
			}
			if err := attachExample(n.props[j], y.Content[i+1]); err != nil {
				return err
			}
		}
	case n.kind == kList && y.Kind == yaml.SequenceNode:
		for _, item := range y.Content {
			if err := attachExample(n.elem, item); err != nil {
				return err
			}
		}
	case n.kind == kMap && y.Kind == yaml.MappingNode:
		for i := 1; i < len(y.Content); i += 2 {
			if err := attachExample(n.elem, y.Content[i]); err != nil {
				return err
			}
		}
	}
	return nil
}
