package report

import (
	"github.com/llmcheck/llmcheck/span"
)

// GroupDetail is GroupStats plus what the Markdown report adds per
// operation and model: the cost and the latencies themselves.
type GroupDetail struct {
	GroupStats
	// Cost is the USD total over the spans that could be priced; Priced
	// counts them (0 means the cost is unknown, not zero).
	Cost   float64
	Priced int
	// Durations are the span latencies in ms, in run order.
	Durations []float64
}

// GroupDetails summarises a run per operation and model, in the order of
// Groups. cost prices one span (false when it cannot be priced); nil
// prices only the spans that report their own cost (llm.cost.total).
func GroupDetails(run *span.Run, cost func(*span.Span) (float64, bool)) []GroupDetail {
	if cost == nil {
		cost = ReportedCost
	}
	groups := Groups(run)
	type key struct{ op, model string }
	idx := make(map[key]int, len(groups))
	out := make([]GroupDetail, len(groups))
	for i, g := range groups {
		out[i].GroupStats = g
		idx[key{g.Operation, g.Model}] = i
	}
	for _, s := range run.Spans {
		op := s.Operation
		if op == "" {
			op = "(other)"
		}
		i, ok := idx[key{op, s.Model}]
		if !ok {
			continue
		}
		d := &out[i]
		d.Durations = append(d.Durations, s.DurationMS)
		if usd, ok := cost(s); ok {
			d.Cost += usd
			d.Priced++
		}
	}
	return out
}

// ReportedCost is the cost a span reports itself (llm.cost.total), if any.
func ReportedCost(s *span.Span) (float64, bool) { return s.Cost, s.HasCost }
