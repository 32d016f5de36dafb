package report

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/llmcheck/llmcheck/span"
)

// The per-operation table counts usage a span repeats from its
// descendants once (span.Span.CountsUsage).
func TestGroupsCountUsageOnce(t *testing.T) {
	tok := func(in, out int64) span.Tokens {
		return span.Tokens{Input: in, Output: out, Total: in + out, HasInput: true, HasOutput: true, HasTotal: true}
	}
	run := span.NewRun([]span.Span{
		{TraceID: "t", SpanID: "gen", Name: "ai.generateText", Operation: "invoke_agent", Tokens: tok(920, 145), Cost: 0.01, HasCost: true},
		{TraceID: "t", SpanID: "do1", ParentSpanID: "gen", Operation: "chat", Model: "m", Tokens: tok(300, 45), Cost: 0.003, HasCost: true},
		{TraceID: "t", SpanID: "do2", ParentSpanID: "gen", Operation: "chat", Model: "m", Tokens: tok(620, 100), Cost: 0.007, HasCost: true},
	})
	var in, out int64
	var usd float64
	for _, g := range GroupDetails(run, nil) {
		in += g.InputTokens
		out += g.OutputTokens
		usd += g.Cost
	}
	assert.Equal(t, int64(920), in)
	assert.Equal(t, int64(145), out)
	assert.InDelta(t, 0.01, usd, 1e-15)
}
