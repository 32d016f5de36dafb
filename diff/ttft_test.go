package diff

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/llmcheck/llmcheck/span"
)

// streamed is n traces of one streamed chat call each: durations around
// 1 s, times to first token around ttft ms (none when ttft is 0).
func streamed(seed uint64, n int, ttft float64) *span.Run {
	r := rand.New(rand.NewPCG(seed, 3))
	spans := make([]span.Span, n)
	for i := range spans {
		d := 1000 * (0.8 + 0.4*r.Float64())
		start := uint64(i) * 1e9
		spans[i] = span.Span{TraceID: fmt.Sprintf("%032x", i+1), SpanID: fmt.Sprintf("%016x", i+1), Name: "chat gpt-4o", Service: "app",
			Operation: "chat", Model: "gpt-4o", StartUnixNano: start, EndUnixNano: start + uint64(d*1e6), DurationMS: d}
		if ttft > 0 {
			spans[i].TTFTMS = ttft * (0.8 + 0.4*r.Float64())
			spans[i].HasTTFT, spans[i].Streaming = true, true
		}
	}
	return span.NewRun(spans)
}

// TestTTFTGroups: a time to first token row per group, tested like
// latency (Mann-Whitney U per span, Holm-corrected), from a trace file or
// a baseline summary alike.
func TestTTFTGroups(t *testing.T) {
	const key = "app · chat · gpt-4o"
	for _, tc := range []struct {
		name        string
		base, head  *span.Run
		rows        bool
		significant bool
	}{
		{"first token +50 %", streamed(1, 40, 200), streamed(2, 40, 300), true, true},
		{"noise", streamed(3, 40, 200), streamed(4, 40, 200), true, false},
		{"base not streamed", streamed(1, 40, 0), streamed(2, 40, 300), false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, r := range []*Report{Compare(tc.base, tc.head, Options{}), CompareSummary(summarise(tc.base, Options{}), tc.head, Options{})} {
				g := find(t, r, key)
				p50, p95 := g.Metric(MetricTTFTP50), g.Metric(MetricTTFTP95)
				if !tc.rows {
					assert.Nil(t, p95, "no TTFT row when a side has none: an absent time to first token is not 0 ms")
					assert.Nil(t, g.Base.TTFT)
					continue
				}
				require.NotNil(t, p95)
				require.NotNil(t, p50)
				assert.Equal(t, "ms", p95.Unit)
				assert.Same(t, p50.Test, p95.Test, "p50 and p95 share the TTFT test")
				assert.Equal(t, SampleTTFT, p95.Test.Sample)
				assert.Equal(t, 40, p95.Test.Verdict.N1)
				assert.Equal(t, tc.significant, p95.Test.Significant, "p=%g", p95.Test.PAdjusted)
				assert.False(t, g.Metric(MetricLatencyP95).Test.Significant, "durations did not change")
				var buf bytes.Buffer
				r.Text(&buf)
				assert.Contains(t, buf.String(), "TTFT p95")
			}
		})
	}
}
