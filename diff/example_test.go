package diff_test

import (
	"fmt"
	"os"

	"github.com/llmcheck/llmcheck/diff"
	"github.com/llmcheck/llmcheck/span"
)

// Two runs of one test: the answer moved from gpt-4o to gpt-4o-mini and
// the retrieval now runs twice.
func ExampleCompare() {
	trace := func(id, model string, retrievals int) []span.Span {
		at := uint64(0)
		next := func(op, model string, ms float64) span.Span {
			s := span.Span{TraceID: id, SpanID: fmt.Sprint(at + 2), ParentSpanID: "1", Service: "ragdemo",
				Name: op, Operation: op, Model: model, StartUnixNano: at * 1e9, EndUnixNano: at*1e9 + uint64(ms*1e6), DurationMS: ms}
			at++
			return s
		}
		spans := []span.Span{{TraceID: id, SpanID: "1", Name: "rag.answer", Service: "ragdemo",
			EndUnixNano: 5e9, DurationMS: 5000, Attrs: span.AttrsOf(map[string]any{"test.name": "TestRefund"})}}
		for range retrievals {
			spans = append(spans, next("retrieval", "", 20))
		}
		return append(spans, next("chat", model, 900))
	}
	base := span.NewRun(trace("a", "gpt-4o", 1))
	head := span.NewRun(trace("b", "gpt-4o-mini", 2))

	r := diff.Compare(base, head, diff.Options{})
	for _, h := range r.Headlines {
		fmt.Println(h.Kind+":", h.Text)
	}
	v := diff.Significance([]float64{1, 2, 3, 4, 5, 6}, []float64{7, 8, 9, 10, 11, 12}, 0.05, 6)
	fmt.Printf("p=%.4f significant=%v\n", v.P, v.Significant)
	r.Text(os.Stdout)
	// Output:
	// model_swap: chat model gpt-4o → gpt-4o-mini in 1 of 1 matched tests
	// calls: retrievals per trace 1 → 2 in 1 of 1 matched tests
	// p=0.0022 significant=true
	// base: 3 spans in 1 trace · head: 4 spans in 1 trace
	// Mann-Whitney U test per sample, α=0.05, no comparison with enough samples; ~ no significant change, or fewer than 6 samples a side
	//
	// Headlines:
	//   • chat model gpt-4o → gpt-4o-mini in 1 of 1 matched tests
	//   • retrievals per trace 1 → 2 in 1 of 1 matched tests
	//
	// group / metric   base   head  vs base
	// ragdemo · retrieval
	//   count             1      2  (+100 %)
	//   latency p50   20 ms  20 ms  ~         too few samples (n=1+2, need 6)
	//   latency p95   20 ms  20 ms  ~
	//   latency p99   20 ms  20 ms  ~
	// ragdemo · rag.answer
	//   count             1      1
	//   latency p50     5 s    5 s  ~         too few samples (n=1, need 6)
	//   latency p95     5 s    5 s  ~
	//   latency p99     5 s    5 s  ~
	//
	// Only in head:
	//   ragdemo · chat · gpt-4o-mini  1 span  p50 900 ms  p95 900 ms
	//
	// Only in base:
	//   ragdemo · chat · gpt-4o  1 span  p50 900 ms  p95 900 ms
	//
	// Structure: 1 test matched, 1 changed; 0 only in base, 0 only in head
	//   • chat model gpt-4o → gpt-4o-mini in 1 of 1 matched tests (e.g. TestRefund)
	//   • retrievals per trace 1 → 2 in 1 of 1 matched tests (e.g. TestRefund)
}
