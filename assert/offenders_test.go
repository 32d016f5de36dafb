package assert

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/llmcheck/llmcheck/span"
)

// offenderRun has chat spans that differ in every statistic (duration,
// total and cached tokens, error status) and retrieval queries with
// reciprocal ranks 1, 1/2 and 0, so each statistic has its own offenders.
func offenderRun() *span.Run {
	docs := func(ids ...string) []span.Document {
		var d []span.Document
		for i, id := range ids {
			d = append(d, span.Document{ID: id, Rank: i + 1})
		}
		return d
	}
	truth := span.AttrsOf(map[string]any{"llmcheck.relevant_ids": []any{"good"}})
	spans := []span.Span{
		// c1: fast, few tokens in total but the most cached tokens
		{TraceID: "t1", SpanID: "c1", Name: "chat", Operation: "chat", Model: "gpt-4o-mini", DurationMS: 100,
			Tokens: span.Tokens{Input: 1000, Output: 100, Total: 1100, Cached: 900, HasInput: true, HasOutput: true, HasTotal: true, HasCached: true}},
		// c2: the slowest, the most tokens, no cached count reported, error
		{TraceID: "t1", SpanID: "c2", Name: "chat", Operation: "chat", Model: "gpt-4o-mini", DurationMS: 900, Status: "error",
			Tokens: span.Tokens{Input: 5000, Output: 500, Total: 5500, HasInput: true, HasOutput: true, HasTotal: true}},
		// c3: the fastest, some cached tokens
		{TraceID: "t2", SpanID: "c3", Name: "chat", Operation: "chat", Model: "gpt-4o-mini", DurationMS: 50,
			Tokens: span.Tokens{Input: 300, Output: 30, Total: 330, Cached: 200, CacheWrite: 50, HasInput: true, HasOutput: true, HasTotal: true, HasCached: true, HasCacheWrite: true}},
		// q1: the relevant document first (RR 1), q2: second (RR 1/2), q3: missed (RR 0)
		{TraceID: "t1", SpanID: "q1", Name: "search", Operation: "retrieval", DurationMS: 10, Documents: docs("good", "x", "y"), Attrs: truth},
		{TraceID: "t2", SpanID: "q2", Name: "search", Operation: "retrieval", DurationMS: 10, Documents: docs("x", "good", "y"), Attrs: truth},
		{TraceID: "t3", SpanID: "q3", Name: "search", Operation: "retrieval", DurationMS: 10, Documents: docs("x", "y", "z"), Attrs: truth},
	}
	for i := range spans {
		spans[i].StartUnixNano = uint64(i+1) * 1000
		spans[i].EndUnixNano = spans[i].StartUnixNano + uint64(spans[i].DurationMS*1e6)
	}
	return span.NewRun(spans)
}

// TestOffendersPerStatistic: the offenders of a result are the spans or
// queries that make its statistic fail, in worst-first order, per
// statistic; a span that does not report the statistic, or a query that
// scores perfectly, is never one.
func TestOffendersPerStatistic(t *testing.T) {
	const chat, retrieval = `span.operation == "chat"`, `span.operation == "retrieval"`
	tests := []struct {
		name, where, expect string
		status              Status
		want                []string // span ids, in order
		metric              string
	}{
		{"latency.p95 lists the slowest", chat, "latency.p95 < 10", Fail, []string{"c2", "c1", "c3"}, "duration_ms"},
		{"latency.p50 lists the slowest", chat, "latency.p50 < 10", Fail, []string{"c2", "c1", "c3"}, "duration_ms"},
		{"latency.p90 lists the slowest", chat, "latency.p90 < 10", Fail, []string{"c2", "c1", "c3"}, "duration_ms"},
		{"latency.p99 lists the slowest", chat, "latency.p99 < 10", Fail, []string{"c2", "c1", "c3"}, "duration_ms"},
		{"latency.max lists the slowest", chat, "latency.max < 10", Fail, []string{"c2", "c1", "c3"}, "duration_ms"},
		{"latency.avg lists the slowest", chat, "latency.avg < 10", Fail, []string{"c2", "c1", "c3"}, "duration_ms"},
		{"latency.min lists the fastest", chat, "latency.min > 80", Fail, []string{"c3", "c1", "c2"}, "duration_ms"},
		{"tokens.total lists the largest totals", chat, "tokens.total < 10", Fail, []string{"c2", "c1", "c3"}, "tokens.total"},
		{"tokens.input lists input counts", chat, "tokens.input < 10", Fail, []string{"c2", "c1", "c3"}, "tokens.input"},
		{"tokens.output lists output counts", chat, "tokens.output < 10", Fail, []string{"c2", "c1", "c3"}, "tokens.output"},
		{"tokens.cached lists cached counts only", chat, "tokens.cached < 10", Fail, []string{"c1", "c3"}, "tokens.cached"},
		{"tokens.cache_write lists cache writes only", chat, "tokens.cache_write < 10", Fail, []string{"c3"}, "tokens.cache_write"},
		{"a tokens.reasoning error lists no tokens.total rows", chat, "tokens.reasoning < 10", Error, nil, ""},
		{"errors lists the error spans", chat, "errors == 0", Fail, []string{"c2"}, "error"},
		{"error_rate lists the error spans", chat, "error_rate < 0.1", Fail, []string{"c2"}, "error"},
		{"cost lists the costliest", chat, "cost < 0.0000001", Fail, []string{"c2", "c1", "c3"}, "cost"},
		{"mrr lists reciprocal ranks below 1, lowest first", retrieval, "retrieval.mrr >= 0.9", Fail, []string{"q3", "q2"}, "reciprocal_rank"},
		{"hit_rate lists the misses", retrieval, "retrieval.hit_rate >= 0.9", Fail, []string{"q3"}, "hit"},
		{"recall lists recall below 1", retrieval, "retrieval.recall >= 0.9", Fail, []string{"q3"}, "recall"},
		{"ndcg lists ndcg below 1, lowest first", retrieval, "retrieval.ndcg >= 0.9", Fail, []string{"q3", "q2"}, "ndcg"},
		{"precision lists precision below 1, lowest first", retrieval, "retrieval.precision >= 0.9", Fail, []string{"q3", "q1", "q2"}, "precision"},
		{"count has no offenders", chat, "count > 5", Fail, nil, ""},
		{"retrieval.queries has no offenders", retrieval, "retrieval.queries > 5", Fail, nil, ""},
		{"the first statistic with offenders decides", retrieval, "retrieval.queries > 5 && retrieval.mrr >= 0.9", Fail, []string{"q3", "q2"}, "reciprocal_rank"},
		{"latency of a retrieval check lists the slowest", "", "latency.p95 < 1 && retrieval.mrr >= 0.9", Fail, []string{"c2", "c1", "c3", "q1", "q2"}, "duration_ms"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			y := "pricing:\n  gpt-4o-mini: {input: 0.15, output: 0.60}\nretrieval:\n  k: 3\nassertions:\n  - name: x\n    expect: '" + tt.expect + "'\n"
			if tt.where != "" {
				y += "    where: '" + tt.where + "'\n"
			}
			r := evaluate(t, y, offenderRun())["x"]
			require.Equal(t, tt.status, r.Status, r.Message)
			var got []string
			for _, o := range r.Offenders {
				got = append(got, o.SpanID)
				assert.Equal(t, tt.metric, o.Metric)
			}
			assert.Equal(t, tt.want, got)
		})
	}
}

// A cost that cannot be computed (a model without a price) is an error
// whose message names the model; the priced spans are not its offenders.
func TestCostErrorHasNoOffenders(t *testing.T) {
	run := offenderRun()
	run.Spans[1].Model = "gpt-4o" // c2; c1 and c3 stay priced
	r := evaluate(t, "pricing:\n  gpt-4o-mini: {input: 0.15, output: 0.60}\nassertions:\n  - name: x\n    where: span.operation == 'chat'\n    expect: cost < 1\n", run)["x"]
	require.Equal(t, Error, r.Status, r.Message)
	assert.Contains(t, r.Message, `no price for model "gpt-4o"`)
	assert.Empty(t, r.Offenders)
}

// A regression rule's offenders follow the head statistic it reads: the
// spans of head that report cached tokens, not the largest totals.
func TestRegressionOffendersPerStatistic(t *testing.T) {
	s, err := LoadBytes("llmcheck.yaml", []byte("regressions:\n  - name: x\n    where: 'span.operation == \"chat\"'\n    expect: head.tokens.cached < base.tokens.cached\n    require_significance: false\n"))
	require.NoError(t, err)
	rs := s.EvaluateRegressions(offenderRun(), offenderRun(), mannWhitney)
	require.Len(t, rs, 1)
	require.Equal(t, Fail, rs[0].Status, rs[0].Message)
	var got []string
	for _, o := range rs[0].Offenders {
		got = append(got, o.SpanID+" "+o.Metric)
	}
	assert.Equal(t, []string{"c1 tokens.cached", "c3 tokens.cached"}, got)
}
