package gitpush_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/shipprod/shipprod"
	"github.com/shipprod/shipprod/provider"
	"github.com/shipprod/shipprod/provider/gitpush"
)

// Deploy a release by pushing its commit to the production branch of a
// (here local, bare) remote, then roll it back.
func Example() {
	dir, _ := os.MkdirTemp("", "gitpush-example")
	defer os.RemoveAll(dir)
	work, remote := filepath.Join(dir, "work"), filepath.Join(dir, "remote.git")
	git := func(args ...string) string {
		cmd := exec.Command("git", args...)
		cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1",
			"GIT_AUTHOR_NAME=Example", "GIT_AUTHOR_EMAIL=ex@example.com", "GIT_COMMITTER_NAME=Example", "GIT_COMMITTER_EMAIL=ex@example.com")
		out, _ := cmd.Output()
		return strings.TrimSpace(string(out))
	}
	git("init", "--quiet", "--bare", remote)
	git("init", "--quiet", work)
	git("-C", work, "remote", "add", "origin", remote)
	git("-C", work, "commit", "--quiet", "--allow-empty", "-m", "v1.0.0")
	v1 := git("-C", work, "rev-parse", "HEAD")
	git("-C", work, "commit", "--quiet", "--allow-empty", "-m", "v1.1.0")
	v2 := git("-C", work, "rev-parse", "HEAD")

	section, _ := provider.ParseSection("remote: origin\nbranch: production\n")
	d, err := provider.Open(context.Background(), "git-push", provider.Env{Config: section, Dir: work})
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx := context.Background()
	d.Deploy(ctx, shipprod.Release{Version: "1.0.0", Tag: "v1.0.0", Commit: v1})
	rel := shipprod.Release{Version: "1.1.0", Tag: "v1.1.0", Commit: v2, PreviousVersion: "1.0.0", PreviousTag: "v1.0.0", PreviousCommit: v1}
	dep, err := d.Deploy(ctx, rel)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(git("-C", remote, "rev-parse", "production") == v2, dep.PreviousID == v1)

	_, err = d.(shipprod.Rollbacker).Rollback(ctx, dep, rel.Previous())
	fmt.Println(err, git("-C", remote, "rev-parse", "production") == v1)
	// Output:
	// true true
	// <nil> true
}

// A program that follows the CI run each push triggers wraps its follower
// (for instance the GitHub Actions deployer's run-following code) in a
// RunFollower and hands it to the deployer.
func ExampleDeployer_WithFollower() {
	d, err := gitpush.New(context.Background(), gitpush.Config{Branch: "production"}, gitpush.Options{Dir: "."})
	if err != nil {
		fmt.Println(err)
		return
	}
	d = d.WithFollower(followerFunc(func(ctx context.Context, mark gitpush.PushMark, pushed bool) (gitpush.FollowedRun, error) {
		// Find the run of event=push, branch, head_sha=mark.SHA created
		// since mark.At, and wait for it.
		return gitpush.FollowedRun{ID: "1234", URL: "https://github.com/acme/web/actions/runs/1234", Conclusion: "success"}, nil
	}))
	acts, _ := d.PlanActions(context.Background(), shipprod.Release{Tag: "v1.1.0"})
	for _, a := range acts {
		fmt.Println(a.Description)
	}
	// Output:
	// push release v1.1.0 to branch production of origin (fast-forward only)
	// follow the CI run the push to production triggers until it completes
}

// followerFunc is a RunFollower that needs nothing before the push.
type followerFunc func(ctx context.Context, mark gitpush.PushMark, pushed bool) (gitpush.FollowedRun, error)

func (f followerFunc) BeforePush(ctx context.Context, branch, sha string) (gitpush.PushMark, error) {
	return gitpush.PushMark{Branch: branch, SHA: sha}, nil
}

func (f followerFunc) FollowRun(ctx context.Context, mark gitpush.PushMark, pushed bool) (gitpush.FollowedRun, error) {
	return f(ctx, mark, pushed)
}
