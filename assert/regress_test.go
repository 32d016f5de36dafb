package assert

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/perf/benchmath"

	"github.com/llmcheck/llmcheck/span"
)

// mannWhitney is the significance test the CLI uses (diff.Significance),
// rebuilt here from benchmath so the assert package tests stand alone.
func mannWhitney(base, head []float64) Significance {
	v := Significance{NBase: len(base), NHead: len(head), P: 1, Alpha: 0.05, MinSamples: 6}
	if len(base) < 6 || len(head) < 6 {
		v.TooFew = true
		return v
	}
	c := benchmath.AssumeNothing.Compare(benchmath.NewSample(slices.Clone(base), &benchmath.DefaultThresholds), benchmath.NewSample(slices.Clone(head), &benchmath.DefaultThresholds))
	v.P = c.P
	if math.IsNaN(v.P) {
		v.P = 1
	}
	v.Counted = slices.Min(base) != slices.Max(base) || slices.Min(head) != slices.Max(head) || base[0] != head[0]
	v.Significant = c.P < 0.05
	return v
}

// chatRun is n chat spans with durations drawn around mean (ms).
func chatRun(seed uint64, n int, mean float64, tokens int64) *span.Run {
	r := rand.New(rand.NewPCG(seed, 1))
	spans := make([]span.Span, n)
	for i := range spans {
		d := mean * (0.8 + 0.4*r.Float64())
		spans[i] = span.Span{TraceID: fmt.Sprintf("t%d", i), SpanID: fmt.Sprintf("s%d", i), Name: "chat gpt-4o-mini",
			Operation: "chat", Model: "gpt-4o-mini", DurationMS: d, StartUnixNano: uint64(i) * 1e9, EndUnixNano: uint64(i)*1e9 + uint64(d*1e6),
			Tokens: span.Tokens{Input: tokens, Output: 10, Total: tokens + 10, HasInput: true, HasOutput: true, HasTotal: true}}
	}
	return span.NewRun(spans)
}

// callsPerTrace puts every k consecutive spans of run in one trace.
func callsPerTrace(run *span.Run, k int) *span.Run {
	spans := make([]span.Span, len(run.Spans))
	for i, s := range run.Spans {
		spans[i] = *s
		spans[i].TraceID = fmt.Sprintf("t%d", i/k)
	}
	return span.NewRun(spans)
}

const rules = `regressions:
  - name: chat p95 grows at most 10 %
    where: span.operation == "chat"
    expect: head.latency.p95 <= base.latency.p95 * 1.10
  - name: chat p95 strict
    where: span.operation == "chat"
    expect: head.latency.p95 <= base.latency.p95 * 1.10
    require_significance: false
  - name: tokens per call stable
    expect: double(head.tokens.total) / double(head.count) <= double(base.tokens.total) / double(base.count) * 1.2
  - name: call count stable
    expect: head.count <= base.count
`

func TestRegressionRules(t *testing.T) {
	s, err := LoadBytes("llmcheck.yaml", []byte(rules))
	require.NoError(t, err)
	require.True(t, s.HasRegressions())
	byName := func(rs []Result) map[string]Result {
		m := map[string]Result{}
		for _, r := range rs {
			m[r.Name] = r
		}
		return m
	}

	// A real +40 % latency regression on 40 samples: significant, fails.
	got := byName(s.EvaluateRegressions(chatRun(1, 40, 1000, 500), chatRun(2, 40, 1400, 500), mannWhitney))
	r := got["chat p95 grows at most 10 %"]
	assert.Equal(t, Fail, r.Status, r.Message)
	assert.Contains(t, r.Message, "the latency change is significant")
	require.Len(t, r.Significance, 1)
	assert.True(t, r.Significance[0].Significant)
	assert.Contains(t, fmt.Sprint(r.Observed), "head.latency.p95")
	assert.Contains(t, fmt.Sprint(r.Observed), "base.latency.p95")
	assert.NotEmpty(t, r.Offenders)
	assert.Equal(t, Pass, got["tokens per call stable"].Status)
	assert.Equal(t, Pass, got["call count stable"].Status)

	// Too few samples: the expectation fails but the rule is inconclusive,
	// except where significance is not required.
	got = byName(s.EvaluateRegressions(chatRun(1, 4, 1000, 500), chatRun(2, 4, 1400, 500), mannWhitney))
	assert.Equal(t, Inconclusive, got["chat p95 grows at most 10 %"].Status, got["chat p95 grows at most 10 %"].Message)
	assert.Contains(t, got["chat p95 grows at most 10 %"].Message, "too few samples, n=4 vs 4")
	assert.Contains(t, got["chat p95 grows at most 10 %"].Warning, "fewer than 6 values a side")
	assert.Empty(t, got["chat p95 strict"].Warning)
	assert.Equal(t, Fail, got["chat p95 strict"].Status)

	// More requests, each with one call: per trace nothing changed, so the
	// higher total is not a regression of the app: inconclusive, and the
	// warning says where the difference comes from.
	got = byName(s.EvaluateRegressions(chatRun(1, 10, 1000, 500), chatRun(1, 12, 1000, 500), mannWhitney))
	assert.Equal(t, Inconclusive, got["call count stable"].Status, got["call count stable"].Message)
	assert.Contains(t, got["call count stable"].Warning, "is the same on both sides")

	// One more call in every request: the count per trace is tested, and
	// the change is significant.
	got = byName(s.EvaluateRegressions(chatRun(1, 30, 1000, 500), callsPerTrace(chatRun(2, 60, 1000, 500), 2), mannWhitney))
	r = got["call count stable"]
	assert.Equal(t, Fail, r.Status, r.Message)
	require.Len(t, r.Significance, 1)
	assert.Equal(t, "trace", r.Significance[0].Unit)
	assert.Equal(t, 30, r.Significance[0].NHead)
	assert.Contains(t, r.Message, "selected spans per trace")

	// Tokens +50 %: significant.
	got = byName(s.EvaluateRegressions(chatRun(1, 30, 1000, 500), chatRun(1, 30, 1000, 800), mannWhitney))
	assert.Equal(t, Fail, got["tokens per call stable"].Status, got["tokens per call stable"].Message)
}

func TestRegressionNoise(t *testing.T) {
	s, err := LoadBytes("llmcheck.yaml", []byte(rules))
	require.NoError(t, err)
	failing := 0
	for seed := uint64(0); seed < 100; seed++ {
		for _, r := range s.EvaluateRegressions(chatRun(seed*2+100, 30, 1000, 500), chatRun(seed*2+101, 30, 1000, 500), mannWhitney) {
			if r.Name == "chat p95 strict" {
				continue // fails on noise by design: no significance required
			}
			if r.Status == Fail {
				failing++
				break
			}
		}
	}
	t.Logf("%d of 100 seeded pairs of the same distribution failed a rule", failing)
	assert.LessOrEqual(t, failing, 5, "the same distribution must not fail a rule in more than 5 of 100 seeded pairs")
}

func TestRegressionConfigErrors(t *testing.T) {
	_, err := LoadBytes("llmcheck.yaml", []byte("regressions:\n  - name: a\n    expect: latency.p95 < 1\n    each: trace\n"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), `llmcheck.yaml:4:5: each: is not supported in regressions:`)
	assert.Contains(t, err.Error(), "llmcheck.yaml:3:13: expect: undeclared reference to 'latency'")
	assert.Contains(t, err.Error(), "compares `base.` and `head.`")
}

// A baseline summary, written and read back as JSON, gives the same
// verdicts as the full trace file on the same data.
func TestRegressionSummaryRoundTrip(t *testing.T) {
	s, err := LoadBytes("llmcheck.yaml", []byte(rules+`  - name: error rate
    where: span.model == "gpt-4o-mini"
    expect: head.error_rate <= base.error_rate
  - name: every group
    expect: head.latency.p50 <= base.latency.p50 * 1.5 && head.tokens.input <= base.tokens.input
`))
	require.NoError(t, err)
	for _, tc := range []struct {
		name       string
		base, head *span.Run
	}{
		{"latency regression", chatRun(1, 40, 1000, 500), chatRun(2, 40, 1400, 500)},
		{"noise", chatRun(3, 40, 1000, 500), chatRun(4, 40, 1000, 500)},
		{"few samples", chatRun(1, 4, 1000, 500), chatRun(2, 4, 1400, 700)},
		{"more calls", chatRun(1, 10, 1000, 500), chatRun(1, 12, 1000, 500)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			full := s.EvaluateRegressions(tc.base, tc.head, mannWhitney)
			data, err := json.Marshal(SummariseGroups(s.Config, tc.base))
			require.NoError(t, err)
			var sums []Summary
			require.NoError(t, json.Unmarshal(data, &sums))
			fromSummary := s.EvaluateRegressionsSummary(sums, tc.head, mannWhitney)
			require.Len(t, fromSummary, len(full))
			for i := range full {
				assert.Equal(t, full[i].Status, fromSummary[i].Status, "%s: %s | %s", full[i].Name, full[i].Message, fromSummary[i].Message)
				assert.Equal(t, full[i].Observed, fromSummary[i].Observed, full[i].Name)
			}
		})
	}

	// A where that reads more than the group identity cannot use a summary.
	s2, err := LoadBytes("c.yaml", []byte("regressions:\n  - name: slow ones\n    where: span.duration_ms > 10.0\n    expect: head.count <= base.count\n"))
	require.NoError(t, err)
	r := s2.EvaluateRegressionsSummary(SummariseGroups(s2.Config, chatRun(1, 5, 100, 5)), chatRun(1, 5, 100, 5), mannWhitney)
	assert.Equal(t, Error, r[0].Status)
	assert.Contains(t, r[0].Message, "where reads span.duration_ms, which a baseline summary does not keep")
}

func TestSummaryBoundsSamples(t *testing.T) {
	sums := SummariseGroups(nil, chatRun(1, MaxSamples+500, 100, 5))
	require.Len(t, sums, 1)
	assert.Equal(t, MaxSamples+500, sums[0].Count)
	assert.Len(t, sums[0].Samples.Latency, MaxSamples)
	assert.InDelta(t, sums[0].Latency.Min, sums[0].Samples.Latency[0], 0.0005, "order statistics keep the minimum")
	assert.InDelta(t, sums[0].Latency.Max, sums[0].Samples.Latency[MaxSamples-1], 0.0005, "and the maximum")
	assert.Equal(t, "- · chat · gpt-4o-mini", sums[0].Key)
}

// The README promises a summary keeps about 160 bytes per span of a group
// it keeps whole, and at most about 65 KB for a group it bounds.
func TestSummarySizePerGroup(t *testing.T) {
	cfg := &Config{Pricing: map[string]Price{"gpt-4o-mini": {Input: 0.15, Output: 0.6}}, Retrieval: RetrievalConfig{K: 5}, CostLimit: DefaultCostLimit}
	data, err := json.MarshalIndent(SummariseGroups(cfg, chatRun(7, MaxSamples, 1234.5678, 517)), "", "  ")
	require.NoError(t, err)
	assert.LessOrEqual(t, len(data), 160*MaxSamples, "one whole group of %d spans", MaxSamples)
	data, err = json.MarshalIndent(SummariseGroups(cfg, chatRun(7, 20000, 1234.5678, 517)), "", "  ")
	require.NoError(t, err)
	assert.LessOrEqual(t, len(data), 65_000, "one group of 20,000 spans")
}

// multiRun is a run of traces, each with one gpt-4o-mini chat call per
// element of miniCalls and gpt-4o calls as given: groups of different
// sizes and distributions, as in a real app.
func multiRun(seed uint64, traces, miniCalls, bigCalls int, bigLatency float64) *span.Run {
	r := rand.New(rand.NewPCG(seed, 7))
	var spans []span.Span
	add := func(ti, si int, model string, ms float64, tokens int64) {
		spans = append(spans, span.Span{TraceID: fmt.Sprintf("t%d", ti), SpanID: fmt.Sprintf("s%d-%d", ti, si), Name: "chat " + model,
			Operation: "chat", Model: model, DurationMS: ms, StartUnixNano: uint64(ti) * 1e9, EndUnixNano: uint64(ti)*1e9 + uint64(ms*1e6),
			Tokens: span.Tokens{Input: tokens, Output: 20, Total: tokens + 20, HasInput: true, HasOutput: true, HasTotal: true}})
	}
	for ti := 0; ti < traces; ti++ {
		si := 0
		for range miniCalls {
			add(ti, si, "gpt-4o-mini", 200*math.Exp(0.3*r.NormFloat64()), int64(150+r.IntN(50)))
			si++
		}
		for range bigCalls {
			add(ti, si, "gpt-4o", bigLatency*math.Exp(0.25*r.NormFloat64()), int64(1500+r.IntN(300)))
			si++
		}
	}
	return span.NewRun(spans)
}

// sameObserved compares observed values, floats to 1e-12 relative: a sum
// of group sums adds in another order than a sum over the spans.
func sameObserved(t *testing.T, want, got []Observed, name string) {
	t.Helper()
	require.Len(t, got, len(want), name)
	for i := range want {
		w, g := want[i], got[i]
		if wf, ok := w.Value.(float64); ok {
			gf, ok := g.Value.(float64)
			require.True(t, ok, "%s: %s is %T", name, w.Expr, g.Value)
			assert.InEpsilon(t, wf, gf, 1e-12, "%s: %s", name, w.Expr)
			w.Value, g.Value = nil, nil
		}
		assert.Equal(t, w, g, name)
	}
}

func summaryJSON(t *testing.T, cfg *Config, run *span.Run) []Summary {
	t.Helper()
	data, err := json.Marshal(SummariseGroups(cfg, run))
	require.NoError(t, err)
	var sums []Summary
	require.NoError(t, json.Unmarshal(data, &sums))
	return sums
}

// Issue #11 item 3: a summary gives the verdict of its trace file for
// rules whose where spans several groups or that have no where: the
// percentiles of the union, the per-trace sums across groups, and a run
// compared with its own summary passes.
func TestRegressionSummaryMultiGroup(t *testing.T) {
	s, err := LoadBytes("llmcheck.yaml", []byte(`pricing:
  gpt-4o: {input: 2.5, output: 10}
  gpt-4o-mini: {input: 0.15, output: 0.6}
regressions:
  - name: all spans p50
    expect: head.latency.p50 <= base.latency.p50 * 1.05
  - name: all spans p50, no significance
    expect: head.latency.p50 <= base.latency.p50 * 1.05
    require_significance: false
  - name: chat tokens
    where: span.operation == "chat"
    expect: double(head.tokens.total) <= double(base.tokens.total) * 1.10
  - name: chat cost
    where: span.operation == "chat"
    expect: head.cost <= base.cost * 1.10
  - name: calls
    expect: head.count <= base.count
`))
	require.NoError(t, err)
	// 3 gpt-4o-mini calls and 1 gpt-4o call per trace: groups of 3n and n
	// spans with different latencies; a pooled sample of equal size per
	// group puts the p50 in the wrong place.
	for _, tc := range []struct {
		name       string
		base, head *span.Run
		fails      []string
	}{
		{"self", multiRun(1, 150, 3, 1, 1500), multiRun(1, 150, 3, 1, 1500), nil},
		{"noise", multiRun(1, 150, 3, 1, 1500), multiRun(2, 150, 3, 1, 1500), nil},
		{"extra gpt-4o call", multiRun(1, 150, 3, 1, 1500), multiRun(2, 150, 3, 2, 1500), []string{"all spans p50", "all spans p50, no significance", "chat tokens", "chat cost", "calls"}},
		{"few", multiRun(1, 5, 3, 1, 1500), multiRun(2, 5, 3, 2, 1500), []string{"all spans p50, no significance"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			full := s.EvaluateRegressions(tc.base, tc.head, mannWhitney)
			sums := summaryJSON(t, s.Config, tc.base)
			require.NoError(t, s.CheckSummary(sums))
			fromSummary := s.EvaluateRegressionsSummary(sums, tc.head, mannWhitney)
			var failed []string
			for i := range full {
				assert.Equal(t, full[i].Status, fromSummary[i].Status, "%s: %s | %s", full[i].Name, full[i].Message, fromSummary[i].Message)
				sameObserved(t, full[i].Observed, fromSummary[i].Observed, full[i].Name)
				assert.Equal(t, full[i].Significance, fromSummary[i].Significance, full[i].Name)
				if full[i].Status == Fail {
					failed = append(failed, full[i].Name)
				}
			}
			assert.ElementsMatch(t, tc.fails, failed)
		})
	}
}

// Issue #11 item 3: what a summary cannot answer as its trace file would
// is refused before evaluation, naming the rule's file:line.
func TestCheckSummaryRefuses(t *testing.T) {
	s, err := LoadBytes("llmcheck.yaml", []byte(`regressions:
  - name: p50 of everything
    expect: head.latency.p50 <= base.latency.p50 * 1.05
    require_significance: false
  - name: one big group, tested
    where: span.model == "gpt-4o-mini"
    expect: head.latency.p95 <= base.latency.p95 * 1.10
  - name: one big group, untested
    where: span.model == "gpt-4o-mini"
    expect: head.latency.p95 <= base.latency.p95 * 1.10
    require_significance: false
  - name: per trace
    expect: head.traces.size() <= base.traces.size()
  - name: head spans are fine
    expect: head.spans.size() >= 0
    require_significance: false
`))
	require.NoError(t, err)
	// gpt-4o-mini: more spans than a summary keeps whole.
	sums := summaryJSON(t, s.Config, multiRun(1, MaxSamples/2+1, 2, 1, 1500))
	err = s.CheckSummary(sums)
	require.Error(t, err)
	msg := err.Error()
	assert.Contains(t, msg, `llmcheck.yaml:2:5: regression rule "p50 of everything": the baseline summary keeps 1000 of its 1002 span durations of group "- · chat · gpt-4o-mini"`)
	assert.Contains(t, msg, `llmcheck.yaml:5:5: regression rule "one big group, tested"`)
	assert.Contains(t, msg, `llmcheck.yaml:12:5: regression rule "per trace": the expectation reads base.spans or base.traces, which a baseline summary does not keep`)
	assert.Contains(t, msg, "use the baseline trace file")
	assert.NotContains(t, msg, "one big group, untested", "exact statistics of one group need no values")
	assert.NotContains(t, msg, "head spans are fine")

	// Small groups: nothing to refuse but base.traces.
	err = s.CheckSummary(summaryJSON(t, s.Config, multiRun(1, 100, 2, 1, 1500)))
	require.Error(t, err)
	assert.Equal(t, 1, strings.Count(err.Error(), "regression rule"), err.Error())
}

// Issue #11 item 2: one more call in every request adds to the tokens and
// cost of each request; tested per trace, the change is significant
// (tested per span, each call is like the others and it was not).
func TestRegressionSumsPerTrace(t *testing.T) {
	s, err := LoadBytes("llmcheck.yaml", []byte(`pricing:
  gpt-4o: {input: 2.5, output: 10}
  gpt-4o-mini: {input: 0.15, output: 0.6}
regressions:
  - name: tokens
    expect: double(head.tokens.total) <= double(base.tokens.total) * 1.10
  - name: cost
    expect: head.cost <= base.cost * 1.10
`))
	require.NoError(t, err)
	for seed := uint64(0); seed < 20; seed++ {
		rs := s.EvaluateRegressions(multiRun(seed*2, 40, 1, 2, 1500), multiRun(seed*2+1, 40, 1, 3, 1500), mannWhitney)
		for _, r := range rs {
			require.Equal(t, Fail, r.Status, "seed %d: %s: %s", seed, r.Name, r.Message)
			require.Len(t, r.Significance, 1)
			assert.Equal(t, "trace", r.Significance[0].Unit)
			assert.Equal(t, 40, r.Significance[0].NBase)
			assert.Contains(t, r.Message, "per trace")
		}
	}
}

// agentRun is n requests of two chat calls; with repeat, each request's
// enclosing agent span repeats its calls' usage (as the Vercel AI SDK's
// ai.generateText does over its doGenerate spans). The real spend is the
// same either way.
func agentRun(seed uint64, n int, repeat bool) *span.Run {
	r := rand.New(rand.NewPCG(seed, 11))
	var spans []span.Span
	for ti := range n {
		tid := fmt.Sprintf("t%d", ti)
		var sum int64
		for ci := range 2 {
			in := int64(100 + r.IntN(100))
			sum += in + 20
			spans = append(spans, span.Span{TraceID: tid, SpanID: fmt.Sprintf("c%d-%d", ti, ci), ParentSpanID: "a" + tid, Name: "chat gpt-4o",
				Operation: "chat", Model: "gpt-4o", DurationMS: 100,
				Tokens: span.Tokens{Input: in, Output: 20, Total: in + 20, HasInput: true, HasOutput: true, HasTotal: true}})
		}
		agent := span.Span{TraceID: tid, SpanID: "a" + tid, Name: "invoke_agent", Operation: "invoke_agent", DurationMS: 250}
		if repeat {
			agent.Tokens = span.Tokens{Total: sum, HasTotal: true}
		}
		spans = append(spans, agent)
	}
	return span.NewRun(spans)
}

// A rule's per-trace token sums count usage once: a head whose agent spans
// repeat their model calls' usage spends what the base spends, so a rule
// whose expectation fails anyway is not made significant by a doubled
// per-trace sample (it was +100 % with the agent spans counted).
func TestRegressionSumsCountUsageOnce(t *testing.T) {
	s, err := LoadBytes("llmcheck.yaml", []byte(`regressions:
  - name: tokens per request
    expect: double(head.tokens.total) <= double(base.tokens.total) * 0.5
`))
	require.NoError(t, err)
	for seed := uint64(0); seed < 10; seed++ {
		rs := s.EvaluateRegressions(agentRun(seed, 60, false), agentRun(seed, 60, true), mannWhitney)
		require.Len(t, rs, 1)
		require.Len(t, rs[0].Significance, 1)
		assert.Equal(t, "trace", rs[0].Significance[0].Unit)
		assert.Equal(t, Inconclusive, rs[0].Status, "seed %d: %s", seed, rs[0].Message)
	}
}

// A where on span.model_family is answered by a baseline summary as by its
// trace file: the family spans the groups of the alias and its dated
// snapshot (what init --from writes, issue #13 item 15).
func TestRegressionSummaryModelFamily(t *testing.T) {
	s, err := LoadBytes("llmcheck.yaml", []byte(`pricing:
  gpt-4o-mini: {input: 0.15, output: 0.6}
  gpt-4o: {input: 2.5, output: 10}
regressions:
  - name: mini family count
    where: span.model_family == "gpt-4o-mini"
    expect: head.count <= base.count
  - name: mini family tokens
    where: span.model_family == "gpt-4o-mini"
    expect: double(head.tokens.total) <= double(base.tokens.total) * 1.10
    require_significance: false
`))
	require.NoError(t, err)
	dated := func(r *span.Run) *span.Run {
		var spans []span.Span
		for i, sp := range r.Spans {
			c := *sp
			if i%2 == 0 && c.Model == "gpt-4o-mini" {
				c.Model = "gpt-4o-mini-2024-07-18"
			}
			spans = append(spans, c)
		}
		return span.NewRun(spans)
	}
	base := dated(multiRun(1, 50, 3, 1, 1500))
	for _, tc := range []struct {
		name string
		head *span.Run
		want Status
	}{
		{"same", dated(multiRun(1, 50, 3, 1, 1500)), Pass},
		{"an extra mini call", dated(multiRun(2, 50, 4, 1, 1500)), Fail},
	} {
		t.Run(tc.name, func(t *testing.T) {
			full := s.EvaluateRegressions(base, tc.head, mannWhitney)
			sums := summaryJSON(t, s.Config, base)
			require.NoError(t, s.CheckSummary(sums))
			fromSummary := s.EvaluateRegressionsSummary(sums, tc.head, mannWhitney)
			for i := range full {
				assert.Equal(t, tc.want, full[i].Status, "%s: %s", full[i].Name, full[i].Message)
				assert.Equal(t, full[i].Status, fromSummary[i].Status, "%s: %s | %s", full[i].Name, full[i].Message, fromSummary[i].Message)
				sameObserved(t, full[i].Observed, fromSummary[i].Observed, full[i].Name)
			}
		})
	}
}
