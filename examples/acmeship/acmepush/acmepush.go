// Package acmepush is a custom deployer as a team writes one: it registers
// itself under "acme-push" and puts a release into production by pushing
// its commit to a branch of a git remote, with the team's own tooling. It
// uses only shipprod's public packages.
package acmepush

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"

	"github.com/shipprod/shipprod"
	"github.com/shipprod/shipprod/provider"
)

func init() { provider.Register("acme-push", open) }

// Config is the deploy.acme-push section.
type Config struct {
	Remote string `yaml:"remote"`
	Branch string `yaml:"branch"`
	// URL is where production serves the branch.
	URL string `yaml:"url"`
}

// Deployer pushes a release's commit to Config.Branch.
type Deployer struct {
	cfg Config
	dir string
}

func open(_ context.Context, env provider.Env) (shipprod.Deployer, error) {
	d := &Deployer{cfg: Config{Remote: "origin", Branch: "production"}, dir: env.Dir}
	if err := env.Decode(&d.cfg); err != nil {
		return nil, err
	}
	if d.cfg.URL == "" {
		return nil, errors.New("deploy.acme-push.url is required: where production serves the branch")
	}
	return d, nil
}

func (d *Deployer) String() string { return "acme-push to " + d.cfg.Branch }

// Production says which commit the branch holds now.
func (d *Deployer) Production(ctx context.Context) (shipprod.Deployment, error) {
	out, err := d.git(ctx, "ls-remote", "--", d.cfg.Remote, "refs/heads/"+d.cfg.Branch)
	if err != nil {
		return shipprod.Deployment{}, err
	}
	sha, _, _ := strings.Cut(out, "\t")
	return shipprod.Deployment{Provider: "acme-push", ID: sha, Commit: sha, URL: d.cfg.URL}, nil
}

// Deploy pushes the release commit to the branch.
func (d *Deployer) Deploy(ctx context.Context, rel shipprod.Release) (shipprod.Deployment, error) {
	prev, err := d.Production(ctx)
	if err != nil {
		return shipprod.Deployment{}, err
	}
	if _, err := d.git(ctx, "push", "--force-with-lease=refs/heads/"+d.cfg.Branch+":"+prev.Commit, "--", d.cfg.Remote, rel.Commit+":refs/heads/"+d.cfg.Branch); err != nil {
		return shipprod.Deployment{}, err
	}
	return shipprod.Deployment{Provider: "acme-push", ID: rel.Commit, Commit: rel.Commit, URL: d.cfg.URL, PreviousID: prev.Commit,
		RollbackSteps: []string{fmt.Sprintf("git push --force-with-lease=refs/heads/%s:%s %s %s:refs/heads/%s", d.cfg.Branch, rel.Commit, d.cfg.Remote, prev.Commit, d.cfg.Branch)}}, nil
}

// Rollback pushes the commit production ran before.
func (d *Deployer) Rollback(ctx context.Context, failed shipprod.Deployment, to shipprod.Release) (shipprod.Deployment, error) {
	target := to.Commit
	if target == "" {
		target = failed.PreviousID
	}
	if _, err := d.git(ctx, "push", "--force-with-lease=refs/heads/"+d.cfg.Branch+":"+failed.Commit, "--", d.cfg.Remote, target+":refs/heads/"+d.cfg.Branch); err != nil {
		return shipprod.Deployment{}, err
	}
	return shipprod.Deployment{Provider: "acme-push", ID: target, Commit: target, URL: d.cfg.URL}, nil
}

func (d *Deployer) git(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = d.dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("git %s: %w: %s", args[0], err, strings.TrimSpace(stderr.String()))
	}
	return strings.TrimSpace(string(out)), nil
}
