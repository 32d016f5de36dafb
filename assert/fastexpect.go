package assert

import (
	"math"

	"github.com/google/cel-go/cel"
	celast "github.com/google/cel-go/common/ast"
	"github.com/google/cel-go/common/operators"
	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
	"github.com/google/cel-go/interpreter"
)

// Simple expectations — comparisons of statistics (latency.p95,
// trace.llm_calls, count, cost, …) with literals, combined with &&, || and
// ! — are decided in Go, reading the statistics through the activation and
// the objects' getters as CEL does. As for where predicates the answer is
// true, false or unknown; unknown (a statistic that is an error, a NaN, a
// value of another type) means the CEL program decides. This matters for
// each: trace, where the expectation is evaluated once per trace.

type actPred func(act interpreter.Activation) tri

// compileExpect returns the Go form of an expectation, or nil.
func compileExpect(a *cel.Ast) actPred {
	if a == nil || !goForms {
		return nil
	}
	return compileActPred(a.NativeRep().Expr())
}

// exprPath returns the identifier and fields of a selection chain.
func exprPath(e celast.Expr) (root string, path []string, ok bool) {
	defer func() {
		// spans and traces are lists built on each resolution: never read
		// them here.
		if root == "spans" || root == "traces" {
			root, path, ok = "", nil, false
		}
	}()
	for e.Kind() == celast.SelectKind {
		sel := e.AsSelect()
		if sel.IsTestOnly() {
			return "", nil, false
		}
		path = append([]string{sel.FieldName()}, path...)
		e = sel.Operand()
	}
	if e.Kind() != celast.IdentKind {
		return "", nil, false
	}
	return e.AsIdent(), path, true
}

// readPath resolves root on the activation and follows the fields through
// the objects' getters; err is a getter's error value; ok is false when the
// value cannot be read this way.
func readPath(act interpreter.Activation, root string, path []string) (v ref.Val, err error, ok bool) {
	x, found := act.ResolveName(root)
	if !found {
		return nil, nil, false
	}
	if v, ok = x.(ref.Val); !ok {
		return nil, nil, false
	}
	for _, f := range path {
		ob, isObj := v.(obj)
		if !isObj {
			return nil, nil, false
		}
		get := ob.t.gets[f]
		if get == nil {
			return nil, nil, false
		}
		v = get(ob.v)
		if e, isErr := v.(*types.Err); isErr {
			return nil, e, true
		}
	}
	if e, isErr := v.(*types.Err); isErr {
		return nil, e, true
	}
	return v, nil, true
}

func compileActPred(e celast.Expr) actPred {
	switch e.Kind() {
	case celast.LiteralKind:
		if b, ok := boolLit(e); ok {
			v := triOf(b)
			return func(interpreter.Activation) tri { return v }
		}
		return nil
	case celast.SelectKind, celast.IdentKind:
		root, path, ok := exprPath(e)
		if !ok {
			return nil
		}
		return func(act interpreter.Activation) tri {
			v, err, ok := readPath(act, root, path)
			if !ok || err != nil {
				return triUnknown
			}
			if b, isBool := v.(types.Bool); isBool {
				return triOf(bool(b))
			}
			return triUnknown
		}
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
		l, r := compileActPred(args[0]), compileActPred(args[1])
		if l == nil || r == nil {
			return nil
		}
		// Left to right, stopping where CEL stops, so the statistics
		// computed (and cached in the group) are the same.
		if fn == operators.LogicalAnd {
			return func(act interpreter.Activation) tri {
				a := l(act)
				if a == triFalse {
					return triFalse
				}
				b := r(act)
				if b == triFalse {
					return triFalse
				}
				if a == triTrue && b == triTrue {
					return triTrue
				}
				return triUnknown
			}
		}
		return func(act interpreter.Activation) tri {
			a := l(act)
			if a == triTrue {
				return triTrue
			}
			b := r(act)
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
		p := compileActPred(args[0])
		if p == nil {
			return nil
		}
		return func(act interpreter.Activation) tri {
			switch p(act) {
			case triTrue:
				return triFalse
			case triFalse:
				return triTrue
			}
			return triUnknown
		}
	}
	if _, ok := flipped[fn]; !ok || len(args) != 2 {
		return nil
	}
	lhs, rhs := args[0], args[1]
	if lhs.Kind() == celast.LiteralKind {
		lhs, rhs, fn = rhs, lhs, flipped[fn]
	}
	root, path, ok := exprPath(lhs)
	if !ok {
		return nil
	}
	test := cmpResult(fn)
	eq := fn == operators.Equals || fn == operators.NotEquals
	if s, isStr := stringLit(rhs); isStr {
		if !eq {
			return nil
		}
		want := fn == operators.Equals
		return func(act interpreter.Activation) tri {
			v, err, ok := readPath(act, root, path)
			if !ok || err != nil {
				return triUnknown
			}
			if x, isStr := v.(types.String); isStr {
				return triOf((string(x) == s) == want)
			}
			return triUnknown
		}
	}
	lit, ok := numLiteral(rhs)
	if !ok {
		return nil
	}
	return func(act interpreter.Activation) tri {
		v, err, ok := readPath(act, root, path)
		if !ok || err != nil {
			return triUnknown
		}
		switch x := v.(type) {
		case types.Int:
			if eq && lit.kind != 'i' {
				return triUnknown // equality across types: leave it to CEL
			}
			return triOf(test(lit.cmpInt(int64(x))))
		case types.Double:
			if math.IsNaN(float64(x)) || (eq && lit.kind != 'd') {
				return triUnknown
			}
			return triOf(test(lit.cmpDouble(float64(x))))
		}
		return triUnknown
	}
}
