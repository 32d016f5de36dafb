package assert

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/llmcheck/llmcheck/span"
)

// Independent recomputation of the evals statistics and of the tests of
// eval rules (review of issue #14 item 3): other methods than the code's.

// verifyRun is n spans over two operations with results of three names:
// "f" scores (rounded to 0.05, so ties) and labels on some, "lab" labels
// only, "sc" scores only; some spans have none.
func verifyRun(seed uint64, n int, mean, wrong float64) *span.Run {
	r := rand.New(rand.NewPCG(seed, 77))
	spans := make([]span.Span, n)
	for i := range spans {
		op := "chat"
		if i%3 == 0 {
			op = "retrieval"
		}
		var ev []span.Eval
		for range r.IntN(3) {
			e := span.Eval{Name: "f", Score: math.Round(20*(mean+0.3*(r.Float64()-0.5))) / 20, HasScore: true}
			if r.IntN(2) == 0 {
				e.Label = "pass"
				if r.Float64() < wrong {
					e.Label = "fail"
				}
			}
			ev = append(ev, e)
		}
		if r.IntN(2) == 0 {
			l := "good"
			if r.Float64() < wrong {
				l = "bad"
			}
			ev = append(ev, span.Eval{Name: "lab", Label: l})
		}
		if r.IntN(4) == 0 {
			ev = append(ev, span.Eval{Name: "sc", Score: r.NormFloat64() * 1000, HasScore: true})
		}
		spans[i] = span.Span{TraceID: fmt.Sprintf("t%d", i/2), SpanID: fmt.Sprintf("s%d", i), Name: op, Operation: op,
			DurationMS: 10, Evals: ev}
	}
	return span.NewRun(spans)
}

// quantile7 is Hyndman-Fan type 7: (1-g)·x[j] + g·x[j+1], j = floor(1+(n-1)q), 1-based.
func quantile7(xs []float64, q float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	pos := 1 + float64(len(s)-1)*q
	j := int(pos)
	g := pos - float64(j)
	if j >= len(s) {
		return s[len(s)-1]
	}
	return (1-g)*s[j-1] + g*s[j]
}

func TestEvalsIndependentStats(t *testing.T) {
	for seed := uint64(1); seed <= 60; seed++ {
		run := verifyRun(seed, 5+int(seed)*7, 0.7, 0.2)
		scores := map[string][]float64{}
		count := map[string]int{}
		labels := map[string]map[string]int{}
		labelled := map[string]int{}
		for _, s := range run.Spans {
			for _, e := range s.Evals {
				count[e.Name]++
				if e.HasScore {
					scores[e.Name] = append(scores[e.Name], e.Score)
				}
				if e.Label != "" {
					if labels[e.Name] == nil {
						labels[e.Name] = map[string]int{}
					}
					labels[e.Name][e.Label]++
					labelled[e.Name]++
				}
			}
		}
		for name, n := range count {
			assert.Equal(t, int64(n), evalAll(t, fmt.Sprintf("evals[%q].count", name), run), "seed %d %s", seed, name)
			if sc := scores[name]; len(sc) > 0 {
				sum, lo, hi := 0.0, math.Inf(1), math.Inf(-1)
				for _, x := range sc {
					sum, lo, hi = sum+x, math.Min(lo, x), math.Max(hi, x)
				}
				for _, c := range []struct {
					f    string
					want float64
				}{{"avg", sum / float64(len(sc))}, {"min", lo}, {"max", hi},
					{"p50", quantile7(sc, 0.5)}, {"p90", quantile7(sc, 0.9)}, {"p95", quantile7(sc, 0.95)}} {
					got := evalAll(t, fmt.Sprintf("evals[%q].%s", name, c.f), run).(float64)
					assert.InDelta(t, c.want, got, 1e-9*math.Max(1, math.Abs(c.want)), "seed %d %s.%s", seed, name, c.f)
				}
			}
			for l, k := range labels[name] {
				got := evalAll(t, fmt.Sprintf("evals[%q].labels[%q]", name, l), run).(float64)
				assert.InDelta(t, float64(k)/float64(labelled[name]), got, 1e-12, "seed %d %s %s", seed, name, l)
			}
		}
	}
}

// uTestP is the two-sided Mann-Whitney p-value by the normal
// approximation with tie and continuity correction, U counted pairwise
// (not from ranks) and the tie term from the pooled value counts.
func uTestP(a, b []float64) float64 {
	u := 0.0
	for _, x := range a {
		for _, y := range b {
			switch {
			case x > y:
				u++
			case x == y:
				u += 0.5
			}
		}
	}
	n1, n2 := float64(len(a)), float64(len(b))
	n := n1 + n2
	ties := map[float64]float64{}
	for _, x := range append(append([]float64(nil), a...), b...) {
		ties[x]++
	}
	tsum := 0.0
	for _, c := range ties {
		tsum += c*c*c - c
	}
	sigma := math.Sqrt(n1 * n2 / 12 * ((n + 1) - tsum/(n*(n-1))))
	d := u - n1*n2/2
	if d > 0 {
		d -= 0.5
	} else if d < 0 {
		d += 0.5
	}
	return math.Erfc(math.Abs(d/sigma) / math.Sqrt2)
}

func evalSampleOf(run *span.Run, op, name, label string) []float64 {
	var out []float64
	for _, s := range run.Spans {
		if op != "" && s.Operation != op {
			continue
		}
		for _, e := range s.Evals {
			if e.Name != name {
				continue
			}
			if label == "" && e.HasScore {
				out = append(out, e.Score)
			}
			if label != "" && e.Label != "" {
				out = append(out, b2f(e.Label == label))
			}
		}
	}
	return out
}

const verifyRules = `regressions:
  - name: f holds on chat
    where: span.operation == "chat"
    expect: head.evals["f"].avg >= base.evals["f"].avg + 0.5
  - name: lab good rate holds
    expect: head.evals["lab"].labels["good"] >= base.evals["lab"].labels["good"] + 0.5
  - name: f pass rate
    where: span.operation == "chat"
    expect: head.evals["f"].labels["pass"] >= base.evals["f"].labels["pass"] + 0.5
`

// TestEvalsRulePValues: the p-values of eval rules equal an independent U
// test on the per-result samples, the adjusted ones Holm over the rules'
// family computed by hand, and the summary gives the trace file's
// verdicts (many seeds, where over several groups).
func TestEvalsRulePValues(t *testing.T) {
	s, err := LoadBytes("llmcheck.yaml", []byte(verifyRules))
	require.NoError(t, err)
	for seed := uint64(1); seed <= 40; seed++ {
		base := verifyRun(2*seed, 120, 0.7, 0.2)
		head := verifyRun(2*seed+1, 120, 0.7-0.005*float64(seed%10), 0.2+0.01*float64(seed%7))
		full := s.EvaluateRegressions(base, head, mannWhitney)
		require.Len(t, full, 3)
		samples := [][2][]float64{
			{evalSampleOf(base, "chat", "f", ""), evalSampleOf(head, "chat", "f", "")},
			{evalSampleOf(base, "", "lab", "good"), evalSampleOf(head, "", "lab", "good")},
			{evalSampleOf(base, "chat", "f", "pass"), evalSampleOf(head, "chat", "f", "pass")},
		}
		var ps []float64
		for i, r := range full {
			require.Len(t, r.Significance, 1, "seed %d %s: %s", seed, r.Name, r.Message)
			sg := r.Significance[0]
			assert.Equal(t, len(samples[i][0]), sg.NBase, "seed %d %s", seed, r.Name)
			assert.Equal(t, len(samples[i][1]), sg.NHead, "seed %d %s", seed, r.Name)
			want := uTestP(samples[i][0], samples[i][1])
			assert.InDelta(t, want, sg.P, 1e-9, "seed %d %s", seed, r.Name)
			ps = append(ps, sg.P)
		}
		// Holm by hand over the three.
		idx := []int{0, 1, 2}
		sort.Slice(idx, func(a, b int) bool { return ps[idx[a]] < ps[idx[b]] })
		run := 0.0
		for k, i := range idx {
			run = math.Max(run, math.Min(1, float64(3-k)*ps[i]))
			assert.InDelta(t, run, full[i].Significance[0].PAdjusted, 1e-12, "seed %d %s", seed, full[i].Name)
			assert.Equal(t, run <= 0.05, full[i].Status == Fail, "seed %d %s: %s", seed, full[i].Name, full[i].Message)
		}
		fromSummary := s.EvaluateRegressionsSummary(summaryJSON(t, s.Config, base), head, mannWhitney)
		for i := range full {
			assert.Equal(t, full[i].Status, fromSummary[i].Status, "seed %d %s: %s | %s", seed, full[i].Name, full[i].Message, fromSummary[i].Message)
			assert.Equal(t, full[i].Observed, fromSummary[i].Observed, "seed %d", seed)
			assert.Equal(t, full[i].Significance, fromSummary[i].Significance, "seed %d", seed)
		}
	}
}

// TestEvalsRuleFalseAlarms: an eval rule that fails on any drop fails on
// at most α of unchanged pairs.
func TestEvalsRuleFalseAlarms(t *testing.T) {
	s, err := LoadBytes("llmcheck.yaml", []byte(`regressions:
  - name: f holds
    expect: head.evals["f"].avg >= base.evals["f"].avg && head.evals["f"].labels["pass"] >= base.evals["f"].labels["pass"]
`))
	require.NoError(t, err)
	const pairs = 300
	fails := 0
	for k := range uint64(pairs) {
		r := s.EvaluateRegressions(verifyRun(1000+2*k, 90, 0.7, 0.2), verifyRun(1001+2*k, 90, 0.7, 0.2), mannWhitney)
		if r[0].Status == Fail {
			fails++
		}
	}
	t.Logf("false alarms: %d of %d unchanged pairs (%.1f %%)", fails, pairs, 100*float64(fails)/pairs)
	assert.LessOrEqual(t, float64(fails)/pairs, 0.05)
}

// TestEvalsNeitherScoreNorLabel: results with neither a score nor a label
// (a score that was not a number) are an error that says so, not a hint
// to read the other statistic, which is an error too.
func TestEvalsNeitherScoreNorLabel(t *testing.T) {
	s, err := LoadBytes("llmcheck.yaml", []byte(`assertions:
  - name: scores
    expect: evals["bare"].avg > 0
  - name: labels
    expect: evals["bare"].labels["ok"] > 0
  - name: count
    expect: evals["bare"].count == 2
`))
	require.NoError(t, err)
	run := span.NewRun([]span.Span{{TraceID: "t", SpanID: "s", Name: "chat", Operation: "chat", DurationMS: 1,
		Evals: []span.Eval{{Name: "bare"}, {Name: "bare", Explanation: "x"}}}})
	res := s.Evaluate(run)
	require.Len(t, res.Assertions, 3)
	for _, r := range res.Assertions[:2] {
		assert.Equal(t, Error, r.Status, r.Message)
		assert.Contains(t, r.Message, `none of its 2 results carries a score or a label`, r.Name)
		assert.NotContains(t, r.Message, "only", r.Name)
	}
	assert.Equal(t, Pass, res.Assertions[2].Status, res.Assertions[2].Message)
}

// TestEvalsSummaryLargeGroup: a group with more scores than a summary
// keeps cannot give the trace file's test of the scores: refused at load
// (docs/statistics.md); its label rates are exact at any size.
func TestEvalsSummaryLargeGroup(t *testing.T) {
	base := evalRun(5, MaxSamples+500, 0.8)
	scoreRule, err := LoadBytes("llmcheck.yaml", []byte(`regressions:
  - name: f
    where: span.operation == "chat"
    expect: head.evals["faithfulness"].avg >= base.evals["faithfulness"].avg
`))
	require.NoError(t, err)
	err = scoreRule.CheckSummary(summaryJSON(t, scoreRule.Config, base))
	require.Error(t, err)
	assert.Contains(t, err.Error(), `scores`)
	labelRule, err := LoadBytes("llmcheck.yaml", []byte(`regressions:
  - name: l
    where: span.operation == "chat"
    expect: head.evals["faithfulness"].labels["pass"] >= base.evals["faithfulness"].labels["pass"] + 0.5
`))
	require.NoError(t, err)
	sums := summaryJSON(t, labelRule.Config, base)
	require.NoError(t, labelRule.CheckSummary(sums))
	head := evalRun(6, 800, 0.78)
	full := labelRule.EvaluateRegressions(base, head, mannWhitney)
	fromSummary := labelRule.EvaluateRegressionsSummary(sums, head, mannWhitney)
	assert.Equal(t, full[0].Status, fromSummary[0].Status, "%s | %s", full[0].Message, fromSummary[0].Message)
	assert.Equal(t, full[0].Significance, fromSummary[0].Significance)
}
