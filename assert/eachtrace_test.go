package assert

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/llmcheck/llmcheck/span"
)

// toolRun is 40 requests; the first 12 make a tool call.
func toolRun() *span.Run {
	var spans []span.Span
	for i := range 40 {
		tr := fmt.Sprintf("t%02d", i)
		start := uint64(i) * 1000
		spans = append(spans, span.Span{TraceID: tr, SpanID: "root", Name: "request", StartUnixNano: start, EndUnixNano: start + 10})
		spans = append(spans, span.Span{TraceID: tr, SpanID: "chat", ParentSpanID: "root", Name: "chat", Operation: "chat", StartUnixNano: start + 1, EndUnixNano: start + 5})
		if i < 12 {
			spans = append(spans, span.Span{TraceID: tr, SpanID: "tool", ParentSpanID: "root", Name: "execute_tool weather", Operation: "execute_tool", StartUnixNano: start + 6, EndUnixNano: start + 9})
		}
	}
	return span.NewRun(spans)
}

// each: trace has one row per trace of the run; a trace where the where
// selects nothing is "no spans matched" (issue 11 item 4).
func TestEachTraceRowsForEveryTrace(t *testing.T) {
	const base = "assertions:\n  - name: x\n    each: trace\n    where: span.operation == \"execute_tool\"\n    expect: count >= 1\n"
	r := evaluate(t, base, toolRun())["x"]
	require.Len(t, r.Rows, 40)
	assert.Equal(t, Fail, r.Status)
	assert.Contains(t, r.Message, "28 of 40 traces failed")
	assert.Contains(t, r.Message, `no spans matched where: span.operation == "execute_tool"`)
	failed := 0
	for i, row := range r.Rows {
		if row.Status == Fail {
			failed++
			assert.Equal(t, 0, row.Spans)
			assert.Equal(t, "request", row.Name)
			assert.Contains(t, row.Message, "no spans matched", i)
		}
	}
	assert.Equal(t, 28, failed)
	assert.Equal(t, Pass, r.Rows[0].Status, "rows of traces with selected spans come first, as before")
	require.NotEmpty(t, r.Offenders)
	assert.Equal(t, Offender{TraceID: "t12", Name: "request", Metric: "selected spans"}, r.Offenders[0])

	// allow_empty: a trace without a selected span is allowed.
	r = evaluate(t, base+"    allow_empty: true\n", toolRun())["x"]
	require.Len(t, r.Rows, 40)
	assert.Equal(t, Pass, r.Status, r.Message)
	// Only 12 traces were checked: the message must not claim 40.
	assert.Contains(t, r.Message, "12 traces passed, 28 others selected no spans (allow_empty)")
	assert.Contains(t, r.Rows[39].Message, "allowed by allow_empty: true")

	// allow_empty and no trace selects anything: nothing was checked.
	r = evaluate(t, "assertions:\n  - name: x\n    each: trace\n    where: span.operation == \"no such\"\n    expect: count >= 2\n    allow_empty: true\n", toolRun())["x"]
	assert.Equal(t, Pass, r.Status)
	assert.Equal(t, "no spans matched; allowed by allow_empty: true", r.Message)

	// The expectation decides the traces that have selected spans.
	r = evaluate(t, "assertions:\n  - name: x\n    each: trace\n    where: span.operation == \"execute_tool\"\n    expect: count >= 2\n    allow_empty: true\n", toolRun())["x"]
	assert.Equal(t, Fail, r.Status)
	assert.Contains(t, r.Message, "12 of 40 traces failed")
}
