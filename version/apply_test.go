package version_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/shipprod/shipprod"
	"github.com/shipprod/shipprod/bench/repogen"
	"github.com/shipprod/shipprod/version"
	"github.com/shipprod/shipprod/version/changelog"
)

const changelogBefore = `# Changelog

## [Unreleased]

### Added
- Pagination for list.

### Fixed
- Crash on empty input.

## [1.4.0] - 2024-01-01

### Added
- First.

[Unreleased]: https://github.com/acme/app/compare/v1.4.0...HEAD
[1.4.0]: https://github.com/acme/app/releases/tag/v1.4.0
`

// project makes a repository released as v1.4.0 with every kind of version
// file, then a feature and a fix.
func project(t *testing.T) (*repo, version.Config) {
	r := newRepo(t)
	r.write("package.json", "{\n  \"name\": \"app\",\n  \"version\": \"1.4.0\"\n}\n")
	r.write("package-lock.json", "{\n  \"name\": \"app\",\n  \"version\": \"1.4.0\",\n  \"lockfileVersion\": 3,\n  \"packages\": {\n    \"\": {\n      \"version\": \"1.4.0\"\n    }\n  }\n}\n")
	r.write("VERSION", "1.4.0\n")
	r.write("internal/version/version.go", "package version\n\nconst Version = \"1.4.0\"\n")
	r.write("chart/Chart.yaml", "apiVersion: v2\nappVersion: 1.4.0\n")
	r.write("CHANGELOG.md", changelogBefore)
	r.commit("chore: init", "package.json", "package-lock.json", "VERSION", "internal/version/version.go", "chart/Chart.yaml", "CHANGELOG.md")
	r.tag("v1.4.0")
	r.commit("feat(list): add pagination")
	r.commit("fix: crash on empty input")
	cfg := version.Config{Files: []version.File{
		{Path: "package.json"},
		{Path: "VERSION"},
		{Path: "internal/version/version.go"},
		{Path: "chart/Chart.yaml", Pattern: `^appVersion: (?P<version>\S+)$`},
	}}
	return r, cfg
}

func TestApplyVersion(t *testing.T) {
	t.Parallel()
	r, cfg := project(t)
	tagCommit := r.git("rev-parse", "v1.4.0^{commit}")
	goFile := filepath.Join(r.dir, "internal/version/version.go")
	if err := os.Chmod(goFile, 0o640); err != nil { // git ignores this; the write must keep it
		t.Fatal(err)
	}
	v := r.versioner(cfg, func(o *version.Options) { o.Branch, o.Remote = "main", "origin" })
	ctx := context.Background()

	rel, err := v.NextVersion(ctx)
	if err != nil {
		t.Fatal(err)
	}
	wantFiles := []string{"package.json", "package-lock.json", "VERSION", "internal/version/version.go", "chart/Chart.yaml", "CHANGELOG.md"}
	if rel.Version != "1.5.0" || rel.PreviousVersion != "1.4.0" || rel.Tag != "v1.5.0" || rel.PreviousTag != "v1.4.0" ||
		rel.PreviousCommit != tagCommit || rel.Bump != shipprod.BumpMinor || rel.Branch != "main" || !reflect.DeepEqual(rel.Files, wantFiles) {
		t.Fatalf("NextVersion = %+v", rel)
	}
	wantNotes := "### Added\n- Pagination for list.\n\n### Fixed\n- Crash on empty input."
	if rel.Notes != wantNotes {
		t.Fatalf("notes before apply = %q, want %q", rel.Notes, wantNotes)
	}
	if got := bumps(rel.Reasons); !reflect.DeepEqual(got, []string{
		"minor feat(list): add pagination", "patch fix: crash on empty input",
		"minor Added: Pagination for list.", "patch Fixed: Crash on empty input."}) {
		t.Fatalf("reasons = %q", got)
	}

	planned, err := v.PlanActions(ctx, rel)
	if err != nil {
		t.Fatal(err)
	}
	applied, err := v.ApplyVersion(ctx, rel)
	if err != nil {
		t.Fatal(err)
	}
	if applied.Commit != r.head() || applied.Commit == tagCommit || applied.Notes != wantNotes || !reflect.DeepEqual(applied.Files, wantFiles) || applied.Remote != "origin" {
		t.Fatalf("ApplyVersion = %+v (HEAD %s)", applied, r.head())
	}
	// The commit holds exactly the changed files, with the default message.
	if msg := r.git("log", "-1", "--format=%B"); msg != "chore(release): v1.5.0" {
		t.Fatalf("bump commit message %q", msg)
	}
	if got := r.git("show", "--format=", "--name-only", "HEAD"); got != "CHANGELOG.md\nVERSION\nchart/Chart.yaml\ninternal/version/version.go\npackage-lock.json\npackage.json" {
		t.Fatalf("bump commit files:\n%s", got)
	}
	if info, err := os.Stat(goFile); err != nil || info.Mode().Perm() != 0o640 {
		t.Fatalf("mode of version.go after the bump: %v, %v; want 0640 kept", info.Mode(), err)
	}
	if st := r.git("status", "--porcelain"); st != "" {
		t.Fatalf("working tree not clean after the bump: %s", st)
	}
	for path, want := range map[string]string{
		"package.json":                "{\n  \"name\": \"app\",\n  \"version\": \"1.5.0\"\n}\n",
		"package-lock.json":           "{\n  \"name\": \"app\",\n  \"version\": \"1.5.0\",\n  \"lockfileVersion\": 3,\n  \"packages\": {\n    \"\": {\n      \"version\": \"1.5.0\"\n    }\n  }\n}\n",
		"VERSION":                     "1.5.0\n",
		"internal/version/version.go": "package version\n\nconst Version = \"1.5.0\"\n",
		"chart/Chart.yaml":            "apiVersion: v2\nappVersion: 1.5.0\n",
		"CHANGELOG.md": `# Changelog

## [Unreleased]

## [1.5.0] - 2024-06-01

### Added
- Pagination for list.

### Fixed
- Crash on empty input.

## [1.4.0] - 2024-01-01

### Added
- First.

[Unreleased]: https://github.com/acme/app/compare/v1.5.0...HEAD
[1.5.0]: https://github.com/acme/app/compare/v1.4.0...v1.5.0
[1.4.0]: https://github.com/acme/app/releases/tag/v1.4.0
`,
	} {
		if got := r.read(path); got != want {
			t.Errorf("%s:\n%s\nwant:\n%s", path, got, want)
		}
	}

	// The actions planned before match the files written, in order.
	var kinds []string
	for _, a := range planned {
		kinds = append(kinds, string(a.Kind)+" "+a.Target)
	}
	want := []string{"write-file package.json", "write-file package-lock.json", "write-file VERSION", "write-file internal/version/version.go",
		"write-file chart/Chart.yaml", "write-file CHANGELOG.md", "commit main"}
	if !reflect.DeepEqual(kinds, want) {
		t.Fatalf("planned actions %q, want %q", kinds, want)
	}
	if planned[0].Description != "set version 1.5.0 in package.json (was 1.4.0)" ||
		planned[5].Description != "release CHANGELOG.md's Unreleased section as 1.5.0 and update its compare links" ||
		planned[6].Description != `commit package.json, package-lock.json, VERSION, internal/version/version.go, chart/Chart.yaml, CHANGELOG.md on main: "chore(release): v1.5.0"` {
		t.Fatalf("descriptions: %q / %q / %q", planned[0].Description, planned[5].Description, planned[6].Description)
	}

	// Applying the same release again (a resumed run) plans and changes nothing.
	if acts, err := v.PlanActions(ctx, rel); err != nil || len(acts) != 0 {
		t.Fatalf("PlanActions after the bump = %+v, %v; want none", acts, err)
	}
	again, err := v.ApplyVersion(ctx, rel)
	if err != nil {
		t.Fatal(err)
	}
	if again.Commit != applied.Commit || r.head() != applied.Commit {
		t.Fatalf("resumed apply made commit %s, want %s", again.Commit, applied.Commit)
	}
}

// TestPlanMatchesRun runs the Pipeline: the version step's actions in Plan
// and in Run are identical, and Run makes exactly that commit.
func TestPlanMatchesRun(t *testing.T) {
	t.Parallel()
	r, cfg := project(t)
	v := r.versioner(cfg)
	p := &shipprod.Pipeline{Versioner: v}
	ctx := context.Background()
	plan, err := p.Plan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	before := r.head()
	res, err := p.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var planned []shipprod.Action
	for _, s := range plan.Steps {
		if s.Step == shipprod.StepVersion {
			planned = s.Actions
		}
	}
	rec, ok := res.Step(shipprod.StepVersion)
	if !ok || len(planned) == 0 || !reflect.DeepEqual(planned, rec.Actions) {
		t.Fatalf("plan actions %+v\nrun actions %+v", planned, rec.Actions)
	}
	if res.Release.Version != "1.5.0" || res.Release.Commit == before || res.Release.Commit != r.head() {
		t.Fatalf("run release %+v", res.Release)
	}
	if plan.Release.Reasons == nil || plan.Release.Notes == "" {
		t.Fatalf("the plan's release lacks reasons or notes: %+v", plan.Release)
	}
}

func TestPipelineNothingToRelease(t *testing.T) {
	t.Parallel()
	r := newRepo(t)
	r.commit("feat: a")
	r.tag("v1.4.0")
	r.commits("chore: a", "docs: b", "chore: c")
	res, err := (&shipprod.Pipeline{Versioner: r.versioner(version.Config{})}).Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	rec, _ := res.Step(shipprod.StepVersion)
	if res.Outcome != shipprod.OutcomeNothingToRelease || rec.Reason != "nothing to release since v1.4.0: 3 commits, none releasable (2 chore, 1 docs)" {
		t.Fatalf("outcome %s, version step %+v", res.Outcome, rec)
	}
	if res.Release.PreviousVersion != "1.4.0" || res.Release.Version != "" {
		t.Fatalf("release %+v", res.Release)
	}
}

func TestRemoteCredentialsAreMasked(t *testing.T) {
	t.Parallel()
	r, cfg := project(t)
	v := r.versioner(cfg, func(o *version.Options) { o.Remote = "https://bot:s3cr3t-token@github.com/acme/app.git" })
	rel, err := v.NextVersion(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	applied, err := v.ApplyVersion(context.Background(), rel)
	if err != nil {
		t.Fatal(err)
	}
	for _, got := range []string{rel.Remote, applied.Remote} {
		if got != "https://***@github.com/acme/app.git" {
			t.Fatalf("Remote = %q, want the credentials masked", got)
		}
	}
}

func TestDirtyTreeIsRefused(t *testing.T) {
	t.Parallel()
	r, cfg := project(t)
	v := r.versioner(cfg)
	rel, err := v.NextVersion(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	r.write("VERSION", "1.4.0 \n")
	r.write("notes.txt", "scratch\n")
	before := r.snapshot()
	_, err = v.ApplyVersion(context.Background(), rel)
	var de *version.DirtyTreeError
	if !errors.As(err, &de) || !reflect.DeepEqual(de.Paths, []string{"VERSION"}) ||
		!strings.HasPrefix(err.Error(), "the working tree has uncommitted changes: VERSION;") {
		t.Fatalf("err = %v, want a DirtyTreeError naming VERSION (and not the untracked notes.txt)", err)
	}
	if r.snapshot() != before {
		t.Fatal("the refused apply changed the repository")
	}
}

// Untracked files (the previous ship report, scratch notes) do not block a
// release and do not get into its commit.
func TestUntrackedFilesAreLeftAlone(t *testing.T) {
	t.Parallel()
	r, cfg := project(t)
	v := r.versioner(cfg)
	rel, err := v.NextVersion(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	r.write("production-ship-report.md", "the last release\n")
	applied, err := v.ApplyVersion(context.Background(), rel)
	if err != nil {
		t.Fatal(err)
	}
	files := strings.Fields(r.git("show", "--name-only", "--format=", applied.Commit))
	if slices.Contains(files, "production-ship-report.md") {
		t.Fatalf("the release commit took the untracked file: %v", files)
	}
	if got := r.git("status", "--porcelain", "--untracked-files=all"); got != "?? production-ship-report.md" {
		t.Fatalf("status after the release = %q, want only the untracked report", got)
	}
}

// TestAllOrNothing makes the third file impossible to replace: the first
// two get their old content back and nothing is committed.
func TestAllOrNothing(t *testing.T) {
	t.Parallel()
	r, cfg := project(t)
	v := r.versioner(cfg)
	rel, err := v.NextVersion(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	third := filepath.Join(r.dir, "VERSION")
	if out, err := exec.Command("chattr", "+i", third).CombinedOutput(); err != nil {
		t.Skipf("needs chattr +i (root on a filesystem with immutable files) to make a rename fail: %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("chattr", "-i", third).Run() })
	before := r.snapshot()
	_, err = v.ApplyVersion(context.Background(), rel)
	if err == nil || !strings.HasPrefix(err.Error(), "writing version 1.5.0 (no file was changed): write ") || !strings.Contains(err.Error(), "VERSION") {
		t.Fatalf("err = %v, want the VERSION write failure", err)
	}
	t.Log(err)
	if r.snapshot() != before {
		t.Fatalf("a failed apply left changes:\n%s", r.git("status", "--porcelain"))
	}
}

func TestCommitFailureRestoresFiles(t *testing.T) {
	t.Parallel()
	r, cfg := project(t)
	hook := filepath.Join(r.dir, ".git", "hooks", "pre-commit")
	if err := os.WriteFile(hook, []byte("#!/bin/sh\necho 'refused by policy' >&2\nexit 1\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	v := r.versioner(cfg)
	rel, err := v.NextVersion(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	before := r.snapshot()
	_, err = v.ApplyVersion(context.Background(), rel)
	if err == nil || !strings.Contains(err.Error(), "the files were restored") || !strings.Contains(err.Error(), "refused by policy") {
		t.Fatalf("err = %v", err)
	}
	if r.snapshot() != before {
		t.Fatalf("files not restored:\n%s", r.git("status", "--porcelain"))
	}
}

// TestBadChangelogAndTags: each bad input gets a clear message naming the
// file, line and value, and nothing is modified.
func TestBadChangelogAndTags(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		setup func(r *repo)
		err   string
		is    error
	}{
		{
			name: "CHANGELOG without an Unreleased section",
			setup: func(r *repo) {
				r.write("CHANGELOG.md", "# Changelog\n\n## [1.4.0] - 2024-01-01\n")
				r.commit("docs: changelog", "CHANGELOG.md")
			},
			err: `CHANGELOG.md: no "## [Unreleased]" section: add "## [Unreleased]" above "## [1.4.0] - 2024-01-01" at line 3`,
			is:  changelog.ErrNoUnreleased,
		},
		{
			name: "CHANGELOG with the target version already released",
			setup: func(r *repo) {
				r.write("CHANGELOG.md", "## [Unreleased]\n\n## [1.5.0] - 2024-02-01\n\n## [1.4.0] - 2024-01-01\n")
				r.commit("docs: changelog", "CHANGELOG.md")
				r.write("CHANGELOG.md", "## [Unreleased]\n\n## [1.4.0] - 2024-01-01\n\n## [1.5.0] - 2024-02-01\n")
				r.commit("docs: reorder", "CHANGELOG.md")
			},
			err: `CHANGELOG.md:5: version already released: "## [1.5.0] - 2024-02-01"`,
			is:  changelog.ErrAlreadyReleased,
		},
		{
			name: "CHANGELOG latest version is not SemVer",
			setup: func(r *repo) {
				r.write("CHANGELOG.md", "## [Unreleased]\n\n## [1.4] - 2024-01-01\n")
				r.commit("docs: changelog", "CHANGELOG.md")
			},
			err: `CHANGELOG.md:3: version "1.4" in heading "## [1.4] - 2024-01-01" is not a valid semantic version`,
		},
		{
			name: "two Unreleased sections",
			setup: func(r *repo) {
				r.write("CHANGELOG.md", "## [Unreleased]\n\n## Unreleased\n")
				r.commit("docs: changelog", "CHANGELOG.md")
			},
			err: "CHANGELOG.md:3: a second Unreleased section (the first is at line 1)",
		},
		{
			name: "target tag already exists",
			setup: func(r *repo) {
				r.branchAt("hotfix", "v1.4.0")
				r.switchTo("hotfix")
				r.commit("fix: on another branch")
				r.tag("v1.5.0")
				r.switchTo("main")
			},
			err: "tag already exists: v1.5.0",
			is:  version.ErrTagExists,
		},
		{
			name:  "no commits since the last tag",
			setup: func(r *repo) { r.branchAt("main", "v1.4.0") }, // git reset --hard v1.4.0
			err:   "nothing to release since v1.4.0: no commits since the tag",
			is:    shipprod.ErrNothingToRelease,
		},
		{
			name:  "detached HEAD",
			setup: func(r *repo) { r.detach() },
			err:   "HEAD is detached at ",
			is:    version.ErrDetachedHead,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := newRepo(t)
			r.commit("feat: init")
			r.tag("v1.4.0")
			r.commit("feat: more")
			tt.setup(r)
			before := r.snapshot()
			v := r.versioner(version.Config{})
			_, err := v.NextVersion(context.Background())
			if err == nil || !strings.HasPrefix(err.Error(), tt.err) || tt.is != nil && !errors.Is(err, tt.is) {
				t.Fatalf("err = %v\nwant prefix %q", err, tt.err)
			}
			if r.snapshot() != before {
				t.Fatal("the failed decision changed the repository")
			}
		})
	}
}

func TestApplyRefusesExistingTag(t *testing.T) {
	t.Parallel()
	r, cfg := project(t)
	v := r.versioner(cfg)
	rel, err := v.NextVersion(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	r.git("tag", "v1.5.0") // someone tagged meanwhile
	before := r.snapshot()
	if _, err := v.ApplyVersion(context.Background(), rel); !errors.Is(err, version.ErrTagExists) {
		t.Fatalf("err = %v, want ErrTagExists", err)
	}
	if r.snapshot() != before {
		t.Fatal("the refused apply changed the repository")
	}
}

func TestGenerateChangelog(t *testing.T) {
	t.Parallel()
	r := newRepo(t)
	r.write("CHANGELOG.md", "# Changelog\n\n## [Unreleased]\n\n## [1.4.0] - 2024-01-01\n")
	r.commit("chore: init", "CHANGELOG.md")
	r.tag("v1.4.0")
	fix := r.commit("fix(parser): handle tabs")
	feat := r.commit("feat: export to CSV")
	r.commit("docs: readme")
	brk := r.commit("refactor(api)!: rename Client.Do\n\nBREAKING CHANGE: use Client.Send")
	v := r.versioner(version.Config{GenerateChangelog: true, CommitMessage: "release: {version} (was {previous_version})"})
	rel, err := v.NextVersion(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	wantNotes := "### Added\n\n- export to CSV (" + feat[:7] + ")\n\n### Changed\n\n- **BREAKING:** **api:** rename Client.Do: use Client.Send (" + brk[:7] + ")\n\n### Fixed\n\n- **parser:** handle tabs (" + fix[:7] + ")"
	if rel.Version != "2.0.0" || rel.Notes != wantNotes {
		t.Fatalf("version %s notes:\n%s\nwant:\n%s", rel.Version, rel.Notes, wantNotes)
	}
	applied, err := v.ApplyVersion(context.Background(), rel)
	if err != nil {
		t.Fatal(err)
	}
	want := "# Changelog\n\n## [Unreleased]\n\n## [2.0.0] - 2024-06-01\n\n" + wantNotes + "\n\n## [1.4.0] - 2024-01-01\n"
	if got := r.read("CHANGELOG.md"); got != want {
		t.Fatalf("CHANGELOG:\n%s\nwant:\n%s", got, want)
	}
	if applied.Notes != wantNotes {
		t.Fatalf("notes after apply = %q", applied.Notes)
	}
	if msg := r.git("log", "-1", "--format=%s"); msg != "release: 2.0.0 (was 1.4.0)" {
		t.Fatalf("commit message %q", msg)
	}
}

func TestPrereleaseLeavesChangelog(t *testing.T) {
	t.Parallel()
	r := newRepo(t)
	r.write("package.json", "{\"version\": \"2.6.3\"}\n")
	r.write("CHANGELOG.md", "## [Unreleased]\n### Added\n- Thing.\n\n## [2.6.3] - 2024-01-01\n")
	r.commit("chore: init", "package.json", "CHANGELOG.md")
	r.tag("v2.6.3")
	r.commit("feat: thing")
	v := r.versioner(version.Config{Prerelease: "rc"})
	rel, err := v.NextVersion(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	applied, err := v.ApplyVersion(context.Background(), rel)
	if err != nil {
		t.Fatal(err)
	}
	if applied.Version != "2.7.0-rc.1" || !reflect.DeepEqual(applied.Files, []string{"package.json"}) || applied.Notes != "### Added\n- Thing." {
		t.Fatalf("applied %+v", applied)
	}
	if got := r.read("CHANGELOG.md"); !strings.HasPrefix(got, "## [Unreleased]\n### Added\n- Thing.") {
		t.Fatalf("a pre-release touched the CHANGELOG:\n%s", got)
	}
	r.tag("v2.7.0-rc.1")
	// Promotion releases the CHANGELOG and writes the final version.
	v = r.versioner(version.Config{})
	rel, err = v.NextVersion(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if rel.Version != "2.7.0" || rel.PreviousVersion != "2.7.0-rc.1" || !reflect.DeepEqual(rel.Files, []string{"package.json", "CHANGELOG.md"}) {
		t.Fatalf("promotion %+v", rel)
	}
}

func TestDecisionText(t *testing.T) {
	t.Parallel()
	r, cfg := project(t)
	d := r.decide(cfg)
	var b strings.Builder
	if err := d.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(b.String(), "\n")
	wantPrefixes := []string{
		"current  1.4.0 (tag v1.4.0)",
		"next     1.5.0 (tag v1.5.0)",
		"bump     minor, from 2 commits",
		"reasons  minor       commit ",
		"         patch       commit ",
		"         minor       CHANGELOG.md:6  Added: Pagination for list.",
		"         patch       CHANGELOG.md:9  Fixed: Crash on empty input.",
		"files    package.json, package-lock.json, VERSION, internal/version/version.go, chart/Chart.yaml, CHANGELOG.md",
	}
	for i, p := range wantPrefixes {
		if i >= len(lines) || !strings.HasPrefix(lines[i], p) {
			t.Fatalf("line %d = %q, want prefix %q\n%s", i, lines[i], p, b.String())
		}
	}
	if !strings.HasSuffix(lines[3], "feat(list): add pagination") {
		t.Fatalf("reason line %q", lines[3])
	}
}

// TestGeneratedNotesAreBounded: a release of thousands of commits gets the
// newest thousand entries and a line counting the rest.
func TestGeneratedNotesAreBounded(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("generates a history of 3,000 commits; skipped with -short")
	}
	dir := filepath.Join(t.TempDir(), "repo")
	info, err := repogen.Generate(context.Background(), dir, repogen.Options{OldTags: 3, Commits: 3000})
	if err != nil {
		t.Fatal(err)
	}
	v, err := version.New(version.Config{Changelog: "-"}, version.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	d, err := v.Decide(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	releasable := info.Counts["feat"] + info.Counts["fix"] + info.Counts["perf"] // plus breaking commits of other types
	items := strings.Count(d.Notes, "\n- ")                                      // every item starts a line below a group heading
	if items != 1001 || !strings.Contains(d.Notes, "- … and ") || releasable < 1000 {
		t.Fatalf("%d items for %d releasable commits; notes end %q", items, releasable, d.Notes[max(0, len(d.Notes)-200):])
	}
}

// A release that stopped after its bump commit (the tag push was refused)
// is decided again as the same version, and applying it changes nothing, so
// the next run goes on from the tag. Without the tag, the version files and
// the last tag disagree, which would otherwise be an error.
func TestPendingReleaseIsDecidedAgain(t *testing.T) {
	t.Parallel()
	r, cfg := project(t)
	v := r.versioner(cfg)
	rel, err := v.NextVersion(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	applied, err := v.ApplyVersion(context.Background(), rel)
	if err != nil {
		t.Fatal(err)
	}

	d := r.decide(cfg)
	if d.Current != "1.4.0" || d.Next != "1.5.0" || d.Tag != "v1.5.0" || d.Bump != shipprod.BumpMinor {
		t.Fatalf("decision = current %q next %q tag %q bump %q, want 1.4.0 → 1.5.0 (minor)", d.Current, d.Next, d.Tag, d.Bump)
	}
	if len(d.Reasons) != 1 || !strings.Contains(d.Reasons[0].Text, "not tagged yet") {
		t.Fatalf("reasons = %+v, want the pending release explained", d.Reasons)
	}
	if !strings.Contains(d.Notes, "### Added\n- Pagination for list.") {
		t.Fatalf("notes = %q, want the released CHANGELOG section", d.Notes)
	}
	again, err := v.NextVersion(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	before := r.snapshot()
	reapplied, err := v.ApplyVersion(context.Background(), again)
	if err != nil {
		t.Fatal(err)
	}
	if reapplied.Commit != applied.Commit || r.snapshot() != before {
		t.Fatalf("applying the pending release again changed the repository (commit %s, was %s)", reapplied.Commit, applied.Commit)
	}

	// Once a commit lands on top, HEAD is no longer the bump commit: the
	// missing tag is a disagreement to settle, not a release to resume.
	r.commit("fix: another")
	if _, err := v.Decide(context.Background()); err == nil {
		t.Fatal("Decide with an untagged release below HEAD succeeded; want the sources' disagreement")
	}
}

// A plan must not list writes that ApplyVersion would refuse.
func TestPlanActionsRefuseADirtyTree(t *testing.T) {
	t.Parallel()
	r, cfg := project(t)
	v := r.versioner(cfg)
	rel, err := v.NextVersion(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	r.write("VERSION", "9.9.9\n")
	_, err = v.PlanActions(context.Background(), rel)
	var de *version.DirtyTreeError
	if !errors.As(err, &de) || !reflect.DeepEqual(de.Paths, []string{"VERSION"}) {
		t.Fatalf("PlanActions on a dirty tree = %v, want a DirtyTreeError naming VERSION", err)
	}
}

// A changelog named in the configuration must exist: leaving it out of a
// release silently would lose the release notes.
func TestConfiguredChangelogMustExist(t *testing.T) {
	t.Parallel()
	r, cfg := project(t)
	cfg.Changelog = "docs/CHANGES.md"
	_, err := r.versioner(cfg).Decide(context.Background())
	var fe *version.FileError
	if !errors.As(err, &fe) || fe.Path != "docs/CHANGES.md" || !strings.Contains(err.Error(), `set it to "-" for none`) {
		t.Fatalf("Decide = %v, want a FileError naming docs/CHANGES.md", err)
	}
}
