package replay

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"

	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// Writer appends one OTLP JSON TracesData per line (hex ids, as the
// Collector's fileexporter writes and its JSONUnmarshaler reads). It is safe
// for concurrent use.
//
// Each ConsumeTraces call is written with a single write(2) of the full line
// to a file opened with O_APPEND, with no buffering in user space: when it
// returns, the batch is in the operating system and a crash of llmcheck loses
// nothing already acknowledged. A kill -9 leaves only complete lines, or at
// most one truncated last line, which Read reports as a warning.
type Writer struct {
	path  string
	spans atomic.Int64

	mu   sync.Mutex
	f    *os.File // nil once closed
	size int64    // bytes of complete lines written
}

// Create creates the trace file at path, creating its parent directories and
// replacing an existing file. The new file is created beside path and
// renamed over it, as the reports are written: a symlink (or hard link) at
// path is replaced, never written through, so a committed
// .llmcheck/traces.jsonl link cannot make a run truncate its target.
func Create(path string) (*Writer, error) {
	dir := filepath.Dir(path)
	if dir != "." {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("create trace file %s: %w", path, err)
		}
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*")
	if err != nil {
		return nil, fmt.Errorf("create trace file %s: %w", path, err)
	}
	fail := func(err error) (*Writer, error) {
		f.Close()
		os.Remove(f.Name())
		return nil, fmt.Errorf("create trace file %s: %w", path, err)
	}
	if err := f.Chmod(0o644); err != nil {
		return fail(err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fail(err)
	}
	return &Writer{path: path, f: f}, nil
}

// ConsumeTraces appends td to the file as one line. A td without spans
// writes nothing. The context is not consulted: a batch the receiver has
// accepted is always recorded.
func (w *Writer) ConsumeTraces(_ context.Context, td ptrace.Traces) error {
	n := td.SpanCount()
	if n == 0 {
		return nil
	}
	var m ptrace.JSONMarshaler
	line, err := m.MarshalTraces(td)
	if err != nil {
		return fmt.Errorf("write %s: encode OTLP JSON: %w", w.path, err)
	}
	line = append(line, '\n')
	return w.write(line, n)
}

// ConsumeTracesJSON appends a batch already encoded as its line: one OTLP
// JSON TracesData as ptrace.JSONMarshaler writes it, followed by '\n',
// holding spans spans (the receiver's transcoder produces it from the
// protobuf request; see receiver.JSONSink). The line is written as is, with
// the same single write(2) as ConsumeTraces, and not kept.
func (w *Writer) ConsumeTracesJSON(_ context.Context, line []byte, spans int) error {
	if spans <= 0 {
		return nil
	}
	if len(line) == 0 || line[len(line)-1] != '\n' {
		return fmt.Errorf("write %s: JSON line without its newline", w.path)
	}
	return w.write(line, spans)
}

// write appends one complete line holding n spans.
func (w *Writer) write(line []byte, n int) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f == nil {
		return fmt.Errorf("write %s: %w", w.path, os.ErrClosed)
	}
	written, err := w.f.Write(line)
	if err != nil {
		if written > 0 {
			// Keep the file made of whole lines (disk full, quota): drop
			// the partial line so later batches stay readable.
			_ = w.f.Truncate(w.size)
			_, _ = w.f.Seek(w.size, io.SeekStart)
		}
		return fmt.Errorf("write %s: %w", w.path, err)
	}
	w.size += int64(written)
	w.spans.Add(int64(n))
	return nil
}

// Spans returns the number of spans written so far.
func (w *Writer) Spans() int64 { return w.spans.Load() }

// Close closes the file. Closing twice is not an error; ConsumeTraces after
// Close is.
func (w *Writer) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f == nil {
		return nil
	}
	err := w.f.Close()
	w.f = nil
	if err != nil {
		return fmt.Errorf("close trace file: %w", err)
	}
	return nil
}

// LogWriter appends one OTLP JSON LogsData per line (logs.jsonl), with the
// guarantees of Writer: one write(2) of the full line to a file opened
// with O_APPEND, so a batch acknowledged is in the operating system. It is
// safe for concurrent use.
type LogWriter struct{ w *Writer }

// CreateLogs creates the logs file at path as Create creates a trace file
// (parent folders created, an existing file or link replaced, never
// written through).
func CreateLogs(path string) (*LogWriter, error) {
	w, err := Create(path)
	if err != nil {
		return nil, err
	}
	return &LogWriter{w: w}, nil
}

// ConsumeLogs appends ld to the file as one line. A ld without log records
// writes nothing.
func (l *LogWriter) ConsumeLogs(_ context.Context, ld plog.Logs) error {
	n := ld.LogRecordCount()
	if n == 0 {
		return nil
	}
	var m plog.JSONMarshaler
	line, err := m.MarshalLogs(ld)
	if err != nil {
		return fmt.Errorf("write %s: encode OTLP JSON: %w", l.w.path, err)
	}
	return l.w.write(append(line, '\n'), n)
}

// Records returns the number of log records written so far.
func (l *LogWriter) Records() int64 { return l.w.Spans() }

// Close closes the file; closing twice is not an error.
func (l *LogWriter) Close() error { return l.w.Close() }
