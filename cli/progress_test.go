package cli

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shipprod/shipprod"
)

// screen replays what a program wrote to a terminal: text overwrites from
// the cursor, \r returns to the line's start, ESC[K clears to its end, \n
// starts a new line; colour codes are dropped. It returns the lines shown.
func screen(out string) []string {
	lines := []string{""}
	row, col := 0, 0
	rs := []rune(out)
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		switch {
		case r == '\x1b' && i+1 < len(rs) && rs[i+1] == '[':
			j := i + 2
			for j < len(rs) && (rs[j] < '@' || rs[j] > '~') {
				j++
			}
			if j < len(rs) && rs[j] == 'K' {
				lines[row] = string([]rune(lines[row])[:col])
			}
			i = j
		case r == '\r':
			col = 0
		case r == '\n':
			row, col = row+1, 0
			if row == len(lines) {
				lines = append(lines, "")
			}
		default:
			line := []rune(lines[row])
			for len(line) < col {
				line = append(line, ' ')
			}
			if col < len(line) {
				line[col] = r
			} else {
				line = append(line, r)
			}
			lines[row] = string(line)
			col++
		}
	}
	return lines
}

// fakeClock is the renderer's clock in tests.
type fakeClock struct{ now time.Time }

func (c *fakeClock) Now() time.Time { return c.now }

// healthAndMonitor is a run's events from the deploy to the end of the
// monitor's window, with a failing rollback after it.
func healthAndMonitor(clock *fakeClock) []func(*humanObserver) {
	at := time.Date(2026, 10, 1, 12, 0, 0, 0, time.UTC)
	ev := func(e shipprod.Event) func(*humanObserver) {
		return func(o *humanObserver) { e.Time = at; o.Observe(e) }
	}
	advance := func(d time.Duration) func(*humanObserver) {
		return func(*humanObserver) { clock.now = clock.now.Add(d) }
	}
	health, monitor := "Running health checks", "Monitoring production"
	return []func(*humanObserver){
		ev(shipprod.Event{Step: shipprod.StepDeploy, Kind: shipprod.EventStarted, Title: "Deploying v1.3.0 to production"}),
		advance(24 * time.Millisecond),
		ev(shipprod.Event{Step: shipprod.StepDeploy, Kind: shipprod.EventFinished, Title: "Deploying v1.3.0 to production", Duration: 24 * time.Millisecond}),
		ev(shipprod.Event{Step: shipprod.StepHealth, Kind: shipprod.EventStarted, Title: health}),
		ev(shipprod.Event{Step: shipprod.StepHealth, Kind: shipprod.EventProgress, Title: health,
			Progress: &shipprod.Progress{Message: "api (http https://x/api/health): 200 OK in 41ms", Status: shipprod.HealthPass}}),
		ev(shipprod.Event{Step: shipprod.StepHealth, Kind: shipprod.EventProgress, Title: health,
			Progress: &shipprod.Progress{Message: "db (tcp db:5432): connected in 3ms", Status: shipprod.HealthPass}}),
		ev(shipprod.Event{Step: shipprod.StepHealth, Kind: shipprod.EventFinished, Title: health, Duration: 44 * time.Millisecond}),
		ev(shipprod.Event{Step: shipprod.StepMonitor, Kind: shipprod.EventStarted, Title: monitor}),
		advance(30 * time.Second),
		ev(shipprod.Event{Step: shipprod.StepMonitor, Kind: shipprod.EventProgress, Title: monitor,
			Progress: &shipprod.Progress{Message: "errors: 0.1% vs 1%", Status: shipprod.HealthPass, Elapsed: 30 * time.Second, Remaining: 150 * time.Second}}),
		advance(30 * time.Second),
		ev(shipprod.Event{Step: shipprod.StepMonitor, Kind: shipprod.EventProgress, Title: monitor,
			Progress: &shipprod.Progress{Message: "errors: 3.2% vs 1%", Status: shipprod.HealthFail, Elapsed: time.Minute, Remaining: 2 * time.Minute}}),
		ev(shipprod.Event{Step: shipprod.StepMonitor, Kind: shipprod.EventFailed, Title: monitor, Duration: time.Minute, Err: errors.New("gate errors failed")}),
	}
}

// Off a terminal (a CI log) every line stays as it was written: each
// health check and each measurement on its own line, and a step whose
// "Title... " line was ended by them says its title again with its mark.
func TestProgressOffATerminal(t *testing.T) {
	clock := &fakeClock{now: time.Date(2026, 10, 1, 12, 0, 0, 0, time.UTC)}
	var out bytes.Buffer
	o := &humanObserver{c: &console{w: &out}, now: clock.Now}
	for _, step := range healthAndMonitor(clock) {
		step(o)
	}
	o.Flush()
	want := `Deploying v1.3.0 to production... ✅ done (24ms)
Running health checks... 
  ✅ api (http https://x/api/health): 200 OK in 41ms
  ✅ db (tcp db:5432): connected in 3ms
Running health checks... ✅ done (44ms)
Monitoring production... 
  ✅ errors: 0.1% vs 1% (30s elapsed, 2m30s left)
  ❌ failed: errors: 3.2% vs 1% (1m0s elapsed, 2m0s left)
Monitoring production... ❌ failed (1m0s)
   gate errors failed
`
	assert.Equal(t, want, out.String())
	assert.NotContains(t, out.String(), "\x1b", "no colour and no cursor control off a terminal")
}

// On a terminal the running step is one live line, rewritten in place:
// its title, the time passed and left, and its last measurement, within
// the terminal's width. Passing measurements only update it; what is left
// on the screen at the end is the same record as in a CI log, less the
// passing measurements.
func TestProgressOnATerminal(t *testing.T) {
	clock := &fakeClock{now: time.Date(2026, 10, 1, 12, 0, 0, 0, time.UTC)}
	var out bytes.Buffer
	o := &humanObserver{c: &console{w: &out, tty: true, width: 60}, now: clock.Now}
	steps := healthAndMonitor(clock)
	for _, step := range steps[:10] { // up to the first measurement
		step(o)
	}
	shown := screen(out.String())
	live := shown[len(shown)-1]
	assert.Equal(t, "Monitoring production... 30s elapsed, 2m30s left · errors:…", live)
	assert.LessOrEqual(t, cells(live), 59, "the live line fits the terminal")

	clock.now = clock.now.Add(12 * time.Second)
	o.tick(clock.now)
	shown = screen(out.String())
	assert.Contains(t, shown[len(shown)-1], "42s elapsed, 2m18s left", "the live line's clock moves between events")

	for _, step := range steps[10:] {
		step(o)
	}
	o.Flush()
	assert.Equal(t, []string{
		"Deploying v1.3.0 to production... ✅ done (24ms)",
		"Running health checks...",
		"  ✅ api (http https://x/api/health): 200 OK in 41ms",
		"  ✅ db (tcp db:5432): connected in 3ms",
		"Running health checks... ✅ done (44ms)",
		"Monitoring production...",
		"  ❌ failed: errors: 3.2% vs 1%",
		"Monitoring production... ❌ failed (1m0s)",
		"   gate errors failed",
		"",
	}, screen(out.String()))
}

// Colour only where it was asked for: a terminal, NO_COLOR unset (any
// non-empty value disables it), TERM not dumb, no --no-color.
func TestColour(t *testing.T) {
	env := func(kv ...string) func(string) string {
		return func(k string) string {
			for i := 0; i < len(kv); i += 2 {
				if kv[i] == k {
					return kv[i+1]
				}
			}
			return ""
		}
	}
	tests := []struct {
		name    string
		tty     bool
		noColor bool
		getenv  func(string) string
		want    bool
	}{
		{"a terminal", true, false, env("TERM", "xterm-256color"), true},
		{"not a terminal", false, false, env("TERM", "xterm-256color"), false},
		{"NO_COLOR=1", true, false, env("NO_COLOR", "1", "TERM", "xterm"), false},
		{"NO_COLOR=0 disables too", true, false, env("NO_COLOR", "0"), false},
		{"NO_COLOR empty does not", true, false, env("NO_COLOR", ""), true},
		{"--no-color", true, true, env(), false},
		{"TERM=dumb", true, false, env("TERM", "dumb"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, colorWanted(tt.tty, tt.noColor, tt.getenv))
		})
	}

	render := func(on bool) string {
		var out bytes.Buffer
		o := &humanObserver{c: &console{w: &out, tty: true, width: 80, style: style{on: on}}}
		clock := &fakeClock{now: time.Now()}
		o.now = clock.Now
		for _, step := range healthAndMonitor(clock) {
			step(o)
		}
		o.Flush()
		return out.String()
	}
	coloured := render(true)
	assert.Contains(t, coloured, "\x1b[32m✅ done\x1b[0m", "a done step is green")
	assert.Contains(t, coloured, "\x1b[31m❌ failed\x1b[0m", "a failed step is red")
	assert.Contains(t, coloured, "\x1b[2m(24ms)\x1b[0m", "details are dim")
	plain := render(false)
	assert.NotContains(t, plain, "\x1b[3", "no colour")
	assert.Equal(t, screen(plain), screen(coloured), "the words are the same with or without colour")
	for _, line := range screen(plain) {
		if strings.ContainsAny(line, "✅❌⚠") && !strings.HasPrefix(line, "  ✅") {
			assert.Regexp(t, `done|failed|warning`, line, "a mark never says it alone")
		}
	}
}

// A log line written while a live line is shown (the same terminal for
// stdout and stderr) takes the live line's place and the live line comes
// back under it: no line holds both.
func TestLogLinesNeverMixWithProgress(t *testing.T) {
	for _, tty := range []bool{true, false} {
		t.Run(fmt.Sprintf("terminal=%v", tty), func(t *testing.T) {
			var term bytes.Buffer // stdout and stderr on one terminal, or one CI log
			c := &console{w: &term, tty: tty, width: 80}
			clock := &fakeClock{now: time.Date(2026, 10, 1, 12, 0, 0, 0, time.UTC)}
			o := &humanObserver{c: c, now: clock.Now}
			logger := slog.New(slog.NewTextHandler(c.logWriter(&term), &slog.HandlerOptions{
				ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
					if a.Key == slog.TimeKey {
						return slog.Attr{}
					}
					return a
				}}))
			steps := healthAndMonitor(clock)
			for _, step := range steps[:10] {
				step(o)
			}
			logger.Info("polling the metrics source", "gate", "errors")
			for _, step := range steps[10:] {
				step(o)
			}
			o.Flush()
			shown := screen(term.String())
			logLine := `level=INFO msg="polling the metrics source" gate=errors`
			assert.Contains(t, shown, logLine, "the log line is a line of its own")
			for _, line := range shown {
				if strings.Contains(line, "polling") {
					assert.Equal(t, logLine, line)
				}
			}
			assert.Contains(t, shown, "Monitoring production... ❌ failed (1m0s)")
		})
	}
}

// A step with no progress keeps its mark on its title's line, and a
// series of steps skipped for one reason is one line.
func TestStepLines(t *testing.T) {
	var out bytes.Buffer
	o := &humanObserver{w: &out}
	o.Observe(shipprod.Event{Step: shipprod.StepTag, Kind: shipprod.EventStarted, Title: "Creating git tag v1.3.0"})
	o.Observe(shipprod.Event{Step: shipprod.StepTag, Kind: shipprod.EventFinished, Title: "Creating git tag v1.3.0", Duration: 55 * time.Millisecond,
		Reason: "the release exists; reused"})
	o.Observe(shipprod.Event{Step: shipprod.StepDeploy, Kind: shipprod.EventStarted, Title: "Deploying v1.3.0"})
	o.Observe(shipprod.Event{Step: shipprod.StepDeploy, Kind: shipprod.EventFailed, Title: "Deploying v1.3.0", Duration: 2 * time.Second,
		Err: errors.New("push rejected\nthe remote said: frozen")})
	for _, s := range []shipprod.StepName{shipprod.StepHealth, shipprod.StepReport, shipprod.StepMonitor} {
		o.Observe(shipprod.Event{Step: s, Kind: shipprod.EventSkipped, Title: string(s), Reason: "an earlier step failed"})
	}
	o.Flush()
	assert.Equal(t, `Creating git tag v1.3.0... ⚠️  done, with a warning (55ms)
   the release exists; reused
Deploying v1.3.0... ❌ failed (2s)
   push rejected
   the remote said: frozen
Skipped health, report, monitor: an earlier step failed
`, out.String())
}

func TestFit(t *testing.T) {
	assert.Equal(t, "abc", fit("abc", 3))
	assert.Equal(t, "ab…", fit("abcd", 3))
	assert.Equal(t, "✅…", fit("✅✅✅", 4), "an emoji takes two cells")
	assert.Equal(t, 2, cells("⚠️"), "the variation selector takes none")
	require.Equal(t, "", fit("abc", 0))
}
