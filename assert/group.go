package assert

import (
	"fmt"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"

	"github.com/llmcheck/llmcheck/span"
)

// RelevantIDsAttr is the span attribute a test sets (on the retrieval span
// or any ancestor) to give the ids of the documents that should be found.
const RelevantIDsAttr = "llmcheck.relevant_ids"

// entry is a span plus what is derived from it once per run.
type entry struct {
	s            *span.Span
	cost         float64
	costOK       bool
	costReported bool
	costErr      error
	ti           int32 // index of the span's trace in run.Traces
	gi           int32 // index of the span's group in runCtx.groupKeys, once groupIndex ran
}

// runCtx is one evaluation of a suite over a run.
type runCtx struct {
	cfg     *Config
	run     *span.Run
	entries []entry
	tvals   []traceVal // parallel to run.Traces

	indexOnce sync.Once
	index     map[*span.Span]int32 // built on first use (trace.root, trace.spans, trace.cost)

	groupsOnce sync.Once
	groupKeys  []string // GroupKey of each group of spans (regression rules; entry.gi)

	groupings sync.Map // each: text → *grouping (groups.go)
}

func newRunCtx(cfg *Config, run *span.Run) *runCtx {
	rc := &runCtx{
		cfg:     cfg,
		run:     run,
		entries: make([]entry, len(run.Spans)),
		tvals:   make([]traceVal, len(run.Traces)),
	}
	ids := make(map[string]int32, len(run.Traces))
	for i, t := range run.Traces {
		rc.tvals[i].rc, rc.tvals[i].t = rc, t
		ids[t.ID] = int32(i)
	}
	fill := func(from, to int) {
		prev, ti := "", int32(-1)
		for i := from; i < to; i++ {
			s := run.Spans[i]
			e := &rc.entries[i]
			e.s = s
			e.cost, e.costReported, e.costOK, e.costErr = CostOf(s, cfg.Pricing)
			// Spans of one trace usually come together: look the id up
			// only when it changes.
			if ti < 0 || s.TraceID != prev {
				prev, ti = s.TraceID, ids[s.TraceID]
			}
			e.ti = ti
		}
	}
	n := len(run.Spans)
	parts := 1
	if n >= 64<<10 {
		parts = runtime.GOMAXPROCS(0)
	}
	var wg sync.WaitGroup
	for p := 1; p < parts; p++ {
		wg.Add(1)
		go func() { defer wg.Done(); fill(p*n/parts, (p+1)*n/parts) }()
	}
	fill(0, n/parts)
	wg.Wait()
	return rc
}

func (rc *runCtx) entryOf(s *span.Span) *entry {
	rc.indexOnce.Do(func() {
		rc.index = make(map[*span.Span]int32, len(rc.entries))
		for i := range rc.entries {
			rc.index[rc.entries[i].s] = int32(i)
		}
	})
	return &rc.entries[rc.index[s]]
}

// groundTruth returns the relevant ids for a retrieval span: the
// llmcheck.relevant_ids attribute on the span or its nearest ancestor,
// else the golden file entry for its query text.
func (rc *runCtx) groundTruth(s *span.Span) ([]string, bool) {
	for cur, depth := s, 0; cur != nil && depth < 1000; cur, depth = rc.run.Parent(cur), depth+1 {
		if v, ok := cur.Attrs.Get(RelevantIDsAttr); ok {
			return stringList(v), true
		}
	}
	if rc.cfg.Retrieval.Golden != nil && s.Query != "" {
		ids, ok := rc.cfg.Retrieval.Golden[NormaliseQuery(s.Query)]
		return ids, ok
	}
	return nil, false
}

func stringList(v any) []string {
	switch x := v.(type) {
	case []any:
		out := make([]string, 0, len(x))
		for _, e := range x {
			out = append(out, fmt.Sprint(e))
		}
		return out
	case string:
		// A comma-separated string, for SDKs that cannot set array attributes.
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

// group is a set of selected spans and the statistics computed over it,
// each at most once.
type group struct {
	rc    *runCtx
	spans []*entry
	k     int

	lat    *latencyVal
	ttftV  *latencyVal // ttft.go
	evalsV *evalsStats // evals.go
	tok    *tokenVals
	ret    *retrievalVal

	queriesDone bool
	queries     []scoredQuery
	candidates  int

	errsDone bool
	errs     int

	// memo holds the values of Go-evaluated comprehensions by their text,
	// shared by the expectation and the observed expressions.
	memo map[string]ref.Val

	costDone  bool
	costV     ref.Val
	costSrc   string
	traceList []int32 // indices into run.Traces, in order of first selected span
}

func (g *group) latency() *latencyVal {
	if g.lat == nil {
		d := make([]float64, len(g.spans))
		for i, e := range g.spans {
			d[i] = e.s.DurationMS
		}
		l, err := summariseOwned(d)
		if err != nil {
			err = fmt.Errorf("no spans selected")
		}
		g.lat = &latencyVal{l: l, err: err}
	}
	return g.lat
}

func (g *group) tokens() *tokenVals {
	if g.tok == nil {
		g.tok = &tokenVals{}
		for _, e := range g.spans {
			g.tok.add(e.s)
		}
	}
	return g.tok
}

func (g *group) count() int { return len(g.spans) }

func (g *group) errors() int {
	if !g.errsDone {
		n := 0
		for _, e := range g.spans {
			if e.s.IsError() {
				n++
			}
		}
		g.errs, g.errsDone = n, true
	}
	return g.errs
}

func (g *group) errorRate() ref.Val {
	if len(g.spans) == 0 {
		return errVal("error_rate: no spans selected")
	}
	return types.Double(float64(g.errors()) / float64(len(g.spans)))
}

func (g *group) countOps(ops ...string) int {
	n := 0
	for _, e := range g.spans {
		if slices.Contains(ops, e.s.Operation) {
			n++
		}
	}
	return n
}

// costVal sums span costs, of the spans whose usage counts
// (span.Span.CountsUsage). It is an error when such a span has tokens that
// cannot be priced, or when no selected span has a cost at all.
func (g *group) costVal() ref.Val {
	if g.costDone {
		return g.costV
	}
	g.costDone = true
	var sum float64
	reported, priced, repeated := 0, 0, 0
	var errs []string
	for _, e := range g.spans {
		if !e.s.CountsUsage() {
			// its cost is its descendants' (span.Span.CountsUsage)
			if e.s.ReportsUsage() {
				repeated++
			}
			continue
		}
		switch {
		case e.costErr != nil:
			if msg := e.costErr.Error(); !slices.Contains(errs, msg) {
				errs = append(errs, msg)
			}
		case e.costOK:
			sum += e.cost
			if e.costReported {
				reported++
			} else {
				priced++
			}
		}
	}
	switch {
	case len(errs) > 0:
		sort.Strings(errs)
		g.costV = errVal("cost: %s", strings.Join(errs, "; "))
	case reported+priced == 0 && repeated > 0:
		g.costV = errVal("cost: no selected span reports tokens or a cost of its own: the %d selected spans that report usage repeat what their descendants report (sums count only the innermost spans that report usage; select those, e.g. the model calls)", repeated)
	case reported+priced == 0:
		g.costV = errVal("cost: no selected span reports tokens or a cost")
	default:
		g.costV = types.Double(sum)
	}
	switch {
	case reported > 0 && priced > 0:
		g.costSrc = fmt.Sprintf("mixed: %s reported a cost, %d priced from pricing:", count(reported, "span", "spans"), priced)
	case reported > 0:
		g.costSrc = "reported on the spans (llm.cost.total)"
	case priced > 0:
		g.costSrc = "computed from pricing: (USD per 1M tokens)"
	}
	return g.costV
}

// scoredQuery is one retrieval span with ground truth and its metrics.
type scoredQuery struct {
	e *entry
	m QueryMetrics
}

// queryScores scores every retrieval span of the group (a span with the
// retrieval operation or with documents) that has ground truth, once;
// candidates counts all retrieval spans, with or without ground truth.
func (g *group) queryScores() (scores []scoredQuery, candidates int) {
	if g.queriesDone {
		return g.queries, g.candidates
	}
	g.queriesDone = true
	// Score parts of the selection in parallel; join them in order.
	parts := 1
	if len(g.spans) >= 16<<10 {
		parts = runtime.GOMAXPROCS(0)
	}
	type part struct {
		queries    []scoredQuery
		candidates int
	}
	out := make([]part, parts)
	var wg sync.WaitGroup
	for p := range out {
		from, to := p*len(g.spans)/parts, (p+1)*len(g.spans)/parts
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[p].queries, out[p].candidates = g.scoreRange(g.spans[from:to])
		}()
	}
	wg.Wait()
	for _, p := range out {
		g.queries = append(g.queries, p.queries...)
		g.candidates += p.candidates
	}
	return g.queries, g.candidates
}

func (g *group) scoreRange(spans []*entry) (queries []scoredQuery, candidates int) {
	n := 0 // size the result once: a doubling slice of 250k queries allocates 4× its size
	for _, e := range spans {
		if e.s.Operation == span.OpRetrieval || len(e.s.Documents) > 0 {
			n++
		}
	}
	if n == 0 {
		return nil, 0
	}
	queries = make([]scoredQuery, 0, n)
	var ids []string
	for _, e := range spans {
		s := e.s
		if s.Operation != span.OpRetrieval && len(s.Documents) == 0 {
			continue
		}
		candidates++
		rel, ok := g.rc.groundTruth(s)
		if !ok || len(rel) == 0 {
			continue
		}
		ids = ids[:0]
		for _, d := range s.Documents {
			ids = append(ids, d.ID)
		}
		queries = append(queries, scoredQuery{e, ScoreQuery(ids, rel, g.k)})
	}
	return queries, candidates
}

// retrievalSums adds up the query metrics (sums merge exactly across groups).
func (g *group) retrievalSums() (RetrSums, int) {
	scores, candidates := g.queryScores()
	r := RetrSums{K: g.k, Queries: len(scores), WithoutGroundTruth: candidates - len(scores)}
	for _, q := range scores {
		r.Hit += q.m.Hit
		r.RR += q.m.RR
		r.Recall += q.m.Recall
		r.Precision += q.m.Precision
		r.NDCG += q.m.NDCG
	}
	return r, candidates
}

func (g *group) retrieval() *retrievalVal {
	if g.ret != nil {
		return g.ret
	}
	sums, candidates := g.retrievalSums()
	g.ret = &retrievalVal{r: Retrieval{K: g.k, Queries: sums.Queries, WithoutGroundTruth: sums.WithoutGroundTruth}}
	switch {
	case candidates == 0:
		g.ret.err = fmt.Errorf("no retrieval spans selected")
	case sums.Queries == 0:
		g.ret.err = fmt.Errorf("none of the %d retrieval spans has ground truth (set %s on the span or an ancestor, or retrieval.ground_truth in the config)", candidates, RelevantIDsAttr)
	default:
		n := float64(sums.Queries)
		g.ret.r.HitRate, g.ret.r.MRR, g.ret.r.Recall = sums.Hit/n, sums.RR/n, sums.Recall/n
		g.ret.r.Precision, g.ret.r.NDCG = sums.Precision/n, sums.NDCG/n
	}
	return g.ret
}

// traces lists the traces of the selected spans, in order of their first
// selected span.
func (g *group) traces() []int32 {
	if g.traceList == nil {
		seen := make([]bool, len(g.rc.tvals))
		g.traceList = []int32{}
		for _, e := range g.spans {
			if !seen[e.ti] {
				seen[e.ti] = true
				g.traceList = append(g.traceList, e.ti)
			}
		}
	}
	return g.traceList
}

// traceCount is len(g.traces()) without building the list.
func (g *group) traceCount() int {
	if g.traceList != nil {
		return len(g.traceList)
	}
	seen := make([]uint64, (len(g.rc.tvals)+63)/64)
	n := 0
	for _, e := range g.spans {
		w, b := e.ti/64, uint64(1)<<(e.ti%64)
		if seen[w]&b == 0 {
			seen[w] |= b
			n++
		}
	}
	return n
}

// byTrace splits the selected spans by trace: the spans of g.traces()[i]
// are out[i], in selection order.
func (g *group) byTrace() [][]*entry {
	tl := g.traces()
	pos := make([]int32, len(g.rc.tvals)) // trace index → position in tl
	for i, ti := range tl {
		pos[ti] = int32(i)
	}
	counts := make([]int32, len(tl)+1)
	for _, e := range g.spans {
		counts[pos[e.ti]+1]++
	}
	for i := 1; i < len(counts); i++ {
		counts[i] += counts[i-1]
	}
	flat := make([]*entry, len(g.spans))
	next := slices.Clone(counts[:len(tl)])
	for _, e := range g.spans {
		p := pos[e.ti]
		flat[next[p]] = e
		next[p]++
	}
	out := make([][]*entry, len(tl))
	for i := range tl {
		out[i] = flat[counts[i]:counts[i+1]:counts[i+1]]
	}
	return out
}

func (g *group) spansList() ref.Val {
	vals := make([]ref.Val, len(g.spans))
	for i, e := range g.spans {
		vals[i] = obj{spanObj, e}
	}
	return types.NewRefValList(theProvider, vals)
}

func (g *group) tracesList() ref.Val {
	ts := g.traces()
	vals := make([]ref.Val, len(ts))
	for i, t := range ts {
		vals[i] = obj{traceObj, &g.rc.tvals[t]}
	}
	return types.NewRefValList(theProvider, vals)
}

// ResolveName implements the CEL activation: variables are computed on
// first use.
func (g *group) ResolveName(name string) (any, bool) {
	switch name {
	case groupVar:
		return g, true
	case "spans":
		return g.spansList(), true
	case "count":
		return types.Int(len(g.spans)), true
	case "traces":
		return g.tracesList(), true
	case "latency":
		return obj{latencyObj, g.latency()}, true
	case "ttft":
		return obj{ttftObj, g.ttft()}, true
	case "tokens":
		t := g.tokens()
		return obj{tokensObj, t}, true
	case "cost":
		return g.costVal(), true
	case "errors":
		return types.Int(g.errors()), true
	case "error_rate":
		return g.errorRate(), true
	case "retrieval":
		return obj{retrievalObj, g.retrieval()}, true
	case "evals":
		return evalsMap{g.evals()}, true
	}
	return nil, false
}

// traceVal is a trace as seen by expressions.
type traceVal struct {
	rc  *runCtx
	t   *span.Trace
	mu  sync.Mutex // guards grp and trajectory
	grp *group
	// trajectory is trace.tools, .agents and .models (trajectory.go).
	trajectory *trajectory
}

// all is the group of every span of the trace. Its statistics are cached
// and assertions run concurrently: use it through locked.
func (tv *traceVal) all() *group {
	if tv.grp == nil {
		g := &group{rc: tv.rc, k: tv.rc.cfg.Retrieval.K}
		for _, s := range tv.t.Spans {
			g.spans = append(g.spans, tv.rc.entryOf(s))
		}
		tv.grp = g
	}
	return tv.grp
}

// countOps, errors and tokens read the trace's spans directly (no entries).
func (tv *traceVal) countOps(ops ...string) int {
	n := 0
	for _, s := range tv.t.Spans {
		if slices.Contains(ops, s.Operation) {
			n++
		}
	}
	return n
}

func (tv *traceVal) errors() int {
	n := 0
	for _, s := range tv.t.Spans {
		if s.IsError() {
			n++
		}
	}
	return n
}

// locked calls f with the trace's group, holding the trace's lock.
func (tv *traceVal) locked(f func(g *group) ref.Val) ref.Val {
	tv.mu.Lock()
	defer tv.mu.Unlock()
	return f(tv.all())
}

func (tv *traceVal) tokens() *tokenVals {
	t := &tokenVals{}
	for _, s := range tv.t.Spans {
		t.add(s)
	}
	return t
}

// traceActivation adds `trace` to a per-trace group.
type traceActivation struct {
	*group
	tv   *traceVal
	tref any // obj{traceObj, tv}, boxed once per trace
}

func (a *traceActivation) ResolveName(name string) (any, bool) {
	if name == "trace" {
		if a.tref == nil {
			a.tref = obj{traceObj, a.tv}
		}
		return a.tref, true
	}
	return a.group.ResolveName(name)
}

// spanActivation binds `span` for where predicates.
type spanActivation struct{ e *entry }

func (a *spanActivation) ResolveName(name string) (any, bool) {
	if name == "span" {
		return obj{spanObj, a.e}, true
	}
	return nil, false
}
