package replay

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// richTraces builds a batch exercising every field the files must keep:
// all AnyValue kinds, resources, scopes, events, links, status.
func richTraces(batch, nRes, nSpans int) ptrace.Traces {
	td := ptrace.NewTraces()
	for r := range nRes {
		rs := td.ResourceSpans().AppendEmpty()
		rs.SetSchemaUrl("https://opentelemetry.io/schemas/1.26.0")
		res := rs.Resource()
		res.Attributes().PutStr("service.name", fmt.Sprintf("svc-%d-%d", batch, r))
		res.Attributes().PutInt("process.pid", 4242)
		res.SetDroppedAttributesCount(1)
		ss := rs.ScopeSpans().AppendEmpty()
		ss.SetSchemaUrl("https://opentelemetry.io/schemas/1.25.0")
		ss.Scope().SetName("llmcheck/test")
		ss.Scope().SetVersion("1.2.3")
		ss.Scope().Attributes().PutStr("scope.attr", "x")
		for i := range nSpans {
			sp := ss.Spans().AppendEmpty()
			sp.SetTraceID(pcommon.TraceID{0xab, byte(batch), byte(r), byte(i), 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 0xff})
			sp.SetSpanID(pcommon.SpanID{0xcd, byte(batch), byte(r), byte(i), 4, 5, 6, 0xff})
			sp.SetParentSpanID(pcommon.SpanID{0xef, byte(batch), byte(r), 3, 4, 5, 6, 7})
			sp.TraceState().FromRaw("vendor=value,other=1")
			sp.SetFlags(1)
			sp.SetName("chat gpt-4o-mini")
			sp.SetKind(ptrace.SpanKindClient)
			sp.SetStartTimestamp(pcommon.Timestamp(1795000000123456789 + uint64(i)))
			sp.SetEndTimestamp(pcommon.Timestamp(1795000001123456789 + uint64(i)))
			a := sp.Attributes()
			a.PutStr("gen_ai.operation.name", "chat")
			a.PutStr("text", "quotes \" backslash \\ newline \n tab \t unicode é 漢字 🙂 \u2028")
			a.PutBool("bool.true", true)
			a.PutBool("bool.false", false)
			a.PutInt("int.max", math.MaxInt64)
			a.PutInt("int.min", math.MinInt64)
			a.PutInt("gen_ai.usage.input_tokens", int64(100+i))
			a.PutDouble("double.pi", math.Pi)
			a.PutDouble("double.small", 1.234567890123e-300)
			a.PutDouble("double.neg", -0.1)
			a.PutEmptyBytes("bytes").FromRaw([]byte{0, 1, 2, 0xfe, 0xff})
			sl := a.PutEmptySlice("slice")
			sl.AppendEmpty().SetStr("a")
			sl.AppendEmpty().SetInt(7)
			sl.AppendEmpty().SetDouble(2.5)
			sl.AppendEmpty().SetBool(true)
			sl.AppendEmpty().SetEmptyMap().PutStr("in", "slice")
			m := a.PutEmptyMap("map")
			m.PutStr("k", "v")
			m.PutEmptyMap("nested").PutInt("deep", -3)
			m.PutEmptySlice("empty.slice")
			a.PutEmpty("empty.value")
			sp.SetDroppedAttributesCount(2)
			ev := sp.Events().AppendEmpty()
			ev.SetName("gen_ai.choice")
			ev.SetTimestamp(pcommon.Timestamp(1795000000523456789))
			ev.Attributes().PutStr("gen_ai.event.content", `{"role":"assistant"}`)
			ev.SetDroppedAttributesCount(1)
			sp.SetDroppedEventsCount(3)
			ln := sp.Links().AppendEmpty()
			ln.SetTraceID(pcommon.TraceID{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16})
			ln.SetSpanID(pcommon.SpanID{1, 2, 3, 4, 5, 6, 7, 8})
			ln.TraceState().FromRaw("a=b")
			ln.Attributes().PutStr("link", "yes")
			ln.SetFlags(1)
			sp.SetDroppedLinksCount(4)
			sp.Status().SetCode(ptrace.StatusCode(i % 3))
			if i%3 == 2 {
				sp.Status().SetMessage("rate limited")
			}
		}
	}
	return td
}

// genAITraces builds a batch of realistic GenAI client spans, about ten
// attributes each, for the benchmarks.
func genAITraces(batch, nSpans int) ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "rag-api")
	rs.Resource().Attributes().PutStr("telemetry.sdk.language", "python")
	rs.Resource().Attributes().PutStr("telemetry.sdk.version", "1.38.0")
	ss := rs.ScopeSpans().AppendEmpty()
	ss.Scope().SetName("opentelemetry.instrumentation.openai_v2")
	ss.Scope().SetVersion("2.1b0")
	for i := range nSpans {
		sp := ss.Spans().AppendEmpty()
		sp.SetTraceID(pcommon.TraceID{byte(batch >> 8), byte(batch), byte(i), 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15})
		sp.SetSpanID(pcommon.SpanID{byte(batch >> 8), byte(batch), byte(i), 3, 4, 5, 6, 7})
		sp.SetParentSpanID(pcommon.SpanID{9, byte(batch), 2, 3, 4, 5, 6, 7})
		sp.SetName("chat gpt-4o-mini")
		sp.SetKind(ptrace.SpanKindClient)
		sp.SetStartTimestamp(pcommon.Timestamp(1795000000000000000 + uint64(i)*1e6))
		sp.SetEndTimestamp(pcommon.Timestamp(1795000000000000000 + uint64(i)*1e6 + 850e6))
		a := sp.Attributes()
		a.PutStr("gen_ai.operation.name", "chat")
		a.PutStr("gen_ai.provider.name", "openai")
		a.PutStr("gen_ai.request.model", "gpt-4o-mini")
		a.PutStr("gen_ai.response.model", "gpt-4o-mini-2024-07-18")
		a.PutStr("gen_ai.response.id", fmt.Sprintf("chatcmpl-%08d%04d", batch, i))
		a.PutDouble("gen_ai.request.temperature", 0.2)
		a.PutInt("gen_ai.request.max_tokens", 512)
		a.PutInt("gen_ai.usage.input_tokens", int64(812+i))
		a.PutInt("gen_ai.usage.output_tokens", int64(143+i%50))
		a.PutEmptySlice("gen_ai.response.finish_reasons").AppendEmpty().SetStr("stop")
		a.PutStr("server.address", "api.openai.com")
		sp.Status().SetCode(ptrace.StatusCodeOk)
	}
	return td
}

// jsonOf renders td as OTLP JSON, to compare batches exactly.
func jsonOf(t testing.TB, td ptrace.Traces) string {
	t.Helper()
	var m ptrace.JSONMarshaler
	b, err := m.MarshalTraces(td)
	require.NoError(t, err)
	return string(b)
}

// spanList renders each span with its resource and scope, in order, so
// that batches split or grouped differently compare equal when they carry
// the same spans.
func spanList(t testing.TB, tds ...ptrace.Traces) []string {
	t.Helper()
	var out []string
	for _, td := range tds {
		for i := 0; i < td.ResourceSpans().Len(); i++ {
			rs := td.ResourceSpans().At(i)
			for j := 0; j < rs.ScopeSpans().Len(); j++ {
				ss := rs.ScopeSpans().At(j)
				for k := 0; k < ss.Spans().Len(); k++ {
					one := ptrace.NewTraces()
					ors := one.ResourceSpans().AppendEmpty()
					rs.Resource().CopyTo(ors.Resource())
					ors.SetSchemaUrl(rs.SchemaUrl())
					oss := ors.ScopeSpans().AppendEmpty()
					ss.Scope().CopyTo(oss.Scope())
					oss.SetSchemaUrl(ss.SchemaUrl())
					ss.Spans().At(k).CopyTo(oss.Spans().AppendEmpty())
					out = append(out, jsonOf(t, one))
				}
			}
		}
	}
	return out
}

// readResult collects what Read delivered.
type readResult struct {
	batches  []ptrace.Traces
	warnings []string
	err      error
}

func (r readResult) spans() int {
	n := 0
	for _, td := range r.batches {
		n += td.SpanCount()
	}
	return n
}

func readAll(paths ...string) readResult {
	var r readResult
	r.err = Read(paths, ReadOptions{Warn: func(m string) { r.warnings = append(r.warnings, m) }},
		func(td ptrace.Traces) error {
			r.batches = append(r.batches, td)
			return nil
		})
	crossCheckSpans(paths)
	return r
}

// encodings of a list of batches in each file format.

func encodeJSONLines(t testing.TB, tds []ptrace.Traces) []byte {
	var b bytes.Buffer
	for _, td := range tds {
		b.WriteString(jsonOf(t, td))
		b.WriteByte('\n')
	}
	return b.Bytes()
}

func encodeProto(t testing.TB, tds []ptrace.Traces) []byte {
	t.Helper()
	var b bytes.Buffer
	var m ptrace.ProtoMarshaler
	for _, td := range tds {
		p, err := m.MarshalTraces(td)
		require.NoError(t, err)
		b.Write(binary.BigEndian.AppendUint32(nil, uint32(len(p))))
		b.Write(p)
	}
	return b.Bytes()
}

func gzipped(t testing.TB, data []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	_, err := zw.Write(data)
	require.NoError(t, err)
	require.NoError(t, zw.Close())
	return b.Bytes()
}

func writeFile(t testing.TB, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	require.NoError(t, os.WriteFile(p, data, 0o644))
	return p
}
