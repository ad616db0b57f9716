package version_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/shipprod/shipprod"
	"github.com/shipprod/shipprod/version"
)

// TestVersionFiles writes 1.5.0 into every kind of version file and checks
// that nothing but the version changes.
func TestVersionFiles(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		file   version.File
		before string
		after  string
	}{
		{
			name:   "package.json keeps key order, two-space indentation and the final newline",
			file:   version.File{Path: "package.json"},
			before: "{\n  \"name\": \"app\",\n  \"version\": \"1.4.0\",\n  \"scripts\": {\"version\": \"not this one\"},\n  \"zz\": [1, {\"version\": \"nor this\"}],\n  \"aa\": true\n}\n",
			after:  "{\n  \"name\": \"app\",\n  \"version\": \"1.5.0\",\n  \"scripts\": {\"version\": \"not this one\"},\n  \"zz\": [1, {\"version\": \"nor this\"}],\n  \"aa\": true\n}\n",
		},
		{
			name:   "package.json with tabs, CRLF and no final newline",
			file:   version.File{Path: "web/package.json"},
			before: "{\r\n\t\"version\" :  \"1.4.0\",\r\n\t\"private\": true\r\n}",
			after:  "{\r\n\t\"version\" :  \"1.5.0\",\r\n\t\"private\": true\r\n}",
		},
		{
			name:   "any JSON manifest",
			file:   version.File{Path: "manifest.json"},
			before: `{"manifest_version": 3, "version": "1.4.0"}`,
			after:  `{"manifest_version": 3, "version": "1.5.0"}`,
		},
		{
			name:   "package-lock.json root fields",
			file:   version.File{Path: "package-lock.json"},
			before: "{\n  \"name\": \"app\",\n  \"version\": \"1.4.0\",\n  \"lockfileVersion\": 3,\n  \"packages\": {\n    \"\": {\n      \"name\": \"app\",\n      \"version\": \"1.4.0\"\n    },\n    \"node_modules/dep\": {\n      \"version\": \"1.4.0\"\n    }\n  }\n}\n",
			after:  "{\n  \"name\": \"app\",\n  \"version\": \"1.5.0\",\n  \"lockfileVersion\": 3,\n  \"packages\": {\n    \"\": {\n      \"name\": \"app\",\n      \"version\": \"1.5.0\"\n    },\n    \"node_modules/dep\": {\n      \"version\": \"1.4.0\"\n    }\n  }\n}\n",
		},
		{name: "VERSION", file: version.File{Path: "VERSION"}, before: "1.4.0\n", after: "1.5.0\n"},
		{name: "VERSION with a v and no newline", file: version.File{Path: "VERSION"}, before: "v1.4.0", after: "v1.5.0"},
		{
			name:   "Go constant",
			file:   version.File{Path: "internal/version/version.go"},
			before: "package version\n\n// Version is the release.\nconst Version = \"1.4.0\"\n",
			after:  "package version\n\n// Version is the release.\nconst Version = \"1.5.0\"\n",
		},
		{
			name:   "Go constant in a block",
			file:   version.File{Path: "version.go"},
			before: "package main\n\nconst (\n\tName    = \"app\"\n\tVersion = \"1.4.0\"\n)\n",
			after:  "package main\n\nconst (\n\tName    = \"app\"\n\tVersion = \"1.5.0\"\n)\n",
		},
		{
			name:   "pyproject.toml with a pattern",
			file:   version.File{Path: "pyproject.toml", Pattern: `^version = "(?P<version>[^"]+)"`},
			before: "[project]\nname = \"app\"\nversion = \"1.4.0\"\ndependencies = [\"x>=1.4.0\"]\n",
			after:  "[project]\nname = \"app\"\nversion = \"1.5.0\"\ndependencies = [\"x>=1.4.0\"]\n",
		},
		{
			name:   "Chart.yaml with a pattern",
			file:   version.File{Path: "chart/Chart.yaml", Pattern: `^appVersion: "?(?P<version>[^"\s]+)"?$`},
			before: "apiVersion: v2\nversion: 0.3.0\nappVersion: \"1.4.0\"\n",
			after:  "apiVersion: v2\nversion: 0.3.0\nappVersion: \"1.5.0\"\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := newRepo(t)
			r.write(tt.file.Path, tt.before)
			r.commit("feat: init", tt.file.Path)
			r.tag("v1.4.0")
			r.commit("feat: more")
			v := r.versioner(version.Config{Files: []version.File{tt.file}, Changelog: "-"})
			rel, err := v.NextVersion(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if rel.Version != "1.5.0" || len(rel.Files) != 1 || rel.Files[0] != tt.file.Path {
				t.Fatalf("release %s files %q", rel.Version, rel.Files)
			}
			if _, err := v.ApplyVersion(context.Background(), rel); err != nil {
				t.Fatal(err)
			}
			if got := r.read(tt.file.Path); got != tt.after {
				t.Fatalf("after:\n%q\nwant:\n%q", got, tt.after)
			}
		})
	}
}

// TestBadVersionFiles: each bad input gets a clear message naming the file,
// the line and the value, and nothing is modified.
func TestBadVersionFiles(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		path    string
		content string // "" means the file is missing
		pattern string
		err     string
	}{
		{"invalid SemVer in package.json", "package.json", "{\n  \"name\": \"x\",\n  \"version\": \"1.4\"\n}\n", "",
			`package.json:3: version "1.4" is not a valid semantic version (want MAJOR.MINOR.PATCH, e.g. 1.2.0)`},
		{"invalid SemVer in VERSION", "VERSION", "\n1.4.0-\n", "", `VERSION:2: version "1.4.0-" is not a valid semantic version`},
		{"invalid SemVer in a Go constant", "version.go", "package v\n\nconst Version = \"dev\"\n", "", `version.go:3: version "dev" is not a valid semantic version`},
		{"missing file", "VERSION", "", "", "VERSION: file not found (listed in version.files)"},
		{"package.json without a version", "package.json", "{\"name\": \"x\"}\n", "", `package.json: no top-level "version" field; add one with the current version (e.g. "version": "0.1.0")`},
		{"version is not a string", "package.json", "{\n\"version\": 1.4\n}", "", `package.json:2: version is 1.4, not a string such as "1.2.0"`},
		{"version twice", "package.json", "{\n\"version\": \"1.4.0\",\n\"version\": \"1.4.0\"\n}", "", `package.json:3: "version" appears twice (lines 2 and 3)`},
		{"invalid JSON", "package.json", "{\n  \"version\": \"1.4.0\",\n}\n", "", "package.json:3: not valid JSON"},
		{"empty VERSION", "VERSION", "\n", "", "VERSION: the file is empty; write the current version into it (e.g. 0.1.0)"},
		{"VERSION with two lines", "VERSION", "1.4.0\n1.5.0\n", "", `VERSION:1: expected only a version, found 2 lines`},
		{"Go file without a constant", "version.go", "package v\n", "", "version.go: `const Version = \"x.y.z\"` matches nothing: the file has no version where the pattern looks"},
		{"pattern matches nothing", "Cargo.toml", "[package]\nname = \"x\"\n", `^version = "(?P<version>[^"]+)"`,
			`Cargo.toml: pattern "^version = \"(?P<version>[^\"]+)\"" matches nothing: the file has no version where the pattern looks`},
		{"pattern matches twice", "Cargo.toml", "[package]\nversion = \"1.4.0\"\n[workspace.package]\nversion = \"1.4.0\"\n", `^version = "(?P<version>[^"]+)"`,
			`Cargo.toml:2: pattern "^version = \"(?P<version>[^\"]+)\"" matches 2 times (lines 2, 4); make it match exactly one place`},
		{"lock file versions disagree", "package-lock.json", "{\n\"version\": \"1.4.0\",\n\"packages\": {\"\": {\"version\": \"1.3.0\"}}\n}", "",
			`package-lock.json:3: version "1.3.0" disagrees with "1.4.0" at line 2`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := newRepo(t)
			var files []string
			if tt.content != "" {
				r.write(tt.path, tt.content)
				files = append(files, tt.path)
			}
			r.commit("feat: init", files...)
			r.tag("v1.4.0")
			r.commit("feat: more")
			before := r.snapshot()
			v := r.versioner(version.Config{Files: []version.File{{Path: tt.path, Pattern: tt.pattern}}})
			_, err := v.NextVersion(context.Background())
			var fe *version.FileError
			if !errors.As(err, &fe) || !strings.HasPrefix(err.Error(), tt.err) {
				t.Fatalf("err = %v\nwant a FileError starting %q", err, tt.err)
			}
			// ApplyVersion with a release decided elsewhere fails the same way.
			_, err = v.ApplyVersion(context.Background(), shipprod.Release{Version: "1.5.0", Tag: "v1.5.0"})
			if !errors.As(err, &fe) {
				t.Fatalf("ApplyVersion err = %v, want the FileError", err)
			}
			if r.snapshot() != before {
				t.Fatal("a failed decision changed the repository")
			}
		})
	}
}

func TestFileConfig(t *testing.T) {
	t.Parallel()
	tests := []struct {
		cfg version.Config
		err string
	}{
		{version.Config{Files: []version.File{{Path: "Chart.yaml"}}}, `version.files[0]: don't know where "Chart.yaml" keeps the version: give a pattern`},
		{version.Config{Files: []version.File{{Path: "x.toml", Pattern: `version = "(.*)"`}}}, `version.files[0]: x.toml: pattern "version = \"(.*)\"" has no group named version`},
		{version.Config{Files: []version.File{{Path: "x.toml", Pattern: `(?P<version>[`}}}, `version.files[0]: x.toml: pattern "(?P<version>[": error parsing regexp`},
		{version.Config{Files: []version.File{{Path: "../VERSION"}}}, `version.files[0]: "../VERSION" leaves the repository`},
		{version.Config{Files: []version.File{{Path: "/etc/VERSION"}}}, `version.files[0]: "/etc/VERSION" is absolute`},
		{version.Config{Files: []version.File{{Path: "VERSION"}, {Path: "./VERSION"}}}, `version.files[1]: "VERSION" is listed twice`},
		{version.Config{Bump: "mjor"}, `version.bump: "mjor" is not auto, major, minor, patch or a version such as 1.2.3`},
		{version.Config{Prerelease: "rc.1"}, `version.prerelease: "rc.1" is not a pre-release identifier`},
		{version.Config{Prerelease: "rc!"}, `version.prerelease: "rc!" is not a pre-release identifier`},
		{version.Config{TagPrefix: ptr("v*")}, `version.tag_prefix: "v*" cannot start a git tag name`},
		{version.Config{Initial: "1.0"}, `version.initial: "1.0" is not a version such as 0.1.0`},
		{version.Config{CommitMessage: "release {vers}"}, `version.commit_message: unknown placeholder {vers}`},
		{version.Config{BumpFrom: []string{"commit"}}, `version.bump_from: unknown source "commit"`},
		{version.Config{BumpFrom: []string{}}, `version.bump_from: is empty and version.bump is auto`},
		{version.Config{Types: map[string]string{"refactor": "big"}}, `version.types.refactor: "big" is not major, minor, patch or none`},
		{version.Config{BreakingIn0x: "patch"}, `version.breaking_in_0x: "patch" is not minor or major`},
		{version.Config{FeatureIn0x: "major"}, `version.feature_in_0x: "major" is not patch or minor`},
		{version.Config{Trust: "../x"}, `version.trust: "../x" is not tag, changelog or a file path`},
		{version.Config{MaxReasons: -1}, `version.max_reasons: -1 is negative`},
	}
	for _, tt := range tests {
		_, err := version.New(tt.cfg, version.Options{})
		if err == nil || !strings.HasPrefix(err.Error(), tt.err) {
			t.Errorf("New(%+v) err = %v\nwant prefix %q", tt.cfg, err, tt.err)
		}
	}
	if _, err := version.New(version.Config{}, version.Options{Branch: "-x"}); err == nil {
		t.Error("New accepted the branch -x")
	}
}
