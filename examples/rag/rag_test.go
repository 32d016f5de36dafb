package rag_test

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/llmcheck/llmcheck/examples/rag"
	"github.com/llmcheck/llmcheck/span"
)

// TestMain exports the spans of the tests over OTLP when the environment
// asks for it (as `llmcheck run -- go test ./examples/rag/` does), and
// flushes them before the process exits.
func TestMain(m *testing.M) {
	shutdownTracing, err := rag.SetupTracing(context.Background())
	if err != nil {
		fmt.Fprintln(os.Stderr, "setting up tracing:", err)
		os.Exit(1)
	}
	shutdownLogging, err := rag.SetupLogging(context.Background())
	if err != nil {
		fmt.Fprintln(os.Stderr, "setting up logging:", err)
		os.Exit(1)
	}
	code := m.Run()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	// Not test failures: the tests passed; llmcheck reports the missing
	// spans and evaluations itself.
	if err := shutdownTracing(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "warning: flushing spans:", err)
	}
	if err := shutdownLogging(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "warning: flushing evaluation records:", err)
	}
	cancel()
	os.Exit(code)
}

// questions are the requests the suite sends; only TestAnswers and
// TestConversations export spans and evaluation records (through the
// global providers), so a recorded run holds exactly these 21 traces and
// the 10 turns of TestConversations.
var questions = []struct {
	q       string
	model   string // "" = rag.DefaultChat
	wantTop string // expected first document
	rank    int    // 1-based rank of the first relevant document, 0 = missed or no ground truth
}{
	{q: "How long do I have to request a refund?", wantTop: "kb-refunds", rank: 1},
	{q: "When will my refund arrive?", wantTop: "kb-refunds", rank: 1},
	{q: "How long does standard delivery take?", wantTop: "kb-shipping", rank: 1},
	{q: "Is shipping free?", wantTop: "kb-shipping", rank: 1},
	{q: "How do I reset my password?", wantTop: "kb-password-reset", rank: 1},
	{q: "When does a password reset link expire?", wantTop: "kb-password-reset", rank: 1},
	{q: "How many API requests per minute are allowed?", wantTop: "kb-rate-limits", rank: 1},
	{q: "Why did the API answer 429 Too Many Requests?", wantTop: "kb-rate-limits", rank: 1},
	{q: "How much does the Team plan cost?", wantTop: "kb-pricing", rank: 1},
	{q: "Is there a free trial?", wantTop: "kb-pricing", rank: 1},
	{q: "How can I export my data as CSV?", wantTop: "kb-data-export", rank: 1},
	{q: "Do you support SAML single sign-on?", wantTop: "kb-sso", rank: 1},
	{q: "When is support available?", wantTop: "kb-support-hours", rank: 1},
	{q: "Is there a phone line for enterprise customers?", wantTop: "kb-support-hours", rank: 1},
	{q: "How do I delete my workspace?", wantTop: "kb-account-deletion", rank: 1},
	{q: "How do I enable two-factor authentication?", wantTop: "kb-two-factor", rank: 1},
	{q: "I lost my phone, how do I sign in?", wantTop: "kb-two-factor", rank: 1},
	// The cheaper model.
	{q: "What does the Starter plan cost per month?", model: rag.CheapChat, wantTop: "kb-pricing", rank: 1},
	// Found, but not first.
	{q: "Which plans can verify a domain for SSO sign-ins?", wantTop: "kb-pricing", rank: 3},
	// Missed: no word of the question is in the refund article.
	{q: "Can I get my money back if I cancel my plan?", wantTop: "kb-rate-limits", rank: 0},
	// No ground truth: left out of retrieval metrics.
	{q: "Tell me a joke about dogs.", wantTop: "kb-rate-limits", rank: 0},
}

func TestAnswers(t *testing.T) {
	apps := map[string]*rag.App{
		rag.DefaultChat: rag.New(rag.Config{}),
		rag.CheapChat:   rag.New(rag.Config{ChatModel: rag.CheapChat}),
	}
	var judge rag.Judge // the global logger provider
	for _, c := range questions {
		t.Run(c.q, func(t *testing.T) {
			model := c.model
			if model == "" {
				model = rag.DefaultChat
			}
			res, err := apps[model].Answer(context.Background(), c.q)
			require.NoError(t, err)
			assert.Equal(t, model, res.Model)
			require.Len(t, res.Documents, rag.DefaultTopK)
			assert.Equal(t, c.wantTop, res.Documents[0].ID)
			assert.Equal(t, c.rank, firstRelevant(res.Documents, rag.GroundTruth[c.q]))
			for i := 1; i < len(res.Documents); i++ {
				assert.GreaterOrEqual(t, res.Documents[i-1].Score, res.Documents[i].Score, "rank order")
			}
			if res.Documents[0].Score > 0 {
				assert.Contains(t, res.Answer, res.Documents[0].Title)
			} else {
				assert.Contains(t, res.Answer, "do not know")
			}
			assert.Positive(t, res.Usage.EmbeddingTokens)
			assert.Greater(t, res.Usage.InputTokens, res.Usage.CachedInputTokens)
			assert.Positive(t, res.Usage.CachedInputTokens)
			assert.Positive(t, res.Usage.OutputTokens)

			// The judge: only the small model's embellishment is unfaithful.
			ev := judge.Evaluate(context.Background(), res)
			assert.Equal(t, rag.EvalFaithfulness, ev.Name)
			if model == rag.CheapChat {
				assert.Equal(t, 0.5, ev.Score, ev.Explanation)
				assert.Equal(t, rag.LabelUnfaithful, ev.Label)
			} else {
				assert.Equal(t, 1.0, ev.Score, ev.Explanation)
				assert.Equal(t, rag.LabelFaithful, ev.Label)
			}
		})
	}
}

// The table above is what an llmcheck retrieval assertion sees: the hit
// rate is not trivially 1.
func TestGroundTruthCoverage(t *testing.T) {
	var withTruth, hits int
	var rr float64
	cheap := 0
	for _, c := range questions {
		if c.model == rag.CheapChat {
			cheap++
		}
		if rag.GroundTruth[c.q] == nil {
			continue
		}
		withTruth++
		if c.rank > 0 {
			hits++
			rr += 1 / float64(c.rank)
		}
	}
	assert.Equal(t, len(rag.GroundTruth), withTruth, "every ground-truth question is asked")
	assert.Equal(t, 20, withTruth)
	assert.Equal(t, 19, hits)                                     // hit rate 0.95
	assert.InDelta(t, (18+1.0/3)/20, rr/float64(withTruth), 1e-9) // MRR 0.9167
	assert.Equal(t, 1, cheap)
	for _, ids := range rag.GroundTruth {
		for _, id := range ids {
			assert.True(t, slices.ContainsFunc(rag.Corpus, func(d rag.Doc) bool { return d.ID == id }), id)
		}
	}
}

func firstRelevant(docs []rag.Retrieved, relevant []string) int {
	for i, d := range docs {
		if slices.Contains(relevant, d.ID) {
			return i + 1
		}
	}
	return 0
}

// recorder returns an App whose spans go to memory (not to the global
// provider, so they stay out of an exported run) and that does not sleep.
func recorder(t *testing.T, cfg rag.Config) (*rag.App, *tracetest.InMemoryExporter) {
	t.Helper()
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	cfg.TracerProvider = tp
	if cfg.Sleep == nil {
		cfg.Sleep = func(ctx context.Context, _ time.Duration) error { return ctx.Err() }
	}
	return rag.New(cfg), exp
}

func TestSpans(t *testing.T) {
	app, exp := recorder(t, rag.Config{})
	const q = "How do I reset my password?"
	res, err := app.Answer(context.Background(), q)
	require.NoError(t, err)

	stubs := exp.GetSpans()
	require.Len(t, stubs, 4)
	byName := map[string]tracetest.SpanStub{}
	for _, s := range stubs {
		byName[s.Name] = s
	}
	root := byName["rag.answer"]
	require.True(t, root.SpanContext.IsValid())
	assert.False(t, root.Parent.IsValid())
	for _, name := range []string{"embeddings text-embedding-3-small", "retrieval acme-help", "chat gpt-4o-mini"} {
		s, ok := byName[name]
		require.True(t, ok, name)
		assert.Equal(t, root.SpanContext.SpanID(), s.Parent.SpanID(), name)
		assert.Equal(t, root.SpanContext.TraceID(), s.SpanContext.TraceID(), name)
	}

	// What llmcheck reads from these spans.
	spans := span.FromTracesWarn(nil, toTraces(stubs), func(w string) { t.Error(w) })
	got := map[string]span.Span{}
	for _, s := range spans {
		got[s.Name] = s
	}
	r := got["rag.answer"]
	assert.True(t, r.IsRoot())
	assert.Equal(t, []any{"kb-password-reset"}, r.Attrs.Value("llmcheck.relevant_ids"))
	assert.Equal(t, "", r.Operation)

	e := got["embeddings text-embedding-3-small"]
	assert.Equal(t, span.OpEmbeddings, e.Operation)
	assert.Equal(t, rag.EmbeddingModel, e.Model)
	assert.Equal(t, "openai", e.Provider)
	assert.Equal(t, span.ConvGenAI, e.Convention)
	assert.Equal(t, "client", e.Kind)
	assert.Equal(t, res.Usage.EmbeddingTokens, e.Tokens.Input)
	assert.Equal(t, res.Usage.EmbeddingTokens, e.Tokens.Total)

	rt := got["retrieval acme-help"]
	assert.Equal(t, span.OpRetrieval, rt.Operation)
	assert.Equal(t, q, rt.Query)
	assert.Equal(t, rag.DataSource, rt.Attrs.Value("gen_ai.data_source.id"))
	assert.Equal(t, []any{"kb-password-reset"}, rt.Attrs.Value("llmcheck.relevant_ids"))
	require.Len(t, rt.Documents, 3)
	for i, d := range rt.Documents {
		assert.Equal(t, res.Documents[i].ID, d.ID)
		assert.Equal(t, res.Documents[i].Score, d.Score)
		assert.True(t, d.HasScore)
		assert.Equal(t, i+1, d.Rank)
	}
	assert.False(t, rt.Tokens.Any())

	assert.Equal(t, byName["chat gpt-4o-mini"].SpanContext, res.ChatSpan, "the result names its chat span")
	c := got["chat gpt-4o-mini"]
	assert.Equal(t, span.OpChat, c.Operation)
	assert.Equal(t, rag.DefaultChat, c.Model)
	assert.Equal(t, span.Tokens{
		Input: res.Usage.InputTokens, Output: res.Usage.OutputTokens,
		Total:    res.Usage.InputTokens + res.Usage.OutputTokens,
		Cached:   res.Usage.CachedInputTokens,
		HasInput: true, HasOutput: true, HasTotal: true, HasCached: true,
	}, c.Tokens)
	assert.Equal(t, "unset", c.Status)

	run := span.NewRun(spans)
	require.Len(t, run.Traces, 1)
	assert.Equal(t, "rag.answer", run.Traces[0].Root.Name)
}

func TestNoGroundTruthNoRelevantIDs(t *testing.T) {
	app, exp := recorder(t, rag.Config{})
	_, err := app.Answer(context.Background(), "Tell me a joke about dogs.")
	require.NoError(t, err)
	for _, s := range exp.GetSpans() {
		for _, kv := range s.Attributes {
			assert.NotEqual(t, attribute.Key("llmcheck.relevant_ids"), kv.Key, s.Name)
		}
	}
}

func TestDeterministic(t *testing.T) {
	app, exp := recorder(t, rag.Config{ChatModel: rag.CheapChat})
	const q = "Is there a free trial?"
	a, err := app.Answer(context.Background(), q)
	require.NoError(t, err)
	b, err := app.Answer(context.Background(), q)
	require.NoError(t, err)
	assert.NotEqual(t, a.ChatSpan, b.ChatSpan, "two calls, two spans")
	a.ChatSpan, b.ChatSpan = trace.SpanContext{}, trace.SpanContext{}
	assert.Equal(t, a, b)

	stubs := exp.GetSpans()
	require.Len(t, stubs, 8)
	attrsOf := func(s tracetest.SpanStub) string { return fmt.Sprint(s.Attributes) }
	for i := range 4 {
		assert.Equal(t, stubs[i].Name, stubs[i+4].Name)
		assert.Equal(t, attrsOf(stubs[i]), attrsOf(stubs[i+4]), stubs[i].Name)
	}
}

func TestLatenciesAreSimulated(t *testing.T) {
	var slept []time.Duration
	sleep := func(ctx context.Context, d time.Duration) error { slept = append(slept, d); return nil }
	app, _ := recorder(t, rag.Config{Sleep: sleep})
	cheap, _ := recorder(t, rag.Config{Sleep: sleep, ChatModel: rag.CheapChat})

	var total time.Duration
	chats := map[time.Duration]bool{}
	for _, c := range questions {
		slept = slept[:0]
		a := app
		if c.model == rag.CheapChat {
			a = cheap
		}
		_, err := a.Answer(context.Background(), c.q)
		require.NoError(t, err)
		require.Len(t, slept, 3) // embed, retrieve, chat
		for _, d := range slept {
			assert.GreaterOrEqual(t, d, time.Millisecond/2)
			assert.Less(t, d, 50*time.Millisecond)
			total += d
		}
		chats[slept[2]] = true
	}
	assert.Less(t, total, 1500*time.Millisecond, "the suite stays fast")
	assert.Greater(t, len(chats), len(questions)/2, "latencies differ between questions")
}

func TestErrorsAreRecorded(t *testing.T) {
	t.Run("empty question", func(t *testing.T) {
		app, exp := recorder(t, rag.Config{})
		_, err := app.Answer(context.Background(), "  ")
		require.ErrorIs(t, err, rag.ErrEmptyQuestion)
		stubs := exp.GetSpans()
		require.Len(t, stubs, 1)
		assert.Equal(t, codes.Error, stubs[0].Status.Code)
	})
	t.Run("cancelled", func(t *testing.T) {
		app, exp := recorder(t, rag.Config{})
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := app.Answer(ctx, "Is shipping free?")
		require.ErrorIs(t, err, context.Canceled)
		stubs := exp.GetSpans()
		require.Len(t, stubs, 2) // the embedding failed, then the root
		for _, s := range stubs {
			assert.Equal(t, codes.Error, s.Status.Code, s.Name)
		}
	})
}

func TestExporterProtocol(t *testing.T) {
	cases := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"nothing set", nil, ""},
		{"endpoint, default protocol", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}, "http"},
		{"traces endpoint only", map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://127.0.0.1:4318/v1/traces"}, "http"},
		{"grpc", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4317", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}, "grpc"},
		{"traces protocol wins", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "x", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http/protobuf"}, "http"},
		{"http/json is sent as http", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "x", "OTEL_EXPORTER_OTLP_PROTOCOL": "http/json"}, "http"},
		{"exporter none", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "x", "OTEL_TRACES_EXPORTER": "none"}, ""},
		{"exporter otlp", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "x", "OTEL_TRACES_EXPORTER": "otlp"}, "http"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			clearOTelEnv(t)
			for k, v := range c.env {
				t.Setenv(k, v)
			}
			assert.Equal(t, c.want, rag.ExporterProtocol())
		})
	}
}

func TestNewTracerProvider(t *testing.T) {
	t.Run("none", func(t *testing.T) {
		clearOTelEnv(t)
		tp, err := rag.NewTracerProvider(context.Background())
		require.NoError(t, err)
		assert.Nil(t, tp)
		// SetupTracing then changes nothing and its shutdown is harmless.
		shutdown, err := rag.SetupTracing(context.Background())
		require.NoError(t, err)
		require.NoError(t, shutdown(context.Background()))
	})
	for _, proto := range []string{"grpc", "http/protobuf"} {
		t.Run(proto, func(t *testing.T) {
			clearOTelEnv(t)
			// Nothing listens there; no span is exported, so nothing is sent.
			t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:9")
			t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", proto)
			t.Setenv("OTEL_SERVICE_NAME", "custom-name")
			tp, err := rag.NewTracerProvider(context.Background())
			require.NoError(t, err)
			require.NotNil(t, tp)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			require.NoError(t, tp.Shutdown(ctx))
		})
	}
}

func clearOTelEnv(t *testing.T) {
	t.Helper()
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "OTEL_") {
			t.Setenv(k, "")
		}
	}
}

// toTraces converts recorded SDK spans to OTLP, as an exporter would.
func toTraces(stubs tracetest.SpanStubs) ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "ragdemo")
	ss := rs.ScopeSpans().AppendEmpty()
	for _, s := range stubs {
		ss.Scope().SetName(s.InstrumentationScope.Name)
		sp := ss.Spans().AppendEmpty()
		sp.SetTraceID(pcommon.TraceID(s.SpanContext.TraceID()))
		sp.SetSpanID(pcommon.SpanID(s.SpanContext.SpanID()))
		if s.Parent.IsValid() {
			sp.SetParentSpanID(pcommon.SpanID(s.Parent.SpanID()))
		}
		sp.SetName(s.Name)
		sp.SetKind(ptrace.SpanKind(s.SpanKind))
		sp.SetStartTimestamp(pcommon.NewTimestampFromTime(s.StartTime))
		sp.SetEndTimestamp(pcommon.NewTimestampFromTime(s.EndTime))
		switch s.Status.Code {
		case codes.Ok:
			sp.Status().SetCode(ptrace.StatusCodeOk)
		case codes.Error:
			sp.Status().SetCode(ptrace.StatusCodeError)
		}
		sp.Status().SetMessage(s.Status.Description)
		for _, kv := range s.Attributes {
			putAttr(sp.Attributes().PutEmpty(string(kv.Key)), kv.Value)
		}
		for _, e := range s.Events {
			ev := sp.Events().AppendEmpty()
			ev.SetName(e.Name)
			ev.SetTimestamp(pcommon.NewTimestampFromTime(e.Time))
			for _, kv := range e.Attributes {
				putAttr(ev.Attributes().PutEmpty(string(kv.Key)), kv.Value)
			}
		}
	}
	return td
}

func putAttr(dst pcommon.Value, v attribute.Value) {
	switch v.Type() {
	case attribute.BOOL:
		dst.SetBool(v.AsBool())
	case attribute.INT64:
		dst.SetInt(v.AsInt64())
	case attribute.FLOAT64:
		dst.SetDouble(v.AsFloat64())
	case attribute.STRING:
		dst.SetStr(v.AsString())
	case attribute.STRINGSLICE:
		sl := dst.SetEmptySlice()
		for _, s := range v.AsStringSlice() {
			sl.AppendEmpty().SetStr(s)
		}
	case attribute.INT64SLICE:
		sl := dst.SetEmptySlice()
		for _, i := range v.AsInt64Slice() {
			sl.AppendEmpty().SetInt(i)
		}
	default:
		dst.SetStr(v.Emit())
	}
}
