package assert

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"

	"github.com/llmcheck/llmcheck/span"
)

// A baseline summary keeps, per group of spans (service + operation +
// model, or span name when there is no operation), the exact statistics a
// regression rule reads and every value its significance tests compare:
// span durations, per-trace sums (keyed by the trace's ordinal in the run,
// so groups merge into exact per-trace sums), per-query retrieval metrics.
// Rules compare against it as against the trace file it was written from,
// with the same verdicts, as long as their where reads only the group's
// identity (name, service, operation, model, provider). A group with more
// than MaxSamples values of a kind keeps a bounded sample instead; a rule
// that would need its values (a test, or percentiles of several groups)
// is refused when the baseline is loaded (Suite.CheckSummary).

// MaxSamples bounds the values kept per kind and group: up to it, every
// value; beyond it, evenly spaced order statistics (per-trace sums: none).
const MaxSamples = 1000

// Summary is the statistics of one group of spans.
type Summary struct {
	Key       string `json:"key"`
	Service   string `json:"service,omitempty"`
	Operation string `json:"operation,omitempty"`
	Model     string `json:"model,omitempty"`
	Provider  string `json:"provider,omitempty"`
	Name      string `json:"name,omitempty"` // only when there is no operation
	// Tool or Agent names the tool (execute_tool) or agent (invoke_agent,
	// create_agent) of a group whose spans have no model: one group per
	// tool and per agent.
	Tool  string `json:"tool,omitempty"`
	Agent string `json:"agent,omitempty"`

	Count   int        `json:"count"`
	Traces  int        `json:"traces"` // traces with a span of the group
	Errors  int        `json:"errors"`
	Latency *Latency   `json:"latency_ms"`
	TTFT    *Latency   `json:"ttft_ms,omitempty"` // over the spans that report a time to first token
	Tokens  TokenSums  `json:"tokens"`
	Cost    *float64   `json:"cost_usd,omitempty"`
	CostErr string     `json:"cost_error,omitempty"`
	Retr    *RetrSums  `json:"retrieval,omitempty"`
	Samples SampleSets `json:"samples"`
	// Evals are the evaluation results of the group by name (evals.go).
	Evals map[string]*EvalSummary `json:"evals,omitempty"`
	// EvalsUnknown is set on a group read from a summary format that
	// keeps no evaluation results (version 2).
	EvalsUnknown bool `json:"-"`
}

// TokenSums are token sums with presence (a missing count is not zero).
type TokenSums struct {
	Input      *int64 `json:"input,omitempty"`
	Output     *int64 `json:"output,omitempty"`
	Total      *int64 `json:"total,omitempty"`
	Cached     *int64 `json:"cached,omitempty"`
	CacheWrite *int64 `json:"cache_write,omitempty"`
	Reasoning  *int64 `json:"reasoning,omitempty"`
}

// RetrSums are sums of per-query retrieval metrics, so groups merge exactly.
type RetrSums struct {
	K                  int     `json:"k"`
	Queries            int     `json:"queries"`
	WithoutGroundTruth int     `json:"without_ground_truth"`
	Hit                float64 `json:"hit_sum"`
	RR                 float64 `json:"rr_sum"`
	Recall             float64 `json:"recall_sum"`
	Precision          float64 `json:"precision_sum"`
	NDCG               float64 `json:"ndcg_sum"`
}

// SampleSets are the values the significance tests compare: every value
// while a group has at most MaxSamples of a kind, else evenly spaced order
// statistics (marked by having fewer values than the group has spans,
// queries or traces).
type SampleSets struct {
	Latency   []float64 `json:"latency,omitempty"`   // span durations (ms)
	TTFT      []float64 `json:"ttft,omitempty"`      // times to first token (ms) of the spans that report one
	Tokens    []float64 `json:"tokens,omitempty"`    // total tokens per span that reports a total
	Cost      []float64 `json:"cost,omitempty"`      // USD per span with a cost, 6 significant digits
	Retrieval []float64 `json:"retrieval,omitempty"` // reciprocal rank per query (a hit is RR > 0)
	Recall    []float64 `json:"recall,omitempty"`    // recall@k per query
	Precision []float64 `json:"precision,omitempty"` // precision@k per query
	NDCG      []float64 `json:"ndcg,omitempty"`      // NDCG@k per query
	// Per trace: the group's span count, token and cost sums, for each
	// trace (by its ordinal in the run); absent when the group spans more
	// than MaxSamples traces.
	TraceCount  *TraceSample `json:"count_per_trace,omitempty"`
	TraceTokens *TraceSample `json:"tokens_per_trace,omitempty"`
	TraceCost   *TraceSample `json:"cost_per_trace,omitempty"`
	// Error indicators are not stored: Count and Errors give them exactly.
}

// TraceSample is a sum per trace: Value[i] for the trace of ordinal
// Trace[i] in the summarised run.
type TraceSample struct {
	Trace []int32   `json:"trace"`
	Value []float64 `json:"value"`
}

// MaxSummarySpans bounds the spans a baseline summary may claim (ten
// times the default --max-spans): the error indicators of a group are
// materialised from its count.
const MaxSummarySpans = 50_000_000

// Validate checks what a summary read from a file claims before anything
// computes with it: counts within bounds, errors within the count,
// per-trace samples whole. A summary is untrusted input.
func (g *Summary) Validate() error {
	switch {
	case g.Count < 0 || g.Count > MaxSummarySpans:
		return fmt.Errorf("group %q: count %d is out of range (0 to %d)", g.Key, g.Count, MaxSummarySpans)
	case g.Errors < 0 || g.Errors > g.Count:
		return fmt.Errorf("group %q: errors %d is out of range (0 to its count, %d)", g.Key, g.Errors, g.Count)
	case g.Traces < 0:
		return fmt.Errorf("group %q: traces %d is negative", g.Key, g.Traces)
	}
	for name, ts := range map[string]*TraceSample{"count_per_trace": g.Samples.TraceCount, "tokens_per_trace": g.Samples.TraceTokens, "cost_per_trace": g.Samples.TraceCost} {
		if ts != nil && len(ts.Trace) != len(ts.Value) {
			return fmt.Errorf("group %q: %s has %d traces and %d values", g.Key, name, len(ts.Trace), len(ts.Value))
		}
	}
	return g.validateEvals()
}

// GroupSub is the tool or agent name that splits the group of a span with
// an operation but no model: the tool of an execute_tool span, the agent
// of an invoke_agent or create_agent span; "" otherwise.
func GroupSub(s *span.Span) string {
	if s.Model != "" {
		return ""
	}
	switch s.Operation {
	case span.OpExecuteTool:
		return s.Tool
	case span.OpInvokeAgent, span.OpCreateAgent:
		return s.Agent
	}
	return ""
}

// GroupKey is the stable signature spans are grouped by: service ·
// operation · model, or service · operation · tool/agent name (GroupSub),
// or service · span name for a span without an operation.
func GroupKey(s *span.Span) (key, service, operation, model, name string) {
	service, operation, model = s.Service, s.Operation, s.Model
	if operation == "" {
		name = s.Name
	}
	parts := []string{orDash(service)}
	if operation != "" {
		parts = append(parts, operation)
		if model != "" {
			parts = append(parts, model)
		} else if sub := GroupSub(s); sub != "" {
			parts = append(parts, sub)
		}
	} else {
		parts = append(parts, name)
	}
	return strings.Join(parts, " · "), service, operation, model, name
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// SummariseGroups groups run and computes each group's summary with cfg's
// pricing and retrieval settings.
func SummariseGroups(cfg *Config, run *span.Run) []Summary {
	if cfg == nil {
		cfg = &Config{Retrieval: RetrievalConfig{K: 5}, CostLimit: DefaultCostLimit}
	}
	rc := newRunCtx(cfg, run)
	byKey := map[string]*group{}
	var keys []string
	sums := map[string]*Summary{}
	for i := range rc.entries {
		e := &rc.entries[i]
		key, svc, op, model, name := GroupKey(e.s)
		g := byKey[key]
		if g == nil {
			g = &group{rc: rc, k: cfg.Retrieval.K}
			byKey[key] = g
			keys = append(keys, key)
			sums[key] = &Summary{Key: key, Service: svc, Operation: op, Model: model, Name: name, Provider: e.s.Provider}
			if sub := GroupSub(e.s); sub != "" {
				if op == span.OpExecuteTool {
					sums[key].Tool = sub
				} else {
					sums[key].Agent = sub
				}
			}
		}
		g.spans = append(g.spans, e)
	}
	sort.Strings(keys)
	out := make([]Summary, 0, len(keys))
	for _, k := range keys {
		g, s := byKey[k], sums[k]
		s.Count, s.Errors, s.Traces = len(g.spans), g.errors(), g.traceCount()
		if lv := g.latency(); lv.err == nil {
			l := lv.l
			s.Latency = &l
		}
		t := g.tokens()
		ptr := func(i int) *int64 {
			if !t.has[i] {
				return nil
			}
			v := t.v[i]
			return &v
		}
		s.Tokens = TokenSums{ptr(0), ptr(1), ptr(2), ptr(3), ptr(4), ptr(5)}
		switch c := g.costVal().(type) {
		case types.Double:
			v := float64(c)
			s.Cost = &v
		case *types.Err:
			if !strings.Contains(c.String(), "no selected span reports tokens or a cost") {
				s.CostErr = c.String()
			}
		}
		s.Retr = retrievalSums(g)
		s.Samples = SampleSets{
			Latency:   bound(g.samples(TestLatency)),
			Tokens:    bound(g.spanTokens()),
			Cost:      round(bound(g.spanCosts()), round6),
			Retrieval: bound(g.samples(TestRR)),
		}
		s.ttftOf(g)
		s.evalsOf(g)
		if s.Retr != nil && s.Retr.Queries > 0 {
			s.Samples.Recall = bound(g.samples(TestRecall))
			s.Samples.Precision = bound(g.samples(TestPrecision))
			s.Samples.NDCG = bound(g.samples(TestNDCG))
		}
		if s.Traces <= MaxSamples {
			s.Samples.TraceCount = g.traceSample(TestCount)
			s.Samples.TraceTokens = g.traceSample(TestTokens)
			s.Samples.TraceCost = g.traceSample(TestCost)
		}
		out = append(out, *s)
	}
	return out
}

// spanTokens are the total tokens of each span that reports a total (the
// comparison table's per-call sample).
func (g *group) spanTokens() []float64 {
	var out []float64
	for _, e := range g.spans {
		if e.s.Tokens.HasTotal {
			out = append(out, float64(e.s.Tokens.Total))
		}
	}
	return out
}

func (g *group) spanCosts() []float64 {
	var out []float64
	for _, e := range g.spans {
		if e.costOK {
			out = append(out, e.cost)
		}
	}
	return out
}

// traceSample is the group's per-trace sum of a statistic, unrounded,
// keyed by trace ordinal; nil when no trace has it.
func (g *group) traceSample(test string) *TraceSample {
	tl, vals, has := g.traceSums(test)
	ts := &TraceSample{}
	for i, ti := range tl {
		if has[i] {
			ts.Trace = append(ts.Trace, ti)
			ts.Value = append(ts.Value, vals[i])
		}
	}
	if len(ts.Trace) == 0 {
		return nil
	}
	return ts
}

func retrievalSums(g *group) *RetrSums {
	r, candidates := g.retrievalSums()
	if candidates == 0 {
		return nil
	}
	return &r
}

// bound keeps at most MaxSamples values: evenly spaced order statistics
// of the sorted values, so the sample keeps the distribution's shape.
func bound(xs []float64) []float64 {
	if len(xs) == 0 {
		return nil // stored as absent
	}
	if len(xs) <= MaxSamples {
		return xs
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	out := make([]float64, MaxSamples)
	for i := range out {
		out[i] = s[i*(len(s)-1)/(MaxSamples-1)]
	}
	return out
}

func round(xs []float64, f func(float64) float64) []float64 {
	for i, x := range xs {
		xs[i] = f(x)
	}
	return xs
}

func round6(x float64) float64 {
	v, _ := strconv.ParseFloat(strconv.FormatFloat(x, 'g', 6, 64), 64)
	return v
}

// errorSample is the group's 0/1 error indicators (their order does not
// matter to the test).
func errorSample(count, errors int) []float64 {
	count = min(max(count, 0), MaxSummarySpans)
	errors = min(max(errors, 0), count)
	out := make([]float64, count)
	for i := count - errors; i < count; i++ {
		out[i] = 1
	}
	return out
}

// summaryFields are the span fields a where may read on a summary side.
var summaryFields = map[string]bool{"name": true, "service": true, "operation": true, "model": true, "model_family": true, "provider": true}

// summarySide is the precomputed statistics behind base when the baseline
// is a summary: the merge of the groups the rule's where selects.
type summarySide struct {
	groups []*Summary
	k      int
}

func (sd *summarySide) count() int {
	n := 0
	for _, g := range sd.groups {
		n += g.Count
	}
	return n
}

func (sd *summarySide) latency() *latencyVal {
	switch len(sd.groups) {
	case 0:
		return &latencyVal{err: fmt.Errorf("no spans selected in the baseline")}
	case 1:
		if sd.groups[0].Latency == nil {
			return &latencyVal{err: fmt.Errorf("no spans selected in the baseline")}
		}
		return &latencyVal{l: *sd.groups[0].Latency}
	}
	// Several groups: the statistics of the union of their values, which
	// the summary keeps whole (CheckSummary refuses rules over bounded
	// ones).
	var all []float64
	for _, g := range sd.groups {
		if g.Latency == nil {
			continue
		}
		if len(g.Samples.Latency) != g.Latency.N {
			return &latencyVal{err: fmt.Errorf("the baseline summary keeps a bounded sample of group %q (%d spans): percentiles over several groups need the baseline trace file", g.Key, g.Latency.N)}
		}
		all = append(all, g.Samples.Latency...)
	}
	l, err := Summarise(all)
	if err != nil {
		return &latencyVal{err: fmt.Errorf("no spans selected in the baseline")}
	}
	return &latencyVal{l: l}
}

func (sd *summarySide) tokens() *tokenVals {
	t := &tokenVals{}
	for _, g := range sd.groups {
		for i, p := range []*int64{g.Tokens.Input, g.Tokens.Output, g.Tokens.Total, g.Tokens.Cached, g.Tokens.CacheWrite, g.Tokens.Reasoning} {
			if p != nil {
				t.addOne(i, *p, true) // a baseline file is untrusted: no wrapping, no negative counts
			}
		}
	}
	return t
}

func (sd *summarySide) costVal() ref.Val {
	var sum float64
	found := false
	for _, g := range sd.groups {
		if g.CostErr != "" {
			return errVal("%s", g.CostErr)
		}
		if g.Cost != nil {
			sum += *g.Cost
			found = true
		}
	}
	if !found {
		return errVal("cost: no selected span of the baseline reports tokens or a cost")
	}
	return types.Double(sum)
}

func (sd *summarySide) errors() int {
	n := 0
	for _, g := range sd.groups {
		n += g.Errors
	}
	return n
}

func (sd *summarySide) retrieval() *retrievalVal {
	r := Retrieval{K: sd.k}
	var s RetrSums
	any := false
	for _, g := range sd.groups {
		if g.Retr == nil {
			continue
		}
		if g.Retr.K != sd.k {
			return &retrievalVal{err: fmt.Errorf("the baseline summary was written with k=%d, the rule uses k=%d", g.Retr.K, sd.k)}
		}
		any = true
		s.Queries += g.Retr.Queries
		s.WithoutGroundTruth += g.Retr.WithoutGroundTruth
		s.Hit += g.Retr.Hit
		s.RR += g.Retr.RR
		s.Recall += g.Retr.Recall
		s.Precision += g.Retr.Precision
		s.NDCG += g.Retr.NDCG
	}
	r.Queries, r.WithoutGroundTruth = s.Queries, s.WithoutGroundTruth
	switch {
	case !any:
		return &retrievalVal{r: r, err: fmt.Errorf("no retrieval spans selected in the baseline")}
	case s.Queries == 0:
		return &retrievalVal{r: r, err: fmt.Errorf("no retrieval span of the baseline has ground truth")}
	}
	n := float64(s.Queries)
	r.HitRate, r.MRR, r.Recall, r.Precision, r.NDCG = s.Hit/n, s.RR/n, s.Recall/n, s.Precision/n, s.NDCG/n
	return &retrievalVal{r: r}
}

func (sd *summarySide) errorRate() ref.Val {
	n := sd.count()
	if n == 0 {
		return errVal("error_rate: no spans selected in the baseline")
	}
	return types.Double(float64(sd.errors()) / float64(n))
}

func (sd *summarySide) spansList() ref.Val {
	return errVal("the baseline is a summary, which keeps no spans: compare statistics (base.latency, base.tokens, …) or use the trace file as baseline")
}

func (sd *summarySide) tracesList() ref.Val { return sd.spansList() }

func (sd *summarySide) groupKeys(set map[string]bool) {
	for _, g := range sd.groups {
		set[g.Key] = true
	}
}

// samples are the values of a test over the selected groups: the groups'
// values joined, per-trace sums added up by trace. CheckSummary has made
// sure they are whole.
func (sd *summarySide) samples(test string) []float64 {
	out := []float64{}
	switch test {
	case TestTokens, TestCost, TestCount:
		return sd.perTrace(test)
	}
	for _, g := range sd.groups {
		switch test {
		case TestLatency:
			out = append(out, g.Samples.Latency...)
		case TestTTFT:
			out = append(out, g.Samples.TTFT...)
		case TestErrors:
			out = append(out, errorSample(g.Count, g.Errors)...)
		case TestHit:
			for _, rr := range g.Samples.Retrieval {
				out = append(out, hitOf(rr))
			}
		case TestRR:
			out = append(out, g.Samples.Retrieval...)
		case TestRecall:
			out = append(out, g.Samples.Recall...)
		case TestPrecision:
			out = append(out, g.Samples.Precision...)
		case TestNDCG:
			out = append(out, g.Samples.NDCG...)
		default:
			return sd.evalSamples(test)
		}
	}
	return out
}

// hitOf is hit@k from the reciprocal rank at k: a relevant document in the
// top k is a reciprocal rank above 0.
func hitOf(rr float64) float64 {
	if rr > 0 {
		return 1
	}
	return 0
}

func (sd *summarySide) perTrace(test string) []float64 {
	sums := map[int32]float64{}
	for _, g := range sd.groups {
		ts := g.traceSample(test)
		if ts == nil {
			continue
		}
		for i, t := range ts.Trace[:min(len(ts.Trace), len(ts.Value))] {
			sums[t] += ts.Value[i]
		}
	}
	traces := make([]int32, 0, len(sums))
	for t := range sums {
		traces = append(traces, t)
	}
	slices.Sort(traces)
	out := make([]float64, len(traces))
	for i, t := range traces {
		out[i] = roundSum(test, sums[t])
	}
	return out
}

func (g *Summary) traceSample(test string) *TraceSample {
	switch test {
	case TestCount:
		return g.Samples.TraceCount
	case TestTokens:
		return g.Samples.TraceTokens
	}
	return g.Samples.TraceCost
}

// whole reports whether the summary keeps every value of a test's sample
// for the group, and says what it lacks when not.
func (g *Summary) whole(test string) (bool, string) {
	switch test {
	case TestLatency:
		if g.Latency != nil && len(g.Samples.Latency) < g.Latency.N {
			return false, fmt.Sprintf("%d of its %d span durations", len(g.Samples.Latency), g.Latency.N)
		}
	case TestTTFT:
		if g.TTFT != nil && len(g.Samples.TTFT) < g.TTFT.N {
			return false, fmt.Sprintf("%d of its %d times to first token", len(g.Samples.TTFT), g.TTFT.N)
		}
	case TestTokens, TestCost, TestCount:
		if g.Samples.TraceCount == nil && g.Count > 0 {
			return false, fmt.Sprintf("no per-trace sums (it spans %d traces)", g.Traces)
		}
	default:
		return g.wholeEval(test)
	case TestHit, TestRR, TestRecall, TestPrecision, TestNDCG:
		if g.Retr != nil && g.Retr.Queries > 0 {
			n := len(g.Samples.Retrieval)
			switch test {
			case TestRecall:
				n = len(g.Samples.Recall)
			case TestPrecision:
				n = len(g.Samples.Precision)
			case TestNDCG:
				n = len(g.Samples.NDCG)
			}
			if n < g.Retr.Queries {
				return false, fmt.Sprintf("%d of its %d per-query values", n, g.Retr.Queries)
			}
		}
	}
	return true, ""
}
