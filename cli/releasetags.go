package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/shipprod/shipprod"
	"github.com/shipprod/shipprod/internal/git"
	"github.com/shipprod/shipprod/version"
)

// tagPrefix is the prefix of release tags (version.tag_prefix).
func tagPrefix(cfg *Config) string {
	if cfg != nil && cfg.Version.TagPrefix != nil {
		return *cfg.Version.TagPrefix
	}
	return version.DefaultTagPrefix
}

// resolveReleaseTag returns the release a tag names, with its commit. A tag
// that does not exist is a usage error naming it and the release tags that
// do.
func resolveReleaseTag(ctx context.Context, dir, prefix, tag string) (*shipprod.Release, error) {
	if err := git.CheckTagName(ctx, tag); err != nil {
		return nil, usageErrorf("--to %q: %v", tag, err)
	}
	repo := git.Open(dir)
	commit, ok, err := repo.ResolveCommit(ctx, "refs/tags/"+tag)
	if err != nil {
		return nil, err
	}
	if !ok {
		known, _ := releaseTags(ctx, repo, prefix, 5)
		hint := "there are no release tags"
		if len(known) > 0 {
			hint = "the latest release tags are " + strings.Join(known, ", ")
		}
		return nil, usageErrorf("--to %s: tag %s does not exist in this repository (%s; fetch tags with git fetch --tags)", tag, tag, hint)
	}
	return &shipprod.Release{Version: strings.TrimPrefix(tag, prefix), Tag: tag, Commit: commit}, nil
}

// releaseTags lists up to n release tags, the highest version first.
func releaseTags(ctx context.Context, repo *git.Repo, prefix string, n int) ([]string, error) {
	out, err := repo.Run(ctx, "tag", "--list", "--sort=-v:refname", "--", prefix+"[0-9]*")
	if err != nil || out == "" {
		return nil, err
	}
	tags := strings.Split(out, "\n")
	return tags[:min(n, len(tags))], nil
}

// defaultTarget is the release a rollback restores when --to is not given:
// what production ran before the last deploy, when production still runs
// that deploy; else the release tag before the one production runs.
func defaultTarget(ctx context.Context, dir, prefix string, cur *running, last *shipprod.Result) (shipprod.Release, string, error) {
	if cur.FromLastRun && last != nil {
		deployed := releaseName(last.Release)
		if pp := last.PreviousProduction; pp != nil && (pp.Commit != "" || pp.Version != "" || pp.Tag != "") {
			return releaseOf(*pp), "what production ran before " + deployed + " was deployed", nil
		}
		if prev := last.Release.Previous(); prev.Tag != "" {
			if prev.Commit == "" {
				rel, err := resolveReleaseTag(ctx, dir, prefix, prev.Tag)
				if err != nil {
					return shipprod.Release{}, "", err
				}
				prev.Commit = rel.Commit
			}
			return prev, "the release before " + deployed, nil
		}
	}
	tag, err := previousReleaseTag(ctx, git.Open(dir), prefix, cur.Release)
	if err != nil {
		return shipprod.Release{}, "", err
	}
	rel, err := resolveReleaseTag(ctx, dir, prefix, tag)
	if err != nil {
		return shipprod.Release{}, "", err
	}
	return *rel, "the release tag before " + releaseName(cur.Release), nil
}

// previousReleaseTag is the nearest release tag in the history of the
// commit before the one production runs.
func previousReleaseTag(ctx context.Context, repo *git.Repo, prefix string, cur shipprod.Release) (string, error) {
	rev := cur.Commit
	if rev == "" && cur.Tag != "" {
		rev = "refs/tags/" + cur.Tag
	}
	if rev == "" {
		return "", usageErrorf("cannot tell which release came before what production runs (no commit or tag is known): name the release to restore with --to")
	}
	tag, err := repo.Run(ctx, "describe", "--tags", "--abbrev=0", "--match", prefix+"[0-9]*", "--end-of-options", rev+"^")
	if err != nil {
		var ge *git.Error
		if errors.As(err, &ge) && ctx.Err() == nil {
			return "", usageErrorf("no release tag comes before %s in this repository's history: name the release to restore with --to", releaseName(cur))
		}
		return "", fmt.Errorf("finding the release before %s: %w", releaseName(cur), err)
	}
	return tag, nil
}
