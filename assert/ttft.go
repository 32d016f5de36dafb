package assert

import (
	"fmt"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"

	"github.com/llmcheck/llmcheck/span"
)

// Time to first token (issue #12): span.ttft_ms, span.streaming, the
// expect variable ttft (p50 … avg over the selected spans that report a
// time to first token), head.ttft/base.ttft in regression rules, and the
// group's TTFT in baseline summaries.

const tTTFT = "llmcheck.TTFT"

var (
	ttftT   = cel.ObjectType(tTTFT)
	ttftObj *objType
)

// TestTTFT is the regression test over times to first token (ms), per
// span that reports one.
const TestTTFT = "ttft"

func ttftField(name string, get func(l *Latency) float64) field {
	return field{name, cel.DoubleType, func(v any) ref.Val {
		lv := v.(*latencyVal)
		if lv.err != nil {
			return errVal("ttft.%s: %v", name, lv.err)
		}
		return types.Double(get(&lv.l))
	}, name + " of times to first token (ms) of the spans that report one"}
}

func initTTFT() {
	ttftObj = newObjType(tTTFT,
		ttftField("p50", func(l *Latency) float64 { return l.P50 }),
		ttftField("p90", func(l *Latency) float64 { return l.P90 }),
		ttftField("p95", func(l *Latency) float64 { return l.P95 }),
		ttftField("p99", func(l *Latency) float64 { return l.P99 }),
		ttftField("min", func(l *Latency) float64 { return l.Min }),
		ttftField("max", func(l *Latency) float64 { return l.Max }),
		ttftField("avg", func(l *Latency) float64 { return l.Avg }),
	)
}

// spanTTFTFields are the span fields of this file.
func spanTTFTFields() []field {
	return []field{
		{"ttft_ms", cel.DoubleType, func(v any) ref.Val {
			s := spanOf(v).s
			if !s.HasTTFT {
				return errVal("span %q (%s) reports no time to first token (only streamed calls do)", s.Name, s.SpanID)
			}
			return types.Double(s.TTFTMS)
		}, "time to first token of a streamed call (ms)"},
		{"streaming", cel.BoolType, func(v any) ref.Val { return types.Bool(spanOf(v).s.Streaming) }, "the call was streamed"},
	}
}

// ttftSample is the times to first token of the spans that report one.
func ttftSample(spans []*entry) []float64 {
	var out []float64
	for _, e := range spans {
		if e.s.HasTTFT {
			out = append(out, e.s.TTFTMS)
		}
	}
	return out
}

func (g *group) ttft() *latencyVal {
	if g.ttftV == nil {
		l, err := summariseOwned(ttftSample(g.spans))
		if err != nil {
			err = noTTFT(len(g.spans), "")
		}
		g.ttftV = &latencyVal{l: l, err: err}
	}
	return g.ttftV
}

func noTTFT(selected int, where string) error {
	if selected == 0 {
		return fmt.Errorf("no spans selected%s", where)
	}
	return fmt.Errorf("none of the %d selected spans%s reports a time to first token (only streamed calls do)", selected, where)
}

func (sd *summarySide) ttft() *latencyVal {
	var all []float64
	n := 0
	for _, g := range sd.groups {
		n += g.Count
		if g.TTFT == nil {
			continue
		}
		if len(sd.groups) == 1 {
			return &latencyVal{l: *g.TTFT}
		}
		if len(g.Samples.TTFT) != g.TTFT.N {
			return &latencyVal{err: fmt.Errorf("the baseline summary keeps a bounded sample of group %q (%d times to first token): percentiles over several groups need the baseline trace file", g.Key, g.TTFT.N)}
		}
		all = append(all, g.Samples.TTFT...)
	}
	l, err := summariseOwned(all)
	if err != nil {
		return &latencyVal{err: noTTFT(n, " in the baseline")}
	}
	return &latencyVal{l: l}
}

// ttftOf fills the TTFT statistics of a summary group.
func (s *Summary) ttftOf(g *group) {
	if lv := g.ttft(); lv.err == nil {
		l := lv.l
		s.TTFT = &l
		s.Samples.TTFT = bound(ttftSample(g.spans))
	}
}

// startTTFT is the times to first token of the spans that report one, for
// StarterFrom.
func startTTFT(spans []*span.Span) []float64 {
	var out []float64
	for _, s := range spans {
		if s.HasTTFT {
			out = append(out, s.TTFTMS)
		}
	}
	return out
}
