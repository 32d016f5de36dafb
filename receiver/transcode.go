package receiver

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"math"
	"strconv"
)

// This file transcodes an OTLP/protobuf ExportTraceServiceRequest (or
// TracesData: same wire format) straight to the OTLP JSON TracesData that
// ptrace.JSONMarshaler writes for ptrace.ProtoUnmarshaler's decoding of the
// same bytes — byte for byte: same field order, same omitted defaults, same
// number, float, id, bytes and string encodings (invalid UTF-8 is copied
// through as pdata's JSON writer does, so nothing is lost either way). The
// pdata tree is never built: one pass over each message records where its
// fields are, then its JSON is appended in pdata's field order.
//
// The parser follows pdata's generated unmarshalers (pdata v1.71.0,
// internal/generated_proto_*.go): same tag and varint decoding, same wire
// type checks for known fields, same truncations (uint32 counts, int32
// enums), last value wins for scalars, unknown fields skipped. Whatever it is
// not certain to decode as pdata does, it refuses with errTranscode and the
// caller takes the pdata path for that request instead:
//   - malformed input of any kind (pdata then reports its own error),
//   - groups (wire types 3 and 4) anywhere, even in unknown fields,
//   - a singular message field (resource, scope, status, a key's value)
//     present twice (protobuf merges them),
//   - more than one value in an AnyValue's oneof,
//   - ids whose length is neither 0 nor the id size,
//   - the deprecated instrumentation_library_spans (field 1000),
//   - the profiles-only string-table indexes (key_strindex,
//     string_value_strindex),
//   - values nested as deep as pdata's recursion limit.
//
// FuzzTranscode and TestTranscode check the byte-for-byte claim against
// pdata.

// errTranscode means the request must take the pdata path.
var errTranscode = errors.New("request not transcodable; decode with pdata")

// maxTranscodeDepth is pdata's proto.RecursionLimit: KeyValue, AnyValue,
// ArrayValue and KeyValueList each count one level, and pdata refuses a
// request nested deeper.
const maxTranscodeDepth = 100

// Wire types.
const (
	wtVarint = 0
	wtI64    = 1
	wtLen    = 2
	wtI32    = 5
)

// pfield is one decoded protobuf field.
type pfield struct {
	num  int32
	wt   int8
	v    uint64 // varint, I64 and I32 values
	data []byte // LEN values
}

// nextField decodes the field at pos like pdata's ConsumeTag followed by the
// consume function of its wire type (ConsumeUnknown for unknown fields). It
// refuses groups.
func nextField(b []byte, pos int) (f pfield, npos int, err error) {
	var tag uint64
	if pos < len(b) && b[pos] < 0x80 {
		tag, pos = uint64(b[pos]), pos+1
	} else if tag, pos, err = readVarint(b, pos); err != nil {
		return f, 0, err
	}
	f.num = int32(tag >> 3)
	f.wt = int8(tag & 7)
	if f.num <= 0 {
		return f, 0, errTranscode
	}
	switch f.wt {
	case wtVarint:
		if pos < len(b) && b[pos] < 0x80 {
			f.v, pos = uint64(b[pos]), pos+1
		} else if f.v, pos, err = readVarint(b, pos); err != nil {
			return f, 0, err
		}
	case wtI64:
		if pos+8 > len(b) {
			return f, 0, errTranscode
		}
		f.v = binary.LittleEndian.Uint64(b[pos:])
		pos += 8
	case wtLen:
		var n uint64
		if pos < len(b) && b[pos] < 0x80 {
			n, pos = uint64(b[pos]), pos+1
		} else if n, pos, err = readVarint(b, pos); err != nil {
			return f, 0, err
		}
		// As ConsumeLen: int(n) must be >= 0 and the end within b.
		l := int(n)
		if l < 0 || pos+l < 0 || pos+l > len(b) {
			return f, 0, errTranscode
		}
		f.data = b[pos : pos+l : pos+l]
		pos += l
	case wtI32:
		if pos+4 > len(b) {
			return f, 0, errTranscode
		}
		f.v = uint64(binary.LittleEndian.Uint32(b[pos:]))
		pos += 4
	default: // groups, and the illegal wire types 6 and 7
		return f, 0, errTranscode
	}
	return f, pos, nil
}

// readVarint is pdata's ConsumeVarint: at most 10 bytes, bits beyond 64
// dropped.
func readVarint(b []byte, pos int) (uint64, int, error) {
	var v uint64
	for shift := uint(0); ; shift += 7 {
		if shift >= 64 || pos >= len(b) {
			return 0, 0, errTranscode
		}
		c := b[pos]
		pos++
		v |= uint64(c&0x7f) << shift
		if c < 0x80 {
			return v, pos, nil
		}
	}
}

// span of bytes [start, end) of a message holding every occurrence of one
// repeated field, and whether there is any.
type fieldRange struct{ start, end int }

func (r *fieldRange) add(start, end int) {
	if r.end == 0 {
		r.start = start
	}
	r.end = end
}

func (r fieldRange) empty() bool { return r.end == 0 }

// transcoder holds the output and the span count of one request.
type transcoder struct {
	out   []byte
	spans int
	depth int
}

// appendTracesJSON appends to dst the OTLP JSON encoding of req, an
// OTLP/protobuf ExportTraceServiceRequest, exactly as ptrace.JSONMarshaler
// encodes ptrace.ProtoUnmarshaler's decoding of req, and returns it with the
// number of spans. errTranscode (with dst's content beyond len(dst)
// undefined) means the request must be decoded with pdata instead.
func appendTracesJSON(dst, req []byte) ([]byte, int, error) {
	t := transcoder{out: dst}
	if err := t.tracesData(req); err != nil {
		return dst, 0, err
	}
	return t.out, t.spans, nil
}

// JSON keys with their quotes and colon, as pdata's stream writes them.
const (
	kResourceSpans          = `"resourceSpans":`
	kResource               = `"resource":`
	kScopeSpans             = `"scopeSpans":`
	kSchemaURL              = `"schemaUrl":`
	kAttributes             = `"attributes":`
	kDroppedAttributesCount = `"droppedAttributesCount":`
	kEntityRefs             = `"entityRefs":`
	kScope                  = `"scope":`
	kSpans                  = `"spans":`
	kName                   = `"name":`
	kVersion                = `"version":`
	kTraceID                = `"traceId":`
	kSpanID                 = `"spanId":`
	kTraceState             = `"traceState":`
	kParentSpanID           = `"parentSpanId":`
	kFlags                  = `"flags":`
	kKind                   = `"kind":`
	kStartTime              = `"startTimeUnixNano":`
	kEndTime                = `"endTimeUnixNano":`
	kEvents                 = `"events":`
	kDroppedEventsCount     = `"droppedEventsCount":`
	kLinks                  = `"links":`
	kDroppedLinksCount      = `"droppedLinksCount":`
	kStatus                 = `"status":`
	kTimeUnixNano           = `"timeUnixNano":`
	kMessage                = `"message":`
	kCode                   = `"code":`
	kType                   = `"type":`
	kIDKeys                 = `"idKeys":`
	kDescriptionKeys        = `"descriptionKeys":`
	kKey                    = `"key":`
	kValue                  = `"value":`
	kValues                 = `"values":`
)

// key appends a key, preceded by a comma unless it is the object's first.
func (t *transcoder) key(more *bool, k string) {
	if *more {
		t.out = append(t.out, ',')
	}
	*more = true
	t.out = append(t.out, k...)
}

// TracesData / ExportTraceServiceRequest: 1 resource_spans.
func (t *transcoder) tracesData(b []byte) error {
	t.out = append(t.out, '{')
	n := 0
	for pos := 0; pos < len(b); {
		f, np, err := nextField(b, pos)
		if err != nil {
			return err
		}
		pos = np
		if f.num == 1 {
			if f.wt != wtLen {
				return errTranscode
			}
			if n == 0 {
				t.out = append(t.out, kResourceSpans...)
				t.out = append(t.out, '[')
			} else {
				t.out = append(t.out, ',')
			}
			n++
			if err := t.resourceSpans(f.data); err != nil {
				return err
			}
		}
	}
	if n > 0 {
		t.out = append(t.out, ']')
	}
	t.out = append(t.out, '}')
	return nil
}

// repeated appends key and the JSON array of every field num (a message)
// in b[r.start:r.end], each encoded by enc.
func (t *transcoder) repeated(b []byte, r fieldRange, num int32, more *bool, k string, enc func(*transcoder, []byte) error) error {
	if r.empty() {
		return nil
	}
	t.key(more, k)
	t.out = append(t.out, '[')
	first := true
	for pos := r.start; pos < r.end; {
		f, np, err := nextField(b, pos)
		if err != nil {
			return err
		}
		pos = np
		if f.num != num {
			continue
		}
		if !first {
			t.out = append(t.out, ',')
		}
		first = false
		if err := enc(t, f.data); err != nil {
			return err
		}
	}
	t.out = append(t.out, ']')
	return nil
}

// ResourceSpans: 1 resource, 2 scope_spans, 3 schema_url,
// 1000 instrumentation_library_spans (deprecated: refused).
func (t *transcoder) resourceSpans(b []byte) error {
	var (
		resource  []byte
		hasRes    bool
		scopes    fieldRange
		schemaURL []byte
	)
	for pos := 0; pos < len(b); {
		start := pos
		f, np, err := nextField(b, pos)
		if err != nil {
			return err
		}
		pos = np
		switch f.num {
		case 1:
			if f.wt != wtLen || hasRes {
				return errTranscode
			}
			resource, hasRes = f.data, true
		case 2:
			if f.wt != wtLen {
				return errTranscode
			}
			scopes.add(start, pos)
		case 3:
			if f.wt != wtLen {
				return errTranscode
			}
			schemaURL = f.data
		case 1000:
			return errTranscode
		}
	}
	more := false
	t.out = append(t.out, '{')
	t.key(&more, kResource)
	if err := t.resource(resource); err != nil {
		return err
	}
	if err := t.repeated(b, scopes, 2, &more, kScopeSpans, (*transcoder).scopeSpans); err != nil {
		return err
	}
	if len(schemaURL) > 0 {
		t.key(&more, kSchemaURL)
		t.str(schemaURL)
	}
	t.out = append(t.out, '}')
	return nil
}

// Resource: 1 attributes, 2 dropped_attributes_count, 3 entity_refs.
func (t *transcoder) resource(b []byte) error {
	var (
		attrs, refs fieldRange
		dropped     uint32
	)
	for pos := 0; pos < len(b); {
		start := pos
		f, np, err := nextField(b, pos)
		if err != nil {
			return err
		}
		pos = np
		switch f.num {
		case 1:
			if f.wt != wtLen {
				return errTranscode
			}
			attrs.add(start, pos)
		case 2:
			if f.wt != wtVarint {
				return errTranscode
			}
			dropped = uint32(f.v)
		case 3:
			if f.wt != wtLen {
				return errTranscode
			}
			refs.add(start, pos)
		}
	}
	more := false
	t.out = append(t.out, '{')
	if err := t.repeated(b, attrs, 1, &more, kAttributes, (*transcoder).keyValue); err != nil {
		return err
	}
	if dropped != 0 {
		t.key(&more, kDroppedAttributesCount)
		t.out = strconv.AppendUint(t.out, uint64(dropped), 10)
	}
	if err := t.repeated(b, refs, 3, &more, kEntityRefs, (*transcoder).entityRef); err != nil {
		return err
	}
	t.out = append(t.out, '}')
	return nil
}

// EntityRef: 1 schema_url, 2 type, 3 id_keys, 4 description_keys.
func (t *transcoder) entityRef(b []byte) error {
	var (
		schemaURL, typ []byte
		ids, descs     fieldRange
	)
	for pos := 0; pos < len(b); {
		start := pos
		f, np, err := nextField(b, pos)
		if err != nil {
			return err
		}
		pos = np
		if f.num >= 1 && f.num <= 4 && f.wt != wtLen {
			return errTranscode
		}
		switch f.num {
		case 1:
			schemaURL = f.data
		case 2:
			typ = f.data
		case 3:
			ids.add(start, pos)
		case 4:
			descs.add(start, pos)
		}
	}
	more := false
	t.out = append(t.out, '{')
	if len(schemaURL) > 0 {
		t.key(&more, kSchemaURL)
		t.str(schemaURL)
	}
	if len(typ) > 0 {
		t.key(&more, kType)
		t.str(typ)
	}
	strEnc := func(t *transcoder, s []byte) error { t.str(s); return nil }
	if err := t.repeated(b, ids, 3, &more, kIDKeys, strEnc); err != nil {
		return err
	}
	if err := t.repeated(b, descs, 4, &more, kDescriptionKeys, strEnc); err != nil {
		return err
	}
	t.out = append(t.out, '}')
	return nil
}

// ScopeSpans: 1 scope, 2 spans, 3 schema_url.
func (t *transcoder) scopeSpans(b []byte) error {
	var (
		scope     []byte
		hasScope  bool
		spans     fieldRange
		schemaURL []byte
	)
	for pos := 0; pos < len(b); {
		start := pos
		f, np, err := nextField(b, pos)
		if err != nil {
			return err
		}
		pos = np
		switch f.num {
		case 1:
			if f.wt != wtLen || hasScope {
				return errTranscode
			}
			scope, hasScope = f.data, true
		case 2:
			if f.wt != wtLen {
				return errTranscode
			}
			spans.add(start, pos)
		case 3:
			if f.wt != wtLen {
				return errTranscode
			}
			schemaURL = f.data
		}
	}
	more := false
	t.out = append(t.out, '{')
	t.key(&more, kScope)
	if err := t.scope(scope); err != nil {
		return err
	}
	if err := t.repeated(b, spans, 2, &more, kSpans, (*transcoder).span); err != nil {
		return err
	}
	if len(schemaURL) > 0 {
		t.key(&more, kSchemaURL)
		t.str(schemaURL)
	}
	t.out = append(t.out, '}')
	return nil
}

// InstrumentationScope: 1 name, 2 version, 3 attributes,
// 4 dropped_attributes_count.
func (t *transcoder) scope(b []byte) error {
	var (
		name, version []byte
		attrs         fieldRange
		dropped       uint32
	)
	for pos := 0; pos < len(b); {
		start := pos
		f, np, err := nextField(b, pos)
		if err != nil {
			return err
		}
		pos = np
		switch f.num {
		case 1, 2, 3:
			if f.wt != wtLen {
				return errTranscode
			}
			switch f.num {
			case 1:
				name = f.data
			case 2:
				version = f.data
			default:
				attrs.add(start, pos)
			}
		case 4:
			if f.wt != wtVarint {
				return errTranscode
			}
			dropped = uint32(f.v)
		}
	}
	more := false
	t.out = append(t.out, '{')
	if len(name) > 0 {
		t.key(&more, kName)
		t.str(name)
	}
	if len(version) > 0 {
		t.key(&more, kVersion)
		t.str(version)
	}
	if err := t.repeated(b, attrs, 3, &more, kAttributes, (*transcoder).keyValue); err != nil {
		return err
	}
	if dropped != 0 {
		t.key(&more, kDroppedAttributesCount)
		t.out = strconv.AppendUint(t.out, uint64(dropped), 10)
	}
	t.out = append(t.out, '}')
	return nil
}

// checkID checks a trace or span id as pdata does (empty, or exactly size
// bytes) and returns it, nil when empty.
func checkID(data []byte, size int) ([]byte, error) {
	switch len(data) {
	case 0:
		return nil, nil
	case size:
		return data, nil
	}
	return nil, errTranscode
}

// isZero reports whether an id is absent or all zeros (pdata omits both).
func isZero(id []byte) bool {
	for _, c := range id {
		if c != 0 {
			return false
		}
	}
	return true
}

// id appends key and the id in lower-case hex unless it is empty.
func (t *transcoder) id(more *bool, k string, id []byte) {
	if isZero(id) {
		return
	}
	t.key(more, k)
	t.out = append(t.out, '"')
	t.out = hex.AppendEncode(t.out, id)
	t.out = append(t.out, '"')
}

// Span: 1 trace_id, 2 span_id, 3 trace_state, 4 parent_span_id, 16 flags,
// 5 name, 6 kind, 7 start_time_unix_nano, 8 end_time_unix_nano,
// 9 attributes, 10 dropped_attributes_count, 11 events,
// 12 dropped_events_count, 13 links, 14 dropped_links_count, 15 status.
func (t *transcoder) span(b []byte) error {
	var (
		traceID, spanID, parentID []byte
		traceState, name          []byte
		flags                     uint32
		kind                      int32
		start, end                uint64
		attrs, events, links      fieldRange
		dAttrs, dEvents, dLinks   uint32
		status                    []byte
		hasStatus                 bool
	)
	for pos := 0; pos < len(b); {
		fstart := pos
		f, np, err := nextField(b, pos)
		if err != nil {
			return err
		}
		pos = np
		switch f.num {
		case 1, 2, 3, 4, 5, 9, 11, 13, 15:
			if f.wt != wtLen {
				return errTranscode
			}
			switch f.num {
			case 1:
				if traceID, err = checkID(f.data, 16); err != nil {
					return err
				}
			case 2:
				if spanID, err = checkID(f.data, 8); err != nil {
					return err
				}
			case 3:
				traceState = f.data
			case 4:
				if parentID, err = checkID(f.data, 8); err != nil {
					return err
				}
			case 5:
				name = f.data
			case 9:
				attrs.add(fstart, pos)
			case 11:
				events.add(fstart, pos)
			case 13:
				links.add(fstart, pos)
			case 15:
				if hasStatus {
					return errTranscode
				}
				status, hasStatus = f.data, true
			}
		case 6, 10, 12, 14:
			if f.wt != wtVarint {
				return errTranscode
			}
			switch f.num {
			case 6:
				kind = int32(f.v)
			case 10:
				dAttrs = uint32(f.v)
			case 12:
				dEvents = uint32(f.v)
			case 14:
				dLinks = uint32(f.v)
			}
		case 7, 8:
			if f.wt != wtI64 {
				return errTranscode
			}
			if f.num == 7 {
				start = f.v
			} else {
				end = f.v
			}
		case 16:
			if f.wt != wtI32 {
				return errTranscode
			}
			flags = uint32(f.v)
		}
	}
	t.spans++
	more := false
	t.out = append(t.out, '{')
	t.id(&more, kTraceID, traceID)
	t.id(&more, kSpanID, spanID)
	if len(traceState) > 0 {
		t.key(&more, kTraceState)
		t.str(traceState)
	}
	t.id(&more, kParentSpanID, parentID)
	if flags != 0 {
		t.key(&more, kFlags)
		t.out = strconv.AppendUint(t.out, uint64(flags), 10)
	}
	if len(name) > 0 {
		t.key(&more, kName)
		t.str(name)
	}
	if kind != 0 {
		t.key(&more, kKind)
		t.out = strconv.AppendInt(t.out, int64(kind), 10)
	}
	if start != 0 {
		t.key(&more, kStartTime)
		t.quotedUint(start)
	}
	if end != 0 {
		t.key(&more, kEndTime)
		t.quotedUint(end)
	}
	if err := t.repeated(b, attrs, 9, &more, kAttributes, (*transcoder).keyValue); err != nil {
		return err
	}
	if dAttrs != 0 {
		t.key(&more, kDroppedAttributesCount)
		t.out = strconv.AppendUint(t.out, uint64(dAttrs), 10)
	}
	if err := t.repeated(b, events, 11, &more, kEvents, (*transcoder).event); err != nil {
		return err
	}
	if dEvents != 0 {
		t.key(&more, kDroppedEventsCount)
		t.out = strconv.AppendUint(t.out, uint64(dEvents), 10)
	}
	if err := t.repeated(b, links, 13, &more, kLinks, (*transcoder).link); err != nil {
		return err
	}
	if dLinks != 0 {
		t.key(&more, kDroppedLinksCount)
		t.out = strconv.AppendUint(t.out, uint64(dLinks), 10)
	}
	t.key(&more, kStatus)
	if err := t.status(status); err != nil {
		return err
	}
	t.out = append(t.out, '}')
	return nil
}

// Status: 2 message, 3 code (1, the deprecated code, is unknown to pdata).
func (t *transcoder) status(b []byte) error {
	var (
		message []byte
		code    int32
	)
	for pos := 0; pos < len(b); {
		f, np, err := nextField(b, pos)
		if err != nil {
			return err
		}
		pos = np
		switch f.num {
		case 2:
			if f.wt != wtLen {
				return errTranscode
			}
			message = f.data
		case 3:
			if f.wt != wtVarint {
				return errTranscode
			}
			code = int32(f.v)
		}
	}
	more := false
	t.out = append(t.out, '{')
	if len(message) > 0 {
		t.key(&more, kMessage)
		t.str(message)
	}
	if code != 0 {
		t.key(&more, kCode)
		t.out = strconv.AppendInt(t.out, int64(code), 10)
	}
	t.out = append(t.out, '}')
	return nil
}

// Span.Event: 1 time_unix_nano, 2 name, 3 attributes,
// 4 dropped_attributes_count.
func (t *transcoder) event(b []byte) error {
	var (
		ts      uint64
		name    []byte
		attrs   fieldRange
		dropped uint32
	)
	for pos := 0; pos < len(b); {
		start := pos
		f, np, err := nextField(b, pos)
		if err != nil {
			return err
		}
		pos = np
		switch f.num {
		case 1:
			if f.wt != wtI64 {
				return errTranscode
			}
			ts = f.v
		case 2, 3:
			if f.wt != wtLen {
				return errTranscode
			}
			if f.num == 2 {
				name = f.data
			} else {
				attrs.add(start, pos)
			}
		case 4:
			if f.wt != wtVarint {
				return errTranscode
			}
			dropped = uint32(f.v)
		}
	}
	more := false
	t.out = append(t.out, '{')
	if ts != 0 {
		t.key(&more, kTimeUnixNano)
		t.quotedUint(ts)
	}
	if len(name) > 0 {
		t.key(&more, kName)
		t.str(name)
	}
	if err := t.repeated(b, attrs, 3, &more, kAttributes, (*transcoder).keyValue); err != nil {
		return err
	}
	if dropped != 0 {
		t.key(&more, kDroppedAttributesCount)
		t.out = strconv.AppendUint(t.out, uint64(dropped), 10)
	}
	t.out = append(t.out, '}')
	return nil
}

// Span.Link: 1 trace_id, 2 span_id, 3 trace_state, 4 attributes,
// 5 dropped_attributes_count, 6 flags.
func (t *transcoder) link(b []byte) error {
	var (
		traceID, spanID, traceState []byte
		attrs                       fieldRange
		dropped, flags              uint32
	)
	for pos := 0; pos < len(b); {
		start := pos
		f, np, err := nextField(b, pos)
		if err != nil {
			return err
		}
		pos = np
		switch f.num {
		case 1, 2, 3, 4:
			if f.wt != wtLen {
				return errTranscode
			}
			switch f.num {
			case 1:
				if traceID, err = checkID(f.data, 16); err != nil {
					return err
				}
			case 2:
				if spanID, err = checkID(f.data, 8); err != nil {
					return err
				}
			case 3:
				traceState = f.data
			case 4:
				attrs.add(start, pos)
			}
		case 5:
			if f.wt != wtVarint {
				return errTranscode
			}
			dropped = uint32(f.v)
		case 6:
			if f.wt != wtI32 {
				return errTranscode
			}
			flags = uint32(f.v)
		}
	}
	more := false
	t.out = append(t.out, '{')
	t.id(&more, kTraceID, traceID)
	t.id(&more, kSpanID, spanID)
	if len(traceState) > 0 {
		t.key(&more, kTraceState)
		t.str(traceState)
	}
	if err := t.repeated(b, attrs, 4, &more, kAttributes, (*transcoder).keyValue); err != nil {
		return err
	}
	if dropped != 0 {
		t.key(&more, kDroppedAttributesCount)
		t.out = strconv.AppendUint(t.out, uint64(dropped), 10)
	}
	if flags != 0 {
		t.key(&more, kFlags)
		t.out = strconv.AppendUint(t.out, uint64(flags), 10)
	}
	t.out = append(t.out, '}')
	return nil
}

// KeyValue: 1 key, 2 value, 3 key_strindex (profiles only: refused).
func (t *transcoder) keyValue(b []byte) error {
	if t.depth >= maxTranscodeDepth {
		return errTranscode
	}
	t.depth++
	err := t.keyValueBody(b)
	t.depth--
	return err
}

func (t *transcoder) keyValueBody(b []byte) error {
	var (
		key, value []byte
		hasValue   bool
	)
	// Fast path, how every SDK writes an attribute: a key and a value, each
	// under 128 bytes (one-byte tag and length), and nothing else.
	if len(b) >= 4 && b[0] == 1<<3|wtLen && b[1] < 0x80 {
		ke := 2 + int(b[1])
		if ke+2 <= len(b) && b[ke] == 2<<3|wtLen && b[ke+1] < 0x80 && ke+2+int(b[ke+1]) == len(b) {
			key, value = b[2:ke], b[ke+2:]
			goto emit
		}
	}
	for pos := 0; pos < len(b); {
		f, np, err := nextField(b, pos)
		if err != nil {
			return err
		}
		pos = np
		switch f.num {
		case 1:
			if f.wt != wtLen {
				return errTranscode
			}
			key = f.data
		case 2:
			if f.wt != wtLen || hasValue {
				return errTranscode
			}
			value, hasValue = f.data, true
		case 3:
			return errTranscode
		}
	}
emit:
	t.out = append(t.out, '{')
	if len(key) > 0 {
		t.out = append(t.out, kKey...)
		t.str(key)
		t.out = append(t.out, ',')
	}
	t.out = append(t.out, kValue...)
	if err := t.anyValue(value); err != nil {
		return err
	}
	t.out = append(t.out, '}')
	return nil
}

// AnyValue: oneof 1 string_value, 2 bool_value, 3 int_value,
// 4 double_value, 5 array_value, 6 kvlist_value, 7 bytes_value,
// 8 string_value_strindex (profiles only: refused). More than one of them
// is refused.
func (t *transcoder) anyValue(b []byte) error {
	if t.depth >= maxTranscodeDepth {
		return errTranscode
	}
	t.depth++
	err := t.anyValueBody(b)
	t.depth--
	return err
}

func (t *transcoder) anyValueBody(b []byte) error {
	// Fast path: only a string value under 128 bytes.
	if len(b) >= 2 && b[0] == 1<<3|wtLen && b[1] < 0x80 && 2+int(b[1]) == len(b) {
		t.out = append(t.out, `{"stringValue":`...)
		t.str(b[2:])
		t.out = append(t.out, '}')
		return nil
	}
	var val pfield
	for pos := 0; pos < len(b); {
		f, np, err := nextField(b, pos)
		if err != nil {
			return err
		}
		pos = np
		switch f.num {
		case 1, 5, 6, 7:
			if f.wt != wtLen {
				return errTranscode
			}
		case 2, 3:
			if f.wt != wtVarint {
				return errTranscode
			}
		case 4:
			if f.wt != wtI64 {
				return errTranscode
			}
		case 8:
			return errTranscode
		default:
			continue
		}
		if val.num != 0 {
			return errTranscode
		}
		val = f
	}
	switch val.num {
	case 0:
		t.out = append(t.out, '{', '}')
	case 1:
		t.out = append(t.out, `{"stringValue":`...)
		t.str(val.data)
		t.out = append(t.out, '}')
	case 2:
		if val.v != 0 {
			t.out = append(t.out, `{"boolValue":true}`...)
		} else {
			t.out = append(t.out, `{"boolValue":false}`...)
		}
	case 3:
		t.out = append(t.out, `{"intValue":"`...)
		t.out = strconv.AppendInt(t.out, int64(val.v), 10)
		t.out = append(t.out, '"', '}')
	case 4:
		t.out = append(t.out, `{"doubleValue":`...)
		t.float(math.Float64frombits(val.v))
		t.out = append(t.out, '}')
	case 5, 6:
		if val.num == 5 {
			t.out = append(t.out, `{"arrayValue":`...)
		} else {
			t.out = append(t.out, `{"kvlistValue":`...)
		}
		if err := t.values(val.data, val.num == 6); err != nil {
			return err
		}
		t.out = append(t.out, '}')
	case 7:
		t.out = append(t.out, `{"bytesValue":"`...)
		t.out = base64.StdEncoding.AppendEncode(t.out, val.data)
		t.out = append(t.out, '"', '}')
	}
	return nil
}

// values encodes an ArrayValue (1 values: AnyValue) or a KeyValueList
// (1 values: KeyValue).
func (t *transcoder) values(b []byte, kv bool) error {
	if t.depth >= maxTranscodeDepth {
		return errTranscode
	}
	t.depth++
	err := t.valuesBody(b, kv)
	t.depth--
	return err
}

func (t *transcoder) valuesBody(b []byte, kv bool) error {
	t.out = append(t.out, '{')
	n := 0
	for pos := 0; pos < len(b); {
		f, np, err := nextField(b, pos)
		if err != nil {
			return err
		}
		pos = np
		if f.num != 1 {
			continue
		}
		if f.wt != wtLen {
			return errTranscode
		}
		if n == 0 {
			t.out = append(t.out, kValues...)
			t.out = append(t.out, '[')
		} else {
			t.out = append(t.out, ',')
		}
		n++
		if kv {
			err = t.keyValue(f.data)
		} else {
			err = t.anyValue(f.data)
		}
		if err != nil {
			return err
		}
	}
	if n > 0 {
		t.out = append(t.out, ']')
	}
	t.out = append(t.out, '}')
	return nil
}

// quotedUint appends v as a decimal string, as pdata writes 64-bit values.
func (t *transcoder) quotedUint(v uint64) {
	t.out = append(t.out, '"')
	t.out = strconv.AppendUint(t.out, v, 10)
	t.out = append(t.out, '"')
}

// float appends v as pdata's WriteFloat64: NaN and ±Inf as the strings
// "NaN", "Infinity", "-Infinity"; otherwise the shortest representation
// that round-trips, in exponent form below 1e-6 and from 1e21 (jsoniter).
func (t *transcoder) float(v float64) {
	switch {
	case math.IsNaN(v):
		t.out = append(t.out, `"NaN"`...)
		return
	case math.IsInf(v, 1):
		t.out = append(t.out, `"Infinity"`...)
		return
	case math.IsInf(v, -1):
		t.out = append(t.out, `"-Infinity"`...)
		return
	}
	format := byte('f')
	if abs := math.Abs(v); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	t.out = strconv.AppendFloat(t.out, v, format, -1, 64)
}

// jsonSafe marks the bytes jsoniter's WriteString copies as they are:
// everything but control characters, '"' and '\\'. Bytes from 0x80 up are
// copied too, valid UTF-8 or not.
var jsonSafe = func() (s [256]bool) {
	for i := range s {
		s[i] = i >= 0x20 && i != '"' && i != '\\'
	}
	return s
}()

const hexDigits = "0123456789abcdef"

const ones = 0x0101010101010101

// hasZero is non-zero if a byte of w is 0.
func hasZero(w uint64) uint64 { return (w - ones) & ^w & (0x80 * ones) }

// hasLess is non-zero if a byte of w is below n (n <= 128).
func hasLess(w, n uint64) uint64 { return (w - n*ones) & ^w & (0x80 * ones) }

// str appends s as a JSON string exactly as jsoniter's Stream.WriteString
// (pdata's writer, without HTML escaping) does.
func (t *transcoder) str(s []byte) {
	out := append(t.out, '"')
	i := 0
	// Eight bytes at a time while none of them needs escaping: no byte
	// below 0x20 (hasLess may also flag a clean word; the byte loop below
	// then decides), no '"', no '\\'.
	for ; i+8 <= len(s); i += 8 {
		w := binary.LittleEndian.Uint64(s[i:])
		if hasLess(w, 0x20)|hasZero(w^('"'*ones))|hasZero(w^('\\'*ones)) != 0 {
			break
		}
	}
	for i < len(s) && jsonSafe[s[i]] {
		i++
	}
	if i == len(s) {
		out = append(out, s...)
		t.out = append(out, '"')
		return
	}
	start := 0
	for ; i < len(s); i++ {
		c := s[i]
		if jsonSafe[c] {
			continue
		}
		out = append(out, s[start:i]...)
		switch c {
		case '\\', '"':
			out = append(out, '\\', c)
		case '\n':
			out = append(out, '\\', 'n')
		case '\r':
			out = append(out, '\\', 'r')
		case '\t':
			out = append(out, '\\', 't')
		default:
			out = append(out, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		}
		start = i + 1
	}
	out = append(out, s[start:]...)
	t.out = append(out, '"')
}
