package span

import (
	"sort"
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
}

// Run is every span of one recorded run, grouped by trace.
type Run struct {
	Spans  []*Span
	Traces []*Trace // in order of first start time

	traces map[string]*Trace
	byID   map[spanKey]*Span
}

type spanKey struct{ trace, span string }

// NewRun indexes spans by trace and by id. The slice is not copied.
func NewRun(spans []Span) *Run {
	r := &Run{
		Spans:  make([]*Span, len(spans)),
		traces: make(map[string]*Trace),
		byID:   make(map[spanKey]*Span, len(spans)),
	}
	for i := range spans {
		s := &spans[i]
		r.Spans[i] = s
		r.byID[spanKey{s.TraceID, s.SpanID}] = s
		t := r.traces[s.TraceID]
		if t == nil {
			t = &Trace{ID: s.TraceID}
			r.traces[s.TraceID] = t
			r.Traces = append(r.Traces, t)
		}
		t.Spans = append(t.Spans, s)
	}
	for _, t := range r.Traces {
		sort.SliceStable(t.Spans, func(i, j int) bool { return t.Spans[i].StartUnixNano < t.Spans[j].StartUnixNano })
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
	sort.SliceStable(r.Traces, func(i, j int) bool { return r.Traces[i].StartUnixNano < r.Traces[j].StartUnixNano })
	return r
}

// Trace returns the trace with the given id, or nil.
func (r *Run) Trace(id string) *Trace { return r.traces[id] }

// Parent returns the recorded parent of s, or nil.
func (r *Run) Parent(s *Span) *Span {
	if s.ParentSpanID == "" {
		return nil
	}
	return r.byID[spanKey{s.TraceID, s.ParentSpanID}]
}
