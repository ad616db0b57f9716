// Command versionbench measures how long deciding the next version takes
// on a large generated repository, against plain
// `git log --format=%B <tag>..HEAD` on the same repository, and the peak
// memory of the process that decides.
//
//	go run ./bench/cmd/versionbench                      # 100,000 commits, 5,000 tags
//	go run ./bench/cmd/versionbench -commits 20000 -runs 3
//
// The repository is generated once with git fast-import into -dir (default
// $TMPDIR/shipprod-bench) and reused. Each run times the git log baseline
// (output to /dev/null) and then the decision in a fresh child process,
// which reports its own time and peak resident memory (VmHWM), so the
// memory figure is that of a process doing nothing but deciding. The
// medians and their ratio are printed; the target is a ratio ≤ 1.5 and a
// peak under 64 MB.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/shipprod/shipprod/bench/repogen"
	"github.com/shipprod/shipprod/version"
)

type childResult struct {
	Next        string        `json:"next"`
	Bump        string        `json:"bump"`
	Commits     int           `json:"commits"`
	Elapsed     time.Duration `json:"elapsed"`
	PeakRSSKB   int           `json:"peak_rss_kb"`
	GitMaxRSSKB int64         `json:"git_max_rss_kb"`
}

func main() {
	dir := flag.String("dir", filepath.Join(os.TempDir(), "shipprod-bench"), "where the generated repository is kept")
	commits := flag.Int("commits", 100000, "Conventional Commits since the last tag")
	tags := flag.Int("tags", 5000, "older release tags")
	runs := flag.Int("runs", 5, "measurements (the median is reported)")
	noChangelog := flag.Bool("no-changelog", false, "decide without the CHANGELOG, so the notes are generated from the commits")
	child := flag.String("child", "", "internal: decide in this repository and print the result as JSON")
	flag.Parse()
	ctx := context.Background()

	if *child != "" {
		if err := decide(ctx, *child, *noChangelog); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		return
	}

	fmt.Printf("repository: %d commits since the last of %d tags (generated once into %s)\n", *commits, *tags, *dir)
	start := time.Now()
	info, err := repogen.Cached(ctx, *dir, repogen.Options{Commits: *commits, OldTags: *tags})
	if err != nil {
		fail(err)
	}
	fmt.Printf("ready in %s: last tag %s\n", time.Since(start).Round(time.Millisecond), info.LastTag)

	self, err := os.Executable()
	if err != nil {
		fail(err)
	}
	var logs, decides []time.Duration
	var last childResult
	peak := 0
	for i := 0; i < *runs; i++ {
		lt, err := gitLog(ctx, info.Dir, info.LastTag)
		if err != nil {
			fail(err)
		}
		res, err := runChild(ctx, self, info.Dir, *noChangelog)
		if err != nil {
			fail(err)
		}
		logs, decides, last = append(logs, lt), append(decides, res.Elapsed), res
		peak = max(peak, res.PeakRSSKB)
		fmt.Printf("run %d: git log %s, decide %s (%s → %s), peak RSS %.1f MB\n", i+1, ms(lt), ms(res.Elapsed), info.LastVersion, res.Next, float64(res.PeakRSSKB)/1024)
	}
	ml, md := median(logs), median(decides)
	fmt.Printf("\ngit log --format=%%B %s..HEAD  median %s\n", info.LastTag, ms(ml))
	fmt.Printf("version.Decide                  median %s  (next %s, %s bump, %d commits)\n", ms(md), last.Next, last.Bump, last.Commits)
	fmt.Printf("ratio                           %.2f× (target ≤ 1.5×)\n", float64(md)/float64(ml))
	fmt.Printf("peak RSS of the deciding process %.1f MB (target < 64 MB); git log's own peak %.1f MB\n", float64(peak)/1024, float64(last.GitMaxRSSKB)/1024)
}

// gitLog times the baseline, its output thrown away as `> /dev/null` would.
func gitLog(ctx context.Context, dir, tag string) (time.Duration, error) {
	null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		return 0, err
	}
	defer null.Close()
	cmd := exec.CommandContext(ctx, "git", "log", "--format=%B", tag+"..HEAD")
	cmd.Dir, cmd.Env, cmd.Stdout = dir, repogen.Env(), null
	start := time.Now()
	err = cmd.Run()
	return time.Since(start), err
}

func runChild(ctx context.Context, self, dir string, noChangelog bool) (childResult, error) {
	cmd := exec.CommandContext(ctx, self, "-child", dir, fmt.Sprintf("-no-changelog=%v", noChangelog))
	cmd.Env = repogen.Env()
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return childResult{}, fmt.Errorf("deciding: %w", err)
	}
	var res childResult
	return res, json.Unmarshal(out, &res)
}

// decide runs in the child process.
func decide(ctx context.Context, dir string, noChangelog bool) error {
	cfg := version.Config{}
	if noChangelog {
		cfg.Changelog = "-"
	}
	v, err := version.New(cfg, version.Options{Dir: dir})
	if err != nil {
		return err
	}
	start := time.Now()
	d, err := v.Decide(ctx)
	elapsed := time.Since(start)
	if err != nil {
		return err
	}
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_CHILDREN, &ru)
	return json.NewEncoder(os.Stdout).Encode(childResult{Next: d.Next, Bump: string(d.Bump), Commits: d.Commits,
		Elapsed: elapsed, PeakRSSKB: vmHWM(), GitMaxRSSKB: ru.Maxrss})
}

// vmHWM is this process's peak resident set size in kB (Linux).
func vmHWM() int {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			var kb int
			fmt.Sscan(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), &kb)
			return kb
		}
	}
	return 0
}

func median(ds []time.Duration) time.Duration {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.0f ms", float64(d)/float64(time.Millisecond)) }

func fail(err error) {
	fmt.Fprintln(os.Stderr, "versionbench:", err)
	os.Exit(1)
}
