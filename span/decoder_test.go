package span

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"

	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/llmcheck/llmcheck/internal/jsondepth"
)

// TestMain makes every FromTracesWarn call of this package's tests also
// decode the same batch, marshalled as OTLP JSON and protobuf, with a
// Decoder, and fails the run if the spans or warnings differ: the fast
// paths are checked against every case the normaliser is tested with.
func TestMain(m *testing.M) {
	flag.Parse()
	if f := flag.Lookup("test.bench"); f != nil && f.Value.String() != "" {
		os.Exit(m.Run()) // benchmarks measure FromTraces, not the check
	}
	var (
		mu       sync.Mutex
		failures []string
		shared   = NewDecoder() // keeps its intern tables across cases
		checked  = map[ptrace.Traces]bool{}
	)
	crossCheck = func(dst []Span, td ptrace.Traces, warn func(string)) []Span {
		// Each batch once: a repeated call (testing.AllocsPerRun after
		// its warm-up) is left unobserved.
		mu.Lock()
		done := checked[td]
		checked[td] = true
		mu.Unlock()
		if done {
			return fromTracesWarn(dst, td, warn)
		}
		var want []string
		n0 := len(dst)
		out := fromTracesWarn(dst, td, func(w string) {
			want = append(want, w)
			if warn != nil {
				warn(w)
			}
		})
		mu.Lock()
		defer mu.Unlock()
		if msg := compareDecoders(td, out[n0:], want, shared); msg != "" {
			failures = append(failures, msg)
		}
		return out
	}
	code := m.Run()
	if len(failures) > 0 {
		fmt.Fprintf(os.Stderr, "Decoder differs from FromTracesWarn in %d cases:\n%s\n", len(failures), strings.Join(failures, "\n"))
		code = 1
	}
	os.Exit(code)
}

// compareDecoders decodes td's JSON and protobuf forms with d and with a
// new Decoder and describes any difference from want.
func compareDecoders(td ptrace.Traces, want []Span, wantWarns []string, d *Decoder) string {
	var jm ptrace.JSONMarshaler
	js, err := jm.MarshalTraces(td)
	if err != nil {
		return err.Error()
	}
	var pm ptrace.ProtoMarshaler
	pb, err := pm.MarshalTraces(td)
	if err != nil {
		return err.Error()
	}
	wantS := fmt.Sprintf("%#v", want)
	for _, c := range []struct {
		name string
		dec  *Decoder
		fn   func(*Decoder, []Span, []byte, func(string)) ([]Span, error)
		data []byte
	}{
		{"json", d, (*Decoder).DecodeJSON, js},
		{"json/new", NewDecoder(), (*Decoder).DecodeJSON, js},
		{"proto", d, (*Decoder).DecodeProto, pb},
		{"proto/new", NewDecoder(), (*Decoder).DecodeProto, pb},
	} {
		var warns []string
		got, err := c.fn(c.dec, nil, c.data, func(w string) { warns = append(warns, w) })
		if err != nil {
			return fmt.Sprintf("%s: %v\n  input %s", c.name, err, js)
		}
		if w := SkippedWarning(c.dec.TakeSkipped()); w != "" {
			warns = append(warns, w)
		}
		if g := fmt.Sprintf("%#v", got); g != wantS {
			return fmt.Sprintf("%s: spans differ\n  got  %s\n  want %s\n  input %s", c.name, g, wantS, js)
		}
		if fmt.Sprint(warns) != fmt.Sprint(wantWarns) {
			return fmt.Sprintf("%s: warnings differ\n  got  %q\n  want %q\n  input %s", c.name, warns, wantWarns, js)
		}
	}
	return ""
}

// decodeBoth decodes data with pdata + FromTracesWarn and with a Decoder.
func decodeBoth(t testing.TB, data []byte) (want, got string) {
	t.Helper()
	var u ptrace.JSONUnmarshaler
	// the reference is pdata behind the documented nesting bound
	err := jsondepth.Check(data, jsondepth.Max)
	var td ptrace.Traces
	if err == nil {
		td, err = u.UnmarshalTraces(data)
	}
	if err != nil {
		want = "error: " + err.Error()
	} else {
		var warns []string
		spans := fromTracesWarn(nil, td, func(w string) { warns = append(warns, w) })
		want = fmt.Sprintf("%#v %q", spans, warns)
	}
	var warns []string
	d := NewDecoder()
	spans, err := d.DecodeJSON(nil, data, func(w string) { warns = append(warns, w) })
	if err != nil {
		got = "error: " + err.Error()
	} else {
		if w := SkippedWarning(d.TakeSkipped()); w != "" {
			warns = append(warns, w)
		}
		got = fmt.Sprintf("%#v %q", spans, warns)
	}
	return want, got
}

// jsonCases are OTLP JSON shapes other writers produce (or could), each
// decoded by both paths.
//
// Every span has ids (a span without is skipped before its fields are
// read, which would leave the rest of a case untested), except in the
// cases about ids.
var jsonCases = []string{
	`{}`,
	`{"resourceSpans":[]}`,
	`{"resourceSpans":[{}]}`,
	`{"resourceSpans":[{"scopeSpans":[{"spans":[{}]}]}]}`,
	// numbers where pdata writes strings, upper-case ids, whitespace
	`{ "resourceSpans" : [ { "resource" : { "attributes" : [ { "key" : "service.name" , "value" : { "stringValue" : "svc" } } ] } ,
	  "scopeSpans" : [ { "scope" : { "name" : "s", "version": "1" } , "spans" : [ { "traceId" : "0AF7651916CD43DD8448EB211C80319C" ,
	  "spanId" : "B7AD6B7169203331" , "parentSpanId": "0000000000000000", "name" : "chat" , "kind" : 3 ,
	  "startTimeUnixNano" : 1795000000000000000 , "endTimeUnixNano" : "1795000000850000000" ,
	  "attributes" : [ { "key" : "gen_ai.usage.input_tokens" , "value" : { "intValue" : 12 } },
	                   { "key" : "gen_ai.usage.output_tokens" , "value" : { "intValue" : "-3" } },
	                   { "key" : "gen_ai.request.temperature" , "value" : { "doubleValue" : 0.7 } },
	                   { "key" : "t2" , "value" : { "doubleValue" : "0.1" } },
	                   { "key" : "t3" , "value" : { "doubleValue" : 1e3 } },
	                   { "key" : "t4" , "value" : { "doubleValue" : 0.12345678901234567 } },
	                   { "key" : "b" , "value" : { "boolValue" : true } },
	                   { "key" : "e" , "value" : { } },
	                   { "key" : "n" },
	                   { "key" : "arr" , "value" : { "arrayValue" : { "values" : [ { "stringValue" : "x" }, { "intValue": 1 }, {"arrayValue": {}} ] } } },
	                   { "key" : "kv" , "value" : { "kvlistValue" : { "values" : [ { "key" : "a" , "value" : { "stringValue" : "é\u00e9\n\"" } } ] } } },
	                   { "key" : "kv0" , "value" : { "kvlistValue" : { } } } ],
	  "events": [ { "name": "db.query.result", "timeUnixNano": "5", "attributes": [ {"key": "db.query.result.id", "value": {"intValue": "7"}}, {"key": "db.query.result.score", "value": {"stringValue": "x"}} ] }, {"name": "e2"} ],
	  "status" : { "code" : 2 , "message" : "boom" } } ] } ] } ] }`,
	// resource after scope spans, events before the name
	`{"resourceSpans":[{"scopeSpans":[{"spans":[{"events":[{"name":"db.query.result","attributes":[{"key":"db.query.result.score","value":{"stringValue":"bad"}}]}],"name":"late","traceId":"0af7651916cd43dd8448eb211c80319c","spanId":"b7ad6b7169203331"}],"scope":{"name":"sc"}}],"resource":{"attributes":[{"key":"service.name","value":{"intValue":"5"}}]}}]}`,
	// duplicate attribute keys: pdata keeps both
	`{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"a"}},{"key":"service.name","value":{"stringValue":"b"}}]},"scopeSpans":[{"spans":[{"traceId":"0af7651916cd43dd8448eb211c80319c","spanId":"b7ad6b7169203331","attributes":[{"key":"gen_ai.request.model","value":{"stringValue":"a"}},{"key":"gen_ai.request.model","value":{"stringValue":"b"}}]}]}]}]}`,
	`{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"0af7651916cd43dd8448eb211c80319c","spanId":"b7ad6b7169203331","attributes":[{"key":"gen_ai.retrieval.documents","value":{"arrayValue":{"values":[{"kvlistValue":{"values":[{"key":"id","value":{"stringValue":"a"}},{"key":"id","value":{"stringValue":"b"}}]}}]}}}]}]}]}]}`,
	// snake_case, enum names, links, bytes, strindex, escaped keys
	`{"resource_spans":[{"scope_spans":[{"spans":[{"trace_id":"0af7651916cd43dd8448eb211c80319c","span_id":"b7ad6b7169203331","name":"x"}]}]}]}`,
	`{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"0af7651916cd43dd8448eb211c80319c","spanId":"b7ad6b7169203331","kind":"SPAN_KIND_CLIENT","status":{"code":"STATUS_CODE_ERROR"}}]}]}]}`,
	`{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"0af7651916cd43dd8448eb211c80319c","spanId":"b7ad6b7169203331","links":[{"traceId":"0af7651916cd43dd8448eb211c80319c","spanId":"b7ad6b7169203331"}]}]}]}]}`,
	`{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"0af7651916cd43dd8448eb211c80319c","spanId":"b7ad6b7169203331","attributes":[{"key":"b","value":{"bytesValue":"aGVsbG8="}}]}]}]}]}`,
	`{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"0af7651916cd43dd8448eb211c80319c","spanId":"b7ad6b7169203331","attributes":[{"key":"b","value":{"stringValue":"x","intValue":3}}]}]}]}]}`,
	`{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"0af7651916cd43dd8448eb211c80319c","spanId":"b7ad6b7169203331","attributes":[{"k\u0065y":"b","value":{"stringValue":"x"}}]}]}]}]}`,
	`{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"0af7651916cd43dd8448eb211c80319c","spanId":"b7ad6b7169203331","name":"\ud83d\ude00 \ud800"}]}]}]}`,
	`{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"0af7651916cd43dd8448eb211c80319c","spanId":"b7ad6b7169203331","name":"bad utf8 ` + "\xff" + `"}]}]}]}`,
	`{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"0af7651916cd43dd8448eb211c80319c","spanId":"b7ad6b7169203331","unknownField":{"a":[1,2]},"name":"x"}]}]}],"extra":1}`,
	// errors
	`{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"abc"}]}]}]}`,
	`{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"zzf7651916cd43dd8448eb211c80319c"}]}]}]}`,
	`{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"0af7651916cd43dd8448eb211c80319c","spanId":"b7ad6b7169203331","startTimeUnixNano":"-1"}]}]}]}`,
	`{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"0af7651916cd43dd8448eb211c80319c","spanId":"b7ad6b7169203331","startTimeUnixNano":1.5}]}]}]}`,
	`{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"0af7651916cd43dd8448eb211c80319c","spanId":"b7ad6b7169203331","attributes":[{"key":"i","value":{"intValue":"1.5"}}]}]}]}]}`,
	`{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"0af7651916cd43dd8448eb211c80319c","spanId":"b7ad6b7169203331","attributes":[{"key":"i","value":{"intValue":99999999999999999999}}]}]}]}]}`,
	`{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"0af7651916cd43dd8448eb211c80319c","spanId":"b7ad6b7169203331","kind":9}, {"traceId":"0af7651916cd43dd8448eb211c80319c","spanId":"b7ad6b7169203332","kind":-1}, {"traceId":"0af7651916cd43dd8448eb211c80319c","spanId":"b7ad6b7169203333","status":{"code":7}}]}]}]}`,
	`{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"0af7651916cd43dd8448eb211c80319c","spanId":"b7ad6b7169203331","flags":"x"}]}]}]}`,
	`{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"0af7651916cd43dd8448eb211c80319c","spanId":"b7ad6b7169203331","name":null}]}]}]}`,
	`{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"0af7651916cd43dd8448eb211c80319c","spanId":"b7ad6b7169203331","name":"x",}]}]}]}`,
	`{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"0af7651916cd43dd8448eb211c80319c","spanId":"b7ad6b7169203331","name":"x"}]}]}]}  `,
	`[]`,
}

func TestDecodeJSONMatchesPdata(t *testing.T) {
	for i, c := range jsonCases {
		want, got := decodeBoth(t, []byte(c))
		if got != want {
			t.Errorf("case %d: %s\n got  %s\n want %s", i, c, got, want)
		}
	}
}

func FuzzDecodeJSON(f *testing.F) {
	for _, c := range jsonCases {
		f.Add([]byte(c))
	}
	// deep nesting (issue #16): past the JSON depth limit, and within it
	f.Add(deepSpan(300, "array"))
	f.Add(deepSpan(300, "kvlist"))
	f.Add(deepSpan(60, "kvlist"))
	f.Fuzz(func(t *testing.T, data []byte) {
		want, got := decodeBoth(t, data)
		if got != want {
			t.Errorf("%q\n got  %s\n want %s", data, got, want)
		}
	})
}

// TestFastPathTaken checks the common shape does not fall back to pdata.
func TestFastPathTaken(t *testing.T) {
	td := build(t, "svc",
		tspan{name: "chat", start: 1, end: 2, parent: "00f067aa0ba902b7", attrs: map[string]any{
			"gen_ai.operation.name": "chat", "gen_ai.usage.input_tokens": 3, "gen_ai.request.temperature": 0.2,
			"gen_ai.response.finish_reasons": []any{"stop"}, "m": map[string]any{"a": "b"}, "ok": true,
			"gen_ai.retrieval.documents": `[{"id":"a","score":0.5}]`,
		}, events: []tevent{{name: "db.query.result", time: 3, attrs: map[string]any{"db.query.result.id": "x"}}}},
	)
	var jm ptrace.JSONMarshaler
	js, _ := jm.MarshalTraces(td)
	d := NewDecoder()
	if _, ok := d.fastJSON(nil, js); !ok {
		t.Errorf("fast JSON path refused %s", js)
	}
	var pm ptrace.ProtoMarshaler
	pb, _ := pm.MarshalTraces(td)
	if _, ok := d.fastProto(nil, pb); !ok {
		t.Errorf("fast protobuf path refused the batch")
	}
}

func TestHasSpecial(t *testing.T) {
	special := func(c byte) bool { return c == '"' || c == '\\' || c < 0x20 || c >= 0x80 }
	seed := uint64(1)
	for range 200000 {
		seed = seed*6364136223846793005 + 1442695040888963407
		var b [8]byte
		want := false
		for i := range b {
			b[i] = byte(seed >> (8 * i))
			if seed>>60 < 12 { // mostly printable ASCII
				b[i] = 0x20 + b[i]%0x5f
			}
			want = want || special(b[i])
		}
		x := uint64(0)
		for i := 7; i >= 0; i-- {
			x = x<<8 | uint64(b[i])
		}
		if got := hasSpecial(x); want && !got {
			t.Fatalf("hasSpecial(%q) = false", b[:])
		}
	}
}

// decodeBothProto decodes data with pdata + FromTracesWarn and with a
// Decoder.
func decodeBothProto(t testing.TB, data []byte) (want, got string) {
	t.Helper()
	var u ptrace.ProtoUnmarshaler
	td, err := u.UnmarshalTraces(data)
	if err != nil {
		want = "error: " + err.Error()
	} else {
		var warns []string
		spans := fromTracesWarn(nil, td, func(w string) { warns = append(warns, w) })
		want = fmt.Sprintf("%#v %q", spans, warns)
	}
	var warns []string
	d := NewDecoder()
	spans, err := d.DecodeProto(nil, data, func(w string) { warns = append(warns, w) })
	if err != nil {
		got = "error: " + err.Error()
	} else {
		if w := SkippedWarning(d.TakeSkipped()); w != "" {
			warns = append(warns, w)
		}
		got = fmt.Sprintf("%#v %q", spans, warns)
	}
	return want, got
}

// protoCases are the JSON cases pdata reads, in protobuf, plus a few wire
// oddities.
func protoCases(t testing.TB) [][]byte {
	var out [][]byte
	var u ptrace.JSONUnmarshaler
	var m ptrace.ProtoMarshaler
	for _, c := range jsonCases {
		td, err := u.UnmarshalTraces([]byte(c))
		if err != nil {
			continue
		}
		b, err := m.MarshalTraces(td)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
		if len(b) > 4 {
			// the same message twice: repeated fields append, singular
			// ones are merged or replaced
			out = append(out, append(bytes.Clone(b), b...), b[:len(b)/2], b[1:])
		}
	}
	out = append(out,
		[]byte{0x0a, 0x00},                         // an empty ResourceSpans
		[]byte{0x0a, 0x02, 0x12, 0x00},             // empty ScopeSpans
		[]byte{0x0a, 0x04, 0x12, 0x02, 0x12, 0x00}, // an empty span
		[]byte{0x0b},                               // a group tag
	)
	return out
}

func TestDecodeProtoMatchesPdata(t *testing.T) {
	for i, c := range protoCases(t) {
		want, got := decodeBothProto(t, c)
		if got != want {
			t.Errorf("case %d: %x\n got  %s\n want %s", i, c, got, want)
		}
	}
}

func FuzzDecodeProto(f *testing.F) {
	for _, c := range protoCases(f) {
		f.Add(c)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		want, got := decodeBothProto(t, data)
		if got != want {
			t.Errorf("%x\n got  %s\n want %s", data, got, want)
		}
	})
}
