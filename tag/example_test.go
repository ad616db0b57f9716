package tag_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/shipprod/shipprod"
	"github.com/shipprod/shipprod/tag"
)

// Tag the release commit and push it with its tag in one atomic push.
// Running it twice is safe: the second run finds the tag in place.
func Example() {
	dir, gitEnv, cleanup := exampleRepo() // a clone whose origin is a local bare repository
	defer cleanup()
	ctx := context.Background()

	tagger, err := tag.New(ctx, tag.Config{}, tag.Env{
		Dir:    dir,
		Git:    tag.Git{Remote: "origin", Branch: "main"},
		GitEnv: gitEnv,
	})
	if err != nil {
		log.Fatal(err)
	}
	rel := shipprod.Release{Version: "1.2.0", Tag: "v1.2.0", Notes: "### Fixed\n- Login no longer times out"}
	for i := 0; i < 2; i++ {
		rel, err = tagger.Tag(ctx, rel)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println("tagged", rel.Tag, "and pushed it to", rel.Remote+"/"+rel.Branch)
	}
	msg, _ := exec.Command("git", "-C", dir, "tag", "-l", "--format=%(contents)", "v1.2.0").Output()
	fmt.Print(string(msg))
	// Output:
	// tagged v1.2.0 and pushed it to origin/main
	// tagged v1.2.0 and pushed it to origin/main
	// Release v1.2.0
	//
	// ### Fixed
	// - Login no longer times out
}

// The plan lists the tag, the push and the GitHub Release as separate
// actions, without touching git or GitHub.
func ExampleTagger_PlanActions() {
	dir, gitEnv, cleanup := exampleRepo()
	defer cleanup()
	ctx := context.Background()
	tagger, err := tag.New(ctx, tag.Config{Sign: true}, tag.Env{
		Dir:    dir,
		GitEnv: gitEnv,
		Git:    tag.Git{Remote: "origin", Branch: "main"},
		GitHub: &tag.GitHub{Repository: "acme/web"},
		Getenv: func(string) string { return "token-from-GITHUB_TOKEN" },
	})
	if err != nil {
		log.Fatal(err)
	}
	acts, err := tagger.PlanActions(ctx, shipprod.Release{Version: "2.0.0-rc.1", Tag: "v2.0.0-rc.1"})
	if err != nil {
		log.Fatal(err)
	}
	for _, a := range acts {
		fmt.Printf("%s: %s\n", a.Kind, a.Description)
	}
	// Output:
	// tag: create annotated tag v2.0.0-rc.1 on the release commit, signed with git's signing configuration (reused if it already points there)
	// push: push the release commit to origin/main and tag v2.0.0-rc.1 in one atomic push
	// api: create or update the GitHub pre-release v2.0.0-rc.1 in acme/web (never a duplicate)
}

// exampleRepo makes a throw-away clone with a bare remote, and the git
// environment that keeps the user's own configuration out of the example.
func exampleRepo() (dir string, env []string, cleanup func()) {
	root, err := os.MkdirTemp("", "shipprod-tag-example")
	if err != nil {
		log.Fatal(err)
	}
	cfg := filepath.Join(root, "gitconfig")
	_ = os.WriteFile(cfg, []byte("[user]\n\tname = Example\n\temail = example@example.com\n[init]\n\tdefaultBranch = main\n"), 0o644)
	env = []string{"GIT_CONFIG_GLOBAL=" + cfg, "GIT_CONFIG_NOSYSTEM=1"}
	dir = filepath.Join(root, "work")
	git := func(args ...string) {
		cmd := exec.Command("git", args...)
		cmd.Dir = root
		cmd.Env = append(os.Environ(), env...)
		if out, err := cmd.CombinedOutput(); err != nil {
			log.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	git("init", "--quiet", "--bare", "remote.git")
	git("init", "--quiet", "work")
	git("-C", "work", "remote", "add", "origin", filepath.Join(root, "remote.git"))
	git("-C", "work", "commit", "--quiet", "--allow-empty", "-m", "chore(release): 1.2.0")
	return dir, env, func() { os.RemoveAll(root) }
}
