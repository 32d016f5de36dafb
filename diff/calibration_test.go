package diff

import (
	"encoding/json"
	"flag"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	lassert "github.com/llmcheck/llmcheck/assert"
)

// The calibration measures how often the verdicts are right: many seeded
// pairs of synthetic RAG runs (gen_test.go: per request a trace of a
// routing chat call on gpt-4o-mini, embeddings, retrieval, the answer on
// gpt-4o; lognormal latencies, token counts with noise, 1 % of answer
// calls failing, hit rate 0.8), compared with the five rules of
// calibrationRules the way `llmcheck run --baseline` compares them: the
// comparison table and the rules corrected as one family. Each pair is
// also compared against the base's baseline summary (written to JSON and
// read back), whose verdicts must be the trace file's.
//
// `go test ./diff` runs a small, fixed calibration (TestCalibration). The
// table in docs/statistics.md comes from the larger run:
//
//	go test ./diff -run TestCalibration -calibration.pairs=500 -timeout 60m -v
var calibrationPairs = flag.Int("calibration.pairs", 0, "run the full calibration with this many seeded pairs per scenario and size, and print the table (docs/statistics.md)")

const calibrationRules = `regressions:
  - name: gpt-4o p95 grows at most 10 %
    where: span.operation == "chat" && span.model == "gpt-4o"
    expect: head.latency.p95 <= base.latency.p95 * 1.10
  - name: gpt-4o-mini p95 grows at most 10 %
    where: span.operation == "chat" && span.model == "gpt-4o-mini"
    expect: head.latency.p95 <= base.latency.p95 * 1.10
  - name: chat tokens grow at most 10 %
    where: span.operation == "chat"
    expect: double(head.tokens.total) <= double(base.tokens.total) * 1.10
  - name: chat error rate up at most 1 point
    where: span.operation == "chat"
    expect: head.error_rate <= base.error_rate + 0.01
  - name: hit rate down at most 5 points
    where: span.operation == "retrieval"
    expect: head.retrieval.hit_rate >= base.retrieval.hit_rate - 0.05
`

// calibrationScenario is a change injected into the head run.
type calibrationScenario struct {
	name   string
	change func(sc *scenario)
}

var calibrationScenarios = []calibrationScenario{
	{"no change", func(*scenario) {}},
	{"gpt-4o latency +10 %", func(sc *scenario) { sc.answerLatency = 1.1 }},
	{"gpt-4o latency +20 %", func(sc *scenario) { sc.answerLatency = 1.2 }},
	{"gpt-4o latency +30 %", func(sc *scenario) { sc.answerLatency = 1.3 }},
	{"answer tokens +30 %", func(sc *scenario) { sc.answerTokens = 1.3 }},
	{"one extra LLM call per request", func(sc *scenario) { sc.extraAnswer = true }},
	{"hit rate 0.8 → 0.6", func(sc *scenario) { sc.hitRate = 0.6 }},
	{"answer error rate 1 % → 5 %", func(sc *scenario) { sc.errorRate = 0.05 }},
}

// calibrationOutcome counts, over the pairs of one scenario and size, how
// often the run failed against the trace file, and how often the summary
// gave a different verdict or was refused.
type calibrationOutcome struct {
	pairs, failed, disagree, refused int
	ruleFailed                       map[string]int
	// structural counts the pairs with a significant structural test (the
	// structure's own family; it does not fail the run).
	structural int
}

func calibrate(t testing.TB, suite *lassert.Suite, sc calibrationScenario, n, pairs int) calibrationOutcome {
	out := calibrationOutcome{ruleFailed: map[string]int{}}
	opts := Options{Pricing: suite.Config.Pricing}
	sig := RuleSignificance(opts.Alpha, opts.MinSamples)
	for p := 0; p < pairs; p++ {
		seed := uint64(1_000_000*n + 2*p)
		bsc := scenario{seed: seed, tests: n, hitRate: 0.8, errorRate: 0.01, anonymous: true}
		hsc := bsc
		hsc.seed = seed + 1
		sc.change(&hsc)
		base, head := bsc.run(), hsc.run()

		cmp := Compare(base, head, opts)
		rules := suite.EvaluateRegressions(base, head, sig)
		cmp.CorrectRules(rules)
		out.pairs++
		failed := false
		for _, r := range rules {
			if r.Status == lassert.Fail {
				failed = true
				out.ruleFailed[r.Name]++
			}
		}
		if failed {
			out.failed++
		}
		for _, st := range cmp.Structure.Family() {
			if st.Significant {
				out.structural++
				break
			}
		}

		data, err := json.Marshal(lassert.SummariseGroups(suite.Config, base))
		require.NoError(t, err)
		var sums []lassert.Summary
		require.NoError(t, json.Unmarshal(data, &sums))
		if err := suite.CheckSummary(sums); err != nil {
			out.refused++
			continue
		}
		scmp := CompareSummary(sums, head, opts)
		srules := suite.EvaluateRegressionsSummary(sums, head, sig)
		scmp.CorrectRules(srules)
		for i := range rules {
			if rules[i].Status != srules[i].Status {
				out.disagree++
				t.Logf("%s n=%d pair %d: %s: trace file %s (%s), summary %s (%s)", sc.name, n, p, rules[i].Name,
					rules[i].Status, rules[i].Message, srules[i].Status, srules[i].Message)
				break
			}
		}
	}
	return out
}

func calibrationSuite(t testing.TB) *lassert.Suite {
	suite, err := lassert.LoadBytes("calibration.yaml", []byte(calibrationRules))
	require.NoError(t, err)
	suite.Config.Pricing = testPricing
	return suite
}

// TestCalibration: a small seeded calibration in every `go test`. No
// change fails at most 2 of 40 pairs at 50 requests a side (and shows a
// significant structural change in at most 2); one extra LLM call per
// request, answer tokens +30 % and latency +30 % on one model fail at
// least 38 of 40 pairs at 100 a side (the extra call is also a
// structural change in at least 38); the baseline summary gives the
// trace file's verdict in every pair.
func TestCalibration(t *testing.T) {
	suite := calibrationSuite(t)
	if *calibrationPairs > 0 {
		fullCalibration(t, suite, *calibrationPairs)
		return
	}
	for _, tc := range []struct {
		scenario   int
		n, pairs   int
		minF, maxF int
	}{
		{scenario: 0, n: 50, pairs: 40, maxF: 2},
		{scenario: 3, n: 100, pairs: 40, minF: 38, maxF: 40},
		{scenario: 4, n: 100, pairs: 40, minF: 38, maxF: 40},
		{scenario: 5, n: 100, pairs: 40, minF: 38, maxF: 40},
	} {
		sc := calibrationScenarios[tc.scenario]
		t.Run(fmt.Sprintf("%s/n=%d", sc.name, tc.n), func(t *testing.T) {
			o := calibrate(t, suite, sc, tc.n, tc.pairs)
			t.Logf("%d of %d pairs failed %v; summary disagreed %d, refused %d; structural changes in %d", o.failed, o.pairs, o.ruleFailed, o.disagree, o.refused, o.structural)
			if o.failed < tc.minF || o.failed > tc.maxF {
				t.Errorf("%d of %d pairs failed; want %d to %d", o.failed, o.pairs, tc.minF, tc.maxF)
			}
			if tc.scenario == 0 && o.structural > 2 {
				t.Errorf("no change: a significant structural change in %d of %d pairs", o.structural, o.pairs)
			}
			if tc.scenario == 5 && o.structural < 38 {
				t.Errorf("one extra LLM call per request: a significant structural change in only %d of %d pairs", o.structural, o.pairs)
			}
			if o.disagree != 0 || o.refused != 0 {
				t.Errorf("the summary disagreed with the trace file in %d pairs and was refused in %d", o.disagree, o.refused)
			}
		})
	}
}

// fullCalibration prints the table of docs/statistics.md.
func fullCalibration(t *testing.T, suite *lassert.Suite, pairs int) {
	sizes := []int{50, 100, 400}
	var b strings.Builder
	fmt.Fprintf(&b, "\n| change (%d seeded pairs per cell) | 50 a side | 100 a side | 400 a side |\n|---|---|---|---|\n", pairs)
	var agree, structural strings.Builder
	fmt.Fprintf(&structural, "\n| change (%d seeded pairs per cell): a significant structural change | 50 a side | 100 a side | 400 a side |\n|---|---|---|---|\n", pairs)
	for _, sc := range calibrationScenarios {
		fmt.Fprintf(&b, "| %s |", sc.name)
		fmt.Fprintf(&structural, "| %s |", sc.name)
		for _, n := range sizes {
			o := calibrate(t, suite, sc, n, pairs)
			fmt.Fprintf(&b, " %.1f %% |", 100*float64(o.failed)/float64(o.pairs))
			fmt.Fprintf(&structural, " %.1f %% |", 100*float64(o.structural)/float64(o.pairs))
			fmt.Fprintf(&agree, "%s, n=%d: summary verdicts differ in %d of %d pairs, refused in %d; rules failed: %v\n", sc.name, n, o.disagree, o.pairs, o.refused, o.ruleFailed)
		}
		b.WriteString("\n")
		structural.WriteString("\n")
	}
	t.Log(b.String())
	t.Log(structural.String())
	t.Log("\n" + agree.String())
}
