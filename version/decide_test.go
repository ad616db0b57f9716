package version_test

import (
	"context"
	"errors"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/shipprod/shipprod"
	"github.com/shipprod/shipprod/version"
)

// TestConventionalBumps runs every Conventional Commits rule that decides a
// bump against a real repository tagged v1.4.0.
func TestConventionalBumps(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		commits []string
		cfg     version.Config
		next    string
		bump    shipprod.Bump
		reasons []string // "bump text" of the reasons, when checked
		why     string   // the nothing-to-release message
	}{
		{name: "fix is a patch", commits: []string{"fix: crash on empty input"}, next: "1.4.1", bump: shipprod.BumpPatch,
			reasons: []string{"patch fix: crash on empty input"}},
		{name: "perf is a patch", commits: []string{"perf(db): batch inserts"}, next: "1.4.1", bump: shipprod.BumpPatch},
		{name: "feat is a minor", commits: []string{"fix: a", "feat(api): add pagination"}, next: "1.5.0", bump: shipprod.BumpMinor,
			reasons: []string{"minor feat(api): add pagination", "patch fix: a"}},
		{name: "bang is a major", commits: []string{"feat!: drop Node 14"}, next: "2.0.0", bump: shipprod.BumpMajor,
			reasons: []string{"major feat!: drop Node 14"}},
		{name: "bang with scope on any type", commits: []string{"chore(deps)!: require Go 1.26"}, next: "2.0.0", bump: shipprod.BumpMajor},
		{name: "BREAKING CHANGE footer", commits: []string{"feat: new config\n\nBody.\n\nBREAKING CHANGE: extends now merges"}, next: "2.0.0", bump: shipprod.BumpMajor,
			reasons: []string{"major feat: new config (BREAKING CHANGE: extends now merges)"}},
		{name: "BREAKING-CHANGE footer", commits: []string{"fix: rename flag\n\nBREAKING-CHANGE: --out is now --output"}, next: "2.0.0", bump: shipprod.BumpMajor},
		{name: "breaking words in the body are not a footer", commits: []string{"fix: a\n\nThis is not a BREAKING CHANGE: really."}, next: "1.4.1", bump: shipprod.BumpPatch},
		{name: "breaking line inside a body paragraph is not a footer", commits: []string{"fix: a\n\nSome text\nBREAKING CHANGE: hidden"}, next: "1.4.1", bump: shipprod.BumpPatch},
		{name: "lower-case breaking change footer is not breaking", commits: []string{"feat: a\n\nbreaking change: no"}, next: "1.5.0", bump: shipprod.BumpMinor},
		{name: "types are case-insensitive", commits: []string{"FEAT: shout"}, next: "1.5.0", bump: shipprod.BumpMinor},
		{name: "body without blank line is not conventional", commits: []string{"feat: a\nbody"}, why: "nothing to release since v1.4.0: 1 commit, none releasable (1 not conventional); CHANGELOG.md's Unreleased section has no entries"},
		{name: "chore and docs only", commits: []string{"chore: tidy", "docs: explain", "chore(ci): cache"},
			why: "nothing to release since v1.4.0: 3 commits, none releasable (2 chore, 1 docs); CHANGELOG.md's Unreleased section has no entries"},
		{name: "other types ride along", commits: []string{"refactor: x", "fix: y", "test: z"}, next: "1.4.1", bump: shipprod.BumpPatch,
			reasons: []string{"patch fix: y"}},
		{name: "configured type bump", commits: []string{"refactor: x"}, cfg: version.Config{Types: map[string]string{"refactor": "patch"}}, next: "1.4.1", bump: shipprod.BumpPatch},
		{name: "configured type off", commits: []string{"perf: x"}, cfg: version.Config{Types: map[string]string{"perf": "none"}},
			why: "nothing to release since v1.4.0: 1 commit, none releasable (1 perf); CHANGELOG.md's Unreleased section has no entries"},
		{name: "non-conventional commits are ignored", commits: []string{"Update README", "fix: a"}, next: "1.4.1", bump: shipprod.BumpPatch},
		{name: "revert of a commit in the range cancels both", commits: []string{"fix: keep", "feat: add x", "REVERT"}, next: "1.4.1", bump: shipprod.BumpPatch,
			reasons: []string{"patch fix: keep"}},
		{name: "revert of the only feature leaves nothing", commits: []string{"feat: add x", "REVERT"},
			why: "nothing to release since v1.4.0: 2 commits, none releasable (2 reverted); CHANGELOG.md's Unreleased section has no entries"},
		{name: "revert of a released commit is a patch", commits: []string{"REVERT-RELEASED"}, next: "1.4.1", bump: shipprod.BumpPatch},
		{name: "conventional revert with refs cancels", commits: []string{"feat: add y", "REVERT-CC"},
			why: "nothing to release since v1.4.0: 2 commits, none releasable (2 reverted); CHANGELOG.md's Unreleased section has no entries"},
		{name: "Release-As footer", commits: []string{"chore: prepare\n\nRelease-As: 3.0.0"}, next: "3.0.0", bump: shipprod.BumpExact,
			reasons: []string{"exact Release-As: 3.0.0"}},
		{name: "explicit bump", commits: []string{"chore: x"}, cfg: version.Config{Bump: "major"}, next: "2.0.0", bump: shipprod.BumpMajor},
		{name: "explicit version", commits: []string{"chore: x"}, cfg: version.Config{Bump: "1.9.0"}, next: "1.9.0", bump: shipprod.BumpExact},
		{name: "require_conventional", commits: []string{"fix: a", "wip"}, cfg: version.Config{RequireConventional: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := newRepo(t)
			r.write("CHANGELOG.md", "# Changelog\n\n## [Unreleased]\n\n## [1.4.0] - 2024-01-01\n\n- First.\n")
			released := r.commit("feat: initial", "CHANGELOG.md")
			r.tag("v1.4.0")
			var last string
			for _, m := range tt.commits {
				switch m {
				case "REVERT":
					m = "Revert \"feat: add x\"\n\nThis reverts commit " + last + "."
				case "REVERT-RELEASED":
					m = "Revert \"feat: initial\"\n\nThis reverts commit " + released + "."
				case "REVERT-CC":
					m = "revert: add y\n\nRefs: " + last[:10]
				}
				last = r.commit(m)
			}
			d, err := r.versioner(tt.cfg).Decide(context.Background())
			if tt.name == "require_conventional" {
				if err == nil || !strings.Contains(err.Error(), "is not a Conventional Commit") || !strings.Contains(err.Error(), `"wip"`) {
					t.Fatalf("err = %v, want the non-conventional commit named", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.why != "" {
				if !d.NothingToRelease || d.Why != tt.why {
					t.Fatalf("decision = %+v\nwant nothing to release: %q", d, tt.why)
				}
				return
			}
			if d.NothingToRelease || d.Next != tt.next || d.Bump != tt.bump || d.Tag != "v"+tt.next || d.Current != "1.4.0" {
				t.Fatalf("decision: current %s next %s bump %s tag %s (nothing: %v %s); want next %s bump %s",
					d.Current, d.Next, d.Bump, d.Tag, d.NothingToRelease, d.Why, tt.next, tt.bump)
			}
			if tt.reasons != nil && !reflect.DeepEqual(bumps(d.Reasons), tt.reasons) {
				t.Fatalf("reasons = %q, want %q", bumps(d.Reasons), tt.reasons)
			}
		})
	}
}

func TestMergeCommits(t *testing.T) {
	t.Parallel()
	r := newRepo(t)
	r.commit("chore: init")
	r.tag("v1.0.0")
	r.switchNew("feature")
	r.commit("feat: on a branch")
	r.switchTo("main")
	r.commit("docs: meanwhile")
	r.merge("feature", "Merge branch 'feature'")
	d := r.decide(version.Config{})
	if d.Next != "1.1.0" || d.Commits != 3 {
		t.Fatalf("next %s from %d commits, want 1.1.0 from 3", d.Next, d.Commits)
	}

	// Merges alone are not releasable, and are not counted as non-conventional.
	r2 := newRepo(t)
	r2.commit("chore: init")
	r2.tag("v1.0.0")
	r2.switchNew("feature")
	r2.commit("docs: on a branch")
	r2.switchTo("main")
	r2.merge("feature", "Merge branch 'feature'")
	d = r2.decide(version.Config{})
	if want := "nothing to release since v1.0.0: 2 commits, none releasable (1 docs, 1 merge)"; d.Why != want {
		t.Fatalf("why = %q, want %q", d.Why, want)
	}
}

func TestZeroMajorPolicy(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		commits []string
		cfg     version.Config
		next    string
	}{
		{"breaking bumps the minor", []string{"feat!: break"}, version.Config{}, "0.4.0"},
		{"breaking footer bumps the minor", []string{"fix: a\n\nBREAKING CHANGE: b"}, version.Config{}, "0.4.0"},
		{"feature bumps the minor", []string{"feat: a"}, version.Config{}, "0.4.0"},
		{"fix bumps the patch", []string{"fix: a"}, version.Config{}, "0.3.1"},
		{"breaking_in_0x major releases 1.0.0", []string{"feat!: break"}, version.Config{BreakingIn0x: "major"}, "1.0.0"},
		{"feature_in_0x patch", []string{"feat: a"}, version.Config{FeatureIn0x: "patch"}, "0.3.1"},
		{"explicit major releases 1.0.0", []string{"fix: a"}, version.Config{Bump: "major"}, "1.0.0"},
		{"Release-As releases 1.0.0", []string{"feat!: stable API\n\nRelease-As: 1.0.0"}, version.Config{}, "1.0.0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := newRepo(t)
			r.commit("feat: init")
			r.tag("v0.3.0")
			r.commits(tt.commits...)
			d := r.decide(tt.cfg)
			if d.Next != tt.next {
				t.Fatalf("next = %s, want %s (reasons %q)", d.Next, tt.next, bumps(d.Reasons))
			}
		})
	}
	// The reasons say why 1.0.0 was not chosen.
	r := newRepo(t)
	r.commit("feat: init")
	r.tag("v0.3.0")
	r.commit("feat!: break")
	d := r.decide(version.Config{})
	want := []string{"minor feat!: break", "minor 0.x: a breaking change bumps the minor version; release 1.0.0 explicitly (bump: major, or a Release-As: 1.0.0 footer)"}
	if !reflect.DeepEqual(bumps(d.Reasons), want) {
		t.Fatalf("reasons = %q, want %q", bumps(d.Reasons), want)
	}
}

func TestCurrentVersionFromTags(t *testing.T) {
	t.Parallel()
	t.Run("highest reachable SemVer tag, compared as SemVer", func(t *testing.T) {
		t.Parallel()
		r := newRepo(t)
		r.commit("feat: a")
		r.tag("v1.10.0")
		r.commit("fix: b")
		r.tag("v1.9.0") // newer commit, lower version
		r.tag("latest")
		r.tag("v1.20")      // not SemVer
		r.tag("app/v9.0.0") // another prefix
		r.lightTag("v1.11.0-lightweight-not-semver+x_y")
		r.commit("fix: c")
		d := r.decide(version.Config{})
		if d.Current != "1.10.0" || d.CurrentSource != "tag v1.10.0" || d.Next != "1.10.1" {
			t.Fatalf("current %s (%s) next %s, want 1.10.0 from tag v1.10.0, next 1.10.1", d.Current, d.CurrentSource, d.Next)
		}
		// v1.10.0..HEAD: fix b and fix c.
		if d.Commits != 2 {
			t.Fatalf("commits = %d, want 2", d.Commits)
		}
	})
	t.Run("lightweight tags, and a tag on a tree", func(t *testing.T) {
		t.Parallel()
		r := newRepo(t)
		r.commit("feat: a")
		r.lightTag("v1.1.0")
		r.git("tag", "v9.0.0", "HEAD^{tree}")
		r.commit("feat: b")
		d := r.decide(version.Config{})
		if d.Current != "1.1.0" || d.Next != "1.2.0" {
			t.Fatalf("current %s next %s, want 1.1.0 → 1.2.0", d.Current, d.Next)
		}
	})
	t.Run("tags on other branches are ignored", func(t *testing.T) {
		t.Parallel()
		r := newRepo(t)
		r.commit("feat: a")
		r.tag("v1.0.0")
		r.switchNew("next")
		r.commit("feat!: next major")
		r.tag("v2.0.0")
		r.tag("v3.0.0-beta.1")
		r.switchTo("main")
		r.commit("fix: b")
		d := r.decide(version.Config{})
		if d.Current != "1.0.0" || d.Next != "1.0.1" {
			t.Fatalf("current %s next %s, want 1.0.0 → 1.0.1", d.Current, d.Next)
		}
	})
	t.Run("tag prefix for a monorepo package", func(t *testing.T) {
		t.Parallel()
		r := newRepo(t)
		r.commit("feat: a")
		r.tag("v5.0.0")
		r.tag("app/v1.2.0")
		r.commit("feat: b")
		d := r.decide(version.Config{TagPrefix: ptr("app/v")})
		if d.Current != "1.2.0" || d.Next != "1.3.0" || d.Tag != "app/v1.3.0" {
			t.Fatalf("current %s next %s tag %s, want 1.2.0 → 1.3.0 app/v1.3.0", d.Current, d.Next, d.Tag)
		}
	})
	t.Run("empty prefix", func(t *testing.T) {
		t.Parallel()
		r := newRepo(t)
		r.commit("feat: a")
		r.tag("1.2.0")
		r.tag("v7.0.0")
		r.commit("fix: b")
		d := r.decide(version.Config{TagPrefix: ptr("")})
		if d.Current != "1.2.0" || d.Tag != "1.2.1" {
			t.Fatalf("current %s tag %s, want 1.2.0 → tag 1.2.1", d.Current, d.Tag)
		}
	})
	t.Run("a higher tag behind a newer lower one", func(t *testing.T) {
		t.Parallel()
		r := newRepo(t)
		r.commit("feat: a")
		r.tag("v3.0.0")
		r.commit("fix: b")
		r.tag("v2.0.0")
		r.commit("fix: c")
		d := r.decide(version.Config{})
		if d.Current != "3.0.0" || d.Next != "3.0.1" || d.Commits != 2 {
			t.Fatalf("current %s next %s commits %d, want 3.0.0 → 3.0.1 from 2 commits", d.Current, d.Next, d.Commits)
		}
	})
	t.Run("a merged maintenance branch brings its fix", func(t *testing.T) {
		t.Parallel()
		r := newRepo(t)
		r.commit("feat: a")
		r.tag("v1.0.0")
		r.switchNew("release-1.x")
		r.commit("fix: backported")
		r.tag("v1.0.1")
		r.switchTo("main")
		r.commit("feat!: two")
		r.tag("v2.0.0")
		r.commit("docs: x")
		r.merge("release-1.x", "Merge branch 'release-1.x'")
		d := r.decide(version.Config{})
		// v2.0.0..HEAD holds the backported fix, which 2.0.0 lacks.
		if d.Current != "2.0.0" || d.Next != "2.0.1" || d.Commits != 3 {
			t.Fatalf("current %s next %s commits %d, want 2.0.0 → 2.0.1 from 3 commits (%q)", d.Current, d.Next, d.Commits, d.Why)
		}
	})
	t.Run("a higher tag behind a merged branch, among many unmerged higher tags", func(t *testing.T) {
		t.Parallel()
		r := newRepo(t)
		r.commit("feat: a")
		r.tag("v3.0.0")
		r.branch("unmerged")
		r.commit("fix: b")
		r.branch("feature")
		r.commit("fix: c")
		r.tag("v2.0.0")
		r.switchTo("feature")
		r.commit("feat: d")
		r.switchTo("unmerged")
		r.commit("feat: never merged")
		for i := 0; i < 9; i++ {
			r.lightTag("v9." + strconv.Itoa(i) + ".0")
		}
		r.switchTo("main")
		r.commit("docs: e")
		r.merge("feature", "Merge branch 'feature'")
		d := r.decide(version.Config{})
		// v3.0.0..HEAD: b, c, d, e and the merge.
		if d.Current != "3.0.0" || d.Next != "3.1.0" || d.Commits != 5 {
			t.Fatalf("current %s next %s commits %d, want 3.0.0 → 3.1.0 from 5 commits", d.Current, d.Next, d.Commits)
		}
	})
	t.Run("release branch far behind the newest tags", func(t *testing.T) {
		t.Parallel()
		r := newRepo(t)
		r.commit("feat: a")
		r.tag("v1.0.0")
		r.branch("release-1.x")
		r.commit("feat: main line")
		for i := 0; i < 40; i++ { // more tags than the first walk excludes
			r.lightTag("v2." + strconv.Itoa(i) + ".0")
		}
		r.switchTo("release-1.x")
		r.commit("fix: one")
		r.tag("v1.0.1")
		r.commit("fix: two")
		d := r.decide(version.Config{})
		if d.Current != "1.0.1" || d.Next != "1.0.2" || d.Commits != 1 {
			t.Fatalf("current %s next %s commits %d, want 1.0.1 → 1.0.2 from 1 commit", d.Current, d.Next, d.Commits)
		}
	})
	t.Run("HEAD is the tagged commit", func(t *testing.T) {
		t.Parallel()
		r := newRepo(t)
		r.commit("feat: a")
		r.tag("v1.4.0")
		d := r.decide(version.Config{})
		if !d.NothingToRelease || d.Why != "nothing to release since v1.4.0: no commits since the tag" {
			t.Fatalf("decision %+v", d)
		}
		_, err := r.versioner(version.Config{}).NextVersion(context.Background())
		if !errors.Is(err, shipprod.ErrNothingToRelease) || err.Error() != "nothing to release since v1.4.0: no commits since the tag" {
			t.Fatalf("NextVersion err = %v", err)
		}
	})
}

func TestCurrentVersionFallbacks(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		files   map[string]string
		cfg     version.Config
		current string
		source  string
		next    string
		err     string
	}{
		{name: "package.json", files: map[string]string{"package.json": "{\n  \"name\": \"x\",\n  \"version\": \"1.3.0\"\n}\n"},
			current: "1.3.0", source: "package.json:3", next: "1.4.0"},
		{name: "VERSION", files: map[string]string{"VERSION": "0.4.0\n"}, current: "0.4.0", source: "VERSION:1", next: "0.5.0"},
		{name: "CHANGELOG", files: map[string]string{"CHANGELOG.md": "## [Unreleased]\n\n## [0.2.0] - 2024-01-01\n"}, current: "0.2.0", source: "CHANGELOG.md:3", next: "0.3.0"},
		{name: "initial version", current: "", source: "none", next: "0.1.0"},
		{name: "package.json without a version is not a version file by default", files: map[string]string{"package.json": "{\"private\": true}\n"},
			current: "", source: "none", next: "0.1.0"},
		{name: "configured initial version", cfg: version.Config{Initial: "1.0.0"}, source: "none", next: "1.0.0"},
		{name: "current_from order", files: map[string]string{"VERSION": "0.4.0\n", "CHANGELOG.md": "## [Unreleased]\n\n## [0.2.0]\n"},
			cfg: version.Config{CurrentFrom: []string{"changelog", "VERSION"}, Files: []version.File{}}, current: "0.2.0", source: "CHANGELOG.md:3", next: "0.3.0"},
		{name: "disagreeing files", files: map[string]string{"VERSION": "0.4.0\n", "package.json": `{"version": "0.5.0"}`},
			err: "version sources disagree: package.json:1 says 0.5.0 but VERSION:1 says 0.4.0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := newRepo(t)
			var names []string
			for name, content := range tt.files {
				r.write(name, content)
				names = append(names, name)
			}
			r.commit("feat: something", names...)
			d, err := r.versioner(tt.cfg).Decide(context.Background())
			if tt.err != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d.Current != tt.current || d.CurrentSource != tt.source || d.Next != tt.next {
				t.Fatalf("current %q (%s) next %s; want %q (%s) next %s", d.Current, d.CurrentSource, d.Next, tt.current, tt.source, tt.next)
			}
		})
	}
}

func TestSourcesDisagree(t *testing.T) {
	t.Parallel()
	setup := func(t *testing.T) *repo {
		r := newRepo(t)
		r.write("package.json", "{\n  \"version\": \"2.6.0\"\n}\n")
		r.commit("feat: a", "package.json")
		r.tag("v2.5.0")
		r.commit("fix: b")
		return r
	}
	t.Run("refused, naming both", func(t *testing.T) {
		t.Parallel()
		r := setup(t)
		_, err := r.versioner(version.Config{}).Decide(context.Background())
		var me *version.MismatchError
		if !errors.As(err, &me) {
			t.Fatalf("err = %v, want a MismatchError", err)
		}
		want := `version sources disagree: tag v2.5.0 says 2.5.0 but package.json:2 says 2.6.0; fix the wrong one, or set version.trust to "tag" or "package.json" to believe one of them`
		if err.Error() != want {
			t.Fatalf("err = %q\nwant %q", err, want)
		}
	})
	t.Run("trust the tag", func(t *testing.T) {
		t.Parallel()
		d := setup(t).decide(version.Config{Trust: "tag"})
		if d.Current != "2.5.0" || d.Next != "2.5.1" || len(d.Warnings) != 1 {
			t.Fatalf("current %s next %s warnings %q", d.Current, d.Next, d.Warnings)
		}
	})
	t.Run("trust package.json", func(t *testing.T) {
		t.Parallel()
		d := setup(t).decide(version.Config{Trust: "package.json"})
		if d.Current != "2.6.0" || d.Next != "2.6.1" || d.CurrentSource != "package.json:2" {
			t.Fatalf("current %s (%s) next %s", d.Current, d.CurrentSource, d.Next)
		}
	})
}

func TestPrereleases(t *testing.T) {
	t.Parallel()
	r := newRepo(t)
	r.commit("feat: a")
	r.tag("v2.6.3")
	r.commit("feat: new thing")
	rc := version.Config{Prerelease: "rc"}

	d := r.decide(rc)
	if d.Next != "2.7.0-rc.1" || d.Bump != shipprod.BumpPrerelease || d.Tag != "v2.7.0-rc.1" {
		t.Fatalf("first rc: next %s bump %s tag %s", d.Next, d.Bump, d.Tag)
	}
	r.tag("v2.7.0-rc.1")

	d = r.decide(rc)
	if !d.NothingToRelease || d.Why != "nothing to release since v2.7.0-rc.1: no commits since the tag" {
		t.Fatalf("rc without new commits: %+v", d)
	}
	r.commit("chore: tidy")
	d = r.decide(rc)
	if !d.NothingToRelease || d.Why != "nothing to release since v2.7.0-rc.1: 1 commit, none releasable (1 chore)" {
		t.Fatalf("rc after a chore: %+v", d)
	}

	r.commit("fix: rc feedback")
	d = r.decide(rc)
	if d.Next != "2.7.0-rc.2" || d.Current != "2.7.0-rc.1" || d.Stable != "2.6.3" {
		t.Fatalf("second rc: current %s stable %s next %s", d.Current, d.Stable, d.Next)
	}
	r.tag("v2.7.0-rc.2")

	// Promotion needs no new commit.
	d = r.decide(version.Config{})
	if d.Next != "2.7.0" || d.Bump != shipprod.BumpMinor || d.Reasons[0].Text != "promote pre-release 2.7.0-rc.2 to 2.7.0" {
		t.Fatalf("promotion: next %s bump %s reasons %q", d.Next, d.Bump, bumps(d.Reasons))
	}
	// Reasons cover everything since the last stable release.
	if got := bumps(d.Reasons); !reflect.DeepEqual(got, []string{"minor promote pre-release 2.7.0-rc.2 to 2.7.0", "minor feat: new thing", "patch fix: rc feedback"}) {
		t.Fatalf("promotion reasons = %q", got)
	}

	// A breaking change after an rc starts a new major line.
	r.commit("feat!: rework")
	d = r.decide(rc)
	if d.Next != "3.0.0-rc.1" {
		t.Fatalf("after breaking change: next %s, want 3.0.0-rc.1", d.Next)
	}
}

// TestPrereleaseFromFile: a pre-release version read from a file (no tag
// says so) is continued like a tagged one.
func TestPrereleaseFromFile(t *testing.T) {
	t.Parallel()
	r := newRepo(t)
	r.write("VERSION", "2.0.0-beta.1\n")
	r.commit("feat: a", "VERSION")
	r.commit("fix: b")
	d := r.decide(version.Config{Prerelease: "beta"})
	if d.Current != "2.0.0-beta.1" || d.Next != "2.0.0-beta.2" {
		t.Fatalf("current %s next %s, want 2.0.0-beta.1 → 2.0.0-beta.2", d.Current, d.Next)
	}
	if d = r.decide(version.Config{}); d.Next != "2.0.0" {
		t.Fatalf("promotion: next %s, want 2.0.0", d.Next)
	}
}

func TestPrereleaseCounterSeesEveryTag(t *testing.T) {
	t.Parallel()
	r := newRepo(t)
	r.commit("feat: a")
	r.tag("v1.0.0")
	r.switchNew("other")
	r.commit("feat: elsewhere")
	r.tag("v1.1.0-rc.1") // not reachable from main, but the name is taken
	r.switchTo("main")
	r.commit("feat: b")
	d := r.decide(version.Config{Prerelease: "rc"})
	if d.Next != "1.1.0-rc.2" {
		t.Fatalf("next = %s, want 1.1.0-rc.2", d.Next)
	}
}

func TestTagAlreadyExists(t *testing.T) {
	t.Parallel()
	r := newRepo(t)
	r.commit("feat: a")
	r.tag("v1.0.0")
	r.switchNew("other")
	r.commit("feat: b")
	r.tag("v1.1.0")
	r.switchTo("main")
	r.commit("feat: c")
	_, err := r.versioner(version.Config{}).Decide(context.Background())
	if !errors.Is(err, version.ErrTagExists) || !strings.Contains(err.Error(), "v1.1.0") {
		t.Fatalf("err = %v, want ErrTagExists naming v1.1.0", err)
	}
}

func TestShallowClone(t *testing.T) {
	t.Parallel()
	r := newRepo(t)
	r.commit("feat: a")
	r.tag("v1.0.0")
	r.commit("fix: b")
	r.commit("fix: c")
	clone := t.TempDir()
	r.git("clone", "--quiet", "--depth=1", "file://"+r.dir, clone)
	v, err := version.New(version.Config{}, version.Options{Dir: clone})
	if err != nil {
		t.Fatal(err)
	}
	_, err = v.Decide(context.Background())
	if !errors.Is(err, version.ErrShallowClone) || !strings.Contains(err.Error(), "fetch-depth: 0") || !strings.Contains(err.Error(), "git fetch --unshallow --tags") {
		t.Fatalf("err = %v, want ErrShallowClone with the fix", err)
	}
}

func TestDetachedHeadAndBranch(t *testing.T) {
	t.Parallel()
	r := newRepo(t)
	r.commit("feat: a")
	r.tag("v1.0.0")
	r.commit("fix: b")
	r.detach()
	// Deciding works (shipprod version in CI), releasing does not.
	if d := r.decide(version.Config{}); d.Next != "1.0.1" || d.Branch != "" {
		t.Fatalf("detached decide: %+v", d)
	}
	_, err := r.versioner(version.Config{}, func(o *version.Options) { o.Branch = "main" }).NextVersion(context.Background())
	if !errors.Is(err, version.ErrDetachedHead) || !strings.Contains(err.Error(), "git switch main") {
		t.Fatalf("err = %v, want ErrDetachedHead with git switch main", err)
	}
	r.switchNew("feature")
	_, err = r.versioner(version.Config{}, func(o *version.Options) { o.Branch = "main" }).NextVersion(context.Background())
	if err == nil || err.Error() != `HEAD is on branch "feature", but releases are made from "main" (git.branch); check it out first (git switch main)` {
		t.Fatalf("err = %v", err)
	}
}

func TestEmptyRepository(t *testing.T) {
	t.Parallel()
	r := newRepo(t)
	_, err := r.versioner(version.Config{}).Decide(context.Background())
	if !errors.Is(err, version.ErrNoCommits) {
		t.Fatalf("err = %v, want ErrNoCommits", err)
	}
}

func TestChangelogBump(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		unrel  string
		next   string
		reason string
	}{
		{"Added is a minor", "### Added\n- Pagination.\n", "1.5.0", "minor CHANGELOG.md:5 Added: Pagination."},
		{"Changed is a minor", "### Changed\n- Faster.\n", "1.5.0", "minor CHANGELOG.md:5 Changed: Faster."},
		{"Deprecated is a minor", "### Deprecated\n- Old flag.\n", "1.5.0", ""},
		{"Removed is a major", "### Removed\n- Old API.\n", "2.0.0", "major CHANGELOG.md:5 Removed: Old API."},
		{"breaking marker is a major", "### Changed\n- **BREAKING:** config moved.\n", "2.0.0", ""},
		{"Fixed is a patch", "### Fixed\n- Crash.\n", "1.4.1", "patch CHANGELOG.md:5 Fixed: Crash."},
		{"Security is a patch", "### Security\n- CVE.\n", "1.4.1", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := newRepo(t)
			r.write("CHANGELOG.md", "# Changelog\n\n## [Unreleased]\n\n## [1.4.0] - 2024-01-01\n")
			r.commit("chore: init", "CHANGELOG.md")
			r.tag("v1.4.0")
			r.write("CHANGELOG.md", "# Changelog\n\n## [Unreleased]\n"+tt.unrel+"\n## [1.4.0] - 2024-01-01\n")
			r.commit("docs: changelog", "CHANGELOG.md")
			d := r.decide(version.Config{BumpFrom: []string{"changelog"}})
			if d.Next != tt.next {
				t.Fatalf("next = %s, want %s (%+v)", d.Next, tt.next, d)
			}
			if tt.reason != "" {
				got := string(d.Reasons[0].Bump) + " " + d.Reasons[0].Source + " " + d.Reasons[0].Text
				if got != tt.reason {
					t.Fatalf("reason = %q, want %q", got, tt.reason)
				}
			}
		})
	}
}
