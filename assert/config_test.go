package assert

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// diagnostics compiles text and returns the error lines.
func diagnostics(t *testing.T, text string) []string {
	t.Helper()
	_, err := LoadBytes("llmcheck.yaml", []byte(text))
	require.Error(t, err)
	return strings.Split(err.Error(), "\n")
}

func TestConfigErrorsPointIntoTheFile(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []string
	}{
		{
			name: "broken YAML",
			yaml: "assertions:\n  - name: a\n    expect: \"x\n",
			want: []string{"llmcheck.yaml:3:1: invalid YAML: found unexpected end of stream"},
		},
		{
			name: "unknown keys with did-you-mean",
			yaml: "assertion:\n  - name: a\nassertions:\n  - name: a\n    expct: count > 0\n    expect: count > 0\n",
			want: []string{
				`llmcheck.yaml:1:1: unknown key "assertion" (did you mean "assertions"?)`,
				`llmcheck.yaml:5:5: unknown key "expct" (did you mean "expect"?)`,
			},
		},
		{
			name: "CEL syntax error at its column",
			yaml: "assertions:\n  - name: a\n    expect: latency.p95 < < 1500\n",
			want: []string{"llmcheck.yaml:3:27: expect: Syntax error"},
		},
		{
			name: "CEL error in a quoted string",
			yaml: "assertions:\n  - name: a\n    expect: \"latency.p95x < 1500\"\n",
			want: []string{"llmcheck.yaml:3:21: expect: undefined field 'p95x'"},
		},
		{
			name: "CEL error in a block scalar",
			yaml: "assertions:\n  - name: a\n    expect: |\n      count > 0 &&\n        nope > 1\n",
			want: []string{"llmcheck.yaml:5:9: expect: undeclared reference to 'nope'"},
		},
		{
			name: "all errors in one pass",
			yaml: "assertions:\n  - name: a\n    where: span.nme == \"x\"\n    expect: latency.p95 < 1\n  - name: a\n    expect: tokens.totl > 1\n  - name: c\n    expect: latency.p95\n",
			want: []string{
				"llmcheck.yaml:3:16: where: undefined field 'nme'",
				`llmcheck.yaml:5:5: duplicate assertion name "a" (first at line 2)`,
				"llmcheck.yaml:6:19: expect: undefined field 'totl'",
				"llmcheck.yaml:8:13: expect must be a bool expression",
			},
		},
		{
			name: "int times double gets a hint",
			yaml: "assertions:\n  - name: a\n    expect: tokens.total * 1.2 > 0\n",
			want: []string{"llmcheck.yaml:3:26: expect: found no matching overload for '_*_' applied to '(int, double)' (CEL does not mix int and double in arithmetic: convert with double(...)"},
		},
		{
			name: "trace outside each: trace",
			yaml: "assertions:\n  - name: a\n    expect: trace.cost < 1\n",
			want: []string{"undeclared reference to 'trace'", "defined only with `each: trace`"},
		},
		{
			name: "missing expect and name",
			yaml: "assertions:\n  - where: span.name == \"x\"\n",
			want: []string{"llmcheck.yaml:2:5: assertion without a name", "has no expect"},
		},
		{
			name: "bad values",
			yaml: "pricing:\n  m: {input: -1, output: cheap}\nretrieval: {k: 0}\nassertions:\n  - name: a\n    expect: count > 0\n    each: span\n    severity: meh\n",
			want: []string{"2:14: pricing.m.input: a price cannot be negative", `2:26: expected a number, got "cheap"`, "3:16: retrieval.k must be at least 1", `7:11: each: "span" is llmcheck.Span; an each: expression must be a string`, `8:15: severity: expected warn or error`},
		},
		{
			name: "empty file",
			yaml: "",
			want: []string{"empty file"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := strings.Join(diagnostics(t, tt.yaml), "\n")
			for _, w := range tt.want {
				assert.Contains(t, got, w)
			}
		})
	}
}

// A missing expect: is one positioned diagnostic, not also an unpositioned
// syntax error from compiling nothing (": expect: Syntax error…").
func TestMissingExpectIsOneDiagnostic(t *testing.T) {
	for _, y := range []string{
		"assertions:\n  - name: a\n    where: span.operation == \"chat\"\n",
		"regressions:\n  - name: a\n    expect: \"  \"\n",
	} {
		got := diagnostics(t, y)
		require.Len(t, got, 1, "%q", got)
		assert.Regexp(t, `^llmcheck\.yaml:2:5: (assertion|regression) "a" has no expect`, got[0])
	}
}

func TestGoldenFileRelativeToConfig(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "golden.yaml"), []byte("\"What is  the Refund policy?\": [doc-1, doc-2]\nsecond: doc-9\n"), 0o644))
	path := filepath.Join(dir, "llmcheck.yaml")
	require.NoError(t, os.WriteFile(path, []byte("retrieval:\n  ground_truth: golden.yaml\n  k: 3\nassertions:\n  - name: a\n    expect: count > 0\n"), 0o644))
	cfg, err := LoadConfig(path)
	require.NoError(t, err)
	assert.Equal(t, 3, cfg.Retrieval.K)
	assert.Equal(t, map[string][]string{"what is the refund policy?": {"doc-1", "doc-2"}, "second": {"doc-9"}}, cfg.Retrieval.Golden)

	require.NoError(t, os.WriteFile(path, []byte("retrieval:\n  ground_truth: missing.yaml\nassertions:\n  - name: a\n    expect: count > 0\n"), 0o644))
	_, err = LoadConfig(path)
	require.ErrorContains(t, err, "llmcheck.yaml:2:17: retrieval.ground_truth:")
}

func TestMissingConfig(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "llmcheck.yaml"))
	require.ErrorContains(t, err, "file not found (create one with `llmcheck init`)")
}

// A model priced at 0 for input and output makes every cost of it $0 and
// passes any budget: loading the config warns, naming the line (issue #13
// item 15).
func TestZeroPriceWarns(t *testing.T) {
	cases := []struct {
		pricing string
		warn    string
	}{
		{"  gpt-4o-mini: {input: 0, output: 0.0}\n", "llmcheck.yaml:2:3: pricing.gpt-4o-mini: input and output prices of 0 make every cost of this model $0, so it passes any cost budget: give its price in USD per 1M tokens"},
		{"  gpt-4o-mini: {input: 0.0}\n", "llmcheck.yaml:2:3: pricing.gpt-4o-mini: input and output prices of 0"},
		{"  gpt-4o-mini: {input: 0.15, output: 0}\n", ""},
		{"  text-embedding-3-small: {input: 0.02}\n", ""},
	}
	for _, c := range cases {
		cfg, err := ParseConfig("llmcheck.yaml", []byte("pricing:\n"+c.pricing+"assertions:\n  - name: x\n    expect: cost < 1\n"))
		require.NoError(t, err)
		if c.warn == "" {
			assert.Empty(t, cfg.Warnings, c.pricing)
			continue
		}
		require.Len(t, cfg.Warnings, 1, c.pricing)
		assert.Contains(t, cfg.Warnings[0].String(), c.warn)
	}
	s, err := LoadBytes("llmcheck.yaml", []byte("pricing:\n  m: {input: 0, output: 0}\nassertions:\n  - name: x\n    expect: cost < 1\n"))
	require.NoError(t, err)
	assert.Len(t, s.Config.Warnings, 1, "Load keeps the warnings")
}

// The placeholder init --from writes for a price fails to load, naming
// what to put there, so a stub cannot make costs $0.
func TestPricePlaceholderRefused(t *testing.T) {
	_, err := ParseConfig("llmcheck.yaml", []byte("pricing:\n  \"gpt-4o-mini\": {input: PRICE, output: PRICE}\nassertions:\n  - name: x\n    expect: cost < 1\n"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "llmcheck.yaml:2:26: pricing.gpt-4o-mini.input: replace PRICE with the model's price in USD per 1M tokens")
	assert.Contains(t, err.Error(), "llmcheck.yaml:2:41: pricing.gpt-4o-mini.output: replace PRICE")
}
