package tracestore

import (
	"testing"

	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/llmcheck/llmcheck/internal/benchdata"
)

// BenchmarkAnswer is the client side of one search answer of 1000 traces
// (4000 spans, as tools/jaeger/fetchbench.sh's --page-size 1000): decode
// the {"result": …} answer, split it by trace, apply the query and encode
// each trace as its line of the trace file.
func BenchmarkAnswer(b *testing.B) {
	td := ptrace.NewTraces()
	for start := 0; start < 4000; start += benchdata.PerBatch {
		benchdata.Batch(start, 4000).ResourceSpans().MoveAndAppendTo(td.ResourceSpans())
	}
	var m ptrace.JSONMarshaler
	js, err := m.MarshalTraces(td)
	if err != nil {
		b.Fatal(err)
	}
	body := append(append([]byte(`{"result":`), js...), '}')
	q := Query{Attrs: map[string]string{"gen_ai.operation.name": "chat"}}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		tds, err := decode("bench", body)
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		for _, td := range tds {
			for _, t := range byTrace(td) {
				if !matches(t, q) {
					b.Fatal("no match")
				}
				if _, err := m.MarshalTraces(t); err != nil {
					b.Fatal(err)
				}
				n++
			}
		}
		if n != 1000 {
			b.Fatalf("%d traces", n)
		}
	}
	b.ReportMetric(float64(4000*b.N)/b.Elapsed().Seconds(), "spans/s")
}
