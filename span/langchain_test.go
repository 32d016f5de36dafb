package span

import (
	"testing"
)

// The attributes below are what the real libraries emitted against a fake
// OpenAI server (interop/langchain/lc.js, interop/llamaindex/li.js), cut to
// the ones that matter.

func TestLangChainOpenInferenceProviderFromMetadata(t *testing.T) {
	chat := map[string]any{
		"openinference.span.kind":                   "LLM",
		"llm.model_name":                            "gpt-4o-mini",
		"llm.token_count.prompt":                    int64(120),
		"llm.token_count.completion":                int64(30),
		"llm.token_count.total":                     int64(150),
		"llm.token_count.prompt_details.cache_read": int64(100),
		"metadata": `{"ls_provider":"openai","ls_model_name":"gpt-4o-mini","ls_model_type":"chat","ls_integration":"langchain_chat_model","versions":{"@langchain/core":"1.4.0","@langchain/openai":"1.5.8"}}`,
	}
	with := func(extra map[string]any) map[string]any {
		m := map[string]any{}
		for k, v := range chat {
			m[k] = v
		}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	tests := []struct {
		name  string
		attrs map[string]any
		want  string
	}{
		{"ls_provider when nothing else names one", chat, "openai"},
		{"llm.provider wins", with(map[string]any{"llm.provider": "azure"}), "azure"},
		{"llm.system wins", with(map[string]any{"llm.system": "anthropic"}), "anthropic"},
		{"lower-cased", with(map[string]any{"metadata": `{"ls_provider":"Anthropic"}`}), "anthropic"},
		{"no ls_provider", with(map[string]any{"metadata": `{"versions":{"@langchain/core":"1.4.0"}}`}), ""},
		{"not JSON", with(map[string]any{"metadata": `{"ls_provider":`}), ""},
		{"not a string", with(map[string]any{"metadata": `{"ls_provider":7}`}), ""},
		{"nested ls_provider is not the run's", with(map[string]any{"metadata": `{"x":{"ls_provider":"openai"}}`}), ""},
		{"metadata not a string attribute", with(map[string]any{"metadata": int64(3)}), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := one(t, tt.attrs)
			if s.Provider != tt.want {
				t.Errorf("provider = %q, want %q", s.Provider, tt.want)
			}
			if s.Operation != OpChat || s.Model != "gpt-4o-mini" || s.Tokens.Input != 120 || s.Tokens.Cached != 100 {
				t.Errorf("other fields changed: %+v", s)
			}
		})
	}
	// ls_provider is read on OpenInference spans only.
	s, _ := one(t, map[string]any{"gen_ai.operation.name": "chat", "metadata": `{"ls_provider":"openai"}`})
	if s.Provider != "" {
		t.Errorf("gen_ai span: provider = %q from metadata, want none", s.Provider)
	}
}

func TestLangChainOpenInferenceDocumentIDsFromMetadata(t *testing.T) {
	s, warns := one(t, map[string]any{
		"openinference.span.kind":                 "RETRIEVER",
		"input.value":                             "How long do refunds take?",
		"retrieval.documents.0.document.content":  "Returns are accepted within 30 days.",
		"retrieval.documents.0.document.metadata": `{"id":"doc-1","score":null}`,
		"retrieval.documents.1.document.content":  "Refunds take 5 days.",
		"retrieval.documents.1.document.metadata": `{"id":"doc-2","score":null}`,
		"retrieval.documents.2.document.metadata": `{"source":"faq.md","id":42}`,
		"retrieval.documents.3.document.id":       "doc-9",
		"retrieval.documents.3.document.metadata": `{"id":"not-this"}`,
		"retrieval.documents.4.document.metadata": `{"source":"no id"}`,
		"retrieval.documents.5.document.metadata": `{"id":"a"},{"id":"b"}`,
		"retrieval.documents.6.document.metadata": `not json`,
		"retrieval.documents.7.document.metadata": int64(5),
		"retrieval.documents.8.document.metadata": `{"meta":{"id":"nested"}}`,
		"retrieval.documents.9.document.score":    0.5,
		"retrieval.documents.9.document.metadata": `{"id":"doc-5","score":0.9}`,
	})
	if len(warns) != 0 {
		t.Errorf("warnings: %q", warns)
	}
	want := []Document{
		{ID: "doc-1", Rank: 1}, {ID: "doc-2", Rank: 2}, {ID: "42", Rank: 3}, {ID: "doc-9", Rank: 4},
		{Rank: 5}, {Rank: 6}, {Rank: 7}, {Rank: 8}, {Rank: 9},
		{ID: "doc-5", Score: 0.5, HasScore: true, Rank: 10},
	}
	if s.Operation != OpRetrieval || s.Query != "How long do refunds take?" {
		t.Errorf("operation %q, query %q", s.Operation, s.Query)
	}
	if len(s.Documents) != len(want) {
		t.Fatalf("documents = %+v, want %+v", s.Documents, want)
	}
	for i := range want {
		if s.Documents[i] != want[i] {
			t.Errorf("document %d = %+v, want %+v", i, s.Documents[i], want[i])
		}
	}
}

func TestLlamaIndexTraceloopRetrieve(t *testing.T) {
	output := `[{"node":{"id_":"b2ba70da-5b38-408d-9b18-5046565b1d3f","metadata":{},"excludedEmbedMetadataKeys":[],"excludedLlmMetadataKeys":[],"relationships":{"SOURCE":{"nodeId":"doc-1","metadata":{},"hash":"hFch"}},"text":"Returns are accepted within 30 days.","textTemplate":"","endCharIdx":36,"metadataSeparator":"\n","type":"TEXT","hash":"rQHE"},"score":1},` +
		`{"node":{"id_":"78e016db-8ac3-481b-ba45-c9f1979af001","metadata":{},"relationships":{"SOURCE":{"nodeId":"doc-2","metadata":{},"hash":"6CB8"}},"text":"Refunds take 5 days.","type":"TEXT"},"score":0.8},` +
		`{"node":{"id_":"node-7","relationships":{}},"score":0.5},` +
		`{"node":{"id_":"node-8"}}]`
	input := `{"args":[],"kwargs":{"query":"How long do refunds take?"}}`
	base := func(name string, extra map[string]any) tspan {
		a := map[string]any{"traceloop.span.kind": "task", "traceloop.entity.input": input, "traceloop.entity.output": output}
		for k, v := range extra {
			a[k] = v
		}
		return tspan{name: name, start: 1, end: 2, attrs: a}
	}
	t.Run("retriever", func(t *testing.T) {
		var warns []string
		got := FromTracesWarn(nil, build(t, "svc", base("vector_index_retriever.retrieve", nil)), func(w string) { warns = append(warns, w) })
		s := got[0]
		if s.Operation != OpRetrieval || s.Query != "How long do refunds take?" || s.Convention != ConvOpenLLMetry {
			t.Errorf("operation %q, query %q, convention %q", s.Operation, s.Query, s.Convention)
		}
		want := []Document{
			{ID: "doc-1", Score: 1, HasScore: true, Rank: 1},
			{ID: "doc-2", Score: 0.8, HasScore: true, Rank: 2},
			{ID: "node-7", Score: 0.5, HasScore: true, Rank: 3},
			{ID: "node-8", Rank: 4},
		}
		if len(s.Documents) != len(want) {
			t.Fatalf("documents = %+v", s.Documents)
		}
		for i := range want {
			if s.Documents[i] != want[i] {
				t.Errorf("document %d = %+v, want %+v", i, s.Documents[i], want[i])
			}
		}
		if len(warns) != 0 {
			t.Errorf("warnings: %q", warns)
		}
	})
	t.Run("unreadable output is a retrieval without documents and a warning", func(t *testing.T) {
		var warns []string
		got := FromTracesWarn(nil, build(t, "svc", base("vector_index_retriever.retrieve", map[string]any{"traceloop.entity.output": `[{"node":`})), func(w string) { warns = append(warns, w) })
		if s := got[0]; s.Operation != OpRetrieval || s.Documents != nil {
			t.Errorf("operation %q, documents %+v", s.Operation, s.Documents)
		}
		if len(warns) != 1 {
			t.Errorf("warnings: %q", warns)
		}
	})
	for _, name := range []string{"vector_index_retriever.query", "retrieve", "synthesizer.synthesize"} {
		t.Run("other task "+name, func(t *testing.T) {
			got := FromTracesWarn(nil, build(t, "svc", base(name, nil)), nil)
			if s := got[0]; s.Operation != OpTask || s.Documents != nil {
				t.Errorf("operation %q, documents %+v", s.Operation, s.Documents)
			}
		})
	}
	t.Run("workflow named retrieve stays a workflow", func(t *testing.T) {
		got := FromTracesWarn(nil, build(t, "svc", base("x.retrieve", map[string]any{"traceloop.span.kind": "workflow"})), nil)
		if s := got[0]; s.Operation != OpWorkflow || s.Documents != nil {
			t.Errorf("operation %q, documents %+v", s.Operation, s.Documents)
		}
	})
}

func TestTTFTFromStreamEvents(t *testing.T) {
	const start = 1_000_000_000
	oi := map[string]any{"openinference.span.kind": "LLM", "llm.model_name": "gpt-4o-mini"}
	tl := map[string]any{"llm.request.type": "chat", "gen_ai.request.model": "gpt-4o-mini"}
	tests := []struct {
		name   string
		attrs  map[string]any
		events []tevent
		want   float64 // ms; < 0: none
	}{
		{"OpenInference First Token Stream Event", oi, []tevent{{name: "First Token Stream Event", time: start + 52_500_000}}, 52.5},
		{"OpenLLMetry first of its chunk events", tl, []tevent{
			{name: "llm.content.completion.chunk", time: start + 61_000_000},
			{name: "llm.content.completion.chunk", time: start + 62_000_000},
		}, 61},
		{"OpenLLMetry's newer event name", tl, []tevent{{name: "gen_ai.completion.chunk", time: start + 40_000_000}}, 40},
		{"earliest chunk event, whatever the order", tl, []tevent{
			{name: "llm.content.completion.chunk", time: start + 70_000_000},
			{name: "llm.content.completion.chunk", time: start + 45_000_000},
		}, 45},
		{"an event before the span start is not a time", oi, []tevent{{name: "First Token Stream Event", time: start - 1}}, -1},
		{"an event without a time is not a time", oi, []tevent{{name: "First Token Stream Event"}}, -1},
		{"other events", oi, []tevent{{name: "exception", time: start + 5}}, -1},
		{"no events", oi, nil, -1},
		{"event on a span without LLM attributes", nil, []tevent{{name: "First Token Stream Event", time: start + 3_000_000}}, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := FromTracesWarn(nil, build(t, "svc", tspan{name: "op", start: start, end: start + 100_000_000, attrs: tt.attrs, events: tt.events}), nil)
			s := got[0]
			if tt.want < 0 {
				if s.HasTTFT || s.TTFTMS != 0 {
					t.Errorf("TTFT = %v (has %v), want none", s.TTFTMS, s.HasTTFT)
				}
				return
			}
			if !s.HasTTFT || s.TTFTMS != tt.want || !s.Streaming {
				t.Errorf("TTFT = %v (has %v, streaming %v), want %v", s.TTFTMS, s.HasTTFT, s.Streaming, tt.want)
			}
		})
	}
}

// FuzzFrameworkShapes feeds arbitrary LangChain metadata, LlamaIndex
// retriever output and stream-event times through both normalisers (the
// package's cross-check compares FromTraces with the Decoder): no panic,
// ranks 1..n, and a TTFT only from an event at or after the start.
func FuzzFrameworkShapes(f *testing.F) {
	f.Add(`{"ls_provider":"openai"}`, `{"id":"doc-1","score":null}`, `[{"node":{"id_":"n1","relationships":{"SOURCE":{"nodeId":"doc-1"}}},"score":1}]`, uint64(52_000_000))
	f.Add(`{"ls_provider":7}`, `{"id":{"x":1}}`, `[{"node":null,"score":"x"},{}]`, uint64(0))
	f.Add(`{`, `[`, `{"node":1}`, uint64(1))
	f.Fuzz(func(t *testing.T, meta, docMeta, output string, evOffset uint64) {
		const start = 1_000_000_000
		evTime := start + evOffset%(1<<40) - 1000
		td := build(t, "svc",
			tspan{id: "00f067aa0ba902b1", name: "ChatOpenAI", start: start, end: start + 1, attrs: map[string]any{
				"openinference.span.kind": "LLM", "metadata": meta,
			}, events: []tevent{{name: "First Token Stream Event", time: evTime}}},
			tspan{id: "00f067aa0ba902b2", name: "Retriever", start: start, end: start + 1, attrs: map[string]any{
				"openinference.span.kind": "RETRIEVER", "retrieval.documents.0.document.metadata": docMeta,
			}},
			tspan{id: "00f067aa0ba902b3", name: "x.retrieve", start: start, end: start + 1, attrs: map[string]any{
				"traceloop.span.kind": "task", "traceloop.entity.output": output,
			}, events: []tevent{{name: "llm.content.completion.chunk", time: evTime}}},
		)
		spans := FromTracesWarn(nil, td, func(string) {})
		for _, s := range spans {
			for i, d := range s.Documents {
				if d.Rank != i+1 {
					t.Fatalf("%s: document %d has rank %d", s.Name, i, d.Rank)
				}
			}
			if len(s.Events) > 0 && s.HasTTFT != (evTime >= start) || s.HasTTFT && s.TTFTMS != float64(evTime-start)/1e6 {
				t.Fatalf("%s: TTFT %v (has %v) for an event at start%+d ns", s.Name, s.TTFTMS, s.HasTTFT, int64(evTime-start))
			}
		}
	})
}

func TestOpenInferenceStreamingFromInvocationParameters(t *testing.T) {
	tests := []struct {
		params any
		want   bool
	}{
		{`{"model":"gpt-4o-mini","stream":true,"stream_options":{"include_usage":true}}`, true},
		{`{"model":"gpt-4o-mini","stream":false}`, false},
		{`{"model":"gpt-4o-mini"}`, false},
		{`{"stream":"true"}`, false},
		{`{"x":{"stream":true}}`, false},
		{`{"stream":true`, false},
		{int64(1), false},
	}
	for _, tt := range tests {
		s, _ := one(t, map[string]any{"openinference.span.kind": "LLM", "llm.invocation_parameters": tt.params})
		if s.Streaming != tt.want {
			t.Errorf("%v: streaming = %v, want %v", tt.params, s.Streaming, tt.want)
		}
	}
	// only on OpenInference LLM spans
	s, _ := one(t, map[string]any{"openinference.span.kind": "CHAIN", "llm.invocation_parameters": `{"stream":true}`})
	if s.Streaming {
		t.Errorf("chain span: streaming")
	}
}

// BenchmarkFrameworkSpans normalises the real shapes of a LangChain.js +
// OpenInference chat and retriever span and a LlamaIndex.TS retriever
// span (attributes as recorded by interop/langchain and interop/llamaindex).
func BenchmarkFrameworkSpans(b *testing.B) {
	td := build(b, "svc",
		tspan{id: "00f067aa0ba902b1", name: "ChatOpenAI", start: 1, end: 2, attrs: map[string]any{
			"openinference.span.kind":                   "LLM",
			"llm.model_name":                            "gpt-4o-mini",
			"llm.invocation_parameters":                 `{"model":"gpt-4o-mini","stream":true,"stream_options":{"include_usage":true}}`,
			"llm.token_count.prompt":                    int64(120),
			"llm.token_count.completion":                int64(30),
			"llm.token_count.total":                     int64(150),
			"llm.token_count.prompt_details.cache_read": int64(100),
			"metadata": `{"ls_provider":"openai","ls_model_name":"gpt-4o-mini","ls_model_type":"chat","ls_integration":"langchain_chat_model","versions":{"@langchain/core":"1.4.0","@langchain/openai":"1.5.8"}}`,
		}},
		tspan{id: "00f067aa0ba902b2", name: "ArticleRetriever", start: 1, end: 2, attrs: map[string]any{
			"openinference.span.kind":                 "RETRIEVER",
			"input.value":                             "How long do refunds take?",
			"metadata":                                "{}",
			"retrieval.documents.0.document.content":  "Refunds take 5 days.",
			"retrieval.documents.0.document.metadata": `{"id":"doc-2","source":"faq.md"}`,
			"retrieval.documents.1.document.content":  "Returns are accepted within 30 days.",
			"retrieval.documents.1.document.metadata": `{"id":"doc-1","source":"faq.md"}`,
		}},
		tspan{id: "00f067aa0ba902b3", name: "vector_index_retriever.retrieve", start: 1, end: 2, attrs: map[string]any{
			"traceloop.span.kind":     "task",
			"traceloop.entity.input":  `{"args":[],"kwargs":{"query":"How long do refunds take?"}}`,
			"traceloop.entity.output": `[{"node":{"id_":"b2ba70da-5b38-408d-9b18-5046565b1d3f","metadata":{},"relationships":{"SOURCE":{"nodeId":"doc-1","metadata":{},"hash":"hFch"}},"text":"Returns are accepted within 30 days.","type":"TEXT"},"score":1},{"node":{"id_":"78e016db-8ac3-481b-ba45-c9f1979af001","metadata":{},"relationships":{"SOURCE":{"nodeId":"doc-2","metadata":{},"hash":"6CB8"}},"text":"Refunds take 5 days.","type":"TEXT"},"score":0.8}]`,
		}},
	)
	dst := make([]Span, 0, 3)
	b.ReportAllocs()
	for b.Loop() {
		dst = fromTracesWarn(dst[:0], td, nil)
	}
	if dst[0].Provider != "openai" || !dst[0].Streaming || dst[1].Documents[0].ID != "doc-2" || dst[2].Documents[1].ID != "doc-2" {
		b.Fatalf("wrong result: %+v", dst)
	}
}
