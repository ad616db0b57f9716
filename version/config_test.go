package version_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/shipprod/shipprod/internal/yamlstrict"
	"github.com/shipprod/shipprod/version"
)

func TestConfigYAML(t *testing.T) {
	t.Parallel()
	const doc = `
version:
  bump: auto
  prerelease: rc
  tag_prefix: ""
  initial: 1.0.0
  files:
    - package.json
    - internal/version/version.go
    - path: pyproject.toml
      pattern: '^version = "(?P<version>[^"]+)"'
  changelog: docs/CHANGELOG.md
  generate_changelog: true
  commit_message: "chore(release): {tag} [skip ci]"
  bump_from: [commits]
  current_from: [tag, package.json]
  trust: tag
  types: {refactor: patch, perf: none}
  require_conventional: true
  breaking_in_0x: major
  feature_in_0x: patch
  max_reasons: 10
`
	var cfg struct {
		Version version.Config `yaml:"version"`
	}
	if err := yamlstrict.Unmarshal("shipprod.yaml", []byte(doc), &cfg); err != nil {
		t.Fatal(err)
	}
	want := version.Config{
		Bump: "auto", Prerelease: "rc", TagPrefix: ptr(""), Initial: "1.0.0",
		Files: []version.File{{Path: "package.json"}, {Path: "internal/version/version.go"},
			{Path: "pyproject.toml", Pattern: `^version = "(?P<version>[^"]+)"`}},
		Changelog: "docs/CHANGELOG.md", GenerateChangelog: true, CommitMessage: "chore(release): {tag} [skip ci]",
		BumpFrom: []string{"commits"}, CurrentFrom: []string{"tag", "package.json"}, Trust: "tag",
		Types: map[string]string{"refactor": "patch", "perf": "none"}, RequireConventional: true,
		BreakingIn0x: "major", FeatureIn0x: "patch", MaxReasons: 10,
	}
	if !reflect.DeepEqual(cfg.Version, want) {
		t.Fatalf("decoded\n%+v\nwant\n%+v", cfg.Version, want)
	}
	if _, err := version.New(cfg.Version, version.Options{}); err != nil {
		t.Fatal(err)
	}

	for _, bad := range []struct{ doc, err string }{
		{"version:\n  bmp: minor\n", `shipprod.yaml:2: unknown key "version.bmp"`},
		{"version:\n  files:\n    - path: VERSION\n      patern: x\n", `line 4: version.files: unknown key "patern" (known keys: path, pattern)`},
		{"version:\n  files:\n    - [VERSION]\n", "line 3: version.files: want a path or {path, pattern}"},
	} {
		var c struct {
			Version version.Config `yaml:"version"`
		}
		err := yamlstrict.Unmarshal("shipprod.yaml", []byte(bad.doc), &c)
		if err == nil || !strings.Contains(err.Error(), bad.err) {
			t.Errorf("%q: err = %v, want %q", bad.doc, err, bad.err)
		}
	}
}

func TestDecisionJSON(t *testing.T) {
	t.Parallel()
	r := newRepo(t)
	r.commit("feat: a")
	r.tag("v1.0.0")
	r.commit("fix: b")
	d := r.decide(version.Config{})
	data, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	if m["current"] != "1.0.0" || m["next"] != "1.0.1" || m["bump"] != "patch" || m["tag"] != "v1.0.1" || m["current_source"] != "tag v1.0.0" {
		t.Fatalf("JSON %s", data)
	}
	reasons := m["reasons"].([]any)
	if r0 := reasons[0].(map[string]any); r0["text"] != "fix: b" || r0["bump"] != "patch" || !strings.HasPrefix(r0["source"].(string), "commit ") {
		t.Fatalf("reasons %v", reasons)
	}
	if _, ok := m["nothing_to_release"]; ok {
		t.Fatalf("nothing_to_release present for a release: %s", data)
	}
}
