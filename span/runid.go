package span

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Resource attributes `llmcheck run` gives every span of its test command
// (through OTEL_RESOURCE_ATTRIBUTES): the run's id and the repetition
// (1..N of --repeat) that produced the span.
const (
	ResourceRunID  = "llmcheck.run.id"
	ResourceRepeat = "llmcheck.repeat"
)

// Repeat returns the repetition of `llmcheck run --repeat` the span was
// recorded in (its resource attribute llmcheck.repeat, a string when it
// came through OTEL_RESOURCE_ATTRIBUTES), or 0 when the span has none. A
// value that is not a whole number from 1 is an error, never a zero.
func (s *Span) Repeat() (int64, error) {
	v, ok := s.Resource[ResourceRepeat]
	if !ok {
		return 0, nil
	}
	var n int64
	switch x := v.(type) {
	case int64:
		n = x
	case float64:
		if x != math.Trunc(x) || x < 1 || x > math.MaxInt32 {
			return 0, fmt.Errorf("resource attribute %s = %v is not a repetition number (1, 2, …)", ResourceRepeat, x)
		}
		n = int64(x)
	case string:
		p, err := strconv.ParseInt(strings.TrimSpace(x), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("resource attribute %s = %q is not a repetition number (1, 2, …)", ResourceRepeat, clipValue(x))
		}
		n = p
	default:
		return 0, fmt.Errorf("resource attribute %s is a %T, not a repetition number (1, 2, …)", ResourceRepeat, v)
	}
	if n < 1 {
		return 0, fmt.Errorf("resource attribute %s = %d is not a repetition number (1, 2, …)", ResourceRepeat, n)
	}
	return n, nil
}

// clipValue keeps an error message about a recorded value short.
func clipValue(s string) string {
	const max = 40
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
