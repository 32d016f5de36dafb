package diff

import (
	"math"

	"github.com/llmcheck/llmcheck/assert"
	"github.com/llmcheck/llmcheck/span"
)

// StructureFromSummary is Structure.Unavailable when the base is a
// baseline summary.
const StructureFromSummary = "the base is a baseline summary, which keeps no traces; " +
	"structural changes per test (calls, model swaps, order) need the base trace file"

// CompareSummary computes what changed from a baseline summary (the groups
// of llmcheck.baseline.json, see assert.SummariseGroups) to head. The
// per-group statistics of head are computed as Compare computes them; those
// of the base are the summary's: exact count, errors, latency percentiles
// and mean, token, cost and retrieval sums. The significance tests use the
// summary's samples as the base sample, with the same Mann-Whitney U test
// and Holm correction: for a group of at most assert.MaxSamples spans
// (and queries) they are every value of the group, so the verdicts are
// Compare's; error indicators are exact for any size. A larger group keeps
// evenly spaced order statistics, and its tests are approximate.
//
// A summary keeps no traces: the report's Structure is empty, with
// Unavailable saying why. Base.Spans is the sum of the group counts;
// Base.Traces is 0 unless the caller sets it (the summary file has it).
// Retrieval is compared at the k the summary was written with, which is
// then the report's K, whatever opts.K says: the summary keeps reciprocal
// ranks at that k only.
func CompareSummary(base []assert.Summary, head *span.Run, opts Options) *Report {
	for _, g := range base {
		if g.Retr != nil && g.Retr.K > 0 {
			opts.K = g.Retr.K
			break
		}
	}
	opts = opts.withDefaults()
	if head == nil {
		head = span.NewRun(nil)
	}
	bs := map[signature]*acc{}
	spans := 0
	for i := range base {
		g := &base[i]
		spans += g.Count
		sg := signature{service: g.Service, op: g.Operation, model: g.Model, sub: g.Tool + g.Agent}
		if sg.op == "" {
			sg.name = g.Name
		}
		if bs[sg] == nil { // a file written by SummariseGroups has each group once
			bs[sg] = summaryAcc(sg, g, opts.K)
		}
	}
	r := &Report{
		Version:    Version,
		Alpha:      opts.Alpha,
		MinSamples: opts.MinSamples,
		K:          opts.K,
		Correction: "holm",
		Base:       RunInfo{Name: "base", Spans: spans, Summary: true},
		Head:       RunInfo{Name: "head", Spans: len(head.Spans), Traces: len(head.Traces)},
		Structure:  Structure{Unavailable: StructureFromSummary},
	}
	for i := range base {
		r.baseEvalsUnknown = r.baseEvalsUnknown || base[i].EvalsUnknown
	}
	var tests []*Test
	r.Groups, tests = compareGroups(bs, collect(head, opts), opts)
	if ev := compareVerdicts(span.NewRun(nil), head, opts); ev != nil {
		r.Evals = &Evals{Unavailable: EvalsFromSummary}
	}
	r.Comparisons = holm(tests, opts.Alpha)
	r.Headlines = headlines(r)
	return r
}

// summaryAcc is the base side of a group from its summary: the statistics
// fixed, the samples for the tests.
func summaryAcc(sg signature, g *assert.Summary, k int) *acc {
	a := &acc{
		sig:       sg,
		durations: g.Samples.Latency,
		ttfts:     g.Samples.TTFT,
		tokens:    g.Samples.Tokens,
		errSample: summaryErrors(g.Count, g.Errors),
	}
	st := &Stats{Count: g.Count, Errors: g.Errors}
	if g.Count > 0 {
		st.ErrorRate = float64(g.Errors) / float64(g.Count)
	}
	if g.Latency != nil {
		st.Latency = Latency{P50: g.Latency.P50, P95: g.Latency.P95, P99: g.Latency.P99, Mean: g.Latency.Avg}
	}
	if g.TTFT != nil {
		st.TTFT = &Latency{P50: g.TTFT.P50, P95: g.TTFT.P95, P99: g.TTFT.P99, Mean: g.TTFT.Avg}
	}
	st.Tokens = summaryTokens(g)
	st.Cost = summaryCost(g)
	if g.Retr != nil && g.Retr.Queries > 0 {
		n := float64(g.Retr.Queries)
		st.Retrieval = &Retrieval{K: k, Queries: g.Retr.Queries, WithoutGroundTruth: g.Retr.WithoutGroundTruth,
			HitRate: g.Retr.Hit / n, MRR: g.Retr.RR / n}
		a.rrs = g.Samples.Retrieval
		a.hits = make([]float64, len(a.rrs))
		for i, rr := range a.rrs {
			if rr > 0 { // a hit in the top k is a reciprocal rank > 0
				a.hits[i] = 1
			}
		}
	}
	a.ev = summaryEvals(g)
	st.Evals = a.evalStats()
	a.fixed = st
	return a
}

// summaryErrors is the group's 0/1 error indicators, one per span
// (assert's rule for summaries): Count and Errors give them exactly.
func summaryErrors(count, errors int) []float64 {
	count = min(max(count, 0), assert.MaxSummarySpans)
	errors = min(max(errors, 0), count)
	out := make([]float64, count)
	for i := count - errors; i < count; i++ {
		out[i] = 1
	}
	return out
}

// summaryTokens are the token sums of a summary. The number of spans that
// report tokens (the divisor of the per-call means) is the size of the
// token sample when it was not bounded, else estimated from the sum and
// the sample's mean (the span count, or the count of spans without error,
// when the estimate is within 2 % of it).
func summaryTokens(g *assert.Summary) *Tokens {
	t := g.Tokens
	if t.Input == nil && t.Output == nil && t.Total == nil {
		return nil
	}
	val := func(p *int64) int64 {
		if p == nil {
			return 0
		}
		return *p
	}
	tok := &Tokens{Input: val(t.Input), Output: val(t.Output), Total: val(t.Total), Cached: val(t.Cached)}
	if t.Total == nil {
		tok.Total = tok.Input + tok.Output // Compare's rule for spans without a total
	}
	tok.Spans = tokenSpans(g, tok.Total)
	if tok.Spans > 0 {
		n := float64(tok.Spans)
		tok.InputPerCall, tok.OutputPerCall, tok.TotalPerCall = float64(tok.Input)/n, float64(tok.Output)/n, float64(tok.Total)/n
	}
	return tok
}

func tokenSpans(g *assert.Summary, total int64) int {
	n := len(g.Samples.Tokens)
	switch {
	case n == 0:
		// Tokens without totals: no sample to count; assume every span.
		return g.Count
	case n < assert.MaxSamples:
		return n
	}
	m := mean(g.Samples.Tokens)
	if m <= 0 {
		return g.Count
	}
	est := float64(total) / m
	for _, c := range []int{g.Count, g.Count - g.Errors} {
		if c >= assert.MaxSamples && math.Abs(est-float64(c)) <= 0.02*float64(c) {
			return c
		}
	}
	return min(max(int(math.Round(est)), assert.MaxSamples), g.Count)
}

// summaryCost is the cost of a summary: its sum, or, when some span could
// not be priced (the summary then has an error instead of a sum), the sum
// of the priced spans' sample while it is not bounded.
func summaryCost(g *assert.Summary) *Cost {
	switch {
	case g.Cost != nil:
		return &Cost{USD: *g.Cost, Source: CostSummary}
	case g.CostErr != "" && len(g.Samples.Cost) > 0 && len(g.Samples.Cost) < assert.MaxSamples:
		var sum float64
		for _, c := range g.Samples.Cost {
			sum += c
		}
		return &Cost{USD: sum, Source: CostSummary}
	}
	return nil
}
