package assert

import (
	"fmt"
	"math"
	"sort"
	"strings"
)

// One report makes many tests: the rules' and the comparison table's.
// Each at α would flag something in most unchanged pairs of runs, so the
// family-wise error over all of them is controlled with Holm's step-down
// method, and a rule fails only when its expectation fails and one of its
// tests is significant after the correction.

// Holm returns Holm's step-down adjusted p-values of ps (same order):
// the i-th smallest of m is multiplied by m − i + 1, made monotone and
// capped at 1. A test is significant at α when its adjusted p ≤ α, and the
// chance that any of m true null hypotheses is rejected is at most α
// whatever their dependence.
func Holm(ps []float64) []float64 {
	idx := make([]int, len(ps))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return ps[idx[a]] < ps[idx[b]] })
	out := make([]float64, len(ps))
	m := len(ps)
	running := 0.0
	for rank, i := range idx {
		running = math.Max(running, math.Min(1, float64(m-rank)*ps[i]))
		out[i] = running
	}
	return out
}

// FamilyTest is a test of the same report besides the rules' (a row of
// the comparison table).
type FamilyTest struct {
	Key     string
	P       float64
	Counted bool
}

// CorrectRegressions applies Holm's correction to one family: the counted
// tests of the rules in rs and of others (the comparison table's rows).
// Tests with the same key are one test. It sets PAdjusted and Significant
// on the rules' tests, settles each rule whose expectation failed (fail
// when a test is significant, else inconclusive with a warning), and
// returns the adjusted p-value of every key in the family.
func CorrectRegressions(rs []Result, others []FamilyTest) map[string]float64 {
	family := map[string]float64{}
	all := map[string]bool{} // with the tests that had too few samples
	for _, t := range others {
		all[t.Key] = true
		if t.Counted {
			family[t.Key] = t.P
		}
	}
	for i := range rs {
		for _, t := range rs[i].Significance {
			all[t.Key] = true
			if t.Counted {
				family[t.Key] = t.P
			}
		}
	}
	keys := make([]string, 0, len(family))
	for k := range family {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	ps := make([]float64, len(keys))
	for i, k := range keys {
		ps[i] = family[k]
	}
	adj := map[string]float64{}
	for i, p := range Holm(ps) {
		adj[keys[i]] = p
	}
	m := len(keys)
	for i := range rs {
		r := &rs[i]
		for j := range r.Significance {
			t := &r.Significance[j]
			t.PAdjusted, t.Significant = t.P, false
			if p, ok := adj[t.Key]; ok && t.Counted {
				t.PAdjusted = p
				t.Significant = p <= t.Alpha
			}
		}
		if r.pending {
			settle(r, m, len(all))
		}
	}
	return adj
}

// settle forms the verdict of a rule whose expectation failed from its
// corrected tests.
func settle(r *Result, m, all int) {
	r.Message, r.Warning, r.Offenders = r.observedMsg, "", nil
	r.Status = Fail
	for _, t := range r.Significance {
		if t.Significant {
			r.Offenders = r.offenders
			r.Message += fmt.Sprintf("; the %s change is significant (%s, n=%d vs %d: %s, adjusted over %d %s)",
				t.Metric, t.Sample, t.NBase, t.NHead, FormatP(t.PAdjusted), m, plural(m, "test", "tests"))
			if r.Severity == "warn" {
				r.Status = Warn
			}
			return
		}
	}
	r.Status = Inconclusive
	var tested []string
	alpha, minN, need, unit := 0.0, 0, 0, ""
	for _, t := range r.Significance {
		alpha, minN = t.Alpha, t.MinSamples
		switch {
		case t.TooFew:
			tested = append(tested, fmt.Sprintf("%s: too few samples, n=%d vs %d", t.Sample, t.NBase, t.NHead))
		case !t.Counted:
			tested = append(tested, fmt.Sprintf("%s: every value the same on both sides", t.Sample))
		default:
			tested = append(tested, fmt.Sprintf("%s: n=%d vs %d, %s adjusted", t.Sample, t.NBase, t.NHead, FormatP(t.PAdjusted)))
		}
		unit = t.Unit
	}
	if r.Significance != nil {
		need = SamplesNeeded(alpha, max(all, 1), minN)
	}
	r.Message += "; not significant (" + strings.Join(tested, "; ") + "), so it does not fail the run (require_significance: false to fail anyway)"
	constant := true
	for _, t := range r.Significance {
		if t.TooFew || t.Counted {
			constant = false
		}
	}
	if constant {
		r.Warning = "inconclusive: the expectation failed, but every value of the tested sample (" + r.Significance[0].Sample + ") is the same on both sides: " +
			"the difference comes from how many " + r.Significance[0].Unit + "s each side has, not from a change per " + r.Significance[0].Unit + ". " +
			"Compare runs of the same requests, or set require_significance: false on this rule to let the expectation alone fail the run."
		return
	}
	r.Warning = fmt.Sprintf("inconclusive: the expectation failed, but the change is not significant at α=%s (Holm's correction over the %d %s of this report). "+
		"With the %d tests this report makes, no difference can be significant with fewer than %d values a side (%ss here: the two-sided Mann-Whitney U test's smallest p-value must reach α/%d, and --min-samples is %d). "+
		"Record more requests, or repeat the tests, so that each side has at least %d %ss, and more for a small change; or set require_significance: false on this rule to let the expectation alone fail the run.",
		FormatFloat(alpha), m, plural(m, "test that could be significant", "tests that could be significant"), max(all, 1), need, unit, max(all, 1), minN, need, unit)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// SamplesNeeded is the smallest number of values a side with which a
// two-sided Mann-Whitney U test can reach significance at alpha in a
// family of m tests under Holm's correction (its smallest p-value,
// 2/C(2n, n) without ties, at most alpha/m), and at least minSamples.
func SamplesNeeded(alpha float64, m, minSamples int) int {
	if m < 1 {
		m = 1
	}
	target := alpha / float64(m)
	n := 1
	for c := 2.0; 2/c > target && n < 1000; n++ {
		// C(2(n+1), n+1) = C(2n, n) · (2n+1)(2n+2) / (n+1)²
		c = c * float64(2*n+1) * float64(2*n+2) / float64((n+1)*(n+1))
	}
	return max(n, minSamples)
}
