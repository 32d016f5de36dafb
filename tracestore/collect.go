package tracestore

import (
	"context"
	"fmt"
	"sort"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// CollectOptions bound the wait for traces to be complete in the store.
type CollectOptions struct {
	// Settle is how long a trace's span count in the store must stay the
	// same before the trace is complete; Timeout bounds the whole wait.
	Settle, Timeout time.Duration
	Parallel        int // requests at once (default 4)
}

// Incomplete is a trace that was not complete when the wait ended.
type Incomplete struct {
	TraceID string `json:"trace_id"`
	Reason  string `json:"reason"`
}

// CollectStats say what a collection found.
type CollectStats struct {
	Traces     int          // traces asked for
	Incomplete []Incomplete // by trace id
}

// traceState is what the polls saw of one trace.
type traceState struct {
	id      pcommon.TraceID
	count   int // spans the store held at the last poll; -1 before
	changed time.Time
	err     error
	last    ptrace.Traces
	has     bool // last was fetched
	done    bool
}

// Collect polls the store for the traces with ids until each one's span
// count has been the same for Settle (complete), or Timeout has passed
// (incomplete: the reason names the last count or the store's error).
// Each trace goes to sink once, as the store last returned it, complete or
// not: an incomplete trace is reported, never dropped. A trace the store
// does not hold (404) counts as 0 spans.
func Collect(ctx context.Context, store *Jaeger, ids []pcommon.TraceID, opts CollectOptions, sink Sink) (CollectStats, error) {
	if opts.Parallel <= 0 {
		opts.Parallel = 4
	}
	poll := min(max(opts.Settle/4, 50*time.Millisecond), time.Second)
	deadline := time.Now().Add(opts.Timeout)
	states := make([]*traceState, len(ids))
	for i, id := range ids {
		states[i] = &traceState{id: id, count: -1}
	}
	st := CollectStats{Traces: len(ids)}
	for {
		var open []*traceState
		for _, s := range states {
			if !s.done {
				open = append(open, s)
			}
		}
		if len(open) == 0 {
			return st, nil
		}
		final := !time.Now().Before(deadline)
		if err := pollAll(ctx, store, open, opts.Parallel); err != nil {
			return st, err
		}
		now := time.Now()
		for _, s := range open {
			settled := s.err == nil && s.count >= 0 && now.Sub(s.changed) >= opts.Settle
			if !settled && !final {
				continue
			}
			s.done = true
			if s.has && s.last.SpanCount() > 0 {
				if err := sink(s.last); err != nil {
					return st, err
				}
			}
			s.last, s.has = ptrace.Traces{}, false
			if !settled {
				st.Incomplete = append(st.Incomplete, Incomplete{TraceID: hexID(s.id), Reason: s.reason(opts.Settle)})
			}
		}
		if final {
			sort.Slice(st.Incomplete, func(i, j int) bool { return st.Incomplete[i].TraceID < st.Incomplete[j].TraceID })
			return st, nil
		}
		wait := min(poll, time.Until(deadline))
		if wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return st, ctx.Err()
			case <-t.C:
			}
		}
	}
}

func (s *traceState) reason(settle time.Duration) string {
	if s.err != nil {
		return s.err.Error()
	}
	return fmt.Sprintf("%d spans in the store, still changing within the last %s", s.count, settle)
}

// pollAll asks the store for each open trace, Parallel at a time, and
// updates its state.
func pollAll(ctx context.Context, store *Jaeger, open []*traceState, parallel int) error {
	sem := make(chan struct{}, parallel)
	done := make(chan struct{}, len(open))
	for _, s := range open {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			return ctx.Err()
		}
		go func() {
			defer func() { <-sem; done <- struct{}{} }()
			td, err := store.Trace(ctx, s.id)
			now := time.Now()
			if err != nil {
				s.err = err
				return
			}
			s.err = nil
			n := td.SpanCount()
			if n != s.count {
				s.count, s.changed = n, now
			}
			s.last, s.has = td, true
		}()
	}
	for range open {
		<-done
	}
	return ctx.Err()
}

func hexID(id pcommon.TraceID) string { return id.String() }
