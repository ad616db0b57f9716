// Package confdoc generates, from the configuration types themselves
// (cli.Config and the section types it embeds, one per step, and the
// sections of the built-in deployers), the JSON Schema of shipprod.yaml
// (docs/shipprod.schema.json, for editors: yaml-language-server validates
// and completes the keys) and its reference (docs/configuration.md: every
// key of every section, with its type, default, an example and its
// description).
//
// The keys are the types' yaml tags, walked as the strict decoder walks
// them (inline structs included); the descriptions are the fields' doc
// comments, read from the source; the defaults and enumerations come from
// the packages' own constants (annotations.go); the examples from
// example.yaml, a reference configuration that sets every key.
//
// It is a small reflector of its own rather than
// github.com/invopop/jsonschema: shipprod.yaml is YAML decoded strictly
// by yaml.v3, and most of what such a library would do had to be
// overridden — durations are strings ("30s"), two types decode themselves
// from a string or a mapping, the deploy section holds one section per
// registered deployer in an inline map, a key's description is its
// field's comment rather than its type's, and the library reads comments
// relative to the working directory — while the Markdown reference needs
// the same walk anyway.
//
// Run it with `go generate ./cli` (cli/internal/gen); a test fails when the
// checked-in files differ from what it generates.
package confdoc

import (
	"fmt"
	"path/filepath"
)

// Module is shipprod's module path.
const Module = "github.com/shipprod/shipprod"

// The generated files, relative to the module's root.
const (
	SchemaFile = "docs/shipprod.schema.json"
	DocFile    = "docs/configuration.md"
)

// Generate returns the generated files (path relative to root → content).
// root is the module's root directory: the doc comments are read from its
// source.
func Generate(root string) (map[string][]byte, error) {
	docs, err := loadDocs(root)
	if err != nil {
		return nil, err
	}
	ex, err := loadExample()
	if err != nil {
		return nil, err
	}
	g := &generator{docs: docs}
	doc, err := g.document()
	if err != nil {
		return nil, err
	}
	if err := annotate(doc); err != nil {
		return nil, err
	}
	if err := ex.attach(doc); err != nil {
		return nil, err
	}
	schema, err := schemaJSON(doc)
	if err != nil {
		return nil, err
	}
	return map[string][]byte{
		filepath.FromSlash(SchemaFile): schema,
		filepath.FromSlash(DocFile):    markdown(doc),
	}, nil
}

// errorf names the key at fault.
func errorf(path, format string, args ...any) error {
	return fmt.Errorf("confdoc: %s: %s", path, fmt.Sprintf(format, args...))
}
