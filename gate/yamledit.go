package gate

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// editor changes values in a YAML file in place. Re-encoding a node tree
// with yaml.v3 loses blank lines, re-indents, moves comments and rewraps
// flow collections; the editor instead finds in the text where the node
// tree says each value is and changes only those bytes, so that comments,
// blank lines, key order, quoting, anchors and unknown keys stay as they
// were. Changes are made to the node tree first (so later lookups see
// them) and turned into text at the end; the result is parsed again and
// must decode to exactly the edited tree, or nothing is returned.
//
// Where the text changes:
//   - a scalar that changes value is rewritten where it stands, keeping its
//     quoting (a null takes the quoting of the strings around it);
//   - a key or list item added to a block collection goes on new lines
//     after the collection's last entry, at its indentation;
//   - a flow collection ({…} or […]) that changes is rewritten whole, in
//     flow style on one line, as yq writes it;
//   - a null value that becomes a collection, and an alias to a mapping
//     that gets keys of its own ("<<: *alias" then the keys, as YAML merges
//     mean), become block collections under their key.
type editor struct {
	src   []byte
	lines []int // lines[i] is the offset where line i+1 starts
	root  *yaml.Node
	step  int  // indentation step of nested mappings
	crlf  bool // the file's lines end with \r\n

	span     map[*yaml.Node]span       // text of every parsed node
	flowRoot map[*yaml.Node]*yaml.Node // outermost flow collection holding a node
	parent   map[*yaml.Node]*yaml.Node // collection holding a node
	keyStyle map[string]yaml.Style     // quoting of the first text value of each key name

	scalars map[*yaml.Node]span // parsed scalars and aliases to rewrite (original span)
	dirty   map[*yaml.Node]bool // outermost flow collections to rewrite
	inserts []insertion
	deletes []span
	changed []string // dotted paths changed, in order
}

// span is a byte range of the source; fixed is false for text that cannot
// be rewritten in place (block and multi-line plain scalars).
type span struct {
	start, end int
	fixed      bool
}

// insertion is text added at the start of a line. Insertions at the same
// place go deepest first (a nested mapping's new keys before its parent's),
// then in the order they were made.
type insertion struct {
	at, indent, seq int
	render          func() (string, error)
	// cut, when set, is removed too (a null replaced by a block collection).
	cut *span
}

// errEdit wraps the reasons a file cannot be edited in place.
var errEdit = errors.New("cannot edit the state file in place")

func newEditor(src []byte, root *yaml.Node) (*editor, error) {
	ed := &editor{src: src, root: root, step: 2,
		span: map[*yaml.Node]span{}, flowRoot: map[*yaml.Node]*yaml.Node{},
		parent: map[*yaml.Node]*yaml.Node{}, keyStyle: map[string]yaml.Style{},
		scalars: map[*yaml.Node]span{}, dirty: map[*yaml.Node]bool{}}
	ed.crlf = bytes.Contains(src, []byte("\r\n"))
	ed.lines = append(ed.lines, 0)
	for i, c := range src {
		if c == '\n' {
			ed.lines = append(ed.lines, i+1)
		}
	}
	if _, err := ed.measure(root, nil); err != nil {
		return nil, err
	}
	ed.step = ed.indentStep(root)
	return ed, nil
}

func (ed *editor) parsed(n *yaml.Node) bool { return n.Line > 0 }

func (ed *editor) note(path string) {
	for _, p := range ed.changed {
		if p == path {
			return
		}
	}
	ed.changed = append(ed.changed, path)
}

// inFlow reports whether n is, or will be written, inside a flow collection.
func (ed *editor) inFlow(n *yaml.Node) bool {
	for ; n != nil; n = ed.parent[n] {
		if ed.flowRoot[n] != nil {
			return true
		}
	}
	return false
}

// touchFlow records that parsed node n changed, when it is in a flow
// collection: the outermost one is rewritten whole. It reports whether n
// is in one (block changes are insertions and deletions instead).
func (ed *editor) touchFlow(n *yaml.Node) bool {
	if f := ed.flowRoot[n]; f != nil {
		ed.dirty[f] = true
		return true
	}
	return false
}

// mapping returns the mapping at key in m (a key written in m itself),
// making one when the key is absent or null. An alias to a mapping becomes
// a mapping that merges it ("<<: *alias"), so that keys written into it
// do not change the anchored mapping.
func (ed *editor) mapping(m *yaml.Node, path, key string) (*yaml.Node, error) {
	path = joinPath(path, key)
	i := ownIndex(m, key)
	if i < 0 {
		v := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
		ed.add(m, key, v)
		ed.note(path)
		return v, nil
	}
	v := m.Content[i+1]
	switch {
	case v.Kind == yaml.MappingNode:
		return v, nil
	case isNull(v):
		nv := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
		return nv, ed.replaceValue(m, i, nv)
	case v.Kind == yaml.AliasNode && deref(v) != nil && deref(v).Kind == yaml.MappingNode:
		nv := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Content: []*yaml.Node{{Kind: yaml.ScalarNode, Value: "<<"}, v}}
		return nv, ed.replaceValue(m, i, nv)
	}
	return nil, fmt.Errorf("%w: line %d: %s is %s, not a mapping", errEdit, v.Line, path, describeKind(v))
}

// list returns the list at key in m, or nil when m has none.
func (ed *editor) list(m *yaml.Node, key string) *yaml.Node {
	if v := ownValue(m, key); v != nil && v.Kind == yaml.SequenceNode {
		return v
	}
	return nil
}

func describeKind(v *yaml.Node) string {
	switch deref(v).Kind {
	case yaml.SequenceNode:
		return "a list"
	case yaml.MappingNode:
		return "a mapping"
	}
	return fmt.Sprintf("the value %q", deref(v).Value)
}

// replaceValue replaces the null or alias value at index i+1 of parsed
// mapping m with the new collection nv, written as a block under its key.
func (ed *editor) replaceValue(m *yaml.Node, i int, nv *yaml.Node) error {
	old := m.Content[i+1]
	m.Content[i+1] = nv
	ed.parent[nv] = m
	if !ed.parsed(m) || ed.touchFlow(m) {
		return nil
	}
	k := m.Content[i]
	cut := ed.span[old]
	if !cut.fixed {
		return fmt.Errorf("%w: line %d: the value of %s spans several lines", errEdit, old.Line, k.Value)
	}
	// Cut from the end of the key's colon, so no space is left behind.
	if colon := bytes.LastIndexByte(ed.src[ed.span[k].end:cut.start], ':'); colon >= 0 {
		cut.start = ed.span[k].end + colon + 1
	}
	indent := k.Column - 1 + ed.step
	ed.inserts = append(ed.inserts, insertion{at: ed.nextLine(cut.end), indent: indent, seq: len(ed.inserts), cut: &cut,
		render: func() (string, error) { return ed.renderBlock(nv, indent) }})
	return nil
}

// add appends key: v to mapping m.
func (ed *editor) add(m *yaml.Node, key string, v *yaml.Node) {
	kn := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: key}
	m.Content = append(m.Content, kn, v)
	ed.parent[v] = m
	if !ed.parsed(m) || ed.touchFlow(m) {
		return
	}
	indent := m.Content[0].Column - 1
	at := ed.nextLine(ed.span[m].end)
	ed.inserts = append(ed.inserts, insertion{at: at, indent: indent, seq: len(ed.inserts),
		render: func() (string, error) {
			return ed.renderBlock(&yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{kn, v}}, indent)
		}})
}

// set makes key in mapping m hold the scalar v (Kind, Tag and Value set;
// the style is chosen here). It reports whether anything changed.
func (ed *editor) set(m *yaml.Node, path, key string, v *yaml.Node) (bool, error) {
	if v == nil {
		return false, nil // no value to write: the key is left as it is
	}
	if v.Tag == "!!timestamp" && ed.inFlow(m) {
		// yaml.v3 cannot write a plain time inside [...] or {...} (it holds
		// colons), so it quotes it, and a quoted time is text.
		v.Tag = "!!str"
	}
	path = joinPath(path, key)
	i := ownIndex(m, key)
	if i < 0 {
		ed.style(v, ed.styleFor(m, key, v))
		ed.add(m, key, v)
		ed.note(path)
		return true, nil
	}
	old := m.Content[i+1]
	switch {
	case old.Kind == yaml.ScalarNode && sameScalar(old, v):
		return false, nil
	case old.Kind == yaml.ScalarNode:
		st := old.Style & quoted // text keeps its quoting
		if !textual(old.ShortTag()) || !textual(v.Tag) {
			st = ed.styleFor(m, key, v)
		}
		old.Tag, old.Value = v.Tag, v.Value
		ed.style(old, st)
		return true, ed.rewrite(old, path)
	case old.Kind == yaml.AliasNode && deref(old) != nil && deref(old).Kind == yaml.ScalarNode:
		ed.style(v, ed.styleFor(m, key, v))
		m.Content[i+1] = v
		ed.parent[v] = m
		if !ed.parsed(m) || ed.touchFlow(m) {
			ed.note(path)
			return true, nil
		}
		ed.scalars[v] = ed.span[old]
		ed.note(path)
		return true, nil
	}
	return false, fmt.Errorf("%w: line %d: %s is %s, not a single value", errEdit, old.Line, path, describeKind(old))
}

// rewrite records that parsed scalar n changed value.
func (ed *editor) rewrite(n *yaml.Node, path string) error {
	ed.note(path)
	if !ed.parsed(n) || ed.touchFlow(n) {
		return nil
	}
	s := ed.span[n]
	if !s.fixed {
		return fmt.Errorf("%w: line %d: the value of %s spans several lines", errEdit, n.Line, path)
	}
	ed.scalars[n] = s
	return nil
}

// sameScalar reports whether old already holds v (a quoted time equals the
// same time unquoted).
func sameScalar(old, v *yaml.Node) bool {
	if old.Value != v.Value {
		return false
	}
	t1, t2 := old.ShortTag(), v.Tag
	return t1 == t2 || (textual(t1) && textual(t2))
}

// style gives scalar n the quoting st; quoted text is a string (a quoted
// time reads back as text, as the file had it), and only text is quoted.
func (ed *editor) style(n *yaml.Node, st yaml.Style) {
	if !textual(n.Tag) {
		n.Style = 0
		return
	}
	if strings.ContainsAny(n.Value, "\n\r\t") {
		st = yaml.DoubleQuotedStyle // on one line, where the value stands
	}
	n.Style = st
	if st != 0 {
		n.Tag = "!!str"
	}
}

// styleFor is the quoting of a new text value at key in mapping m, so that
// it looks like its neighbours: the quoting of the first text value of the
// same key name in the file (the template quotes every url, a new
// production url is quoted too); else the quoting most text values have in
// m, or in the nearest mapping around m that has text values; else plain.
// Numbers, booleans and nulls are plain.
func (ed *editor) styleFor(m *yaml.Node, key string, v *yaml.Node) yaml.Style {
	if !textual(v.Tag) {
		return 0
	}
	if st, ok := ed.keyStyle[key]; ok {
		return st
	}
	for n := m; n != nil; n = ed.parent[n] {
		var plain, double, single int
		countStyles(n, &plain, &double, &single)
		switch {
		case plain+double+single == 0:
			continue
		case double > plain && double >= single:
			return yaml.DoubleQuotedStyle
		case single > plain && single > double:
			return yaml.SingleQuotedStyle
		}
		return 0
	}
	return 0
}

// countStyles counts the quoting of the parsed text values under n.
func countStyles(n *yaml.Node, plain, double, single *int) {
	switch n.Kind {
	case yaml.ScalarNode:
		if n.Line == 0 || !textual(n.ShortTag()) || n.Value == "" {
			return
		}
		switch {
		case n.Style&yaml.DoubleQuotedStyle != 0:
			*double++
		case n.Style&yaml.SingleQuotedStyle != 0:
			*single++
		default:
			*plain++
		}
	case yaml.MappingNode:
		for i := 1; i < len(n.Content); i += 2 {
			countStyles(n.Content[i], plain, double, single)
		}
	case yaml.SequenceNode:
		for _, c := range n.Content {
			countStyles(c, plain, double, single)
		}
	}
}

// appendItem appends item to list l.
func (ed *editor) appendItem(l *yaml.Node, path string, item *yaml.Node) {
	ed.note(path)
	l.Content = append(l.Content, item)
	ed.parent[item] = l
	if !ed.parsed(l) || ed.touchFlow(l) {
		return
	}
	indent := ed.dashColumn(ed.span[l.Content[0]].start)
	ed.inserts = append(ed.inserts, insertion{at: ed.nextLine(ed.span[l].end), indent: indent, seq: len(ed.inserts),
		render: func() (string, error) {
			return ed.renderBlock(&yaml.Node{Kind: yaml.SequenceNode, Content: []*yaml.Node{item}}, indent)
		}})
}

// dashColumn is the indentation of the "- " before the list item at off.
func (ed *editor) dashColumn(off int) int {
	i := off - 1
	for i >= 0 && (ed.src[i] == ' ' || ed.src[i] == '\t') {
		i--
	}
	if i >= 0 && ed.src[i] == '-' {
		return i - ed.lines[ed.lineOf(i)-1]
	}
	return ed.indentOf(off)
}

// removeItem removes item i of list l, found at key in mapping m.
func (ed *editor) removeItem(m *yaml.Node, key, path string, l *yaml.Node, i int) error {
	ed.note(path)
	item := l.Content[i]
	l.Content = append(l.Content[:i:i], l.Content[i+1:]...)
	if ed.touchFlow(l) {
		return nil
	}
	s := ed.span[item]
	dash := ed.dashColumn(s.start)
	lineStart := ed.lines[ed.lineOf(s.start)-1]
	if ed.indentOf(s.start) != dash || (i > 0 && ed.lineOf(ed.span[l.Content[i-1]].end) == ed.lineOf(s.start)) {
		return fmt.Errorf("%w: line %d: the list item does not stand on lines of its own", errEdit, item.Line)
	}
	ed.deletes = append(ed.deletes, span{lineStart, ed.nextLine(s.end), true})
	if len(l.Content) == 0 {
		// An empty block list is written "key: []", or it would read as null.
		l.Style = yaml.FlowStyle
		k := m.Content[ownIndex(m, key)]
		at := ed.span[k].end
		colon := bytes.IndexByte(ed.src[at:], ':')
		if colon < 0 {
			return fmt.Errorf("%w: line %d: no colon after %s", errEdit, k.Line, key)
		}
		at += colon + 1
		ed.inserts = append(ed.inserts, insertion{at: at, indent: 1 << 20, seq: len(ed.inserts),
			render: func() (string, error) { return " []", nil }})
	}
	return nil
}

// deleteKey removes key from mapping m, when it is there.
func (ed *editor) deleteKey(m *yaml.Node, path, key string) error {
	i := ownIndex(m, key)
	if i < 0 {
		return nil
	}
	path = joinPath(path, key)
	ed.note(path)
	k, v := m.Content[i], m.Content[i+1]
	m.Content = append(m.Content[:i:i], m.Content[i+2:]...)
	if !ed.parsed(m) || ed.touchFlow(m) {
		return nil
	}
	ks := ed.span[k]
	if ed.indentOf(ks.start) != k.Column-1 || len(m.Content) == 0 {
		return fmt.Errorf("%w: line %d: %s does not stand on lines of its own", errEdit, k.Line, path)
	}
	ed.deletes = append(ed.deletes, span{ed.lines[k.Line-1], ed.nextLine(max(ed.span[v].end, ks.end)), true})
	return nil
}

// renderBlock renders n in block style, every line indented by indent: a
// one-entry mapping or one-item list to insert, or the new collection under
// a key.
func (ed *editor) renderBlock(n *yaml.Node, indent int) (string, error) {
	text, err := ed.encode(n)
	if err != nil {
		return "", err
	}
	return indentLines(text, indent), nil
}

func indentLines(text string, indent int) string {
	var b strings.Builder
	pad := strings.Repeat(" ", indent)
	for _, line := range strings.SplitAfter(text, "\n") {
		if strings.TrimSpace(line) != "" {
			b.WriteString(pad)
		}
		b.WriteString(line)
	}
	return b.String()
}

// encode renders n with yaml.v3 at the file's indentation, without n's own
// comments and anchor (those stay in the text around it).
func (ed *editor) encode(n *yaml.Node) (string, error) {
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(ed.step)
	if err := enc.Encode(bare(n)); err != nil {
		return "", fmt.Errorf("%w: %w", errEdit, err)
	}
	if err := enc.Close(); err != nil {
		return "", fmt.Errorf("%w: %w", errEdit, err)
	}
	return b.String(), nil
}

// bare copies n without comments, and without the anchor and tag of n
// itself (they stay in the text before the rewritten span).
func bare(n *yaml.Node) *yaml.Node {
	c := stripComments(n)
	c.Anchor = ""
	if c.Kind != yaml.ScalarNode || c.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0 {
		c.Tag = ""
	}
	return c
}

func stripComments(n *yaml.Node) *yaml.Node {
	c := *n
	c.HeadComment, c.LineComment, c.FootComment = "", "", ""
	if n.Kind == yaml.AliasNode {
		return &c
	}
	c.Content = make([]*yaml.Node, len(n.Content))
	for i, ch := range n.Content {
		c.Content[i] = stripComments(ch)
	}
	return &c
}

// result applies the changes to the text. The new text must parse and
// decode to the edited tree.
func (ed *editor) result() ([]byte, error) {
	type edit struct {
		start, end, indent, seq int
		text                    string
	}
	var edits []edit
	for n, s := range ed.scalars {
		text, err := ed.encode(n)
		if err != nil {
			return nil, err
		}
		text = strings.TrimSuffix(text, "\n")
		if strings.Contains(text, "\n") {
			return nil, fmt.Errorf("%w: line %d: the new value does not fit on one line", errEdit, n.Line)
		}
		edits = append(edits, edit{start: s.start, end: s.end, text: text, indent: -1})
	}
	for n := range ed.dirty {
		text, err := ed.encode(n)
		if err != nil {
			return nil, err
		}
		s := ed.span[n]
		edits = append(edits, edit{start: s.start, end: s.end, text: strings.TrimSuffix(text, "\n"), indent: -1})
	}
	for _, d := range ed.deletes {
		edits = append(edits, edit{start: d.start, end: d.end, indent: -1})
	}
	for _, ins := range ed.inserts {
		text, err := ins.render()
		if err != nil {
			return nil, err
		}
		if ins.at == len(ed.src) && len(ed.src) > 0 && ed.src[len(ed.src)-1] != '\n' {
			text = "\n" + text
		}
		if ed.crlf {
			text = strings.ReplaceAll(text, "\n", "\r\n")
		}
		edits = append(edits, edit{start: ins.at, end: ins.at, text: text, indent: ins.indent, seq: ins.seq})
		if ins.cut != nil {
			edits = append(edits, edit{start: ins.cut.start, end: ins.cut.end, indent: -1})
		}
	}
	sort.SliceStable(edits, func(i, j int) bool {
		a, b := edits[i], edits[j]
		if a.start != b.start {
			return a.start < b.start
		}
		if a.indent != b.indent {
			return a.indent > b.indent
		}
		return a.seq < b.seq
	})
	var out bytes.Buffer
	pos := 0
	for _, e := range edits {
		if e.start < pos {
			return nil, fmt.Errorf("%w: overlapping changes at line %d", errEdit, ed.lineOf(e.start))
		}
		out.Write(ed.src[pos:e.start])
		out.WriteString(e.text)
		pos = e.end
	}
	out.Write(ed.src[pos:])
	return out.Bytes(), ed.verify(out.Bytes())
}

// verify checks that text decodes to what the edited tree decodes to.
func (ed *editor) verify(text []byte) error {
	got, err := parseState("", text)
	if err != nil {
		return fmt.Errorf("%w: the edited text is not valid: %w", errEdit, err)
	}
	var want, have any
	if err := ed.root.Decode(&want); err != nil {
		return fmt.Errorf("%w: %w", errEdit, err)
	}
	if err := got.Decode(&have); err != nil {
		return fmt.Errorf("%w: %w", errEdit, err)
	}
	if !reflect.DeepEqual(want, have) {
		return fmt.Errorf("%w: the edited text does not read back as the intended values (a layout this editor does not handle)", errEdit)
	}
	return nil
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}
