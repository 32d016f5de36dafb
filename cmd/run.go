package cmd

import (
	"strconv"

	"github.com/spf13/cobra"

	"github.com/llmcheck/llmcheck/runner"
)

func newRunCmd(s *streams) *cobra.Command {
	c := &cobra.Command{
		Use:   "run [flags] -- CMD [ARGS...]",
		Short: "Record the spans of a test command, check them and report",
		Long: `Run starts an OTLP receiver (gRPC, HTTP/protobuf and HTTP/JSON on one port),
runs CMD with OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_TRACES_EXPORTER=otlp and
OTEL_BSP_SCHEDULE_DELAY=100 pointing its OpenTelemetry SDK at it (any
OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is removed so spans cannot go elsewhere),
forwards SIGINT/SIGTERM to CMD, and appends every span to OUT/traces.jsonl as
it arrives (and every log record, such as an evaluation result, to
OUT/logs.jsonl; OTEL_LOGS_EXPORTER=otlp points logs at it too). After CMD exits it waits until spans stop arriving (--idle,
at most --flush-timeout), then evaluates the assertions file and writes
OUT/results.json. Without an assertions file it summarises what it recorded.

Every run has an id (--run-id, else the start time and a random part):
CMD gets it as LLMCHECK_RUN_ID and, appended to OTEL_RESOURCE_ATTRIBUTES,
as the resource attribute llmcheck.run.id of every span; results.json
(run_id) and the GitHub step output run-id name it. --repeat N runs CMD N
times into one run, each repetition with LLMCHECK_REPEAT and the resource
attribute llmcheck.repeat set to 1..N (span.repeat in assertions); every
repetition runs, and any that fails makes the exit code 3.

With --collect-from jaeger=URL (end-to-end tests of deployed services),
every recorded trace is then read whole from the trace store, polled until
its span count has not changed for --collect-settle (at most
--collect-timeout), and the spans the services exported there are added to
OUT/traces.jsonl without duplicates; traces still incomplete are named in
every report.

The config is checked before CMD starts: a YAML or CEL error exits 2
without running the tests.`,
		Example: `  llmcheck run -- go test ./...
  llmcheck run --out build/llmcheck --config ci/llmcheck.yaml -- pytest -q
  llmcheck run --repeat 5 --run-id nightly-$BUILD_ID -- pytest -q tests/llm`,
		Args: cobra.MinimumNArgs(1),
	}
	fs := c.Flags()
	reportFlags(fs)
	configFlag(fs)
	fs.StringSlice("baseline", nil, "baseline to compare with: trace file(s) of an earlier run or a baseline summary; evaluates the regression rules")
	baselineFlags(fs)
	fs.StringSlice("listen", []string{"127.0.0.1:0"}, "receiver address(es), each serving gRPC and HTTP; port 0 picks a free port")
	fs.Duration("idle", runner.DefaultIdle, "after CMD exits, stop once no span has arrived for this long")
	fs.Duration("flush-timeout", runner.DefaultFlushTimeout, "after CMD exits, wait at most this long for spans")
	fs.Int64("max-request-bytes", 64<<20, "largest accepted OTLP request, after decompression")
	fs.Int64("max-inflight-bytes", 0, "request bytes (decompressed) held in memory at once across all clients; over it requests get a retryable 503 / UNAVAILABLE (0: 2 × --max-request-bytes)")
	fs.Var(&runIDValue{}, "run-id", "the run's `ID`, added to every span as the resource attribute llmcheck.run.id and written to results.json; default: the start time and a random part (with the workflow run on GitHub Actions)")
	fs.Var(&repeatValue{n: 1}, "repeat", "run CMD `N` times (1 to 1000), one after the other, into one run; each repetition's spans carry llmcheck.repeat = 1..N (no variable sets it: LLMCHECK_REPEAT is the repetition under way)")
	// LLMCHECK_REPEAT is what run gives CMD (the repetition K under way),
	// so a llmcheck run inside CMD must not read it as --repeat K.
	_ = fs.SetAnnotation("repeat", noEnv, []string{"true"})
	collectFlags(fs)
	fs.Bool("redact", false, "remove prompt and completion content attributes (gen_ai.input.messages, input.value, llm.input_messages.*, evaluation explanations, …) from the stored trace file, and bodies and content attributes from the stored log records")
	c.RunE = func(c *cobra.Command, args []string) error {
		v := settings(c)
		ro, err := reportOptions(v, s)
		if err != nil {
			return err
		}
		collect, err := collectOptions(c)
		if err != nil {
			return err
		}
		sigs, stop := signals()
		defer stop()
		code, err := runner.Run(c.Context(), runner.RunOptions{
			Command:       args,
			ConfigPath:    v.GetString("config"),
			Required:      explicit(c, "config"),
			Baseline:      baselineOptions(v, v.GetStringSlice("baseline")),
			Listen:        v.GetStringSlice("listen"),
			Idle:          v.GetDuration("idle"),
			FlushTimeout:  v.GetDuration("flush-timeout"),
			MaxRequest:    v.GetInt64("max-request-bytes"),
			MaxInflight:   v.GetInt64("max-inflight-bytes"),
			MaxSpans:      v.GetInt64("max-spans"),
			MaxTraceBytes: v.GetInt64("max-trace-bytes"),
			Redact:        v.GetBool("redact"),
			Collect:       collect,
			RunID:         c.Flags().Lookup("run-id").Value.String(),
			Repeat:        c.Flags().Lookup("repeat").Value.(*repeatValue).n,
			Env:           environ(),
			Stdin:         s.in,
			Stdout:        s.rawOut,
			Stderr:        s.rawErr,
			Report:        ro,
			Signals:       sigs,
		})
		return codeErr(code, err)
	}
	return c
}

// runIDValue is --run-id: a value runner.CheckRunID refuses is a usage
// error naming the flag (or LLMCHECK_RUN_ID) before anything runs.
type runIDValue struct{ id string }

func (r *runIDValue) String() string { return r.id }
func (r *runIDValue) Type() string   { return "run-id" }
func (r *runIDValue) Set(s string) error {
	if err := runner.CheckRunID(s); err != nil {
		return err
	}
	r.id = s
	return nil
}

// repeatValue is --repeat: a whole number from 1 to runner.MaxRepeat.
type repeatValue struct{ n int }

func (r *repeatValue) String() string { return strconv.Itoa(r.n) }
func (r *repeatValue) Type() string   { return "repeat" }
func (r *repeatValue) Set(s string) error {
	n, err := strconv.Atoi(s)
	if err != nil {
		n = 0 // refused below with the range
	}
	if err := runner.CheckRepeat(n); err != nil {
		return err
	}
	r.n = n
	return nil
}
