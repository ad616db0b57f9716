package confdoc

import (
	"bytes"
	"encoding/json"

	"github.com/shipprod/shipprod/cli"
)

// schemaDialect is JSON Schema draft-07, which yaml-language-server and
// most editors support.
const schemaDialect = "http://json-schema.org/draft-07/schema#"

// schemaJSON is the JSON Schema of shipprod.yaml.
func schemaJSON(doc *node) ([]byte, error) {
	s := obj{{"$schema", schemaDialect}, {"$id", cli.SchemaURL}, {"title", "shipprod.yaml"}}
	s = append(s, schemaOf(doc)...)
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(s); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// schemaOf is the schema of key n. Every object refuses keys it does not
// have, as the decoder does.
func schemaOf(n *node) obj {
	var s obj
	if d := description(n); d != "" {
		s = append(s, kv{"description", d})
	}
	body := shapeOf(n)
	if n.short != "" {
		// The plain string form, or the mapping.
		s = append(s, kv{"oneOf", []any{obj{{"type", "string"}, {"description", "Short for: " + n.short + "."}}, body}})
	} else {
		s = append(s, body...)
	}
	if n.def != nil {
		s = append(s, kv{"default", n.def})
	}
	return s
}

// description is n's description, with its default when the default is
// said in words.
func description(n *node) string {
	d := n.desc
	if n.defText != "" && !speaksOfDefault.MatchString(d) {
		if d != "" {
			d += " "
		}
		d += "Default: " + n.defText + "."
	}
	return d
}

// shapeOf is the type part of n's schema.
func shapeOf(n *node) obj {
	switch n.kind {
	case kObject:
		props := obj{}
		for _, p := range n.props {
			props = append(props, kv{p.key, schemaOf(p)})
		}
		return obj{{"type", "object"}, {"additionalProperties", false}, {"properties", props}}
	case kList:
		return obj{{"type", "array"}, {"items", schemaOf(n.elem)}}
	case kMap:
		return obj{{"type", "object"}, {"additionalProperties", schemaOf(n.elem)}}
	case kDuration:
		return obj{{"type", "string"}, {"pattern", n.pattern}}
	}
	var s obj
	if len(n.enum) > 0 {
		// The values say the type; some keys take a string or a boolean.
		s = append(s, kv{"enum", n.enum})
	} else {
		s = append(s, kv{"type", string(n.kind)})
	}
	if n.pattern != "" {
		s = append(s, kv{"pattern", n.pattern})
	}
	return s
}

// obj is a JSON object whose keys keep their order.
type obj []kv

type kv struct {
	k string
	v any
}

// MarshalJSON writes the keys in order, without HTML escaping.
func (o obj) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, f := range o {
		if i > 0 {
			b.WriteByte(',')
		}
		k, err := encodeJSON(f.k)
		if err != nil {
			return nil, err
		}
		v, err := encodeJSON(f.v)
		if err != nil {
			return nil, err
		}
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// encodeJSON encodes v without HTML escaping: descriptions say <commit>.
func encodeJSON(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	err := enc.Encode(v)
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), err
}
