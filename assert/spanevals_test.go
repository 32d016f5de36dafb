package assert

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/llmcheck/llmcheck/span"
)

// span.evals is a list of maps {name, score, label, explanation, source};
// a result without a score has no score key, so reading it is an error
// (never a 0 that passes a threshold) and has() tests it.
func TestSpanEvalsInAssertions(t *testing.T) {
	spans := []span.Span{
		{TraceID: "t1", SpanID: "s1", Name: "chat", Operation: span.OpChat, StartUnixNano: 1, EndUnixNano: 2,
			Evals: []span.Eval{
				{Name: "relevance", Score: 0.9, HasScore: true, Label: "relevant", Explanation: "on topic", Source: "log"},
				{Name: "tone", Label: "polite", Source: "annotation"},
			}},
		{TraceID: "t2", SpanID: "s2", Name: "chat", Operation: span.OpChat, StartUnixNano: 1, EndUnixNano: 2,
			Evals: []span.Eval{{Name: "relevance", Score: 0.4, HasScore: true, Source: "event"}}},
		{TraceID: "t3", SpanID: "s3", Name: "chat", Operation: span.OpChat, StartUnixNano: 1, EndUnixNano: 2},
	}
	cfg := `assertions:
  - name: spans with a relevance result
    where: span.evals.exists(e, e.name == 'relevance')
    expect: count == 2
  - name: mean relevance
    where: span.evals.exists(e, e.name == 'relevance')
    expect: avg(spans.map(s, s.evals.filter(e, e.name == 'relevance')[0].score)) == 0.65
  - name: fields
    expect: spans.exists(s, s.evals.exists(e, e.name == 'relevance' && e.label == 'relevant' && e.explanation == 'on topic' && e.source == 'log'))
  - name: label only has no score
    expect: spans.exists(s, s.evals.exists(e, e.name == 'tone' && !has(e.score) && e.source == 'annotation'))
  - name: reading an absent score is an error
    expect: spans.all(s, s.evals.all(e, e.score > 0.1))
`
	suite, err := LoadBytes("llmcheck.yaml", []byte(cfg))
	require.NoError(t, err)
	res := suite.Evaluate(span.NewRun(spans))
	require.Len(t, res.Assertions, 5)
	for _, r := range res.Assertions[:4] {
		assert.Equal(t, Pass, r.Status, "%s: %s", r.Name, r.Message)
	}
	last := res.Assertions[4]
	assert.Equal(t, Error, last.Status, last.Message)
	assert.Contains(t, last.Message, "score")
}
