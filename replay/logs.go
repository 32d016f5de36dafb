package replay

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"runtime"

	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/llmcheck/llmcheck/internal/jsondepth"
	"github.com/llmcheck/llmcheck/internal/otlpcount"
)

// Logs files hold OTLP log records (LogsData), as `run` and `record` write
// them to logs.jsonl: evaluation results are OpenTelemetry events, i.e. log
// records. They are read with the same bounds as trace files (line and
// record size, line count, total bytes; see ReadOptions).

// IsLogsFile reports whether the file at path holds OTLP JSON log data
// (LogsData or ExportLogsServiceRequest, as JSON lines or one document,
// optionally gzipped): its first JSON key is resourceLogs (or
// resource_logs). Anything else, and a file that cannot be opened, is not
// (the trace reader then reports what is wrong with it). Only the first
// bytes are read.
func IsLogsFile(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		return false // pipes are read once, by the trace reader
	}
	var r io.Reader = bufio.NewReaderSize(f, 4096)
	br := r.(*bufio.Reader)
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return false
		}
		defer zr.Close()
		r = zr
	}
	head := make([]byte, 4096)
	n, _ := io.ReadFull(r, head)
	return firstKeyIsLogs(head[:n])
}

// firstKeyIsLogs reports whether b starts (after a BOM and blank space) an
// object whose first key is resourceLogs or resource_logs.
func firstKeyIsLogs(b []byte) bool {
	b = bytes.TrimLeft(bytes.TrimPrefix(b, utf8BOM), " \t\r\n")
	if len(b) == 0 || b[0] != '{' {
		return false
	}
	b = bytes.TrimLeft(b[1:], " \t\r\n")
	return bytes.HasPrefix(b, []byte(`"resourceLogs"`)) || bytes.HasPrefix(b, []byte(`"resource_logs"`))
}

// ReadLogs streams every LogsData of the logs files, in file order, calling
// fn once per decoded batch (one line, document or record) with where
// naming it ("logs.jsonl:3"). The formats, the bounds of opts (MaxSpans
// bounds the lines and records, MaxRecordBytes one line, MaxBytes all of
// them) and the handling of an interrupted writer's last line are those of
// Read. The first error from fn stops the read and is returned unchanged.
//
// The log records are bounded too, by MaxSpans (DefaultMaxRecords when not
// set), over all the files: a JSON line's records are counted before pdata
// decodes it, since a line of empty records ({}) takes some 35 times its
// size in memory once decoded.
func ReadLogs(paths []string, opts ReadOptions, fn func(ld plog.Logs, where string) error) error {
	maxRecords := opts.MaxSpans
	if maxRecords <= 0 {
		maxRecords = DefaultMaxRecords
	}
	var n int64
	return runPipeline(paths, opts, logStage{maxRecords: maxRecords}, func(j *job) error {
		where := fmt.Sprintf("%s:%d", j.path, j.line)
		if j.kind == protoRecord {
			where = recordWhere(j.path, j.line, j.offset)
		}
		if n += int64(j.ld.LogRecordCount()); n > maxRecords {
			return tooManyLogRecords(where, maxRecords)
		}
		return fn(j.ld, where)
	})
}

func tooManyLogRecords(where string, max int64) error {
	return fmt.Errorf("%s: more than %d log records (--max-spans bounds them); raise --max-spans if this run is meant to be that large", where, max)
}

// logStage decodes log batches with pdata.
type logStage struct {
	maxRecords int64 // log records of one read
}

func (logStage) buffer(n int) []byte { return make([]byte, n) }

func (logStage) workers() int { return max(1, runtime.GOMAXPROCS(0)-1) }

func (st logStage) newWorker() func(j *job) {
	var (
		ju plog.JSONUnmarshaler
		pu plog.ProtoUnmarshaler
	)
	return func(j *job) {
		if j.kind == protoRecord {
			j.ld, j.derr = pu.UnmarshalLogs(j.data)
			return
		}
		if j.kind == jsonLine {
			if j.lineWarn, j.lineErr = j.checkLine(); j.lineWarn != "" || j.lineErr != nil {
				return
			}
		}
		// pdata's decoder recurses once per level
		if j.derr = jsondepth.Check(j.data, jsondepth.Max); j.derr != nil {
			return
		}
		if otlpcount.LogRecordsJSON(j.data) > st.maxRecords {
			j.lineErr = tooManyLogRecords(fmt.Sprintf("%s:%d", j.path, j.line), st.maxRecords)
			return
		}
		j.ld, j.derr = ju.UnmarshalLogs(j.data)
		if j.derr == nil && j.ld.ResourceLogs().Len() == 0 && len(j.data) > 2 &&
			!bytes.Contains(j.data, []byte(`"resourceLogs"`)) && !bytes.Contains(j.data, []byte(`"resource_logs"`)) {
			j.warnings = append(j.warnings, fmt.Sprintf("%s:%d: JSON object without resourceLogs skipped; is this OTLP log data?", j.path, j.line))
		}
	}
}
