package prometheus_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/shipprod/shipprod/health/prometheus"
	"github.com/shipprod/shipprod/health/prometheus/promtest"
)

func ExampleClient_Query() {
	srv := promtest.New() // a fake Prometheus; use the real server's URL
	defer srv.Close()
	srv.Set(`sum(rate(http_requests_total{code=~"5.."}[5m]))`, promtest.Vector(0.25))
	srv.Set(`sum(rate(http_requests_total{code=~"5.."}[5m])`, promtest.Fail(prometheus.ErrBadData, "1:48: parse error: unclosed left parenthesis"))

	c := &prometheus.Client{URL: srv.URL, Timeout: 10 * time.Second}
	res, err := c.Query(context.Background(), `sum(rate(http_requests_total{code=~"5.."}[5m]))`, time.Time{})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(res.Type, res.Samples[0].Value)

	_, err = c.Query(context.Background(), `sum(rate(http_requests_total{code=~"5.."}[5m])`, time.Time{})
	var perr *prometheus.Error
	if errors.As(err, &perr) {
		fmt.Println(perr.Type, perr.StatusCode)
	}
	// Output:
	// vector 0.25
	// bad_data 400
}
