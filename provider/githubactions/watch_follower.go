package githubactions

import (
	"context"
	"strconv"

	"github.com/shipprod/shipprod/provider/gitpush"
)

// PushFollower follows the workflow run a push to a branch triggers. It is
// the gitpush.RunFollower that makes the git-push deployer fail when the CI
// run deploying its push fails:
//
//	w, _ := githubactions.NewWatcher(ctx, githubactions.WatchConfig{}, env)
//	dep = dep.WithFollower(githubactions.PushFollower{Watcher: w, Workflow: "deploy-production.yml"})
//
// The git-push deployer calls FollowRun right after its push, so the call
// stands for the push: only a run created since then (minus the clock
// skew), and not already there when FollowRun started, is taken for the
// push's run. A rollback pushes a commit that was deployed before, and the
// run of that earlier deploy says nothing about the rollback.
type PushFollower struct {
	Watcher *Watcher
	// Workflow is the workflow file name or id ("" for any workflow run the
	// push triggered).
	Workflow string
}

var _ gitpush.RunFollower = PushFollower{}

// FollowRun implements gitpush.RunFollower.
func (f PushFollower) FollowRun(ctx context.Context, branch, sha string) (gitpush.FollowedRun, error) {
	q, err := f.Watcher.StartPush(ctx, PushRun{Workflow: f.Workflow, Ref: branch, SHA: sha})
	if err != nil {
		return gitpush.FollowedRun{}, err
	}
	run, err := f.Watcher.WaitForPush(ctx, q)
	out := gitpush.FollowedRun{URL: run.URL, Conclusion: run.Conclusion}
	if run.ID != 0 {
		out.ID = strconv.FormatInt(run.ID, 10)
	}
	return out, err
}
