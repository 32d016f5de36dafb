package report

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/llmcheck/llmcheck/assert"
)

// TestStoreIncomplete: traces still incomplete in the trace store
// (run --collect-from) are named in the annotations, report.md and
// junit.xml; none of it when every trace was complete.
func TestStoreIncomplete(t *testing.T) {
	meta := fixtureMeta()
	meta.Store = &assert.StoreResult{From: "jaeger=http://localhost:16686", Spans: 12, Traces: 3,
		Incomplete: []assert.IncompleteTrace{{TraceID: "4bf92f3577b34da6a3ce929d0e0e4736", Reason: "7 spans in the store, still changing within the last 6s"}}}
	lines := annotate(t, GitHubOptions{Results: fixtureResults(), Meta: meta})
	found := false
	for _, l := range lines {
		if strings.HasPrefix(l, "::warning title=llmcheck%3A traces incomplete in the trace store::1 of the run's traces were still incomplete in jaeger=http://localhost:16686") && strings.Contains(l, "4bf92f3577b34da6a3ce929d0e0e4736") {
			found = true
		}
	}
	require.True(t, found, "%q", lines)

	md := Markdown(fixtureResults(), nil, meta, MarkdownOptions{})
	require.Contains(t, md, "12 spans from the trace store `jaeger=http://localhost:16686` joined the run's 3 traces.")
	require.Contains(t, md, "> [!WARNING]\n> 1 trace was still incomplete in the store at the timeout (their spans so far are included; more may be missing): 4bf92f3577b34da6a3ce929d0e0e4736")

	var b strings.Builder
	require.NoError(t, JUnit(&b, fixtureResults(), meta))
	require.Contains(t, b.String(), `<property name="store_incomplete_traces" value="4bf92f3577b34da6a3ce929d0e0e4736"></property>`)

	meta.Store.Incomplete = nil
	require.NotContains(t, Markdown(fixtureResults(), nil, meta, MarkdownOptions{}), "incomplete")
	for _, l := range annotate(t, GitHubOptions{Results: fixtureResults(), Meta: meta}) {
		require.NotContains(t, l, "incomplete in the trace store")
	}
}
