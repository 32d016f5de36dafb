package span

import (
	"cmp"
	"runtime"
	"slices"
	"sync"
	"unsafe"
)

// Trace is the spans of one trace id, in start order.
type Trace struct {
	ID    string
	Spans []*Span
	// Root is the span without a parent (the earliest one if there are
	// several); when every span has a parent that was not recorded, the
	// earliest span stands in.
	Root          *Span
	StartUnixNano uint64
	EndUnixNano   uint64
	DurationMS    float64

	idx int32 // index while NewRun groups spans
}

// Run is every span of one recorded run, grouped by trace.
type Run struct {
	Spans  []*Span
	Traces []*Trace // in order of first start time

	traces map[string]*Trace
	// spans is the slice given to NewRun; parent[i] is the index in it of
	// the parent of spans[i], or -1.
	spans  []Span
	parent []int32
	// dup[i] says spans[i] repeats the span id of an earlier span of its
	// trace; nil when no span does.
	dup []bool
	// cut[i] says the parent link of spans[i] was cut because it closed a
	// cycle (a span that is its own ancestor); nil when none was.
	cut []bool
}

type spanKey struct{ trace, span string }

// NewRun indexes spans by trace and by id. The slice is not copied; the
// ids are read once (changing them afterwards does not re-index).
//
// When several spans of a trace share a span id, Parent resolves to the
// last of them. Parent links never form a cycle: a span whose parent is
// itself or one of its descendants (untrusted data can say anything) has
// that link cut, so every walk up the ancestors ends; Validate counts
// them.
func NewRun(spans []Span) *Run {
	r := &Run{Spans: make([]*Span, len(spans)), spans: spans}
	if len(spans) == 0 {
		r.traces = map[string]*Trace{}
		return r
	}

	// Group by trace id. Spans of a trace usually come together, so the
	// number of trace id changes bounds the number of traces, and a span
	// with the previous span's trace id needs no lookup.
	changes := 1
	for i := 1; i < len(spans); i++ {
		if spans[i].TraceID != spans[i-1].TraceID {
			changes++
		}
	}
	r.traces = make(map[string]*Trace, changes)
	traceOf := make([]int32, len(spans)) // trace index of each span
	var (
		traces []Trace // backing of r.Traces
		counts []int32
		cur    = int32(-1)
	)
	// cap(traces) bounds the number of traces: appending never moves
	// them, so r.traces can point into it.
	traces = make([]Trace, 0, changes)
	counts = make([]int32, 0, changes)
	for i := range spans {
		s := &spans[i]
		r.Spans[i] = s
		if i == 0 || s.TraceID != spans[i-1].TraceID {
			t := r.traces[s.TraceID]
			if t == nil {
				traces = append(traces, Trace{ID: s.TraceID, idx: int32(len(traces))})
				counts = append(counts, 0)
				t = &traces[len(traces)-1]
				r.traces[s.TraceID] = t
			}
			cur = t.idx
		}
		traceOf[i] = cur
		counts[cur]++
	}

	// Carve every trace's span list from one array, in recording order.
	all := make([]*Span, len(spans))
	off := 0
	for ti := range traces {
		n := int(counts[ti])
		traces[ti].Spans = all[off : off : off+n]
		off += n
	}
	for i := range spans {
		t := &traces[traceOf[i]]
		t.Spans = append(t.Spans, &spans[i])
	}
	r.Traces = make([]*Trace, len(traces))
	for ti := range traces {
		r.Traces[ti] = &traces[ti]
	}

	// Link parents, sort and time every trace: traces are independent,
	// so a large run is split among the cores.
	r.parent = make([]int32, len(spans))
	parts := 1
	if len(spans) >= parallelSpans {
		parts = min(runtime.GOMAXPROCS(0), len(r.Traces))
	}
	dups := make([][]int32, parts)
	cuts := make([][]int32, parts)
	// walk state of every span for the cycle check; traces are disjoint,
	// so the parts share it without a race
	state := make([]uint8, len(spans))
	var wg sync.WaitGroup
	for p := range parts {
		lo, hi := p*len(r.Traces)/parts, (p+1)*len(r.Traces)/parts
		wg.Go(func() { dups[p], cuts[p] = r.finishTraces(r.Traces[lo:hi], state) })
	}
	wg.Wait()
	for _, d := range dups {
		for _, i := range d {
			if r.dup == nil {
				r.dup = make([]bool, len(spans))
			}
			r.dup[i] = true
		}
	}
	for _, c := range cuts {
		for _, i := range c {
			if r.cut == nil {
				r.cut = make([]bool, len(spans))
			}
			r.cut[i] = true
		}
	}
	if !slices.IsSortedFunc(r.Traces, traceByStart) {
		slices.SortStableFunc(r.Traces, traceByStart)
	}
	return r
}

// parallelSpans is the run size from which NewRun uses every core (a
// variable for the tests).
var parallelSpans = 1 << 16

// finishTraces links, sorts and times the traces, returning the indices of
// the spans that repeat an earlier span id of their trace and of the spans
// whose parent link was cut to break a cycle.
func (r *Run) finishTraces(traces []*Trace, state []uint8) (dups, cuts []int32) {
	var ids map[string]int32
	for _, t := range traces {
		// parents, before sorting: among spans sharing an id the last
		// recorded one is the parent (what a map filled in order gives)
		ids, dups = r.link(t.Spans, ids, dups)
		cuts = r.cutCycles(t.Spans, state, cuts)
		r.markUsage(t.Spans) // after the cycles are cut

		if !slices.IsSortedFunc(t.Spans, byStart) {
			slices.SortStableFunc(t.Spans, byStart)
		}
		t.StartUnixNano, t.EndUnixNano = t.Spans[0].StartUnixNano, t.Spans[0].EndUnixNano
		for _, s := range t.Spans {
			if s.EndUnixNano > t.EndUnixNano {
				t.EndUnixNano = s.EndUnixNano
			}
			if t.Root == nil && s.ParentSpanID == "" {
				t.Root = s
			}
		}
		if t.Root == nil {
			t.Root = t.Spans[0]
		}
		if t.EndUnixNano > t.StartUnixNano {
			t.DurationMS = float64(t.EndUnixNano-t.StartUnixNano) / 1e6
		}
	}
	return dups, cuts
}

// cutCycles breaks every cycle of parent links among spans (one trace, in
// recording order), appending to cuts the spans whose link it removed:
// walking up from each span not seen yet, the link that leads back into
// the walk is cut. Every span is visited once. state is 0 for a span not
// seen, 1 while it is on the current walk, 2 once its ancestors are known
// to end.
func (r *Run) cutCycles(spans []*Span, state []uint8, cuts []int32) []int32 {
	for _, s := range spans {
		i := r.index(s)
		if state[i] != 0 {
			continue
		}
		// walk up, marking the path
		cur := i
		for {
			state[cur] = 1
			p := r.parent[cur]
			if p < 0 || state[p] == 2 {
				break
			}
			if state[p] == 1 { // back into this walk: a cycle
				r.parent[cur] = -1
				cuts = append(cuts, cur)
				break
			}
			cur = p
		}
		// mark the path done
		for cur := i; cur >= 0 && state[cur] == 1; cur = r.parent[cur] {
			state[cur] = 2
		}
	}
	return cuts
}

// isCut reports whether the parent link of s was cut to break a cycle.
func (r *Run) isCut(s *Span) bool {
	i := r.index(s)
	return i >= 0 && r.cut != nil && r.cut[i]
}

// markUsage sets usageBelow (see Span.CountsUsage) on the spans of one
// trace that have a descendant reporting usage, walking up from every
// span that reports usage. A walk stops at a span already marked (its
// ancestors are marked too) and where the parent links loop back to the
// span it started from, so a cycle of parent ids cannot make it spin.
func (r *Run) markUsage(spans []*Span) {
	for _, s := range spans {
		s.usageBelow = false
	}
	for _, s := range spans {
		if !s.ReportsUsage() {
			continue
		}
		start := r.index(s)
		if p := r.parent[start]; p >= 0 && p != start {
			// one call, one span (see Span.Wrapper)
			if a := &r.spans[p]; a.Operation == s.Operation && isModelCall(a.Operation) && !a.ReportsUsage() {
				a.Operation, a.Wrapper = "", true
			}
		}
		for p := r.parent[start]; p >= 0 && p != start; p = r.parent[p] {
			a := &r.spans[p]
			if a.usageBelow {
				break
			}
			a.usageBelow = true
		}
	}
}

// isModelCall reports whether op is a model call's operation, the ones a
// wrapper span can repeat (see Span.Wrapper); agents, tools and
// workflows nest in spans of their own operation legitimately.
func isModelCall(op string) bool {
	switch op {
	case OpChat, OpTextCompletion, OpGenerateContent, OpEmbeddings:
		return true
	}
	return false
}

func byStart(a, b *Span) int { return cmp.Compare(a.StartUnixNano, b.StartUnixNano) }

func traceByStart(a, b *Trace) int { return cmp.Compare(a.StartUnixNano, b.StartUnixNano) }

// smallTrace is the span count up to which link compares every pair
// rather than filling a map.
const smallTrace = 16

// link sets the parent index of the spans of one trace (in recording
// order) and appends to dups the spans that repeat an earlier span id. ids
// is a scratch map, returned for reuse.
func (r *Run) link(spans []*Span, ids map[string]int32, dups []int32) (map[string]int32, []int32) {
	if len(spans) <= smallTrace {
		for j, s := range spans {
			i := r.index(s)
			p := int32(-1)
			if s.ParentSpanID != "" {
				for _, c := range spans {
					if c.SpanID == s.ParentSpanID {
						p = r.index(c)
					}
				}
			}
			r.parent[i] = p
			for _, c := range spans[:j] {
				if c.SpanID == s.SpanID {
					dups = append(dups, i)
					break
				}
			}
		}
		return ids, dups
	}
	if ids == nil {
		ids = make(map[string]int32, len(spans))
	} else {
		clear(ids)
	}
	for _, s := range spans {
		i := r.index(s)
		if _, ok := ids[s.SpanID]; ok {
			dups = append(dups, i)
		}
		ids[s.SpanID] = i
	}
	for _, s := range spans {
		p := int32(-1)
		if s.ParentSpanID != "" {
			if i, ok := ids[s.ParentSpanID]; ok {
				p = i
			}
		}
		r.parent[r.index(s)] = p
	}
	return ids, dups
}

// isDup reports whether s repeats the span id of a span recorded before it
// in its trace; ok is false when s is not one of the run's spans.
func (r *Run) isDup(s *Span) (dup, ok bool) {
	i := r.index(s)
	if i < 0 {
		return false, false
	}
	return r.dup != nil && r.dup[i], true
}

// index is the index of s in r.spans, or -1 when s is not one of them.
func (r *Run) index(s *Span) int32 {
	if len(r.spans) == 0 {
		return -1
	}
	base := uintptr(unsafe.Pointer(unsafe.SliceData(r.spans)))
	p := uintptr(unsafe.Pointer(s))
	const size = unsafe.Sizeof(Span{})
	if p < base || p >= base+uintptr(len(r.spans))*size || (p-base)%size != 0 {
		return -1
	}
	return int32((p - base) / size)
}

// Trace returns the trace with the given id, or nil.
func (r *Run) Trace(id string) *Trace { return r.traces[id] }

// Parent returns the recorded parent of s, or nil.
func (r *Run) Parent(s *Span) *Span {
	if s.ParentSpanID == "" {
		return nil
	}
	if i := r.index(s); i >= 0 {
		if p := r.parent[i]; p >= 0 {
			return &r.spans[p]
		}
		return nil
	}
	// not one of the run's spans (a copy): look its parent up by ids
	t := r.traces[s.TraceID]
	if t == nil {
		return nil
	}
	var found, self *Span
	for _, c := range t.Spans {
		if c.SpanID == s.ParentSpanID && (found == nil || r.index(c) > r.index(found)) {
			found = c
		}
		if c.SpanID == s.SpanID && (self == nil || r.index(c) > r.index(self)) {
			self = c
		}
	}
	// a copy of a span whose link was cut (the last recorded one with
	// its ids) has no parent either
	if self != nil && self.ParentSpanID == s.ParentSpanID && r.isCut(self) {
		return nil
	}
	return found
}
