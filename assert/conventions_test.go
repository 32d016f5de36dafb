package assert

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/llmcheck/llmcheck/span"
)

// The same two chat calls, recorded by GenAI semconv, OpenLLMetry and
// OpenInference instrumentations, give the same token totals, cost and
// latency to assertions.
func TestSameTotalsAcrossConventions(t *testing.T) {
	type call struct{ in, out, cached int64 }
	calls := []call{{1200, 300, 200}, {800, 100, 0}}
	conventions := map[string]func(a pcommon.Map, c call){
		"gen_ai": func(a pcommon.Map, c call) {
			a.PutStr("gen_ai.operation.name", "chat")
			a.PutStr("gen_ai.request.model", "gpt-4o-mini")
			a.PutInt("gen_ai.usage.input_tokens", c.in)
			a.PutInt("gen_ai.usage.output_tokens", c.out)
			a.PutInt("gen_ai.usage.cache_read.input_tokens", c.cached)
		},
		"openllmetry": func(a pcommon.Map, c call) {
			a.PutStr("llm.request.type", "chat")
			a.PutStr("gen_ai.system", "OpenAI")
			a.PutStr("gen_ai.request.model", "gpt-4o-mini")
			a.PutInt("gen_ai.usage.prompt_tokens", c.in)
			a.PutInt("gen_ai.usage.completion_tokens", c.out)
			a.PutInt("llm.usage.total_tokens", c.in+c.out)
			a.PutInt("gen_ai.usage.cache_read_input_tokens", c.cached)
		},
		"openinference": func(a pcommon.Map, c call) {
			a.PutStr("openinference.span.kind", "LLM")
			a.PutStr("llm.model_name", "gpt-4o-mini")
			a.PutInt("llm.token_count.prompt", c.in)
			a.PutInt("llm.token_count.completion", c.out)
			a.PutInt("llm.token_count.total", c.in+c.out)
			a.PutInt("llm.token_count.prompt_details.cache_read", c.cached)
		},
	}
	cfg := "pricing:\n  gpt-4o-mini: {input: 0.15, output: 0.60, cached_input: 0.075}\nassertions:\n" +
		"  - name: totals\n    where: span.operation == 'chat'\n" +
		"    expect: tokens.total == 2400 && tokens.input == 2000 && tokens.output == 400 && tokens.cached == 200 && count == 2 && latency.max == 250.0\n" +
		// (1000*0.15 + 200*0.075 + 300*0.6 + 800*0.15 + 100*0.6) / 1e6
		"  - name: cost\n    where: span.operation == 'chat'\n    expect: cost > 0.000524999 && cost < 0.000525001\n"
	suite, err := LoadBytes("llmcheck.yaml", []byte(cfg))
	require.NoError(t, err)
	for name, set := range conventions {
		t.Run(name, func(t *testing.T) {
			td := ptrace.NewTraces()
			ss := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty()
			for i, c := range calls {
				s := ss.Spans().AppendEmpty()
				s.SetName("llm call")
				s.SetTraceID([16]byte{1})
				s.SetSpanID([8]byte{byte(i + 1)})
				s.SetStartTimestamp(1_000_000_000)
				s.SetEndTimestamp(pcommon.Timestamp(1_000_000_000 + uint64(i+1)*125_000_000))
				set(s.Attributes(), c)
			}
			res := suite.Evaluate(span.NewRun(span.FromTraces(nil, td)))
			for _, r := range res.Assertions {
				assert.Equal(t, Pass, r.Status, "%s: %s", r.Name, r.Message)
			}
		})
	}
}
