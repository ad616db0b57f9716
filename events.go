package shipprod

import "time"

// EventKind says what happened to a step.
type EventKind string

// Step event kinds.
const (
	EventStarted  EventKind = "started"
	EventFinished EventKind = "finished"
	EventSkipped  EventKind = "skipped"
	EventFailed   EventKind = "failed"
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
}

// Observer receives step events. It is called synchronously from the
// goroutine running the Pipeline, so it must not block for long.
type Observer interface {
	Observe(Event)
}

// ObserverFunc adapts a function to an Observer.
type ObserverFunc func(Event)

// Observe calls f(e).
func (f ObserverFunc) Observe(e Event) { f(e) }
