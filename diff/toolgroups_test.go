package diff

import (
	"bytes"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/llmcheck/llmcheck/span"
)

// agentToolRun is n requests of an agent span ("Weather agent") around
// two tool calls, get_weather (slow when slowWeather) and lookup_city.
func agentToolRun(n int, slowWeather bool) *span.Run {
	var spans []span.Span
	for i := range n {
		tid := fmt.Sprintf("%032x", i+1)
		weather := 40.0 + float64(i%7)
		if slowWeather {
			weather *= 3
		}
		spans = append(spans,
			span.Span{TraceID: tid, SpanID: fmt.Sprintf("a%015x", i), Name: "invoke_agent Weather agent", Service: "app", Operation: span.OpInvokeAgent, Agent: "Weather agent", DurationMS: 200},
			span.Span{TraceID: tid, SpanID: fmt.Sprintf("w%015x", i), ParentSpanID: fmt.Sprintf("a%015x", i), Name: "execute_tool get_weather", Service: "app", Operation: span.OpExecuteTool, Tool: "get_weather", DurationMS: weather},
			span.Span{TraceID: tid, SpanID: fmt.Sprintf("c%015x", i), ParentSpanID: fmt.Sprintf("a%015x", i), Name: "execute_tool lookup_city", Service: "app", Operation: span.OpExecuteTool, Tool: "lookup_city", DurationMS: 10 + float64(i%5)},
		)
	}
	return span.NewRun(spans)
}

// Tools and agents are groups of their own (service · execute_tool ·
// tool), from a trace file and from a baseline summary alike, so a slower
// tool is found and named.
func TestToolAndAgentGroups(t *testing.T) {
	base, head := agentToolRun(40, false), agentToolRun(40, true)
	for name, r := range map[string]*Report{
		"trace file": Compare(base, head, Options{}),
		"summary":    CompareSummary(summarise(base, Options{}), head, Options{}),
	} {
		t.Run(name, func(t *testing.T) {
			w := find(t, r, "app · execute_tool · get_weather")
			assert.Equal(t, "get_weather", w.Tool)
			assert.Equal(t, Compared, w.Presence)
			assert.True(t, w.Metric(MetricLatencyP50).Test.Significant, "get_weather tripled")
			c := find(t, r, "app · execute_tool · lookup_city")
			assert.False(t, c.Metric(MetricLatencyP50).Test.Significant, "lookup_city did not change")
			a := find(t, r, "app · invoke_agent · Weather agent")
			assert.Equal(t, "Weather agent", a.Agent)
			var buf bytes.Buffer
			r.Text(&buf)
			assert.Contains(t, buf.String(), "execute_tool · get_weather")
			js, err := json.Marshal(r)
			require.NoError(t, err)
			assert.Contains(t, string(js), `"tool":"get_weather"`)
			assert.Contains(t, r.Markdown(MaxCommentBytes), "execute\\_tool · get\\_weather")
		})
	}
}
