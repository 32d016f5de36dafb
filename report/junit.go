package report

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/llmcheck/llmcheck/assert"
)

// Meta describes the run the reports are about: the test command llmcheck
// ran, how it ended, and where the spans were recorded. The zero value is a
// `llmcheck check` over recorded files (no command).
type Meta struct {
	// Command is the test command and its arguments; empty when llmcheck
	// ran no command (`llmcheck check`).
	Command []string
	// CommandStatus is "" when the command succeeded, else how it ended,
	// e.g. "exit status 7" or "signal: killed".
	CommandStatus string
	// CommandDuration is the wall time of the command.
	CommandDuration time.Duration
	// Started is when the run started (the JUnit timestamp).
	Started time.Time
	// TracePath is the recorded trace file, named in the reports.
	TracePath string
	// Interrupted is the signal that stopped llmcheck run, if any.
	Interrupted string
	// RunID is the run's id (llmcheck run: the resource attribute
	// llmcheck.run.id of its spans); empty for check.
	RunID string
	// Repeat is how many times the command was to run (--repeat; 0 or 1:
	// once), Repetitions the runs made, in order (fewer after a signal);
	// CommandStatus sums them up.
	Repeat      int
	Repetitions []Repetition
	// Store is what run --collect-from added from a trace store.
	Store *assert.StoreResult
}

// Repetition is one run of the test command under llmcheck run --repeat.
type Repetition struct {
	Number   int    // 1-based
	Status   string // "" when it succeeded, else how it failed
	Duration time.Duration
}

// CommandLine renders Command for people, quoting arguments as a POSIX
// shell would need them.
func (m Meta) CommandLine() string { return shellJoin(m.Command) }

// Suite names in junit.xml. Every test case's classname is its suite's
// name, so GitLab, dorny/test-reporter and action-junit-report group them
// the same way.
const (
	JUnitRoot           = "llmcheck"
	JUnitCommandSuite   = "llmcheck.command"
	JUnitAssertionSuite = "llmcheck.assertions"
	// JUnitRegressionSuite is the name to give the regression rules'
	// Suite once they exist.
	JUnitRegressionSuite = "llmcheck.regressions"
)

// Suite is one more group of checks for junit.xml, beside the command and
// the assertions: regression rules, for instance. Each result becomes a
// test case exactly as an assertion does.
type Suite struct {
	Name       string
	Results    []assert.Result
	Properties map[string]string // suite-level <properties>, optional
}

// WriteJUnit writes junit.xml (see JUnit) atomically to path.
func WriteJUnit(path string, res *assert.Results, meta Meta, extra ...Suite) error {
	var b bytes.Buffer
	if err := JUnit(&b, res, meta, extra...); err != nil {
		return fmt.Errorf("encode %s: %w", path, err)
	}
	return writeFile(path, b.Bytes())
}

// JUnit writes the JUnit XML report (REFERENCE.md §8) to w:
//
//   - suite "llmcheck.command": one test case for the test command (its
//     command line, exit status and duration); a <failure> when it failed.
//     Left out when meta has no command.
//   - suite "llmcheck.assertions": one test case per assertion, in file
//     order, with file= and line= pointing at the assertion's name: in the
//     assertions file. A failed check is a <failure>, one that could not be
//     evaluated an <error>, an allow_empty check with nothing to check
//     <skipped>. A severity: warn assertion that did not pass PASSES as a
//     test case (CI must not fail on it) and carries the warning in
//     <system-out>; the suite's "warnings" property counts them. An each:
//     trace assertion is one test case whose failure body lists the traces
//     that failed. Observed values and the expectation are test case
//     <properties> and are repeated in the message. Left out when res is nil.
//   - one suite per extra Suite (e.g. regression rules), built the same way.
//
// Test case names are never empty and are unique within their suite (a
// repeated name gets a " (2)" suffix). Times are seconds with at most
// three decimals; the timestamp is UTC without a zone. Every string is
// XML-escaped and stripped of characters XML 1.0 does not allow.
func JUnit(w io.Writer, res *assert.Results, meta Meta, extra ...Suite) error {
	clipped := make([]Suite, len(extra))
	for i, e := range extra {
		e.Results = clipNames(&assert.Results{Assertions: e.Results}).Assertions
		clipped[i] = e
	}
	return encodeJUnit(w, buildJUnit(clipNames(res), meta, clipped))
}

// encodeJUnit writes doc as an indented XML document.
func encodeJUnit(w io.Writer, doc *junitTestsuites) error {
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

type junitTestsuites struct {
	XMLName   xml.Name     `xml:"testsuites"`
	Name      string       `xml:"name,attr"`
	Tests     int          `xml:"tests,attr"`
	Failures  int          `xml:"failures,attr"`
	Errors    int          `xml:"errors,attr"`
	Skipped   int          `xml:"skipped,attr"`
	Time      string       `xml:"time,attr"`
	Timestamp string       `xml:"timestamp,attr,omitempty"`
	Suites    []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name       string          `xml:"name,attr"`
	Tests      int             `xml:"tests,attr"`
	Failures   int             `xml:"failures,attr"`
	Errors     int             `xml:"errors,attr"`
	Skipped    int             `xml:"skipped,attr"`
	Time       string          `xml:"time,attr"`
	Timestamp  string          `xml:"timestamp,attr,omitempty"`
	Properties *junitProps     `xml:"properties,omitempty"`
	Cases      []junitTestcase `xml:"testcase"`
	seconds    float64
}

type junitProps struct {
	Props []junitProp `xml:"property"`
}

type junitProp struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitTestcase struct {
	Name       string        `xml:"name,attr"`
	Classname  string        `xml:"classname,attr"`
	Time       string        `xml:"time,attr"`
	File       string        `xml:"file,attr,omitempty"`
	Line       int           `xml:"line,attr,omitempty"`
	Properties *junitProps   `xml:"properties,omitempty"`
	Failure    *junitProblem `xml:"failure,omitempty"`
	Error      *junitProblem `xml:"error,omitempty"`
	Skipped    *junitSkipped `xml:"skipped,omitempty"`
	SystemOut  *junitText    `xml:"system-out,omitempty"`
}

type junitProblem struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Body    string `xml:",cdata"`
}

type junitSkipped struct {
	Message string `xml:"message,attr"`
}

type junitText struct {
	Text string `xml:",cdata"`
}

// Failure types in junit.xml.
const (
	junitTypeCommand = "CommandFailed"
	junitTypeFailed  = "AssertionFailed"
	junitTypeError   = "EvaluationError"
)

func buildJUnit(res *assert.Results, meta Meta, extra []Suite) *junitTestsuites {
	doc := &junitTestsuites{Name: JUnitRoot}
	ts := ""
	if !meta.Started.IsZero() {
		ts = meta.Started.UTC().Format("2006-01-02T15:04:05")
	}
	if len(meta.Command) > 0 {
		doc.Suites = append(doc.Suites, commandSuite(meta, ts))
	}
	if res != nil {
		props := map[string]string{
			"spans":  strconv.Itoa(res.Spans),
			"traces": strconv.Itoa(res.Traces),
		}
		if res.Config != "" {
			props["config"] = res.Config
		}
		doc.Suites = append(doc.Suites, resultSuite(JUnitAssertionSuite, res.Assertions, props, ts))
		if len(res.Regressions) > 0 {
			rp := map[string]string{}
			if res.Baseline != "" {
				rp["baseline"] = res.Baseline
			}
			doc.Suites = append(doc.Suites, resultSuite(JUnitRegressionSuite, res.Regressions, rp, ts))
		}
	}
	for _, s := range extra {
		name := cleanName(s.Name)
		if name == "" {
			name = fmt.Sprintf("llmcheck.suite%d", len(doc.Suites)+1)
		}
		doc.Suites = append(doc.Suites, resultSuite(name, s.Results, s.Properties, ts))
	}
	// Suite names must be unique too: GitLab and dorny key on them.
	seen := map[string]bool{}
	var total float64
	for i := range doc.Suites {
		s := &doc.Suites[i]
		if seen[s.Name] {
			s.Name = uniqueName(s.Name, seen)
			for j := range s.Cases {
				s.Cases[j].Classname = s.Name
			}
		}
		seen[s.Name] = true
		doc.Tests += s.Tests
		doc.Failures += s.Failures
		doc.Errors += s.Errors
		doc.Skipped += s.Skipped
		total += s.seconds
	}
	doc.Time = junitSeconds(total)
	doc.Timestamp = ts
	return doc
}

func commandSuite(meta Meta, ts string) junitSuite {
	line := cleanXML(meta.CommandLine())
	secs := meta.CommandDuration.Seconds()
	status := "ok"
	if meta.CommandStatus != "" {
		status = cleanXML(meta.CommandStatus)
	}
	props := []junitProp{{"command", line}, {"status", status}}
	if meta.RunID != "" {
		props = append(props, junitProp{"run_id", cleanXML(meta.RunID)})
	}
	if meta.Repeat > 1 {
		props = append(props, junitProp{"repetitions", strconv.Itoa(len(meta.Repetitions))})
	}
	if meta.TracePath != "" {
		props = append(props, junitProp{"traces_file", cleanXML(meta.TracePath)})
	}
	if st := meta.Store; st != nil {
		props = append(props, junitProp{"store", cleanXML(st.From)}, junitProp{"store_spans", fmt.Sprint(st.Spans)})
		if len(st.Incomplete) > 0 {
			props = append(props, junitProp{"store_incomplete_traces", cleanXML(IncompleteIDs(st.Incomplete, 50))})
		}
	}
	tc := junitTestcase{
		Name:      cleanName("command: " + line),
		Classname: JUnitCommandSuite,
		Time:      junitSeconds(secs),
	}
	s := junitSuite{
		Name:       JUnitCommandSuite,
		Tests:      1,
		Time:       tc.Time,
		Timestamp:  ts,
		Properties: &junitProps{props},
		seconds:    secs,
	}
	if meta.CommandStatus != "" {
		tc.Failure = &junitProblem{
			Message: cleanXML(fmt.Sprintf("test command failed: %s", meta.CommandStatus)),
			Type:    junitTypeCommand,
			Body: cleanXML(fmt.Sprintf("command: %s\nstatus: %s\nduration: %s\n",
				line, meta.CommandStatus, meta.CommandDuration.Round(time.Millisecond))),
		}
		s.Failures = 1
	}
	s.Cases = []junitTestcase{tc}
	return s
}

func resultSuite(name string, results []assert.Result, props map[string]string, ts string) junitSuite {
	s := junitSuite{Name: name, Timestamp: ts, Time: junitSeconds(0)}
	warnings := 0
	seen := map[string]bool{}
	for i, r := range results {
		tc := resultCase(r, name)
		if tc.Name == "" {
			tc.Name = fmt.Sprintf("assertion %d", i+1)
			if r.Position.Line > 0 {
				tc.Name = fmt.Sprintf("assertion at %s", r.Position)
			}
			tc.Name = cleanName(tc.Name)
		}
		if seen[tc.Name] {
			tc.Name = uniqueName(tc.Name, seen)
		}
		seen[tc.Name] = true
		switch {
		case tc.Failure != nil:
			s.Failures++
		case tc.Error != nil:
			s.Errors++
		case tc.Skipped != nil:
			s.Skipped++
		}
		if r.Status == assert.Warn {
			warnings++
		}
		s.Cases = append(s.Cases, tc)
	}
	s.Tests = len(s.Cases)
	var list []junitProp
	for _, k := range sortedKeys(props) {
		list = append(list, junitProp{cleanXML(k), cleanXML(props[k])})
	}
	list = append(list, junitProp{"warnings", strconv.Itoa(warnings)})
	s.Properties = &junitProps{list}
	return s
}

// maxJUnitRows bounds the rows listed in an each: failure body.
const maxJUnitRows = 100

func resultCase(r assert.Result, suite string) junitTestcase {
	tc := junitTestcase{
		Name:      cleanName(r.Name),
		Classname: suite,
		Time:      junitSeconds(0),
		File:      cleanXML(r.Position.File),
		Line:      r.Position.Line,
	}
	var props []junitProp
	add := func(k, v string) { props = append(props, junitProp{cleanXML(k), cleanXML(v)}) }
	add("expect", r.Expect)
	if r.Where != "" {
		add("where", r.Where)
	}
	if r.Each != "" {
		add("each", r.Each)
	}
	add("severity", r.Severity)
	add("status", string(r.Status))
	add("spans", strconv.Itoa(r.Spans))
	add("traces", strconv.Itoa(r.Traces))
	for _, o := range r.Observed {
		if o.Error != "" {
			add("observed "+o.Expr, "error: "+o.Error)
		} else {
			add("observed "+o.Expr, assert.FormatValue(o.Value, o.Unit))
		}
	}
	if r.CostSource != "" {
		add("cost_source", r.CostSource)
	}
	tc.Properties = &junitProps{props}

	switch {
	case r.Skipped:
		tc.Skipped = &junitSkipped{Message: cleanXML(r.Message)}
	case r.Status == assert.Fail:
		tc.Failure = &junitProblem{Message: cleanXML(junitMessage(r)), Type: junitTypeFailed, Body: cleanXML(junitBody(r))}
	case r.Status == assert.Error:
		tc.Error = &junitProblem{Message: cleanXML(junitMessage(r)), Type: junitTypeError, Body: cleanXML(junitBody(r))}
	case r.Status == assert.Warn:
		// A warning must not fail CI: the case passes, the warning is
		// in its output.
		tc.SystemOut = &junitText{cleanXML("WARNING (severity: warn, does not fail the run)\n" + junitBody(r))}
	case r.Status == assert.Inconclusive:
		// The expectation failed on a change that is not significant:
		// the case passes, the reason is in its output.
		tc.SystemOut = &junitText{cleanXML("INCONCLUSIVE (the change is not significant, does not fail the run)\n" + junitBody(r))}
	}
	return tc
}

// junitMessage is the one-line message: what was observed against what
// was expected.
func junitMessage(r assert.Result) string {
	return oneLine(r.Message) + " [expect: " + oneLine(r.Expect) + "]"
}

// junitBody is the readable failure body: the message, the expectation,
// the observed values, the worst spans or traces.
func junitBody(r assert.Result) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n\n", r.Message)
	if r.Warning != "" {
		fmt.Fprintf(&b, "WARNING: %s\n\n", r.Warning)
	}
	fmt.Fprintf(&b, "expect:   %s\n", r.Expect)
	if r.Where != "" {
		fmt.Fprintf(&b, "where:    %s\n", r.Where)
	}
	if r.Each != "" {
		fmt.Fprintf(&b, "each:     %s\n", r.Each)
	}
	if r.Position.File != "" {
		fmt.Fprintf(&b, "at:       %s\n", r.Position)
	}
	fmt.Fprintf(&b, "selected: %d %s in %d %s\n", r.Spans, plural(r.Spans, "span", "spans"), r.Traces, plural(r.Traces, "trace", "traces"))
	for _, o := range r.Observed {
		fmt.Fprintf(&b, "observed: %s\n", o)
	}
	if r.Each != "" && len(r.Rows) > 0 {
		var bad []assert.Row
		for _, row := range r.Rows {
			if row.Status != assert.Pass {
				bad = append(bad, row)
			}
		}
		fmt.Fprintf(&b, "\n%d of %d %ss did not pass:\n", len(bad), len(r.Rows), assert.GroupNoun(r.Each))
		for i, row := range bad {
			if i == maxJUnitRows {
				fmt.Fprintf(&b, "  … and %d more (see results.json)\n", len(bad)-maxJUnitRows)
				break
			}
			if row.TraceID != "" {
				fmt.Fprintf(&b, "  %-5s trace %s  %q: %s\n", strings.ToUpper(string(row.Status)), row.TraceID, row.Name, oneLine(row.Message))
			} else {
				fmt.Fprintf(&b, "  %-5s %s: %s\n", strings.ToUpper(string(row.Status)), oneLine(assert.GroupLabel(r.Each, row.Group)), oneLine(row.Message))
			}
		}
	} else if len(r.Offenders) > 0 {
		fmt.Fprintf(&b, "\nworst:\n")
		for _, o := range r.Offenders {
			fmt.Fprintf(&b, "  %s\n", offenderLine(r.Each, o))
		}
	}
	return b.String()
}

// junitSeconds formats seconds with '.' and at most three decimals.
func junitSeconds(s float64) string {
	if s < 0 || math.IsNaN(s) || math.IsInf(s, 0) {
		s = 0
	}
	return strconv.FormatFloat(s, 'f', 3, 64)
}

// cleanXML replaces invalid UTF-8 and drops the characters XML 1.0 does
// not allow (most C0 controls, surrogates, U+FFFE/U+FFFF). Escaping is left
// to encoding/xml.
func cleanXML(s string) string {
	ok := true
	for _, r := range s {
		if !xmlChar(r) || r == utf8.RuneError {
			ok = false
			break
		}
	}
	if ok {
		return s
	}
	var b strings.Builder
	for i, r := range s {
		if r == utf8.RuneError {
			if _, n := utf8.DecodeRuneInString(s[i:]); n == 1 {
				b.WriteRune('\uFFFD')
				continue
			}
		}
		if xmlChar(r) {
			b.WriteRune(r)
		}
	}
	return b.String()
}

func xmlChar(r rune) bool {
	return r == 0x9 || r == 0xA || r == 0xD ||
		r >= 0x20 && r <= 0xD7FF ||
		r >= 0xE000 && r <= 0xFFFD ||
		r >= 0x10000 && r <= 0x10FFFF
}

// cleanName is a test case or suite name: valid XML, on one line, trimmed.
func cleanName(s string) string {
	return strings.Join(strings.Fields(cleanXML(s)), " ")
}

// uniqueName appends " (2)", " (3)", … to name until it is not in seen.
func uniqueName(name string, seen map[string]bool) string {
	for i := 2; ; i++ {
		n := fmt.Sprintf("%s (%d)", name, i)
		if !seen[n] {
			return n
		}
	}
}

// shellJoin quotes args for a POSIX shell where they need it.
func shellJoin(args []string) string {
	parts := make([]string, len(args))
	for i, a := range args {
		parts[i] = shellQuote(a)
	}
	return strings.Join(parts, " ")
}

func shellQuote(s string) string {
	if s == "" {
		return "''"
	}
	safe := true
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./=:,+@%", r)) {
			safe = false
			break
		}
	}
	if safe {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// IncompleteIDs lists the ids of incomplete traces, at most max of them
// and a count of the rest.
func IncompleteIDs(in []assert.IncompleteTrace, max int) string {
	var ids []string
	for i, t := range in {
		if i == max {
			ids = append(ids, fmt.Sprintf("… %d more (results.json lists them all)", len(in)-max))
			break
		}
		ids = append(ids, t.TraceID)
	}
	return strings.Join(ids, ", ")
}
