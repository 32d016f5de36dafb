package tracestore

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// FetchOptions are a fetch's query and bounds.
type FetchOptions struct {
	Query Query
	// TraceIDs, when set, fetches these traces whole instead of searching.
	TraceIDs []pcommon.TraceID
	Limit    int   // traces; 0: no limit
	MaxSpans int64 // refuse more spans than this (a *TooManySpansError)
	// PageSize is the most traces one search asks for (query.num_traces,
	// which must stay within the store's own limit); a window whose answer
	// holds that many is split in four and asked again (default 100).
	PageSize int
	Parallel int // requests at once (default 4)
	// Progress, when set, gets a progress line every half second
	// (a terminal: the line is rewritten with \r).
	Progress io.Writer
}

// FetchStats count what a fetch wrote.
type FetchStats struct {
	Traces, Spans int64
	Requests      int64
	Duplicates    int64 // traces returned by more than one window, written once
	Filtered      int64 // traces the store returned that the query's attributes left out
	Missing       []pcommon.TraceID
	Elapsed       time.Duration
}

// TooManySpansError stops a fetch past FetchOptions.MaxSpans.
type TooManySpansError struct{ Max int64 }

func (e *TooManySpansError) Error() string {
	return fmt.Sprintf("the store holds more than --max-spans %d spans for this query", e.Max)
}

// Sink receives each fetched trace once (one trace per Traces).
type Sink func(td ptrace.Traces) error

// job is one request: a search window or one trace id.
type job struct {
	w  window
	id pcommon.TraceID
}

type result struct {
	job    job
	traces []ptrace.Traces // one per trace id
	split  []job
	err    error
}

// Fetch runs the query against the store and hands every matching trace,
// whole and once, to sink. Searches are split into windows: each asks for
// at most PageSize traces, and a full answer (the store may have cut it)
// splits the window in four, so no trace is lost to the store's limit; a
// trace with spans in two windows comes back from both and is written once.
// Nothing is held beyond the answers in flight (Parallel of them) and the
// ids of the traces written.
func Fetch(ctx context.Context, store *Jaeger, opts FetchOptions, sink Sink) (FetchStats, error) {
	if opts.PageSize <= 0 {
		opts.PageSize = 100
	}
	if opts.Parallel <= 0 {
		opts.Parallel = 4
	}
	started := time.Now()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var queue []job
	if len(opts.TraceIDs) > 0 {
		for _, id := range opts.TraceIDs {
			queue = append(queue, job{id: id})
		}
	} else {
		queue = splitWindow(window{opts.Query.Start, opts.Query.End}, opts.Parallel)
	}
	jobs := make(chan job)
	results := make(chan result)
	for range opts.Parallel {
		go func() {
			for j := range jobs {
				r := store.do(ctx, j, opts)
				select {
				case results <- r:
				case <-ctx.Done():
					return
				}
			}
		}()
	}
	defer close(jobs)

	var st FetchStats
	seen := map[pcommon.TraceID]struct{}{}
	found := map[pcommon.TraceID]bool{}
	p := newProgress(opts.Progress, started)
	defer p.done(&st)
	inflight := 0
	for len(queue) > 0 || inflight > 0 {
		var send chan job
		var next job
		if len(queue) > 0 {
			send, next = jobs, queue[len(queue)-1]
		}
		select {
		case send <- next:
			queue = queue[:len(queue)-1]
			inflight++
		case r := <-results:
			inflight--
			st.Requests++
			if r.err != nil {
				return st, r.err
			}
			queue = append(queue, r.split...)
			for _, td := range r.traces {
				id := traceID(td)
				if len(opts.TraceIDs) > 0 {
					found[id] = true
				}
				if _, dup := seen[id]; dup {
					st.Duplicates++
					continue
				}
				if len(opts.TraceIDs) == 0 && !matches(td, opts.Query) {
					st.Filtered++
					continue
				}
				n := int64(td.SpanCount())
				if opts.MaxSpans > 0 && st.Spans+n > opts.MaxSpans {
					return st, &TooManySpansError{Max: opts.MaxSpans}
				}
				if err := sink(td); err != nil {
					return st, err
				}
				seen[id] = struct{}{}
				st.Traces++
				st.Spans += n
				p.update(&st)
				if opts.Limit > 0 && st.Traces >= int64(opts.Limit) {
					st.Elapsed = time.Since(started)
					return st, nil
				}
			}
		case <-ctx.Done():
			return st, ctx.Err()
		}
	}
	for _, id := range opts.TraceIDs {
		if !found[id] {
			st.Missing = append(st.Missing, id)
		}
	}
	st.Elapsed = time.Since(started)
	return st, nil
}

// do carries out one job.
func (j *Jaeger) do(ctx context.Context, jb job, opts FetchOptions) result {
	r := result{job: jb}
	if !jb.id.IsEmpty() {
		td, err := j.Trace(ctx, jb.id)
		if err != nil {
			r.err = err
			return r
		}
		r.traces = byTrace(td)
		return r
	}
	tds, err := j.search(ctx, opts.Query, jb.w, opts.PageSize)
	var tl *TooLargeError
	if errors.As(err, &tl) && jb.w.max.Sub(jb.w.min) > time.Microsecond {
		r.split = splitWindow(jb.w, splitParts)
		return r
	}
	var se *StatusError
	if errors.As(err, &se) && (se.Status == http.StatusBadRequest || se.Status == http.StatusInternalServerError) {
		err = fmt.Errorf("%w (the search asked for --page-size %d traces: lower it if the store allows fewer, e.g. below the memory store's max_traces)", err, opts.PageSize)
	}
	if err != nil {
		r.err = err
		return r
	}
	var traces []ptrace.Traces
	for _, td := range tds {
		traces = append(traces, byTrace(td)...)
	}
	if len(traces) >= opts.PageSize {
		if jb.w.max.Sub(jb.w.min) <= time.Microsecond {
			// A full page says the store may hold more, not that it does:
			// one trace more is asked for to tell.
			tds, err := j.search(ctx, opts.Query, jb.w, opts.PageSize+1)
			if err != nil {
				r.err = err
				return r
			}
			traces = traces[:0]
			for _, td := range tds {
				traces = append(traces, byTrace(td)...)
			}
			if len(traces) <= opts.PageSize {
				r.traces = traces
				return r
			}
			r.err = fmt.Errorf("%s: more than --page-size %d traces start within %s of %s; raise --page-size (within the store's own limit)", j.URL(), opts.PageSize, jb.w.max.Sub(jb.w.min), jb.w.min.UTC().Format(time.RFC3339Nano))
			return r
		}
		r.split = splitWindow(jb.w, splitParts)
		return r
	}
	r.traces = traces
	return r
}

// splitParts is how many windows a full one is cut into: a dense window
// reaches the page size in fewer rounds of wasted full answers than
// halving takes (tools/jaeger/fetchbench.sh: 1M spans, page 1000).
const splitParts = 4

// splitWindow cuts w into n windows (fewer when w is too short), the last
// first: the queue is a stack, so the oldest window is asked first.
func splitWindow(w window, n int) []job {
	span := w.max.Sub(w.min)
	if n < 1 || span < time.Duration(n) {
		n = 1
	}
	step := span / time.Duration(n)
	out := make([]job, 0, n)
	for i := n - 1; i >= 0; i-- {
		lo := w.min.Add(step * time.Duration(i))
		hi := lo.Add(step)
		if i == n-1 {
			hi = w.max
		}
		out = append(out, job{w: window{lo, hi}})
	}
	return out
}

// byTrace splits td into one Traces per trace id, in order of first
// appearance, keeping each span's resource and scope.
func byTrace(td ptrace.Traces) []ptrace.Traces {
	var order []pcommon.TraceID
	out := map[pcommon.TraceID]ptrace.Traces{}
	for _, rs := range td.ResourceSpans().All() {
		for _, ss := range rs.ScopeSpans().All() {
			var last pcommon.TraceID
			var dst ptrace.SpanSlice
			have := false
			for _, s := range ss.Spans().All() {
				id := s.TraceID()
				if !have || id != last {
					have = true
					t, ok := out[id]
					if !ok {
						t = ptrace.NewTraces()
						out[id] = t
						order = append(order, id)
					}
					dst = scopeIn(t, rs, ss)
					last = id
				}
				s.CopyTo(dst.AppendEmpty())
			}
		}
	}
	res := make([]ptrace.Traces, len(order))
	for i, id := range order {
		res[i] = out[id]
	}
	return res
}

// scopeIn returns the span slice of t for rs's resource and ss's scope,
// adding them when t's last resource and scope are not these.
func scopeIn(t ptrace.Traces, rs ptrace.ResourceSpans, ss ptrace.ScopeSpans) ptrace.SpanSlice {
	rss := t.ResourceSpans()
	var dr ptrace.ResourceSpans
	if n := rss.Len(); n > 0 && rss.At(n-1).SchemaUrl() == rs.SchemaUrl() && equalMaps(rss.At(n-1).Resource().Attributes(), rs.Resource().Attributes()) {
		dr = rss.At(n - 1)
	} else {
		dr = rss.AppendEmpty()
		rs.Resource().CopyTo(dr.Resource())
		dr.SetSchemaUrl(rs.SchemaUrl())
	}
	sss := dr.ScopeSpans()
	if n := sss.Len(); n > 0 {
		last := sss.At(n - 1)
		if last.SchemaUrl() == ss.SchemaUrl() && last.Scope().Name() == ss.Scope().Name() && last.Scope().Version() == ss.Scope().Version() && equalMaps(last.Scope().Attributes(), ss.Scope().Attributes()) {
			return last.Spans()
		}
	}
	ds := sss.AppendEmpty()
	ss.Scope().CopyTo(ds.Scope())
	ds.SetSchemaUrl(ss.SchemaUrl())
	return ds.Spans()
}

func equalMaps(a, b pcommon.Map) bool { return a.Equal(b) }

// traceID is the trace id of td's first span (td holds one trace).
func traceID(td ptrace.Traces) pcommon.TraceID {
	for _, rs := range td.ResourceSpans().All() {
		for _, ss := range rs.ScopeSpans().All() {
			for _, s := range ss.Spans().All() {
				return s.TraceID()
			}
		}
	}
	return pcommon.TraceID{}
}

// matches applies the query to a trace as Jaeger does: one span must
// belong to the service, have the operation's name, start within the
// window and carry every attribute.
func matches(td ptrace.Traces, q Query) bool {
	for _, rs := range td.ResourceSpans().All() {
		res := rs.Resource().Attributes()
		if q.Service != "" {
			if v, ok := res.Get("service.name"); !ok || v.AsString() != q.Service {
				continue
			}
		}
		for _, ss := range rs.ScopeSpans().All() {
			for _, s := range ss.Spans().All() {
				if q.Operation != "" && s.Name() != q.Operation {
					continue
				}
				t := s.StartTimestamp().AsTime()
				if (!q.Start.IsZero() && t.Before(q.Start)) || (!q.End.IsZero() && t.After(q.End)) {
					continue
				}
				if hasAttrs(q.Attrs, s, ss.Scope().Attributes(), res) {
					return true
				}
			}
		}
	}
	return false
}

func hasAttrs(want map[string]string, s ptrace.Span, scope, res pcommon.Map) bool {
	for k, v := range want {
		if k == errorAttr {
			// Jaeger's rule: error=true is the status Error, anything
			// else the status Ok; not an attribute.
			code := ptrace.StatusCodeOk
			if v == "true" {
				code = ptrace.StatusCodeError
			}
			if s.Status().Code() != code {
				return false
			}
			continue
		}
		if !attrIs(s.Attributes(), k, v) && !attrIs(scope, k, v) && !attrIs(res, k, v) && !eventAttr(s, k, v) {
			return false
		}
	}
	return true
}

// errorAttr is the attribute Jaeger's search reads as the span's status.
const errorAttr = "error"

func eventAttr(s ptrace.Span, k, v string) bool {
	for _, e := range s.Events().All() {
		if attrIs(e.Attributes(), k, v) {
			return true
		}
	}
	return false
}

func attrIs(m pcommon.Map, k, v string) bool {
	got, ok := m.Get(k)
	return ok && got.AsString() == v
}

// ParseTraceID parses a trace id of up to 32 hex digits, in either case;
// a shorter one is left-padded with zeros, as Jaeger reads it (its UI shows
// a 64-bit id, whose high half is zero, as 16 digits).
func ParseTraceID(s string) (pcommon.TraceID, error) {
	var id pcommon.TraceID
	if s == "" || len(s) > 2*len(id) {
		return id, fmt.Errorf("%q is not a trace id (up to 32 hex digits)", s)
	}
	b, err := hex.DecodeString(strings.Repeat("0", 2*len(id)-len(s)) + s)
	if err != nil {
		return id, fmt.Errorf("%q is not a trace id (up to 32 hex digits)", s)
	}
	copy(id[:], b)
	if id.IsEmpty() {
		return id, fmt.Errorf("%q is the empty trace id", s)
	}
	return id, nil
}

// progress prints a fetch's progress on a terminal: at the first trace,
// then at most every half second.
type progress struct {
	w       io.Writer
	started time.Time
	last    time.Time
	printed bool
}

func newProgress(w io.Writer, started time.Time) *progress {
	return &progress{w: w, started: started}
}

func (p *progress) update(st *FetchStats) {
	if p.w == nil {
		return
	}
	now := time.Now()
	if now.Sub(p.last) < 500*time.Millisecond {
		return
	}
	p.last = now
	p.printed = true
	fmt.Fprintf(p.w, "\rllmcheck: fetched %d traces, %d spans (%.0f spans/s)…", st.Traces, st.Spans, rate(st.Spans, now.Sub(p.started)))
}

func (p *progress) done(*FetchStats) {
	if p.printed {
		fmt.Fprint(p.w, "\r\033[K")
	}
}

// rate is n per second over d.
func rate(n int64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}

// Rate is the spans per second of a fetch.
func (st FetchStats) Rate() float64 { return rate(st.Spans, st.Elapsed) }
