package report

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/llmcheck/llmcheck/assert"
)

// repeatMeta is a run of llmcheck run --run-id nightly-42 --repeat 5 in
// which repetitions 2 and 4 failed.
func repeatMeta() Meta {
	m := Meta{Command: []string{"go", "test", "./..."}, RunID: "nightly-42", Repeat: 5, CommandDuration: 5 * time.Second, Started: fixtureStart}
	for i := 1; i <= 5; i++ {
		m.Repetitions = append(m.Repetitions, Repetition{Number: i, Duration: time.Second})
	}
	m.Repetitions[1].Status = "exit status 1"
	m.Repetitions[3].Status = "killed by signal killed"
	m.CommandStatus = "failed in 2 of 5 repetitions (2, 4)"
	return m
}

// report.md names the run id and the failing repetitions, one row each.
func TestMarkdownRepetitions(t *testing.T) {
	pass := &assert.Results{Status: assert.Pass, Spans: 13, Traces: 3, Assertions: []assert.Result{{Name: "a", Expect: "true", Status: assert.Pass}}}
	md := fixtureMarkdown(pass, fixtureRun(), repeatMeta())
	require.Contains(t, md, "## ❌ llmcheck: the test command failed\n")
	require.Contains(t, md, "`go test ./...` failed in 2 of 5 repetitions (2, 4) after 5 s · run id `nightly-42`\n")
	require.Contains(t, md, "| failed repetition | status | duration |\n|---:|---|---:|\n| 2 | exit status 1 | 1 s |\n| 4 | killed by signal killed | 1 s |\n")

	ok := repeatMeta()
	ok.CommandStatus = ""
	for i := range ok.Repetitions {
		ok.Repetitions[i].Status = ""
	}
	md = fixtureMarkdown(pass, fixtureRun(), ok)
	require.Contains(t, md, "`go test ./...` passed 5 times in 5 s · run id `nightly-42`\n")
	require.NotContains(t, md, "failed repetition")

	// One repetition (no --repeat) reads as before.
	one := Meta{Command: []string{"go", "test"}, CommandStatus: "exit status 3", CommandDuration: time.Second, Repetitions: []Repetition{{Number: 1, Status: "exit status 3", Duration: time.Second}}}
	md = fixtureMarkdown(pass, fixtureRun(), one)
	require.Contains(t, md, "`go test` failed (exit status 3) after 1 s\n")
	require.NotContains(t, md, "run id")
	require.NotContains(t, md, "failed repetition")
}

// $GITHUB_OUTPUT gets run-id, and junit.xml the run_id property.
func TestRunIDOutputs(t *testing.T) {
	out := filepath.Join(t.TempDir(), "output")
	require.NoError(t, GitHub(GitHubOptions{Output: out, Run: fixtureRun(), Meta: repeatMeta()}))
	o := readOutputs(t, out)
	require.Equal(t, "nightly-42", o["run-id"])
	require.Equal(t, "fail", o["verdict"])

	out2 := filepath.Join(t.TempDir(), "output")
	require.NoError(t, GitHub(GitHubOptions{Output: out2, Run: fixtureRun(), Meta: fixtureMeta()}))
	require.NotContains(t, readOutputs(t, out2), "run-id")

	var b bytes.Buffer
	require.NoError(t, JUnit(&b, nil, repeatMeta()))
	x := b.String()
	require.Contains(t, x, `<property name="run_id" value="nightly-42"></property>`)
	require.Contains(t, x, `<property name="repetitions" value="5"></property>`)
	require.Contains(t, x, `test command failed: failed in 2 of 5 repetitions (2, 4)`)
	require.Equal(t, 1, strings.Count(x, "<failure"))
}
