package diff

import (
	"github.com/llmcheck/llmcheck/internal/safetext"

	"fmt"
	"strconv"
	"strings"
	"unicode"
)

// MaxCommentBytes is GitHub's limit on a pull-request comment (65,536
// characters; bytes are counted, which is never less).
const MaxCommentBytes = 65536

// maxChartGroups is the most groups drawn in the Markdown latency chart.
const maxChartGroups = 12

// mdColumns are the metrics of the Markdown table, after the group.
var mdColumns = []string{MetricCount, MetricLatencyP50, MetricLatencyP95, MetricTokensPerCall, MetricCost, MetricErrorRate, MetricHitRate}

// mdColumnsTTFT add the time to first token after latency, for reports
// where a group streamed.
var mdColumnsTTFT = []string{MetricCount, MetricLatencyP50, MetricLatencyP95, MetricTTFTP95, MetricTokensPerCall, MetricCost, MetricErrorRate, MetricHitRate}

// columns are the table's metrics: with a TTFT p95 column when any group
// reports a time to first token on either side.
func (r *Report) columns() []string {
	for _, g := range r.Groups {
		if (g.Base != nil && g.Base.TTFT != nil) || (g.Head != nil && g.Head.TTFT != nil) {
			return mdColumnsTTFT
		}
	}
	return mdColumns
}

// Markdown renders the report for a pull-request comment or a GitHub step
// summary: the headlines, a table with one row per group (base → head and
// the change, ~ when not significant), the structural changes with a
// collapsed list per test, and a mermaid xychart-beta of p50/p95 latency
// per group, base against head, when there are at most 12 groups.
//
// The result is at most maxBytes long (≤ 0: no limit; use
// MaxCommentBytes for a PR comment). Over it, the per-test list, the
// chart, table rows, structural patterns and headlines are shortened in
// that order, whole lines at a time, each with a note saying what was
// left out; markup is never cut in the middle. User strings (service,
// span, model and test names) are escaped for Markdown, and reduced to
// plain characters in the chart.
func (r *Report) Markdown(maxBytes int) string {
	blocks := r.mdBlocks()
	if maxBytes <= 0 {
		return renderBlocks(blocks)
	}
	// Shorten the least important blocks first.
	for _, name := range []string{"tests", "chart", "flips", "evals", "table", "patterns", "headlines", "footer"} {
		if blocksSize(blocks) <= maxBytes {
			break
		}
		b := findBlock(blocks, name)
		if b == nil {
			continue
		}
		if b.optional {
			b.dropped = true
			continue
		}
		// The most items that fit, by bisection.
		lo, hi := 0, b.keep
		for lo < hi {
			mid := (lo + hi + 1) / 2
			b.keep = mid
			if blocksSize(blocks) <= maxBytes {
				lo = mid
			} else {
				hi = mid - 1
			}
		}
		b.keep = lo
	}
	if s := renderBlocks(blocks); len(s) <= maxBytes {
		return s
	}
	note := "_The comparison does not fit in " + strconv.Itoa(maxBytes) + " bytes; see the JSON report._\n"
	for _, s := range []string{blocks[0].head[0] + "\n\n" + note, note} {
		if len(s) <= maxBytes {
			return s
		}
	}
	return ""
}

// mdBlock is a part of the Markdown report: fixed head and tail lines
// around items that may be shortened (with a note) or, if optional, the
// whole block dropped.
type mdBlock struct {
	name       string
	head, tail []string
	items      []string
	keep       int
	note       func(omitted int) string
	optional   bool
	dropped    bool
}

func findBlock(bs []*mdBlock, name string) *mdBlock {
	for _, b := range bs {
		if b.name == name {
			return b
		}
	}
	return nil
}

// blocksSize is len(renderBlocks(bs)), without rendering.
func blocksSize(bs []*mdBlock) int {
	n, first := 0, true
	lines := func(ls []string) {
		for _, l := range ls {
			n += len(l) + 1
		}
	}
	for _, b := range bs {
		if b.dropped {
			continue
		}
		if !first {
			n++
		}
		first = false
		lines(b.head)
		lines(b.items[:b.keep])
		if b.keep < len(b.items) && b.note != nil {
			n += len(b.note(len(b.items)-b.keep)) + 1
		}
		lines(b.tail)
	}
	return n
}

func renderBlocks(bs []*mdBlock) string {
	var sb strings.Builder
	for _, b := range bs {
		if b.dropped {
			continue
		}
		if sb.Len() > 0 {
			sb.WriteString("\n")
		}
		for _, l := range b.head {
			sb.WriteString(l + "\n")
		}
		for _, l := range b.items[:b.keep] {
			sb.WriteString(l + "\n")
		}
		if b.keep < len(b.items) && b.note != nil {
			sb.WriteString(b.note(len(b.items)-b.keep) + "\n")
		}
		for _, l := range b.tail {
			sb.WriteString(l + "\n")
		}
	}
	return sb.String()
}

func newBlock(name string, items []string) *mdBlock {
	return &mdBlock{name: name, items: items, keep: len(items)}
}

func (r *Report) mdBlocks() []*mdBlock {
	var bs []*mdBlock
	title := newBlock("title", nil)
	title.head = []string{
		fmt.Sprintf("### llmcheck diff: %s → %s", escapeMD(r.Base.Name), escapeMD(r.Head.Name)),
		"",
		escapeMD(r.runLine()),
	}
	bs = append(bs, title)

	var hl []string
	for _, h := range r.Headlines {
		hl = append(hl, mdItem(h.Text))
	}
	headlines := newBlock("headlines", hl)
	if len(hl) == 0 {
		headlines.head = []string{r.noChange()}
	} else {
		headlines.head = []string{"**What changed**", ""}
		if len(hl) > maxHeadlines {
			headlines.keep = maxHeadlines
		}
		headlines.note = func(n int) string { return fmt.Sprintf("- … and %d more in the JSON report", n) }
	}
	bs = append(bs, headlines)

	order := r.displayOrder()
	if len(order) > 0 {
		var rows []string
		for _, g := range order {
			rows = append(rows, r.mdRow(g))
		}
		table := newBlock("table", rows)
		header := "| group |"
		align := "| :-- |"
		for _, name := range r.columns() {
			m := Metric{Name: name}
			header += " " + escapeMD(strings.TrimPrefix(m.label(r.K), "latency ")) + " |"
			align += " --: |"
		}
		table.head = []string{header, align}
		table.note = func(n int) string {
			return fmt.Sprintf("\n_%s not shown to fit the size limit; see the JSON report._", plural(n, "more group"))
		}
		bs = append(bs, table)
	}

	bs = append(bs, r.mdEvals(order)...)

	s := r.Structure
	var pl []string
	for _, p := range s.Patterns {
		pl = append(pl, mdItem(p.Text+" (e.g. "+strings.Join(p.Examples, ", ")+")"))
	}
	if line := s.setSummary(); line != "" {
		pl = append(pl, mdItem(line))
	}
	for _, line := range s.setChanges() {
		pl = append(pl, mdItem(line))
	}
	for _, side := range []struct {
		name  string
		tests []string
	}{{r.Base.Name, s.OnlyBase}, {r.Head.Name, s.OnlyHead}} {
		if len(side.tests) == 0 {
			continue
		}
		list, more := side.tests, ""
		if len(list) > maxListed {
			more = fmt.Sprintf(" and %d more", len(list)-maxListed)
			list = list[:maxListed]
		}
		pl = append(pl, mdItem("only in "+side.name+": "+strings.Join(list, ", ")+more))
	}
	patterns := newBlock("patterns", pl)
	patterns.head = []string{fmt.Sprintf("**Structure**: %s matched, %d changed; %d only in %s, %d only in %s",
		plural(s.Matched, "test"), s.Changed, len(s.OnlyBase), escapeMD(r.Base.Name), len(s.OnlyHead), escapeMD(r.Head.Name))}
	if s.Unavailable != "" {
		patterns.head = []string{"**Structure**: " + escapeMD(r.structureUnavailable())}
	}
	if len(pl) > 0 {
		patterns.head = append(patterns.head, "")
	}
	patterns.note = func(n int) string { return fmt.Sprintf("- … and %d more in the JSON report", n) }
	bs = append(bs, patterns)

	if len(s.Tests) > 0 {
		var tl []string
		for _, td := range s.Tests {
			var parts []string
			for _, c := range td.Changes {
				parts = append(parts, changeText(c))
			}
			tl = append(tl, mdItem(td.Test+": "+strings.Join(parts, "; ")))
		}
		tests := newBlock("tests", tl)
		tests.head = []string{fmt.Sprintf("<details><summary>Changes per test (%d)</summary>", len(s.Tests)), ""}
		tests.tail = []string{"", "</details>"}
		tests.note = func(n int) string { return fmt.Sprintf("- … and %d more in the JSON report", n) }
		bs = append(bs, tests)
	}

	if n := len(r.Groups); n > 0 && n <= maxChartGroups {
		chart := newBlock("chart", nil)
		chart.head = r.mermaid(order)
		chart.optional = true
		bs = append(bs, chart)
	}

	footer := newBlock("footer", nil)
	footer.head = []string{"<sub>" + escapeMD(r.method()) + "</sub>"}
	footer.optional = true
	bs = append(bs, footer)
	return bs
}

func (r *Report) mdRow(g *Group) string {
	var sb strings.Builder
	key := escapeMD(g.Key)
	switch g.Presence {
	case Added:
		key += " _(new)_"
	case Removed:
		key += " _(gone)_"
	}
	sb.WriteString("| " + key + " |")
	for _, name := range r.columns() {
		sb.WriteString(" " + escapeMD(r.mdCell(g, name)) + " |")
	}
	return sb.String()
}

// mdCell is "base → head change" for a group on both sides, "– → head"
// or "base → –" for a group on one side, "–" where the metric does not
// apply.
func (r *Report) mdCell(g *Group, name string) string {
	if g.Presence == Compared {
		m := g.Metric(name)
		if m == nil {
			return "–"
		}
		if name == MetricErrorRate && m.Base == 0 && m.Head == 0 {
			return "none"
		}
		cell := m.value(m.Base) + " → " + m.value(m.Head)
		if d := m.delta(); d != "" {
			cell += " " + d
		}
		return cell
	}
	st := g.Head
	if st == nil {
		st = g.Base
	}
	m := Metric{Name: name}
	var v string
	switch name {
	case MetricCount:
		v = strconv.Itoa(st.Count)
	case MetricLatencyP50:
		v = fmtMS(st.Latency.P50)
	case MetricLatencyP95:
		v = fmtMS(st.Latency.P95)
	case MetricTTFTP95:
		if st.TTFT != nil {
			v = fmtMS(st.TTFT.P95)
		}
	case MetricTokensPerCall:
		if st.Tokens != nil {
			v = fmtCount(st.Tokens.TotalPerCall)
		}
	case MetricCost:
		if st.Cost != nil {
			v = fmtUSD(st.Cost.USD)
		}
	case MetricErrorRate:
		v = m.value(st.ErrorRate)
	case MetricHitRate:
		if st.Retrieval != nil {
			v = m.value(st.Retrieval.HitRate)
		}
	}
	if v == "" {
		return "–"
	}
	if g.Presence == Added {
		return "– → " + v
	}
	return v + " → –"
}

func changeText(c Change) string {
	switch c.Kind {
	case ChangeLLMCalls, ChangeToolCalls, ChangeRetrievals, ChangeEmbeddings:
		return countLabel[c.Kind] + " " + c.Base + " → " + c.Head
	case ChangeModelSwap:
		return c.Operation + " model " + c.Base + " → " + c.Head
	case ChangeModelAdded:
		return "model " + c.Head + " added"
	case ChangeModelRemoved:
		return "model " + c.Base + " removed"
	case ChangeOrder:
		return "order " + c.Base + " became " + c.Head
	}
	return c.Kind
}

// mermaid draws p50 and p95 latency per group as two bar series, base
// and head. Mermaid draws bar series on top of each other, so each series
// has its own categories ("… base", "… head") and zeros in the other's.
func (r *Report) mermaid(order []*Group) []string {
	name := shortNames(r.Groups)
	var labels, base, head []string
	num := func(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }
	for _, g := range order {
		for _, q := range []string{"p50", "p95"} {
			for _, side := range []string{"base", "head"} {
				st := g.Base
				if side == "head" {
					st = g.Head
				}
				v := 0.0
				if st != nil {
					v = st.Latency.P50
					if q == "p95" {
						v = st.Latency.P95
					}
				}
				labels = append(labels, `"`+mermaidText(name(g))+" "+q+" "+side+`"`)
				if side == "base" {
					base, head = append(base, num(v)), append(head, "0")
				} else {
					base, head = append(base, "0"), append(head, num(v))
				}
			}
		}
	}
	return []string{
		"```mermaid",
		"xychart-beta horizontal",
		`    title "Latency p50 and p95 (ms), ` + mermaidText(r.Base.Name) + ` vs ` + mermaidText(r.Head.Name) + `"`,
		"    x-axis [" + strings.Join(labels, ", ") + "]",
		`    y-axis "ms"`,
		"    bar [" + strings.Join(base, ", ") + "]",
		"    bar [" + strings.Join(head, ", ") + "]",
		"```",
	}
}

// mermaidText keeps letters, digits, spaces and . - _ : / · + of s, at
// most 32 characters: nothing that could end a quoted label or the code
// block.
func mermaidText(s string) string {
	var sb strings.Builder
	n := 0
	for _, c := range s {
		if n == 32 {
			sb.WriteString("…")
			break
		}
		switch {
		case unicode.IsLetter(c), unicode.IsDigit(c), strings.ContainsRune(" .-_:/·+", c):
			sb.WriteRune(c)
		default:
			sb.WriteRune('_')
		}
		n++
	}
	return sb.String()
}

// escapeMD makes a user string safe in Markdown text and table cells: on
// one line, HTML special characters as entities, and every character that
// could start inline markup (emphasis, code, links, tables,
// strikethrough, autolinked references) escaped with a backslash.
func escapeMD(s string) string {
	s = safetext.Neutral(flat(s))
	var sb strings.Builder
	sb.Grow(len(s) + 8)
	for _, c := range s {
		switch c {
		case '&':
			sb.WriteString("&amp;")
		case '<':
			sb.WriteString("&lt;")
		case '>':
			sb.WriteString("&gt;")
		case '\\', '`', '*', '_', '[', ']', '|', '~', '#', '!':
			sb.WriteByte('\\')
			sb.WriteRune(c)
		default:
			sb.WriteRune(c)
		}
	}
	return safetext.NoMentions(sb.String())
}

// flat keeps a user string on one line of a Markdown report.
func flat(s string) string {
	if !strings.ContainsAny(s, "\r\n\t") {
		return s
	}
	return strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ", "\t", " ").Replace(s)
}

// mdItem is a list item of escaped user text: what would start a block at
// the start of the item (a list marker, "1.") is escaped too.
func mdItem(s string) string {
	s = escapeMD(s)
	digits := len(s) - len(strings.TrimLeft(s, "0123456789"))
	switch {
	case digits > 0 && digits < len(s) && (s[digits] == '.' || s[digits] == ')') &&
		(digits+1 == len(s) || s[digits+1] == ' '):
		s = s[:digits] + "\\" + s[digits:]
	case strings.HasPrefix(s, "-") || strings.HasPrefix(s, "+") || strings.HasPrefix(s, "="):
		s = "\\" + s
	}
	return "- " + s
}
