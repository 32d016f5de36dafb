package assert

import (
	"fmt"
	"reflect"
	"sort"
	"testing"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/llmcheck/llmcheck/span"
)

// TestAttrsVal evaluates expressions over span.Attrs through attrsVal and
// over the equivalent Go map through types.NewStringInterfaceMap (what
// span.attrs used to be): results and errors must be the same.
func TestAttrsVal(t *testing.T) {
	attrs := span.Attrs{
		{Key: "s", Value: "x"}, {Key: "i", Value: int64(42)}, {Key: "d", Value: 1.5}, {Key: "b", Value: true},
		{Key: "by", Value: []byte{1, 2}}, {Key: "arr", Value: []any{"a", int64(1)}},
		{Key: "kv", Value: map[string]any{"k": "v", "n": 2.5}}, {Key: "dotted.key", Value: "y"}, {Key: "nil", Value: nil},
	}
	env, err := cel.NewEnv(
		cel.Variable("a", cel.MapType(cel.StringType, cel.DynType)),
		cel.Variable("e", cel.MapType(cel.StringType, cel.DynType)),
	)
	require.NoError(t, err)
	for _, expr := range []string{
		`"s" in a`, `"missing" in a`, `"dotted.key" in a`,
		`a["s"]`, `a["i"] + 1`, `a["d"] * 2.0`, `a["b"]`, `a["by"]`, `a["arr"][1]`, `a["kv"]["n"]`,
		`a["missing"]`, `a[dyn(1)]`, `dyn(1) in a`, `a["nil"]`,
		`has(a.s)`, `has(a.missing)`, `a.s`, `a.missing`, `a.kv.k`,
		`size(a)`, `a.size()`, `size(e)`,
		`a.all(k, k != "")`, `a.exists(k, a[k] == 42)`, `a.exists_one(k, k == "s")`,
		`a.map(k, k).size()`, `a.filter(k, k.startsWith("d")).size()`,
		`a == a`, `e == {}`, `a == {"s": "x"}`, `{"s": "x"} == a`, `a != e`,
		`type(a) == map`, `dyn(a)["s"]`, `string(a["i"])`,
		`a.exists(k, k == "dotted.key" && a[k] == "y")`,
	} {
		t.Run(expr, func(t *testing.T) {
			ast, iss := env.Compile(expr)
			require.NoError(t, iss.Err())
			prg, err := env.Program(ast)
			require.NoError(t, err)
			eval := func(a, e ref.Val) string {
				out, _, err := prg.Eval(map[string]any{"a": a, "e": e})
				if err != nil {
					return "error: " + err.Error()
				}
				return fmt.Sprintf("%T %v", out, out.Value())
			}
			want := eval(types.NewStringInterfaceMap(theProvider, attrs.Map()), types.NewStringInterfaceMap(theProvider, map[string]any(nil)))
			got := eval(newAttrsVal(attrs), newAttrsVal(nil))
			assert.Equal(t, want, got)
		})
	}

	// the methods the interpreter does not reach above
	m := newAttrsVal(attrs).(attrsVal)
	ref := types.NewStringInterfaceMap(theProvider, attrs.Map())
	assert.Equal(t, ref.Size(), m.Size())
	assert.Equal(t, ref.Type(), m.Type())
	assert.Equal(t, ref.Value(), m.Value())
	assert.Equal(t, types.True, m.Equal(ref))
	assert.Equal(t, types.True, ref.Equal(m))
	assert.Equal(t, types.False, m.Equal(types.String("x")))
	assert.Equal(t, types.MapType, m.ConvertToType(types.TypeType))
	assert.Equal(t, m, m.ConvertToType(types.MapType))
	assert.True(t, types.IsError(m.ConvertToType(types.StringType)))
	assert.True(t, m.IsZeroValue() == false && newAttrsVal(nil).(attrsVal).IsZeroValue())
	for _, typ := range []reflect.Type{reflect.TypeFor[map[string]any](), reflect.TypeFor[any]()} {
		w, werr := ref.ConvertToNative(typ)
		g, gerr := m.ConvertToNative(typ)
		assert.Equal(t, werr, gerr)
		assert.Equal(t, w, g)
	}
	var keys []string
	for it := m.Iterator(); it.HasNext() == types.True; {
		keys = append(keys, string(it.Next().(types.String)))
	}
	sort.Strings(keys)
	var wantKeys []string
	for k := range attrs.Map() {
		wantKeys = append(wantKeys, k)
	}
	sort.Strings(wantKeys)
	assert.Equal(t, wantKeys, keys)
	assert.Equal(t, types.Format(ref), types.Format(m))
	v, found := m.Find(types.Int(1))
	assert.Nil(t, v)
	assert.False(t, found)
}
