package assert

import (
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
	"github.com/google/cel-go/common/types/traits"

	"github.com/llmcheck/llmcheck/span"
)

// Type names of the CEL objects.
const (
	tSpan      = "llmcheck.Span"
	tTrace     = "llmcheck.Trace"
	tTokens    = "llmcheck.Tokens"
	tLatency   = "llmcheck.Latency"
	tRetrieval = "llmcheck.Retrieval"
	tDocument  = "llmcheck.Document"
	tEvent     = "llmcheck.Event"
)

var (
	spanT      = cel.ObjectType(tSpan)
	traceT     = cel.ObjectType(tTrace)
	tokensT    = cel.ObjectType(tTokens)
	latencyT   = cel.ObjectType(tLatency)
	retrievalT = cel.ObjectType(tRetrieval)
	documentT  = cel.ObjectType(tDocument)
	eventT     = cel.ObjectType(tEvent)
	attrsT     = cel.MapType(cel.StringType, cel.DynType)
)

func errVal(format string, args ...any) ref.Val { return types.NewErr(format, args...) }

func timeVal(ns uint64) ref.Val {
	return types.Timestamp{Time: time.Unix(0, int64(ns)).UTC()}
}

// ---- Span ----

func spanOf(v any) *entry { return v.(*entry) }

var spanObj, tokensObj, latencyObj, retrievalObj, documentObj, eventObj, traceObj *objType

var theProvider *provider

func init() {
	initSpan()
	initTokens()
	initLatency()
	initTTFT()
	initEvals()
	initRetrieval()
	initDocs()
	initTrace()
	initSide()
	theProvider = newProvider(spanObj, traceObj, tokensObj, latencyObj, retrievalObj, documentObj, eventObj, sideObj, ttftObj, evalObj)
}

func initSpan() {
	spanObj = newObjType(tSpan, append([]field{
		field{"name", cel.StringType, func(v any) ref.Val { return types.String(spanOf(v).s.Name) }, "span name"},
		field{"service", cel.StringType, func(v any) ref.Val { return types.String(spanOf(v).s.Service) }, "resource service.name"},
		field{"kind", cel.StringType, func(v any) ref.Val { return types.String(spanOf(v).s.Kind) }, "internal, server, client, producer, consumer, unspecified"},
		field{"status", cel.StringType, func(v any) ref.Val { return types.String(spanOf(v).s.Status) }, "unset, ok, error"},
		field{"status_message", cel.StringType, func(v any) ref.Val { return types.String(spanOf(v).s.StatusMessage) }, "status message"},
		field{"is_error", cel.BoolType, func(v any) ref.Val { return types.Bool(spanOf(v).s.IsError()) }, "status is error"},
		field{"is_root", cel.BoolType, func(v any) ref.Val { return types.Bool(spanOf(v).s.IsRoot()) }, "span has no parent"},
		field{"trace_id", cel.StringType, func(v any) ref.Val { return types.String(spanOf(v).s.TraceID) }, "hex trace id"},
		field{"span_id", cel.StringType, func(v any) ref.Val { return types.String(spanOf(v).s.SpanID) }, "hex span id"},
		field{"parent_id", cel.StringType, func(v any) ref.Val { return types.String(spanOf(v).s.ParentSpanID) }, "hex parent span id, empty for a root"},
		field{"start", cel.TimestampType, func(v any) ref.Val { return timeVal(spanOf(v).s.StartUnixNano) }, "start time"},
		field{"end", cel.TimestampType, func(v any) ref.Val { return timeVal(spanOf(v).s.EndUnixNano) }, "end time"},
		field{"duration_ms", cel.DoubleType, func(v any) ref.Val { return types.Double(spanOf(v).s.DurationMS) }, "duration in milliseconds"},
		field{"attrs", attrsT, func(v any) ref.Val { return newAttrsVal(spanOf(v).s.Attrs) }, "span attributes as recorded"},
		field{"resource", attrsT, func(v any) ref.Val { return types.NewStringInterfaceMap(theProvider, spanOf(v).s.Resource) }, "resource attributes as recorded"},
		field{"scope", cel.StringType, func(v any) ref.Val { return types.String(spanOf(v).s.Scope) }, "instrumentation scope name"},
		field{"events", cel.ListType(eventT), func(v any) ref.Val {
			s := spanOf(v).s
			vals := make([]ref.Val, len(s.Events))
			for i := range s.Events {
				vals[i] = obj{eventObj, &s.Events[i]}
			}
			return types.NewRefValList(theProvider, vals)
		}, "span events"},
		field{"operation", cel.StringType, func(v any) ref.Val { return types.String(spanOf(v).s.Operation) }, "chat, embeddings, retrieval, execute_tool, invoke_agent, …"},
		field{"model", cel.StringType, func(v any) ref.Val { return types.String(spanOf(v).s.Model) }, "response model, else request model"},
		field{"model_family", cel.StringType, func(v any) ref.Val { return types.String(ModelFamily(spanOf(v).s.Model)) }, "model without the version suffix pricing prices across: gpt-4o-mini for gpt-4o-mini-2024-07-18"},
		field{"provider", cel.StringType, func(v any) ref.Val { return types.String(spanOf(v).s.Provider) }, "openai, anthropic, …"},
		field{"convention", cel.StringType, func(v any) ref.Val { return types.String(spanOf(v).s.Convention) }, "gen_ai, openllmetry, openinference"},
		// agent fields (issue #12): empty strings when absent
		field{"agent", cel.StringType, func(v any) ref.Val { return types.String(spanOf(v).s.Agent) }, "agent name, empty when absent"},
		field{"tool", cel.StringType, func(v any) ref.Val { return types.String(spanOf(v).s.Tool) }, "tool name, empty when absent"},
		field{"tool_call_id", cel.StringType, func(v any) ref.Val { return types.String(spanOf(v).s.ToolCallID) }, "tool call id, empty when absent"},
		field{"conversation", cel.StringType, func(v any) ref.Val { return types.String(spanOf(v).s.Conversation) }, "conversation (session) id, empty when absent"},
		field{"tokens", tokensT, func(v any) ref.Val { return obj{tokensObj, spanTokens(spanOf(v).s)} }, "token counts"},
		field{"cost", cel.DoubleType, func(v any) ref.Val {
			e := spanOf(v)
			if e.costErr != nil {
				return errVal("span %q: %v", e.s.Name, e.costErr)
			}
			if !e.costOK {
				return errVal("span %q (%s) reports no tokens and no cost", e.s.Name, e.s.SpanID)
			}
			return types.Double(e.cost)
		}, "USD: reported on the span, else tokens × pricing"},
		field{"documents", cel.ListType(documentT), func(v any) ref.Val {
			s := spanOf(v).s
			vals := make([]ref.Val, len(s.Documents))
			for i := range s.Documents {
				vals[i] = obj{documentObj, &s.Documents[i]}
			}
			return types.NewRefValList(theProvider, vals)
		}, "retrieved documents in rank order"},
		field{"query", cel.StringType, func(v any) ref.Val { return types.String(spanOf(v).s.Query) }, "retrieval query text"},
		field{"repeat", cel.IntType, func(v any) ref.Val {
			s := spanOf(v).s
			n, err := s.Repeat()
			if err != nil {
				return errVal("span %q (%s): %v", s.Name, s.SpanID, err)
			}
			return types.Int(n)
		}, "repetition of llmcheck run --repeat (resource llmcheck.repeat), 0 when absent"},
		field{"evals", cel.ListType(cel.MapType(cel.StringType, cel.DynType)), func(v any) ref.Val { return spanEvalsVal(spanOf(v).s.Evals) }, "evaluation results: {name, score, label, explanation, source}; score is absent (reading it is an error) when the result has none"},
	}, append(spanTTFTFields(), spanTrajectoryFields()...)...)...)
}

// ---- Tokens ----

// tokenVals holds token counts with presence; index order input, output,
// total, cached, cache_write, reasoning.
type tokenVals struct {
	v    [6]int64
	has  [6]bool
	what string     // "span \"chat x\" (id)", or empty for sums
	sp   *span.Span // the span of "what", rendered on first use
	// For sums: ovf[i] says the sum of count i overflowed int64;
	// repeated[i] counts the spans reporting count i that were left out
	// because a descendant reports usage (span.Span.CountsUsage).
	ovf      [6]bool
	neg      [6]bool // a negative count was added (only a baseline file can hold one)
	repeated [6]int
}

// whatText is what, rendered from the span when needed (errors only).
func (t *tokenVals) whatText() string {
	if t.what == "" && t.sp != nil {
		t.what = fmt.Sprintf("span %q (%s)", t.sp.Name, t.sp.SpanID)
	}
	return t.what
}

// String renders the value as fmt did for the struct with its three
// fields v, has and what.
func (t *tokenVals) String() string {
	return fmt.Sprintf("&{%v %v %s}", t.v, t.has, t.whatText())
}

var tokenNames = [6]string{"input", "output", "total", "cached", "cache_write", "reasoning"}

func spanTokens(s *span.Span) *tokenVals {
	t := s.Tokens
	return &tokenVals{
		v:   [6]int64{t.Input, t.Output, t.Total, t.Cached, t.CacheWrite, t.Reasoning},
		has: [6]bool{t.HasInput, t.HasOutput, t.HasTotal, t.HasCached, t.HasCacheWrite, t.HasReasoning},
		sp:  s,
	}
}

// add adds the token counts s reports, if its usage counts in sums
// (span.Span.CountsUsage). A count no span reports stays absent (an
// error, never 0); a sum that overflows int64 is an error.
func (t *tokenVals) add(s *span.Span) {
	tk := &s.Tokens
	if !s.CountsUsage() {
		for i, has := range [6]bool{tk.HasInput, tk.HasOutput, tk.HasTotal, tk.HasCached, tk.HasCacheWrite, tk.HasReasoning} {
			if has {
				t.repeated[i]++
			}
		}
		return
	}
	t.addOne(0, tk.Input, tk.HasInput)
	t.addOne(1, tk.Output, tk.HasOutput)
	t.addOne(2, tk.Total, tk.HasTotal)
	t.addOne(3, tk.Cached, tk.HasCached)
	t.addOne(4, tk.CacheWrite, tk.HasCacheWrite)
	t.addOne(5, tk.Reasoning, tk.HasReasoning)
}

// addOne adds a reported count c (never negative) to sum i.
func (t *tokenVals) addOne(i int, c int64, has bool) {
	if !has {
		return
	}
	t.has[i] = true
	if c < 0 {
		t.neg[i] = true
		return
	}
	sum := t.v[i] + c
	if sum < t.v[i] {
		t.ovf[i] = true
		sum = math.MaxInt64
	}
	t.v[i] = sum
}

func tokenField(i int) field {
	return field{tokenNames[i], cel.IntType, func(v any) ref.Val {
		t := v.(*tokenVals)
		if t.neg[i] {
			return errVal("tokens.%s: a %s token count is negative (a baseline summary holds an impossible value)", tokenNames[i], tokenNames[i])
		}
		if t.ovf[i] {
			return errVal("tokens.%s: the sum over the selected spans overflows a 64-bit integer (a span reports an implausible %s token count)", tokenNames[i], tokenNames[i])
		}
		if !t.has[i] {
			if t.whatText() == "" {
				if t.repeated[i] > 0 {
					return errVal("tokens.%s: no selected span reports %s tokens of its own: the %d selected spans that report them repeat what their descendants report (sums count only the innermost spans that report usage; select those, e.g. the model calls)", tokenNames[i], tokenNames[i], t.repeated[i])
				}
				return errVal("tokens.%s: no selected span reports %s tokens", tokenNames[i], tokenNames[i])
			}
			return errVal("tokens.%s: %s reports no %s tokens", tokenNames[i], t.what, tokenNames[i])
		}
		return types.Int(t.v[i])
	}, tokenNames[i] + " tokens"}
}

func initTokens() {
	tokensObj = newObjType(tTokens, tokenField(0), tokenField(1), tokenField(2), tokenField(3), tokenField(4), tokenField(5))
}

// ---- Latency ----

type latencyVal struct {
	l   Latency
	err error
}

func latencyField(name string, get func(l *Latency) float64) field {
	return field{name, cel.DoubleType, func(v any) ref.Val {
		lv := v.(*latencyVal)
		if lv.err != nil {
			return errVal("latency.%s: %v", name, lv.err)
		}
		return types.Double(get(&lv.l))
	}, name + " of span durations (ms)"}
}

func initLatency() {
	latencyObj = newObjType(tLatency,
		latencyField("p50", func(l *Latency) float64 { return l.P50 }),
		latencyField("p90", func(l *Latency) float64 { return l.P90 }),
		latencyField("p95", func(l *Latency) float64 { return l.P95 }),
		latencyField("p99", func(l *Latency) float64 { return l.P99 }),
		latencyField("min", func(l *Latency) float64 { return l.Min }),
		latencyField("max", func(l *Latency) float64 { return l.Max }),
		latencyField("avg", func(l *Latency) float64 { return l.Avg }),
	)
}

// ---- Retrieval ----

type retrievalVal struct {
	r   Retrieval
	err error
}

func retrievalField(name string, get func(r *Retrieval) float64) field {
	return field{name, cel.DoubleType, func(v any) ref.Val {
		rv := v.(*retrievalVal)
		if rv.err != nil {
			return errVal("retrieval.%s: %v", name, rv.err)
		}
		return types.Double(get(&rv.r))
	}, name + " at k"}
}

func initRetrieval() {
	retrievalObj = newObjType(tRetrieval,
		retrievalField("hit_rate", func(r *Retrieval) float64 { return r.HitRate }),
		retrievalField("mrr", func(r *Retrieval) float64 { return r.MRR }),
		retrievalField("recall", func(r *Retrieval) float64 { return r.Recall }),
		retrievalField("precision", func(r *Retrieval) float64 { return r.Precision }),
		retrievalField("ndcg", func(r *Retrieval) float64 { return r.NDCG }),
		field{"queries", cel.IntType, func(v any) ref.Val { return types.Int(v.(*retrievalVal).r.Queries) }, "queries with ground truth"},
		field{"without_ground_truth", cel.IntType, func(v any) ref.Val { return types.Int(v.(*retrievalVal).r.WithoutGroundTruth) }, "retrieval spans left out"},
		field{"k", cel.IntType, func(v any) ref.Val { return types.Int(v.(*retrievalVal).r.K) }, "the k of the metrics"},
	)
}

// ---- Document, Event ----

func initDocs() {
	documentObj = newObjType(tDocument,
		field{"id", cel.StringType, func(v any) ref.Val { return types.String(v.(*span.Document).ID) }, "document id"},
		field{"score", cel.DoubleType, func(v any) ref.Val {
			d := v.(*span.Document)
			if !d.HasScore {
				return errVal("document %q has no score", d.ID)
			}
			return types.Double(d.Score)
		}, "retrieval score"},
		field{"rank", cel.IntType, func(v any) ref.Val { return types.Int(v.(*span.Document).Rank) }, "1-based rank"},
	)

	eventObj = newObjType(tEvent,
		field{"name", cel.StringType, func(v any) ref.Val { return types.String(v.(*span.Event).Name) }, "event name"},
		field{"time", cel.TimestampType, func(v any) ref.Val { return timeVal(v.(*span.Event).TimeUnixNano) }, "event time"},
		field{"attrs", attrsT, func(v any) ref.Val { return newAttrsVal(v.(*span.Event).Attrs) }, "event attributes"},
	)
}

// ---- Trace ----

func initTrace() {
	traceObj = newObjType(tTrace, append([]field{
		field{"id", cel.StringType, func(v any) ref.Val { return types.String(v.(*traceVal).t.ID) }, "hex trace id"},
		field{"name", cel.StringType, func(v any) ref.Val { return types.String(v.(*traceVal).t.Root.Name) }, "root span name"},
		field{"root", spanT, func(v any) ref.Val { tv := v.(*traceVal); return obj{spanObj, tv.rc.entryOf(tv.t.Root)} }, "root span"},
		field{"duration_ms", cel.DoubleType, func(v any) ref.Val { return types.Double(v.(*traceVal).t.DurationMS) }, "first start to last end (ms)"},
		field{"start", cel.TimestampType, func(v any) ref.Val { return timeVal(v.(*traceVal).t.StartUnixNano) }, "trace start"},
		field{"spans", cel.ListType(spanT), func(v any) ref.Val { return v.(*traceVal).locked((*group).spansList) }, "all spans of the trace"},
		field{"count", cel.IntType, func(v any) ref.Val { return types.Int(len(v.(*traceVal).t.Spans)) }, "number of spans"},
		field{"errors", cel.IntType, func(v any) ref.Val { return types.Int(v.(*traceVal).errors()) }, "spans with error status"},
		field{"tokens", tokensT, func(v any) ref.Val { return obj{tokensObj, v.(*traceVal).tokens()} }, "token totals of the trace"},
		field{"cost", cel.DoubleType, func(v any) ref.Val { return v.(*traceVal).locked((*group).costVal) }, "USD cost of the trace"},
		field{"llm_calls", cel.IntType, func(v any) ref.Val { return types.Int(v.(*traceVal).countOps(llmOps...)) }, "chat/completion spans"},
		field{"tool_calls", cel.IntType, func(v any) ref.Val { return types.Int(v.(*traceVal).countOps(span.OpExecuteTool)) }, "execute_tool spans"},
		field{"retrievals", cel.IntType, func(v any) ref.Val { return types.Int(v.(*traceVal).countOps(span.OpRetrieval)) }, "retrieval spans"},
	}, traceTrajectoryFields()...)...)
}

var llmOps = []string{span.OpChat, span.OpTextCompletion, span.OpGenerateContent}

// ---- functions ----

// numList is the numbers of a list: ints exactly (i) while every element
// is an int, else every element as a double (f).
type numList struct {
	i      []int64
	f      []float64
	allInt bool
	size   int // the list's size, to allocate f once
}

// floats returns the numbers as doubles.
func (n *numList) floats() []float64 {
	if !n.allInt {
		return n.f
	}
	f := make([]float64, len(n.i))
	for k, x := range n.i {
		f[k] = float64(x)
	}
	return f
}

func (n *numList) toFloats() {
	if n.allInt {
		n.f = make([]float64, len(n.i), max(n.size, len(n.i)))
		for k, x := range n.i {
			n.f[k] = float64(x)
		}
		n.i, n.allInt = nil, false
	}
}

func numbers(fn string, l ref.Val) (numList, ref.Val) {
	lister, ok := l.(traits.Lister)
	if !ok {
		return numList{}, errVal("%s: expected a list, got %s", fn, l.Type().TypeName())
	}
	out := numList{allInt: true, size: int(lister.Size().(types.Int))}
	it := lister.Iterator()
	for k := 0; it.HasNext() == types.True; k++ {
		v := it.Next()
		switch x := v.(type) {
		case types.Int:
			if out.allInt {
				if out.i == nil {
					out.i = make([]int64, 0, out.size)
				}
				out.i = append(out.i, int64(x))
			} else {
				out.f = append(out.f, float64(x))
			}
		case types.Uint:
			if out.allInt && uint64(x) <= math.MaxInt64 {
				if out.i == nil {
					out.i = make([]int64, 0, out.size)
				}
				out.i = append(out.i, int64(x))
			} else {
				out.toFloats()
				out.f = append(out.f, float64(x))
			}
		case types.Double:
			out.toFloats()
			out.f = append(out.f, float64(x))
		case *types.Err:
			return numList{}, x
		default:
			return numList{}, errVal("%s: element %d is %s, not a number (convert it with double(...) or int(...))", fn, k, v.Type().TypeName())
		}
	}
	if len(out.i)+len(out.f) == 0 {
		return numList{}, errVal("%s of an empty list: no values to aggregate", fn)
	}
	return out, nil
}

// sumInts adds ints exactly; a sum beyond int64 is an error, never a
// wrapped or rounded value.
func sumInts(xs []int64) ref.Val {
	var s int64
	for _, x := range xs {
		t := s + x
		if (x > 0 && t < s) || (x < 0 && t > s) {
			return errVal("sum: the sum overflows a 64-bit integer")
		}
		s = t
	}
	return types.Int(s)
}

func listFunctions() []cel.EnvOption {
	T := cel.TypeParamType("T")
	listT := cel.ListType(T)
	agg := func(name string, result *cel.Type, fn func(n numList) ref.Val, doc string) cel.EnvOption {
		return cel.Function(name,
			cel.Overload(name+"_list", []*cel.Type{listT}, result,
				cel.UnaryBinding(func(l ref.Val) ref.Val {
					n, err := numbers(name, l)
					if err != nil {
						return err
					}
					return fn(n)
				})),
			cel.FunctionDocs(doc))
	}
	return []cel.EnvOption{
		agg("sum", T, func(n numList) ref.Val {
			if n.allInt {
				return sumInts(n.i)
			}
			var s float64
			for _, x := range n.f {
				s += x
			}
			return types.Double(s)
		}, "sum(list) — sum of a list of numbers (ints exactly; an int sum beyond 64 bits is an error); error on an empty list"),
		agg("avg", cel.DoubleType, func(n numList) ref.Val {
			xs := n.floats()
			var s float64
			for _, x := range xs {
				s += x
			}
			return types.Double(s / float64(len(xs)))
		}, "avg(list) — mean; error on an empty list"),
		agg("min", T, func(n numList) ref.Val {
			if n.allInt {
				return types.Int(slices.Min(n.i))
			}
			m := math.Inf(1)
			for _, x := range n.f {
				m = math.Min(m, x)
			}
			return types.Double(m)
		}, "min(list) — smallest value; error on an empty list"),
		agg("max", T, func(n numList) ref.Val {
			if n.allInt {
				return types.Int(slices.Max(n.i))
			}
			m := math.Inf(-1)
			for _, x := range n.f {
				m = math.Max(m, x)
			}
			return types.Double(m)
		}, "max(list) — largest value; error on an empty list"),
		cel.Function("percentile",
			cel.Overload("percentile_list_double", []*cel.Type{listT, cel.DoubleType}, cel.DoubleType,
				cel.BinaryBinding(func(l, q ref.Val) ref.Val {
					n, err := numbers("percentile", l)
					if err != nil {
						return err
					}
					p, e := Percentile(n.floats(), float64(q.(types.Double)))
					if e != nil {
						return errVal("%v", e)
					}
					return types.Double(p)
				})),
			cel.FunctionDocs("percentile(list, q) — q-quantile (0 ≤ q ≤ 1) by linear interpolation (type 7)")),
	}
}

// newEnv builds a CEL environment with the given variables.
func newEnv(vars ...cel.EnvOption) (*cel.Env, error) {
	opts := []cel.EnvOption{
		cel.CustomTypeProvider(theProvider),
		cel.CustomTypeAdapter(theProvider),
		cel.CrossTypeNumericComparisons(true),
		cel.DefaultUTCTimeZone(true),
		cel.EnableMacroCallTracking(),
	}
	opts = append(opts, listFunctions()...)
	opts = append(opts, trajectoryFunctions()...)
	opts = append(opts, vars...)
	return cel.NewEnv(opts...)
}

func whereEnv() (*cel.Env, error) {
	return newEnv(cel.Variable("span", spanT))
}

// aggregate variables visible to expect.
var aggregateVars = []cel.EnvOption{
	cel.Variable("spans", cel.ListType(spanT)),
	cel.Variable("count", cel.IntType),
	cel.Variable("traces", cel.ListType(traceT)),
	cel.Variable("latency", latencyT),
	cel.Variable("ttft", ttftT),
	cel.Variable("tokens", tokensT),
	cel.Variable("cost", cel.DoubleType),
	cel.Variable("errors", cel.IntType),
	cel.Variable("error_rate", cel.DoubleType),
	cel.Variable("retrieval", retrievalT),
	cel.Variable("evals", evalsT),
}

func expectEnv(eachTrace bool) (*cel.Env, error) {
	vars := append([]cel.EnvOption{}, aggregateVars...)
	if eachTrace {
		vars = append(vars, cel.Variable("trace", traceT))
	}
	return newEnv(vars...)
}

// spanEvalsVal is span.evals: one map per result. A result without a score
// has no "score" key, so reading it is CEL's "no such key" error, never a
// 0 that passes a threshold (has(e.score) tests it).
func spanEvalsVal(evals []span.Eval) ref.Val {
	vals := make([]ref.Val, len(evals))
	for i := range evals {
		e := &evals[i]
		m := map[string]any{
			"name":        e.Name,
			"label":       e.Label,
			"explanation": e.Explanation,
			"source":      e.Source,
		}
		if e.HasScore {
			m["score"] = e.Score
		}
		vals[i] = types.NewStringInterfaceMap(theProvider, m)
	}
	return types.NewRefValList(theProvider, vals)
}
