package baseline

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/llmcheck/llmcheck/span"
)

func TestWriteReadIs(t *testing.T) {
	run := span.NewRun([]span.Span{
		{TraceID: "t", SpanID: "a", Name: "chat", Service: "app", Operation: "chat", Model: "m", DurationMS: 12.5, StartUnixNano: 1, EndUnixNano: 12_500_001,
			Tokens: span.Tokens{Input: 10, Output: 5, Total: 15, HasInput: true, HasOutput: true, HasTotal: true}},
	})
	dir := t.TempDir()
	path := filepath.Join(dir, "sub", "llmcheck.baseline.json")
	f := New(nil, run, []string{"traces.jsonl"}, time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC))
	require.NoError(t, Write(path, f))
	assert.True(t, Is(path))

	got, err := Read(path)
	require.NoError(t, err)
	assert.Equal(t, f, got)
	require.Len(t, got.Groups, 1)
	assert.Equal(t, "app · chat · m", got.Groups[0].Key)
	assert.Equal(t, "2026-11-27T00:00:00Z", got.Created)

	trace := filepath.Join(dir, "traces.jsonl")
	require.NoError(t, os.WriteFile(trace, []byte(`{"resourceSpans":[]}`+"\n"), 0o644))
	assert.False(t, Is(trace), "a trace file is not a baseline")
	assert.False(t, Is(filepath.Join(dir, "missing")))

	for name, content := range map[string]string{
		"version": `{"kind": "llmcheck.baseline", "version": 99, "groups": []}`,
		"unknown": `{"kind": "llmcheck.baseline", "version": 2, "groups": [], "extra": 1}`,
		"kind":    `{"kind": "other", "version": 1}`,
		// A summary is untrusted: counts that would allocate without
		// bound, errors beyond the count, per-trace samples that do not
		// pair up, totals that do not add up.
		"huge":     `{"kind": "llmcheck.baseline", "version": 2, "spans": 9000000000, "groups": [{"key": "g", "count": 9000000000, "errors": 0, "traces": 1, "latency_ms": null, "tokens": {}, "samples": {}}]}`,
		"errors":   `{"kind": "llmcheck.baseline", "version": 2, "spans": 3, "groups": [{"key": "g", "count": 3, "errors": -1, "traces": 1, "latency_ms": null, "tokens": {}, "samples": {}}]}`,
		"pairs":    `{"kind": "llmcheck.baseline", "version": 2, "spans": 3, "groups": [{"key": "g", "count": 3, "errors": 0, "traces": 1, "latency_ms": null, "tokens": {}, "samples": {"count_per_trace": {"trace": [0, 1], "value": [3]}}}]}`,
		"total":    `{"kind": "llmcheck.baseline", "version": 2, "spans": 4, "groups": [{"key": "g", "count": 3, "errors": 0, "traces": 1, "latency_ms": null, "tokens": {}, "samples": {}}]}`,
		"version1": `{"kind": "llmcheck.baseline", "version": 1, "groups": []}`,
	} {
		p := filepath.Join(dir, name+".json")
		require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
		_, err := Read(p)
		require.Error(t, err, name)
		assert.Contains(t, err.Error(), p)
		assert.Contains(t, err.Error(), map[string]string{"huge": "count 9000000000 is out of range", "errors": "errors -1 is out of range",
			"pairs": "count_per_trace has 2 traces and 1 values", "total": "the groups count 3 spans, the file says 4",
			"version1": "version 1 is not supported"}[name], name)
	}
}
