package receiver

import (
	"context"
	"errors"
	"math"
	"sync"
	"sync/atomic"

	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	grpcencoding "google.golang.org/grpc/encoding"
	_ "google.golang.org/grpc/encoding/gzip" // clients with OTEL_EXPORTER_OTLP_COMPRESSION=gzip
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/stats"
	"google.golang.org/grpc/status"
)

// newGRPCServer builds the gRPC server: the OTLP trace service feeding the
// sink, and log and metric services that accept and drop everything.
func newGRPCServer(r *Receiver) *grpc.Server {
	limit := r.limit
	if limit > math.MaxInt32 {
		limit = math.MaxInt32
	}
	opts := []grpc.ServerOption{
		// Checked by grpc-go on the wire size and again on the decompressed
		// size while decompressing (it stops at limit+1 bytes).
		grpc.MaxRecvMsgSize(int(limit)),
		// A batch of 512 spans is a few hundred KB: read it in a few
		// syscalls rather than dozens (the Collector's otlpreceiver uses
		// the same 512 KiB).
		grpc.ReadBufferSize(512 << 10),
		grpc.StatsHandler(&grpcStats{r: r}),
	}
	if r.jsonSink != nil {
		// Trace requests reach the handler as bytes, to be transcoded.
		opts = append(opts, grpc.ForceServerCodecV2(rawCodec{grpcencoding.GetCodecV2("proto")}))
	}
	s := grpc.NewServer(opts...)
	if r.jsonSink != nil {
		s.RegisterService(&rawTraceServiceDesc, &traceService{r: r})
	} else {
		ptraceotlp.RegisterGRPCServer(s, &traceService{r: r})
	}
	plogotlp.RegisterGRPCServer(s, &logService{})
	pmetricotlp.RegisterGRPCServer(s, &metricService{})
	return s
}

type traceService struct {
	ptraceotlp.UnimplementedGRPCServer
	r *Receiver
}

func (s *traceService) Export(ctx context.Context, req ptraceotlp.ExportRequest) (ptraceotlp.ExportResponse, error) {
	if !s.r.acquire() {
		s.r.rejected.Add(1)
		if c, ok := ctx.Value(rpcCountedKey{}).(*atomic.Bool); ok {
			c.Store(true)
		}
		return ptraceotlp.NewExportResponse(), status.Error(codes.Unavailable, "receiver busy: too many concurrent requests; retry")
	}
	defer s.r.release()
	if err := s.r.consume(ctx, req.Traces()); err != nil {
		// Counted here, before the client is answered; errors raised by
		// grpc-go before the handler runs are counted by grpcStats.
		s.r.rejected.Add(1)
		if c, ok := ctx.Value(rpcCountedKey{}).(*atomic.Bool); ok {
			c.Store(true)
		}
		code := codes.Unavailable
		if isPermanent(err) {
			code = codes.FailedPrecondition
		}
		return ptraceotlp.NewExportResponse(), status.Error(code, "spans not stored: "+err.Error())
	}
	return ptraceotlp.NewExportResponse(), nil
}

// exportRaw is Export for a request still in its protobuf encoding: the
// receiver transcodes it for its JSONSink (or decodes it with pdata if the
// transcoder refuses it).
func (s *traceService) exportRaw(ctx context.Context, req []byte) error {
	if !s.r.acquire() {
		s.r.rejected.Add(1)
		if c, ok := ctx.Value(rpcCountedKey{}).(*atomic.Bool); ok {
			c.Store(true)
		}
		return status.Error(codes.Unavailable, "receiver busy: too many concurrent requests; retry")
	}
	defer s.r.release()
	err := s.r.consumeProto(ctx, req)
	if err == nil {
		return nil
	}
	var de *decodeError
	if errors.As(err, &de) {
		// What grpc-go answers when its codec cannot decode a request;
		// counted by grpcStats, as before.
		return status.Errorf(codes.Internal, "grpc: failed to unmarshal the received message: %v", de.err)
	}
	s.r.rejected.Add(1)
	if c, ok := ctx.Value(rpcCountedKey{}).(*atomic.Bool); ok {
		c.Store(true)
	}
	code := codes.Unavailable
	if isPermanent(err) {
		code = codes.FailedPrecondition
	}
	return status.Error(code, "spans not stored: "+err.Error())
}

// rawTraceServiceDesc is the OTLP trace service with the request kept as
// bytes (rawTraceRequest) and the response written by hand.
var rawTraceServiceDesc = grpc.ServiceDesc{
	ServiceName: "opentelemetry.proto.collector.trace.v1.TraceService",
	HandlerType: (*rawTraceServer)(nil),
	Methods: []grpc.MethodDesc{{
		MethodName: "Export",
		Handler:    rawExportHandler,
	}},
	Streams:  []grpc.StreamDesc{},
	Metadata: "opentelemetry/proto/collector/trace/v1/trace_service.proto",
}

type rawTraceServer interface {
	exportRaw(ctx context.Context, req []byte) error
}

func rawExportHandler(srv any, ctx context.Context, dec func(any) error, interceptor grpc.UnaryServerInterceptor) (any, error) {
	in := &rawTraceRequest{}
	defer in.free()
	if err := dec(in); err != nil {
		return nil, err
	}
	handle := func(ctx context.Context, req any) (any, error) {
		if err := srv.(rawTraceServer).exportRaw(ctx, req.(*rawTraceRequest).bytes()); err != nil {
			return nil, err
		}
		return rawTraceResponse{}, nil
	}
	if interceptor == nil {
		return handle(ctx, in)
	}
	info := &grpc.UnaryServerInfo{Server: srv, FullMethod: "/opentelemetry.proto.collector.trace.v1.TraceService/Export"}
	return interceptor(ctx, in, info, handle)
}

// rawTraceRequest holds a received ExportTraceServiceRequest as bytes:
// grpc-go's buffer when the message arrived in one piece, else a copy in a
// pooled buffer (grpc-go's own pool zeroes every buffer it hands out: a
// measurable cost at a few hundred KB per request).
type rawTraceRequest struct {
	buf    mem.Buffer // grpc-go's, referenced
	pooled *[]byte    // from reqPool
	data   []byte
}

var reqPool = sync.Pool{New: func() any { return new([]byte) }}

// set takes the message's bytes.
func (q *rawTraceRequest) set(data mem.BufferSlice) {
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

func (q *rawTraceRequest) bytes() []byte { return q.data }

func (q *rawTraceRequest) free() {
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

// rawTraceResponse is the successful ExportTraceServiceResponse, encoded
// as pdata encodes ptraceotlp.NewExportResponse(): an empty
// partial_success (field 1, length 0).
type rawTraceResponse struct{}

var rawTraceResponseBytes = []byte{0x0a, 0x00}

// rawCodec is the server's codec: trace requests and responses of
// rawTraceServiceDesc as bytes, every other message through the "proto"
// codec registered (by pdata) for the other services.
type rawCodec struct{ proto grpcencoding.CodecV2 }

func (c rawCodec) Marshal(v any) (mem.BufferSlice, error) {
	if _, ok := v.(rawTraceResponse); ok {
		return mem.BufferSlice{mem.SliceBuffer(rawTraceResponseBytes)}, nil
	}
	return c.proto.Marshal(v)
}

func (c rawCodec) Unmarshal(data mem.BufferSlice, v any) error {
	if q, ok := v.(*rawTraceRequest); ok {
		q.set(data)
		return nil
	}
	return c.proto.Unmarshal(data, v)
}

func (rawCodec) Name() string { return "proto" }

type logService struct {
	plogotlp.UnimplementedGRPCServer
}

func (*logService) Export(context.Context, plogotlp.ExportRequest) (plogotlp.ExportResponse, error) {
	return plogotlp.NewExportResponse(), nil
}

type metricService struct {
	pmetricotlp.UnimplementedGRPCServer
}

func (*metricService) Export(context.Context, pmetricotlp.ExportRequest) (pmetricotlp.ExportResponse, error) {
	return pmetricotlp.NewExportResponse(), nil
}

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
