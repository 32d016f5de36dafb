// Package benchdata is the deterministic benchmark run of
// docs/performance.md, shared by the package benchmarks (runner) and the
// comparison tool (bench/, a separate module): n/4 traces of root →
// embeddings → retrieval → chat with GenAI semantic-convention attributes
// (~10 on chat spans), in OTLP JSON lines and in length-prefixed OTLP
// protobuf, and the ten assertions checked over it.
package benchdata

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"os"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// Config has the shapes of a real suite: where clauses touching every
// span, an each: trace, percentiles, a retrieval metric, cost.
const Config = `pricing:
  gpt-4o-mini: {input: 0.15, output: 0.60, cached_input: 0.075}
  text-embedding-3-small: {input: 0.02}
assertions:
  - name: chat p95
    where: span.operation == "chat"
    expect: latency.p95 < 5000
  - name: chat p99 by model
    where: span.operation == "chat" && span.model == "gpt-4o-mini"
    expect: latency.p99 < 10000 && errors < count
  - name: tokens
    expect: tokens.total > 0
  - name: cost
    where: span.operation in ["chat", "embeddings"]
    expect: cost < 1000.0
  - name: retrieval
    where: span.operation == "retrieval"
    expect: retrieval.hit_rate > 0.1 && retrieval.ndcg > 0.0
  - name: per trace
    each: trace
    expect: trace.llm_calls <= 2 && trace.duration_ms < 60000
  - name: attribute percentile
    where: span.operation == "chat"
    expect: percentile(spans.map(s, double(s.attrs["gen_ai.request.temperature"])), 0.9) <= 1.0
  - name: error rate
    expect: error_rate < 0.5
  - name: embeddings fast
    where: span.operation == "embeddings"
    expect: latency.p50 < 1000
  - name: no empty chat
    where: span.operation == "chat"
    expect: spans.all(s, s.tokens.output > 0)
`

// PerBatch is the number of spans per line/record, as the SDK's batch
// processor sends them.
const PerBatch = 512

// Batch returns the batch of spans [start, min(start+PerBatch, n)).
func Batch(start, n int) ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "bench")
	ss := rs.ScopeSpans().AppendEmpty()
	ss.Scope().SetName("bench")
	base := uint64(1_700_000_000_000_000_000)
	for i := start; i < min(start+PerBatch, n); i++ {
		tr := i / 4
		s := ss.Spans().AppendEmpty()
		var tid [16]byte
		var sid, pid [8]byte
		binary.BigEndian.PutUint64(tid[8:], uint64(tr)+1)
		binary.BigEndian.PutUint64(sid[:], uint64(i)+1)
		binary.BigEndian.PutUint64(pid[:], uint64(tr*4)+1)
		s.SetTraceID(pcommon.TraceID(tid))
		s.SetSpanID(pcommon.SpanID(sid))
		st := base + uint64(tr)*1e9 + uint64(i%4)*1e6
		dur := uint64(5e6 + (i*7919)%200e6)
		s.SetStartTimestamp(pcommon.Timestamp(st))
		s.SetEndTimestamp(pcommon.Timestamp(st + dur))
		a := s.Attributes()
		switch i % 4 {
		case 0:
			s.SetName("answer")
			a.PutStr("app.question", "q")
			a.PutEmptySlice("llmcheck.relevant_ids").AppendEmpty().SetStr(fmt.Sprintf("doc-%d", tr%50))
		case 1:
			s.SetParentSpanID(pcommon.SpanID(pid))
			s.SetName("embeddings text-embedding-3-small")
			a.PutStr("gen_ai.operation.name", "embeddings")
			a.PutStr("gen_ai.provider.name", "openai")
			a.PutStr("gen_ai.request.model", "text-embedding-3-small")
			a.PutInt("gen_ai.usage.input_tokens", int64(10+i%50))
		case 2:
			s.SetParentSpanID(pcommon.SpanID(pid))
			s.SetName("retrieval kb")
			a.PutStr("gen_ai.operation.name", "retrieval")
			a.PutStr("gen_ai.data_source.id", "kb")
			a.PutStr("gen_ai.retrieval.query.text", "what is the refund policy")
			a.PutStr("gen_ai.retrieval.documents", fmt.Sprintf(`[{"id":"doc-%d","score":0.9},{"id":"doc-%d","score":0.5},{"id":"doc-%d","score":0.2}]`, tr%50, (tr+1)%50, (tr+2)%50))
		case 3:
			s.SetParentSpanID(pcommon.SpanID(pid))
			s.SetName("chat gpt-4o-mini")
			s.SetKind(ptrace.SpanKindClient)
			a.PutStr("gen_ai.operation.name", "chat")
			a.PutStr("gen_ai.provider.name", "openai")
			a.PutStr("gen_ai.request.model", "gpt-4o-mini")
			a.PutStr("gen_ai.response.model", "gpt-4o-mini")
			a.PutDouble("gen_ai.request.temperature", 0.2)
			a.PutInt("gen_ai.usage.input_tokens", int64(500+i%300))
			a.PutInt("gen_ai.usage.output_tokens", int64(50+i%100))
			a.PutInt("gen_ai.usage.cache_read.input_tokens", int64(i%200))
			a.PutStr("gen_ai.response.id", "chatcmpl-123")
			a.PutEmptySlice("gen_ai.response.finish_reasons").AppendEmpty().SetStr("stop")
		}
	}
	return td
}

// WriteJSON writes n spans as OTLP JSON lines (what `llmcheck record` and
// the Collector's fileexporter write).
func WriteJSON(path string, n int) error {
	return write(path, n, func(w *bufio.Writer, td ptrace.Traces) error {
		var m ptrace.JSONMarshaler
		b, err := m.MarshalTraces(td)
		if err != nil {
			return err
		}
		w.Write(b)
		return w.WriteByte('\n')
	})
}

// WriteProto writes n spans as length-prefixed OTLP protobuf (the
// fileexporter's "format: proto").
func WriteProto(path string, n int) error {
	return write(path, n, func(w *bufio.Writer, td ptrace.Traces) error {
		var m ptrace.ProtoMarshaler
		b, err := m.MarshalTraces(td)
		if err != nil {
			return err
		}
		var hdr [4]byte
		binary.BigEndian.PutUint32(hdr[:], uint32(len(b)))
		w.Write(hdr[:])
		_, err = w.Write(b)
		return err
	})
}

func write(path string, n int, enc func(*bufio.Writer, ptrace.Traces) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	for start := 0; start < n; start += PerBatch {
		if err := enc(w, Batch(start, n)); err != nil {
			f.Close()
			return err
		}
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
