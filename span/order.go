package span

import (
	"fmt"
	"sort"
)

// Clock resolutions recognised in the start times of a trace, coarsest
// first: the OpenTelemetry Node SDK truncates start times to whole
// milliseconds (its end times are start + a precise duration).
var resolutions = []uint64{1_000_000, 100_000, 10_000, 1_000}

// Resolution is the tolerance of a trace's clock: the coarsest of
// resolutions that every start time of spans is a multiple of, or 0
// (nanoseconds) when none is or there are fewer than 2 spans.
func Resolution(spans []*Span) uint64 {
	if len(spans) < 2 {
		return 0
	}
next:
	for _, r := range resolutions {
		for _, s := range spans {
			if s.StartUnixNano%r != 0 {
				continue next
			}
		}
		return r
	}
	return 0
}

// CausalSteps sorts spans, some spans of trace t, in causal and start
// order — by start time, an ancestor before its descendants and, at the
// same start, the one that ends first first — and calls step with each
// maximal run of concurrent spans, in that order. Two spans are
// concurrent when one starts more than the clock's resolution (see
// Resolution, over all spans of t) before the other ends and neither
// contains the other. The slice step gets is reused: copy what it keeps.
//
// The structural comparison of diff and the trajectories of assert
// (trace.tools) order a trace this one way.
func (r *Run) CausalSteps(t *Trace, spans []*Span, step func([]*Span)) {
	tol := Resolution(t.Spans)
	depth := func(s *Span) int {
		d := 0
		for cur := r.Parent(s); cur != nil && d < 1000; cur = r.Parent(cur) {
			d++
		}
		return d
	}
	sorted := true
	for i := 1; i < len(spans); i++ {
		if spans[i].StartUnixNano <= spans[i-1].StartUnixNano {
			sorted = false // ties (or disorder): sort with the full key
			break
		}
	}
	if !sorted {
		depths := make(map[*Span]int, len(spans))
		for _, s := range spans {
			depths[s] = depth(s)
		}
		sort.SliceStable(spans, func(i, j int) bool {
			a, b := spans[i], spans[j]
			if a.StartUnixNano != b.StartUnixNano {
				return a.StartUnixNano < b.StartUnixNano
			}
			if depths[a] != depths[b] {
				return depths[a] < depths[b]
			}
			return a.EndUnixNano < b.EndUnixNano
		})
	}
	ancestor := func(a, s *Span) bool {
		for cur, d := r.Parent(s), 0; cur != nil && d < 1000; cur, d = r.Parent(cur), d+1 {
			if cur == a || cur.SpanID == a.SpanID {
				return true
			}
		}
		return false
	}
	var cur []*Span
	for _, s := range spans {
		concurrent := false
		for _, c := range cur {
			if s.StartUnixNano+tol < c.EndUnixNano && !ancestor(c, s) {
				concurrent = true
				break
			}
		}
		if !concurrent && len(cur) > 0 {
			step(cur)
			cur = cur[:0]
		}
		cur = append(cur, s)
	}
	if len(cur) > 0 {
		step(cur)
	}
}

// DefaultTestAttrs are the attributes that name the test a trace belongs
// to, in order of preference: besides test.name and llmcheck.test, the
// OpenTelemetry test conventions test.case.name (qualified as "suite /
// case" when the trace also has test.suite.name) and test.suite.name.
var DefaultTestAttrs = []string{"test.name", AttrTestCase, "llmcheck.test", "code.function", AttrTestSuite}

// Test identity conventions of OpenTelemetry (semantic conventions,
// "test" namespace): a test case, qualified by its suite when the trace
// carries both.
const (
	AttrTestCase  = "test.case.name"
	AttrTestSuite = "test.suite.name"
)

// TestName names the test of trace t: the first of attrs found on the
// root span, else on any span in start order; test.case.name is
// qualified by test.suite.name ("suite / case") when the trace has both.
// named is false when no attribute names it and the root span name (or
// "(unnamed)") stands in. diff matches traces by it and assert's
// `each: test` groups by it.
func TestName(t *Trace, attrs []string) (name string, named bool) {
	root := t.Root
	if root == nil && len(t.Spans) > 0 {
		root = t.Spans[0]
	}
	find := func(a string) string {
		if root != nil {
			if v := attrString(root.Attrs.Value(a)); v != "" {
				return v
			}
		}
		for _, s := range t.Spans {
			if s == root {
				continue
			}
			if v := attrString(s.Attrs.Value(a)); v != "" {
				return v
			}
		}
		return ""
	}
	for _, a := range attrs {
		if v := find(a); v != "" {
			if a == AttrTestCase {
				if suite := find(AttrTestSuite); suite != "" {
					v = suite + " / " + v
				}
			}
			return v, true
		}
	}
	if root != nil && root.Name != "" {
		return root.Name, false
	}
	return "(unnamed)", false
}

func attrString(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	default:
		return fmt.Sprint(x)
	}
}
