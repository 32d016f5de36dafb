package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	a "github.com/llmcheck/llmcheck/assert"
	"github.com/llmcheck/llmcheck/internal/safetext"
	"github.com/llmcheck/llmcheck/span"
)

// userRun is 10,000 requests, one per user (the root span's user.id);
// every third user's request takes 900 ms, the others 100 ms.
func userRun() *span.Run {
	var spans []span.Span
	for i := range 10_000 {
		tr := fmt.Sprintf("%032x", i)
		start := uint64(i) * 1_000_000_000
		d := uint64(100)
		if i%3 == 0 {
			d = 900
		}
		spans = append(spans,
			span.Span{TraceID: tr, SpanID: "r", Name: "request", StartUnixNano: start, EndUnixNano: start + 1000*1_000_000, DurationMS: 1000,
				Attrs: span.AttrsOf(map[string]any{"user.id": fmt.Sprintf("u%05d", i)})},
			span.Span{TraceID: tr, SpanID: "c", ParentSpanID: "r", Name: "chat", Operation: span.OpChat, Model: "m", StartUnixNano: start + 1, EndUnixNano: start + 1 + d*1_000_000, DurationMS: float64(d)})
	}
	return span.NewRun(spans)
}

// A group per user: 10,000 rows, 3,334 failing. Every report names the
// failing groups and stays bounded: the console lists 5 and counts the
// rest, junit.xml 100, report.md a clipped table, results.json every
// failing row.
func TestManyGroupsBounded(t *testing.T) {
	s, err := a.LoadBytes("llmcheck.yaml", []byte("assertions:\n  - name: per user p95\n    each: span.attrs[\"user.id\"]\n    where: span.operation == \"chat\"\n    expect: latency.p95 < 500\n"))
	require.NoError(t, err)
	res := s.Evaluate(userRun())
	r := res.Assertions[0]
	require.Len(t, r.Rows, 10_000)
	require.Equal(t, a.Fail, r.Status)
	require.Contains(t, r.Message, `3334 of 10000 groups failed; first: span.attrs["user.id"] = "u00000": latency.p95 = 900 ms (1 span)`)

	var con bytes.Buffer
	Console(&con, res, ConsoleOptions{})
	out := con.String()
	require.Contains(t, out, "    span.attrs[\"user.id\"] = \"u00000\": latency.p95 = 900 ms\n")
	require.Contains(t, out, "    span.attrs[\"user.id\"] = \"u00012\": latency.p95 = 900 ms\n")
	require.NotContains(t, out, "u00015")
	require.Contains(t, out, "    … and 3329 more groups that did not pass (results.json lists them)\n")
	require.Less(t, len(out), 2000)

	var ju bytes.Buffer
	require.NoError(t, JUnit(&ju, res, fixtureMeta()))
	require.Contains(t, ju.String(), "3334 of 10000 groups did not pass:")
	require.Contains(t, ju.String(), `  FAIL  span.attrs["user.id"] = "u00297": latency.p95 = 900 ms (1 span)`)
	require.NotContains(t, ju.String(), "u00300")
	require.Contains(t, ju.String(), "… and 3234 more (see results.json)")

	md := Markdown(res, nil, fixtureMeta(), MarkdownOptions{})
	require.Contains(t, md, "| `span.attrs[\"user.id\"]` | Traces | Status | Observed |")
	require.Contains(t, md, "| `u00000` | 1 | fail | latency.p95 = 900 ms (1 span) |")
	require.Regexp(t, `_\d+ more groups that did not pass not shown to keep the report short._`, md)
	require.NotContains(t, md, "u00001", "passing groups are not listed")

	var js bytes.Buffer
	require.NoError(t, EncodeJSON(&js, res))
	var back struct {
		Assertions []struct {
			Rows        []a.Row
			RowsOmitted int `json:"rows_omitted"`
		}
	}
	require.NoError(t, json.Unmarshal(js.Bytes(), &back))
	got := back.Assertions[0]
	failing := 0
	for _, row := range got.Rows {
		require.NotEmpty(t, row.Group)
		require.Empty(t, row.TraceID)
		if row.Status == a.Fail {
			failing++
		}
	}
	require.Equal(t, 3334, failing, "every failing group is in results.json")
	require.Equal(t, 10_000-3334-MaxPassingRows, got.RowsOmitted)
	require.Contains(t, js.String(), `"group": "u09999"`, "a failing row late in the order is kept")
	require.NotContains(t, js.String(), `"group": "u09998"`, "passing rows beyond the cap are counted, not listed")
}

// A group value is span content: a hostile one reaches no report raw.
func TestHostileGroupValue(t *testing.T) {
	hostile := "\x1b[31m\r\n::error file=x::forged\u202e|`<b>"
	run := span.NewRun([]span.Span{
		{TraceID: "t1", SpanID: "r", Name: "request", Conversation: hostile, StartUnixNano: 1, EndUnixNano: 2_000_000, DurationMS: 2},
		{TraceID: "t1", SpanID: "c", ParentSpanID: "r", Name: "chat", Operation: span.OpChat, StartUnixNano: 2, EndUnixNano: 1_000_000, DurationMS: 1},
	})
	for _, each := range []string{"conversation", "span.conversation"} {
		s, err := a.LoadBytes("llmcheck.yaml", []byte("assertions:\n  - name: g\n    each: '"+each+"'\n    where: span.operation == \"chat\"\n    expect: count > 1\n"))
		require.NoError(t, err)
		res := s.Evaluate(run)
		require.Equal(t, a.Fail, res.Status, res.Assertions[0].Message)
		var con bytes.Buffer
		Console(&con, res, ConsoleOptions{})
		var ju bytes.Buffer
		require.NoError(t, JUnit(&ju, res, fixtureMeta()))
		md := Markdown(res, run, fixtureMeta(), MarkdownOptions{})
		checkMarkdown(t, md)
		for name, out := range map[string]string{"console": con.String(), "junit.xml": ju.String(), "report.md": md} {
			require.NotContains(t, out, "\x1b", name)
			require.NotContains(t, out, "\u202e", name)
			require.Empty(t, safetext.Commands(out, true), "%s: %s", name, out)
		}
		require.Contains(t, con.String(), `\x1b[31m\r\n::error file=x::forged\u202e|`+"`<b>", "the value is shown escaped")
	}
}
