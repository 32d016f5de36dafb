package cmd

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/llmcheck/llmcheck/exitcode"
)

// llmcheck check writes comment.md; llmcheck comment posts it to the pull
// request of the event, through a local server that records the API calls
// as GitHub would receive them, then updates the same comment.
func TestCommentCommand(t *testing.T) {
	var mu sync.Mutex
	var calls []string
	var bodies []string
	comments := []map[string]any{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		calls = append(calls, r.Method+" "+r.URL.Path)
		assert.Equal(t, "Bearer ghs_test", r.Header.Get("Authorization"))
		var in struct{ Body string }
		if r.Body != nil {
			b, _ := io.ReadAll(r.Body)
			_ = json.Unmarshal(b, &in)
		}
		switch r.Method {
		case http.MethodGet:
			_ = json.NewEncoder(w).Encode(comments)
		case http.MethodPost:
			bodies = append(bodies, in.Body)
			comments = append(comments, map[string]any{"id": 1, "body": in.Body, "html_url": "https://github.com/acme/app/pull/12#issuecomment-1"})
			_ = json.NewEncoder(w).Encode(comments[0])
		case http.MethodPatch:
			bodies = append(bodies, in.Body)
			comments[0]["body"] = in.Body
			_ = json.NewEncoder(w).Encode(comments[0])
		}
	}))
	defer srv.Close()

	dir := t.TempDir()
	event := filepath.Join(dir, "event.json")
	require.NoError(t, os.WriteFile(event, []byte(`{"action":"synchronize","pull_request":{"number":12}}`), 0o644))
	cfg := filepath.Join(dir, "llmcheck.yaml")
	require.NoError(t, os.WriteFile(cfg, []byte("assertions:\n  - name: chat is fast\n    where: span.operation == \"chat\"\n    expect: latency.p95 < 1\n"), 0o644))
	out := filepath.Join(dir, "out")
	var stderr bytes.Buffer
	require.Equal(t, exitcode.Failed, Main([]string{"check", "--config", cfg, "--out", out, "../replay/testdata/handwritten.json"}, nil, &bytes.Buffer{}, &stderr), stderr.String())
	require.FileExists(t, filepath.Join(out, "comment.md"))

	for k, v := range map[string]string{
		"GITHUB_API_URL": srv.URL, "GITHUB_TOKEN": "ghs_test", "GITHUB_REPOSITORY": "acme/app",
		"GITHUB_EVENT_PATH": event, "GITHUB_WORKFLOW": "ci", "GITHUB_JOB": "llm", "GITHUB_SERVER_URL": "https://github.com", "GITHUB_RUN_ID": "99",
	} {
		t.Setenv(k, v)
	}
	stderr.Reset()
	require.Equal(t, exitcode.OK, Main([]string{"comment", "--out", out, "--mode", "on-failure"}, nil, &bytes.Buffer{}, &stderr), stderr.String())
	assert.Contains(t, stderr.String(), "created the comment on pull request #12: https://github.com/acme/app/pull/12#issuecomment-1")
	stderr.Reset()
	require.Equal(t, exitcode.OK, Main([]string{"comment", "--out", out}, nil, &bytes.Buffer{}, &stderr), stderr.String())
	assert.Contains(t, stderr.String(), "updated the comment")

	assert.Equal(t, []string{"GET /repos/acme/app/issues/12/comments", "POST /repos/acme/app/issues/12/comments", "GET /repos/acme/app/issues/12/comments", "PATCH /repos/acme/app/issues/comments/1"}, calls)
	require.Len(t, bodies, 2)
	md, err := os.ReadFile(filepath.Join(out, "comment.md"))
	require.NoError(t, err)
	assert.Equal(t, "<!-- llmcheck-comment: ci/llm -->\n"+string(md), bodies[0])
	assert.Contains(t, bodies[0], "did not pass")
	assert.Contains(t, bodies[0], "chat is fast")

	// Not a pull request: nothing is posted.
	require.NoError(t, os.WriteFile(event, []byte(`{"ref":"refs/heads/main"}`), 0o644))
	stderr.Reset()
	require.Equal(t, exitcode.OK, Main([]string{"comment", "--out", out}, nil, &bytes.Buffer{}, &stderr))
	assert.Contains(t, stderr.String(), "not a pull request event")
	assert.Len(t, calls, 4)

	// No token: exit 2 saying what to set.
	require.NoError(t, os.WriteFile(event, []byte(`{"pull_request":{"number":12}}`), 0o644))
	t.Setenv("GITHUB_TOKEN", "")
	stderr.Reset()
	assert.Equal(t, exitcode.Usage, Main([]string{"comment", "--out", out}, nil, &bytes.Buffer{}, &stderr))
	assert.True(t, strings.Contains(stderr.String(), "GITHUB_TOKEN is not set"), stderr.String())
}
