package span

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// refRun is NewRun as it was, with maps: the reference for
// TestNewRunMatchesReference.
type refRun struct {
	traces []*Trace
	byID   map[spanKey]*Span
	byTID  map[string]*Trace
	cut    map[*Span]bool // parent links cut to break a cycle
}

func newRefRun(spans []Span) *refRun {
	r := &refRun{byID: map[spanKey]*Span{}, byTID: map[string]*Trace{}, cut: map[*Span]bool{}}
	for i := range spans {
		s := &spans[i]
		r.byID[spanKey{s.TraceID, s.SpanID}] = s
		t := r.byTID[s.TraceID]
		if t == nil {
			t = &Trace{ID: s.TraceID}
			r.byTID[s.TraceID] = t
			r.traces = append(r.traces, t)
		}
		t.Spans = append(t.Spans, s)
	}
	// cut cycles: walk up from every span in recording order, cutting the
	// link that leads back into the walk
	done := map[*Span]bool{}
	for _, t := range r.traces {
		for _, s := range t.Spans {
			path := map[*Span]bool{}
			for cur := s; cur != nil && !done[cur]; {
				path[cur] = true
				p := r.parent(cur)
				if p != nil && path[p] {
					r.cut[cur] = true
					break
				}
				cur = p
			}
			for c := range path {
				done[c] = true
			}
		}
	}
	for _, t := range r.traces {
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
	sort.SliceStable(r.traces, func(i, j int) bool { return r.traces[i].StartUnixNano < r.traces[j].StartUnixNano })
	return r
}

func (r *refRun) parent(s *Span) *Span {
	if s.ParentSpanID == "" || r.cut[s] {
		return nil
	}
	return r.byID[spanKey{s.TraceID, s.ParentSpanID}]
}

// parentOfCopy is the parent of a copy of s: that of the last span with
// its ids.
func (r *refRun) parentOfCopy(s *Span) *Span {
	if last := r.byID[spanKey{s.TraceID, s.SpanID}]; last.ParentSpanID == s.ParentSpanID && r.cut[last] {
		return nil
	}
	if s.ParentSpanID == "" {
		return nil
	}
	return r.byID[spanKey{s.TraceID, s.ParentSpanID}]
}

// refValidate is Validate with the map of seen ids for every run.
func refValidate(spans []*Span, parent func(*Span) *Span) []string {
	var got []string
	seen := map[spanKey]bool{}
	dups, orphans := 0, 0
	for _, s := range spans {
		k := spanKey{s.TraceID, s.SpanID}
		if seen[k] {
			dups++
			if dups <= 5 {
				got = append(got, "dup "+s.TraceID+"/"+s.SpanID+" "+s.Name)
			}
		}
		seen[k] = true
		if s.ParentSpanID != "" && parent(s) == nil {
			orphans++
		}
	}
	return append(got, fmt.Sprint(dups, orphans))
}

// TestNewRunMatchesReference compares NewRun with the map-based reference
// on random runs: interleaved traces, small and large traces (both ways of
// linking parents), repeated span ids, missing parents, equal start times.
func TestNewRunMatchesReference(t *testing.T) {
	t.Run("serial", testNewRunMatchesReference)
	defer func(n int) { parallelSpans = n }(parallelSpans)
	parallelSpans = 1
	t.Run("parallel", testNewRunMatchesReference)
}

func testNewRunMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 300 {
		nTraces := 1 + rng.IntN(6)
		maxIDs := 2 + rng.IntN(40)
		n := rng.IntN(120)
		spans := make([]Span, n)
		for i := range spans {
			s := &spans[i]
			s.TraceID = fmt.Sprint("t", rng.IntN(nTraces))
			if rng.IntN(3) == 0 && i > 0 {
				s.TraceID = spans[i-1].TraceID
			}
			s.SpanID = fmt.Sprint("s", rng.IntN(maxIDs))
			switch rng.IntN(4) {
			case 0:
			case 1:
				s.ParentSpanID = "missing"
			default:
				s.ParentSpanID = fmt.Sprint("s", rng.IntN(maxIDs))
			}
			s.Name = fmt.Sprint("n", i)
			s.StartUnixNano = uint64(rng.IntN(20))
			s.EndUnixNano = s.StartUnixNano + uint64(rng.IntN(20))
		}
		t.Run(fmt.Sprint(round), func(t *testing.T) {
			r := NewRun(spans)
			ref := newRefRun(spans)
			require.Len(t, r.Spans, n)
			for i := range spans {
				require.Same(t, &spans[i], r.Spans[i])
			}
			require.Equal(t, len(ref.traces), len(r.Traces))
			for i, rt := range ref.traces {
				got := r.Traces[i]
				assert.Equal(t, rt.ID, got.ID)
				assert.Equal(t, rt.Spans, got.Spans)
				assert.Same(t, rt.Root, got.Root)
				assert.Equal(t, rt.StartUnixNano, got.StartUnixNano)
				assert.Equal(t, rt.EndUnixNano, got.EndUnixNano)
				assert.Equal(t, rt.DurationMS, got.DurationMS)
				assert.Same(t, got, r.Trace(rt.ID))
			}
			assert.Nil(t, r.Trace("nope"))
			for i := range spans {
				s := &spans[i]
				assert.Same(t, ref.parent(s), r.Parent(s), "span %d", i)
				cp := *s // not one of the run's spans: looked up by ids
				assert.Same(t, ref.parentOfCopy(s), r.Parent(&cp), "copy of span %d", i)
			}
			own := func() []string {
				var got []string
				dups := 0
				for _, s := range r.Spans {
					if d, _ := r.isDup(s); d {
						dups++
						if dups <= 5 {
							got = append(got, "dup "+s.TraceID+"/"+s.SpanID+" "+s.Name)
						}
					}
				}
				orphans := 0
				for _, s := range r.Spans {
					if s.ParentSpanID != "" && r.Parent(s) == nil {
						orphans++
					}
				}
				return append(got, fmt.Sprint(dups, orphans))
			}
			assert.Equal(t, refValidate(r.Spans, ref.parent), own())

			// Validate with NewRun's duplicate flags, and with the map of
			// seen ids (the path for spans that are not the run's own)
			var want, got []string
			Validate(r, func(m string) { got = append(got, m) })
			r2 := NewRun(spans)
			r2.spans, r2.parent, r2.dup = nil, nil, nil
			Validate(r2, func(m string) { want = append(want, m) })
			// only the run's own spans know which links were cut
			got = slices.DeleteFunc(got, func(m string) bool {
				return strings.Contains(m, "one of its descendants") || strings.Contains(m, "their own ancestor")
			})
			assert.Equal(t, len(want), len(got))
			assert.Equal(t, strings.Join(want, "\n"), strings.Join(got, "\n"))
		})
	}
}
