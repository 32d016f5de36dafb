package cmd

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/llmcheck/llmcheck/exitcode"
	"github.com/llmcheck/llmcheck/internal/safetext"
)

// TestGitHubStreams: under GitHub Actions llmcheck's own output is wrapped
// in stop-commands, but the test command's output is not: a workflow
// command the test prints is honoured even after llmcheck printed a
// warning (stdout and stderr in one buffer, the runner's single log, in
// the order they were written).
func TestGitHubStreams(t *testing.T) {
	t.Setenv("GITHUB_ACTIONS", "true")
	t.Setenv("GITHUB_STEP_SUMMARY", "")
	t.Setenv("GITHUB_OUTPUT", "")
	t.Chdir(t.TempDir())
	var log syncBuffer
	code := Main([]string{"run", "--listen", "0.0.0.0:0", "--", "sh", "-c", "echo '::group::from the test'; echo '::endgroup::'"}, strings.NewReader(""), &log, &log)
	assert.Equal(t, exitcode.NoSpans, code, log.String())

	var names []string
	for _, c := range safetext.Commands(log.String(), false) {
		names = append(names, c.Name)
	}
	require.NotEmpty(t, names, log.String())
	assert.Equal(t, "stop-commands", names[0], log.String())
	assert.Contains(t, names, "group", "the test command's own command is honoured:\n%s", log.String())
	assert.Contains(t, names, "endgroup", log.String())
	assert.Contains(t, names, "error", "llmcheck's own annotation (no spans) is honoured:\n%s", log.String())
	assert.Contains(t, log.String(), "listening on 0.0.0.0:0")
	// Every stop is resumed by the end.
	tok := strings.TrimPrefix(strings.SplitN(log.String(), "\n", 2)[0], "::stop-commands::")
	assert.Equal(t, strings.Count(log.String(), "::stop-commands::"+tok+"\n"), strings.Count(log.String(), "::"+tok+"::\n"), log.String())
}
