package gate

import (
	"bytes"
	"fmt"
	"sort"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// This file finds where each node of a parsed YAML file is in its text:
// the editor changes the text there.

// offset is the byte offset of a 1-based line and column (yaml.v3 counts
// columns in characters).
func (ed *editor) offset(line, col int) int {
	if line < 1 || line > len(ed.lines) {
		return len(ed.src)
	}
	off := ed.lines[line-1]
	for i := 1; i < col && off < len(ed.src) && ed.src[off] != '\n'; i++ {
		_, w := utf8.DecodeRune(ed.src[off:])
		off += w
	}
	return off
}

// lineOf is the 1-based line of a byte offset.
func (ed *editor) lineOf(off int) int {
	return sort.Search(len(ed.lines), func(i int) bool { return ed.lines[i] > off })
}

// nextLine is the offset of the start of the line after the one holding off
// (len(src) at the last line).
func (ed *editor) nextLine(off int) int {
	if i := bytes.IndexByte(ed.src[off:], '\n'); i >= 0 {
		return off + i + 1
	}
	return len(ed.src)
}

// indentOf is the number of spaces that start the line holding off.
func (ed *editor) indentOf(off int) int {
	start := ed.lines[ed.lineOf(off)-1]
	n := 0
	for start+n < len(ed.src) && ed.src[start+n] == ' ' {
		n++
	}
	return n
}

// measure records the span of n and of everything under it; flow is the
// outermost flow collection n is in.
func (ed *editor) measure(n, flow *yaml.Node) (span, error) {
	if flow != nil {
		ed.flowRoot[n] = flow
	}
	start := ed.skipProps(ed.offset(n.Line, n.Column))
	var s span
	var err error
	switch {
	case n.Kind == yaml.AliasNode:
		s = span{start, ed.tokenEnd(start), true}
	case n.Kind == yaml.ScalarNode:
		s = ed.scalarSpan(n, start)
	case n.Style&yaml.FlowStyle != 0 || (len(n.Content) == 0 && n.Kind != yaml.DocumentNode):
		if flow == nil {
			flow = n
			ed.flowRoot[n] = n
		}
		s, err = ed.flowSpan(start)
		for i, c := range n.Content {
			ed.parent[c] = n
			ed.noteKeyStyle(n, i)
			if err == nil {
				_, err = ed.measure(c, flow)
			}
		}
	default:
		s = span{start, start, false}
		for i, c := range n.Content {
			ed.parent[c] = n
			ed.noteKeyStyle(n, i)
			cs, cerr := ed.measure(c, flow)
			if cerr != nil {
				return s, cerr
			}
			s.end = max(s.end, cs.end)
		}
	}
	ed.span[n] = s
	return s, err
}

// noteKeyStyle records the quoting of the value at index i of n when it is
// the first text value of its key name.
func (ed *editor) noteKeyStyle(n *yaml.Node, i int) {
	if n.Kind != yaml.MappingNode || i%2 == 0 {
		return
	}
	k, v := n.Content[i-1], n.Content[i]
	if _, ok := ed.keyStyle[k.Value]; !ok && v.Kind == yaml.ScalarNode && textual(v.ShortTag()) && v.Value != "" {
		ed.keyStyle[k.Value] = v.Style & quoted
	}
}

const quoted = yaml.DoubleQuotedStyle | yaml.SingleQuotedStyle

func textual(tag string) bool { return tag == "!!str" || tag == "!!timestamp" }

// skipProps skips an anchor (&a) and a tag (!!str) before a node's content.
func (ed *editor) skipProps(off int) int {
	for off < len(ed.src) && (ed.src[off] == '&' || ed.src[off] == '!') {
		for off < len(ed.src) && !isSpace(ed.src[off]) {
			off++
		}
		for off < len(ed.src) && (ed.src[off] == ' ' || ed.src[off] == '\t') {
			off++
		}
	}
	return off
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// tokenEnd is the end of an alias or plain token in flow or block context.
func (ed *editor) tokenEnd(off int) int {
	for off < len(ed.src) && !isSpace(ed.src[off]) && !strings.ContainsRune(",]}", rune(ed.src[off])) {
		off++
	}
	return off
}

func (ed *editor) scalarSpan(n *yaml.Node, start int) span {
	src := ed.src
	if start >= len(src) {
		return span{start, start, isNull(n)}
	}
	switch src[start] {
	case '"':
		i := start + 1
		for i < len(src) && src[i] != '"' {
			if src[i] == '\\' {
				i++
			}
			i++
		}
		return span{start, min(i+1, len(src)), true}
	case '\'':
		i := start + 1
		for i < len(src) {
			if src[i] == '\'' {
				if i+1 < len(src) && src[i+1] == '\'' {
					i += 2
					continue
				}
				break
			}
			i++
		}
		return span{start, min(i+1, len(src)), true}
	case '|', '>':
		return span{start, ed.indentedEnd(start), false}
	}
	if n.Value == "" && isNull(n) {
		return span{start, start, true} // "key:" with nothing after it
	}
	if bytes.HasPrefix(src[start:], []byte(n.Value)) {
		return span{start, start + len(n.Value), true}
	}
	return span{start, ed.indentedEnd(start), false} // a plain scalar over several lines
}

// indentedEnd is the end of the text that starts at off and goes on over
// the lines indented deeper than off's line (a block scalar, a multi-line
// plain scalar); trailing blank lines are not part of it.
func (ed *editor) indentedEnd(off int) int {
	base := ed.indentOf(off)
	end := ed.nextLine(off) - 1
	if ed.src[len(ed.src)-1] != '\n' && ed.nextLine(off) == len(ed.src) {
		end = len(ed.src)
	}
	for line := ed.lineOf(off) + 1; line <= len(ed.lines); line++ {
		start := ed.lines[line-1]
		if start >= len(ed.src) {
			break
		}
		text := ed.src[start:ed.nextLine(start)]
		if len(bytes.TrimSpace(text)) == 0 {
			continue
		}
		if ed.indentOf(start) <= base {
			break
		}
		end = start + len(bytes.TrimRight(text, "\r\n"))
	}
	return end
}

// flowSpan is the span of the flow collection opening at off: up to its
// matching bracket, skipping quoted text and comments.
func (ed *editor) flowSpan(off int) (span, error) {
	src := ed.src
	if off >= len(src) || (src[off] != '[' && src[off] != '{') {
		return span{}, fmt.Errorf("%w: line %d: expected a flow collection", errEdit, ed.lineOf(off))
	}
	depth := 0
	for i := off; i < len(src); i++ {
		switch c := src[i]; c {
		case '[', '{':
			depth++
		case ']', '}':
			depth--
			if depth == 0 {
				return span{off, i + 1, true}, nil
			}
		case '"', '\'':
			// A quote opens quoted text only where a value starts ("it's"
			// is plain text).
			if j := bytes.LastIndexFunc(src[:i], func(r rune) bool { return !isSpace(byte(r)) }); j >= 0 && strings.ContainsRune("[{,:", rune(src[j])) {
				s := ed.scalarSpan(&yaml.Node{Kind: yaml.ScalarNode}, i)
				i = s.end - 1
			}
		case '#':
			if i > 0 && isSpace(src[i-1]) {
				i = ed.nextLine(i) - 1
			}
		}
	}
	return span{}, fmt.Errorf("%w: line %d: unterminated flow collection", errEdit, ed.lineOf(off))
}

// indentStep is the file's indentation of nested mappings (2 when none).
func (ed *editor) indentStep(n *yaml.Node) int {
	if n.Kind != yaml.MappingNode || n.Style&yaml.FlowStyle != 0 {
		return 2
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if v.Kind == yaml.MappingNode && v.Style&yaml.FlowStyle == 0 && len(v.Content) > 0 && v.Content[0].Line > k.Line {
			if d := v.Content[0].Column - k.Column; d > 0 {
				return d
			}
		}
	}
	return 2
}
