package receiver

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// memSink keeps every accepted batch in memory. fail, when set, decides per
// call (1-based) whether the sink refuses the batch.
type memSink struct {
	mu      sync.Mutex
	calls   int
	batches []ptrace.Traces
	fail    func(call int) error
	// block, when set, is waited on inside ConsumeTraces (after entered is
	// signalled), to hold a request in flight.
	entered chan struct{}
	block   chan struct{}
}

func (s *memSink) ConsumeTraces(_ context.Context, td ptrace.Traces) error {
	if s.entered != nil {
		s.entered <- struct{}{}
	}
	if s.block != nil {
		<-s.block
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	if s.fail != nil {
		if err := s.fail(s.calls); err != nil {
			return err
		}
	}
	s.batches = append(s.batches, td)
	return nil
}

// jsonMemSink is a memSink taking OTLP/protobuf batches as transcoded JSON
// lines (the JSONSink path, replay.Writer's), decoded back with pdata's JSON
// decoder so tests check the same traces either way. A line that does not
// decode, or holds another number of spans than announced, is refused with
// a permanent error (HTTP 400, gRPC FAILED_PRECONDITION): tests notice.
type jsonMemSink struct {
	*memSink
	lines atomic.Int64
}

func (s *jsonMemSink) ConsumeTracesJSON(ctx context.Context, line []byte, spans int) error {
	if len(line) == 0 || line[len(line)-1] != '\n' {
		return &PermanentError{Err: errors.New("JSON line without newline")}
	}
	var u ptrace.JSONUnmarshaler
	td, err := u.UnmarshalTraces(line[:len(line)-1])
	if err != nil {
		return &PermanentError{Err: fmt.Errorf("transcoded line does not decode: %w", err)}
	}
	if td.SpanCount() != spans {
		return &PermanentError{Err: fmt.Errorf("line has %d spans, announced %d", td.SpanCount(), spans)}
	}
	s.lines.Add(1)
	return s.memSink.ConsumeTraces(ctx, td)
}

// sinkKinds are the two ways a sink gets batches: pdata (ConsumeTraces
// only) and JSON lines (JSONSink).
var sinkKinds = []struct {
	name  string
	lines bool
}{{"pdata", false}, {"json-lines", true}}

// sinkOf returns s itself, or s as a JSONSink.
func sinkOf(s *memSink, lines bool) Sink {
	if lines {
		return &jsonMemSink{memSink: s}
	}
	return s
}

// linesOf is the number of JSON lines a sink from sinkOf took (0 for a
// pdata sink).
func linesOf(s Sink) int64 {
	if js, ok := s.(*jsonMemSink); ok {
		return js.lines.Load()
	}
	return 0
}

func (s *memSink) callCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}

func (s *memSink) spanCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, td := range s.batches {
		n += td.SpanCount()
	}
	return n
}

// recordedSpan is a span with the resource it came with.
type recordedSpan struct {
	span     ptrace.Span
	resource pcommon.Resource
}

// spans returns every stored span by span id; a duplicate id fails the test.
func (s *memSink) spans(t testing.TB) map[pcommon.SpanID]recordedSpan {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[pcommon.SpanID]recordedSpan{}
	for _, td := range s.batches {
		for _, rs := range td.ResourceSpans().All() {
			for _, ss := range rs.ScopeSpans().All() {
				for _, sp := range ss.Spans().All() {
					_, dup := out[sp.SpanID()]
					require.False(t, dup, "span %s stored twice", sp.SpanID())
					out[sp.SpanID()] = recordedSpan{span: sp, resource: rs.Resource()}
				}
			}
		}
	}
	return out
}

var errSinkFull = errors.New("sink full")

// startReceiver starts a receiver on a free loopback port and shuts it down
// at the end of the test.
func startReceiver(t testing.TB, opts Options, sink Sink) *Receiver {
	t.Helper()
	if len(opts.Addrs) == 0 {
		opts.Addrs = []string{"127.0.0.1:0"}
	}
	r, err := Start(opts, sink)
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		require.NoError(t, r.Shutdown(ctx))
	})
	return r
}

// grpcConn dials the receiver's first address with a real gRPC client.
func grpcConn(t testing.TB, r *Receiver) *grpc.ClientConn {
	t.Helper()
	cc, err := grpc.NewClient(r.Addrs()[0].String(),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallSendMsgSize(1<<30)))
	require.NoError(t, err)
	t.Cleanup(func() { _ = cc.Close() })
	return cc
}

// post sends body to the receiver and returns the response with its body read.
func post(t testing.TB, client *http.Client, url, contentType, contentEncoding string, body io.Reader) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, body)
	require.NoError(t, err)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if contentEncoding != "" {
		req.Header.Set("Content-Encoding", contentEncoding)
	}
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, b
}

func gzipBytes(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, err := zw.Write(b)
	require.NoError(t, err)
	require.NoError(t, zw.Close())
	return buf.Bytes()
}

// fixedStart is the start time of generated spans (fixed, so failures are
// reproducible).
var fixedStart = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// genAITraces builds n spans in one trace shaped like an instrumented RAG
// request: a root, then chat and retrieval spans with about ten GenAI
// attributes each. seed makes the ids of different batches differ.
func genAITraces(n int, seed uint64) ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "rag-api")
	rs.Resource().Attributes().PutStr("deployment.environment.name", "ci")
	ss := rs.ScopeSpans().AppendEmpty()
	ss.Scope().SetName("opentelemetry.instrumentation.openai")
	ss.Scope().SetVersion("0.48.0")
	spans := ss.Spans()
	spans.EnsureCapacity(n)
	var traceID pcommon.TraceID
	putUint64(traceID[:8], seed)
	putUint64(traceID[8:], ^seed)
	for i := range n {
		sp := spans.AppendEmpty()
		sp.SetTraceID(traceID)
		var id pcommon.SpanID
		putUint64(id[:], seed<<20|uint64(i+1))
		sp.SetSpanID(id)
		if i > 0 {
			var parent pcommon.SpanID
			putUint64(parent[:], seed<<20|1)
			sp.SetParentSpanID(parent)
		}
		start := fixedStart.Add(time.Duration(i) * time.Millisecond)
		sp.SetStartTimestamp(pcommon.NewTimestampFromTime(start))
		sp.SetEndTimestamp(pcommon.NewTimestampFromTime(start.Add(850 * time.Millisecond)))
		sp.SetKind(ptrace.SpanKindClient)
		a := sp.Attributes()
		a.EnsureCapacity(10)
		if i%4 == 3 {
			sp.SetName("retrieval products")
			a.PutStr("gen_ai.operation.name", "retrieval")
			a.PutStr("gen_ai.data_source.id", "products")
			a.PutStr("gen_ai.retrieval.query.text", "which laptop has the longest battery life?")
			a.PutStr("gen_ai.retrieval.documents", `[{"id":"doc-17","score":0.91},{"id":"doc-4","score":0.77}]`)
			a.PutInt("gen_ai.request.top_k", 5)
		} else {
			sp.SetName("chat gpt-4o-mini")
			a.PutStr("gen_ai.operation.name", "chat")
			a.PutStr("gen_ai.request.model", "gpt-4o-mini")
			a.PutStr("gen_ai.response.model", "gpt-4o-mini-2024-07-18")
			a.PutInt("gen_ai.usage.input_tokens", int64(900+i))
			a.PutInt("gen_ai.usage.output_tokens", int64(120+i%50))
		}
		a.PutStr("gen_ai.provider.name", "openai")
		a.PutDouble("gen_ai.request.temperature", 0.2)
		a.PutStr("server.address", "api.openai.com")
		fr := a.PutEmptySlice("gen_ai.response.finish_reasons")
		fr.AppendEmpty().SetStr("stop")
		a.PutStr("gen_ai.response.id", fmt.Sprintf("chatcmpl-%d-%d", seed, i))
		sp.Status().SetCode(ptrace.StatusCodeOk)
	}
	return td
}

func putUint64(b []byte, v uint64) {
	for i := 7; i >= 0; i-- {
		b[i] = byte(v)
		v >>= 8
	}
}

func marshalProto(t testing.TB, td ptrace.Traces) []byte {
	t.Helper()
	b, err := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
	require.NoError(t, err)
	return b
}

func marshalJSON(t testing.TB, td ptrace.Traces) []byte {
	t.Helper()
	b, err := ptraceotlp.NewExportRequestFromTraces(td).MarshalJSON()
	require.NoError(t, err)
	return b
}

// decodeStatusProto decodes the two fields of a google.rpc.Status by hand.
func decodeStatusProto(t testing.TB, b []byte) (code int32, msg string) {
	t.Helper()
	readVarint := func() uint64 {
		var v uint64
		for shift := 0; ; shift += 7 {
			require.NotEmpty(t, b, "truncated varint")
			c := b[0]
			b = b[1:]
			v |= uint64(c&0x7f) << shift
			if c < 0x80 {
				return v
			}
		}
	}
	for len(b) > 0 {
		switch tag := readVarint(); tag {
		case 0x08:
			code = int32(readVarint())
		case 0x12:
			n := int(readVarint())
			require.LessOrEqual(t, n, len(b))
			msg, b = string(b[:n]), b[n:]
		default:
			t.Fatalf("unexpected google.rpc.Status tag %#x", tag)
		}
	}
	return code, msg
}
