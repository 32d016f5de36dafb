package assert

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/llmcheck/llmcheck/span"
)

// groupRun is six requests of an agent: the root span carries the test
// name, the team (app.team) and the conversation; the chat and tool
// spans below carry neither, as instrumentations record them. One trace
// (t6, a health check) has no team, no conversation and no test name.
//
//	trace  test           team      conversation  chat tokens  tool
//	t1     refunds        payments  c-1           1000/200     search_docs
//	t2     refunds        payments  c-1           1000/200     search_docs
//	t3     refunds        payments  c-2           1000/200     (none)
//	t4     shipping       support   c-3           4000/800     search_docs
//	t5     shipping       support   c-3           4000/800     search_docs
//	t6     —              —         —             100/10       —
func groupRun() *span.Run {
	type req struct {
		test, team, conv string
		in, out          int64
		tool             bool
	}
	reqs := []req{
		{"refunds", "payments", "c-1", 1000, 200, true},
		{"refunds", "payments", "c-1", 1000, 200, true},
		{"refunds", "payments", "c-2", 1000, 200, false},
		{"shipping", "support", "c-3", 4000, 800, true},
		{"shipping", "support", "c-3", 4000, 800, true},
		{"", "", "", 100, 10, false},
	}
	var spans []span.Span
	for i, r := range reqs {
		tr := fmt.Sprintf("t%d", i+1)
		start := uint64(i+1) * 1_000_000_000
		attrs := map[string]any{}
		if r.test != "" {
			attrs["test.name"] = r.test
		}
		if r.team != "" {
			attrs["app.team"] = r.team
		}
		name := "invoke_agent helpdesk"
		if r.test == "" {
			name = "GET /health"
		}
		spans = append(spans,
			span.Span{TraceID: tr, SpanID: "root", Name: name, Operation: span.OpInvokeAgent, Agent: "helpdesk", Conversation: r.conv, StartUnixNano: start, EndUnixNano: start + 900_000_000, Attrs: span.AttrsOf(attrs)},
			span.Span{TraceID: tr, SpanID: "chat", ParentSpanID: "root", Name: "chat gpt-4o-mini", Operation: span.OpChat, Model: "gpt-4o-mini", StartUnixNano: start + 1, EndUnixNano: start + 400_000_000,
				Tokens: span.Tokens{Input: r.in, Output: r.out, HasInput: true, HasOutput: true}})
		if r.tool {
			spans = append(spans, span.Span{TraceID: tr, SpanID: "tool", ParentSpanID: "root", Name: "execute_tool search_docs", Operation: span.OpExecuteTool, Tool: "search_docs", StartUnixNano: start + 500_000_000, EndUnixNano: start + 600_000_000})
		}
	}
	return span.NewRun(spans)
}

func rowsByGroup(r Result) map[string]Row {
	out := map[string]Row{}
	for _, row := range r.Rows {
		out[row.Group] = row
	}
	return out
}

func groupNames(r Result) []string {
	var out []string
	for _, row := range r.Rows {
		out = append(out, row.Group)
	}
	return out
}

func TestGroups(t *testing.T) {
	const chatCost = "    where: span.operation == \"chat\"\n    expect: cost < 0.001\n"
	cases := []struct {
		name    string
		each    string
		rest    string
		status  Status
		groups  []string          // rows, in order
		bad     map[string]Status // rows that did not pass
		message []string          // in the result's message
		spans   map[string]int    // selected spans of some rows
		traces  map[string]int
	}{
		{
			name: "conversation: cost per conversation, the chat spans inherit the root's conversation",
			each: "conversation", rest: chatCost, status: Fail,
			groups:  []string{"c-1", "c-2", "c-3", NoGroup},
			bad:     map[string]Status{"c-3": Fail},
			message: []string{"1 of 4 conversations failed", `first: conversation "c-3": cost = $0.00216 (2 spans)`},
			spans:   map[string]int{"c-1": 2, "c-2": 1, "c-3": 2, NoGroup: 1},
			traces:  map[string]int{"c-1": 2, NoGroup: 1},
		},
		{
			name: "test: a test that skipped the tool fails; the traces of a test are one row",
			each: "test", rest: "    where: span.tool == \"search_docs\"\n    expect: count >= 1\n", status: Fail,
			// every test of the run is a row; the health check's trace
			// is named by its root span, as diff names it
			groups:  []string{"GET /health", "refunds", "shipping"},
			bad:     map[string]Status{"GET /health": Fail},
			message: []string{"1 of 3 tests failed", `first: test "GET /health": no spans matched where: span.tool == "search_docs"`},
			spans:   map[string]int{"refunds": 2, "shipping": 2, "GET /health": 0},
			traces:  map[string]int{"refunds": 2, "shipping": 2},
		},
		{
			name: "test: k of n over the traces of a test",
			each: "test", rest: "    where: span.operation == \"invoke_agent\"\n    expect: double(spans.filter(s, s.attrs[\"test.name\"] == \"refunds\").size()) / double(count) >= 0.5\n", status: Fail,
			groups: []string{"GET /health", "refunds", "shipping"},
			bad:    map[string]Status{"GET /health": Error, "shipping": Fail},
		},
		{
			name: "expression: cost per team, (none) for the spans without a team",
			each: `span.attrs["app.team"]`, rest: chatCost, status: Fail,
			groups:  []string{"payments", "support", NoGroup},
			bad:     map[string]Status{"support": Fail},
			message: []string{"1 of 3 groups failed", `first: span.attrs["app.team"] = "support": cost = $0.00216 (2 spans)`},
			spans:   map[string]int{"payments": 3, "support": 2, NoGroup: 1},
			traces:  map[string]int{"payments": 3},
		},
		{
			name: "expression: only the values of the selected spans are rows",
			each: "span.model", rest: "    where: span.operation == \"chat\"\n    expect: count >= 1\n", status: Pass,
			groups:  []string{"gpt-4o-mini"},
			message: []string{"the 1 group passed"},
		},
		{
			name: "expression: budgets per team pass",
			each: `span.attrs["app.team"]`, rest: "    where: span.operation == \"chat\"\n    expect: tokens.input <= 10000\n", status: Pass,
			groups:  []string{"payments", "support", NoGroup},
			message: []string{"all 3 groups passed"},
		},
		{
			name: "allow_empty lets a test without selected spans pass",
			each: "test", rest: "    where: span.tool == \"search_docs\"\n    expect: count >= 1\n    allow_empty: true\n", status: Pass,
			groups: []string{"GET /health", "refunds", "shipping"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			y := fixturePricing + "assertions:\n  - name: x\n    each: '" + tc.each + "'\n" + tc.rest
			r := evaluate(t, y, groupRun())["x"]
			assert.Equal(t, tc.status, r.Status, r.Message)
			assert.Equal(t, tc.each, r.Each)
			assert.Equal(t, tc.groups, groupNames(r))
			rows := rowsByGroup(r)
			for _, row := range r.Rows {
				want, bad := tc.bad[row.Group]
				if !bad {
					want = Pass
				}
				assert.Equal(t, want, row.Status, "%s: %s", row.Group, row.Message)
				assert.Empty(t, row.TraceID, "a group row names no trace")
			}
			for _, m := range tc.message {
				assert.Contains(t, r.Message, m)
			}
			for g, n := range tc.spans {
				assert.Equal(t, n, rows[g].Spans, g)
			}
			for g, n := range tc.traces {
				assert.Equal(t, n, rows[g].Traces, g)
			}
			// the failing groups are the offenders, named by their value
			var offenders []string
			for _, o := range r.Offenders {
				offenders = append(offenders, o.Group)
			}
			var bad []string
			for _, g := range tc.groups {
				if _, ok := tc.bad[g]; ok {
					bad = append(bad, g)
				}
			}
			assert.Equal(t, bad, offenders)
		})
	}
}

// Rows are the same, in the same order, on every evaluation.
func TestGroupRowsDeterministic(t *testing.T) {
	y := fixturePricing + "assertions:\n  - name: x\n    each: span.name\n    expect: count >= 1\n"
	first := groupNames(evaluate(t, y, groupRun())["x"])
	assert.Equal(t, []string{"GET /health", "chat gpt-4o-mini", "execute_tool search_docs", "invoke_agent helpdesk"}, first)
	for range 5 {
		assert.Equal(t, first, groupNames(evaluate(t, y, groupRun())["x"]))
	}
}

func TestGroupConfigErrors(t *testing.T) {
	cases := []struct{ each, want string }{
		{"span.duration_ms", `llmcheck.yaml:3:11: each: "span.duration_ms" is double; an each: expression must be a string`},
		{"traces", "llmcheck.yaml:3:11: each: undeclared reference to 'traces'"},
		{"span.attrs[", "llmcheck.yaml:3:"},
		{`""`, "llmcheck.yaml:3:11: each: expected trace, conversation, test or a CEL string expression"},
	}
	for _, tc := range cases {
		t.Run(tc.each, func(t *testing.T) {
			_, err := LoadBytes("llmcheck.yaml", []byte("assertions:\n  - name: x\n    each: "+tc.each+"\n    expect: count > 0\n"))
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
	// trace is defined only with each: trace, also in a group
	_, err := LoadBytes("llmcheck.yaml", []byte("assertions:\n  - name: x\n    each: conversation\n    expect: trace.cost < 1\n"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "defined only with `each: trace`")
}

// A span whose group value cannot be evaluated makes the assertion an
// error naming the span; an absent attribute is no value.
func TestGroupRuntimeError(t *testing.T) {
	y := fixturePricing + "assertions:\n  - name: x\n    each: string(span.cost)\n    expect: count >= 1\n"
	r := evaluate(t, y, groupRun())["x"]
	assert.Equal(t, Error, r.Status)
	assert.Contains(t, r.Message, `each: span "invoke_agent helpdesk" (trace t1, span root)`)
	assert.Contains(t, r.Message, "reports no tokens and no cost")
	assert.Empty(t, r.Rows)
}

// An each: expression is bounded by cel_cost_limit, as where is.
func TestGroupCostLimit(t *testing.T) {
	y := "cel_cost_limit: 2\nassertions:\n  - name: x\n    each: 'span.name + span.name + span.status_message + span.status_message + span.status_message'\n    expect: count >= 1\n"
	r := evaluate(t, y, groupRun())["x"]
	assert.Equal(t, Error, r.Status)
	assert.Contains(t, r.Message, "each: worst-case cost")
	assert.Contains(t, r.Message, "exceeds the cost limit 2")
	r = evaluate(t, strings.Replace(y, "cel_cost_limit: 2", "cel_cost_limit: 100000", 1), groupRun())["x"]
	assert.Equal(t, Pass, r.Status, r.Message)
}

// A span without a value takes its nearest ancestor's: a nested agent's
// own team wins over the root's for the calls below it.
func TestGroupNearestAncestor(t *testing.T) {
	team := func(v string) span.Attrs { return span.AttrsOf(map[string]any{"app.team": v}) }
	run := span.NewRun([]span.Span{
		{TraceID: "t", SpanID: "root", Name: "root", StartUnixNano: 1, EndUnixNano: 100, Attrs: team("platform")},
		{TraceID: "t", SpanID: "c1", ParentSpanID: "root", Name: "chat", Operation: span.OpChat, StartUnixNano: 2, EndUnixNano: 10},
		{TraceID: "t", SpanID: "sub", ParentSpanID: "root", Name: "invoke_agent billing", Operation: span.OpInvokeAgent, StartUnixNano: 11, EndUnixNano: 90, Attrs: team("billing")},
		{TraceID: "t", SpanID: "c2", ParentSpanID: "sub", Name: "chat", Operation: span.OpChat, StartUnixNano: 12, EndUnixNano: 20},
		{TraceID: "t", SpanID: "c3", ParentSpanID: "sub", Name: "chat", Operation: span.OpChat, StartUnixNano: 21, EndUnixNano: 30},
		// an orphan whose parent was never received: no value
		{TraceID: "t", SpanID: "c4", ParentSpanID: "lost", Name: "chat", Operation: span.OpChat, StartUnixNano: 31, EndUnixNano: 40},
	})
	r := evaluate(t, "assertions:\n  - name: x\n    each: span.attrs[\"app.team\"]\n    where: span.operation == \"chat\"\n    expect: count >= 1\n", run)["x"]
	assert.Equal(t, []string{"billing", "platform", NoGroup}, groupNames(r))
	rows := rowsByGroup(r)
	assert.Equal(t, 2, rows["billing"].Spans)
	assert.Equal(t, 1, rows["platform"].Spans)
	assert.Equal(t, 1, rows[NoGroup].Spans)
	assert.Equal(t, Pass, r.Status, r.Message)
}

// The failing group named in the message keeps its whole name: a test or
// team name longer than the 32 characters content elision keeps
// (TestCheckoutFlow/refund_over_the_limit_fails) was shown as
// "…(44 characters elided; …)" in the message, while the rows showed it.
func TestGroupLongNameNotElided(t *testing.T) {
	long := "TestCheckoutFlow/refund_over_the_limit_fails"
	run := span.NewRun([]span.Span{
		{TraceID: "t1", SpanID: "a", Name: "chat", Operation: span.OpChat, StartUnixNano: 1, EndUnixNano: 10,
			Attrs: span.AttrsOf(map[string]any{"test.name": long, "app.out": "a secret prompt"})},
	})
	for _, each := range []string{"test", `span.attrs["test.name"]`} {
		y := "assertions:\n  - name: x\n    each: '" + each + "'\n    expect: count > 1\n" +
			"  - name: y\n    each: '" + each + "'\n    expect: spans.all(s, int(s.attrs[\"app.out\"]) > 0)\n"
		r := evaluate(t, y, run)
		assert.Contains(t, r["x"].Message, "; first: "+GroupLabel(each, long)+": count = 1", each)
		// an error row names the group too
		assert.Contains(t, r["y"].Message, "; first: "+GroupLabel(each, long)+": ", each)
		assert.NotContains(t, r["y"].Message, "secret prompt", each)
	}
}

// An each: expression is evaluated on the spans whose group is needed:
// the selected spans and the ancestors they take a value from. Before,
// it failed the assertion on any span of the run: `each:
// span.tool_args.order` with `where: span.operation == "execute_tool"`
// was an error on the model call beside the tool call, which has no
// tool-call arguments.
func TestGroupErrorOnlyWhereNeeded(t *testing.T) {
	args := func(v string) span.Attrs { return span.AttrsOf(map[string]any{"gen_ai.tool.call.arguments": v}) }
	run := span.NewRun([]span.Span{
		{TraceID: "t", SpanID: "root", Name: "invoke_agent a", Operation: span.OpInvokeAgent, StartUnixNano: 1, EndUnixNano: 100},
		{TraceID: "t", SpanID: "chat", ParentSpanID: "root", Name: "chat", Operation: span.OpChat, StartUnixNano: 2, EndUnixNano: 10},
		{TraceID: "t", SpanID: "t1", ParentSpanID: "root", Name: "execute_tool lookup", Operation: span.OpExecuteTool, Tool: "lookup", StartUnixNano: 11, EndUnixNano: 20, Attrs: args(`{"order":"A1"}`)},
		{TraceID: "t", SpanID: "t2", ParentSpanID: "root", Name: "execute_tool lookup", Operation: span.OpExecuteTool, Tool: "lookup", StartUnixNano: 21, EndUnixNano: 30, Attrs: args(`{"order":"B2"}`)},
		{TraceID: "t", SpanID: "t3", ParentSpanID: "root", Name: "execute_tool lookup", Operation: span.OpExecuteTool, Tool: "lookup", StartUnixNano: 31, EndUnixNano: 40, Attrs: args(`{"order":"A1"}`)},
	})
	y := "assertions:\n  - name: tools\n    each: span.tool_args.order\n    where: span.operation == \"execute_tool\"\n    expect: count <= 1\n" +
		"  - name: chats\n    each: span.tool_args.order\n    where: span.operation == \"chat\"\n    expect: count >= 1\n"
	r := evaluate(t, y, run)
	assert.Equal(t, Fail, r["tools"].Status, r["tools"].Message)
	assert.Equal(t, []string{"A1", "B2"}, groupNames(r["tools"]))
	// a selected span whose value cannot be computed is still an error
	assert.Equal(t, Error, r["chats"].Status, r["chats"].Message)
	assert.Contains(t, r["chats"].Message, `each: span "chat" (trace t, span chat): span.tool_args`)
}
