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

// The README's "Agent trajectories" and "Groups" examples are the ones
// testdata/script/trajectories_groups.txtar runs through the real binary
// against an agent on the OpenTelemetry Go SDK: every assertion of their
// YAML blocks is in the script's llmcheck.yaml, and every console line
// they show matches a line the script expects.
func TestReadmeTrajectoryAndGroupExamples(t *testing.T) {
	data, err := os.ReadFile("README.md")
	require.NoError(t, err)
	readme := string(data)
	script, err := os.ReadFile(filepath.Join("testdata", "script", "trajectories_groups.txtar"))
	require.NoError(t, err)
	_, cfg, ok := strings.Cut(string(script), "-- llmcheck.yaml --\n")
	require.True(t, ok)
	var patterns []*regexp.Regexp
	for _, m := range regexp.MustCompile(`(?m)^stderr '(.*)'$`).FindAllStringSubmatch(string(script), -1) {
		patterns = append(patterns, regexp.MustCompile(strings.ReplaceAll(m[1], "''", "'")))
	}
	for _, section := range []string{"### Agent trajectories", "### Groups"} {
		start := strings.Index(readme, section)
		require.GreaterOrEqual(t, start, 0, section)
		text := readme[start+len(section):]
		text = text[:strings.Index(text, "\n### ")]
		blocks := fencedBlocks(text)
		require.Len(t, blocks["yaml"], 1, section)
		require.Len(t, blocks[""], 1, section)
		_, assertions, ok := strings.Cut(blocks["yaml"][0], "assertions:\n")
		require.True(t, ok)
		for _, item := range strings.SplitAfter(assertions, "\n  - ")[1:] {
			item = "  - " + strings.TrimSuffix(item, "  - ")
			require.Contains(t, cfg, item, "%s: the script runs this assertion", section)
		}
		for _, line := range strings.Split(strings.TrimSpace(blocks[""][0]), "\n") {
			matched := false
			for _, p := range patterns {
				matched = matched || p.MatchString(line)
			}
			require.True(t, matched, "%s: the script expects the README's line %q", section, line)
		}
	}
}

// fencedBlocks returns the fenced code blocks of markdown text by their
// info string ("" for none).
func fencedBlocks(text string) map[string][]string {
	out := map[string][]string{}
	var info string
	var body []string
	in := false
	for _, line := range strings.Split(text, "\n") {
		switch {
		case !in && strings.HasPrefix(line, "```"):
			in, info, body = true, strings.TrimPrefix(line, "```"), nil
		case in && line == "```":
			in = false
			out[info] = append(out[info], strings.Join(body, "\n")+"\n")
		case in:
			body = append(body, line)
		}
	}
	return out
}
