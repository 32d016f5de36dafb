package report

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/llmcheck/llmcheck/assert"
	"github.com/llmcheck/llmcheck/internal/safetext"
	"github.com/llmcheck/llmcheck/span"
)

// ConsoleOptions control the human summary.
type ConsoleOptions struct {
	Color bool // ANSI colours (only on a terminal, never with NO_COLOR)
	Quiet bool // only failures and the closing line
}

const (
	ansiReset  = "\x1b[0m"
	ansiRed    = "\x1b[31m"
	ansiGreen  = "\x1b[32m"
	ansiYellow = "\x1b[33m"
	ansiDim    = "\x1b[2m"
)

func paint(on bool, color, s string) string {
	if !on {
		return s
	}
	return color + s + ansiReset
}

// Console prints one line per assertion with the observed values, the worst
// offenders under each failure, and a closing count line.
func Console(w io.Writer, res *assert.Results, opts ConsoleOptions) {
	consoleResults(w, res.Assertions, opts)
	if len(res.Regressions) > 0 {
		fmt.Fprintf(w, "Regression rules (baseline %s):\n", safetext.Line(res.Baseline))
		consoleResults(w, res.Regressions, opts)
	}
	fmt.Fprintln(w, CountLine(res))
}

// ConsoleRules prints regression rule verdicts and the closing line.
func ConsoleRules(w io.Writer, res *assert.Results, opts ConsoleOptions) {
	consoleResults(w, res.Regressions, opts)
	fmt.Fprintln(w, CountLine(res))
}

func consoleResults(w io.Writer, results []assert.Result, opts ConsoleOptions) {
	for _, r := range results {
		mark, color := statusMark(r)
		if opts.Quiet && r.Status == assert.Pass {
			continue
		}
		fmt.Fprintf(w, "%s %s — %s\n", paint(opts.Color, color, mark), oneLine(r.Name), safetext.Line(r.Message))
		if r.Status == assert.Pass {
			continue
		}
		if r.Status == assert.Error || (r.Status == assert.Warn && !r.Failed) {
			fmt.Fprintf(w, "    %s\n", paint(opts.Color, ansiDim, fmt.Sprintf("%s: expect: %s", safetext.Line(r.Position.String()), safetext.Line(r.Expect))))
		}
		if r.Warning != "" {
			// llmcheck's own advice (how many samples, what to do): escaped
			// but not clipped at a name's length.
			fmt.Fprintf(w, "    %s\n", paint(opts.Color, ansiYellow, "warning: "+safetext.Line(r.Warning)))
		}
		for _, o := range r.Offenders {
			fmt.Fprintf(w, "    %s\n", paint(opts.Color, ansiDim, offenderLine(r.Each, o)))
		}
		if r.Each != "" {
			bad := 0
			for _, row := range r.Rows {
				if row.Status != assert.Pass {
					bad++
				}
			}
			if n := bad - len(r.Offenders); n > 0 && len(r.Offenders) > 0 {
				fmt.Fprintf(w, "    %s\n", paint(opts.Color, ansiDim, fmt.Sprintf("… and %d more %ss that did not pass (results.json lists them)", n, assert.GroupNoun(r.Each))))
			}
		}
	}
}

func statusMark(r assert.Result) (string, string) {
	switch {
	case r.Skipped:
		return "-", ansiDim
	case r.Status == assert.Pass:
		return "✓", ansiGreen
	case r.Status == assert.Fail:
		return "✗", ansiRed
	case r.Status == assert.Error:
		return "!", ansiRed
	case r.Status == assert.Inconclusive:
		return "~", ansiYellow
	default:
		return "⚠", ansiYellow
	}
}

// offenderLine is one offender: a span or trace, or the group of a
// failed row of an each: result, whose each: it names.
func offenderLine(each string, o assert.Offender) string {
	what := o.Metric + " = " + assert.FormatValue(o.Value, o.Unit)
	if o.Detail != "" {
		what = o.Detail
	}
	if o.TraceID == "" && o.Group != "" {
		return fmt.Sprintf("%s: %s", oneLine(assert.GroupLabel(each, o.Group)), oneLine(what))
	}
	id := "trace " + o.TraceID
	if o.SpanID != "" {
		id += ", span " + o.SpanID
	}
	return fmt.Sprintf("%s (%s): %s", oneLine(o.Name), id, oneLine(what))
}

// CountLine is the closing line: "3 passed, 1 failed (412 spans in 40
// traces)"; assertions skipped under allow_empty are counted apart from
// the passed ones, as report.md and junit.xml count them: "3 passed, 1
// skipped, 0 failed (…)".
func CountLine(res *assert.Results) string {
	c := res.Counts()
	skipped := res.Skipped()
	parts := []string{fmt.Sprintf("%d passed", c[assert.Pass]-skipped)}
	if skipped > 0 {
		parts = append(parts, fmt.Sprintf("%d skipped", skipped))
	}
	parts = append(parts, fmt.Sprintf("%d failed", c[assert.Fail]))
	if n := c[assert.Error]; n > 0 {
		parts = append(parts, count(n, "error", "errors"))
	}
	if n := c[assert.Warn]; n > 0 {
		parts = append(parts, count(n, "warning", "warnings"))
	}
	if n := c[assert.Inconclusive]; n > 0 {
		parts = append(parts, fmt.Sprintf("%d inconclusive", n))
	}
	return fmt.Sprintf("%s (%s in %s)", strings.Join(parts, ", "), count(res.Spans, "span", "spans"), count(res.Traces, "trace", "traces"))
}

// oneLine makes a recorded string printable on one line of a console or
// CI log: escaped and clipped by safetext.Text.
func oneLine(s string) string { return safetext.Text(s) }

// GroupStats summarises the spans of one operation and model.
type GroupStats struct {
	Operation, Model          string
	Spans, Errors             int
	P50, P95                  float64
	InputTokens, OutputTokens int64
}

// Groups summarises a run per operation and model, largest first.
func Groups(run *span.Run) []GroupStats {
	d := groupDetails(run, nil)
	out := make([]GroupStats, len(d))
	for i := range d {
		out[i] = d[i].GroupStats
	}
	return out
}

// Recording tells the user what a run without assertions recorded and how
// to add assertions.
func Recording(w io.Writer, run *span.Run, tracePath string) {
	fmt.Fprintf(w, "llmcheck: recorded %s in %s → %s\n", count(len(run.Spans), "span", "spans"), count(len(run.Traces), "trace", "traces"), safetext.Line(tracePath))
	groups := Groups(run)
	if len(groups) > 0 {
		fmt.Fprintf(w, "  %-16s %-28s %7s %10s %10s %12s %12s %6s\n", "operation", "model", "spans", "p50", "p95", "in tokens", "out tokens", "errors")
		for i, g := range groups {
			if i == 20 {
				fmt.Fprintf(w, "  … %d more groups\n", len(groups)-20)
				break
			}
			model := g.Model
			if model == "" {
				model = "-"
			}
			fmt.Fprintf(w, "  %-16s %-28s %7d %10s %10s %12d %12d %6d\n", trunc(oneLine(g.Operation), 16), trunc(oneLine(model), 28), g.Spans,
				assert.FormatMS(g.P50), assert.FormatMS(g.P95), g.InputTokens, g.OutputTokens, g.Errors)
		}
	}
	fmt.Fprintf(w, "No assertions file, so nothing was checked. Write a starter llmcheck.yaml with budgets from this run:\n  llmcheck init --from %s\n", safetext.Line(tracePath))
}

// count is "1 span", "2 spans".
func count(n int, one, many string) string { return strconv.Itoa(n) + " " + plural(n, one, many) }

func trunc(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
