package replay

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"
)

const logLine = `{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"eventName":"gen_ai.evaluation.result","traceId":"0102030405060708090a0b0c0d0e0f10","attributes":[{"key":"gen_ai.evaluation.name","value":{"stringValue":"relevance"}}]}]}]}]}`

// A logs file is told from a trace file by its content, whatever its
// name: JSON lines, a pretty-printed document, gzipped, a request.
func TestIsLogsFile(t *testing.T) {
	dir := t.TempDir()
	var pretty bytes.Buffer
	require.NoError(t, json.Indent(&pretty, []byte(logLine), "", "  "))
	for _, f := range []struct {
		name string
		data []byte
		want bool
	}{
		{"logs.jsonl", []byte(logLine + "\n"), true},
		{"evals.txt", []byte("\xef\xbb\xbf\n  " + logLine + "\n"), true},
		{"logs.json", pretty.Bytes(), true},
		{"logs.jsonl.gz", gzipped(t, []byte(logLine+"\n")), true},
		{"snake.jsonl", []byte(`{"resource_logs":[]}` + "\n"), true},
		{"traces.jsonl", []byte(jsonOf(t, genAITraces(0, 2)) + "\n"), false},
		{"traces-logs-later.jsonl", []byte(`{"resourceSpans":[],"resourceLogs":[]}` + "\n"), false},
		{"empty.jsonl", nil, false},
		{"proto.bin", encodeProto(t, nil), false},
	} {
		t.Run(f.name, func(t *testing.T) {
			assert.Equal(t, f.want, IsLogsFile(writeFile(t, dir, f.name, f.data)))
		})
	}
	assert.False(t, IsLogsFile(dir+"/missing.jsonl"))
	assert.False(t, IsLogsFile(dir), "a folder")
}

// ReadLogs has the bounds of the trace readers: lines, bytes, one line's
// size, nesting; an interrupted last line is a warning.
func TestReadLogsBounds(t *testing.T) {
	dir := t.TempDir()
	three := strings.Repeat(logLine+"\n", 3)
	count := func(p string, opts ReadOptions) (int, []string, error) {
		n := 0
		var warns []string
		opts.Warn = func(m string) { warns = append(warns, m) }
		err := ReadLogs([]string{p}, opts, func(ld plog.Logs, where string) error {
			n += ld.LogRecordCount()
			return nil
		})
		return n, warns, err
	}

	n, warns, err := count(writeFile(t, dir, "ok.jsonl", []byte(three)), ReadOptions{})
	require.NoError(t, err)
	assert.Equal(t, 3, n)
	assert.Empty(t, warns)

	n, warns, err = count(writeFile(t, dir, "cut.jsonl", []byte(three+logLine[:40])), ReadOptions{})
	require.NoError(t, err)
	assert.Equal(t, 3, n)
	assert.Equal(t, []string{"" + dir + "/cut.jsonl:4: incomplete last line (40 bytes) ignored; the run was probably interrupted"}, warns)

	_, _, err = count(writeFile(t, dir, "lines.jsonl", []byte(three)), ReadOptions{MaxSpans: 2})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "lines.jsonl: more than 2 lines or records")

	_, _, err = count(writeFile(t, dir, "bytes.jsonl", []byte(three)), ReadOptions{MaxBytes: int64(2 * len(logLine))})
	var tooLarge *TooManyBytesError
	require.ErrorAs(t, err, &tooLarge)
	assert.Contains(t, err.Error(), "bytes.jsonl:3:")

	_, _, err = count(writeFile(t, dir, "long.jsonl", []byte(three)), ReadOptions{MaxRecordBytes: 100})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "long.jsonl:1: line longer than 100 bytes")

	deep := `{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"body":` + strings.Repeat(`{"arrayValue":{"values":[`, 100_000) + strings.Repeat(`]}}`, 100_000) + `}]}]}]}`
	_, _, err = count(writeFile(t, dir, "deep.jsonl", []byte(deep+"\n")), ReadOptions{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "deep.jsonl:1: invalid OTLP JSON: JSON nested more than 256 levels deep")

	_, _, err = count(writeFile(t, dir, "bad.jsonl", []byte(`{"resourceLogs":[{"scopeLogs":3}]}`+"\n")), ReadOptions{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "bad.jsonl:1: invalid OTLP JSON")
}

// --max-spans bounds the log records of a logs file, counted before a line
// is decoded: 60 MB of empty records ({}) decoded to 2 GB before, since
// only the lines and the evaluation results were bounded.
func TestReadLogsRecordBound(t *testing.T) {
	dir := t.TempDir()
	records := func(n int) string {
		return `{"resourceLogs":[{"resource":{"attributes":[{"key":"logRecords","value":{"kvlistValue":{"values":[{"key":"a","value":{"stringValue":"logRecords"}}]}}},{"key":"b","value":{"stringValue":"{\"logRecords\":[{},{}]}"}}]},"scopeLogs":[{"scope":{"name":"logRecords"},"logRecords":[` +
			strings.TrimSuffix(strings.Repeat(`{"body":{"kvlistValue":{"values":[{"key":"k","value":{}}]}}},`, n), ",") + `]}]}]}`
	}
	read := func(p string, maxSpans int64) (int, error) {
		n := 0
		err := ReadLogs([]string{p}, ReadOptions{MaxSpans: maxSpans, Warn: func(string) {}}, func(ld plog.Logs, where string) error {
			n += ld.LogRecordCount()
			return nil
		})
		return n, err
	}
	for _, tc := range []struct {
		name     string
		lines    []int // records per line
		maxSpans int64
		err      string // "": read whole
	}{
		{"at the bound", []int{4}, 4, ""},
		{"one line over", []int{5}, 4, "one.jsonl:1: more than 4 log records (--max-spans bounds them)"},
		{"lines add up", []int{2, 2, 2}, 5, "add.jsonl:3: more than 5 log records (--max-spans bounds them)"},
		{"lines at the bound", []int{2, 2, 1}, 5, ""},
		{"empty records count", []int{0}, 1, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b strings.Builder
			want := 0
			for _, n := range tc.lines {
				b.WriteString(records(n) + "\n")
				want += n
			}
			name := "ok.jsonl"
			if tc.err != "" {
				name = strings.SplitN(tc.err, ":", 2)[0]
			}
			n, err := read(writeFile(t, dir, name, []byte(b.String())), tc.maxSpans)
			if tc.err == "" {
				require.NoError(t, err)
				assert.Equal(t, want, n)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.err)
		})
	}

	// the default bound applies without --max-spans: a line of many empty
	// records is refused before pdata builds them
	many := `{"resourceLogs":[{"scopeLogs":[{"logRecords":[` + strings.TrimSuffix(strings.Repeat(`{},`, DefaultMaxRecords+1), ",") + `]}]}]}`
	_, err := read(writeFile(t, dir, "many.jsonl", []byte(many+"\n")), 0)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "many.jsonl:1: more than 5000000 log records")
}
