package replay

import (
	"fmt"
	"runtime"
	"sync"

	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/llmcheck/llmcheck/internal/jsondepth"
	"github.com/llmcheck/llmcheck/span"
)

// Reading is a pipeline: one goroutine reads the files and cuts them into
// jobs (a JSON line, a JSON document, a protobuf record, or a warning or
// error found while reading), GOMAXPROCS workers decode the jobs, and the
// caller's goroutine takes the results in file order and hands them to the
// callback. At most a window of jobs is in flight, so memory stays bounded
// by a few batches whatever the size of the files.

type jobKind uint8

const (
	jsonLine jobKind = iota + 1
	jsonDoc
	protoRecord
)

// job is one unit of work. Either warn or err (found by the reader) or
// data (to decode) is set.
type job struct {
	warn string
	err  error

	kind   jobKind
	path   string
	file   int   // index of the file in the run
	line   int   // JSON: line number; protobuf: record number
	offset int64 // protobuf: byte offset of the record
	data   []byte
	size   int // len(data), kept once data is released
	// JSON lines: whether the line ended with a newline, and its length
	// before trimming
	newline bool
	rawLen  int

	// results, written by a worker before done is closed
	done     chan struct{}
	lineWarn string // an incomplete last line, found by the worker
	lineErr  error  // a malformed line, found by the worker
	derr     error
	empty    bool // no resource spans and not OTLP-looking: worth a warning
	td       ptrace.Traces
	ld       plog.Logs // logStage
	spans    []span.Span
	warnings []string
	// spans and attributes the Decoder skipped for invalid ids or empty
	// keys (span.Decoder.TakeSkipped)
	badIDs, emptyKeys int
}

// stage is the decoding a pipeline does: newWorker returns the decode
// function of one worker (called on that worker's goroutine only).
// buffer returns a buffer of length n for a job's data.
type stage interface {
	newWorker() func(j *job)
	buffer(n int) []byte
	// workers is the number of decoding goroutines.
	workers() int
}

// pdataStage decodes into ptrace.Traces, for Read.
type pdataStage struct{}

func newPdataStage() stage { return pdataStage{} }

// buffer allocates: pdata's batches are handed to the callback, which may
// keep them.
func (pdataStage) buffer(n int) []byte { return make([]byte, n) }

// workers leaves a core to the callback: Read's callers do real work per
// batch (FromTracesWarn, re-sending), so decoding and the callback run as a
// two-stage pipeline. More decoders than that only make garbage faster
// than the callback can use it, and the collector's assists slow the
// callback down.
func (pdataStage) workers() int { return max(1, runtime.GOMAXPROCS(0)-1) }

func (pdataStage) newWorker() func(j *job) {
	var (
		ju ptrace.JSONUnmarshaler
		pu ptrace.ProtoUnmarshaler
	)
	return func(j *job) {
		if j.kind == protoRecord {
			j.td, j.derr = pu.UnmarshalTraces(j.data)
		} else {
			if j.kind == jsonLine {
				if j.lineWarn, j.lineErr = j.checkLine(); j.lineWarn != "" || j.lineErr != nil {
					return
				}
			}
			// pdata's decoder recurses once per level
			if j.derr = jsondepth.Check(j.data, jsondepth.Max); j.derr != nil {
				return
			}
			j.td, j.derr = ju.UnmarshalTraces(j.data)
			if j.derr == nil {
				j.empty = j.td.ResourceSpans().Len() == 0 && notOTLP(j.data)
			}
		}
	}
}

// spanStage decodes straight into normalised spans, for ReadSpans.
type spanStage struct {
	warn bool
	// pool, when set, recycles the batches' span slices (LoadSpans copies
	// each batch out and gives the slice back).
	pool *sync.Pool
}

// bufs recycles the jobs' data buffers: the Decoder copies every string
// it keeps, so a buffer is free once its job is decoded.
var bufs sync.Pool

func (st spanStage) buffer(n int) []byte {
	if b, ok := bufs.Get().(*[]byte); ok && cap(*b) >= n {
		return (*b)[:n]
	}
	return make([]byte, n)
}

func releaseBuffer(b []byte) {
	if cap(b) <= 4<<20 {
		bufs.Put(&b)
	}
}

// workers uses every core: the consumer of a spanStage only copies spans.
func (spanStage) workers() int { return runtime.GOMAXPROCS(0) }

func (st spanStage) batch() []span.Span {
	if st.pool == nil {
		return nil
	}
	if b, ok := st.pool.Get().(*[]span.Span); ok {
		return (*b)[:0]
	}
	return nil
}

func (st spanStage) recycle(b []span.Span) {
	if st.pool != nil && cap(b) > 0 {
		clear(b)
		b = b[:0]
		st.pool.Put(&b)
	}
}

func (st spanStage) newWorker() func(j *job) {
	d := span.NewDecoder()
	var ju ptrace.JSONUnmarshaler
	return func(j *job) {
		var warn func(string)
		if st.warn {
			warn = func(msg string) { j.warnings = append(j.warnings, msg) }
		}
		dst := st.batch()
		if j.kind != jsonDoc { // documents share the file's buffer
			defer func() {
				if j.lineWarn == "" && j.lineErr == nil && j.derr == nil {
					releaseBuffer(j.data)
					j.data = nil
				}
			}()
		}
		defer func() { j.badIDs, j.emptyKeys = d.TakeSkipped() }()
		if j.kind == protoRecord {
			j.spans, j.derr = d.DecodeProto(dst, j.data, warn)
			return
		}
		if j.kind == jsonLine {
			// The fast path reads the whole line as one value: when it
			// takes the line, the line is well-formed.
			if spans, ok := d.DecodeJSONFast(dst, j.data, warn); ok {
				j.spans = spans
				return
			}
			if j.lineWarn, j.lineErr = j.checkLine(); j.lineWarn != "" || j.lineErr != nil {
				return
			}
		}
		j.spans, j.derr = d.DecodeJSON(dst, j.data, warn)
		if j.derr == nil && len(j.spans) == 0 && notOTLP(j.data) {
			// rare: tell "no resourceSpans" from "resources without spans"
			td, err := ju.UnmarshalTraces(j.data)
			j.empty = err == nil && td.ResourceSpans().Len() == 0
		}
	}
}

// window is the number of jobs in flight per worker.
const window = 4

// runPipeline reads the files through st and calls deliver for every
// decoded job, in file order, on the calling goroutine. Warnings go to
// opts.Warn on the same goroutine, in file order too.
func runPipeline(paths []string, opts ReadOptions, st stage, deliver func(*job) error) error {
	warn := opts.Warn
	if warn == nil {
		warn = func(string) {}
	}
	workers := st.workers()
	var (
		order = make(chan *job, workers*window) // jobs in file order
		work  = make(chan *job, workers*window) // jobs to decode
		quit  = make(chan struct{})             // closed when the consumer stops early
		wg    sync.WaitGroup
	)
	emit := func(j *job) bool {
		if j.done == nil {
			j.done = closedDone
		}
		select {
		case order <- j:
		case <-quit:
			return false
		}
		if j.done == closedDone {
			return true
		}
		select {
		case work <- j:
			return true
		case <-quit:
			return false
		}
	}
	wg.Add(1)
	go func() { // the reader
		defer wg.Done()
		defer close(order)
		defer close(work)
		maxRecord := opts.MaxRecordBytes
		if maxRecord <= 0 {
			maxRecord = DefaultMaxRecordBytes
		}
		maxRecords := opts.MaxSpans
		if maxRecords <= 0 {
			maxRecords = DefaultMaxRecords
		}
		maxBytes := opts.MaxBytes
		if maxBytes <= 0 {
			maxBytes = DefaultMaxBytes
		}
		var records int64 // lines and records of the run so far
		var read int64    // bytes of the lines, records and documents so far
		for i, p := range paths {
			fr := &fileReader{path: p, file: i, buffer: st.buffer, maxRecord: maxRecord, maxRecords: maxRecords, spanBound: opts.MaxSpans > 0, records: &records, emit: func(j *job) bool {
				if j.data != nil {
					j.done = make(chan struct{})
				}
				j.size = len(j.data)
				if read += int64(j.size); read > maxBytes {
					where := fmt.Sprintf("%s:%d", j.path, j.line)
					if j.kind == protoRecord {
						where = recordWhere(j.path, j.line, j.offset)
					}
					emit(&job{err: &TooManyBytesError{Where: where, Max: maxBytes}})
					return false
				}
				return emit(j)
			}}
			if err := fr.readFile(); err != nil {
				return // the error was sent, or the consumer stopped
			}
		}
	}()
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			decode := st.newWorker()
			for j := range work {
				decode(j)
				close(j.done)
			}
		}()
	}
	stop := func() {
		close(quit)
		for range order { // let the reader finish
		}
		wg.Wait()
	}

	warnedEmpty := -1 // file index of the last "without resourceSpans" warning
	// spans skipped for invalid ids and attributes for empty keys: one
	// warning per file, at the first place, once the file is done
	var (
		badIDs, emptyKeys int
		badWhere          string
	)
	flushBad := func() {
		if w := span.SkippedWarning(badIDs, emptyKeys); w != "" {
			warn(badWhere + ": " + w)
		}
		badIDs, emptyKeys, badWhere = 0, 0, ""
	}
	lastFile := -1
	for j := range order {
		<-j.done
		if j.file != lastFile && j.path != "" {
			flushBad()
			lastFile = j.file
		}
		switch {
		case j.warn != "":
			warn(j.warn)
			continue
		case j.lineWarn != "":
			warn(j.lineWarn)
			continue
		case j.err != nil:
			stop()
			return j.err
		case j.lineErr != nil:
			stop()
			return j.lineErr
		case j.derr != nil:
			stop()
			return j.decodeError()
		}
		for _, w := range j.warnings {
			warn(w)
		}
		if j.badIDs > 0 || j.emptyKeys > 0 {
			if badWhere == "" {
				badWhere = fmt.Sprintf("%s:%d", j.path, j.line)
				if j.kind == protoRecord {
					badWhere = recordWhere(j.path, j.line, j.offset)
				}
			}
			badIDs += j.badIDs
			emptyKeys += j.emptyKeys
		}
		if j.empty {
			switch {
			case j.kind == jsonDoc:
				warn(fmt.Sprintf("%s:%d: JSON document without resourceSpans skipped; is this OTLP trace data?", j.path, j.line))
			case warnedEmpty != j.file:
				warnedEmpty = j.file
				warn(fmt.Sprintf("%s:%d: JSON object without resourceSpans skipped; is this OTLP trace data?", j.path, j.line))
			}
		}
		if err := deliver(j); err != nil {
			stop()
			return err
		}
	}
	flushBad()
	wg.Wait()
	return nil
}

var closedDone = func() chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}()

func (j *job) decodeError() error {
	if j.kind == protoRecord {
		return fmt.Errorf("%s: invalid OTLP protobuf: %w", recordWhere(j.path, j.line, j.offset), j.derr)
	}
	return fmt.Errorf("%s:%d: invalid OTLP JSON: %v", j.path, j.line, j.derr)
}
