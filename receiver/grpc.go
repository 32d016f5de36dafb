package receiver

import (
	"context"
	"math"
	"sync/atomic"

	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	_ "google.golang.org/grpc/encoding/gzip" // clients with OTEL_EXPORTER_OTLP_COMPRESSION=gzip
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
	s := grpc.NewServer(
		// Checked by grpc-go on the wire size and again on the decompressed
		// size while decompressing (it stops at limit+1 bytes).
		grpc.MaxRecvMsgSize(int(limit)),
		// A batch of 512 spans is a few hundred KB: read it in a few
		// syscalls rather than dozens (the Collector's otlpreceiver uses
		// the same 512 KiB).
		grpc.ReadBufferSize(512<<10),
		grpc.StatsHandler(&grpcStats{r: r}),
	)
	ptraceotlp.RegisterGRPCServer(s, &traceService{r: r})
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
