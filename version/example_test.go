package version_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"

	"github.com/shipprod/shipprod/version"
)

// Decide reads a repository and says what the next version is and why.
func ExampleVersioner_Decide() {
	dir, err := os.MkdirTemp("", "version-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	git := func(args ...string) {
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			panic(fmt.Sprintf("git %v: %v: %s", args, err, out))
		}
	}
	git("init", "--quiet", "--initial-branch=main")
	git("commit", "--quiet", "--allow-empty", "-m", "feat: first release")
	git("tag", "--annotate", "-m", "Release v1.4.0", "v1.4.0")
	git("commit", "--quiet", "--allow-empty", "-m", "fix: handle empty input")
	git("commit", "--quiet", "--allow-empty", "-m", "feat(api): add pagination")
	git("commit", "--quiet", "--allow-empty", "-m", "docs: explain the flags")

	v, err := version.New(version.Config{}, version.Options{Dir: dir})
	if err != nil {
		panic(err)
	}
	d, err := v.Decide(context.Background())
	if err != nil {
		panic(err)
	}
	fmt.Printf("%s → %s (%s bump, tag %s)\n", d.Current, d.Next, d.Bump, d.Tag)
	for _, r := range d.Reasons {
		fmt.Println(r.Bump, r.Text)
	}
	// Output:
	// 1.4.0 → 1.5.0 (minor bump, tag v1.5.0)
	// minor feat(api): add pagination
	// patch fix: handle empty input
}
