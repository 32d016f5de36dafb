package receiver

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// childEnv switches the test binary into the instrumented child process.
const childEnv = "LLMCHECK_RECEIVER_TEST_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		if err := runChild(); err != nil {
			fmt.Fprintln(os.Stderr, "child:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// childSpan is what the child prints for every span it created.
type childSpan struct {
	Index  int    `json:"i"`
	Trace  string `json:"trace"`
	Span   string `json:"span"`
	Parent string `json:"parent"`
	Name   string `json:"name"`
}

// childAttrs are the attributes of the child's span number i.
func childAttrs(i int) []attribute.KeyValue {
	return []attribute.KeyValue{
		attribute.Int("llmcheck.index", i),
		attribute.String("gen_ai.operation.name", "chat"),
		attribute.Int64("gen_ai.usage.input_tokens", int64(1000+i)),
		attribute.Float64("llmcheck.score", float64(i)+0.25),
		attribute.Bool("llmcheck.cached", i%2 == 0),
		attribute.StringSlice("gen_ai.response.finish_reasons", []string{"stop", strconv.Itoa(i)}),
	}
}

// runChild is an application instrumented with the OpenTelemetry Go SDK and
// configured only by the environment, as `llmcheck run` configures the
// command under test. It picks the exporter as OTEL_EXPORTER_OTLP_PROTOCOL
// says, creates a tree of spans, flushes, and prints the ids it created.
func runChild() error {
	ctx := context.Background()
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) { fmt.Fprintln(os.Stderr, "otel:", err) }))
	var exp sdktrace.SpanExporter
	var err error
	if os.Getenv("OTEL_EXPORTER_OTLP_PROTOCOL") == "grpc" {
		exp, err = otlptracegrpc.New(ctx)
	} else { // http/protobuf or http/json: the http exporter reads which
		exp, err = otlptracehttp.New(ctx)
	}
	if err != nil {
		return err
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp)) // resource from OTEL_SERVICE_NAME
	tr := tp.Tracer("llmcheck/receiver-test")

	n, err := strconv.Atoi(os.Getenv("LLMCHECK_CHILD_SPANS"))
	if err != nil {
		return err
	}
	ctxs := make([]context.Context, n)
	spans := make([]trace.Span, n)
	var out []childSpan
	for i := range n {
		parent := ctx
		name := "invoke_agent support"
		opts := []trace.SpanStartOption{trace.WithAttributes(childAttrs(i)...)}
		if i > 0 {
			parent = ctxs[(i-1)/2] // a binary tree under the root
			name = fmt.Sprintf("chat gpt-4o-mini %d", i)
			opts = append(opts, trace.WithSpanKind(trace.SpanKindClient))
		}
		if i == n-1 && n > 1 {
			opts = append(opts, trace.WithLinks(trace.Link{
				SpanContext: spans[0].SpanContext(),
				Attributes:  []attribute.KeyValue{attribute.String("link.kind", "root")},
			}))
		}
		ctxs[i], spans[i] = tr.Start(parent, name, opts...)
		cs := childSpan{Index: i, Name: name,
			Trace: spans[i].SpanContext().TraceID().String(),
			Span:  spans[i].SpanContext().SpanID().String()}
		if i > 0 {
			cs.Parent = spans[(i-1)/2].SpanContext().SpanID().String()
		}
		out = append(out, cs)
	}
	for i := n - 1; i >= 0; i-- {
		spans[i].End()
	}
	sctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := tp.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	enc := json.NewEncoder(os.Stdout)
	for _, cs := range out {
		if err := enc.Encode(cs); err != nil {
			return err
		}
	}
	return nil
}

// TestSDKExporters runs the real OpenTelemetry Go SDK exporters in a child
// process configured only through OTEL_* variables pointing at Endpoint(),
// and checks every span arrives intact.
func TestSDKExporters(t *testing.T) {
	t.Parallel()
	const nSpans = 40
	tests := []struct {
		protocol    string
		compression string
	}{
		{"grpc", ""},
		{"grpc", "gzip"},
		{"http/protobuf", ""},
		{"http/protobuf", "gzip"},
		{"http/json", ""},
		{"http/json", "gzip"},
	}
	for _, tc := range tests {
		for _, sk := range sinkKinds {
			name := tc.protocol
			if tc.compression != "" {
				name += "+" + tc.compression
			}
			name += "/" + sk.name
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				sink := &memSink{}
				s := sinkOf(sink, sk.lines)
				r := startReceiver(t, Options{}, s)

				env := []string{}
				for _, kv := range os.Environ() {
					if !strings.HasPrefix(kv, "OTEL_") {
						env = append(env, kv)
					}
				}
				env = append(env,
					childEnv+"=1",
					"LLMCHECK_CHILD_SPANS="+strconv.Itoa(nSpans),
					"OTEL_EXPORTER_OTLP_ENDPOINT="+r.Endpoint(),
					"OTEL_EXPORTER_OTLP_PROTOCOL="+tc.protocol,
					"OTEL_SERVICE_NAME=child-"+name,
				)
				if tc.compression != "" {
					env = append(env, "OTEL_EXPORTER_OTLP_COMPRESSION="+tc.compression)
				}
				ctx, cancel := context.WithTimeout(context.Background(), 25*time.Second)
				defer cancel()
				cmd := exec.CommandContext(ctx, os.Args[0])
				cmd.Env = env
				var stdout, stderr bytes.Buffer
				cmd.Stdout, cmd.Stderr = &stdout, &stderr
				require.NoError(t, cmd.Run(), "child stderr:\n%s", stderr.String())
				require.Empty(t, stderr.String(), "the exporter reported errors")

				var want []childSpan
				sc := bufio.NewScanner(&stdout)
				for sc.Scan() {
					var cs childSpan
					require.NoError(t, json.Unmarshal(sc.Bytes(), &cs))
					want = append(want, cs)
				}
				require.Len(t, want, nSpans)

				got := sink.spans(t)
				require.Len(t, got, nSpans)
				st := r.Stats()
				assert.EqualValues(t, nSpans, st.Spans)
				assert.Zero(t, st.Rejected)
				assert.False(t, st.LastSpan.IsZero())
				for _, w := range want {
					rec, ok := got[spanID(t, w.Span)]
					require.True(t, ok, "span %d (%s) missing", w.Index, w.Span)
					sp := rec.span
					assert.Equal(t, w.Trace, sp.TraceID().String())
					assert.Equal(t, w.Parent, sp.ParentSpanID().String(), "parent of span %d", w.Index)
					assert.Equal(t, w.Name, sp.Name())
					svc, _ := rec.resource.Attributes().Get("service.name")
					assert.Equal(t, "child-"+name, svc.Str())
					assertChildAttrs(t, w.Index, sp)
					if w.Index == 0 {
						assert.Equal(t, ptrace.SpanKindInternal, sp.Kind())
					} else {
						assert.Equal(t, ptrace.SpanKindClient, sp.Kind())
					}
					assert.Less(t, sp.StartTimestamp(), sp.EndTimestamp()+1)
					if w.Index == nSpans-1 {
						require.Equal(t, 1, sp.Links().Len())
						l := sp.Links().At(0)
						assert.Equal(t, want[0].Span, l.SpanID().String())
						assert.Equal(t, want[0].Trace, l.TraceID().String())
						kind, _ := l.Attributes().Get("link.kind")
						assert.Equal(t, "root", kind.Str())
					} else {
						assert.Zero(t, sp.Links().Len())
					}
				}
				// With a JSONSink, protobuf batches arrive transcoded.
				if sk.lines && tc.protocol != "http/json" {
					assert.Positive(t, linesOf(s), "no batch took the JSON-line path")
				} else {
					assert.Zero(t, linesOf(s))
				}
			})
		}
	}
}

func spanID(t *testing.T, hex string) pcommon.SpanID {
	t.Helper()
	var id pcommon.SpanID
	require.Len(t, hex, 16)
	for i := range id {
		v, err := strconv.ParseUint(hex[2*i:2*i+2], 16, 8)
		require.NoError(t, err)
		id[i] = byte(v)
	}
	return id
}

// assertChildAttrs checks span i carries childAttrs(i) with their types.
func assertChildAttrs(t *testing.T, i int, sp ptrace.Span) {
	t.Helper()
	a := sp.Attributes()
	assert.Equal(t, len(childAttrs(i)), a.Len())
	get := func(k string, typ pcommon.ValueType) pcommon.Value {
		v, ok := a.Get(k)
		require.True(t, ok, "span %d: attribute %s missing", i, k)
		require.Equal(t, typ, v.Type(), "span %d: attribute %s", i, k)
		return v
	}
	assert.EqualValues(t, i, get("llmcheck.index", pcommon.ValueTypeInt).Int())
	assert.Equal(t, "chat", get("gen_ai.operation.name", pcommon.ValueTypeStr).Str())
	assert.EqualValues(t, 1000+i, get("gen_ai.usage.input_tokens", pcommon.ValueTypeInt).Int())
	assert.InDelta(t, float64(i)+0.25, get("llmcheck.score", pcommon.ValueTypeDouble).Double(), 0)
	assert.Equal(t, i%2 == 0, get("llmcheck.cached", pcommon.ValueTypeBool).Bool())
	fr := get("gen_ai.response.finish_reasons", pcommon.ValueTypeSlice).Slice()
	require.Equal(t, 2, fr.Len())
	assert.Equal(t, "stop", fr.At(0).Str())
	assert.Equal(t, strconv.Itoa(i), fr.At(1).Str())
}
