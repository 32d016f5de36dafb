package runner

import (
	"bytes"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	llmassert "github.com/llmcheck/llmcheck/assert"
	"github.com/llmcheck/llmcheck/receiver"
	"github.com/llmcheck/llmcheck/replay"
	"github.com/llmcheck/llmcheck/report"
)

// Strings that are not UTF-8 (a span name, an attribute) survive the
// receiver, the trace file and the span model without a crash, and the
// reports that print them stay valid UTF-8.
func TestNonUTF8Strings(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "traces.jsonl")
	w, err := replay.Create(path)
	require.NoError(t, err)
	rcv, err := receiver.Start(receiver.Options{Addrs: []string{"127.0.0.1:0"}}, w)
	require.NoError(t, err)

	td := ptrace.NewTraces()
	s := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	s.SetName("chat \xff\xfe bad")
	s.SetTraceID([16]byte{1})
	s.SetSpanID([8]byte{2})
	s.SetStartTimestamp(1)
	s.SetEndTimestamp(2_000_001)
	s.Attributes().PutStr("gen_ai.operation.name", "chat")
	s.Attributes().PutStr("gen_ai.request.model", "m\xc3")
	body, err := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
	require.NoError(t, err)
	resp, err := http.Post(rcv.Endpoint()+"/v1/traces", "application/x-protobuf", bytes.NewReader(body))
	require.NoError(t, err)
	resp.Body.Close()
	require.NoError(t, shutdown(rcv, w))
	if resp.StatusCode != http.StatusOK {
		// Rejecting is a deliberate answer too; then nothing was stored.
		assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
		return
	}

	run, err := LoadRun([]string{path}, nil)
	require.NoError(t, err)
	require.Len(t, run.Spans, 1)
	suite, err := llmassert.LoadBytes("c.yaml", []byte("assertions:\n  - name: slow chat\n    where: span.operation == 'chat'\n    expect: latency.max < 1.0\n"))
	require.NoError(t, err)
	res := suite.Evaluate(run)
	require.Equal(t, llmassert.Fail, res.Assertions[0].Status)

	var junit, console, annotations bytes.Buffer
	require.NoError(t, report.JUnit(&junit, res, report.Meta{}))
	require.NoError(t, report.Annotate(&annotations, report.GitHubOptions{Results: res}))
	report.Console(&console, res, report.ConsoleOptions{})
	md := report.Markdown(res, run, report.Meta{}, report.MarkdownOptions{})
	for name, out := range map[string]string{"junit": junit.String(), "console": console.String(), "markdown": md, "annotations": annotations.String()} {
		assert.True(t, utf8.ValidString(out), "%s output is not valid UTF-8", name)
		assert.True(t, strings.Contains(out, "chat"), name)
	}
}
