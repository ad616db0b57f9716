// Command versionbench measures deciding the next version on a large
// generated repository against plain `git log --format=%B <tag>..HEAD` on
// the same repository: wall time, CPU time and the peak memory of the
// process that decides.
//
//	go run ./bench/cmd/versionbench                      # 100,000 commits, 5,000 tags
//	go run ./bench/cmd/versionbench -commits 20000 -runs 3
//
// The repository is generated once with git fast-import into -dir (default
// $TMPDIR/shipprod-bench) and reused. Each run is a pair, in alternating
// order: the git log baseline (output to /dev/null) and the decision in a
// fresh child process that decides and prints the decision as JSON, like
// `shipprod version --json`. Both are whole processes: wall time is
// measured from start to exit, CPU time is user+sys from wait4's rusage,
// which for the deciding child includes the git processes it ran and
// waited for. The child also reports its own time spent in Decide, its
// peak resident memory (VmHWM) and the largest of its git processes'
// (getrusage(RUSAGE_CHILDREN)); the baseline's peak is its own rusage's.
// The medians and their ratios are printed; the targets are a wall ratio
// ≤ 1.2, a CPU ratio ≤ 1.25 and a peak under 64 MB.
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

// childResult is what the deciding child prints.
type childResult struct {
	Decision  *version.Decision `json:"decision"`
	Elapsed   time.Duration     `json:"elapsed"` // in Decide
	PeakRSSKB int               `json:"peak_rss_kb"`
	// GitMaxRSSKB is the largest peak resident set of the git processes
	// the decision ran (getrusage(RUSAGE_CHILDREN) in the child).
	GitMaxRSSKB int64 `json:"git_max_rss_kb"`
}

// usage is one process's cost, measured by the parent from wait4's rusage.
type usage struct {
	wall, cpu time.Duration
	// maxRSSKB is the largest peak resident set of the process and the
	// descendants it waited for, in kB (ru_maxrss on Linux).
	maxRSSKB int64
}

func main() {
	dir := flag.String("dir", filepath.Join(os.TempDir(), "shipprod-bench"), "where the generated repository is kept")
	commits := flag.Int("commits", 100000, "Conventional Commits since the last tag")
	tags := flag.Int("tags", 5000, "older release tags")
	runs := flag.Int("runs", 7, "measurement pairs (the median is reported)")
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
	if err := measure(ctx, self, info, *runs, *noChangelog); err != nil {
		fail(err)
	}
}

// measure runs the pairs and prints each and the medians.
func measure(ctx context.Context, self string, info repogen.Info, runs int, noChangelog bool) error {
	var logs, decides []usage
	var inDecide []time.Duration
	var last childResult
	peak := 0
	var logPeak, decideGitPeak int64
	for i := range runs {
		var lu, du usage
		var res childResult
		var err error
		// Alternate which goes first, so that neither always runs on the
		// caches (or in the load) the other left.
		if i%2 == 0 {
			if lu, err = gitLog(ctx, info.Dir, info.LastTag); err == nil {
				du, res, err = runChild(ctx, self, info.Dir, noChangelog)
			}
		} else {
			if du, res, err = runChild(ctx, self, info.Dir, noChangelog); err == nil {
				lu, err = gitLog(ctx, info.Dir, info.LastTag)
			}
		}
		if err != nil {
			return err
		}
		logs, decides, inDecide, last = append(logs, lu), append(decides, du), append(inDecide, res.Elapsed), res
		peak = max(peak, res.PeakRSSKB)
		logPeak, decideGitPeak = max(logPeak, lu.maxRSSKB), max(decideGitPeak, res.GitMaxRSSKB)
		fmt.Printf("pair %d: git log %s wall %s cpu, version %s wall %s cpu (Decide %s; %s → %s), peak RSS %.1f MB\n",
			i+1, ms(lu.wall), ms(lu.cpu), ms(du.wall), ms(du.cpu), ms(res.Elapsed), res.Decision.Current, res.Decision.Next, float64(res.PeakRSSKB)/1024)
	}
	lw, lc := median(logs, func(u usage) time.Duration { return u.wall }), median(logs, func(u usage) time.Duration { return u.cpu })
	dw, dc := median(decides, func(u usage) time.Duration { return u.wall }), median(decides, func(u usage) time.Duration { return u.cpu })
	d := last.Decision
	fmt.Printf("\nmedians of %d pairs                 wall      cpu (user+sys, with git children)\n", runs)
	fmt.Printf("git log --format=%%B %s..HEAD  %8s  %8s\n", info.LastTag, ms(lw), ms(lc))
	fmt.Printf("version (decide, print JSON)     %8s  %8s  (in Decide %s; next %s, %s bump, %d commits)\n",
		ms(dw), ms(dc), ms(median(inDecide, func(d time.Duration) time.Duration { return d })), d.Next, d.Bump, d.Commits)
	fmt.Printf("ratio of the medians             %7.2f×  %7.2f×  (targets ≤ 1.20× wall, ≤ 1.25× cpu)\n", float64(dw)/float64(lw), float64(dc)/float64(lc))
	// On a busy machine the load shifts between pairs; the ratio within
	// each pair, run back to back, is steadier.
	pw, pc := pairRatios(logs, decides)
	fmt.Printf("median of the pairs' ratios      %7.2f×  %7.2f×\n", pw, pc)
	fmt.Printf("peak RSS of the deciding process %.1f MB (target < 64 MB); of the git processes it ran %.1f MB; of the git log baseline %.1f MB (largest of the %d runs)\n",
		float64(peak)/1024, float64(decideGitPeak)/1024, float64(logPeak)/1024, runs)
	return nil
}

// gitLog runs the baseline, its output thrown away as `> /dev/null` would.
func gitLog(ctx context.Context, dir, tag string) (usage, error) {
	null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		return usage{}, err
	}
	defer null.Close()
	cmd := exec.CommandContext(ctx, "git", "log", "--format=%B", tag+"..HEAD")
	cmd.Dir, cmd.Env, cmd.Stdout = dir, repogen.Env(), null
	start := time.Now()
	err = cmd.Run()
	return usageOf(cmd.ProcessState, time.Since(start)), err
}

// runChild decides in a fresh process.
func runChild(ctx context.Context, self, dir string, noChangelog bool) (usage, childResult, error) {
	cmd := exec.CommandContext(ctx, self, "-child", dir, fmt.Sprintf("-no-changelog=%v", noChangelog))
	cmd.Env = repogen.Env()
	cmd.Stderr = os.Stderr
	start := time.Now()
	out, err := cmd.Output()
	u := usageOf(cmd.ProcessState, time.Since(start))
	if err != nil {
		return u, childResult{}, fmt.Errorf("deciding: %w", err)
	}
	var res childResult
	if err := json.Unmarshal(out, &res); err != nil {
		return u, res, err
	}
	if res.Decision == nil {
		return u, res, fmt.Errorf("deciding: no decision in %q", out)
	}
	return u, res, nil
}

// usageOf is the cost of an exited process that ran for wall: user+sys
// time and peak resident set from wait4's rusage, which covers the process
// and every descendant it waited for (so the deciding child's CPU time
// includes its git processes).
func usageOf(ps *os.ProcessState, wall time.Duration) usage {
	u := usage{wall: wall}
	if ps == nil {
		return u
	}
	ru, ok := ps.SysUsage().(*syscall.Rusage)
	if !ok {
		u.cpu = ps.UserTime() + ps.SystemTime()
		return u
	}
	u.cpu = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	u.maxRSSKB = ru.Maxrss
	return u
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
	if err := syscall.Getrusage(syscall.RUSAGE_CHILDREN, &ru); err != nil {
		return fmt.Errorf("getrusage: %w", err)
	}
	return json.NewEncoder(os.Stdout).Encode(childResult{Decision: d, Elapsed: elapsed, PeakRSSKB: vmHWM(), GitMaxRSSKB: ru.Maxrss})
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

// pairRatios is the median ratio of decide to git log within each pair,
// for wall and CPU time.
func pairRatios(logs, decides []usage) (wall, cpu float64) {
	ws, cs := make([]float64, len(logs)), make([]float64, len(logs))
	for i := range logs {
		ws[i] = float64(decides[i].wall) / float64(logs[i].wall)
		cs[i] = float64(decides[i].cpu) / float64(logs[i].cpu)
	}
	sort.Float64s(ws)
	sort.Float64s(cs)
	return ws[len(ws)/2], cs[len(cs)/2]
}

func median[T any](xs []T, by func(T) time.Duration) time.Duration {
	s := make([]time.Duration, len(xs))
	for i, x := range xs {
		s[i] = by(x)
	}
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.0f ms", float64(d)/float64(time.Millisecond)) }

func fail(err error) {
	fmt.Fprintln(os.Stderr, "versionbench:", err)
	os.Exit(1)
}
