package confdoc

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// docs are the doc comments of the module's types and struct fields, by
// "import/path.Type" and "import/path.Type.Field".
type docs map[string]string

// loadDocs reads the doc comments of every package of the module under
// root (tests, testdata and hidden directories left out).
func loadDocs(root string) (docs, error) {
	d := docs{}
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if e.IsDir() {
			if p != root && (strings.HasPrefix(e.Name(), ".") || e.Name() == "testdata") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, p, nil, parser.ParseComments|parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, filepath.Dir(p))
		if err != nil {
			return err
		}
		d.collect(path.Join(Module, filepath.ToSlash(rel)), f)
		return nil
	})
	return d, err
}

// collect adds the doc comments of f's package and struct types.
func (d docs) collect(pkg string, f *ast.File) {
	if f.Doc != nil {
		d[pkg] = f.Doc.Text()
	}
	for _, decl := range f.Decls {
		gd, ok := decl.(*ast.GenDecl)
		if !ok || gd.Tok != token.TYPE {
			continue
		}
		for _, spec := range gd.Specs {
			ts := spec.(*ast.TypeSpec)
			doc := ts.Doc.Text()
			if doc == "" && len(gd.Specs) == 1 {
				doc = gd.Doc.Text()
			}
			d[pkg+"."+ts.Name.Name] = doc
			st, ok := ts.Type.(*ast.StructType)
			if !ok {
				continue
			}
			for _, field := range st.Fields.List {
				text := field.Doc.Text()
				if text == "" {
					text = field.Comment.Text()
				}
				for _, name := range field.Names {
					d[pkg+"."+ts.Name.Name+"."+name.Name] = text
				}
			}
		}
	}
}

// fieldDoc is the raw doc comment of field name of struct t.
func (d docs) fieldDoc(t reflect.Type, name string) string {
	return d[t.PkgPath()+"."+t.Name()+"."+name]
}

// typeDoc says what t is (see typeDescription).
func (d docs) typeDoc(t reflect.Type) string {
	if t == nil {
		return ""
	}
	return typeDescription(d[t.PkgPath()+"."+t.Name()], t.Name())
}

// packageDoc says what a package does, from the first paragraph of its
// doc comment, after its name: "Package gitpush is the "git-push"
// deployer: it deploys a release by …" → "deploys a release by …".
func (d docs) packageDoc(pkg string) string {
	first, _, _ := strings.Cut(strings.TrimSpace(d[pkg]), "\n\n")
	_, rest, ok := strings.Cut(strings.Join(strings.Fields(first), " "), ": ")
	if !ok {
		return ""
	}
	return strings.TrimPrefix(rest, "it ")
}

// mentions reports whether doc names the Go identifier name as a word.
func mentions(doc, name string) bool {
	if doc == "" {
		return false
	}
	return regexp.MustCompile(`\b` + regexp.QuoteMeta(name) + `\b`).MatchString(doc)
}

// describe turns a field's doc comment into the key's description: one
// paragraph without the code blocks, said of the key. A comment that
// starts "Window is how long …" becomes "How long …"; any other that
// starts with the field's Go name gets the key instead ("`timeout` bounds
// one attempt"), as do the Go names of sibling fields anywhere
// ("SuccessThreshold" → "`success_threshold`").
func describe(raw, goName string, siblings map[string]string) string {
	var words []string
	for _, para := range strings.Split(raw, "\n\n") {
		if strings.HasPrefix(para, "\t") || strings.HasPrefix(para, "  ") {
			continue // a code block
		}
		words = append(words, strings.Fields(para)...)
	}
	if len(words) == 0 {
		return ""
	}
	s := strings.Join(words, " ")
	if rest, ok := stripIs(s, goName); ok {
		s = rest
	} else {
		s = keyFirst(words, siblings)
	}
	return camelRe.ReplaceAllStringFunc(s, func(w string) string {
		if key, ok := siblings[w]; ok && !slices.Contains(proseNames, w) {
			return "`" + key + "`"
		}
		return w
	})
}

// proseNames are field names that are also names in the prose: "a GitHub
// Release" is not the github key.
var proseNames = []string{"GitHub"}

// camelRe matches Go names of two humps or more: SuccessThreshold, BaseURL.
var camelRe = regexp.MustCompile(`\b[A-Z][a-z0-9]+(?:[A-Z][A-Za-z0-9]*)+\b`)

// stripIs drops "Name is " (or "are ") from the start of s.
func stripIs(s, goName string) (string, bool) {
	for _, verb := range []string{" is ", " are "} {
		if rest, ok := strings.CutPrefix(s, goName+verb); ok && goName != "" {
			return capitalize(rest), true
		}
	}
	return s, false
}

// keyFirst names the key(s) a comment starts with: "Timeout bounds" →
// "`timeout` bounds", "Max and Min are" → "`max` and `min` are".
func keyFirst(words []string, siblings map[string]string) string {
	out := slices.Clone(words)
	if key, ok := siblings[out[0]]; ok && !slices.Contains(proseNames, out[0]) {
		out[0] = "`" + key + "`"
		if len(out) > 2 && out[1] == "and" {
			if key, ok := siblings[out[2]]; ok {
				out[2] = "`" + key + "`"
			}
		}
	}
	return strings.Join(out, " ")
}

// typeDescription says what a type is, from the first paragraph of its
// doc comment: "GatesConfig tunes the Spec-Flow gates." → "Tunes the
// Spec-Flow gates.", "Config is the report section" → "The report
// section".
func typeDescription(raw, name string) string {
	first, _, _ := strings.Cut(strings.TrimSpace(raw), "\n\n")
	s := strings.Join(strings.Fields(first), " ")
	if rest, ok := stripIs(s, name); ok {
		s = rest
	} else if rest, ok := strings.CutPrefix(s, name+" "); ok {
		s = capitalize(rest)
	}
	if strings.HasSuffix(s, ":") {
		s = strings.TrimSuffix(s, ":") + "."
	}
	return s
}

func capitalize(s string) string {
	r, size := utf8.DecodeRuneInString(s)
	return string(unicode.ToUpper(r)) + s[size:]
}
