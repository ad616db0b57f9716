package version

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/Masterminds/semver/v3"

	"github.com/shipprod/shipprod/internal/git"
	"github.com/shipprod/shipprod/internal/gittest"
)

// TestReadHistoryAgainstGit compares readHistory, which walks the range
// once, with the obvious slow answer on random histories with branches,
// merges and tags (stable, pre-release, unreachable, invalid, other
// prefixes): the highest release tag in `git tag --merged HEAD`, and
// `git rev-list --count <tag>..HEAD`.
func TestReadHistoryAgainstGit(t *testing.T) {
	t.Parallel()
	seeds := uint64(24) // 300 pass too; 24 keep the suite quick
	if testing.Short() {
		seeds = 4
	}
	for seed := uint64(1); seed <= seeds; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			t.Parallel()
			rng := rand.New(rand.NewPCG(seed, 42))
			dir := t.TempDir()
			randomHistory(t, dir, rng)
			repo := git.Open(dir)
			ctx := context.Background()
			head, _, err := repo.ResolveCommit(ctx, "HEAD")
			if err != nil {
				t.Fatal(err)
			}
			s, err := Config{}.settings()
			if err != nil {
				t.Fatal(err)
			}
			h, err := readHistory(ctx, repo, s, head, false)
			if err != nil {
				t.Fatal(err)
			}
			wantTag, wantCommits := oracle(t, repo)
			gotTag, gotCommits := "", h.sinceStable.commits
			if c := h.current(); c != nil {
				gotTag = c.name
				if h.sincePre != nil {
					gotCommits = h.sincePre.commits
				}
			}
			if gotTag != wantTag || gotCommits != wantCommits {
				t.Fatalf("readHistory: %q with %d commits since; git says %q with %d", gotTag, gotCommits, wantTag, wantCommits)
			}
		})
	}
}

// oracle answers slowly: the highest stable release tag S reachable from
// HEAD, or the highest reachable pre-release above it that S does not
// contain, and the commits since.
func oracle(t *testing.T, repo *git.Repo) (string, int) {
	ctx := context.Background()
	out, err := repo.Run(ctx, "tag", "--merged", "HEAD", "--list", "v*")
	if err != nil {
		t.Fatal(err)
	}
	var stable, pre *tag
	for _, name := range strings.Fields(out) {
		v, err := semver.StrictNewVersion(strings.TrimPrefix(name, "v"))
		if err != nil {
			continue
		}
		tg := &tag{name: name, version: v}
		if v.Prerelease() == "" {
			if stable == nil || v.GreaterThan(stable.version) {
				stable = tg
			}
		}
	}
	for _, name := range strings.Fields(out) {
		v, err := semver.StrictNewVersion(strings.TrimPrefix(name, "v"))
		if err != nil || v.Prerelease() == "" || stable != nil && !v.GreaterThan(stable.version) {
			continue
		}
		if stable != nil {
			if ok, _ := isAncestor(ctx, repo, name, stable.name); ok {
				continue
			}
		}
		if pre == nil || v.GreaterThan(pre.version) {
			pre = &tag{name: name, version: v}
		}
	}
	cur := stable
	if pre != nil {
		cur = pre
	}
	rng := "HEAD"
	if cur != nil {
		rng = cur.name + "..HEAD"
	}
	n, err := repo.Run(ctx, "rev-list", "--count", rng)
	if err != nil {
		t.Fatal(err)
	}
	name := ""
	if cur != nil {
		name = cur.name
	}
	var count int
	fmt.Sscan(n, &count)
	return name, count
}

// randomHistory builds a random history: commits on a few branches, merges
// between them, and tags.
func randomHistory(t *testing.T, dir string, rng *rand.Rand) {
	gittest.Init(t, dir)
	b := gittest.NewBuilder(t, dir)
	var commits []string
	tips := map[string]string{}
	branches := []string{"main", "b1", "b2", "b3"}
	used := map[string]bool{}
	stableTags := 1 + rng.IntN(45) // sometimes more than topTags
	types := []string{"feat", "fix", "chore", "docs", "feat!"}
	for i := 0; i < 70; i++ {
		br := branches[rng.IntN(len(branches))]
		c := gittest.Commit{Branch: br, Message: fmt.Sprintf("%s: change %d", types[rng.IntN(len(types))], i),
			Files: map[string]string{fmt.Sprintf("f%d", i): fmt.Sprintf("%d\n", i%10)}}
		if p, ok := tips[br]; ok {
			c.Parents = []string{p}
		} else if len(commits) > 0 {
			c.Parents = []string{commits[rng.IntN(len(commits))]}
		}
		if other := branches[rng.IntN(len(branches))]; other != br && tips[other] != "" && len(c.Parents) > 0 && rng.IntN(5) == 0 {
			c.Parents = append(c.Parents, tips[other])
		}
		sha := b.Commit(c)
		commits = append(commits, sha)
		tips[br] = sha
		if rng.IntN(2) == 0 {
			var name string
			switch k := rng.IntN(10); {
			case k < 6 && stableTags > 0:
				stableTags--
				name = fmt.Sprintf("v%d.%d.%d", 1+rng.IntN(3), rng.IntN(16), rng.IntN(4))
			case k < 8:
				name = fmt.Sprintf("v%d.%d.0-rc.%d", 1+rng.IntN(3), rng.IntN(16), 1+rng.IntN(3))
			case k < 9:
				name = fmt.Sprintf("app/v%d.0.0", rng.IntN(9))
			default:
				name = fmt.Sprintf("v%d.%d", rng.IntN(9), rng.IntN(9))
			}
			if !used[name] {
				used[name] = true
				b.Tag(gittest.Tag{Name: name, At: sha})
			}
		}
	}
	// HEAD on a random branch that has commits.
	for {
		if br := branches[rng.IntN(len(branches))]; tips[br] != "" {
			b.Checkout(br)
			b.Flush()
			return
		}
	}
}
