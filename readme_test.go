package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/llmcheck/llmcheck/assert"
)

// The README's examples are tested, so the documentation cannot drift:
// every YAML block with assertions compiles, every expression in the
// reference tables compiles, and the documented errors are the real ones.
func TestReadmeExamples(t *testing.T) {
	data, err := os.ReadFile("README.md")
	require.NoError(t, err)
	readme := string(data)

	blocks := regexp.MustCompile("(?s)```yaml\n(.*?)```").FindAllStringSubmatch(readme, -1)
	require.NotEmpty(t, blocks)
	for i, b := range blocks {
		text := b[1]
		if !strings.Contains(text, "assertions:") && !strings.Contains(text, "regressions:") {
			continue
		}
		// ground_truth names a file the README does not ship.
		text = regexp.MustCompile(`(?m)^\s*ground_truth:.*$`).ReplaceAllString(text, "")
		_, err := assert.LoadBytes("README.md", []byte(text))
		require.NoError(t, err, "yaml block %d", i)
	}

	// Every `expect`-style example in the reference tables compiles.
	examples := regexp.MustCompile("(?m)^\\| `[a-z_]+[^|]*\\|[^|]*\\|[^|]*\\| `([^`]+)` \\|$").FindAllStringSubmatch(readme, -1)
	require.GreaterOrEqual(t, len(examples), 10)
	for _, m := range examples {
		expr := m[1]
		y := "assertions:\n  - name: x\n    expect: '" + strings.ReplaceAll(expr, "'", "''") + "'\n"
		if strings.Contains(expr, "trace.") && !strings.Contains(expr, "traces.") {
			y += "    each: trace\n"
		}
		_, err := assert.LoadBytes("llmcheck.yaml", []byte(y))
		require.NoError(t, err, "README example %q", expr)
	}

	// The documented error messages are the ones llmcheck prints.
	_, err = assert.LoadBytes("llmcheck.yaml", []byte("assertion:\n  - name: a\nassertions:\n  - name: b\n    expect: tokens.totl > 1\n  - name: c\n    expect: latency.p95\n"))
	require.Error(t, err)
	for _, line := range strings.Split(err.Error(), "\n") {
		require.True(t, strings.Contains(readme, line), "README lacks the real error line %q", line)
	}
}

// Every relative link of the README and docs/ names a file of the
// repository (a missing docs/results.md went unnoticed once).
func TestDocLinks(t *testing.T) {
	docs, err := filepath.Glob("docs/*.md")
	require.NoError(t, err)
	docs = append(docs, "README.md", "bench/README.md")
	link := regexp.MustCompile(`\]\(([^)\s#]+)(#[^)]*)?\)`)
	checked := 0
	for _, doc := range docs {
		data, err := os.ReadFile(doc)
		require.NoError(t, err)
		for _, m := range link.FindAllStringSubmatch(string(data), -1) {
			target := m[1]
			if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			path := filepath.Join(filepath.Dir(doc), target)
			_, err := os.Stat(path)
			require.NoError(t, err, "%s links to %s, which does not exist", doc, target)
			checked++
		}
	}
	require.Greater(t, checked, 3)
}
