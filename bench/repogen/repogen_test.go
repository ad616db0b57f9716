package repogen_test

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shipprod/shipprod/bench/repogen"
)

func TestGenerate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "repo")
	info, err := repogen.Generate(context.Background(), dir, repogen.Options{OldTags: 20, Commits: 300})
	if err != nil {
		t.Fatal(err)
	}
	git := func(args ...string) string {
		cmd := exec.Command("git", args...)
		cmd.Dir, cmd.Env = dir, repogen.Env()
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("git %v: %v", args, err)
		}
		return strings.TrimSpace(string(out))
	}
	if info.LastTag != "v1.1.9" || info.Commits != 300 {
		t.Fatalf("info = %+v", info)
	}
	if n := git("rev-list", "--count", info.LastTag+"..HEAD"); n != "300" {
		t.Fatalf("%s commits since %s, want 300", n, info.LastTag)
	}
	if n := len(strings.Fields(git("tag", "--merged", "HEAD", "--list", "v*"))); n != 21 { // 20 releases and the non-SemVer v1000.0
		t.Fatalf("%d v* tags reachable, want 21", n)
	}
	sum := 0
	for _, n := range info.Counts {
		sum += n
	}
	if sum != 300 || info.Counts["feat"] == 0 || info.Counts["fix"] == 0 {
		t.Fatalf("counts %v", info.Counts)
	}
	if !strings.Contains(git("show", "HEAD:package.json"), `"version": "1.1.9"`) {
		t.Fatal("package.json does not hold the last version")
	}
}
