// Package conventional parses commit messages by the Conventional Commits
// 1.0.0 specification (https://www.conventionalcommits.org/en/v1.0.0/),
// strictly:
//
//   - the header is `type(scope)!: description`; the scope and the "!" are
//     optional, the "!" must come right before the colon, and the colon must
//     be followed by a space and a non-empty description;
//   - types are case-insensitive (FEAT is feat) and returned in lower case;
//   - a body must begin one blank line after the header;
//   - footers start at the first paragraph that begins with a footer token
//     (`Token: value` or `Token #value`, git trailer style) and run to the
//     end; a footer's value may span lines and ends where the next token
//     begins;
//   - a breaking change is a "!" in the header, or a footer whose token is
//     exactly `BREAKING CHANGE` or `BREAKING-CHANGE` in upper case. The same
//     words in the body, in lower case, or mid-line are not a breaking change.
//
// It also recognises the revert commits git writes (`Revert "…"` with
// "This reverts commit <sha>.") so that a versioner can cancel a change that
// was reverted before it was released.
package conventional

import (
	"fmt"
	"regexp"
	"strings"
)

// Commit is a parsed Conventional Commit message.
type Commit struct {
	// Type is the header's type in lower case ("feat", "fix", …).
	Type string `json:"type"`
	// Scope is the text between the parentheses, "" when absent.
	Scope string `json:"scope,omitempty"`
	// Bang is true when the header carries "!" before the colon.
	Bang bool `json:"bang,omitempty"`
	// Description is the header's text after ": ".
	Description string `json:"description"`
	// Body is the free text between the header and the footers, without
	// surrounding blank lines.
	Body    string   `json:"body,omitempty"`
	Footers []Footer `json:"footers,omitempty"`
}

// Footer is one `Token: value` (or `Token #value`) footer.
type Footer struct {
	// Token is the footer's token as written ("Refs", "BREAKING CHANGE").
	Token string `json:"token"`
	// Separator is ": " or " #".
	Separator string `json:"separator"`
	// Value is the footer's value; continuation lines are joined with "\n".
	Value string `json:"value"`
}

// IsBreaking reports whether the footer announces a breaking change: its
// token is BREAKING CHANGE or BREAKING-CHANGE, in upper case, with a colon.
func (f Footer) IsBreaking() bool {
	return (f.Token == "BREAKING CHANGE" || f.Token == "BREAKING-CHANGE") && strings.HasPrefix(f.Separator, ":")
}

// Breaking reports whether the commit is a breaking change.
func (c Commit) Breaking() bool {
	if c.Bang {
		return true
	}
	for _, f := range c.Footers {
		if f.IsBreaking() {
			return true
		}
	}
	return false
}

// BreakingNote describes the breaking change: the value of the first
// BREAKING CHANGE footer, else the description when the header has "!", else "".
func (c Commit) BreakingNote() string {
	for _, f := range c.Footers {
		if f.IsBreaking() {
			return f.Value
		}
	}
	if c.Bang {
		return c.Description
	}
	return ""
}

// Footer returns the value of the first footer whose token matches name
// case-insensitively, and whether there is one.
func (c Commit) Footer(name string) (string, bool) {
	for _, f := range c.Footers {
		if strings.EqualFold(f.Token, name) {
			return f.Value, true
		}
	}
	return "", false
}

// Header returns the commit's first line, e.g. "feat(api)!: drop v1".
func (c Commit) Header() string {
	var b strings.Builder
	b.WriteString(c.Type)
	if c.Scope != "" {
		b.WriteString("(" + c.Scope + ")")
	}
	if c.Bang {
		b.WriteString("!")
	}
	b.WriteString(": ")
	b.WriteString(c.Description)
	return b.String()
}

// String formats the commit as a message that parses back to c.
func (c Commit) String() string {
	var b strings.Builder
	b.WriteString(c.Header())
	if c.Body != "" {
		b.WriteString("\n\n")
		b.WriteString(c.Body)
	}
	for i, f := range c.Footers {
		if i == 0 {
			b.WriteString("\n\n")
		} else {
			b.WriteString("\n")
		}
		b.WriteString(f.Token + f.Separator + f.Value)
	}
	return b.String()
}

// SyntaxError says why a message is not a Conventional Commit.
type SyntaxError struct {
	// Line is the 1-based line of the message at fault.
	Line int
	// Msg says what is wrong and what is expected.
	Msg string
	// Text is the offending line.
	Text string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("line %d: %s: %q", e.Line, e.Msg, e.Text)
}

var (
	// hints for common header mistakes, used only to explain a failure.
	noSpaceRe   = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_-]*(\([^()\r\n]*\))?!?:\S`)
	bangFirstRe = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_-]*!\(`)
)

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isDigit(c byte) bool  { return c >= '0' && c <= '9' }

// matchHeader splits `type(scope)!: description`; ok is false when line
// does not have that shape. (A hand-written matcher: it runs once per
// commit of histories with hundreds of thousands of commits.)
func matchHeader(line string) (typ, scope string, hasScope, bang bool, desc string, ok bool) {
	i := 0
	if i >= len(line) || !isLetter(line[i]) {
		return
	}
	for i < len(line) && (isLetter(line[i]) || isDigit(line[i]) || line[i] == '_' || line[i] == '-') {
		i++
	}
	typ = line[:i]
	if i < len(line) && line[i] == '(' {
		j := i + 1
		for j < len(line) && line[j] != '(' && line[j] != ')' && line[j] != '\r' && line[j] != '\n' {
			j++
		}
		if j >= len(line) || line[j] != ')' {
			return
		}
		scope, hasScope = line[i+1:j], true
		i = j + 1
	}
	if i < len(line) && line[i] == '!' {
		bang = true
		i++
	}
	if i+1 >= len(line) || line[i] != ':' || line[i+1] != ' ' {
		return
	}
	desc = line[i+2:]
	if strings.ContainsAny(desc, "\n") {
		return
	}
	return typ, scope, hasScope, bang, desc, true
}

// matchFooter recognises the start of a footer: a word token (or BREAKING
// CHANGE) followed by ": ", " #", or a colon ending the line. It returns the
// token, the separator as written and the length of the matched prefix.
// (A colon followed only by white space counts as ending the line.)
func matchFooter(line string) (token, sep string, n int, ok bool) {
	sepAt := func(i int) (string, bool) {
		switch {
		case strings.HasPrefix(line[i:], ": "):
			return ": ", true
		case strings.HasPrefix(line[i:], " #"):
			return " #", true
		case strings.TrimSpace(line[i:]) == ":":
			// A colon ending the line, perhaps before white space the
			// value's trimming drops: "Token:" and "Token:\f" mean the same.
			return ":", true
		}
		return "", false
	}
	const bc = "BREAKING CHANGE"
	if strings.HasPrefix(line, bc) {
		if sep, ok := sepAt(len(bc)); ok {
			return bc, sep, len(bc) + len(sep), true
		}
	}
	i := 0
	if i >= len(line) || !(isLetter(line[i]) || isDigit(line[i])) {
		return "", "", 0, false
	}
	for i < len(line) && (isLetter(line[i]) || isDigit(line[i]) || line[i] == '-') {
		i++
	}
	if sep, ok := sepAt(i); ok {
		return line[:i], sep, i + len(sep), true
	}
	return "", "", 0, false
}

// Parse parses message as a Conventional Commit. Surrounding blank lines
// and "\r" line ends are ignored. A message that does not follow the
// specification returns a *SyntaxError.
func Parse(message string) (Commit, error) {
	lines := splitLines(message)
	if len(lines) == 0 {
		return Commit{}, &SyntaxError{Line: 1, Msg: "empty message"}
	}
	c, err := parseHeader(lines[0])
	if err != nil {
		return Commit{}, err
	}
	if len(lines) == 1 {
		return c, nil
	}
	if strings.TrimSpace(lines[1]) != "" {
		return Commit{}, &SyntaxError{Line: 2, Msg: "the body must begin one blank line after the description", Text: lines[1]}
	}
	start := len(lines) // first footer line
	for i := 2; i < len(lines); i++ {
		if _, _, _, ok := matchFooter(lines[i]); ok && strings.TrimSpace(lines[i-1]) == "" {
			start = i
			break
		}
	}
	c.Body = strings.Join(trimBlank(lines[2:start]), "\n")
	// A footer's value runs from its token to the next token; lines are
	// joined once per footer, so that a long message parses in linear time.
	var value []string
	flush := func() {
		if len(c.Footers) > 0 {
			c.Footers[len(c.Footers)-1].Value = strings.TrimSpace(strings.Join(value, "\n"))
		}
	}
	for i := start; i < len(lines); i++ {
		if token, sep, n, ok := matchFooter(lines[i]); ok {
			flush()
			if sep == ":" {
				sep = ": "
			}
			c.Footers = append(c.Footers, Footer{Token: token, Separator: sep})
			value = append(value[:0], lines[i][n:])
			continue
		}
		value = append(value, lines[i])
	}
	flush()
	return c, nil
}

// ParseHeader parses only a message's first line. It is cheaper than Parse
// and enough when the footers do not matter.
func ParseHeader(line string) (Commit, error) {
	return parseHeader(strings.TrimRight(line, "\r"))
}

func parseHeader(line string) (Commit, error) {
	typ, scope, hasScope, bang, desc, ok := matchHeader(line)
	if !ok {
		msg := `not "type: description" or "type(scope): description"`
		switch {
		case noSpaceRe.MatchString(line):
			msg = `the ":" after the type must be followed by a space`
		case bangFirstRe.MatchString(line):
			msg = `"!" must come right before the ":", after the scope`
		}
		return Commit{}, &SyntaxError{Line: 1, Msg: msg, Text: line}
	}
	c := Commit{Type: strings.ToLower(typ), Scope: scope, Bang: bang, Description: strings.TrimSpace(desc)}
	if hasScope && scope == "" {
		return Commit{}, &SyntaxError{Line: 1, Msg: "empty scope: leave out the parentheses or name the scope", Text: line}
	}
	if strings.TrimSpace(scope) != scope {
		return Commit{}, &SyntaxError{Line: 1, Msg: "the scope must not start or end with spaces", Text: line}
	}
	if c.Description == "" {
		return Commit{}, &SyntaxError{Line: 1, Msg: "empty description", Text: line}
	}
	return c, nil
}

// trimBlank drops leading and trailing blank lines. It keeps the
// indentation of the first line, which decides whether it reads as a footer.
func trimBlank(lines []string) []string {
	for len(lines) > 0 && strings.TrimSpace(lines[0]) == "" {
		lines = lines[1:]
	}
	for len(lines) > 0 && strings.TrimSpace(lines[len(lines)-1]) == "" {
		lines = lines[:len(lines)-1]
	}
	return lines
}

// splitLines splits message into lines without "\r", dropping leading and
// trailing blank lines.
func splitLines(message string) []string {
	lines := strings.Split(message, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, "\r")
	}
	return trimBlank(lines)
}

var (
	revertHeaderRe = regexp.MustCompile(`^Revert "(.*)"$`)
	revertsRe      = regexp.MustCompile(`(?m)This reverts commit ([0-9a-fA-F]{7,64})\b`)
	shaRe          = regexp.MustCompile(`\b[0-9a-fA-F]{7,64}\b`)
)

// Revert describes a commit that reverts others.
type Revert struct {
	// Subject is the reverted commit's subject, when the message quotes it.
	Subject string
	// Commits are the (possibly abbreviated) SHAs of the reverted commits.
	Commits []string
}

// ParseRevert recognises the revert commits git writes (`Revert "<subject>"`
// with "This reverts commit <sha>.") and Conventional `revert:` commits
// naming the reverted SHAs in a Refs footer. It returns false for any other
// message. c is the message parsed by Parse, or nil when it is not a
// Conventional Commit.
func ParseRevert(message string, c *Commit) (Revert, bool) {
	if c != nil && c.Type != "revert" || c == nil && !strings.HasPrefix(strings.TrimLeft(message, " \t\r\n"), `Revert "`) {
		return Revert{}, false
	}
	lines := splitLines(message)
	if len(lines) == 0 {
		return Revert{}, false
	}
	if m := revertHeaderRe.FindStringSubmatch(lines[0]); m != nil {
		r := Revert{Subject: m[1]}
		for _, sm := range revertsRe.FindAllStringSubmatch(message, -1) {
			r.Commits = append(r.Commits, strings.ToLower(sm[1]))
		}
		return r, true
	}
	if c == nil || c.Type != "revert" {
		return Revert{}, false
	}
	r := Revert{Subject: c.Description}
	for _, f := range c.Footers {
		if strings.EqualFold(f.Token, "Refs") {
			for _, sha := range shaRe.FindAllString(f.Value, -1) {
				r.Commits = append(r.Commits, strings.ToLower(sha))
			}
		}
	}
	for _, sm := range revertsRe.FindAllStringSubmatch(c.Body, -1) {
		r.Commits = append(r.Commits, strings.ToLower(sm[1]))
	}
	return r, true
}
