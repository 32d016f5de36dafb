package assert

import (
	"fmt"
	"reflect"
	"runtime"
	"slices"
	"sync"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/checker"
	"github.com/google/cel-go/common/types"

	"github.com/llmcheck/llmcheck/span"
)

// The CEL cost limit is enforced before an expression is evaluated: its
// worst-case cost is estimated with the real sizes of the run (how many
// spans and traces, the largest attribute map, the longest document list,
// the longest string anywhere in the spans, …), and an expression that could exceed cel_cost_limit is an error
// instead of a hang. Estimating up front, rather than tracking cost while
// evaluating, keeps evaluation linear (cel-go's runtime cost tracker is
// quadratic over long comprehensions).

// sizeBounds are the largest sizes in one run. str is the longest string
// (or bytes value) an expression can read from the run: every string field
// of a span, attribute keys and values (inside arrays and maps too),
// resource attributes, event names and attributes, document ids.
//
// field holds the longest value of each string field by its name (the
// last element of the selection path: name, status_message, query, …),
// so `s.operation == "chat"` over many spans is not bounded by the longest
// prompt in an attribute.
//
// The longest attribute key or value takes a pass over every attribute
// of the run, and only expressions that read attribute values as strings
// need it: lazy computes it on first use (see checkCost); str holds it
// from then on.
type sizeBounds struct {
	spans, traces, attrs, events, docs, traceSpans, str uint64
	field                                               *[nStrFields]uint64
	lazy                                                *lazyStr
}

// lazyStr is the longest attribute key or string value of spans,
// computed once.
type lazyStr struct {
	once  sync.Once
	spans []*span.Span
	v     uint64
}

func (l *lazyStr) get() uint64 {
	l.once.Do(func() {
		parts := 1
		if len(l.spans) >= 64<<10 {
			parts = runtime.GOMAXPROCS(0)
		}
		out := make([]uint64, parts)
		var wg sync.WaitGroup
		for p := range parts {
			wg.Go(func() { out[p] = attrStrings(l.spans[p*len(l.spans)/parts : (p+1)*len(l.spans)/parts]) })
		}
		wg.Wait()
		l.v = slices.Max(out)
	})
	return l.v
}

// String fields of spans, events, documents and traces, by CEL name.
const (
	fName = iota // span, event and trace (root span) name
	fService
	fKind
	fStatus
	fStatusMessage
	fTraceID // span trace_id
	fSpanID
	fParentID
	fScope
	fOperation
	fModel
	fProvider
	fConvention
	fQuery
	fID // document and trace id
	// agent fields (issue #12)
	fAgent
	fTool
	fToolCallID
	fConversation
	nStrFields
)

var strFields = map[string]int{
	"name": fName, "service": fService, "kind": fKind, "status": fStatus, "status_message": fStatusMessage,
	"trace_id": fTraceID, "span_id": fSpanID, "parent_id": fParentID, "scope": fScope, "operation": fOperation,
	"model": fModel, "model_family": fModel, "provider": fProvider, "convention": fConvention, "query": fQuery, "id": fID,
	"agent": fAgent, "tool": fTool, "tool_call_id": fToolCallID, "conversation": fConversation,
}

// unboundedStr stands for a string size boundsOf cannot bound (a value
// nested deeper than maxValueDepth): far beyond any cost limit.
const unboundedStr = 1 << 40

// maxValueDepth bounds the nesting of attribute values boundsOf descends.
const maxValueDepth = 64

func boundsOf(run *span.Run) sizeBounds {
	b := sizeBounds{spans: uint64(len(run.Spans)), traces: uint64(len(run.Traces)), str: 64}
	// The spans in parts, on every core for a large run.
	parts := 1
	if len(run.Spans) >= 64<<10 {
		parts = runtime.GOMAXPROCS(0)
	}
	out := make([]sizeBounds, parts)
	var wg sync.WaitGroup
	for p := range parts {
		wg.Go(func() {
			out[p] = spanBounds(run.Spans[p*len(run.Spans)/parts : (p+1)*len(run.Spans)/parts])
		})
	}
	wg.Wait()
	b.field = new([nStrFields]uint64)
	for _, o := range out {
		b.attrs, b.events, b.docs, b.str = max(b.attrs, o.attrs), max(b.events, o.events), max(b.docs, o.docs), max(b.str, o.str)
		for f := range b.field {
			b.field[f] = max(b.field[f], o.field[f])
		}
	}
	for _, t := range run.Traces {
		b.traceSpans = max(b.traceSpans, uint64(len(t.Spans)))
		b.field[fID] = max(b.field[fID], uint64(len(t.ID)))
	}
	for _, f := range b.field {
		b.str = max(b.str, f)
	}
	b.lazy = &lazyStr{spans: run.Spans}
	return b
}

// spanBounds is the attrs, events, docs and str bounds of spans.
func spanBounds(spans []*span.Span) sizeBounds {
	b := sizeBounds{field: new([nStrFields]uint64)}
	f := b.field
	for _, s := range spans {
		b.attrs = max(b.attrs, uint64(len(s.Attrs)), uint64(len(s.Resource)))
		b.events = max(b.events, uint64(len(s.Events)))
		b.docs = max(b.docs, uint64(len(s.Documents)))
		f[fName] = max(f[fName], uint64(len(s.Name)))
		f[fService] = max(f[fService], uint64(len(s.Service)))
		f[fKind] = max(f[fKind], uint64(len(s.Kind)))
		f[fStatus] = max(f[fStatus], uint64(len(s.Status)))
		f[fStatusMessage] = max(f[fStatusMessage], uint64(len(s.StatusMessage)))
		f[fTraceID] = max(f[fTraceID], uint64(len(s.TraceID)))
		f[fSpanID] = max(f[fSpanID], uint64(len(s.SpanID)))
		f[fParentID] = max(f[fParentID], uint64(len(s.ParentSpanID)))
		f[fScope] = max(f[fScope], uint64(len(s.Scope)))
		f[fOperation] = max(f[fOperation], uint64(len(s.Operation)))
		f[fModel] = max(f[fModel], uint64(len(s.Model)))
		f[fProvider] = max(f[fProvider], uint64(len(s.Provider)))
		f[fConvention] = max(f[fConvention], uint64(len(s.Convention)))
		f[fQuery] = max(f[fQuery], uint64(len(s.Query)))
		f[fAgent] = max(f[fAgent], uint64(len(s.Agent)))
		f[fTool] = max(f[fTool], uint64(len(s.Tool)))
		f[fToolCallID] = max(f[fToolCallID], uint64(len(s.ToolCallID)))
		f[fConversation] = max(f[fConversation], uint64(len(s.Conversation)))
		for i := range s.Events {
			e := &s.Events[i]
			b.attrs = max(b.attrs, uint64(len(e.Attrs)))
			f[fName] = max(f[fName], uint64(len(e.Name)))
		}
		for i := range s.Documents {
			f[fID] = max(f[fID], uint64(len(s.Documents[i].ID)))
		}
	}
	return b
}

// attrStrings is the longest attribute key or string (or bytes) value of
// spans: span, resource and event attributes, nested values included.
func attrStrings(spans []*span.Span) uint64 {
	var m uint64
	var lastRes map[string]any
	for _, s := range spans {
		m = max(m, attrsStr(s.Attrs))
		// Spans of one resource share its map: scan it once in a row.
		if len(s.Resource) > 0 && !sameMap(s.Resource, lastRes) {
			lastRes = s.Resource
			for k, v := range s.Resource {
				m = max(m, uint64(len(k)), valueStr(v, 0))
			}
		}
		for i := range s.Events {
			m = max(m, attrsStr(s.Events[i].Attrs))
		}
	}
	return m
}

func sameMap(a, b map[string]any) bool {
	return b != nil && reflect.ValueOf(a).UnsafePointer() == reflect.ValueOf(b).UnsafePointer()
}

// attrsStr is the longest key or string value of attrs.
func attrsStr(attrs span.Attrs) uint64 {
	var m uint64
	for i := range attrs {
		kv := &attrs[i]
		m = max(m, uint64(len(kv.Key)))
		switch v := kv.Value.(type) {
		case string:
			m = max(m, uint64(len(v)))
		case bool, int64, float64, nil:
		default:
			m = max(m, valueStr(v, 0))
		}
	}
	return m
}

// valueStr is the longest string (or bytes, or map key) in an attribute
// value.
func valueStr(v any, depth int) uint64 {
	if depth > maxValueDepth {
		return unboundedStr
	}
	switch x := v.(type) {
	case string:
		return uint64(len(x))
	case []byte:
		return uint64(len(x))
	case []any:
		var m uint64
		for _, e := range x {
			m = max(m, valueStr(e, depth+1))
		}
		return m
	case map[string]any:
		var m uint64
		for k, e := range x {
			m = max(m, uint64(len(k)), valueStr(e, depth+1))
		}
		return m
	}
	return 0
}

// EstimateSize implements checker.CostEstimator.
func (b sizeBounds) EstimateSize(n checker.AstNode) *checker.SizeEstimate {
	p := n.Path()
	if len(p) == 0 {
		if n.Type() != nil && n.Type().Kind() == types.StringKind {
			return &checker.SizeEstimate{Min: 0, Max: b.str}
		}
		return nil
	}
	max := b.str
	// a string-typed field (attribute values are dyn: they keep b.str)
	if i, ok := strFields[p[len(p)-1]]; ok && len(p) > 1 && b.field != nil && n.Type() != nil && n.Type().Kind() == types.StringKind {
		max = b.field[i]
	}
	switch last := p[len(p)-1]; {
	case len(p) == 1 && p[0] == "spans":
		max = b.spans
	case len(p) == 1 && p[0] == "traces":
		max = b.traces
	case last == "spans":
		max = b.traceSpans
	case last == "attrs" || last == "resource":
		max = b.attrs
	case last == "events":
		max = b.events
	case last == "documents":
		max = b.docs
	}
	return &checker.SizeEstimate{Min: 0, Max: max}
}

// EstimateCallCost implements checker.CostEstimator: the list aggregates
// cost one unit per element.
func (b sizeBounds) EstimateCallCost(function, overloadID string, target *checker.AstNode, args []checker.AstNode) *checker.CallEstimate {
	if aggFuncs[function] && len(args) > 0 {
		size := b.spans
		if cs := args[0].ComputedSize(); cs != nil {
			size = cs.Max
		}
		return &checker.CallEstimate{CostEstimate: checker.CostEstimate{Min: 1, Max: size + 1}}
	}
	return nil
}

// checkCost returns an error when the worst-case cost of ast on a run of
// these sizes exceeds limit.
func checkCost(env *cel.Env, ast *cel.Ast, b sizeBounds, limit uint64, what string) error {
	if ast == nil {
		return nil
	}
	if b.lazy != nil {
		// First with attribute strings unbounded: most expressions do not
		// read them, and then the run's attributes need not be scanned.
		known := b
		known.str, known.lazy = unboundedStr, nil
		est, err := env.EstimateCost(ast, known)
		if err == nil && est.Max <= limit {
			return nil
		}
		b.str, b.lazy = max(b.str, b.lazy.get()), nil
	}
	est, err := env.EstimateCost(ast, b)
	if err != nil {
		return fmt.Errorf("%s: estimating cost: %v", what, err)
	}
	if est.Max > limit {
		return fmt.Errorf("%s: worst-case cost %d on this run (%d spans, %d traces, longest string %d bytes) exceeds the cost limit %d; simplify the expression (avoid nested comprehensions over spans and operations on long strings) or raise cel_cost_limit", what, est.Max, b.spans, b.traces, b.str, limit)
	}
	return nil
}
