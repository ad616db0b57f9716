// Package repogen generates large git repositories for benchmarks: many
// Conventional Commits since the last release tag, on top of a long history
// of older release tags. It streams the history into `git fast-import`, so
// 100,000 commits take seconds and the generator holds none of them in
// memory.
package repogen

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Options size the generated repository. The zero value of a field means
// its default.
type Options struct {
	// OldTags is the number of release tags before the last one (default 5,000).
	OldTags int
	// CommitsPerTag is the number of commits between two old tags (default 2).
	CommitsPerTag int
	// Commits is the number of Conventional Commits after the last tag
	// (default 100,000).
	Commits int
	// TagPrefix prefixes every release tag (default "v").
	TagPrefix string
	// Seed makes the commit messages reproducible (default 1).
	Seed uint64
}

func (o Options) withDefaults() Options {
	if o.OldTags == 0 {
		o.OldTags = 5000
	}
	if o.CommitsPerTag == 0 {
		o.CommitsPerTag = 2
	}
	if o.Commits == 0 {
		o.Commits = 100000
	}
	if o.TagPrefix == "" {
		o.TagPrefix = "v"
	}
	if o.Seed == 0 {
		o.Seed = 1
	}
	return o
}

// Info describes a generated repository.
type Info struct {
	Dir string
	// LastTag is the highest release tag reachable from HEAD, LastVersion its
	// version.
	LastTag     string
	LastVersion string
	// Tags is the number of release tags reachable from HEAD.
	Tags int
	// Commits is the number of commits since LastTag.
	Commits int
	// Counts is the number of commits since LastTag by type ("feat", …);
	// Breaking counts the breaking ones among them.
	Counts   map[string]int
	Breaking int
}

// Env is the environment git runs with in the generator, independent of the
// machine's git configuration.
func Env() []string {
	return append(os.Environ(),
		"GIT_CONFIG_GLOBAL=/dev/null",
		"GIT_CONFIG_NOSYSTEM=1",
		"GIT_AUTHOR_NAME=Bench", "GIT_AUTHOR_EMAIL=bench@example.com",
		"GIT_COMMITTER_NAME=Bench", "GIT_COMMITTER_EMAIL=bench@example.com",
		"GIT_TERMINAL_PROMPT=0",
	)
}

// Generate creates a repository in dir (which must not exist or be empty)
// with opts.OldTags annotated release tags and opts.Commits Conventional
// Commits after the last one, on branch main, with a checked-out working
// tree holding package.json and CHANGELOG.md at the last version. A few
// decoy tags must be ignored by a correct version resolver: "latest", a
// non-SemVer "v1.2", a tag with another prefix and a higher tag on a branch
// that is not merged.
func Generate(ctx context.Context, dir string, opts Options) (Info, error) {
	o := opts.withDefaults()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return Info{}, err
	}
	if err := run(ctx, dir, nil, "init", "--quiet", "--initial-branch=main"); err != nil {
		return Info{}, err
	}
	cmd := exec.CommandContext(ctx, "git", "fast-import", "--quiet", "--done")
	cmd.Dir = dir
	cmd.Env = Env()
	var stderr strings.Builder
	cmd.Stderr = &stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return Info{}, err
	}
	if err := cmd.Start(); err != nil {
		return Info{}, err
	}
	w := bufio.NewWriterSize(stdin, 1<<20)
	info, genErr := stream(w, o)
	if genErr == nil {
		genErr = w.Flush()
	}
	stdin.Close()
	if err := cmd.Wait(); err != nil {
		return Info{}, fmt.Errorf("git fast-import: %v: %s", err, stderr.String())
	}
	if genErr != nil {
		return Info{}, genErr
	}
	if err := run(ctx, dir, nil, "reset", "--quiet", "--hard", "main"); err != nil {
		return Info{}, err
	}
	info.Dir = dir
	return info, nil
}

// stream writes the fast-import stream.
func stream(w io.Writer, o Options) (Info, error) {
	rng := rand.New(rand.NewPCG(o.Seed, o.Seed^0x5eed))
	g := &gen{w: w, when: 1_600_000_000}
	info := Info{Counts: map[string]int{}}

	version := func(i int) string { // strictly increasing with i
		return fmt.Sprintf("%d.%d.%d", 1+i/1000, (i/10)%100, i%10)
	}
	// Old history: CommitsPerTag commits, then a tag, OldTags times.
	for i := 0; i < o.OldTags; i++ {
		for j := 0; j < o.CommitsPerTag; j++ {
			msg, _, _ := message(rng)
			g.commit("refs/heads/main", msg, nil)
		}
		g.tag(o.TagPrefix+version(i), g.mark)
	}
	info.LastVersion = version(o.OldTags - 1)
	info.LastTag = o.TagPrefix + info.LastVersion
	info.Tags = o.OldTags
	tagged := g.mark

	// Decoys: a higher tag on a branch that is never merged, a non-SemVer
	// tag, a two-part version and a tag with another prefix.
	g.commit("refs/heads/unmerged", "feat: work on a branch that is never merged", nil)
	g.tag(o.TagPrefix+"999.0.0", g.mark)
	g.tag("latest", tagged)
	g.tag(o.TagPrefix+"1000.0", tagged)
	g.tag("app/"+o.TagPrefix+"1000.0.0", tagged)

	// The commits since the last tag. The last one writes the files a
	// release touches.
	for i := 0; i < o.Commits; i++ {
		msg, typ, breaking := message(rng)
		var files map[string]string
		if i == o.Commits-1 {
			files = map[string]string{
				"package.json": fmt.Sprintf("{\n  \"name\": \"bench\",\n  \"version\": %q,\n  \"private\": true\n}\n", info.LastVersion),
				"CHANGELOG.md": fmt.Sprintf("# Changelog\n\n## [Unreleased]\n\n### Added\n- Everything in %d commits.\n\n## [%s] - 2020-09-13\n\n### Fixed\n- Older things.\n", o.Commits, info.LastVersion),
			}
		}
		g.commit("refs/heads/main", msg, files)
		info.Counts[typ]++
		if breaking {
			info.Breaking++
		}
	}
	info.Commits = o.Commits
	_, err := io.WriteString(w, "done\n")
	if err == nil {
		err = g.err
	}
	return info, err
}

type gen struct {
	w    io.Writer
	mark int
	tips map[string]int // branch tip marks
	when int64
	err  error
}

func (g *gen) printf(format string, args ...any) {
	if g.err == nil {
		_, g.err = fmt.Fprintf(g.w, format, args...)
	}
}

func (g *gen) data(s string) {
	g.printf("data %d\n%s\n", len(s), s)
}

// commit adds a commit on ref with msg, changing one small file (and files).
func (g *gen) commit(ref, msg string, files map[string]string) {
	if g.tips == nil {
		g.tips = map[string]int{}
	}
	parent := g.tips[ref]
	if parent == 0 && ref != "refs/heads/main" { // a new branch starts at main
		parent = g.tips["refs/heads/main"]
	}
	g.mark++
	g.when++
	g.printf("commit %s\nmark :%d\n", ref, g.mark)
	g.printf("author Bench <bench@example.com> %d +0000\n", g.when)
	g.printf("committer Bench <bench@example.com> %d +0000\n", g.when)
	g.data(msg)
	if parent != 0 {
		g.printf("from :%d\n", parent)
	}
	g.printf("M 100644 inline src/file%d.txt\n", g.mark%16)
	g.data(fmt.Sprintf("change %d\n", g.mark))
	for _, name := range []string{"package.json", "CHANGELOG.md"} {
		if content, ok := files[name]; ok {
			g.printf("M 100644 inline %s\n", name)
			g.data(content)
		}
	}
	g.tips[ref] = g.mark
}

// tag adds an annotated tag name on the commit with mark.
func (g *gen) tag(name string, mark int) {
	g.when++
	g.printf("tag %s\nfrom :%d\n", name, mark)
	g.printf("tagger Bench <bench@example.com> %d +0000\n", g.when)
	g.data("Release " + name)
}

var (
	types = []struct {
		name   string
		weight int
	}{{"feat", 20}, {"fix", 30}, {"chore", 15}, {"docs", 10}, {"refactor", 10}, {"test", 5}, {"perf", 5}, {"ci", 5}}
	scopes = []string{"", "", "api", "cli", "parser", "deps", "ui", "core"}
	words  = strings.Fields("add remove handle support parse render cache retry validate config token request response buffer stream index query user session limit timeout error path file option flag")
)

// message returns a random Conventional Commit message, its type and
// whether it is breaking (about 1 in 20,000).
func message(rng *rand.Rand) (msg, typ string, breaking bool) {
	n := rng.IntN(100)
	for _, t := range types {
		if n < t.weight {
			typ = t.name
			break
		}
		n -= t.weight
	}
	var b strings.Builder
	b.WriteString(typ)
	if s := scopes[rng.IntN(len(scopes))]; s != "" {
		b.WriteString("(" + s + ")")
	}
	breaking = rng.IntN(20000) == 0
	if breaking {
		b.WriteString("!")
	}
	b.WriteString(": ")
	b.WriteString(sentence(rng, 3+rng.IntN(6)))
	if rng.IntN(10) < 3 {
		b.WriteString("\n\n")
		b.WriteString(sentence(rng, 10+rng.IntN(30)))
		b.WriteString(".\n")
		b.WriteString(sentence(rng, 5+rng.IntN(15)))
		b.WriteString(".")
	}
	if rng.IntN(10) == 0 {
		fmt.Fprintf(&b, "\n\nRefs: #%d\nSigned-off-by: Bench <bench@example.com>", rng.IntN(10000))
	}
	b.WriteString("\n")
	return b.String(), typ, breaking
}

func sentence(rng *rand.Rand, n int) string {
	parts := make([]string, n)
	for i := range parts {
		parts[i] = words[rng.IntN(len(words))]
	}
	return strings.Join(parts, " ")
}

func run(ctx context.Context, dir string, stdin io.Reader, args ...string) error {
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = dir
	cmd.Env = Env()
	cmd.Stdin = stdin
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("git %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return nil
}

// Cached returns a generated repository under cacheDir, generating it only
// when it is missing, so repeated benchmark runs share one repository.
func Cached(ctx context.Context, cacheDir string, opts Options) (Info, error) {
	o := opts.withDefaults()
	name := fmt.Sprintf("repo-%d-%d-%d-%s-%d", o.OldTags, o.CommitsPerTag, o.Commits, strings.ReplaceAll(o.TagPrefix, "/", "_"), o.Seed)
	dir := filepath.Join(cacheDir, name)
	stamp := filepath.Join(dir, ".git", "repogen-done")
	if _, err := os.Stat(stamp); err == nil {
		return describe(o, dir), nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return Info{}, err
	}
	if err := os.RemoveAll(dir); err != nil {
		return Info{}, err
	}
	info, err := Generate(ctx, dir, o)
	if err != nil {
		return Info{}, err
	}
	return info, os.WriteFile(stamp, nil, 0o644)
}

// describe recomputes the Info of a generated repository without reading it
// (generation is deterministic).
func describe(o Options, dir string) Info {
	info, _ := stream(io.Discard, o)
	info.Dir = dir
	return info
}
