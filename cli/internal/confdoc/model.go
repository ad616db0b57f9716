package confdoc

import (
	"reflect"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/shipprod/shipprod/cli"
	"github.com/shipprod/shipprod/gate"
	"github.com/shipprod/shipprod/provider/githubactions"
	"github.com/shipprod/shipprod/provider/gitpush"
	"github.com/shipprod/shipprod/provider/vercel"
	"github.com/shipprod/shipprod/version"
)

// kind is a key's type in shipprod.yaml.
type kind string

const (
	kObject   kind = "object"
	kList     kind = "list"
	kMap      kind = "map"
	kString   kind = "string"
	kInteger  kind = "integer"
	kNumber   kind = "number"
	kBoolean  kind = "boolean"
	kDuration kind = "duration"
)

// node is one key of shipprod.yaml, or the document itself.
type node struct {
	// path is the key's dotted path: "health.checks[].timeout"; list items
	// add [] and map values .* to their key's path.
	path string
	key  string
	kind kind
	desc string
	// props are an object's keys, in the order of the type's fields.
	props []*node
	// elem is a list's items or a map's values.
	elem *node
	// short, when set, says what the plain string form of an object
	// means (version.files[]: "a path"): such a key takes either.
	short string
	// section: the Markdown reference gives the key a section of its own.
	section bool
	// Annotations (annotations.go) and the example (example.go).
	enum     []any
	pattern  string
	def      any
	defText  string
	example  *yaml.Node
	goType   reflect.Type
	goStruct reflect.Type // the struct the key is a field of
	// optional: the field is a pointer, whose zero value is "not set".
	optional bool
}

// The types the walk treats specially.
var (
	durationType = reflect.TypeFor[time.Duration]()
	fileType     = reflect.TypeFor[version.File]()
	stateType    = reflect.TypeFor[gate.StateConfig]()
	deployType   = reflect.TypeFor[cli.DeployConfig]()
	unmarshaler  = reflect.TypeFor[yaml.Unmarshaler]()
)

// Deployers are the configuration types of the built-in deployers, by the
// name deploy.provider takes. A test checks that it names every deployer
// the reference CLI registers.
var Deployers = map[string]reflect.Type{
	gitpush.Name:       reflect.TypeFor[gitpush.Config](),
	vercel.Name:        reflect.TypeFor[vercel.Config](),
	githubactions.Name: reflect.TypeFor[githubactions.Config](),
}

// generator walks the configuration types.
type generator struct {
	docs docs
}

// document is shipprod.yaml: cli.Config.
func (g *generator) document() (*node, error) {
	root, err := g.object("", reflect.TypeFor[cli.Config]())
	if err != nil {
		return nil, err
	}
	root.desc = "The configuration of shipprod, the command line that promotes a validated staging build to production."
	for _, p := range root.props {
		p.section = true
	}
	return root, nil
}

// typ describes a value of type t found at path.
func (g *generator) typ(path string, t reflect.Type) (*node, error) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	n, err := g.special(path, t)
	if n != nil || err != nil {
		return n, err
	}
	if t.Implements(unmarshaler) || reflect.PointerTo(t).Implements(unmarshaler) {
		return nil, errorf(path, "%s decodes itself (UnmarshalYAML): describe its shapes in confdoc's special", t)
	}
	switch t.Kind() {
	case reflect.Struct:
		return g.object(path, t)
	case reflect.Slice:
		elem, err := g.typ(path+"[]", t.Elem())
		if err != nil {
			return nil, err
		}
		elem.path = path + "[]"
		return &node{kind: kList, elem: elem, goType: t}, nil
	case reflect.Map:
		if t.Key().Kind() != reflect.String {
			return nil, errorf(path, "a map keyed by %s", t.Key())
		}
		elem, err := g.typ(path+".*", t.Elem())
		if err != nil {
			return nil, err
		}
		elem.path = path + ".*"
		return &node{kind: kMap, elem: elem, goType: t}, nil
	case reflect.String:
		return &node{kind: kString, goType: t}, nil
	case reflect.Bool:
		return &node{kind: kBoolean, goType: t}, nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return &node{kind: kInteger, goType: t}, nil
	case reflect.Float32, reflect.Float64:
		return &node{kind: kNumber, goType: t}, nil
	}
	return nil, errorf(path, "a %s cannot be described", t)
}

// special describes the types that do not decode as their fields say.
func (g *generator) special(path string, t reflect.Type) (*node, error) {
	switch t {
	case durationType:
		// yaml.v3 reads a time.Duration from a string only: "30s".
		return &node{kind: kDuration, pattern: durationPattern, goType: t}, nil
	case fileType:
		n, err := g.object(path, t)
		if n != nil {
			n.short = "a path"
		}
		return n, err
	case stateType:
		n, err := g.object(path, t)
		if n != nil {
			n.short = "the state file's path"
		}
		return n, err
	case deployType:
		return g.deploy(path, t)
	}
	return nil, nil
}

// durationPattern is what time.ParseDuration reads: "90s", "1m30s", "0".
const durationPattern = `^(0|-?([0-9]+(\.[0-9]*)?|\.[0-9]+)(ns|us|µs|ms|s|m|h)(([0-9]+(\.[0-9]*)?|\.[0-9]+)(ns|us|µs|ms|s|m|h))*)$`

// deploy is the deploy section: its own keys, then one section per
// built-in deployer under the deployer's name (the inline map
// DeployConfig.Sections, which the loader checks against the registered
// names).
func (g *generator) deploy(path string, t reflect.Type) (*node, error) {
	n, err := g.object(path, t)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(Deployers))
	for name := range Deployers {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		dt := Deployers[name]
		sec, err := g.object(join(path, name), dt)
		if err != nil {
			return nil, err
		}
		sec.path, sec.key, sec.section, sec.goType = join(path, name), name, true, dt
		sec.desc = "The section of the " + name + " deployer, read when deploy.provider is " + name
		if what := g.docs.packageDoc(dt.PkgPath()); what != "" {
			sec.desc += ", which " + what
		} else {
			sec.desc += "."
		}
		n.props = append(n.props, sec)
	}
	return n, nil
}

// object describes a struct: its keys, strictly (the decoder refuses any
// other key).
func (g *generator) object(path string, t reflect.Type) (*node, error) {
	n := &node{kind: kObject, goType: t}
	if err := g.fields(path, t, n); err != nil {
		return nil, err
	}
	return n, nil
}

// fields adds the keys of struct t to n, descending into inline structs
// as yaml.v3 does.
func (g *generator) fields(path string, t reflect.Type, n *node) error {
	siblings := yamlNames(t)
	var prev string // the previous field's doc: "Max and Min are …"
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("yaml")
		if tag == "-" || (!f.IsExported() && !f.Anonymous) {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if slices.Contains(strings.Split(opts, ","), "inline") {
			if err := g.inline(path, t, f, n); err != nil {
				return err
			}
			continue
		}
		if name == "" {
			return errorf(join(path, strings.ToLower(f.Name)), "%s.%s has no yaml tag: name its key", t, f.Name)
		}
		if slices.ContainsFunc(n.props, func(p *node) bool { return p.key == name }) {
			return errorf(join(path, name), "the key is defined twice in %s", t)
		}
		child, err := g.typ(join(path, name), f.Type)
		if err != nil {
			return err
		}
		child.path, child.key, child.goStruct = join(path, name), name, t
		child.optional = f.Type.Kind() == reflect.Pointer
		raw := g.docs.fieldDoc(t, f.Name)
		if raw == "" && mentions(prev, f.Name) {
			raw = prev
		}
		if raw != "" {
			prev = raw
		}
		child.desc = describe(raw, f.Name, siblings)
		if child.desc == "" {
			child.desc = g.docs.typeDoc(elemStruct(f.Type))
		}
		if child.elem != nil && child.elem.kind == kObject && child.elem.desc == "" {
			child.elem.desc = g.docs.typeDoc(elemStruct(f.Type))
		}
		n.props = append(n.props, child)
	}
	return nil
}

// inline adds the keys of an inline field: a struct's keys; an inline map
// only where special knows its keys (the deploy section).
func (g *generator) inline(path string, owner reflect.Type, f reflect.StructField, n *node) error {
	ft := f.Type
	for ft.Kind() == reflect.Pointer {
		ft = ft.Elem()
	}
	switch {
	case ft.Kind() == reflect.Struct:
		return g.fields(path, ft, n)
	case owner == deployType:
		return nil // the deployers' sections: see deploy
	}
	return errorf(path, "%s.%s is an inline %s: describe its keys in confdoc's special", owner, f.Name, ft.Kind())
}

// elemStruct is the struct a field holds (through pointers and slices), or
// nil.
func elemStruct(t reflect.Type) reflect.Type {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
		t = t.Elem()
	}
	if t.Kind() == reflect.Struct {
		return t
	}
	return nil
}

// yamlNames maps the Go names of t's fields (inline ones included) to
// their keys.
func yamlNames(t reflect.Type) map[string]string {
	out := map[string]string{}
	for i := range t.NumField() {
		f := t.Field(i)
		name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if slices.Contains(strings.Split(opts, ","), "inline") {
			if ft := elemStruct(f.Type); ft != nil && f.Type.Kind() != reflect.Slice {
				for k, v := range yamlNames(ft) {
					out[k] = v
				}
			}
			continue
		}
		if name != "" && name != "-" {
			out[f.Name] = name
		}
	}
	return out
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// walk calls f on n and every key under it, depth first.
func (n *node) walk(f func(*node)) {
	f(n)
	for _, p := range n.props {
		p.walk(f)
	}
	if n.elem != nil {
		n.elem.walk(f)
	}
}
