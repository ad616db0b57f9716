// Package shipprodtest provides helpers for testing code built on shipprod:
// a fake Clock that makes a 30-minute monitor window run in milliseconds, a
// Recorder that collects pipeline events, and a Journal in memory. Like net/http/httptest, it is
// shipped next to the API so that importers can test their own steps.
package shipprodtest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/shipprod/shipprod"
)

// Clock is a shipprod.Clock whose time only moves when something sleeps or
// when Advance is called. Sleep returns at once after moving the time
// forward, so code that polls or waits runs as fast as the CPU allows while
// observing the durations it asked for. It is safe for concurrent use;
// concurrent sleepers each move the shared time forward.
type Clock struct {
	mu    sync.Mutex
	now   time.Time
	slept time.Duration
	naps  int
}

var _ shipprod.Clock = (*Clock)(nil)

// NewClock returns a Clock set to start.
func NewClock(start time.Time) *Clock { return &Clock{now: start} }

// Now returns the fake time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Sleep moves the time forward by d and returns, or returns ctx.Err() if ctx
// has ended.
func (c *Clock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if d > 0 {
		c.now = c.now.Add(d)
		c.slept += d
	}
	c.naps++
	return nil
}

// Advance moves the time forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// Slept returns the total time slept and the number of Sleep calls.
func (c *Clock) Slept() (time.Duration, int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.slept, c.naps
}

// Recorder is a shipprod.Observer that keeps every event.
type Recorder struct {
	mu     sync.Mutex
	events []shipprod.Event
}

var _ shipprod.Observer = (*Recorder)(nil)

// Observe records e.
func (r *Recorder) Observe(e shipprod.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
}

// Events returns the events recorded so far.
func (r *Recorder) Events() []shipprod.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]shipprod.Event(nil), r.events...)
}

// Trace returns the events as "step:kind" strings, e.g. "tag:started",
// which makes the order of a run easy to assert.
func (r *Recorder) Trace() []string {
	var out []string
	for _, e := range r.Events() {
		out = append(out, fmt.Sprintf("%s:%s", e.Step, e.Kind))
	}
	return out
}

// Buffer is an io.Writer that is safe for concurrent use, for capturing the
// logs of code under test (and checking that no secret reached them).
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p.
func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

// String returns everything written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// Journal is a shipprod.Journal in memory. It keeps what it is given as
// JSON, as a file would, so that a resumed run shares nothing with the run
// that saved it. It is safe for concurrent use.
type Journal struct {
	// OnSave, when set, is called after each save with what was saved: a
	// test cancels the run's context there to stop it at a chosen point,
	// as a killed process would stop.
	OnSave func(*shipprod.Result)

	mu   sync.Mutex
	data []byte
}

// Load returns the last result saved, or nil when there is none.
func (j *Journal) Load(context.Context) (*shipprod.Result, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.data == nil {
		return nil, nil
	}
	var res shipprod.Result
	if err := json.Unmarshal(j.data, &res); err != nil {
		return nil, fmt.Errorf("shipprodtest: reading the journal: %w", err)
	}
	return &res, nil
}

// Save keeps res, replacing what was saved before.
func (j *Journal) Save(_ context.Context, res *shipprod.Result) error {
	data, err := json.Marshal(res)
	if err != nil {
		return fmt.Errorf("shipprodtest: writing the journal: %w", err)
	}
	j.mu.Lock()
	j.data = data
	j.mu.Unlock()
	if j.OnSave != nil {
		j.OnSave(res)
	}
	return nil
}

var _ shipprod.Journal = (*Journal)(nil)

// CancelOnAccepted is a Journal.OnSave that calls cancel once the run
// journals a deployment the platform accepted (Result.Accepted): the run
// stops right after its deploy started, as a process killed there would. A
// deployer's test then runs the pipeline again and checks that the deploy is
// followed, not started a second time.
func CancelOnAccepted(cancel context.CancelFunc) func(*shipprod.Result) {
	var once sync.Once
	return func(res *shipprod.Result) {
		if res.Accepted != nil {
			once.Do(cancel)
		}
	}
}
