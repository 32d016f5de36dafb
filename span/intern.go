package span

import (
	"math"
	"strings"
	"unicode/utf8"
	"unsafe"
)

// interner makes repeated strings (attribute keys, span names, operation,
// model and service names, short attribute values) share one copy, so that
// a million spans hold a few hundred distinct strings instead of millions
// of copies. Its table is bounded: when full it starts over, so unique
// values (response ids) cannot make it grow without limit.
type interner struct {
	strs map[string]string
	// vals holds short string attribute values already boxed in an
	// interface, so storing one in an Attrs map allocates nothing.
	vals map[string]any
	// recent is a direct-mapped cache in front of strs, indexed by a
	// cheap hash of a few bytes: attribute keys and names repeat in every
	// span, and a hit costs one comparison instead of a map lookup.
	recent [256]string
	// recentVals is the same for boxed values.
	recentVals [256]boxedVal
	// ints and floats are direct-mapped caches of boxed numbers: token
	// counts and prices repeat, and a hit boxes without allocating.
	ints   [512]boxedNum
	floats [256]boxedNum

	// arena holds the bytes of strings that do not repeat (span ids, long
	// values), many to an allocation.
	arena []byte
	// anys is the same for the elements of array values.
	anys []any
}

const (
	arenaBlock   = 16 << 10
	maxArenaStr  = 1 << 10
	anyBlock     = 256
	maxArenaAnys = 32
)

// copyStr returns b as a string. The bytes are copied into a block shared
// with other strings, written once and never changed: a span's strings
// cost no allocation of their own (a block is freed when none of its
// strings is referenced).
func (in *interner) copyStr(b []byte) string {
	n := len(b)
	if n == 0 {
		return ""
	}
	if n > maxArenaStr {
		return string(b)
	}
	if cap(in.arena)-len(in.arena) < n {
		in.arena = make([]byte, 0, arenaBlock)
	}
	l := len(in.arena)
	in.arena = append(in.arena, b...)
	return unsafe.String(&in.arena[l], n)
}

// copyAnys returns a copy of vs whose capacity is its length (appending to
// it reallocates), carved from a shared block like copyStr's strings.
func (in *interner) copyAnys(vs []any) []any {
	n := len(vs)
	if n == 0 || n > maxArenaAnys {
		return append(make([]any, 0, n), vs...)
	}
	if cap(in.anys)-len(in.anys) < n {
		in.anys = make([]any, 0, anyBlock)
	}
	l := len(in.anys)
	in.anys = append(in.anys, vs...)
	return in.anys[l : l+n : l+n]
}

type boxedNum struct {
	bits uint64
	v    any
}

// numSlot is the cache index of bits in a table of 1<<n entries.
func numSlot(bits uint64, n uint) uint64 { return (bits * 0x9e3779b97f4a7c15) >> (64 - n) }

// boxedInt returns i in an interface, sharing the box of an equal value
// seen recently.
func (in *interner) boxedInt(i int64) any {
	if uint64(i) < 256 {
		return i // the runtime boxes these without allocating
	}
	e := &in.ints[numSlot(uint64(i), 9)]
	if e.v != nil && e.bits == uint64(i) {
		return e.v
	}
	v := any(i)
	*e = boxedNum{uint64(i), v}
	return v
}

// boxedFloat is boxedInt for a float64 (by its bits: 0 and -0 differ).
func (in *interner) boxedFloat(f float64) any {
	b := math.Float64bits(f)
	e := &in.floats[numSlot(b, 8)]
	if e.v != nil && e.bits == b {
		return e.v
	}
	v := any(f)
	*e = boxedNum{b, v}
	return v
}

type boxedVal struct {
	s string
	v any
}

// slot is the recent-cache index of b (non-empty).
func slot[T string | []byte](b T) uint8 {
	n := len(b)
	return uint8(n*31) ^ b[0] ^ b[n-1]*7 ^ b[n/2]*13 ^ b[n*2/3]*17
}

const (
	maxInterned   = 8192
	maxInternLen  = 64
	maxInternVals = 8192
)

// str returns the shared copy of s.
func (in *interner) str(s string) string {
	if len(s) > maxInternLen || s == "" {
		return s
	}
	h := slot(s)
	if c := in.recent[h]; c == s {
		return c
	}
	c, ok := in.strs[s]
	if !ok {
		c = s
		in.add(s)
	}
	in.recent[h] = c
	return c
}

// bytes returns b as a string, shared when it was seen before.
func (in *interner) bytes(b []byte) string {
	if len(b) > maxInternLen {
		return in.copyStr(b)
	}
	if len(b) == 0 {
		return ""
	}
	h := slot(b)
	if c := in.recent[h]; c == string(b) {
		return c
	}
	c, ok := in.strs[string(b)]
	if !ok {
		c = string(b)
		in.add(c)
	}
	in.recent[h] = c
	return c
}

func (in *interner) add(s string) {
	if in.strs == nil || len(in.strs) >= maxInterned {
		in.strs = make(map[string]string, 64)
	}
	in.strs[s] = s
}

// lower is strings.ToLower, shared.
func (in *interner) lower(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= utf8.RuneSelf || 'A' <= c && c <= 'Z' {
			return in.str(strings.ToLower(s))
		}
	}
	return in.str(s)
}

// boxed returns s boxed in an interface, sharing the box of an equal short
// value seen before.
func (in *interner) boxed(s string) any {
	if len(s) > maxInternLen {
		return s
	}
	if s != "" {
		if r := &in.recentVals[slot(s)]; r.v != nil && r.s == s {
			return r.v
		}
	}
	if v, ok := in.vals[s]; ok {
		if s != "" {
			in.recentVals[slot(s)] = boxedVal{s: s, v: v}
		}
		return v
	}
	if in.vals == nil || len(in.vals) >= maxInternVals {
		in.vals = make(map[string]any, 64)
	}
	var v any = in.str(s)
	in.vals[s] = v
	return v
}

// boxedBytes is boxed for a []byte, copying it only when it is new.
func (in *interner) boxedBytes(b []byte) any {
	if len(b) > maxInternLen {
		return in.copyStr(b)
	}
	if len(b) == 0 {
		return in.boxed("")
	}
	h := slot(b)
	if r := &in.recentVals[h]; r.v != nil && r.s == string(b) {
		return r.v
	}
	v, ok := in.vals[string(b)]
	if !ok {
		v = in.boxed(string(b))
	}
	in.recentVals[h] = boxedVal{s: v.(string), v: v}
	return v
}
