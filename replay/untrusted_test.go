package replay

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
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

// TestReadRefusesDevices (issue #16 item 10): `check /dev/zero` read
// empty protobuf records for ever; a device or a directory is refused
// with an error naming it.
func TestReadRefusesDevices(t *testing.T) {
	for _, p := range []string{"/dev/zero", t.TempDir()} {
		err := Read([]string{p}, ReadOptions{}, func(ptrace.Traces) error { return nil })
		require.Error(t, err, p)
		assert.Contains(t, err.Error(), p+": not a regular file")
		_, err = LoadSpans([]string{p}, ReadOptions{MaxSpans: 10})
		require.Error(t, err, p)
		assert.Contains(t, err.Error(), p+": not a regular file")
	}
}

// TestReadBounds (issue #16 item 10): a line, a JSON document or a
// protobuf record longer than ReadOptions.MaxRecordBytes, and more lines
// or records than ReadOptions.MaxSpans, stop the read with an error
// naming the file, the place and the limit, before memory or time grows
// with the input (a 4.6 MB gzip of spaces took 3.5 GB; one of zeros six
// minutes of CPU as empty protobuf records).
func TestReadBounds(t *testing.T) {
	dir := t.TempDir()
	const limit = 1 << 20
	good := jsonOf(t, genAITraces(0, 1))
	spaces := bytes.Repeat([]byte{' '}, 3*limit)
	var pretty bytes.Buffer
	require.NoError(t, json.Indent(&pretty, []byte(`{"resourceSpans":[], "padding": "`+strings.Repeat("x", 2*limit)+`"}`), "", "  "))
	bigRecord := encodeProto(t, []ptrace.Traces{genAITraces(0, 1)})
	bigRecord = append(bigRecord, 0, 0x20, 0, 0) // declares 2 MiB
	bigRecord = append(bigRecord, 0x0a)
	tests := []struct {
		name    string
		data    []byte
		opts    ReadOptions
		wantErr string
	}{
		{"long line of spaces", spaces, ReadOptions{MaxRecordBytes: limit}, "F:1: line longer than 1 MiB (1048576 bytes), the limit of one line of a trace file"},
		{"gzipped long line", gzipped(t, append([]byte(good+"\n"), spaces...)), ReadOptions{MaxRecordBytes: limit}, "F:2: line longer than 1 MiB"},
		{"large document", pretty.Bytes(), ReadOptions{MaxRecordBytes: limit}, "F: JSON document larger than 1 MiB (1048576 bytes), the limit of a JSON document trace file"},
		{"large record", bigRecord, ReadOptions{MaxRecordBytes: limit}, "F: record 2 at byte"},
		{"empty records", make([]byte, 4*1000), ReadOptions{MaxSpans: 100}, "F: more than 100 lines or records (a batch holds at least one span; --max-spans is 100)"},
		{"gzipped zeros", gzipped(t, make([]byte, 4*1000)), ReadOptions{MaxSpans: 100}, "F: more than 100 lines or records"},
		{"blank lines", append([]byte(good+"\n"), bytes.Repeat([]byte("\n"), 1000)...), ReadOptions{MaxSpans: 100}, "F: more than 100 lines or records"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := writeFile(t, dir, "F", tc.data)
			err := Read([]string{p}, tc.opts, func(ptrace.Traces) error { return nil })
			require.Error(t, err)
			assert.Contains(t, strings.ReplaceAll(err.Error(), p, "F"), tc.wantErr)
			_, err = LoadSpans([]string{p}, tc.opts)
			require.Error(t, err)
			assert.Contains(t, strings.ReplaceAll(err.Error(), p, "F"), tc.wantErr)
		})
	}
	// within the bounds, the same shapes read
	p := writeFile(t, dir, "ok.jsonl", []byte(good+"\n\n"+good+"\n"))
	spans, err := LoadSpans([]string{p}, ReadOptions{MaxSpans: 100, MaxRecordBytes: limit})
	require.NoError(t, err)
	assert.Len(t, spans, 2*genAITraces(0, 1).SpanCount())
}

// TestCreateReplacesSymlink (issue #16 item 13): a committed
// .llmcheck/traces.jsonl symlink made run truncate the link's target;
// Create replaces the link with a new file and leaves the target alone.
func TestCreateReplacesSymlink(t *testing.T) {
	dir := t.TempDir()
	target := writeFile(t, dir, "precious.txt", []byte("keep me\n"))
	path := filepath.Join(dir, "out", "traces.jsonl")
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
	require.NoError(t, os.Symlink(target, path))

	w, err := Create(path)
	require.NoError(t, err)
	require.NoError(t, w.ConsumeTraces(context.Background(), genAITraces(0, 1)))
	require.NoError(t, w.Close())

	got, err := os.ReadFile(target)
	require.NoError(t, err)
	assert.Equal(t, "keep me\n", string(got), "the link's target is untouched")
	fi, err := os.Lstat(path)
	require.NoError(t, err)
	assert.True(t, fi.Mode().IsRegular(), "the link was replaced by a regular file")
	assert.Equal(t, os.FileMode(0o644), fi.Mode().Perm())
	spans, err := LoadSpans([]string{path}, ReadOptions{})
	require.NoError(t, err)
	assert.Len(t, spans, genAITraces(0, 1).SpanCount())

	// a directory in the way is still an error naming the file
	_, err = Create(dir)
	require.Error(t, err)
	assert.Contains(t, err.Error(), dir)
}

// TestReadDefaultRecordBound: without MaxSpans (replay's Read) the lines
// and records of a run are still bounded, by DefaultMaxRecords.
func TestReadDefaultRecordBound(t *testing.T) {
	p := writeFile(t, t.TempDir(), "zeros", make([]byte, 4*(DefaultMaxRecords+1)))
	err := Read([]string{p}, ReadOptions{}, func(ptrace.Traces) error { return nil })
	require.Error(t, err)
	assert.Contains(t, err.Error(), p+": more than 5000000 lines or records, the limit of a run's trace files")
}

// TestLineLimitExact: a line of exactly MaxRecordBytes is read, one byte
// more is refused, with or without its newline.
func TestLineLimitExact(t *testing.T) {
	good := jsonOf(t, genAITraces(0, 1))
	dir := t.TempDir()
	for _, tc := range []struct {
		name    string
		max     int
		newline bool
		ok      bool
	}{
		{"at the limit, newline", len(good), true, true},
		{"at the limit, last line", len(good), false, true},
		{"one over, newline", len(good) - 1, true, false},
		{"one over, last line", len(good) - 1, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := good
			if tc.newline {
				data += "\n"
			}
			p := writeFile(t, dir, "F", []byte(data))
			_, err := LoadSpans([]string{p}, ReadOptions{MaxRecordBytes: tc.max})
			if tc.ok {
				assert.NoError(t, err)
			} else {
				require.Error(t, err)
				assert.Contains(t, err.Error(), ":1: line longer than")
			}
		})
	}
}

// TestReadByteBudget (issue #16 item 6): the span count does not see what
// a span costs (one span of 1.3M attributes is a 60 MB line and about
// 300 MB of memory, and a run of such lines grew without bound); the
// decompressed bytes of a read's lines, records and documents are
// bounded by ReadOptions.MaxBytes, the error naming what crossed it.
func TestReadByteBudget(t *testing.T) {
	dir := t.TempDir()
	var wide strings.Builder // one span with 20,000 attributes
	wide.WriteString(`{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"4bf92f3577b34da6a3ce929d0e0e4736","spanId":"00f067aa0ba902b7","name":"wide","attributes":[`)
	for i := range 20000 {
		if i > 0 {
			wide.WriteByte(',')
		}
		fmt.Fprintf(&wide, `{"key":"k%d","value":{"stringValue":"v"}}`, i)
	}
	wide.WriteString(`]}]}]}]}`)
	line := wide.String() + "\n"
	var indented bytes.Buffer
	require.NoError(t, json.Indent(&indented, []byte(wide.String()), "", "  "))
	pretty := indented.String() + "\n"
	lines := strings.Repeat(line, 4)
	proto := encodeProto(t, []ptrace.Traces{genAITraces(0, 1), genAITraces(1, 1), genAITraces(2, 1)})
	tests := []struct {
		name    string
		data    []byte
		max     int64
		wantErr string // "" reads
	}{
		{"lines within", []byte(lines), int64(4 * len(line)), ""},
		{"lines over", []byte(lines), int64(3*len(line) + 10), "F:4: the trace files hold more than " + fmt.Sprint(3*len(line)+10) + " bytes of OTLP data after decompression"},
		{"gzipped lines over", gzipped(t, []byte(lines)), int64(2 * len(line)), "F:3: the trace files hold more than"},
		{"documents over", []byte(pretty + pretty), int64(len(pretty) + 10), "F:" + fmt.Sprint(strings.Count(pretty, "\n")+1) + ": the trace files hold more than"},
		{"records over", proto, int64(len(proto) / 2), "F: record 2 at byte"},
		{"whole MiB", []byte(lines), 4 << 20, ""},
		{"over a MiB", []byte(lines), 1 << 20, "F:2: the trace files hold more than 1 MiB (1048576 bytes) of OTLP data"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := writeFile(t, dir, "F", tc.data)
			opts := ReadOptions{MaxBytes: tc.max}
			readErr := Read([]string{p}, opts, func(ptrace.Traces) error { return nil })
			_, loadErr := LoadSpans([]string{p}, opts)
			for _, err := range []error{readErr, loadErr} {
				if tc.wantErr == "" {
					require.NoError(t, err)
					continue
				}
				require.Error(t, err)
				assert.Contains(t, strings.ReplaceAll(err.Error(), p, "F"), tc.wantErr)
				var tooLarge *TooManyBytesError
				assert.ErrorAs(t, err, &tooLarge)
			}
		})
	}
	// the bound is on the run: two files each within it, together over it
	a := writeFile(t, dir, "a.jsonl", []byte(lines))
	b := writeFile(t, dir, "b.jsonl", []byte(lines))
	_, err := LoadSpans([]string{a, b}, ReadOptions{MaxBytes: int64(6 * len(line))})
	require.Error(t, err)
	assert.Contains(t, err.Error(), b+":3: the trace files hold more than")
	// unset, DefaultMaxBytes applies (and these files are far below it)
	spans, err := LoadSpans([]string{a, b}, ReadOptions{})
	require.NoError(t, err)
	assert.Len(t, spans, 8)
	assert.Equal(t, 20000, spans[0].Attrs.Len())
}
