package changelog_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/shipprod/shipprod/version/changelog"
)

const keepAChangelog = `# Changelog

All notable changes to this project will be documented in this file.

## [Unreleased]

### Added
- Pagination for ` + "`list`" + `.
- A ` + "`--json`" + ` flag
  that prints machine-readable output.

### Fixed
- Crash on empty input (#12).

## [1.4.0] - 2024-05-02

### Added
- Initial export.

## [1.3.0] - 2024-04-01

### Fixed
- Old bug.

[Unreleased]: https://github.com/acme/app/compare/v1.4.0...HEAD
[1.4.0]: https://github.com/acme/app/compare/v1.3.0...v1.4.0
[1.3.0]: https://github.com/acme/app/releases/tag/v1.3.0
`

func TestParse(t *testing.T) {
	c, err := changelog.Parse([]byte(keepAChangelog))
	if err != nil {
		t.Fatal(err)
	}
	if c.Unreleased == nil || c.Unreleased.Line != 5 {
		t.Fatalf("Unreleased = %+v, want the section at line 5", c.Unreleased)
	}
	got := c.Unreleased.AllEntries()
	want := []changelog.GroupedEntry{
		{Group: "Added", Entry: changelog.Entry{Text: "Pagination for `list`.", Line: 8}},
		{Group: "Added", Entry: changelog.Entry{Text: "A `--json` flag\nthat prints machine-readable output.", Line: 9}},
		{Group: "Fixed", Entry: changelog.Entry{Text: "Crash on empty input (#12).", Line: 13}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("entries\n got %+v\nwant %+v", got, want)
	}
	if len(c.Releases) != 2 || c.Releases[0].Version != "1.4.0" || c.Releases[0].Date != "2024-05-02" || c.Releases[0].Line != 15 {
		t.Fatalf("releases = %+v", c.Releases)
	}
	if l := c.Latest(); l == nil || l.Version != "1.4.0" {
		t.Fatalf("Latest = %+v", l)
	}
	if l := c.Link("unreleased"); l == nil || l.URL != "https://github.com/acme/app/compare/v1.4.0...HEAD" || l.Line != 25 {
		t.Fatalf("Link(unreleased) = %+v", l)
	}
}

func TestHeadingStyles(t *testing.T) {
	tests := []struct {
		heading, version, date string
	}{
		{"## [1.2.3] - 2024-01-02", "1.2.3", "2024-01-02"},
		{"## 1.2.3 - 2024-01-02", "1.2.3", "2024-01-02"},
		{"## v1.2.3 (2024-01-02)", "1.2.3", "2024-01-02"},
		{"## [1.2.3](https://github.com/o/r/compare/v1.2.2...v1.2.3) (2024-01-02)", "1.2.3", "2024-01-02"},
		{"## [2.0.0-rc.1] - 2024-01-02 [YANKED]", "2.0.0-rc.1", "2024-01-02"},
		{"## 1.2", "1.2", ""},
	}
	for _, tt := range tests {
		c, err := changelog.Parse([]byte("# C\n\n" + tt.heading + "\n\n- x\n"))
		if err != nil {
			t.Fatal(err)
		}
		if len(c.Releases) != 1 || c.Releases[0].Version != tt.version || c.Releases[0].Date != tt.date {
			t.Errorf("%q: releases = %+v, want version %q date %q", tt.heading, c.Releases, tt.version, tt.date)
		}
	}
	for _, h := range []string{"## [Unreleased]", "## Unreleased", "## [unreleased]", "## [Unreleased](https://x/compare/v1...HEAD)"} {
		c, err := changelog.Parse([]byte(h + "\n- x\n"))
		if err != nil {
			t.Fatal(err)
		}
		if c.Unreleased == nil {
			t.Errorf("%q not recognised as the Unreleased section", h)
		}
	}
}

func TestParseIgnoresCodeFencesAndComments(t *testing.T) {
	src := "## [Unreleased]\n<!-- add entries below -->\n<!--\n## [9.9.9]\n-->\n### Added\n- Example:\n  ```md\n  ## [8.8.8]\n  ```\n\n```\n## [7.7.7]\n```\n\n## [1.0.0]\n"
	c, err := changelog.Parse([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Releases) != 1 || c.Releases[0].Version != "1.0.0" {
		t.Fatalf("releases = %+v; headings in code or comments must be ignored", c.Releases)
	}
	if n := len(c.Unreleased.AllEntries()); n != 2 {
		t.Fatalf("entries = %+v, want the list item and the fenced block", c.Unreleased.AllEntries())
	}
}

func TestSecondUnreleasedIsAnError(t *testing.T) {
	_, err := changelog.Parse([]byte("## [Unreleased]\n- a\n## [1.0.0]\n## Unreleased\n"))
	var ce *changelog.Error
	if !errors.As(err, &ce) || ce.Line != 4 || !strings.Contains(err.Error(), "line 1") {
		t.Fatalf("err = %v, want an Error at line 4 naming line 1", err)
	}
}

func TestRelease(t *testing.T) {
	c, err := changelog.Parse([]byte(keepAChangelog))
	if err != nil {
		t.Fatal(err)
	}
	out, notes, err := c.Release(changelog.ReleaseOptions{Version: "1.5.0", Date: "2024-06-01", Tag: "v1.5.0"})
	if err != nil {
		t.Fatal(err)
	}
	want := `# Changelog

All notable changes to this project will be documented in this file.

## [Unreleased]

## [1.5.0] - 2024-06-01

### Added
- Pagination for ` + "`list`" + `.
- A ` + "`--json`" + ` flag
  that prints machine-readable output.

### Fixed
- Crash on empty input (#12).

## [1.4.0] - 2024-05-02

### Added
- Initial export.

## [1.3.0] - 2024-04-01

### Fixed
- Old bug.

[Unreleased]: https://github.com/acme/app/compare/v1.5.0...HEAD
[1.5.0]: https://github.com/acme/app/compare/v1.4.0...v1.5.0
[1.4.0]: https://github.com/acme/app/compare/v1.3.0...v1.4.0
[1.3.0]: https://github.com/acme/app/releases/tag/v1.3.0
`
	if string(out) != want {
		t.Fatalf("Release output:\n%s\nwant:\n%s", out, want)
	}
	wantNotes := "### Added\n- Pagination for `list`.\n- A `--json` flag\n  that prints machine-readable output.\n\n### Fixed\n- Crash on empty input (#12)."
	if notes != wantNotes {
		t.Fatalf("notes = %q, want %q", notes, wantNotes)
	}
	if c.UnreleasedText() != wantNotes {
		t.Fatalf("UnreleasedText() = %q, want the notes Release returns", c.UnreleasedText())
	}
	// Releasing again from the result finds the new section.
	again, err := changelog.Parse(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(again.Unreleased.AllEntries()) != 0 || again.Latest().Version != "1.5.0" {
		t.Fatalf("after release: unreleased %+v, latest %+v", again.Unreleased.AllEntries(), again.Latest())
	}
}

func TestReleaseCases(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		opt   changelog.ReleaseOptions
		out   string
		notes string
		err   string
	}{
		{
			name:  "no brackets, no links, no trailing newline",
			in:    "## Unreleased\n- a",
			opt:   changelog.ReleaseOptions{Version: "0.1.0", Date: "2024-01-01", Tag: "v0.1.0"},
			out:   "## Unreleased\n\n## 0.1.0 - 2024-01-01\n\n- a",
			notes: "- a",
		},
		{
			name:  "CRLF line ends are kept",
			in:    "## [Unreleased]\r\n### Fixed\r\n- a\r\n\r\n## [1.0.0] - 2023-01-01\r\n",
			opt:   changelog.ReleaseOptions{Version: "1.0.1", Date: "2024-01-01"},
			out:   "## [Unreleased]\r\n\r\n## [1.0.1] - 2024-01-01\r\n\r\n### Fixed\r\n- a\r\n\r\n## [1.0.0] - 2023-01-01\r\n",
			notes: "### Fixed\n- a",
		},
		{
			name:  "empty placeholder groups and comments stay under Unreleased",
			in:    "## [Unreleased]\n<!-- new entries here -->\n### Added\n\n### Fixed\n- a\n\n## [1.0.0]\n",
			opt:   changelog.ReleaseOptions{Version: "1.0.1", Date: "2024-01-01"},
			out:   "## [Unreleased]\n\n<!-- new entries here -->\n### Added\n\n## [1.0.1] - 2024-01-01\n\n### Fixed\n- a\n\n## [1.0.0]\n",
			notes: "### Fixed\n- a",
		},
		{
			name:  "empty section gets the generated entries",
			in:    "## [Unreleased]\n\n## [1.0.0]\n",
			opt:   changelog.ReleaseOptions{Version: "1.1.0", Date: "2024-01-01", Generated: "### Added\n\n- x (abc1234)"},
			out:   "## [Unreleased]\n\n## [1.1.0] - 2024-01-01\n\n### Added\n\n- x (abc1234)\n\n## [1.0.0]\n",
			notes: "### Added\n\n- x (abc1234)",
		},
		{
			name:  "empty section without generated entries stays empty",
			in:    "## [Unreleased]\n\n## [1.0.0]\n",
			opt:   changelog.ReleaseOptions{Version: "1.0.1", Date: "2024-01-01"},
			out:   "## [Unreleased]\n\n## [1.0.1] - 2024-01-01\n\n## [1.0.0]\n",
			notes: "",
		},
		{
			name:  "first release: branch link becomes a compare link and a release link",
			in:    "## [Unreleased]\n- a\n\n[Unreleased]: https://github.com/o/r/commits/main\n",
			opt:   changelog.ReleaseOptions{Version: "0.1.0", Date: "2024-01-01", Tag: "v0.1.0"},
			out:   "## [Unreleased]\n\n## [0.1.0] - 2024-01-01\n\n- a\n\n[Unreleased]: https://github.com/o/r/compare/v0.1.0...main\n[0.1.0]: https://github.com/o/r/releases/tag/v0.1.0\n",
			notes: "- a",
		},
		{
			name:  "GitLab compare link with another tag prefix",
			in:    "## [Unreleased]\n- a\n## [1.0.0]\n- b\n\n[Unreleased]: https://gitlab.com/g/p/-/compare/app/v1.0.0...main\n",
			opt:   changelog.ReleaseOptions{Version: "1.1.0", Date: "2024-01-01", Tag: "app/v1.1.0"},
			out:   "## [Unreleased]\n\n## [1.1.0] - 2024-01-01\n\n- a\n\n## [1.0.0]\n- b\n\n[Unreleased]: https://gitlab.com/g/p/-/compare/app/v1.1.0...main\n[1.1.0]: https://gitlab.com/g/p/-/compare/app/v1.0.0...app/v1.1.0\n",
			notes: "- a",
		},
		{
			name: "already released",
			in:   "## [Unreleased]\n- a\n## [1.0.0] - 2023-01-01\n",
			opt:  changelog.ReleaseOptions{Version: "1.0.0"},
			err:  `line 3: version already released: "## [1.0.0] - 2023-01-01"`,
		},
		{
			name: "no Unreleased section",
			in:   "# Changelog\n\n## [1.0.0] - 2023-01-01\n",
			opt:  changelog.ReleaseOptions{Version: "1.1.0"},
			err:  `no "## [Unreleased]" section: add "## [Unreleased]" above "## [1.0.0] - 2023-01-01" at line 3`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := changelog.Parse([]byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			out, notes, err := c.Release(tt.opt)
			if tt.err != "" {
				if err == nil || err.Error() != tt.err {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if string(out) != tt.out {
				t.Fatalf("out:\n%q\nwant:\n%q", out, tt.out)
			}
			if notes != tt.notes {
				t.Fatalf("notes = %q, want %q", notes, tt.notes)
			}
		})
	}
}

func TestGenerate(t *testing.T) {
	got := changelog.Generate([]changelog.GroupedEntry{
		{Group: "Fixed", Entry: changelog.Entry{Text: "b"}},
		{Group: "Added", Entry: changelog.Entry{Text: "a"}},
		{Group: "Breaking Changes", Entry: changelog.Entry{Text: "c\nmore"}},
		{Group: "Added", Entry: changelog.Entry{Text: "d"}},
	})
	want := "### Added\n\n- a\n- d\n\n### Fixed\n\n- b\n\n### Breaking Changes\n\n- c\n  more"
	if got != want {
		t.Fatalf("Generate =\n%q\nwant\n%q", got, want)
	}
}
