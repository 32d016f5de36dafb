package assert

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/perf/benchmath"

	"github.com/llmcheck/llmcheck/span"
)

// mannWhitney is the significance test the CLI uses (diff.Significance),
// rebuilt here from benchmath so the assert package tests stand alone.
func mannWhitney(base, head []float64) Significance {
	v := Significance{NBase: len(base), NHead: len(head)}
	if len(base) < 6 || len(head) < 6 {
		v.TooFew = true
		return v
	}
	c := benchmath.AssumeNothing.Compare(benchmath.NewSample(base, &benchmath.DefaultThresholds), benchmath.NewSample(head, &benchmath.DefaultThresholds))
	v.P = c.P
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
	assert.Contains(t, got["chat p95 grows at most 10 %"].Message, "too few samples (4 vs 4)")
	assert.Equal(t, Fail, got["chat p95 strict"].Status)

	// A structural change (more calls) has nothing to test: it fails.
	got = byName(s.EvaluateRegressions(chatRun(1, 10, 1000, 500), chatRun(1, 12, 1000, 500), mannWhitney))
	assert.Equal(t, Fail, got["call count stable"].Status)

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
	assert.LessOrEqual(t, failing, 5, "the same distribution must not fail a rule in more than 5 of 100 seeded pairs")
}

func TestRegressionConfigErrors(t *testing.T) {
	_, err := LoadBytes("llmcheck.yaml", []byte("regressions:\n  - name: a\n    expect: latency.p95 < 1\n    each: trace\n"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), `llmcheck.yaml:4:5: unknown key "each"`)
	assert.Contains(t, err.Error(), "llmcheck.yaml:3:13: expect: undeclared reference to 'latency'")
	assert.Contains(t, err.Error(), "compares `base.` and `head.`")
}
