package runner

import (
	"context"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/llmcheck/llmcheck/receiver"
)

// evalLogs is one batch of n gen_ai.evaluation.result records carrying
// content (a body, an explanation, a prompt attribute).
func evalLogs(n int) plog.Logs {
	ld := plog.NewLogs()
	lrs := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
	for range n {
		lr := lrs.AppendEmpty()
		lr.SetEventName("gen_ai.evaluation.result")
		lr.Body().SetStr("SECRET judge prompt")
		a := lr.Attributes()
		a.PutStr("gen_ai.evaluation.name", "relevance")
		a.PutDouble("gen_ai.evaluation.score.value", 0.5)
		a.PutStr("gen_ai.evaluation.score.label", "relevant")
		a.PutStr("gen_ai.evaluation.explanation", "SECRET reasoning")
		a.PutStr("gen_ai.input.messages", "SECRET prompt")
		a.PutStr("annotations.0.annotation.explanation", "SECRET annotation")
	}
	return ld
}

// --redact keeps no content in log records: the body and the content
// attributes go, the result's name, score and label stay.
func TestRedactLogs(t *testing.T) {
	ld := evalLogs(2)
	RedactLogs(ld)
	lrs := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
	for i := 0; i < lrs.Len(); i++ {
		lr := lrs.At(i)
		assert.Equal(t, "", lr.Body().AsString(), "body removed")
		assert.Equal(t, map[string]any{
			"gen_ai.evaluation.name":        "relevance",
			"gen_ai.evaluation.score.value": 0.5,
			"gen_ai.evaluation.score.label": "relevant",
		}, lr.Attributes().AsRaw())
	}
	// span events and OpenInference annotations lose their explanations too
	assert.True(t, isContent("gen_ai.evaluation.explanation"))
	assert.True(t, isContent("evaluations.3.evaluation.explanation"))
	assert.True(t, isContent("trace.annotations.0.annotation.explanation"))
	assert.True(t, isContent("metadata.explanation"))
	assert.False(t, isContent("annotations.0.annotation.label"))
	assert.False(t, isContent("explanation"))
}

type countLogs struct{ n int }

func (c *countLogs) ConsumeLogs(_ context.Context, ld plog.Logs) error {
	c.n += ld.LogRecordCount()
	return nil
}

// --max-spans bounds the log records a run receives too: the batch that
// would cross it is refused with a permanent error (HTTP 400, not
// retried), and nothing of it is written.
func TestLogLimitSink(t *testing.T) {
	next := &countLogs{}
	l := &logLimitSink{next: next, max: 5}
	require.NoError(t, l.ConsumeLogs(context.Background(), evalLogs(3)))
	err := l.ConsumeLogs(context.Background(), evalLogs(3))
	var perm *receiver.PermanentError
	require.True(t, errors.As(err, &perm), "%v", err)
	assert.Contains(t, err.Error(), "--max-spans 5")
	assert.True(t, l.exceeded.Load())
	require.NoError(t, l.ConsumeLogs(context.Background(), evalLogs(2)))
	assert.Equal(t, 5, next.n)
}

// A logs file in protobuf (the fileexporter's length-prefixed records) is
// not recognised as logs: it is read as a trace file, and a log record's
// fields do not decode as a span's, so it is an error naming the file and
// the record, never a run without its results (README: Files).
func TestLoadRunProtobufLogsFile(t *testing.T) {
	dir := t.TempDir()
	tp := filepath.Join(dir, "traces.jsonl")
	traces, err := os.ReadFile(filepath.Join("..", "span", "testdata", "evals", "traces.jsonl"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(tp, traces, 0o644))
	ld := evalLogs(1)
	lr := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0)
	lr.SetTimestamp(1700000000000000000)
	lr.SetTraceID([16]byte{1})
	lr.SetSpanID([8]byte{2})
	var m plog.ProtoMarshaler
	b, err := m.MarshalLogs(ld)
	require.NoError(t, err)
	rec := binary.BigEndian.AppendUint32(nil, uint32(len(b)))
	lp := filepath.Join(dir, "logs.pb")
	require.NoError(t, os.WriteFile(lp, append(rec, b...), 0o644))
	_, err = LoadRun([]string{tp, lp}, func(string) {})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "logs.pb: record 1 at byte 0: invalid OTLP protobuf")
}
