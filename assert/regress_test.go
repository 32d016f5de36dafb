package assert

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
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
	assert.Contains(t, err.Error(), `llmcheck.yaml:4:5: unknown key "each"`)
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
