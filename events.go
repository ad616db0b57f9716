package shipprod

import (
	"context"
	"time"
)

// EventKind says what happened to a step.
type EventKind string

// Step event kinds.
const (
	EventStarted  EventKind = "started"
	EventFinished EventKind = "finished"
	EventSkipped  EventKind = "skipped"
	EventFailed   EventKind = "failed"
	// EventProgress tells something a step found while it runs: a health
	// check that finished, a monitor measurement (see ReportProgress).
	EventProgress EventKind = "progress"
)

// Event reports progress of one pipeline step to an Observer.
type Event struct {
	Step StepName  `json:"step"`
	Kind EventKind `json:"event"`
	// Title is the step's human line, e.g. "Creating git tag v2.7.0".
	Title string    `json:"title"`
	Time  time.Time `json:"time"`
	// Duration is set on finished and failed events.
	Duration time.Duration `json:"duration,omitempty"`
	// Reason says why a step was skipped, or a warning on a finished step.
	Reason string `json:"reason,omitempty"`
	// Err is the failure of a failed event.
	Err error `json:"-"`
	// Actions are the side effects the step makes (on started events).
	Actions []Action `json:"actions,omitempty"`
	// Progress is set on progress events.
	Progress *Progress `json:"progress,omitempty"`
}

// Progress is something a step tells while it runs.
type Progress struct {
	// Message says it for a human, e.g. "api (http https://x/health): 200 OK".
	Message string `json:"message"`
	// Status is pass, warn or fail for a result, "" for plain news.
	Status HealthStatus `json:"status,omitempty"`
	// Elapsed and Remaining time a long wait, such as the monitor's window.
	Elapsed   time.Duration `json:"elapsed,omitempty"`
	Remaining time.Duration `json:"remaining,omitempty"`
}

type progressKey struct{}

// ReportProgress tells the Pipeline's Observer, as an EventProgress of the
// step that runs, something an implementation found while it works. ctx is
// the context the step was given; outside a Pipeline run it does nothing.
// It is safe to call from several goroutines.
func ReportProgress(ctx context.Context, p Progress) {
	if f, ok := ctx.Value(progressKey{}).(func(Progress)); ok {
		f(p)
	}
}

// withProgress returns ctx carrying f for ReportProgress.
func withProgress(ctx context.Context, f func(Progress)) context.Context {
	return context.WithValue(ctx, progressKey{}, f)
}

// Observer receives step events. It is called synchronously, never
// concurrently (progress may come from the goroutines of a step, one event
// at a time), so it must not block for long.
type Observer interface {
	Observe(Event)
}

// ObserverFunc adapts a function to an Observer.
type ObserverFunc func(Event)

// Observe calls f(e).
func (f ObserverFunc) Observe(e Event) { f(e) }

// Observers returns an Observer that passes each event to every non-nil
// observer, in order.
func Observers(os ...Observer) Observer {
	return ObserverFunc(func(e Event) {
		for _, o := range os {
			if o != nil {
				o.Observe(e)
			}
		}
	})
}
