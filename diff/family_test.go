package diff

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	lassert "github.com/llmcheck/llmcheck/assert"
)

// Issue #11 item 1: the rules and the table are one family, and a rule
// over one group tests what the table's row of that group tests, so they
// agree: never "significant" for the rule and ~ in the table.
func TestRulesAndTableOneFamily(t *testing.T) {
	suite := calibrationSuite(t)
	opts := Options{Pricing: testPricing}
	sig := RuleSignificance(0, 0)
	const rule = "gpt-4o p95 grows at most 10 %"
	significant, notSignificant := 0, 0
	for p := 0; p < 60; p++ {
		seed := uint64(7000 + 2*p)
		base := scenario{seed: seed, tests: 100, hitRate: 0.8, errorRate: 0.01}.run()
		head := scenario{seed: seed + 1, tests: 100, hitRate: 0.8, errorRate: 0.01, answerLatency: 1.1}.run()
		cmp := Compare(base, head, opts)
		rules := suite.EvaluateRegressions(base, head, sig)
		cmp.CorrectRules(rules)

		var r lassert.Result
		for _, x := range rules {
			if x.Name == rule {
				r = x
			}
		}
		require.Len(t, r.Significance, 1)
		rt := r.Significance[0]
		row := find(t, cmp, "ragdemo · chat · gpt-4o").Metric(MetricLatencyP95).Test
		require.Equal(t, row.Key, rt.Key, "the rule over one group and the table row are the same test")
		assert.Equal(t, row.PAdjusted, rt.PAdjusted, "pair %d", p)
		assert.Equal(t, row.Significant, rt.Significant, "pair %d", p)
		if r.Failed {
			assert.Equal(t, row.Significant, r.Status == lassert.Fail, "pair %d: %s", p, r.Message)
		}
		if row.Significant {
			significant++
		} else {
			notSignificant++
		}

		// One family: the table's counted tests and the rules' tests that
		// are not table rows, each once.
		keys := map[string]bool{}
		for _, tt := range cmp.tests() {
			if tt.Counted {
				keys[tt.Key] = true
			}
		}
		for _, x := range rules {
			for _, s := range x.Significance {
				if s.Counted {
					keys[s.Key] = true
				}
			}
		}
		assert.Equal(t, len(keys), cmp.Comparisons)
	}
	t.Logf("latency +10 %%, 100 a side: significant in %d of 60 pairs", significant)
	assert.Positive(t, significant)
	assert.Positive(t, notSignificant, "a marginal change: both verdicts occur, and agree")
}
