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
