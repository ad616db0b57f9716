package cli

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/shipprod/shipprod"
)

// humanObserver renders step events as the lines Spec-Flow users know,
//
//	Creating git tag v2.7.0... ✅ done (55ms)
//
// with what a step finds while it runs (a health check, a monitor
// measurement) on lines of its own below the step's title:
//
//	Running health checks...
//	  ✅ api (http https://x/api/health): 200 OK in 41ms
//	Running health checks... ✅ done (44ms)
//
// On a terminal the step that runs is the live line — its title, how long
// it has run and, for a timed wait such as the monitor's window, how long is
// left and the last measurement — and passing measurements only update it;
// off a terminal every measurement is a line. Inside GitHub Actions the
// measurements of a timed wait are folded into a log group.
type humanObserver struct {
	mu sync.Mutex
	// w is where a plain console writes when c is nil.
	w io.Writer
	c *console
	// now reads the clock for the live line (time.Now when nil).
	now func() time.Time
	// groups folds timed measurements into GitHub Actions log groups.
	groups bool
	step   *runningStep
	// skipped are consecutive skipped steps with the same reason, printed
	// as one line: after a block or a failure every later step is skipped
	// for the same reason.
	skipped    []shipprod.StepName
	skipReason string
}

// runningStep is the step that started and has not ended.
type runningStep struct {
	name  shipprod.StepName
	title string
	since time.Time
	// last is the step's last progress, received at lastAt.
	last   *shipprod.Progress
	lastAt time.Time
	// headed: its title was written as a line of its own (on a terminal);
	// grouped: a GitHub Actions log group is open.
	headed, grouped bool
}

func (o *humanObserver) console() *console {
	if o.c == nil {
		o.c = &console{w: o.w}
	}
	return o.c
}

func (o *humanObserver) clock() time.Time {
	if o.now == nil {
		return time.Now()
	}
	return o.now()
}

func (o *humanObserver) Observe(e shipprod.Event) {
	o.mu.Lock()
	defer o.mu.Unlock()
	c := o.console()
	if e.Kind == shipprod.EventSkipped && len(o.skipped) > 0 && e.Reason == o.skipReason {
		o.skipped = append(o.skipped, e.Step)
		return
	}
	o.flushSkips(c)
	switch e.Kind {
	case shipprod.EventStarted:
		o.endStep(c)
		o.step = &runningStep{name: e.Step, title: e.Title, since: o.clock()}
		if c.tty {
			c.setLive(o.liveLine(o.clock()))
		} else {
			c.begin(e.Title + "... ")
		}
	case shipprod.EventProgress:
		o.progress(c, e)
	case shipprod.EventFinished, shipprod.EventFailed:
		o.finish(c, e)
	case shipprod.EventSkipped:
		o.endStep(c)
		o.skipped, o.skipReason = []shipprod.StepName{e.Step}, e.Reason
	}
}

// progress shows what a step found while it runs.
func (o *humanObserver) progress(c *console, e shipprod.Event) {
	if e.Progress == nil {
		return
	}
	p := *e.Progress
	s := o.step
	if s == nil || s.name != e.Step {
		c.line(progressLine(c.style, p, true))
		return
	}
	s.last, s.lastAt = &p, o.clock()
	passing := p.Status != shipprod.HealthFail && p.Status != shipprod.HealthWarn
	if c.tty && timed(p) && passing {
		c.setLive(o.liveLine(s.lastAt))
		return
	}
	switch {
	case c.tty && !s.headed:
		c.line(s.title + "...")
		s.headed = true
	case !c.tty && o.groups && timed(p) && !s.grouped:
		c.command("::group::" + escapeData(s.title+": measurements"))
		s.grouped = true
	}
	c.line(progressLine(c.style, p, !c.tty))
	if c.tty {
		c.setLive(o.liveLine(s.lastAt))
	}
}

// finish writes a step's mark: on its open line when it is still open,
// else on a line that says the title again.
func (o *humanObserver) finish(c *console, e shipprod.Event) {
	s := o.step
	o.step = nil
	mark, detail := stepMark(c.style, e)
	if s != nil && s.grouped {
		c.command("::endgroup::")
	}
	switch {
	case c.tty:
		c.setLive("")
		c.line(e.Title + "... " + mark)
	case s == nil || s.name != e.Step || !c.end(mark):
		c.line(e.Title + "... " + mark)
	}
	if detail != "" {
		c.line(detail)
	}
}

// stepMark says how a step ended, in words as well as a mark.
func stepMark(st style, e shipprod.Event) (mark, detail string) {
	took := st.dim("(" + roundDuration(e) + ")")
	switch {
	case e.Kind == shipprod.EventFailed:
		if e.Err != nil {
			detail = st.red(indent(e.Err.Error(), "   "))
		}
		return st.red("❌ failed") + " " + took, detail
	case e.Reason != "":
		return st.yellow("⚠️  done, with a warning") + " " + took, st.yellow(indent(e.Reason, "   "))
	}
	return st.green("✅ done") + " " + took, ""
}

// progressLine is one progress report as a line, e.g.
// "  ✅ api (http https://x/health): 200 OK in 41ms"; withTiming adds how
// far a timed wait is.
func progressLine(st style, p shipprod.Progress, withTiming bool) string {
	msg := oneLine(p.Message)
	var line string
	switch p.Status {
	case shipprod.HealthPass:
		line = st.green("  ✅ " + msg)
	case shipprod.HealthWarn:
		line = st.yellow("  ⚠️  warning: " + msg)
	case shipprod.HealthFail:
		line = st.red("  ❌ failed: " + msg)
	default:
		line = "  - " + msg
	}
	if withTiming && timed(p) {
		line += " " + st.dim(fmt.Sprintf("(%s elapsed, %s left)", clockDuration(p.Elapsed), clockDuration(p.Remaining)))
	}
	return line
}

// liveLine is the running step's live line at now: its title, how long it
// has run (and, for a timed wait, how long is left) and its last news, cut
// to the terminal's width.
func (o *humanObserver) liveLine(now time.Time) string {
	s, c := o.step, o.console()
	var when string
	if s.last != nil && timed(*s.last) {
		since := now.Sub(s.lastAt)
		when = fmt.Sprintf("%s elapsed, %s left", clockDuration(s.last.Elapsed+since), clockDuration(max(s.last.Remaining-since, 0)))
	} else {
		when = clockDuration(now.Sub(s.since))
	}
	detail := when
	if s.last != nil {
		detail += " · " + oneLine(s.last.Message)
	}
	room := c.width - 1
	if room < 20 {
		room = 79
	}
	// The title keeps what it needs as long as the clock keeps room.
	head := fit(s.title+"... ", max(room-20, room/2))
	return head + c.style.dim(fit(detail, room-cells(head)))
}

// tick redraws the live line at now, so that its clock moves between
// events.
func (o *humanObserver) tick(now time.Time) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if c := o.console(); c.tty && o.step != nil {
		c.setLive(o.liveLine(now))
	}
}

// ticking redraws o's live line every second on a terminal, so that its
// clock moves between events; the function it returns stops it.
func (o *humanObserver) ticking() (stop func()) {
	if !o.console().tty {
		return func() {}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	ticker := time.NewTicker(time.Second)
	wg.Go(func() {
		defer ticker.Stop()
		for {
			select {
			case <-done:
				return
			case now := <-ticker.C:
				o.tick(now)
			}
		}
	})
	return func() {
		close(done)
		wg.Wait()
	}
}

// Flush prints what is still held back and ends a step left running.
func (o *humanObserver) Flush() {
	o.mu.Lock()
	defer o.mu.Unlock()
	c := o.console()
	o.flushSkips(c)
	o.endStep(c)
}

// endStep ends the display of a step that ended without its event.
func (o *humanObserver) endStep(c *console) {
	if o.step == nil {
		return
	}
	if o.step.grouped {
		c.command("::endgroup::")
	}
	o.step = nil
	c.setLive("")
	c.end("")
}

func (o *humanObserver) flushSkips(c *console) {
	if len(o.skipped) == 0 {
		return
	}
	names := make([]string, len(o.skipped))
	for i, s := range o.skipped {
		names[i] = string(s)
	}
	c.line(fmt.Sprintf("Skipped %s: %s", strings.Join(names, ", "), o.skipReason))
	o.skipped, o.skipReason = nil, ""
}

// clockDuration is d to the second, as a person reads a clock: 0s, 45s,
// 1m12s, 1h0m0s.
func clockDuration(d time.Duration) string { return max(d, 0).Round(time.Second).String() }

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
