package replay

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"go.opentelemetry.io/collector/pdata/ptrace"
)

const benchSpansPerBatch = 100

// BenchmarkWrite measures Writer.ConsumeTraces on batches of 100 GenAI chat
// spans (about ten attributes each), as a receiver records them.
func BenchmarkWrite(b *testing.B) {
	w, err := Create(filepath.Join(b.TempDir(), "traces.jsonl"))
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	batches := make([]ptrace.Traces, 64)
	for i := range batches {
		batches[i] = genAITraces(i, benchSpansPerBatch)
	}
	var m ptrace.JSONMarshaler
	line, _ := m.MarshalTraces(batches[0])
	b.SetBytes(int64(len(line) + 1))
	ctx := context.Background()
	b.ResetTimer()
	n := 0
	for b.Loop() {
		if err := w.ConsumeTraces(ctx, batches[n%len(batches)]); err != nil {
			b.Fatal(err)
		}
		n++
	}
	b.ReportMetric(float64(n*benchSpansPerBatch)/b.Elapsed().Seconds(), "spans/s")
}

// BenchmarkRead measures Read over a JSON lines file of 200 batches of 100
// GenAI chat spans.
func BenchmarkRead(b *testing.B) {
	const nBatches = 200
	path := filepath.Join(b.TempDir(), "traces.jsonl")
	w, err := Create(path)
	if err != nil {
		b.Fatal(err)
	}
	for i := range nBatches {
		if err := w.ConsumeTraces(context.Background(), genAITraces(i, benchSpansPerBatch)); err != nil {
			b.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
	info, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(info.Size())
	b.ResetTimer()
	n := 0
	for b.Loop() {
		spans := 0
		err := Read([]string{path}, ReadOptions{}, func(td ptrace.Traces) error {
			spans += td.SpanCount()
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
		if spans != nBatches*benchSpansPerBatch {
			b.Fatalf("read %d spans", spans)
		}
		n += spans
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "spans/s")
}

// BenchmarkLoadSpans measures LoadSpans (parallel decode straight into
// spans) over the same file as BenchmarkRead; compare with BenchmarkRead,
// which only decodes to pdata.
func BenchmarkLoadSpans(b *testing.B) {
	const nBatches = 200
	path := filepath.Join(b.TempDir(), "traces.jsonl")
	w, err := Create(path)
	if err != nil {
		b.Fatal(err)
	}
	for i := range nBatches {
		if err := w.ConsumeTraces(context.Background(), genAITraces(i, benchSpansPerBatch)); err != nil {
			b.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
	info, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(info.Size())
	n := 0
	for b.Loop() {
		spans, err := LoadSpans([]string{path}, ReadOptions{})
		if err != nil {
			b.Fatal(err)
		}
		if len(spans) != nBatches*benchSpansPerBatch {
			b.Fatalf("read %d spans", len(spans))
		}
		n += len(spans)
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "spans/s")
}
