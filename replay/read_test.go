package replay

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

func TestReadFormats(t *testing.T) {
	batches := []ptrace.Traces{richTraces(0, 2, 3), genAITraces(1, 20), richTraces(2, 1, 1)}
	jsonl := encodeJSONLines(t, batches)
	var pretty bytes.Buffer
	for _, td := range batches {
		require.NoError(t, json.Indent(&pretty, []byte(jsonOf(t, td)), "", "  "))
		pretty.WriteString("\n")
	}
	prettyOne := func() []byte {
		var b bytes.Buffer
		require.NoError(t, json.Indent(&b, []byte(jsonOf(t, batches[0])), "", "\t"))
		return b.Bytes()
	}()
	proto := encodeProto(t, batches)
	crlf := bytes.ReplaceAll(jsonl, []byte("\n"), []byte("\r\n\r\n  \r\n"))

	tests := []struct {
		name string
		data []byte
		want []ptrace.Traces
	}{
		{"json lines", jsonl, batches},
		{"json lines without final newline", bytes.TrimSuffix(jsonl, []byte("\n")), batches},
		{"json lines CRLF and blank lines", append([]byte("\n\n"), crlf...), batches},
		{"json lines with BOM", append([]byte("\xef\xbb\xbf"), jsonl...), batches},
		{"single pretty document", prettyOne, batches[:1]},
		{"pretty documents in a row", pretty.Bytes(), batches},
		{"pretty document after blank lines", append([]byte("\n  \n"), prettyOne...), batches[:1]},
		{"pretty document with BOM", append([]byte("\xef\xbb\xbf"), prettyOne...), batches[:1]},
		{"length-prefixed protobuf", proto, batches},
		{"protobuf with an empty record", append(proto, 0, 0, 0, 0), append(batches, ptrace.NewTraces())},
		{"empty file", nil, nil},
		{"whitespace only", []byte(" \n\r\n\t\n"), nil},
	}
	for _, tt := range tests {
		for _, gz := range []bool{false, true} {
			name := tt.name
			data := tt.data
			if gz {
				name += " gzipped"
				data = gzipped(t, data)
			}
			t.Run(name, func(t *testing.T) {
				// The extension never matters: content decides.
				path := writeFile(t, t.TempDir(), "traces.data", data)
				r := readAll(path)
				require.NoError(t, r.err)
				assert.Empty(t, r.warnings)
				require.Len(t, r.batches, len(tt.want))
				for i := range tt.want {
					assert.Equal(t, jsonOf(t, tt.want[i]), jsonOf(t, r.batches[i]), "batch %d", i)
				}
			})
		}
	}
}

func TestReadMultiMemberGzip(t *testing.T) {
	a, b := genAITraces(0, 3), genAITraces(1, 4)
	data := append(gzipped(t, encodeJSONLines(t, []ptrace.Traces{a})), gzipped(t, encodeJSONLines(t, []ptrace.Traces{b}))...)
	r := readAll(writeFile(t, t.TempDir(), "t.jsonl.gz", data))
	require.NoError(t, r.err)
	require.Len(t, r.batches, 2)
	assert.Equal(t, 7, r.spans())
}

// TestReadHandWritten reads OTLP JSON as SDKs and people write it: int64
// as numbers and as strings, upper-case hex ids, enum integers, an
// ExportTraceServiceRequest pretty-printed.
func TestReadHandWritten(t *testing.T) {
	r := readAll(filepath.Join("testdata", "handwritten.json"))
	require.NoError(t, r.err)
	assert.Empty(t, r.warnings)
	require.Len(t, r.batches, 1)
	td := r.batches[0]
	require.Equal(t, 2, td.SpanCount())
	rs := td.ResourceSpans().At(0)
	svc, _ := rs.Resource().Attributes().Get("service.name")
	assert.Equal(t, "handwritten", svc.Str())
	spans := rs.ScopeSpans().At(0).Spans()

	s0 := spans.At(0)
	assert.Equal(t, pcommon.TraceID{0x5b, 0x8e, 0xfb, 0xf5, 0x8b, 0x1e, 0x4c, 0x1a, 0xa4, 0x4d, 0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc}, s0.TraceID())
	assert.Equal(t, pcommon.SpanID{0xeb, 0x20, 0x44, 0x2c, 0x77, 0x6a, 0xbc, 0xde}, s0.SpanID())
	assert.Equal(t, ptrace.SpanKindClient, s0.Kind())
	assert.EqualValues(t, uint64(1795000000000000000), s0.StartTimestamp(), "start as a string")
	assert.EqualValues(t, uint64(1795000000850000000), s0.EndTimestamp(), "end as a number")
	in, _ := s0.Attributes().Get("gen_ai.usage.input_tokens")
	assert.Equal(t, int64(812), in.Int(), "intValue as a number")
	out, _ := s0.Attributes().Get("gen_ai.usage.output_tokens")
	assert.Equal(t, int64(143), out.Int(), "intValue as a string")
	temp, _ := s0.Attributes().Get("gen_ai.request.temperature")
	assert.InDelta(t, 0.2, temp.Double(), 1e-12)
	ok, _ := s0.Attributes().Get("streamed")
	assert.True(t, ok.Bool())
	raw, _ := s0.Attributes().Get("raw")
	assert.Equal(t, []byte("hi"), raw.Bytes().AsRaw())
	reasons, _ := s0.Attributes().Get("gen_ai.response.finish_reasons")
	assert.Equal(t, []any{"stop"}, reasons.Slice().AsRaw())
	meta, _ := s0.Attributes().Get("meta")
	assert.Equal(t, map[string]any{"k": "v", "n": int64(3)}, meta.Map().AsRaw())
	assert.Equal(t, ptrace.StatusCodeOk, s0.Status().Code())
	require.Equal(t, 1, s0.Events().Len())
	assert.Equal(t, "gen_ai.choice", s0.Events().At(0).Name())

	s1 := spans.At(1)
	assert.Equal(t, s0.SpanID(), s1.ParentSpanID())
	assert.Equal(t, ptrace.StatusCodeError, s1.Status().Code())
	assert.Equal(t, "tool failed", s1.Status().Message())
	assert.EqualValues(t, uint64(1795000000100000000), s1.StartTimestamp())
}

func TestReadSeveralFilesAreOneRun(t *testing.T) {
	dir := t.TempDir()
	a := []ptrace.Traces{genAITraces(0, 2), genAITraces(1, 3)}
	b := []ptrace.Traces{genAITraces(2, 4)}
	c := []ptrace.Traces{richTraces(3, 1, 5)}
	paths := []string{
		writeFile(t, dir, "a.jsonl", encodeJSONLines(t, a)),
		writeFile(t, dir, "b.pb.gz", gzipped(t, encodeProto(t, b))),
		writeFile(t, dir, "empty.jsonl", nil),
		writeFile(t, dir, "c.json", encodeJSONLines(t, c)),
	}
	r := readAll(paths...)
	require.NoError(t, r.err)
	want := append(append(append([]ptrace.Traces{}, a...), b...), c...)
	require.Len(t, r.batches, len(want))
	for i := range want {
		assert.Equal(t, jsonOf(t, want[i]), jsonOf(t, r.batches[i]))
	}

	merged, err := Merge(paths, ReadOptions{})
	require.NoError(t, err)
	assert.Equal(t, 2+3+4+5, merged.SpanCount())
	assert.Equal(t, spanList(t, want...), spanList(t, merged))
}

func TestReadStopsOnCallbackError(t *testing.T) {
	path := writeFile(t, t.TempDir(), "t.jsonl", encodeJSONLines(t, []ptrace.Traces{genAITraces(0, 1), genAITraces(1, 1)}))
	stop := errors.New("stop")
	calls := 0
	err := Read([]string{path}, ReadOptions{}, func(ptrace.Traces) error {
		calls++
		return stop
	})
	assert.Same(t, stop, err)
	assert.Equal(t, 1, calls)
}

func TestReadLongLine(t *testing.T) {
	// One line far beyond bufio.Scanner's 64 KiB and the reader's buffer.
	td := genAITraces(0, 1)
	td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).Attributes().PutStr("gen_ai.prompt", strings.Repeat("long prompt ", 1<<16))
	batches := []ptrace.Traces{genAITraces(1, 2), td, genAITraces(2, 2)}
	r := readAll(writeFile(t, t.TempDir(), "t.jsonl", encodeJSONLines(t, batches)))
	require.NoError(t, r.err)
	require.Len(t, r.batches, 3)
	assert.Equal(t, jsonOf(t, td), jsonOf(t, r.batches[1]))
}

func TestReadErrors(t *testing.T) {
	good := []ptrace.Traces{genAITraces(0, 2), genAITraces(1, 3), genAITraces(2, 4)}
	lines := strings.Split(strings.TrimSuffix(string(encodeJSONLines(t, good)), "\n"), "\n")
	join := func(ls ...string) []byte { return []byte(strings.Join(ls, "\n")) }
	proto := encodeProto(t, good)
	firstRecord := len(encodeProto(t, good[:1])) // byte offset of record 2
	secondEnd := len(encodeProto(t, good[:2]))
	corrupt := bytes.Clone(proto)
	corrupt[firstRecord+4] = 0x0b // record 2 starts with field 1 as a group: wrong wire type
	var pretty bytes.Buffer
	require.NoError(t, json.Indent(&pretty, []byte(lines[0]), "", "  "))
	prettyBad := strings.Replace(pretty.String(), `"name": "chat gpt-4o-mini"`, `"name": "chat gpt-4o-mini",,`, 1)
	badLine := 1 + strings.Count(prettyBad[:strings.Index(prettyBad, ",,")], "\n")
	jsonlGz := gzipped(t, encodeJSONLines(t, good))

	tests := []struct {
		name      string
		data      []byte
		wantErr   string // substring; "" = no error
		wantWarn  string // substring of the single warning; "" = none
		wantSpans int
	}{
		{
			name:    "malformed middle line",
			data:    join(lines[0], `{"resourceSpans":[{"scopeSpans":[`, lines[2], ""),
			wantErr: "F:2: invalid OTLP JSON: ",
		},
		{
			name:    "middle line with a bad trace id",
			data:    join(lines[0], "", strings.Replace(lines[1], `"traceId":"`, `"traceId":"12`, 1), lines[2], ""),
			wantErr: "F:3: invalid OTLP JSON: ",
		},
		{
			name:    "two objects on one line",
			data:    join(lines[0], lines[1]+lines[2], ""),
			wantErr: "F:2: invalid OTLP JSON: ",
		},
		{
			name:    "malformed last line with newline",
			data:    join(lines[0], lines[1], lines[2][:50], ""),
			wantErr: "F:3: invalid OTLP JSON: ",
		},
		{
			name:      "truncated last line",
			data:      join(lines[0], lines[1], lines[2][:len(lines[2])-7]),
			wantWarn:  fmt.Sprintf("F:3: incomplete last line (%d bytes) ignored; the run was probably interrupted", len(lines[2])-7),
			wantSpans: 5,
		},
		{
			name:      "truncated last line after blank lines and CRLF",
			data:      []byte(lines[0] + "\r\n\r\n" + lines[1][:10]),
			wantWarn:  "F:3: incomplete last line (10 bytes) ignored",
			wantSpans: 2,
		},
		{
			name:     "truncated only line",
			data:     []byte(lines[0][:100]),
			wantWarn: "F:1: incomplete last line (100 bytes) ignored",
		},
		{
			name:    "pretty document with a syntax error",
			data:    []byte(prettyBad),
			wantErr: fmt.Sprintf("F:%d: invalid OTLP JSON: ", badLine),
		},
		{
			name:    "truncated pretty document",
			data:    pretty.Bytes()[:pretty.Len()/2],
			wantErr: "F:1: invalid OTLP JSON: the document starting here is incomplete",
		},
		{
			name:      "truncated protobuf record",
			data:      proto[:len(proto)-5],
			wantWarn:  fmt.Sprintf("F: record 3 at byte %d: incomplete last record", secondEnd),
			wantSpans: 5,
		},
		{
			name:      "truncated protobuf length prefix",
			data:      proto[:secondEnd+2],
			wantWarn:  "F: record 3 at byte " + fmt.Sprint(secondEnd) + ": incomplete length prefix (2 of 4 bytes)",
			wantSpans: 5,
		},
		{
			name:    "corrupt protobuf record",
			data:    corrupt,
			wantErr: fmt.Sprintf("F: record 2 at byte %d: invalid OTLP protobuf: ", firstRecord),
		},
		{
			name:      "truncated gzip stream",
			data:      jsonlGz[:len(jsonlGz)-4],
			wantWarn:  "F: gzip stream is truncated",
			wantSpans: 9,
		},
		{
			name:    "corrupt gzip stream",
			data:    append(bytes.Clone(jsonlGz[:len(jsonlGz)-8]), 1, 2, 3, 4, 5, 6, 7, 8),
			wantErr: "F: ",
		},
		{
			name:    "not a trace file",
			data:    []byte("hello, world\n"),
			wantErr: "F: not an OTLP trace file",
		},
		{
			name:    "tiny binary file",
			data:    []byte{0, 1},
			wantErr: "F: not an OTLP trace file",
		},
		{
			name:    "zstd file",
			data:    []byte{0x28, 0xb5, 0x2f, 0xfd, 0, 0, 0, 0},
			wantErr: "F: zstd-compressed files are not supported",
		},
		{
			name:    "JSON array",
			data:    []byte("[1, 2]\n"),
			wantErr: "F: not an OTLP trace file",
		},
		{
			name:     "JSON that is not OTLP",
			data:     []byte(`{"batches":[{"spans":[]}]}` + "\n"),
			wantWarn: "F:1: JSON object without resourceSpans skipped; is this OTLP trace data?",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeFile(t, t.TempDir(), "traces.jsonl", tt.data)
			r := readAll(path)
			t.Logf("err: %v; warnings: %q", r.err, r.warnings)
			if tt.wantErr != "" {
				require.Error(t, r.err)
				assert.Contains(t, r.err.Error(), strings.Replace(tt.wantErr, "F", path, 1))
				return
			}
			require.NoError(t, r.err)
			if tt.wantWarn == "" {
				assert.Empty(t, r.warnings)
			} else if assert.Len(t, r.warnings, 1) {
				assert.Contains(t, r.warnings[0], strings.Replace(tt.wantWarn, "F", path, 1))
			}
			assert.Equal(t, tt.wantSpans, r.spans())
		})
	}
}

func TestReadTruncatedGzipWithPartialLine(t *testing.T) {
	// A gzipped run cut mid-line: the complete lines are used, with a
	// warning for the cut line and one for the stream.
	batches := []ptrace.Traces{genAITraces(0, 30), genAITraces(1, 30), genAITraces(2, 30)}
	gz := gzipped(t, encodeJSONLines(t, batches))
	path := writeFile(t, t.TempDir(), "traces.jsonl.gz", gz[:len(gz)*2/3])
	r := readAll(path)
	require.NoError(t, r.err)
	assert.NotEmpty(t, r.warnings)
	assert.Less(t, r.spans(), 90)
	for i, td := range r.batches {
		assert.Equal(t, jsonOf(t, batches[i]), jsonOf(t, td))
	}
}

func TestReadMissingFile(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nope.jsonl")
	r := readAll(missing)
	require.Error(t, r.err)
	assert.Contains(t, r.err.Error(), missing)
}

func TestReadNilWarn(t *testing.T) {
	path := writeFile(t, t.TempDir(), "t.jsonl", []byte(`{"resourceSpans":[`))
	require.NoError(t, Read([]string{path}, ReadOptions{}, func(ptrace.Traces) error { return nil }))
}

func TestValueEnd(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want int
	}{
		{`{}`, 2},
		{`{"a":[1,{"b":"}]"}]}`, 20},
		{`{"a":"quote \" brace }"}`, 24},
		{`{"a":"backslash \\"}`, 20},
		{`{"a":"\\\"}"}`, 13},
		{`{"a":1}{"b":2}`, 7},
		{`{"a":1} `, 7},
		{`{"a":[1,2`, -1},
		{`{"a":"unterminated`, -1},
		{`{"a":"ends with backslash\`, -1},
		{`{`, -1},
		{`"str"`, 5},
		{`5`, 1},
		{`hello`, 1},
	} {
		assert.Equal(t, tt.want, valueEnd([]byte(tt.in)), tt.in)
	}
}
