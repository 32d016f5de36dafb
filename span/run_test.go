package span

import (
	"fmt"
	"strconv"
	"syscall"
	"testing"
	"time"

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

// vercelAgent is the Vercel AI SDK's shape of one generateText call with a
// tool round trip: the ai.generateText span carries the sum of the usage
// of its two ai.generateText.doGenerate model calls (here also under the
// GenAI names, as span processors that map ai.usage.* write them), and an
// ai.toolCall span in between reports nothing.
func vercelAgent(t testing.TB, trace string) []tspan {
	const tr = "0af7651916cd43dd8448eb211c8031"
	model := func(in, out int64) map[string]any {
		return map[string]any{
			"operation.name": "ai.generateText.doGenerate", "ai.operationId": "ai.generateText.doGenerate",
			"gen_ai.system": "openai.chat", "gen_ai.request.model": "gpt-4o-mini", "gen_ai.response.model": "gpt-4o-mini-2024-07-18",
			"ai.usage.promptTokens": in, "ai.usage.completionTokens": out,
			"gen_ai.usage.input_tokens": in, "gen_ai.usage.output_tokens": out,
		}
	}
	return []tspan{
		{trace: tr + trace, id: "1000000000000001", name: "ai.generateText", start: 1000 * ms, end: 3000 * ms, attrs: map[string]any{
			"operation.name": "ai.generateText", "ai.operationId": "ai.generateText",
			"ai.model.id": "gpt-4o-mini", "ai.model.provider": "openai.chat",
			"ai.usage.promptTokens": int64(920), "ai.usage.completionTokens": int64(145),
			"gen_ai.usage.input_tokens": int64(920), "gen_ai.usage.output_tokens": int64(145),
		}},
		{trace: tr + trace, id: "1000000000000002", parent: "1000000000000001", name: "ai.generateText.doGenerate", start: 1010 * ms, end: 1900 * ms, attrs: model(300, 45)},
		{trace: tr + trace, id: "1000000000000003", parent: "1000000000000001", name: "ai.toolCall", start: 1910 * ms, end: 2000 * ms, attrs: map[string]any{
			"operation.name": "ai.toolCall", "ai.toolCall.name": "weather",
		}},
		{trace: tr + trace, id: "1000000000000004", parent: "1000000000000001", name: "ai.generateText.doGenerate", start: 2010 * ms, end: 2990 * ms, attrs: model(620, 100)},
	}
}

func TestCountsUsage(t *testing.T) {
	tok := func(in, out int64) Tokens {
		return Tokens{Input: in, Output: out, Total: in + out, HasInput: true, HasOutput: true, HasTotal: true}
	}
	sp := func(id, parent string, usage bool) Span {
		s := Span{TraceID: "t", SpanID: id, ParentSpanID: parent, Name: id}
		if usage {
			s.Tokens = tok(10, 1)
		}
		return s
	}
	cases := []struct {
		name   string
		spans  []Span
		counts map[string]bool // span id → CountsUsage, for the spans that report usage
	}{
		{"a parent repeating its children", []Span{sp("agent", "", true), sp("llm1", "agent", true), sp("tool", "agent", false), sp("llm2", "agent", true)},
			map[string]bool{"agent": false, "llm1": true, "llm2": true}},
		{"a grandchild reports usage, the child does not", []Span{sp("agent", "", true), sp("chain", "agent", false), sp("llm", "chain", true)},
			map[string]bool{"agent": false, "llm": true}},
		{"three levels", []Span{sp("workflow", "", true), sp("agent", "workflow", true), sp("llm", "agent", true)},
			map[string]bool{"workflow": false, "agent": false, "llm": true}},
		{"siblings and no parent usage", []Span{sp("root", "", false), sp("llm1", "root", true), sp("llm2", "root", true)},
			map[string]bool{"llm1": true, "llm2": true}},
		{"a reported cost is usage", []Span{sp("agent", "", true), {TraceID: "t", SpanID: "llm", ParentSpanID: "agent", Cost: 0.01, HasCost: true}},
			map[string]bool{"agent": false, "llm": true}},
		{"a reasoning count alone is usage", []Span{sp("agent", "", true), {TraceID: "t", SpanID: "llm", ParentSpanID: "agent", Tokens: Tokens{Reasoning: 5, HasReasoning: true}}},
			map[string]bool{"agent": false, "llm": true}},
		{"a missing parent", []Span{sp("llm", "gone", true)}, map[string]bool{"llm": true}},
		{"its own parent", []Span{sp("self", "self", true)}, map[string]bool{"self": true}},
		{"a cycle of parents terminates", []Span{sp("a", "b", true), sp("b", "a", false), sp("c", "a", true)},
			map[string]bool{"a": false, "c": true}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := NewRun(tc.spans)
			for _, s := range r.Spans {
				want, ok := tc.counts[s.SpanID]
				if !ok {
					assert.False(t, s.ReportsUsage(), s.SpanID)
					continue
				}
				assert.True(t, s.ReportsUsage(), s.SpanID)
				assert.Equal(t, want, s.CountsUsage(), s.SpanID)
			}
		})
	}

	// The same over a large trace (the map path of link) and a run large
	// enough to finish traces in parallel.
	t.Run("large", func(t *testing.T) {
		defer func(n int) { parallelSpans = n }(parallelSpans)
		parallelSpans = 64
		var spans []Span
		for tr := range 8 {
			tid := string(rune('a' + tr))
			spans = append(spans, Span{TraceID: tid, SpanID: "root", Tokens: tok(1000, 100)})
			for i := range 40 {
				id := "c" + strconv.Itoa(i)
				spans = append(spans, Span{TraceID: tid, SpanID: id, ParentSpanID: "root", Tokens: tok(25, 2)})
			}
		}
		r := NewRun(spans)
		for _, s := range r.Spans {
			assert.Equal(t, s.SpanID != "root", s.CountsUsage(), s.TraceID+"/"+s.SpanID)
		}
		// NewRun over the same spans again gives the same flags (they are
		// recomputed, not accumulated).
		spans[1].Tokens = Tokens{}
		r = NewRun(spans[:41])
		assert.False(t, r.Spans[0].CountsUsage(), "39 children still report usage")
	})

	t.Run("the Vercel AI SDK's generateText", func(t *testing.T) {
		spans := FromTraces(nil, build(t, "app", vercelAgent(t, "01")...))
		r := NewRun(spans)
		var counted, all int64
		for _, s := range r.Spans {
			all += s.Tokens.Total
			if s.CountsUsage() {
				counted += s.Tokens.Total
			}
		}
		assert.Equal(t, int64(2130), all, "every span's own usage")
		assert.Equal(t, int64(1065), counted, "the two model calls")
		for _, s := range r.Spans {
			if s.Name == "ai.generateText" {
				assert.False(t, s.CountsUsage())
				assert.Equal(t, int64(1065), s.Tokens.Total, "span.tokens is what the span reported")
			}
		}
	})
}

// BenchmarkNewRunUsage builds the span model's traces for runs shaped like the
// benchmark data (root → embeddings → retrieval → chat, usage on the
// embeddings and chat spans): grouping, parent links, sorting and the
// usage rule (CountsUsage).
func BenchmarkNewRunUsage(b *testing.B) {
	for _, n := range []int{100_000, 1_000_000} {
		b.Run("spans="+strconv.Itoa(n), func(b *testing.B) {
			spans := make([]Span, n)
			for i := range spans {
				t := i / 4
				s := &spans[i]
				s.TraceID = strconv.FormatInt(int64(t)+1<<40, 16) + "0000000000000000"
				s.SpanID = strconv.FormatInt(int64(i)+1<<40, 16) + "000000"
				s.StartUnixNano = uint64(t)*1e9 + uint64(i%4)
				if i%4 != 0 {
					s.ParentSpanID = spans[i-i%4].SpanID
				}
				if i%4 == 1 || i%4 == 3 {
					s.Tokens = Tokens{Input: 100, Total: 100, HasInput: true, HasTotal: true}
				}
			}
			cpu0 := cpuTime()
			b.ResetTimer()
			for range b.N {
				NewRun(spans)
			}
			b.StopTimer()
			b.ReportMetric(float64((cpuTime()-cpu0).Milliseconds())/float64(b.N), "cpu-ms/op")
		})
	}
}

// cpuTime is the process's user + system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
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
