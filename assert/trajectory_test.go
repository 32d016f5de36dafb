package assert

import (
	"bufio"
	"os"
	"strings"
	"testing"

	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/traits"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/llmcheck/llmcheck/span"
)

// recordedRun decodes an OTLP JSON lines file recorded from a real SDK.
func recordedRun(t *testing.T, path string) *span.Run {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 64<<20)
	d := span.NewDecoder()
	var spans []span.Span
	for sc.Scan() {
		spans, err = d.DecodeJSON(spans, sc.Bytes(), func(string) {})
		require.NoError(t, err)
	}
	require.NoError(t, sc.Err())
	return span.NewRun(spans)
}

const ms = uint64(1_000_000)

// trajectoryRun is one trace of a GenAI-semconv agent, shaped as the Node SDK
// records it (start times in whole milliseconds): a triage agent that
// calls a model, runs two tools in parallel (fetch_order starts first
// but the two overlap), hands off to a nested refunds agent that calls
// search_docs and a second model, and answers.
func trajectoryRun() *span.Run {
	sp := func(id, parent, name, op string, start, end uint64, set func(s *span.Span)) span.Span {
		s := span.Span{TraceID: "a1", SpanID: id, ParentSpanID: parent, Name: name, Operation: op, StartUnixNano: start * ms, EndUnixNano: end * ms}
		if set != nil {
			set(&s)
		}
		return s
	}
	tool := func(name string) func(s *span.Span) { return func(s *span.Span) { s.Tool = name } }
	model := func(m string) func(s *span.Span) { return func(s *span.Span) { s.Model = m } }
	agent := func(a string) func(s *span.Span) { return func(s *span.Span) { s.Agent = a } }
	return span.NewRun([]span.Span{
		// spans arrive children first, as exporters send them
		sp("answer", "triage", "execute_tool answer", span.OpExecuteTool, 90, 95, tool("answer")),
		sp("search", "refunds", "execute_tool search_docs", span.OpExecuteTool, 61, 70, tool("search_docs")),
		sp("chat2", "refunds", "chat gpt-4o", span.OpChat, 71, 85, model("gpt-4o")),
		sp("refunds", "triage", "invoke_agent refunds", span.OpInvokeAgent, 60, 88, agent("refunds")),
		sp("weather", "triage", "execute_tool get_weather", span.OpExecuteTool, 31, 50, tool("get_weather")),
		sp("order", "triage", "execute_tool fetch_order", span.OpExecuteTool, 30, 45, tool("fetch_order")),
		sp("chat1", "triage", "chat gpt-4o-mini", span.OpChat, 10, 29, model("gpt-4o-mini")),
		sp("triage", "", "invoke_agent triage", span.OpInvokeAgent, 0, 100, agent("triage")),
	})
}

// agentAsToolRun is one trace of an agent that runs two tools in
// parallel, one of them a sub-agent used as a tool (the OpenAI Agents
// SDK's Agent.as_tool) that calls a tool of its own while the other tool
// still runs: the nested calls come after the calls that contain them.
func agentAsToolRun() *span.Run {
	sp := func(id, parent, op, tool, agent string, start, end uint64) span.Span {
		return span.Span{TraceID: "a2", SpanID: id, ParentSpanID: parent, Name: op + " " + tool + agent, Operation: op, Tool: tool, Agent: agent, StartUnixNano: start * ms, EndUnixNano: end * ms}
	}
	return span.NewRun([]span.Span{
		sp("root", "", span.OpInvokeAgent, "", "zeta", 0, 100),
		sp("research", "root", span.OpExecuteTool, "research", "", 10, 80),
		sp("sub", "research", span.OpInvokeAgent, "", "alpha", 15, 75),
		sp("lookup", "sub", span.OpExecuteTool, "a_lookup", "", 20, 30),
		sp("fetch", "root", span.OpExecuteTool, "z_fetch", "", 11, 40),
	})
}

func TestTrajectories(t *testing.T) {
	type want struct{ tools, agents, models []string }
	cases := []struct {
		name string
		run  *span.Run
		want map[string]want // by trace id ("" when the run has one trace)
	}{
		{"nested agents and parallel tools", trajectoryRun(), map[string]want{"a1": {
			// fetch_order and get_weather ran concurrently: name order
			tools:  []string{"fetch_order", "get_weather", "search_docs", "answer"},
			agents: []string{"triage", "refunds"},
			models: []string{"gpt-4o-mini", "gpt-4o"},
		}}},
		{"a sub-agent as a tool, in parallel with another tool", agentAsToolRun(), map[string]want{"a2": {
			// research and z_fetch ran concurrently: name order, each
			// followed by the calls nested in it (a_lookup ran inside
			// research); before, a_lookup came first, before the call
			// that contains it
			tools:  []string{"research", "a_lookup", "z_fetch"},
			agents: []string{"zeta", "alpha"},
			models: []string{},
		}}},
		// OpenLLMetry's LangChain.js instrumentation (interop/langchain
		// traceloop): gen_ai.operation.name execute_tool on a
		// traceloop.span.kind=task span, no tool name attribute. The
		// name was the span name, "execute_tool DynamicStructuredTool",
		// 34 characters and elided from messages as content.
		{"a tool span named only by its span name", span.NewRun([]span.Span{
			{TraceID: "a3", SpanID: "q", Name: "question", StartUnixNano: 1 * ms, EndUnixNano: 50 * ms},
			{TraceID: "a3", SpanID: "t", ParentSpanID: "q", Name: "execute_tool DynamicStructuredTool", Operation: span.OpExecuteTool, StartUnixNano: 2 * ms, EndUnixNano: 10 * ms},
			{TraceID: "a3", SpanID: "u", ParentSpanID: "q", Name: "lookup", Operation: span.OpExecuteTool, StartUnixNano: 11 * ms, EndUnixNano: 20 * ms},
		}), map[string]want{"a3": {tools: []string{"DynamicStructuredTool", "lookup"}, agents: []string{}, models: []string{}}}},
		// a tool call that failed and its retry: both are calls
		{"a failed tool call and its retry", span.NewRun([]span.Span{
			{TraceID: "a4", SpanID: "q", Name: "invoke_agent a", Operation: span.OpInvokeAgent, Agent: "a", StartUnixNano: 1 * ms, EndUnixNano: 50 * ms},
			{TraceID: "a4", SpanID: "t1", ParentSpanID: "q", Name: "execute_tool search_docs", Operation: span.OpExecuteTool, Tool: "search_docs", Status: "error", StartUnixNano: 2 * ms, EndUnixNano: 10 * ms},
			{TraceID: "a4", SpanID: "t2", ParentSpanID: "q", Name: "execute_tool search_docs", Operation: span.OpExecuteTool, Tool: "search_docs", StartUnixNano: 11 * ms, EndUnixNano: 20 * ms},
			{TraceID: "a4", SpanID: "t3", ParentSpanID: "q", Name: "execute_tool answer", Operation: span.OpExecuteTool, Tool: "answer", StartUnixNano: 21 * ms, EndUnixNano: 30 * ms},
		}), map[string]want{"a4": {tools: []string{"search_docs", "search_docs", "answer"}, agents: []string{"a"}, models: []string{}}}},
		{"OpenAI Agents SDK (OpenInference)", recordedRun(t, "../span/testdata/frameworks/openai-agents-0.20.0-openinference-0.2.15.jsonl"), map[string]want{
			"362d4435ef2a6f4a58a6c1037ca16596": {[]string{"get_weather"}, []string{"Weather agent"}, []string{"gpt-4o-mini", "gpt-4o-mini"}},
		}},
		{"Mastra", recordedRun(t, "../span/testdata/frameworks/mastra-1.71.0-otel-exporter-1.4.0.jsonl"), map[string]want{
			"d0a612439099467c63460a4a93db884e": {[]string{"get_weather"}, []string{"Weather agent"}, []string{"gpt-4o-mini-2024-07-18", "gpt-4o-mini-2024-07-18"}},
		}},
		{"AI SDK 7 (GenAI conventions)", recordedRun(t, "../span/testdata/aisdk/v7.jsonl"), map[string]want{
			"ebd700542af4243c0ca89d9b85b41b47": {[]string{"lookup"}, []string{"refunds"}, []string{"gpt-4o-mini-2024-07-18", "gpt-4o-mini-2024-07-18"}},
			"599abd316701a4374a338ce947f764d5": {[]string{}, []string{}, []string{}}, // embeddings only
		}},
		{"AI SDK 6 with OpenInference (no agent name)", recordedRun(t, "../span/testdata/aisdk/v6-openinference.jsonl"), map[string]want{
			"8323d6d236f361fe560521c794b171e8": {[]string{"lookup"}, []string{}, []string{"gpt-4o-mini-2024-07-18", "gpt-4o-mini-2024-07-18"}},
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for id, w := range tc.want {
				tr := tc.run.Trace(id)
				require.NotNil(t, tr, id)
				got := trajectoryOf(tc.run, tr)
				assert.Equal(t, w.tools, got.tools, "tools")
				assert.Equal(t, w.agents, got.agents, "agents")
				assert.Equal(t, w.models, got.models, "models")
			}
		})
	}
}

// The example, evaluated per trace with the real CEL path, and
// the observed value naming the tools a failing trace called.
func TestTrajectoryAssertions(t *testing.T) {
	cases := []struct {
		expect string
		want   Status
	}{
		{`in_order(trace.tools, ["search_docs", "answer"]) && size(trace.tools) <= 4`, Pass},
		{`in_order(trace.tools, ["answer", "search_docs"])`, Fail},
		{`in_order(trace.tools, ["fetch_order", "get_weather", "answer"])`, Pass},
		{`"search_docs" in trace.tools`, Pass},
		{`size(trace.tools) <= 3`, Fail},
		{`in_order(trace.agents, ["triage", "refunds"])`, Pass},
		{`trace.models == ["gpt-4o-mini", "gpt-4o"]`, Pass},
		{`in_order(trace.models, ["gpt-4o", "gpt-4o-mini"])`, Fail},
		{`trace.tools.filter(x, x == "answer").size() == 1`, Pass},
	}
	for _, tc := range cases {
		t.Run(tc.expect, func(t *testing.T) {
			y := "assertions:\n  - name: x\n    each: trace\n    expect: '" + strings.ReplaceAll(tc.expect, "'", "''") + "'\n"
			r := evaluate(t, y, trajectoryRun())["x"]
			assert.Equal(t, tc.want, r.Status, r.Message)
		})
	}
	// A failing trajectory shows the tools the trace called.
	r := evaluate(t, "assertions:\n  - name: x\n    each: trace\n    expect: in_order(trace.tools, [\"answer\", \"search_docs\"])\n", trajectoryRun())["x"]
	assert.Contains(t, r.Message, `first: invoke_agent triage (trace a1): trace.tools = ["fetch_order", "get_weather", "search_docs", "answer"]`)
	require.Len(t, r.Rows, 1)
	assert.Equal(t, []string{"fetch_order", "get_weather", "search_docs", "answer"}, r.Rows[0].Observed[0].Value)

	// trace is only defined with each: trace
	_, err := LoadBytes("llmcheck.yaml", []byte("assertions:\n  - name: x\n    expect: size(trace.tools) > 0\n"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "llmcheck.yaml:3:")
	assert.Contains(t, err.Error(), "each: trace")
}

func TestInOrder(t *testing.T) {
	cases := []struct {
		expr string
		want bool
	}{
		{`in_order(["a", "b", "c"], [])`, true},
		{`in_order([], [])`, true},
		{`in_order([], ["a"])`, false},
		{`in_order(["a", "b", "c"], ["a", "c"])`, true},
		{`in_order(["a", "b", "c"], ["c", "a"])`, false},
		{`in_order(["a", "b", "c"], ["a", "b", "c"])`, true},
		{`in_order(["a", "b", "c"], ["a", "b", "c", "d"])`, false},
		// repeated names: each element of sub needs its own occurrence
		{`in_order(["a", "b", "a"], ["a", "a"])`, true},
		{`in_order(["a", "b"], ["a", "a"])`, false},
		{`in_order(["search", "search", "answer"], ["search", "answer", "search"])`, false},
		{`in_order(["x", "search", "y", "search", "answer"], ["search", "search", "answer"])`, true},
		// lists of other types (list(dyn))
		{`in_order([1, 2, 3], [1, 3])`, true},
		{`in_order([1, "a", 2.5], ["a", 2.5])`, true},
		{`in_order([1, 2], [2, 1])`, false},
	}
	env, err := newEnv()
	require.NoError(t, err)
	for _, tc := range cases {
		t.Run(tc.expr, func(t *testing.T) {
			ast, iss := env.Compile(tc.expr)
			require.NoError(t, iss.Err())
			prg, err := env.Program(ast)
			require.NoError(t, err)
			v, _, err := prg.Eval(map[string]any{})
			require.NoError(t, err)
			assert.Equal(t, tc.want, v.Value())
		})
	}
	// a type mismatch is a compile error, not false
	_, iss := env.Compile(`in_order(["a"], "a")`)
	require.Error(t, iss.Err())
}

func TestToolArgs(t *testing.T) {
	deep := strings.Repeat(`{"a":`, 100) + "1" + strings.Repeat("}", 100)
	big := `{"q":"` + strings.Repeat("x", MaxToolArgsBytes) + `"}`
	cases := []struct {
		name  string
		op    string
		attrs map[string]any
		where string // a where over the span; true when it selects it
		err   string // the evaluation error, when one
	}{
		{"GenAI semconv", "execute_tool", map[string]any{"gen_ai.tool.call.arguments": `{"query":"refunds","top_k":3}`}, `span.tool_args.query == "refunds" && span.tool_args.top_k == 3`, ""},
		{"AI SDK", "execute_tool", map[string]any{"ai.toolCall.args": `{"order":"A1"}`}, `span.tool_args.order == "A1"`, ""},
		{"OpenInference tool.parameters", "execute_tool", map[string]any{"tool.parameters": `{"order":"A1"}`}, `span.tool_args["order"] == "A1"`, ""},
		{"OpenInference tool call, encoded twice", "", map[string]any{"tool_call.function.arguments": `"{\"order\":\"A1\"}"`}, `span.tool_args.order == "A1"`, ""},
		{"OpenInference input.value of a TOOL span", "execute_tool", map[string]any{"input.value": `{"city":"Paris"}`}, `span.tool_args.city == "Paris"`, ""},
		{"OpenLLMetry kwargs", "execute_tool", map[string]any{"traceloop.entity.input": `{"args":[],"kwargs":{"city":"Paris"}}`}, `span.tool_args.city == "Paris"`, ""},
		// OpenLLMetry's LangChain.js instrumentation (interop/langchain
		// traceloop) passes the arguments as the one positional argument,
		// itself JSON text; before, tool_args was {"args": [...]}
		{"OpenLLMetry LangChain.js: one positional argument, JSON text", "execute_tool", map[string]any{"traceloop.entity.input": `{"args":["{\"order\":\"A1\"}"]}`}, `span.tool_args.order == "A1"`, ""},
		{"OpenLLMetry: one positional argument, an object", "execute_tool", map[string]any{"traceloop.entity.input": `{"args":[{"order":"A1"}],"kwargs":{}}`}, `span.tool_args.order == "A1"`, ""},
		{"OpenLLMetry: two positional arguments are no map", "execute_tool", map[string]any{"traceloop.entity.input": `{"args":["a","b"]}`}, `span.tool_args.args[1] == "b"`, ""},
		{"nested values and floats", "execute_tool", map[string]any{"gen_ai.tool.call.arguments": `{"filter":{"tags":["a","b"]},"t":0.5}`}, `span.tool_args.filter.tags[1] == "b" && span.tool_args.t == 0.5`, ""},
		{"an attribute map (not text)", "execute_tool", map[string]any{"gen_ai.tool.call.arguments": map[string]any{"q": "x"}}, `span.tool_args.q == "x"`, ""},
		{"has() on a present key", "execute_tool", map[string]any{"gen_ai.tool.call.arguments": `{"q":"x"}`}, `has(span.tool_args.q)`, ""},
		{"absent", "execute_tool", map[string]any{}, `span.tool_args.q == "x"`, "has no tool-call arguments"},
		{"input.value of a chat span is no tool call", "chat", map[string]any{"input.value": `{"q":"x"}`}, `span.tool_args.q == "x"`, "has no tool-call arguments"},
		{"invalid JSON", "execute_tool", map[string]any{"gen_ai.tool.call.arguments": `{"q": `}, `span.tool_args.q == "x"`, "gen_ai.tool.call.arguments is not JSON"},
		{"text after the value", "execute_tool", map[string]any{"gen_ai.tool.call.arguments": `{"q":1} {"q":2}`}, `span.tool_args.q == 1`, "text after the JSON value"},
		{"JSON but a list", "execute_tool", map[string]any{"gen_ai.tool.call.arguments": `[1,2]`}, `span.tool_args.q == "x"`, "not an object (a list)"},
		{"too deep", "execute_tool", map[string]any{"gen_ai.tool.call.arguments": deep}, `span.tool_args.a != null`, "nested more than 64 levels deep"},
		{"too large", "execute_tool", map[string]any{"gen_ai.tool.call.arguments": big}, `span.tool_args.q != ""`, "more than the 1048576 span.tool_args parses"},
		{"a number attribute", "execute_tool", map[string]any{"gen_ai.tool.call.arguments": int64(3)}, `span.tool_args.q == "x"`, "not a JSON object"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			run := span.NewRun([]span.Span{{TraceID: "t", SpanID: "s", Name: "execute_tool x", Operation: tc.op, Tool: "x", StartUnixNano: 1, EndUnixNano: 2, Attrs: span.AttrsOf(tc.attrs)}})
			y := "assertions:\n  - name: x\n    where: '" + tc.where + "'\n    expect: count == 1\n"
			r := evaluate(t, y, run)["x"]
			if tc.err == "" {
				assert.Equal(t, Pass, r.Status, r.Message)
				return
			}
			assert.Equal(t, Error, r.Status, "an error, not false: %s", r.Message)
			assert.Contains(t, r.Message, tc.err)
			assert.Contains(t, r.Message, `span "execute_tool x"`)
			assert.Less(t, len(r.Message), 600, "the message does not carry the content")
		})
	}
}

// FuzzToolArgs: any attribute text is parsed into a map or is an error
// naming the span; never a panic, and never more than the bounds allow.
func FuzzToolArgs(f *testing.F) {
	for _, seed := range []string{`{"q":"x","k":3}`, `"{\"q\":1}"`, `[1]`, `{"a":{"b":[1,2,{"c":null}]}}`, `{"q": `, `1e400`, `{"n":12345678901234567890}`, strings.Repeat("[", 70)} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, text string) {
		for _, key := range []string{"gen_ai.tool.call.arguments", "traceloop.entity.input"} {
			s := &span.Span{Name: "execute_tool x", SpanID: "s", Operation: span.OpExecuteTool, Attrs: span.AttrsOf(map[string]any{key: text})}
			v := toolArgs(s)
			if e, ok := v.(*types.Err); ok {
				if !strings.Contains(e.Error(), `span "execute_tool x" (s)`) {
					t.Fatalf("error without the span: %v", e)
				}
				continue
			}
			if _, ok := v.(traits.Mapper); !ok {
				t.Fatalf("%q: %T, not a map", text, v)
			}
		}
	})
}

// Tool, agent and model names in trace.tools, .agents and .models are
// names, not content: an MCP tool's name is often longer than the 32
// characters content elision keeps, and was shown as
// ["…(36 characters elided; --include-content shows them)"] in every
// message, row and observed value. A name longer than safetext.MaxRunes
// (untrusted span content) is still elided.
func TestTrajectoryLongNamesNotElided(t *testing.T) {
	long := "mcp__filesystem__read_multiple_files"
	huge := strings.Repeat("x", 300)
	run := span.NewRun([]span.Span{
		{TraceID: "t1", SpanID: "a", Name: "invoke_agent a", Operation: span.OpInvokeAgent, Agent: "a", StartUnixNano: 1 * ms, EndUnixNano: 100 * ms},
		{TraceID: "t1", SpanID: "b", ParentSpanID: "a", Name: "execute_tool " + long, Operation: span.OpExecuteTool, Tool: long, StartUnixNano: 2 * ms, EndUnixNano: 10 * ms},
		{TraceID: "t1", SpanID: "c", ParentSpanID: "a", Name: "execute_tool x", Operation: span.OpExecuteTool, Tool: huge, StartUnixNano: 11 * ms, EndUnixNano: 20 * ms},
	})
	r := evaluate(t, "assertions:\n  - name: x\n    each: trace\n    expect: in_order(trace.tools, [\"search\"])\n", run)["x"]
	require.Equal(t, Fail, r.Status, r.Message)
	shown := `trace.tools = ["` + long + `", "…(300 characters elided; --include-content shows them)"]`
	assert.Contains(t, r.Message, shown)
	require.Len(t, r.Rows, 1)
	assert.Contains(t, r.Rows[0].Message, shown)
	require.Len(t, r.Rows[0].Observed, 1)
	assert.Equal(t, []string{long, "…(300 characters elided; --include-content shows them)"}, r.Rows[0].Observed[0].Value)
	assert.NotContains(t, r.Message, huge)
}
