package health

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"
)

// Expr is a compiled JSON field expectation such as `.database == "connected"`.
type Expr struct {
	src  string
	path []pathElem
	op   string // "" means: present and neither null nor false
	want any    // decoded JSON literal, numbers as float64
}

type pathElem struct {
	key   string
	index int
	isIdx bool
}

// ParseExpr compiles a JSON field expression:
//
//	PATH [OP VALUE]
//
// PATH starts with "." and descends with .name, ["quoted name"] and [index]
// (a lone "." is the whole document). OP is one of == != < <= > >=, and VALUE
// is a JSON literal: "text", 3, 2.5, true, false or null. The ordering
// operators compare numbers. Without OP and VALUE the field must be present
// and neither null nor false.
//
//	.database == "connected"
//	.checks["db:ping"][0].status != "fail"
//	.replicas >= 2
//	.ready
func ParseExpr(src string) (*Expr, error) {
	s := strings.TrimSpace(src)
	e := &Expr{src: src}
	path, rest, err := parsePath(s)
	if err != nil {
		return nil, fmt.Errorf("expression %q: %w", src, err)
	}
	e.path = path
	rest = strings.TrimSpace(rest)
	if rest == "" {
		return e, nil
	}
	for _, op := range []string{"==", "!=", "<=", ">=", "<", ">"} {
		if strings.HasPrefix(rest, op) {
			e.op = op
			rest = strings.TrimSpace(rest[len(op):])
			break
		}
	}
	if e.op == "" {
		return nil, fmt.Errorf("expression %q: want an operator (== != < <= > >=) after the path, found %q", src, rest)
	}
	if rest == "" {
		return nil, fmt.Errorf("expression %q: missing the value after %s", src, e.op)
	}
	if err := json.Unmarshal([]byte(rest), &e.want); err != nil {
		return nil, fmt.Errorf("expression %q: value %s is not a JSON literal (quote strings with \"): %v", src, rest, err)
	}
	switch e.want.(type) {
	case map[string]any, []any:
		return nil, fmt.Errorf("expression %q: compare with a literal, not an object or array", src)
	}
	if e.op != "==" && e.op != "!=" {
		if _, ok := e.want.(float64); !ok {
			return nil, fmt.Errorf("expression %q: %s compares numbers, found %s", src, e.op, rest)
		}
	}
	return e, nil
}

// parsePath reads a path at the start of s and returns the rest.
func parsePath(s string) ([]pathElem, string, error) {
	if !strings.HasPrefix(s, ".") {
		return nil, s, fmt.Errorf("a path starts with \".\", e.g. .status")
	}
	var path []pathElem
	i := 0
	if len(s) == 1 || s[1] == ' ' || s[1] == '[' || isOpStart(s[1]) {
		i = 1 // the lone "." or ".[0]"
	}
	for i < len(s) {
		switch c := s[i]; {
		case c == '.':
			j := i + 1
			for j < len(s) && isIdentChar(s[j]) {
				j++
			}
			if j == i+1 {
				return nil, s, fmt.Errorf("empty name after \".\" at offset %d", i)
			}
			path = append(path, pathElem{key: s[i+1 : j]})
			i = j
		case c == '[':
			end := strings.IndexByte(s[i:], ']')
			if end < 0 {
				return nil, s, fmt.Errorf("unclosed \"[\" at offset %d", i)
			}
			inner := s[i+1 : i+end]
			if strings.HasPrefix(inner, `"`) {
				// a quoted key may contain "]": find its closing quote first
				k, n, err := scanJSONString(s[i+1:])
				if err != nil || i+1+n >= len(s) || s[i+1+n] != ']' {
					return nil, s, fmt.Errorf("bad quoted name at offset %d", i)
				}
				path = append(path, pathElem{key: k})
				i += n + 2
				continue
			}
			idx, err := strconv.Atoi(inner)
			if err != nil || idx < 0 {
				return nil, s, fmt.Errorf("index [%s] at offset %d is neither a number nor a quoted name", inner, i)
			}
			path = append(path, pathElem{index: idx, isIdx: true})
			i += end + 1
		default:
			return path, s[i:], nil
		}
	}
	return path, "", nil
}

func scanJSONString(s string) (string, int, error) {
	dec := json.NewDecoder(strings.NewReader(s))
	var out string
	if err := dec.Decode(&out); err != nil {
		return "", 0, err
	}
	return out, int(dec.InputOffset()), nil
}

func isIdentChar(c byte) bool {
	return c == '_' || c == '-' || c == '$' || c == '@' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

func isOpStart(c byte) bool { return c == '=' || c == '!' || c == '<' || c == '>' }

// String returns the expression as written.
func (e *Expr) String() string { return e.src }

// lookup finds the path in doc.
func lookup(doc any, path []pathElem) (any, bool) {
	cur := doc
	for _, p := range path {
		if p.isIdx {
			arr, ok := cur.([]any)
			if !ok || p.index >= len(arr) {
				return nil, false
			}
			cur = arr[p.index]
			continue
		}
		obj, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = obj[p.key]; !ok {
			return nil, false
		}
	}
	return cur, true
}

// Eval checks the expression against a decoded JSON document (as produced by
// encoding/json into an any). It returns nil when it holds, else an error
// saying what was found.
func (e *Expr) Eval(doc any) error {
	got, ok := lookup(doc, e.path)
	pathText := e.pathText()
	if !ok {
		return fmt.Errorf("%s is absent (want %s)", pathText, e.wantText())
	}
	if e.op == "" {
		if got == nil || got == false {
			return fmt.Errorf("%s is %s (want present and neither null nor false)", pathText, jsonText(got))
		}
		return nil
	}
	var holds bool
	switch e.op {
	case "==":
		holds = reflect.DeepEqual(got, e.want)
	case "!=":
		holds = !reflect.DeepEqual(got, e.want)
	default:
		g, isNum := got.(float64)
		if !isNum {
			return fmt.Errorf("%s is %s, not a number (want %s)", pathText, jsonText(got), e.wantText())
		}
		w := e.want.(float64)
		switch e.op {
		case "<":
			holds = g < w
		case "<=":
			holds = g <= w
		case ">":
			holds = g > w
		case ">=":
			holds = g >= w
		}
	}
	if !holds {
		return fmt.Errorf("%s is %s (want %s)", pathText, jsonText(got), e.wantText())
	}
	return nil
}

func (e *Expr) pathText() string {
	s := strings.TrimSpace(e.src)
	if path, rest, err := parsePath(s); err == nil && len(path) == len(e.path) {
		return strings.TrimSpace(s[:len(s)-len(rest)])
	}
	return s
}

func (e *Expr) wantText() string {
	if e.op == "" {
		return "present"
	}
	return e.op + " " + jsonText(e.want)
}

// jsonText renders a decoded JSON value briefly.
func jsonText(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	if len(b) > 120 {
		return string(b[:117]) + "..."
	}
	return string(b)
}

// decodeJSON decodes a whole body into an any; numbers become float64.
func decodeJSON(body []byte) (any, error) {
	var doc any
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&doc); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, fmt.Errorf("unexpected data after the JSON value")
	}
	return doc, nil
}
