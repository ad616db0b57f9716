package gate

import "gopkg.in/yaml.v3"

// maxMergeDepth bounds how deep merge keys are followed (a merged mapping
// may merge another); real files use one level.
const maxMergeDepth = 32

// deref follows aliases to the node they name.
func deref(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < maxMergeDepth; i++ {
		n = n.Alias
	}
	return n
}

// isMerge reports whether k is YAML's merge key: a plain "<<" ("<<" in
// quotes is an ordinary key).
func isMerge(k *yaml.Node) bool {
	return k.Kind == yaml.ScalarNode && k.ShortTag() == "!!merge"
}

// child returns the value of key in mapping n as a YAML decoder sees it:
// aliases are followed, a key written in n wins over one merged into it
// with "<<", and of several merged mappings ("<<: [*a, *b]") the first
// that has the key wins. In a list, it is the item whose "name" is key
// (Spec-Flow's epic schema lists gates as {name, status}).
func child(n *yaml.Node, key string) *yaml.Node {
	return childDepth(n, key, 0)
}

func childDepth(n *yaml.Node, key string, depth int) *yaml.Node {
	n = deref(n)
	if n == nil || depth > maxMergeDepth {
		return nil
	}
	switch n.Kind {
	case yaml.MappingNode:
		if v := ownValue(n, key); v != nil {
			return deref(v)
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			if !isMerge(n.Content[i]) {
				continue
			}
			for _, m := range mergedMaps(n.Content[i+1]) {
				if v := childDepth(m, key, depth+1); v != nil {
					return v
				}
			}
		}
	case yaml.SequenceNode:
		for _, item := range n.Content {
			if name := child(item, "name"); name != nil && name.Value == key {
				return deref(item)
			}
		}
	}
	return nil
}

// ownValue is the value of key written in mapping n itself (not merged),
// or nil.
func ownValue(n *yaml.Node, key string) *yaml.Node {
	if i := ownIndex(n, key); i >= 0 {
		return n.Content[i+1]
	}
	return nil
}

// ownIndex is the index in n.Content of key written in mapping n itself,
// or -1.
func ownIndex(n *yaml.Node, key string) int {
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		if k.Kind == yaml.ScalarNode && !isMerge(k) && k.Value == key {
			return i
		}
	}
	return -1
}

// mergedMaps lists the mappings a merge key's value names: one alias, or a
// list of them.
func mergedMaps(v *yaml.Node) []*yaml.Node {
	v = deref(v)
	if v == nil {
		return nil
	}
	if v.Kind == yaml.SequenceNode {
		out := make([]*yaml.Node, 0, len(v.Content))
		for _, item := range v.Content {
			out = append(out, deref(item))
		}
		return out
	}
	return []*yaml.Node{v}
}

// isNull reports whether n is a YAML null (null, ~ or nothing).
func isNull(n *yaml.Node) bool {
	return n != nil && n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}
