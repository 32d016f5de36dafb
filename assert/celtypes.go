package assert

import (
	"fmt"
	"reflect"
	"sort"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
	"github.com/google/cel-go/common/types/traits"
)

// The CEL object types llmcheck exposes. Field access goes through Go
// getter functions (no reflection), and a getter may return an error value,
// so a statistic that does not exist (a percentile over no spans, tokens no
// span reported) is an evaluation error rather than a silent zero.

type getter func(v any) ref.Val

type field struct {
	name string
	typ  *cel.Type
	get  getter
	doc  string
}

type objType struct {
	name   string
	typ    *types.Type
	fields map[string]*types.FieldType
	gets   map[string]getter
	names  []string
	list   []field
}

func newObjType(name string, fields ...field) *objType {
	t := &objType{
		name:   name,
		typ:    types.NewObjectType(name, traits.IndexerType|traits.FieldTesterType),
		fields: map[string]*types.FieldType{},
		gets:   map[string]getter{},
		list:   fields,
	}
	for _, f := range fields {
		get := freshErr(f.get)
		t.fields[f.name] = &types.FieldType{
			Type: f.typ,
			IsSet: func(target any) bool {
				v := get(target)
				return !types.IsError(v)
			},
			GetFrom: func(target any) (any, error) {
				v := get(target)
				if e, ok := v.(*types.Err); ok {
					return nil, e
				}
				return v, nil
			},
		}
		t.gets[f.name] = get
		t.names = append(t.names, f.name)
	}
	sort.Strings(t.names)
	return t
}

// freshErr returns get, except that an error it returns is a new one each
// time: a group memoises its values (errors included) and groups are shared
// by the checks evaluated in parallel, while CEL labels an error value with
// the node that produced it (types.LabelErrNode writes into the *types.Err),
// so a memoised error handed to two evaluations was a data race.
func freshErr(get getter) getter {
	return func(v any) ref.Val {
		r := get(v)
		if e, ok := r.(*types.Err); ok {
			return types.NewErrFromString(e.String())
		}
		return r
	}
}

// obj is a value of one of the object types.
type obj struct {
	t *objType
	v any
}

func (o obj) ConvertToNative(typeDesc reflect.Type) (any, error) {
	if reflect.TypeOf(o.v).AssignableTo(typeDesc) {
		return o.v, nil
	}
	return nil, fmt.Errorf("cannot convert %s to %v", o.t.name, typeDesc)
}

func (o obj) ConvertToType(t ref.Type) ref.Val {
	if t == types.TypeType {
		return o.t.typ
	}
	if t.TypeName() == o.t.name {
		return o
	}
	return types.NewErr("type conversion error from '%s' to '%s'", o.t.name, t.TypeName())
}

func (o obj) Equal(other ref.Val) ref.Val {
	if x, ok := other.(obj); ok {
		return types.Bool(x.t == o.t && x.v == o.v)
	}
	return types.False
}

func (o obj) Type() ref.Type { return o.t.typ }
func (o obj) Value() any     { return o.v }

// Get implements traits.Indexer so fields resolve on values typed dyn too.
func (o obj) Get(index ref.Val) ref.Val {
	name, ok := index.(types.String)
	if !ok {
		return types.NewErr("%s has no field %v", o.t.name, index)
	}
	g := o.t.gets[string(name)]
	if g == nil {
		return types.NewErr("%s has no field '%s'", o.t.name, name)
	}
	return g(o.v)
}

// IsSet implements traits.FieldTester (has(x.f) on dyn values).
func (o obj) IsSet(field ref.Val) ref.Val {
	return types.Bool(!types.IsError(o.Get(field)))
}

// provider declares the object types to the CEL type checker and delegates
// everything else to the standard registry.
type provider struct {
	*types.Registry
	objs map[string]*objType
}

func newProvider(objs ...*objType) *provider {
	reg, err := types.NewRegistry()
	if err != nil {
		panic(err) // no types registered: cannot fail
	}
	p := &provider{Registry: reg, objs: map[string]*objType{}}
	for _, o := range objs {
		p.objs[o.name] = o
	}
	return p
}

func (p *provider) FindStructType(name string) (*types.Type, bool) {
	if o, ok := p.objs[name]; ok {
		return types.NewTypeTypeWithParam(o.typ), true
	}
	return p.Registry.FindStructType(name)
}

func (p *provider) FindStructFieldNames(name string) ([]string, bool) {
	if o, ok := p.objs[name]; ok {
		return o.names, true
	}
	return p.Registry.FindStructFieldNames(name)
}

func (p *provider) FindStructFieldType(name, fieldName string) (*types.FieldType, bool) {
	if o, ok := p.objs[name]; ok {
		f, ok := o.fields[fieldName]
		return f, ok
	}
	return p.Registry.FindStructFieldType(name, fieldName)
}

func (p *provider) NewValue(name string, fields map[string]ref.Val) ref.Val {
	if _, ok := p.objs[name]; ok {
		return types.NewErr("%s values cannot be constructed in expressions", name)
	}
	return p.Registry.NewValue(name, fields)
}

// NativeToValue adapts attribute values (map[string]any, []any) cheaply.
func (p *provider) NativeToValue(v any) ref.Val {
	switch x := v.(type) {
	case obj:
		return x
	case map[string]any:
		return types.NewStringInterfaceMap(p, x)
	case []any:
		return types.NewDynamicList(p, x)
	case int:
		return types.Int(x)
	}
	return p.Registry.NativeToValue(v)
}
