package cmd

import (
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/llmcheck/llmcheck/exitcode"
	"github.com/llmcheck/llmcheck/runner"
	"github.com/llmcheck/llmcheck/tracestore"
)

func newFetchCmd(s *streams) *cobra.Command {
	c := &cobra.Command{
		Use:   "fetch --from jaeger=URL --out FILE [flags]",
		Short: "Read traces out of a trace store (Jaeger) into a trace file",
		Long: `Fetch reads the traces a trace store holds for a query — a time window, a
service, an operation, attributes — or a list of trace ids, and writes them
as an llmcheck trace file (OTLP JSON lines, one trace per line) that check,
diff, baseline write and replay read.

The store is given as KIND=URL; jaeger is the first kind: the URL of
Jaeger's query service (v2, or v1.x with the v3 API: /api/v3/traces).
Traces are read raw (without Jaeger's clock-skew and other adjusters).
The window is split so that no query asks for more than --page-size
traces; a window whose answer is full is split in four and asked again, so
the store's limit never cuts traces off. A trace with spans in two windows
is written once. Jaeger's HTTP API ignores attribute filters: --attr is
applied here, with Jaeger's rule (every attribute on one span, its scope,
resource or events; values compared as text). 429 and 5xx answers are
retried with backoff.`,
		Example: `  llmcheck fetch --from jaeger=http://localhost:16686 --service chat-api --since 30m --out prod.jsonl
  llmcheck fetch --from jaeger=http://localhost:16686 --attr llmcheck.run.id=$RUN_ID --out run.jsonl
  llmcheck fetch --from jaeger=https://jaeger.example.com --header "Authorization=Bearer $TOKEN" \
      --trace-id 4bf92f3577b34da6a3ce929d0e0e4736 --out trace.jsonl`,
		Args: cobra.NoArgs,
	}
	fs := c.Flags()
	fs.String("from", "", "the trace store as KIND=URL, e.g. jaeger=http://localhost:16686 (required)")
	fs.String("out", "", "the trace file to write (required)")
	_ = fs.SetAnnotation("out", noEnv, []string{"true"})
	fs.String("service", "", "only traces with a span of this service")
	fs.String("operation", "", "only traces with a span of this name (needs --service)")
	fs.StringArray("attr", nil, "only traces with a span carrying attribute key=value (repeatable: all on one span; error=true: status Error, as in Jaeger)")
	fs.Duration("since", 0, "the window ending at --end (default now) and starting this long before (default 1h)")
	fs.String("start", "", "start of the window (RFC 3339, e.g. 2026-12-05T09:00:00Z)")
	fs.String("end", "", "end of the window (RFC 3339; default now)")
	fs.StringSlice("trace-id", nil, "fetch these traces whole (up to 32 hex digits: a 64-bit id as Jaeger shows it is left-padded; comma-separated or repeated) instead of searching")
	fs.Int("limit", 0, "stop after this many traces (0: all)")
	fs.StringArray("header", nil, "request header key=value for the store, e.g. Authorization=Bearer TOKEN (repeatable)")
	fs.Int64("max-spans", runner.DefaultMaxSpans, "refuse to fetch more spans than this (protects memory and disk of the commands that read the file)")
	fs.Int("page-size", 100, "most traces asked for in one query (Jaeger's query.num_traces; keep within the store's limit, e.g. the memory store's max_traces)")
	fs.Int("parallel", 4, "requests to the store at once")
	fs.Int64("max-response-bytes", tracestore.DefaultMaxResponseBytes, "largest answer accepted from the store; a larger search answer splits the window")
	fs.Int("retries", 4, "retries of a 429, 5xx or failed connection, with exponential backoff (0: none)")
	c.RunE = func(c *cobra.Command, args []string) error {
		f := c.Flags()
		str := func(n string) string { v, _ := f.GetString(n); return v }
		from := str("from")
		if from == "" {
			return exitcode.Newf(exitcode.Usage, "--from is required: the trace store as KIND=URL, e.g. --from jaeger=http://localhost:16686")
		}
		attrs, err := keyValues("--attr", f, "attr")
		if err != nil {
			return err
		}
		headers, err := keyValues("--header", f, "header")
		if err != nil {
			return err
		}
		start, err := rfc3339("--start", str("start"))
		if err != nil {
			return err
		}
		end, err := rfc3339("--end", str("end"))
		if err != nil {
			return err
		}
		since, _ := f.GetDuration("since")
		ids, _ := f.GetStringSlice("trace-id")
		limit, _ := f.GetInt("limit")
		maxSpans, _ := f.GetInt64("max-spans")
		page, _ := f.GetInt("page-size")
		parallel, _ := f.GetInt("parallel")
		maxResp, _ := f.GetInt64("max-response-bytes")
		retries, _ := f.GetInt("retries")
		if retries == 0 {
			retries = -1 // none
		}
		if page < 1 || parallel < 1 {
			return exitcode.Newf(exitcode.Usage, "--page-size and --parallel must be at least 1")
		}
		code, err := runner.Fetch(c.Context(), runner.FetchOptions{
			From: from, Out: str("out"), Headers: headers,
			Service: str("service"), Operation: str("operation"), Attrs: attrs,
			Since: since, Start: start, End: end, TraceIDs: ids,
			Limit: limit, MaxSpans: maxSpans, PageSize: page, Parallel: parallel,
			MaxResponseBytes: maxResp, Retries: retries,
			Stderr: s.err, Progress: terminal(s.rawErr),
		})
		return codeErr(code, err)
	}
	return c
}

// keyValues reads a repeatable key=value flag.
func keyValues(flag string, f interface {
	GetStringArray(string) ([]string, error)
}, name string) (map[string]string, error) {
	vals, _ := f.GetStringArray(name)
	if len(vals) == 0 {
		return nil, nil
	}
	m := map[string]string{}
	for _, kv := range vals {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || strings.TrimSpace(k) == "" {
			return nil, exitcode.Newf(exitcode.Usage, "%s %q: expected key=value", flag, kv)
		}
		m[strings.TrimSpace(k)] = v
	}
	return m, nil
}

func rfc3339(flag, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, exitcode.Newf(exitcode.Usage, "%s %q: expected an RFC 3339 time such as 2026-12-05T09:00:00Z", flag, s)
	}
	return t, nil
}

// terminal reports whether w is a terminal (progress lines go there).
func terminal(w any) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
