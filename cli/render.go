package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/shipprod/shipprod"
)

// humanObserver renders step events as the lines Spec-Flow users know:
//
//	Creating git tag v2.7.0... ✅
type humanObserver struct {
	mu sync.Mutex
	w  io.Writer
	// open is the step whose "Title... " line awaits its mark.
	open shipprod.StepName
	// skipped are consecutive skipped steps with the same reason, printed
	// as one line: after a block or a failure every later step is skipped
	// for the same reason.
	skipped    []shipprod.StepName
	skipReason string
}

func (o *humanObserver) Observe(e shipprod.Event) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if e.Kind == shipprod.EventSkipped && e.Reason == o.skipReason {
		o.skipped = append(o.skipped, e.Step)
		return
	}
	o.flushSkips()
	switch e.Kind {
	case shipprod.EventStarted:
		o.close()
		fmt.Fprintf(o.w, "%s... ", e.Title)
		o.open = e.Step
	case shipprod.EventFinished:
		if o.open != e.Step {
			o.close()
			fmt.Fprintf(o.w, "%s... ", e.Title)
		}
		o.open = ""
		if e.Reason != "" {
			fmt.Fprintf(o.w, "⚠️  (%s)\n   %s\n", roundDuration(e), e.Reason)
			return
		}
		fmt.Fprintf(o.w, "✅ (%s)\n", roundDuration(e))
	case shipprod.EventFailed:
		if o.open != e.Step {
			o.close()
			fmt.Fprintf(o.w, "%s... ", e.Title)
		}
		o.open = ""
		fmt.Fprintf(o.w, "❌\n%s\n", indent(e.Err.Error(), "   "))
	case shipprod.EventSkipped:
		o.close()
		o.skipped, o.skipReason = []shipprod.StepName{e.Step}, e.Reason
	}
}

// Flush prints what is still held back.
func (o *humanObserver) Flush() {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.flushSkips()
	o.close()
}

func (o *humanObserver) flushSkips() {
	switch len(o.skipped) {
	case 0:
		return
	case 1:
		fmt.Fprintf(o.w, "Skipped %s: %s\n", o.skipped[0], o.skipReason)
	default:
		names := make([]string, len(o.skipped))
		for i, s := range o.skipped {
			names[i] = string(s)
		}
		fmt.Fprintf(o.w, "Skipped %s: %s\n", strings.Join(names, ", "), o.skipReason)
	}
	o.skipped, o.skipReason = nil, ""
}

// close ends a dangling "Title... " line.
func (o *humanObserver) close() {
	if o.open != "" {
		fmt.Fprintln(o.w)
		o.open = ""
	}
}

func roundDuration(e shipprod.Event) string {
	d := e.Duration
	switch {
	case d >= 10e9:
		return d.Round(1e9).String()
	case d >= 1e6:
		return d.Round(1e6).String()
	}
	return d.String()
}

func indent(s, prefix string) string {
	return prefix + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n"+prefix)
}

// jsonObserver writes one JSON object per event (JSON Lines).
type jsonObserver struct {
	mu  sync.Mutex
	enc *json.Encoder
}

func newJSONObserver(w io.Writer) *jsonObserver { return &jsonObserver{enc: json.NewEncoder(w)} }

// jsonEvent is an Event with its error as text.
type jsonEvent struct {
	shipprod.Event
	Error string `json:"error,omitempty"`
}

func (o *jsonObserver) Observe(e shipprod.Event) {
	o.mu.Lock()
	defer o.mu.Unlock()
	je := jsonEvent{Event: e}
	if e.Err != nil {
		je.Error = e.Err.Error()
	}
	o.enc.Encode(je)
}

// result writes v as one JSON line under the key kind, e.g. {"result": …}.
func (o *jsonObserver) result(kind string, v any) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.enc.Encode(map[string]any{kind: v})
}

// printPlan renders a plan for people.
func printPlan(w io.Writer, plan *shipprod.Plan) {
	rel := plan.Release
	switch {
	case rel.Bump == shipprod.BumpNone:
		fmt.Fprintf(w, "Plan: nothing to release")
		if rel.PreviousTag != "" {
			fmt.Fprintf(w, " since %s", rel.PreviousTag)
		}
		fmt.Fprintln(w)
	case rel.PreviousVersion != "":
		fmt.Fprintf(w, "Plan: ship %s (%s bump from %s)\n", rel.Tag, rel.Bump, rel.PreviousTag)
	default:
		fmt.Fprintf(w, "Plan: ship %s (first release)\n", rel.Tag)
	}
	if plan.Note != "" {
		fmt.Fprintf(w, "Note: %s\n", plan.Note)
	}
	for _, warn := range rel.Warnings {
		fmt.Fprintf(w, "Warning: %s\n", warn)
	}
	for _, r := range rel.Reasons {
		fmt.Fprintf(w, "  because %s: %s (%s)\n", r.Source, oneLine(r.Text), r.Bump)
	}
	if plan.Gates.Source != "" {
		fmt.Fprintf(w, "\nGates (%s):\n", plan.Gates.Source)
		for _, n := range plan.Gates.Notes {
			fmt.Fprintf(w, "  note: %s\n", n)
		}
		for _, g := range plan.Gates.Gates {
			if g.Passed {
				fmt.Fprintf(w, "  ✅ %s: %s is %q\n", g.Name, g.Key, g.Found)
			} else {
				fmt.Fprintf(w, "  ❌ %s\n", shipprod.DescribeGate(g))
			}
		}
	}
	fmt.Fprintln(w, "\nSteps:")
	n := 0
	for _, s := range plan.Steps {
		switch {
		case s.Skipped:
			fmt.Fprintf(w, "  - %s: skipped (%s)\n", s.Step, s.Reason)
			continue
		case s.Condition != "":
			fmt.Fprintf(w, "  - %s: %s\n", s.Step, s.Condition)
		default:
			fmt.Fprintf(w, "  - %s\n", s.Step)
		}
		for _, a := range s.Actions {
			if s.Condition == "" {
				n++
				fmt.Fprintf(w, "      %2d. %s\n", n, a.Description)
			} else {
				fmt.Fprintf(w, "          %s\n", a.Description)
			}
		}
	}
	fmt.Fprintf(w, "\n%d actions; nothing has been changed.\n", n)
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
