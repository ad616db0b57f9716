package gate

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"
)

func str(v string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: v} }
func ts(v string) *yaml.Node  { return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!timestamp", Value: v} }
func boolean(b bool) *yaml.Node {
	v := "false"
	if b {
		v = "true"
	}
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: v}
}

func runEdit(t *testing.T, src string, f func(ed *editor) error) (string, error) {
	t.Helper()
	root, err := parseState("t.yaml", []byte(src))
	require.NoError(t, err)
	ed, err := newEditor([]byte(src), root)
	require.NoError(t, err)
	if err := f(ed); err != nil {
		return "", err
	}
	out, err := ed.result()
	return string(out), err
}

func mustMap(t *testing.T, ed *editor, m *yaml.Node, path ...string) *yaml.Node {
	t.Helper()
	p := ""
	for _, k := range path {
		var err error
		m, err = ed.mapping(m, p, k)
		require.NoError(t, err)
		p = joinPath(p, k)
	}
	return m
}

func set(t *testing.T, ed *editor, m *yaml.Node, key string, v *yaml.Node) {
	t.Helper()
	_, err := ed.set(m, "", key, v)
	require.NoError(t, err)
}

func TestEditorInPlace(t *testing.T) {
	tests := []struct {
		name, src, want string
		edit            func(t *testing.T, ed *editor)
	}{
		{name: "scalar with a comment keeps the comment",
			src:  "# head\nworkflow:\n  phase: spec-flow\n  status: in_progress  # Options: in_progress, completed\n\n  other: 1\n",
			want: "# head\nworkflow:\n  phase: spec-flow\n  status: completed  # Options: in_progress, completed\n\n  other: 1\n",
			edit: func(t *testing.T, ed *editor) {
				set(t, ed, mustMap(t, ed, ed.root, "workflow"), "status", str("completed"))
			}},
		{name: "quoted stays quoted, plain stays plain",
			src:  "a: \"1.0.0\"\nb: '2025-11-20T15:00:00Z'\nc: 2025-11-20T15:00:00Z\n",
			want: "a: \"2.7.0\"\nb: '2025-12-01T10:00:00Z'\nc: 2025-12-01T10:00:00Z\n",
			edit: func(t *testing.T, ed *editor) {
				set(t, ed, ed.root, "a", str("2.7.0"))
				set(t, ed, ed.root, "b", ts("2025-12-01T10:00:00Z"))
				set(t, ed, ed.root, "c", ts("2025-12-01T10:00:00Z"))
			}},
		{name: "a null takes the quoting of the same key elsewhere, else of its neighbours",
			src:  "staging:\n  url: \"https://s.example.com\"\n  id: \"dpl_1\"\nproduction:\n  url: null\n  tag: null\n",
			want: "staging:\n  url: \"https://s.example.com\"\n  id: \"dpl_1\"\nproduction:\n  url: \"https://example.com\"\n  tag: \"v2.7.0\"\n",
			edit: func(t *testing.T, ed *editor) {
				p := mustMap(t, ed, ed.root, "production")
				set(t, ed, p, "url", str("https://example.com"))
				set(t, ed, p, "tag", str("v2.7.0"))
			}},
		{name: "new keys go after the last entry, nested ones first",
			src:  "deployment:\n  production:\n    url: x\n    ids: {}\n\nafter: 1\n",
			want: "deployment:\n  production:\n    url: x\n    ids: {}\n    version: 2.7.0\n  model: staging-prod\n\nafter: 1\n",
			edit: func(t *testing.T, ed *editor) {
				d := mustMap(t, ed, ed.root, "deployment")
				set(t, ed, d, "model", str("staging-prod"))
				set(t, ed, mustMap(t, ed, d, "production"), "version", str("2.7.0"))
			}},
		{name: "a new mapping at the end of a file without a final newline",
			src:  "feature: x\nphases:\n    spec: done",
			want: "feature: x\nphases:\n    spec: done\ndeployment:\n    production:\n        version: 2.7.0\n        deployed: true\n",
			edit: func(t *testing.T, ed *editor) {
				p := mustMap(t, ed, ed.root, "deployment", "production")
				set(t, ed, p, "version", str("2.7.0"))
				set(t, ed, p, "deployed", boolean(true))
			}},
		{name: "flow collections stay flow, as yq writes them",
			src:  "workflow:\n  completed_phases: []\n  phase_timing: {}\n  failed: [a, 'b']\n",
			want: "workflow:\n  completed_phases: ['ship:ship-prod']\n  phase_timing: {'ship:ship-prod': {status: completed}}\n  failed: [a, 'b', c]\n",
			edit: func(t *testing.T, ed *editor) {
				w := mustMap(t, ed, ed.root, "workflow")
				ed.appendItem(ed.list(w, "completed_phases"), "", str("ship:ship-prod"))
				set(t, ed, mustMap(t, ed, w, "phase_timing", "ship:ship-prod"), "status", str("completed"))
				ed.appendItem(ed.list(w, "failed"), "", str("c"))
			}},
		{name: "a flow collection with quotes, apostrophes and a comment",
			src:  "a: [it's, \"b]\", 'c'' d'] # note\nb: 1\n",
			want: "a: [it's, \"b]\", 'c'' d', e] # note\nb: 1\n",
			edit: func(t *testing.T, ed *editor) { ed.appendItem(ed.list(ed.root, "a"), "a", str("e")) }},
		{name: "block list: append and remove",
			src:  "done:\n  - plan   # first\n  - ship-prod\n  - tasks\n# tail\nfailed:\n- ship-prod\nnext: 1\n",
			want: "done:\n  - plan   # first\n  - tasks\n  - ship-prod2\n# tail\nfailed: []\nnext: 1\n",
			edit: func(t *testing.T, ed *editor) {
				require.NoError(t, ed.removeItem(ed.root, "done", "done", ed.list(ed.root, "done"), 1))
				ed.appendItem(ed.list(ed.root, "done"), "done", str("ship-prod2"))
				require.NoError(t, ed.removeItem(ed.root, "failed", "failed", ed.list(ed.root, "failed"), 0))
			}},
		{name: "list of mappings: append an item",
			src:  "phases:\n  - name: spec\n    status: in_progress\n\ncurrent_phase: spec\n",
			want: "phases:\n  - name: spec\n    status: in_progress\n  - name: ship-prod\n    status: completed\n\ncurrent_phase: spec\n",
			edit: func(t *testing.T, ed *editor) {
				item := &yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{str("name"), str("ship-prod"), str("status"), str("completed")}}
				ed.appendItem(ed.list(ed.root, "phases"), "phases", item)
			}},
		{name: "null becomes a block mapping under its key",
			src:  "deployment:\n  production: null  # later\n  staging:\nend: 1\n",
			want: "deployment:\n  production:  # later\n    version: 2.7.0\n  staging:\n    url: s\nend: 1\n",
			edit: func(t *testing.T, ed *editor) {
				set(t, ed, mustMap(t, ed, ed.root, "deployment", "production"), "version", str("2.7.0"))
				set(t, ed, mustMap(t, ed, ed.root, "deployment", "staging"), "url", str("s"))
			}},
		{name: "an alias to a mapping becomes a merge, the anchor is untouched",
			src:  "defaults: &d\n  url: https://example.com\n  version: 1.0.0\ndeployment:\n  production: *d\n",
			want: "defaults: &d\n  url: https://example.com\n  version: 1.0.0\ndeployment:\n  production:\n    <<: *d\n    version: 2.7.0\n",
			edit: func(t *testing.T, ed *editor) {
				set(t, ed, mustMap(t, ed, ed.root, "deployment", "production"), "version", str("2.7.0"))
			}},
		{name: "a key only merged in is overridden in the mapping itself",
			src:  "defaults: &d\n  url: https://example.com\n  version: 1.0.0\nproduction:\n  <<: *d\n  tag: v1.0.0\n",
			want: "defaults: &d\n  url: https://example.com\n  version: 1.0.0\nproduction:\n  <<: *d\n  tag: v2.7.0\n  version: 2.7.0\n",
			edit: func(t *testing.T, ed *editor) {
				p := mustMap(t, ed, ed.root, "production")
				set(t, ed, p, "tag", str("v2.7.0"))
				set(t, ed, p, "version", str("2.7.0"))
			}},
		{name: "an alias to a scalar is replaced, an anchored scalar keeps its anchor",
			src:  "v: &ver 1.0.0\nold: *ver\np:\n  version: *ver\n  tag: &t v1.0.0\n",
			want: "v: &ver 1.0.0\nold: *ver\np:\n  version: 2.7.0\n  tag: &t v2.7.0\n",
			edit: func(t *testing.T, ed *editor) {
				p := mustMap(t, ed, ed.root, "p")
				set(t, ed, p, "version", str("2.7.0"))
				set(t, ed, p, "tag", str("v2.7.0"))
			}},
		{name: "characters before a value are counted as yaml.v3 counts columns",
			src:  "é: {ü: \"x\", z: null}\ntitle: Café façade\n",
			want: "é: {ü: \"x\", z: \"y\"}\ntitle: Déjà vu\n",
			edit: func(t *testing.T, ed *editor) {
				set(t, ed, mustMap(t, ed, ed.root, "é"), "z", str("y"))
				set(t, ed, ed.root, "title", str("Déjà vu"))
			}},
		{name: "delete a key",
			src:  "t:\n  started_at: a\n  completed_at: b\n  duration_seconds: 3\n  status: completed\n",
			want: "t:\n  started_at: a\n  status: in_progress\n",
			edit: func(t *testing.T, ed *editor) {
				m := mustMap(t, ed, ed.root, "t")
				require.NoError(t, ed.deleteKey(m, "t", "completed_at"))
				require.NoError(t, ed.deleteKey(m, "t", "duration_seconds"))
				set(t, ed, m, "status", str("in_progress"))
			}},
		{name: "text that needs quotes gets them",
			src:  "a: x\n",
			want: "a: x\nreason: 'health checks failed: api: 500'\nv: \"2.10\"\nmulti: \"line one\\nline two\"\n",
			edit: func(t *testing.T, ed *editor) {
				set(t, ed, ed.root, "reason", str("health checks failed: api: 500"))
				set(t, ed, ed.root, "v", str("2.10"))
				set(t, ed, ed.root, "multi", str("line one\nline two"))
			}},
		{name: "Windows line endings are kept",
			src:  "workflow:\r\n  status: in_progress\r\n  done:\r\n    - a\r\n    - b\r\nend: 1\r\n",
			want: "workflow:\r\n  status: completed\r\n  done:\r\n    - b\r\n    - c\r\n  phase: x\r\nend: 1\r\n",
			edit: func(t *testing.T, ed *editor) {
				w := mustMap(t, ed, ed.root, "workflow")
				set(t, ed, w, "status", str("completed"))
				require.NoError(t, ed.removeItem(w, "done", "done", ed.list(w, "done"), 0))
				ed.appendItem(ed.list(w, "done"), "done", str("c"))
				set(t, ed, w, "phase", str("x"))
			}},
		{name: "indentation of the file is kept",
			src:  "deployment:\n    staging:\n        url: s\n",
			want: "deployment:\n    staging:\n        url: s\n    production:\n        url: p\n",
			edit: func(t *testing.T, ed *editor) {
				set(t, ed, mustMap(t, ed, ed.root, "deployment", "production"), "url", str("p"))
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := runEdit(t, tt.src, func(ed *editor) error { tt.edit(t, ed); return nil })
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestEditorRefusesWhatItCannotRewrite(t *testing.T) {
	tests := []struct{ name, src, want string }{
		{name: "block scalar", src: "version: |\n  1.0.0\nnext: 1\n", want: "line 1: the value of version spans several lines"},
		{name: "a list where a value goes", src: "version: [1]\n", want: "version is a list, not a single value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := runEdit(t, tt.src, func(ed *editor) error {
				_, err := ed.set(ed.root, "", "version", str("2.7.0"))
				return err
			})
			require.ErrorIs(t, err, errEdit)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

// The text is checked against the edited tree: a change the text does not
// carry is an error, not a silently different file.
func TestEditorVerifiesItsOwnOutput(t *testing.T) {
	_, err := runEdit(t, "a: 1\nb: 2\n", func(ed *editor) error {
		ed.root.Content[1].Value = "3" // changed in the tree behind the editor's back
		return nil
	})
	require.ErrorIs(t, err, errEdit)
	assert.Contains(t, err.Error(), "does not read back as the intended values")
}
