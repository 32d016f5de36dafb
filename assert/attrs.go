package assert

import (
	"reflect"

	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
	"github.com/google/cel-go/common/types/traits"

	"github.com/llmcheck/llmcheck/span"
)

// attrsVal is span.Attrs as a CEL map(string, dyn): what
// types.NewStringInterfaceMap gives for the equivalent Go map, without
// building one. Values are converted with theProvider on access.
type attrsVal struct {
	a span.Attrs
}

var (
	_ traits.Mapper   = attrsVal{}
	_ traits.Foldable = attrsVal{}
	_ traits.Zeroer   = attrsVal{}
)

func newAttrsVal(a span.Attrs) ref.Val { return attrsVal{a} }

// asMap is the equivalent CEL map, for the rare operations that need it.
func (m attrsVal) asMap() traits.Mapper {
	return types.NewStringInterfaceMap(theProvider, m.a.Map())
}

// Find returns the value of a string key; (nil, false) for any other key
// or a missing one.
func (m attrsVal) Find(key ref.Val) (ref.Val, bool) {
	k, ok := key.(types.String)
	if !ok {
		return nil, false
	}
	v, found := m.a.Get(string(k))
	if !found {
		return nil, false
	}
	return theProvider.NativeToValue(v), true
}

// Get is Find, with the "no such key" error of CEL maps.
func (m attrsVal) Get(key ref.Val) ref.Val {
	v, found := m.Find(key)
	if !found {
		return types.ValOrErr(v, "no such key: %v", key)
	}
	return v
}

// Contains implements `key in attrs`.
func (m attrsVal) Contains(key ref.Val) ref.Val {
	_, found := m.Find(key)
	return types.Bool(found)
}

// Size is the number of attributes.
func (m attrsVal) Size() ref.Val { return types.Int(len(m.a)) }

// IsZeroValue reports an empty map.
func (m attrsVal) IsZeroValue() bool { return len(m.a) == 0 }

// Iterator iterates over the keys.
func (m attrsVal) Iterator() traits.Iterator {
	keys := make([]string, len(m.a))
	for i, kv := range m.a {
		keys[i] = kv.Key
	}
	return types.NewStringList(theProvider, keys).Iterator()
}

// Fold calls f for each key and value (native Go values, as the Go map's
// Fold does).
func (m attrsVal) Fold(f traits.Folder) {
	for _, kv := range m.a {
		if !f.FoldEntry(kv.Key, kv.Value) {
			break
		}
	}
}

// ConvertToNative converts as the equivalent Go map's CEL value does.
func (m attrsVal) ConvertToNative(typeDesc reflect.Type) (any, error) {
	return m.asMap().ConvertToNative(typeDesc)
}

// ConvertToType converts to map or type.
func (m attrsVal) ConvertToType(typeVal ref.Type) ref.Val {
	switch typeVal {
	case types.MapType:
		return m
	case types.TypeType:
		return types.MapType
	}
	return types.NewErr("type conversion error from '%s' to '%s'", types.MapType, typeVal)
}

// Equal compares with any CEL map, key by key.
func (m attrsVal) Equal(other ref.Val) ref.Val {
	o, ok := other.(traits.Mapper)
	if !ok {
		return types.False
	}
	if m.Size() != o.Size() {
		return types.False
	}
	for _, kv := range m.a {
		ov, found := o.Find(types.String(kv.Key))
		if !found {
			return types.False
		}
		if types.Equal(theProvider.NativeToValue(kv.Value), ov) == types.False {
			return types.False
		}
	}
	return types.True
}

// Type is map.
func (m attrsVal) Type() ref.Type { return types.MapType }

// Value is the attributes as a Go map, as for a CEL map of a Go map.
func (m attrsVal) Value() any { return m.a.Map() }

// String formats as a CEL map.
func (m attrsVal) String() string { return types.Format(m) }
