package span

import (
	"bufio"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// readFixture normalises every OTLP JSON line of a testdata file.
func readFixture(t *testing.T, name string) ([]Span, []string) {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "frameworks", name))
	require.NoError(t, err)
	defer f.Close()
	var spans []Span
	var warns []string
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<22)
	for sc.Scan() {
		td, err := (&ptrace.JSONUnmarshaler{}).UnmarshalTraces(sc.Bytes())
		require.NoError(t, err)
		spans = FromTracesWarn(spans, td, func(w string) { warns = append(warns, w) })
	}
	require.NoError(t, sc.Err())
	return spans, warns
}

// byOp counts spans per operation.
func byOp(spans []Span) map[string]int {
	m := map[string]int{}
	for _, s := range spans {
		m[s.Operation]++
	}
	return m
}

// Recorded from the real Mastra 1.71.0 + @mastra/otel-exporter 1.4.0
// (interop/mastra/agent.mjs, two runs, streamed): the model calls carry
// usage, the agent name and mastra.completion_start_time; the tool span its
// name and call id.
func TestRecordedMastra(t *testing.T) {
	spans, warns := readFixture(t, "mastra-1.71.0-otel-exporter-1.4.0.jsonl")
	assert.Equal(t, map[string]int{"chat": 4, "execute_tool": 2, "invoke_agent": 2, "model_generation": 2, "agent_step": 4, "model_chunk": 6}, byOp(spans))
	var chats []Span
	for _, s := range spans {
		switch s.Operation {
		case OpChat:
			chats = append(chats, s)
			assert.Equal(t, "openai", s.Provider)
			assert.Equal(t, "gpt-4o-mini-2024-07-18", s.Model)
			assert.Equal(t, "Weather agent", s.Agent)
			assert.Equal(t, int64(40), s.Tokens.Cached)
		case OpExecuteTool:
			assert.Equal(t, "get_weather", s.Tool)
			assert.Equal(t, "call_weather_1", s.ToolCallID)
			assert.Equal(t, "", s.Agent)
		case OpInvokeAgent:
			assert.Equal(t, "Weather agent", s.Agent)
		}
		assert.Empty(t, s.Conversation, "recorded without a threadId in the tracing metadata: no gen_ai.conversation.id")
	}
	require.Len(t, chats, 4)
	// The first call of each run: started 22:46:51.689 (52.447), first
	// chunk 22:46:51.869 (52.523).
	for i, want := range map[int]float64{0: 180, 2: 76} {
		assert.Equal(t, int64(100), chats[i].Tokens.Input)
		assert.True(t, chats[i].HasTTFT)
		assert.InDelta(t, want, chats[i].TTFTMS, 1e-9)
	}
	// The second call: Mastra repeats the first call's time, before this
	// call's start: no TTFT, and a warning naming the span.
	for _, i := range []int{1, 3} {
		assert.Equal(t, int64(150), chats[i].Tokens.Input)
		assert.False(t, chats[i].HasTTFT)
	}
	require.Len(t, warns, 2)
	for _, w := range warns {
		assert.Contains(t, w, `span "chat gpt-4o-mini"`)
		assert.Contains(t, w, "mastra.completion_start_time: want a time between the span's start and end")
	}
}

// Recorded from the real @openai/agents 0.20.0 with
// @arizeai/openinference-instrumentation-openai-agents 0.2.15
// (interop/agents/agent.js, two runs, streamed over Chat Completions).
func TestRecordedOpenAIAgents(t *testing.T) {
	spans, warns := readFixture(t, "openai-agents-0.20.0-openinference-0.2.15.jsonl")
	assert.Empty(t, warns)
	// per run: the workflow (AGENT and CHAIN), the agent, two turns, two
	// generations, one tool
	assert.Equal(t, map[string]int{"chat": 4, "execute_tool": 2, "invoke_agent": 4, "chain": 6}, byOp(spans))
	var in, out, cached int64
	agents := map[string]int{}
	for _, s := range spans {
		switch s.Operation {
		case OpChat:
			in += s.Tokens.Input
			out += s.Tokens.Output
			cached += s.Tokens.Cached
			assert.Equal(t, "gpt-4o-mini", s.Model)
			assert.False(t, s.HasTTFT, "this instrumentation writes no first-token event")
		case OpExecuteTool:
			assert.Equal(t, "get_weather", s.Tool)
			assert.Empty(t, s.ToolCallID, "the tool span carries no tool_call.id")
		case OpInvokeAgent:
			agents[s.Agent]++
		}
		assert.Equal(t, "openai", s.Provider)
		assert.Empty(t, s.Conversation)
	}
	assert.Equal(t, [3]int64{500, 100, 160}, [3]int64{in, out, cached})
	// The agent span names the agent (graph.node.id); the workflow root
	// (also an AGENT span) names none.
	assert.Equal(t, map[string]int{"Weather agent": 2, "": 2}, agents)
}
