package diff

import (
	"testing"
)

// BenchmarkCompare compares two runs of 100,000 spans (20,000 traces of
// root → chat → embeddings → retrieval → chat), with a latency, token and
// structural change, and renders the three reports.
func BenchmarkCompare(b *testing.B) {
	base := scenario{seed: 1, tests: 20_000}.run()
	head := scenario{seed: 2, tests: 20_000, answerLatency: 1.1, answerTokens: 1.2, extraCall: true}.run()
	if len(base.Spans) != 100_000 {
		b.Fatalf("base has %d spans", len(base.Spans))
	}
	opts := Options{Pricing: testPricing}
	b.Run("compare", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			Compare(base, head, opts)
		}
	})
	r := Compare(base, head, opts)
	b.Run("markdown", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			r.Markdown(MaxCommentBytes)
		}
	})
}
