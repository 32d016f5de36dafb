package span

import (
	"fmt"
	"testing"

	"go.opentelemetry.io/collector/pdata/ptrace"
)

// benchTraces builds a batch shaped like a RAG test suite's traces: per
// request a root, an embedding, a retrieval and a chat span, cycling through
// the three conventions, plus the HTTP attributes real spans carry.
func benchTraces(b *testing.B, requests int) ptrace.Traces {
	td := ptrace.NewTraces()
	common := map[string]any{
		"http.request.method": "POST", "server.address": "api.example.com", "server.port": 443,
		"url.full": "https://api.example.com/v1/chat/completions", "http.response.status_code": 200,
	}
	with := func(extra map[string]any) map[string]any {
		m := make(map[string]any, len(common)+len(extra))
		for k, v := range common {
			m[k] = v
		}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	for r := 0; r < requests; r++ {
		tr := fmt.Sprintf("%032x", r+1)
		root := fmt.Sprintf("%016x", 4*r+1)
		id := func(i int) string { return fmt.Sprintf("%016x", 4*r+i) }
		start := uint64(r) * 1_000_000_000
		spans := []tspan{{trace: tr, id: root, name: "answer", start: start, end: start + 900_000_000,
			attrs: map[string]any{"app.question.id": int64(r)}}}
		switch r % 3 {
		case 0: // GenAI semconv
			spans = append(spans,
				tspan{trace: tr, id: id(2), parent: root, name: "embeddings text-embedding-3-small", start: start + 1, end: start + 50_000_000, attrs: with(map[string]any{
					"gen_ai.operation.name": "embeddings", "gen_ai.provider.name": "openai", "gen_ai.request.model": "text-embedding-3-small",
					"gen_ai.usage.input_tokens": 12})},
				tspan{trace: tr, id: id(3), parent: root, name: "retrieval kb", start: start + 50_000_000, end: start + 80_000_000, attrs: map[string]any{
					"gen_ai.operation.name": "retrieval", "gen_ai.data_source.id": "kb", "gen_ai.retrieval.query.text": "how do refunds work",
					"gen_ai.retrieval.documents": `[{"id":"doc-1","score":0.91},{"id":"doc-4","score":0.62},{"id":"doc-9","score":0.40}]`}},
				tspan{trace: tr, id: id(4), parent: root, name: "chat gpt-4o-mini", start: start + 80_000_000, end: start + 890_000_000, attrs: with(map[string]any{
					"gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-4o-mini",
					"gen_ai.response.model": "gpt-4o-mini-2024-07-18", "gen_ai.usage.input_tokens": 420, "gen_ai.usage.output_tokens": 88,
					"gen_ai.usage.cache_read.input_tokens": 128, "gen_ai.response.finish_reasons": []any{"stop"}, "gen_ai.request.temperature": 0.2})},
			)
		case 1: // OpenLLMetry
			ev := func(id string, score float64) tevent {
				return tevent{name: "db.query.result", attrs: map[string]any{"db.query.result.id": id, "db.query.result.score": score}}
			}
			spans = append(spans,
				tspan{trace: tr, id: id(2), parent: root, name: "openai.embeddings", start: start + 1, end: start + 50_000_000, attrs: with(map[string]any{
					"llm.request.type": "embedding", "gen_ai.system": "OpenAI", "gen_ai.request.model": "text-embedding-3-small",
					"gen_ai.usage.prompt_tokens": 12, "llm.usage.total_tokens": 12})},
				tspan{trace: tr, id: id(3), parent: root, name: "pinecone.query", start: start + 50_000_000, end: start + 80_000_000, attrs: map[string]any{
					"db.system": "pinecone", "db.operation": "query", "pinecone.query.top_k": 3},
					events: []tevent{ev("doc-1", 0.91), ev("doc-4", 0.62), ev("doc-9", 0.40)}},
				tspan{trace: tr, id: id(4), parent: root, name: "openai.chat", start: start + 80_000_000, end: start + 890_000_000, attrs: with(map[string]any{
					"llm.request.type": "chat", "gen_ai.system": "OpenAI", "gen_ai.request.model": "gpt-4o-mini",
					"gen_ai.response.model": "gpt-4o-mini-2024-07-18", "gen_ai.usage.prompt_tokens": 420, "gen_ai.usage.completion_tokens": 88,
					"llm.usage.total_tokens": 508, "gen_ai.prompt.0.role": "user", "gen_ai.prompt.0.content": "how do refunds work",
					"gen_ai.completion.0.role": "assistant", "gen_ai.completion.0.content": "Within 30 days."})},
			)
		case 2: // OpenInference
			spans = append(spans,
				tspan{trace: tr, id: id(2), parent: root, name: "CreateEmbeddings", start: start + 1, end: start + 50_000_000, attrs: with(map[string]any{
					"openinference.span.kind": "EMBEDDING", "embedding.model_name": "text-embedding-3-small", "llm.token_count.prompt": 12, "llm.token_count.total": 12})},
				tspan{trace: tr, id: id(3), parent: root, name: "retrieve", start: start + 50_000_000, end: start + 80_000_000, attrs: map[string]any{
					"openinference.span.kind": "RETRIEVER", "input.value": "how do refunds work",
					"retrieval.documents.0.document.id": "doc-1", "retrieval.documents.0.document.score": 0.91, "retrieval.documents.0.document.content": "Refunds within 30 days.",
					"retrieval.documents.1.document.id": "doc-4", "retrieval.documents.1.document.score": 0.62, "retrieval.documents.1.document.content": "Shipping takes 3 days.",
					"retrieval.documents.2.document.id": "doc-9", "retrieval.documents.2.document.score": 0.40, "retrieval.documents.2.document.content": "Contact us."}},
				tspan{trace: tr, id: id(4), parent: root, name: "ChatCompletion", start: start + 80_000_000, end: start + 890_000_000, attrs: with(map[string]any{
					"openinference.span.kind": "LLM", "llm.model_name": "gpt-4o-mini-2024-07-18", "llm.provider": "openai", "llm.system": "openai",
					"llm.token_count.prompt": 420, "llm.token_count.completion": 88, "llm.token_count.total": 508,
					"llm.input_messages.0.message.role": "user", "llm.input_messages.0.message.content": "how do refunds work",
					"input.value": `{"messages": [{"role": "user", "content": "how do refunds work"}]}`, "input.mime_type": "application/json"})},
			)
		}
		addResource(b, td, "ragdemo", spans...)
	}
	return td
}

func BenchmarkFromTraces(b *testing.B) {
	td := benchTraces(b, 300) // 1200 spans
	n := td.SpanCount()
	var dst []Span
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		dst = FromTraces(dst[:0], td)
	}
	b.StopTimer()
	if len(dst) != n {
		b.Fatalf("got %d spans, want %d", len(dst), n)
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "spans/s")
	b.ReportMetric(b.Elapsed().Seconds()*1e9/float64(n)/float64(b.N), "ns/span")
}

// BenchmarkDecode compares, per span of the same batch, pdata's decoders
// followed by FromTraces with the Decoder's fast paths (one goroutine).
//
//	go test ./span -run '^$' -bench Decode -benchmem
func BenchmarkDecode(b *testing.B) {
	td := benchTraces(b, 300) // 1200 spans
	n := td.SpanCount()
	var jm ptrace.JSONMarshaler
	js, err := jm.MarshalTraces(td)
	if err != nil {
		b.Fatal(err)
	}
	var pm ptrace.ProtoMarshaler
	pb, err := pm.MarshalTraces(td)
	if err != nil {
		b.Fatal(err)
	}
	var ju ptrace.JSONUnmarshaler
	var pu ptrace.ProtoUnmarshaler
	d := NewDecoder()
	cases := []struct {
		name string
		data []byte
		fn   func(dst []Span, data []byte) ([]Span, error)
	}{
		{"json/pdata-only", js, func(dst []Span, data []byte) ([]Span, error) {
			_, err := ju.UnmarshalTraces(data)
			return dst, err
		}},
		{"json/pdata+FromTraces", js, func(dst []Span, data []byte) ([]Span, error) {
			td, err := ju.UnmarshalTraces(data)
			return FromTraces(dst, td), err
		}},
		{"json/Decoder", js, func(dst []Span, data []byte) ([]Span, error) { return d.DecodeJSON(dst, data, nil) }},
		{"proto/pdata-only", pb, func(dst []Span, data []byte) ([]Span, error) {
			_, err := pu.UnmarshalTraces(data)
			return dst, err
		}},
		{"proto/pdata+FromTraces", pb, func(dst []Span, data []byte) ([]Span, error) {
			td, err := pu.UnmarshalTraces(data)
			return FromTraces(dst, td), err
		}},
		{"proto/Decoder", pb, func(dst []Span, data []byte) ([]Span, error) { return d.DecodeProto(dst, data, nil) }},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(c.data)))
			b.ReportAllocs()
			var dst []Span
			for b.Loop() {
				var err error
				if dst, err = c.fn(dst[:0], c.data); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(b.Elapsed().Seconds()*1e9/float64(n)/float64(b.N), "ns/span")
		})
	}
}

// BenchmarkNewRun indexes 1M spans: 250k traces of a root and three
// children (links, parent-cycle check, sorting, timing).
func BenchmarkNewRun(b *testing.B) {
	const traces = 250_000
	spans := make([]Span, 0, 4*traces)
	for t := range traces {
		tid := fmt.Sprintf("%032x", t+1)
		root := fmt.Sprintf("%016x", 4*t+1)
		spans = append(spans, Span{TraceID: tid, SpanID: root, StartUnixNano: uint64(t) * 10, EndUnixNano: uint64(t)*10 + 9})
		for c := 2; c <= 4; c++ {
			spans = append(spans, Span{TraceID: tid, SpanID: fmt.Sprintf("%016x", 4*t+c), ParentSpanID: root,
				StartUnixNano: uint64(t)*10 + uint64(c), EndUnixNano: uint64(t)*10 + uint64(c) + 1})
		}
	}
	b.ResetTimer()
	for b.Loop() {
		r := NewRun(spans)
		if len(r.Traces) != traces {
			b.Fatal(len(r.Traces))
		}
	}
	b.ReportMetric(float64(len(spans))*float64(b.N)/b.Elapsed().Seconds(), "spans/s")
}

// BenchmarkAttachEvals is the evaluation-result pass of loading a run
// (runner.LoadRun) over 1M spans that carry none, each with the
// attributes of a GenAI chat span: the cost every run pays.
func BenchmarkAttachEvals(b *testing.B) {
	const traces = 250_000
	attrs := Attrs{
		{"gen_ai.operation.name", "chat"}, {"gen_ai.request.model", "gpt-4o-mini"},
		{"gen_ai.response.model", "gpt-4o-mini-2024-07-18"}, {"gen_ai.provider.name", "openai"},
		{"gen_ai.usage.input_tokens", int64(100)}, {"gen_ai.usage.output_tokens", int64(20)},
		{"server.address", "api.openai.com"}, {"openinference.span.kind", "LLM"},
	}
	spans := make([]Span, 0, 4*traces)
	for t := range traces {
		tid := fmt.Sprintf("%032x", t+1)
		root := fmt.Sprintf("%016x", 4*t+1)
		spans = append(spans, Span{TraceID: tid, SpanID: root, Attrs: attrs})
		for c := 2; c <= 4; c++ {
			spans = append(spans, Span{TraceID: tid, SpanID: fmt.Sprintf("%016x", 4*t+c), ParentSpanID: root, Attrs: attrs})
		}
	}
	r := NewRun(spans)
	b.ResetTimer()
	for b.Loop() {
		AttachEvals(r, nil, nil)
	}
	b.ReportMetric(b.Elapsed().Seconds()*1e9/float64(len(spans))/float64(b.N), "ns/span")
}
