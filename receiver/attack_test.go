package receiver

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	grpcgzip "google.golang.org/grpc/encoding/gzip"
	"google.golang.org/grpc/status"
)

// The attacks of issue #16 on the receiver (items 6–9), each reproduced
// over loopback with real clients: raw TCP for slow bodies, raw HTTP/2 for
// streams, the OpenTelemetry Go SDK exporters as the well-behaved client.

// waitFor polls cond until it holds; it fails the test after a minute (a
// safety net for a hung test, not a timing assertion).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// rawPost opens a TCP connection to the receiver and sends an HTTP/1.1
// POST head announcing contentLength bytes, then prefix, and nothing more:
// the rest of the body never comes. The connection is closed at the end of
// the test.
func rawPost(t *testing.T, r *Receiver, path, contentType, contentEncoding string, contentLength int, prefix []byte) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", r.Addrs()[0].String())
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	var b strings.Builder
	fmt.Fprintf(&b, "POST %s HTTP/1.1\r\nHost: llmcheck\r\nContent-Type: %s\r\nContent-Length: %d\r\n", path, contentType, contentLength)
	if contentEncoding != "" {
		fmt.Fprintf(&b, "Content-Encoding: %s\r\n", contentEncoding)
	}
	b.WriteString("\r\n")
	_, err = io.WriteString(c, b.String())
	require.NoError(t, err)
	if len(prefix) > 0 {
		_, err = c.Write(prefix)
		require.NoError(t, err)
	}
	return c
}

// readStatus reads the status line and headers of the response on c.
func readStatus(t *testing.T, c net.Conn) *http.Response {
	t.Helper()
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	require.NoError(t, err)
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return resp
}

// sdkExporter is a real OTLP trace exporter of the Go SDK pointed at r,
// over "http" or "grpc", with retries off: a refusal is an error at once.
func sdkExporter(t *testing.T, r *Receiver, protocol string) sdktrace.SpanExporter {
	t.Helper()
	ctx := context.Background()
	var exp sdktrace.SpanExporter
	var err error
	switch protocol {
	case "http":
		exp, err = otlptracehttp.New(ctx,
			otlptracehttp.WithEndpointURL(r.Endpoint()+"/v1/traces"),
			otlptracehttp.WithRetry(otlptracehttp.RetryConfig{Enabled: false}))
	case "grpc":
		exp, err = otlptracegrpc.New(ctx,
			otlptracegrpc.WithEndpoint(r.Addrs()[0].String()),
			otlptracegrpc.WithInsecure(),
			otlptracegrpc.WithRetry(otlptracegrpc.RetryConfig{Enabled: false}))
	default:
		t.Fatalf("unknown protocol %q", protocol)
	}
	require.NoError(t, err)
	t.Cleanup(func() { _ = exp.Shutdown(context.Background()) })
	return exp
}

// Item 8: clients that send a request head and then one byte now and then
// do not hold processing slots: with every slot's worth of such clients
// connected, the SDK exporters (HTTP and gRPC) are answered at once and
// every span they sent is stored.
func TestSlowBodiesDoNotLockOut(t *testing.T) {
	t.Parallel()
	for _, sk := range sinkKinds {
		for _, protocol := range []string{"http", "grpc"} {
			t.Run(sk.name+"/"+protocol, func(t *testing.T) {
				t.Parallel()
				const slots, attackers = 4, 12
				sink := &memSink{}
				r := startReceiver(t, Options{MaxConcurrent: slots}, sinkOf(sink, sk.lines))
				for i := range attackers {
					path := []string{"/v1/traces", "/v1/logs", "/v1/metrics"}[i%3]
					rawPost(t, r, path, "application/x-protobuf", "", 1<<20, []byte{0x0a})
				}
				waitFor(t, "the slow clients to be in flight", func() bool { return r.Stats().InFlight >= attackers })

				exp := sdkExporter(t, r, protocol)
				const batches, perBatch = 5, 20
				for range batches {
					require.NoError(t, exp.ExportSpans(context.Background(), sdkSpans(perBatch)))
				}
				assert.Len(t, sink.spans(t), batches*perBatch)
				assert.EqualValues(t, batches*perBatch, r.Stats().Spans)
			})
		}
	}
}

// parallelPosts sends bodies at once to path and returns the status codes.
func parallelPosts(t *testing.T, r *Receiver, path, contentEncoding string, bodies [][]byte) []int {
	t.Helper()
	codes := make([]int, len(bodies))
	var wg sync.WaitGroup
	for i, b := range bodies {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, err := http.NewRequest(http.MethodPost, r.Endpoint()+path, strings.NewReader(string(b)))
			if !assert.NoError(t, err) {
				return
			}
			req.Header.Set("Content-Type", "application/x-protobuf")
			if contentEncoding != "" {
				req.Header.Set("Content-Encoding", contentEncoding)
			}
			resp, err := http.DefaultClient.Do(req)
			if !assert.NoError(t, err) {
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
			codes[i] = resp.StatusCode
			if resp.StatusCode == http.StatusServiceUnavailable {
				assert.Equal(t, "1", resp.Header.Get("Retry-After"))
			}
		}()
	}
	wg.Wait()
	return codes
}

func count(codes []int, code int) int {
	n := 0
	for _, c := range codes {
		if c == code {
			n++
		}
	}
	return n
}

// Item 8: a body that does not arrive within BodyTimeout is answered 408
// and its connection closed, for every signal.
func TestSlowBodyTimeout(t *testing.T) {
	t.Parallel()
	r := startReceiver(t, Options{BodyTimeout: 200 * time.Millisecond}, &memSink{})
	for _, path := range []string{"/v1/traces", "/v1/logs", "/v1/metrics"} {
		t.Run(path, func(t *testing.T) {
			c := rawPost(t, r, path, "application/json", "", 1000, []byte("{"))
			resp := readStatus(t, c)
			assert.Equal(t, http.StatusRequestTimeout, resp.StatusCode)
			assert.True(t, resp.Close, "connection not closed")
		})
	}
	assert.Zero(t, r.Stats().InFlightBytes)
}

// bigTraces is one span whose attribute holds n bytes: a request about n
// bytes long that gzip shrinks to almost nothing.
func bigTraces(n int) ptrace.Traces {
	td := ptrace.NewTraces()
	sp := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	sp.SetName("chat")
	sp.SetTraceID(pcommon.TraceID{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16})
	sp.SetSpanID(pcommon.SpanID{1, 2, 3, 4, 5, 6, 7, 8})
	sp.Attributes().PutStr("gen_ai.input.messages", strings.Repeat("a", n))
	return td
}

// Item 6: requests are admitted by the bytes they hold, decompressed, as
// they are read: with a budget of two requests, a third one while two are
// held (in the sink) is refused retryably — HTTP 503 + Retry-After, gRPC
// UNAVAILABLE — and both held requests are stored once let through.
func TestInflightBytesBudget(t *testing.T) {
	t.Parallel()
	const limit, size = 1 << 20, 700_000
	for _, sk := range sinkKinds {
		for _, protocol := range []string{"http", "grpc"} {
			t.Run(sk.name+"/"+protocol, func(t *testing.T) {
				t.Parallel()
				sink := &gateSink{gate: make(chan struct{}), entered: make(chan struct{}, 10)}
				var s Sink = sink
				if sk.lines {
					s = gateJSONSink{sink}
				}
				r := startReceiver(t, Options{MaxRequestBytes: limit, MaxInflightBytes: 2 * limit}, s)
				req := ptraceotlp.NewExportRequestFromTraces(bigTraces(size))
				body := gzipBytes(t, marshalProto(t, bigTraces(size)))
				require.Less(t, len(body), 10_000)
				send := func() (httpCode int, grpcErr error) {
					if protocol == "http" {
						resp, _ := post(t, nil, r.Endpoint()+"/v1/traces", "application/x-protobuf", "gzip", bytes.NewReader(body))
						if resp.StatusCode == http.StatusServiceUnavailable {
							assert.Equal(t, "1", resp.Header.Get("Retry-After"))
						}
						return resp.StatusCode, nil
					}
					_, err := ptraceotlp.NewGRPCClient(grpcConn(t, r)).Export(context.Background(), req, grpc.UseCompressor(grpcgzip.Name))
					return 0, err
				}
				var wg sync.WaitGroup
				held := make([]int, 2)
				heldErr := make([]error, 2)
				for i := range 2 {
					wg.Add(1)
					go func() { defer wg.Done(); held[i], heldErr[i] = send() }()
					<-sink.entered
				}
				assert.GreaterOrEqual(t, r.Stats().InFlightBytes, int64(2*size))

				code, err := send()
				if protocol == "http" {
					assert.Equal(t, http.StatusServiceUnavailable, code)
				} else {
					assert.Equal(t, codes.Unavailable, status.Code(err), "%v", err)
				}

				close(sink.gate)
				wg.Wait()
				if protocol == "http" {
					assert.Equal(t, []int{200, 200}, held)
				} else {
					assert.Equal(t, []error{nil, nil}, heldErr)
				}
				assert.Equal(t, 2, sink.spans)
				st := r.Stats()
				assert.EqualValues(t, 2, st.Spans)
				assert.Zero(t, st.InFlightBytes)
				assert.LessOrEqual(t, st.PeakInFlightBytes, int64(2*limit))
			})
		}
	}
}

// Items 6 and 9: gzip bodies that inflate to almost the limit and then stall
// before their last bytes, on every signal. Each holds what it inflated; past
// the budget the next one is answered 503 at once, its connection closed.
// When the stalled clients go away their bytes are free again and the SDK
// exporter is served.
func TestStalledBombs(t *testing.T) {
	t.Parallel()
	const limit, size = 1 << 20, 700_000
	r := startReceiver(t, Options{MaxRequestBytes: limit, MaxInflightBytes: 2 * limit}, &memSink{})
	bomb := gzipBytes(t, make([]byte, size))
	stall := bomb[:len(bomb)-8] // without the gzip trailer: inflated, then waiting
	var held []net.Conn
	for i, path := range []string{"/v1/logs", "/v1/metrics", "/v1/traces", "/v1/logs", "/v1/traces"} {
		c := rawPost(t, r, path, "application/x-protobuf", "gzip", len(bomb), stall)
		if i < 2 {
			held = append(held, c)
			// Inflated but for the last few KB (the decoder reads ahead into the
			// trailer that never comes).
			waitFor(t, "the bomb to be inflated", func() bool { return r.Stats().InFlightBytes >= int64(i)*size+size*9/10 })
			continue
		}
		resp := readStatus(t, c)
		assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode, path)
		assert.Equal(t, "1", resp.Header.Get("Retry-After"))
		assert.True(t, resp.Close, "connection not closed")
	}
	assert.LessOrEqual(t, r.Stats().PeakInFlightBytes, int64(2*limit))

	for _, c := range held {
		_ = c.Close()
	}
	waitFor(t, "the stalled bodies to be released", func() bool { return r.Stats().InFlightBytes == 0 })
	require.NoError(t, sdkExporter(t, r, "http").ExportSpans(context.Background(), sdkSpans(10)))
	assert.EqualValues(t, 10, r.Stats().Spans)
}

// Item 7: one HTTP/2 connection may not open streams without bound. The
// server announces SETTINGS_MAX_CONCURRENT_STREAMS and refuses the streams
// over it (RST_STREAM REFUSED_STREAM) while the first ones stay open; on
// another connection the SDK's gRPC exporter is served.
func TestGRPCStreamsBounded(t *testing.T) {
	t.Parallel()
	r := startReceiver(t, Options{}, &memSink{})
	c, err := net.Dial("tcp", r.Addrs()[0].String())
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.SetReadDeadline(time.Now().Add(time.Minute))) // a hung test's safety net
	_, err = io.WriteString(c, http2.ClientPreface)
	require.NoError(t, err)
	fr := http2.NewFramer(c, c)
	require.NoError(t, fr.WriteSettings())

	const extra = 50
	var hb bytes.Buffer
	enc := hpack.NewEncoder(&hb)
	var announced uint32
	opened := false
	refused := 0
	for refused < extra {
		f, err := fr.ReadFrame()
		require.NoError(t, err, "streams over the limit must be refused")
		switch f := f.(type) {
		case *http2.SettingsFrame:
			if f.IsAck() {
				continue
			}
			v, ok := f.Value(http2.SettingMaxConcurrentStreams)
			require.True(t, ok, "SETTINGS_MAX_CONCURRENT_STREAMS not announced")
			announced = v
			require.NoError(t, fr.WriteSettingsAck())
			if opened {
				continue
			}
			opened = true
			// Open announced+extra streams that never send their message.
			for i := range announced + extra {
				hb.Reset()
				for _, hf := range [][2]string{
					{":method", "POST"}, {":scheme", "http"}, {":authority", "llmcheck"},
					{":path", "/opentelemetry.proto.collector.trace.v1.TraceService/Export"},
					{"content-type", "application/grpc"}, {"te", "trailers"},
				} {
					require.NoError(t, enc.WriteField(hpack.HeaderField{Name: hf[0], Value: hf[1]}))
				}
				require.NoError(t, fr.WriteHeaders(http2.HeadersFrameParam{
					StreamID: 2*i + 1, BlockFragment: hb.Bytes(), EndHeaders: true,
				}))
			}
		case *http2.RSTStreamFrame:
			assert.Equal(t, http2.ErrCodeRefusedStream, f.ErrCode)
			assert.Greater(t, f.StreamID, 2*announced, "a stream within the limit was refused")
			refused++
		case *http2.GoAwayFrame:
			t.Fatalf("connection closed: %v", f.ErrCode)
		}
	}
	assert.EqualValues(t, maxConcurrentStreams, announced)

	require.NoError(t, sdkExporter(t, r, "grpc").ExportSpans(context.Background(), sdkSpans(10)))
	assert.EqualValues(t, 10, r.Stats().Spans)
}

// Keepalive enforcement: a client pinging more often than every 10 s is
// sent GOAWAY ENHANCE_YOUR_CALM "too_many_pings" and disconnected, instead
// of making the server answer pings without end.
func TestGRPCPingFlood(t *testing.T) {
	t.Parallel()
	r := startReceiver(t, Options{}, &memSink{})
	c, err := net.Dial("tcp", r.Addrs()[0].String())
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.SetReadDeadline(time.Now().Add(time.Minute))) // a hung test's safety net
	_, err = io.WriteString(c, http2.ClientPreface)
	require.NoError(t, err)
	fr := http2.NewFramer(c, c)
	require.NoError(t, fr.WriteSettings())
	pings := 0
	for {
		f, err := fr.ReadFrame()
		require.NoError(t, err, "no GOAWAY after %d pings", pings)
		switch f := f.(type) {
		case *http2.SettingsFrame:
			if !f.IsAck() {
				require.NoError(t, fr.WriteSettingsAck())
				require.NoError(t, fr.WritePing(false, [8]byte{1}))
				pings++
			}
		case *http2.PingFrame:
			if f.IsAck() {
				require.Less(t, pings, 100, "pings answered without end")
				require.NoError(t, fr.WritePing(false, [8]byte{byte(pings)}))
				pings++
			}
		case *http2.GoAwayFrame:
			assert.Equal(t, http2.ErrCodeEnhanceYourCalm, f.ErrCode)
			assert.Equal(t, "too_many_pings", string(f.DebugData()))
			return
		}
	}
}

// A request head announcing a large body, followed by nothing, costs no
// more than the bytes that arrived: no buffer is sized from Content-Length
// (40 heads announcing 8 MiB took 320 MiB of heap before).
func TestContentLengthClaim(t *testing.T) {
	const limit, clients = 8 << 20, 40
	r := startReceiver(t, Options{MaxRequestBytes: limit, MaxConcurrent: 2 * clients}, &memSink{})
	heap := func() uint64 {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapInuse
	}
	before := heap()
	for range clients {
		rawPost(t, r, "/v1/traces", "application/x-protobuf", "", limit, []byte{0x0a})
	}
	waitFor(t, "the requests to be in flight", func() bool { return r.Stats().InFlight >= clients })
	grown := int64(heap()) - int64(before)
	assert.Less(t, grown, int64(clients*limit/10), "heap grew by %d MiB", grown>>20)
}
