package report

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/llmcheck/llmcheck/assert"
	"github.com/llmcheck/llmcheck/internal/safetext"
	"github.com/llmcheck/llmcheck/span"
)

// StepSummaryLimit is how much Markdown GitHub accepts in one step's
// summary (REFERENCE.md §9).
const StepSummaryLimit = 1 << 20

// DefaultMaxAnnotations is how many error (and, separately, warning)
// annotations GitHub shows per step.
const DefaultMaxAnnotations = 10

// GitHubOptions are the inputs of GitHub. Nothing here is read from the
// environment: cmd fills the paths from GITHUB_STEP_SUMMARY and
// GITHUB_OUTPUT and passes stdout as Commands.
type GitHubOptions struct {
	// StepSummary is the $GITHUB_STEP_SUMMARY file the report is appended
	// to; "" skips it.
	StepSummary string
	// Output is the $GITHUB_OUTPUT file the key figures are appended to;
	// "" skips them.
	Output string
	// Commands receives the workflow commands (annotations); normally the
	// step's stdout. nil skips them.
	Commands io.Writer

	// Results are the assertion results; nil when there is no assertions
	// file.
	Results *assert.Results
	// Run gives the span and trace counts when Results is nil: pass it
	// then, or the run counts as one without spans.
	Run *span.Run
	// Meta is the test command and how it ended.
	Meta Meta
	// Markdown is the report (see Markdown) for the step summary.
	Markdown string
	// ConfigFile is the assertions file relative to the workspace
	// (GITHUB_WORKSPACE), so annotations land on it in pull requests; ""
	// uses each assertion's own Position.File.
	ConfigFile string
	// ReportPath is where report.md was written; it becomes the "report"
	// output.
	ReportPath string
	// MaxAnnotations bounds the ::error and the ::warning annotations
	// (default DefaultMaxAnnotations each).
	MaxAnnotations int
}

// GitHub reports to GitHub Actions:
//
//   - appends Markdown to the step summary (when the file already holds so
//     much that GitHub's 1 MiB limit would be passed, a one-line pointer to
//     report.md instead);
//   - writes one ::error annotation per failing or unevaluable assertion
//     (failures first, file= and line= pointing into the assertions file)
//     and one ::warning per severity: warn assertion that did not pass, at
//     most MaxAnnotations of each, then one ::notice counting the rest; a
//     failed test command or a run without spans is an ::error too;
//   - appends to the output file: verdict (pass|fail), passed, failed,
//     errors, warnings, skipped, spans, traces and report.
//
// Every part is attempted; the errors are joined.
func GitHub(opts GitHubOptions) error {
	var errs []error
	if opts.StepSummary != "" {
		errs = append(errs, appendSummary(opts.StepSummary, opts.Markdown, opts.ReportPath))
	}
	if opts.Commands != nil {
		errs = append(errs, Annotate(opts.Commands, opts))
	}
	if opts.Output != "" {
		errs = append(errs, appendOutputs(opts.Output, Outputs(opts)))
	}
	return errors.Join(errs...)
}

func appendSummary(path, md, reportPath string) error {
	if md == "" {
		return nil
	}
	if !strings.HasSuffix(md, "\n") {
		md += "\n"
	}
	var existing int64
	if st, err := os.Stat(path); err == nil {
		existing = st.Size()
	}
	if existing > 0 {
		md = "\n" + md
	}
	if existing+int64(len(md)) > StepSummaryLimit {
		md = fmt.Sprintf("\nThe llmcheck report does not fit in this step's summary (GitHub allows 1 MiB): see %s.\n", code(orDefault(reportPath, "report.md")))
	}
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("write step summary: %w", err)
	}
	if _, err := f.WriteString(md); err != nil {
		f.Close()
		return fmt.Errorf("write step summary %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write step summary %s: %w", path, err)
	}
	return nil
}

// Annotation is one workflow command such as ::error.
type Annotation struct {
	Level   string // error, warning or notice
	File    string
	Line    int
	Col     int
	Title   string
	Message string
}

// String renders the command with its data and properties escaped
// (REFERENCE.md §9).
func (a Annotation) String() string {
	var props []string
	if a.File != "" {
		props = append(props, "file="+EscapeProperty(a.File))
		if a.Line > 0 {
			props = append(props, "line="+strconv.Itoa(a.Line))
			if a.Col > 0 {
				props = append(props, "col="+strconv.Itoa(a.Col))
			}
		}
	}
	if a.Title != "" {
		props = append(props, "title="+EscapeProperty(a.Title))
	}
	s := "::" + a.Level
	if len(props) > 0 {
		s += " " + strings.Join(props, ",")
	}
	return s + "::" + EscapeData(a.Message)
}

// EscapeData escapes the message of a workflow command: % CR LF.
func EscapeData(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A").Replace(strings.ToValidUTF8(s, "\uFFFD"))
}

// EscapeProperty escapes a workflow command property: as EscapeData, and
// also : and , which delimit properties.
func EscapeProperty(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C").Replace(strings.ToValidUTF8(s, "\uFFFD"))
}

// maxAnnotationRunes bounds an annotation's message.
const maxAnnotationRunes = 2000

// Annotations lists the workflow commands GitHub writes: errors first
// (the command, then failed assertions, then unevaluable ones), then
// warnings, each capped, then a notice counting what was left out.
func Annotations(opts GitHubOptions) []Annotation {
	limit := opts.MaxAnnotations
	if limit <= 0 {
		limit = DefaultMaxAnnotations
	}
	var errs, warns []Annotation
	if len(opts.Meta.Command) > 0 && opts.Meta.CommandStatus != "" {
		errs = append(errs, Annotation{Level: "error", Title: "llmcheck: test command failed",
			Message: clip(fmt.Sprintf("%s failed: %s", opts.Meta.CommandLine(), opts.Meta.CommandStatus), maxAnnotationRunes)})
	}
	if spans, _ := counts(opts); spans == 0 && (opts.Results != nil || opts.Run != nil) {
		errs = append(errs, Annotation{Level: "error", Title: "llmcheck: no spans were received",
			Message: "The application sent no spans: check that its OpenTelemetry SDK exports with OTLP to OTEL_EXPORTER_OTLP_ENDPOINT and flushes before it exits."})
	}
	if st := opts.Meta.Store; st != nil && len(st.Incomplete) > 0 {
		warns = append(warns, Annotation{Level: "warning", Title: "llmcheck: traces incomplete in the trace store",
			Message: clip(fmt.Sprintf("%d of the run's traces were still incomplete in %s at --collect-timeout (their spans so far are included; more may be missing): %s", len(st.Incomplete), st.From, IncompleteIDs(st.Incomplete, 20)), maxAnnotationRunes)})
	}
	if opts.Results != nil {
		all := append(append([]assert.Result(nil), opts.Results.Assertions...), opts.Results.Regressions...)
		for _, want := range []assert.Status{assert.Fail, assert.Error, assert.Warn, assert.Inconclusive} {
			for _, r := range all {
				if r.Status != want || (want == assert.Inconclusive && r.Warning == "") {
					continue
				}
				a := resultAnnotation(r, opts.ConfigFile)
				if want == assert.Warn || want == assert.Inconclusive {
					warns = append(warns, a)
				} else {
					errs = append(errs, a)
				}
			}
		}
	}
	var out []Annotation
	moreErrs, moreWarns := 0, 0
	if len(errs) > limit {
		moreErrs = len(errs) - limit
		errs = errs[:limit]
	}
	if len(warns) > limit {
		moreWarns = len(warns) - limit
		warns = warns[:limit]
	}
	out = append(append(out, errs...), warns...)
	if moreErrs+moreWarns > 0 {
		var parts []string
		if moreErrs > 0 {
			parts = append(parts, fmt.Sprintf("%d more %s", moreErrs, plural(moreErrs, "failure", "failures")))
		}
		if moreWarns > 0 {
			parts = append(parts, fmt.Sprintf("%d more %s", moreWarns, plural(moreWarns, "warning", "warnings")))
		}
		out = append(out, Annotation{Level: "notice", Title: "llmcheck",
			Message: fmt.Sprintf("%s not annotated (GitHub shows %d per step): see the job summary or junit.xml.", strings.Join(parts, " and "), limit)})
	}
	return out
}

func resultAnnotation(r assert.Result, configFile string) Annotation {
	a := Annotation{Level: "error", File: r.Position.File, Line: r.Position.Line, Col: r.Position.Column}
	if configFile != "" {
		a.File = configFile
	}
	kind := "failed"
	switch r.Status {
	case assert.Error:
		kind = "could not be evaluated"
	case assert.Warn:
		a.Level = "warning"
		kind = "warning"
	case assert.Inconclusive:
		a.Level = "warning"
		kind = "inconclusive"
	}
	a.Title = clip(fmt.Sprintf("llmcheck %s: %s", kind, oneLine(r.Name)), 200)
	var b strings.Builder
	if r.Warning != "" {
		b.WriteString(safetext.Line(r.Warning) + "\n")
	}
	b.WriteString(safetext.Line(r.Message))
	fmt.Fprintf(&b, "\nexpect: %s", oneLine(r.Expect))
	if r.Where != "" {
		fmt.Fprintf(&b, "\nwhere: %s", oneLine(r.Where))
	}
	if r.Each != "" {
		fmt.Fprintf(&b, "\neach: %s", oneLine(r.Each))
	}
	for i, o := range r.Offenders {
		if i == 3 {
			fmt.Fprintf(&b, "\n… %d more", len(r.Offenders)-3)
			break
		}
		fmt.Fprintf(&b, "\n%s", offenderLine(r.Each, o))
	}
	a.Message = clip(b.String(), maxAnnotationRunes)
	return a
}

// Annotate writes the annotations of opts to w, one command per line,
// through safetext.Command: on llmcheck's guarded streams they are the
// only lines written as workflow commands (stop-commands resumed first
// under GitHub Actions).
func Annotate(w io.Writer, opts GitHubOptions) error {
	for _, a := range Annotations(opts) {
		if err := safetext.Command(w, a.String()); err != nil {
			return fmt.Errorf("write annotations: %w", err)
		}
	}
	return nil
}

func counts(opts GitHubOptions) (spans, traces int) {
	switch {
	case opts.Results != nil:
		return opts.Results.Spans, opts.Results.Traces
	case opts.Run != nil:
		return len(opts.Run.Spans), len(opts.Run.Traces)
	}
	return 0, 0
}

// Output is one step output.
type Output struct{ Key, Value string }

// Outputs are the key figures for $GITHUB_OUTPUT: verdict (pass|fail, as
// Verdict), passed (skipped ones apart, as the console and report.md
// count them), failed, errors, warnings, skipped,
// spans, traces, report (the report.md path, when known) and run-id
// (llmcheck run's id).
func Outputs(opts GitHubOptions) []Output {
	spans, traces := counts(opts)
	var passed, failed, errored, warned, skipped int
	if opts.Results != nil {
		c := opts.Results.Counts()
		passed, failed, errored, warned = c[assert.Pass], c[assert.Fail], c[assert.Error], c[assert.Warn]
		for _, r := range opts.Results.Assertions {
			if r.Skipped {
				skipped++
			}
		}
		passed -= skipped
	}
	out := []Output{
		{"verdict", Verdict(opts.Results, spans, opts.Meta)},
		{"passed", strconv.Itoa(passed)},
		{"failed", strconv.Itoa(failed)},
		{"errors", strconv.Itoa(errored)},
		{"warnings", strconv.Itoa(warned)},
		{"skipped", strconv.Itoa(skipped)},
		{"spans", strconv.Itoa(spans)},
		{"traces", strconv.Itoa(traces)},
	}
	if opts.ReportPath != "" {
		out = append(out, Output{"report", opts.ReportPath})
	}
	if opts.Meta.RunID != "" {
		out = append(out, Output{"run-id", opts.Meta.RunID})
	}
	return out
}

// FormatOutputs renders outputs in the $GITHUB_OUTPUT file format:
// key=value, or for a value with a line break the heredoc form
// key<<DELIMITER / value / DELIMITER with a random delimiter the value does
// not contain.
func FormatOutputs(outs []Output) string {
	var b strings.Builder
	for _, o := range outs {
		if !strings.ContainsAny(o.Value, "\r\n") {
			fmt.Fprintf(&b, "%s=%s\n", o.Key, o.Value)
			continue
		}
		delim := heredocDelimiter(o.Value)
		fmt.Fprintf(&b, "%s<<%s\n%s\n%s\n", o.Key, delim, o.Value, delim)
	}
	return b.String()
}

func heredocDelimiter(value string) string {
	for {
		var r [8]byte
		_, _ = rand.Read(r[:])
		d := "ghadelimiter_" + hex.EncodeToString(r[:])
		if !strings.Contains(value, d) {
			return d
		}
	}
}

func appendOutputs(path string, outs []Output) error {
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("write step outputs: %w", err)
	}
	if _, err := f.WriteString(FormatOutputs(outs)); err != nil {
		f.Close()
		return fmt.Errorf("write step outputs %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write step outputs %s: %w", path, err)
	}
	return nil
}
