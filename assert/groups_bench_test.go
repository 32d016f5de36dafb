package assert

import (
	"fmt"
	"testing"

	"github.com/llmcheck/llmcheck/span"
)

// benchGroupRun is n/4 requests of four spans: a root with app.team (one
// of 20) and a conversation (one of n/40), a chat, a tool call and a
// second chat.
func benchGroupRun(n int) *span.Run {
	spans := make([]span.Span, 0, n)
	for i := 0; len(spans) < n; i++ {
		tr := fmt.Sprintf("%032x", i)
		start := uint64(i) * 1_000_000_000
		spans = append(spans,
			span.Span{TraceID: tr, SpanID: "r", Name: "invoke_agent helpdesk", Operation: span.OpInvokeAgent, Agent: "helpdesk", Conversation: fmt.Sprintf("c-%d", i/10),
				StartUnixNano: start, EndUnixNano: start + 90_000_000, DurationMS: 90, Attrs: span.AttrsOf(map[string]any{"app.team": fmt.Sprintf("team-%d", i%20), "test.name": fmt.Sprintf("test %d", i%50)})},
			span.Span{TraceID: tr, SpanID: "c1", ParentSpanID: "r", Name: "chat", Operation: span.OpChat, Model: "gpt-4o-mini", StartUnixNano: start + 1, EndUnixNano: start + 30_000_000, DurationMS: 30,
				Tokens: span.Tokens{Input: 100, Output: 20, HasInput: true, HasOutput: true}},
			span.Span{TraceID: tr, SpanID: "t", ParentSpanID: "r", Name: "execute_tool search_docs", Operation: span.OpExecuteTool, Tool: "search_docs", StartUnixNano: start + 31_000_000, EndUnixNano: start + 40_000_000, DurationMS: 9},
			span.Span{TraceID: tr, SpanID: "c2", ParentSpanID: "r", Name: "chat", Operation: span.OpChat, Model: "gpt-4o-mini", StartUnixNano: start + 41_000_000, EndUnixNano: start + 80_000_000, DurationMS: 39,
				Tokens: span.Tokens{Input: 100, Output: 20, HasInput: true, HasOutput: true}},
		)
	}
	return span.NewRun(spans)
}

// BenchmarkEach evaluates one cost budget over the chat spans of 100,000
// spans per trace, per conversation, per test, per team and per trace
// trajectory.
func BenchmarkEach(b *testing.B) {
	run := benchGroupRun(100_000)
	for _, tc := range []struct{ name, each, expect string }{
		{"trace", "trace", "cost < 1.0"},
		{"conversation", "conversation", "cost < 1.0"},
		{"test", "test", "cost < 1.0"},
		{"team", `span.attrs["app.team"]`, "cost < 1.0"},
		{"trajectory", "trace", `in_order(trace.tools, ["search_docs"])`},
	} {
		b.Run(tc.name, func(b *testing.B) {
			where := "    where: span.operation == \"chat\"\n"
			if tc.name == "trajectory" {
				where = ""
			}
			s, err := LoadBytes("llmcheck.yaml", []byte(fixturePricing+"assertions:\n  - name: x\n    each: '"+tc.each+"'\n"+where+"    expect: '"+tc.expect+"'\n"))
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if r := s.Evaluate(run); r.Status != Pass {
					b.Fatal(r.Assertions[0].Message)
				}
			}
		})
	}
}
