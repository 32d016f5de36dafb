package assert

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/llmcheck/llmcheck/span"
)

// The cost estimate reads the real longest strings of the run (issue 16
// item 11): 200 spans with 256 KB status messages and an expression that
// concatenates them pairwise (estimated at 881,002 when strings were
// bounded by span names, then ran for 20 s or more) is refused before it
// runs.
func TestCostLimitLongStrings(t *testing.T) {
	long := strings.Repeat("x", 256<<10)
	runOf := func(n int, mod func(s *span.Span)) *span.Run {
		spans := make([]span.Span, n)
		for i := range spans {
			spans[i] = span.Span{TraceID: fmt.Sprintf("t%d", i), SpanID: "s", Name: "chat", Operation: "chat", Status: "error"}
			mod(&spans[i])
		}
		return span.NewRun(spans)
	}
	cases := []struct {
		name   string
		run    *span.Run
		expect string
	}{
		{"status messages", runOf(200, func(s *span.Span) { s.StatusMessage = long }),
			"spans.all(a, spans.all(b, (a.status_message + b.status_message).size() > 0))"},
		{"attribute values", runOf(200, func(s *span.Span) { s.Attrs = span.AttrsOf(map[string]any{"x": long}) }),
			`spans.all(a, spans.all(b, (string(a.attrs["x"]) + string(b.attrs["x"])).size() > 0))`},
		{"inside an attribute array", runOf(200, func(s *span.Span) { s.Attrs = span.AttrsOf(map[string]any{"x": []any{"a", long}}) }),
			`spans.all(a, spans.all(b, (string(a.attrs["x"]) + string(b.attrs["x"])).size() > 0))`},
		{"event attributes", runOf(200, func(s *span.Span) {
			s.Events = []span.Event{{Name: "e", Attrs: span.AttrsOf(map[string]any{"x": long})}}
		}), `spans.all(a, spans.all(b, (string(a.events[0].attrs["x"]) + string(b.events[0].attrs["x"])).size() > 0))`},
		{"resource attributes", runOf(200, func(s *span.Span) { s.Resource = map[string]any{"x": long} }),
			`spans.all(a, spans.all(b, (string(a.resource["x"]) + string(b.resource["x"])).size() > 0))`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := evaluate(t, "assertions:\n  - name: x\n    expect: '"+tc.expect+"'\n", tc.run)["x"]
			require.Equal(t, Error, r.Status, r.Message)
			assert.Contains(t, r.Message, "exceeds the cost limit 100000000")
			assert.Contains(t, r.Message, "longest string 262144 bytes")
		})
	}

	// A long attribute value does not inflate the bound of short fields:
	// comparing operations over many spans stays under the limit.
	run := runOf(3000, func(s *span.Span) { s.Attrs = span.AttrsOf(map[string]any{"gen_ai.input.messages": long}) })
	r := evaluate(t, "assertions:\n  - name: x\n    expect: spans.all(s, s.operation == 'chat' && s.name.startsWith('ch'))\n", run)["x"]
	assert.Equal(t, Pass, r.Status, r.Message)
}

// Values nested deeper than boundsOf descends are taken as unbounded.
func TestBoundsOfDeepValues(t *testing.T) {
	var v any = "x"
	for range maxValueDepth + 2 {
		v = []any{v}
	}
	b := boundsOf(span.NewRun([]span.Span{{TraceID: "t", SpanID: "s", Attrs: span.AttrsOf(map[string]any{"deep": v})}}))
	assert.Equal(t, uint64(unboundedStr), b.lazy.get())
	b = boundsOf(span.NewRun([]span.Span{{TraceID: "t", SpanID: "s", Name: "n", Attrs: span.AttrsOf(map[string]any{"k": map[string]any{"kk": []byte("123456789012345678901234567890123456789012345678901234567890123456789")}})}}))
	assert.Equal(t, uint64(69), b.lazy.get())
	assert.Equal(t, uint64(1), b.field[fName])
}
