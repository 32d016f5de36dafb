package report

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	llmassert "github.com/llmcheck/llmcheck/assert"
	"github.com/llmcheck/llmcheck/span"
)

// evalRun is 12 chat spans: faithfulness scores 0.05, 0.13, …, 0.93
// (step 0.08), correctness labels correct ×9 and incorrect ×3, and a
// label-only evaluation with a hostile name.
func evalRun() *span.Run {
	var spans []span.Span
	for i := range 12 {
		s := sp(fmt.Sprintf("t%d", i), "1", "", "chat", "chat", "gpt-4o-mini", float64(i*100), 40)
		label := "correct"
		if i%4 == 3 {
			label = "incorrect"
		}
		s.Evals = []span.Eval{
			{Name: "faithfulness", Score: 0.05 + 0.08*float64(i), HasScore: true},
			{Name: "correctness", Label: label},
			{Name: "tone|<b>`x`\x1b[31m", Label: "ok*"},
		}
		spans = append(spans, s)
	}
	return span.NewRun(spans)
}

func TestMarkdownEvals(t *testing.T) {
	run := evalRun()
	got := Markdown(nil, run, fixtureMeta(), MarkdownOptions{})
	checkMarkdown(t, got)
	h, _ := checkMermaid(t, got)
	require.Equal(t, 1+3, h, "one latency histogram and one chart per evaluation")
	assert.NotContains(t, got, "<b>")
	assert.NotContains(t, got, "\x1b")

	// The faithfulness row, computed here.
	var scores []float64
	for i := range 12 {
		scores = append(scores, 0.05+0.08*float64(i))
	}
	sum := 0.0
	for _, s := range scores {
		sum += s
	}
	p95 := func() float64 { // type 7
		s := slices.Sorted(slices.Values(scores))
		h := 0.95 * float64(len(s)-1)
		lo := math.Floor(h)
		return s[int(lo)] + (h-lo)*(s[int(lo)+1]-s[int(lo)])
	}()
	row := fmt.Sprintf("| faithfulness | 12 | 12 | %s | %s | %s | %s | %s | – |", llmassert.Sig3(sum/12), llmassert.Sig3(0.05), llmassert.Sig3((scores[5]+scores[6])/2), llmassert.Sig3(p95), llmassert.Sig3(scores[11]))
	assert.Contains(t, got, row)
	assert.Contains(t, got, "| correctness | 12 | 0 | – | – | – | – | – | correct 75 % · incorrect 25 % |")
	assert.Contains(t, got, `title "faithfulness scores, 12 results"`)
	assert.Contains(t, got, `title "correctness labels, 12 results"`)
	assert.Contains(t, got, `bar [9, 3]`)
	golden(t, "report-evals.golden.md", got)

	// Without evaluation results, no section.
	assert.NotContains(t, Markdown(nil, fixtureRun(), fixtureMeta(), MarkdownOptions{}), "### Evaluations")
}

// TestEvalChartBounded: many labels are charted as at most
// maxEvalChartBars bars, the rest as "other labels".
func TestEvalChartBounded(t *testing.T) {
	var evals []span.Eval
	for i := range 50 {
		evals = append(evals, span.Eval{Name: "judge", Label: fmt.Sprintf("label-%02d", i)})
	}
	run := span.NewRun([]span.Span{{TraceID: "t", SpanID: "s", Name: "x", DurationMS: 1, Evals: evals}})
	c := evalCharts(evalRows(run))
	require.Len(t, c, 1)
	assert.Contains(t, c[0], `"other labels"]`)
	assert.Equal(t, maxEvalChartBars, strings.Count(strings.Split(c[0], "bar [")[1], ",")+1)
	checkMermaid(t, "```mermaid\n"+strings.SplitN(c[0], "```mermaid\n", 2)[1])
}

// TestEvalChartExtremeScores: scores are recorded numbers; a range too
// wide for a histogram (its width overflows) draws no chart and says so,
// never a panic.
func TestEvalChartExtremeScores(t *testing.T) {
	run := span.NewRun([]span.Span{{TraceID: "t", SpanID: "s", Name: "x", DurationMS: 1, Evals: []span.Eval{
		{Name: "wide", Score: -1.7e308, HasScore: true}, {Name: "wide", Score: 1.7e308, HasScore: true},
		{Name: "huge", Score: 1e300, HasScore: true}, {Name: "huge", Score: 1e300 + 1e285, HasScore: true},
		{Name: "tiny", Score: 1, HasScore: true}, {Name: "tiny", Score: math.Nextafter(1, 2), HasScore: true},
	}}})
	md := Markdown(nil, run, Meta{}, MarkdownOptions{})
	checkMarkdown(t, md)
	h, _ := checkMermaid(t, md)
	assert.Equal(t, 2, h, "huge and tiny are charted, wide is not (and the span has no model: no latency chart)")
	assert.Contains(t, md, "_wide: its scores span too wide a range to chart._")
	assert.Contains(t, md, "| huge | 2 | 2 | 1e+300 | 1e+300 | 1e+300 | 1e+300 | 1e+300 | – |")
	assert.Contains(t, md, "| wide | 2 | 2 | 0 | -1.7e+308 | 0 | 1.53e+308 | 1.7e+308 | – |")
	assert.Less(t, len(md), 5000)
}
