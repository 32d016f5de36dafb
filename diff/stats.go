package diff

import (
	"math"
	"slices"
	"sort"

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
var DefaultTestAttr = []string{"test.name", "test.case.name", "llmcheck.test", "code.function", "test.suite.name"}

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
	if math.IsNaN(v.P) {
		v.P = 1
	}
	v.Significant = !v.TooFew && v.P <= alpha
	return v
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

// holm applies Holm's step-down correction to the tests that can be
// significant, sets PAdjusted and Significant on every test, and returns
// how many were counted.
func holm(tests []*Test, alpha float64) int {
	var family []*Test
	for _, t := range tests {
		t.PAdjusted = t.P
		t.Significant = false
		if t.Counted {
			family = append(family, t)
		}
	}
	sort.SliceStable(family, func(i, j int) bool { return family[i].P < family[j].P })
	m := len(family)
	running := 0.0
	for i, t := range family {
		adj := math.Min(1, float64(m-i)*t.P)
		running = math.Max(running, adj)
		t.PAdjusted = running
		t.Significant = running <= alpha
	}
	return m
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
