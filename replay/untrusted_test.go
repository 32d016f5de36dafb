package replay

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/llmcheck/llmcheck/span"
)

// deepLine is one OTLP JSON line whose span attribute nests n arrays.
func deepLine(n int) []byte {
	return []byte(`{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"0102030405060708090a0b0c0d0e0f10","spanId":"0102030405060708","name":"deep","startTimeUnixNano":"1","endTimeUnixNano":"2","attributes":[{"key":"deep","value":` +
		strings.Repeat(`{"arrayValue":{"values":[`, n) + `{"stringValue":"x"}` + strings.Repeat(`]}}`, n) + `}]}]}]}]}`)
}

// TestReadDeepNesting (issue #16 item 1): a trace file nesting a value
// 1.5M levels deep is refused with file:line and the limit by every
// reader (Read's pdata decoding, ReadSpans, LoadSpans), as a line, a
// gzipped line or a pretty-printed document; before, pdata's recursive
// decoder exhausted the stack and killed the process.
func TestReadDeepNesting(t *testing.T) {
	dir := t.TempDir()
	good := jsonOf(t, genAITraces(0, 1))
	deep := deepLine(1_500_000)
	var pretty bytes.Buffer // 300 levels: encoding/json reads it, pdata must not
	require.NoError(t, json.Indent(&pretty, deepLine(300), "", " "))
	files := []struct {
		name, wantErr string
		data          []byte
	}{
		{"deep.jsonl", "deep.jsonl:2: invalid OTLP JSON: JSON nested more than 256 levels deep at byte", append([]byte(good+"\n"), append(deep, '\n')...)},
		{"deep.jsonl.gz", "deep.jsonl.gz:2: invalid OTLP JSON: JSON nested more than 256 levels deep at byte", gzipped(t, append([]byte(good+"\n"), append(deep, '\n')...))},
		{"deep.json", "deep.json:1: invalid OTLP JSON: JSON nested more than 256 levels deep at byte", pretty.Bytes()},
	}
	for _, f := range files {
		t.Run(f.name, func(t *testing.T) {
			p := writeFile(t, dir, f.name, f.data)
			err := Read([]string{p}, ReadOptions{}, func(ptrace.Traces) error { return nil })
			require.Error(t, err)
			assert.Contains(t, err.Error(), f.wantErr)

			err = ReadSpans([]string{p}, ReadOptions{}, func([]span.Span) error { return nil })
			require.Error(t, err)
			assert.Contains(t, err.Error(), f.wantErr)

			_, err = LoadSpans([]string{p}, ReadOptions{})
			require.Error(t, err)
			assert.Contains(t, err.Error(), f.wantErr)
		})
	}
}
