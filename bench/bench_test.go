// Package bench holds the speed benchmark of the version decision:
//
//	go test -run '^$' -bench . -benchtime 5x ./bench
//
// BenchmarkDecide generates (once, with git fast-import, into
// $SHIPPROD_BENCH_DIR or $TMPDIR/shipprod-bench) a repository with 100,000
// Conventional Commits since the last of 5,000 release tags, then times
// version.Decide against `git log --format=%B <tag>..HEAD` in the same
// iterations and reports both and their ratio (target ≤ 1.5). For the peak
// memory of a process that only decides, run `go run ./bench/cmd/versionbench`.
// Plain `go test ./...` compiles this file but runs no benchmark.
package bench

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/shipprod/shipprod/bench/repogen"
	"github.com/shipprod/shipprod/version"
)

func benchRepo(b *testing.B, opts repogen.Options) repogen.Info {
	b.Helper()
	dir := os.Getenv("SHIPPROD_BENCH_DIR")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "shipprod-bench")
	}
	info, err := repogen.Cached(context.Background(), dir, opts)
	if err != nil {
		b.Fatal(err)
	}
	for _, kv := range repogen.Env() {
		if k, v, ok := strings.Cut(kv, "="); ok && (k == "GIT_CONFIG_GLOBAL" || k == "GIT_CONFIG_NOSYSTEM") {
			b.Setenv(k, v)
		}
	}
	return info
}

// BenchmarkDecide is the speed target: 100,000 commits since the
// last of 5,000 tags.
func BenchmarkDecide(b *testing.B) {
	benchmarkDecide(b, repogen.Options{})
}

// BenchmarkDecideSmall is the same on 10,000 commits and 500 tags.
func BenchmarkDecideSmall(b *testing.B) {
	benchmarkDecide(b, repogen.Options{Commits: 10000, OldTags: 500})
}

func benchmarkDecide(b *testing.B, opts repogen.Options) {
	info := benchRepo(b, opts)
	v, err := version.New(version.Config{}, version.Options{Dir: info.Dir})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		b.Fatal(err)
	}
	defer null.Close()

	var logTime, decideTime time.Duration
	var peakHeap uint64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		cmd := exec.Command("git", "log", "--format=%B", info.LastTag+"..HEAD")
		cmd.Dir, cmd.Env, cmd.Stdout = info.Dir, repogen.Env(), null
		start := time.Now()
		if err := cmd.Run(); err != nil {
			b.Fatal(err)
		}
		logTime += time.Since(start)

		runtime.GC()
		start = time.Now()
		d, err := v.Decide(ctx)
		decideTime += time.Since(start)
		if err != nil {
			b.Fatal(err)
		}
		if d.Commits != info.Commits || d.Current != info.LastVersion {
			b.Fatalf("decided %s from %d commits, want %s and %d", d.Current, d.Commits, info.LastVersion, info.Commits)
		}
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		peakHeap = max(peakHeap, ms.HeapSys)
	}
	b.StopTimer()
	b.ReportMetric(float64(decideTime.Milliseconds())/float64(b.N), "decide-ms")
	b.ReportMetric(float64(logTime.Milliseconds())/float64(b.N), "gitlog-ms")
	b.ReportMetric(float64(decideTime)/float64(logTime), "ratio")
	b.ReportMetric(float64(peakHeap)/(1<<20), "heap-sys-MB")
}
