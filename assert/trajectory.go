package assert

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
	"github.com/google/cel-go/common/types/traits"

	"github.com/llmcheck/llmcheck/internal/jsondepth"
	"github.com/llmcheck/llmcheck/span"
)

// Agent trajectories (issue #14): trace.tools, trace.agents and
// trace.models, the names of a trace's tool calls, agent invocations and
// model calls in causal order; in_order(list, sub); and span.tool_args,
// the parsed arguments of a tool call.

// trajectory is what trace.tools, trace.agents and trace.models list,
// computed once per trace.
type trajectory struct {
	tools, agents, models []string
}

// trajectoryOf lists the names of t's tool calls (execute_tool spans:
// toolName), agents (invoke_agent spans that name
// an agent) and model calls (chat, text_completion, generate_content:
// the model, empty when the call names none) in causal
// order (span.Run.CausalSteps, the order diff compares structures in):
// by start, an ancestor before its descendants; calls that ran
// concurrently (parallel tool calls) in name order, so that a race
// between them does not change the list.
func trajectoryOf(run *span.Run, t *span.Trace) *trajectory {
	tr := &trajectory{tools: []string{}, agents: []string{}, models: []string{}}
	var tools, agents, models []*span.Span
	for _, s := range t.Spans {
		switch {
		case s.Operation == span.OpExecuteTool:
			tools = append(tools, s)
		case s.Operation == span.OpInvokeAgent && s.Agent != "":
			agents = append(agents, s)
		case isLLMOp(s.Operation):
			models = append(models, s)
		}
	}
	names := func(spans []*span.Span, name func(s *span.Span) string) []string {
		out := make([]string, 0, len(spans))
		run.CausalSteps(t, spans, func(step []*span.Span) {
			if len(step) == 1 {
				out = append(out, name(step[0]))
				return
			}
			for _, i := range stepOrder(run, step, name) {
				out = append(out, name(step[i]))
			}
		})
		return out
	}
	tr.tools = names(tools, toolName)
	tr.agents = names(agents, func(s *span.Span) string { return s.Agent })
	tr.models = names(models, func(s *span.Span) string { return s.Model })
	return tr
}

// stepOrder orders a step of concurrent calls (in causal order) for a
// trajectory: the outermost calls by name, each followed by the calls of
// the step nested in it (a tool called by a sub-agent that runs as a
// tool, concurrently with another tool) in causal order, so that a call
// never comes before the call that contains it.
func stepOrder(run *span.Run, step []*span.Span, name func(s *span.Span) string) []int {
	order := make([]int, len(step))
	for i := range order {
		order[i] = i
	}
	if len(step) < 2 {
		return order
	}
	pos := make(map[*span.Span]int, len(step))
	for i, s := range step {
		pos[s] = i
	}
	head := make([]int, len(step)) // the outermost call of the step containing step[i], or i
	names := make([]string, len(step))
	for i, s := range step {
		head[i] = i
		for cur, d := run.Parent(s), 0; cur != nil && d < 1000; cur, d = run.Parent(cur), d+1 {
			if j, in := pos[cur]; in {
				head[i] = j
			}
		}
		names[i] = name(s)
	}
	sort.SliceStable(order, func(a, b int) bool {
		ha, hb := head[order[a]], head[order[b]]
		if ha != hb {
			if names[ha] != names[hb] {
				return names[ha] < names[hb]
			}
			return ha < hb
		}
		return order[a] < order[b]
	})
	return order
}

// toolName names a tool call: span.tool, else the span name without the
// "execute_tool " the GenAI conventions put before the tool's name
// (OpenLLMetry's LangChain.js tool spans name the tool only there).
func toolName(s *span.Span) string {
	if s.Tool != "" {
		return s.Tool
	}
	if n, ok := strings.CutPrefix(s.Name, span.OpExecuteTool+" "); ok && strings.TrimSpace(n) != "" {
		return n
	}
	return s.Name
}

func isLLMOp(op string) bool {
	for _, o := range llmOps {
		if op == o {
			return true
		}
	}
	return false
}

// traj returns the trace's trajectory, computed on first use.
func (tv *traceVal) traj() *trajectory {
	tv.mu.Lock()
	defer tv.mu.Unlock()
	if tv.trajectory == nil {
		tv.trajectory = trajectoryOf(tv.rc.run, tv.t)
	}
	return tv.trajectory
}

// trajectoryExprs are the observed expressions whose values are
// trajectory names (kept whole in messages, see elideContent).
var trajectoryExprs = map[string]bool{"trace.tools": true, "trace.agents": true, "trace.models": true}

// traceTrajectoryFields are the trace fields of this file.
func traceTrajectoryFields() []field {
	list := cel.ListType(cel.StringType)
	return []field{
		{"tools", list, func(v any) ref.Val {
			return types.NewStringList(theProvider, v.(*traceVal).traj().tools)
		}, "tool names of the execute_tool spans in causal order (concurrent calls in name order)"},
		{"agents", list, func(v any) ref.Val {
			return types.NewStringList(theProvider, v.(*traceVal).traj().agents)
		}, "agent names of the invoke_agent spans that name one, in causal order (an agent before the agents it invokes)"},
		{"models", list, func(v any) ref.Val {
			return types.NewStringList(theProvider, v.(*traceVal).traj().models)
		}, "models of the chat/completion spans in causal order"},
	}
}

// inOrder is in_order(list, sub): sub is a subsequence of list (its
// elements appear in list in the same order, not necessarily next to
// each other). An empty sub is in order in any list.
func inOrder(l, sub ref.Val) ref.Val {
	ll, ok := l.(traits.Lister)
	if !ok {
		return errVal("in_order: expected a list, got %s", l.Type().TypeName())
	}
	sl, ok := sub.(traits.Lister)
	if !ok {
		return errVal("in_order: expected a list as the second argument, got %s", sub.Type().TypeName())
	}
	want := sl.Iterator()
	if want.HasNext() != types.True {
		return types.True
	}
	w := want.Next()
	it := ll.Iterator()
	for it.HasNext() == types.True {
		x := it.Next()
		eq := x.Equal(w)
		if types.IsError(eq) {
			return eq
		}
		if eq != types.True {
			continue
		}
		if want.HasNext() != types.True {
			return types.True
		}
		w = want.Next()
	}
	return types.False
}

func trajectoryFunctions() []cel.EnvOption {
	T := cel.TypeParamType("T")
	return []cel.EnvOption{
		cel.Function("in_order",
			cel.Overload("in_order_list_list", []*cel.Type{cel.ListType(T), cel.ListType(T)}, cel.BoolType,
				cel.BinaryBinding(inOrder)),
			cel.FunctionDocs("in_order(list, sub) — sub is a subsequence of list: its elements appear in list in this order, others may come between (in_order(trace.tools, [\"search_docs\", \"answer\"]))")),
	}
}

// ToolArgsAttrs are the attributes span.tool_args reads, in order of
// preference: the GenAI semantic conventions, the Vercel AI SDK,
// OpenInference (tool.parameters on a TOOL span, as
// @arizeai/openinference-vercel writes it; tool_call.function.arguments
// of a tool call). On a tool span (execute_tool) without any of them,
// OpenInference's input.value and OpenLLMetry's traceloop.entity.input
// (whose "kwargs" are the arguments) are read.
var ToolArgsAttrs = []string{"gen_ai.tool.call.arguments", "ai.toolCall.args", "tool.parameters", "tool_call.function.arguments"}

// MaxToolArgsBytes bounds the JSON text span.tool_args parses, and
// maxToolArgsDepth its nesting: the text is untrusted content.
const (
	MaxToolArgsBytes = 1 << 20
	maxToolArgsDepth = 64
)

// toolArgs parses the tool-call arguments of s into a map; an error when
// s has none, or they are not a JSON object within the bounds.
func toolArgs(s *span.Span) ref.Val {
	key, raw, ok := toolArgsRaw(s)
	if !ok {
		return errVal("span.tool_args: span %q (%s) has no tool-call arguments (%s, or input.value / traceloop.entity.input on a tool span)", s.Name, s.SpanID, strings.Join(ToolArgsAttrs, ", "))
	}
	var v any
	switch x := raw.(type) {
	case map[string]any:
		v = x
	case string:
		var err error
		if v, err = parseArgs(x); err != nil {
			return errVal("span.tool_args: span %q (%s): %s is not JSON: %v", s.Name, s.SpanID, key, err)
		}
		// A JSON string holding the JSON text (arguments encoded twice,
		// as some OpenInference exporters write them).
		if inner, isStr := v.(string); isStr {
			if v2, err := parseArgs(inner); err == nil {
				v = v2
			}
		}
		if key == "traceloop.entity.input" {
			v = traceloopArgs(v)
		}
	default:
		return errVal("span.tool_args: span %q (%s): %s is a %T, not a JSON object", s.Name, s.SpanID, key, raw)
	}
	m, ok := v.(map[string]any)
	if !ok {
		return errVal("span.tool_args: span %q (%s): %s is JSON but not an object (a %s)", s.Name, s.SpanID, key, jsonKind(v))
	}
	return types.NewStringInterfaceMap(theProvider, m)
}

// traceloopArgs picks the arguments out of OpenLLMetry's entity input,
// {"args": [...], "kwargs": {...}}: the keyword arguments when there are
// any, else a single positional argument that is an object or JSON text
// of one (LangChain.js tools get their arguments that way).
func traceloopArgs(v any) any {
	m, isMap := v.(map[string]any)
	if !isMap {
		return v
	}
	if kw, has := m["kwargs"].(map[string]any); has && len(kw) > 0 {
		return kw
	}
	if args, has := m["args"].([]any); has && len(args) == 1 {
		switch a := args[0].(type) {
		case map[string]any:
			return a
		case string:
			if inner, err := parseArgs(a); err == nil {
				if im, ok := inner.(map[string]any); ok {
					return im
				}
			}
		}
	}
	if kw, has := m["kwargs"].(map[string]any); has {
		return kw
	}
	return v
}

func toolArgsRaw(s *span.Span) (key string, raw any, ok bool) {
	for _, k := range ToolArgsAttrs {
		if v, found := s.Attrs.Get(k); found {
			return k, v, true
		}
	}
	if s.Operation == span.OpExecuteTool {
		for _, k := range []string{"input.value", "traceloop.entity.input"} {
			if v, found := s.Attrs.Get(k); found {
				return k, v, true
			}
		}
	}
	return "", nil, false
}

// parseArgs decodes JSON text within MaxToolArgsBytes and
// maxToolArgsDepth; whole numbers become ints.
func parseArgs(text string) (any, error) {
	if len(text) > MaxToolArgsBytes {
		return nil, fmt.Errorf("%d bytes, more than the %d span.tool_args parses", len(text), MaxToolArgsBytes)
	}
	b := []byte(text)
	if err := jsondepth.Check(b, maxToolArgsDepth); err != nil {
		return nil, fmt.Errorf("nested more than %d levels deep", maxToolArgsDepth)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, fmt.Errorf("text after the JSON value")
	}
	return numbersOf(v), nil
}

// numbersOf replaces json.Numbers by int64 (whole numbers that fit) or
// float64.
func numbersOf(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i
		}
		f, _ := x.Float64()
		return f
	case map[string]any:
		for k, e := range x {
			x[k] = numbersOf(e)
		}
	case []any:
		for i, e := range x {
			x[i] = numbersOf(e)
		}
	}
	return v
}

func jsonKind(v any) string {
	switch v.(type) {
	case []any:
		return "list"
	case string:
		return "string"
	case bool:
		return "bool"
	case nil:
		return "null"
	default:
		return "number"
	}
}

// spanTrajectoryFields are the span fields of this file.
func spanTrajectoryFields() []field {
	return []field{
		{"tool_args", attrsT, func(v any) ref.Val { return toolArgs(spanOf(v).s) },
			"the tool call's arguments, parsed from JSON (gen_ai.tool.call.arguments, ai.toolCall.args, tool.parameters, tool_call.function.arguments); an error when absent or not a JSON object"},
	}
}
