// Package receiver owns the OTLP endpoint handed to the command under test:
// it serves gRPC, HTTP/protobuf and HTTP/JSON on the same port(s) and passes
// every accepted batch of spans to a Sink.
package receiver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"
)

// DefaultMaxConcurrent is the default bound on requests decoded and stored
// at once (see Options.MaxConcurrent).
const DefaultMaxConcurrent = 32

// acquire takes a processing slot; false means the receiver is busy and
// the request must be answered with a retryable status. A request takes its
// slot once its body has been read.
func (r *Receiver) acquire() bool {
	if r.busy.Add(1) > r.maxBusy {
		r.busy.Add(-1)
		return false
	}
	return true
}

func (r *Receiver) release() { r.busy.Add(-1) }

// DefaultBodyTimeout is the time a client has to send a request body once
// its headers have arrived (see Options.BodyTimeout).
const DefaultBodyTimeout = 30 * time.Second

// maxConcurrentStreams is the number of gRPC calls (HTTP/2 streams) one
// connection may have open at once; the server announces it in
// SETTINGS_MAX_CONCURRENT_STREAMS and refuses streams over it. 100 is the
// minimum RFC 9113 recommends; OTLP exporters use a few.
const maxConcurrentStreams = 100

// DefaultMaxRequestBytes is the body limit used when Options.MaxRequestBytes
// is 0. It is the limit the OTLP exporter specification recommends.
const DefaultMaxRequestBytes int64 = 64 << 20

// defaultSniffTimeout bounds how long a new connection may stay silent before
// its first bytes tell whether it speaks gRPC (HTTP/2) or HTTP/1.
const defaultSniffTimeout = 10 * time.Second

// Sink receives every accepted batch. It may be called concurrently. A
// non-nil error means the data was NOT stored: the receiver answers a
// retryable error (HTTP 503 / gRPC UNAVAILABLE) so the exporter retries.
//
// The receiver does not touch td after ConsumeTraces returns, so the sink may
// keep it.
type Sink interface {
	ConsumeTraces(ctx context.Context, td ptrace.Traces) error
}

// JSONSink is an optional interface of a Sink that stores each batch as a
// line of OTLP JSON (replay.Writer). For such a sink the receiver transcodes
// OTLP/protobuf requests (gRPC and HTTP) straight to that line, without
// decoding them into pdata, concurrently for concurrent requests; requests
// the transcoder does not take with certainty (see transcode.go), and
// OTLP/HTTP JSON requests, still reach the sink through ConsumeTraces.
type JSONSink interface {
	Sink
	// ConsumeTracesJSON stores a batch given as line: one OTLP JSON
	// TracesData exactly as ptrace.JSONMarshaler encodes the batch,
	// followed by '\n'. spans (> 0) is the number of spans in the batch.
	// Errors mean what they mean for ConsumeTraces. The sink must not keep
	// line after returning.
	ConsumeTracesJSON(ctx context.Context, line []byte, spans int) error
}

// LogSink receives every accepted batch of log records (OTLP logs: the
// GenAI evaluation results are events, i.e. log records). It may be called
// concurrently; errors mean what they mean for Sink.ConsumeTraces, and the
// receiver does not touch ld after ConsumeLogs returns.
type LogSink interface {
	ConsumeLogs(ctx context.Context, ld plog.Logs) error
}

// Options configures a Receiver.
type Options struct {
	// Addrs are the listen addresses. Each one serves gRPC AND HTTP on the
	// same port; "127.0.0.1:0" picks a free port. Non-loopback addresses are
	// allowed (see IsLoopback).
	Addrs []string
	// MaxRequestBytes is the limit applied to a request body AFTER
	// decompression (and also to the body as received on the wire). Over it,
	// HTTP answers 413 and gRPC RESOURCE_EXHAUSTED. 0 (or negative) means
	// DefaultMaxRequestBytes (64 MiB).
	MaxRequestBytes int64
	// MaxInflightBytes bounds the request bytes held at once, across every
	// connection, protocol and signal: bodies are counted decompressed, as
	// they are read, until the request is answered (so it bounds both
	// reading and decoding). A request that would go over it is answered
	// HTTP 503 with Retry-After (gRPC UNAVAILABLE), which exporters retry;
	// a request already accepted is never dropped for it. A quarter of it
	// (at most MaxInflightBytes − MaxRequestBytes) is kept for the first
	// min(1 MiB, MaxInflightBytes/16) bytes of each request, so requests at
	// the size limit cannot take it all and refuse ordinary batches. 0 (or
	// negative) means 2 × MaxRequestBytes. Less than MaxRequestBytes is an
	// error: the largest request could never be admitted.
	MaxInflightBytes int64
	// MaxConcurrent bounds the requests (any signal) being decoded and
	// stored at once, counted from the moment the body has been read;
	// beyond it the receiver answers HTTP 503 with Retry-After (gRPC
	// UNAVAILABLE). 0 means DefaultMaxConcurrent.
	MaxConcurrent int
	// BodyTimeout is the time an HTTP client has, once its request headers
	// have arrived, to send the whole body; a body not read by then is
	// answered 408 and its connection closed. 0 means DefaultBodyTimeout.
	BodyTimeout time.Duration

	// Logs, when set, receives the log records of every signal's logs
	// requests (gRPC LogsService, HTTP /v1/logs), which otherwise are
	// acknowledged and dropped. They go through the same reading,
	// admission and answers as trace requests.
	Logs LogSink

	// sniffTimeout overrides defaultSniffTimeout (tests only).
	sniffTimeout time.Duration
}

// Stats is a snapshot of what a Receiver has seen.
type Stats struct {
	// Requests counts every HTTP request and every gRPC call that reached
	// the receiver, whatever its path, signal or outcome.
	Requests int64
	// Rejected counts the requests answered with an error (HTTP status >= 400
	// or a non-OK gRPC status).
	Rejected int64
	// Spans counts the spans acknowledged to clients: the sink accepted them
	// and the client was answered success.
	Spans int64
	// LastSpan is the time of the last accepted non-empty batch (zero if
	// none).
	LastSpan time.Time
	// LogRecords counts the log records acknowledged to clients (with
	// Options.Logs set); LastLog is the time of the last accepted
	// non-empty logs batch (zero if none).
	LogRecords int64
	LastLog    time.Time
	// InFlight is the number of requests being served right now.
	InFlight int64
	// InFlightBytes is the request bytes (decompressed) held right now,
	// charged against Options.MaxInflightBytes.
	InFlightBytes int64
	// PeakInFlightBytes is the largest InFlightBytes seen so far.
	PeakInFlightBytes int64
}

// ListenError is returned by Start when an address cannot be listened on
// (port busy, permission denied, bad address).
type ListenError struct {
	Addr string
	Err  error
}

func (e *ListenError) Error() string {
	// Reduce "listen tcp 127.0.0.1:4318: bind: address already in use" to
	// "listen 127.0.0.1:4318: address already in use".
	err := e.Err
	var opErr *net.OpError
	if errors.As(err, &opErr) && opErr.Err != nil {
		err = opErr.Err
	}
	var sysErr *os.SyscallError
	if errors.As(err, &sysErr) && sysErr.Err != nil {
		err = sysErr.Err
	}
	return fmt.Sprintf("listen %s: %v", e.Addr, err)
}

func (e *ListenError) Unwrap() error { return e.Err }

// Receiver is a running OTLP receiver. Create it with Start, stop it with
// Shutdown.
type Receiver struct {
	sink     Sink
	logs     LogSink  // nil: logs are dropped
	jsonSink JSONSink // sink, when it takes JSON lines
	limit    int64
	mem      budget // request bytes held, ≤ Options.MaxInflightBytes
	// inflated maps a gRPC message inflated by chargedGzip (its first
	// byte) to the bytes charged for it, until its handler takes them.
	inflated     sync.Map
	bodyTimeout  time.Duration
	sniffTimeout time.Duration

	listeners []net.Listener  // the real TCP listeners
	grpcLis   []*chanListener // one per address, fed by the sniffer
	httpLis   []*chanListener // one per address, fed by the sniffer
	grpcSrv   *grpc.Server    // serves every grpcLis
	httpSrv   *http.Server    // serves every httpLis
	serveWG   sync.WaitGroup  // accept loops and Serve goroutines
	sniffWG   sync.WaitGroup  // connections being sniffed
	sniffMu   sync.Mutex      // guards sniffing and closing
	sniffing  map[net.Conn]struct{}
	closing   bool

	// sinkMu gates sink calls: handlers hold it shared while they call the
	// sink; Shutdown takes it exclusively to set sinkClosed, so no sink call
	// starts after Shutdown returns.
	sinkMu     sync.RWMutex
	sinkClosed bool

	requests atomic.Int64
	inflight atomic.Int64
	busy     atomic.Int64 // trace requests being decoded and stored
	maxBusy  int64
	rejected atomic.Int64
	spans    atomic.Int64
	lastSpan atomic.Int64 // unix nanoseconds
	records  atomic.Int64 // log records
	lastLog  atomic.Int64 // unix nanoseconds

	shutdownOnce sync.Once
	shutdownErr  error
}

// Start listens on every address of opts and serves OTLP there. It returns
// once every address is listening, or a *ListenError (and nothing keeps
// listening) if one of them cannot be.
//
// Each connection is routed by its first bytes: the HTTP/2 preface goes to a
// gRPC server (OTLP trace, log and metric services; gzip supported; logs go
// to Options.Logs when set; metrics, and logs without it, are acknowledged
// and dropped), anything else to an HTTP/1 server.
// A connection silent for 10 s before sending anything is closed. Prior-
// knowledge HTTP/2 (h2c) that is not gRPC is not supported.
//
// Resources are bounded for every signal alike: request headers must arrive
// within 30 s and an HTTP body within Options.BodyTimeout; bodies are
// charged to Options.MaxInflightBytes as they are read and decompressed; a
// request takes one of Options.MaxConcurrent processing slots only once its
// body is in, so a slow client holds no slot; a gRPC connection has at most
// 100 streams open (SETTINGS_MAX_CONCURRENT_STREAMS; more are refused with
// RST_STREAM REFUSED_STREAM), keepalive pings more often than every 10 s end
// it (GOAWAY too_many_pings) and an idle one is closed after 2 minutes.
//
// gRPC answers: OK; RESOURCE_EXHAUSTED for a message over the limit (wire or
// decompressed); UNAVAILABLE when the in-flight byte budget or the
// processing slots are full, or when the sink refuses the batch.
//
// HTTP answers, in this order of checks: 404 a path other than /v1/traces,
// /v1/logs, /v1/metrics; 405 (Allow: POST) another method; 415 a Content-Type
// other than application/x-protobuf or application/json (parameters such as
// charset allowed), or a Content-Encoding other than gzip, x-gzip, deflate
// (zlib) or identity; 413 a body over the limit on the wire or after
// decompression (decompression stops at limit+1 bytes); 408 (Connection:
// close) a body not received within the body timeout; 503 with Retry-After:
// 1 (Connection: close) a body that would take the in-flight bytes over
// their budget; 400 a body that does not decompress or decode; 503 with
// Retry-After: 1 when every processing slot is taken or the sink refuses the
// batch; otherwise 200 with an empty export response (partial_success unset)
// in the request's media type. Error bodies are a google.rpc.Status in the
// request's encoding, or text/plain when the request's media type is not an
// OTLP one. An empty body, or a request without spans, is a success that
// does not reach the sink; log and metric bodies go through the same reading
// and admission as trace bodies, then log records go to Options.Logs (a
// body that does not decode is 400 / gRPC INTERNAL, a refusing LogSink is
// 503 / UNAVAILABLE as for traces) or, without it, are dropped with the
// metrics.
func Start(opts Options, sink Sink) (*Receiver, error) {
	if sink == nil {
		return nil, errors.New("receiver: nil sink")
	}
	if len(opts.Addrs) == 0 {
		return nil, errors.New("receiver: no listen address")
	}
	jsonSink, _ := sink.(JSONSink)
	r := &Receiver{
		sink:         sink,
		logs:         opts.Logs,
		jsonSink:     jsonSink,
		maxBusy:      int64(opts.MaxConcurrent),
		limit:        opts.MaxRequestBytes,
		bodyTimeout:  opts.BodyTimeout,
		sniffTimeout: opts.sniffTimeout,
		sniffing:     make(map[net.Conn]struct{}),
	}
	if r.limit <= 0 {
		r.limit = DefaultMaxRequestBytes
	}
	if r.maxBusy <= 0 {
		r.maxBusy = DefaultMaxConcurrent
	}
	budget := opts.MaxInflightBytes
	if budget <= 0 {
		budget = 2 * r.limit
	}
	if budget < r.limit {
		return nil, fmt.Errorf("receiver: in-flight byte budget %d is below the request limit %d, so the largest request could never be admitted", budget, r.limit)
	}
	r.mem = newBudget(budget, r.limit)
	if r.bodyTimeout <= 0 {
		r.bodyTimeout = DefaultBodyTimeout
	}
	if r.sniffTimeout <= 0 {
		r.sniffTimeout = defaultSniffTimeout
	}
	for _, addr := range opts.Addrs {
		l, err := net.Listen("tcp", addr)
		if err != nil {
			for _, l := range r.listeners {
				_ = l.Close()
			}
			return nil, &ListenError{Addr: addr, Err: err}
		}
		r.listeners = append(r.listeners, l)
	}

	r.grpcSrv = newGRPCServer(r)
	r.httpSrv = &http.Server{
		Handler:           http.HandlerFunc(r.serveHTTP),
		ReadHeaderTimeout: 30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		// Keep net/http's own diagnostics out of the test command's output.
		ErrorLog: log.New(io.Discard, "", 0),
	}
	for _, l := range r.listeners {
		gl, hl := newChanListener(l.Addr()), newChanListener(l.Addr())
		r.grpcLis = append(r.grpcLis, gl)
		r.httpLis = append(r.httpLis, hl)
		r.serveWG.Add(3)
		go func() {
			defer r.serveWG.Done()
			_ = r.grpcSrv.Serve(gl)
		}()
		go func() {
			defer r.serveWG.Done()
			_ = r.httpSrv.Serve(hl)
		}()
		go func() {
			defer r.serveWG.Done()
			r.acceptLoop(l, gl, hl)
		}()
	}
	return r, nil
}

// Addrs returns the addresses actually bound, in the order of Options.Addrs.
func (r *Receiver) Addrs() []net.Addr {
	out := make([]net.Addr, len(r.listeners))
	for i, l := range r.listeners {
		out[i] = l.Addr()
	}
	return out
}

// Endpoint returns the base URL of the first address, e.g.
// "http://127.0.0.1:4318", the value for OTEL_EXPORTER_OTLP_ENDPOINT. A
// wildcard address (0.0.0.0, ::) is reported as 127.0.0.1.
func (r *Receiver) Endpoint() string {
	addr := r.listeners[0].Addr()
	host, port := "127.0.0.1", ""
	if ta, ok := addr.(*net.TCPAddr); ok {
		port = fmt.Sprint(ta.Port)
		if ta.IP != nil && !ta.IP.IsUnspecified() {
			host = ta.IP.String()
		}
	} else if h, p, err := net.SplitHostPort(addr.String()); err == nil {
		port = p
		if ip := net.ParseIP(h); ip != nil && !ip.IsUnspecified() {
			host = h
		}
	}
	return "http://" + net.JoinHostPort(host, port)
}

// Stats returns a snapshot of the counters.
func (r *Receiver) Stats() Stats {
	s := Stats{
		Requests: r.requests.Load(),
		Rejected: r.rejected.Load(),
		Spans:    r.spans.Load(),
		InFlight: r.inflight.Load(),

		InFlightBytes:     r.mem.used.Load(),
		PeakInFlightBytes: r.mem.peak.Load(),
	}
	if ns := r.lastSpan.Load(); ns != 0 {
		s.LastSpan = time.Unix(0, ns)
	}
	s.LogRecords = r.records.Load()
	if ns := r.lastLog.Load(); ns != 0 {
		s.LastLog = time.Unix(0, ns)
	}
	return s
}

// Shutdown stops accepting connections, lets in-flight requests finish, then
// closes everything. If ctx ends first, remaining connections are closed
// forcibly and ctx's error is returned. In every case, once Shutdown returns
// the Sink is not called again (a sink call already running is waited for).
// Calling Shutdown again returns the first call's result.
func (r *Receiver) Shutdown(ctx context.Context) error {
	r.shutdownOnce.Do(func() { r.shutdownErr = r.shutdown(ctx) })
	return r.shutdownErr
}

func (r *Receiver) shutdown(ctx context.Context) error {
	// 1. No new connections: close the real listeners and every connection
	// still being sniffed (it has not sent a request yet, so it is idle).
	r.sniffMu.Lock()
	r.closing = true
	for c := range r.sniffing {
		_ = c.Close()
	}
	r.sniffMu.Unlock()
	for _, l := range r.listeners {
		_ = l.Close()
	}
	r.sniffWG.Wait()

	// 2. Graceful stop of both servers, forced if ctx ends first.
	grpcDone := make(chan struct{})
	go func() {
		r.grpcSrv.GracefulStop()
		close(grpcDone)
	}()
	err := r.httpSrv.Shutdown(ctx)
	if err != nil {
		_ = r.httpSrv.Close()
	}
	select {
	case <-grpcDone:
	case <-ctx.Done():
		r.grpcSrv.Stop()
		<-grpcDone
		if err == nil {
			err = ctx.Err()
		}
	}

	// 3. http.Server.Close does not wait for running handlers: close the
	// sink gate, waiting for sink calls in progress.
	r.sinkMu.Lock()
	r.sinkClosed = true
	r.sinkMu.Unlock()

	for _, l := range r.grpcLis {
		_ = l.Close()
	}
	for _, l := range r.httpLis {
		_ = l.Close()
	}
	r.serveWG.Wait()
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("receiver shutdown: %w", err)
	}
	return err
}

// errSinkClosed is what a request sees when it arrives during a forced
// shutdown; it is answered like a sink error (retryable).
var errSinkClosed = errors.New("receiver is shutting down")

// consume passes a non-empty batch to the sink and counts it if accepted.
func (r *Receiver) consume(ctx context.Context, td ptrace.Traces) error {
	n := td.SpanCount()
	if n == 0 {
		return nil
	}
	return r.deliver(&r.spans, &r.lastSpan, n, func() error { return r.sink.ConsumeTraces(ctx, td) })
}

// deliver runs put (a sink's consume) unless the sinks are closed, and
// on success adds n to count and records the time in last.
func (r *Receiver) deliver(count, last *atomic.Int64, n int, put func() error) error {
	r.sinkMu.RLock()
	if r.sinkClosed {
		r.sinkMu.RUnlock()
		return errSinkClosed
	}
	err := put()
	r.sinkMu.RUnlock()
	if err != nil {
		return err
	}
	count.Add(int64(n))
	last.Store(time.Now().UnixNano())
	return nil
}

// decodeError is a trace request that pdata cannot decode.
type decodeError struct{ err error }

func (e *decodeError) Error() string { return e.err.Error() }

// consumeProto stores a non-empty batch given as an OTLP/protobuf
// ExportTraceServiceRequest. With a JSONSink, the request is transcoded to
// its JSON line; otherwise, or if the transcoder refuses it, it is decoded
// with pdata (a failure is a *decodeError) and passed to ConsumeTraces.
func (r *Receiver) consumeProto(ctx context.Context, req []byte) error {
	if r.jsonSink != nil {
		lb := getLine()
		line, n, err := appendTracesJSON(lb.b[:0], req)
		if err == nil {
			lb.b = append(line, '\n')
			err = r.consumeJSON(ctx, lb.b, n)
			putLine(lb)
			return err
		}
		putLine(lb)
	}
	et := ptraceotlp.NewExportRequest()
	if err := et.UnmarshalProto(req); err != nil {
		return &decodeError{err}
	}
	return r.consume(ctx, et.Traces())
}

// consumeJSON passes a non-empty batch as a JSON line to the JSONSink and
// counts it if accepted, as consume does.
func (r *Receiver) consumeJSON(ctx context.Context, line []byte, n int) error {
	if n == 0 {
		return nil
	}
	return r.deliver(&r.spans, &r.lastSpan, n, func() error { return r.jsonSink.ConsumeTracesJSON(ctx, line, n) })
}

// lineBuf is a pooled buffer for transcoded lines.
type lineBuf struct{ b []byte }

var linePool = sync.Pool{New: func() any { return &lineBuf{b: make([]byte, 0, 64<<10)} }}

// maxPooledLine: lines bigger than this (batches far larger than the SDKs'
// 512 spans) are left to the garbage collector.
const maxPooledLine = 8 << 20

func getLine() *lineBuf { return linePool.Get().(*lineBuf) }

func putLine(lb *lineBuf) {
	if cap(lb.b) > maxPooledLine {
		return
	}
	lb.b = lb.b[:0]
	linePool.Put(lb)
}

// IsLoopback reports whether a listen address ("host:port") only accepts
// connections from this machine: a loopback IP or "localhost". An empty host
// (":4318") listens on every interface and is not loopback; other host names
// are not resolved and count as not loopback.
func IsLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	if i := strings.IndexByte(host, '%'); i >= 0 { // fe80::1%eth0
		host = host[:i]
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// logRecordBytes is the request bytes a log record takes at the least in
// the bound on the records of one request: an empty record is 2 bytes of
// JSON or protobuf and some 100 bytes decoded, so a request of MaxRequestBytes
// holds at most MaxRequestBytes/64 records (1,048,576 at 64 MiB), counted
// before it is decoded, and decodes to about 1.7 × MaxRequestBytes at most.
const logRecordBytes = 64

func (r *Receiver) maxLogRecords() int64 { return r.limit / logRecordBytes }

func (r *Receiver) tooManyLogRecords() string {
	return fmt.Sprintf("more than %d log records in one request (one per %d bytes of the %d-byte request limit); send smaller batches", r.maxLogRecords(), logRecordBytes, r.limit)
}

// consumeLogs passes a non-empty logs batch to the LogSink and counts it
// if accepted, as consume does for traces.
func (r *Receiver) consumeLogs(ctx context.Context, ld plog.Logs) error {
	n := ld.LogRecordCount()
	if n == 0 {
		return nil
	}
	return r.deliver(&r.records, &r.lastLog, n, func() error { return r.logs.ConsumeLogs(ctx, ld) })
}
