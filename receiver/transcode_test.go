package receiver

import (
	"bytes"
	"encoding/binary"
	"math"
	"strings"
	"testing"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
)

// pdataJSON is the reference: the request decoded as the receiver decodes
// it without the transcoder, encoded as replay.Writer encoded it.
func pdataJSON(req []byte) ([]byte, int, error) {
	er := ptraceotlp.NewExportRequest()
	if err := er.UnmarshalProto(req); err != nil {
		return nil, 0, err
	}
	var m ptrace.JSONMarshaler
	b, err := m.MarshalTraces(er.Traces())
	return b, er.Traces().SpanCount(), err
}

// checkTranscode transcodes req and, unless the transcoder refuses it,
// checks the result is byte for byte pdata's encoding, that the span count
// is pdata's, and that the JSON decodes to what the protobuf decodes to. It
// reports whether the transcoder took the request.
func checkTranscode(t testing.TB, req []byte) bool {
	t.Helper()
	prefix := []byte("prefix")
	got, n, err := appendTracesJSON(prefix, req)
	if err != nil {
		if err != errTranscode {
			t.Fatalf("error %v, want errTranscode", err)
		}
		if !bytes.Equal(got, prefix) {
			t.Fatalf("refused request changed dst: %q", got)
		}
		return false
	}
	if !bytes.HasPrefix(got, prefix) {
		t.Fatalf("dst prefix lost: %q", got)
	}
	got = got[len(prefix):]
	want, wantN, werr := pdataJSON(req)
	if werr != nil {
		t.Fatalf("transcoded a request pdata refuses (%v):\n%s", werr, got)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("transcoded JSON differs from pdata's:\n got %s\nwant %s", got, want)
	}
	if n != wantN {
		t.Fatalf("span count %d, pdata %d", n, wantN)
	}
	// The line decodes to the request's protobuf decoding. pdata's JSON
	// writer loses the payload of a NaN (written "NaN"): compare NaNs as
	// equal whatever their bits.
	var ju ptrace.JSONUnmarshaler
	fromJSON, err := ju.UnmarshalTraces(got)
	if err != nil {
		t.Fatalf("transcoded JSON does not decode: %v\n%s", err, got)
	}
	er := ptraceotlp.NewExportRequest()
	if err := er.UnmarshalProto(req); err != nil {
		t.Fatal(err)
	}
	canonicalNaNs(er.Traces())
	var pm ptrace.ProtoMarshaler
	a, _ := pm.MarshalTraces(fromJSON)
	b, _ := pm.MarshalTraces(er.Traces())
	if !bytes.Equal(a, b) {
		var jm ptrace.JSONMarshaler
		viaJSON, _ := jm.MarshalTraces(fromJSON)
		t.Fatalf("transcoded JSON decodes to other traces than the protobuf:\nproto: %s\n json: %s", want, viaJSON)
	}
	return true
}

// canonicalNaNs replaces every NaN double by math.NaN(), what JSON "NaN"
// decodes to.
func canonicalNaNs(td ptrace.Traces) {
	var fix func(v pcommon.Value)
	fixMap := func(m pcommon.Map) {
		m.Range(func(_ string, v pcommon.Value) bool { fix(v); return true })
	}
	fix = func(v pcommon.Value) {
		switch v.Type() {
		case pcommon.ValueTypeDouble:
			if math.IsNaN(v.Double()) {
				v.SetDouble(math.NaN())
			}
		case pcommon.ValueTypeSlice:
			for i := 0; i < v.Slice().Len(); i++ {
				fix(v.Slice().At(i))
			}
		case pcommon.ValueTypeMap:
			fixMap(v.Map())
		}
	}
	rss := td.ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		fixMap(rss.At(i).Resource().Attributes())
		sss := rss.At(i).ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			fixMap(sss.At(j).Scope().Attributes())
			spans := sss.At(j).Spans()
			for k := 0; k < spans.Len(); k++ {
				s := spans.At(k)
				fixMap(s.Attributes())
				for e := 0; e < s.Events().Len(); e++ {
					fixMap(s.Events().At(e).Attributes())
				}
				for l := 0; l < s.Links().Len(); l++ {
					fixMap(s.Links().At(l).Attributes())
				}
			}
		}
	}
}

// pb builds protobuf messages by hand, including shapes no marshaler
// writes (unknown fields, repeated scalars, fields out of order).
type pb []byte

func (b pb) uvarint(v uint64) pb         { return binary.AppendUvarint(b, v) }
func (b pb) tag(num, wt int) pb          { return b.uvarint(uint64(num)<<3 | uint64(wt)) }
func (b pb) varint(num int, v uint64) pb { return b.tag(num, 0).uvarint(v) }
func (b pb) fixed64(num int, v uint64) pb {
	return binary.LittleEndian.AppendUint64(b.tag(num, 1), v)
}
func (b pb) fixed32(num int, v uint32) pb {
	return binary.LittleEndian.AppendUint32(b.tag(num, 5), v)
}
func (b pb) bytes(num int, v []byte) pb { return append(b.tag(num, 2).uvarint(uint64(len(v))), v...) }
func (b pb) str(num int, s string) pb   { return b.bytes(num, []byte(s)) }
func (b pb) msg(num int, m pb) pb       { return b.bytes(num, m) }

// req wraps spans (Span messages) in a request with one resource and scope.
func req(spans ...pb) pb {
	var ss pb
	ss = ss.msg(1, pb{}.str(1, "scope"))
	for _, s := range spans {
		ss = ss.msg(2, s)
	}
	var rs pb
	rs = rs.msg(1, pb{}.msg(1, kv("service.name", pb{}.str(1, "svc"))))
	rs = rs.msg(2, ss)
	return pb{}.msg(1, rs)
}

func kv(key string, value pb) pb { return pb{}.str(1, key).msg(2, value) }

// attrSpan is a span whose only attribute has value v (an AnyValue).
func attrSpan(v pb) pb {
	return pb{}.bytes(1, bytes.Repeat([]byte{1}, 16)).bytes(2, bytes.Repeat([]byte{2}, 8)).
		str(5, "s").msg(9, kv("k", v))
}

// fullTraces sets every field pdata exposes, with values of every type and
// edge case; n resources of n scopes of n+1 spans.
func fullTraces(n int) ptrace.Traces {
	large := 20 // a small seed for the fuzzer
	if n > 1 {
		large = 20000
	}
	td := ptrace.NewTraces()
	for r := range n {
		rs := td.ResourceSpans().AppendEmpty()
		rs.SetSchemaUrl("https://opentelemetry.io/schemas/1.26.0")
		res := rs.Resource()
		res.Attributes().PutStr("service.name", "svc-"+string(rune('a'+r)))
		res.SetDroppedAttributesCount(3)
		for s := range n {
			ss := rs.ScopeSpans().AppendEmpty()
			ss.SetSchemaUrl("https://example.com/scope")
			ss.Scope().SetName("lib")
			ss.Scope().SetVersion("1.2.3")
			ss.Scope().Attributes().PutBool("scope.attr", true)
			ss.Scope().SetDroppedAttributesCount(1)
			for i := range n + 1 {
				sp := ss.Spans().AppendEmpty()
				if i != 2 { // the third span has no ids at all
					sp.SetTraceID(pcommon.TraceID{0xde, 0xad, byte(r), byte(s), 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, byte(i)})
					sp.SetSpanID(pcommon.SpanID{0xbe, 0xef, 0, 0, 0, 0, 0, byte(i + 1)})
				}
				if i == 1 {
					sp.SetParentSpanID(pcommon.SpanID{0xbe, 0xef, 0, 0, 0, 0, 0, 1})
				}
				sp.TraceState().FromRaw("rojo=00f067aa0ba902b7,congo=t61rcWkgMzE")
				sp.SetFlags(0x301)
				sp.SetName("chat \"gpt-4o\" \\ 日本語 \u2028 \x01\x1f\x7f")
				sp.SetKind(ptrace.SpanKind(i + 1))
				sp.SetStartTimestamp(pcommon.Timestamp(1795000000123456789))
				sp.SetEndTimestamp(pcommon.Timestamp(math.MaxUint64))
				a := sp.Attributes()
				a.PutStr("empty", "")
				a.PutStr("", "empty key")
				a.PutStr("unicode", "héllo wörld 🚀 \u0000 \t\r\n")
				a.PutStr("invalid.utf8", "a\xffb\xc3\x28c\xed\xa0\x80")
				a.PutStr("large", strings.Repeat("x\"y", large))
				a.PutInt("neg", -42)
				a.PutInt("min", math.MinInt64)
				a.PutInt("max", math.MaxInt64)
				a.PutInt("zero", 0)
				a.PutBool("t", true)
				a.PutBool("f", false)
				a.PutDouble("nan", math.NaN())
				a.PutDouble("inf", math.Inf(1))
				a.PutDouble("-inf", math.Inf(-1))
				a.PutDouble("-0", math.Copysign(0, -1))
				a.PutDouble("0", 0)
				a.PutDouble("tiny", 5e-324)
				a.PutDouble("small", 1e-7)
				a.PutDouble("edge", 1e-6)
				a.PutDouble("big", 1e21)
				a.PutDouble("below-big", 999999999999999900000)
				a.PutDouble("max", math.MaxFloat64)
				a.PutDouble("third", 1.0/3)
				a.PutDouble("neg", -2.5)
				a.PutEmptyBytes("bytes").FromRaw([]byte{0, 1, 2, 0xfe, 0xff})
				a.PutEmptyBytes("nobytes")
				a.PutEmpty("empty.value")
				sl := a.PutEmptySlice("slice")
				sl.AppendEmpty().SetStr("x")
				sl.AppendEmpty().SetInt(1)
				inner := sl.AppendEmpty().SetEmptySlice()
				inner.AppendEmpty().SetDouble(1.5)
				inner.AppendEmpty().SetEmptyMap().PutStr("deep", "yes")
				sl.AppendEmpty() // empty value
				a.PutEmptySlice("empty.slice")
				m := a.PutEmptyMap("map")
				m.PutStr("a", "b")
				m.PutEmptyMap("nested").PutEmptySlice("s").AppendEmpty().SetBool(true)
				m.PutEmptyBytes("b").FromRaw([]byte("hi"))
				a.PutEmptyMap("empty.map")
				sp.SetDroppedAttributesCount(7)
				for e := range 2 {
					ev := sp.Events().AppendEmpty()
					ev.SetName("event")
					if e == 0 {
						ev.SetTimestamp(1795000000000000001)
						ev.Attributes().PutStr("exception.message", "boom\n")
						ev.SetDroppedAttributesCount(2)
					}
				}
				sp.Events().AppendEmpty() // empty event
				sp.SetDroppedEventsCount(4)
				l := sp.Links().AppendEmpty()
				l.SetTraceID(pcommon.TraceID{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16})
				l.SetSpanID(pcommon.SpanID{1, 2, 3, 4, 5, 6, 7, 8})
				l.TraceState().FromRaw("k=v")
				l.Attributes().PutInt("link.attr", 1)
				l.SetDroppedAttributesCount(5)
				l.SetFlags(1)
				sp.Links().AppendEmpty()
				sp.SetDroppedLinksCount(6)
				switch i {
				case 0:
					sp.Status().SetCode(ptrace.StatusCodeError)
					sp.Status().SetMessage("failed: \"quoted\"")
				case 1:
					sp.Status().SetCode(ptrace.StatusCodeOk)
				}
			}
		}
	}
	td.ResourceSpans().AppendEmpty() // no resource, no scopes
	rs := td.ResourceSpans().AppendEmpty()
	rs.ScopeSpans().AppendEmpty()                       // empty scope
	rs.ScopeSpans().AppendEmpty().Spans().AppendEmpty() // empty span
	return td
}

func TestTranscode(t *testing.T) {
	mustProto := func(td ptrace.Traces) pb { return pb(marshalProto(t, td)) }
	// A deep nesting of arrays: n ArrayValues inside the attribute.
	deep := func(n int) pb {
		v := pb{}.str(1, "leaf")
		for range n {
			v = pb{}.msg(5, pb{}.msg(1, v))
		}
		return req(attrSpan(v))
	}
	nan := math.Float64bits(math.NaN()) | 0x1234 // NaN with a payload
	validSpan := attrSpan(pb{}.str(1, "v"))
	tests := []struct {
		name string
		req  []byte
		// fallback: the transcoder must refuse (pdata decides); otherwise
		// it must take the request.
		fallback bool
		// pdataRefuses: pdata cannot decode it either.
		pdataRefuses bool
	}{
		{name: "empty request", req: nil},
		{name: "full traces", req: mustProto(fullTraces(2))},
		{name: "genai batch", req: mustProto(genAITraces(512, 7))},
		{name: "resource without scopes", req: pb{}.msg(1, pb{}.msg(1, pb{}))},
		{name: "NaN payload", req: req(attrSpan(pb{}.fixed64(4, nan)))},
		{name: "unknown fields everywhere", req: func() pb {
			unk := pb{}.varint(99, 5).fixed64(98, 1).fixed32(97, 1).str(96, "x").varint(1<<28, 1)
			span := append(append(pb{}, unk...), attrSpan(append(append(pb{}, unk...), pb{}.str(1, "v")...))...)
			span = span.msg(15, append(pb{}.varint(1, 2), unk...)) // deprecated_code is unknown
			span = span.msg(11, append(pb{}.str(2, "ev"), unk...))
			span = span.msg(13, append(pb{}.bytes(1, make([]byte, 16)), unk...))
			var ss pb
			ss = ss.msg(1, append(pb{}.str(1, "scope"), unk...)).msg(2, span)
			ss = append(ss, unk...)
			var rs pb
			rs = rs.msg(1, append(pb{}.msg(1, append(kv("a", pb{}.varint(3, 1)), unk...)), unk...))
			rs = append(rs, unk...).msg(2, ss)
			return append(pb{}.msg(1, rs), unk...)
		}()},
		{name: "fields out of order, repeated fields interleaved", req: req(
			pb{}.msg(15, pb{}.varint(3, 2)).msg(9, kv("a", pb{}.varint(3, 1))).str(5, "n").
				msg(11, pb{}.str(2, "e1")).msg(9, kv("b", pb{}.varint(2, 1))).
				msg(13, pb{}.bytes(2, []byte{1, 2, 3, 4, 5, 6, 7, 8})).msg(11, pb{}.str(2, "e2")).
				fixed32(16, 1).bytes(2, []byte{9, 9, 9, 9, 9, 9, 9, 9}).msg(9, kv("c", pb{}.str(1, "x"))))},
		{name: "scalars repeated: last wins", req: req(
			pb{}.str(5, "first").str(5, "second").varint(6, 1).varint(6, 3).
				bytes(1, bytes.Repeat([]byte{1}, 16)).bytes(1, nil).
				bytes(2, bytes.Repeat([]byte{3}, 8)).bytes(2, bytes.Repeat([]byte{4}, 8)).
				fixed64(7, 1).fixed64(7, 2).varint(10, 1).varint(10, 0).
				msg(9, pb{}.str(1, "k1").str(1, "k2").msg(2, pb{}.str(1, "v"))))},
		{name: "all-zero ids omitted", req: req(pb{}.bytes(1, make([]byte, 16)).bytes(2, make([]byte, 8)).bytes(4, make([]byte, 8)))},
		{name: "truncating counts and enums", req: req(
			pb{}.varint(6, math.MaxUint64).varint(10, 1<<32|5).varint(12, math.MaxUint32+1).
				varint(14, math.MaxUint64).msg(15, pb{}.varint(3, 1<<40|2)))},
		{name: "negative enum", req: req(pb{}.varint(6, uint64(1<<64-1)).msg(15, pb{}.varint(3, 1<<63)))},
		{name: "bool from any varint", req: req(attrSpan(pb{}.varint(2, 300)))},
		{name: "int64 as 10-byte varint", req: req(attrSpan(pb{}.varint(3, 1<<63)))},
		{name: "overlong varint tag and value", req: req(pb{0xaa, 0x80, 0x00, 0x01, 'x', 0x30, 0x83, 0x80, 0x00})},
		{name: "empty string and bytes values", req: req(attrSpan(pb{}.str(1, "")), attrSpan(pb{}.bytes(7, nil)))},
		{name: "empty kvlist and array", req: req(attrSpan(pb{}.msg(6, nil)), attrSpan(pb{}.msg(5, nil)))},
		{name: "key without value", req: req(pb{}.msg(9, pb{}.str(1, "k")))},
		{name: "entity refs", req: pb{}.msg(1, pb{}.msg(1,
			pb{}.msg(1, kv("service.name", pb{}.str(1, "svc"))).varint(2, 9).
				msg(3, pb{}.str(1, "https://schema").str(2, "service").str(3, "service.name").str(3, "service.namespace").str(4, "service.version")).
				msg(3, pb{}.str(2, "host").str(4, "")).
				msg(3, nil)).
			msg(2, pb{}.msg(2, validSpan)))},
		{name: "nesting 32 deep", req: deep(32)},
		{name: "nesting just under pdata's limit", req: deep(49)},
		{name: "nesting at pdata's limit", req: deep(50), fallback: true, pdataRefuses: true},
		{name: "nesting over pdata's limit", req: deep(60), fallback: true, pdataRefuses: true},
		{name: "control characters", req: req(attrSpan(pb{}.str(1, "\x00\x01\x02\x03\x04\x05\x06\x07\x08\t\n\x0b\x0c\r\x0e\x0f\x10\x1f\"\\/\x7f\u2028\u2029<>&")))},
		{name: "invalid UTF-8 in names and keys", req: req(pb{}.str(5, "\xff\xfe").msg(9, kv("\xc3", pb{}.str(1, "\xe2\x82"))))},

		// Refused: pdata decides (here it accepts, but for the group).
		{name: "status twice", req: req(validSpan.msg(15, pb{}.varint(3, 1)).msg(15, pb{}.str(2, "m"))), fallback: true},
		{name: "resource twice", req: pb{}.msg(1, pb{}.msg(1, nil).msg(1, nil)), fallback: true},
		{name: "scope twice", req: pb{}.msg(1, pb{}.msg(2, pb{}.msg(1, nil).msg(1, nil))), fallback: true},
		{name: "value twice", req: req(pb{}.msg(9, pb{}.str(1, "k").msg(2, nil).msg(2, nil))), fallback: true},
		{name: "oneof twice", req: req(attrSpan(pb{}.str(1, "a").varint(3, 1))), fallback: true},
		{name: "deprecated instrumentation library spans", req: pb{}.msg(1, pb{}.msg(1000, pb{}.msg(2, validSpan))), fallback: true},
		{name: "key strindex", req: req(pb{}.msg(9, pb{}.varint(3, 1))), fallback: true},
		{name: "string value strindex", req: req(attrSpan(pb{}.varint(8, 1))), fallback: true},
		{name: "unknown group", req: req(validSpan.tag(99, 3).varint(1, 1).tag(99, 4)), fallback: true, pdataRefuses: true}, // pdata cannot skip groups holding fields
		// Refused: pdata refuses too.
		{name: "truncated", req: mustProto(genAITraces(2, 1))[:100], fallback: true, pdataRefuses: true},
		{name: "short trace id", req: req(pb{}.bytes(1, []byte{1, 2, 3})), fallback: true, pdataRefuses: true},
		{name: "long span id", req: req(pb{}.bytes(2, make([]byte, 9))), fallback: true, pdataRefuses: true},
		{name: "wrong wire type", req: req(pb{}.varint(5, 1)), fallback: true, pdataRefuses: true},
		{name: "field zero", req: req(pb{}.varint(0, 1)), fallback: true, pdataRefuses: true},
		{name: "wire type 7", req: req(pb{}.tag(5, 7)), fallback: true, pdataRefuses: true},
		{name: "length past end", req: pb{0x0a, 0x05, 0x0a}, fallback: true, pdataRefuses: true},
		{name: "varint overflow", req: pb{0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, fallback: true, pdataRefuses: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			took := checkTranscode(t, tc.req)
			if took == tc.fallback {
				if tc.fallback {
					t.Fatal("transcoded a request it should hand to pdata")
				}
				t.Fatal("refused a request it should transcode")
			}
			if _, _, err := pdataJSON(tc.req); (err != nil) != tc.pdataRefuses {
				t.Fatalf("pdata: %v, want refused %v", err, tc.pdataRefuses)
			}
		})
	}
}

// FuzzTranscode: whatever the bytes, the transcoder either refuses them
// (the request then takes the pdata path) or writes exactly what pdata
// writes, which decodes to what the protobuf decodes to.
func FuzzTranscode(f *testing.F) {
	f.Add(marshalProto(f, fullTraces(1)))
	f.Add(marshalProto(f, genAITraces(3, 1)))
	f.Add([]byte(req(attrSpan(pb{}.msg(6, pb{}.msg(1, kv("k", pb{}.msg(5, pb{}.msg(1, pb{}.fixed64(4, 0))))))))))
	f.Add([]byte(req(pb{}.msg(11, pb{}.fixed64(1, 1).str(2, "e")).msg(13, pb{}.bytes(1, make([]byte, 16)).fixed32(6, 1)))))
	f.Add([]byte{})
	// deep nesting (issue #16): arrays and kvlists around pdata's
	// protobuf recursion limit of 100 messages, and far past it
	for _, n := range []int{45, 60, 2000} {
		arr, kvl := pb{}.str(1, "x"), pb{}.str(1, "x")
		for range n {
			arr = pb{}.msg(5, pb{}.msg(1, arr))
			kvl = pb{}.msg(6, pb{}.msg(1, kv("k", kvl)))
		}
		f.Add([]byte(req(attrSpan(arr))))
		f.Add([]byte(req(attrSpan(kvl))))
	}
	f.Fuzz(func(t *testing.T, req []byte) {
		checkTranscode(t, req)
	})
}

// TestTranscodeStrings: every byte value at every position of the
// word-at-a-time scan is escaped as pdata's writer (jsoniter) escapes it.
func TestTranscodeStrings(t *testing.T) {
	var m ptrace.JSONMarshaler
	pdataStr := func(s string) string {
		td := ptrace.NewTraces()
		td.ResourceSpans().AppendEmpty().SetSchemaUrl(s)
		b, err := m.MarshalTraces(td)
		if err != nil {
			t.Fatal(err)
		}
		// {"resourceSpans":[{"resource":{},"schemaUrl":"..."}]}
		const pre = `{"resourceSpans":[{"resource":{},"schemaUrl":`
		return strings.TrimSuffix(strings.TrimPrefix(string(b), pre), "}]}")
	}
	for c := range 256 {
		for n := 1; n <= 19; n++ {
			for pos := range n {
				b := bytes.Repeat([]byte{'a'}, n)
				b[pos] = byte(c)
				if n > 10 {
					b[n-1] = 0xe9 // high bytes around
				}
				var tr transcoder
				tr.str(b)
				if want := pdataStr(string(b)); string(tr.out) != want {
					t.Fatalf("byte %#x at %d of %d: got %s, want %s", c, pos, n, tr.out, want)
				}
			}
		}
	}
}
