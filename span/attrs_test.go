package span

import (
	"encoding/json"
	"fmt"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

func TestAttrsGet(t *testing.T) {
	a := Attrs{{"a", "x"}, {"b", int64(2)}, {"c", nil}}
	for _, tc := range []struct {
		key  string
		want any
		ok   bool
	}{
		{"a", "x", true},
		{"b", int64(2), true},
		{"c", nil, true},
		{"d", nil, false},
		{"", nil, false},
	} {
		v, ok := a.Get(tc.key)
		assert.Equal(t, tc.want, v, tc.key)
		assert.Equal(t, tc.ok, ok, tc.key)
		assert.Equal(t, tc.ok, a.Has(tc.key), tc.key)
		assert.Equal(t, tc.want, a.Value(tc.key), tc.key)
	}
	assert.Equal(t, 3, a.Len())
	assert.Equal(t, map[string]any{"a": "x", "b": int64(2), "c": nil}, a.Map())
	var keys []string
	for k := range a.All() {
		keys = append(keys, k)
	}
	assert.Equal(t, []string{"a", "b", "c"}, keys)

	var none Attrs
	_, ok := none.Get("a")
	assert.False(t, ok)
	assert.Nil(t, none.Map())
	assert.Equal(t, 0, none.Len())
}

func TestAttrsOfAndJSON(t *testing.T) {
	a := AttrsOf(map[string]any{"z": 1.5, "a": "x", "m": true})
	assert.Equal(t, Attrs{{"a", "x"}, {"m", true}, {"z", 1.5}}, a)
	assert.Nil(t, AttrsOf(nil))
	b, err := json.Marshal(struct{ A, N, E Attrs }{a, nil, Attrs{}})
	require.NoError(t, err)
	assert.JSONEq(t, `{"A":{"a":"x","m":true,"z":1.5},"N":null,"E":{}}`, string(b))
	var back struct{ A, N, E Attrs }
	require.NoError(t, json.Unmarshal(b, &back))
	assert.Equal(t, a, back.A)
	assert.Nil(t, back.N)
	assert.Equal(t, Attrs{}, back.E)
}

// TestAttrsBuilder checks the dedup of repeated keys (first position, last
// value: what assigning them to a Go map in order gives) below and above
// the map threshold, and that carved slices do not overlap.
func TestAttrsBuilder(t *testing.T) {
	var b attrsBuilder
	for _, n := range []int{1, 2, dedupThreshold - 1, dedupThreshold, dedupThreshold + 1, 40, attrBlock/4 + 1} {
		for _, repeat := range []int{0, 1, 7} {
			t.Run(fmt.Sprint(n, "/", repeat), func(t *testing.T) {
				// n distinct keys, then the first min(repeat, n) keys again
				rep := min(repeat, n)
				a := b.alloc(n + rep)
				want := map[string]any{}
				var order []string
				for i := range n + rep {
					k := fmt.Sprint("k", i%n)
					var dup bool
					a, dup = b.add(a, k, i)
					_, seen := want[k]
					assert.Equal(t, seen, dup, k)
					if !seen {
						order = append(order, k)
					}
					want[k] = i
				}
				other := b.alloc(3)
				other = append(other, KeyValue{"x", 1}, KeyValue{"y", 2}, KeyValue{"z", 3})
				assert.Equal(t, want, a.Map())
				require.Len(t, a, n)
				for i, k := range order {
					assert.Equal(t, k, a[i].Key)
				}
				assert.Equal(t, Attrs{{"x", 1}, {"y", 2}, {"z", 3}}, other)
			})
		}
	}
}

// TestAttrsDuplicateKeys: a key recorded twice keeps its first position
// and its last value, on every path.
func TestAttrsDuplicateKeys(t *testing.T) {
	const batch = `{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"0102030405060708090a0b0c0d0e0f10","spanId":"0102030405060708","name":"s",` +
		`"attributes":[{"key":"a","value":{"stringValue":"1"}},{"key":"b","value":{"intValue":"2"}},{"key":"a","value":{"stringValue":"3"}}],` +
		`"events":[{"name":"e","attributes":[{"key":"x","value":{"boolValue":true}},{"key":"x","value":{"boolValue":false}}]}]}]}]}]}`
	td, err := (&ptrace.JSONUnmarshaler{}).UnmarshalTraces([]byte(batch))
	require.NoError(t, err)
	require.Equal(t, 3, td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).Attributes().Len(), "pdata keeps both")
	got := FromTracesWarn(nil, td, nil)
	require.Len(t, got, 1)
	assert.Equal(t, Attrs{{"a", "3"}, {"b", int64(2)}}, got[0].Attrs)
	assert.Equal(t, Attrs{{"x", false}}, got[0].Events[0].Attrs)
	d := NewDecoder()
	fast, err := d.DecodeJSON(nil, []byte(batch), nil)
	require.NoError(t, err)
	assert.Equal(t, got, fast)
}

func TestBoxedNumbers(t *testing.T) {
	var in interner
	for round := range 2 {
		for i := int64(-3000); i < 3000; i += 7 {
			assert.Equal(t, any(i), in.boxedInt(i), "round %d", round)
			f := float64(i) / 3
			assert.Equal(t, any(f), in.boxedFloat(f))
		}
	}
	assert.Equal(t, any(int64(-1<<63)), in.boxedInt(-1<<63))
	negZero := math.Copysign(0, -1)
	assert.Equal(t, any(0.0), in.boxedFloat(0))
	assert.True(t, math.Signbit(in.boxedFloat(negZero).(float64)), "-0 is not 0")
	assert.True(t, math.IsNaN(in.boxedFloat(math.NaN()).(float64)))
}
