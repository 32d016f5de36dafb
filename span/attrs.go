package span

import (
	"encoding/json"
	"iter"
	"slices"
	"strings"
)

// KeyValue is one attribute: its key and its value (see Span for the
// value types).
type KeyValue struct {
	Key   string
	Value any
}

// Attrs are the attributes of a span or an event: unique keys, in the order
// they were recorded. A key recorded twice (OTLP allows it) appears once,
// at its first position, with its last value — what a Go map built from
// the recorded attributes in order would hold.
//
// Attrs is a slice rather than a map because a million spans carry
// millions of attributes: a slice is one small allocation per span and
// nothing to hash. Lookups scan it (spans carry a few dozen attributes at
// most). The slices the decoders build may share a backing array: do not
// append to them in place.
type Attrs []KeyValue

// Get returns the value of key and whether it is present.
func (a Attrs) Get(key string) (any, bool) {
	for i := range a {
		if a[i].Key == key {
			return a[i].Value, true
		}
	}
	return nil, false
}

// Value returns the value of key, nil when absent (as indexing a map).
func (a Attrs) Value(key string) any {
	v, _ := a.Get(key)
	return v
}

// Has reports whether key is present.
func (a Attrs) Has(key string) bool {
	_, ok := a.Get(key)
	return ok
}

// Len is the number of attributes.
func (a Attrs) Len() int { return len(a) }

// All yields every attribute, in order.
func (a Attrs) All() iter.Seq2[string, any] {
	return func(yield func(string, any) bool) {
		for _, kv := range a {
			if !yield(kv.Key, kv.Value) {
				return
			}
		}
	}
}

// Map returns the attributes as a new Go map; nil when there are none.
func (a Attrs) Map() map[string]any {
	if len(a) == 0 {
		return nil
	}
	m := make(map[string]any, len(a))
	for _, kv := range a {
		m[kv.Key] = kv.Value
	}
	return m
}

// AttrsOf returns the attributes of m, sorted by key; nil when m is nil.
func AttrsOf(m map[string]any) Attrs {
	if m == nil {
		return nil
	}
	a := make(Attrs, 0, len(m))
	for k, v := range m {
		a = append(a, KeyValue{k, v})
	}
	slices.SortFunc(a, func(x, y KeyValue) int { return strings.Compare(x.Key, y.Key) })
	return a
}

// MarshalJSON encodes the attributes as a JSON object with sorted keys
// (null when nil), as encoding/json encodes a map[string]any.
func (a Attrs) MarshalJSON() ([]byte, error) {
	if a == nil {
		return []byte("null"), nil
	}
	if len(a) == 0 {
		return []byte("{}"), nil
	}
	return json.Marshal(a.Map())
}

// UnmarshalJSON decodes a JSON object (keys sorted) or null.
func (a *Attrs) UnmarshalJSON(b []byte) error {
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	*a = AttrsOf(m)
	if m != nil && *a == nil {
		*a = Attrs{}
	}
	return nil
}

// dedupThreshold is the attribute count above which set uses a map to
// find repeated keys instead of scanning.
const dedupThreshold = 16

// attrsBuilder builds Attrs, carving them from shared blocks so that a
// span's attributes cost no allocation of their own.
type attrsBuilder struct {
	block []KeyValue
	seen  map[string]int
	// keys has bit keyBit(k) set for every key k of the Attrs being built:
	// a key whose bit is clear is new, without a scan.
	keys uint64
}

// keyBit is a cheap hash of k to one of 64 bits.
func keyBit(k string) uint64 {
	n := len(k)
	if n == 0 {
		return 1
	}
	return 1 << ((uint(n)*7 ^ uint(k[n-1]) ^ uint(k[n/2])*3) & 63)
}

const attrBlock = 1024

// alloc returns an empty Attrs of capacity n, to fill with add.
func (b *attrsBuilder) alloc(n int) Attrs {
	b.keys = 0
	if n > attrBlock/4 {
		return make(Attrs, 0, n)
	}
	if cap(b.block)-len(b.block) < n {
		b.block = make([]KeyValue, 0, attrBlock)
	}
	l := len(b.block)
	b.block = b.block[:l+n]
	return Attrs(b.block[l : l : l+n])
}

// add appends kv to a (allocated with enough capacity by alloc), replacing
// the value of an earlier equal key instead; dup reports that case.
func (b *attrsBuilder) add(a Attrs, key string, val any) (_ Attrs, dup bool) {
	if len(a) < dedupThreshold {
		if bit := keyBit(key); b.keys&bit == 0 {
			b.keys |= bit
		} else {
			for i := range a {
				if a[i].Key == key {
					a[i].Value = val
					return a, true
				}
			}
		}
		if len(a) == dedupThreshold-1 {
			// the next add switches to the map
			clear(b.seen)
			if b.seen == nil {
				b.seen = make(map[string]int)
			}
			for i, kv := range a {
				b.seen[kv.Key] = i
			}
			b.seen[key] = len(a)
		}
		return append(a, KeyValue{key, val}), false
	}
	if i, ok := b.seen[key]; ok {
		a[i].Value = val
		return a, true
	}
	b.seen[key] = len(a)
	return append(a, KeyValue{key, val}), false
}
