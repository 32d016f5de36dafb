package diff

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/llmcheck/llmcheck/assert"
	"github.com/llmcheck/llmcheck/internal/safetext"
	"github.com/llmcheck/llmcheck/span"
)

// Evaluation results (issue #14): per group and evaluation name, the
// mean score (tested per result, Mann-Whitney U) and the rate of each
// label (tested per labelled result as 0/1 indicators, as error rates
// are); per test, the evaluations whose verdict flipped from passing to
// failing (assert.Config.EvalVerdict).

// maxEvalNames bounds the evaluations compared per group (the most
// results on both sides together): names are recorded strings.
const maxEvalNames = 50

// maxEvalLabels bounds the label rates compared per evaluation and group
// (the most frequent on both sides together): labels are free text.
const maxEvalLabels = 10

// HeadlineEvals and HeadlineFlips are headline kinds.
const (
	HeadlineEvals = "evals" // a significant change of a score or label rate
	HeadlineFlips = "flips" // tests whose evaluation went from passing to failing
)

// EvalMetricScore is the metric name of the mean score of an evaluation.
func EvalMetricScore(name string) string { return "evals[" + strconv.Quote(name) + "].avg" }

// EvalMetricLabel is the metric name of the rate of a label.
func EvalMetricLabel(name, label string) string { return assert.TestEvalLabel(name, label) }

// evalMetric parses a metric name of this file.
func evalMetric(m string) (name, label string, isLabel, ok bool) {
	if rest, found := strings.CutSuffix(m, ".avg"); found {
		name, _, _, ok = assert.ParseEvalTest(rest + ".score")
		return name, "", false, ok
	}
	name, label, isLabel, ok = assert.ParseEvalTest(m)
	return name, label, isLabel, ok && isLabel
}

// evalSide is the results of one evaluation in one group on one side.
type evalSide struct {
	st     assert.EvalStats
	scores []float64
}

func (a *acc) addEvals(evals []span.Eval) {
	for i := range evals {
		e := &evals[i]
		if a.ev == nil {
			a.ev = map[string]*evalSide{}
		}
		es := a.ev[e.Name]
		if es == nil {
			es = &evalSide{}
			a.ev[e.Name] = es
		}
		es.st.Count++
		if e.HasScore {
			es.scores = append(es.scores, e.Score)
		}
		if e.Label != "" {
			if es.st.Labels == nil {
				es.st.Labels = map[string]int{}
			}
			es.st.Labelled++
			es.st.Labels[e.Label]++
		}
	}
}

// evalStats are the statistics of the group's evaluations. Names and
// labels are map keys, which Report.Clipped does not reach: they are
// clipped here (safetext.Clip keeps the length, so clipped keys stay
// distinct).
func (a *acc) evalStats() map[string]*assert.EvalStats {
	if len(a.ev) == 0 {
		return nil
	}
	out := make(map[string]*assert.EvalStats, len(a.ev))
	for name, es := range a.ev {
		st := es.st
		if st.Scores == nil && len(es.scores) > 0 {
			l, err := assert.Summarise(es.scores)
			if err == nil {
				st.Scores = &l
			}
		}
		if len(st.Labels) > 0 {
			st.Labels = clipKeys(st.Labels)
		}
		out[safetext.Clip(name, safetext.MaxRunes)] = &st
	}
	return out
}

func clipKeys(m map[string]int) map[string]int {
	out := make(map[string]int, len(m))
	for k, v := range m {
		out[safetext.Clip(k, safetext.MaxRunes)] += v
	}
	return out
}

// summaryEvals is the base side of a group's evaluations from a baseline
// summary: the statistics, and the scores kept.
func summaryEvals(g *assert.Summary) map[string]*evalSide {
	if len(g.Evals) == 0 {
		return nil
	}
	out := make(map[string]*evalSide, len(g.Evals))
	for name, e := range g.Evals {
		if e == nil {
			continue
		}
		out[name] = &evalSide{st: e.EvalStats, scores: e.Sample}
	}
	return out
}

// labelSample is the 0/1 indicators of label among the labelled results.
func labelSample(st *assert.EvalStats, label string) []float64 {
	return summaryErrors(st.Labelled, st.Labels[label])
}

func evalTest(sample, group string, base, head []float64, opts Options) *Test {
	v := Significance(base, head, opts.Alpha, opts.MinSamples)
	return &Test{Sample: sample, Key: sample + " per result|" + group, Verdict: v, Counted: !v.TooFew && !constant(base, head)}
}

// evalMetrics are the metrics of the evaluations on both sides of a
// group: the mean score when both sides have scores, the rate of each
// label (the maxEvalLabels most frequent) when both have labels.
func evalMetrics(key string, b, h *acc, opts Options) ([]Metric, []*Test) {
	var names []string
	for name := range b.ev {
		if h.ev[name] != nil {
			names = append(names, name)
		}
	}
	if len(names) > maxEvalNames { // the most results on both sides
		sort.Slice(names, func(i, j int) bool {
			ni, nj := b.ev[names[i]].st.Count+h.ev[names[i]].st.Count, b.ev[names[j]].st.Count+h.ev[names[j]].st.Count
			if ni != nj {
				return ni > nj
			}
			return names[i] < names[j]
		})
		names = names[:maxEvalNames]
	}
	slices.Sort(names)
	var ms []Metric
	var ts []*Test
	for _, name := range names {
		be, he := b.ev[name], h.ev[name]
		if len(be.scores) > 0 && len(he.scores) > 0 {
			t := evalTest(assert.TestEvalScore(name), key, be.scores, he.scores, opts)
			ts = append(ts, t)
			ms = append(ms, metric(EvalMetricScore(name), "score", scoreMean(be), scoreMean(he), t))
		}
		if be.st.Labelled == 0 || he.st.Labelled == 0 {
			continue
		}
		for _, label := range topLabels(&be.st, &he.st) {
			t := evalTest(assert.TestEvalLabel(name, label), key, labelSample(&be.st, label), labelSample(&he.st, label), opts)
			ts = append(ts, t)
			ms = append(ms, metric(EvalMetricLabel(name, label), "ratio", labelRate(&be.st, label), labelRate(&he.st, label), t))
		}
	}
	return ms, ts
}

// scoreMean is the mean score: the summary's (exact) when the base is a
// summary whose sample is bounded.
func scoreMean(e *evalSide) float64 {
	if e.st.Scores != nil {
		return e.st.Scores.Avg
	}
	return mean(e.scores)
}

func labelRate(st *assert.EvalStats, label string) float64 {
	return float64(st.Labels[label]) / float64(st.Labelled)
}

// topLabels are the labels of both sides, the most frequent first (ties
// by name), at most maxEvalLabels.
func topLabels(b, h *assert.EvalStats) []string {
	n := map[string]int{}
	for l, c := range b.Labels {
		n[l] += c
	}
	for l, c := range h.Labels {
		n[l] += c
	}
	labels := make([]string, 0, len(n))
	for l := range n {
		labels = append(labels, l)
	}
	sort.Slice(labels, func(i, j int) bool {
		if n[labels[i]] != n[labels[j]] {
			return n[labels[i]] > n[labels[j]]
		}
		return labels[i] < labels[j]
	})
	if len(labels) > maxEvalLabels {
		labels = labels[:maxEvalLabels]
	}
	return labels
}

// Evals is the comparison of evaluation verdicts test by test.
type Evals struct {
	// Unavailable says why the verdicts were not compared (the base is a
	// baseline summary); empty when they were.
	Unavailable string `json:"unavailable,omitempty"`
	// Compared is the number of (test, evaluation) pairs with a verdict on
	// both sides.
	Compared int `json:"compared"`
	// Flips went from passing to failing; Fixed from failing to passing.
	// Sorted by evaluation, then test.
	Flips []Flip `json:"flips,omitempty"`
	Fixed []Flip `json:"fixed,omitempty"`
}

// Flip is one test whose verdict on one evaluation changed. A test
// passes an evaluation when every one of its results with a verdict
// passes, and fails it when any fails; Base and Head say how many of the
// results passed ("2/3 pass").
type Flip struct {
	Test string `json:"test"`
	Eval string `json:"eval"`
	Base string `json:"base"`
	Head string `json:"head"`
}

type verdictCount struct{ pass, total int }

func (v verdictCount) passing() bool  { return v.pass == v.total }
func (v verdictCount) String() string { return fmt.Sprintf("%d/%d pass", v.pass, v.total) }

// verdicts counts, per test and evaluation, the results with a verdict
// and those that pass.
func verdicts(run *span.Run, opts Options) map[[2]string]verdictCount {
	out := map[[2]string]verdictCount{}
	verdict := opts.Verdict
	if verdict == nil {
		verdict = (*assert.Config)(nil).EvalVerdict
	}
	for _, t := range run.Traces {
		test := ""
		for _, s := range t.Spans {
			for i := range s.Evals {
				pass, ok := verdict(&s.Evals[i])
				if !ok {
					continue
				}
				if test == "" {
					test, _ = span.TestName(t, opts.TestAttr)
				}
				k := [2]string{test, s.Evals[i].Name}
				v := out[k]
				v.total++
				if pass {
					v.pass++
				}
				out[k] = v
			}
		}
	}
	return out
}

// compareVerdicts lists the tests whose verdict on an evaluation flipped.
func compareVerdicts(base, head *span.Run, opts Options) *Evals {
	bv, hv := verdicts(base, opts), verdicts(head, opts)
	if len(bv) == 0 && len(hv) == 0 {
		return nil
	}
	ev := &Evals{}
	for k, h := range hv {
		b, ok := bv[k]
		if !ok {
			continue
		}
		ev.Compared++
		f := Flip{Test: k[0], Eval: k[1], Base: b.String(), Head: h.String()}
		switch {
		case b.passing() && !h.passing():
			ev.Flips = append(ev.Flips, f)
		case !b.passing() && h.passing():
			ev.Fixed = append(ev.Fixed, f)
		}
	}
	for _, l := range [][]Flip{ev.Flips, ev.Fixed} {
		sort.Slice(l, func(i, j int) bool {
			if l[i].Eval != l[j].Eval {
				return l[i].Eval < l[j].Eval
			}
			return l[i].Test < l[j].Test
		})
	}
	return ev
}

// EvalsFromSummary is Evals.Unavailable when the base is a baseline
// summary.
const EvalsFromSummary = "the base is a baseline summary, which keeps no tests; " +
	"evaluation verdicts per test need the base trace file"

// evalHeadlines are the significant changes of scores and label rates,
// largest first, then the flips per evaluation.
func evalHeadlines(r *Report, name func(*Group) string) []Headline {
	type ranked struct {
		h   Headline
		mag float64
	}
	var list []ranked
	for i := range r.Groups {
		g := &r.Groups[i]
		for j := range g.Metrics {
			m := &g.Metrics[j]
			_, _, _, ok := evalMetric(m.Name)
			if !ok || m.Test == nil || !m.Test.Significant {
				continue
			}
			text := fmt.Sprintf("%s %s %s → %s (%s); significant, %s %s per result",
				name(g), m.label(r.K), m.value(m.Base), m.value(m.Head), m.change(), fmtP(m.Test.PAdjusted), fmtN(m.Test.N1, m.Test.N2))
			mag := math.Abs(m.Delta)
			if m.Unit == "score" && m.Base != 0 {
				mag = math.Abs(m.Delta / m.Base)
			}
			list = append(list, ranked{Headline{HeadlineEvals, g.Key, text}, mag})
		}
	}
	sort.SliceStable(list, func(i, j int) bool { return list[i].mag > list[j].mag })
	var hs []Headline
	for _, x := range list {
		hs = append(hs, x.h)
	}
	if r.Evals == nil {
		return hs
	}
	for _, byEval := range groupFlips(r.Evals.Flips) {
		tests := make([]string, 0, len(byEval))
		for _, f := range byEval {
			tests = append(tests, safetext.Clip(f.Test, safetext.MaxRunes))
		}
		more := ""
		if len(tests) > 3 {
			more = fmt.Sprintf(" and %d more", len(tests)-3)
			tests = tests[:3]
		}
		hs = append(hs, Headline{Kind: HeadlineFlips, Text: fmt.Sprintf("%s went from passing to failing on %s: %s%s",
			plural(len(byEval), "test"), quoteClip(byEval[0].Eval), strings.Join(tests, ", "), more)})
	}
	return hs
}

// groupFlips splits flips (sorted by evaluation) by evaluation.
func groupFlips(flips []Flip) [][]Flip {
	var out [][]Flip
	for i := 0; i < len(flips); {
		j := i
		for j < len(flips) && flips[j].Eval == flips[i].Eval {
			j++
		}
		out = append(out, flips[i:j])
		i = j
	}
	return out
}

// evalLabel is the row name of an evaluation metric.
func evalLabel(m string) (string, bool) {
	name, label, isLabel, ok := evalMetric(m)
	switch {
	case !ok:
		return "", false
	case isLabel:
		return fmt.Sprintf("%s %s rate", quoteClip(name), quoteClip(label)), true
	}
	return fmt.Sprintf("%s score", quoteClip(name)), true
}

// maxNameRunes bounds an evaluation name or label in a row or line.
const maxNameRunes = 60

// quoteClip quotes a recorded name, clipped at maxNameRunes runes.
func quoteClip(s string) string { return strconv.Quote(safetext.Clip(s, maxNameRunes)) }

// evalMetricsOf are g's evaluation metrics, in order.
func (g *Group) evalMetricsOf() []*Metric {
	var out []*Metric
	for i := range g.Metrics {
		if _, _, _, ok := evalMetric(g.Metrics[i].Name); ok {
			out = append(out, &g.Metrics[i])
		}
	}
	return out
}

// flipLines are the flips and fixes, one line each, at most maxListed of
// each kind.
func (e *Evals) flipLines() []string {
	if e == nil {
		return nil
	}
	var out []string
	for _, kind := range []struct {
		what  string
		flips []Flip
	}{{"passing → failing", e.Flips}, {"failing → passing", e.Fixed}} {
		for i, f := range kind.flips {
			if i == maxListed {
				out = append(out, fmt.Sprintf("… and %d more %s in the JSON report", len(kind.flips)-maxListed, kind.what))
				break
			}
			out = append(out, fmt.Sprintf("%s: %s %s (%s → %s)", safetext.Clip(f.Test, safetext.MaxRunes), quoteClip(f.Eval), kind.what, f.Base, f.Head))
		}
	}
	return out
}

// mdEvals are the Markdown blocks of the evaluations: a table with one
// row per group and evaluation metric, and the flips per test.
func (r *Report) mdEvals(order []*Group) []*mdBlock {
	var out []*mdBlock
	var rows []string
	for _, g := range order {
		for _, m := range g.evalMetricsOf() {
			note := ""
			if m.Test != nil {
				note = m.Test.note(r.MinSamples)
			}
			rows = append(rows, "| "+escapeMD(g.Key)+" | "+escapeMD(m.label(r.K))+" | "+escapeMD(m.value(m.Base))+" | "+
				escapeMD(m.value(m.Head))+" | "+escapeMD(m.delta())+" | "+escapeMD(note)+" |")
		}
	}
	if len(rows) > 0 {
		b := newBlock("evals", rows)
		b.head = []string{"**Evaluations**", "", "| group | evaluation | " + escapeMD(r.Base.Name) + " | " + escapeMD(r.Head.Name) + " | vs base | test |",
			"| :-- | :-- | --: | --: | :-- | :-- |"}
		b.note = func(n int) string {
			return fmt.Sprintf("\n_%s not shown to fit the size limit; see the JSON report._", plural(n, "more evaluation row"))
		}
		out = append(out, b)
	}
	if e := r.Evals; e != nil {
		var items []string
		for _, l := range e.flipLines() {
			items = append(items, mdItem(l))
		}
		b := newBlock("flips", items)
		if e.Unavailable != "" {
			b.head = []string{"**Evaluation verdicts per test**: not compared — " + escapeMD(e.Unavailable)}
		} else {
			b.head = []string{fmt.Sprintf("**Evaluation verdicts per test**: %d compared, %d passing → failing, %d failing → passing", e.Compared, len(e.Flips), len(e.Fixed))}
			if len(items) > 0 {
				b.head = append(b.head, "")
			}
		}
		b.note = func(n int) string { return fmt.Sprintf("- … and %d more in the JSON report", n) }
		out = append(out, b)
	}
	return out
}

// fmtScore formats a score with three significant digits; very large or
// small ones (scores are recorded numbers) with an exponent.
func fmtScore(x float64) string {
	if a := math.Abs(x); a != 0 && !math.IsInf(a, 0) && !math.IsNaN(a) && (a >= 1e6 || a < 1e-3) {
		return strconv.FormatFloat(x, 'g', 3, 64)
	}
	return sig3(x)
}
