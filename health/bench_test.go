package health_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shipprod/shipprod"
	"github.com/shipprod/shipprod/health"
)

// BenchmarkCheck500HTTP runs 500 HTTP checks with default settings against
// a loopback server that answers each after 50 ms. The target: under 1 s per
// round, with the goroutines bounded by the pool size (Concurrency, default
// 64): per check in flight, one worker, the client connection's two
// goroutines and the loopback server's two — 5 × 64 = 320 at most, where a
// goroutine per check would make 2,500.
//
//	go test -run '^$' -bench Check500HTTP -benchtime 5x ./health/
func BenchmarkCheck500HTTP(b *testing.B) {
	var inFlight, peakInFlight, peakGoroutines atomic.Int64
	raise := func(peak *atomic.Int64, v int64) {
		for p := peak.Load(); v > p && !peak.CompareAndSwap(p, v); p = peak.Load() {
		}
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raise(&peakInFlight, inFlight.Add(1))
		raise(&peakGoroutines, int64(runtime.NumGoroutine()))
		time.Sleep(50 * time.Millisecond)
		inFlight.Add(-1)
		fmt.Fprint(w, "ok")
	}))
	defer srv.Close()

	cfg := health.Config{BaseURL: srv.URL}
	for i := range 500 {
		cfg.Checks = append(cfg.Checks, health.CheckConfig{Name: fmt.Sprintf("page-%03d", i), HTTP: fmt.Sprintf("/page/%d", i)})
	}
	checker, err := health.New(cfg, health.Options{})
	if err != nil {
		b.Fatal(err)
	}
	baseGoroutines := runtime.NumGoroutine()
	var slowest time.Duration
	b.ResetTimer()
	for b.Loop() {
		start := time.Now()
		rep, err := checker.Check(context.Background(), shipprod.Release{Version: "1.0.0"}, shipprod.Deployment{})
		elapsed := time.Since(start)
		if err != nil || !rep.OK() || len(rep.Checks) != 500 {
			b.Fatalf("round failed: err=%v ok=%v checks=%d", err, rep.OK(), len(rep.Checks))
		}
		slowest = max(slowest, elapsed)
	}
	b.StopTimer()
	b.ReportMetric(float64(slowest.Milliseconds()), "slowest-ms")
	b.ReportMetric(float64(peakInFlight.Load()), "peak-in-flight")
	b.ReportMetric(float64(peakGoroutines.Load()-int64(baseGoroutines)), "peak-extra-goroutines")
	if slowest >= time.Second {
		b.Errorf("slowest round of 500 checks took %s, want under 1s", slowest)
	}
	if p := peakInFlight.Load(); p > health.DefaultConcurrency {
		b.Errorf("%d requests in flight, more than the pool size %d", p, health.DefaultConcurrency)
	}
	if extra := peakGoroutines.Load() - int64(baseGoroutines); extra > 5*health.DefaultConcurrency+16 {
		b.Errorf("%d extra goroutines for a pool of %d", extra, health.DefaultConcurrency)
	}
}
