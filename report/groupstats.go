package report

import (
	"sort"

	"github.com/llmcheck/llmcheck/assert"
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
	// TTFTs are the times to first token (ms) of the group's spans that
	// report one (streamed calls), in run order; TTFTP50 and TTFTP95 their
	// percentiles when there are any.
	TTFTs            []float64
	TTFTP50, TTFTP95 float64
}

// GroupDetails summarises a run per operation and model, in the order of
// Groups. cost prices one span (false when it cannot be priced); nil
// prices only the spans that report their own cost (llm.cost.total).
func GroupDetails(run *span.Run, cost func(*span.Span) (float64, bool)) []GroupDetail {
	if cost == nil {
		cost = ReportedCost
	}
	return groupDetails(run, cost)
}

// groupDetails is Groups and GroupDetails in one pass over the spans; a
// nil cost leaves Cost and Priced zero.
func groupDetails(run *span.Run, cost func(*span.Span) (float64, bool)) []GroupDetail {
	type key struct{ op, model string }
	idx := map[key]int{}
	var out []GroupDetail
	// A run has few groups and their spans interleave (root, embeddings,
	// retrieval, chat, root, …): look the group up among the first few by
	// comparing (interned) strings before hashing.
	const scan = 16
	for _, s := range run.Spans {
		op := s.Operation
		if op == "" {
			op = "(other)"
		}
		i := -1
		for j := 0; j < len(out) && j < scan; j++ {
			if out[j].Operation == op && out[j].Model == s.Model {
				i = j
				break
			}
		}
		if i < 0 {
			k := key{op, s.Model}
			var ok bool
			if i, ok = idx[k]; !ok {
				i = len(out)
				idx[k] = i
				out = append(out, GroupDetail{GroupStats: GroupStats{Operation: op, Model: s.Model}})
			}
		}
		g := &out[i]
		g.Spans++
		if s.IsError() {
			g.Errors++
		}
		if s.CountsUsage() { // else a descendant reports this usage
			g.InputTokens += s.Tokens.Input
			g.OutputTokens += s.Tokens.Output
		}
		g.Durations = append(g.Durations, s.DurationMS)
		if s.HasTTFT {
			g.TTFTs = append(g.TTFTs, s.TTFTMS)
		}
		if cost != nil && s.CountsUsage() {
			if usd, ok := cost(s); ok {
				g.Cost += usd
				g.Priced++
			}
		}
	}
	for i := range out {
		l, _ := assert.Summarise(out[i].Durations)
		out[i].P50, out[i].P95 = l.P50, l.P95
		if t, err := assert.Summarise(out[i].TTFTs); err == nil {
			out[i].TTFTP50, out[i].TTFTP95 = t.P50, t.P95
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Spans != out[j].Spans {
			return out[i].Spans > out[j].Spans
		}
		return out[i].Operation+out[i].Model < out[j].Operation+out[j].Model
	})
	return out
}

// ReportedCost is the cost a span reports itself (llm.cost.total), if any.
func ReportedCost(s *span.Span) (float64, bool) { return s.Cost, s.HasCost }
