package runner

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/llmcheck/llmcheck/receiver"
	"github.com/llmcheck/llmcheck/replay"
)

func TestChildEnv(t *testing.T) {
	base := []string{
		"PATH=/bin",
		"OTEL_EXPORTER_OTLP_ENDPOINT=http://collector:4318",
		"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=https://vendor.example/v1/traces",
		"OTEL_TRACES_EXPORTER=console",
		"OTEL_EXPORTER_OTLP_PROTOCOL=grpc",
		"OTEL_SERVICE_NAME=app",
		"OTEL_BSP_SCHEDULE_DELAY=5000",
		"OTEL_EXPORTER_OTLP_LOGS_ENDPOINT=https://vendor.example/v1/logs",
		"OTEL_LOGS_EXPORTER=none",
	}
	env := ChildEnv(base, "http://127.0.0.1:1234")
	got := map[string]string{}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		_, dup := got[k]
		require.False(t, dup, "duplicate %s", k)
		got[k] = v
	}
	assert.Equal(t, "http://127.0.0.1:1234", got["OTEL_EXPORTER_OTLP_ENDPOINT"])
	assert.NotContains(t, got, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "a user's trace endpoint must not divert spans")
	assert.Equal(t, "otlp", got["OTEL_TRACES_EXPORTER"])
	assert.Equal(t, "100", got["OTEL_BSP_SCHEDULE_DELAY"])
	assert.Equal(t, "grpc", got["OTEL_EXPORTER_OTLP_PROTOCOL"], "the protocol is the SDK's choice")
	assert.Equal(t, "app", got["OTEL_SERVICE_NAME"])
	assert.Equal(t, "/bin", got["PATH"])
	assert.Equal(t, "http://127.0.0.1:1234", got["LLMCHECK_ENDPOINT"])
	// evaluation results are log events: logs go to llmcheck too
	assert.NotContains(t, got, "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT", "a user's logs endpoint must not divert evaluation results")
	assert.Equal(t, "otlp", got["OTEL_LOGS_EXPORTER"])
	assert.Equal(t, "100", got["OTEL_BLRP_SCHEDULE_DELAY"])
	assert.Equal(t, "true", got["OTEL_EXPORTER_OTLP_LOGS_INSECURE"])
}

// Many concurrent SDK exporters over gRPC and HTTP, into the real trace
// file: the spans on disk are exactly the spans acknowledged.
func TestConcurrentExportersOnDisk(t *testing.T) {
	exportLoad(t, 8, 2000)
}

// The load of docs/reliability.md: 8 concurrent exporters × 20,000 spans
// give exactly 160,000 spans on disk (run with -count=20 to repeat it).
func TestLoad160k(t *testing.T) {
	if testing.Short() {
		t.Skip("load test")
	}
	exportLoad(t, 8, 20_000)
}

func exportLoad(t *testing.T, exporters, perExporter int) {
	path := t.TempDir() + "/traces.jsonl"
	w, err := replay.Create(path)
	require.NoError(t, err)
	rcv, err := receiver.Start(receiver.Options{Addrs: []string{"127.0.0.1:0"}}, w)
	require.NoError(t, err)
	addr := rcv.Addrs()[0].String()

	var wg sync.WaitGroup
	for i := 0; i < exporters; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			ctx := context.Background()
			var exp sdktrace.SpanExporter
			var err error
			if i%2 == 0 {
				// A generous timeout: on a loaded 2-core machine an export
				// can take longer than the SDK's default 10 s, and a batch the
				// client gives up on is the client's loss, not the receiver's.
				opts := []otlptracegrpc.Option{otlptracegrpc.WithEndpoint(addr), otlptracegrpc.WithInsecure(), otlptracegrpc.WithTimeout(2 * time.Minute)}
				if i%4 == 0 {
					opts = append(opts, otlptracegrpc.WithCompressor("gzip"))
				}
				exp, err = otlptracegrpc.New(ctx, opts...)
			} else {
				opts := []otlptracehttp.Option{otlptracehttp.WithEndpoint(addr), otlptracehttp.WithInsecure(), otlptracehttp.WithTimeout(2 * time.Minute)}
				if i%4 == 1 {
					opts = append(opts, otlptracehttp.WithCompression(otlptracehttp.GzipCompression))
				}
				exp, err = otlptracehttp.New(ctx, opts...)
			}
			require.NoError(t, err)
			tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp, sdktrace.WithMaxExportBatchSize(512), sdktrace.WithMaxQueueSize(perExporter)))
			tr := tp.Tracer("load")
			for j := 0; j < perExporter; j++ {
				_, s := tr.Start(ctx, fmt.Sprintf("chat %d", j))
				s.SetAttributes(attribute.String("gen_ai.operation.name", "chat"), attribute.Int("gen_ai.usage.input_tokens", j))
				s.End()
			}
			require.NoError(t, tp.Shutdown(ctx))
		}(i)
	}
	wg.Wait()
	require.NoError(t, shutdown(rcv, w))

	onDisk := 0
	require.NoError(t, replay.Read([]string{path}, replay.ReadOptions{Warn: func(m string) { t.Error(m) }}, func(td ptrace.Traces) error {
		onDisk += td.SpanCount()
		return nil
	}))
	assert.Equal(t, exporters*perExporter, onDisk)
	assert.Equal(t, int64(onDisk), rcv.Stats().Spans, "spans on disk = spans acknowledged")
}
