package runner

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/llmcheck/llmcheck/exitcode"
	"github.com/llmcheck/llmcheck/internal/safetext"
	"github.com/llmcheck/llmcheck/receiver"
	"github.com/llmcheck/llmcheck/replay"
)

// RecordOptions are the inputs of `llmcheck record`.
type RecordOptions struct {
	Out        string   // trace file
	Listen     []string // default: the standard OTLP ports on loopback
	MaxRequest int64
	Redact     bool
	Stderr     io.Writer
	Signals    <-chan os.Signal
}

// DefaultRecordListen are the standard OTLP ports (gRPC, HTTP), each
// serving every protocol.
var DefaultRecordListen = []string{"127.0.0.1:4317", "127.0.0.1:4318"}

// Record receives spans into a trace file until a signal or ctx ends it.
func Record(ctx context.Context, opts RecordOptions) (int, error) {
	listen := opts.Listen
	if len(listen) == 0 {
		listen = DefaultRecordListen
	}
	w, err := replay.Create(opts.Out)
	if err != nil {
		return 0, exitcode.Newf(exitcode.Usage, "--out %s: %v", opts.Out, unwrapPath(err))
	}
	var sink receiver.Sink = w
	if opts.Redact {
		sink = redactSink{next: w}
	}
	rcv, err := startReceiver(listen, opts.MaxRequest, sink, opts.Stderr)
	if err != nil {
		w.Close()
		return 0, err
	}
	var eps []string
	for _, a := range rcv.Addrs() {
		eps = append(eps, "http://"+a.String())
	}
	fmt.Fprintf(opts.Stderr, "llmcheck: recording to %s; export OTLP (gRPC, HTTP/protobuf or HTTP/JSON) to\n  %s\n  e.g. OTEL_EXPORTER_OTLP_ENDPOINT=%s\nPress Ctrl-C to stop.\n",
		opts.Out, strings.Join(eps, "\n  "), rcv.Endpoint())
	select {
	case sig := <-opts.Signals:
		fmt.Fprintf(opts.Stderr, "llmcheck: %s: stopping\n", sig)
	case <-ctx.Done():
	}
	waitForSpans(rcv, time.Now(), DefaultIdle, 2*time.Second)
	if err := shutdown(rcv, w); err != nil {
		return 0, err
	}
	st := rcv.Stats()
	fmt.Fprintf(opts.Stderr, "llmcheck: recorded %s in %s to %s\n", count(st.Spans, "span", "spans"), count(st.Requests, "request", "requests"), safetext.Line(opts.Out))
	if st.Spans == 0 {
		return exitcode.NoSpans, nil
	}
	return exitcode.OK, nil
}
