package span

import (
	"testing"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// tspan describes one span to build with pdata.
type tspan struct {
	trace, id, parent string // hex; empty parent = root
	name              string
	kind              ptrace.SpanKind
	status            ptrace.StatusCode
	msg               string
	start, end        uint64
	attrs             map[string]any
	events            []tevent
}

type tevent struct {
	name  string
	time  uint64
	attrs map[string]any
}

// build makes one resource (service svc) with one scope holding spans.
func build(t testing.TB, svc string, spans ...tspan) ptrace.Traces {
	t.Helper()
	td := ptrace.NewTraces()
	addResource(t, td, svc, spans...)
	return td
}

func addResource(t testing.TB, td ptrace.Traces, svc string, spans ...tspan) {
	t.Helper()
	rs := td.ResourceSpans().AppendEmpty()
	if svc != "" {
		rs.Resource().Attributes().PutStr("service.name", svc)
	}
	ss := rs.ScopeSpans().AppendEmpty()
	ss.Scope().SetName("test-scope")
	for _, s := range spans {
		sp := ss.Spans().AppendEmpty()
		if s.trace == "" {
			s.trace = "0af7651916cd43dd8448eb211c80319c"
		}
		if s.id == "" {
			s.id = "b7ad6b7169203331"
		}
		sp.SetTraceID(traceID(t, s.trace))
		sp.SetSpanID(spanID(t, s.id))
		if s.parent != "" {
			sp.SetParentSpanID(spanID(t, s.parent))
		}
		sp.SetName(s.name)
		sp.SetKind(s.kind)
		sp.Status().SetCode(s.status)
		sp.Status().SetMessage(s.msg)
		sp.SetStartTimestamp(pcommon.Timestamp(s.start))
		sp.SetEndTimestamp(pcommon.Timestamp(s.end))
		if err := sp.Attributes().FromRaw(s.attrs); err != nil {
			t.Fatal(err)
		}
		for _, e := range s.events {
			ev := sp.Events().AppendEmpty()
			ev.SetName(e.name)
			ev.SetTimestamp(pcommon.Timestamp(e.time))
			if err := ev.Attributes().FromRaw(e.attrs); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func traceID(t testing.TB, h string) pcommon.TraceID {
	t.Helper()
	var id pcommon.TraceID
	if !decodeHex(id[:], h) {
		t.Fatalf("bad trace id %q", h)
	}
	return id
}

func spanID(t testing.TB, h string) pcommon.SpanID {
	t.Helper()
	var id pcommon.SpanID
	if !decodeHex(id[:], h) {
		t.Fatalf("bad span id %q", h)
	}
	return id
}

func decodeHex(dst []byte, h string) bool {
	if len(h) != 2*len(dst) {
		return false
	}
	for i := range dst {
		hi, ok1 := nibble(h[2*i])
		lo, ok2 := nibble(h[2*i+1])
		if !ok1 || !ok2 {
			return false
		}
		dst[i] = hi<<4 | lo
	}
	return true
}

func nibble(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// one normalises a single span with the given attributes and returns it
// with the warnings it produced.
func one(t testing.TB, attrs map[string]any, events ...tevent) (Span, []string) {
	t.Helper()
	var warns []string
	got := FromTracesWarn(nil, build(t, "svc", tspan{name: "op", start: 1, end: 2, attrs: attrs, events: events}),
		func(w string) { warns = append(warns, w) })
	if len(got) != 1 {
		t.Fatalf("got %d spans, want 1", len(got))
	}
	return got[0], warns
}
