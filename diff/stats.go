package diff

import (
	"math"
	"slices"

	"github.com/aclements/go-moremath/stats"
	"golang.org/x/perf/benchmath"

	"github.com/llmcheck/llmcheck/assert"
	"github.com/llmcheck/llmcheck/span"
)

// Defaults of Options.
const (
	DefaultAlpha      = 0.05
	DefaultMinSamples = 6
	DefaultK          = 5
)

// DefaultTestAttr are the attributes that name the test a trace belongs
// to, in order of preference: besides test.name and llmcheck.test, the
// OpenTelemetry test conventions test.case.name (qualified as "suite /
// case" when the trace also has test.suite.name) and test.suite.name.
var DefaultTestAttr = span.DefaultTestAttrs

// Verdict is the outcome of comparing two samples.
type Verdict struct {
	// P is the two-sided Mann-Whitney U p-value (1 when a side is empty).
	P float64 `json:"p"`
	// Significant is P ≤ alpha with enough samples (in a Report: after
	// Holm's correction, see Test).
	Significant bool `json:"significant"`
	// TooFew is set when a side has fewer than minSamples values: the
	// change is then never significant, whatever P says.
	TooFew bool `json:"too_few"`
	N1     int  `json:"n1"`
	N2     int  `json:"n2"`
}

// Significance compares two samples with the Mann-Whitney U test
// (benchmath.AssumeNothing: no assumption about the distributions, ties
// handled, exact p-values for small samples). A difference is significant
// when p ≤ alpha and both sides have at least minSamples values. alpha
// outside (0, 1) means DefaultAlpha; minSamples ≤ 0 means
// DefaultMinSamples. The slices are not modified.
//
// One call is one test: when several are read together, correct for
// multiple comparisons (Compare applies Holm's method, see the package
// documentation).
func Significance(base, head []float64, alpha float64, minSamples int) Verdict {
	if !(alpha > 0 && alpha < 1) {
		alpha = DefaultAlpha
	}
	if minSamples <= 0 {
		minSamples = DefaultMinSamples
	}
	v := Verdict{P: 1, N1: len(base), N2: len(head)}
	v.TooFew = v.N1 < minSamples || v.N2 < minSamples
	if v.N1 == 0 || v.N2 == 0 {
		return v
	}
	th := benchmath.Thresholds{CompareAlpha: alpha}
	// NewSample sorts its argument in place.
	c := benchmath.AssumeNothing.Compare(
		benchmath.NewSample(slices.Clone(base), &th),
		benchmath.NewSample(slices.Clone(head), &th))
	v.P = c.P
	if p, ok := exactTiedP(base, head); ok {
		v.P = p
	}
	if math.IsNaN(v.P) {
		v.P = 1
	}
	v.Significant = !v.TooFew && v.P <= alpha
	return v
}

// exactTiedP is the exact two-sided p-value of the U test for small
// samples of different sizes with ties (evaluation scores on a coarse
// scale, 0/1 indicators): twice the smaller tail of U's distribution at
// the observed U. The library doubles the lower tail at min(U1, U2),
// right only when the distribution is symmetric, which with ties it is
// not unless the sizes are equal (it gave p=0.013 for an exact 0.036).
// ok is false where the library's p-value stands: no ties, equal sizes,
// or samples past its exact limit (the normal approximation).
func exactTiedP(base, head []float64) (p float64, ok bool) {
	n1, n2 := len(base), len(head)
	if n1 == n2 || n1 == 0 || n2 == 0 || n1 > stats.MannWhitneyTiesExactLimit || n2 > stats.MannWhitneyTiesExactLimit {
		return 0, false
	}
	merged := append(slices.Clone(base), head...)
	slices.Sort(merged)
	var ties []int
	for i := 0; i < len(merged); {
		j := i
		for j < len(merged) && merged[j] == merged[i] {
			j++
		}
		ties = append(ties, j-i)
		i = j
	}
	if len(ties) == len(merged) || len(ties) == 1 {
		return 0, false // no ties: exact and symmetric; all equal: nothing to test
	}
	u := 0.0
	for _, x := range base {
		for _, y := range head {
			switch {
			case x > y:
				u++
			case x == y:
				u += 0.5
			}
		}
	}
	d := stats.UDist{N1: n1, N2: n2, T: ties}
	lower, upper := d.CDF(u), 1-d.CDF(u-0.5)
	return math.Min(1, 2*math.Min(lower, upper)), true
}

// constant reports whether every value of a and b is the same: the U test
// then has nothing to rank and can never be significant.
func constant(a, b []float64) bool {
	var first float64
	seen := false
	for _, s := range [][]float64{a, b} {
		for _, x := range s {
			if !seen {
				first, seen = x, true
			} else if x != first {
				return false
			}
		}
	}
	return true
}

// holm applies Holm's step-down correction (assert.Holm) to the tests
// that can be significant, sets PAdjusted and Significant on every test,
// and returns how many were counted.
func holm(tests []*Test, alpha float64) int {
	var family []*Test
	var ps []float64
	for _, t := range tests {
		t.PAdjusted = t.P
		t.Significant = false
		if t.Counted {
			family = append(family, t)
			ps = append(ps, t.P)
		}
	}
	for i, adj := range assert.Holm(ps) {
		family[i].PAdjusted = adj
		family[i].Significant = adj <= alpha
	}
	return len(family)
}

// RuleSignificance is the test regression rules use: Significance's
// Mann-Whitney U test, uncorrected, with the same alpha and minimum
// samples as the comparison table, and a test that cannot be significant
// (too few samples, every value the same) left out of the family as the
// table leaves it out. CorrectRules applies the report's correction.
func RuleSignificance(alpha float64, minSamples int) assert.SignificanceFunc {
	o := Options{Alpha: alpha, MinSamples: minSamples}.withDefaults()
	return func(base, head []float64) assert.Significance {
		v := Significance(base, head, o.Alpha, o.MinSamples)
		return assert.Significance{P: v.P, PAdjusted: v.P, Significant: v.Significant, TooFew: v.TooFew,
			Counted: !v.TooFew && !constant(base, head), NBase: v.N1, NHead: v.N2, Alpha: o.Alpha, MinSamples: o.MinSamples}
	}
}

// CorrectRules makes the report's tests and the regression rules' tests
// one family under Holm's correction, so that what one report tests
// together has a family-wise error of at most Alpha, and a rule over one
// group and the table's row of that group, testing the same sample, are
// one test with one verdict. It sets the adjusted p-values and verdicts of
// both, settles the rules (assert.CorrectRegressions) and recomputes the
// headlines. The structural comparison is a family of its own (a baseline
// summary cannot hold it, and a summary and its trace file must correct
// the same family).
func (r *Report) CorrectRules(rules []assert.Result) {
	tests := r.tests()
	others := make([]assert.FamilyTest, len(tests))
	for i, t := range tests {
		others[i] = assert.FamilyTest{Key: t.Key, P: t.P, Counted: t.Counted}
	}
	adj := assert.CorrectRegressions(rules, others)
	for _, t := range tests {
		t.PAdjusted, t.Significant = t.P, false
		if p, ok := adj[t.Key]; ok && t.Counted {
			t.PAdjusted, t.Significant = p, p <= r.Alpha
		}
	}
	r.Comparisons = len(adj)
	r.Headlines = headlines(r)
}

// tests are the report's distinct tests, in table order.
func (r *Report) tests() []*Test {
	var out []*Test
	seen := map[*Test]bool{}
	for gi := range r.Groups {
		for _, m := range r.Groups[gi].Metrics {
			if m.Test != nil && !seen[m.Test] {
				seen[m.Test] = true
				out = append(out, m.Test)
			}
		}
	}
	return out
}

// spanCost is the USD cost of one span by assert's rule (assert.CostOf):
// the cost the span reports (llm.cost.total) when there is one, else
// tokens × pricing per 1M tokens with cached input priced once. reported
// says which; ok is false when the span has no cost; unpriced is true when
// it has tokens that cannot be priced.
func spanCost(s *span.Span, pricing map[string]assert.Price) (usd float64, reported, ok, unpriced bool) {
	usd, reported, ok, err := assert.CostOf(s, pricing)
	return usd, reported, ok, err != nil
}
