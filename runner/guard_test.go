package runner

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/llmcheck/llmcheck/receiver"
	"github.com/llmcheck/llmcheck/replay"
)

var (
	_ receiver.JSONSink = (*limitSink)(nil)
	_ receiver.JSONSink = (*replay.Writer)(nil)
)

// jsonLine is td as the receiver's transcoder hands it to a JSONSink.
func jsonLine(t *testing.T, td ptrace.Traces) []byte {
	t.Helper()
	var m ptrace.JSONMarshaler
	b, err := m.MarshalTraces(td)
	require.NoError(t, err)
	return append(b, '\n')
}

func nSpans(n int) ptrace.Traces {
	td := ptrace.NewTraces()
	spans := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans()
	for range n {
		spans.AppendEmpty().SetName("s")
	}
	return td
}

// pdataOnly hides a sink's JSONSink method.
type pdataOnly struct{ receiver.Sink }

// The span limit holds exactly on the JSON-line path, with a next sink
// taking lines (replay.Writer) or only pdata.
func TestLimitSinkJSON(t *testing.T) {
	for _, lines := range []bool{true, false} {
		w, err := replay.Create(filepath.Join(t.TempDir(), "traces.jsonl"))
		require.NoError(t, err)
		var next receiver.Sink = w
		if !lines {
			next = pdataOnly{w}
		}
		l := &limitSink{next: next, max: 5}
		ctx := context.Background()
		require.NoError(t, l.ConsumeTracesJSON(ctx, jsonLine(t, nSpans(3)), 3))
		err = l.ConsumeTracesJSON(ctx, jsonLine(t, nSpans(3)), 3)
		var perm *receiver.PermanentError
		require.True(t, errors.As(err, &perm), "%v", err)
		assert.True(t, l.exceeded.Load())
		require.NoError(t, l.ConsumeTracesJSON(ctx, jsonLine(t, nSpans(2)), 2))
		assert.EqualValues(t, 5, l.spans.Load())
		assert.EqualValues(t, 5, w.Spans())
		require.NoError(t, w.Close())

		// A refused write gives its spans back.
		l = &limitSink{next: next, max: 5}
		require.Error(t, l.ConsumeTracesJSON(ctx, jsonLine(t, nSpans(1)), 1))
		assert.Zero(t, l.spans.Load())
	}
}
