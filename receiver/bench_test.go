package receiver

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/llmcheck/llmcheck/replay"
)

// countSink counts spans and drops them.
type countSink struct{ spans atomic.Int64 }

func (s *countSink) ConsumeTraces(_ context.Context, td ptrace.Traces) error {
	s.spans.Add(int64(td.SpanCount()))
	return nil
}

// BenchmarkIngest measures end-to-end ingestion over loopback: a client
// sends batches of 512 GenAI spans (about ten attributes each) and waits for
// the answer. The -parallel variants run GOMAXPROCS clients at once.
//
//	go test ./receiver -run '^$' -bench Ingest -benchtime 2s
func BenchmarkIngest(b *testing.B) {
	const batch = 512
	td := genAITraces(batch, 42)
	pb := marshalProto(b, td)
	js := marshalJSON(b, td)

	send := map[string]func(b *testing.B, r *Receiver) func() error{
		"grpc": func(b *testing.B, r *Receiver) func() error {
			client := ptraceotlp.NewGRPCClient(grpcConn(b, r))
			req := ptraceotlp.NewExportRequestFromTraces(td)
			return func() error {
				_, err := client.Export(context.Background(), req)
				return err
			}
		},
		"http-protobuf": httpSender(pb, "application/x-protobuf"),
		"http-json":     httpSender(js, "application/json"),
	}
	for _, name := range []string{"grpc", "http-protobuf", "http-json"} {
		for _, parallel := range []bool{false, true} {
			bname := name
			if parallel {
				bname += "-parallel"
			}
			b.Run(bname, func(b *testing.B) {
				sink := &countSink{}
				r := startReceiver(b, Options{}, sink)
				if name == "http-json" {
					b.SetBytes(int64(len(js)))
				} else {
					b.SetBytes(int64(len(pb)))
				}
				b.ReportAllocs()
				if parallel {
					b.RunParallel(func(pb *testing.PB) {
						do := send[name](b, r)
						for pb.Next() {
							if err := do(); err != nil {
								b.Error(err)
								return
							}
						}
					})
				} else {
					do := send[name](b, r)
					for b.Loop() {
						if err := do(); err != nil {
							b.Fatal(err)
						}
					}
				}
				b.ReportMetric(float64(sink.spans.Load())/b.Elapsed().Seconds(), "spans/s")
				if got := r.Stats().Spans; got != sink.spans.Load() {
					b.Fatalf("Stats.Spans %d != sink %d", got, sink.spans.Load())
				}
			})
		}
	}
}

func httpSender(body []byte, contentType string) func(b *testing.B, r *Receiver) func() error {
	return func(b *testing.B, r *Receiver) func() error {
		client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
		b.Cleanup(client.CloseIdleConnections)
		url := r.Endpoint() + "/v1/traces"
		return func() error {
			resp, err := client.Post(url, contentType, bytes.NewReader(body))
			if err != nil {
				return err
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				return &httpStatusError{resp.StatusCode}
			}
			return nil
		}
	}
}

type httpStatusError struct{ code int }

func (e *httpStatusError) Error() string { return http.StatusText(e.code) }

// BenchmarkIngestToFile is BenchmarkIngest's parallel cases with the sink
// `llmcheck record` uses: a replay.Writer appending OTLP JSON lines to a
// file (decode, re-encode as JSON, write(2)), so that the receiver's
// capacity is measured without an SDK client competing for the CPU.
//
// The -pdata variants hide the Writer's JSONSink method: requests are
// decoded into pdata and re-encoded (the path before transcoding, and the
// path --redact takes).
func BenchmarkIngestToFile(b *testing.B) {
	const batch = 512
	td := genAITraces(batch, 42)
	pb := marshalProto(b, td)
	for _, bname := range []string{"grpc", "http-protobuf", "grpc-pdata", "http-protobuf-pdata"} {
		name, viaPdata := strings.CutSuffix(bname, "-pdata")
		b.Run(bname, func(b *testing.B) {
			w, err := replay.Create(filepath.Join(b.TempDir(), "traces.jsonl"))
			if err != nil {
				b.Fatal(err)
			}
			defer w.Close()
			var sink Sink = w
			if viaPdata {
				sink = pdataSink{w}
			}
			r := startReceiver(b, Options{}, sink)
			b.SetBytes(int64(len(pb)))
			b.ReportAllocs()
			b.RunParallel(func(p *testing.PB) {
				var do func() error
				if name == "grpc" {
					client := ptraceotlp.NewGRPCClient(grpcConn(b, r))
					req := ptraceotlp.NewExportRequestFromTraces(td)
					do = func() error {
						_, err := client.Export(context.Background(), req)
						return err
					}
				} else {
					do = httpSender(pb, "application/x-protobuf")(b, r)
				}
				for p.Next() {
					if err := do(); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(w.Spans())/b.Elapsed().Seconds(), "spans/s")
		})
	}
}

// pdataSink hides a sink's JSONSink method.
type pdataSink struct{ Sink }

var _ JSONSink = (*replay.Writer)(nil)

// BenchmarkTranscode compares, per batch of 512 GenAI spans (about ten
// attributes each), the transcoder with what it replaces: pdata's protobuf
// decoding followed by pdata's JSON encoding.
//
//	go test ./receiver -run '^$' -bench Transcode -benchmem
func BenchmarkTranscode(b *testing.B) {
	const batch = 512
	req := marshalProto(b, genAITraces(batch, 42))
	b.Run("transcode", func(b *testing.B) {
		b.SetBytes(int64(len(req)))
		b.ReportAllocs()
		var out []byte
		for b.Loop() {
			var err error
			out, _, err = appendTracesJSON(out[:0], req)
			if err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)*batch/b.Elapsed().Seconds(), "spans/s")
	})
	b.Run("pdata", func(b *testing.B) {
		b.SetBytes(int64(len(req)))
		b.ReportAllocs()
		for b.Loop() {
			var u ptrace.ProtoUnmarshaler
			td, err := u.UnmarshalTraces(req)
			if err != nil {
				b.Fatal(err)
			}
			var m ptrace.JSONMarshaler
			if _, err := m.MarshalTraces(td); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)*batch/b.Elapsed().Seconds(), "spans/s")
	})
}
