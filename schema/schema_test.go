package schema_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/txtar"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	llmassert "github.com/llmcheck/llmcheck/assert"
	"github.com/llmcheck/llmcheck/runner"
	"github.com/llmcheck/llmcheck/schema"
)

func compile(t *testing.T) *jsonschema.Schema {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(schema.JSON))
	require.NoError(t, err)
	c := jsonschema.NewCompiler()
	require.NoError(t, c.AddResource("llmcheck.schema.json", doc))
	sch, err := c.Compile("llmcheck.schema.json")
	require.NoError(t, err, "the schema is a valid JSON Schema")
	return sch
}

// instance turns YAML into the JSON value a YAML language server validates.
func instance(t *testing.T, y []byte) (any, error) {
	t.Helper()
	var v any
	if err := yaml.Unmarshal(y, &v); err != nil {
		return nil, err
	}
	j, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return jsonschema.UnmarshalJSON(bytes.NewReader(j))
}

// configs are every llmcheck.yaml the repository ships or tests: examples,
// README blocks, and the files of the end-to-end scripts.
func configs(t *testing.T) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	examples, err := filepath.Glob("../examples/*/llmcheck.yaml")
	require.NoError(t, err)
	require.NotEmpty(t, examples)
	for _, p := range examples {
		b, err := os.ReadFile(p)
		require.NoError(t, err)
		out[p] = b
	}
	readme, err := os.ReadFile("../README.md")
	require.NoError(t, err)
	for i, m := range regexp.MustCompile("(?s)```yaml\n(.*?)```").FindAllSubmatch(readme, -1) {
		if bytes.Contains(m[1], []byte("assertions:")) || bytes.Contains(m[1], []byte("regressions:")) {
			out["README.md block "+string(rune('0'+i))] = m[1]
		}
	}
	scripts, err := filepath.Glob("../testdata/script/*.txtar")
	require.NoError(t, err)
	for _, p := range scripts {
		a, err := txtar.ParseFile(p)
		require.NoError(t, err)
		for _, f := range a.Files {
			if strings.HasSuffix(f.Name, ".yaml") && (bytes.Contains(f.Data, []byte("assertions:")) || bytes.Contains(f.Data, []byte("regressions:"))) {
				out[p+":"+f.Name] = f.Data
			}
		}
	}
	return out
}

// Every config llmcheck accepts is valid against the schema, and every
// config the schema refuses llmcheck refuses too, so the editor never
// disagrees with the tool about structure.
func TestConfigsAgreeWithSchema(t *testing.T) {
	sch := compile(t)
	accepted := 0
	for name, y := range configs(t) {
		t.Run(name, func(t *testing.T) {
			_, loadErr := llmassert.ParseConfig("llmcheck.yaml", y)
			v, err := instance(t, y)
			if err != nil {
				require.Error(t, loadErr, "YAML the schema cannot read must not load")
				return
			}
			schemaErr := sch.Validate(v)
			if loadErr == nil {
				accepted++
				assert.NoError(t, schemaErr, "llmcheck accepts this config; the schema must too")
			}
			if schemaErr != nil {
				assert.Error(t, loadErr, "the schema refuses this config; llmcheck must too")
			}
		})
	}
	assert.GreaterOrEqual(t, accepted, 10, "the corpus holds real configs")
}

// What init writes validates, and names the schema for editors.
func TestInitOutputValidates(t *testing.T) {
	sch := compile(t)
	for name, from := range map[string][]string{
		"template":            nil,
		"from a recorded run": {"../replay/testdata/handwritten.json"},
	} {
		t.Run(name, func(t *testing.T) {
			var out, stderr bytes.Buffer
			require.NoError(t, runner.Init(runner.InitOptions{From: from, Output: "-", SchemaURL: schema.URL("v1.2.0"), Stdout: &out, Stderr: &stderr}), stderr.String())
			first, _, _ := strings.Cut(out.String(), "\n")
			assert.Equal(t, "# yaml-language-server: $schema="+schema.URL("v1.2.0"), first)
			v, err := instance(t, out.Bytes())
			require.NoError(t, err)
			assert.NoError(t, sch.Validate(v))
		})
	}
}

// Configs llmcheck refuses for their structure are refused by the schema,
// each for the reason llmcheck gives.
func TestSchemaRefuses(t *testing.T) {
	sch := compile(t)
	for name, y := range map[string]string{
		"unknown top-level key":              "assertion:\n  - name: a\n    expect: count > 0\n",
		"unknown assertion key":              "assertions:\n  - name: a\n    expct: count > 0\n",
		"no expect":                          "assertions:\n  - name: a\n",
		"no name":                            "assertions:\n  - expect: count > 0\n",
		"blank name":                         "assertions:\n  - name: ' '\n    expect: count > 0\n",
		"bad severity":                       "assertions:\n  - name: a\n    expect: count > 0\n    severity: fatal\n",
		"blank each":                         "assertions:\n  - name: a\n    expect: count > 0\n    each: ' '\n",
		"each in a regression rule":          "regressions:\n  - name: a\n    expect: head.count > 0\n    each: test\n",
		"allow_empty not bool":               "assertions:\n  - name: a\n    expect: count > 0\n    allow_empty: yes please\n",
		"k zero":                             "assertions:\n  - name: a\n    expect: count > 0\n    k: 0\n",
		"negative price":                     "pricing:\n  gpt-4o: {input: -1}\nassertions:\n  - name: a\n    expect: count > 0\n",
		"empty price":                        "pricing:\n  gpt-4o: {}\nassertions:\n  - name: a\n    expect: count > 0\n",
		"unknown price key":                  "pricing:\n  gpt-4o: {inptu: 1}\nassertions:\n  - name: a\n    expect: count > 0\n",
		"require_significance in assertions": "assertions:\n  - name: a\n    expect: count > 0\n    require_significance: false\n",
		"no assertions":                      "pricing:\n  gpt-4o: {input: 1}\n",
		"cost limit zero":                    "cel_cost_limit: 0\nassertions:\n  - name: a\n    expect: count > 0\n",
		"retrieval k string":                 "retrieval:\n  k: five\nassertions:\n  - name: a\n    expect: count > 0\n",
		"evals empty":                        "evals:\n  faithfulness: {}\nassertions:\n  - name: a\n    expect: count > 0\n",
		"evals unknown key":                  "evals:\n  faithfulness: {pass_label: [ok]}\nassertions:\n  - name: a\n    expect: count > 0\n",
		"evals empty labels":                 "evals:\n  faithfulness: {pass_labels: []}\nassertions:\n  - name: a\n    expect: count > 0\n",
		"evals score string":                 "evals:\n  faithfulness: {min_score: high}\nassertions:\n  - name: a\n    expect: count > 0\n",
	} {
		t.Run(name, func(t *testing.T) {
			_, loadErr := llmassert.ParseConfig("llmcheck.yaml", []byte(y))
			require.Error(t, loadErr, "llmcheck refuses it")
			v, err := instance(t, []byte(y))
			require.NoError(t, err)
			assert.Error(t, sch.Validate(v), "the schema refuses it too")
		})
	}
}

func TestURL(t *testing.T) {
	assert.Equal(t, "https://raw.githubusercontent.com/llmcheck/llmcheck/v1.2.0/schema/llmcheck.schema.json", schema.URL("v1.2.0"))
	assert.Equal(t, "https://raw.githubusercontent.com/llmcheck/llmcheck/main/schema/llmcheck.schema.json", schema.URL("dev"))
	assert.Equal(t, "https://raw.githubusercontent.com/llmcheck/llmcheck/main/schema/llmcheck.schema.json", schema.URL("v1.2.1-0.20261201-abc"))
	var doc map[string]any
	require.NoError(t, json.Unmarshal(schema.JSON, &doc))
	assert.Equal(t, schema.URL("dev"), doc["$id"])
}
