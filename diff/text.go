package diff

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/llmcheck/llmcheck/internal/safetext"
)

// maxHeadlines is how many headlines the text and Markdown reports show;
// the JSON report has them all.
const maxHeadlines = 10

// maxListed bounds lists of test names in the text report.
const maxListed = 10

// displayOrder returns the groups in the order the reports show them:
// groups with a significant change first, then added and removed groups,
// then groups whose span count changed, then the rest; by key within each.
func (r *Report) displayOrder() []*Group {
	out := make([]*Group, len(r.Groups))
	for i := range r.Groups {
		out[i] = &r.Groups[i]
	}
	rank := func(g *Group) int {
		if g.Presence != Compared {
			return 1
		}
		for _, m := range g.Metrics {
			if m.Test != nil && m.Test.Significant {
				return 0
			}
		}
		if c := g.Metric(MetricCount); c != nil && c.Delta != 0 {
			return 2
		}
		return 3
	}
	sort.SliceStable(out, func(i, j int) bool { return rank(out[i]) < rank(out[j]) })
	return out
}

// textMetrics are the metrics with a row in the text report.
var textMetrics = []string{
	MetricCount, MetricLatencyP50, MetricLatencyP95, MetricLatencyP99, MetricTTFTP50, MetricTTFTP95,
	MetricTokensPerCall, MetricTokensTotal, MetricCost, MetricErrorRate,
	MetricHitRate, MetricMRR,
}

// shownMetrics are g's metrics with a row in a report: errors only when
// there are some.
func (g *Group) shownMetrics(names []string) []*Metric {
	var out []*Metric
	for _, n := range names {
		m := g.Metric(n)
		if m == nil || n == MetricErrorRate && m.Base == 0 && m.Head == 0 {
			continue
		}
		out = append(out, m)
	}
	return out
}

func (r *Report) method() string {
	correction := "Holm-corrected over " + plural(r.Comparisons, "comparison")
	if r.Comparisons == 0 {
		correction = "no comparison with enough samples"
	}
	return fmt.Sprintf("Mann-Whitney U test per sample, α=%g, %s; ~ no significant change, or fewer than %d samples a side",
		r.Alpha, correction, r.MinSamples)
}

func (r *Report) runLine() string {
	return r.Base.describe() + " · " + r.Head.describe()
}

// describe is "name: 60 spans in 20 traces", with "(baseline summary)"
// for a summary, whose trace count may be unknown (0).
func (ri RunInfo) describe() string {
	s := ri.Name + ": " + plural(ri.Spans, "span")
	if !ri.Summary || ri.Traces > 0 {
		s += " in " + plural(ri.Traces, "trace")
	}
	if ri.Summary {
		s += " (baseline summary)"
	}
	return s
}

// noChange is the line of a report without headlines.
func (r *Report) noChange() string {
	if r.Structure.Unavailable != "" {
		return "No significant change."
	}
	return "No significant or structural change."
}

// structureUnavailable is the one line that says the structure was not
// compared, and why.
func (r *Report) structureUnavailable() string {
	return "not compared — " + r.Structure.Unavailable
}

// Text writes the report for a terminal: headlines, a table with one row
// per group and metric (base, head, change or ~, p-value and sample
// sizes), groups on one side only, and the structural changes.
func (r *Report) Text(w io.Writer) {
	var b strings.Builder
	b.WriteString(r.runLine() + "\n")
	b.WriteString(r.method() + "\n\n")

	if len(r.Headlines) == 0 {
		b.WriteString(r.noChange() + "\n\n")
	} else {
		b.WriteString("Headlines:\n")
		for i, h := range r.Headlines {
			if i == maxHeadlines {
				fmt.Fprintf(&b, "  … and %d more\n", len(r.Headlines)-maxHeadlines)
				break
			}
			b.WriteString("  • " + oneLine(h.Text) + "\n")
		}
		b.WriteString("\n")
	}

	var rows [][]string
	var added, removed []*Group
	for _, g := range r.displayOrder() {
		switch g.Presence {
		case Added:
			added = append(added, g)
			continue
		case Removed:
			removed = append(removed, g)
			continue
		}
		rows = append(rows, []string{safetext.Text(g.Key)})
		noted := map[*Test]bool{}
		for _, m := range append(g.shownMetrics(textMetrics), g.evalMetricsOf()...) {
			note := ""
			if m.Test != nil && !noted[m.Test] {
				noted[m.Test] = true
				note = m.Test.note(r.MinSamples)
			}
			rows = append(rows, []string{"  " + m.label(r.K), m.value(m.Base), m.value(m.Head), m.delta(), note})
		}
	}
	if len(rows) > 0 {
		header := []string{"group / metric", r.Base.Name, r.Head.Name, "vs base", ""}
		writeTable(&b, header, rows, []bool{false, true, true, false, false})
		b.WriteString("\n")
	}
	for _, side := range []struct {
		title  string
		groups []*Group
	}{{"Only in " + r.Head.Name + ":", added}, {"Only in " + r.Base.Name + ":", removed}} {
		if len(side.groups) == 0 {
			continue
		}
		b.WriteString(side.title + "\n")
		var rows [][]string
		for _, g := range side.groups {
			st := g.Head
			if st == nil {
				st = g.Base
			}
			rows = append(rows, []string{"  " + safetext.Text(g.Key), plural(st.Count, "span"),
				"p50 " + fmtMS(st.Latency.P50), "p95 " + fmtMS(st.Latency.P95), tokensPerCall(st)})
		}
		writeTable(&b, nil, rows, []bool{false, true, true, true, false})
		b.WriteString("\n")
	}

	if e := r.Evals; e != nil {
		if e.Unavailable != "" {
			b.WriteString("Evaluation verdicts per test: not compared — " + oneLine(e.Unavailable) + "\n\n")
		} else {
			fmt.Fprintf(&b, "Evaluation verdicts per test: %d compared, %d passing → failing, %d failing → passing\n", e.Compared, len(e.Flips), len(e.Fixed))
			for _, l := range e.flipLines() {
				b.WriteString("  • " + oneLine(l) + "\n")
			}
			b.WriteString("\n")
		}
	}

	s := r.Structure
	if s.Unavailable != "" {
		b.WriteString("Structure: " + oneLine(r.structureUnavailable()) + "\n")
		_, _ = io.WriteString(w, b.String())
		return
	}
	fmt.Fprintf(&b, "Structure: %s matched, %d changed; %d only in %s, %d only in %s\n",
		plural(s.Matched, "test"), s.Changed, len(s.OnlyBase), r.Base.Name, len(s.OnlyHead), r.Head.Name)
	for _, p := range s.Patterns {
		fmt.Fprintf(&b, "  • %s (e.g. %s)\n", oneLine(p.Text), oneLine(strings.Join(p.Examples, ", ")))
	}
	if line := s.setSummary(); line != "" {
		fmt.Fprintf(&b, "  %s\n", oneLine(line))
	}
	for _, line := range s.setChanges() {
		fmt.Fprintf(&b, "  • %s\n", oneLine(line))
	}
	for _, side := range []struct {
		name  string
		tests []string
	}{{r.Base.Name, s.OnlyBase}, {r.Head.Name, s.OnlyHead}} {
		if len(side.tests) == 0 {
			continue
		}
		list := side.tests
		more := ""
		if len(list) > maxListed {
			more = fmt.Sprintf(" and %d more", len(list)-maxListed)
			list = list[:maxListed]
		}
		fmt.Fprintf(&b, "  Only in %s: %s%s\n", side.name, oneLine(strings.Join(list, ", ")), more)
	}
	_, _ = io.WriteString(w, b.String())
}

func tokensPerCall(st *Stats) string {
	if st.Tokens == nil {
		return ""
	}
	return fmtCount(st.Tokens.TotalPerCall) + " tokens/call"
}

// oneLine makes a recorded string, or a line quoting recorded strings, safe
// for a terminal or a CI log: escaped and clipped (safetext.Line).
func oneLine(s string) string { return safetext.Line(s) }

// writeTable aligns rows in columns (right-aligned where right[i]); a row
// with one cell is a heading and does not set the first column's width.
func writeTable(b *strings.Builder, header []string, rows [][]string, right []bool) {
	all := rows
	if header != nil {
		all = append([][]string{header}, rows...)
	}
	var width []int
	for _, row := range all {
		if len(row) == 1 {
			continue
		}
		for i, c := range row {
			if i >= len(width) {
				width = append(width, 0)
			}
			width[i] = max(width[i], utf8.RuneCountInString(c))
		}
	}
	for _, row := range all {
		if len(row) == 1 {
			b.WriteString(row[0] + "\n")
			continue
		}
		var line strings.Builder
		for i, c := range row {
			pad := strings.Repeat(" ", width[i]-utf8.RuneCountInString(c))
			if i > 0 {
				line.WriteString("  ")
			}
			if i < len(right) && right[i] {
				line.WriteString(pad + c)
			} else {
				line.WriteString(c + pad)
			}
		}
		b.WriteString(strings.TrimRight(line.String(), " ") + "\n")
	}
}
