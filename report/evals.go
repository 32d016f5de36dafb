package report

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/llmcheck/llmcheck/assert"
	"github.com/llmcheck/llmcheck/span"
)

// Evaluation results in report.md (issue #14): a table with one row per
// evaluation name over the whole run (results, score statistics, the most
// frequent labels) and one mermaid chart per evaluation: a histogram of
// its scores, or the count of each label when it has no scores.

// Chart bounds of the evaluations.
const (
	maxEvalCharts     = 6 // evaluations charted, most results first
	maxEvalChartBars  = 10
	maxEvalLabelsCell = 3 // labels listed in a table cell
)

// EvalRow is the results of one evaluation name over a run.
type EvalRow struct {
	Name string
	assert.EvalStats
	scores []float64
}

// evalRows are the run's evaluations, most results first (ties by name).
func evalRows(run *span.Run) []EvalRow {
	st := assert.EvalStatsOf(run.Spans)
	if len(st) == 0 {
		return nil
	}
	scores := map[string][]float64{}
	for _, s := range run.Spans {
		for _, e := range s.Evals {
			if e.HasScore {
				scores[e.Name] = append(scores[e.Name], e.Score)
			}
		}
	}
	rows := make([]EvalRow, 0, len(st))
	for name, s := range st {
		rows = append(rows, EvalRow{Name: name, EvalStats: *s, scores: scores[name]})
	}
	sort.Slice(rows, func(i, j int) bool {
		if rows[i].Count != rows[j].Count {
			return rows[i].Count > rows[j].Count
		}
		return rows[i].Name < rows[j].Name
	})
	return rows
}

// labelsByCount are the labels of r, most frequent first (ties by label).
func (r *EvalRow) labelsByCount() []string {
	out := make([]string, 0, len(r.Labels))
	for l := range r.Labels {
		out = append(out, l)
	}
	sort.Slice(out, func(i, j int) bool {
		if r.Labels[out[i]] != r.Labels[out[j]] {
			return r.Labels[out[i]] > r.Labels[out[j]]
		}
		return out[i] < out[j]
	})
	return out
}

// evalCharts draws the chart of each of the first maxEvalCharts rows.
func evalCharts(rows []EvalRow) []string {
	var out []string
	for i := range rows {
		if i == maxEvalCharts {
			break
		}
		c := evalChart(&rows[i])
		if c == "" {
			c = fmt.Sprintf("_%s: its scores span too wide a range to chart._\n", mdText(rows[i].Name, maxLabelRunes))
		}
		out = append(out, c)
	}
	return out
}

func evalChart(r *EvalRow) string {
	name := mermaidLabel(r.Name)
	if name == "" {
		name = "evaluation"
	}
	var labels []string
	var counts []int
	var title, axis, unit string
	if len(r.scores) > 0 {
		labels, counts = histogramFmt(r.scores, maxEvalChartBars, fmtBound)
		if len(labels) == 0 {
			return ""
		}
		title = fmt.Sprintf("%s scores, %d %s", name, len(r.scores), plural(len(r.scores), "result", "results"))
		axis, unit = "score", "results"
	} else {
		ls := r.labelsByCount()
		other := 0
		for i, l := range ls {
			if i >= maxEvalChartBars-1 && len(ls) > maxEvalChartBars {
				other += r.Labels[l]
				continue
			}
			ml := mermaidLabel(l)
			if ml == "" {
				ml = "label " + strconv.Itoa(i+1)
			}
			labels = append(labels, ml)
			counts = append(counts, r.Labels[l])
		}
		if other > 0 {
			labels, counts = append(labels, "other labels"), append(counts, other)
		}
		title = fmt.Sprintf("%s labels, %d %s", name, r.Labelled, plural(r.Labelled, "result", "results"))
		axis, unit = "label", "results"
	}
	var b strings.Builder
	b.WriteString("```mermaid\nxychart-beta\n")
	fmt.Fprintf(&b, "    title \"%s\"\n", title)
	quoted := make([]string, len(labels))
	for i, l := range labels {
		quoted[i] = `"` + strings.ReplaceAll(l, ",", " ") + `"`
	}
	fmt.Fprintf(&b, "    x-axis \"%s\" [%s]\n", axis, strings.Join(quoted, ", "))
	fmt.Fprintf(&b, "    y-axis \"%s\"\n", unit)
	nums := make([]string, len(counts))
	for i, c := range counts {
		nums[i] = strconv.Itoa(c)
	}
	fmt.Fprintf(&b, "    bar [%s]\n", strings.Join(nums, ", "))
	b.WriteString("```\n")
	return b.String()
}

func (m *mdModel) writeEvals(b *strings.Builder, lim mdLimits) {
	if len(m.evals) == 0 {
		return
	}
	b.WriteString("### Evaluations\n\n")
	t := mdTable{header: []string{"Evaluation", "Results", "Scored", "avg", "min", "p50", "p95", "max", "Labels"}}
	t.right = []bool{false, true, true, true, true, true, true, true, false}
	t.n = len(m.evals)
	t.row = func(i int) []string {
		r := &m.evals[i]
		row := []string{cellText(r.Name, lim.cell), strconv.Itoa(r.Count), "0", "–", "–", "–", "–", "–", "–"}
		if s := r.Scores; s != nil {
			row[2] = strconv.Itoa(s.N)
			for j, v := range []float64{s.Avg, s.Min, s.P50, s.P95, s.Max} {
				row[3+j] = fmtScore(v)
			}
		}
		if r.Labelled > 0 {
			ls := r.labelsByCount()
			var parts []string
			for j, l := range ls {
				if j == maxEvalLabelsCell {
					parts = append(parts, fmt.Sprintf("%d more", len(ls)-j))
					break
				}
				parts = append(parts, fmt.Sprintf("%s %.0f %%", cellText(l, min(lim.cell, 40)), 100*float64(r.Labels[l])/float64(r.Labelled)))
			}
			row[8] = strings.Join(parts, " · ")
		}
		return row
	}
	m.table(b, &t, lim.rows, "evaluations")
	b.WriteString("_Scores over the results that carry one; label shares over the results that carry a label. Read them in assertions as `evals[\"name\"].avg`, `evals[\"name\"].labels[\"label\"]`._\n\n")
	if lim.histograms != 0 && len(m.evalCharts) > 0 {
		n := len(m.evalCharts)
		if lim.histograms > 0 && n > lim.histograms {
			n = lim.histograms
		}
		for _, c := range m.evalCharts[:n] {
			b.WriteString(c + "\n")
		}
		if len(m.evals) > n {
			fmt.Fprintf(b, "_%d more %s not charted._\n\n", len(m.evals)-n, plural(len(m.evals)-n, "evaluation", "evaluations"))
		}
	} else if len(m.evalCharts) > 0 {
		b.WriteString("_Evaluation charts left out to keep the report short._\n\n")
	}
}

// fmtScore formats a score with three significant digits; scores are
// recorded numbers of any magnitude, so very large and very small ones
// take an exponent (1.00e+300) rather than hundreds of digits.
func fmtScore(x float64) string {
	if a := math.Abs(x); a != 0 && !math.IsInf(a, 0) && !math.IsNaN(a) && (a >= 1e6 || a < 1e-3) {
		return strconv.FormatFloat(x, 'g', 3, 64)
	}
	return assert.Sig3(x)
}

// fmtBound formats a bound of a histogram bar of scores: as the latency
// bars (assert.FormatFloat) unless very large or small (see fmtScore).
func fmtBound(x float64) string {
	if a := math.Abs(x); a != 0 && !math.IsInf(a, 0) && !math.IsNaN(a) && (a >= 1e6 || a < 1e-3) {
		return strconv.FormatFloat(x, 'g', 3, 64)
	}
	return assert.FormatFloat(x)
}
