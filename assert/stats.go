package assert

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/llmcheck/llmcheck/span"
)

// ErrNoData is returned by a statistic over no values: a threshold over no
// data must never pass.
var ErrNoData = errors.New("no values")

// Percentile returns the q-quantile (0 ≤ q ≤ 1) of values by linear
// interpolation between closest ranks (Hyndman–Fan type 7, NumPy's and
// k6's default). values need not be sorted; it is not modified.
func Percentile(values []float64, q float64) (float64, error) {
	if len(values) == 0 {
		return 0, ErrNoData
	}
	s := slices.Clone(values)
	slices.Sort(s)
	return percentileSorted(s, q)
}

func percentileSorted(s []float64, q float64) (float64, error) {
	if len(s) == 0 {
		return 0, ErrNoData
	}
	if math.IsNaN(q) || q < 0 || q > 1 {
		return 0, fmt.Errorf("percentile: q must be between 0 and 1, got %g (write 0.95 for p95)", q)
	}
	h := float64(len(s)-1) * q
	lo := math.Floor(h)
	i := int(lo)
	if i+1 >= len(s) {
		return s[len(s)-1], nil
	}
	return s[i] + (h-lo)*(s[i+1]-s[i]), nil
}

// Latency summarises span durations in milliseconds.
type Latency struct {
	P50, P90, P95, P99, Min, Max, Avg float64
	N                                 int
}

// Summarise computes the latency summary of durations (ms).
func Summarise(durations []float64) (Latency, error) {
	if len(durations) == 0 {
		return Latency{}, ErrNoData
	}
	return summariseOwned(slices.Clone(durations))
}

// summariseOwned is Summarise on a slice it may sort in place.
func summariseOwned(s []float64) (Latency, error) {
	if len(s) == 0 {
		return Latency{}, ErrNoData
	}
	slices.Sort(s)
	var sum float64
	for _, d := range s {
		sum += d
	}
	l := Latency{Min: s[0], Max: s[len(s)-1], Avg: sum / float64(len(s)), N: len(s)}
	l.P50, _ = percentileSorted(s, 0.50)
	l.P90, _ = percentileSorted(s, 0.90)
	l.P95, _ = percentileSorted(s, 0.95)
	l.P99, _ = percentileSorted(s, 0.99)
	return l, nil
}

// QueryMetrics are the retrieval metrics of one query at k.
type QueryMetrics struct {
	Hit, RR, Recall, Precision, NDCG float64
}

// ScoreQuery computes hit@k, reciprocal rank, recall@k, precision@k and
// NDCG@k with binary relevance (REFERENCE.md §6). retrieved is in rank
// order; relevant must be non-empty. The reciprocal rank counts a first
// relevant document within the top k only.
func ScoreQuery(retrieved, relevant []string, k int) QueryMetrics {
	if len(relevant) <= 16 && min(len(retrieved), k) <= 16 {
		return scoreQuerySmall(retrieved, relevant, k)
	}
	return scoreQueryMap(retrieved, relevant, k)
}

func scoreQueryMap(retrieved, relevant []string, k int) QueryMetrics {
	rel := make(map[string]bool, len(relevant))
	for _, id := range relevant {
		rel[id] = true
	}
	var m QueryMetrics
	var dcg float64
	found := 0
	seen := map[string]bool{}
	for i, id := range retrieved {
		if i >= k {
			break
		}
		if !rel[id] || seen[id] {
			continue
		}
		seen[id] = true
		found++
		if m.RR == 0 {
			m.RR = 1 / float64(i+1)
		}
		dcg += 1 / math.Log2(float64(i+2))
	}
	if found > 0 {
		m.Hit = 1
	}
	m.Recall = float64(found) / float64(len(rel))
	m.Precision = float64(found) / float64(k)
	var idcg float64
	for i := 0; i < min(len(rel), k); i++ {
		idcg += 1 / math.Log2(float64(i+2))
	}
	m.NDCG = dcg / idcg
	return m
}

// scoreQuerySmall is ScoreQuery by linear search, without maps, for the
// usual few documents and relevant ids; it computes the same values in the
// same order.
func scoreQuerySmall(retrieved, relevant []string, k int) QueryMetrics {
	nrel := 0 // distinct relevant ids
	for i, id := range relevant {
		if !slices.Contains(relevant[:i], id) {
			nrel++
		}
	}
	var m QueryMetrics
	var dcg float64
	found := 0
	for i, id := range retrieved {
		if i >= k {
			break
		}
		// seen: a relevant id already counted at an earlier rank.
		if !slices.Contains(relevant, id) || slices.Contains(retrieved[:i], id) {
			continue
		}
		found++
		if m.RR == 0 {
			m.RR = 1 / float64(i+1)
		}
		dcg += 1 / math.Log2(float64(i+2))
	}
	if found > 0 {
		m.Hit = 1
	}
	m.Recall = float64(found) / float64(nrel)
	m.Precision = float64(found) / float64(k)
	var idcg float64
	for i := 0; i < min(nrel, k); i++ {
		idcg += 1 / math.Log2(float64(i+2))
	}
	m.NDCG = dcg / idcg
	return m
}

// Retrieval aggregates query metrics (means over queries with ground truth).
type Retrieval struct {
	HitRate, MRR, Recall, Precision, NDCG float64
	Queries                               int // queries with ground truth
	WithoutGroundTruth                    int // retrieval spans left out
	K                                     int
}

// CostOf computes the USD cost of one span: the cost reported on the span
// when there is one, else tokens × pricing. Input tokens include cached
// tokens (GenAI semconv), so cached tokens are priced once, at the cached
// rate: (input − cached) × input + cached × cached_input + output × output.
// ok is false when the span has neither; err says why a span with tokens
// cannot be priced.
func CostOf(s *span.Span, pricing map[string]Price) (usd float64, reported, ok bool, err error) {
	if s.HasCost {
		return s.Cost, true, true, nil
	}
	if !s.Tokens.HasInput && !s.Tokens.HasOutput {
		if s.Tokens.HasTotal {
			return 0, false, false, fmt.Errorf("span %q (%s) reports only a total token count; cost needs input and output counts", s.Name, s.SpanID)
		}
		return 0, false, false, nil
	}
	p, found := lookupPrice(pricing, s.Model)
	if !found {
		model := s.Model
		if model == "" {
			return 0, false, false, fmt.Errorf("span %q (%s) has tokens but no model, so it cannot be priced", s.Name, s.SpanID)
		}
		return 0, false, false, fmt.Errorf("no price for model %q: add it under pricing: in USD per 1M tokens", model)
	}
	in, out, cached := float64(s.Tokens.Input), float64(s.Tokens.Output), float64(s.Tokens.Cached)
	if cached > in {
		cached = in
	}
	cachedPrice := p.Input
	if p.HasCachedInput {
		cachedPrice = p.CachedInput
	}
	usd = ((in-cached)*p.Input + cached*cachedPrice + out*p.Output) / 1e6
	return usd, false, true, nil
}

// lookupPrice finds the price of model: an exact key, else the longest key
// that the model name extends with "-" (a dated snapshot such as
// gpt-4o-mini-2024-07-18 priced as gpt-4o-mini), else the same after a
// "provider/" prefix is dropped.
func lookupPrice(pricing map[string]Price, model string) (Price, bool) {
	if model == "" {
		return Price{}, false
	}
	if p, ok := pricing[model]; ok {
		return p, true
	}
	best := ""
	for k := range pricing {
		if len(k) > len(best) && strings.HasPrefix(model, k+"-") {
			best = k
		}
	}
	if best != "" {
		return pricing[best], true
	}
	if i := strings.LastIndexByte(model, '/'); i >= 0 {
		return lookupPrice(pricing, model[i+1:])
	}
	return Price{}, false
}

// SpanCost returns the cost function of a pricing table: the USD cost of a
// span (reported on the span, else priced) and whether it has one.
func SpanCost(pricing map[string]Price) func(*span.Span) (float64, bool) {
	return func(s *span.Span) (float64, bool) {
		usd, _, ok, err := CostOf(s, pricing)
		return usd, ok && err == nil
	}
}
