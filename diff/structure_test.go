package diff

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/llmcheck/llmcheck/span"
)

// requests describes a synthetic run of an LLM app serving requests, one
// trace per request:
//
//	POST /answer (root; test.name only when tests > 0)
//	├── chat gpt-4o-mini                route
//	├── embeddings text-embedding-3-small
//	├── retrieval kb
//	├── execute_tool × 0, 1 or 2        (30 %, 50 %, 20 %)
//	└── chat gpt-4o | gpt-4o-mini       answer, the model drawn per request
//
// The calls run one after the other with gaps of 0–0.9 ms. With msClock
// the start times are truncated to whole milliseconds, as the
// OpenTelemetry Node SDK records them (end = start + a precise
// duration), so a call often seems to start before the previous one
// ended. The other fields inject changes.
type requests struct {
	seed       uint64
	n          int     // traces (default 400)
	tests      int     // 0: no test identity; else the traces are spread over this many test names
	pMini      float64 // probability that the answer uses gpt-4o-mini (default 0.5)
	fixedTools int     // this many tool calls in every request; 0: drawn per request

	msClock bool
	root    string // the root span name (default "POST /answer")

	switchMini float64 // probability that an answer drawn as gpt-4o uses gpt-4o-mini
	extraTool  bool    // one more tool call per request
	toolFirst  float64 // probability that the tool calls run before the retrieval
}

func (rq requests) spans() []span.Span {
	if rq.n == 0 {
		rq.n = 400
	}
	if rq.pMini == 0 {
		rq.pMini = 0.5
	}
	if rq.root == "" {
		rq.root = "POST /answer"
	}
	rng := rand.New(rand.NewPCG(rq.seed, 0x5eed))
	var out []span.Span
	for i := range rq.n {
		traceID := fmt.Sprintf("%016x%016x", rq.seed+1, i+1)
		t0 := uint64(1_700_000_000_000_000_000) + uint64(i)*10_000_000_000 + uint64(rng.IntN(1_000_000))
		clock := func(ns uint64) uint64 {
			if rq.msClock {
				return ns / 1_000_000 * 1_000_000
			}
			return ns
		}
		cursor := t0 + uint64(rng.IntN(2_000_000))
		var children []span.Span
		call := func(op, model, name string, medianMS float64) {
			ms := medianMS * math.Exp(0.3*rng.NormFloat64())
			real := cursor
			end := real + uint64(ms*1e6)
			children = append(children, span.Span{
				TraceID: traceID, SpanID: fmt.Sprintf("%016x", len(children)+2), ParentSpanID: fmt.Sprintf("%016x", 1),
				Name: name, Service: "app", Kind: "client", Status: "unset",
				StartUnixNano: clock(real), EndUnixNano: end, Operation: op, Model: model,
			})
			cursor = end + uint64(rng.IntN(900_000)) // the next call starts 0–0.9 ms later
		}
		tools := rq.fixedTools
		if tools == 0 {
			switch x := rng.Float64(); {
			case x < 0.3:
				tools = 0
			case x < 0.8:
				tools = 1
			default:
				tools = 2
			}
		}
		if rq.extraTool {
			tools++
		}
		model := "gpt-4o"
		if rng.Float64() < rq.pMini {
			model = "gpt-4o-mini"
		}
		if model == "gpt-4o" && rng.Float64() < rq.switchMini {
			model = "gpt-4o-mini"
		}
		toolFirst := rng.Float64() < rq.toolFirst
		runTools := func() {
			for range tools {
				call(span.OpExecuteTool, "", "execute_tool search", 50)
			}
		}
		call(span.OpChat, "gpt-4o-mini", "chat gpt-4o-mini", 300)
		call(span.OpEmbeddings, "text-embedding-3-small", "embeddings text-embedding-3-small", 40)
		if toolFirst {
			runTools()
		}
		call(span.OpRetrieval, "", "retrieval kb", 25)
		if !toolFirst {
			runTools()
		}
		call(span.OpChat, model, "chat "+model, 1200)
		attrs := map[string]any{}
		if rq.tests > 0 {
			attrs["test.name"] = fmt.Sprintf("TestAnswer/q%03d", i%rq.tests)
		}
		root := span.Span{
			TraceID: traceID, SpanID: fmt.Sprintf("%016x", 1), Name: rq.root, Service: "app", Kind: "server", Status: "unset",
			StartUnixNano: clock(t0), EndUnixNano: cursor + 1_000_000, Attrs: span.AttrsOf(attrs),
		}
		out = append(out, root)
		out = append(out, children...)
	}
	for i := range out {
		out[i].DurationMS = float64(out[i].EndUnixNano-out[i].StartUnixNano) / 1e6
	}
	return out
}

func (rq requests) run() *span.Run { return span.NewRun(rq.spans()) }

// structuralHeadlineKinds are the headlines the structure makes.
var structuralHeadlineKinds = []string{HeadlineModelSwap, HeadlineCalls, HeadlineModels, HeadlineOrder}

// structural returns the structural headlines of base against head.
func structural(base, head *span.Run) ([]Headline, Structure) {
	st := compareStructure(base, head, Options{}.withDefaults())
	r := &Report{Structure: st}
	var out []Headline
	for _, h := range headlines(r) {
		if slices.Contains(structuralHeadlineKinds, h.Kind) {
			out = append(out, h)
		}
	}
	return out, st
}

// rate runs pairs of runs on seeds 1..pairs (base on seed 2k, head on
// 2k+1, head changed by inject) and returns the share of pairs with a
// structural headline of one of kinds (any, when kinds is empty).
func rate(t *testing.T, pairs int, base requests, inject func(*requests), kinds ...string) float64 {
	t.Helper()
	hits := 0
	for k := range pairs {
		b, h := base, base
		b.seed, h.seed = uint64(2*k+2), uint64(2*k+3)
		if inject != nil {
			inject(&h)
		}
		hs, _ := structural(b.run(), h.run())
		for _, x := range hs {
			if len(kinds) == 0 || slices.Contains(kinds, x.Kind) {
				hits++
				break
			}
		}
	}
	return float64(hits) / float64(pairs)
}

// TestStructureSeededRuns measures false alarms and detection of the
// structural comparison of traces without a test identity (and of
// repeated traces of tests): pairs of seeded runs of 400 traces, the
// answer model drawn per request. The figures are in
// docs/statistics.md ("Structure: calls, models and order").
func TestStructureSeededRuns(t *testing.T) {
	pairs := 200
	if testing.Short() || raceEnabled {
		pairs = 40
	}
	cases := []struct {
		name   string
		base   requests
		inject func(*requests)
		kinds  []string
		// at most (no change) or at least (a change) this share of pairs
		// with a headline
		max, min float64
	}{
		{name: "no change", max: 0.05},
		{name: "no change, Node millisecond clock", base: requests{msClock: true}, max: 0.05},
		{name: "no change, 40 tests × 10 traces", base: requests{tests: 40}, max: 0.05},
		{name: "30 % of gpt-4o answers switch to gpt-4o-mini", inject: func(r *requests) { r.switchMini = 0.3 },
			kinds: []string{HeadlineModelSwap, HeadlineModels}, min: 0.9},
		{name: "every answer gpt-4o, 30 % switch to gpt-4o-mini", base: requests{pMini: -1}, inject: func(r *requests) { r.switchMini = 0.3 },
			kinds: []string{HeadlineModelSwap, HeadlineModels}, min: 0.99},
		{name: "60 traces a side, 30 % of gpt-4o answers switch to gpt-4o-mini", base: requests{n: 60}, inject: func(r *requests) { r.switchMini = 0.3 },
			kinds: []string{HeadlineModelSwap, HeadlineModels}, min: 0.1},
		{name: "40 tests × 10 traces, one more tool call per request", base: requests{tests: 40}, inject: func(r *requests) { r.extraTool = true },
			kinds: []string{HeadlineCalls}, min: 0.85}, // 91.5 % of 200 pairs, 87.5 % of the first 40 (-short)
		{name: "60 traces a side, one more tool call per request", base: requests{n: 60}, inject: func(r *requests) { r.extraTool = true },
			kinds: []string{HeadlineCalls}, min: 0.9},
		{name: "one more tool call per request", inject: func(r *requests) { r.extraTool = true },
			kinds: []string{HeadlineCalls}, min: 0.99},
		{name: "tools before the retrieval in 30 % of requests", inject: func(r *requests) { r.toolFirst = 0.3 },
			kinds: []string{HeadlineOrder}, min: 0.9},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := rate(t, pairs, tc.base, tc.inject, tc.kinds...)
			t.Logf("%s: structural headline in %.1f %% of %d pairs", tc.name, 100*got, pairs)
			if tc.inject == nil {
				assert.LessOrEqual(t, got, tc.max)
			} else {
				assert.GreaterOrEqual(t, got, tc.min)
			}
		})
	}
}

func TestResolution(t *testing.T) {
	at := func(starts ...uint64) []*span.Span {
		out := make([]*span.Span, len(starts))
		for i, s := range starts {
			out[i] = &span.Span{StartUnixNano: s}
		}
		return out
	}
	for _, tc := range []struct {
		name  string
		spans []*span.Span
		want  uint64
	}{
		{"whole milliseconds (Node SDK)", at(1_700_000_000_000_000_000, 1_700_000_000_017_000_000), 1_000_000},
		{"100 µs", at(1_700_000_000_000_100_000, 1_700_000_000_017_000_000), 100_000},
		{"whole microseconds", at(1_700_000_000_000_001_000, 1_700_000_000_017_000_000), 1_000},
		{"nanoseconds", at(1_700_000_000_000_000_001, 1_700_000_000_017_000_000), 0},
		{"one span says nothing", at(1_700_000_000_000_000_000), 0},
		{"no spans", nil, 0},
	} {
		t.Run(tc.name, func(t *testing.T) { assert.Equal(t, tc.want, span.Resolution(tc.spans)) })
	}
}

// TestStructureMillisecondClock: reruns of an app whose every request
// makes the same calls, one after the other, show no change test by
// test, whether the clock has nanoseconds or, like the OpenTelemetry Node
// SDK, whole-millisecond start times (a call then often seems to start
// before the previous one ended).
func TestStructureMillisecondClock(t *testing.T) {
	for _, ms := range []bool{false, true} {
		t.Run(fmt.Sprintf("msClock=%v", ms), func(t *testing.T) {
			overlaps := 0
			for k := range 10 {
				b := requests{seed: uint64(2*k + 2), n: 200, tests: 200, fixedTools: 2, pMini: 1, msClock: ms}
				h := b
				h.seed++
				base := b.run()
				for _, tr := range base.Traces {
					for i := 2; i < len(tr.Spans); i++ {
						if tr.Spans[i].StartUnixNano < tr.Spans[i-1].EndUnixNano {
							overlaps++
						}
					}
				}
				hs, st := structural(base, h.run())
				assert.Equal(t, 200, st.Matched)
				assert.Empty(t, st.Tests, "no test changed")
				assert.Empty(t, hs)
			}
			if ms {
				assert.Greater(t, overlaps, 1000, "the truncated start times overlap the previous call")
			}
		})
	}
}

// TestGoldenSets: the reports of runs without test identity, where the
// head switched 60 % of its gpt-4o answers to gpt-4o-mini and makes one
// more tool call per request.
func TestGoldenSets(t *testing.T) {
	r := Compare(requests{seed: 2, n: 60}.run(), requests{seed: 3, n: 60, switchMini: 0.6, extraTool: true}.run(), Options{})
	require.Equal(t, 1, r.Structure.Sets)
	var b strings.Builder
	r.Text(&b)
	golden(t, "sets.txt", b.String())
	md := r.Markdown(MaxCommentBytes)
	checkMarkdown(t, md)
	golden(t, "sets.md", md)
	var js strings.Builder
	require.NoError(t, r.WriteJSON(&js))
	golden(t, "sets.json", js.String())
}

// TestSetNamesEscaped: a root span name is span content; in the reports
// it stays on its line and its markup is escaped.
func TestSetNamesEscaped(t *testing.T) {
	name := "POST /x\n| *b* <script>"
	r := Compare(requests{seed: 2, n: 60, root: name}.run(), requests{seed: 3, n: 60, root: name, extraTool: true}.run(), Options{})
	require.NotEmpty(t, r.Structure.setChanges())
	var b strings.Builder
	r.Text(&b)
	assert.NotContains(t, b.String(), "POST /x\n")
	assert.Contains(t, b.String(), `POST /x\n| *b* <script>: tool calls per trace`, "the line break is escaped, never printed")
	md := r.Markdown(MaxCommentBytes)
	assert.NotContains(t, md, "<script>")
	assert.NotContains(t, md, "| *b*")
}

func TestChiSquare(t *testing.T) {
	rep := func(parts ...any) []string {
		var out []string
		for i := 0; i < len(parts); i += 2 {
			for range parts[i+1].(int) {
				out = append(out, parts[i].(string))
			}
		}
		return out
	}
	for _, tc := range []struct {
		name string
		b, h []string
		p    float64 // want, to 1e-6 relative
		ok   bool
	}{
		// 2 × 2, expected 20 everywhere: X² = 4 × 10²/20 = 20, df 1.
		{"2 × 2", rep("a", 30, "b", 10), rep("a", 10, "b", 30), 7.744216e-06, true},
		// Same proportions: X² = 0.
		{"no difference", rep("a", 30, "b", 10), rep("a", 15, "b", 5), 1, true},
		// c and d (expected < 5) are pooled with b: the 2 × 2 above.
		{"rare values pooled", rep("a", 30, "b", 8, "c", 1, "d", 1), rep("a", 10, "b", 29, "c", 1), 7.744216e-06, true},
		{"one category", rep("a", 30), rep("a", 20), 1, false},
		{"all rare: pooled into one", rep("a", 2, "b", 2), rep("c", 2, "d", 2), 1, false},
		{"empty side", nil, rep("a", 3), 1, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, ok := chiSquare(tc.b, tc.h)
			assert.Equal(t, tc.ok, ok)
			assert.InEpsilon(t, tc.p, p, 1e-6)
		})
	}
}

// TestSetManyModels: span content names any number of models; a set
// tests at most maxModelStats of them, those called in most traces.
func TestSetManyModels(t *testing.T) {
	mk := func(prefix string) *span.Run {
		var spans []span.Span
		for i := range 2000 {
			model := fmt.Sprintf("%s-%d", prefix, i)
			if i%2 == 0 {
				model = "common"
			}
			spans = append(spans, tr(fmt.Sprintf("%s%d", prefix, i), "POST /x", nil, float64(i)*1000, sp{op: "chat", model: model, start: 1, end: 5})...)
		}
		return span.NewRun(spans)
	}
	st := compareStructure(mk("b"), mk("h"), Options{}.withDefaults())
	require.Equal(t, 1, st.Sets)
	models := 0
	for _, d := range st.Distributions {
		if d.Kind == ChangeModelCalls {
			models++
			assert.LessOrEqual(t, len(d.Counts), maxCountValues)
		}
	}
	assert.Equal(t, maxModelStats, models)
	assert.True(t, slices.ContainsFunc(st.Distributions, func(d StructuralTest) bool { return d.Model == "common" }))
}
