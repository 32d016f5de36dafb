package assert

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/llmcheck/llmcheck/span"
)

// span.agent, span.tool, span.tool_call_id and span.conversation are
// strings in where: (fast and CEL paths) and in expressions over spans,
// whichever convention supplied them, and empty when absent.
func TestAgentFieldsInAssertions(t *testing.T) {
	td := ptrace.NewTraces()
	ss := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty()
	add := func(id byte, attrs map[string]any) {
		s := ss.Spans().AppendEmpty()
		s.SetName("span")
		s.SetTraceID([16]byte{1})
		s.SetSpanID([8]byte{id})
		s.SetStartTimestamp(1_000_000_000)
		s.SetEndTimestamp(1_100_000_000)
		require.NoError(t, s.Attributes().FromRaw(attrs))
	}
	add(1, map[string]any{"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "Weather agent", "gen_ai.conversation.id": "c1"})
	add(2, map[string]any{"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "get_weather", "gen_ai.tool.call.id": "call_1", "gen_ai.conversation.id": "c1"})
	add(3, map[string]any{"openinference.span.kind": "TOOL", "tool.name": "get_weather", "tool_call.id": "call_2", "session.id": "c1"})
	add(4, map[string]any{"openinference.span.kind": "LLM", "llm.model_name": "gpt-4o-mini"})

	cfg := `assertions:
  - name: tool calls by name (fast path)
    where: span.tool == 'get_weather'
    expect: count == 2
  - name: tool calls by name (CEL path)
    where: span.tool.startsWith('get_') && span.tool_call_id.startsWith('call_')
    expect: count == 2
  - name: agent
    where: span.agent == 'Weather agent'
    expect: count == 1 && spans.all(s, s.operation == 'invoke_agent')
  - name: one conversation
    expect: spans.filter(s, s.conversation == 'c1').size() == 3 && spans.exists(s, s.conversation == '' && s.agent == '' && s.tool == '' && s.tool_call_id == '')
  - name: no such agent
    where: span.agent == 'nobody'
    expect: count == 0
`
	suite, err := LoadBytes("llmcheck.yaml", []byte(cfg))
	require.NoError(t, err)
	res := suite.Evaluate(span.NewRun(span.FromTraces(nil, td)))
	require.Len(t, res.Assertions, 5)
	for _, r := range res.Assertions[:4] {
		assert.Equal(t, Pass, r.Status, "%s: %s", r.Name, r.Message)
	}
	// A where that selects nothing fails: the field is compared, not ignored.
	assert.Equal(t, Fail, res.Assertions[4].Status, res.Assertions[4].Message)
}

// toolLatencyRun has n execute_tool spans of each of the tools, with durations
// around means[tool].
func toolLatencyRun(seed uint64, n int, means map[string]float64) *span.Run {
	r := rand.New(rand.NewPCG(seed, 1))
	var spans []span.Span
	for _, tool := range []string{"search", "fetch"} {
		for i := 0; i < n; i++ {
			d := means[tool] * (0.8 + 0.4*r.Float64())
			k := len(spans)
			spans = append(spans, span.Span{TraceID: fmt.Sprintf("t%d", k), SpanID: fmt.Sprintf("s%d", k), Name: "execute_tool " + tool,
				Operation: span.OpExecuteTool, Tool: tool, DurationMS: d, StartUnixNano: uint64(k) * 1e9, EndUnixNano: uint64(k)*1e9 + uint64(d*1e6)})
		}
	}
	return span.NewRun(spans)
}

// A regression rule can select by span.tool against a trace-file baseline;
// a summary baseline cannot answer it (it keeps service, operation, model
// and name per group) and refuses the rule when loaded, naming it.
func TestAgentFieldsInRegressionRules(t *testing.T) {
	s, err := LoadBytes("llmcheck.yaml", []byte(`regressions:
  - name: search latency stable
    where: span.tool == "search"
    expect: head.latency.p95 <= base.latency.p95 * 1.10
  - name: fetch latency stable
    where: span.tool == "fetch"
    expect: head.latency.p95 <= base.latency.p95 * 1.10
`))
	require.NoError(t, err)
	base := toolLatencyRun(1, 30, map[string]float64{"search": 100, "fetch": 100})
	head := toolLatencyRun(2, 30, map[string]float64{"search": 100, "fetch": 300})
	got := map[string]Result{}
	for _, r := range s.EvaluateRegressions(base, head, mannWhitney) {
		got[r.Name] = r
	}
	assert.Equal(t, Pass, got["search latency stable"].Status, got["search latency stable"].Message)
	assert.Equal(t, Fail, got["fetch latency stable"].Status, got["fetch latency stable"].Message)

	sums := SummariseGroups(nil, base)
	err = s.CheckSummary(sums)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "search latency stable")
}
