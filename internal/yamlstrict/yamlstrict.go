// Package yamlstrict decodes YAML into Go structs and rejects keys the struct
// does not have, naming the key, its line and the keys that are allowed, and
// mappings that hold a key twice, naming both lines.
// yaml.v3's own KnownFields works only on whole documents; configuration is
// decoded section by section (each deployer decodes its own), so the check
// here works on any yaml.Node.
package yamlstrict

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Error is a key the target type does not know.
type Error struct {
	File  string // may be empty
	Line  int
	Path  string // dotted path of the key, e.g. "deploy.git-push.brnach"
	Key   string
	Known []string
}

func (e *Error) Error() string {
	loc := fmt.Sprintf("line %d", e.Line)
	if e.File != "" {
		loc = e.File + ":" + fmt.Sprint(e.Line)
	}
	msg := fmt.Sprintf("%s: unknown key %q", loc, e.Path)
	if len(e.Known) > 0 {
		msg += " (known keys here: " + strings.Join(e.Known, ", ") + ")"
	}
	return msg
}

// Unmarshal decodes a whole YAML document strictly into v.
func Unmarshal(file string, data []byte, v any) error {
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil // an empty document leaves v as it is
		}
		return fmt.Errorf("%s: %w", file, err)
	}
	var second yaml.Node
	if err := dec.Decode(&second); !errors.Is(err, io.EOF) {
		if err != nil {
			return fmt.Errorf("%s: %w", file, err)
		}
		return fmt.Errorf("%s:%d: a second YAML document (after ---): the file holds one document", file, second.Line)
	}
	return Decode(file, "", &doc, v)
}

// Decode decodes node strictly into v. path is the dotted path of node in
// its file ("" for the root), used in messages.
func Decode(file, path string, node *yaml.Node, v any) error {
	if node.Kind == yaml.DocumentNode && len(node.Content) == 1 {
		node = node.Content[0]
	}
	// Before the decoder: it reports a duplicate as a "wrong type" and not
	// at all inside a yaml.Node field (a deployer's section, decoded later).
	if err := checkDup(file, path, node); err != nil {
		return err
	}
	if err := check(file, path, node, reflect.TypeOf(v)); err != nil {
		return err
	}
	if err := node.Decode(v); err != nil {
		var te *yaml.TypeError
		if errors.As(err, &te) {
			err = &TypeError{File: file, Errors: nameKeys(te.Errors, keyLines(path, node))}
		}
		if file != "" && te == nil {
			return fmt.Errorf("%s: %w", file, err)
		}
		return err
	}
	return nil
}

// TypeError is a value of the wrong type; each message names the line and
// the key, e.g. "line 16: health.timeout: cannot unmarshal !!str `two` into
// time.Duration".
type TypeError struct {
	File   string
	Errors []string
}

func (e *TypeError) Error() string {
	prefix := ""
	if e.File != "" {
		prefix = e.File + ": "
	}
	return prefix + "wrong type: " + strings.Join(e.Errors, "; ")
}

// keyLines maps the line of each value in node to its key's dotted path.
func keyLines(path string, node *yaml.Node) map[int]string {
	lines := map[int]string{}
	var walk func(path string, n *yaml.Node)
	walk = func(path string, n *yaml.Node) {
		switch n.Kind {
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, val := n.Content[i], n.Content[i+1]
				p := join(path, k.Value)
				if _, ok := lines[val.Line]; !ok {
					lines[val.Line] = p
				}
				walk(p, val)
			}
		case yaml.SequenceNode:
			for i, item := range n.Content {
				p := fmt.Sprintf("%s[%d]", path, i)
				if _, ok := lines[item.Line]; !ok {
					lines[item.Line] = p
				}
				walk(p, item)
			}
		}
	}
	walk(path, node)
	return lines
}

var lineMsg = regexp.MustCompile(`^line (\d+): (.*)$`)

// nameKeys inserts the key of each "line N: …" message.
func nameKeys(msgs []string, lines map[int]string) []string {
	out := make([]string, len(msgs))
	for i, m := range msgs {
		out[i] = m
		if sm := lineMsg.FindStringSubmatch(m); sm != nil {
			n, _ := strconv.Atoi(sm[1])
			if key, ok := lines[n]; ok {
				out[i] = fmt.Sprintf("line %d: %s: %s", n, key, sm[2])
			}
		}
	}
	return out
}

var (
	unmarshalerType = reflect.TypeFor[yaml.Unmarshaler]()
	nodeType        = reflect.TypeFor[yaml.Node]()
)

// check walks node alongside t and reports the first unknown key.
func check(file, path string, node *yaml.Node, t reflect.Type) error {
	if node == nil || t == nil {
		return nil
	}
	if node.Kind == yaml.AliasNode {
		return check(file, path, node.Alias, t)
	}
	for t.Kind() == reflect.Pointer {
		if t.Implements(unmarshalerType) {
			return nil
		}
		t = t.Elem()
	}
	if t == nodeType || reflect.PointerTo(t).Implements(unmarshalerType) || t.Implements(unmarshalerType) {
		return nil // the type decodes itself
	}
	switch t.Kind() {
	case reflect.Struct:
		if node.Kind != yaml.MappingNode {
			return nil // yaml.v3 reports the type mismatch itself
		}
		fields := map[string]reflect.Type{}
		var inlineMap bool
		collectFields(t, fields, &inlineMap)
		for i := 0; i+1 < len(node.Content); i += 2 {
			k, val := node.Content[i], node.Content[i+1]
			if isMerge(k) {
				// "<<: *defaults" merges the keys of another mapping
				// (or a list of them): they must fit the struct too.
				if err := checkMerged(file, path, val, t); err != nil {
					return err
				}
				continue
			}
			ft, ok := fields[k.Value]
			if !ok {
				if inlineMap {
					continue
				}
				return &Error{File: file, Line: k.Line, Path: join(path, k.Value), Key: k.Value, Known: sortedKeys(fields)}
			}
			if err := check(file, join(path, k.Value), val, ft); err != nil {
				return err
			}
		}
	case reflect.Slice, reflect.Array:
		if node.Kind != yaml.SequenceNode {
			return nil
		}
		for i, item := range node.Content {
			if err := check(file, fmt.Sprintf("%s[%d]", path, i), item, t.Elem()); err != nil {
				return err
			}
		}
	case reflect.Map:
		if node.Kind != yaml.MappingNode {
			return nil
		}
		for i := 0; i+1 < len(node.Content); i += 2 {
			if isMerge(node.Content[i]) {
				if err := checkMerged(file, path, node.Content[i+1], t); err != nil {
					return err
				}
				continue
			}
			if err := check(file, join(path, node.Content[i].Value), node.Content[i+1], t.Elem()); err != nil {
				return err
			}
		}
	}
	return nil
}

// isMerge reports whether k is YAML's merge key "<<" (plain, not quoted).
func isMerge(k *yaml.Node) bool {
	return k.Kind == yaml.ScalarNode && k.ShortTag() == "!!merge"
}

// checkMerged checks the mapping (or list of mappings) a merge key merges
// into a value of type t.
func checkMerged(file, path string, val *yaml.Node, t reflect.Type) error {
	for val != nil && val.Kind == yaml.AliasNode {
		val = val.Alias
	}
	if val == nil {
		return nil
	}
	if val.Kind == yaml.SequenceNode {
		for _, item := range val.Content {
			if err := check(file, path, item, t); err != nil {
				return err
			}
		}
		return nil
	}
	return check(file, path, val, t)
}

// collectFields maps the YAML keys of struct t to their types, descending
// into ",inline" structs; an inline map accepts any key.
func collectFields(t reflect.Type, fields map[string]reflect.Type, inlineMap *bool) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() && !f.Anonymous {
			continue
		}
		tag := f.Tag.Get("yaml")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if strings.Contains(","+opts+",", ",inline,") {
			ft := f.Type
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Map {
				*inlineMap = true
			} else if ft.Kind() == reflect.Struct {
				collectFields(ft, fields, inlineMap)
			}
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name) // yaml.v3's default
		}
		fields[name] = f.Type
	}
}

func sortedKeys(m map[string]reflect.Type) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}
