package replay

import (
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// sink is a real OTLP trace server (gRPC and HTTP) that records what it
// receives and answers with a scripted sequence of failures first.
type sink struct {
	mu       sync.Mutex
	requests []ptrace.Traces
	headers  []http.Header // HTTP request headers, or gRPC metadata
	attempts int
	// fail lists the answers to give before accepting: HTTP status codes
	// for the HTTP server, gRPC codes for the gRPC server.
	failHTTP []int
	failGRPC []codes.Code
	// rejected, if set, is reported as a partial success.
	rejected int64
}

func (s *sink) record(td ptrace.Traces, h http.Header) {
	s.requests = append(s.requests, td)
	s.headers = append(s.headers, h)
}

func (s *sink) received() []ptrace.Traces {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]ptrace.Traces(nil), s.requests...)
}

func (s *sink) response() ptraceotlp.ExportResponse {
	resp := ptraceotlp.NewExportResponse()
	if s.rejected > 0 {
		resp.PartialSuccess().SetRejectedSpans(s.rejected)
		resp.PartialSuccess().SetErrorMessage("span too old")
	}
	return resp
}

type grpcSink struct {
	ptraceotlp.UnimplementedGRPCServer
	s *sink
}

func (g *grpcSink) Export(ctx context.Context, req ptraceotlp.ExportRequest) (ptraceotlp.ExportResponse, error) {
	s := g.s
	s.mu.Lock()
	defer s.mu.Unlock()
	s.attempts++
	if len(s.failGRPC) > 0 {
		code := s.failGRPC[0]
		s.failGRPC = s.failGRPC[1:]
		return ptraceotlp.NewExportResponse(), status.Error(code, "scripted failure")
	}
	td := ptrace.NewTraces()
	req.Traces().CopyTo(td)
	md, _ := metadata.FromIncomingContext(ctx)
	h := http.Header{}
	for k, vs := range md {
		for _, v := range vs {
			h.Add(k, v)
		}
	}
	s.record(td, h)
	return s.response(), nil
}

// startGRPC serves OTLP/gRPC on loopback and returns its address.
func startGRPC(t *testing.T, s *sink) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := grpc.NewServer() // default 4 MiB receive limit, like a Collector
	ptraceotlp.RegisterGRPCServer(srv, &grpcSink{s: s})
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	return lis.Addr().String()
}

// startHTTP serves OTLP/HTTP (protobuf and JSON, optionally gzipped).
func startHTTP(t *testing.T, s *sink) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/v1/traces" {
			http.Error(w, "not found", http.StatusNotFound)
			return
		}
		var body io.Reader = r.Body
		if r.Header.Get("Content-Encoding") == "gzip" {
			zr, err := gzip.NewReader(r.Body)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			body = zr
		}
		data, err := io.ReadAll(body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		s.attempts++
		if len(s.failHTTP) > 0 {
			code := s.failHTTP[0]
			s.failHTTP = s.failHTTP[1:]
			w.Header().Set("Content-Type", "application/x-protobuf")
			w.WriteHeader(code)
			// google.rpc.Status{code: 3, message: "scripted failure"}
			_, _ = w.Write(append([]byte{0x08, 0x03, 0x12, 16}, "scripted failure"...))
			return
		}
		req := ptraceotlp.NewExportRequest()
		ctype := r.Header.Get("Content-Type")
		switch ctype {
		case "application/x-protobuf":
			err = req.UnmarshalProto(data)
		case "application/json":
			err = req.UnmarshalJSON(data)
		default:
			http.Error(w, "unsupported media type", http.StatusUnsupportedMediaType)
			return
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		s.record(req.Traces(), r.Header.Clone())
		var out []byte
		if ctype == "application/json" {
			out, err = s.response().MarshalJSON()
		} else {
			out, err = s.response().MarshalProto()
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", ctype)
		_, _ = w.Write(out)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// recordRun writes batches with the Writer and returns the file.
func recordRun(t *testing.T, batches ...ptrace.Traces) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "traces.jsonl")
	w, err := Create(path)
	require.NoError(t, err)
	for _, td := range batches {
		require.NoError(t, w.ConsumeTraces(context.Background(), td))
	}
	require.NoError(t, w.Close())
	return path
}

// fastRetries shortens the backoff for the test.
func fastRetries(t *testing.T) {
	base, maxD := retryBaseDelay, retryMaxDelay
	retryBaseDelay, retryMaxDelay = time.Millisecond, 5*time.Millisecond
	t.Cleanup(func() { retryBaseDelay, retryMaxDelay = base, maxD })
}

func TestSendProtocols(t *testing.T) {
	batches := []ptrace.Traces{richTraces(0, 2, 3), genAITraces(1, 25), richTraces(2, 1, 1)}
	path := recordRun(t, batches...)
	wantSpans := 0
	for _, td := range batches {
		wantSpans += td.SpanCount()
	}

	tests := []struct {
		protocol string
		gzip     bool
	}{
		{ProtocolGRPC, false},
		{ProtocolGRPC, true},
		{ProtocolHTTPProtobuf, false},
		{ProtocolHTTPProtobuf, true},
		{ProtocolHTTPJSON, false},
		{ProtocolHTTPJSON, true},
		{"", false}, // default: http/protobuf
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s gzip=%v", tt.protocol, tt.gzip), func(t *testing.T) {
			s := &sink{}
			var endpoint string
			if tt.protocol == ProtocolGRPC {
				endpoint = startGRPC(t, s)
			} else {
				endpoint = startHTTP(t, s).URL
			}
			stats, err := Send(context.Background(), []string{path}, SendOptions{
				Endpoint: endpoint,
				Protocol: tt.protocol,
				Headers:  map[string]string{"X-Api-Key": "secret"},
				Gzip:     tt.gzip,
			})
			require.NoError(t, err)
			assert.Equal(t, SendStats{Batches: int64(len(batches)), Spans: int64(wantSpans)}, stats)

			got := s.received()
			require.Len(t, got, len(batches), "one request per batch")
			for i := range batches {
				assert.Equal(t, jsonOf(t, batches[i]), jsonOf(t, got[i]), "request %d", i)
			}
			for _, h := range s.headers {
				assert.Equal(t, []string{"secret"}, h.Values("X-Api-Key")) // gRPC metadata keys are lower case
				if tt.protocol != ProtocolGRPC {
					assert.Equal(t, map[bool]string{true: "gzip", false: ""}[tt.gzip], h.Get("Content-Encoding"))
				}
			}
		})
	}
}

func TestSendRetries(t *testing.T) {
	fastRetries(t)
	path := recordRun(t, genAITraces(0, 3), genAITraces(1, 2))
	tests := []struct {
		name         string
		protocol     string
		failHTTP     []int
		failGRPC     []codes.Code
		wantErr      []string // substrings; nil = success
		wantAttempts int
	}{
		{name: "http 503 twice then 200", protocol: ProtocolHTTPProtobuf, failHTTP: []int{503, 503}, wantAttempts: 4},
		{name: "http 429 502 504", protocol: ProtocolHTTPJSON, failHTTP: []int{429, 502, 504}, wantAttempts: 5},
		{name: "grpc unavailable twice", protocol: ProtocolGRPC, failGRPC: []codes.Code{codes.Unavailable, codes.Unavailable}, wantAttempts: 4},
		{name: "grpc resource exhausted", protocol: ProtocolGRPC, failGRPC: []codes.Code{codes.ResourceExhausted}, wantAttempts: 3},
		{
			name: "http 400 is not retried", protocol: ProtocolHTTPProtobuf, failHTTP: []int{400},
			wantErr: []string{"/v1/traces: HTTP 400 Bad Request: scripted failure"}, wantAttempts: 1,
		},
		{
			name: "http 503 until giving up", protocol: ProtocolHTTPProtobuf, failHTTP: []int{503, 503, 503, 503, 503, 503, 503},
			wantErr: []string{"HTTP 503 Service Unavailable: scripted failure", "gave up after 6 attempts"}, wantAttempts: 6,
		},
		{
			name: "grpc invalid argument is not retried", protocol: ProtocolGRPC, failGRPC: []codes.Code{codes.InvalidArgument},
			wantErr: []string{"gRPC InvalidArgument: scripted failure"}, wantAttempts: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &sink{failHTTP: tt.failHTTP, failGRPC: tt.failGRPC}
			var endpoint string
			if tt.protocol == ProtocolGRPC {
				endpoint = startGRPC(t, s)
			} else {
				endpoint = startHTTP(t, s).URL
			}
			stats, err := Send(context.Background(), []string{path}, SendOptions{Endpoint: endpoint, Protocol: tt.protocol})
			s.mu.Lock()
			attempts := s.attempts
			s.mu.Unlock()
			assert.Equal(t, tt.wantAttempts, attempts)
			if tt.wantErr == nil {
				require.NoError(t, err)
				assert.Equal(t, SendStats{Batches: 2, Spans: 5}, stats)
				assert.Equal(t, spanList(t, genAITraces(0, 3), genAITraces(1, 2)), spanList(t, s.received()...))
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), endpoint, "the error names the endpoint")
			for _, want := range tt.wantErr {
				assert.Contains(t, err.Error(), want)
			}
			assert.Zero(t, stats.Batches)
		})
	}
}

func TestSendHonoursRetryAfter(t *testing.T) {
	s := &sink{}
	var first time.Time
	var gap time.Duration
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		s.mu.Lock()
		defer s.mu.Unlock()
		s.attempts++
		if s.attempts == 1 {
			first = time.Now()
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		gap = time.Since(first)
		w.Header().Set("Content-Type", "application/x-protobuf")
	}))
	defer srv.Close()
	_, err := Send(context.Background(), []string{recordRun(t, genAITraces(0, 1))}, SendOptions{Endpoint: srv.URL})
	require.NoError(t, err)
	assert.Equal(t, 2, s.attempts)
	assert.GreaterOrEqual(t, gap, 900*time.Millisecond)
}

func TestParseRetryAfter(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want time.Duration
	}{
		{"", 0}, {"0", 0}, {"3", 3 * time.Second}, {"-1", 0}, {"soon", 0},
		{"Mon, 02 Jan 2006 15:04:05 GMT", 0}, // in the past
	} {
		assert.Equal(t, tt.want, parseRetryAfter(tt.in), tt.in)
	}
	future := time.Now().Add(20 * time.Second).UTC().Format(http.TimeFormat)
	assert.InDelta(t, 20*time.Second, parseRetryAfter(future), float64(2*time.Second))
}

func TestSendSplitsLargeBatches(t *testing.T) {
	// One batch of about 5 MiB in protobuf: a default gRPC server refuses
	// messages over 4 MiB, so it must arrive in several requests.
	big := ptrace.NewTraces()
	for r := range 2 {
		rs := genAITraces(r, 1).ResourceSpans().At(0)
		rs.Resource().Attributes().PutInt("shard", int64(r))
		dst := big.ResourceSpans().AppendEmpty()
		rs.CopyTo(dst)
		spans := dst.ScopeSpans().At(0).Spans()
		for i := range 170 {
			sp := spans.AppendEmpty()
			spans.At(0).CopyTo(sp)
			sp.Attributes().PutStr("gen_ai.prompt", strings.Repeat(fmt.Sprintf("%d-%d ", r, i), 2500))
		}
	}
	var m ptrace.ProtoMarshaler
	require.Greater(t, m.TracesSize(big), 4<<20)
	path := recordRun(t, genAITraces(9, 2), big)

	s := &sink{}
	stats, err := Send(context.Background(), []string{path}, SendOptions{Endpoint: startGRPC(t, s), Protocol: ProtocolGRPC})
	require.NoError(t, err)
	got := s.received()
	assert.Greater(t, len(got), 2)
	assert.EqualValues(t, len(got), stats.Batches)
	assert.EqualValues(t, 2+big.SpanCount(), stats.Spans)
	for _, td := range got {
		assert.LessOrEqual(t, m.TracesSize(td), 4<<20)
	}
	assert.Equal(t, spanList(t, genAITraces(9, 2), big), spanList(t, got...))
}

func TestSplitTracesKeepsSmallBatches(t *testing.T) {
	td := richTraces(0, 2, 2)
	parts := splitTraces(td, maxRequestBytes)
	require.Len(t, parts, 1)
	assert.Equal(t, jsonOf(t, td), jsonOf(t, parts[0]))

	// A limit below one span: one span per part, all kept in order.
	parts = splitTraces(td, 10)
	assert.Len(t, parts, 4)
	assert.Equal(t, spanList(t, td), spanList(t, parts...))
}

func TestSendPartialSuccess(t *testing.T) {
	for _, protocol := range []string{ProtocolGRPC, ProtocolHTTPProtobuf, ProtocolHTTPJSON} {
		t.Run(protocol, func(t *testing.T) {
			s := &sink{rejected: 2}
			endpoint := startGRPC(t, s)
			if protocol != ProtocolGRPC {
				endpoint = startHTTP(t, s).URL
			}
			var warnings []string
			stats, err := Send(context.Background(), []string{recordRun(t, genAITraces(0, 5))}, SendOptions{
				Endpoint: endpoint, Protocol: protocol,
				Warn: func(m string) { warnings = append(warnings, m) },
			})
			require.NoError(t, err)
			assert.Equal(t, SendStats{Batches: 1, Spans: 5, Rejected: 2}, stats)
			require.Len(t, warnings, 1)
			assert.Contains(t, warnings[0], "rejected 2 of 5 spans: span too old")
		})
	}
}

func TestSendPassesReadWarningsAndErrors(t *testing.T) {
	s := &sink{}
	srv := startHTTP(t, s)
	dir := t.TempDir()
	data := encodeJSONLines(t, []ptrace.Traces{genAITraces(0, 2)})
	truncated := writeFile(t, dir, "cut.jsonl", append(data, `{"resourceSpans":[{"sco`...))
	var warnings []string
	stats, err := Send(context.Background(), []string{truncated}, SendOptions{
		Endpoint: srv.URL, Warn: func(m string) { warnings = append(warnings, m) },
	})
	require.NoError(t, err)
	assert.EqualValues(t, 2, stats.Spans)
	require.Len(t, warnings, 1)
	assert.Contains(t, warnings[0], "cut.jsonl:2: incomplete last line")

	missing := filepath.Join(dir, "missing.jsonl")
	_, err = Send(context.Background(), []string{missing}, SendOptions{Endpoint: srv.URL})
	require.Error(t, err)
	assert.Contains(t, err.Error(), missing)
}

func TestSendOptionErrors(t *testing.T) {
	path := recordRun(t, genAITraces(0, 1))
	tests := []struct {
		name    string
		opts    SendOptions
		wantErr string
	}{
		{"unknown protocol", SendOptions{Endpoint: "localhost:4318", Protocol: "http/xml"},
			`unknown protocol "http/xml" (valid: grpc, http/protobuf, http/json)`},
		{"no endpoint", SendOptions{}, "no endpoint"},
		{"bad scheme", SendOptions{Endpoint: "ftp://localhost:4318"}, "scheme must be http or https"},
		{"grpc with a path", SendOptions{Endpoint: "http://localhost:4317/v1/traces", Protocol: ProtocolGRPC}, "has a path"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Send(context.Background(), []string{path}, tt.opts)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.wantErr)
		})
	}
}

func TestEndpoints(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"http://localhost:4318", "http://localhost:4318/v1/traces"},
		{"http://localhost:4318/", "http://localhost:4318/v1/traces"},
		{"localhost:4318", "http://localhost:4318/v1/traces"},
		{"https://otel.example.com", "https://otel.example.com/v1/traces"},
		{"http://localhost:6006/v1/traces", "http://localhost:6006/v1/traces"},
		{"http://collector/custom/path", "http://collector/custom/path"},
	} {
		got, err := httpURL(tt.in)
		require.NoError(t, err, tt.in)
		assert.Equal(t, tt.want, got, tt.in)
	}
	for _, tt := range []struct {
		in, target string
		tls        bool
	}{
		{"localhost:4317", "localhost:4317", false},
		{"http://localhost:4317", "localhost:4317", false},
		{"https://otel.example.com:443", "otel.example.com:443", true},
		{"dns:///localhost:4317", "dns:///localhost:4317", false},
	} {
		target, tls, err := grpcTarget(tt.in)
		require.NoError(t, err, tt.in)
		assert.Equal(t, tt.target, target, tt.in)
		assert.Equal(t, tt.tls, tls, tt.in)
	}
}

// TestSendHTTPSUsesTLS checks an https endpoint is spoken to over TLS,
// verified against the system roots (which do not hold the test server's
// certificate).
func TestSendHTTPSUsesTLS(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	require.True(t, strings.HasPrefix(srv.URL, "https://"))
	fastRetries(t)
	_, err := Send(context.Background(), []string{recordRun(t, genAITraces(0, 1))}, SendOptions{Endpoint: srv.URL})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "certificate")
}

func TestSendStopsOnCancel(t *testing.T) {
	s := &sink{failHTTP: []int{503, 503, 503, 503, 503, 503}}
	srv := startHTTP(t, s)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := Send(ctx, []string{recordRun(t, genAITraces(0, 1))}, SendOptions{Endpoint: srv.URL})
	require.Error(t, err)
	assert.Less(t, time.Since(start), 2*time.Second)
}
