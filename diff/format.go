package diff

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"unicode/utf8"

	"github.com/llmcheck/llmcheck/assert"
	"github.com/llmcheck/llmcheck/internal/safetext"
)

// fmtMS is assert.FormatMS, the one duration format.
func fmtMS(ms float64) string {
	if math.IsNaN(ms) || math.IsInf(ms, 0) {
		return "?"
	}
	return assert.FormatMS(ms)
}

// sig3 is assert.Sig3.
func sig3(x float64) string { return assert.Sig3(x) }

// fmtCount formats a token count or a mean of counts: 512, 51.2, 1.65k,
// 2.31M.
func fmtCount(x float64) string {
	a := math.Abs(x)
	switch {
	case a >= 999_500:
		return sig3(x/1e6) + "M"
	case a >= 999.5:
		return sig3(x/1e3) + "k"
	case a == math.Trunc(a):
		return strconv.FormatFloat(x, 'f', 0, 64)
	default:
		return sig3(x)
	}
}

func fmtUSD(x float64) string { return assert.FormatValue(x, "USD") }

func fmtPercent(ratio float64) string { return fmt.Sprintf("%.1f %%", ratio*100) }

// fmtRel formats a relative change: +38 %, -4.2 %.
func fmtRel(rel float64) string {
	p := rel * 100
	if math.Abs(p) < 9.95 {
		return fmt.Sprintf("%+.1f %%", p)
	}
	return fmt.Sprintf("%+.0f %%", p)
}

func fmtP(p float64) string { return assert.FormatP(p) }

func fmtN(n1, n2 int) string {
	if n1 == n2 {
		return fmt.Sprintf("n=%d", n1)
	}
	return fmt.Sprintf("n=%d+%d", n1, n2)
}

// label is the row name of a metric in the text and Markdown reports.
func (m *Metric) label(k int) string {
	switch m.Name {
	case MetricCount:
		return "count"
	case MetricLatencyP50:
		return "latency p50"
	case MetricLatencyP95:
		return "latency p95"
	case MetricLatencyP99:
		return "latency p99"
	case MetricTTFTP50:
		return "TTFT p50"
	case MetricTTFTP95:
		return "TTFT p95"
	case MetricTokensPerCall:
		return "tokens/call"
	case MetricInputPerCall:
		return "input tokens/call"
	case MetricOutputPerCall:
		return "output tokens/call"
	case MetricTokensTotal:
		return "tokens total"
	case MetricCost:
		return "cost"
	case MetricErrorRate:
		return "errors"
	case MetricHitRate:
		return fmt.Sprintf("hit@%d", k)
	case MetricMRR:
		return fmt.Sprintf("MRR@%d", k)
	}
	if l, ok := evalLabel(m.Name); ok {
		return l
	}
	return m.Name
}

// value formats one side of a metric.
func (m *Metric) value(v float64) string {
	switch m.Name {
	case MetricLatencyP50, MetricLatencyP95, MetricLatencyP99, MetricTTFTP50, MetricTTFTP95:
		return fmtMS(v)
	case MetricCost:
		return fmtUSD(v)
	case MetricErrorRate, MetricHitRate:
		return fmtPercent(v)
	case MetricMRR:
		return fmt.Sprintf("%.2f", v)
	}
	switch m.Unit {
	case "ratio":
		return fmtPercent(v)
	case "score":
		return fmtScore(v)
	}
	return fmtCount(v)
}

// change formats the size of the change: relative for amounts, in
// percentage points for rates, absolute for MRR or when base is 0.
func (m *Metric) change() string {
	switch m.Name {
	case MetricErrorRate, MetricHitRate:
		return fmt.Sprintf("%+.1f pp", m.Delta*100)
	case MetricMRR:
		return fmt.Sprintf("%+.2f", m.Delta)
	}
	switch m.Unit {
	case "ratio":
		return fmt.Sprintf("%+.1f pp", m.Delta*100)
	case "score":
		if m.Delta >= 0 {
			return "+" + fmtScore(m.Delta)
		}
		return fmtScore(m.Delta)
	}
	if m.Rel == nil {
		if m.Name == MetricCost {
			return "+" + fmtUSD(m.Delta)
		}
		return "+" + fmtCount(m.Delta)
	}
	return fmtRel(*m.Rel)
}

// delta is the "vs base" cell: ~ for a tested metric without a
// significant change (or too few samples), an arrow and the change for a
// significant one, the change in parentheses for an untested metric.
func (m *Metric) delta() string {
	if m.Test != nil && !m.Test.Significant {
		return "~"
	}
	if m.Delta == 0 {
		if m.Test != nil {
			return "0 %"
		}
		return ""
	}
	if m.Test == nil {
		return "(" + m.change() + ")"
	}
	return arrow(m.Delta) + " " + m.change()
}

func arrow(d float64) string {
	if d > 0 {
		return "↑"
	}
	return "↓"
}

// note is benchstat's "(p=… n=…)" for the first row of a test.
func (t *Test) note(minSamples int) string {
	if t.TooFew {
		return fmt.Sprintf("too few samples (%s, need %d)", fmtN(t.N1, t.N2), minSamples)
	}
	return fmtP(t.PAdjusted) + " " + fmtN(t.N1, t.N2)
}

// Clipped returns r, or when a string in it (a group key, a model, a span
// or test name) is longer than safetext.MaxRunes runes, a deep copy with
// those strings clipped ("…(N bytes)"): a 10 MB span name is written once,
// clipped, rather than once per mention into the JSON report.
func (r *Report) Clipped() *Report {
	if !hasLong(reflect.ValueOf(r)) {
		return r
	}
	data, err := json.Marshal(r)
	if err != nil {
		return r
	}
	var c Report
	if err := json.Unmarshal(data, &c); err != nil {
		return r
	}
	clipAll(reflect.ValueOf(&c))
	return &c
}

// hasLong reports whether v holds a string longer than safetext.MaxRunes
// runes.
func hasLong(v reflect.Value) bool {
	found := false
	walkStrings(v, func(s reflect.Value) {
		if !found && utf8.RuneCountInString(s.String()) > safetext.MaxRunes {
			found = true
		}
	})
	return found
}

func clipAll(v reflect.Value) {
	walkStrings(v, func(s reflect.Value) {
		if s.CanSet() {
			s.SetString(safetext.Clip(s.String(), safetext.MaxRunes))
		}
	})
}

// walkStrings calls f on every string reachable from v through pointers,
// structs, slices and arrays (the types of Report).
func walkStrings(v reflect.Value, f func(reflect.Value)) {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			walkStrings(v.Elem(), f)
		}
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() {
				walkStrings(v.Field(i), f)
			}
		}
	case reflect.Slice, reflect.Array:
		for i := 0; i < v.Len(); i++ {
			walkStrings(v.Index(i), f)
		}
	case reflect.String:
		f(v)
	}
}
