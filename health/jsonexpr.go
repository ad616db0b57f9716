package health

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/itchyny/gojq"
)

// Expr is a compiled expect_json expectation: a jq expression, run by
// github.com/itchyny/gojq, that must hold on a JSON body.
//
// # How the result is judged
//
// The expectation holds when the expression yields at least one value and
// every value it yields is neither null nor false — jq's own notion of
// truth, the one `select` and `if` use. So the two forms users write both
// work as they read:
//
//	.database == "connected"             a comparison yields true or false
//	.ready                               a field must be present, not null or false
//
// and so does the rest of jq:
//
//	.checks | map(.status == "up") | all
//	[.checks[] | select(.status != "pass")] | length == 0
//	.replicas | numbers >= 2             (yields nothing, so fails, unless a number)
//
// Comparisons follow jq's ordering of types (null < false < true < numbers
// < strings < arrays < objects): `.replicas >= 2` holds when .replicas is
// any string. Write `.replicas | numbers >= 2` to require a number.
//
// An expression that yields no value fails, and so does one that raises a
// jq error (e.g. `.a.b` when .a is a string); the message says which.
// Evaluation stops when the context ends: a check's attempt timeout bounds
// it. The expression cannot read the environment ($ENV and env are empty),
// input, or files, so it cannot put a secret into a report.
//
// # Messages
//
// A failed comparison, at the top of the expression or at the end of a pipe,
// names the value of its left side, as `.database is "disconnected" (want
// == "connected")` or `[.checks[] | select(.status != "up")] | length is 1
// (want == 0)`; a path
// names what it found, as `.cache.ready is absent (want present)`; any other
// expression gives the value it yielded.
type Expr struct {
	src string
	all *jqQuery
	// subject is what a failure reports on: the left side of a top-level
	// comparison, or the whole expression.
	subject *jqQuery
	// want is "OP RIGHT" for a top-level comparison, else "".
	want string
}

// ParseExpr compiles a jq expression for expect_json (see Expr for how its
// result is judged). A syntax error, an undefined function or variable, and
// an assignment at the end of the expression (`.a = 1`, whose result is the
// document itself and always holds: compare with ==) are errors.
//
//	.database == "connected"
//	.checks["db:ping"][0].status != "fail"
//	.replicas >= 2
//	.ready
//	.checks | map(.status == "up") | all
func ParseExpr(src string) (*Expr, error) {
	q, err := gojq.Parse(src)
	if err != nil {
		return nil, fmt.Errorf("expression %q: %w", src, err)
	}
	if op, ok := yieldsAssignment(q); ok {
		return nil, fmt.Errorf("expression %q: %s assigns in jq and its result always holds; compare with ==", src, op)
	}
	all, err := compileJQ(q)
	if err != nil {
		return nil, fmt.Errorf("expression %q: %w", src, err)
	}
	all.text = strings.TrimSpace(src) // as the user wrote it
	e := &Expr{src: src, all: all, subject: all}
	if left, want, ok := comparedSide(q); ok {
		// It compiles: it is a part of a query that did.
		if subject, err := compileJQ(left); err == nil {
			e.subject, e.want = subject, want
		}
	}
	return e, nil
}

// comparedSide splits a query that ends in a comparison, at its top or at
// the end of a pipe, into what is compared (the query with the comparison
// replaced by its left side) and "OP RIGHT".
func comparedSide(q *gojq.Query) (*gojq.Query, string, bool) {
	if isComparison(q.Op) {
		return q.Left, q.Op.String() + " " + q.Right.String(), true
	}
	if q.Op == gojq.OpPipe && q.Right != nil {
		if right, want, ok := comparedSide(q.Right); ok {
			left := *q // keeps Patterns, the variables `… as $x |` binds
			left.Right = right
			return &left, want, true
		}
	}
	return nil, "", false
}

// String returns the expression as written.
func (e *Expr) String() string { return e.src }

// Eval runs the expression on a decoded JSON document (as encoding/json
// decodes into an any, or any value gojq accepts). It returns nil when the
// expectation holds, else an error saying what was found. It stops, with
// ctx's error, when ctx ends.
func (e *Expr) Eval(ctx context.Context, doc any) error {
	yielded := false
	for v, err := range e.all.run(ctx, doc) {
		if err != nil {
			return fmt.Errorf("%s: %w", e.src, err)
		}
		if v == nil || v == false {
			return e.explain(ctx, doc, v)
		}
		yielded = true
	}
	if !yielded {
		return fmt.Errorf("%s yields no value (want one that is neither null nor false)", e.src)
	}
	return nil
}

// explain describes a result that is null or false.
func (e *Expr) explain(ctx context.Context, doc any, result any) error {
	if e.want == "" {
		if e.subject.absent(ctx, doc) {
			return fmt.Errorf("%s is absent (want present)", e.subject)
		}
		if e.subject.isPath(ctx, doc) {
			return fmt.Errorf("%s is %s (want present and neither null nor false)", e.subject, jsonText(result))
		}
		return fmt.Errorf("%s yields %s (want neither null nor false)", e.subject, jsonText(result))
	}
	// A comparison: show the left side, when it has one value.
	got, err := e.subject.values(ctx, doc, 2)
	switch {
	case err != nil || len(got) != 1:
		return fmt.Errorf("%s yields %s", e.src, jsonText(result))
	case e.subject.absent(ctx, doc):
		return fmt.Errorf("%s is absent (want %s)", e.subject, e.want)
	default:
		return fmt.Errorf("%s is %s (want %s)", e.subject, jsonText(got[0]), e.want)
	}
}

func isComparison(op gojq.Operator) bool {
	switch op {
	case gojq.OpEq, gojq.OpNe, gojq.OpLt, gojq.OpLe, gojq.OpGt, gojq.OpGe:
		return true
	}
	return false
}

// yieldsAssignment reports whether q's result is that of an assignment
// (=, |=, +=, …): the whole query, or the last stage of a pipe.
func yieldsAssignment(q *gojq.Query) (string, bool) {
	for q.Op == gojq.OpPipe && q.Right != nil {
		q = q.Right
	}
	switch q.Op {
	case gojq.OpAssign, gojq.OpModify, gojq.OpUpdateAdd, gojq.OpUpdateSub, gojq.OpUpdateMul,
		gojq.OpUpdateDiv, gojq.OpUpdateMod, gojq.OpUpdateAlt:
		return q.Op.String(), true
	}
	return "", false
}

// jqQuery is a compiled jq expression with what messages need: its text
// and its path, to tell an absent field from one that holds null.
type jqQuery struct {
	text string
	code *gojq.Code
	// path is path(text); running it fails when the query is not a path.
	path *gojq.Code
}

// compileJQ compiles q. gojq's defaults are what a health check wants:
// $ENV and env are empty, and input, debug and stderr are not defined.
func compileJQ(q *gojq.Query) (*jqQuery, error) {
	code, err := gojq.Compile(q)
	if err != nil {
		return nil, err
	}
	jq := &jqQuery{text: q.String(), code: code}
	pathQuery := &gojq.Query{Term: &gojq.Term{Type: gojq.TermTypeFunc, Func: &gojq.Func{Name: "path", Args: []*gojq.Query{q}}}}
	if pc, err := gojq.Compile(pathQuery); err == nil {
		jq.path = pc
	}
	return jq, nil
}

// parseJQ parses and compiles src.
func parseJQ(src string) (*jqQuery, error) {
	q, err := gojq.Parse(src)
	if err != nil {
		return nil, err
	}
	return compileJQ(q)
}

// String returns the query as gojq prints it.
func (q *jqQuery) String() string { return q.text }

// run yields the query's values, or the error that stopped it.
func (q *jqQuery) run(ctx context.Context, doc any) func(yield func(any, error) bool) {
	return iterate(q.code.RunWithContext(ctx, doc))
}

func iterate(it gojq.Iter) func(yield func(any, error) bool) {
	return func(yield func(any, error) bool) {
		for {
			v, ok := it.Next()
			if !ok {
				return
			}
			if err, isErr := v.(error); isErr {
				yield(nil, err)
				return
			}
			if !yield(v, nil) {
				return
			}
		}
	}
}

// values returns the query's first values, at most limit of them.
func (q *jqQuery) values(ctx context.Context, doc any, limit int) ([]any, error) {
	var out []any
	for v, err := range q.run(ctx, doc) {
		if err != nil {
			return out, err
		}
		if out = append(out, v); len(out) >= limit {
			break
		}
	}
	return out, nil
}

// onePath returns the query's single path in doc, when it is a path.
func (q *jqQuery) onePath(ctx context.Context, doc any) ([]any, bool) {
	if q.path == nil {
		return nil, false
	}
	var paths [][]any
	for v, err := range iterate(q.path.RunWithContext(ctx, doc)) {
		p, isPath := v.([]any)
		if err != nil || !isPath || len(paths) > 0 {
			return nil, false
		}
		paths = append(paths, p)
	}
	if len(paths) != 1 {
		return nil, false
	}
	return paths[0], true
}

// isPath reports whether the query is a single path in doc.
func (q *jqQuery) isPath(ctx context.Context, doc any) bool {
	_, ok := q.onePath(ctx, doc)
	return ok
}

// absent reports whether the query is a single path in doc that leads
// nowhere: a missing key or an index past the end (jq yields null for it).
func (q *jqQuery) absent(ctx context.Context, doc any) bool {
	path, ok := q.onePath(ctx, doc)
	if !ok {
		return false
	}
	cur := doc
	for _, step := range path {
		switch k := step.(type) {
		case string:
			obj, isObj := cur.(map[string]any)
			if !isObj {
				return true
			}
			if cur, isObj = obj[k]; !isObj {
				return true
			}
		default:
			i, isIndex := gojq.ToInt(k)
			if !isIndex {
				return false // a slice: there as far as a message needs
			}
			arr, isArr := cur.([]any)
			if !isArr {
				return true // an index into null
			}
			if i < 0 {
				i += len(arr)
			}
			if i < 0 || i >= len(arr) {
				return true
			}
			cur = arr[i]
		}
	}
	return false
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
		return nil, errors.New("unexpected data after the JSON value")
	}
	return doc, nil
}
