package report

import (
	"bytes"
	"context"
	"fmt"
	"text/template"

	"github.com/shipprod/shipprod"
	"github.com/shipprod/shipprod/internal/git"
)

// DefaultRecordsMessage is the default commit message of the run's records:
// "[skip ci]" keeps the commit from starting the pipelines a push to the
// release branch starts (GitHub Actions, GitLab CI and most others honour
// it).
const DefaultRecordsMessage = "chore(release): record the ship of {{.Release.Tag}} ({{.Outcome}}) [skip ci]"

// RecordsConfig is the records section of shipprod.yaml: what happens to
// the files a run writes (the ship report, its JSON twin, the Spec-Flow
// state file). By default they stay in the working tree, uncommitted, and
// the final output lists them.
type RecordsConfig struct {
	// Commit commits them, in a commit of their own on the release branch
	// (never amending the tagged release commit), and pushes it.
	Commit bool `yaml:"commit"`
	// Message is a text/template over the run's shipprod.Result for the
	// commit's message (default DefaultRecordsMessage).
	Message string `yaml:"message"`
	// Push pushes the commit to the release branch (default true).
	Push *bool `yaml:"push"`
}

// GitArchiver is a shipprod.Archiver that commits the run's records and
// pushes them to the release branch.
type GitArchiver struct {
	repo    *git.Repo
	remote  string
	branch  string
	push    bool
	message *template.Template
}

var (
	_ shipprod.Archiver      = (*GitArchiver)(nil)
	_ shipprod.ActionPlanner = (*GitArchiver)(nil)
)

// NewGitArchiver returns the archiver of the repository at dir, pushing to
// branch ("" means the branch checked out) of remote ("" means origin).
func NewGitArchiver(dir, remote, branch string, cfg RecordsConfig) (*GitArchiver, error) {
	text := cfg.Message
	if text == "" {
		text = DefaultRecordsMessage
	}
	tmpl, err := template.New("records.message").Option("missingkey=error").Parse(text)
	if err != nil {
		return nil, fmt.Errorf("records.message: %w", err)
	}
	if err := tmpl.Execute(&bytes.Buffer{}, shipprod.Result{Outcome: shipprod.OutcomeShipped, Release: shipprod.Release{Tag: "v1.0.0", Version: "1.0.0"}}); err != nil {
		return nil, fmt.Errorf("records.message: %w", err)
	}
	if remote == "" {
		remote = "origin"
	}
	return &GitArchiver{repo: git.Open(dir), remote: remote, branch: branch, push: cfg.Push == nil || *cfg.Push, message: tmpl}, nil
}

func (a *GitArchiver) String() string {
	if a.push {
		return "a commit of the records pushed to " + git.MaskURL(a.remote)
	}
	return "a commit of the records"
}

// PlanActions lists the commit and the push.
func (a *GitArchiver) PlanActions(ctx context.Context, rel shipprod.Release) ([]shipprod.Action, error) {
	acts := []shipprod.Action{{Kind: shipprod.ActionCommit, Target: "records",
		Description: "commit the ship report and the state file in a commit of their own (the release commit is never amended)"}}
	if a.push {
		acts = append(acts, shipprod.Action{Kind: shipprod.ActionPush, Target: git.MaskURL(a.remote),
			Description: "push that commit to " + git.MaskURL(a.remote)})
	}
	return acts, nil
}

// Archive commits the files the run wrote (res.Reports) and pushes the
// commit. Nothing to commit (the files are as HEAD has them) is no error.
func (a *GitArchiver) Archive(ctx context.Context, res shipprod.Result) error {
	var msg bytes.Buffer
	if err := a.message.Execute(&msg, res); err != nil {
		return fmt.Errorf("records.message: %w", err)
	}
	if _, err := a.repo.Run(ctx, append([]string{"add", "--"}, res.Reports...)...); err != nil {
		return err
	}
	staged, err := a.repo.Run(ctx, append([]string{"diff", "--cached", "--name-only", "--"}, res.Reports...)...)
	if err != nil || staged == "" {
		return err
	}
	if _, err := a.repo.CommitPaths(ctx, msg.String(), res.Reports...); err != nil {
		return fmt.Errorf("committing the records: %w", err)
	}
	if !a.push {
		return nil
	}
	branch := a.branch
	if branch == "" {
		if branch, err = a.repo.CurrentBranch(ctx); err != nil {
			return err
		}
	}
	if err := a.repo.Push(ctx, a.remote, []string{"HEAD:refs/heads/" + branch}, git.PushOptions{}); err != nil {
		return fmt.Errorf("the records were committed but not pushed to %s (%w): push them with git pull --rebase %s %s && git push %s HEAD:%s",
			git.MaskURL(a.remote), err, git.MaskURL(a.remote), branch, git.MaskURL(a.remote), branch)
	}
	return nil
}
