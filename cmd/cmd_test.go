package cmd

import (
	"bytes"
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/llmcheck/llmcheck/exitcode"
	"github.com/llmcheck/llmcheck/receiver"
	"github.com/llmcheck/llmcheck/replay"
)

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	return addr
}

// syncBuffer is a goroutine-safe bytes.Buffer for a command's stderr.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// llmcheck record receives from a real SDK exporter until SIGINT, then
// the file holds every span.
func TestRecord(t *testing.T) {
	addr := freePort(t)
	dir := filepath.Join(t.TempDir(), "rec")
	out := filepath.Join(dir, "traces.jsonl")
	var stderr syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- Main([]string{"record", "--out", dir, "--listen", addr}, nil, &bytes.Buffer{}, &stderr)
	}()
	require.Eventually(t, func() bool { return strings.Contains(stderr.String(), "Press Ctrl-C") }, 10*time.Second, 10*time.Millisecond)
	assert.Contains(t, stderr.String(), "http://"+addr)

	ctx := context.Background()
	exp, err := otlptracegrpc.New(ctx, otlptracegrpc.WithEndpoint(addr), otlptracegrpc.WithInsecure())
	require.NoError(t, err)
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp))
	for i := 0; i < 25; i++ {
		_, s := tp.Tracer("t").Start(ctx, "chat")
		s.SetAttributes(attribute.String("gen_ai.operation.name", "chat"))
		s.End()
	}
	require.NoError(t, tp.Shutdown(ctx))

	require.NoError(t, syscall.Kill(os.Getpid(), syscall.SIGINT))
	select {
	case code := <-done:
		assert.Equal(t, exitcode.OK, code, stderr.String())
	case <-time.After(15 * time.Second):
		t.Fatal("record did not stop on SIGINT")
	}
	assert.Contains(t, stderr.String(), "recorded 25 spans")
	n := 0
	require.NoError(t, replay.Read([]string{out}, replay.ReadOptions{}, func(td ptrace.Traces) error { n += td.SpanCount(); return nil }))
	assert.Equal(t, 25, n)
}

// llmcheck replay re-sends a recorded file to a live OTLP endpoint, over
// each protocol, spans unchanged.
func TestReplay(t *testing.T) {
	src := filepath.Join(t.TempDir(), "in.jsonl")
	w, err := replay.Create(src)
	require.NoError(t, err)
	td := ptrace.NewTraces()
	ss := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty()
	for i := 0; i < 7; i++ {
		s := ss.Spans().AppendEmpty()
		s.SetName("chat")
		s.SetTraceID([16]byte{1, byte(i)})
		s.SetSpanID([8]byte{2, byte(i)})
		s.Attributes().PutInt("gen_ai.usage.input_tokens", int64(i))
	}
	require.NoError(t, w.ConsumeTraces(context.Background(), td))
	require.NoError(t, w.Close())

	for _, proto := range []string{"grpc", "http/protobuf", "http/json"} {
		t.Run(proto, func(t *testing.T) {
			var mu sync.Mutex
			var got []ptrace.Traces
			rcv, err := receiver.Start(receiver.Options{Addrs: []string{"127.0.0.1:0"}}, sinkFunc(func(td ptrace.Traces) {
				mu.Lock()
				got = append(got, td)
				mu.Unlock()
			}))
			require.NoError(t, err)
			defer rcv.Shutdown(context.Background())
			var stderr bytes.Buffer
			code := Main([]string{"replay", src, "--endpoint", rcv.Endpoint(), "--protocol", proto}, nil, &bytes.Buffer{}, &stderr)
			require.Equal(t, 0, code, stderr.String())
			assert.Contains(t, stderr.String(), "sent 7 spans")
			mu.Lock()
			defer mu.Unlock()
			require.Len(t, got, 1)
			assert.Equal(t, td, got[0], "spans arrive unchanged")
		})
	}

	var stderr bytes.Buffer
	assert.Equal(t, exitcode.Usage, Main([]string{"replay", src}, nil, &bytes.Buffer{}, &stderr))
	assert.Contains(t, stderr.String(), "--endpoint is required")
}

type sinkFunc func(ptrace.Traces)

func (f sinkFunc) ConsumeTraces(_ context.Context, td ptrace.Traces) error { f(td); return nil }

func TestBusyPortNamesTheFlag(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	var stderr bytes.Buffer
	code := Main([]string{"run", "--out", t.TempDir(), "--config", "", "--listen", l.Addr().String(), "--", "true"}, nil, &bytes.Buffer{}, &stderr)
	assert.Equal(t, exitcode.Usage, code)
	assert.Contains(t, stderr.String(), "--listen "+l.Addr().String()+": address already in use; choose another address (port 0 picks a free one)")
}

func TestUnwritableOutputFolder(t *testing.T) {
	dir := t.TempDir()
	blocker := filepath.Join(dir, "file")
	require.NoError(t, os.WriteFile(blocker, nil, 0o644))
	var stderr bytes.Buffer
	code := Main([]string{"run", "--out", filepath.Join(blocker, "out"), "--", "true"}, nil, &bytes.Buffer{}, &stderr)
	assert.Equal(t, exitcode.Usage, code)
	assert.Contains(t, stderr.String(), "is not writable")
	assert.Contains(t, stderr.String(), "choose another with --out")
}
