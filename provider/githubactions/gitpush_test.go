package githubactions_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shipprod/shipprod"
	"github.com/shipprod/shipprod/internal/github/githubfake"
	"github.com/shipprod/shipprod/provider"
	"github.com/shipprod/shipprod/provider/githubactions"
	"github.com/shipprod/shipprod/provider/gitpush"
	"github.com/shipprod/shipprod/shipprodtest"
)

// ciFollower is PushFollower plus a stand-in for GitHub reacting to the push
// (a webhook starting the workflow), which a real deployment does not need.
type ciFollower struct {
	githubactions.PushFollower
	github func(branch, sha string)
}

func (f ciFollower) FollowRun(ctx context.Context, branch, sha string) (gitpush.FollowedRun, error) {
	f.github(branch, sha)
	return f.PushFollower.FollowRun(ctx, branch, sha)
}

func TestGitPushFollowsItsCIRun(t *testing.T) {
	root := t.TempDir()
	env := []string{"GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1", "GIT_AUTHOR_NAME=T", "GIT_AUTHOR_EMAIL=t@example.com",
		"GIT_COMMITTER_NAME=T", "GIT_COMMITTER_EMAIL=t@example.com"}
	git := func(dir string, args ...string) string {
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), env...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	work := filepath.Join(root, "work")
	git(root, "init", "--quiet", "--bare", "remote.git")
	git(root, "init", "--quiet", "work")
	git(work, "remote", "add", "origin", filepath.Join(root, "remote.git"))
	git(work, "commit", "--quiet", "--allow-empty", "-m", "release 1.0.0")
	sha := git(work, "rev-parse", "HEAD")

	for _, conclusion := range []string{"success", "failure"} {
		t.Run(conclusion, func(t *testing.T) {
			clock := shipprodtest.NewClock(time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC))
			fake := githubfake.NewT(t, githubfake.Options{Clock: clock, Token: "tok"})
			fake.AddRepo("acme/web", githubfake.RepoOptions{})
			fake.AddWorkflow("acme/web", githubfake.Workflow{File: "ci.yml",
				Script: githubfake.RunScript{AppearAfter: 5 * time.Second, Queued: 5 * time.Second, Running: 2 * time.Minute, Conclusion: conclusion}})
			w, err := githubactions.NewWatcher(context.Background(), githubactions.WatchConfig{}, provider.Env{
				Facts:  map[string]string{githubactions.FactRepository: "acme/web", githubactions.FactAPIURL: fake.APIURL()},
				Clock:  clock,
				Getenv: func(string) string { return "tok" },
			})
			if err != nil {
				t.Fatal(err)
			}
			follower := ciFollower{PushFollower: githubactions.PushFollower{Watcher: w, Workflow: "ci.yml"}, github: func(branch, sha string) { fake.TriggerPush("acme/web", "ci.yml", branch, sha) }}
			d, err := gitpush.New(context.Background(), gitpush.Config{Branch: "production-" + conclusion}, gitpush.Options{Dir: work, Clock: clock, GitEnv: env, Follower: follower})
			if err != nil {
				t.Fatal(err)
			}
			dep, err := d.Deploy(context.Background(), shipprod.Release{Version: "1.0.0", Tag: "v1.0.0", Commit: sha})
			runURL := "https://github.com/acme/web/actions/runs/" + strconv.FormatInt(fake.Runs("acme/web")[0].ID, 10)
			if dep.Details["ci_run_url"] != runURL || dep.Details["ci_conclusion"] != conclusion {
				t.Fatalf("deployment details %+v", dep.Details)
			}
			switch conclusion {
			case "success":
				if err != nil {
					t.Fatal(err)
				}
			default:
				var re *githubactions.RunError
				if !errors.As(err, &re) || !errors.Is(err, githubactions.ErrRunFailed) || !strings.Contains(err.Error(), runURL) {
					t.Fatalf("err %v", err)
				}
			}
		})
	}
}
