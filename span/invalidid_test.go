package span

import (
	"bytes"
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// emptySpansJSON is one OTLP JSON line of n span objects written as each,
// between the valid spans before and after.
func emptySpansJSON(n int, each string, before, after []string) []byte {
	var b bytes.Buffer
	b.WriteString(`{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"svc"}}]},"scopeSpans":[{"scope":{"name":"sc"},"spans":[`)
	parts := append([]string(nil), before...)
	for range n {
		parts = append(parts, each)
	}
	parts = append(parts, after...)
	b.WriteString(strings.Join(parts, ","))
	b.WriteString("]}]}]}\n")
	return b.Bytes()
}

const (
	validSpan  = `{"traceId":"0102030405060708090a0b0c0d0e0f10","spanId":"00000000000000a1","name":"ok"}`
	validSpan2 = `{"traceId":"0102030405060708090a0b0c0d0e0f10","spanId":"00000000000000a2","parentSpanId":"00000000000000a1","name":"ok2"}`
	// a link sends the line to the slow (pdata) path
	linkedSpan = `{"traceId":"0102030405060708090a0b0c0d0e0f10","spanId":"00000000000000a3","name":"linked","links":[{"traceId":"0102030405060708090a0b0c0d0e0f10","spanId":"00000000000000a1"}]}`
)

// A span without a valid trace id or span id (missing, "" or all zeros)
// belongs to no trace: every path skips it and counts it exactly once,
// and keeps the valid spans around it.
func TestDecodeSkipsSpansWithoutValidIDs(t *testing.T) {
	const n = 100_000
	for _, tc := range []struct {
		name          string
		each          string
		before, after []string
		fast          bool // taken by the fast JSON path
		want          []string
	}{
		{"empty objects", `{}`, nil, nil, true, nil},
		{"empty id strings", `{"traceId":"","spanId":""}`, nil, nil, true, nil},
		{"zero trace id", `{"traceId":"00000000000000000000000000000000","spanId":"00000000000000b1","name":"x"}`, nil, nil, true, nil},
		{"zero span id", `{"traceId":"0102030405060708090a0b0c0d0e0f10","spanId":"0000000000000000","name":"x"}`, nil, nil, true, nil},
		{"missing span id", `{"traceId":"0102030405060708090a0b0c0d0e0f10","name":"x","attributes":[{"key":"k","value":{"stringValue":"v"}}]}`, nil, nil, true, nil},
		{"between valid spans", `{}`, []string{validSpan}, []string{validSpan2}, true, []string{"ok", "ok2"}},
		{"slow path", `{}`, []string{validSpan}, []string{linkedSpan}, false, []string{"ok", "linked"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := emptySpansJSON(n, tc.each, tc.before, tc.after)
			d := NewDecoder()
			_, fast := d.DecodeJSONFast(nil, data, nil)
			assert.Equal(t, tc.fast, fast, "taken by the fast path")
			d.TakeSkipped()

			var warns []string
			spans, err := d.DecodeJSON(nil, data, func(w string) { warns = append(warns, w) })
			require.NoError(t, err)
			assert.Empty(t, warns)
			var names []string
			for _, s := range spans {
				names = append(names, s.Name)
				assert.Equal(t, "svc", s.Service)
				assert.Equal(t, "sc", s.Scope)
			}
			assert.Equal(t, tc.want, names)
			assertSkipped(t, d, n, 0)
			assertSkipped(t, d, 0, 0) // TakeSkipped resets

			// the same batch through pdata, in protobuf: fast and slow
			// protobuf paths and FromTracesWarn agree
			var ju ptrace.JSONUnmarshaler
			td, err := ju.UnmarshalTraces(data)
			require.NoError(t, err)
			var pm ptrace.ProtoMarshaler
			pb, err := pm.MarshalTraces(td)
			require.NoError(t, err)
			spans, err = d.DecodeProto(nil, pb, nil)
			require.NoError(t, err)
			assert.Len(t, spans, len(tc.want))
			assertSkipped(t, d, n, 0)

			warns = nil
			spans = fromTracesWarn(nil, td, func(w string) { warns = append(warns, w) })
			assert.Len(t, spans, len(tc.want))
			assert.Equal(t, []string{fmt.Sprintf("%d spans without a valid trace id or span id skipped (OTLP requires non-zero ids)", n)}, warns)
		})
	}
}

func assertSkipped(t *testing.T, d *Decoder, spans, emptyKeys int) {
	t.Helper()
	s, k := d.TakeSkipped()
	assert.Equal(t, spans, s, "spans skipped")
	assert.Equal(t, emptyKeys, k, "attributes with an empty key skipped")
}

func TestSkippedWarning(t *testing.T) {
	assert.Equal(t, "", SkippedWarning(0, 0))
	assert.Equal(t, "1 span without a valid trace id or span id skipped (OTLP requires non-zero ids)", SkippedWarning(1, 0))
	assert.Equal(t, "2 spans without a valid trace id or span id skipped (OTLP requires non-zero ids)", SkippedWarning(2, 0))
	assert.Equal(t, "1 attribute with an empty key skipped (OTLP requires a key)", SkippedWarning(0, 1))
	assert.Equal(t, "3 spans without a valid trace id or span id skipped (OTLP requires non-zero ids); 2 attributes with an empty key skipped (OTLP requires a key)", SkippedWarning(3, 2))
}

// Attributes with an empty key ({} in an attributes list) are invalid
// OTLP: skipped and counted on every path, for the resource, the spans
// and their events (not for the spans skipped for their ids).
func TestDecodeSkipsEmptyKeys(t *testing.T) {
	const n = 10_000
	empties := strings.TrimSuffix(strings.Repeat(`{},`, n), ",")
	for _, tc := range []struct {
		name      string
		line      string
		fast      bool
		attrs     int // attributes of the first span
		events    int // attributes of its first event
		service   string
		emptyKeys int
		badIDs    int
	}{
		{"span", `{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"0102030405060708090a0b0c0d0e0f10","spanId":"00000000000000a1","attributes":[` + empties + `,{"key":"k","value":{"intValue":"1"}}]}]}]}]}`, true, 1, 0, "", n, 0},
		{"event", `{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"0102030405060708090a0b0c0d0e0f10","spanId":"00000000000000a1","events":[{"name":"e","attributes":[` + empties + `]}]}]}]}]}`, true, 0, 0, "", n, 0},
		{"resource", `{"resourceSpans":[{"resource":{"attributes":[` + empties + `,{"key":"service.name","value":{"stringValue":"svc"}}]},"scopeSpans":[{"spans":[{"traceId":"0102030405060708090a0b0c0d0e0f10","spanId":"00000000000000a1"}]}]}]}`, true, 0, 0, "svc", n, 0},
		{"span of an invalid id", `{"resourceSpans":[{"scopeSpans":[{"spans":[{"attributes":[` + empties + `]},{"traceId":"0102030405060708090a0b0c0d0e0f10","spanId":"00000000000000a1"}]}]}]}`, true, 0, 0, "", 0, 1},
		{"slow path", `{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"0102030405060708090a0b0c0d0e0f10","spanId":"00000000000000a1","attributes":[` + empties + `,{"key":"k","value":{"intValue":"1"}}],"events":[{"name":"e","attributes":[{},{"key":"x","value":{"intValue":"1"}}]}],"links":[{"traceId":"0102030405060708090a0b0c0d0e0f10","spanId":"00000000000000a2"}]}]}]}]}`, false, 1, 1, "", n + 1, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := []byte(tc.line)
			d := NewDecoder()
			_, fast := d.DecodeJSONFast(nil, data, nil)
			assert.Equal(t, tc.fast, fast, "taken by the fast path")
			d.TakeSkipped()

			var ju ptrace.JSONUnmarshaler
			td, err := ju.UnmarshalTraces(data)
			require.NoError(t, err)
			var pm ptrace.ProtoMarshaler
			pb, err := pm.MarshalTraces(td)
			require.NoError(t, err)
			for _, c := range []struct {
				name   string
				decode func() ([]Span, error)
			}{
				{"json", func() ([]Span, error) { return d.DecodeJSON(nil, data, nil) }},
				{"proto", func() ([]Span, error) { return d.DecodeProto(nil, pb, nil) }},
			} {
				spans, err := c.decode()
				require.NoError(t, err, c.name)
				require.Len(t, spans, 1, c.name)
				s := spans[0]
				assert.Len(t, s.Attrs, tc.attrs, c.name)
				_, has := s.Attrs.Get("")
				assert.False(t, has, c.name)
				if len(s.Events) > 0 {
					assert.Len(t, s.Events[0].Attrs, tc.events, c.name)
				}
				assert.Equal(t, tc.service, s.Service, c.name)
				_, has = s.Resource[""]
				assert.False(t, has, c.name)
				assertSkipped(t, d, tc.badIDs, tc.emptyKeys)
			}
			var warns []string
			spans := fromTracesWarn(nil, td, func(w string) { warns = append(warns, w) })
			assert.Len(t, spans, 1)
			assert.Equal(t, []string{SkippedWarning(tc.badIDs, tc.emptyKeys)}, warns)
		})
	}
}

// The 3-bytes-a-span amplifier (issue hardspan: 1M "{}" spans, 3 MB,
// took 1.8 GB): decoding empty spans allocates nothing per span.
func TestDecodeEmptySpansBounded(t *testing.T) {
	const n = 100_000
	data := emptySpansJSON(n, `{}`, nil, nil)
	var pm ptrace.ProtoMarshaler
	var ju ptrace.JSONUnmarshaler
	td, err := ju.UnmarshalTraces(data)
	require.NoError(t, err)
	pb, err := pm.MarshalTraces(td)
	require.NoError(t, err)
	for _, c := range []struct {
		name   string
		decode func(d *Decoder) ([]Span, error)
	}{
		{"json", func(d *Decoder) ([]Span, error) { return d.DecodeJSON(nil, data, nil) }},
		{"proto", func(d *Decoder) ([]Span, error) { return d.DecodeProto(nil, pb, nil) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			d := NewDecoder()
			var spans []Span
			allocs := testing.AllocsPerRun(5, func() {
				spans, err = c.decode(d)
				d.TakeSkipped()
			})
			require.NoError(t, err)
			assert.Empty(t, spans)
			assert.LessOrEqual(t, allocs, 10.0, "allocations decoding %d empty spans", n)

			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			spans, err = c.decode(d)
			runtime.ReadMemStats(&after)
			require.NoError(t, err)
			assert.Empty(t, spans)
			assertSkipped(t, d, n, 0)
			bytes := after.TotalAlloc - before.TotalAlloc
			assert.LessOrEqual(t, bytes, uint64(16<<10), "bytes allocated decoding %d empty spans", n)
			t.Logf("%s: %.0f allocs, %d bytes for %d empty spans", c.name, allocs, bytes, n)
		})
	}
}
