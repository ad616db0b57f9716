// Package report writes the ship report of a run: production-ship-report.md
// for people, in the shape Spec-Flow's production phase defines (Deployment
// Summary, Health Checks, Deployment Artifacts, Rollback Procedure, plus the
// Summary/Changes/"Production URL:" lines its release-notes tooling greps
// for), and a JSON twin with the same facts for machines.
//
// Both files are rendered from one Document built from the shipprod.Result,
// so they cannot disagree, and they are written together, atomically: a
// failure leaves both as they were.
package report

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/shipprod/shipprod"
	"github.com/shipprod/shipprod/internal/atomicfile"
)

// Defaults for Config.
const (
	DefaultPath = "production-ship-report.md"
)

// Config is the report section of shipprod.yaml.
type Config struct {
	// Path of the Markdown report, relative to the project root
	// (default production-ship-report.md).
	Path string `yaml:"path"`
	// JSON is the path of the JSON twin (default: Path with .json).
	JSON string `yaml:"json"`
}

// Writer is a shipprod.Reporter writing the Markdown report and its JSON twin.
type Writer struct {
	// Dir is the project root that relative paths are under.
	Dir string
	// Path and JSONPath are the two files, relative to Dir or absolute.
	Path, JSONPath string
	// Feature names what was shipped in the report's title (e.g. the
	// Spec-Flow feature slug); empty means the repository's name.
	Feature string
}

// New returns a Writer for cfg under dir.
func New(dir string, cfg Config, feature string) *Writer {
	path := cfg.Path
	if path == "" {
		path = DefaultPath
	}
	jsonPath := cfg.JSON
	if jsonPath == "" {
		jsonPath = strings.TrimSuffix(path, filepath.Ext(path)) + ".json"
	}
	return &Writer{Dir: dir, Path: path, JSONPath: jsonPath, Feature: feature}
}

func (w *Writer) String() string { return "report " + w.Path }

func (w *Writer) abs(p string) string {
	if filepath.IsAbs(p) || w.Dir == "" {
		return p
	}
	return filepath.Join(w.Dir, p)
}

// Preflight checks that both files are inside the project root and that
// their directory exists or can be made under one that does
// (shipprod.Preflighter). It writes nothing.
func (w *Writer) Preflight(ctx context.Context, rel shipprod.Release) error {
	for _, p := range []string{w.Path, w.JSONPath} {
		if err := w.checkPath(p); err != nil {
			return err
		}
	}
	return nil
}

func (w *Writer) checkPath(p string) error {
	abs := w.abs(p)
	if w.Dir != "" {
		root, err := filepath.Abs(w.Dir)
		if err != nil {
			return err
		}
		if full, err := filepath.Abs(abs); err == nil {
			if r, err := filepath.Rel(root, full); err != nil || r == ".." || strings.HasPrefix(r, ".."+string(filepath.Separator)) {
				return fmt.Errorf("report.path %s is outside the project (%s): keep the report in the repository", p, w.Dir)
			}
		}
	}
	for dir := filepath.Dir(abs); ; dir = filepath.Dir(dir) {
		info, err := os.Stat(dir)
		switch {
		case err == nil && info.IsDir():
			return nil
		case err == nil:
			return fmt.Errorf("report.path %s: %s is a file, not a directory", p, dir)
		case !errors.Is(err, fs.ErrNotExist):
			return fmt.Errorf("report.path %s: %w", p, err)
		case filepath.Dir(dir) == dir:
			return nil
		}
	}
}

// PlanActions implements shipprod.ActionPlanner.
func (w *Writer) PlanActions(ctx context.Context, rel shipprod.Release) ([]shipprod.Action, error) {
	return []shipprod.Action{
		{Kind: shipprod.ActionWriteFile, Target: w.Path, Description: "write " + w.Path},
		{Kind: shipprod.ActionWriteFile, Target: w.JSONPath, Description: "write " + w.JSONPath},
	}, nil
}

// WriteReport implements shipprod.Reporter.
func (w *Writer) WriteReport(ctx context.Context, res shipprod.Result) ([]string, error) {
	doc := Build(res, w.Feature)
	js, err := doc.JSON()
	if err != nil {
		return nil, err
	}
	var b atomicfile.Batch
	b.Add(w.abs(w.Path), []byte(doc.Markdown()), 0o644)
	b.Add(w.abs(w.JSONPath), js, 0o644)
	if err := b.Commit(); err != nil {
		return nil, fmt.Errorf("writing the ship report: %w", err)
	}
	return []string{w.Path, w.JSONPath}, nil
}

// JSON returns the document as indented JSON with a trailing newline.
func (d *Document) JSON() ([]byte, error) {
	js, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encoding the ship report: %w", err)
	}
	return append(js, '\n'), nil
}
