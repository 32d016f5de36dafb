package assert

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// FormatMS is the one duration format of llmcheck's messages and reports
// (values in milliseconds): four significant digits without trailing
// zeros, in ms below one second ("0.03627 ms", "5 ms", "41.69 ms",
// "812.5 ms"), in s from one second ("1.495 s", "12.35 s"), so that a value
// next to a budget in ms (1495.2 against 1500) does not read as the budget.
// results.json keeps the exact values.
func FormatMS(ms float64) string {
	switch {
	case math.IsNaN(ms) || math.IsInf(ms, 0):
		return strconv.FormatFloat(ms, 'g', -1, 64) + " ms"
	case ms == 0:
		return "0 ms"
	case math.Abs(ms) < 999.95:
		return sig(ms, 4) + " ms"
	default:
		return sig(ms/1000, 4) + " s"
	}
}

// Sig3 formats x with three significant digits (more for integers of
// more digits), keeping the trailing zeros that make them three.
func Sig3(x float64) string {
	a := math.Abs(x)
	if a == 0 || math.IsNaN(x) || math.IsInf(x, 0) {
		return strconv.FormatFloat(x, 'g', -1, 64)
	}
	d := 2 - int(math.Floor(math.Log10(a)))
	if d < 0 {
		d = 0
	}
	// Rounding can carry into one more digit (999.6 → 1000).
	if r := math.Round(a*math.Pow10(d)) / math.Pow10(d); d > 0 && r >= math.Pow10(3-d) {
		d--
	}
	return strconv.FormatFloat(x, 'f', d, 64)
}

// sig formats x with n significant digits (more for integers of more
// digits), without trailing zeros.
func sig(x float64, n int) string {
	a := math.Abs(x)
	if a == 0 {
		return "0"
	}
	d := n - 1 - int(math.Floor(math.Log10(a)))
	if d < 0 {
		d = 0
	}
	s := strconv.FormatFloat(x, 'f', d, 64)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s
}

// FormatP formats a p-value as benchstat does: "p=0.021", and "p<0.001"
// below 0.001 (a p-value of 2.5e-13 says no more than that).
func FormatP(p float64) string {
	if p < 0.001 {
		return "p<0.001"
	}
	return fmt.Sprintf("p=%.3f", p)
}

// count is "1 span", "2 spans": a number with its singular or plural noun.
func count(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}
