package cmd

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/llmcheck/llmcheck/exitcode"
	"github.com/llmcheck/llmcheck/internal/safetext"
	"github.com/llmcheck/llmcheck/replay"
)

func newReplayCmd(s *streams) *cobra.Command {
	c := &cobra.Command{
		Use:   "replay TRACES... --endpoint URL",
		Short: "Re-send recorded spans to any OTLP endpoint",
		Long: `Replay sends every recorded span, unchanged (same ids, attributes and
resources), to an OTLP endpoint: a Collector, Jaeger, Phoenix, or another
llmcheck. One request per recorded batch; retryable failures (429, 502,
503, 504, gRPC UNAVAILABLE) are retried with backoff.`,
		Example: `  llmcheck replay .llmcheck/traces.jsonl --endpoint http://localhost:4318
  llmcheck replay run.jsonl.gz --endpoint localhost:4317 --protocol grpc`,
		Args: cobra.MinimumNArgs(1),
	}
	fs := c.Flags()
	fs.String("endpoint", "", "OTLP endpoint URL (required); for HTTP /v1/traces is appended when the URL has no path")
	fs.String("protocol", "http/protobuf", "grpc, http/protobuf or http/json")
	fs.StringSlice("header", nil, "extra request header key=value (repeatable)")
	fs.Bool("gzip", false, "compress requests with gzip")
	fs.Duration("timeout", 0, "per-request timeout (default 10s)")
	c.RunE = func(c *cobra.Command, args []string) error {
		v := settings(c)
		endpoint := v.GetString("endpoint")
		if endpoint == "" {
			return exitcode.Newf(exitcode.Usage, "--endpoint is required, e.g. --endpoint http://localhost:4318")
		}
		headers := map[string]string{}
		for _, h := range v.GetStringSlice("header") {
			k, val, ok := strings.Cut(h, "=")
			if !ok || strings.TrimSpace(k) == "" {
				return exitcode.Newf(exitcode.Usage, "--header %q: expected key=value", h)
			}
			headers[strings.TrimSpace(k)] = val
		}
		st, err := replay.Send(c.Context(), args, replay.SendOptions{
			Endpoint: endpoint,
			Protocol: v.GetString("protocol"),
			Headers:  headers,
			Gzip:     v.GetBool("gzip"),
			Timeout:  v.GetDuration("timeout"),
			Warn: func(m string) {
				fmt.Fprintf(s.err, "llmcheck: warning: %s\n", safetext.Lines(m))
			},
		})
		if err != nil {
			return exitcode.New(exitcode.Usage, err)
		}
		fmt.Fprintf(s.err, "llmcheck: sent %s in %s to %s\n", count(int64(st.Spans), "span", "spans"), count(int64(st.Batches), "request", "requests"), safetext.Line(endpoint))
		return nil
	}
	return c
}

// count is "1 span", "2 spans".
func count(n int64, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}
