// Package testexporter is a small Prometheus exporter for end-to-end tests.
// It simulates the traffic of an HTTP service — requests counted by status
// code and a latency histogram — at a steady rate, with an error share and a
// latency the test sets, and serves the metrics with client_golang for a real
// Prometheus to scrape. Every series carries a run label, so that a test
// queries only its own data on a long-lived server. AddDeployment adds the
// traffic of another deployment of the service (a canary beside the stable
// release), whose series carry a deployment label.
//
// Metrics:
//
//	shipprod_test_http_requests_total{run, deployment, code}
//	shipprod_test_http_request_duration_seconds{run, deployment}   (histogram)
//	shipprod_test_alert{run}                                       (1 while SetAlert(true))
//
// The exporter's own traffic has no deployment label (an empty value,
// which Prometheus drops).
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
	latency  *prom.HistogramVec
	alert    prom.Gauge
	srv      *http.Server
	ln       net.Listener

	// own is the exporter's own traffic, without a deployment label.
	own *Deployment
	// mu guards the traffic of the deployments, own included.
	mu          sync.Mutex
	deployments []*Deployment

	stop chan struct{}
	done sync.WaitGroup
}

// Deployment is the simulated traffic of one deployment of the service.
type Deployment struct {
	e          *Exporter
	name       string
	errorShare float64
	latencySec float64
}

// RequestsPerTick is how many requests each 10 ms tick simulates.
const RequestsPerTick = 10

// Start serves /metrics on addr (host:port) and starts the traffic: no
// errors, 20 ms per request.
func Start(addr, run string) (*Exporter, error) {
	reg := prom.NewRegistry()
	labels := prom.Labels{"run": run}
	e := &Exporter{
		requests: prom.NewCounterVec(prom.CounterOpts{Name: "shipprod_test_http_requests_total", Help: "Simulated HTTP requests.", ConstLabels: labels},
			[]string{"deployment", "code"}),
		latency: prom.NewHistogramVec(prom.HistogramOpts{Name: "shipprod_test_http_request_duration_seconds", Help: "Simulated request latency.",
			ConstLabels: labels, Buckets: []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1}}, []string{"deployment"}),
		alert: prom.NewGauge(prom.GaugeOpts{Name: "shipprod_test_alert", Help: "1 while the test wants its alert to fire.", ConstLabels: labels}),
		stop:  make(chan struct{}),
	}
	reg.MustRegister(e.requests, e.latency, e.alert)
	e.own = e.AddDeployment("")

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

// AddDeployment starts the traffic of another deployment, RequestsPerTick
// requests each tick like the exporter's own, with no errors and 20 ms per
// request; its series carry deployment=name.
func (e *Exporter) AddDeployment(name string) *Deployment {
	d := &Deployment{e: e, name: name, latencySec: 0.02}
	// Both series exist from the start, so that an error ratio is 0, not
	// "no data", before the first error.
	e.requests.WithLabelValues(name, "200")
	e.requests.WithLabelValues(name, "500")
	e.mu.Lock()
	defer e.mu.Unlock()
	e.deployments = append(e.deployments, d)
	return d
}

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
		deps := make([]Deployment, len(e.deployments))
		for i, d := range e.deployments {
			deps[i] = *d
		}
		e.mu.Unlock()
		for _, d := range deps {
			errs := int(math.Round(d.errorShare * RequestsPerTick))
			e.requests.WithLabelValues(d.name, "500").Add(float64(errs))
			e.requests.WithLabelValues(d.name, "200").Add(float64(RequestsPerTick - errs))
			lat := e.latency.WithLabelValues(d.name)
			for range RequestsPerTick {
				lat.Observe(d.latencySec)
			}
		}
	}
}

// SetErrorShare sets the share of the exporter's own requests (0-1)
// answered 500.
func (e *Exporter) SetErrorShare(share float64) { e.own.SetErrorShare(share) }

// SetLatency sets the latency every request of the exporter's own
// observes.
func (e *Exporter) SetLatency(d time.Duration) { e.own.SetLatency(d) }

// SetErrorShare sets the share of the deployment's requests (0-1)
// answered 500.
func (d *Deployment) SetErrorShare(share float64) {
	d.e.mu.Lock()
	defer d.e.mu.Unlock()
	d.errorShare = share
}

// SetLatency sets the latency every request of the deployment observes.
func (d *Deployment) SetLatency(lat time.Duration) {
	d.e.mu.Lock()
	defer d.e.mu.Unlock()
	d.latencySec = lat.Seconds()
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
