package runner

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/llmcheck/llmcheck/exitcode"
	"github.com/llmcheck/llmcheck/internal/safetext"
	"github.com/llmcheck/llmcheck/receiver"
	"github.com/llmcheck/llmcheck/replay"
)

// RecordOptions are the inputs of `llmcheck record`.
type RecordOptions struct {
	OutDir     string   // output folder: traces.jsonl goes there, as for run
	Listen     []string // default: the standard OTLP ports on loopback
	MaxRequest int64
	// MaxInflight bounds the request bytes held at once (0: twice
	// MaxRequest); see receiver.Options.MaxInflightBytes.
	MaxInflight int64
	Redact      bool
	Stderr      io.Writer
	Signals     <-chan os.Signal
}

// checkOutDir refuses an --out that names a trace file rather than a
// folder (record's --out was a file before it meant the same as run's).
func checkOutDir(dir string) error {
	fi, err := os.Stat(dir)
	isFile := err == nil && !fi.IsDir()
	if isFile || strings.HasSuffix(dir, ".jsonl") || strings.HasSuffix(dir, ".json") {
		return exitcode.Newf(exitcode.Usage, "--out %s: --out is the output folder (record writes FOLDER/%s, as run does); give a folder, e.g. --out %s", dir, TracesFile, filepath.Dir(dir))
	}
	return nil
}

// DefaultRecordListen are the standard OTLP ports (gRPC, HTTP), each
// serving every protocol.
var DefaultRecordListen = []string{"127.0.0.1:4317", "127.0.0.1:4318"}

// Record receives spans into a trace file, and log records into the logs
// file beside it, until a signal or ctx ends it.
func Record(ctx context.Context, opts RecordOptions) (int, error) {
	listen := opts.Listen
	if len(listen) == 0 {
		listen = DefaultRecordListen
	}
	if err := checkOutDir(opts.OutDir); err != nil {
		return 0, err
	}
	if err := checkReceiverLimits(opts.MaxRequest, opts.MaxInflight); err != nil {
		return 0, err
	}
	out := filepath.Join(opts.OutDir, TracesFile)
	w, err := replay.Create(out)
	if err != nil {
		return 0, exitcode.Newf(exitcode.Usage, "--out %s: %v", opts.OutDir, unwrapPath(err))
	}
	var sink receiver.Sink = w
	if opts.Redact {
		sink = redactSink{next: w}
	}
	logsOut := filepath.Join(opts.OutDir, LogsFile)
	lw, err := replay.CreateLogs(logsOut)
	if err != nil {
		w.Close()
		return 0, exitcode.Newf(exitcode.Usage, "--out %s: %v", opts.OutDir, unwrapPath(err))
	}
	var logs receiver.LogSink = lw
	if opts.Redact {
		logs = redactLogSink{next: lw}
	}
	rcv, err := startReceiver(listen, opts.MaxRequest, opts.MaxInflight, sink, logs, opts.Stderr)
	if err != nil {
		w.Close()
		lw.Close()
		return 0, err
	}
	var eps []string
	for _, a := range rcv.Addrs() {
		eps = append(eps, "http://"+a.String())
	}
	fmt.Fprintf(opts.Stderr, "llmcheck: recording to %s; export OTLP (gRPC, HTTP/protobuf or HTTP/JSON) to\n  %s\n  e.g. OTEL_EXPORTER_OTLP_ENDPOINT=%s\nPress Ctrl-C to stop.\n",
		out, strings.Join(eps, "\n  "), rcv.Endpoint())
	select {
	case sig := <-opts.Signals:
		fmt.Fprintf(opts.Stderr, "llmcheck: %s: stopping\n", sig)
	case <-ctx.Done():
	}
	waitForSpans(rcv, time.Now(), DefaultIdle, 2*time.Second)
	if err := shutdown(rcv, w, lw); err != nil {
		return 0, err
	}
	st := rcv.Stats()
	fmt.Fprintf(opts.Stderr, "llmcheck: recorded %s in %s to %s\n", count(st.Spans, "span", "spans"), count(st.Requests, "request", "requests"), safetext.Line(out))
	if st.LogRecords > 0 {
		fmt.Fprintf(opts.Stderr, "llmcheck: recorded %s to %s\n", count(st.LogRecords, "log record", "log records"), safetext.Line(logsOut))
	}
	if st.Spans == 0 {
		return exitcode.NoSpans, nil
	}
	return exitcode.OK, nil
}
