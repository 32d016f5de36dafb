package span

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const ms = uint64(1_000_000)

func TestNewRunGroupsTraces(t *testing.T) {
	spans := []Span{
		// trace A, recorded out of order: root a1, children a2 (outlives
		// the root) and a3.
		{TraceID: "aa", SpanID: "a2", ParentSpanID: "a1", Name: "a2", StartUnixNano: 1050 * ms, EndUnixNano: 1700 * ms},
		// trace B: every span has a parent, b1's was not recorded.
		{TraceID: "bb", SpanID: "b1", ParentSpanID: "ff", Name: "b1", StartUnixNano: 550 * ms, EndUnixNano: 900 * ms},
		{TraceID: "aa", SpanID: "a1", Name: "a1", StartUnixNano: 1000 * ms, EndUnixNano: 1500 * ms},
		{TraceID: "bb", SpanID: "b2", ParentSpanID: "b1", Name: "b2", StartUnixNano: 500 * ms, EndUnixNano: 600 * ms},
		{TraceID: "aa", SpanID: "a3", ParentSpanID: "a1", Name: "a3", StartUnixNano: 1020 * ms, EndUnixNano: 1100 * ms},
	}
	r := NewRun(spans)

	require.Len(t, r.Spans, 5)
	assert.Same(t, &spans[0], r.Spans[0], "spans are not copied")

	require.Len(t, r.Traces, 2)
	b, a := r.Traces[0], r.Traces[1] // ordered by first start: B at 500 ms, A at 1000 ms
	assert.Equal(t, "bb", b.ID)
	assert.Equal(t, "aa", a.ID)

	assert.Equal(t, []string{"a1", "a3", "a2"}, names(a.Spans))
	assert.Equal(t, "a1", a.Root.Name)
	assert.Equal(t, 1000*ms, a.StartUnixNano)
	assert.Equal(t, 1700*ms, a.EndUnixNano, "a child may end after the root")
	assert.Equal(t, 700.0, a.DurationMS)

	assert.Equal(t, []string{"b2", "b1"}, names(b.Spans))
	assert.Equal(t, "b2", b.Root.Name, "no parentless span: the earliest stands in")
	assert.Equal(t, 400.0, b.DurationMS)

	assert.Same(t, a, r.Trace("aa"))
	assert.Nil(t, r.Trace("cc"))

	assert.Same(t, &spans[2], r.Parent(&spans[0]), "a2's parent is a1")
	assert.Nil(t, r.Parent(&spans[2]), "a root has no parent")
	assert.Nil(t, r.Parent(&spans[1]), "b1's parent was not recorded")
	assert.Same(t, &spans[1], r.Parent(&spans[3]))
}

func TestNewRunPicksEarliestOfSeveralRoots(t *testing.T) {
	r := NewRun([]Span{
		{TraceID: "t", SpanID: "late", StartUnixNano: 20, EndUnixNano: 30},
		{TraceID: "t", SpanID: "child", ParentSpanID: "early", StartUnixNano: 5, EndUnixNano: 6},
		{TraceID: "t", SpanID: "early", StartUnixNano: 10, EndUnixNano: 40},
	})
	require.Len(t, r.Traces, 1)
	assert.Equal(t, "early", r.Traces[0].Root.SpanID, "the earliest span without a parent, even when a child starts before it")
	assert.Equal(t, uint64(5), r.Traces[0].StartUnixNano)
	assert.Equal(t, uint64(40), r.Traces[0].EndUnixNano)
}

func TestNewRunDegenerateTimes(t *testing.T) {
	r := NewRun([]Span{{TraceID: "t", SpanID: "s", StartUnixNano: 10, EndUnixNano: 5}})
	assert.Equal(t, 0.0, r.Traces[0].DurationMS)

	r = NewRun(nil)
	assert.Empty(t, r.Spans)
	assert.Empty(t, r.Traces)
}

func TestNewRunFromTraces(t *testing.T) {
	const tr = "4bf92f3577b34da6a3ce929d0e0e4736"
	td := build(t, "ragdemo",
		tspan{trace: tr, id: "0000000000000001", name: "answer", start: 100 * ms, end: 180 * ms},
		tspan{trace: tr, id: "0000000000000002", parent: "0000000000000001", name: "embeddings text-embedding-3-small", start: 101 * ms, end: 110 * ms,
			attrs: map[string]any{"gen_ai.operation.name": "embeddings", "gen_ai.usage.input_tokens": 5}},
		tspan{trace: tr, id: "0000000000000003", parent: "0000000000000001", name: "chat gpt-4o-mini", start: 120 * ms, end: 179 * ms,
			attrs: map[string]any{"gen_ai.operation.name": "chat", "gen_ai.usage.input_tokens": 50, "gen_ai.usage.output_tokens": 10}},
	)
	r := NewRun(FromTraces(nil, td))
	require.Len(t, r.Traces, 1)
	tc := r.Traces[0]
	assert.Equal(t, tr, tc.ID)
	assert.Equal(t, "answer", tc.Root.Name)
	assert.Equal(t, 80.0, tc.DurationMS)
	var total int64
	for _, s := range tc.Spans {
		total += s.Tokens.Total
	}
	assert.Equal(t, int64(65), total)
	assert.Equal(t, "answer", r.Parent(tc.Spans[2]).Name)
}

func names(spans []*Span) []string {
	out := make([]string, len(spans))
	for i, s := range spans {
		out[i] = s.Name
	}
	return out
}

// A span that names itself or a descendant as its parent must not make a
// walk up the ancestors endless: NewRun cuts every cycle, and Validate
// says where.
func TestNewRunCutsParentCycles(t *testing.T) {
	for _, tc := range []struct {
		name  string
		spans []Span
		cut   []string // span ids whose parent link was cut
	}{
		{"own parent", []Span{
			{TraceID: "t", SpanID: "a", ParentSpanID: "a", Name: "self", StartUnixNano: 1, EndUnixNano: 2},
		}, []string{"a"}},
		{"two spans", []Span{
			{TraceID: "t", SpanID: "a", ParentSpanID: "b", Name: "a", StartUnixNano: 1, EndUnixNano: 2},
			{TraceID: "t", SpanID: "b", ParentSpanID: "a", Name: "b", StartUnixNano: 2, EndUnixNano: 3},
			{TraceID: "t", SpanID: "c", ParentSpanID: "b", Name: "c", StartUnixNano: 3, EndUnixNano: 4},
		}, []string{"b"}},
		{"long cycle in a large trace", func() []Span {
			var s []Span
			for i := range 40 {
				s = append(s, Span{TraceID: "t", SpanID: fmt.Sprint(i), ParentSpanID: fmt.Sprint((i + 1) % 40), StartUnixNano: uint64(i), EndUnixNano: 100})
			}
			return s
		}(), []string{"39"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := NewRun(tc.spans)
			var cut []string
			for _, s := range r.Spans {
				seen := map[*Span]bool{}
				for cur := s; cur != nil; cur = r.Parent(cur) {
					require.False(t, seen[cur], "span %s: ancestor walk loops", s.SpanID)
					seen[cur] = true
				}
				if s.ParentSpanID != "" && r.Parent(s) == nil {
					cut = append(cut, s.SpanID)
				}
			}
			assert.Equal(t, tc.cut, cut)
			var warnings []string
			Validate(r, func(m string) { warnings = append(warnings, m) })
			require.Len(t, warnings, 1)
			assert.Contains(t, warnings[0], "which is itself or one of its descendants; the link is ignored")
		})
	}
}
