package span

import (
	"encoding/binary"
	"math"
	"strconv"
	"unicode/utf8"
)

// The fast OTLP JSON path: a scanner that reads the camelCase shape
// pdata's JSONMarshaler, the Collector and the SDKs write, straight into
// rawSpans. It accepts a strict subset of what ptrace.JSONUnmarshaler
// accepts and returns false for anything else, so the slow path decides
// (and words the error).

type jsonParser struct {
	b   []byte
	i   int
	in  *interner
	buf []byte // unescaped string scratch
	// last trace id read, to share its string with the next span
	lastStr string
	// recent span ids, shared with the parent ids that repeat them
	lastSpanIDs [2]string
	nextSpanID  int
}

func (p *jsonParser) ws() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

// lit consumes s if the input continues with it (no whitespace skipped).
func (p *jsonParser) lit(s string) bool {
	if len(p.b)-p.i >= len(s) && string(p.b[p.i:p.i+len(s)]) == s {
		p.i += len(s)
		return true
	}
	return false
}

// open consumes c (after whitespace).
func (p *jsonParser) open(c byte) bool {
	p.ws()
	if p.i < len(p.b) && p.b[p.i] == c {
		p.i++
		return true
	}
	return false
}

// key reads the next member name of an object. more is false at its end.
// Names with escapes are refused (ok false).
func (p *jsonParser) key(first bool) (key []byte, more, ok bool) {
	p.ws()
	if p.i >= len(p.b) {
		return nil, false, false
	}
	c := p.b[p.i]
	if c == '}' {
		p.i++
		return nil, false, true
	}
	if !first {
		if c != ',' {
			return nil, false, false
		}
		p.i++
		p.ws()
	}
	k, esc, ok := p.rawStr()
	if !ok || esc {
		return nil, false, false
	}
	if !p.open(':') {
		return nil, false, false
	}
	p.ws()
	return k, true, true
}

// elem advances to the next array element. more is false at its end.
func (p *jsonParser) elem(first bool) (more, ok bool) {
	p.ws()
	if p.i >= len(p.b) {
		return false, false
	}
	c := p.b[p.i]
	if c == ']' {
		p.i++
		return false, true
	}
	if !first {
		if c != ',' {
			return false, false
		}
		p.i++
		p.ws()
	}
	return true, true
}

// rawStr reads a string token and returns its raw content (between the
// quotes) and whether it holds escapes. Control characters and invalid
// UTF-8 are refused.
func (p *jsonParser) rawStr() (raw []byte, esc, ok bool) {
	if p.i >= len(p.b) || p.b[p.i] != '"' {
		return nil, false, false
	}
	p.i++
	start := p.i
	ascii := true
	// Eight bytes at a time while none is special: a quote, a backslash,
	// a control character or a non-ASCII byte.
	for p.i+8 <= len(p.b) {
		x := binary.LittleEndian.Uint64(p.b[p.i:])
		if hasSpecial(x) {
			break
		}
		p.i += 8
	}
	for p.i < len(p.b) {
		c := p.b[p.i]
		switch {
		case c == '"':
			raw = p.b[start:p.i]
			p.i++
			if !ascii && !utf8.Valid(raw) {
				return nil, false, false
			}
			return raw, esc, true
		case c == '\\':
			esc = true
			p.i += 2
		case c < 0x20:
			return nil, false, false
		case c >= utf8.RuneSelf:
			ascii = false
			p.i++
		default:
			p.i++
		}
	}
	return nil, false, false
}

const (
	lsb = 0x0101010101010101
	msb = 0x8080808080808080
)

// hasSpecial reports whether any byte of x is '"', '\\', below 0x20 or
// above 0x7f.
func hasSpecial(x uint64) bool {
	q := x ^ (lsb * '"')
	bs := x ^ (lsb * '\\')
	// a zero byte in q or bs, or a byte < 0x20 in x, sets its high bit
	// in (v - lsb*n) &^ v (exact when no byte of v is >= 0x80, and x's
	// high bits are checked directly).
	t := (q - lsb) &^ q
	t |= (bs - lsb) &^ bs
	t |= (x - lsb*0x20) &^ x
	return (t|x)&msb != 0
}

// strBytes reads a string value, unescaped; the bytes are valid until the
// next call.
func (p *jsonParser) strBytes() ([]byte, bool) {
	raw, esc, ok := p.rawStr()
	if !ok {
		return nil, false
	}
	if !esc {
		return raw, true
	}
	return p.unescape(raw)
}

func (p *jsonParser) unescape(raw []byte) ([]byte, bool) {
	out := p.buf[:0]
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if c != '\\' {
			out = append(out, c)
			continue
		}
		i++
		if i >= len(raw) {
			return nil, false
		}
		switch raw[i] {
		case '"', '\\', '/':
			out = append(out, raw[i])
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			if i+5 > len(raw) {
				return nil, false
			}
			r, err := strconv.ParseUint(string(raw[i+1:i+5]), 16, 32)
			if err != nil || r >= 0xd800 && r < 0xe000 {
				return nil, false // surrogates: left to the slow path
			}
			out = utf8.AppendRune(out, rune(r))
			i += 4
		default:
			return nil, false
		}
	}
	p.buf = out
	return out, true
}

// str reads a string value into a new (or interned, when short) string.
func (p *jsonParser) str() (string, bool) {
	b, ok := p.strBytes()
	if !ok {
		return "", false
	}
	return p.in.bytes(b), true
}

// strNoIntern reads a string value that is unlikely to repeat.
func (p *jsonParser) strNoIntern() (string, bool) {
	b, ok := p.strBytes()
	if !ok {
		return "", false
	}
	return string(b), true
}

// skipStr checks a string value that is not kept.
func (p *jsonParser) skipStr() bool {
	_, ok := p.strBytes()
	return ok
}

// number reads a number token: an optional minus, then digits without a
// leading zero, then optionally a fraction. Exponents are refused.
func (p *jsonParser) number() (tok []byte, frac bool, ok bool) {
	start := p.i
	if p.i < len(p.b) && p.b[p.i] == '-' {
		p.i++
	}
	d := p.i
	for p.i < len(p.b) && p.b[p.i] >= '0' && p.b[p.i] <= '9' {
		p.i++
	}
	if p.i == d || p.b[d] == '0' && p.i-d > 1 {
		return nil, false, false
	}
	if p.i < len(p.b) && p.b[p.i] == '.' {
		p.i++
		f := p.i
		for p.i < len(p.b) && p.b[p.i] >= '0' && p.b[p.i] <= '9' {
			p.i++
		}
		if p.i == f {
			return nil, false, false
		}
		frac = true
	}
	if p.i < len(p.b) {
		switch p.b[p.i] {
		case 'e', 'E', '.', '-', '+':
			return nil, false, false
		}
	}
	return p.b[start:p.i], frac, true
}

// uint64Val reads a uint64 as pdata's ReadUint64: a number or a decimal
// string.
func (p *jsonParser) uint64Val(bits int) (uint64, bool) {
	if p.i >= len(p.b) {
		return 0, false
	}
	if p.b[p.i] == '"' {
		b, ok := p.strBytes()
		if !ok {
			return 0, false
		}
		if v, ok := digits(b, 19); ok {
			return v, bits == 64 || v < 1<<bits
		}
		v, err := strconv.ParseUint(string(b), 10, bits)
		return v, err == nil
	}
	tok, frac, ok := p.number()
	if !ok || frac || tok[0] == '-' {
		return 0, false
	}
	if v, ok := digits(tok, 19); ok {
		return v, bits == 64 || v < 1<<bits
	}
	v, err := strconv.ParseUint(string(tok), 10, bits)
	return v, err == nil
}

// digits parses b when it is 1 to max decimal digits (max ≤ 19: no
// overflow); ok is false for anything else, left to strconv.
func digits(b []byte, max int) (v uint64, ok bool) {
	if len(b) == 0 || len(b) > max {
		return 0, false
	}
	for _, c := range b {
		c -= '0'
		if c > 9 {
			return 0, false
		}
		v = v*10 + uint64(c)
	}
	return v, true
}

// int64Val reads an int64 as pdata's ReadInt64.
func (p *jsonParser) int64Val(bits int) (int64, bool) {
	if p.i >= len(p.b) {
		return 0, false
	}
	if p.b[p.i] == '"' {
		if bits != 64 {
			return 0, false // an enum name: slow path
		}
		b, ok := p.strBytes()
		if !ok {
			return 0, false
		}
		if v, ok := digits(b, 18); ok {
			return int64(v), true
		}
		v, err := strconv.ParseInt(string(b), 10, 64)
		return v, err == nil
	}
	tok, frac, ok := p.number()
	if !ok || frac {
		return 0, false
	}
	if v, ok := digits(tok, 18); ok && (bits == 64 || v < 1<<(bits-1)) {
		return int64(v), true
	}
	v, err := strconv.ParseInt(string(tok), 10, bits)
	return v, err == nil
}

// float64Val reads a double as pdata's ReadFloat64. A number token is
// taken only with at most 15 digits, where jsoniter's fast conversion and
// strconv agree exactly.
func (p *jsonParser) float64Val() (float64, bool) {
	if p.i >= len(p.b) {
		return 0, false
	}
	if p.b[p.i] == '"' {
		b, ok := p.strBytes()
		if !ok {
			return 0, false
		}
		v, err := strconv.ParseFloat(string(b), 64)
		return v, err == nil
	}
	tok, _, ok := p.number()
	if !ok {
		return 0, false
	}
	digits := 0
	for _, c := range tok {
		if c >= '0' && c <= '9' {
			digits++
		}
	}
	if digits > 15 {
		return 0, false
	}
	v, err := strconv.ParseFloat(string(tok), 64)
	if err != nil || math.IsInf(v, 0) {
		return 0, false
	}
	return v, true
}

func (p *jsonParser) boolVal() (bool, bool) {
	if len(p.b)-p.i >= 4 && string(p.b[p.i:p.i+4]) == "true" {
		p.i += 4
		return true, true
	}
	if len(p.b)-p.i >= 5 && string(p.b[p.i:p.i+5]) == "false" {
		p.i += 5
		return false, true
	}
	return false, false
}

// hexID reads a trace or span id of size bytes: "" (all zero) or 2×size
// hex digits in either case. It returns the lower-case form, and whether
// the id is all zero.
func (p *jsonParser) hexID(size int) (s string, zero, ok bool) {
	raw, esc, ok := p.rawStr()
	if !ok || esc {
		return "", false, false
	}
	if len(raw) == 0 {
		return zeroIDs[size], true, true
	}
	if len(raw) != 2*size {
		return "", false, false
	}
	// Consecutive spans repeat the trace id, and a parent id is often a
	// recent span id: compared as written (they were checked, and are
	// lower case), they need no second check.
	if size == 16 {
		if string(raw) == p.lastStr {
			return p.lastStr, p.lastStr == zeroIDs32, true
		}
	} else {
		for _, c := range p.lastSpanIDs {
			if string(raw) == c {
				return c, c == zeroIDs16, true
			}
		}
	}
	var buf [32]byte
	zero = true
	for i, c := range raw {
		switch {
		case c >= '0' && c <= '9':
			if c != '0' {
				zero = false
			}
		case c >= 'a' && c <= 'f':
			zero = false
		case c >= 'A' && c <= 'F':
			c += 'a' - 'A'
			zero = false
		default:
			return "", false, false
		}
		buf[i] = c
	}
	h := buf[:len(raw)]
	if size == 16 {
		if string(h) != p.lastStr {
			p.lastStr = p.in.copyStr(h)
		}
		return p.lastStr, zero, true
	}
	// A parent is often the previous span, or the previous span's parent.
	for _, c := range p.lastSpanIDs {
		if string(h) == c {
			return c, zero, true
		}
	}
	id := p.in.copyStr(h)
	p.lastSpanIDs[p.nextSpanID] = id
	p.nextSpanID = (p.nextSpanID + 1) % len(p.lastSpanIDs)
	return id, zero, true
}

var zeroIDs = map[int]string{16: zeroIDs32, 8: zeroIDs16}

const (
	zeroIDs32 = "00000000000000000000000000000000"
	zeroIDs16 = "0000000000000000"
)

// fastJSON decodes one OTLP JSON TracesData. ok is false when the slow
// path must decode it.
func (d *Decoder) fastJSON(dst []Span, b []byte) (out []Span, ok bool) {
	p := &d.j
	p.b, p.i, p.in = b, 0, &d.n.in
	defer func() { p.b = nil }()
	if !p.open('{') {
		return dst, false
	}
	seen := false
	for first := true; ; first = false {
		k, more, ok := p.key(first)
		if !ok {
			return dst, false
		}
		if !more {
			break
		}
		if string(k) != "resourceSpans" || seen {
			return dst, false
		}
		seen = true
		if !p.open('[') {
			return dst, false
		}
		for first := true; ; first = false {
			more, ok := p.elem(first)
			if !ok {
				return dst, false
			}
			if !more {
				break
			}
			if dst, ok = d.jsonResourceSpans(dst); !ok {
				return dst, false
			}
		}
	}
	p.ws()
	return dst, p.i == len(p.b)
}

func (d *Decoder) jsonResourceSpans(dst []Span) ([]Span, bool) {
	p := &d.j
	if !p.open('{') {
		return dst, false
	}
	from := len(dst)
	var resKVs []kv
	var seen uint8
	for first := true; ; first = false {
		k, more, ok := p.key(first)
		if !ok {
			return dst, false
		}
		if !more {
			break
		}
		var bit uint8
		switch string(k) {
		case "resource":
			bit = 1
			if resKVs, ok = d.jsonResource(); !ok {
				return dst, false
			}
		case "scopeSpans":
			bit = 2
			if !p.open('[') {
				return dst, false
			}
			for first := true; ; first = false {
				more, ok := p.elem(first)
				if !ok {
					return dst, false
				}
				if !more {
					break
				}
				if dst, ok = d.jsonScopeSpans(dst); !ok {
					return dst, false
				}
			}
		case "schemaUrl":
			bit = 4
			ok = p.skipStr()
		default:
			return dst, false
		}
		if !ok || seen&bit != 0 {
			return dst, false
		}
		seen |= bit
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

func (d *Decoder) jsonResource() ([]kv, bool) {
	p := &d.j
	if !p.open('{') {
		return nil, false
	}
	var kvs []kv
	var seen uint8
	for first := true; ; first = false {
		k, more, ok := p.key(first)
		if !ok {
			return nil, false
		}
		if !more {
			break
		}
		var bit uint8
		switch string(k) {
		case "attributes":
			bit = 1
			kvs, ok = d.jsonKVs(nil, &d.n.emptyKeys)
		case "droppedAttributesCount":
			bit = 2
			_, ok = p.uint64Val(32)
		default:
			return nil, false
		}
		if !ok || seen&bit != 0 {
			return nil, false
		}
		seen |= bit
	}
	return kvs, true
}

func (d *Decoder) jsonScopeSpans(dst []Span) ([]Span, bool) {
	p := &d.j
	if !p.open('{') {
		return dst, false
	}
	from := len(dst)
	scope := ""
	var seen uint8
	for first := true; ; first = false {
		k, more, ok := p.key(first)
		if !ok {
			return dst, false
		}
		if !more {
			break
		}
		var bit uint8
		switch string(k) {
		case "scope":
			bit = 1
			scope, ok = d.jsonScope()
		case "spans":
			bit = 2
			if !p.open('[') {
				return dst, false
			}
			for first := true; ; first = false {
				more, ok := p.elem(first)
				if !ok {
					return dst, false
				}
				if !more {
					break
				}
				if !d.jsonSpan() {
					return dst, false
				}
				if dst, ok = d.keep(dst); !ok {
					return dst, false
				}
			}
		case "schemaUrl":
			bit = 4
			ok = p.skipStr()
		default:
			return dst, false
		}
		if !ok || seen&bit != 0 {
			return dst, false
		}
		seen |= bit
	}
	for i := from; i < len(dst); i++ {
		dst[i].Scope = scope
	}
	return dst, true
}

func (d *Decoder) jsonScope() (string, bool) {
	p := &d.j
	if !p.open('{') {
		return "", false
	}
	name := ""
	var seen uint8
	for first := true; ; first = false {
		k, more, ok := p.key(first)
		if !ok {
			return "", false
		}
		if !more {
			break
		}
		var bit uint8
		switch string(k) {
		case "name":
			bit = 1
			name, ok = p.str()
		case "version":
			bit = 2
			ok = p.skipStr()
		case "attributes":
			bit = 4
			_, ok = d.jsonKVs(nil, nil)
		case "droppedAttributesCount":
			bit = 8
			_, ok = p.uint64Val(32)
		default:
			return "", false
		}
		if !ok || seen&bit != 0 {
			return "", false
		}
		seen |= bit
	}
	return name, true
}

// jsonSpan reads one span object into d.r.
func (d *Decoder) jsonSpan() bool {
	p := &d.j
	r := &d.r
	r.reset()
	if !p.open('{') {
		return false
	}
	var seen uint32
	for first := true; ; first = false {
		k, more, ok := p.key(first)
		if !ok {
			return false
		}
		if !more {
			break
		}
		var bit uint32
		switch string(k) {
		case "traceId":
			bit = 1
			r.traceID, _, ok = p.hexID(16)
		case "spanId":
			bit = 2
			r.spanID, _, ok = p.hexID(8)
		case "parentSpanId":
			bit = 4
			var zero bool
			r.parentID, zero, ok = p.hexID(8)
			if zero {
				r.parentID = ""
			}
		case "traceState":
			bit = 8
			ok = p.skipStr()
		case "flags":
			bit = 16
			_, ok = p.uint64Val(32)
		case "name":
			bit = 32
			r.name, ok = p.str()
		case "kind":
			bit = 64
			var v int64
			v, ok = p.int64Val(32)
			r.kind = int32(v)
		case "startTimeUnixNano":
			bit = 128
			r.start, ok = p.uint64Val(64)
		case "endTimeUnixNano":
			bit = 256
			r.end, ok = p.uint64Val(64)
		case "attributes":
			bit = 512
			r.attrs, ok = d.jsonKVs(r.attrs[:0], &r.emptyKeys)
		case "droppedAttributesCount":
			bit = 1024
			_, ok = p.uint64Val(32)
		case "events":
			bit = 2048
			ok = d.jsonEvents()
		case "droppedEventsCount":
			bit = 4096
			_, ok = p.uint64Val(32)
		case "links":
			bit = 8192
			// only an empty list: links are left to the slow path
			ok = p.open('[') && p.open(']')
		case "droppedLinksCount":
			bit = 16384
			_, ok = p.uint64Val(32)
		case "status":
			bit = 32768
			ok = d.jsonStatus()
		default:
			return false
		}
		if !ok || seen&bit != 0 {
			return false
		}
		seen |= bit
	}
	if seen&1 == 0 {
		r.traceID = zeroIDs[16]
	}
	if seen&2 == 0 {
		r.spanID = zeroIDs[8]
	}
	return true
}

func (d *Decoder) jsonStatus() bool {
	p := &d.j
	r := &d.r
	if !p.open('{') {
		return false
	}
	var seen uint8
	for first := true; ; first = false {
		k, more, ok := p.key(first)
		if !ok {
			return false
		}
		if !more {
			break
		}
		var bit uint8
		switch string(k) {
		case "message":
			bit = 1
			r.message, ok = p.str()
		case "code":
			bit = 2
			var v int64
			v, ok = p.int64Val(32)
			r.code = int32(v)
		default:
			return false
		}
		if !ok || seen&bit != 0 {
			return false
		}
		seen |= bit
	}
	return true
}

func (d *Decoder) jsonEvents() bool {
	p := &d.j
	r := &d.r
	if !p.open('[') {
		return false
	}
	for first := true; ; first = false {
		more, ok := p.elem(first)
		if !ok {
			return false
		}
		if !more {
			return true
		}
		if !p.open('{') {
			return false
		}
		ev := rawEvent{from: len(r.evKVs), to: len(r.evKVs)}
		var seen uint8
		for first := true; ; first = false {
			k, more, ok := p.key(first)
			if !ok {
				return false
			}
			if !more {
				break
			}
			var bit uint8
			switch string(k) {
			case "timeUnixNano":
				bit = 1
				ev.time, ok = p.uint64Val(64)
			case "name":
				bit = 2
				ev.name, ok = p.str()
			case "attributes":
				bit = 4
				from := len(r.evKVs)
				r.evKVs, ok = d.jsonKVs(r.evKVs, &r.emptyKeys)
				ev.from, ev.to = from, len(r.evKVs)
			case "droppedAttributesCount":
				bit = 8
				_, ok = p.uint64Val(32)
			default:
				return false
			}
			if !ok || seen&bit != 0 {
				return false
			}
			seen |= bit
		}
		r.events = append(r.events, ev)
	}
}

// jsonKVs reads an array of KeyValue, appending to dst. When empty is
// not nil, a KeyValue with an empty key is skipped and counted there.
func (d *Decoder) jsonKVs(dst []kv, empty *int) ([]kv, bool) {
	p := &d.j
	if !p.open('[') {
		return dst, false
	}
	for first := true; ; first = false {
		more, ok := p.elem(first)
		if !ok {
			return dst, false
		}
		if !more {
			return dst, true
		}
		a, ok := d.jsonKV()
		if !ok {
			return dst, false
		}
		if a.key == "" && empty != nil {
			*empty++
			continue
		}
		dst = append(dst, a)
	}
}

func (d *Decoder) jsonKV() (kv, bool) {
	p := &d.j
	var (
		a     kv
		seen  uint8
		first = true
		ok    bool
	)
	// the usual shape first, without a key lookup: {"key":…,"value":…}
	if p.lit(`{"key":`) {
		p.ws()
		if a.key, ok = p.str(); !ok {
			return a, false
		}
		seen, first = 1, false
		if p.lit(`,"value":`) {
			if a.val, ok = d.jsonAnyValue(0); !ok {
				return a, false
			}
			seen |= 2
		}
	} else if !p.open('{') {
		return a, false
	}
	for ; ; first = false {
		k, more, ok := p.key(first)
		if !ok {
			return a, false
		}
		if !more {
			break
		}
		var bit uint8
		switch string(k) {
		case "key":
			bit = 1
			a.key, ok = p.str()
		case "value":
			bit = 2
			a.val, ok = d.jsonAnyValue(0)
		default:
			return a, false
		}
		if !ok || seen&bit != 0 {
			return a, false
		}
		seen |= bit
	}
	return a, true
}

// maxValueDepth bounds nested arrays and maps on the fast path.
const maxValueDepth = 32

// jsonAnyValue reads an AnyValue object into its Go form.
func (d *Decoder) jsonAnyValue(depth int) (any, bool) {
	p := &d.j
	if depth > maxValueDepth {
		return nil, false
	}
	var (
		k  []byte
		ok bool
	)
	// the usual shapes first, without a key lookup
	switch {
	case p.lit(`{"stringValue":`):
		k = litStringValue
		p.ws()
	case p.lit(`{"intValue":`):
		k = litIntValue
		p.ws()
	default:
		if !p.open('{') {
			return nil, false
		}
		var more bool
		if k, more, ok = p.key(true); !ok {
			return nil, false
		}
		if !more {
			return nil, true // {}: an empty value
		}
	}
	var v any
	switch string(k) {
	case "stringValue":
		var b []byte
		if b, ok = p.strBytes(); ok {
			v = p.in.boxedBytes(b)
		}
	case "intValue":
		var i int64
		i, ok = p.int64Val(64)
		v = p.in.boxedInt(i)
	case "doubleValue":
		var f float64
		f, ok = p.float64Val()
		v = p.in.boxedFloat(f)
	case "boolValue":
		var b bool
		b, ok = p.boolVal()
		v = b
	case "arrayValue":
		v, ok = d.jsonArray(depth)
	case "kvlistValue":
		v, ok = d.jsonKVList(depth)
	default:
		return nil, false // bytes, strindex, snake_case: slow path
	}
	if !ok {
		return nil, false
	}
	// exactly one member
	if p.lit("}") {
		return v, true
	}
	if _, more, ok := p.key(false); !ok || more {
		return nil, false
	}
	return v, true
}

var (
	litStringValue = []byte("stringValue")
	litIntValue    = []byte("intValue")
)

func (d *Decoder) jsonArray(depth int) (any, bool) {
	p := &d.j
	if !p.open('{') {
		return nil, false
	}
	k, more, ok := p.key(true)
	if !ok {
		return nil, false
	}
	if !more {
		return []any{}, true
	}
	if string(k) != "values" || !p.open('[') {
		return nil, false
	}
	// the elements go on a stack shared with the nested arrays, then
	// into a slice of their own
	base := len(d.anys)
	defer func() {
		clear(d.anys[base:])
		d.anys = d.anys[:base]
	}()
	for first := true; ; first = false {
		more, ok := p.elem(first)
		if !ok {
			return nil, false
		}
		if !more {
			break
		}
		v, ok := d.jsonAnyValue(depth + 1)
		if !ok {
			return nil, false
		}
		d.anys = append(d.anys, v)
	}
	if _, more, ok := p.key(false); !ok || more {
		return nil, false
	}
	if len(d.anys) == base {
		return []any{}, true
	}
	return p.in.copyAnys(d.anys[base:]), true
}

func (d *Decoder) jsonKVList(depth int) (any, bool) {
	p := &d.j
	if !p.open('{') {
		return nil, false
	}
	k, more, ok := p.key(true)
	if !ok {
		return nil, false
	}
	if !more {
		return map[string]any{}, true
	}
	if string(k) != "values" || !p.open('[') {
		return nil, false
	}
	var kvs []kv
	for first := true; ; first = false {
		more, ok := p.elem(first)
		if !ok {
			return nil, false
		}
		if !more {
			break
		}
		if !p.open('{') {
			return nil, false
		}
		var a kv
		var seen uint8
		for first := true; ; first = false {
			k, more, ok := p.key(first)
			if !ok {
				return nil, false
			}
			if !more {
				break
			}
			var bit uint8
			switch string(k) {
			case "key":
				bit = 1
				a.key, ok = p.str()
			case "value":
				bit = 2
				a.val, ok = d.jsonAnyValue(depth + 1)
			default:
				return nil, false
			}
			if !ok || seen&bit != 0 {
				return nil, false
			}
			seen |= bit
		}
		kvs = append(kvs, a)
	}
	if _, more, ok := p.key(false); !ok || more {
		return nil, false
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
