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
		"v2evals":  `{"kind": "llmcheck.baseline", "version": 2, "spans": 3, "groups": [{"key": "g", "count": 3, "errors": 0, "traces": 1, "latency_ms": null, "tokens": {}, "samples": {}, "evals": {"f": {"count": 1, "labelled": 0}}}]}`,
		"evals":    `{"kind": "llmcheck.baseline", "version": 3, "spans": 3, "groups": [{"key": "g", "count": 3, "errors": 0, "traces": 1, "latency_ms": null, "tokens": {}, "samples": {}, "evals": {"f": {"count": 1, "labelled": 2, "labels": {"x": 2}}}}]}`,
	} {
		p := filepath.Join(dir, name+".json")
		require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
		_, err := Read(p)
		require.Error(t, err, name)
		assert.Contains(t, err.Error(), p)
		assert.Contains(t, err.Error(), map[string]string{"huge": "count 9000000000 is out of range", "errors": "errors -1 is out of range",
			"pairs": "count_per_trace has 2 traces and 1 values", "total": "the groups count 3 spans, the file says 4",
			"version1": "version 1 is not supported", "v2evals": "version 2 files do not have",
			"evals": `evaluation "f": labelled 2 is out of range`}[name], name)
	}
}

// TestEvalsRoundTrip: version 3 keeps the evaluation results of each
// group; a version 2 file is still read, as a summary without them.
func TestEvalsRoundTrip(t *testing.T) {
	run := span.NewRun([]span.Span{
		{TraceID: "t", SpanID: "a", Name: "chat", Service: "app", Operation: "chat", Model: "m", DurationMS: 12.5,
			Evals: []span.Eval{{Name: "faithfulness", Score: 0.5, HasScore: true, Label: "fail"}, {Name: "faithfulness", Score: 0.9, HasScore: true, Label: "pass"}}},
	})
	dir := t.TempDir()
	path := filepath.Join(dir, "b.json")
	f := New(nil, run, nil, time.Time{})
	assert.Equal(t, 3, f.Version)
	require.NoError(t, Write(path, f))
	got, err := Read(path)
	require.NoError(t, err)
	assert.Equal(t, f, got)
	e := got.Groups[0].Evals["faithfulness"]
	require.NotNil(t, e)
	assert.Equal(t, 2, e.Count)
	assert.Equal(t, map[string]int{"fail": 1, "pass": 1}, e.Labels)
	assert.Equal(t, []float64{0.5, 0.9}, e.Sample)
	assert.InDelta(t, 0.7, e.Scores.Avg, 1e-12)
	assert.False(t, got.Groups[0].EvalsUnknown)

	v2 := filepath.Join(dir, "v2.json")
	require.NoError(t, os.WriteFile(v2, []byte(`{"kind": "llmcheck.baseline", "version": 2, "spans": 3, "traces": 1, "retrieval_k": 5, "groups": [{"key": "g", "count": 3, "errors": 0, "traces": 1, "latency_ms": null, "tokens": {}, "samples": {}}]}`), 0o644))
	old, err := Read(v2)
	require.NoError(t, err)
	assert.True(t, old.Groups[0].EvalsUnknown)
}
