package replay

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// ConsumeTracesJSON writes the line it is given as is, counts its spans,
// and keeps the file made of whole lines.
func TestWriterConsumeTracesJSON(t *testing.T) {
	path := filepath.Join(t.TempDir(), "traces.jsonl")
	w, err := Create(path)
	require.NoError(t, err)
	ctx := context.Background()
	td := richTraces(0, 2, 3)
	var m ptrace.JSONMarshaler
	line, err := m.MarshalTraces(td)
	require.NoError(t, err)
	line = append(line, '\n')

	require.NoError(t, w.ConsumeTracesJSON(ctx, line, td.SpanCount()))
	require.NoError(t, w.ConsumeTraces(ctx, td))
	require.NoError(t, w.ConsumeTracesJSON(ctx, []byte("{}\n"), 0), "no spans: nothing written")
	require.Error(t, w.ConsumeTracesJSON(ctx, line[:len(line)-1], td.SpanCount()), "a line needs its newline")
	assert.EqualValues(t, 2*td.SpanCount(), w.Spans())
	require.NoError(t, w.Close())
	require.ErrorIs(t, w.ConsumeTracesJSON(ctx, line, td.SpanCount()), os.ErrClosed)

	data, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, string(line)+string(line), string(data), "both paths write the same line")
}
