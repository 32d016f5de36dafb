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

	"github.com/llmcheck/llmcheck/span"
)

// fixedEvals is three chat spans with evaluation results and a tool span
// without any: faithfulness scores 0.2, 0.6, 0.9, 1.0; correctness labels
// correct ×3, incorrect ×1; toxicity labels only; relevance scores only.
func fixedEvals() *span.Run {
	spans := []span.Span{
		{TraceID: "t1", SpanID: "a", Name: "chat", Operation: "chat", DurationMS: 10, Evals: []span.Eval{
			{Name: "faithfulness", Score: 0.9, HasScore: true},
			{Name: "correctness", Label: "correct", Score: 1, HasScore: true},
			{Name: "toxicity", Label: "clean"},
		}},
		{TraceID: "t1", SpanID: "b", Name: "chat", Operation: "chat", DurationMS: 10, Evals: []span.Eval{
			{Name: "faithfulness", Score: 0.2, HasScore: true, Label: "unfaithful"},
			{Name: "faithfulness", Score: 1.0, HasScore: true},
			{Name: "correctness", Label: "incorrect"},
		}},
		{TraceID: "t2", SpanID: "c", Name: "chat", Operation: "chat", DurationMS: 10, Evals: []span.Eval{
			{Name: "faithfulness", Score: 0.6, HasScore: true},
			{Name: "correctness", Label: "correct"},
			{Name: "correctness", Label: "correct"},
			{Name: "relevance", Score: 3, HasScore: true},
		}},
		{TraceID: "t2", SpanID: "d", Name: "execute_tool lookup", Operation: "execute_tool", DurationMS: 5},
	}
	return span.NewRun(spans)
}

// type7 is the q-quantile by linear interpolation of sorted xs,
// computed here independently of Percentile.
func type7(xs []float64, q float64) float64 {
	s := slices.Sorted(slices.Values(xs))
	h := q * float64(len(s)-1)
	lo := math.Floor(h)
	if int(lo)+1 >= len(s) {
		return s[len(s)-1]
	}
	return s[int(lo)] + (h-lo)*(s[int(lo)+1]-s[int(lo)])
}

func TestEvalsStatistics(t *testing.T) {
	faith := []float64{0.9, 0.2, 1.0, 0.6}
	for _, tc := range []struct {
		expr string
		want any
	}{
		{`evals["faithfulness"].count`, int64(4)},
		{`evals["faithfulness"].avg`, (0.9 + 0.2 + 1.0 + 0.6) / 4},
		{`evals["faithfulness"].min`, 0.2},
		{`evals["faithfulness"].max`, 1.0},
		{`evals["faithfulness"].p50`, type7(faith, 0.5)},
		{`evals["faithfulness"].p90`, type7(faith, 0.9)},
		{`evals["faithfulness"].p95`, type7(faith, 0.95)},
		{`evals["faithfulness"].labels["unfaithful"]`, 1.0}, // 1 labelled result of 4
		{`evals["correctness"].count`, int64(4)},
		{`evals["correctness"].labels["correct"]`, 3.0 / 4},
		{`evals["correctness"].labels["incorrect"]`, 1.0 / 4},
		{`evals["correctness"].labels["unknown"]`, 0.0},
		{`evals["correctness"].avg`, 1.0}, // one scored result
		{`evals["toxicity"].labels["clean"]`, 1.0},
		{`evals["relevance"].p95`, 3.0},
		{`"relevance" in evals`, true},
		{`"nope" in evals`, false},
		{`has(evals.faithfulness)`, true},
		{`evals.faithfulness.count`, int64(4)},
		{`has(evals.nope)`, false},
		{`evals.all(n, n != "")`, true},
		{`evals.exists(n, n == "toxicity")`, true},
		{`"correct" in evals["correctness"].labels`, true},
		{`size(evals)`, int64(4)},
	} {
		t.Run(tc.expr, func(t *testing.T) {
			got := evalAll(t, tc.expr, fixedEvals())
			if f, ok := tc.want.(float64); ok {
				assert.InDelta(t, f, got, 1e-12)
			} else {
				assert.Equal(t, tc.want, got)
			}
		})
	}
}

func TestEvalsAssertions(t *testing.T) {
	for _, tc := range []struct {
		where, expect string
		status        Status
		msg           string
	}{
		{`span.operation == "chat"`, `evals["faithfulness"].avg >= 0.6`, Pass, `evals["faithfulness"].avg = 0.675`},
		{"", `evals["faithfulness"].avg >= 0.8`, Fail, `evals["faithfulness"].avg = 0.675`},
		{"", `evals["correctness"].labels["correct"] >= 0.9`, Fail, `evals["correctness"].labels["correct"] = 0.75`},
		{"", `evals["correctness"].labels["correct"] >= 0.7`, Pass, ""},
		// an absent name is an error naming the names present, escaped
		{"", `evals["faithfullness"].avg >= 0.8`, Error, `evals["faithfullness"]: no result of that name on the 4 selected spans; names present: "correctness", "faithfulness", "relevance", "toxicity"`},
		{"", `evals["x\u001b[31m"].avg >= 0.8`, Error, `evals["x\x1b[31m"]`},
		// a statistic over no scores, labels over no labels: errors
		{"", `evals["toxicity"].avg >= 0.8`, Error, `evals["toxicity"].avg: none of its 1 results carries a score`},
		{"", `evals["relevance"].labels["good"] >= 0.8`, Error, `evals["relevance"].labels: none of its 1 results carries a label`},
		{`span.operation == "execute_tool"`, `evals["faithfulness"].avg >= 0.8`, Error, `none of the 1 selected spans has an evaluation result`},
		{`span.operation == "nothing"`, `evals["faithfulness"].avg >= 0.8`, Fail, `no spans matched`},
		// a negation of an error is still an error, never a pass
		{"", `!(evals["nope"].avg < 0.5)`, Error, `evals["nope"]`},
	} {
		t.Run(tc.expect, func(t *testing.T) {
			y := "assertions:\n  - name: x\n    expect: '" + strings.ReplaceAll(tc.expect, "'", "''") + "'\n"
			if tc.where != "" {
				y += "    where: '" + strings.ReplaceAll(tc.where, "'", "''") + "'\n"
			}
			r := evaluate(t, y, fixedEvals())["x"]
			assert.Equal(t, tc.status, r.Status, r.Message)
			assert.Contains(t, r.Message, tc.msg)
		})
	}
}

// TestEvalsEachTrace: evals per trace (each: trace) reads the results of
// the trace's selected spans.
func TestEvalsEachTrace(t *testing.T) {
	y := "assertions:\n  - name: x\n    each: trace\n    expect: 'evals[\"faithfulness\"].min >= 0.5'\n"
	r := evaluate(t, y, fixedEvals())["x"]
	assert.Equal(t, Fail, r.Status, r.Message)
	assert.Contains(t, r.Message, "1 of 2 traces")
}

// evalRun is n chat spans, one faithfulness result each with a score
// drawn around mean and the label pass when the score is at least 0.7.
func evalRun(seed uint64, n int, mean float64) *span.Run {
	r := rand.New(rand.NewPCG(seed, 3))
	spans := make([]span.Span, n)
	for i := range spans {
		score := math.Max(0, math.Min(1, mean+0.15*(r.Float64()-0.5)))
		label := "fail"
		if score >= 0.7 {
			label = "pass"
		}
		spans[i] = span.Span{TraceID: fmt.Sprintf("t%d", i), SpanID: fmt.Sprintf("s%d", i), Name: "chat gpt-4o-mini",
			Operation: "chat", Model: "gpt-4o-mini", DurationMS: 100, Evals: []span.Eval{{Name: "faithfulness", Score: score, HasScore: true, Label: label}}}
	}
	return span.NewRun(spans)
}

const evalRules = `regressions:
  - name: faithfulness holds
    where: span.operation == "chat"
    expect: head.evals["faithfulness"].avg >= base.evals["faithfulness"].avg - 0.02
  - name: pass rate holds
    where: span.operation == "chat"
    expect: head.evals["faithfulness"].labels["pass"] >= base.evals["faithfulness"].labels["pass"] - 0.05
`

func TestEvalsRegression(t *testing.T) {
	s, err := LoadBytes("llmcheck.yaml", []byte(evalRules))
	require.NoError(t, err)
	for _, tc := range []struct {
		name       string
		base, head *span.Run
		status     [2]Status
	}{
		{"faithfulness drop", evalRun(1, 40, 0.8), evalRun(2, 40, 0.6), [2]Status{Fail, Fail}},
		{"no change", evalRun(3, 40, 0.8), evalRun(4, 40, 0.8), [2]Status{Pass, Pass}},
		{"too few", evalRun(1, 4, 0.8), evalRun(2, 4, 0.6), [2]Status{Inconclusive, Inconclusive}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			full := s.EvaluateRegressions(tc.base, tc.head, mannWhitney)
			require.Len(t, full, 2)
			for i, r := range full {
				assert.Equal(t, tc.status[i], r.Status, r.Message)
				require.Len(t, r.Significance, 1, r.Name)
				assert.Equal(t, "result", r.Significance[0].Unit)
				assert.Equal(t, len(tc.head.Spans), r.Significance[0].NHead)
			}
			assert.Equal(t, `evals["faithfulness"].score`, full[0].Significance[0].Metric)
			assert.Equal(t, `"faithfulness" scores per result`, full[0].Significance[0].Sample)
			assert.Equal(t, `evals["faithfulness"].labels["pass"]`, full[1].Significance[0].Metric)
			assert.Contains(t, fmt.Sprint(full[0].Observed), `head.evals["faithfulness"].avg`)
			if tc.status[0] == Fail {
				assert.Contains(t, full[0].Message, "significant")
			}
			// The baseline summary gives the trace file's verdict.
			data, err := json.Marshal(SummariseGroups(s.Config, tc.base))
			require.NoError(t, err)
			var sums []Summary
			require.NoError(t, json.Unmarshal(data, &sums))
			require.Len(t, sums, 1)
			require.NoError(t, sums[0].Validate())
			require.Contains(t, sums[0].Evals, "faithfulness")
			fromSummary := s.EvaluateRegressionsSummary(sums, tc.head, mannWhitney)
			for i := range full {
				assert.Equal(t, full[i].Status, fromSummary[i].Status, fromSummary[i].Message)
				assert.Equal(t, full[i].Observed, fromSummary[i].Observed)
				assert.Equal(t, full[i].Significance, fromSummary[i].Significance)
			}
		})
	}
	// No evaluation on the baseline side: an error, never a pass.
	r := s.EvaluateRegressions(chatRun(1, 10, 100, 5), evalRun(1, 10, 0.8), mannWhitney)
	assert.Equal(t, Error, r[0].Status, r[0].Message)
	assert.Contains(t, r[0].Message, `evals["faithfulness"]: none of the 10 selected spans has an evaluation result`)
	// A version 2 summary keeps no evaluations: an error saying so.
	sums := SummariseGroups(s.Config, evalRun(1, 10, 0.8))
	sums[0].Evals, sums[0].EvalsUnknown = nil, true
	r = s.EvaluateRegressionsSummary(sums, evalRun(1, 10, 0.8), mannWhitney)
	assert.Equal(t, Error, r[0].Status, r[0].Message)
	assert.Contains(t, r[0].Message, `evals["faithfulness"]: the baseline is a version 2 summary, which keeps no evaluation results: rewrite it with`+" `llmcheck baseline write`")
}

func TestParseEvalTest(t *testing.T) {
	for _, tc := range []struct{ name, label string }{{"faithfulness", ""}, {`we"ird].labels["x`, "ok"}, {"a", `b"]`}} {
		test := TestEvalScore(tc.name)
		if tc.label != "" {
			test = TestEvalLabel(tc.name, tc.label)
		}
		n, l, isLabel, ok := ParseEvalTest(test)
		assert.True(t, ok, test)
		assert.Equal(t, tc.name, n)
		assert.Equal(t, tc.label, l)
		assert.Equal(t, tc.label != "", isLabel)
	}
	for _, bad := range []string{"latency", `evals["x"]`, `evals["x"].scores`, `evals["x"].labels["y"`, `evals[x].score`} {
		_, _, _, ok := ParseEvalTest(bad)
		assert.False(t, ok, bad)
	}
}

func TestSummaryValidateEvals(t *testing.T) {
	ok := Summary{Key: "g", Count: 3, Evals: map[string]*EvalSummary{"f": {EvalStats: EvalStats{Count: 2, Labelled: 2, Labels: map[string]int{"a": 1, "b": 1}, Scores: &Latency{N: 1}}, Sample: []float64{1}}}}
	require.NoError(t, ok.Validate())
	for name, e := range map[string]*EvalSummary{
		"null":        nil,
		"negative":    {EvalStats: EvalStats{Count: -1}},
		"labelled":    {EvalStats: EvalStats{Count: 1, Labelled: 2, Labels: map[string]int{"a": 2}}},
		"label sum":   {EvalStats: EvalStats{Count: 3, Labelled: 3, Labels: map[string]int{"a": 1}}},
		"label count": {EvalStats: EvalStats{Count: 3, Labelled: 1, Labels: map[string]int{"a": -1, "b": 2}}},
		"scores n":    {EvalStats: EvalStats{Count: 1, Scores: &Latency{N: 2}}},
		"sample":      {EvalStats: EvalStats{Count: 1}, Sample: []float64{1}},
	} {
		g := Summary{Key: "g", Count: 3, Evals: map[string]*EvalSummary{"f": e}}
		assert.Error(t, g.Validate(), name)
	}
}

// evalAll evaluates an expect expression over every span of run and
// returns its Go value.
func evalAll(t *testing.T, expr string, run *span.Run) any {
	t.Helper()
	env, err := expectEnv(false)
	require.NoError(t, err)
	a, iss := env.Compile(expr)
	require.NoError(t, iss.Err())
	p, err := env.Program(a)
	require.NoError(t, err)
	rc := newRunCtx(&Config{Retrieval: RetrievalConfig{K: 5}, CostLimit: DefaultCostLimit}, run)
	g := &group{rc: rc, k: 5}
	for i := range rc.entries {
		g.spans = append(g.spans, &rc.entries[i])
	}
	v, _, err := p.Eval(g)
	require.NoError(t, err)
	return v.Value()
}

func TestEvalVerdict(t *testing.T) {
	cfg, err := ParseConfig("llmcheck.yaml", []byte(`evals:
  faithfulness: {min_score: 0.7}
  correctness: {pass_labels: [right, Right]}
  tone: {pass_labels: [warm], min_score: 3}
assertions:
  - name: a
    expect: count > 0
`))
	require.NoError(t, err)
	for _, tc := range []struct {
		e        span.Eval
		pass, ok bool
	}{
		{span.Eval{Name: "faithfulness", Score: 0.7, HasScore: true}, true, true},
		{span.Eval{Name: "faithfulness", Score: 0.69, HasScore: true}, false, true},
		{span.Eval{Name: "faithfulness", Label: "FAIL"}, false, true}, // no score: the default labels
		{span.Eval{Name: "correctness", Label: "right", Score: 0, HasScore: true}, true, true},
		{span.Eval{Name: "correctness", Label: "correct"}, false, true}, // configured labels replace the defaults
		{span.Eval{Name: "correctness", Score: 1, HasScore: true}, false, false},
		{span.Eval{Name: "tone", Label: "cold", Score: 5, HasScore: true}, false, true}, // the label decides
		{span.Eval{Name: "tone", Score: 3, HasScore: true}, true, true},
		{span.Eval{Name: "other", Label: "Yes"}, true, true},
		{span.Eval{Name: "other", Label: "incorrect"}, false, true},
		{span.Eval{Name: "other", Label: "maybe"}, false, false},
		{span.Eval{Name: "other", Score: 1, HasScore: true}, false, false},
	} {
		pass, ok := cfg.EvalVerdict(&tc.e)
		assert.Equal(t, [2]bool{tc.pass, tc.ok}, [2]bool{pass, ok}, "%+v", tc.e)
	}
	for y, msg := range map[string]string{
		"evals:\n  f: {}\n":                  "give pass_labels, min_score or both",
		"evals:\n  f: {pass_labels: []}\n":   "expected a non-empty list",
		"evals:\n  f: {min_score: x}\n":      `expected a number, got "x"`,
		"evals:\n  f: {pass_label: [a]}\n":   `unknown key "pass_label" (did you mean "pass_labels"?)`,
		"evals: [f]\n":                       "evals: expected a mapping",
		"evals:\n  f: {pass_labels: ['']}\n": "a label cannot be empty",
	} {
		_, err := ParseConfig("c.yaml", []byte(y+"assertions:\n  - name: a\n    expect: count > 0\n"))
		require.Error(t, err, y)
		assert.Contains(t, err.Error(), msg)
		assert.Contains(t, err.Error(), "c.yaml:")
	}
}

// TestEvalsOffenders: a failed evaluation assertion names the spans
// behind it: lowest scores first, or the spans with failing results.
func TestEvalsOffenders(t *testing.T) {
	r := evaluate(t, "assertions:\n  - name: x\n    expect: 'evals[\"faithfulness\"].avg >= 0.8'\n", fixedEvals())["x"]
	require.Equal(t, Fail, r.Status)
	require.Len(t, r.Offenders, 3)
	// span b's lowest score is 0.2, c's 0.6, a's 0.9
	assert.Equal(t, []string{"b", "c", "a"}, []string{r.Offenders[0].SpanID, r.Offenders[1].SpanID, r.Offenders[2].SpanID})
	assert.Equal(t, []float64{0.2, 0.6, 0.9}, []float64{r.Offenders[0].Value, r.Offenders[1].Value, r.Offenders[2].Value})
	assert.Equal(t, `evals["faithfulness"] score`, r.Offenders[0].Metric)

	// correctness: "incorrect" fails by the default labels: span b.
	r = evaluate(t, "assertions:\n  - name: x\n    expect: 'evals[\"correctness\"].labels[\"correct\"] >= 0.9'\n", fixedEvals())["x"]
	require.Equal(t, Fail, r.Status)
	require.Len(t, r.Offenders, 1)
	assert.Equal(t, "b", r.Offenders[0].SpanID)
	assert.Equal(t, `evals["correctness"] failing result`, r.Offenders[0].Metric)

	// toxicity labels have no verdict: the spans with another label.
	r = evaluate(t, "assertions:\n  - name: x\n    expect: 'evals[\"toxicity\"].labels[\"toxic\"] >= 0.5'\n", fixedEvals())["x"]
	require.Equal(t, Fail, r.Status)
	require.Len(t, r.Offenders, 1)
	assert.Equal(t, "a", r.Offenders[0].SpanID)
	assert.Equal(t, `evals["toxicity"] label other than "toxic"`, r.Offenders[0].Metric)

	// An error has no offenders.
	r = evaluate(t, "assertions:\n  - name: x\n    expect: 'evals[\"nope\"].avg >= 0.8'\n", fixedEvals())["x"]
	require.Equal(t, Error, r.Status)
	assert.Empty(t, r.Offenders)
}

// BenchmarkEvals: evals statistics of 100,000 spans with two evaluation
// results each, as an assertion and as a regression rule with its tests.
func BenchmarkEvals(b *testing.B) {
	base, head := evalRun(1, 100_000, 0.8), evalRun(2, 100_000, 0.78)
	for i := range head.Spans {
		head.Spans[i].Evals = append(head.Spans[i].Evals, span.Eval{Name: "correctness", Label: []string{"correct", "incorrect"}[i%7/6]})
	}
	s, err := LoadBytes("llmcheck.yaml", []byte(`assertions:
  - name: faithful
    expect: evals["faithfulness"].avg >= 0.5 && evals["faithfulness"].p95 <= 1.0
  - name: correct
    expect: evals["correctness"].labels["correct"] >= 0.8
`+evalRules))
	if err != nil {
		b.Fatal(err)
	}
	b.Run("assertions", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if res := s.Evaluate(head); res.Status != Pass {
				b.Fatal(res.Assertions)
			}
		}
	})
	b.Run("regressions", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			s.EvaluateRegressions(base, head, mannWhitney)
		}
	})
}

// TestEvalsManyNames: the error for an absent name lists at most 20
// names present, each clipped, whatever the spans hold.
func TestEvalsManyNames(t *testing.T) {
	var evals []span.Eval
	for i := range 1000 {
		name := fmt.Sprintf("z%04d-%s", i, strings.Repeat("x", 10_000))
		if i < 19 {
			name = fmt.Sprintf("a%02d", i)
		}
		evals = append(evals, span.Eval{Name: name, Score: 1, HasScore: true})
	}
	run := span.NewRun([]span.Span{{TraceID: "t", SpanID: "s", Name: "chat", DurationMS: 1, Evals: evals}})
	r := evaluate(t, "assertions:\n  - name: x\n    expect: 'evals[\"nope\"].avg > 0.5'\n", run)["x"]
	require.Equal(t, Error, r.Status)
	assert.Less(t, len(r.Message), 3000, "bounded message")
	assert.Contains(t, r.Message, `names present: "a00", "a01", `)
	assert.Contains(t, r.Message, `"a18", "…(`) // the 20th, long: elided as content would be
	assert.Contains(t, r.Message, "… (980 more)")
}

// TestEvalsSummaryMultiGroup: a rule over several groups reads the
// union of their evaluation results from a summary as from the trace
// file; a group whose scores were bounded is refused at load.
func TestEvalsSummaryMultiGroup(t *testing.T) {
	s, err := LoadBytes("llmcheck.yaml", []byte(`regressions:
  - name: all faithfulness
    expect: head.evals["faithfulness"].p50 >= base.evals["faithfulness"].p50 - 0.01 && head.evals["faithfulness"].labels["pass"] >= base.evals["faithfulness"].labels["pass"] - 0.05
`))
	require.NoError(t, err)
	twoGroups := func(seed uint64, mean float64) *span.Run {
		run := evalRun(seed, 30, mean)
		spans := make([]span.Span, 0, 60)
		for _, sp := range run.Spans {
			spans = append(spans, *sp)
			tool := *sp
			tool.SpanID += "t"
			tool.Operation, tool.Model, tool.Name, tool.Tool = "execute_tool", "", "execute_tool search", "search"
			tool.Evals = []span.Eval{{Name: "faithfulness", Score: tool.Evals[0].Score / 2, HasScore: true, Label: "fail"}}
			spans = append(spans, tool)
		}
		return span.NewRun(spans)
	}
	for _, tc := range []struct {
		name       string
		base, head *span.Run
		status     Status
	}{
		{"drop", twoGroups(1, 0.8), twoGroups(2, 0.6), Fail},
		{"same", twoGroups(3, 0.8), twoGroups(4, 0.8), Pass},
	} {
		t.Run(tc.name, func(t *testing.T) {
			full := s.EvaluateRegressions(tc.base, tc.head, mannWhitney)
			assert.Equal(t, tc.status, full[0].Status, full[0].Message)
			sums := summaryJSON(t, s.Config, tc.base)
			require.Len(t, sums, 2)
			require.NoError(t, s.CheckSummary(sums))
			fromSummary := s.EvaluateRegressionsSummary(sums, tc.head, mannWhitney)
			assert.Equal(t, full[0].Status, fromSummary[0].Status, "%s | %s", full[0].Message, fromSummary[0].Message)
			assert.Equal(t, full[0].Observed, fromSummary[0].Observed)
			assert.Equal(t, full[0].Significance, fromSummary[0].Significance)
		})
	}
	// Bounded scores of one of the groups: refused at load.
	sums := summaryJSON(t, s.Config, twoGroups(1, 0.8))
	sums[0].Evals["faithfulness"].Sample = sums[0].Evals["faithfulness"].Sample[:10]
	err = s.CheckSummary(sums)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `10 of its 30 "faithfulness" scores`)
}

// FuzzEvalsExpression: expressions over evals never panic, and a run
// compared with itself and with its summary agree.
func FuzzEvalsExpression(f *testing.F) {
	for _, seed := range []string{
		`evals["faithfulness"].avg >= 0.8`, `evals["correctness"].labels["correct"] >= 0.9`, `size(evals) == 4`,
		`evals.all(n, evals[n].count > 0)`, `evals["x"].p95 < 1.0`, `has(evals.relevance) && evals.relevance.max > 1.0`,
		`evals["toxicity"].labels == {"clean": 1.0}`, `evals["correctness"].labels.exists(l, l == "correct")`,
		`evals == evals`, `string(evals) != ""`, `evals[1].avg > 0.0`, `evals["correctness"].labels[2] > 0.0`,
		`head.evals["faithfulness"].avg >= base.evals["faithfulness"].avg`, `type(evals) == map`, `dyn(evals)["x"] == 1`,
	} {
		f.Add(seed)
	}
	run := fixedEvals()
	sums := SummariseGroups(nil, run)
	f.Fuzz(func(t *testing.T, expr string) {
		q := "'" + strings.ReplaceAll(expr, "'", "''") + "'"
		for _, y := range []string{
			"assertions:\n  - name: a\n    expect: " + q + "\n",
			"assertions:\n  - name: a\n    each: trace\n    expect: " + q + "\n",
			"regressions:\n  - name: a\n    expect: " + q + "\n",
		} {
			s, err := LoadBytes("llmcheck.yaml", []byte(y))
			if err != nil {
				continue
			}
			for _, r := range s.Evaluate(run).Assertions {
				if r.Status == Error && r.Message == "" {
					t.Fatal("error without a message")
				}
			}
			s.EvaluateRegressions(run, run, mannWhitney)
			if s.CheckSummary(sums) == nil {
				s.EvaluateRegressionsSummary(sums, run, mannWhitney)
			}
		}
	})
}

// A result whose score was not a number and which has no label (the
// warning said so when it was read) has neither: the error does not send
// the user to .labels, which would be an error too.
func TestEvalsNeitherScoreNorLabel(t *testing.T) {
	run := span.NewRun([]span.Span{{TraceID: "t1", SpanID: "a", Name: "chat", Evals: []span.Eval{{Name: "relevance"}}}})
	for expect, want := range map[string]string{
		`evals["relevance"].avg >= 0.8`:         `evals["relevance"].avg: none of its 1 results carries a score, nor a label (the warnings of the run say why a score was not read)`,
		`evals["relevance"].labels["x"] >= 0.8`: `evals["relevance"].labels: none of its 1 results carries a label, nor a score (the warnings of the run say why a score was not read)`,
	} {
		r := evaluate(t, "assertions:\n  - name: x\n    expect: '"+expect+"'\n", run)["x"]
		assert.Equal(t, Error, r.Status, r.Message)
		assert.Contains(t, r.Message, want)
	}
}

// TestPercentileFarApart: neighbours whose difference overflows float64
// (recorded scores near the limits, of opposite signs) interpolate to a
// finite value, never ±Inf.
func TestPercentileFarApart(t *testing.T) {
	p, err := Percentile([]float64{-1.7e308, 1.7e308}, 0.5)
	require.NoError(t, err)
	assert.Equal(t, 0.0, p)
	p, err = Percentile([]float64{-1.7e308, 1.7e308}, 0.95)
	require.NoError(t, err)
	assert.InDelta(t, 0.9*1.7e308, p, 1e294)
	// Ordinary values are unchanged: 10 + 0.5 × (20 − 10).
	p, _ = Percentile([]float64{10, 20}, 0.5)
	assert.Equal(t, 15.0, p)
}

// TestMeanOverflow: the mean of finite values near the float64 limit is
// finite; ordinary means are sum / n as before.
func TestMeanOverflow(t *testing.T) {
	assert.Equal(t, 1.7e308, Mean([]float64{1.7e308, 1.7e308}))
	xs := []float64{0.1, 0.2, 0.3}
	assert.Equal(t, (xs[0]+xs[1]+xs[2])/3, Mean(xs)) // float64 sum / n, as before
	assert.Equal(t, 0.0, Mean(nil))
	l, err := Summarise([]float64{1.7e308, 1.7e308, 1.7e308})
	require.NoError(t, err)
	assert.Equal(t, 1.7e308, l.Avg)
}

// TestEvalsEachConversation: with each: conversation the evals of each
// conversation's spans decide its row, and the failing row names the
// conversation.
func TestEvalsEachConversation(t *testing.T) {
	var spans []span.Span
	for i, c := range []struct {
		conv  string
		score float64
	}{{"c-good", 0.9}, {"c-good", 0.8}, {"c-bad", 0.9}, {"c-bad", 0.3}} {
		spans = append(spans, span.Span{TraceID: fmt.Sprintf("t%d", i), SpanID: "s", Name: "chat", Operation: "chat", DurationMS: 1, Conversation: c.conv,
			Evals: []span.Eval{{Name: "faithfulness", Score: c.score, HasScore: true}}})
	}
	r := evaluate(t, "assertions:\n  - name: x\n    each: conversation\n    expect: 'evals[\"faithfulness\"].min >= 0.5'\n", span.NewRun(spans))["x"]
	require.Equal(t, Fail, r.Status, r.Message)
	var failing []string
	for _, row := range r.Rows {
		if row.Status != Pass {
			failing = append(failing, row.Group+": "+row.Message)
		}
	}
	require.Len(t, failing, 1, "%v", r.Rows)
	assert.Contains(t, failing[0], "c-bad")
	assert.Contains(t, failing[0], `evals["faithfulness"].min = 0.3`)
}
