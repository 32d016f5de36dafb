package assert

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/llmcheck/llmcheck/span"
)

// fixture is a small RAG-shaped run: two traces, each root → retrieval →
// chat; trace t2's chat is slow and errors.
func fixture() *span.Run {
	tok := func(in, out int64) span.Tokens {
		return span.Tokens{Input: in, Output: out, Total: in + out, HasInput: true, HasOutput: true, HasTotal: true}
	}
	docs := func(ids ...string) []span.Document {
		var d []span.Document
		for i, id := range ids {
			d = append(d, span.Document{ID: id, Score: 1 - float64(i)/10, HasScore: true, Rank: i + 1})
		}
		return d
	}
	spans := []span.Span{
		{TraceID: "t1", SpanID: "r1", Name: "answer", StartUnixNano: 1000, DurationMS: 120, Attrs: span.AttrsOf(map[string]any{"llmcheck.relevant_ids": []any{"d1"}})},
		{TraceID: "t1", SpanID: "q1", ParentSpanID: "r1", Name: "retrieval kb", StartUnixNano: 1001, Operation: "retrieval", DurationMS: 20, Documents: docs("d1", "d2", "d3"), Query: "refund policy", Attrs: span.AttrsOf(map[string]any{"app.rerank_ms": int64(4)})},
		{TraceID: "t1", SpanID: "c1", ParentSpanID: "r1", Name: "chat gpt-4o-mini", StartUnixNano: 1002, Operation: "chat", Model: "gpt-4o-mini", DurationMS: 100, Tokens: tok(1000, 200), Attrs: span.AttrsOf(map[string]any{"app.rerank_ms": 3.5})},
		{TraceID: "t2", SpanID: "r2", Name: "answer", StartUnixNano: 2000, DurationMS: 900},
		{TraceID: "t2", SpanID: "q2", ParentSpanID: "r2", Name: "retrieval kb", StartUnixNano: 2001, Operation: "retrieval", DurationMS: 30, Documents: docs("d7", "d8", "d5"), Query: "Shipping  TIMES"},
		{TraceID: "t2", SpanID: "c2", ParentSpanID: "r2", Name: "chat gpt-4o-mini", StartUnixNano: 2002, Operation: "chat", Model: "gpt-4o-mini", DurationMS: 850, Status: "error", Tokens: tok(3000, 600)},
	}
	for i := range spans {
		spans[i].EndUnixNano = spans[i].StartUnixNano + uint64(spans[i].DurationMS*1e6)
	}
	return span.NewRun(spans)
}

const fixturePricing = "pricing:\n  gpt-4o-mini: {input: 0.15, output: 0.60}\n"

func evaluate(t *testing.T, yaml string, run *span.Run) map[string]Result {
	t.Helper()
	s, err := LoadBytes("llmcheck.yaml", []byte(yaml))
	require.NoError(t, err)
	res := s.Evaluate(run)
	out := map[string]Result{}
	for _, r := range res.Assertions {
		out[r.Name] = r
	}
	return out
}

func one(t *testing.T, expect string, extra ...string) Result {
	t.Helper()
	y := fixturePricing + "retrieval:\n  k: 3\nassertions:\n  - name: x\n    expect: " + expect + "\n" + strings.Join(extra, "")
	return evaluate(t, y, fixture())["x"]
}

func TestExpressions(t *testing.T) {
	tests := []struct {
		expect string
		where  string
		status Status
		msg    string // substring of the message
	}{
		// variables
		{"count == 6", "", Pass, ""},
		{"count == 2", `span.operation == "chat"`, Pass, "(2 spans)"},
		{"latency.p50 == 475.0", `span.operation == "chat"`, Pass, "latency.p50 = 475 ms"},
		{"latency.p95 < 1500", `span.operation == "chat"`, Pass, "latency.p95 = 812.5 ms"}, // int literal vs double
		{"latency.max == 850.0 && latency.min == 100.0 && latency.avg == 475.0", `span.operation == "chat"`, Pass, ""},
		{"tokens.total == 4800 && tokens.input == 4000 && tokens.output == 800", "", Pass, "tokens.total = 4800"},
		{"errors == 1 && error_rate == 0.5", `span.operation == "chat"`, Pass, "error_rate = 0.5"},
		{"size(traces) == 2 && traces.all(t, t.retrievals == 1 && t.llm_calls == 1)", "", Pass, ""},
		{"spans.exists(s, s.documents.exists(d, d.id == 'd5' && d.rank == 3))", "", Pass, ""},
		{"spans.all(s, has(s.tokens.total) == (s.operation == 'chat'))", "", Pass, ""},
		{"count == 2", `"app.rerank_ms" in span.attrs`, Pass, ""},
		{"spans.all(s, s.is_root == (s.parent_id == '') && s.end > s.start && s.trace_id.size() == 2)", "", Pass, ""},
		// functions
		{"sum(spans.map(s, s.tokens.total)) == 4800", `span.operation == "chat"`, Pass, "sum(spans.map(s, s.tokens.total)) = 4800"},
		{"avg(spans.map(s, s.duration_ms)) == 475.0", `span.operation == "chat"`, Pass, ""},
		{"min(spans.map(s, s.tokens.output)) == 200 && max(spans.map(s, s.tokens.output)) == 600", `span.operation == "chat"`, Pass, ""},
		{"percentile(spans.map(s, s.duration_ms), 0.5) == 475.0", `span.operation == "chat"`, Pass, ""},
		{"percentile(spans.map(s, s.attrs['app.rerank_ms']), 0.5) == 3.75", `"app.rerank_ms" in span.attrs`, Pass, ""},
		{"max([1, 2.5]) == 2.5", "", Pass, ""},
		// failures and errors
		{"latency.p95 < 500", `span.operation == "chat"`, Fail, "latency.p95 = 812.5 ms (2 spans)"},
		{"cost < 0.001", `span.operation == "chat"`, Fail, "cost = $0.00108"}, // (4000*0.15+800*0.6)/1e6
		{"sum(spans.map(s, s.tokens.total)) > 0", "", Error, "reports no total tokens"},
		{"tokens.cached > 0", "", Error, "no selected span reports cached tokens"},
		{"spans.all(s, s.attrs['missing'] == 1)", "", Error, "no such key: missing"},
		{"avg(spans.filter(s, false).map(s, s.duration_ms)) > 1", "", Error, "avg of an empty list"},
		{"sum([1, 'a']) > 1", "", Error, "element 1 is string, not a number"},
		{"percentile(spans.map(s, s.duration_ms), 95.0) > 1", "", Error, "q must be between 0 and 1"},
		{"retrieval.hit_rate > 0", `span.operation == "chat"`, Error, "no retrieval spans selected"},
		{"cost > 0", `span.operation == "retrieval"`, Error, "no selected span reports tokens or a cost"},
		{"count == 0", `span.operation == "rerank"`, Fail, "no spans matched where: span.operation == \"rerank\""},
	}
	for _, tt := range tests {
		t.Run(tt.expect, func(t *testing.T) {
			extra := ""
			if tt.where != "" {
				extra = "    where: '" + strings.ReplaceAll(tt.where, "'", "''") + "'\n"
			}
			r := one(t, fmt.Sprintf("%q", tt.expect), extra)
			assert.Equal(t, tt.status, r.Status, r.Message)
			assert.Contains(t, r.Message, tt.msg)
		})
	}
}

func TestNoDataFails(t *testing.T) {
	r := evaluate(t, "assertions:\n  - name: x\n    expect: latency.p95 < 1500\n", span.NewRun(nil))["x"]
	assert.Equal(t, Fail, r.Status)
	assert.Contains(t, r.Message, "no spans were recorded")

	r = one(t, "latency.p95 < 1500", "    where: span.model == 'gpt-5'\n    allow_empty: true\n")
	assert.Equal(t, Pass, r.Status)
	assert.True(t, r.Skipped)
}

func TestSeverityWarn(t *testing.T) {
	r := one(t, "latency.max < 10", "    severity: warn\n")
	assert.Equal(t, Warn, r.Status)
	assert.True(t, r.Failed)
	s, err := LoadBytes("c.yaml", []byte("assertions:\n  - name: x\n    expect: latency.max < 10\n    severity: warn\n"))
	require.NoError(t, err)
	assert.Equal(t, Pass, s.Evaluate(fixture()).Status, "a warning never fails the run")
}

func TestEachTrace(t *testing.T) {
	r := one(t, "trace.duration_ms < 500 && cost < 0.001", "    each: trace\n")
	require.Len(t, r.Rows, 2)
	assert.Equal(t, Fail, r.Status)
	assert.Equal(t, "t1", r.Rows[0].TraceID)
	assert.Equal(t, Pass, r.Rows[0].Status)
	assert.Equal(t, Fail, r.Rows[1].Status)
	assert.Contains(t, r.Message, "1 of 2 traces failed")
	assert.Contains(t, r.Rows[1].Message, "trace.duration_ms = 900 ms")
	require.Len(t, r.Offenders, 1)
	assert.Equal(t, "t2", r.Offenders[0].TraceID)
	assert.Equal(t, "computed from pricing: (USD per 1M tokens)", r.CostSource)

	r = one(t, "trace.root.name == 'answer' && trace.tokens.total > 1000 && trace.errors <= 1 && count == 1", "    each: trace\n    where: span.operation == 'chat'\n")
	assert.Equal(t, Pass, r.Status, r.Message)
}

func TestRetrieval(t *testing.T) {
	// t1: ground truth d1 from the root's llmcheck.relevant_ids → hit at rank 1.
	// t2: no attribute, no golden file → left out and counted.
	r := one(t, "retrieval.hit_rate == 1.0 && retrieval.mrr == 1.0 && retrieval.queries == 1 && retrieval.without_ground_truth == 1", "    where: span.operation == 'retrieval'\n")
	assert.Equal(t, Pass, r.Status, r.Message)

	// A golden file for t2's query (matched case- and space-insensitively): relevant d5 at rank 3.
	cfg, err := ParseConfig("c.yaml", []byte("retrieval: {k: 3}\nassertions:\n  - name: x\n    where: span.operation == 'retrieval'\n    expect: retrieval.queries == 2\n"))
	require.NoError(t, err)
	cfg.Retrieval.Golden = map[string][]string{"shipping times": {"d5", "d9"}}
	s, err := Compile(cfg)
	require.NoError(t, err)
	res := s.Evaluate(fixture())
	require.Equal(t, Pass, res.Assertions[0].Status, res.Assertions[0].Message)
	obs := map[string]any{}
	s2, _ := Compile(&Config{Path: "c.yaml", Retrieval: cfg.Retrieval, CostLimit: DefaultCostLimit, Assertions: []Assertion{{Name: "m", Where: "span.operation == 'retrieval'", Expect: "retrieval.mrr > 0 && retrieval.recall > 0 && retrieval.precision > 0 && retrieval.ndcg > 0 && retrieval.hit_rate > 0"}}})
	for _, o := range s2.Evaluate(fixture()).Assertions[0].Observed {
		obs[o.Expr] = o.Value
	}
	// Query 1: RR 1, recall 1, precision 1/3; query 2: RR 1/3, recall 1/2, precision 1/3.
	assert.InDelta(t, (1+1.0/3)/2, obs["retrieval.mrr"], 1e-12)
	assert.InDelta(t, 0.75, obs["retrieval.recall"], 1e-12)
	assert.InDelta(t, 1.0/3, obs["retrieval.precision"], 1e-12)
	assert.InDelta(t, 1.0, obs["retrieval.hit_rate"], 1e-12)
}

func TestOffendersAndObserved(t *testing.T) {
	r := one(t, "latency.p95 < 100", "    where: span.operation == 'chat'\n")
	assert.Equal(t, Fail, r.Status)
	require.Len(t, r.Offenders, 2)
	assert.Equal(t, "c2", r.Offenders[0].SpanID, "slowest first")
	assert.Equal(t, 850.0, r.Offenders[0].Value)
	assert.Equal(t, []Observed{{Expr: "latency.p95", Value: 812.5, Unit: "ms"}}, r.Observed)
	assert.Equal(t, 2, r.Spans)
	assert.Equal(t, 2, r.Traces)
}

func TestCostLimit(t *testing.T) {
	s, err := LoadBytes("c.yaml", []byte("cel_cost_limit: 10\nassertions:\n  - name: x\n    expect: spans.all(a, spans.all(b, spans.all(c, a.name != '')))\n"))
	require.NoError(t, err)
	res := s.Evaluate(fixture())
	assert.Equal(t, Error, res.Assertions[0].Status)
	assert.Contains(t, res.Assertions[0].Message, "cost limit")
}

func TestReportedCost(t *testing.T) {
	run := span.NewRun([]span.Span{
		{TraceID: "a", SpanID: "1", Name: "llm", Operation: "chat", Model: "unpriced", Cost: 0.25, HasCost: true, Tokens: span.Tokens{Input: 10, HasInput: true}},
		{TraceID: "a", SpanID: "2", Name: "llm", Operation: "chat", Model: "gpt-4o-mini", Tokens: span.Tokens{Input: 1_000_000, HasInput: true}},
	})
	r := evaluate(t, fixturePricing+"assertions:\n  - name: x\n    expect: cost == 0.4\n", run)["x"]
	assert.Equal(t, Pass, r.Status, r.Message)
	assert.Equal(t, "mixed: 1 span reported a cost, 1 priced from pricing:", r.CostSource)
}

// Prompt text quoted by a CEL error never reaches results unless asked.
func TestContentElided(t *testing.T) {
	prompt := "You are a helpful assistant. The customer's card number is 4111 1111 1111 1111."
	run := span.NewRun([]span.Span{{TraceID: "t", SpanID: "s", Name: "retrieve", Operation: "retrieval", Query: prompt, Attrs: span.AttrsOf(map[string]any{"input.value": prompt})}})
	y := "assertions:\n  - name: x\n    each: trace\n    expect: trace.root.query == '' && size(trace.root.attrs) == 0\n"
	s, err := LoadBytes("c.yaml", []byte(y))
	require.NoError(t, err)
	r := s.Evaluate(run).Assertions[0]
	assert.Equal(t, Fail, r.Status)
	out := fmt.Sprint(r)
	assert.NotContains(t, out, "4111")
	assert.Contains(t, r.Rows[0].Message, `trace.root.attrs = "(a map of 1 entry)"`)
	assert.Contains(t, r.Rows[0].Message, "characters elided; --include-content shows them")

	s.IncludeContent = true
	r = s.Evaluate(run).Assertions[0]
	assert.Contains(t, fmt.Sprint(r), "4111")
}
