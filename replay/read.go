package replay

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/llmcheck/llmcheck/internal/fileread"
)

// ReadOptions configures Read.
type ReadOptions struct {
	// Warn receives problems that do not stop the read, such as the
	// incomplete last line an interrupted run leaves behind. Nil drops them.
	Warn func(msg string)
	// MaxSpans, when positive, bounds the spans ReadSpans and LoadSpans
	// read: they stop with a *TooManySpansError as soon as the spans read
	// exceed it (checked batch by batch, before the batch is delivered or
	// kept). Read does not count spans. Every reader also stops past
	// MaxSpans lines and records (DefaultMaxRecords when MaxSpans is
	// not set): a batch holds at least one span.
	MaxSpans int64
	// MaxRecordBytes bounds one line of JSON lines, one length-prefixed
	// protobuf record, and a JSON document file (held in memory whole),
	// after decompression; 0 means DefaultMaxRecordBytes.
	MaxRecordBytes int
	// MaxBytes bounds the bytes of all the lines, records and JSON
	// documents of one read, after decompression: the memory a run's
	// spans take follows the bytes decoded (a span of a million
	// attributes is one line), not only the span count. Past it the read
	// stops with a *TooManyBytesError naming the line or record that
	// crossed it; 0 means DefaultMaxBytes.
	MaxBytes int64
}

// DefaultMaxBytes is ReadOptions.MaxBytes when not set (flag
// --max-trace-bytes): 4 GiB, above the 3.1 GB of OTLP JSON lines that
// --max-spans' 5,000,000 spans take at the benchmark's 615 bytes a span
// (docs/performance.md).
const DefaultMaxBytes int64 = 4 << 30

// TooManyBytesError is the error of a read whose files hold more than
// ReadOptions.MaxBytes bytes of lines, records and documents.
type TooManyBytesError struct {
	Where string // "file:line" or "file: record N at byte M": what crossed the bound
	Max   int64  // ReadOptions.MaxBytes
}

// Error is "run.jsonl:7: the trace files hold more than N bytes ...".
func (e *TooManyBytesError) Error() string {
	size := fmt.Sprintf("%d bytes", e.Max)
	if s := byteSize64(e.Max); s != size {
		size = fmt.Sprintf("%s (%d bytes)", s, e.Max)
	}
	return fmt.Sprintf("%s: the trace files hold more than %s of OTLP data after decompression, the limit of one run", e.Where, size)
}

// DefaultMaxRecordBytes is ReadOptions.MaxRecordBytes when not set: far
// above the batches OpenTelemetry exporters send (the receiver takes at
// most 64 MiB of protobuf, which transcodes to a longer JSON line).
const DefaultMaxRecordBytes = 256 << 20

// DefaultMaxRecords bounds the lines (blank ones too) and protobuf records
// of the files of one read when ReadOptions.MaxSpans is not set (Read, as
// replay uses it): the default --max-spans, since a batch holds at least
// one span. With MaxSpans, MaxSpans is the bound.
const DefaultMaxRecords = 5_000_000

// TooManySpansError is the error of ReadSpans and LoadSpans when the files
// hold more than ReadOptions.MaxSpans spans.
type TooManySpansError struct {
	Paths []string // the files read
	Max   int64    // ReadOptions.MaxSpans
}

// Error is "a.jsonl, b.jsonl: more than N spans".
func (e *TooManySpansError) Error() string {
	return fmt.Sprintf("%s: more than %d spans", strings.Join(e.Paths, ", "), e.Max)
}

// Read streams every TracesData in the files, in file order, calling fn once
// per decoded batch (one line, document or record). Several files are one
// run. The first error from fn stops the read and is returned unchanged.
//
// The format of each file is detected from its content, not its name:
//   - gzip (magic 1f 8b), decompressed transparently, holding any of the
//     formats below;
//   - OTLP JSON lines: one TracesData (or ExportTraceServiceRequest) per
//     line; blank lines are skipped and CRLF is accepted; lines may be of any
//     length;
//   - a single OTLP JSON document, possibly pretty-printed across many lines
//     (recognised because its first non-blank line is not by itself a
//     complete JSON value); several documents one after another are read in
//     turn. Such a file is held in memory whole;
//   - the Collector fileexporter's "format: proto": each TracesData prefixed
//     by its length as a 4-byte big-endian integer.
//
// Empty files hold zero batches. A malformed line is an error naming the file
// and line ("traces.jsonl:17: invalid OTLP JSON: ..."), a malformed protobuf
// record one naming the record and its byte offset. What an interrupted
// writer leaves at the end of a file (a last line without a newline that does
// not decode, a truncated last record, a truncated gzip stream) is not an
// error: it is reported to Warn and the complete batches before it are used.
//
// Batches are decoded ahead of fn on other goroutines, a bounded window of
// them at a time (memory does not grow with the file); fn and Warn are
// always called from the calling goroutine, in file order. To get
// normalised spans, ReadSpans and LoadSpans are faster than Read followed
// by span.FromTracesWarn, with the same result.
func Read(paths []string, opts ReadOptions, fn func(td ptrace.Traces) error) error {
	return runPipeline(paths, opts, newPdataStage(), func(j *job) error { return fn(j.td) })
}

// Merge reads all batches of the files into one ptrace.Traces, keeping
// their order.
func Merge(paths []string, opts ReadOptions) (ptrace.Traces, error) {
	all := ptrace.NewTraces()
	err := Read(paths, opts, func(td ptrace.Traces) error {
		td.ResourceSpans().MoveAndAppendTo(all.ResourceSpans())
		return nil
	})
	if err != nil {
		return ptrace.NewTraces(), err
	}
	return all, nil
}

const readBufSize = 256 << 10

// maxFirstRecord bounds the length a protobuf file's first record may declare
// before the file is taken for something else.
const maxFirstRecord = 1 << 30

// fileReader reads one trace file, handing each line, document or record
// to the pipeline in file order.
type fileReader struct {
	path string
	file int // index of the file in the run
	emit func(*job) bool
	// buffer returns a buffer for a job's data
	buffer func(n int) []byte
	// maxRecord bounds a line, a record and a JSON document file
	maxRecord int
	// records counts the lines (blank ones too) and protobuf records of
	// the run; past maxRecords the read stops. spanBound says maxRecords
	// is ReadOptions.MaxSpans (else DefaultMaxRecords).
	records    *int64
	maxRecords int64
	spanBound  bool
}

// count counts one line or record toward the run's bound. A batch holds at
// least one span, so a run cannot have more of them than --max-spans allows
// spans: without this, a gzip of zeros is billions of empty records.
func (fr *fileReader) count() error {
	*fr.records++
	if *fr.records <= fr.maxRecords {
		return nil
	}
	if fr.spanBound {
		return fr.fail(fmt.Errorf("%s: more than %d lines or records (a batch holds at least one span; --max-spans is %d); is this a trace file?", fr.path, fr.maxRecords, fr.maxRecords))
	}
	return fr.fail(fmt.Errorf("%s: more than %d lines or records, the limit of a run's trace files; is this a trace file?", fr.path, fr.maxRecords))
}

// sizeLimit describes the bound on one line or record in messages.
func (fr *fileReader) sizeLimit() string {
	return fmt.Sprintf("%s (%d bytes)", byteSize(fr.maxRecord), fr.maxRecord)
}

// byteSize64 is byteSize for int64 sizes, with GiB.
func byteSize64(n int64) string {
	if n >= 1<<30 && n%(1<<30) == 0 {
		return fmt.Sprintf("%d GiB", n>>30)
	}
	if n > int64(int(^uint(0)>>1)) {
		return fmt.Sprintf("%d bytes", n)
	}
	return byteSize(int(n))
}

// byteSize writes n bytes in MiB or KiB when it is a whole number of them.
func byteSize(n int) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

// warn sends a warning in file order. It returns false when the read was
// stopped.
func (fr *fileReader) warn(msg string) bool { return fr.emit(&job{warn: msg}) }

// fail ends the read with err, in file order.
func (fr *fileReader) fail(err error) error {
	fr.emit(&job{err: err})
	return errStopped
}

// errStopped ends a file's read once its error was sent, or when the
// consumer stopped the pipeline.
var errStopped = errors.New("read stopped")

func (fr *fileReader) readFile() error {
	path := fr.path
	f, err := os.Open(path)
	if err != nil {
		return fr.fail(err) // *PathError: "open traces.jsonl: no such file or directory"
	}
	defer f.Close()
	// A device never ends (/dev/zero) and a directory is no trace file.
	// Pipes are read (bounded like any file): <(zcat run.jsonl.gz) works.
	if fi, err := f.Stat(); err != nil {
		return fr.fail(fmt.Errorf("read %s: %w", path, err))
	} else if m := fi.Mode(); !m.IsRegular() && m&os.ModeNamedPipe == 0 {
		return fr.fail(fmt.Errorf("%s: not a regular file (%s); give the path of a trace file", path, fileread.Kind(m)))
	}

	br := bufio.NewReaderSize(f, readBufSize)
	magic, err := br.Peek(2)
	if err != nil && !errors.Is(err, io.EOF) {
		return fr.fail(fmt.Errorf("read %s: %w", path, err))
	}
	if len(magic) < 2 || magic[0] != 0x1f || magic[1] != 0x8b {
		return fr.readContent(br)
	}

	zr, err := gzip.NewReader(br)
	if err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			fr.warn(fmt.Sprintf("%s: gzip stream truncated in its header; file ignored; the run was probably interrupted", path))
			return nil
		}
		return fr.fail(fmt.Errorf("%s: invalid gzip stream: %w", path, err))
	}
	defer zr.Close()
	tr := &truncatedReader{r: zr}
	if err := fr.readContent(bufio.NewReaderSize(tr, readBufSize)); err != nil {
		return err
	}
	if tr.truncated {
		fr.warn(fmt.Sprintf("%s: gzip stream is truncated; using the data before the cut; the run was probably interrupted", path))
	}
	return nil
}

// truncatedReader turns the io.ErrUnexpectedEOF of a cut gzip stream into
// io.EOF, remembering it, so the data decoded before the cut is used.
type truncatedReader struct {
	r         io.Reader
	truncated bool
}

func (t *truncatedReader) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	if errors.Is(err, io.ErrUnexpectedEOF) {
		t.truncated = true
		err = io.EOF
	}
	return n, err
}

// readContent detects the format of the (decompressed) content and reads it.
func (fr *fileReader) readContent(r *bufio.Reader) error {
	head, err := r.Peek(readBufSize)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		return fr.fail(fmt.Errorf("read %s: %w", fr.path, err))
	}
	if len(head) == 0 {
		return nil
	}
	if len(head) >= 4 && bytes.Equal(head[:4], zstdMagic) {
		return fr.fail(fmt.Errorf("%s: zstd-compressed files are not supported; decompress it first (zstd -d)", fr.path))
	}
	rest := bytes.TrimPrefix(head, utf8BOM)
	for _, c := range rest {
		switch {
		case isSpace(c):
			continue
		case c == '{':
			return fr.readJSON(r)
		default:
			return fr.readProto(r)
		}
	}
	if len(head) < readBufSize {
		return nil // only whitespace
	}
	return fr.readJSON(r) // a long run of blank lines: the line reader skips them
}

var (
	zstdMagic = []byte{0x28, 0xb5, 0x2f, 0xfd}
	utf8BOM   = []byte{0xef, 0xbb, 0xbf}
)

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// lineReader returns lines of up to max bytes.
type lineReader struct {
	r    *bufio.Reader
	buf  []byte
	line int // number of the line last returned
	max  int
}

// errLineTooLong is the error of lineReader.next for a line longer than
// its max.
var errLineTooLong = errors.New("line too long")

// next returns the next line without its line terminator and whether it
// ended with a newline. The line is valid until the next call. It returns
// io.EOF when no bytes remain.
func (lr *lineReader) next() ([]byte, bool, error) {
	lr.buf = lr.buf[:0]
	for {
		chunk, err := lr.r.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			if len(lr.buf)+len(chunk) > lr.max {
				lr.line++
				return nil, false, errLineTooLong
			}
			lr.buf = append(lr.buf, chunk...)
			continue
		}
		if len(lr.buf) > 0 {
			lr.buf = append(lr.buf, chunk...)
			chunk = lr.buf
		}
		if n := len(chunk); n > lr.max && (err != nil || n-1 > lr.max) { // the newline aside
			lr.line++
			return nil, false, errLineTooLong
		}
		switch {
		case err == nil:
			lr.line++
			chunk = chunk[:len(chunk)-1]
			if n := len(chunk); n > 0 && chunk[n-1] == '\r' {
				chunk = chunk[:n-1]
			}
			return chunk, true, nil
		case errors.Is(err, io.EOF):
			if len(chunk) == 0 {
				return nil, false, io.EOF
			}
			lr.line++
			return chunk, false, nil
		default:
			return nil, false, err
		}
	}
}

// readJSON reads OTLP JSON lines, or a JSON document when the first
// non-blank line is not a complete JSON value by itself.
func (fr *fileReader) readJSON(r *bufio.Reader) error {
	lr := &lineReader{r: r, max: fr.maxRecord}
	first := true
	for {
		raw, newline, err := lr.next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if errors.Is(err, errLineTooLong) {
			return fr.fail(fmt.Errorf("%s:%d: line longer than %s, the limit of one line of a trace file; is this a trace file?", fr.path, lr.line, fr.sizeLimit()))
		}
		if err := fr.count(); err != nil {
			return err
		}
		if err != nil {
			return fr.fail(fmt.Errorf("read %s: %w", fr.path, err))
		}
		line := raw
		if first {
			line = bytes.TrimPrefix(line, utf8BOM)
		}
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		if first {
			first = false
			if end := valueEnd(line); end < 0 && newline {
				doc := append(bytes.Clone(bytes.TrimPrefix(raw, utf8BOM)), '\n')
				return fr.readDocument(doc, lr.r, lr.line)
			}
		}
		// The line buffer is reused: the job gets its own copy. The
		// worker checks the line is one complete JSON value (see
		// checkLine).
		data := fr.buffer(len(line))
		copy(data, line)
		j := &job{kind: jsonLine, path: fr.path, file: fr.file, line: lr.line, data: data, newline: newline, rawLen: len(raw)}
		if !fr.emit(j) {
			return errStopped
		}
		if !newline {
			return nil // the last line
		}
	}
}

// checkLine checks a JSON line is exactly one JSON value. pdata's decoder
// stops at the end of the first JSON value and ignores what follows it, so
// a line holding two objects (a writer that crashed before its newline,
// then appended) would silently lose data. It returns the warning for an
// incomplete last line, or the error for a malformed one.
func (j *job) checkLine() (warn string, err error) {
	end := valueEnd(j.data)
	if end == len(j.data) {
		return "", nil
	}
	if end < 0 && !j.newline {
		return fmt.Sprintf("%s:%d: incomplete last line (%d bytes) ignored; the run was probably interrupted", j.path, j.line, j.rawLen), nil
	}
	return "", fmt.Errorf("%s:%d: invalid OTLP JSON: %s", j.path, j.line, jsonSyntaxReason(j.data))
}

// notOTLP reports whether a JSON object that decoded to no resource spans
// has other content than an (empty) resourceSpans array.
func notOTLP(line []byte) bool {
	if len(line) <= 2 {
		return false // {}
	}
	return !bytes.Contains(line, []byte(`"resourceSpans"`)) && !bytes.Contains(line, []byte(`"resource_spans"`))
}

// valueEnd returns the length of the JSON object or array that starts b,
// or -1 when b ends before it is closed. It only matches brackets outside
// strings: the syntax inside is left to the decoder. It is much cheaper than
// json.Valid, which would double the cost of reading.
func valueEnd(b []byte) int {
	depth := 0
	for i := 0; i < len(b); i++ {
		switch b[i] {
		case '"':
			// Find the closing quote: one not preceded by an odd number
			// of backslashes.
			for {
				j := bytes.IndexByte(b[i+1:], '"')
				if j < 0 {
					return -1
				}
				i += 1 + j
				k := i - 1
				for k >= 0 && b[k] == '\\' {
					k--
				}
				if (i-1-k)%2 == 0 {
					break
				}
			}
			if depth == 0 {
				return i + 1 // a string, not an object
			}
		case '{', '[':
			depth++
		case '}', ']':
			depth--
			if depth <= 0 {
				return i + 1
			}
		default:
			if depth == 0 && !isSpace(b[i]) {
				return i + 1 // not an object: let the decoder say what it is
			}
		}
	}
	return -1
}

// jsonSyntaxReason describes why data is not valid JSON.
func jsonSyntaxReason(data []byte) string {
	var v any
	err := json.Unmarshal(data, &v)
	var se *json.SyntaxError
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("%v (at byte %d of the line)", se, se.Offset)
	case err != nil:
		return err.Error()
	}
	return "not a single JSON value"
}

// readDocument reads one or more JSON documents, each possibly spread over
// many lines. head holds the content already read, starting at line
// firstLine; the rest comes from r.
func (fr *fileReader) readDocument(head []byte, r io.Reader, firstLine int) error {
	rest, err := io.ReadAll(io.LimitReader(r, int64(fr.maxRecord-len(head)+1)))
	if err != nil {
		return fr.fail(fmt.Errorf("read %s: %w", fr.path, err))
	}
	if len(head)+len(rest) > fr.maxRecord {
		return fr.fail(fmt.Errorf("%s: JSON document larger than %s, the limit of a JSON document trace file (held in memory whole); write it as JSON lines", fr.path, fr.sizeLimit()))
	}
	data := append(head, rest...)
	dec := json.NewDecoder(bytes.NewReader(data))
	// lineAt returns the line number of byte offset off in data.
	lineOff, lineNo := 0, firstLine
	lineAt := func(off int) int {
		off = min(off, len(data))
		if off > lineOff {
			lineNo += bytes.Count(data[lineOff:off], []byte{'\n'})
			lineOff = off
		}
		return lineNo
	}
	for {
		start := int(dec.InputOffset())
		var doc json.RawMessage
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return nil
		}
		for start < len(data) && isSpace(data[start]) {
			start++
		}
		var se *json.SyntaxError
		switch {
		case errors.As(err, &se):
			return fr.fail(fmt.Errorf("%s:%d: invalid OTLP JSON: %v", fr.path, lineAt(int(se.Offset)), se))
		case errors.Is(err, io.ErrUnexpectedEOF):
			return fr.fail(fmt.Errorf("%s:%d: invalid OTLP JSON: the document starting here is incomplete", fr.path, lineAt(start)))
		case err != nil:
			return fr.fail(fmt.Errorf("%s:%d: invalid OTLP JSON: %v", fr.path, lineAt(start), err))
		}
		if !fr.emit(&job{kind: jsonDoc, path: fr.path, file: fr.file, line: lineAt(start), data: doc}) {
			return errStopped
		}
	}
}

// readProto reads length-prefixed protobuf TracesData records, as the
// Collector's fileexporter writes with "format: proto".
func (fr *fileReader) readProto(r *bufio.Reader) error {
	var (
		hdr    [4]byte
		offset int64
	)
	for rec := 1; ; rec++ {
		n, err := io.ReadFull(r, hdr[:])
		if errors.Is(err, io.EOF) {
			return nil
		}
		if errors.Is(err, io.ErrUnexpectedEOF) {
			if rec == 1 {
				return fr.notTraceFile()
			}
			fr.warn(fmt.Sprintf("%s: incomplete length prefix (%d of 4 bytes) ignored; the run was probably interrupted", recordWhere(fr.path, rec, offset), n))
			return nil
		}
		if err != nil {
			return fr.fail(fmt.Errorf("read %s: %w", fr.path, err))
		}
		if err := fr.count(); err != nil {
			return err
		}
		size := int64(binary.BigEndian.Uint32(hdr[:]))
		if rec == 1 && size > maxFirstRecord {
			return fr.notTraceFile()
		}
		if size > int64(fr.maxRecord) {
			return fr.fail(fmt.Errorf("%s: declares %d bytes, more than %s, the limit of one record of a trace file", recordWhere(fr.path, rec, offset), size, fr.sizeLimit()))
		}
		// Each record gets its own buffer: it is decoded on another
		// goroutine while the next ones are read. A size beyond 16 MiB
		// is believed only as the bytes arrive.
		var data []byte
		var got int64
		if size <= 16<<20 {
			data = fr.buffer(int(size))
			n, err := io.ReadFull(r, data)
			if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
				return fr.fail(fmt.Errorf("read %s: %w", fr.path, err))
			}
			data, got = data[:n], int64(n)
		} else {
			var buf bytes.Buffer
			buf.Grow(16 << 20)
			got, err = io.CopyN(&buf, r, size)
			if err != nil && !errors.Is(err, io.EOF) {
				return fr.fail(fmt.Errorf("read %s: %w", fr.path, err))
			}
			data = buf.Bytes()
		}
		if rec == 1 && len(data) >= 4 && bytes.Equal(data[:4], zstdMagic) {
			return fr.fail(fmt.Errorf("%s: records are zstd-compressed (fileexporter compression: zstd), which is not supported; export without compression or with gzip", fr.path))
		}
		// A TracesData with content starts with field 1 (resource_spans,
		// length-delimited): tag byte 0x0a. Checked on the first record
		// only, to tell a protobuf trace file from anything else.
		if rec == 1 && len(data) > 0 && data[0] != 0x0a {
			return fr.notTraceFile()
		}
		if got < size {
			fr.warn(fmt.Sprintf("%s: incomplete last record (%d of %d bytes) ignored; the run was probably interrupted", recordWhere(fr.path, rec, offset), got, size))
			return nil
		}
		if !fr.emit(&job{kind: protoRecord, path: fr.path, file: fr.file, line: rec, offset: offset, data: data}) {
			return errStopped
		}
		offset += 4 + size
	}
}

// recordWhere names a protobuf record in messages.
func recordWhere(path string, rec int, offset int64) string {
	return fmt.Sprintf("%s: record %d at byte %d", path, rec, offset)
}

func (fr *fileReader) notTraceFile() error {
	return fr.fail(fmt.Errorf("%s: not an OTLP trace file (expected OTLP JSON lines, an OTLP JSON document or length-prefixed OTLP protobuf, optionally gzipped)", fr.path))
}
