package assert

import (
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
