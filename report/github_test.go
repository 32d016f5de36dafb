package report

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/llmcheck/llmcheck/assert"
	"github.com/llmcheck/llmcheck/internal/safetext"
	"github.com/llmcheck/llmcheck/span"
)

func TestEscapeWorkflowCommands(t *testing.T) {
	for _, tc := range []struct{ in, data, prop string }{
		{"plain", "plain", "plain"},
		{"100%", "100%25", "100%25"},
		{"a\rb", "a%0Db", "a%0Db"},
		{"a\nb", "a%0Ab", "a%0Ab"},
		{"a\r\nb", "a%0D%0Ab", "a%0D%0Ab"},
		{"k: v", "k: v", "k%3A v"},
		{"a, b", "a, b", "a%2C b"},
		{"%0A", "%250A", "%250A"}, // an escape sequence in the input stays literal
		{"title=x,line=1::y", "title=x,line=1::y", "title=x%2Cline=1%3A%3Ay"},
		{"::error::injected\n::warning::x", "::error::injected%0A::warning::x", "%3A%3Aerror%3A%3Ainjected%0A%3A%3Awarning%3A%3Ax"},
	} {
		require.Equal(t, tc.data, EscapeData(tc.in), "data %q", tc.in)
		require.Equal(t, tc.prop, EscapeProperty(tc.in), "property %q", tc.in)
	}
}

func TestAnnotationString(t *testing.T) {
	a := Annotation{Level: "error", File: "ci/llmcheck.yaml", Line: 12, Col: 5, Title: "llmcheck failed: p95, chat", Message: "latency.p95 = 1623 ms\nexpect: latency.p95 < 1500"}
	require.Equal(t, "::error file=ci/llmcheck.yaml,line=12,col=5,title=llmcheck failed%3A p95%2C chat::latency.p95 = 1623 ms%0Aexpect: latency.p95 < 1500", a.String())
	require.Equal(t, "::notice::x", Annotation{Level: "notice", Message: "x"}.String())
	require.Equal(t, "::warning file=f,title=t::m", Annotation{Level: "warning", File: "f", Title: "t", Message: "m"}.String())
}

var cmdRe = regexp.MustCompile(`^::(error|warning|notice)( [^:]*)?::`)

func annotate(t *testing.T, opts GitHubOptions) []string {
	t.Helper()
	var b bytes.Buffer
	require.NoError(t, Annotate(&b, opts))
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	if b.Len() == 0 {
		return nil
	}
	for _, l := range lines {
		require.Regexp(t, cmdRe, l)
	}
	return lines
}

func TestAnnotationCap(t *testing.T) {
	res := &assert.Results{Status: assert.Fail, Spans: 10, Traces: 2}
	for i := range 15 {
		res.Assertions = append(res.Assertions, assert.Result{
			Name: fmt.Sprintf("check %d", i), Expect: "x < 1", Status: assert.Fail, Failed: true,
			Message: "x = 2 (10 spans)", Position: assert.Pos{File: "llmcheck.yaml", Line: 3 * (i + 1), Column: 5},
		})
	}
	lines := annotate(t, GitHubOptions{Results: res})
	require.Len(t, lines, 11)
	for _, l := range lines[:10] {
		require.True(t, strings.HasPrefix(l, "::error file=llmcheck.yaml,line="), l)
	}
	require.True(t, strings.HasPrefix(lines[10], "::notice title=llmcheck::5 more failures not annotated"), lines[10])

	// Warnings have their own cap of ten.
	for i := range 12 {
		res.Assertions = append(res.Assertions, assert.Result{Name: fmt.Sprintf("warn %d", i), Expect: "y", Severity: "warn", Status: assert.Warn, Failed: true, Message: "m"})
	}
	lines = annotate(t, GitHubOptions{Results: res, MaxAnnotations: 10})
	require.Len(t, lines, 21)
	require.True(t, strings.HasPrefix(lines[10], "::warning "), lines[10])
	require.Contains(t, lines[20], "5 more failures and 2 more warnings not annotated")
}

func TestAnnotationsFixture(t *testing.T) {
	meta := fixtureMeta()
	lines := annotate(t, GitHubOptions{Results: fixtureResults(), Meta: meta, ConfigFile: "services/rag/llmcheck.yaml"})
	require.Len(t, lines, 5)
	// The command first, then failures, then errors, then warnings.
	require.Equal(t, "::error title=llmcheck%3A test command failed::pytest -q 'tests/test rag.py' failed: exit status 1", lines[0])
	require.True(t, strings.HasPrefix(lines[1], "::error file=services/rag/llmcheck.yaml,line=11,col=5,title=llmcheck failed%3A suite stays under 5k tokens::tokens.total = 7542 (13 spans)%0Aexpect: tokens.total <= 5000%0Achat gpt-4o-mini (trace "), lines[1])
	require.True(t, strings.HasPrefix(lines[2], "::error file=services/rag/llmcheck.yaml,line=14,col=5,title=llmcheck failed%3A every trace costs under 1 cent::"), lines[2])
	require.True(t, strings.HasPrefix(lines[3], "::error file=services/rag/llmcheck.yaml,line=18,col=5,title=llmcheck could not be evaluated%3A retrieval finds"), lines[3])
	require.True(t, strings.HasPrefix(lines[4], "::warning file=services/rag/llmcheck.yaml,line=22,col=5,title=llmcheck warning%3A tools stay fast::"), lines[4])

	// Without ConfigFile the assertion's own file is used.
	lines = annotate(t, GitHubOptions{Results: fixtureResults()})
	require.True(t, strings.HasPrefix(lines[0], "::error file=llmcheck.yaml,line=11,"), lines[0])

	// A name with a newline cannot inject a second command.
	res := fixtureResults()
	res.Assertions[1].Name = "evil\n::error::injected"
	for _, l := range annotate(t, GitHubOptions{Results: res}) {
		require.NotContains(t, l, "\n")
	}

	// No spans at all is an error too; a passing run annotates nothing.
	lines = annotate(t, GitHubOptions{Run: span.NewRun(nil)})
	require.Len(t, lines, 1)
	require.Contains(t, lines[0], "no spans were received")
	require.Empty(t, annotate(t, GitHubOptions{Run: fixtureRun()}))
}

func TestFormatOutputs(t *testing.T) {
	got := FormatOutputs([]Output{{"verdict", "fail"}, {"multi", "line one\nline two"}})
	m := regexp.MustCompile(`^verdict=fail\nmulti<<(ghadelimiter_[0-9a-f]{16})\nline one\nline two\n(ghadelimiter_[0-9a-f]{16})\n$`).FindStringSubmatch(got)
	require.NotNil(t, m, got)
	require.Equal(t, m[1], m[2])
}

func readOutputs(t *testing.T, path string) map[string]string {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	out := map[string]string{}
	for _, l := range strings.Split(strings.TrimSuffix(string(data), "\n"), "\n") {
		k, v, ok := strings.Cut(l, "=")
		require.True(t, ok, l)
		out[k] = v
	}
	return out
}

func TestGitHub(t *testing.T) {
	dir := t.TempDir()
	summary := filepath.Join(dir, "summary.md")
	output := filepath.Join(dir, "output")
	require.NoError(t, os.WriteFile(summary, []byte("# earlier step content\n"), 0o644))
	require.NoError(t, os.WriteFile(output, []byte("earlier=1\n"), 0o644))
	md := fixtureMarkdown(fixtureResults(), fixtureRun(), fixtureMeta())
	var cmds bytes.Buffer
	err := GitHub(GitHubOptions{
		StepSummary: summary, Output: output, Commands: &cmds,
		Results: fixtureResults(), Run: fixtureRun(), Meta: fixtureMeta(),
		Markdown: md, ConfigFile: "llmcheck.yaml", ReportPath: ".llmcheck/report.md",
	})
	require.NoError(t, err)

	data, err := os.ReadFile(summary)
	require.NoError(t, err)
	require.Equal(t, "# earlier step content\n\n"+md, string(data))

	require.Equal(t, map[string]string{
		"earlier": "1", "verdict": "fail", "passed": "1", "failed": "2", "errors": "1", "warnings": "1",
		"skipped": "1", "spans": "13", "traces": "3", "report": ".llmcheck/report.md",
	}, readOutputs(t, output))
	require.Equal(t, 5, strings.Count(cmds.String(), "\n"))

	// Without results the counts come from the run.
	out2 := filepath.Join(dir, "output2")
	meta := fixtureMeta()
	meta.CommandStatus = ""
	require.NoError(t, GitHub(GitHubOptions{Output: out2, Run: fixtureRun(), Meta: meta}))
	o := readOutputs(t, out2)
	require.Equal(t, "pass", o["verdict"])
	require.Equal(t, "13", o["spans"])
	require.Equal(t, "0", o["passed"])
	require.NotContains(t, o, "report")
}

func TestGitHubSummaryLimit(t *testing.T) {
	summary := filepath.Join(t.TempDir(), "summary.md")
	require.NoError(t, os.WriteFile(summary, bytes.Repeat([]byte("x"), StepSummaryLimit-1000), 0o644))
	md := strings.Repeat("report line\n", 200)
	require.NoError(t, GitHub(GitHubOptions{StepSummary: summary, Markdown: md, ReportPath: ".llmcheck/report.md"}))
	data, err := os.ReadFile(summary)
	require.NoError(t, err)
	require.LessOrEqual(t, len(data), StepSummaryLimit)
	require.True(t, strings.HasSuffix(string(data), "does not fit in this step's summary (GitHub allows 1 MiB): see `.llmcheck/report.md`.\n"))
}

func TestGitHubErrors(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "no", "such", "dir", "file")
	err := GitHub(GitHubOptions{StepSummary: missing, Output: missing, Markdown: "x", Run: fixtureRun()})
	require.ErrorContains(t, err, "write step summary")
	require.ErrorContains(t, err, "write step outputs")
	// Nothing to do is no error.
	require.NoError(t, GitHub(GitHubOptions{}))
}

// TestFailureAnnotationsEscaped: a config error's diagnostics quote the
// config (CEL: "token recognition error at: '\x1b'", YAML: the offending
// text), and the annotations that carry them are written past the guarded
// streams' filter: they are escaped like the console, so they hold no raw
// control character and no legacy ##[ command.
func TestFailureAnnotationsEscaped(t *testing.T) {
	hostile := "token recognition error at: '\x1b' ##[error]legacy \u202e\r::error file=x::forged\n::add-mask::y"
	for _, f := range []Failure{
		{Message: "llmcheck.yaml:4:31: expect: " + hostile},
		{Message: "x", Diagnostics: []assert.Diagnostic{{Pos: assert.Pos{File: "llmcheck.yaml", Line: 4, Column: 31}, Message: "expect: " + hostile}}},
	} {
		for _, a := range f.Annotations() {
			line := a.String()
			require.NotContains(t, line, "\x1b")
			require.NotContains(t, line, "\u202e")
			require.NotContains(t, line, "##[")
			require.NotContains(t, line, "\n")
			require.NotContains(t, line, "\r")
			cmds := safetext.Commands(line+"\n", true)
			require.Len(t, cmds, 1, line)
			require.Equal(t, "error", cmds[0].Name)
		}
	}
}
