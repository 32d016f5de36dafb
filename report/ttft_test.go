package report

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/llmcheck/llmcheck/span"
)

// A run with streamed calls shows their time to first token per operation
// and model; a run without has no TTFT columns.
func TestMarkdownTTFT(t *testing.T) {
	require.NotContains(t, fixtureMarkdown(fixtureResults(), fixtureRun(), fixtureMeta()), "TTFT")

	stream := func(id string, ttft float64) span.Span {
		s := sp("t1", id, "", "chat gpt-4o-mini", "chat", "gpt-4o-mini", 0, 400)
		s.TTFTMS, s.HasTTFT, s.Streaming = ttft, true, true
		return s
	}
	run := span.NewRun([]span.Span{
		stream("c1", 100), stream("c2", 200), stream("c3", 300),
		sp("t1", "e1", "", "embeddings x", "embeddings", "text-embedding-3-small", 0, 50),
	})
	got := fixtureMarkdown(nil, run, fixtureMeta())
	checkMarkdown(t, got)
	require.Contains(t, got, "| Operation | Model | Calls | Errors | p50 | p95 | Input tokens | Output tokens | TTFT p50 | TTFT p95 |")
	require.Contains(t, got, "| chat | gpt-4o-mini | 3 | 0 | 400 ms | 400 ms | 0 | 0 | 200 ms | 290 ms |")
	require.Contains(t, got, "| embeddings | text-embedding-3-small | 1 | 0 | 50 ms | 50 ms | 0 | 0 | – | – |")
}
