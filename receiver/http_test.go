package receiver

import (
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	grpcgzip "google.golang.org/grpc/encoding/gzip"
	"google.golang.org/grpc/status"
)

// handJSON is an OTLP/JSON request as a non-Go SDK writes it: hex ids (upper
// case here), int64 values as strings and as numbers, enums as integers,
// every AnyValue kind, and a field the decoder must ignore.
const handJSON = `{
  "resourceSpans": [{
    "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "json-svc"}}]},
    "scopeSpans": [{
      "scope": {"name": "hand-written", "version": "1.0"},
      "spans": [{
        "traceId": "5B8EFFF798038103D269B633813FC60C",
        "spanId": "eee19b7ec3c1b174",
        "parentSpanId": "EEE19B7EC3C1B173",
        "name": "chat gpt-4o-mini",
        "kind": 3,
        "startTimeUnixNano": "1767323045000000000",
        "endTimeUnixNano": 1767323046250000000,
        "attributes": [
          {"key": "gen_ai.usage.input_tokens", "value": {"intValue": "1200"}},
          {"key": "gen_ai.usage.output_tokens", "value": {"intValue": 345}},
          {"key": "big", "value": {"intValue": "9007199254740993"}},
          {"key": "gen_ai.request.temperature", "value": {"doubleValue": 0.25}},
          {"key": "cached", "value": {"boolValue": true}},
          {"key": "gen_ai.response.finish_reasons", "value": {"arrayValue": {"values": [{"stringValue": "stop"}, {"intValue": "7"}]}}},
          {"key": "meta", "value": {"kvlistValue": {"values": [{"key": "k", "value": {"stringValue": "v"}}]}}},
          {"key": "raw", "value": {"bytesValue": "aGVsbG8="}}
        ],
        "events": [{"timeUnixNano": "1767323045500000000", "name": "gen_ai.choice", "attributes": [{"key": "index", "value": {"intValue": 0}}]}],
        "status": {"code": 2, "message": "rate limited"},
        "someFutureField": {"ignored": [1, 2, 3]}
      }]
    }]
  }]
}`

func TestHandWrittenJSON(t *testing.T) {
	t.Parallel()
	gz := func(b []byte) []byte { return gzipBytes(t, b) }
	deflate := func(b []byte) []byte {
		var buf bytes.Buffer
		zw := zlib.NewWriter(&buf)
		_, _ = zw.Write(b)
		require.NoError(t, zw.Close())
		return buf.Bytes()
	}
	tests := []struct {
		name, contentType, encoding string
		body                        []byte
	}{
		{"plain", "application/json", "", []byte(handJSON)},
		{"charset", "application/json; charset=utf-8", "", []byte(handJSON)},
		{"gzip", "application/json", "gzip", gz([]byte(handJSON))},
		{"x-gzip", "application/json", "x-gzip", gz([]byte(handJSON))},
		{"deflate", "application/json", "deflate", deflate([]byte(handJSON))},
		{"identity", "application/json", "identity", []byte(handJSON)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sink := &memSink{}
			r := startReceiver(t, Options{}, sink)
			resp, body := post(t, nil, r.Endpoint()+"/v1/traces", tc.contentType, tc.encoding, bytes.NewReader(tc.body))
			require.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
			assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))
			er := ptraceotlp.NewExportResponse()
			require.NoError(t, er.UnmarshalJSON(body))
			assert.Equal(t, int64(0), er.PartialSuccess().RejectedSpans())

			spans := sink.spans(t)
			require.Len(t, spans, 1)
			var id pcommon.SpanID
			copy(id[:], []byte{0xee, 0xe1, 0x9b, 0x7e, 0xc3, 0xc1, 0xb1, 0x74})
			rec, ok := spans[id]
			require.True(t, ok)
			sp := rec.span
			assert.Equal(t, "5b8efff798038103d269b633813fc60c", sp.TraceID().String())
			assert.Equal(t, "eee19b7ec3c1b173", sp.ParentSpanID().String())
			assert.Equal(t, "chat gpt-4o-mini", sp.Name())
			assert.Equal(t, ptrace.SpanKindClient, sp.Kind())
			assert.EqualValues(t, uint64(1767323045000000000), sp.StartTimestamp())
			assert.EqualValues(t, uint64(1767323046250000000), sp.EndTimestamp())
			assert.Equal(t, ptrace.StatusCodeError, sp.Status().Code())
			assert.Equal(t, "rate limited", sp.Status().Message())
			svc, _ := rec.resource.Attributes().Get("service.name")
			assert.Equal(t, "json-svc", svc.Str())

			a := sp.Attributes()
			assert.Equal(t, 8, a.Len())
			v, _ := a.Get("gen_ai.usage.input_tokens")
			assert.Equal(t, pcommon.ValueTypeInt, v.Type())
			assert.EqualValues(t, 1200, v.Int(), "intValue as a string")
			v, _ = a.Get("gen_ai.usage.output_tokens")
			assert.Equal(t, pcommon.ValueTypeInt, v.Type())
			assert.EqualValues(t, 345, v.Int(), "intValue as a number")
			v, _ = a.Get("big")
			assert.EqualValues(t, int64(9007199254740993), v.Int(), "int64 beyond float64 precision")
			v, _ = a.Get("gen_ai.request.temperature")
			assert.InDelta(t, 0.25, v.Double(), 0)
			v, _ = a.Get("cached")
			assert.True(t, v.Bool())
			v, _ = a.Get("gen_ai.response.finish_reasons")
			require.Equal(t, 2, v.Slice().Len())
			assert.Equal(t, "stop", v.Slice().At(0).Str())
			assert.EqualValues(t, 7, v.Slice().At(1).Int())
			v, _ = a.Get("meta")
			kv, _ := v.Map().Get("k")
			assert.Equal(t, "v", kv.Str())
			v, _ = a.Get("raw")
			assert.Equal(t, []byte("hello"), v.Bytes().AsRaw())
			require.Equal(t, 1, sp.Events().Len())
			assert.Equal(t, "gen_ai.choice", sp.Events().At(0).Name())
		})
	}
}

// gzipBomb streams size zero bytes through gzip as a sequence of gzip
// members (a valid multi-member gzip stream, which Go and zcat read as one),
// compressing a single 1 MiB member once: 1 GiB of zeros comes out at about
// 1 MiB without ever holding the zeros in memory.
func gzipBomb(t testing.TB, size int64) []byte {
	t.Helper()
	const chunk = 1 << 20
	require.Zero(t, size%chunk)
	var member bytes.Buffer
	zw, err := gzip.NewWriterLevel(&member, gzip.BestCompression)
	require.NoError(t, err)
	_, err = zw.Write(make([]byte, chunk))
	require.NoError(t, err)
	require.NoError(t, zw.Close())
	return bytes.Repeat(member.Bytes(), int(size/chunk))
}

// TestBadInput sends one bad request after the other to the SAME receiver;
// after each, a good request over HTTP and one over gRPC must still succeed.
func TestBadInput(t *testing.T) {
	t.Parallel()
	for _, sk := range sinkKinds {
		t.Run(sk.name, func(t *testing.T) {
			t.Parallel()
			testBadInput(t, sk.lines)
		})
	}
}

func testBadInput(t *testing.T, lines bool) {
	const limit = 4 << 20
	sink := &memSink{}
	r := startReceiver(t, Options{MaxRequestBytes: limit}, sinkOf(sink, lines))
	url := r.Endpoint() + "/v1/traces"
	cc := grpcConn(t, r)
	traceClient := ptraceotlp.NewGRPCClient(cc)

	bomb := gzipBomb(t, 1<<30)
	t.Logf("gzip bomb: 1 GiB of zeros in %d bytes", len(bomb))
	require.Less(t, len(bomb), limit, "the bomb must pass the wire limit, to be caught while inflating")

	var single bytes.Buffer // one gzip member inflating past the limit
	zw, _ := gzip.NewWriterLevel(&single, gzip.BestSpeed)
	_, _ = zw.Write(make([]byte, limit+1))
	require.NoError(t, zw.Close())
	var deflated bytes.Buffer
	dw, _ := zlib.NewWriterLevel(&deflated, zlib.BestSpeed)
	_, _ = dw.Write(make([]byte, limit+1))
	require.NoError(t, dw.Close())
	validGzip := gzipBytes(t, marshalProto(t, genAITraces(3, 99)))

	tests := []struct {
		name        string
		method      string
		path        string
		contentType string
		encoding    string
		body        []byte
		wantStatus  int
		wantCode    int32 // google.rpc.Code in the body; 0: text/plain body
	}{
		{"garbage protobuf", "POST", "/v1/traces", "application/x-protobuf", "", []byte("\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff"), 400, 3},
		{"truncated protobuf", "POST", "/v1/traces", "application/x-protobuf", "", marshalProto(t, genAITraces(2, 1))[:50], 400, 3},
		{"invalid JSON", "POST", "/v1/traces", "application/json", "", []byte(`{"resourceSpans": [`), 400, 3},
		{"JSON not an object", "POST", "/v1/traces", "application/json", "", []byte(`[1,2,3]`), 400, 3},
		{"bad hex trace id", "POST", "/v1/traces", "application/json", "", []byte(`{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"xyz","spanId":"eee19b7ec3c1b174"}]}]}]}`), 400, 3},
		{"wrong content type", "POST", "/v1/traces", "text/plain", "", []byte("hello"), 415, 0},
		{"no content type", "POST", "/v1/traces", "", "", marshalProto(t, genAITraces(1, 2)), 415, 0},
		{"GET", "GET", "/v1/traces", "application/x-protobuf", "", nil, 405, 12},
		{"PUT json", "PUT", "/v1/traces", "application/json", "", []byte(`{}`), 405, 12},
		{"unknown path", "POST", "/v1/trace", "application/x-protobuf", "", nil, 404, 5},
		{"oversized body", "POST", "/v1/traces", "application/x-protobuf", "", make([]byte, limit+1), 413, 8},
		{"gzip bomb 1 GiB", "POST", "/v1/traces", "application/x-protobuf", "gzip", bomb, 413, 8},
		{"gzip one member over limit", "POST", "/v1/traces", "application/json", "gzip", single.Bytes(), 413, 8},
		{"deflate over limit", "POST", "/v1/traces", "application/x-protobuf", "deflate", deflated.Bytes(), 413, 8},
		{"invalid gzip", "POST", "/v1/traces", "application/x-protobuf", "gzip", []byte("this is not gzip at all"), 400, 3},
		{"truncated gzip", "POST", "/v1/traces", "application/x-protobuf", "gzip", validGzip[:len(validGzip)-10], 400, 3},
		{"gzip trailing garbage", "POST", "/v1/traces", "application/x-protobuf", "gzip", append(bytes.Clone(validGzip), "garbage"...), 400, 3},
		{"unknown encoding", "POST", "/v1/traces", "application/x-protobuf", "br", []byte{1, 2, 3}, 415, 3},
	}
	client := &http.Client{}
	good := 0
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := r.Stats()
			req, err := http.NewRequest(tc.method, r.Endpoint()+tc.path, bytes.NewReader(tc.body))
			require.NoError(t, err)
			if tc.contentType != "" {
				req.Header.Set("Content-Type", tc.contentType)
			}
			if tc.encoding != "" {
				req.Header.Set("Content-Encoding", tc.encoding)
			}
			resp, err := client.Do(req)
			require.NoError(t, err)
			body, err := io.ReadAll(resp.Body)
			require.NoError(t, err)
			_ = resp.Body.Close()
			require.Equal(t, tc.wantStatus, resp.StatusCode, "body: %.300s", body)
			if tc.wantStatus == http.StatusMethodNotAllowed {
				assert.Equal(t, "POST", resp.Header.Get("Allow"))
			}
			switch {
			case tc.wantCode == 0:
				assert.True(t, strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain"))
				assert.NotEmpty(t, body)
			case encodingOf(tc.contentType) == encJSON:
				assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))
				var st struct {
					Code    int32  `json:"code"`
					Message string `json:"message"`
				}
				require.NoError(t, json.Unmarshal(body, &st))
				assert.Equal(t, tc.wantCode, st.Code)
				assert.NotEmpty(t, st.Message)
			default:
				assert.Equal(t, "application/x-protobuf", resp.Header.Get("Content-Type"))
				code, msg := decodeStatusProto(t, body)
				assert.Equal(t, tc.wantCode, code)
				assert.NotEmpty(t, msg)
				t.Logf("status %d: %s", resp.StatusCode, msg)
			}
			after := r.Stats()
			assert.Equal(t, before.Requests+1, after.Requests)
			assert.Equal(t, before.Rejected+1, after.Rejected)
			assert.Equal(t, before.Spans, after.Spans)

			// The same receiver still works, over both transports.
			resp, body = post(t, client, url, "application/x-protobuf", "", bytes.NewReader(marshalProto(t, genAITraces(5, uint64(1000+good)))))
			require.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
			good++
			_, err = traceClient.Export(context.Background(), ptraceotlp.NewExportRequestFromTraces(genAITraces(5, uint64(1000+good))))
			require.NoError(t, err)
			good++
			assert.Equal(t, 5*good, sink.spanCount())
		})
	}

	// gRPC: a message over the limit, plain and compressed (a small gzip
	// payload that inflates past the limit).
	big := genAITraces(1, 7)
	big.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).Attributes().PutStr("gen_ai.prompt", strings.Repeat("a", limit))
	for _, callOpts := range [][]grpc.CallOption{nil, {grpc.UseCompressor(grpcgzip.Name)}} {
		before := r.Stats()
		_, err := traceClient.Export(context.Background(), ptraceotlp.NewExportRequestFromTraces(big), callOpts...)
		require.Error(t, err)
		assert.Equal(t, codes.ResourceExhausted, status.Code(err), "%v", err)
		// Refused by grpc-go before the handler: counted when the call
		// ends, possibly just after the client saw the error.
		require.Eventually(t, func() bool {
			after := r.Stats()
			return after.Requests == before.Requests+1 && after.Rejected == before.Rejected+1
		}, 5*time.Second, time.Millisecond, "before %+v, after %+v", before, r.Stats())
		_, err = traceClient.Export(context.Background(), ptraceotlp.NewExportRequestFromTraces(genAITraces(5, uint64(1000+good))), callOpts...)
		require.NoError(t, err)
		good++
	}
	// gRPC: bytes that are no ExportTraceServiceRequest are refused as
	// grpc-go refuses what its codec cannot decode.
	for _, body := range [][]byte{
		[]byte("\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff"),
		marshalProto(t, genAITraces(2, 1))[:50],
		append(marshalProto(t, genAITraces(2, 1)), 0x0b), // a group
	} {
		before := r.Stats()
		var out []byte
		err := cc.Invoke(context.Background(), "/opentelemetry.proto.collector.trace.v1.TraceService/Export", &body, &out, grpc.ForceCodec(rawBytesCodec{}))
		require.Error(t, err)
		assert.Equal(t, codes.Internal, status.Code(err), "%v", err)
		assert.Contains(t, status.Convert(err).Message(), "grpc: failed to unmarshal the received message")
		require.Eventually(t, func() bool {
			after := r.Stats()
			return after.Requests == before.Requests+1 && after.Rejected == before.Rejected+1
		}, 5*time.Second, time.Millisecond, "before %+v, after %+v", before, r.Stats())
	}
	assert.Equal(t, 5*good, sink.spanCount())
	assert.EqualValues(t, 5*good, r.Stats().Spans)
	if lines {
		assert.Positive(t, linesOf(r.sink), "no batch took the JSON-line path")
	}
}

// rawBytesCodec sends a *[]byte as the message, as it is.
type rawBytesCodec struct{}

func (rawBytesCodec) Marshal(v any) ([]byte, error) { return *v.(*[]byte), nil }
func (rawBytesCodec) Unmarshal(data []byte, v any) error {
	*v.(*[]byte) = append([]byte(nil), data...)
	return nil
}
func (rawBytesCodec) Name() string { return "proto" }

// TestEmptyRequests: a request without spans succeeds and reaches no sink.
func TestEmptyRequests(t *testing.T) {
	t.Parallel()
	for _, sk := range sinkKinds {
		t.Run(sk.name, func(t *testing.T) {
			t.Parallel()
			testEmptyRequests(t, sk.lines)
		})
	}
}

func testEmptyRequests(t *testing.T, lines bool) {
	sink := &memSink{}
	r := startReceiver(t, Options{}, sinkOf(sink, lines))
	url := r.Endpoint() + "/v1/traces"
	emptyResource := ptrace.NewTraces()
	emptyResource.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty()
	tests := []struct {
		name, contentType string
		body              []byte
	}{
		{"empty protobuf body", "application/x-protobuf", nil},
		{"empty JSON body", "application/json", nil},
		{"JSON {}", "application/json", []byte(`{}`)},
		{"JSON no spans", "application/json", []byte(`{"resourceSpans":[]}`)},
		{"protobuf resource without spans", "application/x-protobuf", marshalProto(t, emptyResource)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := post(t, nil, url, tc.contentType, "", bytes.NewReader(tc.body))
			require.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
			assert.Equal(t, tc.contentType, resp.Header.Get("Content-Type"))
			if tc.contentType == "application/json" {
				assert.Equal(t, `{}`, string(body))
			} else {
				assert.Empty(t, body, "partial_success must be unset")
			}
		})
	}
	_, err := ptraceotlp.NewGRPCClient(grpcConn(t, r)).Export(context.Background(), ptraceotlp.NewExportRequest())
	require.NoError(t, err)
	assert.Zero(t, sink.callCount())
	st := r.Stats()
	assert.Zero(t, st.Spans)
	assert.True(t, st.LastSpan.IsZero())
	assert.EqualValues(t, len(tests)+1, st.Requests)
	assert.Zero(t, st.Rejected)
}

// TestLogsAndMetrics: logs and metrics are answered 200 with an empty
// response in the request's encoding, and dropped.
func TestLogsAndMetrics(t *testing.T) {
	t.Parallel()
	for _, sk := range sinkKinds {
		t.Run(sk.name, func(t *testing.T) {
			t.Parallel()
			testLogsAndMetrics(t, sk.lines)
		})
	}
}

func testLogsAndMetrics(t *testing.T, lines bool) {
	sink := &memSink{}
	r := startReceiver(t, Options{}, sinkOf(sink, lines))

	ld := plog.NewLogs()
	lr := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
	lr.Body().SetStr("gen_ai.user.message")
	md := pmetric.NewMetrics()
	m := md.ResourceMetrics().AppendEmpty().ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
	m.SetName("gen_ai.client.token.usage")
	m.SetEmptySum().DataPoints().AppendEmpty().SetIntValue(42)
	logsReq := plogotlp.NewExportRequestFromLogs(ld)
	metricsReq := pmetricotlp.NewExportRequestFromMetrics(md)
	logsPB, err := logsReq.MarshalProto()
	require.NoError(t, err)
	logsJSON, err := logsReq.MarshalJSON()
	require.NoError(t, err)
	metricsPB, err := metricsReq.MarshalProto()
	require.NoError(t, err)
	metricsJSON, err := metricsReq.MarshalJSON()
	require.NoError(t, err)

	tests := []struct {
		name, path, contentType, encoding string
		body                              []byte
	}{
		{"logs protobuf", "/v1/logs", "application/x-protobuf", "", logsPB},
		{"logs json", "/v1/logs", "application/json", "", logsJSON},
		{"logs json gzip", "/v1/logs", "application/json", "gzip", gzipBytes(t, logsJSON)},
		{"metrics protobuf", "/v1/metrics", "application/x-protobuf", "", metricsPB},
		{"metrics json", "/v1/metrics", "application/json", "", metricsJSON},
		{"metrics protobuf gzip", "/v1/metrics", "application/x-protobuf", "gzip", gzipBytes(t, metricsPB)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := post(t, nil, r.Endpoint()+tc.path, tc.contentType, tc.encoding, bytes.NewReader(tc.body))
			require.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
			assert.Equal(t, tc.contentType, resp.Header.Get("Content-Type"))
			if tc.contentType == "application/json" {
				assert.JSONEq(t, `{}`, string(body))
			} else {
				assert.Empty(t, body)
			}
		})
	}
	cc := grpcConn(t, r)
	_, err = plogotlp.NewGRPCClient(cc).Export(context.Background(), logsReq)
	require.NoError(t, err)
	_, err = pmetricotlp.NewGRPCClient(cc).Export(context.Background(), metricsReq)
	require.NoError(t, err)
	assert.Zero(t, sink.callCount())
	assert.Zero(t, r.Stats().Spans)
	assert.Zero(t, r.Stats().Rejected)
}

// TestSinkError: a refused batch is a retryable error, not counted.
func TestSinkError(t *testing.T) {
	t.Parallel()
	for _, sk := range sinkKinds {
		t.Run(sk.name, func(t *testing.T) {
			t.Parallel()
			testSinkError(t, sk.lines)
		})
	}
}

func testSinkError(t *testing.T, lines bool) {
	sink := &memSink{fail: func(int) error { return errSinkFull }}
	r := startReceiver(t, Options{}, sinkOf(sink, lines))
	td := genAITraces(10, 5)

	for _, ct := range []string{"application/x-protobuf", "application/json"} {
		var body []byte
		if ct == "application/json" {
			body = marshalJSON(t, td)
		} else {
			body = marshalProto(t, td)
		}
		resp, rb := post(t, nil, r.Endpoint()+"/v1/traces", ct, "", bytes.NewReader(body))
		assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
		assert.Equal(t, "1", resp.Header.Get("Retry-After"))
		assert.Equal(t, ct, resp.Header.Get("Content-Type"))
		if ct == "application/json" {
			assert.Contains(t, string(rb), `"code":14`)
			assert.Contains(t, string(rb), errSinkFull.Error())
		} else {
			code, msg := decodeStatusProto(t, rb)
			assert.EqualValues(t, codes.Unavailable, code)
			assert.Contains(t, msg, errSinkFull.Error())
		}
	}
	_, err := ptraceotlp.NewGRPCClient(grpcConn(t, r)).Export(context.Background(), ptraceotlp.NewExportRequestFromTraces(td))
	assert.Equal(t, codes.Unavailable, status.Code(err), "%v", err)

	st := r.Stats()
	assert.Equal(t, 3, sink.callCount())
	assert.Zero(t, st.Spans)
	assert.True(t, st.LastSpan.IsZero())
	assert.EqualValues(t, 3, st.Requests)
	assert.EqualValues(t, 3, st.Rejected)
}
