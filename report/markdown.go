package report

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/llmcheck/llmcheck/assert"
	"github.com/llmcheck/llmcheck/internal/safetext"
	"github.com/llmcheck/llmcheck/span"
)

// DefaultMaxBytes bounds report.md: GitHub accepts 1 MiB of step summary
// per step (REFERENCE.md §9); the margin leaves room for anything else the
// same step appends.
const DefaultMaxBytes = 1<<20 - 32<<10

// Chart bounds: mermaid charts stay readable and small whatever the run.
const (
	maxHistogramBars = 20 // bars per latency histogram
	maxGanttRows     = 30 // spans in the waterfall of the slowest trace
	maxLabelRunes    = 48 // characters of a chart label
)

// MarkdownOptions control report.md.
type MarkdownOptions struct {
	// MaxBytes bounds the report (default DefaultMaxBytes). Over it,
	// tables lose rows and charts are dropped, each with a note; markup is
	// never cut in the middle.
	MaxBytes int
	// Cost prices one span in USD; false when it cannot be priced. nil
	// uses only the cost spans report themselves (llm.cost.total).
	Cost func(*span.Span) (float64, bool)
	// CostNote says where the costs come from, e.g. "tokens × pricing in
	// llmcheck.yaml (USD per 1M tokens); costs reported on spans are
	// preferred". Shown under the table of calls when not empty.
	CostNote string
	// Diff is a Markdown section comparing the run with its baseline
	// (diff.Report.Markdown), placed after the regression rules.
	Diff string
	// Charts, when set, is PrepareCharts of the same run and Cost, computed
	// ahead (e.g. while the assertions are evaluated); nil computes it.
	Charts *Charts
}

// Charts is what report.md shows of the run itself, independent of the
// results: statistics per operation and model, latency histograms and
// the slowest trace's waterfall.
type Charts struct {
	groups   []GroupDetail
	charts   []string
	models   int
	gantt    string
	ganttCap string
	// evaluations (evals.go)
	evals      []EvalRow
	evalCharts []string
}

// PrepareCharts computes the run's part of report.md (four passes over
// the spans, in parallel). It only reads run, so it may run while the
// assertions are evaluated.
func PrepareCharts(run *span.Run, cost func(*span.Span) (float64, bool)) *Charts {
	c := &Charts{}
	var wg sync.WaitGroup
	wg.Go(func() { c.groups = GroupDetails(run, cost) })
	wg.Go(func() { c.charts, c.models = latencyHistograms(run, 6) })
	wg.Go(func() { c.evals = evalRows(run); c.evalCharts = evalCharts(c.evals) })
	c.gantt, c.ganttCap = slowestTraceGantt(run)
	wg.Wait()
	return c
}

// WriteMarkdown writes report.md atomically.
func WriteMarkdown(path string, md string) error {
	return writeFile(path, []byte(md))
}

// Markdown renders report.md, written for a person reading a CI run:
//
//   - a one-line verdict (the heading) and a line of counts;
//   - the assertions: name, expectation, observed value, status, worst
//     first;
//   - for each assertion that did not pass: where it is, what was expected
//     and observed, and the worst spans or traces with their ids;
//   - calls per operation and model: count, errors, p50/p95 latency, input
//     and output tokens, cost when known;
//   - the evaluation results per name (count, score statistics, label
//     shares) and a mermaid xychart-beta chart per evaluation (at most 6):
//     a histogram of its scores, or its results per label;
//   - a mermaid xychart-beta latency histogram per model (at most 20 bars,
//     the 6 busiest models) and a mermaid gantt waterfall of the slowest
//     trace (at most 30 spans).
//
// res may be nil (no assertions file): the report then shows what was
// recorded. run may be nil. Only names, ids, numbers, the assertions' own
// text and the engine's messages are printed — never attribute values, so
// no prompt or completion text. Every user string is escaped for Markdown
// (no raw HTML, no broken tables) or sanitised for mermaid.
func Markdown(res *assert.Results, run *span.Run, meta Meta, opts MarkdownOptions) string {
	limit := opts.MaxBytes
	if limit <= 0 {
		limit = DefaultMaxBytes
	}
	if run == nil {
		run = span.NewRun(nil)
	}
	m := newMDModel(clipNames(res), run, meta, opts)
	for i, lim := range mdLevels {
		lim.shortened = i > 0
		if s, ok := m.render(lim, limit); ok {
			return s
		}
	}
	// Even the shortest report is too long: keep its first blocks
	// (heading, verdict, note) while they fit, whole.
	s, _ := m.render(mdLimits{shortened: true, cell: 40}, math.MaxInt)
	var b strings.Builder
	for _, block := range strings.SplitAfter(s, "\n\n") {
		if b.Len()+len(block) > limit {
			break
		}
		b.WriteString(block)
	}
	return b.String()
}

// mdLimits are how much of each part the report shows. A negative number
// means no limit.
type mdLimits struct {
	rows       int  // rows per table
	failures   int  // failure sections
	detail     int  // rows of each failure's table
	histograms int  // latency histograms
	gantt      bool // the waterfall
	cell       int  // characters of a user string
	shortened  bool // the report was shortened to fit
}

// mdLevels are tried in order until the report fits.
var mdLevels = []mdLimits{
	{rows: -1, failures: -1, detail: 20, histograms: 6, gantt: true, cell: 400},
	{rows: 1000, failures: 100, detail: 10, histograms: 6, gantt: true, cell: 300},
	{rows: 300, failures: 50, detail: 5, histograms: 3, gantt: true, cell: 200},
	{rows: 100, failures: 20, detail: 5, histograms: 1, gantt: false, cell: 160},
	{rows: 30, failures: 10, detail: 3, cell: 120},
	{rows: 10, failures: 3, detail: 3, cell: 100},
	{rows: 5, failures: 2, detail: 2, cell: 80},
	{rows: 2, failures: 1, detail: 1, cell: 60},
	{rows: 0, failures: 0, detail: 0, cell: 60},
}

// mdModel is everything the report shows, computed once.
type mdModel struct {
	res     *assert.Results
	run     *span.Run
	meta    Meta
	opts    MarkdownOptions
	results []assert.Result // worst first
	// rulesOnly: only the regression rules' section (RulesMarkdown).
	rulesOnly  bool
	groups     []GroupDetail
	charts     []string  // mermaid histogram blocks, busiest model first
	models     int       // models with spans (charted or not)
	gantt      string    // mermaid gantt block, "" when no trace
	ganttCap   string    // the line under the gantt
	budget     int       // bytes the render under way may use
	evals      []EvalRow // evals.go
	evalCharts []string
}

func newMDModel(res *assert.Results, run *span.Run, meta Meta, opts MarkdownOptions) *mdModel {
	m := &mdModel{res: res, run: run, meta: meta, opts: opts}
	if res != nil {
		m.results = append([]assert.Result(nil), res.Assertions...)
		sort.SliceStable(m.results, func(i, j int) bool { return statusRank(m.results[i]) < statusRank(m.results[j]) })
	}
	c := opts.Charts
	if c == nil {
		c = PrepareCharts(run, opts.Cost)
	}
	m.groups, m.charts, m.models, m.gantt, m.ganttCap = c.groups, c.charts, c.models, c.gantt, c.ganttCap
	m.evals, m.evalCharts = c.evals, c.evalCharts
	return m
}

// statusRank orders results worst first: failed, errored, warned, passed,
// skipped.
func statusRank(r assert.Result) int {
	switch {
	case r.Status == assert.Fail:
		return 0
	case r.Status == assert.Error:
		return 1
	case r.Status == assert.Warn:
		return 2
	case r.Skipped:
		return 4
	default:
		return 3
	}
}

func statusCell(r assert.Result) string {
	switch {
	case r.Skipped:
		return "⏭️ skipped"
	case r.Status == assert.Pass:
		return "✅ pass"
	case r.Status == assert.Fail:
		return "❌ fail"
	case r.Status == assert.Error:
		return "⛔ error"
	case r.Status == assert.Inconclusive:
		return "❔ inconclusive"
	default:
		return "⚠️ warn"
	}
}

// Verdict is "pass" or "fail": fail when an assertion failed or could not
// be evaluated, when the test command failed, or when no spans were
// recorded — the cases where llmcheck exits non-zero. spans is the number
// of recorded spans (used when res is nil).
func Verdict(res *assert.Results, spans int, meta Meta) string {
	if res != nil {
		spans = res.Spans
	}
	if (res != nil && res.Status == assert.Fail) || meta.CommandStatus != "" || spans == 0 {
		return "fail"
	}
	return "pass"
}

// render writes the report with the limits of lim; ok is false (and the
// text incomplete) as soon as it is longer than budget bytes.
func (m *mdModel) render(lim mdLimits, budget int) (string, bool) {
	m.budget = budget
	b := &strings.Builder{}
	for _, part := range []func(*strings.Builder, mdLimits){m.writeVerdict, m.writeAssertions, m.writeRegressions, m.writeFailures, m.writeGroups, m.writeEvals, m.writeCharts, m.writeFooter} {
		part(b, lim)
		if m.over(b) {
			return "", false
		}
	}
	return b.String(), true
}

// over reports whether b is past the byte budget of the render under way.
func (m *mdModel) over(b *strings.Builder) bool { return b.Len() > m.budget }

func (m *mdModel) writeVerdict(b *strings.Builder, lim mdLimits) {
	spans, traces := len(m.run.Spans), len(m.run.Traces)
	if m.res != nil {
		spans, traces = m.res.Spans, m.res.Traces
	}
	var head string
	switch {
	case m.res != nil && m.res.Status == assert.Fail:
		c := m.res.Counts()
		bad := c[assert.Fail] + c[assert.Error]
		head = fmt.Sprintf("❌ llmcheck: %d of %d %s did not pass", bad, len(m.res.Assertions), plural(len(m.res.Assertions), "assertion", "assertions"))
	case spans == 0:
		head = "❌ llmcheck: no spans were received"
	case m.meta.CommandStatus != "":
		head = "❌ llmcheck: the test command failed"
	case m.res == nil:
		head = fmt.Sprintf("📼 llmcheck: recorded %d %s in %d %s", spans, plural(spans, "span", "spans"), traces, plural(traces, "trace", "traces"))
	default:
		head = fmt.Sprintf("✅ llmcheck: all %d %s passed", len(m.res.Assertions), plural(len(m.res.Assertions), "assertion", "assertions"))
		if n := m.res.Counts()[assert.Warn]; n > 0 {
			head = fmt.Sprintf("✅ llmcheck: passed with %d %s", n, plural(n, "warning", "warnings"))
		}
	}
	fmt.Fprintf(b, "## %s\n\n", head)

	var parts []string
	if m.res != nil {
		c := m.res.Counts()
		skipped := m.res.Skipped()
		parts = append(parts, fmt.Sprintf("**%d failed**", c[assert.Fail]))
		if c[assert.Error] > 0 {
			parts = append(parts, fmt.Sprintf("**%d could not be evaluated**", c[assert.Error]))
		}
		parts = append(parts, fmt.Sprintf("%d passed", c[assert.Pass]-skipped))
		if c[assert.Warn] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", c[assert.Warn], plural(c[assert.Warn], "warning", "warnings")))
		}
		if skipped > 0 {
			parts = append(parts, fmt.Sprintf("%d skipped", skipped))
		}
	}
	if m.res != nil {
		parts = append(parts, fmt.Sprintf("%d %s in %d %s", spans, plural(spans, "span", "spans"), traces, plural(traces, "trace", "traces")))
	}
	if total, ok := m.totalCost(); ok {
		parts = append(parts, "total cost "+usd(total))
	}
	if len(m.meta.Command) > 0 {
		cmd := code(clip(m.meta.CommandLine(), lim.cell))
		n, repeated := len(m.meta.Repetitions), m.meta.Repeat > 1
		switch {
		case repeated && m.meta.CommandStatus != "":
			// "failed in 2 of 5 repetitions (2, 4)"
			parts = append(parts, fmt.Sprintf("%s %s after %s", cmd, mdText(m.meta.CommandStatus, lim.cell), seconds(m.meta.CommandDuration)))
		case repeated:
			parts = append(parts, fmt.Sprintf("%s passed %d times in %s", cmd, n, seconds(m.meta.CommandDuration)))
		case m.meta.CommandStatus != "":
			parts = append(parts, fmt.Sprintf("%s failed (%s) after %s", cmd, mdText(m.meta.CommandStatus, lim.cell), seconds(m.meta.CommandDuration)))
		default:
			parts = append(parts, fmt.Sprintf("%s passed in %s", cmd, seconds(m.meta.CommandDuration)))
		}
	}
	if m.meta.RunID != "" {
		parts = append(parts, "run id "+code(clip(m.meta.RunID, lim.cell)))
	}
	if len(parts) > 0 {
		line := strings.Join(parts, " · ")
		if c := line[0]; c >= 'a' && c <= 'z' {
			line = string(c-'a'+'A') + line[1:]
		}
		b.WriteString(line)
		b.WriteString("\n\n")
	}
	if m.meta.Repeat > 1 && m.meta.CommandStatus != "" {
		m.writeRepetitions(b, lim)
	}
	switch {
	case spans == 0:
		b.WriteString("The application sent no spans: check that its OpenTelemetry SDK exports with OTLP to the endpoint llmcheck sets in `OTEL_EXPORTER_OTLP_ENDPOINT` and flushes before it exits.\n\n")
	case m.res == nil:
		fmt.Fprintf(b, "No assertions file, so nothing was checked. Write a starter `llmcheck.yaml` with budgets from this run: %s\n\n",
			code("llmcheck init --from "+clip(orDefault(m.meta.TracePath, ".llmcheck/traces.jsonl"), lim.cell)))
	}
	if st := m.meta.Store; st != nil {
		fmt.Fprintf(b, "%d %s from the trace store %s joined the run's %d %s.\n\n", st.Spans, plural(st.Spans, "span", "spans"), code(clip(st.From, lim.cell)), st.Traces, plural(st.Traces, "trace", "traces"))
		if n := len(st.Incomplete); n > 0 {
			fmt.Fprintf(b, "> [!WARNING]\n> %d %s still incomplete in the store at the timeout (their spans so far are included; more may be missing): %s\n\n", n, plural(n, "trace was", "traces were"), mdText(IncompleteIDs(st.Incomplete, 20), lim.cell*4))
		}
	}
	if m.res != nil {
		for _, d := range m.res.ConfigWarnings {
			fmt.Fprintf(b, "> [!WARNING]\n> %s: %s\n\n", code(clip(d.Pos.String(), lim.cell)), mdText(d.Message, lim.cell*2))
		}
	}
	if lim.shortened {
		b.WriteString("> [!NOTE]\n> This report was shortened to stay under GitHub's 1 MiB step-summary limit. The complete results are in `results.json` and `junit.xml`.\n\n")
	}
}

func (m *mdModel) writeAssertions(b *strings.Builder, lim mdLimits) {
	if m.res == nil {
		return
	}
	if len(m.results) == 0 {
		b.WriteString("### Assertions\n\nThe assertions file has no assertions.\n\n")
		return
	}
	b.WriteString("### Assertions\n\n")
	t := mdTable{header: []string{"Assertion", "Expectation", "Observed", "Status"}, n: len(m.results), row: func(i int) []string {
		r := m.results[i]
		return []string{cellText(r.Name, lim.cell), expectation(r, lim.cell), cellText(r.Message, lim.cell), statusCell(r)}
	}}
	m.table(b, &t, lim.rows, "assertions")
}

// RulesMarkdown renders regression rule verdicts as a Markdown section.
func RulesMarkdown(rules []assert.Result, baseline string) string {
	m := &mdModel{res: &assert.Results{Regressions: rules, Baseline: baseline}, budget: DefaultMaxBytes, rulesOnly: true}
	b := &strings.Builder{}
	m.writeRegressions(b, mdLimits{rows: 200, cell: 300})
	return b.String()
}

func (m *mdModel) writeRegressions(b *strings.Builder, lim mdLimits) {
	if m.res == nil || len(m.res.Regressions) == 0 && m.opts.Diff == "" {
		return
	}
	if rs := m.res.Regressions; len(rs) > 0 {
		b.WriteString("### Regression rules\n\n")
		if m.res.Baseline != "" {
			fmt.Fprintf(b, "Compared with the baseline %s.\n\n", codeCell(clip(m.res.Baseline, lim.cell)))
		}
		t := mdTable{header: []string{"Rule", "Expectation", "Observed", "Status"}, n: len(rs), row: func(i int) []string {
			r := rs[i]
			return []string{cellText(r.Name, lim.cell), expectation(r, lim.cell), cellText(r.Message, lim.cell), statusCell(r)}
		}}
		m.table(b, &t, lim.rows, "rules")
		if m.rulesOnly {
			// Without the "What did not pass" section (llmcheck diff), the
			// warnings of inconclusive rules go under the table.
			for _, r := range rs {
				if r.Warning != "" {
					fmt.Fprintf(b, "> [!WARNING]\n> **%s**: %s\n\n", mdText(r.Name, lim.cell), mdText(r.Warning, lim.cell*2))
				}
			}
		}
	}
	if m.opts.Diff != "" && !lim.shortened {
		b.WriteString(strings.TrimRight(m.opts.Diff, "\n") + "\n\n")
	}
}

// expectation renders "`expect` where `where`, for each trace".
func expectation(r assert.Result, n int) string {
	s := codeCell(clip(r.Expect, n))
	if r.Where != "" {
		s += " where " + codeCell(clip(r.Where, n))
	}
	if r.Each != "" {
		s += ", for each " + cellText(r.Each, n)
	}
	return s
}

func (m *mdModel) writeFailures(b *strings.Builder, lim mdLimits) {
	if m.res == nil {
		return
	}
	var bad []assert.Result
	for _, r := range append(append([]assert.Result(nil), m.results...), m.res.Regressions...) {
		if (r.Status != assert.Pass && r.Status != assert.Inconclusive) || r.Warning != "" {
			bad = append(bad, r)
		}
	}
	if len(bad) == 0 {
		return
	}
	b.WriteString("### What did not pass\n\n")
	for i, r := range bad {
		if m.over(b) {
			return
		}
		if lim.failures >= 0 && i >= lim.failures {
			fmt.Fprintf(b, "_%d more not shown here; they are in the table above and in `junit.xml`._\n\n", len(bad)-i)
			break
		}
		mark := "❌"
		switch r.Status {
		case assert.Error:
			mark = "⛔"
		case assert.Warn, assert.Inconclusive:
			mark = "⚠️"
		}
		fmt.Fprintf(b, "#### %s %s\n\n", mark, mdText(r.Name, lim.cell))
		line := "Expect " + code(clip(r.Expect, lim.cell))
		if r.Where != "" {
			line += " where " + code(clip(r.Where, lim.cell))
		}
		if r.Each != "" {
			line += ", for each " + mdText(r.Each, lim.cell)
		}
		if r.Position.File != "" {
			line += " · " + code(clip(r.Position.String(), lim.cell))
		}
		if r.Severity == "warn" {
			line += " · severity: warn (does not fail the run)"
		}
		b.WriteString(line + "\n\n")
		if r.Status == assert.Error {
			b.WriteString("Could not be evaluated: ")
		}
		b.WriteString(mdText(r.Message, lim.cell*2) + "\n\n")
		if r.Warning != "" {
			b.WriteString("> [!WARNING]\n> " + mdText(r.Warning, lim.cell*2) + "\n\n")
		}
		if r.Each != "" && len(r.Rows) > 0 {
			var rows []assert.Row
			for _, row := range r.Rows {
				if row.Status != assert.Pass {
					rows = append(rows, row)
				}
			}
			if r.Each == assert.EachTrace {
				t := mdTable{header: []string{"Trace", "Root span", "Status", "Observed"}, n: len(rows), row: func(i int) []string {
					row := rows[i]
					return []string{codeCell(row.TraceID), cellText(row.Name, lim.cell), cellText(string(row.Status), lim.cell), cellText(row.Message, lim.cell)}
				}}
				m.table(b, &t, lim.detail, "traces that did not pass")
			} else {
				noun := assert.GroupNoun(r.Each)
				head := strings.ToUpper(noun[:1]) + noun[1:]
				if noun == "group" {
					head = codeCell(clip(r.Each, lim.cell))
				}
				t := mdTable{header: []string{head, "Traces", "Status", "Observed"}, n: len(rows), row: func(i int) []string {
					row := rows[i]
					g := cellText(row.Group, lim.cell)
					if row.Group != assert.NoGroup {
						g = codeCell(clip(row.Group, lim.cell))
					}
					return []string{g, strconv.Itoa(row.Traces), cellText(string(row.Status), lim.cell), cellText(row.Message, lim.cell)}
				}}
				m.table(b, &t, lim.detail, noun+"s that did not pass")
			}
		} else if len(r.Offenders) > 0 {
			t := mdTable{header: []string{"Trace", "Span", "Name", "Metric", "Value"}, n: len(r.Offenders), row: func(i int) []string {
				o := r.Offenders[i]
				sp := ""
				if o.SpanID != "" {
					sp = codeCell(o.SpanID)
				}
				return []string{codeCell(o.TraceID), sp, cellText(o.Name, lim.cell), cellText(o.Metric, lim.cell), cellText(assert.FormatValue(o.Value, o.Unit), lim.cell)}
			}}
			m.table(b, &t, lim.detail, "spans")
		}
	}
}

func (m *mdModel) totalCost() (float64, bool) {
	var total float64
	priced := 0
	for _, g := range m.groups {
		total += g.Cost
		priced += g.Priced
	}
	return total, priced > 0
}

func (m *mdModel) writeGroups(b *strings.Builder, lim mdLimits) {
	if len(m.groups) == 0 {
		return
	}
	b.WriteString("### Calls by operation and model\n\n")
	_, withCost := m.totalCost()
	t := mdTable{header: []string{"Operation", "Model", "Calls", "Errors", "p50", "p95", "Input tokens", "Output tokens"}}
	t.right = []bool{false, false, true, true, true, true, true, true}
	withTTFT := false
	for _, g := range m.groups {
		withTTFT = withTTFT || len(g.TTFTs) > 0
	}
	if withTTFT { // only runs with streamed calls have the columns
		t.header = append(t.header, "TTFT p50", "TTFT p95")
		t.right = append(t.right, true, true)
	}
	if withCost {
		t.header = append(t.header, "Cost")
		t.right = append(t.right, true)
	}
	t.n = len(m.groups)
	t.row = func(i int) []string {
		g := m.groups[i]
		model := cellText(g.Model, lim.cell)
		if g.Model == "" {
			model = "–"
		}
		row := []string{cellText(g.Operation, lim.cell), model, strconv.Itoa(g.Spans), strconv.Itoa(g.Errors),
			ms(g.P50), ms(g.P95), thousands(g.InputTokens), thousands(g.OutputTokens)}
		if withTTFT {
			if len(g.TTFTs) > 0 {
				row = append(row, ms(g.TTFTP50), ms(g.TTFTP95))
			} else {
				row = append(row, "–", "–")
			}
		}
		if withCost {
			c := "–"
			if g.Priced > 0 {
				c = usd(g.Cost)
			}
			row = append(row, c)
		}
		return row
	}
	var tot GroupDetail
	for _, g := range m.groups {
		tot.Spans += g.Spans
		tot.Errors += g.Errors
		tot.InputTokens += g.InputTokens
		tot.OutputTokens += g.OutputTokens
		tot.Cost += g.Cost
	}
	if len(m.groups) > 1 {
		row := []string{"**all**", "", strconv.Itoa(tot.Spans), strconv.Itoa(tot.Errors), "", "", thousands(tot.InputTokens), thousands(tot.OutputTokens)}
		if withTTFT {
			row = append(row, "", "")
		}
		if withCost {
			row = append(row, usd(tot.Cost))
		}
		t.footer = row
	}
	m.table(b, &t, lim.rows, "groups")
	note := "Latency p50/p95: linear interpolation."
	if withCost {
		note += " Cost in USD"
		if m.opts.CostNote != "" {
			note += ": " + mdText(m.opts.CostNote, lim.cell)
		}
		note += "; – means no span of the group could be priced."
	}
	b.WriteString("_" + note + "_\n\n")
}

func (m *mdModel) writeCharts(b *strings.Builder, lim mdLimits) {
	if lim.histograms != 0 && len(m.charts) > 0 {
		b.WriteString("### Latency by model\n\n")
		n := len(m.charts)
		if lim.histograms > 0 && n > lim.histograms {
			n = lim.histograms
		}
		for _, c := range m.charts[:n] {
			b.WriteString(c)
			b.WriteString("\n")
		}
		if m.models > n {
			fmt.Fprintf(b, "_%d more %s not charted._\n\n", m.models-n, plural(m.models-n, "model", "models"))
		}
	} else if len(m.charts) > 0 {
		b.WriteString("_Latency histograms left out to keep the report short._\n\n")
	}
	if m.gantt != "" {
		if lim.gantt {
			b.WriteString("### Slowest trace\n\n")
			b.WriteString(m.gantt)
			b.WriteString("\n" + m.ganttCap + "\n\n")
		} else {
			b.WriteString("_The waterfall of the slowest trace was left out to keep the report short._\n\n")
		}
	}
}

// writeRepetitions lists the failed repetitions of llmcheck run --repeat.
func (m *mdModel) writeRepetitions(b *strings.Builder, lim mdLimits) {
	var rows []Repetition
	for _, r := range m.meta.Repetitions {
		if r.Status != "" {
			rows = append(rows, r)
		}
	}
	t := mdTable{header: []string{"failed repetition", "status", "duration"}, right: []bool{true, false, true}, n: len(rows),
		row: func(i int) []string {
			r := rows[i]
			return []string{strconv.Itoa(r.Number), mdText(r.Status, lim.cell), seconds(r.Duration)}
		}}
	m.table(b, &t, lim.rows, "failed repetitions")
}

func (m *mdModel) writeFooter(b *strings.Builder, lim mdLimits) {
	if m.meta.TracePath != "" {
		fmt.Fprintf(b, "<sub>Spans recorded in %s. Generated by llmcheck.</sub>\n", code(clip(m.meta.TracePath, lim.cell)))
	} else {
		b.WriteString("<sub>Generated by llmcheck.</sub>\n")
	}
}

// mdTable is a GitHub-flavoured Markdown table of n rows; row(i) returns
// the already escaped cells of row i.
type mdTable struct {
	header []string
	right  []bool // right-aligned columns
	n      int
	row    func(i int) []string
	footer []string // a last row always shown (totals)
}

// table renders at most limit rows of t (all when negative) followed by a
// blank line, and says how many were left out. It stops early once the
// render is over its byte budget.
func (m *mdModel) table(b *strings.Builder, t *mdTable, limit int, what string) {
	n := t.n
	if limit >= 0 && n > limit {
		n = limit
	}
	if n == 0 && t.n > 0 {
		fmt.Fprintf(b, "_%d %s not shown to keep the report short._\n\n", t.n, what)
		return
	}
	writeRow(b, t.header)
	b.WriteString("|")
	for i := range t.header {
		if i < len(t.right) && t.right[i] {
			b.WriteString("---:|")
		} else {
			b.WriteString("---|")
		}
	}
	b.WriteString("\n")
	for i := range n {
		if m.over(b) {
			return
		}
		writeRow(b, t.row(i))
	}
	if t.footer != nil {
		writeRow(b, t.footer)
	}
	b.WriteString("\n")
	if n < t.n {
		fmt.Fprintf(b, "_%d more %s not shown to keep the report short._\n\n", t.n-n, what)
	}
}

func writeRow(b *strings.Builder, cells []string) {
	b.WriteString("|")
	for _, c := range cells {
		if c == "" {
			c = " "
		}
		b.WriteString(" " + c + " |")
	}
	b.WriteString("\n")
}

// clip shortens s to n runes (no limit when n < 0), ending with "…".
func clip(s string, n int) string {
	if n < 0 || utf8.RuneCountInString(s) <= n {
		return s
	}
	if n <= 1 {
		return "…"
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// flat puts s on one line: every run of white space becomes one space, and
// invalid UTF-8 and control characters go.
func flat(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	var b strings.Builder
	space := false
	for _, r := range strings.TrimSpace(s) {
		switch {
		case unicode.IsSpace(r):
			space = true
			continue
		case unicode.IsControl(r) || r == '\u2028' || r == '\u2029':
			continue
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		b.WriteRune(r)
	}
	return safetext.Neutral(b.String())
}

// mdText escapes s as Markdown inline text on one line: no emphasis, code,
// links or headings can start, no raw HTML, no table cell breaks, no
// mention or autolink (safetext.NoMentions).
func mdText(s string, n int) string {
	s = clip(flat(s), n)
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '&':
			b.WriteString("&amp;")
		case '\\', '`', '*', '_', '[', ']', '~', '|', '#', '!', '{', '}', '$':
			b.WriteByte('\\')
			b.WriteRune(r)
		default:
			b.WriteRune(r)
		}
	}
	return safetext.NoMentions(b.String())
}

// cellText is mdText for a table cell.
func cellText(s string, n int) string { return mdText(s, n) }

// code renders s as an inline code span, on one line, with a backtick
// fence longer than any backtick run inside. Not for table cells (see
// codeCell).
func code(s string) string {
	s = flat(s)
	if s == "" {
		return ""
	}
	longest, run := 0, 0
	for _, r := range s {
		if r == '`' {
			run++
			if run > longest {
				longest = run
			}
		} else {
			run = 0
		}
	}
	fence := strings.Repeat("`", longest+1)
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") || (strings.HasPrefix(s, " ") && strings.HasSuffix(s, " ")) {
		return fence + " " + s + " " + fence
	}
	return fence + s + fence
}

// codeCell is code for a table cell: a pipe would end the cell even inside
// a code span, so it is escaped (GFM unescapes it inside the span).
func codeCell(s string) string {
	return strings.ReplaceAll(code(s), "|", `\|`)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func ms(v float64) string { return assert.FormatMS(v) }

// usd is a dollar amount for Markdown text: the $ is escaped, so two
// amounts on a line never open GitHub's $…$ math.
func usd(v float64) string { return `\$` + assert.FormatFloat(v) }

func seconds(d time.Duration) string {
	if d < time.Second {
		return strconv.FormatInt(d.Milliseconds(), 10) + " ms"
	}
	return strconv.FormatFloat(math.Round(d.Seconds()*10)/10, 'f', -1, 64) + " s"
}

// thousands renders n with a comma every three digits.
func thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	if neg {
		s = s[1:]
	}
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// ---- mermaid ----

// mermaidLabel sanitises s for a mermaid label: letters, digits, spaces and
// a few harmless punctuation marks survive; quotes, colons, semicolons,
// hashes, brackets, angle brackets and the like become spaces.
func mermaidLabel(s string) string {
	var b strings.Builder
	for _, r := range flat(s) {
		if unicode.IsLetter(r) || unicode.IsDigit(r) || strings.ContainsRune(" .-_/()+@", r) {
			b.WriteRune(r)
		} else {
			b.WriteByte(' ')
		}
	}
	out := strings.Join(strings.Fields(b.String()), " ")
	return clip(out, maxLabelRunes)
}

// latencyHistograms draws one xychart-beta bar chart of span latencies per
// model, busiest model first, at most max charts. It returns the charts and
// the number of models.
func latencyHistograms(run *span.Run, limit int) ([]string, int) {
	byModel := map[string][]float64{}
	var models []string
	for _, s := range run.Spans {
		if s.Model == "" {
			continue
		}
		if _, ok := byModel[s.Model]; !ok {
			models = append(models, s.Model)
		}
		byModel[s.Model] = append(byModel[s.Model], s.DurationMS)
	}
	sort.SliceStable(models, func(i, j int) bool {
		a, b := len(byModel[models[i]]), len(byModel[models[j]])
		if a != b {
			return a > b
		}
		return models[i] < models[j]
	})
	var charts []string
	for i, model := range models {
		if i == limit {
			break
		}
		charts = append(charts, histogramChart(model, byModel[model]))
	}
	return charts, len(models)
}

func histogramChart(model string, durs []float64) string {
	labels, counts := histogram(durs, maxHistogramBars)
	label := mermaidLabel(model)
	if label == "" {
		label = "model"
	}
	var b strings.Builder
	b.WriteString("```mermaid\nxychart-beta\n")
	fmt.Fprintf(&b, "    title \"%s latency, %d %s\"\n", label, len(durs), plural(len(durs), "span", "spans"))
	quoted := make([]string, len(labels))
	for i, l := range labels {
		quoted[i] = `"` + l + `"`
	}
	fmt.Fprintf(&b, "    x-axis \"latency (ms)\" [%s]\n", strings.Join(quoted, ", "))
	b.WriteString("    y-axis \"spans\"\n")
	nums := make([]string, len(counts))
	for i, c := range counts {
		nums[i] = strconv.Itoa(c)
	}
	fmt.Fprintf(&b, "    bar [%s]\n", strings.Join(nums, ", "))
	b.WriteString("```\n")
	return b.String()
}

// histogram buckets values into at most maxBars bars of a round width
// (1, 2 or 5 × 10^k), labelled "lo-hi".
func histogram(values []float64, maxBars int) ([]string, []int) {
	return histogramFmt(values, maxBars, assert.FormatFloat)
}

// histogramFmt is histogram with the bar bounds formatted by format.
func histogramFmt(values []float64, maxBars int, format func(float64) string) ([]string, []int) {
	if len(values) == 0 {
		return nil, nil
	}
	lo, hi := values[0], values[0]
	for _, v := range values {
		lo, hi = math.Min(lo, v), math.Max(hi, v)
	}
	if math.IsInf(hi-lo, 0) || math.IsNaN(hi-lo) {
		return nil, nil // recorded numbers (evaluation scores) too far apart for bars
	}
	want := int(math.Ceil(math.Sqrt(float64(len(values)))))
	want = min(max(want, 5), maxBars)
	w := niceWidth((hi - lo) / float64(want))
	if hi == lo {
		w = niceWidth(math.Max(math.Abs(lo)/10, 1))
	}
	var start float64
	var n int
	for {
		start = math.Floor(lo/w) * w
		bars := math.Floor((hi-start)/w) + 1
		if math.IsInf(w, 0) || math.IsNaN(bars) || bars < 1 {
			return nil, nil // no finite width fits: see above
		}
		n = int(min(bars, float64(maxBars+1)))
		if n <= maxBars {
			break
		}
		w = niceWidth(w * 1.5)
	}
	counts := make([]int, n)
	for _, v := range values {
		i := int(math.Floor((v - start) / w))
		counts[min(max(i, 0), n-1)]++
	}
	labels := make([]string, n)
	for i := range labels {
		a := start + float64(i)*w
		labels[i] = format(a) + "-" + format(a+w)
	}
	return labels, counts
}

// niceWidth is the smallest of 1, 2, 5 × 10^k that is at least x.
func niceWidth(x float64) float64 {
	if x <= 0 || math.IsNaN(x) || math.IsInf(x, 0) {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(x)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= x*(1-1e-9) {
			return m * p
		}
	}
	return 10 * p
}

// ganttKeywords start a line with a meaning of its own in a gantt chart; a
// task label must not begin with one.
var ganttKeywords = []string{"title", "section", "dateformat", "axisformat", "tickinterval", "excludes", "includes",
	"todaymarker", "inclusiveenddates", "topaxis", "weekday", "weekend", "click", "acctitle", "accdescr"}

func ganttTaskLabel(s string) string {
	l := mermaidLabel(s)
	if l == "" {
		return "span"
	}
	first := strings.ToLower(strings.Fields(l)[0])
	for _, k := range ganttKeywords {
		if strings.HasPrefix(first, k) {
			return "span " + l
		}
	}
	return l
}

// slowestTraceGantt draws the waterfall of the longest trace as a mermaid
// gantt chart: at most maxGanttRows spans (the longest ones, the root
// always), in start order, indented by depth; error spans are marked crit.
func slowestTraceGantt(run *span.Run) (chart, caption string) {
	var slow *span.Trace
	for _, t := range run.Traces {
		if slow == nil || t.DurationMS > slow.DurationMS {
			slow = t
		}
	}
	if slow == nil || len(slow.Spans) == 0 {
		return "", ""
	}
	spans := slow.Spans
	if len(spans) > maxGanttRows {
		keep := append([]*span.Span(nil), spans...)
		sort.SliceStable(keep, func(i, j int) bool {
			if (keep[i] == slow.Root) != (keep[j] == slow.Root) {
				return keep[i] == slow.Root
			}
			return keep[i].DurationMS > keep[j].DurationMS
		})
		keep = keep[:maxGanttRows]
		sort.SliceStable(keep, func(i, j int) bool { return keep[i].StartUnixNano < keep[j].StartUnixNano })
		spans = keep
	}
	depth := map[string]int{}
	byID := map[string]*span.Span{}
	for _, s := range slow.Spans {
		byID[s.SpanID] = s
	}
	var depthOf func(s *span.Span, guard int) int
	depthOf = func(s *span.Span, guard int) int {
		if d, ok := depth[s.SpanID]; ok {
			return d
		}
		p := byID[s.ParentSpanID]
		d := 0
		if p != nil && p != s && guard < 64 {
			d = depthOf(p, guard+1) + 1
		}
		depth[s.SpanID] = d
		return d
	}

	root := ganttTaskLabel(slow.Root.Name)
	var b strings.Builder
	b.WriteString("```mermaid\ngantt\n")
	fmt.Fprintf(&b, "    title %s, %s\n", root, ms(slow.DurationMS))
	b.WriteString("    dateFormat x\n")
	b.WriteString("    axisFormat %H:%M:%S.%L\n")
	fmt.Fprintf(&b, "    section trace %s\n", mermaidLabel(shortID(slow.ID)))
	for i, s := range spans {
		start := int64(s.StartUnixNano / 1e6)
		end := int64(s.EndUnixNano / 1e6)
		if end <= start {
			end = start + 1
		}
		label := ganttTaskLabel(s.Name)
		if d := min(depthOf(s, 0), 8); d > 0 {
			label = strings.Repeat(". ", d) + label
		}
		label += " " + assert.FormatMS(s.DurationMS)
		tags := ""
		if s.IsError() {
			tags = "crit, "
		}
		fmt.Fprintf(&b, "    %s :%ss%d, %d, %d\n", label, tags, i+1, start, end)
	}
	b.WriteString("```\n")
	caption = fmt.Sprintf("_Trace %s, %d %s", code(slow.ID), len(slow.Spans), plural(len(slow.Spans), "span", "spans"))
	if len(spans) < len(slow.Spans) {
		caption += fmt.Sprintf("; the %d longest shown", len(spans))
	}
	caption += ". Error spans are highlighted._"
	return b.String(), caption
}

func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}
