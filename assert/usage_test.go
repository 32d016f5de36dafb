package assert

import (
	"math"
	"testing"

	"github.com/google/cel-go/common/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/llmcheck/llmcheck/span"
)

// vercelRun is two requests in the Vercel AI SDK's shape: ai.generateText
// reports the sum of the usage of its two ai.generateText.doGenerate model
// calls (span package: TestCountsUsage normalises the attributes), with an
// ai.toolCall between them. The real spend is 1065 tokens per request.
func vercelRun() *span.Run {
	tok := func(in, out int64) span.Tokens {
		return span.Tokens{Input: in, Output: out, Total: in + out, HasInput: true, HasOutput: true, HasTotal: true}
	}
	var spans []span.Span
	for _, tr := range []string{"t1", "t2"} {
		spans = append(spans,
			span.Span{TraceID: tr, SpanID: "gen", Name: "ai.generateText", Model: "gpt-4o-mini", Tokens: tok(920, 145), DurationMS: 2000},
			span.Span{TraceID: tr, SpanID: "do1", ParentSpanID: "gen", Name: "ai.generateText.doGenerate", Operation: "chat", Model: "gpt-4o-mini-2024-07-18", Tokens: tok(300, 45), DurationMS: 890},
			span.Span{TraceID: tr, SpanID: "tool", ParentSpanID: "gen", Name: "ai.toolCall", DurationMS: 90},
			span.Span{TraceID: tr, SpanID: "do2", ParentSpanID: "gen", Name: "ai.generateText.doGenerate", Operation: "chat", Model: "gpt-4o-mini-2024-07-18", Tokens: tok(620, 100), DurationMS: 980},
		)
	}
	return span.NewRun(spans)
}

// Usage a parent span repeats from its descendants is counted once (issue
// 11 item 7): in sums over a selection, over a trace, and in cost.
func TestUsageCountedOnce(t *testing.T) {
	const cfg = "pricing:\n  gpt-4o-mini: {input: 0.15, output: 0.60}\nassertions:\n"
	tests := []struct {
		name, where, each, expect string
		status                    Status
		msg                       string
	}{
		{"suite tokens", "", "", "tokens.total == 2130 && tokens.input == 1840 && tokens.output == 290", Pass, "tokens.total = 2130"},
		{"suite cost", "", "", "cost > 0.000449 && cost < 0.000451", Pass, ""}, // 2 × (920×0.15 + 145×0.60) / 1e6 = 0.00045
		{"per trace", "", "trace", "tokens.total == 1065 && trace.tokens.total == 1065", Pass, "all 2 traces passed"},
		{"per trace cost", "", "trace", "trace.cost < 0.000226 && trace.cost > 0.000224", Pass, ""},
		{"span.tokens is what the span reported", "", "", "spans.exists(s, s.name == 'ai.generateText' && s.tokens.total == 1065)", Pass, ""},
		{"the model calls alone", `span.operation == "chat"`, "", "tokens.total == 2130", Pass, ""},
		{"the enclosing span alone", `span.name == "ai.generateText"`, "", "tokens.total > 0", Error, "repeat what their descendants report"},
		{"the enclosing span's cost alone", `span.name == "ai.generateText"`, "", "cost > 0.0", Error, "repeat what their descendants report"},
		{"the enclosing span's own cost", `span.name == "ai.generateText"`, "", "spans.all(s, s.cost > 0.0)", Pass, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			y := cfg + "  - name: x\n    expect: " + tc.expect + "\n"
			if tc.where != "" {
				y += "    where: " + tc.where + "\n"
			}
			if tc.each != "" {
				y += "    each: " + tc.each + "\n"
			}
			r := evaluate(t, y, vercelRun())["x"]
			assert.Equal(t, tc.status, r.Status, r.Message)
			assert.Contains(t, r.Message, tc.msg)
		})
	}
}

// A sum over spans that report nothing is an error for every token count
// (issue 11 item 6), never 0.
func TestUnreportedTokenSumsAreErrors(t *testing.T) {
	for _, name := range tokenNames[3:] {
		t.Run(name, func(t *testing.T) {
			r := one(t, "tokens."+name+" <= 0")
			assert.Equal(t, Error, r.Status, r.Message)
			assert.Contains(t, r.Message, "no selected span reports "+name+" tokens")

			r = one(t, "spans.all(s, s.tokens."+name+" == 0)", "    where: span.operation == \"chat\"\n")
			assert.Equal(t, Error, r.Status, r.Message)
			assert.Contains(t, r.Message, "reports no "+name+" tokens")

			r = one(t, "size(spans.filter(s, has(s.tokens."+name+"))) == 0")
			assert.Equal(t, Pass, r.Status, r.Message)
		})
	}
	// One span that reports them: the sum is its count.
	tok := span.Tokens{Input: 10, Output: 5, Total: 15, CacheWrite: 3, Reasoning: 2, HasInput: true, HasOutput: true, HasTotal: true, HasCacheWrite: true, HasReasoning: true}
	run := span.NewRun([]span.Span{
		{TraceID: "t", SpanID: "a", Name: "chat", Tokens: tok},
		{TraceID: "t", SpanID: "b", Name: "chat", Tokens: span.Tokens{Input: 1, HasInput: true, Total: 1, HasTotal: true}},
	})
	r := evaluate(t, "assertions:\n  - name: x\n    expect: tokens.reasoning == 2 && tokens.cache_write == 3\n", run)["x"]
	assert.Equal(t, Pass, r.Status, r.Message)
}

// Token sums that overflow int64 are errors, never a wrapped negative
// number that passes a budget (issue 16 item 12).
func TestTokenSumOverflow(t *testing.T) {
	big := int64(math.MaxInt64/2 + 1)
	tok := span.Tokens{Input: big, Output: 0, Total: big, HasInput: true, HasOutput: true, HasTotal: true}
	run := span.NewRun([]span.Span{
		{TraceID: "t", SpanID: "a", Name: "chat", Tokens: tok},
		{TraceID: "t", SpanID: "b", Name: "chat", Tokens: tok},
	})
	for _, expect := range []string{
		"tokens.total <= 50000",
		"trace.tokens.total <= 50000",
		"tokens.output == 0 && tokens.total <= 50000",
		"sum(spans.map(s, s.tokens.total)) <= 50000",
		"sum([9223372036854775807, 1]) < 0",
	} {
		t.Run(expect, func(t *testing.T) {
			y := "assertions:\n  - name: x\n    expect: " + expect + "\n"
			if expect[:6] == "trace." {
				y += "    each: trace\n"
			}
			r := evaluate(t, y, run)["x"]
			assert.Equal(t, Error, r.Status, r.Message)
			assert.Contains(t, r.Message, "overflows a 64-bit integer")
		})
	}
	// Large counts that fit are exact (not rounded through float64).
	r := evaluate(t, "assertions:\n  - name: x\n    expect: sum([9007199254740993, 0]) == 9007199254740993 && max([9007199254740993, 1]) == 9007199254740993 && min([9007199254740993, 9007199254740992]) == 9007199254740992\n", run)["x"]
	require.Equal(t, Pass, r.Status, r.Message)
}

// The worst offenders of a token or cost budget are the spans the sums
// count, not an enclosing span that repeats them.
func TestUsageOffenders(t *testing.T) {
	for _, expect := range []string{"tokens.total < 100", "cost < 0.0000001"} {
		r := evaluate(t, "pricing:\n  gpt-4o-mini: {input: 0.15, output: 0.60}\nassertions:\n  - name: x\n    expect: "+expect+"\n", vercelRun())["x"]
		require.Equal(t, Fail, r.Status, r.Message)
		require.NotEmpty(t, r.Offenders)
		for _, o := range r.Offenders {
			assert.Equal(t, "ai.generateText.doGenerate", o.Name, expect)
		}
	}
}

// Token sums over a baseline summary's groups (an untrusted file) do not
// wrap either, and a negative count in it is refused.
func TestSummaryTokenSumOverflow(t *testing.T) {
	big, neg, small := int64(math.MaxInt64/2+1), int64(-5), int64(7)
	total := tokensObj.gets["total"]
	sd := &summarySide{groups: []*Summary{{Tokens: TokenSums{Total: &big}}, {Tokens: TokenSums{Total: &big}}}}
	v := total(sd.tokens())
	require.IsType(t, (*types.Err)(nil), v)
	assert.Contains(t, v.(*types.Err).String(), "overflows a 64-bit integer")
	sd = &summarySide{groups: []*Summary{{Tokens: TokenSums{Total: &small}}, {Tokens: TokenSums{Total: &neg}}}}
	v = total(sd.tokens())
	require.IsType(t, (*types.Err)(nil), v)
	assert.Contains(t, v.(*types.Err).String(), "a total token count is negative")
	sd = &summarySide{groups: []*Summary{{Tokens: TokenSums{Total: &small}}, {Tokens: TokenSums{Total: &small}}}}
	assert.Equal(t, types.Int(14), total(sd.tokens()))
}
