package conventional_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/shipprod/shipprod/version/conventional"
)

// TestParse has a case for every rule of the Conventional Commits 1.0.0
// specification (numbered as in the spec) and for the pitfalls other tools
// fall into.
func TestParse(t *testing.T) {
	type want struct {
		typ, scope, desc, body string
		bang, breaking         bool
		note                   string
		footers                []conventional.Footer
	}
	tests := []struct {
		name string
		msg  string
		want want
		err  string // substring of the SyntaxError, "" when the message is valid
	}{
		// 1. type, optional scope, optional !, required ": ".
		{name: "1 type and description", msg: "fix: handle empty input", want: want{typ: "fix", desc: "handle empty input"}},
		{name: "1 missing colon", msg: "fix handle empty input", err: `not "type: description"`},
		{name: "1 missing space after colon", msg: "fix:handle empty input", err: `must be followed by a space`},
		{name: "1 space before colon", msg: "fix : handle", err: `not "type: description"`},
		{name: "1 type must start with a letter", msg: "1fix: handle", err: `not "type: description"`},
		// 2-3. feat and fix are ordinary types for the parser.
		{name: "2 feat", msg: "feat: add pagination", want: want{typ: "feat", desc: "add pagination"}},
		{name: "3 fix", msg: "fix: off-by-one", want: want{typ: "fix", desc: "off-by-one"}},
		// 4. scope in parentheses.
		{name: "4 scope", msg: "fix(parser): handle tabs", want: want{typ: "fix", scope: "parser", desc: "handle tabs"}},
		{name: "4 scope with spaces inside", msg: "feat(http client): retry", want: want{typ: "feat", scope: "http client", desc: "retry"}},
		{name: "4 empty scope", msg: "fix(): handle tabs", err: "empty scope"},
		{name: "4 unclosed scope", msg: "fix(parser: handle tabs", err: `not "type: description"`},
		{name: "4 nested parentheses", msg: "fix(a(b)): x", err: `not "type: description"`},
		{name: "4 scope padded with spaces", msg: "fix( parser ): x", err: "must not start or end with spaces"},
		// 5. description right after ": ".
		{name: "5 empty description", msg: "fix: ", err: "empty description"},
		{name: "5 extra spaces trimmed", msg: "fix:   spaced out  ", want: want{typ: "fix", desc: "spaced out"}},
		// 6. body after one blank line.
		{name: "6 body", msg: "fix: a\n\nThe body explains why.", want: want{typ: "fix", desc: "a", body: "The body explains why."}},
		{name: "6 body without blank line", msg: "fix: a\nno blank line", err: "must begin one blank line after the description"},
		// 7. body has any number of paragraphs.
		{name: "7 multi-paragraph body", msg: "fix: a\n\nOne.\n\nTwo.\nStill two.\n\nThree.", want: want{typ: "fix", desc: "a", body: "One.\n\nTwo.\nStill two.\n\nThree."}},
		// 8. footers: "Token: value" or "Token #value" one blank line after the body.
		{name: "8 footers after body", msg: "fix: a\n\nBody.\n\nReviewed-by: Z\nRefs #133", want: want{typ: "fix", desc: "a", body: "Body.", footers: []conventional.Footer{{"Reviewed-by", ": ", "Z"}, {"Refs", " #", "133"}}}},
		{name: "8 footers without body", msg: "fix: a\n\nRefs: #1", want: want{typ: "fix", desc: "a", footers: []conventional.Footer{{"Refs", ": ", "#1"}}}},
		{name: "8 token-like line inside a body paragraph is body", msg: "fix: a\n\nWe saw this\nNote: not a footer\nin the middle.", want: want{typ: "fix", desc: "a", body: "We saw this\nNote: not a footer\nin the middle."}},
		// 9. tokens use "-" for spaces, except BREAKING CHANGE.
		{name: "9 token with spaces is not a footer", msg: "fix: a\n\nAcked by: Z", want: want{typ: "fix", desc: "a", body: "Acked by: Z"}},
		// 10. footer values span lines until the next token.
		{name: "10 multi-line footer value", msg: "fix: a\n\nBREAKING CHANGE: first line\n  second line\nthird line\nRefs: #9", want: want{typ: "fix", desc: "a", breaking: true, note: "first line\n  second line\nthird line", footers: []conventional.Footer{{"BREAKING CHANGE", ": ", "first line\n  second line\nthird line"}, {"Refs", ": ", "#9"}}}},
		{name: "10 value on the next line", msg: "fix: a\n\nBREAKING CHANGE:\nthe config format changed", want: want{typ: "fix", desc: "a", breaking: true, note: "the config format changed", footers: []conventional.Footer{{"BREAKING CHANGE", ": ", "the config format changed"}}}},
		// 11-13. breaking changes: "!" or a BREAKING CHANGE footer.
		{name: "13 bang", msg: "feat!: drop Node 14", want: want{typ: "feat", desc: "drop Node 14", bang: true, breaking: true, note: "drop Node 14"}},
		{name: "13 bang with scope", msg: "feat(api)!: remove v1 endpoints", want: want{typ: "feat", scope: "api", desc: "remove v1 endpoints", bang: true, breaking: true, note: "remove v1 endpoints"}},
		{name: "13 bang before scope is invalid", msg: "feat!(api): remove v1", err: `"!" must come right before the ":"`},
		{name: "13 bang on any type", msg: "chore!: drop support for Go 1.20", want: want{typ: "chore", desc: "drop support for Go 1.20", bang: true, breaking: true, note: "drop support for Go 1.20"}},
		{name: "12 footer", msg: "feat: new config\n\nBREAKING CHANGE: `extends` now means merge", want: want{typ: "feat", desc: "new config", breaking: true, note: "`extends` now means merge", footers: []conventional.Footer{{"BREAKING CHANGE", ": ", "`extends` now means merge"}}}},
		{name: "13 bang and footer: footer describes", msg: "feat!: x\n\nBREAKING CHANGE: details", want: want{typ: "feat", desc: "x", bang: true, breaking: true, note: "details", footers: []conventional.Footer{{"BREAKING CHANGE", ": ", "details"}}}},
		{name: "12 footer with # separator is not breaking", msg: "fix: a\n\nBREAKING CHANGE #12", want: want{typ: "fix", desc: "a", footers: []conventional.Footer{{"BREAKING CHANGE", " #", "12"}}}},
		{name: "12 words in the body are not a footer", msg: "fix: a\n\nThis is not a BREAKING CHANGE: at all.", want: want{typ: "fix", desc: "a", body: "This is not a BREAKING CHANGE: at all."}},
		{name: "12 footer line without blank line before is body", msg: "fix: a\n\nSome text\nBREAKING CHANGE: hidden in a paragraph", want: want{typ: "fix", desc: "a", body: "Some text\nBREAKING CHANGE: hidden in a paragraph"}},
		{name: "12 plural BREAKING CHANGES is not the token", msg: "fix: a\n\nBREAKING CHANGES: no", want: want{typ: "fix", desc: "a", body: "BREAKING CHANGES: no"}},
		{name: "12 breaking footer after other footers", msg: "fix: a\n\nRefs: #1\nBREAKING CHANGE: yes", want: want{typ: "fix", desc: "a", breaking: true, note: "yes", footers: []conventional.Footer{{"Refs", ": ", "#1"}, {"BREAKING CHANGE", ": ", "yes"}}}},
		{name: "12 breaking footer after a multi-paragraph footer value", msg: "feat: a\n\nNote: first\n\ncontinued\n\nBREAKING CHANGE: yes", want: want{typ: "feat", desc: "a", breaking: true, note: "yes", footers: []conventional.Footer{{"Note", ": ", "first\n\ncontinued"}, {"BREAKING CHANGE", ": ", "yes"}}}},
		// 14. other types are allowed.
		{name: "14 other type", msg: "docs: explain flags", want: want{typ: "docs", desc: "explain flags"}},
		{name: "14 type with hyphen", msg: "build-deps: bump x", want: want{typ: "build-deps", desc: "bump x"}},
		// 15. case-insensitive, except BREAKING CHANGE.
		{name: "15 upper-case type", msg: "FEAT: shout", want: want{typ: "feat", desc: "shout"}},
		{name: "15 mixed-case type", msg: "Fix(Parser): x", want: want{typ: "fix", scope: "Parser", desc: "x"}},
		{name: "15 lower-case breaking change footer is not breaking", msg: "fix: a\n\nbreaking change: no", want: want{typ: "fix", desc: "a", body: "breaking change: no"}},
		{name: "15 lower-case breaking-change token is an ordinary footer", msg: "fix: a\n\nbreaking-change: no", want: want{typ: "fix", desc: "a", footers: []conventional.Footer{{"breaking-change", ": ", "no"}}}},
		// 16. BREAKING-CHANGE is a synonym.
		{name: "16 BREAKING-CHANGE footer", msg: "fix: a\n\nBREAKING-CHANGE: renamed flag", want: want{typ: "fix", desc: "a", breaking: true, note: "renamed flag", footers: []conventional.Footer{{"BREAKING-CHANGE", ": ", "renamed flag"}}}},
		// Robustness.
		{name: "CRLF line ends", msg: "feat: a\r\n\r\nbody\r\n\r\nBREAKING CHANGE: b\r\n", want: want{typ: "feat", desc: "a", body: "body", breaking: true, note: "b", footers: []conventional.Footer{{"BREAKING CHANGE", ": ", "b"}}}},
		{name: "surrounding blank lines", msg: "\n\nfix: a\n\n\n", want: want{typ: "fix", desc: "a"}},
		{name: "empty message", msg: "\n \n", err: "empty message"},
		{name: "git merge message", msg: "Merge branch 'feature' into main", err: `not "type: description"`},
		{name: "git revert message", msg: "Revert \"feat: add x\"\n\nThis reverts commit 0123456789abcdef0123456789abcdef01234567.", err: `not "type: description"`},
		{name: "fixup commit", msg: "fixup! feat: add x", err: `not "type: description"`},
		{name: "URL in body paragraph is body", msg: "fix: a\n\nhttps://example.com/x: see", want: want{typ: "fix", desc: "a", body: "https://example.com/x: see"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := conventional.Parse(tt.msg)
			if tt.err != "" {
				var se *conventional.SyntaxError
				if !errors.As(err, &se) {
					t.Fatalf("Parse(%q) = %+v, %v; want a SyntaxError containing %q", tt.msg, c, err, tt.err)
				}
				if !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("Parse(%q) error %q; want it to contain %q", tt.msg, err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.msg, err)
			}
			got := want{typ: c.Type, scope: c.Scope, desc: c.Description, body: c.Body, bang: c.Bang, breaking: c.Breaking(), note: c.BreakingNote(), footers: c.Footers}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("Parse(%q)\n got %+v\nwant %+v", tt.msg, got, tt.want)
			}
		})
	}
}

func TestParseHeader(t *testing.T) {
	c, err := conventional.ParseHeader("perf(db)!: batch inserts\r")
	if err != nil {
		t.Fatal(err)
	}
	if c.Type != "perf" || c.Scope != "db" || !c.Bang || c.Description != "batch inserts" {
		t.Fatalf("ParseHeader = %+v", c)
	}
	if _, err := conventional.ParseHeader("Update README"); err == nil {
		t.Fatal("ParseHeader accepted a non-conventional header")
	}
}

func TestSyntaxErrorNamesLineAndText(t *testing.T) {
	_, err := conventional.Parse("fix: a\nb")
	if err == nil || err.Error() != `line 2: the body must begin one blank line after the description: "b"` {
		t.Fatalf("error = %v", err)
	}
}

func TestFooterLookup(t *testing.T) {
	c, err := conventional.Parse("fix: a\n\nRelease-As: 1.0.0\nrefs: #4")
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := c.Footer("release-as"); !ok || v != "1.0.0" {
		t.Fatalf("Footer(release-as) = %q, %v", v, ok)
	}
	if v, ok := c.Footer("Refs"); !ok || v != "#4" {
		t.Fatalf("Footer(Refs) = %q, %v", v, ok)
	}
	if _, ok := c.Footer("Closes"); ok {
		t.Fatal("Footer(Closes) found a footer that is not there")
	}
}

func TestParseRevert(t *testing.T) {
	const sha = "0123456789abcdef0123456789abcdef01234567"
	tests := []struct {
		name    string
		msg     string
		ok      bool
		subject string
		commits []string
	}{
		{"git revert", "Revert \"feat: add x\"\n\nThis reverts commit " + sha + ".", true, "feat: add x", []string{sha}},
		{"git revert with reason", "Revert \"fix: y\"\n\nThis reverts commit ABCDEF1.\n\nIt broke prod.", true, "fix: y", []string{"abcdef1"}},
		{"conventional revert with refs", "revert: let us never again speak of the noodle incident\n\nRefs: 676104e, a215868", true, "let us never again speak of the noodle incident", []string{"676104e", "a215868"}},
		{"conventional revert without refs", "revert: undo x", true, "undo x", nil},
		{"not a revert", "feat: revert button", false, "", nil},
		{"revert in the middle", "fix: handle Revert \"x\"", false, "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var cp *conventional.Commit
			if c, err := conventional.Parse(tt.msg); err == nil {
				cp = &c
			}
			r, ok := conventional.ParseRevert(tt.msg, cp)
			if ok != tt.ok || r.Subject != tt.subject || !reflect.DeepEqual(r.Commits, tt.commits) {
				t.Fatalf("ParseRevert = %+v, %v; want subject %q commits %v ok %v", r, ok, tt.subject, tt.commits, tt.ok)
			}
		})
	}
}

func TestStringRoundTrip(t *testing.T) {
	msgs := []string{
		"feat(api)!: drop v1\n\nWhy we did it.\n\nBREAKING CHANGE: v1 is gone\nRefs #12",
		"fix: a",
		"docs(readme): b\n\nbody only",
	}
	for _, m := range msgs {
		c, err := conventional.Parse(m)
		if err != nil {
			t.Fatal(err)
		}
		if got := c.String(); got != m {
			t.Errorf("String() = %q, want %q", got, m)
		}
	}
}
