package assert

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
	"github.com/google/cel-go/interpreter"

	"github.com/llmcheck/llmcheck/span"
)

// Regression rules compare a baseline run (base) with the current one
// (head). `base` and `head` expose everything an assertion sees over the
// spans `where` selects on each side. A rule whose expectation fails but
// whose underlying change is not statistically significant is
// Inconclusive: reported, never failing the run, unless the rule says
// require_significance: false.

// Inconclusive is the status of a regression rule whose expectation failed
// on a change that is not significant.
const Inconclusive Status = "inconclusive"

// Significance is one two-sample test between base and head of a
// regression rule. The SignificanceFunc fills P, TooFew, Counted, the
// sample sizes, Alpha and MinSamples; the rule fills Metric, Unit, Sample
// and Key; CorrectRegressions fills PAdjusted and Significant.
type Significance struct {
	Metric string `json:"metric"` // the test: latency, tokens, cost, count, errors, hit, rr, recall, precision, ndcg, evals["NAME"].score, evals["NAME"].labels["LABEL"]
	Unit   string `json:"unit"`   // what one value stands for: span, trace, query or result (an evaluation result)
	Sample string `json:"sample"` // in words: "total tokens per trace"
	// Key identifies the test within a report: the metric, the unit and
	// the groups of the selected spans. Tests with the same key compare
	// the same samples and are one test of the family.
	Key       string  `json:"key"`
	P         float64 `json:"p"`          // two-sided, uncorrected
	PAdjusted float64 `json:"p_adjusted"` // Holm-adjusted over the report's family
	// Significant is PAdjusted ≤ Alpha for a counted test.
	Significant bool `json:"significant"`
	TooFew      bool `json:"too_few,omitempty"` // below MinSamples on a side
	// Counted says whether the test is in the family: a test with too few
	// samples, or with every value the same on both sides, cannot be
	// significant and is left out.
	Counted    bool    `json:"counted"`
	NBase      int     `json:"n_base"`
	NHead      int     `json:"n_head"`
	Alpha      float64 `json:"alpha"`
	MinSamples int     `json:"min_samples"`
}

// SignificanceFunc tests whether two samples differ, uncorrected
// (diff.RuleSignificance).
type SignificanceFunc func(base, head []float64) Significance

const tSide = "llmcheck.Side"

var sideT = cel.ObjectType(tSide)

var sideObj *objType

// side is one side of a comparison: spans of a run (*group) or the
// precomputed statistics of a baseline summary (*summarySide).
type side interface {
	count() int
	latency() *latencyVal
	ttft() *latencyVal
	tokens() *tokenVals
	costVal() ref.Val
	errors() int
	errorRate() ref.Val
	retrieval() *retrievalVal
	evals() *evalsStats
	spansList() ref.Val
	tracesList() ref.Val
	samples(test string) []float64
	groupKeys(set map[string]bool)
}

func initSide() {
	g := func(v any) side { return v.(side) }
	sideObj = newObjType(tSide,
		field{"spans", cel.ListType(spanT), func(v any) ref.Val { return g(v).spansList() }, "selected spans"},
		field{"count", cel.IntType, func(v any) ref.Val { return types.Int(g(v).count()) }, "number of selected spans"},
		field{"traces", cel.ListType(traceT), func(v any) ref.Val { return g(v).tracesList() }, "traces of the selected spans"},
		field{"latency", latencyT, func(v any) ref.Val { return obj{latencyObj, g(v).latency()} }, "latency statistics (ms)"},
		field{"ttft", ttftT, func(v any) ref.Val { return obj{ttftObj, g(v).ttft()} }, "time to first token statistics (ms)"},
		field{"tokens", tokensT, func(v any) ref.Val { return obj{tokensObj, g(v).tokens()} }, "token sums"},
		field{"cost", cel.DoubleType, func(v any) ref.Val { return g(v).costVal() }, "USD"},
		field{"errors", cel.IntType, func(v any) ref.Val { return types.Int(g(v).errors()) }, "error spans"},
		field{"error_rate", cel.DoubleType, func(v any) ref.Val { return g(v).errorRate() }, "errors / count"},
		field{"retrieval", retrievalT, func(v any) ref.Val { return obj{retrievalObj, g(v).retrieval()} }, "retrieval metrics"},
		field{"evals", evalsT, func(v any) ref.Val { return evalsMap{g(v).evals()} }, "evaluation results by name"},
	)
}

func rulesEnv() (*cel.Env, error) {
	return newEnv(cel.Variable("base", sideT), cel.Variable("head", sideT))
}

// sidesActivation binds base and head.
type sidesActivation struct{ base, head side }

func (a sidesActivation) ResolveName(name string) (any, bool) {
	switch name {
	case "base":
		return obj{sideObj, a.base}, true
	case "head":
		return obj{sideObj, a.head}, true
	}
	return nil, false
}

func (a sidesActivation) Parent() interpreter.Activation { return nil }

// HasRegressions reports whether the configuration has regression rules.
func (s *Suite) HasRegressions() bool { return len(s.rules) > 0 }

// EvaluateRegressions runs the regression rules with base as the baseline
// and head as the current run.
func (s *Suite) EvaluateRegressions(base, head *span.Run, sig SignificanceFunc) []Result {
	if len(s.rules) == 0 {
		return nil
	}
	bc, hc := newRunCtx(s.Config, base), newRunCtx(s.Config, head)
	bb, hb := boundsOf(base), boundsOf(head)
	out := make([]Result, 0, len(s.rules))
	for _, c := range s.rules {
		k := c.k(s.Config)
		var baseSide side
		err := c.checkCost(bb, s.Config.CostLimit)
		if err == nil {
			sel := bc.selectSpans(c.where, c.fastWhere)
			err = sel.err
			baseSide = &group{rc: bc, spans: sel.spans, k: k}
		}
		out = append(out, c.evaluateRule(baseSide, err, hc, hb, s.Config.CostLimit, k, sig))
	}
	CorrectRegressions(out, nil)
	s.elide(out)
	return out
}

func (s *Suite) elide(rs []Result) {
	if s.IncludeContent {
		return
	}
	for i := range rs {
		elideContent(&rs[i])
	}
}

// EvaluateRegressionsSummary runs the regression rules against a baseline
// summary (see SummariseGroups).
func (s *Suite) EvaluateRegressionsSummary(base []Summary, head *span.Run, sig SignificanceFunc) []Result {
	if len(s.rules) == 0 {
		return nil
	}
	hc := newRunCtx(s.Config, head)
	hb := boundsOf(head)
	out := make([]Result, 0, len(s.rules))
	for _, c := range s.rules {
		k := c.k(s.Config)
		sd, err := c.selectSummaries(base, k)
		out = append(out, c.evaluateRule(sd, err, hc, hb, s.Config.CostLimit, k, sig))
	}
	CorrectRegressions(out, nil)
	s.elide(out)
	return out
}

func (c *check) k(cfg *Config) int {
	if c.a.K > 0 {
		return c.a.K
	}
	return cfg.Retrieval.K
}

// selectSummaries evaluates the rule's where on each summary group's
// identity. A where that reads anything else cannot be answered by a
// summary and is an error.
func (c *check) selectSummaries(groups []Summary, k int) (*summarySide, error) {
	sd := &summarySide{k: k}
	if c.readsBaseSpans {
		return nil, fmt.Errorf("the expectation reads base.spans or base.traces, which a baseline summary does not keep; compare statistics (base.latency, base.tokens, …) or use the baseline trace file for this rule")
	}
	if c.where == nil {
		for i := range groups {
			sd.groups = append(sd.groups, &groups[i])
		}
		return sd, c.checkWhole(sd)
	}
	for _, f := range spanFieldsRead(c.whereAST) {
		if !summaryFields[f] {
			return nil, fmt.Errorf("where reads span.%s, which a baseline summary does not keep (it keeps name, service, operation, model, provider); use the baseline trace file instead", f)
		}
	}
	act := &spanActivation{}
	for i := range groups {
		g := &groups[i]
		act.e = &entry{s: &span.Span{Name: g.Name, Service: g.Service, Operation: g.Operation, Model: g.Model, Provider: g.Provider}}
		ok, err := evalBool(c.where, act)
		if err != nil {
			return nil, fmt.Errorf("where on baseline group %q: %v", g.Key, err)
		}
		if ok {
			sd.groups = append(sd.groups, g)
		}
	}
	return sd, c.checkWhole(sd)
}

// checkWhole refuses a rule that would need values a summary did not keep
// whole: a test's sample, or the durations of several groups for their
// percentiles. The verdict would differ from the trace file's.
func (c *check) checkWhole(sd *summarySide) error {
	var need []string
	if c.a.RequireSignificance {
		need = append(need, c.tests...)
	}
	if len(sd.groups) > 1 && contains(c.categories, "latency") && !contains(need, TestLatency) {
		need = append(need, TestLatency)
	}
	if len(sd.groups) > 1 && contains(c.categories, "ttft") && !contains(need, TestTTFT) {
		need = append(need, TestTTFT)
	}
	if len(sd.groups) > 1 {
		for _, t := range c.tests {
			if _, _, isLabel, ok := ParseEvalTest(t); ok && !isLabel && !contains(need, t) {
				need = append(need, t)
			}
		}
	}
	for _, t := range need {
		for _, g := range sd.groups {
			if ok, what := g.whole(t); !ok {
				return fmt.Errorf("the baseline summary keeps %s of group %q (it keeps at most %d values of a kind per group), so this rule's %s cannot be computed as from the trace file; use the baseline trace file for this rule", what, g.Key, MaxSamples, sampleOfTest(t))
			}
		}
	}
	return nil
}

// CheckSummary reports, before anything runs, every regression rule that
// cannot be evaluated against the baseline summary groups exactly as
// against the trace file it was written from: a where that reads more than
// a group's identity, an expectation that reads base.spans or
// base.traces, or a rule that needs values the summary keeps only a
// bounded sample of. Each problem names the rule's file:line.
func (s *Suite) CheckSummary(groups []Summary) error {
	var probs []string
	for _, c := range s.rules {
		if _, err := c.selectSummaries(groups, c.k(s.Config)); err != nil {
			probs = append(probs, fmt.Sprintf("%s: regression rule %q: %v", c.a.Pos, c.a.Name, err))
		}
	}
	if len(probs) == 0 {
		return nil
	}
	return fmt.Errorf("%s", strings.Join(probs, "\n"))
}

func (c *check) evaluateRule(base side, baseErr error, hc *runCtx, hb sizeBounds, limit uint64, k int, sig SignificanceFunc) (r Result) {
	a := c.a
	r = Result{Name: a.Name, Where: a.Where, Expect: a.Expect, Severity: "error", Position: a.Pos, Observed: []Observed{}}
	if a.Warn {
		r.Severity = "warn"
	}
	defer func() {
		if a.Warn && (r.Status == Fail || r.Status == Error) {
			r.Status = Warn
		}
	}()
	if baseErr == nil {
		baseErr = c.checkCost(hb, limit)
	}
	if baseErr != nil {
		r.Status, r.Message = Error, baseErr.Error()
		return r
	}
	hsel := hc.selectSpans(c.where, c.fastWhere)
	if hsel.err != nil {
		r.Status, r.Message = Error, hsel.err.Error()
		return r
	}
	head := &group{rc: hc, spans: hsel.spans, k: k}
	act := sidesActivation{base: base, head: head}
	r.Spans, r.Traces = len(hsel.spans), head.traceCount()
	if base.count() == 0 && head.count() == 0 {
		if a.AllowEmpty {
			r.Status, r.Skipped, r.Message = Pass, true, "no spans matched on either side; allowed by allow_empty: true"
			return r
		}
		r.Status, r.Failed = Fail, true
		r.Message = "no spans matched on either side (a rule over no data fails; set allow_empty: true if that is expected)"
		if a.Where != "" {
			r.Message = fmt.Sprintf("no spans matched where: %s on either side (a rule over no data fails; set allow_empty: true if that is expected)", a.Where)
		}
		return r
	}
	ok, err := evalBool(c.expect, act)
	r.Observed = c.observe(act)
	r.Message = summary(r.Observed, len(hsel.spans))
	if err != nil {
		r.Status, r.Message = Error, err.Error()
		return r
	}
	// Every statistic the rule reads is tested whether or not the
	// expectation failed: the family of tests one report corrects for is
	// fixed by the configuration, not by the data (see CorrectRegressions).
	if a.RequireSignificance && sig != nil {
		groups := ""
		for _, t := range c.tests {
			bs, hs := base.samples(t), head.samples(t)
			if bs == nil || hs == nil {
				continue
			}
			if groups == "" {
				groups = groupsKey(base, head)
			}
			v := sig(bs, hs)
			v.Metric, v.Unit, v.Sample = t, unitOfTest(t), sampleOfTest(t)
			v.Key = v.Metric + " per " + v.Unit + "|" + groups
			v.PAdjusted = v.P
			r.Significance = append(r.Significance, v)
		}
	}
	if ok {
		r.Status = Pass
		return r
	}
	r.Failed = true
	r.Status = Fail
	r.offenders = offenders(head, c.stats, Fail)
	if len(r.Significance) == 0 {
		// Nothing tested (require_significance: false, or only spans or
		// traces read): the expectation decides.
		r.Offenders = r.offenders
		return r
	}
	r.pending, r.observedMsg = true, r.Message
	return r
}

// testUnit is the unit one value of a test's sample stands for.
var testUnit = map[string]string{
	TestLatency: "span", TestErrors: "span", TestTTFT: "span",
	TestTokens: "trace", TestCost: "trace", TestCount: "trace",
	TestHit: "query", TestRR: "query", TestRecall: "query", TestPrecision: "query", TestNDCG: "query",
}

// testSample says in words what a test compares.
var testSample = map[string]string{
	TestLatency:   "span durations (ms)",
	TestTTFT:      "times to first token (ms)",
	TestErrors:    "error status per span (0/1)",
	TestTokens:    "total tokens per trace",
	TestCost:      "cost per trace (USD)",
	TestCount:     "selected spans per trace",
	TestHit:       "hit@k per query",
	TestRR:        "reciprocal rank per query",
	TestRecall:    "recall@k per query",
	TestPrecision: "precision@k per query",
	TestNDCG:      "NDCG@k per query",
}

// groupsKey names the groups (GroupKey) of the spans a rule selects on
// either side, sorted and joined with " + ": a rule over exactly one group
// tests the same sample as the comparison table's row of that group.
func groupsKey(base, head side) string {
	set := map[string]bool{}
	base.groupKeys(set)
	head.groupKeys(set)
	keys := make([]string, 0, len(set))
	for k := range set {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return strings.Join(keys, " + ")
}

func (g *group) groupKeys(set map[string]bool) {
	keys := g.rc.groupIndex()
	seen := make([]bool, len(keys))
	for _, e := range g.spans {
		i := e.gi
		if !seen[i] {
			seen[i] = true
			set[keys[i]] = true
		}
	}
}

// groupIndex sets on every entry of the run the index (gi) of its group
// in the keys it returns (GroupKey of each), once per run.
func (rc *runCtx) groupIndex() (keys []string) {
	rc.groupsOnce.Do(func() {
		type sig struct{ service, op, model, name string }
		ids := map[sig]int32{}
		for i := range rc.entries {
			s := rc.entries[i].s
			k := sig{s.Service, s.Operation, s.Model, ""}
			if k.op == "" {
				k.model, k.name = "", s.Name
			}
			id, ok := ids[k]
			if !ok {
				id = int32(len(rc.groupKeys))
				ids[k] = id
				key, _, _, _, _ := GroupKey(s)
				rc.groupKeys = append(rc.groupKeys, key)
			}
			rc.entries[i].gi = id
		}
	})
	return rc.groupKeys
}

// samples are the values a test compares (see testSample): span
// durations and error indicators per span, token, cost and span-count
// sums per trace, retrieval metrics per query. nil means the test does
// not apply.
func (g *group) samples(test string) []float64 {
	var out []float64
	switch test {
	case TestLatency:
		out = make([]float64, 0, len(g.spans))
		for _, e := range g.spans {
			out = append(out, e.s.DurationMS)
		}
	case TestTTFT:
		out = ttftSample(g.spans)
	case TestErrors:
		out = make([]float64, len(g.spans))
		for i, e := range g.spans {
			if e.s.IsError() {
				out[i] = 1
			}
		}
	case TestTokens, TestCost, TestCount:
		out = g.perTrace(test)
	case TestHit, TestRR, TestRecall, TestPrecision, TestNDCG:
		scores, _ := g.queryScores()
		out = make([]float64, 0, len(scores))
		for _, q := range scores {
			out = append(out, queryValue(q.m, test))
		}
	default:
		return evalSample(g.spans, test)
	}
	if out == nil {
		out = []float64{}
	}
	return out
}

func queryValue(m QueryMetrics, test string) float64 {
	switch test {
	case TestHit:
		return m.Hit
	case TestRR:
		return m.RR
	case TestRecall:
		return m.Recall
	case TestPrecision:
		return m.Precision
	}
	return m.NDCG
}

// perTrace sums a statistic over the selected spans of each trace, in
// the order of g.traces(); a trace none of whose selected spans has the
// statistic (no tokens reported, no cost) is left out.
func (g *group) perTrace(test string) []float64 {
	_, vals, has := g.traceSums(test)
	out := vals[:0]
	for i, v := range vals {
		if has[i] {
			out = append(out, roundSum(test, v))
		}
	}
	return out
}

// traceSums sums a statistic over the selected spans of each trace of
// g.traces() (tl, in that order); has says which traces had a span with
// the statistic.
func (g *group) traceSums(test string) (tl []int32, vals []float64, has []bool) {
	tl = g.traces()
	pos := make([]int32, len(g.rc.tvals))
	for i, ti := range tl {
		pos[ti] = int32(i)
	}
	vals = make([]float64, len(tl))
	has = make([]bool, len(tl))
	for _, e := range g.spans {
		if v, ok := unitValue(e, test); ok {
			vals[pos[e.ti]] += v
			has[pos[e.ti]] = true
		}
	}
	return tl, vals, has
}

// unitValue is what one span adds to its trace's sum: 1 to the count,
// its total tokens, its cost. Token and cost sums count a span's usage by
// the same rule as tokens.* and cost do: only when no descendant of the
// span reports usage (span.Span.CountsUsage), so an agent span repeating
// its model calls' usage is not counted twice.
func unitValue(e *entry, test string) (float64, bool) {
	switch test {
	case TestCount:
		return 1, true
	case TestTokens:
		if e.s.Tokens.HasTotal && e.s.CountsUsage() {
			return float64(e.s.Tokens.Total), true
		}
	case TestCost:
		if e.costOK && e.s.CountsUsage() {
			return e.cost, true
		}
	}
	return 0, false
}

// roundSum rounds a cost sum to 12 significant digits, so a sum taken in
// another order (a baseline summary merges groups) is the same number.
func roundSum(test string, v float64) float64 {
	if test != TestCost || v == 0 {
		return v
	}
	r, _ := strconv.ParseFloat(strconv.FormatFloat(v, 'g', 12, 64), 64)
	return r
}
