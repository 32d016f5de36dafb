package runner

import (
	"errors"
	"testing"
	"time"

	tassert "github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/llmcheck/llmcheck/assert"
	"github.com/llmcheck/llmcheck/baseline"
	"github.com/llmcheck/llmcheck/exitcode"
	"github.com/llmcheck/llmcheck/span"
)

// A rule a baseline summary cannot answer as its trace file would is a
// usage error (exit 2) when the baseline is loaded.
func TestCheckRulesAgainstSummaryIsUsageError(t *testing.T) {
	suite, err := assert.LoadBytes("llmcheck.yaml", []byte("regressions:\n  - name: traces\n    expect: head.traces.size() <= base.traces.size()\n"))
	require.NoError(t, err)
	run := span.NewRun([]span.Span{{TraceID: "t1", SpanID: "s1", Name: "chat", Operation: "chat", DurationMS: 1}})
	b := &Baseline{Name: "llmcheck.baseline.json", Summary: baseline.New(suite.Config, run, nil, time.Time{})}
	err = b.CheckRules(suite)
	var xe *exitcode.Error
	require.True(t, errors.As(err, &xe), "%v", err)
	tassert.Equal(t, exitcode.Usage, xe.Code)
	tassert.Contains(t, err.Error(), `llmcheck.yaml:2:5: regression rule "traces"`)

	// Against the trace file there is nothing to refuse.
	tassert.NoError(t, (&Baseline{Name: "traces.jsonl", Run: run}).CheckRules(suite))
}
