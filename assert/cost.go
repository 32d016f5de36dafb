package assert

import (
	"fmt"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/checker"
	"github.com/google/cel-go/common/types"

	"github.com/llmcheck/llmcheck/span"
)

// The CEL cost limit is enforced before an expression is evaluated: its
// worst-case cost is estimated with the real sizes of the run (how many
// spans and traces, the largest attribute map, the longest document list,
// …), and an expression that could exceed cel_cost_limit is an error
// instead of a hang. Estimating up front, rather than tracking cost while
// evaluating, keeps evaluation linear (cel-go's runtime cost tracker is
// quadratic over long comprehensions).

// sizeBounds are the largest sizes in one run.
type sizeBounds struct {
	spans, traces, attrs, events, docs, traceSpans, str uint64
}

func boundsOf(run *span.Run) sizeBounds {
	b := sizeBounds{spans: uint64(len(run.Spans)), traces: uint64(len(run.Traces)), str: 64}
	for _, s := range run.Spans {
		b.attrs = max(b.attrs, uint64(len(s.Attrs)), uint64(len(s.Resource)))
		b.events = max(b.events, uint64(len(s.Events)))
		b.docs = max(b.docs, uint64(len(s.Documents)))
		b.str = max(b.str, uint64(len(s.Name)), uint64(len(s.Query)))
		for _, e := range s.Events {
			b.attrs = max(b.attrs, uint64(len(e.Attrs)))
		}
	}
	for _, t := range run.Traces {
		b.traceSpans = max(b.traceSpans, uint64(len(t.Spans)))
	}
	return b
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
	est, err := env.EstimateCost(ast, b)
	if err != nil {
		return fmt.Errorf("%s: estimating cost: %v", what, err)
	}
	if est.Max > limit {
		return fmt.Errorf("%s: worst-case cost %d on this run (%d spans, %d traces) exceeds the cost limit %d; simplify the expression (avoid nested comprehensions over spans) or raise cel_cost_limit", what, est.Max, b.spans, b.traces, limit)
	}
	return nil
}
