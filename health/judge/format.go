package judge

import (
	"math"
	"strconv"
	"time"
)

// formatter renders values of one metric in its unit for reasons. The
// units are those of the monitor's gates.
type formatter struct{ unit string }

// value renders v: a ratio as a percentage ("3.2%"), seconds and
// milliseconds as durations ("312ms"), anything else as a number followed
// by the unit.
func (f formatter) value(v float64) string {
	switch f.unit {
	case "ratio":
		return num(v*100) + "%"
	case "percent":
		return num(v) + "%"
	case "seconds", "s":
		return duration(v * float64(time.Second))
	case "ms":
		return duration(v * float64(time.Millisecond))
	case "":
		return num(v)
	}
	return num(v) + " " + f.unit
}

// delta renders a difference with its sign; a ratio's or percentage's
// difference in percentage points.
func (f formatter) delta(v float64) string {
	sign := ""
	if v > 0 {
		sign = "+"
	}
	switch f.unit {
	case "ratio":
		return sign + num(v*100) + "pp"
	case "percent":
		return sign + num(v) + "pp"
	}
	return sign + f.value(v)
}

// num rounds to 4 significant digits and drops trailing zeros.
func num(v float64) string {
	switch {
	case v == 0:
		return "0"
	case math.Abs(v) >= 1e4:
		return strconv.FormatFloat(math.Round(v), 'f', -1, 64)
	}
	return strconv.FormatFloat(v, 'g', 4, 64)
}

// percentText renders a share (0.98) as a percentage ("98%").
func percentText(share float64) string { return num(share*100) + "%" }

func duration(ns float64) string {
	d := time.Duration(ns)
	abs := d.Abs()
	switch {
	case abs >= time.Second:
		return d.Round(10 * time.Millisecond).String()
	case abs >= time.Millisecond:
		return d.Round(100 * time.Microsecond).String()
	default:
		return d.Round(time.Microsecond).String()
	}
}
