package replay

import (
	"os"
	"sync"
	"unsafe"

	"github.com/llmcheck/llmcheck/span"
)

// ReadSpans is Read, delivering each batch as normalised spans instead of
// ptrace.Traces: fn receives exactly what span.FromTracesWarn would append
// for the batch, and opts.Warn also receives FromTracesWarn's warnings, in
// file order among the reading warnings. fn owns the slice. Spans without
// a valid trace id or span id, and attributes with an empty key, are
// skipped (span.Decoder.TakeSkipped): instead of FromTracesWarn's warning
// per batch, opts.Warn gets one per file, "FILE:LINE: " (the first line or
// record that held one) and span.SkippedWarning's text.
//
// The batches are decoded (see span.Decoder) on all cores, a bounded window
// of them at a time; fn is called from the calling goroutine only, in file
// order.
//
// With opts.MaxSpans, the read stops with a *TooManySpansError before
// delivering the batch that takes the count past it.
func ReadSpans(paths []string, opts ReadOptions, fn func(spans []span.Span) error) error {
	st := spanStage{warn: opts.Warn != nil}
	var n int64
	return runPipeline(paths, opts, st, func(j *job) error {
		n += int64(len(j.spans))
		if opts.MaxSpans > 0 && n > opts.MaxSpans {
			return &TooManySpansError{Paths: paths, Max: opts.MaxSpans}
		}
		return fn(j.spans)
	})
}

// LoadSpans reads every span of the files, in file order: the spans
// span.FromTracesWarn gives for every batch Read delivers, concatenated.
// The result is ready for span.NewRun.
//
// With opts.MaxSpans, LoadSpans stops with a *TooManySpansError as soon as
// the spans read exceed it.
func LoadSpans(paths []string, opts ReadOptions) ([]span.Span, error) {
	var (
		all   []span.Span
		total int64 // bytes of the files, to size the result
		read  int64
	)
	for _, p := range paths {
		if fi, err := os.Stat(p); err == nil {
			total += fi.Size()
		}
	}
	st := spanStage{warn: opts.Warn != nil, pool: new(sync.Pool)}
	err := runPipeline(paths, opts, st, func(j *job) error {
		read += int64(j.size)
		if opts.MaxSpans > 0 && int64(len(all)+len(j.spans)) > opts.MaxSpans {
			return &TooManySpansError{Paths: paths, Max: opts.MaxSpans}
		}
		if need := len(all) + len(j.spans); need > cap(all) {
			// Grow to the estimated final count (bytes per span so far
			// times the size of the files) rather than doubling: a
			// million spans are 400 MB of Span structs, and a doubling
			// slice would hold up to twice that.
			est := 2 * need // gzip: the file sizes say nothing
			if read > 0 && total > read {
				est = max(int(float64(need)*float64(total)/float64(read)*1.02), need+need/8)
			}
			est = max(est, 64)
			if opts.MaxSpans > 0 {
				est = max(min(est, int(opts.MaxSpans)), need)
			}
			grown := make([]span.Span, len(all), est)
			prefault(grown[len(all):cap(grown)])
			copy(grown, all)
			all = grown
		}
		all = append(all, j.spans...)
		st.recycle(j.spans)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return all, nil
}

// prefault writes a non-pointer word of every page of spans before the
// spans are stored. Fresh memory from the OS is first mapped to the
// kernel's zero page when read, and the garbage collector's write barrier
// reads every pointer slot before writing it: without this, storing the
// spans of a large run while a collection runs costs a copy-on-write
// fault and a TLB shootdown on every core per page (a third of the CPU
// time of reading 1M spans on a 2-core VM).
func prefault(spans []span.Span) {
	const size = int(unsafe.Sizeof(span.Span{}))
	step := max(1, 4096/size)
	for i := 0; i < len(spans); i += step {
		spans[i].StartUnixNano = 0
	}
	if n := len(spans); n > 0 {
		spans[n-1].StartUnixNano = 0
	}
}
