// Package testexporter is a small Prometheus exporter for end-to-end tests.
// It simulates the traffic of an HTTP service — requests counted by status
// code and a latency histogram — at a steady rate, with an error share and a
// latency the test sets, and serves the metrics with client_golang for a real
// Prometheus to scrape. Every series carries a run label, so that a test
// queries only its own data on a long-lived server.
//
// Metrics:
//
//	shipprod_test_http_requests_total{run, code}
//	shipprod_test_http_request_duration_seconds{run}   (histogram)
//	shipprod_test_alert{run}                           (1 while SetAlert(true))
package testexporter

import (
	"errors"
	"math"
	"net"
	"net/http"
	"sync"
	"time"

	prom "github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Exporter serves simulated traffic metrics.
type Exporter struct {
	requests *prom.CounterVec
	latency  prom.Histogram
	alert    prom.Gauge
	srv      *http.Server
	ln       net.Listener

	mu         sync.Mutex
	errorShare float64
	latencySec float64

	stop chan struct{}
	done sync.WaitGroup
}

// RequestsPerTick is how many requests each 10 ms tick simulates.
const RequestsPerTick = 10

// Start serves /metrics on addr (host:port) and starts the traffic: no
// errors, 20 ms per request.
func Start(addr, run string) (*Exporter, error) {
	reg := prom.NewRegistry()
	labels := prom.Labels{"run": run}
	e := &Exporter{
		requests: prom.NewCounterVec(prom.CounterOpts{Name: "shipprod_test_http_requests_total", Help: "Simulated HTTP requests.", ConstLabels: labels}, []string{"code"}),
		latency: prom.NewHistogram(prom.HistogramOpts{Name: "shipprod_test_http_request_duration_seconds", Help: "Simulated request latency.",
			ConstLabels: labels, Buckets: []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1}}),
		alert:      prom.NewGauge(prom.GaugeOpts{Name: "shipprod_test_alert", Help: "1 while the test wants its alert to fire.", ConstLabels: labels}),
		latencySec: 0.02,
		stop:       make(chan struct{}),
	}
	reg.MustRegister(e.requests, e.latency, e.alert)
	// Both series exist from the start, so that an error ratio is 0, not
	// "no data", before the first error.
	e.requests.WithLabelValues("200")
	e.requests.WithLabelValues("500")

	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	e.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	e.ln = ln
	e.done.Add(2)
	go func() {
		defer e.done.Done()
		if err := e.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			panic(err)
		}
	}()
	go e.traffic()
	return e, nil
}

// Addr is the address the exporter listens on.
func (e *Exporter) Addr() string { return e.ln.Addr().String() }

func (e *Exporter) traffic() {
	defer e.done.Done()
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-e.stop:
			return
		case <-t.C:
		}
		e.mu.Lock()
		share, lat := e.errorShare, e.latencySec
		e.mu.Unlock()
		errs := int(math.Round(share * RequestsPerTick))
		e.requests.WithLabelValues("500").Add(float64(errs))
		e.requests.WithLabelValues("200").Add(float64(RequestsPerTick - errs))
		for range RequestsPerTick {
			e.latency.Observe(lat)
		}
	}
}

// SetErrorShare sets the share of requests (0-1) answered 500.
func (e *Exporter) SetErrorShare(share float64) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.errorShare = share
}

// SetLatency sets the latency every request observes.
func (e *Exporter) SetLatency(d time.Duration) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.latencySec = d.Seconds()
}

// SetAlert sets shipprod_test_alert, which the test Prometheus's rule turns
// into the critical alert ShipprodTestCritical.
func (e *Exporter) SetAlert(on bool) {
	if on {
		e.alert.Set(1)
	} else {
		e.alert.Set(0)
	}
}

// Close stops the traffic and the server.
func (e *Exporter) Close() error {
	close(e.stop)
	err := e.srv.Close()
	e.done.Wait()
	return err
}
