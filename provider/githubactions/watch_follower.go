package githubactions

import (
	"context"
	"fmt"
	"strconv"

	"github.com/shipprod/shipprod/internal/cifollow"
)

// PushFollower follows the workflow run a push to a branch triggers. It is
// the gitpush.RunFollower that makes the git-push deployer fail when the CI
// run deploying its push fails:
//
//	w, _ := githubactions.NewWatcher(ctx, githubactions.WatchConfig{}, env)
//	dep = dep.WithFollower(githubactions.PushFollower{Watcher: w, Workflow: "deploy-production.yml"})
//
// The git-push deployer calls BeforePush right before its push: only a run
// created since then (minus the clock skew), and not already there, is
// taken for the push's run. A rollback pushes a commit that was deployed
// before, and the run of that earlier deploy says nothing about the
// rollback. When nothing was pushed (a resumed deploy), the newest run of
// the commit is the one the earlier push started, and that is followed.
type PushFollower struct {
	Watcher *Watcher
	// Workflow is the workflow file name or id ("" for any workflow run the
	// push triggered).
	Workflow string
}

var _ cifollow.RunFollower = PushFollower{}

// BeforePush implements gitpush.RunFollower (an alias of an internal type,
// so that this package does not import the git-push deployer).
func (f PushFollower) BeforePush(ctx context.Context, branch, sha string) (cifollow.PushMark, error) {
	q, err := f.Watcher.StartPush(ctx, PushRun{Workflow: f.Workflow, Ref: branch, SHA: sha})
	if err != nil {
		return cifollow.PushMark{}, err
	}
	mark := cifollow.PushMark{Branch: branch, SHA: sha, At: q.PushedAt}
	for _, id := range q.Existing {
		mark.Existing = append(mark.Existing, strconv.FormatInt(id, 10))
	}
	return mark, nil
}

// FollowRun implements gitpush.RunFollower.
func (f PushFollower) FollowRun(ctx context.Context, mark cifollow.PushMark, pushed bool) (cifollow.FollowedRun, error) {
	q := PushRun{Workflow: f.Workflow, Ref: mark.Branch, SHA: mark.SHA}
	if pushed {
		q.PushedAt = mark.At
		for _, id := range mark.Existing {
			n, err := strconv.ParseInt(id, 10, 64)
			if err != nil {
				return cifollow.FollowedRun{}, fmt.Errorf("push mark: run id %q is not a GitHub run id", id)
			}
			q.Existing = append(q.Existing, n)
		}
	}
	run, err := f.Watcher.WaitForPush(ctx, q)
	out := cifollow.FollowedRun{URL: run.URL, Conclusion: run.Conclusion}
	if run.ID != 0 {
		out.ID = strconv.FormatInt(run.ID, 10)
	}
	return out, err
}
