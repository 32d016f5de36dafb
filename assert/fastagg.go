package assert

import (
	"github.com/google/cel-go/cel"
	celast "github.com/google/cel-go/common/ast"
	"github.com/google/cel-go/common/operators"
	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
	"github.com/google/cel-go/common/types/traits"
	"github.com/google/cel-go/interpreter"
	celparser "github.com/google/cel-go/parser"
)

// Comprehensions over the selected spans (spans.all(s, …), spans.exists(s,
// …), spans.map(s, …)) whose body is simple enough are computed by Go loops
// instead of the CEL interpreter: the program's plan is decorated so that
// the comprehension node first tries its Go form and, when that cannot give
// the answer exactly (an element whose value would be a CEL error, a
// predicate it cannot decide), evaluates the original node. Only
// comprehensions at the top level of an expression (not inside another
// comprehension, where `spans` could be shadowed) are replaced.

// groupVar resolves to the *group an expression is evaluated over; it is
// not a CEL identifier, so expressions cannot name it.
const groupVar = "@llmcheck.group"

// spansFn computes a comprehension over the spans of g; ok is false when
// the CEL node must be evaluated instead.
type spansFn func(g *group) (v ref.Val, ok bool)

// aggDecorator returns a program option replacing the comprehensions of a
// with their Go forms, or nil when there is none.
func aggDecorator(a *cel.Ast) cel.ProgramOption {
	if a == nil {
		return nil
	}
	native := a.NativeRep()
	info := native.SourceInfo()
	fns := map[int64]*goSpans{}
	var walk func(e celast.Expr)
	walk = func(e celast.Expr) {
		switch e.Kind() {
		case celast.ComprehensionKind:
			if f := compileSpansMacro(info, e.ID()); f != nil {
				// The text keys the value in the group, so the expectation
				// and an observed expression compute it once.
				key, err := celparser.Unparse(e, info)
				if err != nil {
					key = ""
				}
				fns[e.ID()] = &goSpans{fn: f, key: key}
			}
			return // do not look inside: names may be shadowed there
		case celast.CallKind:
			call := e.AsCall()
			if call.IsMemberFunction() {
				walk(call.Target())
			}
			for _, arg := range call.Args() {
				walk(arg)
			}
		case celast.SelectKind:
			walk(e.AsSelect().Operand())
		case celast.ListKind:
			for _, el := range e.AsList().Elements() {
				walk(el)
			}
		case celast.MapKind:
			for _, en := range e.AsMap().Entries() {
				walk(en.AsMapEntry().Key())
				walk(en.AsMapEntry().Value())
			}
		case celast.StructKind:
			for _, f := range e.AsStruct().Fields() {
				walk(f.AsStructField().Value())
			}
		}
	}
	walk(native.Expr())
	if len(fns) == 0 {
		return nil
	}
	return cel.CustomDecoratorV2(func(i interpreter.InterpretableV2) (interpreter.InterpretableV2, error) {
		if n, ok := fns[i.ID()]; ok {
			return &goSpans{orig: i, fn: n.fn, key: n.key}, nil
		}
		return i, nil
	})
}

// compileSpansMacro returns the Go form of the comprehension id when it is
// spans.all(v, P), spans.exists(v, P) or spans.map(v, X) with P a predicate
// compilePred covers and X a value spanValue covers.
func compileSpansMacro(info *celast.SourceInfo, id int64) spansFn {
	call, ok := info.GetMacroCall(id)
	if !ok || call.Kind() != celast.CallKind {
		return nil
	}
	c := call.AsCall()
	if !c.IsMemberFunction() || !isVar(c.Target(), "spans") || len(c.Args()) != 2 || c.Args()[0].Kind() != celast.IdentKind {
		return nil
	}
	v := c.Args()[0].AsIdent()
	body := c.Args()[1]
	switch c.FunctionName() {
	case "all", "exists":
		p := compilePred(body, v)
		if p == nil {
			return nil
		}
		// all: false if any element is false (whatever the others give),
		// true if all are true. exists: the converse.
		decisive, rest := triFalse, triTrue
		if c.FunctionName() == "exists" {
			decisive, rest = triTrue, triFalse
		}
		return func(g *group) (ref.Val, bool) {
			unknown := false
			for _, e := range g.spans {
				switch p(e) {
				case decisive:
					return types.Bool(decisive == triTrue), true
				case triUnknown:
					unknown = true
				}
			}
			if unknown {
				return nil, false
			}
			return types.Bool(rest == triTrue), true
		}
	case "map":
		x := spanValue(body, v)
		if x == nil {
			return nil
		}
		return func(g *group) (ref.Val, bool) {
			vals := make([]ref.Val, len(g.spans))
			for i, e := range g.spans {
				val := x(e)
				if val == nil {
					return nil, false
				}
				vals[i] = val
			}
			return types.NewRefValList(theProvider, vals), true
		}
	}
	return nil
}

// spanValue compiles a value of the span v: v.duration_ms, v.cost,
// v.tokens.<name>, v.attrs["key"], each optionally converted with double().
// The closure returns nil where CEL would give an error.
func spanValue(e celast.Expr, v string) func(e *entry) ref.Val {
	if e.Kind() == celast.CallKind && e.AsCall().FunctionName() == "double" {
		call := e.AsCall()
		if call.IsMemberFunction() || len(call.Args()) != 1 {
			return nil
		}
		x := spanValue(call.Args()[0], v)
		if x == nil {
			return nil
		}
		return func(e *entry) ref.Val {
			switch val := x(e).(type) {
			case types.Double:
				return val
			case types.Int, types.Uint, types.String:
				// the conversions of CEL's double() overloads
				if d, ok := val.ConvertToType(types.DoubleType).(types.Double); ok {
					return d
				}
			}
			return nil
		}
	}
	if e.Kind() == celast.CallKind && e.AsCall().FunctionName() == operators.Index {
		call := e.AsCall()
		args := call.Args()
		if len(args) != 2 {
			return nil
		}
		f, ok := spanField(args[0], v)
		key, isStr := stringLit(args[1])
		if !ok || !isStr || (f != "attrs" && f != "resource") {
			return nil
		}
		get := spanObj.gets[f]
		k := types.String(key)
		return func(e *entry) ref.Val {
			m, ok := get(e).(traits.Indexer)
			if !ok {
				return nil
			}
			val := m.Get(k)
			if types.IsError(val) || types.IsUnknown(val) {
				return nil
			}
			return val
		}
	}
	g, ok := numField(e, v)
	if !ok {
		return nil
	}
	if g.isInt {
		return func(e *entry) ref.Val {
			i, ok := g.i(e)
			if !ok {
				return nil
			}
			return types.Int(i)
		}
	}
	if f, _ := spanField(e, v); f == "duration_ms" {
		// a NaN duration is a value, not an error
		return func(e *entry) ref.Val { return types.Double(e.s.DurationMS) }
	}
	return func(e *entry) ref.Val {
		if e.costErr != nil || !e.costOK {
			return nil
		}
		return types.Double(e.cost)
	}
}

// goSpans is a comprehension node with a Go form.
type goSpans struct {
	orig interpreter.InterpretableV2
	fn   spansFn
	key  string
}

func (n *goSpans) ID() int64 { return n.orig.ID() }

func (n *goSpans) try(a interpreter.Activation) (ref.Val, bool) {
	x, found := a.ResolveName(groupVar)
	if !found {
		return nil, false
	}
	g, ok := x.(*group)
	if !ok {
		return nil, false
	}
	if v, ok := g.memo[n.key]; ok && n.key != "" {
		return v, true
	}
	v, ok := n.fn(g)
	if ok && n.key != "" {
		if g.memo == nil {
			g.memo = map[string]ref.Val{}
		}
		g.memo[n.key] = v
	}
	return v, ok
}

func (n *goSpans) Eval(a interpreter.Activation) ref.Val {
	if v, ok := n.try(a); ok {
		return v
	}
	return n.orig.Eval(a)
}

func (n *goSpans) Exec(f *interpreter.ExecutionFrame) ref.Val {
	if v, ok := n.try(f); ok {
		return v
	}
	return n.orig.Exec(f)
}
