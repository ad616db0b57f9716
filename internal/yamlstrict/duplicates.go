package yamlstrict

import (
	"fmt"

	"gopkg.in/yaml.v3"
)

// DuplicateKeyError is a mapping that holds the same key twice. YAML
// forbids it, and readers disagree on which of the two wins (yaml.v3 into
// a node tree keeps both, a hand-written lookup takes the first, most
// decoders the last), so a file with one means different things to
// different programs: it is refused.
type DuplicateKeyError struct {
	File string // may be empty
	// Path is the dotted path of the key, e.g. "quality_gates" or
	// "deploy.git-push.branch".
	Path string
	Key  string
	// FirstLine and Line are the lines of the first and the second
	// occurrence.
	FirstLine, Line int
}

func (e *DuplicateKeyError) Error() string {
	loc := fmt.Sprintf("line %d", e.Line)
	if e.File != "" {
		loc = fmt.Sprintf("%s:%d", e.File, e.Line)
	}
	return fmt.Sprintf("%s: duplicate key %q: defined at lines %d and %d (a YAML mapping holds each key once; remove one)", loc, e.Path, e.FirstLine, e.Line)
}

// CheckDuplicates returns a *DuplicateKeyError for the first mapping under
// node (in document order) that holds a key twice. Keys are compared as
// yaml.v3's decoder compares them: same kind and same value. Aliases are not
// followed (the anchored node is checked where it is defined), so the walk
// is linear in the size of the file.
func CheckDuplicates(file string, node *yaml.Node) error {
	return checkDup(file, "", node)
}

func checkDup(file, path string, n *yaml.Node) error {
	if n == nil {
		return nil
	}
	switch n.Kind {
	case yaml.DocumentNode:
		for _, c := range n.Content {
			if err := checkDup(file, path, c); err != nil {
				return err
			}
		}
	case yaml.MappingNode:
		seen := make(map[dupKey]int, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			if k.Kind == yaml.ScalarNode {
				id := dupKey{k.Kind, k.Value}
				if first, ok := seen[id]; ok {
					return &DuplicateKeyError{File: file, Path: join(path, k.Value), Key: k.Value, FirstLine: first, Line: k.Line}
				}
				seen[id] = k.Line
			}
			if err := checkDup(file, join(path, k.Value), n.Content[i+1]); err != nil {
				return err
			}
		}
	case yaml.SequenceNode:
		for i, item := range n.Content {
			if err := checkDup(file, fmt.Sprintf("%s[%d]", path, i), item); err != nil {
				return err
			}
		}
	}
	return nil
}

type dupKey struct {
	kind  yaml.Kind
	value string
}
