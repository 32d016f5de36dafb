package runner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/llmcheck/llmcheck/exitcode"
	"github.com/llmcheck/llmcheck/internal/safetext"
	"github.com/llmcheck/llmcheck/replay"
	"github.com/llmcheck/llmcheck/tracestore"
)

// FetchOptions are the inputs of `llmcheck fetch`.
type FetchOptions struct {
	From    string // KIND=URL
	Out     string // the trace file to write
	Headers map[string]string

	Service, Operation string
	Attrs              map[string]string
	// Since is the window ending now when Start is zero; End defaults to
	// now.
	Since      time.Duration
	Start, End time.Time
	TraceIDs   []string

	Limit            int
	MaxSpans         int64
	PageSize         int
	Parallel         int
	MaxResponseBytes int64
	Retries          int

	Stderr   io.Writer
	Progress bool // stderr is a terminal: print progress
	Now      func() time.Time
}

// Fetch reads traces out of a trace store into a trace file. Exit 4 when
// the store holds no trace for the query; 2 for a bad flag, an unreachable
// store, a refused query or more than MaxSpans spans (the partial file is
// removed).
func Fetch(ctx context.Context, opts FetchOptions) (int, error) {
	spec, err := tracestore.ParseSpec("--from", opts.From)
	if err != nil {
		return 0, exitcode.New(exitcode.Usage, err)
	}
	if opts.Out == "" {
		return 0, exitcode.Newf(exitcode.Usage, "--out is required: the trace file to write, e.g. --out traces.jsonl")
	}
	q := tracestore.Query{Service: opts.Service, Operation: opts.Operation, Attrs: opts.Attrs}
	var ids []pcommon.TraceID
	if len(opts.TraceIDs) > 0 {
		if opts.Service != "" || opts.Operation != "" || len(opts.Attrs) > 0 || opts.Since != 0 || !opts.Start.IsZero() || !opts.End.IsZero() {
			return 0, exitcode.Newf(exitcode.Usage, "--trace-id fetches those traces whole: it cannot be combined with --service, --operation, --attr, --since, --start or --end")
		}
		for _, s := range opts.TraceIDs {
			id, err := tracestore.ParseTraceID(strings.TrimSpace(s))
			if err != nil {
				return 0, exitcode.Newf(exitcode.Usage, "--trace-id: %v", err)
			}
			ids = append(ids, id)
		}
	} else {
		now := time.Now
		if opts.Now != nil {
			now = opts.Now
		}
		if opts.Since != 0 && !opts.Start.IsZero() {
			return 0, exitcode.Newf(exitcode.Usage, "--since and --start both set the start of the window: give one")
		}
		if opts.Since < 0 {
			return 0, exitcode.Newf(exitcode.Usage, "--since %s: expected a positive duration such as 30m or 24h", opts.Since)
		}
		q.End = opts.End
		if q.End.IsZero() {
			q.End = now()
		}
		q.Start = opts.Start
		if q.Start.IsZero() {
			since := opts.Since
			if since == 0 {
				since = DefaultFetchSince
			}
			q.Start = q.End.Add(-since)
		}
		if !q.Start.Before(q.End) {
			return 0, exitcode.Newf(exitcode.Usage, "--start %s is not before --end %s", q.Start.Format(time.RFC3339), q.End.Format(time.RFC3339))
		}
		if opts.Operation != "" && opts.Service == "" {
			return 0, exitcode.Newf(exitcode.Usage, "--operation needs --service: Jaeger looks operations up within a service")
		}
	}
	if opts.Limit < 0 {
		return 0, exitcode.Newf(exitcode.Usage, "--limit %d: expected 0 (no limit) or a positive number of traces", opts.Limit)
	}
	maxSpans := opts.MaxSpans
	if maxSpans <= 0 {
		maxSpans = DefaultMaxSpans
	}
	store := tracestore.NewJaeger(spec, tracestore.ClientOptions{Headers: opts.Headers, MaxResponseBytes: opts.MaxResponseBytes, LimitFlag: "--max-response-bytes", Retries: opts.Retries})
	// The file appears under its name only once complete: an interrupted
	// or failed fetch never leaves a partial file that reads as a run.
	tmp := filepath.Join(filepath.Dir(opts.Out), "."+filepath.Base(opts.Out)+".fetching")
	w, err := replay.Create(tmp)
	if err != nil {
		return 0, exitcode.Newf(exitcode.Usage, "--out: %v", err)
	}
	var progress io.Writer
	if opts.Progress {
		progress = opts.Stderr
	}
	st, err := tracestore.Fetch(ctx, store, tracestore.FetchOptions{
		Query:    q,
		TraceIDs: ids,
		Limit:    opts.Limit,
		MaxSpans: maxSpans,
		PageSize: opts.PageSize,
		Parallel: opts.Parallel,
		Progress: progress,
	}, func(td ptrace.Traces) error { return w.ConsumeTraces(ctx, td) })
	if cerr := w.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if err == nil && st.Spans > 0 {
		err = os.Rename(tmp, opts.Out)
	}
	if err != nil || st.Spans == 0 {
		os.Remove(tmp)
	}
	if err != nil {
		var tooMany *tracestore.TooManySpansError
		if errors.As(err, &tooMany) {
			return 0, exitcode.Newf(exitcode.Usage, "%v; %s was not written; narrow the query or raise --max-spans", err, opts.Out)
		}
		return 0, exitcode.Newf(exitcode.Usage, "fetch from %s: %v; %s was not written", spec.Kind, err, opts.Out)
	}
	for _, id := range st.Missing {
		fmt.Fprintf(opts.Stderr, "llmcheck: warning: trace %s: not in the store at %s\n", id, safetext.Line(store.URL()))
	}
	if st.Spans == 0 {
		fmt.Fprintf(opts.Stderr, "llmcheck: no traces in %s for this query (%s); nothing written\n", safetext.Line(store.URL()), describeQuery(q, len(ids)))
		return exitcode.NoSpans, nil
	}
	fmt.Fprintf(opts.Stderr, "llmcheck: fetched %s in %s from %s into %s (%.0f spans/s, %s)\n",
		count(st.Spans, "span", "spans"), count(st.Traces, "trace", "traces"), safetext.Line(store.URL()), safetext.Line(opts.Out), st.Rate(), count(st.Requests, "request", "requests"))
	return exitcode.OK, nil
}

// DefaultFetchSince is the window of fetch without --since or --start.
const DefaultFetchSince = time.Hour

func describeQuery(q tracestore.Query, ids int) string {
	if ids > 0 {
		return count(int64(ids), "trace id", "trace ids")
	}
	parts := []string{q.Start.UTC().Format(time.RFC3339) + " to " + q.End.UTC().Format(time.RFC3339)}
	if q.Service != "" {
		parts = append(parts, "service "+q.Service)
	}
	if q.Operation != "" {
		parts = append(parts, "operation "+q.Operation)
	}
	for k, v := range q.Attrs {
		parts = append(parts, k+"="+v)
	}
	return safetext.Line(strings.Join(parts, ", "))
}
