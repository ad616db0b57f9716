package version

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/shipprod/shipprod/internal/git"
)

// walked is one commit as walk hands it over.
type walked struct {
	sha     string
	parents int
	msg     string
}

// TestWalkReadsEveryMessageExactly walks commits whose messages could
// confuse a parser of rev-list's output (a line that looks like rev-list's
// own header, an empty message, one without a final newline, CRLF, a
// merge) and checks each against git's own view of the commit.
func TestWalkReadsEveryMessageExactly(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	const fake = "commit 0123456789abcdef0123456789abcdef01234567 89abcdef0123456789abcdef0123456789abcdef"
	messages := []string{
		"chore: base\n",
		"feat: a\n\n" + fake + "\n",
		fake + "\n",
		"",
		"fix: no newline at the end",
		"docs: crlf\r\n\r\nbody\r\n",
		"feat: trailing blank lines\n\n\n\n",
		"\n\nfeat: leading blank lines\n",
		"commit \ncommit -\n",
	}
	var b strings.Builder
	for i, msg := range messages {
		fmt.Fprintf(&b, "commit refs/heads/main\nmark :%d\ncommitter T <t@example.com> %d +0000\ndata %d\n%s\n", i+1, 1_700_000_000+i, len(msg), msg)
		if i > 0 {
			fmt.Fprintf(&b, "from :%d\n", i)
		}
		fmt.Fprintf(&b, "M 100644 inline f%d\ndata 2\n%d\n", i, i)
	}
	// A side branch from the base, merged with a message that is only a
	// header lookalike.
	n := len(messages)
	fmt.Fprintf(&b, "commit refs/heads/side\nmark :%d\ncommitter T <t@example.com> %d +0000\ndata 8\nfix: x\n\nfrom :1\nM 100644 inline s\ndata 2\ns\n", n+1, 1_700_000_100)
	merge := "commit -" + fake[len("commit "):] + "\n"
	fmt.Fprintf(&b, "commit refs/heads/main\nmark :%d\ncommitter T <t@example.com> %d +0000\ndata %d\n%s\nfrom :%d\nmerge :%d\n", n+2, 1_700_000_200, len(merge), merge, n, n+1)
	b.WriteString("reset refs/tags/base\nfrom :1\n\ndone\n")
	for _, args := range [][]string{{"init", "--quiet", "--initial-branch=main"}, {"fast-import", "--quiet", "--done"}} {
		cmd := exec.Command("git", args...)
		cmd.Dir, cmd.Stdin = dir, strings.NewReader(b.String())
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}

	ctx := context.Background()
	repo := git.Open(dir)
	head, _, err := repo.ResolveCommit(ctx, "main")
	if err != nil {
		t.Fatal(err)
	}
	base, _, err := repo.ResolveCommit(ctx, "base")
	if err != nil {
		t.Fatal(err)
	}
	var got []walked
	boundary, err := walk(ctx, repo, []string{head, "^" + base}, func(sha []byte, parents int, msg []byte) {
		got = append(got, walked{string(sha), parents, string(msg)})
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{base}; !slices.Equal(boundary, want) {
		t.Errorf("boundary %v, want %v", boundary, want)
	}

	list, err := repo.Run(ctx, "rev-list", "--parents", head, "^"+base)
	if err != nil {
		t.Fatal(err)
	}
	var want []walked
	for _, line := range strings.Split(list, "\n") {
		f := strings.Fields(line)
		msg, err := repo.RunRaw(ctx, "log", "-1", "--format=%B", f[0])
		if err != nil {
			t.Fatal(err)
		}
		// git log ends each commit's output with a newline of its own.
		want = append(want, walked{f[0], len(f) - 1, strings.TrimSuffix(string(msg), "\n")})
	}
	if len(want) != n+1 {
		t.Fatalf("the test history has %d commits after the base, want %d", len(want), n+1)
	}
	if !slices.Equal(got, want) {
		t.Errorf("walk handed over\n%+v\nwant\n%+v", got, want)
	}
}

// TestScanCommitsRefusesGarbage checks that output which is not rev-list's
// is an error, not a silently wrong count.
func TestScanCommitsRefusesGarbage(t *testing.T) {
	t.Parallel()
	for _, out := range []string{
		"not a header\n\x00feat: a\n\n",
		"commit abc\n\x00feat: a\x00fix: b\n",            // a message without the next header
		"commit abc\n\x00feat: a\nnot a header\n\x00b\n", // a header line that is not one
		"commit abc\n",           // a header without its message
		"commit \n\x00feat: a\n", // a header without a SHA
		"feat: a\n",
	} {
		err := scanCommits(strings.NewReader(out), func(byte, []byte, int, []byte) {})
		if err == nil {
			t.Errorf("%q: no error", out)
		}
	}
}

// TestLastNewline checks the fast search against bytes.LastIndexByte
// around the window it searches first.
func TestLastNewline(t *testing.T) {
	t.Parallel()
	for n := 0; n < 300; n++ {
		for _, at := range []int{-1, 0, 1, n / 2, n - 129, n - 128, n - 127, n - 2, n - 1} {
			b := []byte(strings.Repeat("x", n))
			if at >= 0 && at < n {
				b[at] = '\n'
				if at > 3 {
					b[at-3] = '\n' // an earlier newline must not win
				}
			}
			if got, want := lastNewline(b), bytes.LastIndexByte(b, '\n'); got != want {
				t.Fatalf("len %d, newline at %d: got %d, want %d", n, at, got, want)
			}
		}
	}
}
