package span

import (
	"encoding/binary"
	"encoding/hex"
	"math"
)

// The fast OTLP protobuf path: a wire-format reader for TracesData straight
// into rawSpans. Like the JSON one it takes only what it is sure to read as
// pdata does (every field known, singular fields once, ids of the right
// length, no links, no bytes values) and returns false for anything else.

const (
	wireVarint = 0
	wireI64    = 1
	wireLen    = 2
	wireI32    = 5
)

type protoReader struct {
	b []byte
	i int
}

// next reads a tag. ok is false at the end of the message or on a
// malformed tag (told apart by r.i == len(r.b)).
func (r *protoReader) next() (field uint64, wire uint8, ok bool) {
	if r.i >= len(r.b) {
		return 0, 0, false
	}
	t, n := binary.Uvarint(r.b[r.i:])
	if n <= 0 || t>>3 == 0 || t>>3 > math.MaxInt32 {
		r.i = -1 // malformed
		return 0, 0, false
	}
	r.i += n
	return t >> 3, uint8(t & 7), true
}

func (r *protoReader) done() bool { return r.i == len(r.b) }

func (r *protoReader) varint() (uint64, bool) {
	v, n := binary.Uvarint(r.b[r.i:])
	if n <= 0 {
		return 0, false
	}
	r.i += n
	return v, true
}

func (r *protoReader) fixed64() (uint64, bool) {
	if len(r.b)-r.i < 8 {
		return 0, false
	}
	v := binary.LittleEndian.Uint64(r.b[r.i:])
	r.i += 8
	return v, true
}

func (r *protoReader) fixed32() (uint32, bool) {
	if len(r.b)-r.i < 4 {
		return 0, false
	}
	v := binary.LittleEndian.Uint32(r.b[r.i:])
	r.i += 4
	return v, true
}

// bytes reads a length-delimited field; the slice aliases the input.
func (r *protoReader) bytes() ([]byte, bool) {
	l, ok := r.varint()
	if !ok || l > uint64(len(r.b)-r.i) {
		return nil, false
	}
	b := r.b[r.i : r.i+int(l)]
	r.i += int(l)
	return b, true
}

// fastProto decodes one OTLP protobuf TracesData. ok is false when the
// slow path must decode it.
func (d *Decoder) fastProto(dst []Span, b []byte) ([]Span, bool) {
	r := protoReader{b: b}
	for {
		f, w, ok := r.next()
		if !ok {
			return dst, r.done()
		}
		if f != 1 || w != wireLen {
			return dst, false
		}
		m, ok := r.bytes()
		if !ok {
			return dst, false
		}
		if dst, ok = d.protoResourceSpans(dst, m); !ok {
			return dst, false
		}
	}
}

func (d *Decoder) protoResourceSpans(dst []Span, b []byte) ([]Span, bool) {
	r := protoReader{b: b}
	from := len(dst)
	var resKVs []kv
	var seen uint8
	for {
		f, w, ok := r.next()
		if !ok {
			if !r.done() {
				return dst, false
			}
			break
		}
		if w != wireLen {
			return dst, false
		}
		m, ok := r.bytes()
		if !ok {
			return dst, false
		}
		switch f {
		case 1: // resource
			if seen&1 != 0 {
				return dst, false
			}
			seen |= 1
			if resKVs, ok = d.protoResource(m); !ok {
				return dst, false
			}
		case 2: // scope_spans
			if dst, ok = d.protoScopeSpans(dst, m); !ok {
				return dst, false
			}
		case 3: // schema_url
		default:
			return dst, false
		}
	}
	service, res, ok := d.n.resource(resKVs)
	if !ok {
		return dst, false
	}
	for i := from; i < len(dst); i++ {
		dst[i].Service, dst[i].Resource = service, res
	}
	return dst, true
}

func (d *Decoder) protoResource(b []byte) ([]kv, bool) {
	r := protoReader{b: b}
	var kvs []kv
	for {
		f, w, ok := r.next()
		if !ok {
			return kvs, r.done()
		}
		switch {
		case f == 1 && w == wireLen:
			m, ok := r.bytes()
			if !ok {
				return nil, false
			}
			a, ok := d.protoKV(m, 0)
			if !ok {
				return nil, false
			}
			if a.key == "" {
				d.n.emptyKeys++
				continue
			}
			kvs = append(kvs, a)
		case f == 2 && w == wireVarint:
			if _, ok := r.varint(); !ok {
				return nil, false
			}
		default:
			return nil, false
		}
	}
}

func (d *Decoder) protoScopeSpans(dst []Span, b []byte) ([]Span, bool) {
	r := protoReader{b: b}
	from := len(dst)
	scope := ""
	var seen uint8
	for {
		f, w, ok := r.next()
		if !ok {
			if !r.done() {
				return dst, false
			}
			break
		}
		if w != wireLen {
			return dst, false
		}
		m, ok := r.bytes()
		if !ok {
			return dst, false
		}
		switch f {
		case 1: // scope
			if seen&1 != 0 {
				return dst, false
			}
			seen |= 1
			if scope, ok = d.protoScope(m); !ok {
				return dst, false
			}
		case 2: // spans
			if !d.protoSpan(m) {
				return dst, false
			}
			if dst, ok = d.keep(dst); !ok {
				return dst, false
			}
		case 3: // schema_url
		default:
			return dst, false
		}
	}
	for i := from; i < len(dst); i++ {
		dst[i].Scope = scope
	}
	return dst, true
}

func (d *Decoder) protoScope(b []byte) (string, bool) {
	r := protoReader{b: b}
	name := ""
	var seen uint8
	for {
		f, w, ok := r.next()
		if !ok {
			return name, r.done()
		}
		switch {
		case f == 1 && w == wireLen:
			if seen&1 != 0 {
				return "", false
			}
			seen |= 1
			m, ok := r.bytes()
			if !ok {
				return "", false
			}
			name = d.n.in.bytes(m)
		case f == 2 && w == wireLen:
			if _, ok := r.bytes(); !ok {
				return "", false
			}
		case f == 3 && w == wireLen:
			m, ok := r.bytes()
			if !ok {
				return "", false
			}
			if _, ok := d.protoKV(m, 0); !ok {
				return "", false
			}
		case f == 4 && w == wireVarint:
			if _, ok := r.varint(); !ok {
				return "", false
			}
		default:
			return "", false
		}
	}
}

// protoID formats an id of size bytes (empty: all zero).
func (d *Decoder) protoID(b []byte, size int) (s string, zero, ok bool) {
	if len(b) == 0 {
		return zeroIDs[size], true, true
	}
	if len(b) != size {
		return "", false, false
	}
	zero = true
	for _, c := range b {
		if c != 0 {
			zero = false
			break
		}
	}
	if size == 16 {
		var tid [16]byte
		copy(tid[:], b)
		return d.n.traceID(tid), zero, true
	}
	var buf [16]byte
	hex.Encode(buf[:], b)
	// A parent is often the previous span, or the previous span's parent.
	for _, c := range d.lastSpanIDs {
		if string(buf[:]) == c {
			return c, zero, true
		}
	}
	id := d.n.in.copyStr(buf[:])
	d.lastSpanIDs[d.nextSpanID] = id
	d.nextSpanID = (d.nextSpanID + 1) % len(d.lastSpanIDs)
	return id, zero, true
}

func (d *Decoder) protoSpan(b []byte) bool {
	rs := &d.r
	rs.reset()
	r := protoReader{b: b}
	var seen uint32
	for {
		f, w, ok := r.next()
		if !ok {
			if !r.done() {
				return false
			}
			break
		}
		if f < 32 && f != 9 && f != 11 {
			if seen&(1<<f) != 0 {
				return false
			}
			seen |= 1 << f
		}
		switch {
		case f == 1 && w == wireLen:
			m, ok := r.bytes()
			if !ok {
				return false
			}
			if rs.traceID, _, ok = d.protoID(m, 16); !ok {
				return false
			}
		case f == 2 && w == wireLen:
			m, ok := r.bytes()
			if !ok {
				return false
			}
			if rs.spanID, _, ok = d.protoID(m, 8); !ok {
				return false
			}
		case f == 3 && w == wireLen: // trace_state
			if _, ok := r.bytes(); !ok {
				return false
			}
		case f == 4 && w == wireLen:
			m, ok := r.bytes()
			if !ok {
				return false
			}
			var zero bool
			if rs.parentID, zero, ok = d.protoID(m, 8); !ok {
				return false
			}
			if zero {
				rs.parentID = ""
			}
		case f == 16 && w == wireI32: // flags
			if _, ok := r.fixed32(); !ok {
				return false
			}
		case f == 5 && w == wireLen:
			m, ok := r.bytes()
			if !ok {
				return false
			}
			rs.name = d.n.in.bytes(m)
		case f == 6 && w == wireVarint:
			v, ok := r.varint()
			if !ok {
				return false
			}
			rs.kind = int32(v)
		case f == 7 && w == wireI64:
			if rs.start, ok = r.fixed64(); !ok {
				return false
			}
		case f == 8 && w == wireI64:
			if rs.end, ok = r.fixed64(); !ok {
				return false
			}
		case f == 9 && w == wireLen:
			m, ok := r.bytes()
			if !ok {
				return false
			}
			a, ok := d.protoKV(m, 0)
			if !ok {
				return false
			}
			if a.key == "" {
				rs.emptyKeys++
				continue
			}
			rs.attrs = append(rs.attrs, a)
		case (f == 10 || f == 12 || f == 14) && w == wireVarint: // dropped counts
			if _, ok := r.varint(); !ok {
				return false
			}
		case f == 11 && w == wireLen:
			m, ok := r.bytes()
			if !ok || !d.protoEvent(m) {
				return false
			}
		case f == 15 && w == wireLen:
			m, ok := r.bytes()
			if !ok || !d.protoStatus(m) {
				return false
			}
		default: // links (13), unknown fields, wrong wire types
			return false
		}
	}
	if seen&(1<<1) == 0 {
		rs.traceID = zeroIDs[16]
	}
	if seen&(1<<2) == 0 {
		rs.spanID = zeroIDs[8]
	}
	return true
}

func (d *Decoder) protoStatus(b []byte) bool {
	rs := &d.r
	r := protoReader{b: b}
	var seen uint8
	for {
		f, w, ok := r.next()
		if !ok {
			return r.done()
		}
		switch {
		case f == 2 && w == wireLen:
			if seen&1 != 0 {
				return false
			}
			seen |= 1
			m, ok := r.bytes()
			if !ok {
				return false
			}
			rs.message = d.n.in.bytes(m)
		case f == 3 && w == wireVarint:
			if seen&2 != 0 {
				return false
			}
			seen |= 2
			v, ok := r.varint()
			if !ok {
				return false
			}
			rs.code = int32(v)
		default:
			return false
		}
	}
}

func (d *Decoder) protoEvent(b []byte) bool {
	rs := &d.r
	r := protoReader{b: b}
	ev := rawEvent{from: len(rs.evKVs), to: len(rs.evKVs)}
	var seen uint8
	for {
		f, w, ok := r.next()
		if !ok {
			if !r.done() {
				return false
			}
			break
		}
		switch {
		case f == 1 && w == wireI64:
			if seen&1 != 0 {
				return false
			}
			seen |= 1
			if ev.time, ok = r.fixed64(); !ok {
				return false
			}
		case f == 2 && w == wireLen:
			if seen&2 != 0 {
				return false
			}
			seen |= 2
			m, ok := r.bytes()
			if !ok {
				return false
			}
			ev.name = d.n.in.bytes(m)
		case f == 3 && w == wireLen:
			// attributes of one event are contiguous in evKVs only if
			// no other event's attributes interleave: events are read
			// one at a time, so they are.
			m, ok := r.bytes()
			if !ok {
				return false
			}
			a, ok := d.protoKV(m, 0)
			if !ok {
				return false
			}
			if a.key == "" {
				rs.emptyKeys++
				continue
			}
			rs.evKVs = append(rs.evKVs, a)
			ev.to = len(rs.evKVs)
		case f == 4 && w == wireVarint:
			if _, ok := r.varint(); !ok {
				return false
			}
		default:
			return false
		}
	}
	rs.events = append(rs.events, ev)
	return true
}

func (d *Decoder) protoKV(b []byte, depth int) (kv, bool) {
	r := protoReader{b: b}
	var a kv
	var seen uint8
	for {
		f, w, ok := r.next()
		if !ok {
			return a, r.done()
		}
		if w != wireLen || f < 1 || f > 2 || seen&(1<<f) != 0 {
			return a, false
		}
		seen |= 1 << f
		m, ok := r.bytes()
		if !ok {
			return a, false
		}
		if f == 1 {
			a.key = d.n.in.bytes(m)
		} else if a.val, ok = d.protoAnyValue(m, depth); !ok {
			return a, false
		}
	}
}

func (d *Decoder) protoAnyValue(b []byte, depth int) (any, bool) {
	if depth > maxValueDepth {
		return nil, false
	}
	r := protoReader{b: b}
	f, w, ok := r.next()
	if !ok {
		return nil, r.done() // empty value
	}
	var v any
	switch {
	case f == 1 && w == wireLen:
		m, ok := r.bytes()
		if !ok {
			return nil, false
		}
		v = d.n.in.boxedBytes(m)
	case f == 2 && w == wireVarint:
		x, ok := r.varint()
		if !ok {
			return nil, false
		}
		v = x != 0
	case f == 3 && w == wireVarint:
		x, ok := r.varint()
		if !ok {
			return nil, false
		}
		v = d.n.in.boxedInt(int64(x))
	case f == 4 && w == wireI64:
		x, ok := r.fixed64()
		if !ok {
			return nil, false
		}
		v = d.n.in.boxedFloat(math.Float64frombits(x))
	case f == 5 && w == wireLen:
		m, ok := r.bytes()
		if !ok {
			return nil, false
		}
		if v, ok = d.protoArray(m, depth); !ok {
			return nil, false
		}
	case f == 6 && w == wireLen:
		m, ok := r.bytes()
		if !ok {
			return nil, false
		}
		if v, ok = d.protoKVList(m, depth); !ok {
			return nil, false
		}
	default: // bytes, strindex, unknown
		return nil, false
	}
	// exactly one field
	return v, r.done()
}

func (d *Decoder) protoArray(b []byte, depth int) (any, bool) {
	r := protoReader{b: b}
	// the elements go on a stack shared with the nested arrays, then
	// into a slice of their own
	base := len(d.anys)
	defer func() {
		clear(d.anys[base:])
		d.anys = d.anys[:base]
	}()
	for {
		f, w, ok := r.next()
		if !ok {
			if !r.done() {
				return nil, false
			}
			if len(d.anys) == base {
				return []any{}, true
			}
			return d.n.in.copyAnys(d.anys[base:]), true
		}
		if f != 1 || w != wireLen {
			return nil, false
		}
		m, ok := r.bytes()
		if !ok {
			return nil, false
		}
		v, ok := d.protoAnyValue(m, depth+1)
		if !ok {
			return nil, false
		}
		d.anys = append(d.anys, v)
	}
}

func (d *Decoder) protoKVList(b []byte, depth int) (any, bool) {
	r := protoReader{b: b}
	var kvs []kv
	for {
		f, w, ok := r.next()
		if !ok {
			if !r.done() {
				return nil, false
			}
			break
		}
		if f != 1 || w != wireLen {
			return nil, false
		}
		m, ok := r.bytes()
		if !ok {
			return nil, false
		}
		a, ok := d.protoKV(m, depth+1)
		if !ok {
			return nil, false
		}
		kvs = append(kvs, a)
	}
	m := make(map[string]any, len(kvs))
	for _, a := range kvs {
		m[a.key] = a.val
	}
	if len(m) != len(kvs) {
		return nil, false
	}
	return m, true
}
