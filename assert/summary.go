package assert

import (
	"fmt"
	"math"
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
// regression rule reads and a bounded sample of the per-span values for
// the significance test. Rules compare against it as against a full trace
// file, as long as their where reads only the group's identity (name,
// service, operation, model, provider).

// MaxSamples bounds the values kept per statistic and group.
const MaxSamples = 200

// Summary is the statistics of one group of spans.
type Summary struct {
	Key       string `json:"key"`
	Service   string `json:"service,omitempty"`
	Operation string `json:"operation,omitempty"`
	Model     string `json:"model,omitempty"`
	Provider  string `json:"provider,omitempty"`
	Name      string `json:"name,omitempty"` // only when there is no operation

	Count   int        `json:"count"`
	Errors  int        `json:"errors"`
	Latency *Latency   `json:"latency_ms"`
	Tokens  TokenSums  `json:"tokens"`
	Cost    *float64   `json:"cost_usd,omitempty"`
	CostErr string     `json:"cost_error,omitempty"`
	Retr    *RetrSums  `json:"retrieval,omitempty"`
	Samples SampleSets `json:"samples"`
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

// SampleSets are bounded samples of per-unit values: span durations (ms),
// total tokens per span, cost per span, error indicators, reciprocal rank
// per query. Larger sets keep evenly spaced order statistics.
type SampleSets struct {
	Latency   []float64 `json:"latency,omitempty"` // ms, rounded to the microsecond
	Tokens    []float64 `json:"tokens,omitempty"`
	Cost      []float64 `json:"cost,omitempty"` // USD, 6 significant digits
	Retrieval []float64 `json:"retrieval,omitempty"`
	// Error indicators are not stored: Count and Errors give them exactly.
}

// GroupKey is the stable signature spans are grouped by.
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
		}
		g.spans = append(g.spans, e)
	}
	sort.Strings(keys)
	out := make([]Summary, 0, len(keys))
	for _, k := range keys {
		g, s := byKey[k], sums[k]
		s.Count, s.Errors = len(g.spans), g.errors()
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
			Latency:   round(bound(g.samples("latency")), roundMicro),
			Tokens:    bound(g.samples("tokens")),
			Cost:      round(bound(g.samples("cost")), round6),
			Retrieval: bound(g.samples("retrieval")),
		}
		out = append(out, *s)
	}
	return out
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

func roundMicro(ms float64) float64 { return math.Round(ms*1000) / 1000 }

func round6(x float64) float64 {
	v, _ := strconv.ParseFloat(strconv.FormatFloat(x, 'g', 6, 64), 64)
	return v
}

// errorSample is a bounded sample of 0/1 error indicators with the
// group's exact proportion of errors.
func errorSample(count, errors int) []float64 {
	n := min(count, MaxSamples)
	ones := errors
	if count > MaxSamples {
		ones = int(math.Round(float64(errors) * float64(n) / float64(count)))
	}
	out := make([]float64, n)
	for i := n - ones; i < n; i++ {
		out[i] = 1
	}
	return out
}

// summaryFields are the span fields a where may read on a summary side.
var summaryFields = map[string]bool{"name": true, "service": true, "operation": true, "model": true, "provider": true}

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
	// Several groups: exact min, max and mean; percentiles from the merged
	// bounded samples.
	var all []float64
	var sum float64
	n := 0
	l := Latency{}
	first := true
	for _, g := range sd.groups {
		if g.Latency == nil {
			continue
		}
		all = append(all, g.Samples.Latency...)
		sum += g.Latency.Avg * float64(g.Latency.N)
		n += g.Latency.N
		if first || g.Latency.Min < l.Min {
			l.Min = g.Latency.Min
		}
		if first || g.Latency.Max > l.Max {
			l.Max = g.Latency.Max
		}
		first = false
	}
	if n == 0 {
		return &latencyVal{err: fmt.Errorf("no spans selected in the baseline")}
	}
	m, _ := Summarise(all)
	l.P50, l.P90, l.P95, l.P99, l.Avg, l.N = m.P50, m.P90, m.P95, m.P99, sum/float64(n), n
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

func (sd *summarySide) samples(cat string) []float64 {
	var out []float64
	for _, g := range sd.groups {
		switch cat {
		case "latency":
			out = append(out, g.Samples.Latency...)
		case "tokens":
			out = append(out, g.Samples.Tokens...)
		case "cost":
			out = append(out, g.Samples.Cost...)
		case "errors":
			out = append(out, errorSample(g.Count, g.Errors)...)
		case "retrieval":
			out = append(out, g.Samples.Retrieval...)
		default:
			return nil
		}
	}
	if out == nil {
		out = []float64{}
	}
	return out
}
