package cli

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/shipprod/shipprod"
	"github.com/shipprod/shipprod/internal/git"
	"github.com/shipprod/shipprod/journal"
)

// journalFile is the journal the configuration names: journal.path
// (relative to the project root), else .git/shipprod/journal.json. It is
// nil when the journal is disabled.
func journalFile(ctx context.Context, dir string, cfg JournalConfig) (*journal.File, error) {
	if cfg.Disabled {
		return nil, nil
	}
	j := journal.File{Path: cfg.Path}
	switch {
	case j.Path == "":
		var err error
		if j, err = journal.InGitDir(ctx, dir); err != nil {
			return nil, err
		}
	case !filepath.IsAbs(j.Path):
		j.Path = filepath.Join(dir, j.Path)
	}
	return &j, nil
}

// lastRun reads the journaled run, if any.
func lastRun(ctx context.Context, j shipprod.Journal) (*shipprod.Result, error) {
	if j == nil {
		return nil, nil
	}
	res, err := j.Load(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading the journal: %w", err)
	}
	return res, nil
}

// running is what production runs, as far as shipprod knows, and how it
// knows.
type running struct {
	Deployment shipprod.Deployment
	// Release names what the deployment runs (version, tag, commit), as
	// far as known.
	Release shipprod.Release
	// Source is "deployer" (the deployer said, as a
	// shipprod.ProductionReader) or "journal" (the last run recorded it).
	Source string
	// FromLastRun is set when the deployment is the last run's own
	// deployment (not a rollback's restored one): that run's
	// PreviousProduction is what production ran before it.
	FromLastRun bool
}

// Sources of what production runs.
const (
	fromDeployer = "deployer"
	fromJournal  = "journal"
)

// errProductionUnknown means neither the deployer nor the journal says
// what production runs.
var errProductionUnknown = errors.New("shipprod does not know what production runs: the deployer cannot say, and no deploy is journaled")

// askProduction asks the deployer what production runs; ok is false when
// it cannot say (it is not a shipprod.ProductionReader).
func askProduction(ctx context.Context, d shipprod.Deployer, last *shipprod.Result) (*running, bool, error) {
	pr, ok := shipprod.DeployerAs[shipprod.ProductionReader](d)
	if !ok {
		return nil, false, nil
	}
	dep, err := pr.Production(ctx)
	if err != nil {
		return nil, true, fmt.Errorf("asking the deployer what production runs: %w", err)
	}
	r := &running{Deployment: dep, Source: fromDeployer,
		Release: shipprod.Release{Version: dep.Version, Tag: dep.Tag, Commit: dep.Commit}}
	// The journal knows more about the release, when it is the one it
	// records.
	if j := runningFromJournal(last); j != nil && sameDeployment(j.Deployment, dep) {
		r.Release, r.FromLastRun = mergeRelease(r.Release, j.Release), j.FromLastRun
	}
	return r, true, nil
}

// runningFromJournal is what the last journaled run left in production:
// the deployment a rollback restored, else the one it deployed. It is nil
// when the run deployed nothing.
func runningFromJournal(last *shipprod.Result) *running {
	switch {
	case last == nil:
		return nil
	case last.Rollback != nil && last.Rollback.Restored.ID != "":
		rb := last.Rollback
		return &running{Deployment: rb.Restored, Release: mergeRelease(rb.Target, releaseOf(rb.Restored)), Source: fromJournal}
	case last.Deployment != nil:
		return &running{Deployment: *last.Deployment, Release: mergeRelease(last.Release, releaseOf(*last.Deployment)),
			Source: fromJournal, FromLastRun: true}
	}
	return nil
}

func releaseOf(d shipprod.Deployment) shipprod.Release {
	return shipprod.Release{Version: d.Version, Tag: d.Tag, Commit: d.Commit}
}

// mergeRelease fills a's empty version, tag and commit from b.
func mergeRelease(a, b shipprod.Release) shipprod.Release {
	a.Version, a.Tag, a.Commit = cmp.Or(a.Version, b.Version), cmp.Or(a.Tag, b.Tag), cmp.Or(a.Commit, b.Commit)
	return a
}

// sameDeployment reports whether a and b are one deployment: the same id
// at the same provider, or the same commit.
func sameDeployment(a, b shipprod.Deployment) bool {
	if a.ID != "" && a.ID == b.ID {
		return a.Provider == "" || b.Provider == "" || a.Provider == b.Provider
	}
	return a.Commit != "" && a.Commit == b.Commit
}

// productionNow is what production runs: what the deployer says, else what
// the journal recorded. It is errProductionUnknown when neither knows.
func productionNow(ctx context.Context, d shipprod.Deployer, last *shipprod.Result) (*running, error) {
	r, asked, err := askProduction(ctx, d, last)
	if err != nil {
		return nil, err
	}
	if asked {
		return r, nil
	}
	if r := runningFromJournal(last); r != nil {
		return r, nil
	}
	return nil, errProductionUnknown
}

// releaseName names a release for people: its tag, else its version, else
// its commit.
func releaseName(r shipprod.Release) string {
	return cmp.Or(r.Tag, r.Version, git.ShortSHA(r.Commit), "an unnamed release")
}

// describeRunning says what production runs, e.g.
// "v1.3.0 (git-push deployment 1a2b3c4d5e6f)".
func describeRunning(r *running) string {
	d := r.Deployment
	s := releaseName(r.Release)
	if d.ID != "" {
		s += fmt.Sprintf(" (%s deployment %s)", cmp.Or(d.Provider, "deployer"), shortID(d.ID))
	}
	return s
}

// shortID abbreviates a commit SHA and leaves any other id (a Vercel
// dpl_… id, a run number) whole.
func shortID(id string) string {
	if len(id) == 40 && strings.Trim(id, "0123456789abcdef") == "" {
		return git.ShortSHA(id)
	}
	return id
}

// rfc3339 formats t for people; "" for the zero time.
func rfc3339(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Format(time.RFC3339)
}
