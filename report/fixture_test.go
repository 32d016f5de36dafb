package report

import (
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/llmcheck/llmcheck/assert"
	"github.com/llmcheck/llmcheck/span"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
		return
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run go test ./report -update to create it")
	require.Equal(t, string(want), got, "golden %s differs (go test ./report -update rewrites it)", name)
}

// fixtureStart is when the fixture run began: 2026-03-01 12:00:00 UTC.
var fixtureStart = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func fixtureMeta() Meta {
	return Meta{
		Command:         []string{"pytest", "-q", "tests/test rag.py"},
		CommandStatus:   "exit status 1",
		CommandDuration: 12345 * time.Millisecond,
		Started:         fixtureStart,
		TracePath:       ".llmcheck/traces.jsonl",
	}
}

// sp builds one span starting at ms after the fixture start.
func sp(trace, id, parent, name, op, model string, startMS, durMS float64) span.Span {
	base := uint64(fixtureStart.UnixNano())
	start := base + uint64(startMS*1e6)
	return span.Span{
		TraceID: trace, SpanID: id, ParentSpanID: parent, Name: name,
		Operation: op, Model: model, Status: "ok", Kind: "client",
		StartUnixNano: start, EndUnixNano: start + uint64(durMS*1e6), DurationMS: durMS,
	}
}

func tokens(s span.Span, in, out int64) span.Span {
	s.Tokens = span.Tokens{Input: in, Output: out, Total: in + out, HasInput: true, HasOutput: true}
	return s
}

const (
	traceA = "4bf92f3577b34da6a3ce929d0e0e4736"
	traceB = "0af7651916cd43dd8448eb211c80319c"
	traceC = "a3ce929d0e0e47364bf92f3577b34da6"
)

// fixtureRun is three traces of a RAG app: an agent that embeds the
// question, retrieves, calls a tool and chats, with gpt-4o-mini,
// claude-3-5-sonnet and text-embedding-3-small.
func fixtureRun() *span.Run {
	errSpan := tokens(sp(traceB, "00f067aa0ba902b8", "b7ad6b7169203331", "chat claude-3-5-sonnet", "chat", "claude-3-5-sonnet", 1150, 2400), 1800, 0)
	errSpan.Status = "error"
	spans := []span.Span{
		sp(traceA, "b9c7c989f97918e1", "", "answer question", "invoke_agent", "", 0, 1300),
		tokens(sp(traceA, "53995c3f42cd8ad8", "b9c7c989f97918e1", "embeddings text-embedding-3-small", "embeddings", "text-embedding-3-small", 5, 45), 12, 0),
		sp(traceA, "c3f42cd8ad853995", "b9c7c989f97918e1", "retrieval docs", "retrieval", "", 55, 120),
		tokens(sp(traceA, "e1b9c7c989f97918", "b9c7c989f97918e1", "chat gpt-4o-mini", "chat", "gpt-4o-mini", 180, 900), 1200, 300),
		sp(traceA, "8ad853995c3f42cd", "b9c7c989f97918e1", "execute_tool search_web", "execute_tool", "", 1085, 210),

		sp(traceB, "b7ad6b7169203331", "", "answer question", "invoke_agent", "", 1000, 3600),
		tokens(sp(traceB, "6b7169203331b7ad", "b7ad6b7169203331", "embeddings text-embedding-3-small", "embeddings", "text-embedding-3-small", 1005, 60), 20, 0),
		sp(traceB, "69203331b7ad6b71", "b7ad6b7169203331", "retrieval docs", "retrieval", "", 1070, 75),
		errSpan,
		tokens(sp(traceB, "0ba902b800f067aa", "b7ad6b7169203331", "chat gpt-4o-mini", "chat", "gpt-4o-mini", 3560, 1020), 2100, 650),

		sp(traceC, "d8ad853995c3f42c", "", "summarise thread", "invoke_workflow", "", 5000, 800),
		tokens(sp(traceC, "f42cd8ad853995c3", "d8ad853995c3f42c", "chat gpt-4o-mini", "chat", "gpt-4o-mini", 5010, 640), 900, 210),
		tokens(sp(traceC, "995c3f42cd8ad853", "d8ad853995c3f42c", "chat gpt-4o-mini", "chat", "gpt-4o-mini", 5660, 130), 300, 40),
	}
	return span.NewRun(spans)
}

// fixturePricing is USD per 1M tokens; the embedding model has no price.
var fixturePricing = map[string][2]float64{
	"gpt-4o-mini":       {0.15, 0.60},
	"claude-3-5-sonnet": {3, 15},
}

func fixtureCost(s *span.Span) (float64, bool) {
	if s.HasCost {
		return s.Cost, true
	}
	p, ok := fixturePricing[s.Model]
	if !ok || !s.Tokens.Any() {
		return 0, false
	}
	return (float64(s.Tokens.Input)*p[0] + float64(s.Tokens.Output)*p[1]) / 1e6, true
}

func pos(line int) assert.Pos { return assert.Pos{File: "llmcheck.yaml", Line: line, Column: 5} }

// fixtureResults has every kind of outcome: a pass, a failure with
// offenders, an each: trace failure with a failed and an errored trace, an
// evaluation error, a warning and a skip.
func fixtureResults() *assert.Results {
	return &assert.Results{
		Version: assert.SchemaVersion,
		Status:  assert.Fail,
		Config:  "llmcheck.yaml",
		Spans:   13,
		Traces:  3,
		Assertions: []assert.Result{
			{
				Name: "chat p95 under 1.5 s", Where: `span.operation == "chat"`, Expect: "latency.p95 < 1500",
				Severity: "error", Status: assert.Pass, Spans: 5, Traces: 3,
				Message:  "latency.p95 = 1495.2 ms (5 spans)",
				Observed: []assert.Observed{{Expr: "latency.p95", Value: 1495.2, Unit: "ms"}},
				Position: pos(8),
			},
			{
				Name: "suite stays under 5k tokens", Expect: "tokens.total <= 5000",
				Severity: "error", Status: assert.Fail, Failed: true, Spans: 13, Traces: 3,
				Message:  "tokens.total = 7542 (13 spans)",
				Observed: []assert.Observed{{Expr: "tokens.total", Value: int64(7542)}},
				Offenders: []assert.Offender{
					{TraceID: traceB, SpanID: "0ba902b800f067aa", Name: "chat gpt-4o-mini", Metric: "tokens.total", Value: 2750},
					{TraceID: traceB, SpanID: "00f067aa0ba902b8", Name: "chat claude-3-5-sonnet", Metric: "tokens.total", Value: 1800},
					{TraceID: traceA, SpanID: "e1b9c7c989f97918", Name: "chat gpt-4o-mini", Metric: "tokens.total", Value: 1500},
				},
				Position: pos(11),
			},
			{
				Name: "every trace costs under 1 cent", Each: "trace", Expect: "cost < 0.01 && errors == 0",
				Severity: "error", Status: assert.Fail, Failed: true, Spans: 13, Traces: 3, CostSource: "pricing",
				Message: "1 of 3 traces failed, 1 could not be evaluated; first: answer question (trace " + traceB + "): cost = $0.0289 (5 spans)",
				Rows: []assert.Row{
					{TraceID: traceA, Name: "answer question", Status: assert.Pass, Message: "cost = $0.00036 (5 spans)", Spans: 5,
						Observed: []assert.Observed{{Expr: "cost", Value: 0.00036, Unit: "USD"}}},
					{TraceID: traceB, Name: "answer question", Status: assert.Fail, Message: "cost = $0.0289 (5 spans)", Spans: 5,
						Observed: []assert.Observed{{Expr: "cost", Value: 0.0289, Unit: "USD"}}},
					{TraceID: traceC, Name: "summarise thread", Status: assert.Error, Message: `no price for model "text-embedding-3-small": add it under pricing: in USD per 1M tokens`, Spans: 3},
				},
				Offenders: []assert.Offender{
					{TraceID: traceB, Name: "answer question", Metric: "cost", Value: 0.0289, Unit: "USD"},
					{TraceID: traceC, Name: "summarise thread", Metric: "trace"},
				},
				Position: pos(14),
			},
			{
				Name: "retrieval finds the right document", Where: `span.operation == "retrieval"`, Expect: "retrieval.hit_rate >= 0.8",
				Severity: "error", Status: assert.Error, Spans: 2, Traces: 2,
				Message:  "retrieval.hit_rate: no ground truth for any query (set retrieval.ground_truth)",
				Observed: []assert.Observed{{Expr: "retrieval.hit_rate", Error: "no ground truth for any query"}},
				Position: pos(18),
			},
			{
				Name: "tools stay fast", Where: `span.operation == "execute_tool"`, Expect: "latency.max < 200",
				Severity: "warn", Status: assert.Warn, Failed: true, Spans: 1, Traces: 1,
				Message:  "latency.max = 210 ms (1 span)",
				Observed: []assert.Observed{{Expr: "latency.max", Value: 210.0, Unit: "ms"}},
				Offenders: []assert.Offender{
					{TraceID: traceA, SpanID: "8ad853995c3f42cd", Name: "execute_tool search_web", Metric: "duration_ms", Value: 210, Unit: "ms"},
				},
				Position: pos(22),
			},
			{
				Name: "rerank p95 under 300 ms", Where: `span.operation == "rerank"`, Expect: "latency.p95 < 300",
				Severity: "error", Status: assert.Pass, Skipped: true,
				Message:  "no spans matched; allowed by allow_empty: true",
				Observed: []assert.Observed{},
				Position: pos(26),
			},
		},
	}
}
