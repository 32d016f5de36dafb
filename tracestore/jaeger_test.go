package tracestore_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/llmcheck/llmcheck/internal/jaegertest"
	"github.com/llmcheck/llmcheck/receiver"
	"github.com/llmcheck/llmcheck/replay"
	"github.com/llmcheck/llmcheck/tracestore"
)

// world is a real Jaeger and a real llmcheck receiver that both got the
// same spans from the OpenTelemetry Go SDK.
type world struct {
	jaeger *jaegertest.Jaeger
	local  string // the trace file llmcheck recorded
	base   time.Time
	ids    []pcommon.TraceID
}

// emit sends traces traces of 5 spans from two services, each span to
// llmcheck's receiver (OTLP/HTTP) and to Jaeger (OTLP/gRPC). Trace i
// starts i minutes after base and its last span 10 minutes later, so
// traces straddle the windows of a split search.
func emit(t *testing.T, traces int) *world {
	t.Helper()
	j := jaegertest.Start(t, 10000)
	dir := t.TempDir()
	local := filepath.Join(dir, "local.jsonl")
	w, err := replay.Create(local)
	require.NoError(t, err)
	rcv, err := receiver.Start(receiver.Options{Addrs: []string{"127.0.0.1:0"}}, w)
	require.NoError(t, err)
	ctx := context.Background()
	provider := func(service string) *sdktrace.TracerProvider {
		toLocal, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(rcv.Endpoint()+"/v1/traces"))
		require.NoError(t, err)
		toJaeger, err := otlptracegrpc.New(ctx, otlptracegrpc.WithEndpoint(j.OTLPGRPC), otlptracegrpc.WithInsecure())
		require.NoError(t, err)
		return sdktrace.NewTracerProvider(sdktrace.WithBatcher(toLocal), sdktrace.WithBatcher(toJaeger),
			sdktrace.WithResource(resource.NewSchemaless(attribute.String("service.name", service), attribute.String("deployment.environment", "test"))))
	}
	api, retr := provider("chat-api"), provider("retriever")
	ta, tr := api.Tracer("chat-api", trace.WithInstrumentationVersion("1.2.3")), retr.Tracer("retriever")
	base := time.Now().Add(-3 * time.Hour).Truncate(time.Second)
	wd := &world{jaeger: j, local: local, base: base}
	for i := range traces {
		t0 := base.Add(time.Duration(i) * time.Minute)
		rctx, root := ta.Start(ctx, "answer question", trace.WithTimestamp(t0), trace.WithSpanKind(trace.SpanKindServer),
			trace.WithAttributes(attribute.String("tenant", fmt.Sprintf("t-%d", i%4)), attribute.Int("attempt", i)))
		wd.ids = append(wd.ids, pcommon.TraceID(root.SpanContext().TraceID()))
		_, ret := tr.Start(rctx, "retrieval kb", trace.WithTimestamp(t0.Add(time.Millisecond)), trace.WithAttributes(
			attribute.String("gen_ai.operation.name", "retrieval"),
			attribute.StringSlice("llmcheck.relevant_ids", []string{"doc-1", "doc-2"}),
			attribute.Float64("score", 0.25+float64(i)),
			attribute.Bool("cached", i%2 == 0),
		))
		ret.AddEvent("db.query.result", trace.WithTimestamp(t0.Add(2*time.Millisecond)), trace.WithAttributes(attribute.String("db.query.result.id", "doc-1"), attribute.Float64("db.query.result.score", 0.9)))
		ret.End(trace.WithTimestamp(t0.Add(3 * time.Millisecond)))
		cctx, chat := ta.Start(rctx, "chat gpt-4o-mini", trace.WithTimestamp(t0.Add(4*time.Millisecond)), trace.WithSpanKind(trace.SpanKindClient),
			trace.WithLinks(trace.Link{SpanContext: ret.SpanContext(), Attributes: []attribute.KeyValue{attribute.String("link.kind", "retrieved")}}),
			trace.WithAttributes(attribute.String("gen_ai.operation.name", "chat"), attribute.Int("gen_ai.usage.input_tokens", 100+i), attribute.Int("gen_ai.usage.output_tokens", 20)))
		if i%5 == 0 {
			chat.SetStatus(codes.Error, "rate limited: ünïcode ✓")
			chat.RecordError(fmt.Errorf("429 from provider"), trace.WithTimestamp(t0.Add(5*time.Millisecond)))
		}
		_, tool := tr.Start(cctx, "execute_tool get_weather", trace.WithTimestamp(t0.Add(6*time.Millisecond)), trace.WithSpanKind(trace.SpanKindInternal))
		tool.End(trace.WithTimestamp(t0.Add(7 * time.Millisecond)))
		chat.End(trace.WithTimestamp(t0.Add(8 * time.Millisecond)))
		_, late := ta.Start(rctx, "feedback", trace.WithTimestamp(t0.Add(10*time.Minute)), trace.WithSpanKind(trace.SpanKindConsumer))
		late.SetStatus(codes.Ok, "")
		late.End(trace.WithTimestamp(t0.Add(10*time.Minute + time.Millisecond)))
		root.End(trace.WithTimestamp(t0.Add(10*time.Minute + 2*time.Millisecond)))
	}
	require.NoError(t, api.Shutdown(ctx))
	require.NoError(t, retr.Shutdown(ctx))
	sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	require.NoError(t, rcv.Shutdown(sctx))
	require.NoError(t, w.Close())
	return wd
}

// spansOf reads a trace file as one canonical OTLP JSON text per span
// (its resource, scope and the span), by trace and span id.
func spansOf(t *testing.T, path string) map[string]string {
	t.Helper()
	out := map[string]string{}
	var m ptrace.JSONMarshaler
	require.NoError(t, replay.Read([]string{path}, replay.ReadOptions{}, func(td ptrace.Traces) error {
		for _, rs := range td.ResourceSpans().All() {
			for _, ss := range rs.ScopeSpans().All() {
				for _, s := range ss.Spans().All() {
					one := ptrace.NewTraces()
					r := one.ResourceSpans().AppendEmpty()
					rs.Resource().CopyTo(r.Resource())
					r.SetSchemaUrl(rs.SchemaUrl())
					sc := r.ScopeSpans().AppendEmpty()
					ss.Scope().CopyTo(sc.Scope())
					sc.SetSchemaUrl(ss.SchemaUrl())
					s.CopyTo(sc.Spans().AppendEmpty())
					b, err := m.MarshalTraces(one)
					require.NoError(t, err)
					k := s.TraceID().String() + "/" + s.SpanID().String()
					_, dup := out[k]
					require.False(t, dup, "span %s twice in %s", k, path)
					out[k] = string(b)
				}
			}
		}
		return nil
	}))
	return out
}

func fetchTo(t *testing.T, j *jaegertest.Jaeger, opts tracestore.FetchOptions) (string, tracestore.FetchStats) {
	t.Helper()
	spec, err := tracestore.ParseSpec("--from", "jaeger="+j.QueryURL)
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "fetched.jsonl")
	w, err := replay.Create(path)
	require.NoError(t, err)
	st, err := tracestore.Fetch(context.Background(), tracestore.NewJaeger(spec, tracestore.ClientOptions{}), opts,
		func(td ptrace.Traces) error { return w.ConsumeTraces(context.Background(), td) })
	require.NoError(t, err)
	require.NoError(t, w.Close())
	return path, st
}

// TestFetchRoundTrip: every span the SDK sent to Jaeger comes back through
// fetch with every id, attribute, event, link and status intact, compared
// span for span with the file llmcheck recorded of the same spans; the
// window is split (a page of 7 traces) and traces straddling windows are
// written once.
func TestFetchRoundTrip(t *testing.T) {
	const traces = 60
	wd := emit(t, traces)
	want := spansOf(t, wd.local)
	require.Len(t, want, traces*5)

	path, st := fetchTo(t, wd.jaeger, tracestore.FetchOptions{
		Query:    tracestore.Query{Start: wd.base.Add(-time.Minute), End: wd.base.Add(2 * time.Hour)},
		PageSize: 7, Parallel: 3,
	})
	got := spansOf(t, path)
	assert.Equal(t, int64(traces), st.Traces)
	assert.Equal(t, int64(traces*5), st.Spans)
	assert.Greater(t, st.Requests, int64(traces/7), "the window was split into pages")
	assert.Positive(t, st.Duplicates, "traces straddling a window boundary came back twice and were written once")
	require.Equal(t, len(want), len(got))
	for k, w := range want {
		assert.JSONEq(t, w, got[k], "span %s", k)
	}
}

// TestFetchFilters: --service, --operation and --attr select exactly the
// traces with one span that matches them all, as Jaeger's rule has it;
// --limit stops early; --trace-id fetches whole traces and names the
// missing ones.
func TestFetchFilters(t *testing.T) {
	wd := emit(t, 12)
	win := tracestore.Query{Start: wd.base.Add(-time.Minute), End: wd.base.Add(time.Hour)}
	traceIDs := func(path string) []string {
		seen := map[string]bool{}
		for k := range spansOf(t, path) {
			seen[k[:32]] = true
		}
		var ids []string
		for id := range seen {
			ids = append(ids, id)
		}
		sort.Strings(ids)
		return ids
	}
	idsOf := func(is ...int) []string {
		var out []string
		for _, i := range is {
			out = append(out, wd.ids[i].String())
		}
		sort.Strings(out)
		return out
	}
	tests := []struct {
		name string
		q    func(q tracestore.Query) tracestore.Query
		want []string
	}{
		{"attr on the root span", func(q tracestore.Query) tracestore.Query {
			q.Attrs = map[string]string{"tenant": "t-1"}
			return q
		}, idsOf(1, 5, 9)},
		{"attr on the resource and the span", func(q tracestore.Query) tracestore.Query {
			q.Attrs = map[string]string{"deployment.environment": "test", "attempt": "4"}
			return q
		}, idsOf(4)},
		{"attr on an event", func(q tracestore.Query) tracestore.Query {
			q.Attrs = map[string]string{"db.query.result.id": "doc-1", "cached": "true"}
			return q
		}, idsOf(0, 2, 4, 6, 8, 10)},
		{"attrs on different spans do not match", func(q tracestore.Query) tracestore.Query {
			q.Attrs = map[string]string{"tenant": "t-1", "cached": "false"}
			return q
		}, nil},
		{"service and operation", func(q tracestore.Query) tracestore.Query {
			q.Service, q.Operation = "retriever", "execute_tool get_weather"
			q.Start, q.End = wd.base.Add(3*time.Minute), wd.base.Add(5*time.Minute)
			return q
		}, idsOf(3, 4)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			spec, _ := tracestore.ParseSpec("--from", "jaeger="+wd.jaeger.QueryURL)
			var got []string
			_, err := tracestore.Fetch(context.Background(), tracestore.NewJaeger(spec, tracestore.ClientOptions{}),
				tracestore.FetchOptions{Query: tc.q(win), PageSize: 5},
				func(td ptrace.Traces) error {
					got = append(got, td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).TraceID().String())
					return nil
				})
			require.NoError(t, err)
			sort.Strings(got)
			assert.Equal(t, tc.want, got)
		})
	}

	t.Run("progress", func(t *testing.T) {
		var progress strings.Builder
		_, st := fetchTo(t, wd.jaeger, tracestore.FetchOptions{Query: win, Progress: &progress})
		assert.Equal(t, int64(12), st.Traces)
		assert.Contains(t, progress.String(), "\rllmcheck: fetched 1 trace, 5 spans (")
		assert.True(t, strings.HasSuffix(progress.String(), "\r\x1b[K"), "the progress line is erased at the end: %q", progress.String())
	})
	t.Run("limit", func(t *testing.T) {
		_, st := fetchTo(t, wd.jaeger, tracestore.FetchOptions{Query: win, Limit: 4, PageSize: 3})
		assert.Equal(t, int64(4), st.Traces)
		assert.Equal(t, int64(20), st.Spans)
	})
	t.Run("trace ids", func(t *testing.T) {
		missing, err := tracestore.ParseTraceID("0123456789abcdef0123456789abcdef")
		require.NoError(t, err)
		path, st := fetchTo(t, wd.jaeger, tracestore.FetchOptions{TraceIDs: []pcommon.TraceID{wd.ids[2], missing, wd.ids[7]}})
		assert.Equal(t, idsOf(2, 7), traceIDs(path))
		assert.Equal(t, []pcommon.TraceID{missing}, st.Missing)
		assert.Equal(t, int64(10), st.Spans)
	})
	t.Run("max spans", func(t *testing.T) {
		spec, _ := tracestore.ParseSpec("--from", "jaeger="+wd.jaeger.QueryURL)
		_, err := tracestore.Fetch(context.Background(), tracestore.NewJaeger(spec, tracestore.ClientOptions{}),
			tracestore.FetchOptions{Query: win, MaxSpans: 12}, func(ptrace.Traces) error { return nil })
		var tooMany *tracestore.TooManySpansError
		require.ErrorAs(t, err, &tooMany)
		assert.Contains(t, err.Error(), "--max-spans 12")
	})
}

// TestCollectComplete: the traces the store holds settle and come back
// whole; a trace the store does not hold settles at 0 spans.
func TestCollectComplete(t *testing.T) {
	wd := emit(t, 3)
	spec, _ := tracestore.ParseSpec("--collect-from", "jaeger="+wd.jaeger.QueryURL)
	unknown, _ := tracestore.ParseTraceID("0123456789abcdef0123456789abcdef")
	spans := 0
	st, err := tracestore.Collect(context.Background(), tracestore.NewJaeger(spec, tracestore.ClientOptions{}),
		append(wd.ids, unknown), tracestore.CollectOptions{Settle: 200 * time.Millisecond, Timeout: time.Minute},
		func(td ptrace.Traces) error { spans += td.SpanCount(); return nil })
	require.NoError(t, err)
	assert.Equal(t, 15, spans)
	assert.Equal(t, 4, st.Traces)
	assert.Empty(t, st.Incomplete)
}
