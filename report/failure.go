package report

import (
	"bytes"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/llmcheck/llmcheck/assert"
	"github.com/llmcheck/llmcheck/internal/safetext"
)

// Failure is llmcheck's own failure to run (exit 2): a config, flag or
// input error. Its reports replace those of an earlier run in the output
// folder, so nothing stale is mistaken for this run's verdict.
type Failure struct {
	// Message is the error as printed on the console.
	Message string
	// Diagnostics locate the problems in the config, when it was at fault.
	Diagnostics []assert.Diagnostic
	ExitCode    int
	Meta        Meta
}

// Junit suite and failure type of a Failure.
const (
	JUnitSetupSuite = "llmcheck.setup"
	junitTypeSetup  = "SetupError"
)

// Results is results.json for the failure: status error, the exit code,
// the message and the diagnostics, and no assertions.
func (f Failure) Results() *assert.Results {
	return &assert.Results{
		Version:     assert.SchemaVersion,
		Status:      assert.Error,
		ExitCode:    f.ExitCode,
		Error:       f.Message,
		Diagnostics: f.Diagnostics,
		Assertions:  []assert.Result{},
	}
}

// JUnit writes junit.xml for the failure: one suite, llmcheck.setup, with
// one test case in error, so a CI test reporter shows why nothing ran.
func (f Failure) JUnit(w io.Writer) error {
	ts := ""
	if !f.Meta.Started.IsZero() {
		ts = f.Meta.Started.UTC().Format("2006-01-02T15:04:05")
	}
	tc := junitTestcase{
		Name:      "llmcheck could not run",
		Classname: JUnitSetupSuite,
		Time:      junitSeconds(0),
		Error: &junitProblem{
			Message: cleanXML(firstLine(f.Message)),
			Type:    junitTypeSetup,
			Body:    cleanXML(f.Message),
		},
	}
	if len(f.Diagnostics) > 0 {
		tc.File = cleanXML(f.Diagnostics[0].Pos.File)
		tc.Line = f.Diagnostics[0].Pos.Line
	}
	doc := &junitTestsuites{Name: JUnitRoot, Tests: 1, Errors: 1, Time: tc.Time, Timestamp: ts,
		Suites: []junitSuite{{Name: JUnitSetupSuite, Tests: 1, Errors: 1, Time: tc.Time, Timestamp: ts, Cases: []junitTestcase{tc}}}}
	return encodeJUnit(w, doc)
}

// Markdown is report.md for the failure: the verdict and the message in a
// code block (whose fence is longer than any backtick run in it, so no
// recorded text can end it).
func (f Failure) Markdown() string {
	var b strings.Builder
	b.WriteString("## ⛔ llmcheck could not run\n\n")
	if len(f.Meta.Command) > 0 {
		fmt.Fprintf(&b, "The test command %s was not run: fix the problem below and push again.\n\n", code(shellJoin(f.Meta.Command)))
	} else {
		b.WriteString("Nothing was checked: fix the problem below and run again.\n\n")
	}
	fence := "```"
	for strings.Contains(f.Message, fence) {
		fence += "`"
	}
	fmt.Fprintf(&b, "%s\n%s\n%s\n", fence, safetext.Neutral(strings.ToValidUTF8(f.Message, "\uFFFD")), fence)
	return b.String()
}

// Annotations are the workflow commands of the failure: one ::error per
// diagnostic on its line of the config, else one for the message.
func (f Failure) Annotations() []Annotation {
	if len(f.Diagnostics) == 0 {
		// the message and diagnostics quote the user's config and inputs
		// (YAML and CEL errors show the offending text): escaped like the
		// console's, since annotations bypass the guarded streams' filter
		return []Annotation{{Level: "error", Title: "llmcheck could not run", Message: truncateRunes(safetext.Lines(f.Message), maxAnnotationRunes)}}
	}
	var out []Annotation
	for _, d := range f.Diagnostics {
		out = append(out, Annotation{Level: "error", File: d.Pos.File, Line: d.Pos.Line, Col: d.Pos.Column,
			Title: "llmcheck config error", Message: truncateRunes(safetext.Lines(d.Message), maxAnnotationRunes)})
	}
	return out
}

// WriteFailure writes results.json, junit.xml and the Markdown report
// (to each name of md: report.md, comment.md) of the failure into dir.
func WriteFailure(dir string, f Failure, results, junit string, md ...string) error {
	var j bytes.Buffer
	if err := EncodeJSON(&j, f.Results()); err != nil {
		return err
	}
	var x bytes.Buffer
	if err := f.JUnit(&x); err != nil {
		return err
	}
	if err := writeFile(filepath.Join(dir, results), j.Bytes()); err != nil {
		return err
	}
	if err := writeFile(filepath.Join(dir, junit), x.Bytes()); err != nil {
		return err
	}
	for _, name := range md {
		if err := writeFile(filepath.Join(dir, name), []byte(f.Markdown())); err != nil {
			return err
		}
	}
	return nil
}

// GitHubFailure adds the failure to a GitHub Actions job: its report.md to
// the step summary, the annotations on commands, and verdict=error (and
// report) in the output file.
func GitHubFailure(f Failure, stepSummary, output string, commands io.Writer, reportPath string) error {
	var errs []string
	if stepSummary != "" {
		if err := appendSummary(stepSummary, f.Markdown(), reportPath); err != nil {
			errs = append(errs, err.Error())
		}
	}
	if commands != nil {
		for _, a := range f.Annotations() {
			if err := safetext.Command(commands, a.String()); err != nil {
				errs = append(errs, err.Error())
			}
		}
	}
	if output != "" {
		outs := []Output{{"verdict", "error"}}
		if reportPath != "" {
			outs = append(outs, Output{"report", reportPath})
		}
		if err := appendOutputs(output, outs); err != nil {
			errs = append(errs, err.Error())
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return nil
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

func truncateRunes(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}
