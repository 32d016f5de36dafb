package diff

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/llmcheck/llmcheck/span"
)

// A span that repeats the usage of its descendants (the Vercel AI SDK's
// ai.generateText over its doGenerate calls) adds nothing to the group
// sums: tokens and cost are counted once, at the model calls.
func TestUsageCountedOnce(t *testing.T) {
	tok := func(in, out int64) span.Tokens {
		return span.Tokens{Input: in, Output: out, Total: in + out, HasInput: true, HasOutput: true, HasTotal: true}
	}
	run := func() *span.Run {
		return span.NewRun([]span.Span{
			{TraceID: "t", SpanID: "gen", Name: "ai.generateText", Model: "gpt-4o-mini", Tokens: tok(920, 145)},
			{TraceID: "t", SpanID: "do1", ParentSpanID: "gen", Name: "ai.generateText.doGenerate", Operation: "chat", Model: "gpt-4o-mini", Tokens: tok(300, 45)},
			{TraceID: "t", SpanID: "do2", ParentSpanID: "gen", Name: "ai.generateText.doGenerate", Operation: "chat", Model: "gpt-4o-mini", Tokens: tok(620, 100)},
		})
	}
	r := Compare(run(), run(), Options{Pricing: testPricing})
	chat := find(t, r, "- · chat · gpt-4o-mini")
	require.NotNil(t, chat.Base.Tokens)
	assert.Equal(t, int64(1065), chat.Base.Tokens.Total)
	require.NotNil(t, chat.Base.Cost)
	assert.InDelta(t, (920*0.15+145*0.6)/1e6, chat.Base.Cost.USD, 1e-15)
	outer := find(t, r, "- · ai.generateText")
	assert.Nil(t, outer.Base.Tokens, "the enclosing span's usage is its children's")
	assert.Nil(t, outer.Base.Cost)
}
