package report

import (
	"bytes"
	"encoding/xml"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/llmcheck/llmcheck/assert"
)

// normaliseJUnit replaces what varies between runs (timestamps) so golden
// files compare.
func normaliseJUnit(s string) string {
	return regexp.MustCompile(`timestamp="[^"]*"`).ReplaceAllString(s, `timestamp="TIMESTAMP"`)
}

func junitString(t *testing.T, res *assert.Results, meta Meta, extra ...Suite) string {
	t.Helper()
	var b bytes.Buffer
	require.NoError(t, JUnit(&b, res, meta, extra...))
	return b.String()
}

func TestJUnitGolden(t *testing.T) {
	got := junitString(t, fixtureResults(), fixtureMeta())
	checkJUnit(t, got)
	golden(t, "junit.golden.xml", normaliseJUnit(got))
}

func TestJUnitNoAssertions(t *testing.T) {
	got := junitString(t, nil, fixtureMeta())
	doc := checkJUnit(t, got)
	require.Len(t, doc.Suites, 1)
	require.Equal(t, JUnitCommandSuite, doc.Suites[0].Name)
	require.Equal(t, "command: pytest -q 'tests/test rag.py'", doc.Suites[0].Cases[0].Name)
	require.NotNil(t, doc.Suites[0].Cases[0].Failure)
	require.Equal(t, "12.345", doc.Suites[0].Cases[0].Time)

	// No command and no assertions: still a valid, empty report.
	doc = checkJUnit(t, junitString(t, nil, Meta{}))
	require.Empty(t, doc.Suites)
	require.Equal(t, 0, doc.Tests)
}

func TestJUnitCommandPassed(t *testing.T) {
	meta := fixtureMeta()
	meta.CommandStatus = ""
	doc := checkJUnit(t, junitString(t, nil, meta))
	c := doc.Suites[0].Cases[0]
	require.Nil(t, c.Failure)
	require.Equal(t, 0, doc.Failures)
}

func TestJUnitKinds(t *testing.T) {
	doc := checkJUnit(t, junitString(t, fixtureResults(), fixtureMeta()))
	require.Len(t, doc.Suites, 2)
	s := doc.Suites[1]
	require.Equal(t, JUnitAssertionSuite, s.Name)
	byName := map[string]parsedCase{}
	for _, c := range s.Cases {
		byName[c.Name] = c
	}
	require.NotNil(t, byName["suite stays under 5k tokens"].Failure)
	require.Equal(t, "AssertionFailed", byName["suite stays under 5k tokens"].Failure.Type)
	require.NotNil(t, byName["retrieval finds the right document"].Error)
	require.NotNil(t, byName["rerank p95 under 300 ms"].Skipped)

	// A warning passes, with the warning in system-out.
	w := byName["tools stay fast"]
	require.Nil(t, w.Failure)
	require.Nil(t, w.Error)
	require.Contains(t, w.SystemOut, "WARNING")
	require.Contains(t, w.SystemOut, "latency.max = 210 ms")

	// each: trace lists the traces that did not pass, readably.
	e := byName["every trace costs under 1 cent"].Failure
	require.NotNil(t, e)
	require.Contains(t, e.Body, "2 of 3 traces did not pass:")
	require.Contains(t, e.Body, "FAIL  trace "+traceB)
	require.Contains(t, e.Body, "ERROR trace "+traceC)
	require.NotContains(t, e.Body, traceA)

	// Position, observed values and the threshold.
	f := byName["suite stays under 5k tokens"]
	require.Equal(t, "llmcheck.yaml", f.File)
	require.Equal(t, "11", f.Line)
	props := map[string]string{}
	for _, p := range f.Properties {
		props[p.Name] = p.Value
	}
	require.Equal(t, "tokens.total <= 5000", props["expect"])
	require.Equal(t, "7542", props["observed tokens.total"])
	require.Contains(t, f.Failure.Message, "tokens.total = 7542")
	require.Contains(t, f.Failure.Message, "expect: tokens.total <= 5000")
}

func TestJUnitNamesUniqueAndClean(t *testing.T) {
	res := &assert.Results{Status: assert.Fail, Assertions: []assert.Result{
		{Name: "same", Expect: "true", Status: assert.Pass},
		{Name: "same", Expect: "true", Status: assert.Pass},
		{Name: "same (2)", Expect: "true", Status: assert.Pass},
		{Name: "", Expect: "true", Status: assert.Pass, Position: assert.Pos{File: "llmcheck.yaml", Line: 9, Column: 5}},
		{Name: "  \n\t ", Expect: "true", Status: assert.Pass},
		{Name: "two\nlines", Expect: "a < b && \"x\" != 'y'", Status: assert.Fail, Failed: true,
			Message: "bad \x00\x07 bytes \xff and ]]> in cdata & <tags>"},
	}}
	got := junitString(t, res, Meta{})
	doc := checkJUnit(t, got)
	var names []string
	for _, c := range doc.Suites[0].Cases {
		names = append(names, c.Name)
	}
	require.Equal(t, []string{"same", "same (2)", "same (2) (2)", "assertion at llmcheck.yaml:9:5", "assertion 5", "two lines"}, names)
	f := doc.Suites[0].Cases[5].Failure
	require.Contains(t, f.Body, "bad  bytes \uFFFD and ]]> in cdata & <tags>")
	require.NotContains(t, got, "\x00")
	require.NotContains(t, got, "\x07")
}

func TestJUnitExtraSuite(t *testing.T) {
	reg := Suite{Name: JUnitRegressionSuite, Results: []assert.Result{
		{Name: "chat p95 grows at most 10 %", Expect: "head.latency.p95 <= base.latency.p95 * 1.10", Status: assert.Fail, Failed: true, Message: "head 1650 ms vs base 1400 ms"},
	}, Properties: map[string]string{"baseline": "base/traces.jsonl"}}
	doc := checkJUnit(t, junitString(t, fixtureResults(), fixtureMeta(), reg))
	require.Len(t, doc.Suites, 3)
	require.Equal(t, JUnitRegressionSuite, doc.Suites[2].Name)
	require.Equal(t, 1, doc.Suites[2].Failures)
	require.Equal(t, 4, doc.Failures) // command, tokens, each: trace, regression

	// A suite named like an existing one is renamed, classnames follow.
	dup := Suite{Name: JUnitAssertionSuite, Results: reg.Results}
	doc = checkJUnit(t, junitString(t, fixtureResults(), fixtureMeta(), dup))
	require.Equal(t, JUnitAssertionSuite+" (2)", doc.Suites[2].Name)
}

func TestWriteJUnit(t *testing.T) {
	path := filepath.Join(t.TempDir(), "junit.xml")
	require.NoError(t, WriteJUnit(path, fixtureResults(), fixtureMeta()))
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, junitString(t, fixtureResults(), fixtureMeta()), string(data))
	require.Error(t, WriteJUnit(filepath.Join(t.TempDir(), "missing", "junit.xml"), nil, Meta{}))
}

func TestJUnitSeconds(t *testing.T) {
	for in, want := range map[float64]string{0: "0.000", 1.23456: "1.235", 12.3: "12.300", -1: "0.000", 3600: "3600.000"} {
		require.Equal(t, want, junitSeconds(in))
	}
}

// ---- a parser check of what CI consumers rely on (REFERENCE.md §8) ----

type parsedDoc struct {
	XMLName   xml.Name      `xml:"testsuites"`
	Name      string        `xml:"name,attr"`
	Tests     int           `xml:"tests,attr"`
	Failures  int           `xml:"failures,attr"`
	Errors    int           `xml:"errors,attr"`
	Skipped   int           `xml:"skipped,attr"`
	Time      string        `xml:"time,attr"`
	Timestamp string        `xml:"timestamp,attr"`
	Suites    []parsedSuite `xml:"testsuite"`
}

type parsedSuite struct {
	Name       string       `xml:"name,attr"`
	Tests      int          `xml:"tests,attr"`
	Failures   int          `xml:"failures,attr"`
	Errors     int          `xml:"errors,attr"`
	Skipped    int          `xml:"skipped,attr"`
	Time       string       `xml:"time,attr"`
	Timestamp  string       `xml:"timestamp,attr"`
	Properties []parsedProp `xml:"properties>property"`
	Cases      []parsedCase `xml:"testcase"`
}

type parsedProp struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type parsedCase struct {
	Name       string         `xml:"name,attr"`
	Classname  string         `xml:"classname,attr"`
	Time       string         `xml:"time,attr"`
	File       string         `xml:"file,attr"`
	Line       string         `xml:"line,attr"`
	Properties []parsedProp   `xml:"properties>property"`
	Failure    *parsedProblem `xml:"failure"`
	Error      *parsedProblem `xml:"error"`
	Skipped    *struct {
		Message string `xml:"message,attr"`
	} `xml:"skipped"`
	SystemOut string `xml:"system-out"`
}

type parsedProblem struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Body    string `xml:",chardata"`
}

var (
	timeRe      = regexp.MustCompile(`^\d+(\.\d{1,3})?$`)
	timestampRe = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$`)
)

// checkJUnit parses a JUnit document and checks the invariants CI
// consumers rely on: non-empty names unique per suite, classname = suite
// name, counts that agree with the cases, times and timestamps in the
// accepted formats.
func checkJUnit(t *testing.T, doc string) parsedDoc {
	t.Helper()
	require.True(t, strings.HasPrefix(doc, `<?xml version="1.0" encoding="UTF-8"?>`))
	var d parsedDoc
	require.NoError(t, xml.Unmarshal([]byte(doc), &d), doc)
	require.NotEmpty(t, d.Name)
	require.Regexp(t, timeRe, d.Time)
	if d.Timestamp != "" {
		require.Regexp(t, timestampRe, d.Timestamp)
	}
	var tests, failures, errors, skipped int
	suites := map[string]bool{}
	for _, s := range d.Suites {
		require.NotEmpty(t, s.Name)
		require.False(t, suites[s.Name], "duplicate suite %q", s.Name)
		suites[s.Name] = true
		require.Regexp(t, timeRe, s.Time)
		if s.Timestamp != "" {
			require.Regexp(t, timestampRe, s.Timestamp)
		}
		names := map[string]bool{}
		var f, e, sk int
		for _, c := range s.Cases {
			require.NotEmpty(t, strings.TrimSpace(c.Name), "empty test case name in %s", s.Name)
			require.False(t, names[c.Name], "duplicate test case %q in %s", c.Name, s.Name)
			names[c.Name] = true
			require.Equal(t, s.Name, c.Classname)
			require.Regexp(t, timeRe, c.Time)
			if c.Line != "" {
				n, err := strconv.Atoi(c.Line)
				require.NoError(t, err)
				require.Positive(t, n)
			}
			kinds := 0
			if c.Failure != nil {
				f++
				kinds++
				require.NotEmpty(t, c.Failure.Message)
			}
			if c.Error != nil {
				e++
				kinds++
				require.NotEmpty(t, c.Error.Message)
			}
			if c.Skipped != nil {
				sk++
				kinds++
			}
			require.LessOrEqual(t, kinds, 1, "case %q is more than one of failure/error/skipped", c.Name)
		}
		require.Equal(t, len(s.Cases), s.Tests, "suite %s tests", s.Name)
		require.Equal(t, f, s.Failures, "suite %s failures", s.Name)
		require.Equal(t, e, s.Errors, "suite %s errors", s.Name)
		require.Equal(t, sk, s.Skipped, "suite %s skipped", s.Name)
		tests, failures, errors, skipped = tests+s.Tests, failures+s.Failures, errors+s.Errors, skipped+s.Skipped
	}
	require.Equal(t, tests, d.Tests, "root tests")
	require.Equal(t, failures, d.Failures, "root failures")
	require.Equal(t, errors, d.Errors, "root errors")
	require.Equal(t, skipped, d.Skipped, "root skipped")
	return d
}
