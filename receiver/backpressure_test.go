package receiver

import (
	"bytes"
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
)

// gateSink blocks every batch until the gate opens.
type gateSink struct {
	gate    chan struct{}
	mu      sync.Mutex
	spans   int
	entered chan struct{}
}

func (g *gateSink) ConsumeTraces(_ context.Context, td ptrace.Traces) error {
	g.entered <- struct{}{}
	<-g.gate
	g.mu.Lock()
	g.spans += td.SpanCount()
	g.mu.Unlock()
	return nil
}

// gateJSONSink is gateSink as a JSONSink.
type gateJSONSink struct{ *gateSink }

func (g gateJSONSink) ConsumeTracesJSON(_ context.Context, _ []byte, spans int) error {
	g.entered <- struct{}{}
	<-g.gate
	g.mu.Lock()
	g.spans += spans
	g.mu.Unlock()
	return nil
}

// Under overload the receiver answers retryable 503 / UNAVAILABLE at once
// instead of queueing without bound; what it accepted is all stored.
func TestBackpressure(t *testing.T) {
	for _, sk := range sinkKinds {
		t.Run(sk.name, func(t *testing.T) { testBackpressure(t, sk.lines) })
	}
}

func testBackpressure(t *testing.T, lines bool) {
	sink := &gateSink{gate: make(chan struct{}), entered: make(chan struct{}, 10)}
	var s Sink = sink
	if lines {
		s = gateJSONSink{sink}
	}
	r, err := Start(Options{Addrs: []string{"127.0.0.1:0"}, MaxConcurrent: 2}, s)
	require.NoError(t, err)
	defer r.Shutdown(context.Background())

	td := ptrace.NewTraces()
	td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty().SetName("s")
	body, err := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
	require.NoError(t, err)
	post := func() *http.Response {
		resp, err := http.Post(r.Endpoint()+"/v1/traces", "application/x-protobuf", bytes.NewReader(body))
		require.NoError(t, err)
		return resp
	}

	// Two requests occupy both slots.
	var wg sync.WaitGroup
	codes2 := make([]int, 2)
	for i := range 2 {
		wg.Add(1)
		go func() { defer wg.Done(); codes2[i] = post().StatusCode }()
	}
	<-sink.entered
	<-sink.entered

	// The third is refused at once, retryably, over HTTP and gRPC.
	start := time.Now()
	resp := post()
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	assert.Equal(t, "1", resp.Header.Get("Retry-After"))
	assert.Less(t, time.Since(start), 5*time.Second)

	conn, err := grpc.NewClient(r.Addrs()[0].String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	defer conn.Close()
	_, err = ptraceotlp.NewGRPCClient(conn).Export(context.Background(), ptraceotlp.NewExportRequestFromTraces(td))
	assert.Equal(t, codes.Unavailable, status.Code(err))

	close(sink.gate)
	wg.Wait()
	assert.Equal(t, []int{200, 200}, codes2)
	assert.Equal(t, 2, sink.spans)
	assert.Equal(t, int64(2), r.Stats().Spans)

	// With the slots free again, requests are accepted.
	assert.Equal(t, http.StatusOK, post().StatusCode)
}
