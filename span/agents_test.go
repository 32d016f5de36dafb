package span

import (
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestAgentToolConversationFields(t *testing.T) {
	type want struct{ agent, tool, callID, conv string }
	for _, tc := range []struct {
		name  string
		attrs map[string]any
		want  want
	}{
		{"none", map[string]any{"gen_ai.operation.name": "chat"}, want{}},
		{"gen_ai", map[string]any{
			"gen_ai.operation.name": "execute_tool", "gen_ai.agent.name": "Weather agent",
			"gen_ai.tool.name": "get_weather", "gen_ai.tool.call.id": "call_1", "gen_ai.conversation.id": "conv_9",
		}, want{"Weather agent", "get_weather", "call_1", "conv_9"}},
		{"openinference", map[string]any{
			"openinference.span.kind": "TOOL", "agent.name": "Planner", "tool.name": "search",
			"tool_call.id": "call_2", "session.id": "sess-1",
		}, want{"Planner", "search", "call_2", "sess-1"}},
		{"ai sdk tool call", map[string]any{
			"ai.operationId": "ai.toolCall", "ai.toolCall.name": "lookup", "ai.toolCall.id": "call_3",
		}, want{"", "lookup", "call_3", ""}},
		{"gen_ai wins over the others whatever the order", map[string]any{
			"gen_ai.operation.name": "invoke_agent", "agent.name": "oi", "gen_ai.agent.name": "semconv",
			"tool.name": "oi-tool", "ai.toolCall.name": "ai-tool", "session.id": "oi-sess", "gen_ai.conversation.id": "conv",
		}, want{"semconv", "ai-tool", "", "conv"}},
		{"empty value is absent", map[string]any{
			"gen_ai.operation.name": "chat", "gen_ai.agent.name": "", "agent.name": "fallback",
		}, want{"fallback", "", "", ""}},
		{"integer session id", map[string]any{"openinference.span.kind": "LLM", "session.id": int64(42)}, want{conv: "42"}},
		{"non-string is nothing", map[string]any{"gen_ai.operation.name": "chat", "gen_ai.agent.name": true}, want{}},
		{"langfuse session", map[string]any{"gen_ai.operation.name": "chat", "langfuse.session.id": "lf-1"}, want{conv: "lf-1"}},
		{"langsmith thread", map[string]any{"langsmith.span.kind": "llm", "langsmith.metadata.thread_id": "th-1"}, want{conv: "th-1"}},
		{"openllmetry agent", map[string]any{"traceloop.span.kind": "agent", "traceloop.entity.name": "triage"}, want{agent: "triage"}},
		{"openllmetry tool", map[string]any{"traceloop.span.kind": "tool", "traceloop.entity.name": "calc"}, want{tool: "calc"}},
		{"openllmetry task names nothing", map[string]any{"traceloop.span.kind": "task", "traceloop.entity.name": "step"}, want{}},
		{"openinference agents: graph.node.id on an AGENT span", map[string]any{"openinference.span.kind": "AGENT", "graph.node.id": "Weather agent"}, want{agent: "Weather agent"}},
		{"graph.node.id elsewhere is no agent", map[string]any{"openinference.span.kind": "CHAIN", "graph.node.id": "router"}, want{}},
		{"agent.name wins over graph.node.id", map[string]any{"openinference.span.kind": "AGENT", "graph.node.id": "node", "agent.name": "named"}, want{agent: "named"}},
		{"no other LLM attribute", map[string]any{"gen_ai.conversation.id": "only"}, want{conv: "only"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, warns := one(t, tc.attrs)
			assert.Empty(t, warns)
			assert.Equal(t, tc.want, want{s.Agent, s.Tool, s.ToolCallID, s.Conversation})
		})
	}
}

func TestTTFTFromCompletionStartTime(t *testing.T) {
	const start = 1_700_000_000_000_000_000 // 2023-11-14T22:13:20Z
	for _, tc := range []struct {
		name   string
		attrs  map[string]any
		ttft   float64
		has    bool
		warned string
	}{
		{"mastra", map[string]any{"mastra.completion_start_time": "2023-11-14T22:13:20.050Z"}, 50, true, ""},
		{"langfuse JSON-quoted", map[string]any{"langfuse.observation.completion_start_time": `"2023-11-14T22:13:20.125000Z"`}, 125, true, ""},
		{"langfuse with offset", map[string]any{"langfuse.observation.completion_start_time": "2023-11-14T23:13:20.2+01:00"}, 200, true, ""},
		{"mastra wins", map[string]any{
			"langfuse.observation.completion_start_time": "2023-11-14T22:13:20.125Z",
			"mastra.completion_start_time":               "2023-11-14T22:13:20.050Z",
		}, 50, true, ""},
		{"not a time", map[string]any{"mastra.completion_start_time": "soon"}, 0, false, `mastra.completion_start_time: want an RFC 3339 timestamp, got str "soon"`},
		{"before the start", map[string]any{"mastra.completion_start_time": "2023-11-14T22:13:19Z"}, 0, false, "want a time between the span's start and end"},
		{"after the end", map[string]any{"mastra.completion_start_time": "2023-11-14T22:13:22Z"}, 0, false, "want a time between the span's start and end"},
		{"absent", map[string]any{"gen_ai.operation.name": "chat"}, 0, false, ""},
		{"strands, in ms", map[string]any{"gen_ai.system": "strands-agents", "gen_ai.server.time_to_first_token": int64(312)}, 312, true, ""},
		{"strands, latest conventions", map[string]any{"gen_ai.provider.name": "strands-agents", "gen_ai.server.time_to_first_token": 87.5}, 87.5, true, ""},
		{"not strands: unit unknown, not read", map[string]any{"gen_ai.system": "openai", "gen_ai.server.time_to_first_token": 0.3}, 0, false, ""},
		{"strands, negative", map[string]any{"gen_ai.system": "strands-agents", "gen_ai.server.time_to_first_token": int64(-1)}, 0, false, "want a non-negative number of milliseconds"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var warns []string
			got := FromTracesWarn(nil, build(t, "svc", tspan{name: "llm", start: start, end: start + 1_000_000_000, attrs: tc.attrs}),
				func(w string) { warns = append(warns, w) })
			require.Len(t, got, 1)
			assert.Equal(t, tc.has, got[0].HasTTFT)
			assert.InDelta(t, tc.ttft, got[0].TTFTMS, 1e-6)
			if tc.warned == "" {
				assert.Empty(t, warns)
			} else {
				require.Len(t, warns, 1)
				assert.Contains(t, warns[0], tc.warned)
			}
		})
	}
}

// BenchmarkAgentFields measures the pass agents.go adds to every span, on
// recorded model-call spans: Mastra's (15 attributes, 3 read here, one a
// time to parse) and OpenInference's for the OpenAI Agents SDK (21
// attributes, none read here).
func BenchmarkAgentFields(b *testing.B) {
	for _, fixture := range []string{"mastra-1.71.0-otel-exporter-1.4.0.jsonl", "openai-agents-0.20.0-openinference-0.2.15.jsonl"} {
		spans, _ := readFixture(&testing.T{}, fixture)
		var s *Span
		for i := range spans {
			if spans[i].Operation == OpChat {
				s = &spans[i]
				break
			}
		}
		b.Run(fixture[:strings.IndexByte(fixture, '-')], func(b *testing.B) {
			n := new(normaliser)
			b.ReportAllocs()
			for b.Loop() {
				s.HasTTFT = false
				n.agentFields(s)
			}
		})
	}
}

// Every name agentSourceOf reads is in agentKeys (else the length filter
// would skip it).
func TestAgentKeysComplete(t *testing.T) {
	src, err := os.ReadFile("agents.go")
	require.NoError(t, err)
	body := string(src)
	body = body[strings.Index(body, "func agentSourceOf"):]
	body = body[:strings.Index(body, "\n}\n")]
	listed := map[string]bool{}
	for _, k := range agentKeys {
		listed[k] = true
	}
	n := 0
	for _, line := range strings.Split(body, "\n") {
		if k, ok := strings.CutPrefix(strings.TrimSpace(line), `case "`); ok {
			k = k[:strings.IndexByte(k, '"')]
			assert.True(t, listed[k], "%s is missing from agentKeys", k)
			n++
		}
	}
	assert.Equal(t, len(agentKeys), n)
}
