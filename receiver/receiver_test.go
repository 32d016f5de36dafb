package receiver

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	grpcgzip "google.golang.org/grpc/encoding/gzip"
	"google.golang.org/grpc/status"
)

// TestConcurrentExporters runs many exporters at once over every transport
// while the sink refuses some batches (which the exporters then retry):
// every span is stored exactly once, and spans stored == spans acknowledged
// == Stats.Spans.
func TestConcurrentExporters(t *testing.T) {
	t.Parallel()
	for _, sk := range sinkKinds {
		t.Run(sk.name, func(t *testing.T) {
			t.Parallel()
			testConcurrentExporters(t, sk.lines)
		})
	}
}

func testConcurrentExporters(t *testing.T, lines bool) {
	const (
		workers   = 8
		perWorker = 2000
		batch     = 100
	)
	sink := &memSink{fail: func(call int) error {
		if call%7 == 0 {
			return errSinkFull
		}
		return nil
	}}
	r := startReceiver(t, Options{Addrs: []string{"127.0.0.1:0", "127.0.0.1:0"}}, sinkOf(sink, lines))
	cc := grpcConn(t, r)
	grpcClient := ptraceotlp.NewGRPCClient(cc)
	httpClient := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: workers}}
	// The second address, to check both serve.
	url2 := "http://" + r.Addrs()[1].String() + "/v1/traces"

	var acked, refused atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Go(func() {
			for b := range perWorker / batch {
				td := genAITraces(batch, uint64(w*1000+b+1))
				for attempt := 0; ; attempt++ {
					if attempt > 20 {
						errs <- fmt.Errorf("worker %d batch %d: too many attempts", w, b)
						return
					}
					var ok bool
					var err error
					switch w % 4 {
					case 0, 1:
						var opts []grpc.CallOption
						if w%4 == 1 {
							opts = append(opts, grpc.UseCompressor(grpcgzip.Name))
						}
						_, err = grpcClient.Export(context.Background(), ptraceotlp.NewExportRequestFromTraces(td), opts...)
						ok = err == nil
						if status.Code(err) == codes.Unavailable {
							err = nil
						}
					case 2, 3:
						ct, body := "application/x-protobuf", marshalProto(t, td)
						if w%4 == 3 {
							ct, body = "application/json", marshalJSON(t, td)
						}
						var resp *http.Response
						resp, err = httpClient.Post(url2, ct, bytes.NewReader(body))
						if err == nil {
							_, _ = io.Copy(io.Discard, resp.Body)
							_ = resp.Body.Close()
							ok = resp.StatusCode == http.StatusOK
							if !ok && resp.StatusCode != http.StatusServiceUnavailable {
								err = fmt.Errorf("status %d", resp.StatusCode)
							}
						}
					}
					if err != nil {
						errs <- fmt.Errorf("worker %d: %w", w, err)
						return
					}
					if ok {
						acked.Add(int64(batch))
						break
					}
					refused.Add(1)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	require.Positive(t, refused.Load(), "the sink should have refused some batches")
	st := r.Stats()
	assert.EqualValues(t, workers*perWorker, acked.Load())
	assert.EqualValues(t, workers*perWorker, sink.spanCount())
	assert.Len(t, sink.spans(t), workers*perWorker) // each span stored once
	assert.Equal(t, acked.Load(), st.Spans)
	assert.Equal(t, refused.Load(), st.Rejected)
	assert.Equal(t, acked.Load()/batch+refused.Load(), st.Requests)
	if lines {
		assert.Positive(t, linesOf(r.sink), "no batch took the JSON-line path")
	}
}

func TestBusyPort(t *testing.T) {
	t.Parallel()
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer busy.Close()
	addr := busy.Addr().String()

	tests := []struct {
		name  string
		addrs []string
	}{
		{"only address", []string{addr}},
		{"second address", []string{"127.0.0.1:0", addr}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := Start(Options{Addrs: tc.addrs}, &memSink{})
			require.Error(t, err)
			assert.Nil(t, r)
			var le *ListenError
			require.ErrorAs(t, err, &le)
			assert.Equal(t, addr, le.Addr)
			assert.ErrorIs(t, err, syscall.EADDRINUSE)
			assert.Equal(t, "listen "+addr+": address already in use", err.Error())
		})
	}
	_, err = Start(Options{Addrs: []string{"not-an-address"}}, &memSink{})
	var le *ListenError
	require.ErrorAs(t, err, &le)
	assert.Equal(t, "not-an-address", le.Addr)
}

func TestStartErrors(t *testing.T) {
	_, err := Start(Options{}, &memSink{})
	assert.Error(t, err)
	_, err = Start(Options{Addrs: []string{"127.0.0.1:0"}}, nil)
	assert.Error(t, err)
}

// TestEndpoint: Endpoint is a URL an SDK can use, also for wildcard and IPv6
// addresses.
func TestEndpoint(t *testing.T) {
	t.Parallel()
	tests := []struct {
		addr, wantHost string
	}{
		{"127.0.0.1:0", "127.0.0.1"},
		{"localhost:0", "127.0.0.1"},
		{"0.0.0.0:0", "127.0.0.1"},
		{":0", "127.0.0.1"},
		{"[::1]:0", "[::1]"},
	}
	for _, tc := range tests {
		t.Run(tc.addr, func(t *testing.T) {
			t.Parallel()
			r, err := Start(Options{Addrs: []string{tc.addr}}, &memSink{})
			if err != nil && tc.addr == "[::1]:0" {
				t.Skipf("no IPv6 loopback: %v", err)
			}
			require.NoError(t, err)
			defer func() { require.NoError(t, r.Shutdown(context.Background())) }()
			port := r.Addrs()[0].(*net.TCPAddr).Port
			assert.Equal(t, fmt.Sprintf("http://%s:%d", tc.wantHost, port), r.Endpoint())
			resp, body := post(t, nil, r.Endpoint()+"/v1/traces", "application/json", "", bytes.NewReader(marshalJSON(t, genAITraces(2, 1))))
			assert.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
		})
	}
}

func TestIsLoopback(t *testing.T) {
	tests := []struct {
		addr string
		want bool
	}{
		{"127.0.0.1:4318", true},
		{"127.1.2.3:4318", true},
		{"[::1]:4317", true},
		{"localhost:4318", true},
		{"LOCALHOST:4318", true},
		{"localhost.:4318", true},
		{"127.0.0.1", true},
		{":4318", false},
		{"0.0.0.0:4318", false},
		{"[::]:4318", false},
		{"192.168.1.10:4318", false},
		{"example.com:4318", false},
		{"[fe80::1%eth0]:4318", false},
	}
	for _, tc := range tests {
		assert.Equal(t, tc.want, IsLoopback(tc.addr), tc.addr)
	}
}

// TestSniffer: a silent connection neither blocks other clients nor stays
// open forever; bytes that are not an HTTP/2 preface reach net/http.
func TestSniffer(t *testing.T) {
	t.Parallel()
	const sniffTimeout = time.Second
	sink := &memSink{}
	r := startReceiver(t, Options{sniffTimeout: sniffTimeout}, sink)
	addr := r.Addrs()[0].String()

	silent, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer silent.Close()
	partial, err := net.Dial("tcp", addr) // "PRI" and nothing more
	require.NoError(t, err)
	defer partial.Close()
	_, err = partial.Write([]byte("PRI"))
	require.NoError(t, err)
	start := time.Now()

	// Other clients are served meanwhile...
	resp, body := post(t, nil, r.Endpoint()+"/v1/traces", "application/x-protobuf", "", bytes.NewReader(marshalProto(t, genAITraces(3, 1))))
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
	_, err = ptraceotlp.NewGRPCClient(grpcConn(t, r)).Export(context.Background(), ptraceotlp.NewExportRequestFromTraces(genAITraces(3, 2)))
	require.NoError(t, err)
	// ...while the silent connection is still open.
	require.NoError(t, silent.SetReadDeadline(time.Now().Add(10*time.Millisecond)))
	_, err = silent.Read(make([]byte, 1))
	var ne net.Error
	require.ErrorAs(t, err, &ne)
	require.True(t, ne.Timeout(), "silent connection closed too early: %v", err)

	// It is closed after the sniff timeout.
	require.NoError(t, silent.SetReadDeadline(time.Now().Add(10*time.Second)))
	_, err = silent.Read(make([]byte, 1))
	assert.ErrorIs(t, err, io.EOF)
	assert.GreaterOrEqual(t, time.Since(start), sniffTimeout-100*time.Millisecond)

	// A partial preface followed by silence goes to net/http when the sniff
	// times out; "PRI" is then just an HTTP/1 method.
	_, err = partial.Write([]byte(" /v1/traces HTTP/1.1\r\nHost: x\r\n\r\n"))
	require.NoError(t, err)
	require.NoError(t, partial.SetReadDeadline(time.Now().Add(5*time.Second)))
	line, err := io.ReadAll(io.LimitReader(partial, 12))
	require.NoError(t, err)
	assert.Equal(t, "HTTP/1.1 405", string(line))

	// Garbage that is neither: net/http answers 400.
	g, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer g.Close()
	_, err = g.Write([]byte("\x16\x03\x01 hello TLS?\r\n\r\n"))
	require.NoError(t, err)
	require.NoError(t, g.SetReadDeadline(time.Now().Add(5*time.Second)))
	line, err = io.ReadAll(io.LimitReader(g, 12))
	require.NoError(t, err)
	assert.Equal(t, "HTTP/1.1 400", string(line))
}

// blockingSink holds a request in flight until released.
func blockingSink() *memSink {
	return &memSink{entered: make(chan struct{}, 16), block: make(chan struct{})}
}

// TestShutdownGraceful: in-flight requests over both transports finish and
// are acknowledged; no new connection is accepted; nothing reaches the sink
// after Shutdown returns.
func TestShutdownGraceful(t *testing.T) {
	t.Parallel()
	for _, sk := range sinkKinds {
		t.Run(sk.name, func(t *testing.T) {
			t.Parallel()
			testShutdownGraceful(t, sk.lines)
		})
	}
}

func testShutdownGraceful(t *testing.T, lines bool) {
	sink := blockingSink()
	r, err := Start(Options{Addrs: []string{"127.0.0.1:0"}}, sinkOf(sink, lines))
	require.NoError(t, err)
	addr := r.Addrs()[0].String()

	httpDone := make(chan int, 1)
	go func() {
		resp, err := http.Post(r.Endpoint()+"/v1/traces", "application/x-protobuf", bytes.NewReader(marshalProto(t, genAITraces(4, 1))))
		if err != nil {
			httpDone <- -1
			return
		}
		_ = resp.Body.Close()
		httpDone <- resp.StatusCode
	}()
	grpcDone := make(chan error, 1)
	cc := grpcConn(t, r)
	go func() {
		_, err := ptraceotlp.NewGRPCClient(cc).Export(context.Background(), ptraceotlp.NewExportRequestFromTraces(genAITraces(6, 2)))
		grpcDone <- err
	}()
	<-sink.entered
	<-sink.entered

	shutdownDone := make(chan error, 1)
	go func() { shutdownDone <- r.Shutdown(context.Background()) }()

	// New connections are refused once the listeners are closed.
	require.Eventually(t, func() bool {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			return true
		}
		_ = c.Close()
		return false
	}, 5*time.Second, 10*time.Millisecond)
	select {
	case err := <-shutdownDone:
		t.Fatalf("Shutdown returned %v with requests in flight", err)
	default:
	}

	close(sink.block)
	assert.Equal(t, http.StatusOK, <-httpDone)
	assert.NoError(t, <-grpcDone)
	require.NoError(t, <-shutdownDone)
	assert.EqualValues(t, 10, r.Stats().Spans)
	assert.Equal(t, 10, sink.spanCount())
	assert.NoError(t, r.Shutdown(context.Background()), "second Shutdown")
	if lines {
		assert.EqualValues(t, 2, linesOf(r.sink))
	}
}

// TestShutdownForced: when ctx ends first, Shutdown closes connections,
// returns ctx's error, and still guarantees no sink call after it returns.
func TestShutdownForced(t *testing.T) {
	t.Parallel()
	for _, sk := range sinkKinds {
		t.Run(sk.name, func(t *testing.T) {
			t.Parallel()
			testShutdownForced(t, sk.lines)
		})
	}
}

func testShutdownForced(t *testing.T, lines bool) {
	sink := blockingSink()
	r, err := Start(Options{Addrs: []string{"127.0.0.1:0"}}, sinkOf(sink, lines))
	require.NoError(t, err)

	ct, body := "application/json", marshalJSON(t, genAITraces(2, 1))
	if lines { // the transcoding path
		ct, body = "application/x-protobuf", marshalProto(t, genAITraces(2, 1))
	}
	go func() {
		resp, err := http.Post(r.Endpoint()+"/v1/traces", ct, bytes.NewReader(body))
		if err == nil {
			_ = resp.Body.Close()
		}
	}()
	<-sink.entered

	// Release the sink a little after the deadline: Shutdown must wait for
	// the sink call in progress even though ctx has ended.
	released := make(chan struct{})
	go func() {
		time.Sleep(300 * time.Millisecond)
		close(released)
		close(sink.block)
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	err = r.Shutdown(ctx)
	require.Error(t, err)
	assert.True(t, errors.Is(err, context.DeadlineExceeded), "%v", err)
	select {
	case <-released:
	default:
		t.Fatal("Shutdown returned while the sink was still running")
	}
	calls := sink.callCount()
	time.Sleep(50 * time.Millisecond)
	assert.Equal(t, calls, sink.callCount())
}

// TestNoGoroutineLeak: after Shutdown, nothing the receiver started keeps
// running. Not parallel: it counts the process's goroutines.
func TestNoGoroutineLeak(t *testing.T) {
	before := runtime.NumGoroutine()
	sink := &memSink{}
	r, err := Start(Options{Addrs: []string{"127.0.0.1:0", "127.0.0.1:0"}}, sink)
	require.NoError(t, err)

	tr := &http.Transport{}
	resp, body := post(t, &http.Client{Transport: tr}, r.Endpoint()+"/v1/traces", "application/x-protobuf", "", bytes.NewReader(marshalProto(t, genAITraces(3, 1))))
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
	cc, err := grpc.NewClient(r.Addrs()[1].String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	_, err = ptraceotlp.NewGRPCClient(cc).Export(context.Background(), ptraceotlp.NewExportRequestFromTraces(genAITraces(3, 2)))
	require.NoError(t, err)
	silent, err := net.Dial("tcp", r.Addrs()[0].String()) // still being sniffed at Shutdown
	require.NoError(t, err)
	defer silent.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, r.Shutdown(ctx))
	tr.CloseIdleConnections()
	require.NoError(t, cc.Close())
	// Polled here: testify's Eventually runs its condition in a goroutine.
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if runtime.NumGoroutine() > before {
		buf := make([]byte, 1<<20)
		t.Errorf("goroutines: %d before, %d after:\n%s", before, runtime.NumGoroutine(), buf[:runtime.Stack(buf, true)])
	}
	assert.Equal(t, 6, sink.spanCount())
}
