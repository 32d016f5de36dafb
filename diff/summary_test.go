package diff

import (
	"encoding/json"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	lassert "github.com/llmcheck/llmcheck/assert"
	"github.com/llmcheck/llmcheck/baseline"
	"github.com/llmcheck/llmcheck/span"
)

// summarise is what `llmcheck baseline write` keeps of a run, with the
// pricing and k of opts.
func summarise(run *span.Run, opts Options) []lassert.Summary {
	k := opts.K
	if k <= 0 {
		k = DefaultK
	}
	cfg := &lassert.Config{Pricing: opts.Pricing, Retrieval: lassert.RetrievalConfig{K: k}, CostLimit: lassert.DefaultCostLimit}
	return lassert.SummariseGroups(cfg, run)
}

// structural headlines come from the traces, which a summary does not keep.
var structuralHeadlines = []string{HeadlineModelSwap, HeadlineCalls, HeadlineModels, HeadlineOrder, HeadlineTests,
	HeadlineGroupAdded, HeadlineGroupRemoved} // added/removed: a swap hides them in Compare

// sameReport checks that CompareSummary (got) agrees with Compare (want)
// for the same base data: groups, base statistics, head statistics,
// verdicts and numeric headlines. exactTests: the base samples are the
// whole groups (≤ MaxSamples spans), so the p-values are Compare's.
func sameReport(t *testing.T, want, got *Report, exactTests bool) {
	t.Helper()
	require.Equal(t, groupKeys(want), groupKeys(got))
	assert.Equal(t, want.Base.Spans, got.Base.Spans)
	assert.True(t, got.Base.Summary)
	assert.Equal(t, want.Head, got.Head)
	assert.Equal(t, want.K, got.K)
	assert.Equal(t, StructureFromSummary, got.Structure.Unavailable)
	assert.Empty(t, got.Structure.Patterns)
	for i := range want.Groups {
		w, g := &want.Groups[i], &got.Groups[i]
		key := w.Key
		assert.Equal(t, w.Presence, g.Presence, key)
		assert.Equal(t, w.Head, g.Head, "%s: head statistics are Compare's", key)
		if w.Base == nil {
			assert.Nil(t, g.Base, key)
			continue
		}
		wb, gb := w.Base, g.Base
		require.NotNil(t, gb, key)
		assert.Equal(t, wb.Count, gb.Count, "%s count", key)
		assert.Equal(t, wb.Errors, gb.Errors, "%s errors", key)
		assert.Equal(t, wb.ErrorRate, gb.ErrorRate, "%s error rate", key)
		assert.Equal(t, wb.Latency.P50, gb.Latency.P50, "%s p50", key)
		assert.Equal(t, wb.Latency.P95, gb.Latency.P95, "%s p95", key)
		assert.Equal(t, wb.Latency.P99, gb.Latency.P99, "%s p99", key)
		assert.InEpsilon(t, wb.Latency.Mean, gb.Latency.Mean, 1e-12, "%s mean", key)
		if wb.Tokens == nil {
			assert.Nil(t, gb.Tokens, key)
		} else if assert.NotNil(t, gb.Tokens, key) {
			assert.Equal(t, *wb.Tokens, *gb.Tokens, "%s tokens", key)
		}
		if wb.Cost == nil {
			assert.Nil(t, gb.Cost, key)
		} else if assert.NotNil(t, gb.Cost, key) {
			assert.InEpsilon(t, wb.Cost.USD, gb.Cost.USD, 1e-9, "%s cost", key)
			assert.Equal(t, CostSummary, gb.Cost.Source)
		}
		if wb.Retrieval == nil {
			assert.Nil(t, gb.Retrieval, key)
		} else if assert.NotNil(t, gb.Retrieval, key) {
			assert.Equal(t, wb.Retrieval.Queries, gb.Retrieval.Queries, key)
			assert.Equal(t, wb.Retrieval.WithoutGroundTruth, gb.Retrieval.WithoutGroundTruth, key)
			assert.InDelta(t, wb.Retrieval.HitRate, gb.Retrieval.HitRate, 1e-12, key)
			assert.InDelta(t, wb.Retrieval.MRR, gb.Retrieval.MRR, 1e-12, key)
		}
		require.Len(t, g.Metrics, len(w.Metrics), key)
		for j := range w.Metrics {
			wm, gm := &w.Metrics[j], &g.Metrics[j]
			assert.Equal(t, wm.Name, gm.Name, key)
			assert.InDelta(t, wm.Base, gm.Base, 1e-9*math.Max(1, math.Abs(wm.Base)), "%s %s", key, wm.Name)
			if wm.Test == nil {
				assert.Nil(t, gm.Test)
				continue
			}
			assert.Equal(t, wm.Test.Significant, gm.Test.Significant, "%s %s significant", key, wm.Name)
			if exactTests {
				assert.Equal(t, wm.Test.N1, gm.Test.N1, "%s %s n", key, wm.Name)
				assert.Equal(t, wm.Test.Counted, gm.Test.Counted, "%s %s counted", key, wm.Name)
				assert.InDelta(t, wm.Test.P, gm.Test.P, 1e-9, "%s %s p", key, wm.Name)
				assert.InDelta(t, wm.Test.PAdjusted, gm.Test.PAdjusted, 1e-9, "%s %s p adjusted", key, wm.Name)
			}
		}
	}
	if exactTests {
		assert.Equal(t, want.Comparisons, got.Comparisons)
	}
	assert.Equal(t, significant(want), significant(got))

	// The numeric headlines are the same; the structural ones are gone.
	numeric := func(hs []Headline) []Headline {
		return slices.DeleteFunc(slices.Clone(hs), func(h Headline) bool { return slices.Contains(structuralHeadlines, h.Kind) })
	}
	if exactTests {
		assert.Equal(t, numeric(want.Headlines), numeric(got.Headlines))
	} else {
		assert.Equal(t, headlineKinds(&Report{Headlines: numeric(want.Headlines)}), headlineKinds(&Report{Headlines: numeric(got.Headlines)}))
	}
	for _, h := range got.Headlines {
		assert.NotContains(t, []string{HeadlineModelSwap, HeadlineCalls, HeadlineModels, HeadlineOrder, HeadlineTests}, h.Kind)
	}
	for _, g := range got.Groups {
		kind := map[string]string{Added: HeadlineGroupAdded, Removed: HeadlineGroupRemoved}[g.Presence]
		if kind != "" {
			assert.Contains(t, headlineKinds(got), kind+" "+g.Key, "a group on one side has a headline")
		}
	}
}

func TestCompareSummary(t *testing.T) {
	opts := Options{Pricing: testPricing}
	for _, tt := range []struct {
		name        string
		base, head  scenario
		significant []string // must be significant (in both reports)
		none        bool     // nothing significant, no headline
		check       func(t *testing.T, r *Report)
	}{
		{name: "no change", base: scenario{seed: 1}, head: scenario{seed: 2}, none: true},
		{
			name: "chat latency +30 %", base: scenario{seed: 1}, head: scenario{seed: 2, answerLatency: 1.3},
			significant: []string{keyAnswer + " latency"},
			check: func(t *testing.T, r *Report) {
				assert.Equal(t, HeadlineLatency, r.Headlines[0].Kind)
				assert.Contains(t, r.Headlines[0].Text, "chat · gpt-4o latency p95 +")
			},
		},
		{name: "tokens +50 %", base: scenario{seed: 1}, head: scenario{seed: 2, answerTokens: 1.5}, significant: []string{keyAnswer + " tokens"}},
		{name: "hit rate drop", base: scenario{seed: 1}, head: scenario{seed: 2, hitRate: 0.35}, significant: []string{keyRetr + " hit"}},
		{name: "errors appear", base: scenario{seed: 1}, head: scenario{seed: 2, errorRate: 0.5}, significant: []string{keyAnswer + " errors"}},
		{name: "errors go", base: scenario{seed: 1, errorRate: 0.5}, head: scenario{seed: 2}, significant: []string{keyAnswer + " errors"}},
		{name: "extra call", base: scenario{seed: 1}, head: scenario{seed: 2, extraCall: true}},
		{
			name: "model swap", base: scenario{seed: 1}, head: scenario{seed: 2, answerModel: "gpt-4o-mini"},
			significant: []string{keyRouter + " latency", keyRouter + " tokens"},
			check: func(t *testing.T, r *Report) {
				assert.Equal(t, Removed, find(t, r, keyAnswer).Presence)
				assert.Contains(t, headlineKinds(r), HeadlineGroupRemoved+" "+keyAnswer)
			},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			base, head := tt.base.run(), tt.head.run()
			want := Compare(base, head, opts)
			got := CompareSummary(summarise(base, opts), head, opts)
			sameReport(t, want, got, true)
			for _, s := range tt.significant {
				assert.Contains(t, significant(got), s)
			}
			if tt.none {
				assert.Empty(t, significant(got))
				assert.Empty(t, got.Headlines)
			}
			if tt.check != nil {
				tt.check(t, got)
			}
		})
	}
}

// TestCompareSummaryLarge: groups of more than MaxSamples spans. Counts,
// percentiles and sums stay exact (the summary computed them over every
// span); the tests run on the bounded samples and keep their verdicts.
func TestCompareSummaryLarge(t *testing.T) {
	opts := Options{Pricing: testPricing}
	for _, tt := range []struct {
		name        string
		head        scenario
		significant []string
	}{
		{name: "no change", head: scenario{seed: 2, tests: lassert.MaxSamples + 200}},
		{name: "chat latency +30 %", head: scenario{seed: 2, tests: lassert.MaxSamples + 200, answerLatency: 1.3}, significant: []string{keyAnswer + " latency"}},
		{name: "errors appear", head: scenario{seed: 2, tests: lassert.MaxSamples + 200, errorRate: 0.3}, significant: []string{keyAnswer + " errors"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			base, head := scenario{seed: 1, tests: lassert.MaxSamples + 200}.run(), tt.head.run()
			want := Compare(base, head, opts)
			got := CompareSummary(summarise(base, opts), head, opts)
			sameReport(t, want, got, false)
			assert.Equal(t, lassert.MaxSamples, find(t, got, keyAnswer).Metric(MetricLatencyP50).Test.N1, "the bounded sample")
			for _, s := range tt.significant {
				assert.Contains(t, significant(got), s)
			}
			if tt.significant == nil {
				assert.Empty(t, significant(got))
			}
		})
	}
}

func TestCompareSummaryErrorsExact(t *testing.T) {
	// The error indicators of a summary are the group's, one per span,
	// whatever its size: Count and Errors give them exactly.
	base := scenario{seed: 1, tests: lassert.MaxSamples + 200, errorRate: 0.3}.run()
	sums := summarise(base, Options{})
	g := &sums[slices.IndexFunc(sums, func(s lassert.Summary) bool { return s.Key == keyAnswer })]
	a := summaryAcc(signature{}, g, DefaultK)
	e := a.errorSample()
	require.Len(t, e, g.Count)
	assert.Equal(t, float64(g.Errors), mean(e)*float64(len(e)))
}

func TestCompareSummaryK(t *testing.T) {
	// A summary written at k=1: the comparison is at k=1 on both sides.
	base, head := scenario{seed: 1}.run(), scenario{seed: 2}.run()
	got := CompareSummary(summarise(base, Options{K: 1}), head, Options{K: 5})
	want := Compare(base, head, Options{K: 1})
	assert.Equal(t, 1, got.K)
	sameReport(t, want, got, true)
}

func TestCompareSummaryRoundTrip(t *testing.T) {
	opts := Options{Pricing: testPricing}
	base, head := scenario{seed: 1}.run(), scenario{seed: 2, answerLatency: 1.3, extraCall: true}.run()
	sums := summarise(base, opts)
	js := func(r *Report) string {
		var b strings.Builder
		require.NoError(t, r.WriteJSON(&b))
		return b.String()
	}
	want := js(CompareSummary(sums, head, opts))

	data, err := json.Marshal(sums)
	require.NoError(t, err)
	var back []lassert.Summary
	require.NoError(t, json.Unmarshal(data, &back))
	assert.Equal(t, want, js(CompareSummary(back, head, opts)), "JSON round trip")

	// The same through llmcheck.baseline.json.
	path := filepath.Join(t.TempDir(), "llmcheck.baseline.json")
	cfg := &lassert.Config{Pricing: testPricing, Retrieval: lassert.RetrievalConfig{K: DefaultK}, CostLimit: lassert.DefaultCostLimit}
	require.NoError(t, baseline.Write(path, baseline.New(cfg, base, nil, time.Time{})))
	f, err := baseline.Read(path)
	require.NoError(t, err)
	assert.Equal(t, want, js(CompareSummary(f.Groups, head, opts)), "baseline file round trip")
}

func TestCompareSummaryReports(t *testing.T) {
	opts := Options{Pricing: testPricing}
	base, head := scenario{seed: 1, tests: 12}.run(), scenario{seed: 2, tests: 12, answerLatency: 1.6, answerModel: "gpt-4o-mini", extraCall: true}.run()
	r := CompareSummary(summarise(base, opts), head, opts)
	r.Base.Traces = 12

	var b strings.Builder
	r.Text(&b)
	text := b.String()
	assert.Equal(t, 1, strings.Count(text, "Structure:"), "one line on the structure")
	assert.Contains(t, text, "Structure: not compared — the base is a baseline summary")
	assert.Contains(t, text, "base: 60 spans in 12 traces (baseline summary) · head: ")
	golden(t, "summary.txt", text)

	md := r.Markdown(MaxCommentBytes)
	checkMarkdown(t, md)
	assert.Equal(t, 1, strings.Count(md, "**Structure**"))
	assert.Contains(t, md, "**Structure**: not compared — the base is a baseline summary")
	golden(t, "summary.md", md)
	var js strings.Builder
	require.NoError(t, r.WriteJSON(&js))
	assert.Contains(t, js.String(), `"unavailable": "the base is a baseline summary`)
	assert.Contains(t, js.String(), `"summary": true`)
	golden(t, "summary.json", js.String())

	// Without the trace count the run line does not make one up.
	r.Base.Traces = 0
	assert.Equal(t, "base: 60 spans (baseline summary)", r.Base.describe())
}

func TestCompareSummaryNoChange(t *testing.T) {
	base, head := scenario{seed: 1}.run(), scenario{seed: 2}.run()
	r := CompareSummary(summarise(base, Options{}), head, Options{})
	var b strings.Builder
	r.Text(&b)
	assert.Contains(t, b.String(), "\nNo significant change.\n", "the structure was not compared: no claim about it")
	assert.NotContains(t, b.String(), "structural change.")
	md := r.Markdown(0)
	assert.Contains(t, md, "\nNo significant change.\n")
	assert.Contains(t, md, "**Structure**: not compared — ")
}

func TestCompareSummaryEmpty(t *testing.T) {
	r := CompareSummary(nil, nil, Options{})
	assert.Empty(t, r.Groups)
	assert.Empty(t, r.Headlines)
	head := scenario{seed: 2, tests: 6}.run()
	r = CompareSummary(nil, head, Options{})
	for _, g := range r.Groups {
		assert.Equal(t, Added, g.Presence)
	}
	assert.Len(t, r.Headlines, len(r.Groups), "every group is new")
}
