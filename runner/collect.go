package runner

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/llmcheck/llmcheck/assert"
	"github.com/llmcheck/llmcheck/exitcode"
	"github.com/llmcheck/llmcheck/internal/safetext"
	"github.com/llmcheck/llmcheck/replay"
	"github.com/llmcheck/llmcheck/tracestore"
)

// CollectOptions are run's end-to-end mode (--collect-from): after the
// local recording, every trace it holds is read from a trace store, where
// the deployed services the tests called exported their spans of the same
// traces, and those spans join the run.
type CollectOptions struct {
	From    string // KIND=URL
	Headers map[string]string
	// Settle is how long a trace's span count in the store must stay the
	// same to count as complete; Timeout bounds the wait for all traces.
	Settle, Timeout time.Duration
	Parallel        int
}

// Defaults of --collect-settle and --collect-timeout. The settle window
// exceeds the OpenTelemetry SDKs' default batch delay (5 s) so a service's
// last batch is waited for.
const (
	DefaultCollectSettle  = 6 * time.Second
	DefaultCollectTimeout = 2 * time.Minute
)

// checkCollect finds a bad --collect-from before the test command runs.
func checkCollect(c *CollectOptions) error {
	if c == nil {
		return nil
	}
	if _, err := tracestore.ParseSpec("--collect-from", c.From); err != nil {
		return exitcode.New(exitcode.Usage, err)
	}
	if c.Settle < 0 || c.Timeout < 0 {
		return exitcode.Newf(exitcode.Usage, "--collect-settle and --collect-timeout must not be negative")
	}
	return nil
}

// collectFromStore appends to the recorded trace file the spans the store
// holds of the file's traces and not the file: the local file is
// authoritative for the spans it has (same trace and span id). At most
// maxSpans spans in all. Traces still incomplete at the timeout are in the
// result and warned about, by id.
func collectFromStore(ctx context.Context, c *CollectOptions, tracePath string, maxSpans int64, errw io.Writer) (*assert.StoreResult, error) {
	spec, err := tracestore.ParseSpec("--collect-from", c.From)
	if err != nil {
		return nil, exitcode.New(exitcode.Usage, err)
	}
	type key struct {
		t pcommon.TraceID
		s pcommon.SpanID
	}
	have := map[key]struct{}{}
	var ids []pcommon.TraceID
	seenTrace := map[pcommon.TraceID]bool{}
	err = replay.Read([]string{tracePath}, replay.ReadOptions{MaxSpans: maxSpans}, func(td ptrace.Traces) error {
		for _, rs := range td.ResourceSpans().All() {
			for _, ss := range rs.ScopeSpans().All() {
				for _, s := range ss.Spans().All() {
					have[key{s.TraceID(), s.SpanID()}] = struct{}{}
					if id := s.TraceID(); !id.IsEmpty() && !seenTrace[id] {
						seenTrace[id] = true
						ids = append(ids, id)
					}
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, exitcode.New(exitcode.Usage, err)
	}
	f, err := os.OpenFile(tracePath, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return nil, exitcode.New(exitcode.Usage, err)
	}
	defer f.Close()
	total := int64(len(have))
	added := 0
	var m ptrace.JSONMarshaler
	// No retries inside a poll: the polls are the retries, until the timeout.
	store := tracestore.NewJaeger(spec, tracestore.ClientOptions{Headers: c.Headers, Retries: -1})
	settle := durationOr(c.Settle, DefaultCollectSettle)
	timeout := durationOr(c.Timeout, DefaultCollectTimeout)
	if len(ids) > 0 {
		fmt.Fprintf(errw, "llmcheck: collecting %s from %s (complete: span count unchanged for %s; at most %s)\n", count(int64(len(ids)), "trace", "traces"), safetext.Line(spec.String()), settle, timeout)
	}
	st, err := tracestore.Collect(ctx, store, ids, tracestore.CollectOptions{Settle: settle, Timeout: timeout, Parallel: c.Parallel}, func(td ptrace.Traces) error {
		n := 0
		td.ResourceSpans().RemoveIf(func(rs ptrace.ResourceSpans) bool {
			rs.ScopeSpans().RemoveIf(func(ss ptrace.ScopeSpans) bool {
				ss.Spans().RemoveIf(func(s ptrace.Span) bool {
					k := key{s.TraceID(), s.SpanID()}
					if _, dup := have[k]; dup {
						return true
					}
					have[k] = struct{}{}
					n++
					return false
				})
				return ss.Spans().Len() == 0
			})
			return rs.ScopeSpans().Len() == 0
		})
		if n == 0 {
			return nil
		}
		if total+int64(n) > maxSpans {
			return exitcode.Newf(exitcode.Usage, "the run and the store's spans of its traces are more than --max-spans %d; raise --max-spans if the run is meant to be that large", maxSpans)
		}
		line, err := m.MarshalTraces(td)
		if err != nil {
			return err
		}
		if _, err := f.Write(append(line, '\n')); err != nil {
			return fmt.Errorf("append the store's spans to %s: %w", tracePath, err)
		}
		total += int64(n)
		added += n
		return nil
	})
	if err != nil {
		if _, ok := err.(*exitcode.Error); ok {
			return nil, err
		}
		return nil, exitcode.Newf(exitcode.Usage, "--collect-from %s: %v", safetext.Line(spec.String()), err)
	}
	res := &assert.StoreResult{From: spec.String(), Spans: added, Traces: len(ids)}
	for _, in := range st.Incomplete {
		res.Incomplete = append(res.Incomplete, assert.IncompleteTrace{TraceID: in.TraceID, Reason: in.Reason})
	}
	fmt.Fprintf(errw, "llmcheck: %s from %s joined the run's %s\n", count(int64(added), "span", "spans"), safetext.Line(spec.String()), count(int64(len(ids)), "trace", "traces"))
	for i, in := range res.Incomplete {
		if i == 20 {
			fmt.Fprintf(errw, "llmcheck: warning: … %d more incomplete traces (results.json lists them all)\n", len(res.Incomplete)-20)
			break
		}
		fmt.Fprintf(errw, "llmcheck: warning: trace %s is incomplete in the store at --collect-timeout %s: %s\n", in.TraceID, timeout, safetext.Line(in.Reason))
	}
	return res, nil
}

// collect runs collectFromStore when --collect-from was given.
func collect(ctx context.Context, c *CollectOptions, tracePath string, maxSpans int64, errw io.Writer) (*assert.StoreResult, error) {
	if c == nil {
		return nil, nil
	}
	return collectFromStore(ctx, c, tracePath, maxSpans, errw)
}

// storeSpans is the number of spans the store added.
func storeSpans(s *assert.StoreResult) int64 {
	if s == nil {
		return 0
	}
	return int64(s.Spans)
}
