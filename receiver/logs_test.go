package receiver

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlplog/otlploggrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlplog/otlploghttp"
	otellog "go.opentelemetry.io/otel/log"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/llmcheck/llmcheck/replay"
	"github.com/llmcheck/llmcheck/span"
)

// The ids the judge's evaluation results name: the evaluated span's
// context, as an evaluator running inside the traced operation has it.
var (
	evalTraceID = trace.TraceID{0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36}
	evalSpanID  = trace.SpanID{0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7}
)

// emitEvaluations is a judge instrumented with the OpenTelemetry Go logs
// SDK: three gen_ai.evaluation.result events linked to the evaluated span,
// one linked only to its trace with a label and no score, and one
// ordinary log line. It flushes before returning.
func emitEvaluations(t *testing.T, exp sdklog.Exporter) {
	t.Helper()
	ctx := context.Background()
	lp := sdklog.NewLoggerProvider(sdklog.WithProcessor(sdklog.NewBatchProcessor(exp)))
	logger := lp.Logger("judge")
	spanCtx := trace.ContextWithSpanContext(ctx, trace.NewSpanContext(trace.SpanContextConfig{TraceID: evalTraceID, SpanID: evalSpanID, TraceFlags: trace.FlagsSampled}))
	traceOnly := trace.ContextWithSpanContext(ctx, trace.NewSpanContext(trace.SpanContextConfig{TraceID: evalTraceID, TraceFlags: trace.FlagsSampled}))
	at := time.Unix(1_700_000_000, 0)
	for i, e := range []struct {
		name, label string
		score       float64
	}{{"relevance", "relevant", 0.25}, {"faithfulness", "faithful", 0.5}, {"correctness", "correct", 1}} {
		var r otellog.Record
		r.SetEventName(span.EvalEventName)
		r.SetTimestamp(at.Add(time.Duration(i) * time.Second))
		r.SetBody(attribute.StringValue("judge prompt for " + e.name))
		r.AddAttributes(
			attribute.String("gen_ai.evaluation.name", e.name),
			attribute.Float64("gen_ai.evaluation.score.value", e.score),
			attribute.String("gen_ai.evaluation.score.label", e.label),
			attribute.String("gen_ai.evaluation.explanation", "because "+e.name),
		)
		logger.Emit(spanCtx, r)
	}
	var r otellog.Record
	r.SetEventName(span.EvalEventName)
	r.SetTimestamp(at.Add(10 * time.Second))
	r.AddAttributes(attribute.String("gen_ai.evaluation.name", "task_success"), attribute.String("gen_ai.evaluation.score.label", "pass"))
	logger.Emit(traceOnly, r)
	var plain otellog.Record
	plain.SetBody(attribute.StringValue("an ordinary log line"))
	logger.Emit(ctx, plain)
	require.NoError(t, lp.Shutdown(ctx))
}

// Evaluation results sent by the Go logs SDK over gRPC and HTTP (with and
// without gzip) are written to the logs file before they are
// acknowledged, and read back as exactly the results sent.
func TestLogsFromGoSDK(t *testing.T) {
	for _, tc := range []struct {
		name string
		exp  func(ctx context.Context, endpoint string) (sdklog.Exporter, error)
	}{
		{"grpc", func(ctx context.Context, ep string) (sdklog.Exporter, error) {
			return otlploggrpc.New(ctx, otlploggrpc.WithEndpoint(ep), otlploggrpc.WithInsecure())
		}},
		{"grpc gzip", func(ctx context.Context, ep string) (sdklog.Exporter, error) {
			return otlploggrpc.New(ctx, otlploggrpc.WithEndpoint(ep), otlploggrpc.WithInsecure(), otlploggrpc.WithCompressor("gzip"))
		}},
		{"http/protobuf", func(ctx context.Context, ep string) (sdklog.Exporter, error) {
			return otlploghttp.New(ctx, otlploghttp.WithEndpoint(ep), otlploghttp.WithInsecure())
		}},
		{"http/protobuf gzip", func(ctx context.Context, ep string) (sdklog.Exporter, error) {
			return otlploghttp.New(ctx, otlploghttp.WithEndpoint(ep), otlploghttp.WithInsecure(), otlploghttp.WithCompression(otlploghttp.GzipCompression))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "logs.jsonl")
			lw, err := replay.CreateLogs(path)
			require.NoError(t, err)
			traces := &memSink{}
			r := startReceiver(t, Options{Logs: lw}, traces)
			exp, err := tc.exp(context.Background(), r.Addrs()[0].String())
			require.NoError(t, err)
			emitEvaluations(t, exp)

			st := r.Stats()
			assert.Equal(t, int64(5), st.LogRecords, "log records acknowledged")
			assert.Equal(t, int64(0), st.Rejected)
			assert.Zero(t, traces.callCount(), "logs never reach the trace sink")
			assert.Equal(t, int64(5), lw.Records(), "written before acknowledged")
			require.NoError(t, lw.Close())
			assert.True(t, replay.IsLogsFile(path))

			var recs []span.RecordEval
			var warns []string
			bodies := 0
			require.NoError(t, replay.ReadLogs([]string{path}, replay.ReadOptions{Warn: func(m string) { warns = append(warns, m) }}, func(ld plog.Logs, where string) error {
				recs = span.EvalsFromLogs(recs, ld, where, func(m string) { warns = append(warns, m) })
				bodies += countBodies(ld)
				return nil
			}))
			assert.Empty(t, warns)
			assert.Equal(t, 4, bodies, "bodies are kept (only --redact removes them)")
			tid, sid := hex.EncodeToString(evalTraceID[:]), hex.EncodeToString(evalSpanID[:])
			at := uint64(1_700_000_000) * 1e9
			where := recs[0].Where
			assert.Equal(t, []span.RecordEval{
				{TraceID: tid, SpanID: sid, Where: where, Eval: span.Eval{Name: "relevance", Score: 0.25, HasScore: true, Label: "relevant", Explanation: "because relevance", Source: "log", TimeUnixNano: at}},
				{TraceID: tid, SpanID: sid, Where: where, Eval: span.Eval{Name: "faithfulness", Score: 0.5, HasScore: true, Label: "faithful", Explanation: "because faithfulness", Source: "log", TimeUnixNano: at + 1e9}},
				{TraceID: tid, SpanID: sid, Where: where, Eval: span.Eval{Name: "correctness", Score: 1, HasScore: true, Label: "correct", Explanation: "because correctness", Source: "log", TimeUnixNano: at + 2e9}},
				{TraceID: tid, Where: where, Eval: span.Eval{Name: "task_success", Label: "pass", Source: "log", TimeUnixNano: at + 10e9}},
			}, recs)
		})
	}
}

func countBodies(ld plog.Logs) int {
	n := 0
	rls := ld.ResourceLogs()
	for i := 0; i < rls.Len(); i++ {
		sls := rls.At(i).ScopeLogs()
		for j := 0; j < sls.Len(); j++ {
			lrs := sls.At(j).LogRecords()
			for k := 0; k < lrs.Len(); k++ {
				if lrs.At(k).Body().AsString() != "" {
					n++
				}
			}
		}
	}
	return n
}

// OTLP/HTTP JSON logs requests are stored too; a body that does not decode
// is 400, and without Options.Logs logs are acknowledged and dropped.
func TestLogsHTTPJSON(t *testing.T) {
	ld := plog.NewLogs()
	lr := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
	lr.SetEventName(span.EvalEventName)
	lr.SetTraceID([16]byte{1})
	lr.Attributes().PutStr("gen_ai.evaluation.name", "relevance")
	lr.Attributes().PutDouble("gen_ai.evaluation.score.value", 0.5)
	body, err := plogotlp.NewExportRequestFromLogs(ld).MarshalJSON()
	require.NoError(t, err)

	path := filepath.Join(t.TempDir(), "logs.jsonl")
	lw, err := replay.CreateLogs(path)
	require.NoError(t, err)
	r := startReceiver(t, Options{Logs: lw}, &memSink{})
	resp, _ := post(t, http.DefaultClient, r.Endpoint()+"/v1/logs", "application/json", "", bytes.NewReader(body))
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	resp, msg := post(t, http.DefaultClient, r.Endpoint()+"/v1/logs", "application/json", "", bytes.NewReader([]byte(`{"resourceLogs":[{"scopeLogs":3}]}`)))
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
	assert.Contains(t, string(msg), "ExportLogsServiceRequest")
	assert.Equal(t, int64(1), r.Stats().LogRecords)
	assert.Equal(t, int64(1), lw.Records())

	dropped := startReceiver(t, Options{}, &memSink{})
	resp, _ = post(t, http.DefaultClient, dropped.Endpoint()+"/v1/logs", "application/json", "", bytes.NewReader(body))
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, int64(0), dropped.Stats().LogRecords)
}

// refusingLogs is a LogSink that refuses every batch with err.
type refusingLogs struct{ err error }

func (r refusingLogs) ConsumeLogs(context.Context, plog.Logs) error { return r.err }

// A LogSink that cannot store a batch gets it retried (HTTP 503 with
// Retry-After, gRPC UNAVAILABLE); a permanent refusal (--max-spans) is
// HTTP 400 and gRPC FAILED_PRECONDITION, which exporters do not retry.
// Nothing refused is counted as received.
func TestLogsRefused(t *testing.T) {
	ld := plog.NewLogs()
	ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty().Body().SetStr("x")
	req := plogotlp.NewExportRequestFromLogs(ld)
	body, err := req.MarshalProto()
	require.NoError(t, err)
	for _, tc := range []struct {
		name     string
		err      error
		httpCode int
		grpcCode codes.Code
	}{
		{"retryable", errors.New("disk full"), http.StatusServiceUnavailable, codes.Unavailable},
		{"permanent", &PermanentError{Err: errors.New("the run reached --max-spans 1 log records")}, http.StatusBadRequest, codes.FailedPrecondition},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := startReceiver(t, Options{Logs: refusingLogs{tc.err}}, &memSink{})
			resp, msg := post(t, http.DefaultClient, r.Endpoint()+"/v1/logs", "application/x-protobuf", "", bytes.NewReader(body))
			assert.Equal(t, tc.httpCode, resp.StatusCode)
			_, text := decodeStatusProto(t, msg)
			assert.Contains(t, text, "log records not stored: "+tc.err.Error())
			if tc.httpCode == http.StatusServiceUnavailable {
				assert.Equal(t, "1", resp.Header.Get("Retry-After"))
			}
			_, err := plogotlp.NewGRPCClient(grpcConn(t, r)).Export(context.Background(), req)
			assert.Equal(t, tc.grpcCode, status.Code(err), "%v", err)
			assert.Equal(t, int64(0), r.Stats().LogRecords)
		})
	}
}

// A logs request holds at most MaxRequestBytes/64 log records, counted
// before it is decoded: an empty record is 2 bytes of JSON or protobuf and
// about 100 once decoded, so 75 MB of them took a record process to 4 GB.
// Over it is HTTP 413 and gRPC RESOURCE_EXHAUSTED, whatever the encoding.
func TestLogsRecordBomb(t *testing.T) {
	const maxBytes = 64 << 10 // 1024 records
	logs := func(n int) *plogotlp.ExportRequest {
		ld := plog.NewLogs()
		lrs := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
		for range n {
			lrs.AppendEmpty()
		}
		req := plogotlp.NewExportRequestFromLogs(ld)
		return &req
	}
	for _, tc := range []struct {
		records  int
		httpCode int
		grpcCode codes.Code
	}{
		{1024, http.StatusOK, codes.OK},
		{1025, http.StatusRequestEntityTooLarge, codes.ResourceExhausted},
	} {
		req := logs(tc.records)
		js, err := req.MarshalJSON()
		require.NoError(t, err)
		pb, err := req.MarshalProto()
		require.NoError(t, err)
		lw, err := replay.CreateLogs(filepath.Join(t.TempDir(), "logs.jsonl"))
		require.NoError(t, err)
		r := startReceiver(t, Options{Logs: lw, MaxRequestBytes: maxBytes}, &memSink{})
		for _, body := range []struct {
			ct   string
			data []byte
		}{{"application/json", js}, {"application/x-protobuf", pb}} {
			resp, msg := post(t, http.DefaultClient, r.Endpoint()+"/v1/logs", body.ct, "", bytes.NewReader(body.data))
			assert.Equal(t, tc.httpCode, resp.StatusCode, "%d records, %s", tc.records, body.ct)
			if tc.httpCode != http.StatusOK {
				assert.Contains(t, string(msg), "more than 1024 log records in one request")
			}
		}
		_, err = plogotlp.NewGRPCClient(grpcConn(t, r)).Export(context.Background(), *req)
		assert.Equal(t, tc.grpcCode, status.Code(err), "%v", err)
		if tc.httpCode == http.StatusOK {
			assert.Equal(t, int64(3*tc.records), r.Stats().LogRecords)
		} else {
			assert.Equal(t, int64(0), r.Stats().LogRecords)
		}
	}
}
