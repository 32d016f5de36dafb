package assert

import (
	"strings"
	"testing"
)

// BenchmarkRegressions evaluates five regression rules over two runs of
// 80,000 spans (20,000 traces of three gpt-4o-mini calls and one gpt-4o
// call), with the significance tests every rule makes (tested) and
// without them (require_significance: false): the difference is what the
// tests cost.
func BenchmarkRegressions(b *testing.B) {
	const rules = `regressions:
  - name: gpt-4o p95
    where: span.model == "gpt-4o"
    expect: head.latency.p95 <= base.latency.p95 * 1.10
  - name: gpt-4o-mini p95
    where: span.model == "gpt-4o-mini"
    expect: head.latency.p95 <= base.latency.p95 * 1.10
  - name: tokens
    expect: double(head.tokens.total) <= double(base.tokens.total) * 1.10
  - name: cost
    expect: head.cost <= base.cost * 1.10
  - name: calls
    expect: head.count <= base.count
`
	base, head := multiRun(1, 20_000, 3, 1, 1500), multiRun(2, 20_000, 3, 1, 1600)
	for _, bc := range []struct{ name, yaml string }{
		{"tested", rules},
		{"untested", strings.ReplaceAll(rules, "\n    expect:", "\n    require_significance: false\n    expect:")},
	} {
		s, err := LoadBytes("llmcheck.yaml", []byte("pricing:\n  gpt-4o: {input: 2.5, output: 10}\n  gpt-4o-mini: {input: 0.15, output: 0.6}\n"+bc.yaml))
		if err != nil {
			b.Fatal(err)
		}
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				s.EvaluateRegressions(base, head, mannWhitney)
			}
		})
	}
}

// BenchmarkWhereModel selects the same 60,000 of 80,000 spans, half of
// them a dated snapshot, by model names and by model family (what `init
// --from` writes): the family is derived per span, in the Go form of the
// predicate.
func BenchmarkWhereModel(b *testing.B) {
	run := multiRun(1, 20_000, 3, 1, 1500)
	for i := range run.Spans {
		if i%2 == 0 && run.Spans[i].Model == "gpt-4o-mini" {
			run.Spans[i].Model = "gpt-4o-mini-2024-07-18"
		}
	}
	for _, where := range []string{`span.model in ["gpt-4o-mini", "gpt-4o-mini-2024-07-18"]`, `span.model_family == "gpt-4o-mini"`} {
		s, err := LoadBytes("llmcheck.yaml", []byte("assertions:\n  - name: x\n    where: '"+where+"'\n    expect: count > 0\n"))
		if err != nil {
			b.Fatal(err)
		}
		b.Run(strings.Fields(where)[0], func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if r := s.Evaluate(run); r.Assertions[0].Status != Pass || r.Assertions[0].Spans != 60_000 {
					b.Fatal(r.Assertions[0].Spans, r.Assertions[0].Message)
				}
			}
		})
	}
}
