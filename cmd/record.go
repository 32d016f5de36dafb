package cmd

import (
	"github.com/spf13/cobra"

	"github.com/llmcheck/llmcheck/runner"
)

func newRecordCmd(s *streams) *cobra.Command {
	c := &cobra.Command{
		Use:   "record [flags]",
		Short: "Only receive and record spans until interrupted",
		Long: `Record runs the OTLP receiver alone, for applications started elsewhere,
and appends every span to --out until SIGINT or SIGTERM. By default it
listens on the standard OTLP ports 4317 and 4318 of 127.0.0.1, each serving
gRPC, HTTP/protobuf and HTTP/JSON. --out is the output folder, as for run:
spans go to OUT/traces.jsonl, log records (evaluation results) to
OUT/logs.jsonl.`,
		Example: `  llmcheck record --out rec &
  OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318 ./my-app
  kill -INT %1; llmcheck check rec/traces.jsonl`,
		Args: cobra.NoArgs,
	}
	fs := c.Flags()
	fs.String("out", ".llmcheck", "output folder: spans are appended to OUT/traces.jsonl, log records to OUT/logs.jsonl (OTLP JSON lines)")
	fs.StringSlice("listen", runner.DefaultRecordListen, "receiver address(es), each serving gRPC and HTTP")
	fs.Int64("max-request-bytes", 64<<20, "largest accepted OTLP request, after decompression")
	fs.Int64("max-inflight-bytes", 0, "request bytes (decompressed) held in memory at once across all clients; over it requests get a retryable 503 / UNAVAILABLE (0: 2 × --max-request-bytes)")
	fs.Bool("redact", false, "remove prompt and completion content attributes (and evaluation explanations) from the stored trace file, and bodies and content attributes from the stored log records")
	c.RunE = func(c *cobra.Command, args []string) error {
		v := settings(c)
		sigs, stop := signals()
		defer stop()
		code, err := runner.Record(c.Context(), runner.RecordOptions{
			OutDir:      v.GetString("out"),
			Listen:      v.GetStringSlice("listen"),
			MaxRequest:  v.GetInt64("max-request-bytes"),
			MaxInflight: v.GetInt64("max-inflight-bytes"),
			Redact:      v.GetBool("redact"),
			Stderr:      s.err,
			Signals:     sigs,
		})
		return codeErr(code, err)
	}
	return c
}
