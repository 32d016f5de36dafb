package runner

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/llmcheck/llmcheck/internal/safetext"
	"github.com/llmcheck/llmcheck/receiver"
	"github.com/llmcheck/llmcheck/replay"
)

// DefaultMaxSpans bounds one run (flag --max-spans): about 3.5 GB of
// span model at ~700 bytes a span (docs/performance.md).
const DefaultMaxSpans = 5_000_000

// DefaultMaxTraceBytes bounds the trace files one run reads back (flag
// --max-trace-bytes), after decompression: a span's memory follows its
// bytes (one span of 1.3M attributes is a 60 MB line and 300 MB of
// memory), which the span count does not see.
const DefaultMaxTraceBytes = replay.DefaultMaxBytes

// limitSink refuses batches once a run has max spans, so a runaway test
// cannot fill the disk or the memory of the check that follows.
type limitSink struct {
	next     receiver.Sink
	max      int64
	spans    atomic.Int64
	exceeded atomic.Bool
}

func (l *limitSink) ConsumeTraces(ctx context.Context, td ptrace.Traces) error {
	n := int64(td.SpanCount())
	if l.spans.Add(n) > l.max {
		l.spans.Add(-n)
		l.exceeded.Store(true)
		return &receiver.PermanentError{Err: fmt.Errorf("the run reached --max-spans %d", l.max)}
	}
	if err := l.next.ConsumeTraces(ctx, td); err != nil {
		l.spans.Add(-n)
		return err
	}
	return nil
}

// ConsumeTracesJSON is ConsumeTraces for a batch the receiver transcoded
// to its JSON line (receiver.JSONSink): the same exact span accounting,
// without decoding the line. A next sink that only takes pdata gets the
// line decoded.
func (l *limitSink) ConsumeTracesJSON(ctx context.Context, line []byte, spans int) error {
	js, ok := l.next.(receiver.JSONSink)
	if !ok {
		var u ptrace.JSONUnmarshaler
		td, err := u.UnmarshalTraces(line)
		if err != nil {
			return fmt.Errorf("decode transcoded batch: %w", err)
		}
		return l.ConsumeTraces(ctx, td)
	}
	n := int64(spans)
	if l.spans.Add(n) > l.max {
		l.spans.Add(-n)
		l.exceeded.Store(true)
		return &receiver.PermanentError{Err: fmt.Errorf("the run reached --max-spans %d", l.max)}
	}
	if err := js.ConsumeTracesJSON(ctx, line, spans); err != nil {
		l.spans.Add(-n)
		return err
	}
	return nil
}

// ContentAttrs are the attribute names (and prefixes, ending in ".") that
// carry prompt and completion content in the GenAI, OpenLLMetry and
// OpenInference conventions. --redact removes them from the trace file.
var ContentAttrs = []string{
	"gen_ai.input.messages", "gen_ai.output.messages", "gen_ai.system_instructions",
	"gen_ai.prompt", "gen_ai.completion", "gen_ai.prompt.", "gen_ai.completion.",
	"gen_ai.tool.call.arguments", "gen_ai.tool.call.result", "gen_ai.tool.definitions",
	"input.value", "output.value",
	"llm.input_messages.", "llm.output_messages.", "llm.prompts.", "llm.prompt_template.",
	"traceloop.entity.input", "traceloop.entity.output",
	"db.query.result.document",
	"gen_ai.evaluation.explanation", "metadata.explanation",
}

func isContent(key string) bool {
	for _, c := range ContentAttrs {
		if key == c || (strings.HasSuffix(c, ".") && strings.HasPrefix(key, c)) {
			return true
		}
	}
	// OpenInference evaluation explanations:
	// [trace.]annotations.N.annotation.explanation, [trace.]evaluations.N.evaluation.explanation
	if strings.HasSuffix(key, ".explanation") {
		k := strings.TrimPrefix(key, "trace.")
		if strings.HasPrefix(k, "annotations.") || strings.HasPrefix(k, "evaluations.") {
			return true
		}
	}
	// OpenInference document contents: retrieval.documents.N.document.content
	return strings.HasPrefix(key, "retrieval.documents.") && strings.HasSuffix(key, ".document.content") ||
		strings.HasPrefix(key, "reranker.") && strings.HasSuffix(key, ".document.content")
}

// redactSink strips content attributes from spans and span events before
// they are written.
type redactSink struct{ next receiver.Sink }

func (r redactSink) ConsumeTraces(ctx context.Context, td ptrace.Traces) error {
	Redact(td)
	return r.next.ConsumeTraces(ctx, td)
}

// Redact removes content attributes from every span and event of td.
func Redact(td ptrace.Traces) {
	strip := func(m pcommon.Map) { m.RemoveIf(func(k string, _ pcommon.Value) bool { return isContent(k) }) }
	rss := td.ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		sss := rss.At(i).ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			spans := sss.At(j).Spans()
			for k := 0; k < spans.Len(); k++ {
				s := spans.At(k)
				strip(s.Attributes())
				evs := s.Events()
				for e := 0; e < evs.Len(); e++ {
					strip(evs.At(e).Attributes())
				}
			}
		}
	}
}

// logLimitSink refuses logs batches once a run has max log records (the
// --max-spans bound applies to log records too), so a runaway test
// cannot fill the disk or the memory of the check that follows.
type logLimitSink struct {
	next     receiver.LogSink
	max      int64
	records  atomic.Int64
	exceeded atomic.Bool
}

func (l *logLimitSink) ConsumeLogs(ctx context.Context, ld plog.Logs) error {
	n := int64(ld.LogRecordCount())
	if l.records.Add(n) > l.max {
		l.records.Add(-n)
		l.exceeded.Store(true)
		return &receiver.PermanentError{Err: fmt.Errorf("the run reached --max-spans %d log records", l.max)}
	}
	if err := l.next.ConsumeLogs(ctx, ld); err != nil {
		l.records.Add(-n)
		return err
	}
	return nil
}

// redactLogSink removes bodies and content attributes from log records
// before they are written (--redact).
type redactLogSink struct{ next receiver.LogSink }

func (r redactLogSink) ConsumeLogs(ctx context.Context, ld plog.Logs) error {
	RedactLogs(ld)
	return r.next.ConsumeLogs(ctx, ld)
}

// RedactLogs removes the body and the content attributes (ContentAttrs,
// evaluation explanations) of every log record of ld. Event bodies carry
// prompts and completions (the GenAI events' messages), so a redacted
// record keeps no body at all.
func RedactLogs(ld plog.Logs) {
	rls := ld.ResourceLogs()
	for i := 0; i < rls.Len(); i++ {
		sls := rls.At(i).ScopeLogs()
		for j := 0; j < sls.Len(); j++ {
			lrs := sls.At(j).LogRecords()
			for k := 0; k < lrs.Len(); k++ {
				lr := lrs.At(k)
				pcommon.NewValueEmpty().CopyTo(lr.Body())
				lr.Attributes().RemoveIf(func(k string, _ pcommon.Value) bool { return isContent(k) })
			}
		}
	}
}

// warnings prints warnings to w, at most max of them, then counts the rest.
type warnings struct {
	mu   sync.Mutex
	w    io.Writer
	max  int
	n    int
	seen map[string]bool
}

func newWarnings(w io.Writer) *warnings { return &warnings{w: w, max: 20, seen: map[string]bool{}} }

func (ws *warnings) warn(msg string) {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	if ws.seen[msg] {
		return
	}
	ws.seen[msg] = true
	ws.n++
	if ws.n <= ws.max {
		fmt.Fprintf(ws.w, "llmcheck: warning: %s\n", safetext.Lines(msg))
	}
}

// flush prints how many warnings were not shown.
func (ws *warnings) flush() {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	if ws.n > ws.max {
		more := ws.n - ws.max
		fmt.Fprintf(ws.w, "llmcheck: %d more %s not shown\n", more, map[bool]string{true: "warning", false: "warnings"}[more == 1])
	}
	ws.n, ws.seen = 0, map[string]bool{}
}

// count is "1 span", "2 spans": llmcheck's messages give numbers their
// singular or plural noun.
func count(n int64, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}
