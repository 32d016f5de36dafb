package cmd

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/llmcheck/llmcheck/exitcode"
)

// Every command's --help lists the exit codes it can exit with, and only
// those; every command has a description.
func TestHelpExitCodes(t *testing.T) {
	for _, tt := range []struct {
		args     []string
		has, not []string
	}{
		{[]string{"run"}, []string{"\n  0 ", "\n  1 ", "\n  2 ", "\n  3 ", "\n  4 "}, nil},
		{[]string{"check"}, []string{"\n  0 ", "\n  1 ", "\n  2 ", "\n  4  the trace files hold no spans"}, []string{"\n  3 "}},
		{[]string{"diff"}, []string{"\n  1  a regression rule failed"}, []string{"\n  3 ", "\n  4 "}},
		{[]string{"baseline", "write"}, []string{"\n  0  the summary was written", "\n  4 "}, []string{"\n  1 ", "\n  3 "}},
		{[]string{"record"}, []string{"\n  4  no spans were received before the signal"}, []string{"\n  1 ", "\n  3 "}},
		{[]string{"replay"}, []string{"\n  2 "}, []string{"\n  1 ", "\n  3 ", "\n  4 "}},
		{[]string{"init"}, []string{"\n  4 "}, []string{"\n  1 ", "\n  3 "}},
		{[]string{"version"}, []string{"\n  0 "}, []string{"\n  1 ", "\n  3 ", "\n  4 "}},
		{[]string{"schema"}, []string{"\n  0 "}, []string{"\n  1 ", "\n  3 ", "\n  4 "}},
		{[]string{"comment"}, []string{"\n  2 "}, []string{"\n  1 ", "\n  3 ", "\n  4 "}},
	} {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var out bytes.Buffer
			require.Equal(t, exitcode.OK, Main(append(tt.args, "--help"), nil, &out, &bytes.Buffer{}))
			help := out.String()
			require.Contains(t, help, "Exit codes:")
			codes := help[strings.Index(help, "Exit codes:"):]
			for _, h := range tt.has {
				assert.Contains(t, codes, h)
			}
			for _, n := range tt.not {
				assert.NotContains(t, codes, n)
			}
		})
	}
	var out bytes.Buffer
	require.Equal(t, exitcode.OK, Main([]string{"baseline", "--help"}, nil, &out, &bytes.Buffer{}))
	assert.Contains(t, out.String(), "A baseline is the run a pull request is compared with")
}

// -q prints only failures and the closing line: not the note about
// regression rules left unevaluated for want of a baseline.
func TestQuietHidesRulesNote(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "llmcheck.yaml")
	require.NoError(t, os.WriteFile(cfg, []byte("assertions:\n  - name: a\n    expect: count > 0\nregressions:\n  - name: r\n    expect: head.count <= base.count\n"), 0o644))
	for _, quiet := range []bool{false, true} {
		args := []string{"check", "--config", cfg, "--out", filepath.Join(dir, "out"), "../replay/testdata/handwritten.json"}
		if quiet {
			args = append(args, "-q")
		}
		var stderr bytes.Buffer
		require.Equal(t, exitcode.OK, Main(args, nil, &bytes.Buffer{}, &stderr), stderr.String())
		assert.Equal(t, !quiet, strings.Contains(stderr.String(), "regression rule not evaluated"), "quiet=%v: %s", quiet, stderr.String())
	}
}
