package span

import (
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

func TestFromTracesBasicFields(t *testing.T) {
	td := build(t, "checkout",
		tspan{
			trace: "0AF7651916CD43DD8448EB211C80319C", id: "00F067AA0BA902B7", parent: "",
			name: "root", kind: ptrace.SpanKindServer, status: ptrace.StatusCodeError, msg: "boom",
			start: 1_000_000_000, end: 1_250_500_000,
			attrs: map[string]any{
				"s": "x", "b": true, "i": 42, "d": 1.5, "by": []byte{1, 2},
				"arr": []any{"a", int64(1)}, "kv": map[string]any{"k": "v", "n": 2.5},
			},
			events: []tevent{{name: "exception", time: 1_100_000_000, attrs: map[string]any{"exception.message": "boom"}}, {name: "bare", time: 7}},
		},
		tspan{
			trace: "0af7651916cd43dd8448eb211c80319c", id: "1111111111111111", parent: "00f067aa0ba902b7",
			name: "child", kind: ptrace.SpanKindClient, status: ptrace.StatusCodeOk,
			start: 2_000, end: 1_000, // end before start
		},
		tspan{id: "2222222222222222", name: "c", kind: ptrace.SpanKindConsumer},
		tspan{id: "3333333333333333", name: "p", kind: ptrace.SpanKindProducer},
		tspan{id: "4444444444444444", name: "i", kind: ptrace.SpanKindInternal},
		tspan{id: "5555555555555555", name: "u"},
	)
	pre := []Span{{Name: "already here"}}
	got := FromTraces(pre, td)
	require.Len(t, got, 7)
	assert.Equal(t, "already here", got[0].Name)

	root := got[1]
	assert.Equal(t, "0af7651916cd43dd8448eb211c80319c", root.TraceID)
	assert.Equal(t, "00f067aa0ba902b7", root.SpanID)
	assert.Equal(t, "", root.ParentSpanID)
	assert.True(t, root.IsRoot())
	assert.Equal(t, "root", root.Name)
	assert.Equal(t, "checkout", root.Service)
	assert.Equal(t, "server", root.Kind)
	assert.Equal(t, "error", root.Status)
	assert.True(t, root.IsError())
	assert.Equal(t, "boom", root.StatusMessage)
	assert.Equal(t, uint64(1_000_000_000), root.StartUnixNano)
	assert.Equal(t, uint64(1_250_500_000), root.EndUnixNano)
	assert.Equal(t, 250.5, root.DurationMS)
	assert.Equal(t, map[string]any{
		"s": "x", "b": true, "i": int64(42), "d": 1.5, "by": []byte{1, 2},
		"arr": []any{"a", int64(1)}, "kv": map[string]any{"k": "v", "n": 2.5},
	}, root.Attrs.Map())
	assert.Equal(t, map[string]any{"service.name": "checkout"}, root.Resource)
	assert.Equal(t, "test-scope", root.Scope)
	assert.Equal(t, []Event{
		{Name: "exception", TimeUnixNano: 1_100_000_000, Attrs: Attrs{{"exception.message", "boom"}}},
		{Name: "bare", TimeUnixNano: 7},
	}, root.Events)
	assert.Empty(t, root.Operation)
	assert.Empty(t, root.Convention)
	assert.False(t, root.Tokens.Any())

	child := got[2]
	assert.Equal(t, "00f067aa0ba902b7", child.ParentSpanID)
	assert.False(t, child.IsRoot())
	assert.Equal(t, "client", child.Kind)
	assert.Equal(t, "ok", child.Status)
	assert.Equal(t, 0.0, child.DurationMS, "end before start")
	assert.Nil(t, child.Attrs)
	assert.Nil(t, child.Events)

	for i, want := range []string{"consumer", "producer", "internal", "unspecified"} {
		assert.Equal(t, want, got[3+i].Kind)
		assert.Equal(t, "unset", got[3+i].Status)
	}
}

func TestFromTracesSeveralResources(t *testing.T) {
	td := build(t, "a", tspan{id: "0000000000000001", name: "x"})
	addResource(t, td, "", tspan{id: "0000000000000002", name: "y"})
	got := FromTraces(nil, td)
	require.Len(t, got, 2)
	assert.Equal(t, "a", got[0].Service)
	assert.Equal(t, "", got[1].Service)
	assert.Nil(t, got[1].Resource)
}

// The same chat call as each convention records it.
func TestSameChatCallAcrossConventions(t *testing.T) {
	cases := []struct {
		name  string
		conv  string
		attrs map[string]any
	}{
		{"genai", ConvGenAI, map[string]any{
			"gen_ai.operation.name":                    "chat",
			"gen_ai.provider.name":                     "openai",
			"gen_ai.request.model":                     "gpt-4o-mini",
			"gen_ai.response.model":                    "gpt-4o-mini-2024-07-18",
			"gen_ai.usage.input_tokens":                120,
			"gen_ai.usage.output_tokens":               30,
			"gen_ai.usage.cache_read.input_tokens":     20,
			"gen_ai.usage.cache_creation.input_tokens": 7,
			"gen_ai.usage.reasoning.output_tokens":     5,
		}},
		{"genai older (gen_ai.system, cache_write)", ConvGenAI, map[string]any{
			"gen_ai.operation.name":                 "Chat",
			"gen_ai.system":                         "openai",
			"gen_ai.request.model":                  "gpt-4o-mini",
			"gen_ai.response.model":                 "gpt-4o-mini-2024-07-18",
			"gen_ai.usage.input_tokens":             120,
			"gen_ai.usage.output_tokens":            30,
			"gen_ai.usage.cache_read.input_tokens":  20,
			"gen_ai.usage.cache_write.input_tokens": 7,
			"gen_ai.usage.reasoning.output_tokens":  5,
		}},
		{"openllmetry new", ConvOpenLLMetry, map[string]any{
			"llm.request.type":                         "chat",
			"gen_ai.provider.name":                     "openai",
			"gen_ai.request.model":                     "gpt-4o-mini",
			"gen_ai.response.model":                    "gpt-4o-mini-2024-07-18",
			"gen_ai.usage.input_tokens":                120,
			"gen_ai.usage.output_tokens":               30,
			"gen_ai.usage.total_tokens":                150,
			"gen_ai.usage.cache_read.input_tokens":     20,
			"gen_ai.usage.cache_creation.input_tokens": 7,
			"gen_ai.usage.reasoning.output_tokens":     5,
		}},
		{"openllmetry old", ConvOpenLLMetry, map[string]any{
			"llm.request.type":                         "chat",
			"gen_ai.system":                            "OpenAI",
			"gen_ai.request.model":                     "gpt-4o-mini",
			"gen_ai.response.model":                    "gpt-4o-mini-2024-07-18",
			"gen_ai.usage.prompt_tokens":               120,
			"gen_ai.usage.completion_tokens":           30,
			"llm.usage.total_tokens":                   150,
			"gen_ai.usage.cache_read_input_tokens":     20,
			"gen_ai.usage.cache_creation_input_tokens": 7,
			"gen_ai.usage.reasoning_tokens":            5,
		}},
		{"openinference", ConvOpenInference, map[string]any{
			"openinference.span.kind":                      "LLM",
			"llm.model_name":                               "gpt-4o-mini-2024-07-18",
			"llm.provider":                                 "openai",
			"llm.system":                                   "openai",
			"llm.token_count.prompt":                       120,
			"llm.token_count.completion":                   30,
			"llm.token_count.total":                        150,
			"llm.token_count.prompt_details.cache_read":    20,
			"llm.token_count.prompt_details.cache_write":   7,
			"llm.token_count.completion_details.reasoning": 5,
		}},
		{"openinference newer model names", ConvOpenInference, map[string]any{
			"openinference.span.kind":                      "LLM",
			"llm.request.model_name":                       "gpt-4o-mini",
			"llm.response.model_name":                      "gpt-4o-mini-2024-07-18",
			"llm.system":                                   "OpenAI",
			"llm.token_count.prompt":                       120,
			"llm.token_count.completion":                   30,
			"llm.token_count.prompt_details.cache_read":    20,
			"llm.token_count.prompt_details.cache_write":   7,
			"llm.token_count.completion_details.reasoning": 5,
		}},
		{"langsmith", ConvLangSmith, map[string]any{
			"langsmith.span.kind":                      "LLM",
			"gen_ai.system":                            "openai",
			"gen_ai.request.model":                     "gpt-4o-mini",
			"gen_ai.response.model":                    "gpt-4o-mini-2024-07-18",
			"gen_ai.usage.input_tokens":                120,
			"gen_ai.usage.output_tokens":               30,
			"gen_ai.usage.total_tokens":                150,
			"gen_ai.usage.cache_read_input_tokens":     20,
			"gen_ai.usage.cache_creation_input_tokens": 7,
			"gen_ai.usage.reasoning.output_tokens":     5,
		}},
	}
	want := Tokens{Input: 120, Output: 30, Total: 150, Cached: 20, CacheWrite: 7, Reasoning: 5,
		HasInput: true, HasOutput: true, HasTotal: true, HasCached: true, HasCacheWrite: true, HasReasoning: true}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, warns := one(t, c.attrs)
			assert.Empty(t, warns)
			assert.Equal(t, OpChat, s.Operation)
			assert.Equal(t, "gpt-4o-mini-2024-07-18", s.Model)
			assert.Equal(t, "openai", s.Provider)
			assert.Equal(t, want, s.Tokens)
			assert.Equal(t, c.conv, s.Convention)
			assert.Nil(t, s.Documents)
			assert.False(t, s.HasCost)
		})
	}
}

func TestSameEmbeddingCallAcrossConventions(t *testing.T) {
	cases := []struct {
		name  string
		attrs map[string]any
	}{
		{"genai", map[string]any{
			"gen_ai.operation.name":     "embeddings",
			"gen_ai.provider.name":      "openai",
			"gen_ai.request.model":      "text-embedding-3-small",
			"gen_ai.usage.input_tokens": 8,
		}},
		{"openllmetry old", map[string]any{
			"llm.request.type":           "embedding",
			"gen_ai.system":              "OpenAI",
			"gen_ai.request.model":       "text-embedding-3-small",
			"gen_ai.usage.prompt_tokens": 8,
			"llm.usage.total_tokens":     8,
		}},
		{"openinference", map[string]any{
			"openinference.span.kind": "EMBEDDING",
			"embedding.model_name":    "text-embedding-3-small",
			"llm.provider":            "openai",
			"llm.token_count.prompt":  8,
			"llm.token_count.total":   8,
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, warns := one(t, c.attrs)
			assert.Empty(t, warns)
			assert.Equal(t, OpEmbeddings, s.Operation)
			assert.Equal(t, "text-embedding-3-small", s.Model)
			assert.Equal(t, "openai", s.Provider)
			assert.Equal(t, Tokens{Input: 8, Total: 8, HasInput: true, HasTotal: true}, s.Tokens)
		})
	}
}

// The same retrieval (three documents, the query "refund policy") in every
// representation.
func TestSameRetrievalAcrossConventions(t *testing.T) {
	wantDocs := []Document{
		{ID: "doc-7", Score: 0.91, HasScore: true, Rank: 1},
		{ID: "42", Score: 0.5, HasScore: true, Rank: 2},
		{ID: "doc-1", Score: 0.25, HasScore: true, Rank: 3},
	}
	result := func(id any, score any) tevent {
		return tevent{name: "db.query.result", attrs: map[string]any{
			"db.query.result.id": id, "db.query.result.score": score, "db.query.result.metadata": "{}",
		}}
	}
	cases := []struct {
		name   string
		conv   string
		attrs  map[string]any
		events []tevent
	}{
		{"genai JSON string", ConvGenAI, map[string]any{
			"gen_ai.operation.name":       "retrieval",
			"gen_ai.data_source.id":       "kb",
			"gen_ai.retrieval.query.text": "refund policy",
			"gen_ai.retrieval.documents":  `[{"id":"doc-7","score":0.91},{"id":42,"score":0.5},{"id":"doc-1","score":"0.25"}]`,
		}, nil},
		{"genai structured", ConvGenAI, map[string]any{
			"gen_ai.operation.name":       "retrieval",
			"gen_ai.retrieval.query.text": "refund policy",
			"gen_ai.retrieval.documents": []any{
				map[string]any{"id": "doc-7", "score": 0.91},
				map[string]any{"id": 42, "score": 0.5},
				map[string]any{"id": "doc-1", "score": 0.25},
			},
		}, nil},
		{"genai array of JSON strings", ConvGenAI, map[string]any{
			"gen_ai.operation.name":       "retrieval",
			"gen_ai.retrieval.query.text": "refund policy",
			"gen_ai.retrieval.documents": []any{
				`{"id":"doc-7","score":0.91}`, `{"id":42,"score":0.5}`, `{"id":"doc-1","score":0.25}`,
			},
		}, nil},
		{"openllmetry events", ConvOpenLLMetry, map[string]any{
			"db.system":              "pinecone",
			"db.operation":           "query",
			"traceloop.entity.input": `{"args": [], "kwargs": {"query": "refund policy", "top_k": 3}}`,
		}, []tevent{
			{name: "db.query.embeddings", attrs: map[string]any{"db.query.embeddings.vector": []any{0.1, 0.2}}},
			result("doc-7", 0.91), result(42, 0.5), result("doc-1", "0.25"),
		}},
		{"openinference flattened", ConvOpenInference, map[string]any{
			"openinference.span.kind":                  "RETRIEVER",
			"input.value":                              "refund policy",
			"retrieval.documents.2.document.id":        "doc-1",
			"retrieval.documents.2.document.score":     0.25,
			"retrieval.documents.0.document.id":        "doc-7",
			"retrieval.documents.0.document.score":     0.91,
			"retrieval.documents.0.document.content":   "Refunds within 30 days.",
			"retrieval.documents.1.document.id":        42,
			"retrieval.documents.1.document.score":     0.5,
			"retrieval.documents.1.document.metadata":  `{"source": "faq"}`,
			"retrieval.documents.notanumber.document":  "ignored",
			"retrieval.documents.3.something.id":       "ignored",
			"retrieval.documents.99999999.document.id": "ignored",
		}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, warns := one(t, c.attrs, c.events...)
			assert.Empty(t, warns)
			assert.Equal(t, OpRetrieval, s.Operation)
			assert.Equal(t, c.conv, s.Convention)
			assert.Equal(t, "refund policy", s.Query)
			assert.Equal(t, wantDocs, s.Documents)
		})
	}
}

func TestDocumentsOrderAndOddShapes(t *testing.T) {
	t.Run("openinference numeric order beyond 9", func(t *testing.T) {
		attrs := map[string]any{"openinference.span.kind": "RETRIEVER"}
		for i := 11; i >= 0; i-- {
			attrs["retrieval.documents."+strconv.Itoa(i)+".document.id"] = int64(100 + i)
		}
		s, _ := one(t, attrs)
		require.Len(t, s.Documents, 12)
		for i, d := range s.Documents {
			assert.Equal(t, strconv.Itoa(100+i), d.ID)
			assert.Equal(t, i+1, d.Rank)
			assert.False(t, d.HasScore)
		}
	})
	t.Run("openinference reranker output", func(t *testing.T) {
		s, _ := one(t, map[string]any{
			"openinference.span.kind":                      "RERANKER",
			"reranker.query":                               "q",
			"reranker.model_name":                          "rerank-v3",
			"reranker.input_documents.0.document.id":       "a",
			"reranker.input_documents.1.document.id":       "b",
			"reranker.output_documents.0.document.id":      "b",
			"reranker.output_documents.0.document.score":   0.8,
			"reranker.output_documents.1.document.id":      "a",
			"reranker.output_documents.1.document.score":   0.1,
			"reranker.output_documents.1.document.content": "x",
		})
		assert.Equal(t, OpRerank, s.Operation)
		assert.Equal(t, "rerank-v3", s.Model)
		assert.Equal(t, "q", s.Query)
		assert.Equal(t, []Document{{ID: "b", Score: 0.8, HasScore: true, Rank: 1}, {ID: "a", Score: 0.1, HasScore: true, Rank: 2}}, s.Documents)
	})
	t.Run("chroma events carry a distance, not a score", func(t *testing.T) {
		ev := func(id string) tevent {
			return tevent{name: "db.query.result", attrs: map[string]any{"db.query.result.id": id, "db.query.result.distance": 0.3, "db.query.result.document": "text"}}
		}
		s, _ := one(t, map[string]any{"db.system": "chroma"}, ev("a"), ev("b"))
		assert.Equal(t, OpRetrieval, s.Operation)
		assert.Equal(t, ConvOpenLLMetry, s.Convention)
		assert.Equal(t, []Document{{ID: "a", Rank: 1}, {ID: "b", Rank: 2}}, s.Documents)
	})
	t.Run("milvus search events, first query only", func(t *testing.T) {
		ev := func(q, id int) tevent {
			return tevent{name: "db.search.result", attrs: map[string]any{"db.search.query.id": q, "db.search.result.id": id, "db.search.result.distance": "0.5"}}
		}
		s, _ := one(t, map[string]any{"db.system": "milvus"}, ev(0, 7), ev(0, 3), ev(1, 9))
		assert.Equal(t, []Document{{ID: "7", Rank: 1}, {ID: "3", Rank: 2}}, s.Documents)
	})
	t.Run("milvus query events use the entity id", func(t *testing.T) {
		s, _ := one(t, map[string]any{"db.system": "milvus"},
			tevent{name: "db.query.result", attrs: map[string]any{"id": 5, "color_tag": "brown"}})
		assert.Equal(t, []Document{{ID: "5", Rank: 1}}, s.Documents)
	})
	t.Run("genai empty list is zero documents, not none", func(t *testing.T) {
		s, _ := one(t, map[string]any{"gen_ai.operation.name": "retrieval", "gen_ai.retrieval.documents": "[]"})
		assert.NotNil(t, s.Documents)
		assert.Empty(t, s.Documents)
	})
	t.Run("genai bare string ids and integral double id", func(t *testing.T) {
		s, _ := one(t, map[string]any{"gen_ai.operation.name": "retrieval", "gen_ai.retrieval.documents": []any{"a", 7.0, int64(8)}})
		assert.Equal(t, []Document{{ID: "a", Rank: 1}, {ID: "7", Rank: 2}, {ID: "8", Rank: 3}}, s.Documents)
	})
	t.Run("genai documents win over events and flattened", func(t *testing.T) {
		s, _ := one(t, map[string]any{
			"gen_ai.retrieval.documents":        `[{"id":"g"}]`,
			"retrieval.documents.0.document.id": "oi",
		}, tevent{name: "db.query.result", attrs: map[string]any{"db.query.result.id": "ev"}})
		assert.Equal(t, []Document{{ID: "g", Rank: 1}}, s.Documents)
		assert.Equal(t, OpRetrieval, s.Operation, "documents without an operation mean retrieval")
		assert.Equal(t, ConvGenAI, s.Convention)
	})
	t.Run("unreadable genai documents warn and fall back", func(t *testing.T) {
		s, warns := one(t, map[string]any{
			"gen_ai.operation.name":             "retrieval",
			"gen_ai.retrieval.documents":        `{"id": "not an array"}`,
			"retrieval.documents.0.document.id": "oi",
		})
		assert.Equal(t, []Document{{ID: "oi", Rank: 1}}, s.Documents)
		require.Len(t, warns, 1)
		assert.Contains(t, warns[0], "gen_ai.retrieval.documents")
	})
	t.Run("no documents on an llm span", func(t *testing.T) {
		s, _ := one(t, map[string]any{"gen_ai.operation.name": "chat"},
			tevent{name: "gen_ai.content.prompt", attrs: map[string]any{"gen_ai.prompt": "hi"}})
		assert.Nil(t, s.Documents)
	})
}

func TestTotalTokens(t *testing.T) {
	cases := []struct {
		name  string
		attrs map[string]any
		want  Tokens
	}{
		{"derived from input+output", map[string]any{"gen_ai.usage.input_tokens": 100, "gen_ai.usage.output_tokens": 23},
			Tokens{Input: 100, Output: 23, Total: 123, HasInput: true, HasOutput: true, HasTotal: true}},
		{"derived from input only", map[string]any{"gen_ai.usage.input_tokens": 100},
			Tokens{Input: 100, Total: 100, HasInput: true, HasTotal: true}},
		{"derived from output only", map[string]any{"llm.token_count.completion": 9},
			Tokens{Output: 9, Total: 9, HasOutput: true, HasTotal: true}},
		{"reported total wins", map[string]any{"gen_ai.usage.input_tokens": 100, "gen_ai.usage.output_tokens": 23, "gen_ai.usage.total_tokens": 130},
			Tokens{Input: 100, Output: 23, Total: 130, HasInput: true, HasOutput: true, HasTotal: true}},
		{"total alone", map[string]any{"llm.usage.total_tokens": 77},
			Tokens{Total: 77, HasTotal: true}},
		{"none", map[string]any{"gen_ai.operation.name": "chat"}, Tokens{}},
		{"zero is a count", map[string]any{"gen_ai.usage.input_tokens": 0, "gen_ai.usage.cache_read.input_tokens": 0},
			Tokens{HasInput: true, HasTotal: true, HasCached: true}},
		{"cache write and reasoning are reported", map[string]any{"gen_ai.usage.input_tokens": 10, "gen_ai.usage.cache_creation.input_tokens": 0, "llm.token_count.completion_details.reasoning": 4},
			Tokens{Input: 10, Total: 10, Reasoning: 4, HasInput: true, HasTotal: true, HasCacheWrite: true, HasReasoning: true}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, warns := one(t, c.attrs)
			assert.Empty(t, warns)
			assert.Equal(t, c.want, s.Tokens)
		})
	}
}

// input + output beyond int64 is not a total (it would wrap negative).
func TestTotalTokensOverflow(t *testing.T) {
	s, warns := one(t, map[string]any{"gen_ai.usage.input_tokens": int64(math.MaxInt64 - 5), "gen_ai.usage.output_tokens": int64(10)})
	assert.Equal(t, Tokens{Input: math.MaxInt64 - 5, Output: 10, HasInput: true, HasOutput: true}, s.Tokens)
	require.Len(t, warns, 1)
	assert.Contains(t, warns[0], "overflow a 64-bit count")
}

func TestTokenValueTypes(t *testing.T) {
	cases := []struct {
		name     string
		val      any
		want     int64
		ok       bool
		wantWarn string
	}{
		{"int", int64(42), 42, true, ""},
		{"integral double", 42.0, 42, true, ""},
		{"numeric string", "42", 42, true, ""},
		{"numeric string with spaces", " 42 ", 42, true, ""},
		{"integral double string", "42.0", 42, true, ""},
		{"non-numeric string", "many", 0, false, `got str "many"`},
		{"empty string", "", 0, false, `got str ""`},
		{"negative int", int64(-3), 0, false, `got int "-3"`},
		{"negative string", "-3", 0, false, `got str "-3"`},
		{"fractional double", 1.5, 0, false, `got double "1.5"`},
		{"bool", true, 0, false, `got bool "true"`},
		{"array", []any{int64(1)}, 0, false, `got slice "[1]"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, warns := one(t, map[string]any{"gen_ai.usage.input_tokens": c.val})
			assert.Equal(t, c.ok, s.Tokens.HasInput)
			assert.Equal(t, c.want, s.Tokens.Input)
			assert.Equal(t, c.ok, s.Tokens.HasTotal)
			if c.ok {
				assert.Empty(t, warns)
				return
			}
			require.Len(t, warns, 1)
			w := warns[0]
			for _, part := range []string{`"op"`, "b7ad6b7169203331", "0af7651916cd43dd8448eb211c80319c", "gen_ai.usage.input_tokens", c.wantWarn} {
				assert.Contains(t, w, part)
			}
		})
	}
}

func TestWrongTypedTokenFallsBackWithWarning(t *testing.T) {
	s, warns := one(t, map[string]any{
		"gen_ai.usage.input_tokens":            "lots",
		"gen_ai.usage.prompt_tokens":           int64(12), // next in lookup order
		"gen_ai.usage.output_tokens":           -1,
		"gen_ai.usage.cache_read.input_tokens": "x",
		"gen_ai.usage.reasoning.output_tokens": 2.5,
	})
	assert.Equal(t, Tokens{Input: 12, Total: 12, HasInput: true, HasTotal: true}, s.Tokens)
	assert.Len(t, warns, 4)
	joined := strings.Join(warns, "\n")
	for _, a := range []string{"gen_ai.usage.input_tokens", "gen_ai.usage.output_tokens", "gen_ai.usage.cache_read.input_tokens", "gen_ai.usage.reasoning.output_tokens"} {
		assert.Contains(t, joined, a)
	}
	assert.NotContains(t, joined, "gen_ai.usage.prompt_tokens")

	// FromTraces without a warn function must not fail.
	got := FromTraces(nil, build(t, "", tspan{attrs: map[string]any{"gen_ai.usage.input_tokens": "lots"}}))
	assert.False(t, got[0].Tokens.HasInput)
}

func TestOperationMapping(t *testing.T) {
	cases := []struct {
		attr, val, want, conv string
	}{
		{"gen_ai.operation.name", "chat", OpChat, ConvGenAI},
		{"gen_ai.operation.name", "GENERATE_CONTENT", OpGenerateContent, ConvGenAI},
		{"gen_ai.operation.name", "invoke_workflow", OpInvokeWorkflow, ConvGenAI},
		{"gen_ai.operation.name", "plan", "plan", ConvGenAI},
		{"llm.request.type", "chat", OpChat, ConvOpenLLMetry},
		{"llm.request.type", "completion", OpTextCompletion, ConvOpenLLMetry},
		{"llm.request.type", "embedding", OpEmbeddings, ConvOpenLLMetry},
		{"llm.request.type", "rerank", OpRerank, ConvOpenLLMetry},
		{"llm.request.type", "unknown", "", ""},
		{"traceloop.span.kind", "workflow", OpWorkflow, ConvOpenLLMetry},
		{"traceloop.span.kind", "task", OpTask, ConvOpenLLMetry},
		{"traceloop.span.kind", "agent", OpInvokeAgent, ConvOpenLLMetry},
		{"traceloop.span.kind", "tool", OpExecuteTool, ConvOpenLLMetry},
		{"openinference.span.kind", "LLM", OpChat, ConvOpenInference},
		{"openinference.span.kind", "EMBEDDING", OpEmbeddings, ConvOpenInference},
		{"openinference.span.kind", "RETRIEVER", OpRetrieval, ConvOpenInference},
		{"openinference.span.kind", "RERANKER", OpRerank, ConvOpenInference},
		{"openinference.span.kind", "TOOL", OpExecuteTool, ConvOpenInference},
		{"openinference.span.kind", "AGENT", OpInvokeAgent, ConvOpenInference},
		{"openinference.span.kind", "CHAIN", OpChain, ConvOpenInference},
		{"openinference.span.kind", "GUARDRAIL", "guardrail", ConvOpenInference},
		{"openinference.span.kind", "UNKNOWN", "", ""},
		{"langsmith.span.kind", "llm", OpChat, ConvLangSmith},
		{"langsmith.span.kind", "retriever", OpRetrieval, ConvLangSmith},
		{"langsmith.span.kind", "tool", OpExecuteTool, ConvLangSmith},
		{"langsmith.span.kind", "embedding", OpEmbeddings, ConvLangSmith},
		{"langsmith.span.kind", "chain", OpChain, ConvLangSmith},
	}
	for _, c := range cases {
		t.Run(c.attr+"="+c.val, func(t *testing.T) {
			s, _ := one(t, map[string]any{c.attr: c.val})
			assert.Equal(t, c.want, s.Operation)
			assert.Equal(t, c.conv, s.Convention)
		})
	}
}

func TestLookupOrder(t *testing.T) {
	s, _ := one(t, map[string]any{
		"gen_ai.operation.name":   "chat",
		"llm.request.type":        "completion",
		"traceloop.span.kind":     "task",
		"openinference.span.kind": "EMBEDDING",
		"gen_ai.request.model":    "req",
		"llm.model_name":          "oi",
		"gen_ai.system":           "Anthropic",
		"llm.provider":            "openai",
		"llm.token_count.prompt":  1,
	})
	assert.Equal(t, OpChat, s.Operation)
	assert.Equal(t, ConvGenAI, s.Convention)
	assert.Equal(t, "req", s.Model)
	assert.Equal(t, "anthropic", s.Provider)
	assert.Equal(t, int64(1), s.Tokens.Input)

	// Without an operation the convention comes from the tokens.
	s, _ = one(t, map[string]any{"gen_ai.usage.completion_tokens": 3, "llm.token_count.prompt": 2})
	assert.Equal(t, ConvOpenInference, s.Convention, "input is looked at first")
	s, _ = one(t, map[string]any{"gen_ai.usage.completion_tokens": 3})
	assert.Equal(t, ConvOpenLLMetry, s.Convention)
	// Then the model.
	s, _ = one(t, map[string]any{"embedding.model_name": "e5"})
	assert.Equal(t, ConvOpenInference, s.Convention)
	assert.Equal(t, "e5", s.Model)
	// An empty string is absent.
	s, _ = one(t, map[string]any{"gen_ai.response.model": "", "gen_ai.request.model": "m", "gen_ai.operation.name": ""})
	assert.Equal(t, "m", s.Model)
	assert.Equal(t, "", s.Operation)
}

func TestQuery(t *testing.T) {
	cases := []struct {
		name  string
		attrs map[string]any
		want  string
	}{
		{"genai", map[string]any{"gen_ai.retrieval.query.text": "q1", "input.value": "other"}, "q1"},
		{"openinference retriever", map[string]any{"openinference.span.kind": "RETRIEVER", "input.value": "q2"}, "q2"},
		{"openinference llm input is not a query", map[string]any{"openinference.span.kind": "LLM", "input.value": "hello"}, ""},
		{"traceloop JSON query", map[string]any{"traceloop.span.kind": "task", "traceloop.entity.input": `{"query": "q3"}`}, "q3"},
		{"traceloop JSON kwargs query", map[string]any{"traceloop.span.kind": "task", "traceloop.entity.input": `{"args": [], "kwargs": {"query": "q4"}}`}, "q4"},
		{"traceloop JSON without query on a task", map[string]any{"traceloop.span.kind": "task", "traceloop.entity.input": `{"args": ["x"]}`}, ""},
		{"traceloop plain string on a retrieval", map[string]any{"gen_ai.operation.name": "retrieval", "traceloop.entity.input": "q5"}, "q5"},
		{"traceloop plain string on a workflow", map[string]any{"traceloop.span.kind": "workflow", "traceloop.entity.input": "q6"}, ""},
		{"traceloop broken JSON", map[string]any{"traceloop.span.kind": "task", "traceloop.entity.input": `{"query": `}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, _ := one(t, c.attrs)
			assert.Equal(t, c.want, s.Query)
		})
	}
}

func TestCost(t *testing.T) {
	cases := []struct {
		name  string
		attrs map[string]any
		want  float64
		has   bool
		warns int
	}{
		{"total", map[string]any{"llm.cost.total": 0.0125, "llm.cost.prompt": 1.0}, 0.0125, true, 0},
		{"prompt+completion", map[string]any{"llm.cost.prompt": 0.01, "llm.cost.completion": 0.02}, 0.03, true, 0},
		{"prompt only", map[string]any{"llm.cost.prompt": 0.01}, 0.01, true, 0},
		{"int and string", map[string]any{"llm.cost.prompt": 1, "llm.cost.completion": "0.5"}, 1.5, true, 0},
		{"bad total falls back", map[string]any{"llm.cost.total": "free", "llm.cost.prompt": 0.25}, 0.25, true, 1},
		{"bad only", map[string]any{"llm.cost.total": true}, 0, false, 1},
		// a negative cost would cancel real spend in a sum
		{"negative total falls back", map[string]any{"llm.cost.total": -4.999, "llm.cost.prompt": 0.25}, 0.25, true, 1},
		{"negative total", map[string]any{"llm.cost.total": -4.999}, 0, false, 1},
		{"negative part", map[string]any{"llm.cost.prompt": "-1", "llm.cost.completion": 0.5}, 0.5, true, 1},
		{"infinite", map[string]any{"llm.cost.total": "inf"}, 0, false, 1},
		{"zero is a cost", map[string]any{"llm.cost.total": 0}, 0, true, 0},
		{"none", map[string]any{"gen_ai.operation.name": "chat"}, 0, false, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, warns := one(t, c.attrs)
			assert.InDelta(t, c.want, s.Cost, 1e-12)
			assert.Equal(t, c.has, s.HasCost)
			assert.Len(t, warns, c.warns)
		})
	}
}

func TestKeyTablesAgree(t *testing.T) {
	seen := map[string]bool{}
	for k := key(0); k < nKeys; k++ {
		name := keyName[k]
		require.NotEmpty(t, name, "key %d has no name", k)
		require.NotEmpty(t, keyConv[k], "key %s has no convention", name)
		require.False(t, seen[name], "duplicate %s", name)
		seen[name] = true
		got, ok := keyOf(name)
		require.True(t, ok, name)
		require.Equal(t, k, got, name)
	}
	require.LessOrEqual(t, int(nKeys), 64, "present is a uint64 bit set")
	_, ok := keyOf("gen_ai.usage.input_token")
	assert.False(t, ok)
}

func TestNoAllocationForPlainSpans(t *testing.T) {
	// A span with no attributes and no events costs its ids and nothing
	// else: the LLM lookup allocates nothing when attributes are absent.
	td := build(t, "", tspan{name: "plain", start: 1, end: 2})
	dst := make([]Span, 0, 1)
	allocs := testing.AllocsPerRun(100, func() {
		dst = FromTraces(dst[:0], td)
	})
	assert.LessOrEqual(t, allocs, 2.0) // trace id, span id
}
