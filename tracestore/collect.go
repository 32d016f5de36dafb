package tracestore

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// CollectOptions bound the wait for traces to be complete in the store.
type CollectOptions struct {
	// Settle is how long a trace's span count in the store must stay the
	// same before the trace is complete; Timeout bounds the whole wait.
	Settle, Timeout time.Duration
	// LastPoll bounds the poll at the timeout (default 10s): the whole
	// wait ends by Timeout+LastPoll, even when the store never answers.
	LastPoll time.Duration
	Parallel int // requests at once (default 4)
}

// DefaultLastPoll is CollectOptions.LastPoll when not set.
const DefaultLastPoll = 10 * time.Second

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
	done    bool
}

// Collect polls the store for the traces with ids until each one's span
// count has been the same for Settle (complete), or Timeout has passed
// (incomplete: the reason names the last count or the store's error).
// Each trace goes to sink once, as the store last returned it, complete or
// not (a trace whose last request failed has no spans to give): an
// incomplete trace is reported, never dropped. A trace the store does not
// hold (404) counts as 0 spans. Answers are not kept between polls: memory
// holds Parallel answers, whatever the number of traces.
func Collect(ctx context.Context, store *Jaeger, ids []pcommon.TraceID, opts CollectOptions, sink Sink) (CollectStats, error) {
	if opts.Parallel <= 0 {
		opts.Parallel = 4
	}
	if opts.LastPoll <= 0 {
		opts.LastPoll = DefaultLastPoll
	}
	poll := min(max(opts.Settle/4, 50*time.Millisecond), time.Second)
	deadline := time.Now().Add(opts.Timeout)
	// Requests end by the deadline plus the last poll's bound: a store that
	// never answers does not hold the run.
	reqCtx, cancel := context.WithDeadline(ctx, deadline.Add(opts.LastPoll))
	defer cancel()
	late := fmt.Errorf("no answer from %s within --collect-timeout %s (and %s for the last poll)", store.URL(), opts.Timeout, opts.LastPoll)
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
		// Each answer is handled as it comes: written when the trace is
		// complete (or at the deadline), else dropped, so memory holds
		// only the answers in flight, whatever the number of traces.
		var mu sync.Mutex
		var sinkErr error
		err := pollAll(ctx, reqCtx, late, store, open, opts.Parallel, func(s *traceState, td ptrace.Traces) {
			mu.Lock()
			defer mu.Unlock()
			settled := s.err == nil && s.count >= 0 && time.Since(s.changed) >= opts.Settle
			if sinkErr != nil || (!settled && !final) {
				return
			}
			s.done = true
			if s.err == nil && td.SpanCount() > 0 {
				sinkErr = sink(td)
			}
			if !settled {
				st.Incomplete = append(st.Incomplete, Incomplete{TraceID: hexID(s.id), Reason: s.reason(opts.Settle)})
			}
		})
		if sinkErr != nil {
			return st, sinkErr
		}
		if err != nil {
			return st, err
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

// pollAll asks the store for each open trace, Parallel at a time, updates
// its state and hands the answer (empty after an error) to handle. The
// requests run under reqCtx; one it cuts off fails with late.
func pollAll(ctx, reqCtx context.Context, late error, store *Jaeger, open []*traceState, parallel int, handle func(*traceState, ptrace.Traces)) error {
	sem := make(chan struct{}, parallel)
	var wg sync.WaitGroup
	defer wg.Wait()
	for _, s := range open {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			return ctx.Err()
		}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			td, err := store.Trace(reqCtx, s.id)
			if err != nil {
				if reqCtx.Err() != nil && ctx.Err() == nil {
					err = late
				}
				s.err = err
				handle(s, ptrace.NewTraces())
				return
			}
			s.err = nil
			if n := td.SpanCount(); n != s.count {
				s.count, s.changed = n, time.Now()
			}
			handle(s, td)
		}()
	}
	wg.Wait()
	return ctx.Err()
}

func hexID(id pcommon.TraceID) string { return id.String() }
