package assert

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/llmcheck/llmcheck/span"
)

// streamRun is n streamed chat spans with times to first token drawn
// around mean (ms), and one chat span that was not streamed.
func streamRun(seed uint64, n int, mean float64) *span.Run {
	r := rand.New(rand.NewPCG(seed, 2))
	spans := make([]span.Span, 0, n+1)
	for i := range n {
		ttft := mean * (0.8 + 0.4*r.Float64())
		spans = append(spans, span.Span{TraceID: fmt.Sprintf("t%d", i), SpanID: fmt.Sprintf("s%d", i), Name: "chat gpt-4o-mini",
			Operation: "chat", Model: "gpt-4o-mini", DurationMS: 2 * ttft, StartUnixNano: uint64(i) * 1e9, EndUnixNano: uint64(i)*1e9 + uint64(2*ttft*1e6),
			TTFTMS: ttft, HasTTFT: true, Streaming: true})
	}
	spans = append(spans, span.Span{TraceID: "tx", SpanID: "sx", Name: "chat gpt-4o-mini", Operation: "chat", Model: "gpt-4o-mini",
		DurationMS: 100, StartUnixNano: uint64(n) * 1e9, EndUnixNano: uint64(n)*1e9 + 1e8})
	return span.NewRun(spans)
}

// fixedTTFT is three streamed chat spans (TTFT 100, 200, 400 ms) and a
// tool span without one.
func fixedTTFT() *span.Run {
	spans := []span.Span{
		{TraceID: "t1", SpanID: "a", Name: "chat", Operation: "chat", TTFTMS: 100, HasTTFT: true, Streaming: true, DurationMS: 300},
		{TraceID: "t1", SpanID: "b", Name: "chat", Operation: "chat", TTFTMS: 200, HasTTFT: true, Streaming: true, DurationMS: 300},
		{TraceID: "t2", SpanID: "c", Name: "chat", Operation: "chat", TTFTMS: 400, HasTTFT: true, Streaming: true, DurationMS: 500},
		{TraceID: "t2", SpanID: "d", Name: "execute_tool lookup", Operation: "execute_tool", DurationMS: 5},
	}
	return span.NewRun(spans)
}

func TestTTFTExpressions(t *testing.T) {
	for _, tc := range []struct {
		where, expect string
		status        Status
		msg           string
	}{
		{`span.operation == "chat"`, "ttft.p50 == 200.0 && ttft.min == 100.0 && ttft.max == 400.0", Pass, "ttft.p50 = 200 ms"},
		{`span.operation == "chat"`, "ttft.p95 < 350", Fail, "ttft.p95 = 380 ms (3 spans)"},
		{"", "ttft.avg > 233.0 && ttft.avg < 234.0", Pass, ""}, // the tool span has none and is left out
		{`span.operation == "execute_tool"`, "ttft.p95 < 1000", Error, "ttft.p95: none of the 1 selected spans reports a time to first token"},
		{"", "spans.filter(s, s.streaming).size() == 3", Pass, ""},
		{"span.streaming", "spans.all(s, s.ttft_ms < s.duration_ms)", Pass, ""},
		{"", "spans.all(s, s.ttft_ms > 0.0)", Error, `span "execute_tool lookup" (d) reports no time to first token`},
		{"", "spans.exists(s, has(s.ttft_ms))", Pass, ""},
		{"", "spans.filter(s, has(s.ttft_ms)).size() == 3", Pass, ""},
	} {
		t.Run(tc.expect, func(t *testing.T) {
			y := "assertions:\n  - name: x\n    expect: '" + strings.ReplaceAll(tc.expect, "'", "''") + "'\n"
			if tc.where != "" {
				y += "    where: '" + strings.ReplaceAll(tc.where, "'", "''") + "'\n"
			}
			r := evaluate(t, y, fixedTTFT())["x"]
			assert.Equal(t, tc.status, r.Status, r.Message)
			assert.Contains(t, r.Message, tc.msg)
		})
	}
}

const ttftRules = `regressions:
  - name: chat ttft p95 grows at most 10 %
    where: span.operation == "chat"
    expect: head.ttft.p95 <= base.ttft.p95 * 1.10
`

func TestTTFTRegression(t *testing.T) {
	s, err := LoadBytes("llmcheck.yaml", []byte(ttftRules))
	require.NoError(t, err)
	for _, tc := range []struct {
		name       string
		base, head *span.Run
		status     Status
		msg        string
	}{
		{"slower first token", streamRun(1, 40, 200), streamRun(2, 40, 300), Fail, "the ttft change is significant"},
		{"noise", streamRun(3, 40, 200), streamRun(4, 40, 200), Pass, ""},
		{"too few", streamRun(1, 4, 200), streamRun(2, 4, 300), Inconclusive, "too few samples, n=4 vs 4"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			full := s.EvaluateRegressions(tc.base, tc.head, mannWhitney)
			require.Len(t, full, 1)
			assert.Equal(t, tc.status, full[0].Status, full[0].Message)
			assert.Contains(t, full[0].Message, tc.msg)
			if tc.status == Fail {
				require.Len(t, full[0].Significance, 1)
				assert.Equal(t, "span", full[0].Significance[0].Unit)
				assert.Equal(t, 40, full[0].Significance[0].NHead, "only the streamed spans are the sample")
				assert.Contains(t, fmt.Sprint(full[0].Observed), "head.ttft.p95")
			}
			// The baseline summary gives the trace file's verdict.
			data, err := json.Marshal(SummariseGroups(s.Config, tc.base))
			require.NoError(t, err)
			var sums []Summary
			require.NoError(t, json.Unmarshal(data, &sums))
			require.Len(t, sums, 1)
			require.NotNil(t, sums[0].TTFT)
			assert.Equal(t, len(tc.base.Spans)-1, sums[0].TTFT.N)
			fromSummary := s.EvaluateRegressionsSummary(sums, tc.head, mannWhitney)
			assert.Equal(t, full[0].Status, fromSummary[0].Status, fromSummary[0].Message)
			assert.Equal(t, full[0].Observed, fromSummary[0].Observed)
		})
	}

	// No streamed call on the baseline side: an error, never a pass.
	r := s.EvaluateRegressions(chatRun(1, 10, 100, 5), streamRun(1, 10, 200), mannWhitney)
	assert.Equal(t, Error, r[0].Status, r[0].Message)
	assert.Contains(t, r[0].Message, "reports a time to first token")
	sums := SummariseGroups(s.Config, chatRun(1, 10, 100, 5))
	assert.Nil(t, sums[0].TTFT)
	r = s.EvaluateRegressionsSummary(sums, streamRun(1, 10, 200), mannWhitney)
	assert.Equal(t, Error, r[0].Status, r[0].Message)
	assert.Contains(t, r[0].Message, "in the baseline reports a time to first token")
}

// TestStarterTTFT: init --from budgets the time to first token of a group
// with streamed calls, and only there.
func TestStarterTTFT(t *testing.T) {
	got := StarterFrom(fixedTTFT(), "traces.jsonl")
	assert.Contains(t, got, "# recorded: 3 spans, p95 480 ms, TTFT p95 380 ms")
	assert.Contains(t, got, `expect: "latency.p95 <= 720 && ttft.p95 <= 570 && errors == 0"`)
	assert.Equal(t, 1, strings.Count(got, "ttft.p95"), "the tool group has no time to first token")
	s, err := LoadBytes("llmcheck.yaml", []byte(got))
	require.NoError(t, err)
	assert.Equal(t, Pass, s.Evaluate(fixedTTFT()).Status)
}
