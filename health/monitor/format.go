package monitor

import (
	"math"
	"strconv"
	"time"
)

// formatValue renders a value in its unit for messages: a ratio as a
// percentage ("3.2%"), seconds and milliseconds as durations ("312ms").
func formatValue(v float64, unit string) string {
	switch {
	case math.IsNaN(v):
		return "NaN"
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	}
	switch unit {
	case "ratio":
		return num(v*100) + "%"
	case "percent":
		return num(v) + "%"
	case "seconds":
		return duration(v * float64(time.Second))
	case "ms":
		return duration(v * float64(time.Millisecond))
	}
	return num(v)
}

// formatDelta renders a difference: a ratio's difference in percentage
// points.
func formatDelta(v float64, unit string) string {
	switch unit {
	case "ratio":
		return num(v*100) + " percentage points"
	case "percent":
		return num(v) + " percentage points"
	}
	return formatValue(v, unit)
}

// num rounds to 4 significant digits and drops trailing zeros.
func num(v float64) string {
	if v == 0 {
		return "0"
	}
	if math.Abs(v) >= 1000 {
		return strconv.FormatFloat(math.Round(v), 'f', -1, 64)
	}
	return strconv.FormatFloat(v, 'g', 4, 64)
}

func duration(ns float64) string {
	d := time.Duration(ns)
	switch {
	case d >= time.Second:
		return d.Round(10 * time.Millisecond).String()
	case d >= time.Millisecond:
		return d.Round(100 * time.Microsecond).String()
	default:
		return d.Round(time.Microsecond).String()
	}
}
