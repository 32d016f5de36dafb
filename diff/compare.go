package diff

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/llmcheck/llmcheck/assert"
	"github.com/llmcheck/llmcheck/span"
)

// Options control Compare. The zero value uses the defaults.
type Options struct {
	// Alpha is the significance level (default 0.05), for the family of
	// tests of one report (Holm's correction).
	Alpha float64
	// MinSamples: with fewer samples on either side a delta is "too few
	// samples" and shown as ~ (default 6; see the package documentation).
	MinSamples int
	// Pricing prices spans that do not report a cost, in USD per 1M
	// tokens; nil means cost only where reported on the spans.
	Pricing map[string]assert.Price
	// K is the retrieval cut-off for hit rate and MRR (default 5);
	// CompareSummary uses the k the summary was written with instead.
	K int
	// TestAttr are the attributes that name the test a trace belongs to,
	// in order of preference (default DefaultTestAttr); a trace without
	// any is named by its root span.
	TestAttr []string
	// Verdict says whether an evaluation result passes (default: the
	// default labels of assert.Config.EvalVerdict); the flips per test
	// are made of it.
	Verdict func(*span.Eval) (pass, ok bool)
}

func (o Options) withDefaults() Options {
	if !(o.Alpha > 0 && o.Alpha < 1) {
		o.Alpha = DefaultAlpha
	}
	if o.MinSamples <= 0 {
		o.MinSamples = DefaultMinSamples
	}
	if o.K <= 0 {
		o.K = DefaultK
	}
	if len(o.TestAttr) == 0 {
		o.TestAttr = DefaultTestAttr
	}
	return o
}

// Compare computes what changed from base to head. A nil run is an empty
// run.
func Compare(base, head *span.Run, opts Options) *Report {
	opts = opts.withDefaults()
	if base == nil {
		base = span.NewRun(nil)
	}
	if head == nil {
		head = span.NewRun(nil)
	}
	r := &Report{
		Version:    Version,
		Alpha:      opts.Alpha,
		MinSamples: opts.MinSamples,
		K:          opts.K,
		Correction: "holm",
		Base:       RunInfo{Name: "base", Spans: len(base.Spans), Traces: len(base.Traces)},
		Head:       RunInfo{Name: "head", Spans: len(head.Spans), Traces: len(head.Traces)},
	}
	var tests []*Test
	r.Groups, tests = compareGroups(collect(base, opts), collect(head, opts), opts)
	r.Comparisons = holm(tests, opts.Alpha)
	r.Structure = compareStructure(base, head, opts)
	r.Evals = compareVerdicts(base, head, opts)
	r.Headlines = headlines(r)
	return r
}

// signature identifies a group; sub is the tool or agent name of a group
// without a model (assert.GroupSub).
type signature struct{ service, op, model, sub, name string }

func signatureOf(s *span.Span) signature {
	if s.Operation == "" {
		return signature{service: s.Service, name: s.Name}
	}
	return signature{service: s.Service, op: s.Operation, model: s.Model, sub: assert.GroupSub(s)}
}

// key is "service · operation · model", or "service · name" for a span
// without an operation; a missing service is "-".
func (sg signature) key() string {
	service := sg.service
	if service == "" {
		service = "-"
	}
	return service + " · " + sg.short()
}

// short is the key without the service.
func (sg signature) short() string {
	switch {
	case sg.op == "":
		return sg.name
	case sg.model == "" && sg.sub != "":
		return sg.op + " · " + sg.sub
	case sg.model == "":
		return sg.op
	}
	return sg.op + " · " + sg.model
}

// acc accumulates the spans of one group on one side.
type acc struct {
	sig       signature
	durations []float64
	ttfts     []float64 // times to first token of the spans that report one
	tokens    []float64 // total tokens per span that reports tokens
	tok       Tokens
	errors    int
	cost      Cost
	hits, rrs []float64
	noGT      int
	ev        map[string]*evalSide // evals.go

	// For a base from a baseline summary: the statistics, fixed, and the
	// error indicators (the summary keeps only their count).
	fixed     *Stats
	errSample []float64
}

func collect(run *span.Run, opts Options) map[signature]*acc {
	groups := map[signature]*acc{}
	for _, s := range run.Spans {
		sg := signatureOf(s)
		a := groups[sg]
		if a == nil {
			a = &acc{sig: sg}
			groups[sg] = a
		}
		a.durations = append(a.durations, s.DurationMS)
		if len(s.Evals) > 0 {
			a.addEvals(s.Evals)
		}
		if s.HasTTFT {
			a.ttfts = append(a.ttfts, s.TTFTMS)
		}
		if s.IsError() {
			a.errors++
		}
		if s.Tokens.Any() && s.CountsUsage() {
			total := s.Tokens.Total
			if !s.Tokens.HasTotal && total == 0 {
				total = s.Tokens.Input + s.Tokens.Output
			}
			a.tokens = append(a.tokens, float64(total))
			a.tok.Spans++
			a.tok.Input += s.Tokens.Input
			a.tok.Output += s.Tokens.Output
			a.tok.Total += total
			a.tok.Cached += s.Tokens.Cached
		}
		switch usd, reported, ok, unpriced := spanCost(s, opts.Pricing); {
		case !s.CountsUsage(): // a descendant reports this usage (span.Span.CountsUsage)
		case ok && reported:
			a.cost.USD += usd
			a.cost.Reported++
		case ok:
			a.cost.USD += usd
			a.cost.Priced++
		case unpriced:
			a.cost.Unpriced++
		}
		if s.Operation == span.OpRetrieval || len(s.Documents) > 0 {
			rel := groundTruth(run, s)
			if len(rel) == 0 {
				a.noGT++
				continue
			}
			ids := make([]string, len(s.Documents))
			for i, d := range s.Documents {
				ids[i] = d.ID
			}
			m := assert.ScoreQuery(ids, rel, opts.K)
			a.hits = append(a.hits, m.Hit)
			a.rrs = append(a.rrs, m.RR)
		}
	}
	return groups
}

// groundTruth is assert's rule: llmcheck.relevant_ids on the span or its
// nearest recorded ancestor.
func groundTruth(run *span.Run, s *span.Span) []string {
	for cur, depth := s, 0; cur != nil && depth < 1000; cur, depth = run.Parent(cur), depth+1 {
		if v, ok := cur.Attrs.Get(assert.RelevantIDsAttr); ok {
			return stringList(v)
		}
	}
	return nil
}

func stringList(v any) []string {
	switch x := v.(type) {
	case []any:
		out := make([]string, 0, len(x))
		for _, e := range x {
			out = append(out, fmt.Sprint(e))
		}
		return out
	case []string:
		return x
	case string:
		var out []string
		for _, p := range strings.Split(x, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
		return out
	default:
		return []string{fmt.Sprint(x)}
	}
}

func (a *acc) stats(k int) *Stats {
	if a.fixed != nil {
		st := *a.fixed
		return &st
	}
	st := &Stats{Count: len(a.durations), Errors: a.errors, Evals: a.evalStats()}
	if st.Count > 0 {
		st.ErrorRate = float64(a.errors) / float64(st.Count)
		sorted := slices.Clone(a.durations)
		slices.Sort(sorted) // Percentile sorts a copy again: cheap when sorted
		p := func(q float64) float64 { v, _ := assert.Percentile(sorted, q); return v }
		st.Latency = Latency{P50: p(0.50), P95: p(0.95), P99: p(0.99), Mean: mean(a.durations)}
	}
	if len(a.ttfts) > 0 {
		p := func(q float64) float64 { v, _ := assert.Percentile(a.ttfts, q); return v }
		st.TTFT = &Latency{P50: p(0.50), P95: p(0.95), P99: p(0.99), Mean: mean(a.ttfts)}
	}
	if a.tok.Spans > 0 {
		t := a.tok
		n := float64(t.Spans)
		t.InputPerCall, t.OutputPerCall, t.TotalPerCall = float64(t.Input)/n, float64(t.Output)/n, float64(t.Total)/n
		st.Tokens = &t
	}
	if a.cost.Reported+a.cost.Priced > 0 {
		c := a.cost
		switch {
		case c.Reported > 0 && c.Priced > 0:
			c.Source = "mixed"
		case c.Reported > 0:
			c.Source = "reported"
		default:
			c.Source = "pricing"
		}
		st.Cost = &c
	}
	if len(a.hits) > 0 {
		st.Retrieval = &Retrieval{K: k, Queries: len(a.hits), WithoutGroundTruth: a.noGT, HitRate: mean(a.hits), MRR: mean(a.rrs)}
	}
	return st
}

func (a *acc) errorSample() []float64 {
	if a.errSample != nil {
		return a.errSample
	}
	s := make([]float64, len(a.durations))
	for i := 0; i < a.errors; i++ {
		s[i] = 1
	}
	return s
}

func mean(xs []float64) float64 { return assert.Mean(xs) }

func compareGroups(base, head map[signature]*acc, opts Options) ([]Group, []*Test) {
	sigs := make(map[signature]bool, len(base)+len(head))
	for sg := range base {
		sigs[sg] = true
	}
	for sg := range head {
		sigs[sg] = true
	}
	groups := make([]Group, 0, len(sigs))
	var tests []*Test
	for sg := range sigs {
		g := Group{Key: sg.key(), Service: sg.service, Operation: sg.op, Model: sg.model, Name: sg.name}
		if sg.op == span.OpExecuteTool {
			g.Tool = sg.sub
		} else {
			g.Agent = sg.sub
		}
		b, h := base[sg], head[sg]
		if b != nil {
			g.Base = b.stats(opts.K)
		}
		if h != nil {
			g.Head = h.stats(opts.K)
		}
		switch {
		case b == nil:
			g.Presence = Added
		case h == nil:
			g.Presence = Removed
		default:
			g.Presence = Compared
			var ts []*Test
			g.Metrics, ts = metrics(g.Key, b, h, g.Base, g.Head, opts)
			tests = append(tests, ts...)
		}
		groups = append(groups, g)
	}
	sort.Slice(groups, func(i, j int) bool {
		if groups[i].Key != groups[j].Key {
			return groups[i].Key < groups[j].Key
		}
		// Distinct signatures can share a key (a span name equal to an
		// operation name); keep the order stable.
		return groups[i].Name < groups[j].Name
	})
	return groups, tests
}

// sampleUnit is what one value of a table sample stands for.
var sampleUnit = map[string]string{SampleLatency: "span", SampleTTFT: "span", SampleTokens: "span", SampleErrors: "span", SampleHit: "query", SampleRR: "query"}

func newTest(sample, group string, base, head []float64, opts Options) *Test {
	v := Significance(base, head, opts.Alpha, opts.MinSamples)
	return &Test{Sample: sample, Key: sample + " per " + sampleUnit[sample] + "|" + group, Verdict: v, Counted: !v.TooFew && !constant(base, head)}
}

func metric(name, unit string, base, head float64, t *Test) Metric {
	m := Metric{Name: name, Unit: unit, Base: base, Head: head, Delta: head - base, Test: t}
	if base != 0 {
		rel := (head - base) / base
		m.Rel = &rel
	}
	return m
}

func metrics(key string, b, h *acc, bs, hs *Stats, opts Options) ([]Metric, []*Test) {
	var ms []Metric
	var ts []*Test
	ms = append(ms, metric(MetricCount, "", float64(bs.Count), float64(hs.Count), nil))

	lat := newTest(SampleLatency, key, b.durations, h.durations, opts)
	ts = append(ts, lat)
	ms = append(ms,
		metric(MetricLatencyP50, "ms", bs.Latency.P50, hs.Latency.P50, lat),
		metric(MetricLatencyP95, "ms", bs.Latency.P95, hs.Latency.P95, lat),
		metric(MetricLatencyP99, "ms", bs.Latency.P99, hs.Latency.P99, lat))
	if bs.TTFT != nil && hs.TTFT != nil {
		// compared only when both sides streamed: a side without a time to
		// first token is no 0 ms
		tt := newTest(SampleTTFT, key, b.ttfts, h.ttfts, opts)
		ts = append(ts, tt)
		ms = append(ms,
			metric(MetricTTFTP50, "ms", bs.TTFT.P50, hs.TTFT.P50, tt),
			metric(MetricTTFTP95, "ms", bs.TTFT.P95, hs.TTFT.P95, tt))
	}

	if bs.Tokens != nil || hs.Tokens != nil {
		bt, ht := orZero(bs.Tokens), orZero(hs.Tokens)
		tok := newTest(SampleTokens, key, b.tokens, h.tokens, opts)
		ts = append(ts, tok)
		ms = append(ms,
			metric(MetricTokensPerCall, "tokens", bt.TotalPerCall, ht.TotalPerCall, tok),
			metric(MetricInputPerCall, "tokens", bt.InputPerCall, ht.InputPerCall, tok),
			metric(MetricOutputPerCall, "tokens", bt.OutputPerCall, ht.OutputPerCall, tok),
			metric(MetricTokensTotal, "tokens", float64(bt.Total), float64(ht.Total), nil))
	}
	if bs.Cost != nil || hs.Cost != nil {
		var bc, hc float64
		if bs.Cost != nil {
			bc = bs.Cost.USD
		}
		if hs.Cost != nil {
			hc = hs.Cost.USD
		}
		ms = append(ms, metric(MetricCost, "USD", bc, hc, nil))
	}
	errs := newTest(SampleErrors, key, b.errorSample(), h.errorSample(), opts)
	ts = append(ts, errs)
	ms = append(ms, metric(MetricErrorRate, "ratio", bs.ErrorRate, hs.ErrorRate, errs))

	if bs.Retrieval != nil || hs.Retrieval != nil {
		var br, hr Retrieval
		if bs.Retrieval != nil {
			br = *bs.Retrieval
		}
		if hs.Retrieval != nil {
			hr = *hs.Retrieval
		}
		hit := newTest(SampleHit, key, b.hits, h.hits, opts)
		rr := newTest(SampleRR, key, b.rrs, h.rrs, opts)
		ts = append(ts, hit, rr)
		ms = append(ms,
			metric(MetricHitRate, "ratio", br.HitRate, hr.HitRate, hit),
			metric(MetricMRR, "ratio", br.MRR, hr.MRR, rr))
	}
	em, et := evalMetrics(key, b, h, opts)
	return append(ms, em...), append(ts, et...)
}

func orZero(t *Tokens) Tokens {
	if t == nil {
		return Tokens{}
	}
	return *t
}
