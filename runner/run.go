package runner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/llmcheck/llmcheck/exitcode"
	"github.com/llmcheck/llmcheck/internal/safetext"
	"github.com/llmcheck/llmcheck/receiver"
	"github.com/llmcheck/llmcheck/replay"
	"github.com/llmcheck/llmcheck/report"
	"github.com/llmcheck/llmcheck/span"
)

// RunOptions are the inputs of `llmcheck run`.
type RunOptions struct {
	Command    []string
	ConfigPath string
	Required   bool // the config path was given explicitly
	Baseline   BaselineOptions
	Listen     []string // receiver addresses; default 127.0.0.1:0
	// Idle is how long no span may arrive, after the command exits, before
	// the recording is considered complete; FlushTimeout bounds the wait.
	Idle         time.Duration
	FlushTimeout time.Duration
	MaxRequest   int64
	MaxInflight  int64 // request bytes held at once (0: 2 × MaxRequest)
	MaxSpans     int64 // refuse spans beyond this many (default DefaultMaxSpans)
	// MaxTraceBytes bounds the bytes of the recorded trace file read back
	// for the check (0: replay.DefaultMaxBytes).
	MaxTraceBytes int64
	Redact        bool // strip prompt/completion content attributes before writing
	// RunID identifies the run (--run-id); "" takes the one
	// OTEL_RESOURCE_ATTRIBUTES in Env sets, else makes one (NewRunID).
	RunID string
	// Repeat is how many times the command runs, one after the other,
	// into one recording (--repeat; 0 means 1).
	Repeat int
	// Collect, when set, adds the spans a trace store holds of the
	// recorded traces (run --collect-from; see collect.go).
	Collect *CollectOptions

	Env    []string // the environment the command inherits (os.Environ())
	Stdin  io.Reader
	Stdout io.Writer // the command's stdout
	Stderr io.Writer // the command's stderr (default Report.Stderr)
	Report ReportOptions
	// Signals are forwarded to the command (SIGINT, SIGTERM).
	Signals <-chan os.Signal
}

// Defaults for the flush wait.
const (
	DefaultIdle         = 200 * time.Millisecond
	DefaultFlushTimeout = 10 * time.Second
)

// Run records the spans of a test command and checks them. When it cannot
// (exit 2: a config, flag or input error), the output folder still gets
// results.json, junit.xml and report.md saying why.
func Run(ctx context.Context, opts RunOptions) (int, error) {
	code, err := run(ctx, opts)
	if err != nil {
		reportFailure(opts.Report, report.Meta{Command: opts.Command, Started: time.Now()}, err)
	}
	return code, err
}

func run(ctx context.Context, opts RunOptions) (int, error) {
	if len(opts.Command) == 0 {
		return 0, exitcode.Newf(exitcode.Usage, "no test command: usage is llmcheck run [flags] -- CMD [ARGS]")
	}
	errw := opts.Report.Stderr
	// Everything that can be wrong with the config is found before the
	// command runs: no LLM money is spent on a typo.
	suite, err := LoadSuite(opts.ConfigPath, opts.Required)
	if err != nil {
		return 0, err
	}
	ws := newWarnings(errw)
	defer ws.flush()
	warnConfig(suite, ws.warn)
	base, err := LoadBaseline(opts.Baseline, ws.warn)
	if err != nil {
		return 0, err
	}
	if err := base.CheckRules(suite); err != nil {
		return 0, err
	}
	if err := checkCollect(opts.Collect); err != nil {
		return 0, err
	}
	path, err := exec.LookPath(opts.Command[0])
	if err != nil {
		return 0, exitcode.Newf(exitcode.Usage, "test command %q not found: %v", opts.Command[0], unwrapExec(err))
	}
	if err := checkReceiverLimits(opts.MaxRequest, opts.MaxInflight); err != nil {
		return 0, err
	}
	repeat := opts.Repeat
	if repeat == 0 {
		repeat = 1
	}
	if err := CheckRepeat(repeat); err != nil {
		return 0, exitcode.Newf(exitcode.Usage, "--repeat %d: %v", repeat, err)
	}
	runID, err := resolveRunID(opts.RunID, opts.Env, time.Now())
	if err != nil {
		return 0, err
	}
	tracePath := filepath.Join(opts.Report.OutDir, TracesFile)
	w, err := replay.Create(tracePath)
	if err != nil {
		return 0, outDirError(opts.Report.OutDir, err)
	}
	maxSpans := opts.MaxSpans
	if maxSpans <= 0 {
		maxSpans = DefaultMaxSpans
	}
	limit := &limitSink{next: w, max: maxSpans}
	var sink receiver.Sink = limit
	if opts.Redact {
		sink = redactSink{next: limit}
	}
	logsPath := filepath.Join(opts.Report.OutDir, LogsFile)
	lw, err := replay.CreateLogs(logsPath)
	if err != nil {
		w.Close()
		return 0, outDirError(opts.Report.OutDir, err)
	}
	logLimit := &logLimitSink{next: lw, max: maxSpans}
	var logs receiver.LogSink = logLimit
	if opts.Redact {
		logs = redactLogSink{next: logLimit}
	}
	rcv, err := startReceiver(opts.Listen, opts.MaxRequest, opts.MaxInflight, sink, logs, errw)
	if err != nil {
		w.Close()
		lw.Close()
		return 0, err
	}

	started := time.Now()
	reps, interrupted, err := runRepetitions(ctx, opts, path, runID, repeat, rcv.Endpoint(), errw)
	if err != nil {
		shutdown(rcv, w, lw)
		return 0, err
	}
	exited := time.Now()
	waitForSpans(rcv, exited, durationOr(opts.Idle, DefaultIdle), durationOr(opts.FlushTimeout, DefaultFlushTimeout))
	if err := shutdown(rcv, w, lw); err != nil {
		return 0, err
	}
	st := rcv.Stats()
	cmdFailed := repetitionsStatus(reps, repeat)

	if limit.exceeded.Load() {
		return 0, exitcode.Newf(exitcode.Usage, "the test command sent more than --max-spans %d spans; the first %d are in %s, nothing was checked; raise --max-spans if the run is meant to be that large", maxSpans, limit.spans.Load(), tracePath)
	}
	if logLimit.exceeded.Load() {
		return 0, exitcode.Newf(exitcode.Usage, "the test command sent more than --max-spans %d log records; the first %d are in %s, nothing was checked; raise --max-spans if the run is meant to be that large", maxSpans, logLimit.records.Load(), logsPath)
	}
	store, err := collect(ctx, opts.Collect, tracePath, maxSpans, errw)
	if err != nil {
		return 0, err
	}
	run, err := LoadRunLimit([]string{tracePath, logsPath}, maxSpans, opts.MaxTraceBytes, ws.warn)
	if err != nil {
		return 0, err
	}
	if int64(len(run.Spans)) != st.Spans+storeSpans(store) {
		fmt.Fprintf(errw, "llmcheck: warning: %d spans acknowledged but %d read back from %s\n", st.Spans, len(run.Spans), tracePath)
	}
	meta := report.Meta{Command: opts.Command, CommandStatus: cmdFailed, CommandDuration: exited.Sub(started), Started: started, TracePath: tracePath, Interrupted: interrupted,
		RunID: runID, Repeat: repeat, Repetitions: reps, Store: store}
	code, err := Evaluate(suite, run, base, meta, opts.Report)
	if err != nil {
		return 0, err
	}
	if len(run.Spans) == 0 {
		fmt.Fprintln(errw, noSpansHint(rcv.Endpoint(), st.Requests))
	}
	switch {
	case cmdFailed != "" && repeat == 1:
		fmt.Fprintf(errw, "llmcheck: the test command failed: %s\n", cmdFailed)
	case cmdFailed != "":
		fmt.Fprintf(errw, "llmcheck: the test command %s\n", cmdFailed)
		for _, r := range reps {
			if r.Status != "" {
				fmt.Fprintf(errw, "  repetition %d: %s\n", r.Number, r.Status)
			}
		}
	case interrupted != "" && repeat == 1:
		fmt.Fprintf(errw, "llmcheck: interrupted by %s\n", interrupted)
	}
	if interrupted != "" && repeat > 1 {
		fmt.Fprintf(errw, "llmcheck: interrupted by %s: %d of %d repetitions run\n", interrupted, len(reps), repeat)
	}
	if !opts.Report.Quiet {
		fmt.Fprintf(errw, "llmcheck: run id %s (resource attribute %s of the spans)\n", runID, span.ResourceRunID)
	}
	return code, nil
}

// runRepetitions runs the test command repeat times, one after the
// other, each with the run's identity and its repetition number in its
// environment (RunEnv). Every repetition runs whatever the previous ones
// exited with, so flakiness is measured; a signal is forwarded to the
// repetition under way and no later one starts. interrupted names the
// signal. A command that cannot be started the first time is a usage
// error; later, a failed repetition.
func runRepetitions(ctx context.Context, opts RunOptions, path, runID string, repeat int, endpoint string, errw io.Writer) (reps []report.Repetition, interrupted string, err error) {
	base := ChildEnv(opts.Env, endpoint)
	for k := 1; k <= repeat && interrupted == ""; k++ {
		// A signal between two repetitions stops the run too (one before
		// the first is forwarded to it, as without --repeat).
		if k > 1 {
			select {
			case sig := <-opts.Signals:
				interrupted = sig.String()
				fmt.Fprintf(errw, "llmcheck: %s: not starting repetition %d of %d, writing what was received\n", sig, k, repeat)
				return reps, interrupted, nil
			default:
			}
		}
		rep := report.Repetition{Number: k}
		started := time.Now()
		status, sig, startErr := runCommand(ctx, opts, path, RunEnv(base, runID, k), errw)
		rep.Duration = time.Since(started)
		if startErr != nil {
			if k == 1 {
				return nil, "", exitcode.Newf(exitcode.Usage, "start test command: %v", startErr)
			}
			status = fmt.Sprintf("could not start: %v", startErr)
		}
		rep.Status = status
		interrupted = sig
		reps = append(reps, rep)
	}
	return reps, interrupted, nil
}

// runCommand runs the test command once with env, forwarding signals to
// it. status is "" when it succeeded, else how it failed (describeExit);
// interrupted names the signal forwarded, if any.
func runCommand(ctx context.Context, opts RunOptions, path string, env []string, errw io.Writer) (status, interrupted string, err error) {
	cmd := exec.CommandContext(ctx, path, opts.Command[1:]...)
	cmd.Args = opts.Command
	cmd.Env = env
	cmd.Stdin, cmd.Stdout, cmd.Stderr = opts.Stdin, opts.Stdout, errw
	if opts.Stderr != nil {
		cmd.Stderr = opts.Stderr
	}
	if opts.Report.Format == "json" {
		// stdout carries only the results document: the command's own
		// output goes to stderr with llmcheck's messages.
		cmd.Stdout = cmd.Stderr
	}
	// The test command's output is its own: under GitHub Actions its
	// workflow commands must work, so stop-commands ends before it starts.
	_ = safetext.Resume(errw)
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 10 * time.Second
	if err := cmd.Start(); err != nil {
		return "", "", err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	for {
		select {
		case sig := <-opts.Signals:
			interrupted = sig.String()
			fmt.Fprintf(errw, "llmcheck: %s: forwarding to the test command, then writing what was received\n", sig)
			_ = cmd.Process.Signal(sig)
		case waitErr := <-done:
			return describeExit(waitErr), interrupted, nil
		}
	}
}

// repetitionsStatus is how the test command ended over its repetitions:
// "" when every one succeeded; without --repeat, how it failed; else
// "failed in 2 of 5 repetitions (2, 4)", counting the repetitions run.
func repetitionsStatus(reps []report.Repetition, repeat int) string {
	var failed []string
	last := ""
	for _, r := range reps {
		if r.Status != "" {
			failed = append(failed, strconv.Itoa(r.Number))
			last = r.Status
		}
	}
	switch {
	case len(failed) == 0:
		return ""
	case repeat == 1:
		return last
	}
	noun := "repetitions"
	if len(reps) == 1 {
		noun = "repetition"
	}
	return fmt.Sprintf("failed in %d of %d %s (%s)", len(failed), len(reps), noun, strings.Join(failed, ", "))
}

// ChildEnv is the environment of the test command: the inherited one with
// every OTLP trace and log export pointed at llmcheck's receiver. Trace-
// and log-specific overrides are removed, so a user's
// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT (or _LOGS_ENDPOINT) cannot send spans
// or evaluation results elsewhere; the protocol is left to the SDK (the
// receiver speaks all three).
func ChildEnv(base []string, endpoint string) []string {
	drop := map[string]bool{
		"OTEL_EXPORTER_OTLP_ENDPOINT":                  true,
		"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT":           true,
		"OTEL_TRACES_EXPORTER":                         true,
		"OTEL_BSP_SCHEDULE_DELAY":                      true,
		"OTEL_EXPORTER_OTLP_INSECURE":                  true,
		"OTEL_EXPORTER_OTLP_TRACES_INSECURE":           true,
		"OTEL_EXPORTER_OTLP_CERTIFICATE":               true,
		"OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE":        true,
		"OTEL_EXPORTER_OTLP_CLIENT_KEY":                true,
		"OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY":         true,
		"OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE":        true,
		"OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE": true,
		"LLMCHECK_ENDPOINT":                            true,
		// logs: evaluation results are log events (issue #14)
		"OTEL_EXPORTER_OTLP_LOGS_ENDPOINT":           true,
		"OTEL_LOGS_EXPORTER":                         true,
		"OTEL_BLRP_SCHEDULE_DELAY":                   true,
		"OTEL_EXPORTER_OTLP_LOGS_INSECURE":           true,
		"OTEL_EXPORTER_OTLP_LOGS_CERTIFICATE":        true,
		"OTEL_EXPORTER_OTLP_LOGS_CLIENT_KEY":         true,
		"OTEL_EXPORTER_OTLP_LOGS_CLIENT_CERTIFICATE": true,
	}
	env := make([]string, 0, len(base)+6)
	for _, kv := range base {
		k, _, _ := strings.Cut(kv, "=")
		if !drop[k] {
			env = append(env, kv)
		}
	}
	return append(env,
		"OTEL_EXPORTER_OTLP_ENDPOINT="+endpoint,
		"OTEL_TRACES_EXPORTER=otlp",
		"OTEL_BSP_SCHEDULE_DELAY=100",
		"OTEL_EXPORTER_OTLP_INSECURE=true",
		"OTEL_EXPORTER_OTLP_TRACES_INSECURE=true",
		"OTEL_LOGS_EXPORTER=otlp",
		"OTEL_BLRP_SCHEDULE_DELAY=100",
		"OTEL_EXPORTER_OTLP_LOGS_INSECURE=true",
		"LLMCHECK_ENDPOINT="+endpoint,
	)
}

// checkReceiverLimits refuses an in-flight byte budget below the request
// limit (the largest request could never be admitted), naming the flags.
func checkReceiverLimits(maxRequest, maxInflight int64) error {
	if maxRequest <= 0 {
		maxRequest = receiver.DefaultMaxRequestBytes
	}
	if maxInflight > 0 && maxInflight < maxRequest {
		return exitcode.Newf(exitcode.Usage, "--max-inflight-bytes %d is below --max-request-bytes %d: a request of the largest size could never be accepted; raise --max-inflight-bytes or leave it 0 (twice --max-request-bytes)", maxInflight, maxRequest)
	}
	return nil
}

func startReceiver(addrs []string, maxRequest, maxInflight int64, sink receiver.Sink, logs receiver.LogSink, errw io.Writer) (*receiver.Receiver, error) {
	if len(addrs) == 0 {
		addrs = []string{"127.0.0.1:0"}
	}
	for _, a := range addrs {
		if !receiver.IsLoopback(a) {
			fmt.Fprintf(errw, "llmcheck: warning: listening on %s, which is reachable from other machines; use a 127.0.0.1 address unless you need that\n", a)
		}
	}
	rcv, err := receiver.Start(receiver.Options{Addrs: addrs, MaxRequestBytes: maxRequest, MaxInflightBytes: maxInflight, Logs: logs}, sink)
	if err != nil {
		var le *receiver.ListenError
		if errors.As(err, &le) {
			var reason error = le.Err
			var se *os.SyscallError
			if errors.As(le.Err, &se) {
				reason = se.Err
			}
			return nil, exitcode.Newf(exitcode.Usage, "--listen %s: %v; choose another address (port 0 picks a free one)", le.Addr, reason)
		}
		return nil, exitcode.New(exitcode.Usage, err)
	}
	return rcv, nil
}

// waitForSpans returns once no request is in flight and no span has
// arrived for idle, or when timeout has passed since the command exited.
func waitForSpans(rcv *receiver.Receiver, exited time.Time, idle, timeout time.Duration) {
	deadline := exited.Add(timeout)
	for {
		st := rcv.Stats()
		now := time.Now()
		// Quiet for idle since the later of the command's exit and the last
		// span: a child that exports only after the command exits (or a
		// batch still in an exporter's queue) gets the idle window too.
		last := exited
		if st.LastSpan.After(last) {
			last = st.LastSpan
		}
		if st.LastLog.After(last) { // evaluation results may follow the spans
			last = st.LastLog
		}
		quiet := st.InFlight == 0 && now.Sub(last) >= idle
		if quiet || now.After(deadline) {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// shutdown stops the receiver, then closes the trace file and the other
// files it wrote (the logs file).
func shutdown(rcv *receiver.Receiver, w *replay.Writer, more ...io.Closer) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := rcv.Shutdown(ctx)
	if cerr := w.Close(); cerr != nil {
		return exitcode.New(exitcode.Usage, cerr)
	}
	for _, c := range more {
		if cerr := c.Close(); cerr != nil {
			return exitcode.New(exitcode.Usage, cerr)
		}
	}
	if err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return exitcode.New(exitcode.Usage, err)
	}
	return nil
}

// describeExit explains a failed command, or returns "" on success.
func describeExit(err error) string {
	if err == nil {
		return ""
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return fmt.Sprintf("killed by signal %s", ws.Signal())
		}
		return fmt.Sprintf("exit status %d", ee.ExitCode())
	}
	return err.Error()
}

func unwrapExec(err error) error {
	var ee *exec.Error
	if errors.As(err, &ee) {
		return ee.Err
	}
	return err
}

func noSpansHint(endpoint string, requests int64) string {
	if requests > 0 {
		return fmt.Sprintf("llmcheck: no spans received (%d requests arrived at %s, none with spans).", requests, endpoint)
	}
	return fmt.Sprintf(`llmcheck: no spans received at %s. Check that the application under test
  - sets up an OpenTelemetry tracer provider with an OTLP exporter (it reads OTEL_EXPORTER_OTLP_ENDPOINT),
  - does not disable tracing (OTEL_SDK_DISABLED, a sampler that drops everything),
  - shuts the tracer provider down (flushes) before the process exits.`, endpoint)
}
