package diff

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	llmassert "github.com/llmcheck/llmcheck/assert"
	"github.com/llmcheck/llmcheck/span"
)

// evalScenario is one trace per test (test.name "test-NN"): a root span
// and a chat span with a faithfulness score drawn around faith and a
// correctness label, "incorrect" for the tests in wrong.
func evalScenario(seed uint64, tests int, faith float64, wrong map[int]bool) *span.Run {
	r := rand.New(rand.NewPCG(seed, 9))
	var spans []span.Span
	for i := range tests {
		id := fmt.Sprintf("%032x", uint64(i)+seed<<32)
		start := uint64(1_700_000_000_000_000_000) + uint64(i)*1e9
		label := "correct"
		if wrong[i] {
			label = "incorrect"
		}
		score := math.Round(math.Max(0, math.Min(1, faith+0.2*(r.Float64()-0.5)))*1000) / 1000
		spans = append(spans,
			span.Span{TraceID: id, SpanID: "1", Name: "answer", Service: "rag", Attrs: span.AttrsOf(map[string]any{"test.name": fmt.Sprintf("test-%02d", i)}),
				StartUnixNano: start, EndUnixNano: start + 50e6, DurationMS: 50},
			span.Span{TraceID: id, SpanID: "2", ParentSpanID: "1", Name: "chat", Service: "rag", Operation: "chat", Model: "gpt-4o",
				StartUnixNano: start + 1e6, EndUnixNano: start + 41e6, DurationMS: 40,
				Evals: []span.Eval{
					{Name: "faithfulness", Score: score, HasScore: true},
					{Name: "correctness", Label: label},
				}},
		)
	}
	return span.NewRun(spans)
}

func TestEvalsDiff(t *testing.T) {
	base := evalScenario(1, 20, 0.85, map[int]bool{3: true})
	head := evalScenario(2, 20, 0.60, map[int]bool{3: true, 5: true, 11: true})
	r := Compare(base, head, Options{})
	g := groupByKey(t, r, "rag · chat · gpt-4o")

	// Statistics, computed here from the runs.
	scores := func(run *span.Run) []float64 {
		var out []float64
		for _, s := range run.Spans {
			for _, e := range s.Evals {
				if e.Name == "faithfulness" {
					out = append(out, e.Score)
				}
			}
		}
		return out
	}
	bs, hs := scores(base), scores(head)
	require.Contains(t, g.Head.Evals, "faithfulness")
	assert.Equal(t, 20, g.Head.Evals["faithfulness"].Count)
	assert.InDelta(t, mean(hs), g.Head.Evals["faithfulness"].Scores.Avg, 1e-12)
	assert.Equal(t, map[string]int{"correct": 17, "incorrect": 3}, g.Head.Evals["correctness"].Labels)

	m := g.Metric(EvalMetricScore("faithfulness"))
	require.NotNil(t, m)
	assert.InDelta(t, mean(bs), m.Base, 1e-12)
	assert.InDelta(t, mean(hs), m.Head, 1e-12)
	assert.True(t, m.Test.Significant, "a drop of 0.25 over 20 results per side is significant: p=%v", m.Test.PAdjusted)
	assert.Equal(t, `evals["faithfulness"].score per result|rag · chat · gpt-4o`, m.Test.Key)

	c := g.Metric(EvalMetricLabel("correctness", "correct"))
	require.NotNil(t, c)
	assert.InDelta(t, 19.0/20, c.Base, 1e-12)
	assert.InDelta(t, 17.0/20, c.Head, 1e-12)
	assert.False(t, c.Test.Significant, "2 more incorrect of 20 is not significant")
	require.NotNil(t, g.Metric(EvalMetricLabel("correctness", "incorrect")))

	// Flips: tests 5 and 11 went from correct to incorrect; 3 failed on
	// both sides.
	require.NotNil(t, r.Evals)
	assert.Equal(t, 20, r.Evals.Compared) // correctness only: a score without min_score has no verdict
	assert.Equal(t, []Flip{
		{Test: "test-05", Eval: "correctness", Base: "1/1 pass", Head: "0/1 pass"},
		{Test: "test-11", Eval: "correctness", Base: "1/1 pass", Head: "0/1 pass"},
	}, r.Evals.Flips)
	assert.Empty(t, r.Evals.Fixed)
	var kinds []string
	for _, h := range r.Headlines {
		kinds = append(kinds, h.Kind)
	}
	assert.Contains(t, kinds, HeadlineEvals)
	assert.Contains(t, kinds, HeadlineFlips)

	// No change: nothing significant.
	same := Compare(evalScenario(3, 20, 0.85, nil), evalScenario(4, 20, 0.85, nil), Options{})
	sm := groupByKey(t, same, "rag · chat · gpt-4o").Metric(EvalMetricScore("faithfulness"))
	assert.False(t, sm.Test.Significant, "p=%v", sm.Test.PAdjusted)
	assert.Empty(t, same.Evals.Flips)
}

// TestEvalsVerdictOption: a min_score verdict makes faithfulness results
// pass or fail, and flips follow.
func TestEvalsVerdictOption(t *testing.T) {
	cfg, err := llmassert.ParseConfig("c.yaml", []byte("evals:\n  faithfulness: {min_score: 0.7}\nassertions:\n  - name: a\n    expect: count > 0\n"))
	require.NoError(t, err)
	base := evalScenario(1, 10, 0.9, nil)
	head := evalScenario(2, 10, 0.9, nil)
	head.Spans[1].Evals[0].Score = 0.2 // test-00
	r := Compare(base, head, Options{Verdict: cfg.EvalVerdict})
	assert.Equal(t, 20, r.Evals.Compared)
	assert.Equal(t, []Flip{{Test: "test-00", Eval: "faithfulness", Base: "1/1 pass", Head: "0/1 pass"}}, r.Evals.Flips)
}

// TestEvalsSummary: a baseline summary gives the same evaluation rows as
// its trace file; the verdicts per test need the trace file.
func TestEvalsSummary(t *testing.T) {
	base := evalScenario(1, 20, 0.85, map[int]bool{3: true})
	head := evalScenario(2, 20, 0.60, map[int]bool{3: true, 5: true})
	full := Compare(base, head, Options{})
	data, err := json.Marshal(llmassert.SummariseGroups(nil, base))
	require.NoError(t, err)
	var sums []llmassert.Summary
	require.NoError(t, json.Unmarshal(data, &sums))
	fromSummary := CompareSummary(sums, head, Options{})
	key := "rag · chat · gpt-4o"
	fg, sg := groupByKey(t, full, key), groupByKey(t, fromSummary, key)
	for _, name := range []string{EvalMetricScore("faithfulness"), EvalMetricLabel("correctness", "correct"), EvalMetricLabel("correctness", "incorrect")} {
		fm, sm := fg.Metric(name), sg.Metric(name)
		require.NotNil(t, fm, name)
		require.NotNil(t, sm, name)
		assert.InDelta(t, fm.Base, sm.Base, 1e-12, name)
		assert.Equal(t, fm.Test.P, sm.Test.P, name)
	}
	require.NotNil(t, fromSummary.Evals)
	assert.Equal(t, EvalsFromSummary, fromSummary.Evals.Unavailable)
}

// TestEvalsRuleSameTest: a regression rule over one group's faithfulness
// and the table's row of that group are one test of the family.
func TestEvalsRuleSameTest(t *testing.T) {
	s, err := llmassert.LoadBytes("c.yaml", []byte(`regressions:
  - name: faithfulness holds
    where: span.operation == "chat"
    expect: head.evals["faithfulness"].avg >= base.evals["faithfulness"].avg - 0.05
`))
	require.NoError(t, err)
	base, head := evalScenario(1, 20, 0.85, nil), evalScenario(2, 20, 0.60, nil)
	r := Compare(base, head, Options{})
	before := r.Comparisons
	rules := s.EvaluateRegressions(base, head, RuleSignificance(r.Alpha, r.MinSamples))
	r.CorrectRules(rules)
	assert.Equal(t, before, r.Comparisons, "the rule's test is the table's")
	require.Len(t, rules[0].Significance, 1)
	m := groupByKey(t, r, "rag · chat · gpt-4o").Metric(EvalMetricScore("faithfulness"))
	assert.Equal(t, m.Test.Key, rules[0].Significance[0].Key)
	assert.Equal(t, m.Test.PAdjusted, rules[0].Significance[0].PAdjusted)
	assert.Equal(t, llmassert.Fail, rules[0].Status, rules[0].Message)
}

func TestGoldenEvals(t *testing.T) {
	base := evalScenario(1, 20, 0.85, map[int]bool{3: true})
	head := evalScenario(2, 20, 0.60, map[int]bool{3: true, 5: true, 11: true})
	// A hostile evaluation name and label must be escaped.
	for i := range head.Spans {
		if head.Spans[i].Operation == "chat" {
			head.Spans[i].Evals = append(head.Spans[i].Evals, span.Eval{Name: "tone|<b>\x1b[31m", Label: "ok*"})
			base.Spans[i].Evals = append(base.Spans[i].Evals, span.Eval{Name: "tone|<b>\x1b[31m", Label: "ok*"})
		}
	}
	r := Compare(base, head, Options{})
	r.Base.Name, r.Head.Name = "main", "feature"
	var b strings.Builder
	r.Text(&b)
	golden(t, "evals.txt", b.String())
	assert.NotContains(t, b.String(), "\x1b")
	md := r.Markdown(MaxCommentBytes)
	checkMarkdown(t, md)
	golden(t, "evals.md", md)
	assert.NotContains(t, md, "<b>")
	var js strings.Builder
	require.NoError(t, r.WriteJSON(&js))
	golden(t, "evals.json", js.String())
}

func groupByKey(t *testing.T, r *Report, key string) *Group {
	t.Helper()
	for i := range r.Groups {
		if r.Groups[i].Key == key {
			return &r.Groups[i]
		}
	}
	t.Fatalf("no group %q", key)
	return nil
}

// TestEvalsBounded: a group compares at most maxEvalNames evaluations
// and maxEvalLabels labels of each, the most frequent.
func TestEvalsBounded(t *testing.T) {
	mk := func() *span.Run {
		var evals []span.Eval
		for i := range 200 {
			for range 1 + i%3 {
				evals = append(evals, span.Eval{Name: fmt.Sprintf("e%03d", i), Score: 1, HasScore: true})
			}
		}
		for i := range 30 {
			evals = append(evals, span.Eval{Name: "judge", Label: fmt.Sprintf("l%02d", i)})
		}
		return span.NewRun([]span.Span{{TraceID: "t", SpanID: "s", Name: "chat", Operation: "chat", DurationMS: 1, Evals: evals}})
	}
	r := Compare(mk(), mk(), Options{})
	g := &r.Groups[0]
	var scores, labels int
	for _, m := range g.evalMetricsOf() {
		if _, _, isLabel, _ := evalMetric(m.Name); isLabel {
			labels++
		} else {
			scores++
		}
	}
	assert.Equal(t, maxEvalNames-1, scores, "judge is one of the names, with labels only")
	assert.Equal(t, maxEvalLabels, labels)
	assert.NotNil(t, g.Metric(EvalMetricScore("e002")), "3 results a side: among the most")
	assert.Nil(t, g.Metric(EvalMetricScore("e000")), "1 result a side: left out")
}

// seededEvals is n tests, one trace each, whose chat span has a
// faithfulness score (mean faith, uniform ±0.1) and a correctness label
// (incorrect with probability wrong).
func seededEvals(seed uint64, n int, faith, wrong float64) *span.Run {
	r := rand.New(rand.NewPCG(seed, 11))
	wrongSet := map[int]bool{}
	for i := range n {
		if r.Float64() < wrong {
			wrongSet[i] = true
		}
	}
	return evalScenario(seed*7919+1, n, faith, wrongSet)
}

// TestEvalsSeeded measures how often the evaluation rows of the diff are
// right on seeded pairs: false alarms on unchanged pairs, detection of a
// drop of the mean score and of the correct rate (docs/statistics.md).
func TestEvalsSeeded(t *testing.T) {
	const pairs = 200 // about 2 s
	type sc struct {
		name            string
		n               int
		faith, wrong    [2]float64
		metric          string // the metric that must be significant; "" for any evaluation metric
		atMost, atLeast float64
	}
	for _, c := range []sc{
		{"no change", 100, [2]float64{0.85, 0.85}, [2]float64{0.1, 0.1}, "", 0.05, 0},
		{"faithfulness -0.03", 100, [2]float64{0.85, 0.82}, [2]float64{0.1, 0.1}, EvalMetricScore("faithfulness"), 1, 0.75},
		{"faithfulness -0.05", 100, [2]float64{0.85, 0.80}, [2]float64{0.1, 0.1}, EvalMetricScore("faithfulness"), 1, 0.95},
		{"correct rate 90 % → 75 %", 100, [2]float64{0.85, 0.85}, [2]float64{0.1, 0.25}, EvalMetricLabel("correctness", "correct"), 1, 0.55},
	} {
		t.Run(c.name, func(t *testing.T) {
			hits := 0
			for k := range pairs {
				base := seededEvals(uint64(2*k+1), c.n, c.faith[0], c.wrong[0])
				head := seededEvals(uint64(2*k+2), c.n, c.faith[1], c.wrong[1])
				g := &Compare(base, head, Options{}).Groups[0]
				if g.Key != "rag · chat · gpt-4o" {
					g = &Compare(base, head, Options{}).Groups[1]
				}
				found := false
				for _, m := range g.evalMetricsOf() {
					if m.Test.Significant && (c.metric == "" || m.Name == c.metric) {
						found = true
					}
				}
				if found {
					hits++
				}
			}
			rate := float64(hits) / float64(pairs)
			t.Logf("%s: %d of %d pairs (%.1f %%)", c.name, hits, pairs, 100*rate)
			assert.LessOrEqual(t, rate, c.atMost)
			assert.GreaterOrEqual(t, rate, c.atLeast)
		})
	}
}

// TestEvalsLongNames: evaluation names and labels of any length reach
// the JSON report clipped, map keys included.
func TestEvalsLongNames(t *testing.T) {
	long := strings.Repeat("n", 100_000)
	mk := func() *span.Run {
		return span.NewRun([]span.Span{{TraceID: "t", SpanID: "s", Name: "chat", Operation: "chat", DurationMS: 1,
			Evals: []span.Eval{{Name: long, Label: long, Score: 1, HasScore: true}}}})
	}
	r := Compare(mk(), mk(), Options{})
	var js strings.Builder
	require.NoError(t, r.WriteJSON(&js))
	assert.Less(t, js.Len(), 20_000, "no name is written whole")
	var back Report
	require.NoError(t, json.Unmarshal([]byte(js.String()), &back))
	for k, e := range back.Groups[0].Head.Evals {
		assert.Contains(t, k, "…(100000 bytes)")
		for l := range e.Labels {
			assert.Contains(t, l, "…(100000 bytes)")
		}
	}
	var b strings.Builder
	r.Text(&b)
	assert.Less(t, b.Len(), 20_000)
	assert.Less(t, len(r.Markdown(MaxCommentBytes)), 20_000)
}

// TestEvalsExtremeScores: recorded scores of any magnitude give short
// rows and no panic.
func TestEvalsExtremeScores(t *testing.T) {
	mk := func(x float64) *span.Run {
		var spans []span.Span
		for i := range 8 {
			spans = append(spans, span.Span{TraceID: fmt.Sprintf("t%d", i), SpanID: "s", Name: "chat", Operation: "chat", DurationMS: 1,
				Evals: []span.Eval{{Name: "wide", Score: x * float64(i%2*2-1), HasScore: true}, {Name: "huge", Score: x, HasScore: true}}})
		}
		return span.NewRun(spans)
	}
	r := Compare(mk(1.7e308), mk(1e300), Options{})
	var b strings.Builder
	r.Text(&b)
	assert.Less(t, b.Len(), 5000)
	assert.Regexp(t, `"huge" score +1\.7e\+308 +1e\+300 +↓ -1\.7e\+308`, b.String())
	md := r.Markdown(0)
	checkMarkdown(t, md)
	assert.Less(t, len(md), 5000)
}
