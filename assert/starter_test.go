package assert

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/llmcheck/llmcheck/span"
)

// TestStarterQuotesRecordedNames: init --from writes recorded model and
// operation names as quoted YAML values (issue #16 item 5): a name cannot
// add a key (severity: warn), start a comment, or make the file invalid,
// and the generated where clauses select the very spans they came from.
func TestStarterQuotesRecordedNames(t *testing.T) {
	models := []string{
		"x\n    severity:\n      warn\t#",
		"model: with colon",
		"model #hash",
		`quote " and \ backslash`,
		"'single'",
		"- dash",
		"evil\u202etxt",
		"ctrl\x1b[31m\x00",
		"ns::error::x",
		"trailing:",
		"{flow}",
		strings.Repeat("long-model-", 200_000),
	}
	var spans []span.Span
	for i, m := range models {
		for j := 0; j < 3; j++ {
			spans = append(spans, span.Span{
				TraceID: strings.Repeat("a", 31) + string(rune('a'+i)), SpanID: string(rune('a'+i)) + string(rune('0'+j)),
				Name: "chat " + m, Operation: "chat", Model: m, DurationMS: float64(10 + j),
				Tokens: span.Tokens{Input: 10, HasInput: true, Output: 5, HasOutput: true, Total: 15, HasTotal: true},
			})
		}
	}
	spans = append(spans, span.Span{TraceID: strings.Repeat("b", 32), SpanID: "op", Name: "odd op", Operation: "op: x\n  - name: injected\n    expect: false", DurationMS: 5})
	run := span.NewRun(spans)
	yaml := StarterFrom(run, "traces.jsonl")
	s, err := LoadBytes("llmcheck.yaml", []byte(yaml))
	require.NoError(t, err, yaml)
	res := s.Evaluate(run)
	require.Len(t, res.Assertions, len(models)+2, yaml) // one per group, and "no span ends in error"
	for _, r := range res.Assertions {
		assert.Equal(t, "error", r.Severity, "%s\n%s", r.Name, yaml)
		assert.Equal(t, Pass, r.Status, "%s: %s\n%s", r.Name, r.Message, yaml)
		assert.NotEqual(t, "injected", r.Name)
		if r.Name != "no span ends in error" {
			assert.Greater(t, r.Spans, 0, "%s selects no span", r.Name)
		}
	}
	for _, m := range models[:len(models)-1] {
		assert.Contains(t, yaml, yamlString("chat "+m+" stays within budget"))
	}
	assert.Less(t, len(yaml), 20_000, "the 2.2 MB model name is clipped in the name and matched by length and prefix")
	assert.NotContains(t, yaml, "\x1b")
	assert.NotContains(t, yaml, "\u202e")
}

// init --from names a model by the family the pricing rules match, not by
// the dated response model, and writes no zero price (issue #13 item 15):
// the generated where selects the family, the pricing stub is keyed by
// it, and uncommented as written the stub does not load; filled in, it
// prices the dated model.
func TestStarterFromModelFamily(t *testing.T) {
	var spans []span.Span
	for i, m := range []string{"gpt-4o-mini-2024-07-18", "gpt-4o-mini-2024-07-18", "gpt-4o-mini", "claude-3-5-sonnet-20241022"} {
		spans = append(spans, span.Span{
			TraceID: "t", SpanID: string(rune('a' + i)), Name: "chat", Operation: "chat", Model: m, DurationMS: float64(10 + i),
			Tokens: span.Tokens{Input: 10, HasInput: true, Output: 5, HasOutput: true, Total: 15, HasTotal: true},
		})
	}
	run := span.NewRun(spans)
	text := StarterFrom(run, "traces.jsonl")
	assert.Contains(t, text, `where: "span.operation == \"chat\" && span.model_family == \"gpt-4o-mini\""`)
	assert.Contains(t, text, `where: "span.operation == \"chat\" && span.model_family == \"claude-3-5-sonnet\""`)
	assert.NotContains(t, text, "2024-07-18\\\"\"", "no where pins the dated model")
	assert.Contains(t, text, `#   "gpt-4o-mini": {input: PRICE, output: PRICE}`)
	assert.Contains(t, text, `#   "claude-3-5-sonnet": {input: PRICE, output: PRICE}`)
	assert.NotRegexp(t, `(input|output|cached_input): 0`, text)

	s, err := LoadBytes("llmcheck.yaml", []byte(text))
	require.NoError(t, err, text)
	res := s.Evaluate(run)
	spansOf := map[string]int{}
	for _, r := range res.Assertions {
		assert.Equal(t, Pass, r.Status, "%s: %s", r.Name, r.Message)
		spansOf[r.Name] = r.Spans
	}
	assert.Equal(t, 3, spansOf["chat gpt-4o-mini stays within budget"], "the family selects the snapshot and the alias")
	assert.Equal(t, 1, spansOf["chat claude-3-5-sonnet stays within budget"])

	uncommented := strings.ReplaceAll(strings.ReplaceAll(text, "# pricing:", "pricing:"), "#   \"", "  \"")
	_, err = LoadBytes("llmcheck.yaml", []byte(uncommented))
	require.Error(t, err, "PRICE left in place must not load")
	assert.Contains(t, err.Error(), "replace PRICE with the model's price in USD per 1M tokens")

	filled := strings.ReplaceAll(uncommented, "PRICE", "1")
	s, err = LoadBytes("llmcheck.yaml", []byte(filled+"  - name: cost\n    expect: cost > 0.0\n"))
	require.NoError(t, err, filled)
	for _, r := range s.Evaluate(run).Assertions {
		assert.Equal(t, Pass, r.Status, "%s: %s", r.Name, r.Message)
	}
}
