package receiver

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	grpcencoding "google.golang.org/grpc/encoding"
	_ "google.golang.org/grpc/encoding/gzip" // clients with OTEL_EXPORTER_OTLP_COMPRESSION=gzip
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/stats"
	"google.golang.org/grpc/status"

	"github.com/llmcheck/llmcheck/internal/otlpcount"
)

// signal is the OTLP signal of a service.
type signal uint8

const (
	sigTraces signal = iota
	sigLogs
	sigMetrics
)

// newGRPCServer builds the gRPC server: the OTLP trace service feeding the
// sink, the log service feeding Options.Logs (or dropping everything
// without it), and a metric service that accepts and drops everything. Every
// service takes its request as bytes (rawCodec) through the same bounded
// path (handleGRPC).
func newGRPCServer(r *Receiver) *grpc.Server {
	limit := r.limit
	if limit > math.MaxInt32 {
		limit = math.MaxInt32
	}
	opts := []grpc.ServerOption{
		// Checked by grpc-go on the wire size, and by chargedGzip on the
		// decompressed size while decompressing (it stops at limit+1 bytes).
		grpc.MaxRecvMsgSize(int(limit)),
		grpc.RPCDecompressor(chargedGzip{r: r, limit: limit}), //nolint:staticcheck // the only per-server decompressor hook
		// A batch of 512 spans is a few hundred KB: read it in a few
		// syscalls rather than dozens (the Collector's otlpreceiver uses
		// the same 512 KiB).
		grpc.ReadBufferSize(512 << 10),
		grpc.MaxConcurrentStreams(maxConcurrentStreams),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{
			MinTime:             10 * time.Second,
			PermitWithoutStream: true,
		}),
		grpc.KeepaliveParams(keepalive.ServerParameters{MaxConnectionIdle: 2 * time.Minute}),
		grpc.StatsHandler(&grpcStats{r: r}),
		grpc.ForceServerCodecV2(rawCodec{grpcencoding.GetCodecV2("proto")}),
	}
	s := grpc.NewServer(opts...)
	for _, sig := range []struct {
		service, proto string
		traces, logs   bool
	}{
		{"opentelemetry.proto.collector.trace.v1.TraceService", "opentelemetry/proto/collector/trace/v1/trace_service.proto", true, false},
		{"opentelemetry.proto.collector.logs.v1.LogsService", "opentelemetry/proto/collector/logs/v1/logs_service.proto", false, true},
		{"opentelemetry.proto.collector.metrics.v1.MetricsService", "opentelemetry/proto/collector/metrics/v1/metrics_service.proto", false, false},
	} {
		method := "/" + sig.service + "/Export"
		sg := sigMetrics
		switch {
		case sig.traces:
			sg = sigTraces
		case sig.logs:
			sg = sigLogs
		}
		s.RegisterService(&grpc.ServiceDesc{
			ServiceName: sig.service,
			HandlerType: (*any)(nil),
			Methods: []grpc.MethodDesc{{
				MethodName: "Export",
				Handler: func(_ any, ctx context.Context, dec func(any) error, interceptor grpc.UnaryServerInterceptor) (any, error) {
					return r.handleGRPC(ctx, dec, interceptor, method, sg)
				},
			}},
			Streams:  []grpc.StreamDesc{},
			Metadata: sig.proto,
		}, r)
	}
	return s
}

// handleGRPC serves one Export call of any signal: the message is received
// (and decompressed, charged, by chargedGzip), charged to the in-flight
// byte budget, given a processing slot, and for traces stored; logs and
// metrics are dropped.
func (r *Receiver) handleGRPC(ctx context.Context, dec func(any) error, interceptor grpc.UnaryServerInterceptor, method string, sg signal) (any, error) {
	in := &rawRequest{}
	defer in.free()
	if err := dec(in); err != nil {
		return nil, err // answered by grpc-go, counted by grpcStats
	}
	charged, err := r.chargeMessage(ctx, in.bytes())
	if err != nil {
		return nil, err
	}
	defer r.mem.release(charged)
	handle := func(ctx context.Context, req any) (any, error) {
		if !r.acquire() {
			return nil, r.grpcReject(ctx, codes.Unavailable, "receiver busy: too many concurrent requests; retry")
		}
		defer r.release()
		switch {
		case sg == sigTraces:
			if err := r.exportTraces(ctx, req.(*rawRequest).bytes()); err != nil {
				return nil, err
			}
		case sg == sigLogs && r.logs != nil:
			if err := r.exportLogs(ctx, req.(*rawRequest).bytes()); err != nil {
				return nil, err
			}
		}
		return rawResponse{}, nil
	}
	if interceptor == nil {
		return handle(ctx, in)
	}
	return interceptor(ctx, in, &grpc.UnaryServerInfo{Server: r, FullMethod: method}, handle)
}

// grpcReject counts a rejected call (so grpcStats does not count it again)
// and returns its status.
func (r *Receiver) grpcReject(ctx context.Context, code codes.Code, msg string) error {
	r.rejected.Add(1)
	if c, ok := ctx.Value(rpcCountedKey{}).(*atomic.Bool); ok {
		c.Store(true)
	}
	return status.Error(code, msg)
}

// chargeMessage charges a received message to the byte budget, unless
// chargedGzip already did while inflating it. It returns what the caller
// must release, or an error status if the message does not fit (or
// chargedGzip refused it).
func (r *Receiver) chargeMessage(ctx context.Context, data []byte) (int64, error) {
	if len(data) == 0 {
		return 0, nil
	}
	n := int64(len(data))
	if v, ok := r.inflated.LoadAndDelete(&data[0]); ok {
		switch n = v.(int64); n {
		case refusedOverLimit:
			return 0, r.grpcReject(ctx, codes.ResourceExhausted, fmt.Sprintf("grpc: message after decompression larger than max %d", r.limit))
		case refusedOverBudget:
			return 0, r.grpcReject(ctx, codes.Unavailable, fmt.Sprintf("%v (%d bytes in flight at most)", errOverBudget, r.mem.max))
		}
		return n, nil
	}
	if !r.mem.charge(n, n) {
		return 0, r.grpcReject(ctx, codes.Unavailable, fmt.Sprintf("%v (%d bytes in flight at most)", errOverBudget, r.mem.max))
	}
	return n, nil
}

// exportTraces stores a trace request still in its protobuf encoding: the
// receiver transcodes it for its JSONSink, or decodes it with pdata.
func (r *Receiver) exportTraces(ctx context.Context, req []byte) error {
	err := r.consumeProto(ctx, req)
	if err == nil {
		return nil
	}
	var de *decodeError
	if errors.As(err, &de) {
		// What grpc-go answers when its codec cannot decode a request;
		// counted by grpcStats.
		return status.Errorf(codes.Internal, "grpc: failed to unmarshal the received message: %v", de.err)
	}
	code := codes.Unavailable
	if isPermanent(err) {
		code = codes.FailedPrecondition
	}
	return r.grpcReject(ctx, code, "spans not stored: "+err.Error())
}

// exportLogs stores a logs request in its protobuf encoding, decoded
// with pdata, answering as exportTraces does.
func (r *Receiver) exportLogs(ctx context.Context, req []byte) error {
	if otlpcount.LogRecordsProto(req) > r.maxLogRecords() {
		return r.grpcReject(ctx, codes.ResourceExhausted, r.tooManyLogRecords())
	}
	el := plogotlp.NewExportRequest()
	if err := el.UnmarshalProto(req); err != nil {
		return status.Errorf(codes.Internal, "grpc: failed to unmarshal the received message: %v", err)
	}
	err := r.consumeLogs(ctx, el.Logs())
	if err == nil {
		return nil
	}
	code := codes.Unavailable
	if isPermanent(err) {
		code = codes.FailedPrecondition
	}
	return r.grpcReject(ctx, code, "log records not stored: "+err.Error())
}

// chargedGzip is the server's gzip decompressor. grpc-go inflates a message
// inside the handler's dec call, before the handler sees it, so the bytes
// are charged to the in-flight budget
// as they are inflated, and the charge is handed to the handler through
// Receiver.inflated, keyed by the message's first byte. A message that
// would go over the budget or the request limit stops inflating at once;
// since grpc-go answers every decompression error INTERNAL (not retried),
// such a message is passed on as a one-byte stand-in that the handler
// answers UNAVAILABLE or RESOURCE_EXHAUSTED.
type chargedGzip struct {
	r     *Receiver
	limit int64
}

// Values of Receiver.inflated for a stand-in message (see chargedGzip).
const (
	refusedOverLimit  int64 = -1
	refusedOverBudget int64 = -2
)

var gzipReaders sync.Pool

func (chargedGzip) Type() string { return "gzip" }

func (d chargedGzip) Do(rd io.Reader) ([]byte, error) {
	var zr *gzip.Reader
	if v := gzipReaders.Get(); v != nil {
		zr = v.(*gzip.Reader)
		if err := zr.Reset(rd); err != nil {
			gzipReaders.Put(zr)
			return nil, err
		}
	} else {
		var err error
		if zr, err = gzip.NewReader(rd); err != nil {
			return nil, err
		}
	}
	defer gzipReaders.Put(zr)
	cr := &chargedReader{r: zr, b: &d.r.mem}
	var buf bytes.Buffer
	n, err := buf.ReadFrom(io.LimitReader(cr, d.limit+1))
	refused := int64(0)
	switch {
	case errors.Is(err, errOverBudget):
		refused = refusedOverBudget
	case err == nil && n > d.limit:
		refused = refusedOverLimit
	}
	if err != nil || n == 0 || refused != 0 {
		d.r.mem.release(cr.charged)
		if refused == 0 {
			return nil, err
		}
		standIn := []byte{0}
		d.r.inflated.Store(&standIn[0], refused)
		return standIn, nil
	}
	b := buf.Bytes()
	d.r.inflated.Store(&b[0], cr.charged)
	return b, nil
}

// rawRequest holds a received export request (any signal) as bytes:
// grpc-go's buffer when the message arrived in one piece, else a copy in a
// pooled buffer (grpc-go's own pool zeroes every buffer it hands out: a
// measurable cost at a few hundred KB per request).
type rawRequest struct {
	buf    mem.Buffer // grpc-go's, referenced
	pooled *[]byte    // from reqPool
	data   []byte
}

var reqPool = sync.Pool{New: func() any { return new([]byte) }}

// set takes the message's bytes.
func (q *rawRequest) set(data mem.BufferSlice) {
	q.free()
	if len(data) == 1 {
		data[0].Ref()
		q.buf = data[0]
		q.data = q.buf.ReadOnlyData()
		return
	}
	n := data.Len()
	q.pooled = reqPool.Get().(*[]byte)
	if cap(*q.pooled) < n {
		*q.pooled = make([]byte, n)
	}
	q.data = (*q.pooled)[:n]
	data.CopyTo(q.data)
}

func (q *rawRequest) bytes() []byte { return q.data }

func (q *rawRequest) free() {
	if q.buf != nil {
		q.buf.Free()
		q.buf = nil
	}
	if q.pooled != nil {
		if cap(*q.pooled) <= maxPooledLine {
			reqPool.Put(q.pooled)
		}
		q.pooled = nil
	}
	q.data = nil
}

// rawResponse is the successful export response of every signal, encoded
// as pdata encodes ptraceotlp.NewExportResponse() (and its logs and metrics
// twins): an empty partial_success (field 1, length 0).
type rawResponse struct{}

var rawResponseBytes = []byte{0x0a, 0x00}

// rawCodec is the server's codec: the requests and responses of the three
// services as bytes, anything else through the "proto" codec registered by
// pdata.
type rawCodec struct{ proto grpcencoding.CodecV2 }

func (c rawCodec) Marshal(v any) (mem.BufferSlice, error) {
	if _, ok := v.(rawResponse); ok {
		return mem.BufferSlice{mem.SliceBuffer(rawResponseBytes)}, nil
	}
	return c.proto.Marshal(v)
}

func (c rawCodec) Unmarshal(data mem.BufferSlice, v any) error {
	if q, ok := v.(*rawRequest); ok {
		q.set(data)
		return nil
	}
	return c.proto.Unmarshal(data, v)
}

func (rawCodec) Name() string { return "proto" }

// grpcStats counts calls, and failed calls that the handler did not count
// itself: those refused by grpc-go before a handler runs (message too large,
// undecodable, unknown method). Those are counted when the call ends, which
// can be just after the client has seen the error.
type grpcStats struct{ r *Receiver }

// rpcCountedKey marks, in an RPC's context, a call whose rejection the
// handler has already counted.
type rpcCountedKey struct{}

func (h *grpcStats) TagRPC(ctx context.Context, _ *stats.RPCTagInfo) context.Context {
	return context.WithValue(ctx, rpcCountedKey{}, new(atomic.Bool))
}

func (h *grpcStats) HandleRPC(ctx context.Context, s stats.RPCStats) {
	if s.IsClient() {
		return
	}
	switch s := s.(type) {
	case *stats.Begin:
		h.r.requests.Add(1)
		h.r.inflight.Add(1)
	case *stats.End:
		h.r.inflight.Add(-1)
		if s.Error == nil {
			return
		}
		if c, ok := ctx.Value(rpcCountedKey{}).(*atomic.Bool); ok && c.Load() {
			return
		}
		h.r.rejected.Add(1)
	}
}

func (h *grpcStats) TagConn(ctx context.Context, _ *stats.ConnTagInfo) context.Context {
	return ctx
}

func (h *grpcStats) HandleConn(context.Context, stats.ConnStats) {}
