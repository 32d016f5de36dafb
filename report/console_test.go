package report

import (
	"bytes"
	"strings"
	"testing"

	testify "github.com/stretchr/testify/assert"

	"github.com/llmcheck/llmcheck/assert"
)

func consoleFixture() *assert.Results {
	return &assert.Results{Version: 1, Status: assert.Fail, Spans: 12, Traces: 4, Assertions: []assert.Result{
		{Name: "fast", Status: assert.Pass, Message: "latency.p95 = 20 ms (4 spans)"},
		{Name: "cheap", Status: assert.Fail, Failed: true, Message: "cost = $0.5 (4 spans)",
			Offenders: []assert.Offender{{TraceID: "t1", SpanID: "s1", Name: "chat", Metric: "cost", Value: 0.3, Unit: "USD"}}},
		{Name: "typo", Status: assert.Error, Message: "no such key: x", Expect: "span.attrs['x'] == 1"},
	}, Regressions: []assert.Result{{Name: "p95 stable", Status: assert.Inconclusive, Failed: true, Message: "not significant"}}, Baseline: "base.jsonl"}
}

func TestConsole(t *testing.T) {
	var b bytes.Buffer
	Console(&b, consoleFixture(), ConsoleOptions{})
	out := b.String()
	for _, want := range []string{
		"✓ fast — latency.p95 = 20 ms (4 spans)\n",
		"✗ cheap — cost = $0.5 (4 spans)\n    chat (trace t1, span s1): cost = $0.3\n",
		"! typo — no such key: x\n",
		"Regression rules (baseline base.jsonl):\n~ p95 stable — not significant\n",
		"1 passed, 1 failed, 1 error, 1 inconclusive (12 spans in 4 traces)\n",
	} {
		testify.Contains(t, out, want)
	}
	testify.NotContains(t, out, "\x1b[", "no colour unless asked")

	b.Reset()
	Console(&b, consoleFixture(), ConsoleOptions{Color: true, Quiet: true})
	out = b.String()
	testify.Contains(t, out, "\x1b[31m✗\x1b[0m cheap")
	testify.NotContains(t, out, "fast", "--quiet hides what passed")
	testify.True(t, strings.HasSuffix(out, "(12 spans in 4 traces)\n"))
}

// The console's closing line counts an allow_empty assertion that matched
// nothing as skipped, not passed, exactly as report.md and junit.xml do.
func TestConsoleCountsSkippedApart(t *testing.T) {
	s, err := assert.LoadBytes("llmcheck.yaml", []byte(`assertions:
  - name: some spans
    expect: count > 0
  - name: chat fast
    where: span.operation == "chat"
    expect: latency.p95 < 100000
  - name: at most one error
    expect: errors <= 1
  - name: rerank fast
    where: span.name == "rerank"
    expect: latency.p95 < 50
    allow_empty: true
`))
	if err != nil {
		t.Fatal(err)
	}
	run := fixtureRun()
	res := s.Evaluate(run)
	var b bytes.Buffer
	Console(&b, res, ConsoleOptions{})
	testify.Contains(t, b.String(), "\n3 passed, 1 skipped, 0 failed (")
	testify.Contains(t, Markdown(res, run, fixtureMeta(), MarkdownOptions{}), "**0 failed** · 3 passed · 1 skipped · ")
	var j bytes.Buffer
	if err := JUnit(&j, res, fixtureMeta()); err != nil {
		t.Fatal(err)
	}
	testify.Contains(t, j.String(), `name="llmcheck.assertions" tests="4" failures="0" errors="0" skipped="1"`)
}
