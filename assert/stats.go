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
	if d := s[i+1] - s[i]; !math.IsInf(d, 0) {
		return s[i] + (h-lo)*d, nil
	}
	// Neighbours further apart than a float64 can hold (recorded numbers,
	// such as evaluation scores, of opposite signs near the limits).
	return s[i]*(1-(h-lo)) + s[i+1]*(h-lo), nil
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
	l := Latency{Min: s[0], Max: s[len(s)-1], Avg: Mean(s), N: len(s)}
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

// lookupPrice finds the price of model: the exact key; else the longest
// key that the model name extends by a version suffix only
// (versionSuffix: gpt-4o-2024-08-06 is priced as gpt-4o, gpt-4o-mini is
// not); else the same after dropping a provider prefix ("openai/gpt-4o",
// or the "anthropic." and "us.anthropic." of Bedrock model ids).
func lookupPrice(pricing map[string]Price, model string) (Price, bool) {
	if model == "" {
		return Price{}, false
	}
	if p, ok := pricing[model]; ok {
		return p, true
	}
	best := ""
	for k := range pricing {
		if len(k) > len(best) && len(k) < len(model) && strings.HasPrefix(model, k) && versionSuffix(model[len(k):]) {
			best = k
		}
	}
	if best != "" {
		return pricing[best], true
	}
	if i := strings.LastIndexByte(model, '/'); i >= 0 {
		return lookupPrice(pricing, model[i+1:])
	}
	if rest, ok := dropCloudPrefix(model); ok {
		return lookupPrice(pricing, rest)
	}
	return Price{}, false
}

// ModelFamily is model without the version suffix (versionSuffix) the
// pricing rules price across: gpt-4o-mini for gpt-4o-mini-2024-07-18,
// claude-3-5-sonnet for claude-3-5-sonnet-20241022; the longest such
// suffix is dropped (o1 for o1-preview-2024-09-12), so a pricing key named
// by the family prices the model. A provider prefix is kept
// (openai/gpt-4o for openai/gpt-4o-2024-08-06); a name that is a version
// and nothing else is its own family.
func ModelFamily(model string) string {
	for i := 1; i < len(model); i++ {
		if (model[i] == '-' || model[i] == '@') && versionSuffix(model[i:]) {
			return model[:i]
		}
	}
	return model
}

// versionSuffix reports whether s (what a model name adds to a pricing
// key) names a version of the same model rather than another model:
//
//	[-VERSION][CLOUD]   (at least one of them)
//
// VERSION is a date (2024-08-06, 20240806), a four-digit snapshot (0613),
// a three-digit version (002), latest, or preview with an optional date
// (preview, preview-2024-09-12, preview-05-06); CLOUD is a Bedrock
// version (-v1:0) or a Vertex AI version (@20241022, @latest, @001).
func versionSuffix(s string) bool {
	if s == "" {
		return false
	}
	if rest, ok := strings.CutPrefix(s, "-"); ok {
		if r, ok := cutVersion(rest); ok {
			s = r
		}
	}
	if s == "" {
		return true
	}
	return cloudVersion(s)
}

// cutVersion removes one VERSION (see versionSuffix) from the start of s.
func cutVersion(s string) (string, bool) {
	for _, w := range []string{"latest", "preview"} {
		if rest, ok := strings.CutPrefix(s, w); ok && (rest == "" || rest[0] == '-' || rest[0] == '@') {
			if w == "preview" && rest != "" && rest[0] == '-' {
				if n := dateLen(rest[1:]); n > 0 {
					return rest[1+n:], true
				}
				if n := digitsDashDigits(rest[1:], 2, 2); n > 0 { // preview-05-06
					return rest[1+n:], true
				}
			}
			return rest, true
		}
	}
	if n := dateLen(s); n > 0 {
		return s[n:], true
	}
	if n := digits(s); (n == 3 || (n == 4 && monthDay(s[:4]))) && (len(s) == n || s[n] == '-' || s[n] == '@') {
		return s[n:], true
	}
	return s, false
}

// monthDay reports whether the four digits md are a month (01–12) and a
// day (01–31).
func monthDay(md string) bool {
	m := int(md[0]-'0')*10 + int(md[1]-'0')
	d := int(md[2]-'0')*10 + int(md[3]-'0')
	return m >= 1 && m <= 12 && d >= 1 && d <= 31
}

// dateLen is the length of a date at the start of s (2024-08-06 or
// 20240806) ending there or before "-" or "@", else 0.
func dateLen(s string) int {
	n := 0
	if digitsDashDigits(s, 4, 2) == 7 && len(s) >= 10 && s[7] == '-' && digits(s[8:]) == 2 && monthDay(s[5:7]+s[8:10]) {
		n = 10
	} else if digits(s) == 8 && monthDay(s[4:8]) {
		n = 8
	}
	if n == 0 || (len(s) > n && s[n] != '-' && s[n] != '@') {
		return 0
	}
	return n
}

// digitsDashDigits is the length of a digits, "-", b digits at the start
// of s (followed by anything), else 0.
func digitsDashDigits(s string, a, b int) int {
	if digits(s) != a || len(s) <= a || s[a] != '-' || digits(s[a+1:]) != b {
		return 0
	}
	return a + 1 + b
}

// digits is the number of ASCII digits at the start of s.
func digits(s string) int {
	n := 0
	for n < len(s) && s[n] >= '0' && s[n] <= '9' {
		n++
	}
	return n
}

// cloudVersion reports whether s is a whole CLOUD suffix (versionSuffix).
func cloudVersion(s string) bool {
	if rest, ok := strings.CutPrefix(s, "-v"); ok { // Bedrock: -v1:0
		n := digits(rest)
		if n == 0 || len(rest) <= n || rest[n] != ':' {
			return false
		}
		m := digits(rest[n+1:])
		return m > 0 && n+1+m == len(rest)
	}
	if rest, ok := strings.CutPrefix(s, "@"); ok { // Vertex AI: @20241022
		n := digits(rest)
		return rest == "latest" || ((n == 8 || n == 3) && n == len(rest))
	}
	return false
}

// dropCloudPrefix removes one provider or region segment of a Bedrock
// model id ("anthropic." of anthropic.claude-3-haiku-20240307-v1:0, "us."
// of a cross-region profile's us.anthropic.…): lower-case letters and
// digits, starting with a letter, then ".", then a letter.
func dropCloudPrefix(model string) (string, bool) {
	i := strings.IndexByte(model, '.')
	if i <= 0 || i+1 >= len(model) || !isLower(model[0]) || !isLower(model[i+1]) {
		return "", false
	}
	for j := 0; j < i; j++ {
		if c := model[j]; !isLower(c) && (c < '0' || c > '9') {
			return "", false
		}
	}
	return model[i+1:], true
}

func isLower(c byte) bool { return c >= 'a' && c <= 'z' }

// SpanCost returns the cost function of a pricing table: the USD cost of a
// span (reported on the span, else priced) and whether it has one.
func SpanCost(pricing map[string]Price) func(*span.Span) (float64, bool) {
	return func(s *span.Span) (float64, bool) {
		usd, _, ok, err := CostOf(s, pricing)
		return usd, ok && err == nil
	}
}

// Mean is the arithmetic mean of xs (0 for none). A sum beyond float64
// (recorded numbers, such as evaluation scores, near its limits) is
// taken as the sum of the values divided first, so the mean of finite
// values is finite.
func Mean(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	var sum float64
	for _, x := range xs {
		sum += x
	}
	n := float64(len(xs))
	if !math.IsInf(sum, 0) && !math.IsNaN(sum) {
		return sum / n
	}
	sum = 0
	for _, x := range xs {
		sum += x / n
	}
	return sum
}
