package assert

import (
	"fmt"
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

// Significance is the verdict of a two-sample test between base and head.
type Significance struct {
	Metric      string  `json:"metric"` // latency, tokens, cost, errors, retrieval
	P           float64 `json:"p"`
	Significant bool    `json:"significant"`
	TooFew      bool    `json:"too_few,omitempty"` // below the minimum sample count
	NBase       int     `json:"n_base"`
	NHead       int     `json:"n_head"`
}

// SignificanceFunc tests whether two samples differ (diff.Significance).
type SignificanceFunc func(base, head []float64) Significance

const tSide = "llmcheck.Side"

var sideT = cel.ObjectType(tSide)

var sideObj *objType

// side is one side of a comparison: spans of a run (*group) or the
// precomputed statistics of a baseline summary (*summarySide).
type side interface {
	count() int
	latency() *latencyVal
	tokens() *tokenVals
	costVal() ref.Val
	errors() int
	errorRate() ref.Val
	retrieval() *retrievalVal
	spansList() ref.Val
	tracesList() ref.Val
	samples(cat string) []float64
}

func initSide() {
	g := func(v any) side { return v.(side) }
	sideObj = newObjType(tSide,
		field{"spans", cel.ListType(spanT), func(v any) ref.Val { return g(v).spansList() }, "selected spans"},
		field{"count", cel.IntType, func(v any) ref.Val { return types.Int(g(v).count()) }, "number of selected spans"},
		field{"traces", cel.ListType(traceT), func(v any) ref.Val { return g(v).tracesList() }, "traces of the selected spans"},
		field{"latency", latencyT, func(v any) ref.Val { return obj{latencyObj, g(v).latency()} }, "latency statistics (ms)"},
		field{"tokens", tokensT, func(v any) ref.Val { return obj{tokensObj, g(v).tokens()} }, "token sums"},
		field{"cost", cel.DoubleType, func(v any) ref.Val { return g(v).costVal() }, "USD"},
		field{"errors", cel.IntType, func(v any) ref.Val { return types.Int(g(v).errors()) }, "error spans"},
		field{"error_rate", cel.DoubleType, func(v any) ref.Val { return g(v).errorRate() }, "errors / count"},
		field{"retrieval", retrievalT, func(v any) ref.Val { return obj{retrievalObj, g(v).retrieval()} }, "retrieval metrics"},
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
	if c.where == nil {
		for i := range groups {
			sd.groups = append(sd.groups, &groups[i])
		}
		return sd, nil
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
	return sd, nil
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
	summaryLine := summary(r.Observed, len(hsel.spans))
	switch {
	case err != nil:
		r.Status, r.Message = Error, err.Error()
		return r
	case ok:
		r.Status, r.Message = Pass, summaryLine
		return r
	}
	r.Failed = true
	r.Status, r.Message = Fail, summaryLine
	if !a.RequireSignificance || sig == nil {
		r.Offenders = offenders(head, c.categories)
		return r
	}
	// The change must be real: test the samples of every statistic the
	// rule reads; any significant one makes the failure stand.
	var tested []string
	for _, cat := range c.categories {
		bs, hs := base.samples(cat), head.samples(cat)
		if bs == nil || hs == nil {
			continue
		}
		v := sig(bs, hs)
		v.Metric = cat
		r.Significance = append(r.Significance, v)
		if v.Significant {
			r.Offenders = offenders(head, c.categories)
			r.Message += fmt.Sprintf("; the %s change is significant (%s)", cat, FormatP(v.P))
			return r
		}
		switch {
		case v.TooFew:
			tested = append(tested, fmt.Sprintf("%s: too few samples (%d vs %d)", cat, v.NBase, v.NHead))
		default:
			tested = append(tested, fmt.Sprintf("%s: %s", cat, FormatP(v.P)))
		}
	}
	if len(tested) == 0 {
		// Nothing to test (count, structure): the expectation decides.
		r.Offenders = offenders(head, c.categories)
		return r
	}
	r.Status = Inconclusive
	r.Message += "; not significant (" + strings.Join(tested, ", ") + "), so it does not fail the run (require_significance: false to fail anyway)"
	return r
}

// samples are the per-unit values behind a statistic: span durations,
// total tokens per span, cost per span, error indicators per span, or
// reciprocal rank per query.
func (g *group) samples(cat string) []float64 {
	var out []float64
	switch cat {
	case "latency":
		for _, e := range g.spans {
			out = append(out, e.s.DurationMS)
		}
	case "tokens":
		for _, e := range g.spans {
			if e.s.Tokens.HasTotal {
				out = append(out, float64(e.s.Tokens.Total))
			}
		}
	case "cost":
		for _, e := range g.spans {
			if e.costOK {
				out = append(out, e.cost)
			}
		}
	case "errors":
		for _, e := range g.spans {
			v := 0.0
			if e.s.IsError() {
				v = 1
			}
			out = append(out, v)
		}
	case "retrieval":
		scores, _ := g.queryScores()
		for _, q := range scores {
			out = append(out, q.m.RR)
		}
	default:
		return nil
	}
	if out == nil {
		out = []float64{}
	}
	return out
}
