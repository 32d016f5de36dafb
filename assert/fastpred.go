package assert

import (
	"math"

	"github.com/google/cel-go/cel"
	celast "github.com/google/cel-go/common/ast"
	"github.com/google/cel-go/common/operators"
	"github.com/google/cel-go/common/types"
)

// Simple where predicates (comparisons of span fields with literals, `in`
// lists of literals, &&, ||, !) are compiled to Go closures so that
// selecting spans does not go through the CEL interpreter per span.
//
// A compiled predicate answers true, false or unknown. It answers unknown
// exactly where CEL could give an error (a span without the token count
// compared, a span whose cost cannot be computed, a NaN): the span is then
// evaluated by the CEL program, so values and errors stay those of CEL.
// && and || follow CEL's commutative semantics: false && error is false,
// true || error is true.

type tri int8

const (
	triFalse tri = iota
	triTrue
	triUnknown
)

func triOf(b bool) tri {
	if b {
		return triTrue
	}
	return triFalse
}

type spanPred func(e *entry) tri

// goForms enables the Go forms of where predicates, expectations and span
// comprehensions (compileWhere, compileExpect, withAgg). The tests turn it
// off to compare every result with CEL's alone.
var goForms = true

// compileWhere returns the Go form of a where predicate, or nil when the
// expression uses anything the Go form does not cover.
func compileWhere(a *cel.Ast) spanPred {
	if a == nil || !goForms {
		return nil
	}
	return compilePred(a.NativeRep().Expr(), "span")
}

// string fields of span.
var spanStringFields = map[string]func(e *entry) string{
	"name":           func(e *entry) string { return e.s.Name },
	"service":        func(e *entry) string { return e.s.Service },
	"kind":           func(e *entry) string { return e.s.Kind },
	"status":         func(e *entry) string { return e.s.Status },
	"status_message": func(e *entry) string { return e.s.StatusMessage },
	"trace_id":       func(e *entry) string { return e.s.TraceID },
	"span_id":        func(e *entry) string { return e.s.SpanID },
	"parent_id":      func(e *entry) string { return e.s.ParentSpanID },
	"scope":          func(e *entry) string { return e.s.Scope },
	"operation":      func(e *entry) string { return e.s.Operation },
	"model":          func(e *entry) string { return e.s.Model },
	"model_family":   func(e *entry) string { return ModelFamily(e.s.Model) },
	"provider":       func(e *entry) string { return e.s.Provider },
	"convention":     func(e *entry) string { return e.s.Convention },
	"query":          func(e *entry) string { return e.s.Query },
	// agent fields (issue #12)
	"agent":        func(e *entry) string { return e.s.Agent },
	"tool":         func(e *entry) string { return e.s.Tool },
	"tool_call_id": func(e *entry) string { return e.s.ToolCallID },
	"conversation": func(e *entry) string { return e.s.Conversation },
}

var spanBoolFields = map[string]func(e *entry) bool{
	"is_error": func(e *entry) bool { return e.s.IsError() },
	"is_root":  func(e *entry) bool { return e.s.IsRoot() },
}

// numeric field getters: ok is false where the CEL field is an error.
type numGetter struct {
	isInt bool
	i     func(e *entry) (int64, bool)
	f     func(e *entry) (float64, bool)
}

func tokenGetter(i int) numGetter {
	return numGetter{isInt: true, i: func(e *entry) (int64, bool) {
		t := &e.s.Tokens
		switch i {
		case 0:
			return t.Input, t.HasInput
		case 1:
			return t.Output, t.HasOutput
		case 2:
			return t.Total, t.HasTotal
		case 3:
			return t.Cached, t.HasCached
		case 4:
			return t.CacheWrite, t.HasCacheWrite
		default:
			return t.Reasoning, t.HasReasoning
		}
	}}
}

func numField(e celast.Expr, v string) (numGetter, bool) {
	if e.Kind() != celast.SelectKind || e.AsSelect().IsTestOnly() {
		return numGetter{}, false
	}
	sel := e.AsSelect()
	op := sel.Operand()
	if isVar(op, v) {
		switch sel.FieldName() {
		case "duration_ms":
			return numGetter{f: func(e *entry) (float64, bool) {
				d := e.s.DurationMS
				return d, !math.IsNaN(d)
			}}, true
		case "repeat":
			return numGetter{isInt: true, i: func(e *entry) (int64, bool) {
				n, err := e.s.Repeat()
				return n, err == nil
			}}, true
		case "cost":
			return numGetter{f: func(e *entry) (float64, bool) {
				if e.costErr != nil || !e.costOK || math.IsNaN(e.cost) {
					return 0, false
				}
				return e.cost, true
			}}, true
		}
		return numGetter{}, false
	}
	if op.Kind() == celast.SelectKind && !op.AsSelect().IsTestOnly() && isVar(op.AsSelect().Operand(), v) && op.AsSelect().FieldName() == "tokens" {
		for i, n := range tokenNames {
			if n == sel.FieldName() {
				return tokenGetter(i), true
			}
		}
	}
	return numGetter{}, false
}

// isVar tells whether e is the identifier v (span in a where, the
// iteration variable in a comprehension).
func isVar(e celast.Expr, v string) bool {
	return e.Kind() == celast.IdentKind && e.AsIdent() == v
}

func spanField(e celast.Expr, v string) (string, bool) {
	if e.Kind() != celast.SelectKind || e.AsSelect().IsTestOnly() || !isVar(e.AsSelect().Operand(), v) {
		return "", false
	}
	return e.AsSelect().FieldName(), true
}

func stringLit(e celast.Expr) (string, bool) {
	if e.Kind() != celast.LiteralKind {
		return "", false
	}
	s, ok := e.AsLiteral().(types.String)
	return string(s), ok
}

func boolLit(e celast.Expr) (bool, bool) {
	if e.Kind() != celast.LiteralKind {
		return false, false
	}
	b, ok := e.AsLiteral().(types.Bool)
	return bool(b), ok
}

// numLit is a numeric literal.
type numLit struct {
	kind byte // 'i', 'u', 'd'
	i    int64
	u    uint64
	d    float64
}

func numLiteral(e celast.Expr) (numLit, bool) {
	if e.Kind() != celast.LiteralKind {
		return numLit{}, false
	}
	switch v := e.AsLiteral().(type) {
	case types.Int:
		return numLit{kind: 'i', i: int64(v)}, true
	case types.Uint:
		return numLit{kind: 'u', u: uint64(v)}, true
	case types.Double:
		if math.IsNaN(float64(v)) {
			return numLit{}, false
		}
		return numLit{kind: 'd', d: float64(v)}, true
	}
	return numLit{}, false
}

func cmp3[T int64 | uint64 | float64](a, b T) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// cmpInt compares an int with a literal the way cel-go does.
func (l numLit) cmpInt(i int64) int {
	switch l.kind {
	case 'i':
		return cmp3(i, l.i)
	case 'u':
		if i < 0 || l.u > math.MaxInt64 {
			return -1
		}
		return cmp3(i, int64(l.u))
	default:
		if l.d < math.MinInt64 {
			return 1
		}
		if l.d > math.MaxInt64 {
			return -1
		}
		return cmp3(float64(i), l.d)
	}
}

// cmpDouble compares a (non-NaN) double with a literal the way cel-go does.
func (l numLit) cmpDouble(d float64) int {
	switch l.kind {
	case 'i':
		if d < math.MinInt64 {
			return -1
		}
		if d > math.MaxInt64 {
			return 1
		}
		return cmp3(d, float64(l.i))
	case 'u':
		if d < 0 {
			return -1
		}
		if d > math.MaxUint64 {
			return 1
		}
		return cmp3(d, float64(l.u))
	default:
		return cmp3(d, l.d)
	}
}

// flipped gives the operator with its operands swapped (2 < x is x > 2).
var flipped = map[string]string{
	operators.Less:          operators.Greater,
	operators.LessEquals:    operators.GreaterEquals,
	operators.Greater:       operators.Less,
	operators.GreaterEquals: operators.LessEquals,
	operators.Equals:        operators.Equals,
	operators.NotEquals:     operators.NotEquals,
}

func cmpResult(fn string) func(c int) bool {
	switch fn {
	case operators.Less:
		return func(c int) bool { return c < 0 }
	case operators.LessEquals:
		return func(c int) bool { return c <= 0 }
	case operators.Greater:
		return func(c int) bool { return c > 0 }
	case operators.GreaterEquals:
		return func(c int) bool { return c >= 0 }
	case operators.Equals:
		return func(c int) bool { return c == 0 }
	case operators.NotEquals:
		return func(c int) bool { return c != 0 }
	}
	return nil
}

func compilePred(e celast.Expr, v string) spanPred {
	switch e.Kind() {
	case celast.LiteralKind:
		if b, ok := boolLit(e); ok {
			v := triOf(b)
			return func(*entry) tri { return v }
		}
		return nil
	case celast.SelectKind:
		if f, ok := spanField(e, v); ok {
			if get := spanBoolFields[f]; get != nil {
				return func(e *entry) tri { return triOf(get(e)) }
			}
		}
		return nil
	case celast.CallKind:
	default:
		return nil
	}
	call := e.AsCall()
	if call.IsMemberFunction() {
		return nil
	}
	args := call.Args()
	fn := call.FunctionName()
	switch fn {
	case operators.LogicalAnd, operators.LogicalOr:
		if len(args) != 2 {
			return nil
		}
		l, r := compilePred(args[0], v), compilePred(args[1], v)
		if l == nil || r == nil {
			return nil
		}
		if fn == operators.LogicalAnd {
			return func(e *entry) tri {
				a := l(e)
				if a == triFalse {
					return triFalse
				}
				b := r(e)
				if b == triFalse {
					return triFalse
				}
				if a == triTrue && b == triTrue {
					return triTrue
				}
				return triUnknown
			}
		}
		return func(e *entry) tri {
			a := l(e)
			if a == triTrue {
				return triTrue
			}
			b := r(e)
			if b == triTrue {
				return triTrue
			}
			if a == triFalse && b == triFalse {
				return triFalse
			}
			return triUnknown
		}
	case operators.LogicalNot:
		if len(args) != 1 {
			return nil
		}
		p := compilePred(args[0], v)
		if p == nil {
			return nil
		}
		return func(e *entry) tri {
			switch p(e) {
			case triTrue:
				return triFalse
			case triFalse:
				return triTrue
			}
			return triUnknown
		}
	case operators.In:
		if len(args) != 2 {
			return nil
		}
		f, ok := spanField(args[0], v)
		get := spanStringFields[f]
		if !ok || get == nil || args[1].Kind() != celast.ListKind {
			return nil
		}
		lst := args[1].AsList()
		if len(lst.OptionalIndices()) > 0 {
			return nil
		}
		var vals []string
		for _, el := range lst.Elements() {
			s, ok := stringLit(el)
			if !ok {
				return nil
			}
			vals = append(vals, s)
		}
		return func(e *entry) tri {
			v := get(e)
			for _, x := range vals {
				if v == x {
					return triTrue
				}
			}
			return triFalse
		}
	}
	if _, ok := flipped[fn]; !ok || len(args) != 2 {
		return nil
	}
	lhs, rhs := args[0], args[1]
	if lhs.Kind() == celast.LiteralKind {
		lhs, rhs, fn = rhs, lhs, flipped[fn]
	}
	test := cmpResult(fn)
	eq := fn == operators.Equals || fn == operators.NotEquals
	// string and bool fields: equality with a literal only.
	if f, ok := spanField(lhs, v); ok && eq {
		want := fn == operators.Equals
		if get := spanStringFields[f]; get != nil {
			lit, ok := stringLit(rhs)
			if !ok {
				return nil
			}
			return func(e *entry) tri { return triOf((get(e) == lit) == want) }
		}
		if get := spanBoolFields[f]; get != nil {
			lit, ok := boolLit(rhs)
			if !ok {
				return nil
			}
			return func(e *entry) tri { return triOf((get(e) == lit) == want) }
		}
	}
	g, ok := numField(lhs, v)
	if !ok {
		return nil
	}
	lit, ok := numLiteral(rhs)
	if !ok {
		return nil
	}
	if g.isInt {
		return func(e *entry) tri {
			v, ok := g.i(e)
			if !ok {
				return triUnknown
			}
			return triOf(test(lit.cmpInt(v)))
		}
	}
	return func(e *entry) tri {
		v, ok := g.f(e)
		if !ok {
			return triUnknown
		}
		return triOf(test(lit.cmpDouble(v)))
	}
}
