package conventional_test

import (
	"errors"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/shipprod/shipprod/version/conventional"
)

// specHeader is the header grammar, as a regular expression.
var specHeader = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_-]*(\([^()\r\n]*\))?!?: .*$`)

// FuzzParse checks that Parse never panics, that what it accepts formats back
// to a message with the same meaning, and that a breaking change is only
// ever found where the specification puts it. The seed corpus is in
// testdata/fuzz/FuzzParse; run `go test -fuzz=FuzzParse ./version/conventional`.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"feat: a",
		"feat(scope)!: b\n\nbody\n\nBREAKING CHANGE: c",
		"fix: x\n\nRefs #1\nBREAKING-CHANGE: y",
		"Revert \"feat: a\"\n\nThis reverts commit abcdef1.",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, msg string) {
		c, err := conventional.Parse(msg)
		// The header must have the shape the specification describes.
		first := ""
		for _, l := range strings.Split(msg, "\n") {
			if l = strings.TrimRight(l, "\r"); strings.TrimSpace(l) != "" || first != "" {
				first = l
				break
			}
		}
		if err == nil && !specHeader.MatchString(first) {
			t.Fatalf("Parse(%q) accepted header %q", msg, first)
		}
		var se *conventional.SyntaxError
		if !specHeader.MatchString(first) && (!errors.As(err, &se) || se.Line != 1) {
			t.Fatalf("Parse(%q) = %v, want a line 1 error for header %q", msg, err, first)
		}
		r, isRevert := conventional.ParseRevert(msg, nil)
		if isRevert && !strings.HasPrefix(strings.TrimLeft(msg, " \t\r\n"), "Revert \"") {
			t.Fatalf("ParseRevert(%q) = %+v for a message that does not start with Revert", msg, r)
		}
		if err != nil {
			if !reflect.DeepEqual(c, conventional.Commit{}) {
				t.Fatalf("Parse(%q) returned %+v with error %v", msg, c, err)
			}
			return
		}
		if c.Type == "" || c.Description == "" || c.Type != strings.ToLower(c.Type) {
			t.Fatalf("Parse(%q) = %+v: empty or non-lower-case type, or empty description", msg, c)
		}
		if c.Breaking() && !c.Bang {
			found := false
			for _, f := range c.Footers {
				found = found || f.IsBreaking()
			}
			if !found || !strings.Contains(msg, "BREAKING") {
				t.Fatalf("Parse(%q): breaking without a bang or a BREAKING footer", msg)
			}
		}
		again, err := conventional.Parse(c.String())
		if err != nil {
			t.Fatalf("Parse(String()) of %q: %v (formatted %q)", msg, err, c.String())
		}
		if !reflect.DeepEqual(again, c) {
			t.Fatalf("round trip of %q changed the commit:\n got %+v\nwant %+v", msg, again, c)
		}
	})
}
