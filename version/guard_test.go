package version_test

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/shipprod/shipprod"
	"github.com/shipprod/shipprod/internal/yamlstrict"
	"github.com/shipprod/shipprod/version"
)

// TestForcedBumpGuard holds a forced version.bump against the commits and
// the CHANGELOG since the last release, in real repositories.
func TestForcedBumpGuard(t *testing.T) {
	t.Parallel()
	const emptyLog = "# Changelog\n\n## [Unreleased]\n\n## [1.4.0] - 2024-01-01\n\n- First.\n"
	tests := []struct {
		name      string
		tag       string // the last release; default v1.4.0
		changelog string // CHANGELOG.md at the release; default emptyLog
		unrel     string // CHANGELOG.md committed after the release, when set
		commits   []string
		cfg       version.Config
		next      string // the version released, when allowed
		warnings  []string
		// refused: the error's Summary and Fix, and the evidence
		// ("source text", SHAs as @N for the Nth commit).
		summary, fix string
		evidence     []string
	}{
		{name: "forced minor with a breaking commit is refused", commits: []string{"fix: a", "feat!: drop v1 API"}, cfg: version.Config{Bump: "minor"},
			summary:  "version.bump: minor gives 1.5.0, below 2.0.0 (major), which the changes since v1.4.0 ask for",
			fix:      "set version.bump: major (or auto), or version.allow_lower_bump: true to release 1.5.0 anyway",
			evidence: []string{"commit @2 feat!: drop v1 API"}},
		{name: "allowed by allow_lower_bump, with a warning", commits: []string{"fix: a", "feat!: drop v1 API"}, cfg: version.Config{Bump: "minor", AllowLowerBump: true},
			next:     "1.5.0",
			warnings: []string{"forced minor (1.5.0) although commit @2 (feat!: drop v1 API) asks for major (2.0.0): allowed by version.allow_lower_bump"}},
		{name: "a BREAKING CHANGE footer is breaking too", commits: []string{"feat: new config\n\nBREAKING CHANGE: extends now merges"}, cfg: version.Config{Bump: "patch"},
			summary:  "version.bump: patch gives 1.4.1, below 2.0.0 (major), which the changes since v1.4.0 ask for",
			fix:      "set version.bump: major (or auto), or version.allow_lower_bump: true to release 1.4.1 anyway",
			evidence: []string{"commit @1 feat: new config (BREAKING CHANGE: extends now merges)"}},
		{name: "forced major with only fixes is higher: fine", commits: []string{"fix: a", "fix: b"}, cfg: version.Config{Bump: "major"}, next: "2.0.0"},
		{name: "forced minor with a feature is what it asks", commits: []string{"feat: a", "fix: b"}, cfg: version.Config{Bump: "minor"}, next: "1.5.0"},
		{name: "forced patch names every commit asking more, highest first", commits: []string{"feat: a", "fix: b", "feat(api)!: c"}, cfg: version.Config{Bump: "patch"},
			summary:  "version.bump: patch gives 1.4.1, below 2.0.0 (major), which the changes since v1.4.0 ask for",
			fix:      "set version.bump: major (or auto), or version.allow_lower_bump: true to release 1.4.1 anyway",
			evidence: []string{"commit @3 feat(api)!: c", "commit @1 feat: a"}},
		{name: "exact version below a breaking change", commits: []string{"feat!: drop v1 API"}, cfg: version.Config{Bump: "1.4.5"},
			summary:  "version.bump: 1.4.5, below 2.0.0 (major), which the changes since v1.4.0 ask for",
			fix:      "set version.bump: 2.0.0 or higher (or auto), or version.allow_lower_bump: true to release 1.4.5 anyway",
			evidence: []string{"commit @1 feat!: drop v1 API"}},
		{name: "exact version below a feature", commits: []string{"feat: a"}, cfg: version.Config{Bump: "1.4.1"},
			summary:  "version.bump: 1.4.1, below 1.5.0 (minor), which the changes since v1.4.0 ask for",
			fix:      "set version.bump: 1.5.0 or higher (or auto), or version.allow_lower_bump: true to release 1.4.1 anyway",
			evidence: []string{"commit @1 feat: a"}},
		{name: "exact pre-release of what is asked: fine", commits: []string{"feat!: drop v1 API"}, cfg: version.Config{Bump: "2.0.0-rc.1"}, next: "2.0.0-rc.1"},
		{name: "exact version above what is asked: fine", commits: []string{"fix: a"}, cfg: version.Config{Bump: "1.9.0"}, next: "1.9.0"},
		{name: "CHANGELOG Removed with forced patch", unrel: "# Changelog\n\n## [Unreleased]\n\n### Fixed\n\n- A crash.\n\n### Removed\n\n- The v1 API.\n\n## [1.4.0] - 2024-01-01\n\n- First.\n",
			commits: []string{"docs: changelog"}, cfg: version.Config{Bump: "patch"},
			summary:  "version.bump: patch gives 1.4.1, below 2.0.0 (major), which the changes since v1.4.0 ask for",
			fix:      "set version.bump: major (or auto), or version.allow_lower_bump: true to release 1.4.1 anyway",
			evidence: []string{"CHANGELOG.md:11 Removed: The v1 API."}},
		{name: "CHANGELOG Added with forced patch", unrel: "# Changelog\n\n## [Unreleased]\n\n### Added\n\n- Pagination.\n\n## [1.4.0] - 2024-01-01\n\n- First.\n",
			commits: []string{"docs: changelog"}, cfg: version.Config{Bump: "patch"},
			summary:  "version.bump: patch gives 1.4.1, below 1.5.0 (minor), which the changes since v1.4.0 ask for",
			fix:      "set version.bump: minor (or auto), or version.allow_lower_bump: true to release 1.4.1 anyway",
			evidence: []string{"CHANGELOG.md:7 Added: Pagination."}},
		{name: "commits and CHANGELOG lines together", unrel: "# Changelog\n\n## [Unreleased]\n\n### Removed\n\n- The v1 API.\n\n## [1.4.0] - 2024-01-01\n\n- First.\n",
			commits: []string{"feat!: drop v1 API"}, cfg: version.Config{Bump: "minor", AllowLowerBump: true}, next: "1.5.0",
			warnings: []string{"forced minor (1.5.0) although commit @1 (feat!: drop v1 API), CHANGELOG.md:7 (Removed: The v1 API.) ask for major (2.0.0): allowed by version.allow_lower_bump"}},
		{name: "bump_from without commits does not read them", commits: []string{"feat!: drop v1 API"}, cfg: version.Config{Bump: "minor", BumpFrom: []string{"changelog"}}, next: "1.5.0"},
		{name: "0.x: a breaking change asks for a minor, so a forced minor is enough", tag: "v0.3.0", changelog: "-",
			commits: []string{"feat!: break"}, cfg: version.Config{Bump: "minor"}, next: "0.4.0"},
		{name: "0.x: a forced patch with a breaking change is refused", tag: "v0.3.0", changelog: "-",
			commits: []string{"feat!: break"}, cfg: version.Config{Bump: "patch"},
			summary:  "version.bump: patch gives 0.3.1, below 0.4.0 (minor), which the changes since v0.3.0 ask for",
			fix:      "set version.bump: minor (or auto), or version.allow_lower_bump: true to release 0.3.1 anyway",
			evidence: []string{"commit @1 feat!: break"}},
		{name: "0.x with breaking_in_0x major", tag: "v0.3.0", changelog: "-",
			commits: []string{"feat!: break"}, cfg: version.Config{Bump: "minor", BreakingIn0x: "major"},
			summary:  "version.bump: minor gives 0.4.0, below 1.0.0 (major), which the changes since v0.3.0 ask for",
			fix:      "set version.bump: major (or auto), or version.allow_lower_bump: true to release 0.4.0 anyway",
			evidence: []string{"commit @1 feat!: break"}},
		{name: "a pre-release of a forced patch below a feature", commits: []string{"feat: a"}, cfg: version.Config{Bump: "patch", Prerelease: "rc"},
			summary:  "version.bump: patch gives 1.4.1-rc.1, below 1.5.0 (minor), which the changes since v1.4.0 ask for",
			fix:      "set version.bump: minor (or auto), or version.allow_lower_bump: true to release 1.4.1-rc.1 anyway",
			evidence: []string{"commit @1 feat: a"}},
		{name: "a pre-release of a forced major", commits: []string{"feat!: a"}, cfg: version.Config{Bump: "major", Prerelease: "rc"}, next: "2.0.0-rc.1"},
		{name: "Release-As above an exact version", commits: []string{"chore: prepare\n\nRelease-As: 3.0.0"}, cfg: version.Config{Bump: "2.0.0"},
			summary:  "version.bump: 2.0.0, below 3.0.0 (major), which the changes since v1.4.0 ask for",
			fix:      "set version.bump: 3.0.0 or higher (or auto), or version.allow_lower_bump: true to release 2.0.0 anyway",
			evidence: []string{"commit @1 Release-As: 3.0.0"}},
		{name: "Release-As below an exact version is ignored, saying so", commits: []string{"chore: prepare\n\nRelease-As: 2.0.0"}, cfg: version.Config{Bump: "3.0.0"},
			next: "3.0.0", warnings: []string{"commit @1: Release-As 2.0.0 ignored: version.bump is 3.0.0"}},
		{name: "Release-As above a forced level wins, as before", commits: []string{"feat!: a\n\nRelease-As: 3.0.0"}, cfg: version.Config{Bump: "minor"}, next: "3.0.0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := newRepo(t)
			cfg := tt.cfg
			switch tt.changelog {
			case "":
				r.write("CHANGELOG.md", emptyLog)
				r.commit("feat: initial", "CHANGELOG.md")
			case "-":
				r.commit("feat: initial")
			}
			tag := tt.tag
			if tag == "" {
				tag = "v1.4.0"
			}
			r.tag(tag)
			if tt.unrel != "" {
				r.write("CHANGELOG.md", tt.unrel)
			}
			var shas []string
			for i, m := range tt.commits {
				if i == 0 && tt.unrel != "" {
					shas = append(shas, r.commit(m, "CHANGELOG.md"))
					continue
				}
				shas = append(shas, r.commit(m))
			}
			sub := func(s string) string {
				for i := len(shas) - 1; i >= 0; i-- {
					s = strings.ReplaceAll(s, "@"+string(rune('1'+i)), shas[i][:7])
				}
				return s
			}
			d, err := r.versioner(cfg).Decide(context.Background())
			if tt.next != "" {
				if err != nil {
					t.Fatalf("Decide: %v", err)
				}
				if d.Next != tt.next || d.Refusal != nil {
					t.Fatalf("next = %s (refusal %v), want %s", d.Next, d.Refusal, tt.next)
				}
				var want []string
				for _, w := range tt.warnings {
					want = append(want, sub(w))
				}
				if !reflect.DeepEqual(d.Warnings, want) {
					t.Fatalf("warnings = %q\nwant       %q", d.Warnings, want)
				}
				return
			}
			var low *version.BumpTooLowError
			if !errors.As(err, &low) {
				t.Fatalf("err = %v, want a *BumpTooLowError", err)
			}
			if d == nil || d.Refusal != low || d.Next != "" || d.Tag != "" {
				t.Fatalf("decision = %+v, want the refusal and no next version", d)
			}
			if low.Summary() != tt.summary || low.Fix() != tt.fix {
				t.Fatalf("refusal:\n%s\n%s\nwant\n%s\n%s", low.Summary(), low.Fix(), tt.summary, tt.fix)
			}
			var got, want []string
			for _, e := range low.Evidence {
				got = append(got, e.Source+" "+e.Text)
			}
			for _, e := range tt.evidence {
				want = append(want, sub(e))
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("evidence = %q\nwant       %q", got, want)
			}
			// The error names every piece of evidence and the way out.
			for _, e := range low.Evidence {
				if s := e.Source + " (" + e.Text + ")"; !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not name %q", err, s)
				}
			}
			if !strings.HasSuffix(err.Error(), "; "+tt.fix) {
				t.Errorf("error %q does not end with the fix", err)
			}
		})
	}
}

// TestForcedBumpRefusalText checks what `shipprod version` prints for a
// refused bump (Decision.WriteText), and that NextVersion refuses to ship.
func TestForcedBumpRefusalText(t *testing.T) {
	t.Parallel()
	r := newRepo(t)
	r.write("CHANGELOG.md", "# Changelog\n\n## [Unreleased]\n\n### Removed\n\n- The v1 API.\n\n## [1.4.0] - 2024-01-01\n\n- First.\n")
	r.commit("feat: initial")
	r.tag("v1.4.0")
	r.commit("fix: a")
	sha := r.commit("feat!: drop v1 API", "CHANGELOG.md")
	v := r.versioner(version.Config{Bump: "minor"})
	d, err := v.Decide(context.Background())
	var low *version.BumpTooLowError
	if !errors.As(err, &low) || d == nil {
		t.Fatalf("Decide = %v, %v; want the decision and a *BumpTooLowError", d, err)
	}
	want := "current  1.4.0 (tag v1.4.0)\n" +
		"next     refused: version.bump: minor gives 1.5.0, below 2.0.0 (major), which the changes since v1.4.0 ask for\n" +
		"asking   major       commit " + sha[:7] + "  feat!: drop v1 API\n" +
		"         major       CHANGELOG.md:7  Removed: The v1 API.\n" +
		"fix      set version.bump: major (or auto), or version.allow_lower_bump: true to release 1.5.0 anyway\n"
	if got := d.String(); got != want {
		t.Fatalf("WriteText:\n%s\nwant\n%s", got, want)
	}
	wantErr := "version.bump: minor gives 1.5.0, below 2.0.0 (major), which the changes since v1.4.0 ask for: commit " + sha[:7] +
		" (feat!: drop v1 API), CHANGELOG.md:7 (Removed: The v1 API.); set version.bump: major (or auto), or version.allow_lower_bump: true to release 1.5.0 anyway"
	if err.Error() != wantErr {
		t.Fatalf("error:\n%s\nwant\n%s", err, wantErr)
	}

	// --json carries the refusal as data.
	data, err2 := json.Marshal(d)
	if err2 != nil {
		t.Fatal(err2)
	}
	var doc struct {
		Next    string `json:"next"`
		Refusal struct {
			Configured, Version, Wanted string
			WantedBump                  string `json:"wanted_bump"`
			Evidence                    []shipprod.Reason
		} `json:"refusal"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Next != "" || doc.Refusal.Configured != "minor" || doc.Refusal.Version != "1.5.0" || doc.Refusal.Wanted != "2.0.0" || doc.Refusal.WantedBump != "major" || len(doc.Refusal.Evidence) != 2 {
		t.Fatalf("JSON %s", data)
	}

	// The pipeline's entry point refuses too, with the same error.
	if _, err := v.NextVersion(context.Background()); !errors.As(err, &low) || err.Error() != wantErr {
		t.Fatalf("NextVersion: %v", err)
	}

	// Allowed, the release carries the override in its warnings and reasons.
	rel, err := r.versioner(version.Config{Bump: "minor", AllowLowerBump: true}).NextVersion(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	wantWarn := "forced minor (1.5.0) although commit " + sha[:7] + " (feat!: drop v1 API), CHANGELOG.md:7 (Removed: The v1 API.) ask for major (2.0.0): allowed by version.allow_lower_bump"
	if rel.Version != "1.5.0" || rel.Bump != shipprod.BumpMinor || !reflect.DeepEqual(rel.Warnings, []string{wantWarn}) {
		t.Fatalf("release %s (%s), warnings %q; want 1.5.0 (minor) with %q", rel.Version, rel.Bump, rel.Warnings, wantWarn)
	}
	wantReasons := []string{
		"minor bump minor as configured",
		"minor release 1.5.0 although the changes since v1.4.0 ask for 2.0.0",
		"major feat!: drop v1 API",
		"major Removed: The v1 API.",
	}
	if !reflect.DeepEqual(bumps(rel.Reasons), wantReasons) {
		t.Fatalf("reasons = %q\nwant      %q", bumps(rel.Reasons), wantReasons)
	}
	if rel.Reasons[1].Source != "config version.allow_lower_bump" || rel.Reasons[2].Source != "commit "+sha[:7] {
		t.Fatalf("reason sources: %+v", rel.Reasons)
	}
}

func TestAllowLowerBumpNeedsAForcedBump(t *testing.T) {
	t.Parallel()
	var cfg struct {
		Version version.Config `yaml:"version"`
	}
	if err := yamlstrict.Unmarshal("shipprod.yaml", []byte("version:\n  bump: minor\n  allow_lower_bump: true\n"), &cfg); err != nil {
		t.Fatal(err)
	}
	if !cfg.Version.AllowLowerBump {
		t.Fatalf("decoded %+v, want allow_lower_bump set", cfg.Version)
	}
	if _, err := version.New(cfg.Version, version.Options{}); err != nil {
		t.Fatal(err)
	}
	_, err := version.New(version.Config{AllowLowerBump: true}, version.Options{})
	want := "version.allow_lower_bump: only applies to a forced version.bump (major, minor, patch or X.Y.Z); remove it with bump: auto"
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v, want %q", err, want)
	}
}
