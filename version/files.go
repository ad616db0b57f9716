package version

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/Masterminds/semver/v3"
)

// fileKind is how a version file stores the version.
type fileKind int

const (
	kindJSON    fileKind = iota // the top-level "version" field
	kindLock                    // package-lock.json: "version" and packages[""].version
	kindWhole                   // the whole file (VERSION)
	kindPattern                 // a regular expression's "version" group (Go constants too)
)

// versionFile is a file that holds the version and knows how to rewrite it.
type versionFile struct {
	path    string
	kind    fileKind
	pattern *regexp.Regexp // kindPattern
	what    string         // what the pattern looks for, for messages
	// npm marks package.json, whose lock files are written with it.
	npm bool
}

// goConstRe finds `const Version = "1.2.3"` (or `Version = "…"` in a const
// block, or a var).
var goConstRe = regexp.MustCompile(`(?m)^[ \t]*(?:(?:const|var)[ \t]+)?[Vv]ersion[ \t]*(?:string[ \t]*)?=[ \t]*"(?P<version>[^"\n]*)"`)

// newVersionFile picks the writer for a configured file.
func newVersionFile(f File) (versionFile, error) {
	p, err := cleanPath(f.Path)
	if err != nil {
		return versionFile{}, err
	}
	vf := versionFile{path: p}
	if f.Pattern != "" {
		re, err := regexp.Compile("(?m)" + f.Pattern)
		if err != nil {
			return versionFile{}, fmt.Errorf("%s: pattern %q: %v", p, f.Pattern, err)
		}
		if re.SubexpIndex("version") < 0 {
			return versionFile{}, fmt.Errorf("%s: pattern %q has no group named version, e.g. (?P<version>[0-9.]+)", p, f.Pattern)
		}
		vf.kind, vf.pattern, vf.what = kindPattern, re, fmt.Sprintf("pattern %q", f.Pattern)
		return vf, nil
	}
	base := path.Base(p)
	switch {
	case base == "package.json":
		vf.kind, vf.npm = kindJSON, true
	case base == "package-lock.json" || base == "npm-shrinkwrap.json":
		vf.kind = kindLock
	case strings.HasSuffix(base, ".json"):
		vf.kind = kindJSON
	case base == "VERSION" || base == "VERSION.txt" || base == "version.txt":
		vf.kind = kindWhole
	case strings.HasSuffix(base, ".go"):
		vf.kind, vf.pattern, vf.what = kindPattern, goConstRe, "`const Version = \"x.y.z\"`"
	default:
		return versionFile{}, fmt.Errorf("don't know where %q keeps the version: give a pattern, e.g. {path: %s, pattern: '^version: (?P<version>\\S+)$'}", p, p)
	}
	return vf, nil
}

// lockFiles returns the npm lock files beside package.json that exist.
func (f versionFile) lockFiles(dir string) []versionFile {
	if !f.npm {
		return nil
	}
	var out []versionFile
	for _, name := range []string{"package-lock.json", "npm-shrinkwrap.json"} {
		p := path.Join(path.Dir(f.path), name)
		if _, err := os.Stat(filepath.Join(dir, filepath.FromSlash(p))); err == nil {
			out = append(out, versionFile{path: p, kind: kindLock})
		}
	}
	return out
}

// ErrNoVersion means a version file holds no version at all (as opposed to
// an invalid one). A configured file without a version is an error; a file
// only looked at by default (package.json, VERSION) is then skipped.
var ErrNoVersion = errors.New("no version in the file")

// FileError is a problem with a version file or the CHANGELOG, at a line (0
// when it concerns the whole file).
type FileError struct {
	Path string
	Line int
	// Value is the offending value, when there is one.
	Value string
	Msg   string
	Err   error
}

func (e *FileError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.Path, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.Path, e.Msg)
}

func (e *FileError) Unwrap() error { return e.Err }

// span is where a version sits in a file.
type span struct {
	start, end int // byte offsets of the version text (without quotes)
	line       int
	value      string
}

// found is a version file's content and where its version is.
type found struct {
	file    versionFile
	content []byte
	perm    fs.FileMode
	spans   []span // one, or two for a lock file
	version *semver.Version
	vPrefix bool // the file writes "v1.2.3"
}

// read reads f from dir and finds its version.
func (f versionFile) read(dir string) (*found, error) {
	full := filepath.Join(dir, filepath.FromSlash(f.path))
	data, err := os.ReadFile(full)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, &FileError{Path: f.path, Msg: "file not found (listed in version.files)", Err: err}
		}
		return nil, &FileError{Path: f.path, Msg: err.Error(), Err: err}
	}
	info, err := os.Stat(full)
	if err != nil {
		return nil, &FileError{Path: f.path, Msg: err.Error(), Err: err}
	}
	fd := &found{file: f, content: data, perm: info.Mode().Perm()}
	switch f.kind {
	case kindJSON, kindLock:
		err = fd.findJSON()
	case kindWhole:
		err = fd.findWhole()
	case kindPattern:
		err = fd.findPattern()
	}
	if err != nil {
		return nil, err
	}
	first := fd.spans[0]
	for _, s := range fd.spans[1:] {
		if s.value != first.value {
			return nil, &FileError{Path: f.path, Line: s.line, Value: s.value,
				Msg: fmt.Sprintf("version %q disagrees with %q at line %d", s.value, first.value, first.line)}
		}
	}
	raw := first.value
	if strings.HasPrefix(raw, "v") || strings.HasPrefix(raw, "V") {
		raw, fd.vPrefix = raw[1:], true
	}
	v, err := semver.StrictNewVersion(raw)
	if err != nil {
		return nil, &FileError{Path: f.path, Line: first.line, Value: first.value,
			Msg: fmt.Sprintf("version %q is not a valid semantic version (want MAJOR.MINOR.PATCH, e.g. 1.2.0): %v", first.value, err), Err: err}
	}
	fd.version = v
	return fd, nil
}

// with returns the content with the version replaced by v.
func (fd *found) with(v *semver.Version) []byte {
	text := v.String()
	if fd.vPrefix {
		text = fd.first()[:1] + text
	}
	out := fd.content
	for i := len(fd.spans) - 1; i >= 0; i-- { // spans are in file order
		s := fd.spans[i]
		next := make([]byte, 0, len(out)-len(s.value)+len(text))
		next = append(next, out[:s.start]...)
		next = append(next, text...)
		next = append(next, out[s.end:]...)
		out = next
	}
	return out
}

func (fd *found) first() string { return fd.spans[0].value }

func lineAt(data []byte, off int) int { return bytes.Count(data[:off], []byte("\n")) + 1 }

// findWhole: the file's content, trimmed, is the version.
func (fd *found) findWhole() error {
	data := fd.content
	start := len(data) - len(bytes.TrimLeft(data, " \t\r\n"))
	end := len(bytes.TrimRight(data, " \t\r\n"))
	if start >= end {
		return &FileError{Path: fd.file.path, Msg: "the file is empty; write the current version into it (e.g. 0.1.0)", Err: ErrNoVersion}
	}
	value := string(data[start:end])
	if strings.ContainsAny(value, "\r\n") {
		return &FileError{Path: fd.file.path, Line: lineAt(data, start), Value: value,
			Msg: fmt.Sprintf("expected only a version, found %d lines", strings.Count(value, "\n")+1)}
	}
	fd.spans = []span{{start: start, end: end, line: lineAt(data, start), value: value}}
	return nil
}

// findPattern: the "version" group of the file's single match.
func (fd *found) findPattern() error {
	f := fd.file
	idx := f.pattern.SubexpIndex("version")
	matches := f.pattern.FindAllSubmatchIndex(fd.content, -1)
	switch {
	case len(matches) == 0:
		return &FileError{Path: f.path, Msg: fmt.Sprintf("%s matches nothing: the file has no version where the pattern looks", f.what), Err: ErrNoVersion}
	case len(matches) > 1:
		lines := make([]string, len(matches))
		for i, m := range matches {
			lines[i] = fmt.Sprint(lineAt(fd.content, m[0]))
		}
		return &FileError{Path: f.path, Line: lineAt(fd.content, matches[0][0]),
			Msg: fmt.Sprintf("%s matches %d times (lines %s); make it match exactly one place", f.what, len(matches), strings.Join(lines, ", "))}
	}
	m := matches[0]
	start, end := m[2*idx], m[2*idx+1]
	if start < 0 {
		return &FileError{Path: f.path, Line: lineAt(fd.content, m[0]), Msg: fmt.Sprintf("%s matched, but its version group did not", f.what)}
	}
	fd.spans = []span{{start: start, end: end, line: lineAt(fd.content, start), value: string(fd.content[start:end])}}
	return nil
}

// findJSON: the top-level "version" string, and for a lock file also
// packages[""].version. The bytes around it are left exactly as they are,
// so key order, indentation and the final newline survive.
func (fd *found) findJSON() error {
	f := fd.file
	want := [][]string{{"version"}}
	if f.kind == kindLock {
		want = append(want, []string{"packages", "", "version"})
	}
	spans, err := jsonStrings(fd.content, want)
	if err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return &FileError{Path: f.path, Line: lineAt(fd.content, int(min(se.Offset, int64(len(fd.content))))), Msg: "not valid JSON: " + se.Error(), Err: err}
		}
		var fe *FileError
		if errors.As(err, &fe) {
			fe.Path = f.path
			return fe
		}
		return &FileError{Path: f.path, Msg: "not valid JSON: " + err.Error(), Err: err}
	}
	if len(spans[0]) == 0 {
		return &FileError{Path: f.path, Msg: `no top-level "version" field; add one with the current version (e.g. "version": "0.1.0")`, Err: ErrNoVersion}
	}
	for i, ss := range spans {
		if len(ss) > 1 {
			return &FileError{Path: f.path, Line: ss[1].line, Msg: fmt.Sprintf("%q appears twice (lines %d and %d)", strings.Join(want[i], "."), ss[0].line, ss[1].line)}
		}
	}
	fd.spans = append(fd.spans, spans[0][0])
	if len(spans) > 1 && len(spans[1]) == 1 {
		fd.spans = append(fd.spans, spans[1][0])
	}
	return nil
}

// jsonStrings finds the string values at the given key paths of a JSON
// document, returning for each path every place it occurs.
func jsonStrings(data []byte, paths [][]string) ([][]span, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	w := &jsonWalker{dec: dec, data: data, paths: paths, out: make([][]span, len(paths))}
	if err := w.value(nil); err != nil {
		return nil, err
	}
	before := dec.InputOffset()
	if _, err := dec.Token(); err != io.EOF {
		return nil, &FileError{Line: lineAt(data, int(before)), Msg: "not valid JSON: more than one top-level value"}
	}
	return w.out, nil
}

type jsonWalker struct {
	dec   *json.Decoder
	data  []byte
	paths [][]string
	out   [][]span
}

// match returns the index of the wanted path equal to keys, or -1.
func (w *jsonWalker) match(keys []string) int {
	for i, p := range w.paths {
		if len(p) != len(keys) {
			continue
		}
		eq := true
		for j := range p {
			if p[j] != keys[j] {
				eq = false
				break
			}
		}
		if eq {
			return i
		}
	}
	return -1
}

// value reads one JSON value at path keys.
func (w *jsonWalker) value(keys []string) error {
	before := int(w.dec.InputOffset())
	tok, err := w.dec.Token()
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	if err != nil {
		return err
	}
	switch t := tok.(type) {
	case json.Delim:
		if t == '{' || t == '[' {
			for w.dec.More() {
				sub := "[]"
				if t == '{' {
					ktok, err := w.dec.Token()
					if err != nil {
						return err
					}
					sub, _ = ktok.(string)
				}
				if err := w.value(append(keys[:len(keys):len(keys)], sub)); err != nil {
					return err
				}
			}
			_, err := w.dec.Token() // the closing delimiter
			return err
		}
	case string:
		if i := w.match(keys); i >= 0 {
			end := int(w.dec.InputOffset())
			start := before
			for start < end && w.data[start] != '"' {
				start++
			}
			raw := w.data[start+1 : end-1]
			// The value is replaced in place, so it must be written plainly.
			if string(raw) != t {
				return &FileError{Line: lineAt(w.data, start), Value: t, Msg: fmt.Sprintf("%s %q is written with escapes; write it plainly", strings.Join(w.paths[i], "."), t)}
			}
			w.out[i] = append(w.out[i], span{start: start + 1, end: end - 1, line: lineAt(w.data, start), value: t})
		}
	default:
		if i := w.match(keys); i >= 0 {
			return &FileError{Line: lineAt(w.data, min(before+1, len(w.data))), Value: fmt.Sprint(t), Msg: fmt.Sprintf("%s is %v, not a string such as \"1.2.0\"", strings.Join(w.paths[i], "."), t)}
		}
	}
	return nil
}
