package cli

import (
	"io"
	"os"
	"strings"
	"sync"

	"golang.org/x/term"
	"golang.org/x/text/width"
)

// console is standard output for people. On a terminal it keeps one live
// line at the bottom — the step that runs, how long it has run and its last
// measurement — rewritten in place with \r; every other line is written
// above it. Off a terminal (CI logs) nothing is rewritten: a step's
// "Title... " waits on its line for its mark, and anything else written
// meanwhile first ends that line.
//
// The log handler writes through logWriter, under the same lock, so that a
// log line never lands in the middle of a progress line.
type console struct {
	mu sync.Mutex
	w  io.Writer
	// tty says w is a terminal; width is its width in cells.
	tty   bool
	width int
	style style
	// live is the live line's text on a terminal ("" when none is shown).
	live string
	// open is set off a terminal when the last text written does not end
	// its line: a step's "Title... " awaiting its mark.
	open bool
	// commands writes GitHub Actions workflow commands past the guard that
	// defuses them in ordinary output (nil off GitHub Actions).
	commands *commandGuard
}

// terminal reports whether w is a terminal and, if so, its width.
func terminal(w io.Writer) (tty bool, cols int) {
	f, ok := w.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return false, 0
	}
	cols, _, err := term.GetSize(int(f.Fd()))
	if err != nil || cols <= 0 {
		cols = 80
	}
	return true, cols
}

// colorWanted says whether a terminal's output is coloured: not when
// NO_COLOR is set to anything (no-color.org), TERM is dumb, or --no-color.
func colorWanted(tty, noColor bool, getenv func(string) string) bool {
	return tty && !noColor && getenv("NO_COLOR") == "" && getenv("TERM") != "dumb"
}

// line writes s, which may hold several lines, as whole lines above the live
// line.
func (c *console) line(s string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.writeLines(s)
}

func (c *console) writeLines(s string) {
	var b strings.Builder
	c.endTransient(&b)
	b.WriteString(s)
	b.WriteByte('\n')
	c.redraw(&b)
	io.WriteString(c.w, b.String())
}

// endTransient clears the live line or ends the open one, so that what
// follows starts a line of its own.
func (c *console) endTransient(b *strings.Builder) {
	switch {
	case c.tty && c.live != "":
		b.WriteString("\r\x1b[K")
	case c.open:
		b.WriteByte('\n')
		c.open = false
	}
}

// redraw shows the live line again after something was written above it.
func (c *console) redraw(b *strings.Builder) {
	if c.tty && c.live != "" {
		b.WriteString(c.live)
	}
}

// begin writes s without ending its line, off a terminal: the mark that
// ends it comes with end.
func (c *console) begin(s string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var b strings.Builder
	c.endTransient(&b)
	b.WriteString(s)
	io.WriteString(c.w, b.String())
	c.open = true
}

// end writes s on the open line and ends it. It reports false, writing
// nothing, when that line was ended by something else meanwhile.
func (c *console) end(s string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.open {
		return false
	}
	io.WriteString(c.w, s+"\n")
	c.open = false
	return true
}

// setLive shows s as the live line, on a terminal; "" removes it.
func (c *console) setLive(s string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.tty || s == c.live {
		return
	}
	var b strings.Builder
	if c.live != "" {
		b.WriteString("\r\x1b[K")
	}
	c.live = s
	b.WriteString(s)
	io.WriteString(c.w, b.String())
}

// fit cuts plain text to n cells, ending it with "…" when cut.
func fit(s string, n int) string {
	if n <= 0 {
		return ""
	}
	if cells(s) <= n {
		return s
	}
	var b strings.Builder
	used, prev := 0, 0
	for _, r := range s {
		w := runeCells(r, prev)
		if used+w > n-1 {
			break
		}
		b.WriteRune(r)
		used, prev = used+w, w
	}
	return b.String() + "…"
}

// cells is the width of plain text on a terminal.
func cells(s string) int {
	n, prev := 0, 0
	for _, r := range s {
		prev = runeCells(r, prev)
		n += prev
	}
	return n
}

// runeCells is the cells r adds after a rune that took prev cells: East
// Asian wide runes and emoji take two, a variation selector that makes
// the rune before it an emoji (⚠️) adds the second cell, controls and
// zero-width runes take none.
func runeCells(r rune, prev int) int {
	switch {
	case r == 0xFE0F:
		if prev == 1 {
			return 1
		}
		return 0
	case r == 0x200B || r == 0x200D || r < 0x20:
		return 0
	}
	switch width.LookupRune(r).Kind() {
	case width.EastAsianWide, width.EastAsianFullwidth:
		return 2
	}
	return 1
}

// command writes a GitHub Actions workflow command on a line of its own.
func (c *console) command(line string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.commands == nil {
		return
	}
	var b strings.Builder
	c.endTransient(&b)
	io.WriteString(c.w, b.String())
	c.commands.command(line)
	var r strings.Builder
	c.redraw(&r)
	io.WriteString(c.w, r.String())
}

// logWriter returns a writer to w (the log's destination, usually stderr)
// that first takes the live or open line out of the way and then puts it
// back, under the console's lock: log lines and progress lines never mix,
// even when stdout and stderr are the same terminal or CI log.
func (c *console) logWriter(w io.Writer) io.Writer { return logWriter{c: c, w: w} }

type logWriter struct {
	c *console
	w io.Writer
}

func (l logWriter) Write(p []byte) (int, error) {
	c := l.c
	c.mu.Lock()
	defer c.mu.Unlock()
	var before strings.Builder
	c.endTransient(&before)
	if before.Len() > 0 {
		io.WriteString(c.w, before.String())
	}
	n, err := l.w.Write(p)
	var after strings.Builder
	c.redraw(&after)
	if after.Len() > 0 {
		io.WriteString(c.w, after.String())
	}
	return n, err
}

// style colours text for a terminal that has colour; its zero value
// leaves text as it is.
type style struct{ on bool }

func (s style) paint(code, text string) string {
	if !s.on || text == "" {
		return text
	}
	return "\x1b[" + code + "m" + text + "\x1b[0m"
}

func (s style) green(t string) string  { return s.paint("32", t) }
func (s style) red(t string) string    { return s.paint("31", t) }
func (s style) yellow(t string) string { return s.paint("33", t) }
func (s style) dim(t string) string    { return s.paint("2", t) }
func (s style) bold(t string) string   { return s.paint("1", t) }
