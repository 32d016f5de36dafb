package span

import (
	"fmt"
	"strings"

	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/llmcheck/llmcheck/internal/jsondepth"
)

// A Decoder turns encoded OTLP trace batches straight into normalised
// spans. DecodeJSON and DecodeProto give exactly the spans, warnings and
// errors of decoding with ptrace's JSONUnmarshaler or ProtoUnmarshaler and
// then calling FromTracesWarn; they are several times faster because the
// common shapes of OTLP are read directly, without building the pdata tree
// first. Anything unusual (snake_case keys, enum names, escaped ids, a
// duplicate attribute key, links, bytes values, …) goes through pdata, so
// the result never depends on which path was taken. JSON nested more
// than jsondepth.Max levels is an error on either path. Spans without a
// valid (non-zero) trace id or span id, and attributes with an empty key,
// are invalid OTLP: both paths skip them before building anything and
// count them (TakeSkipped) instead of warning, so that a reader can warn
// once per file; FromTracesWarn warns once per call.
//
// A Decoder keeps intern tables so that the strings a run repeats (keys,
// names, models, services) share memory across batches, and carves the
// Attrs, ids and array values of the spans it decodes from blocks shared
// with the spans decoded around them (a block lives while any of them
// does). It is not safe for concurrent use: give each goroutine its own.
type Decoder struct {
	n  normaliser
	ju ptrace.JSONUnmarshaler
	pu ptrace.ProtoUnmarshaler

	j jsonParser
	r rawSpan
	// warnings of the span being decoded on the fast path, sent once the
	// batch is known to be decodable there
	pending []string
	// anys is the stack of array elements being decoded
	anys []any
	// recent span ids (protobuf), shared with the parent ids that repeat
	// them
	lastSpanIDs [2]string
	nextSpanID  int
	// resources collects the ranges of spans per resource/scope while a
	// batch is decoded.
}

// NewDecoder returns a Decoder.
func NewDecoder() *Decoder { return &Decoder{} }

// fastWarn buffers a warning of the fast path.
func (d *Decoder) fastWarn(msg string) { d.pending = append(d.pending, msg) }

// DecodeJSON appends the spans of one OTLP JSON TracesData (or
// ExportTraceServiceRequest) to dst. warn, when not nil, receives the
// FromTracesWarn warnings. On error dst is returned unchanged (its length;
// the spare capacity may have been written).
func (d *Decoder) DecodeJSON(dst []Span, data []byte, warn func(string)) ([]Span, error) {
	out, ok := d.DecodeJSONFast(dst, data, warn)
	if ok {
		return out, nil
	}
	// pdata's decoder recurses once per level: bound the nesting first
	// (the fast path bounds its own)
	if err := jsondepth.Check(data, jsondepth.Max); err != nil {
		return out, err
	}
	td, err := d.ju.UnmarshalTraces(data)
	if err != nil {
		return out, err
	}
	return d.slow(out, td, warn), nil
}

// DecodeJSONFast is DecodeJSON's fast path alone: ok is false (and dst
// unchanged) when the batch needs the general decoder, DecodeJSON. When ok,
// data was exactly one well-formed JSON object.
func (d *Decoder) DecodeJSONFast(dst []Span, data []byte, warn func(string)) ([]Span, bool) {
	return d.tryFast(dst, data, warn, d.fastJSON)
}

// DecodeProto appends the spans of one OTLP protobuf TracesData (or
// ExportTraceServiceRequest: the same message on the wire) to dst, as
// DecodeJSON.
func (d *Decoder) DecodeProto(dst []Span, data []byte, warn func(string)) ([]Span, error) {
	out, ok := d.tryFast(dst, data, warn, d.fastProto)
	if ok {
		return out, nil
	}
	td, err := d.pu.UnmarshalTraces(data)
	if err != nil {
		return out, err
	}
	return d.slow(out, td, warn), nil
}

// tryFast runs one fast decoder, collecting its warnings; when it does not
// take the batch, dst comes back unchanged (the spare capacity cleared).
func (d *Decoder) tryFast(dst []Span, data []byte, warn func(string), fast func([]Span, []byte) ([]Span, bool)) ([]Span, bool) {
	n0 := len(dst)
	bad0, keys0 := d.n.badIDs, d.n.emptyKeys
	d.pending = d.pending[:0]
	d.n.warn = d.fastWarn
	out, ok := fast(dst, data)
	d.n.warn = nil
	if !ok {
		clear(out[n0:len(out)])
		d.n.badIDs, d.n.emptyKeys = bad0, keys0 // the slow path counts them again
		return out[:n0], false
	}
	d.flush(warn)
	return out, true
}

func (d *Decoder) flush(warn func(string)) {
	if warn != nil {
		for _, m := range d.pending {
			warn(m)
		}
	}
	clear(d.pending)
	d.pending = d.pending[:0]
}

func (d *Decoder) slow(dst []Span, td ptrace.Traces, warn func(string)) []Span {
	d.n.warn = warn
	dst = d.n.fromTraces(dst, td)
	d.n.warn = nil
	return dst
}

// keep normalises the span in d.r onto dst, unless its trace id or span
// id is missing or all zeros: such a span is invalid OTLP and belongs to no
// trace, so it is only counted (see TakeSkipped), never materialised. ok is
// false when the span must be decoded by the slow path.
func (d *Decoder) keep(dst []Span) ([]Span, bool) {
	r := &d.r
	if r.traceID == zeroIDs32 || r.spanID == zeroIDs16 {
		d.n.badIDs++
		return dst, true
	}
	d.n.emptyKeys += r.emptyKeys
	dst = append(dst, Span{})
	return dst, d.n.finish(&dst[len(dst)-1], r)
}

// TakeSkipped returns what the Decoder skipped since the last call, and
// resets the counts: spans whose trace id or span id was missing or all
// zeros (invalid OTLP: no trace can hold them), and attributes with an
// empty key (invalid too; of resources, kept spans and their events).
// Callers report them once per file or stream; SkippedWarning words them.
func (d *Decoder) TakeSkipped() (spans, emptyKeys int) {
	spans, emptyKeys = d.n.badIDs, d.n.emptyKeys
	d.n.badIDs, d.n.emptyKeys = 0, 0
	return spans, emptyKeys
}

// SkippedWarning words the counts of TakeSkipped, without a location; it
// is "" when both are zero.
func SkippedWarning(spans, emptyKeys int) string {
	var parts []string
	if spans > 0 {
		parts = append(parts, fmt.Sprintf("%d %s without a valid trace id or span id skipped (OTLP requires non-zero ids)", spans, plural(spans, "span", "spans")))
	}
	if emptyKeys > 0 {
		parts = append(parts, fmt.Sprintf("%d %s with an empty key skipped (OTLP requires a key)", emptyKeys, plural(emptyKeys, "attribute", "attributes")))
	}
	return strings.Join(parts, "; ")
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// kv is one decoded attribute.
type kv struct {
	key string
	val any
}

// rawEvent is one decoded event; its attributes are kvs[from:to] of the
// rawSpan.
type rawEvent struct {
	name     string
	time     uint64
	from, to int
}

// rawSpan is a span as the fast decoders read it, before normalisation.
type rawSpan struct {
	traceID, spanID, parentID string
	name                      string
	kind, code                int32
	message                   string
	start, end                uint64
	attrs                     []kv // span attributes
	evKVs                     []kv // event attributes
	events                    []rawEvent
	emptyKeys                 int // attributes skipped for an empty key
}

func (r *rawSpan) reset() {
	clear(r.attrs)
	clear(r.evKVs)
	*r = rawSpan{attrs: r.attrs[:0], evKVs: r.evKVs[:0], events: r.events[:0]}
}

// attrMap builds the Go map of decoded attributes; ok is false when a key
// repeats (pdata keeps both, with different first/last semantics: left to
// the slow path).
func attrMap(kvs []kv) (map[string]any, bool) {
	if len(kvs) == 0 {
		return nil, true
	}
	m := make(map[string]any, len(kvs))
	for _, a := range kvs {
		m[a.key] = a.val
	}
	return m, len(m) == len(kvs)
}

// attrs builds the Attrs of decoded attributes; ok is false when a key
// repeats (left to the slow path, so that both paths agree on which value
// and position a repeated key keeps).
func (n *normaliser) attrs(kvs []kv) (Attrs, bool) {
	if len(kvs) == 0 {
		return nil, true
	}
	a := n.ab.alloc(len(kvs))
	for _, e := range kvs {
		var dup bool
		if a, dup = n.ab.add(a, e.key, e.val); dup {
			return nil, false
		}
	}
	return a, true
}

// finish normalises r into s, as normaliser.span does for a pdata span.
// ok is false when the span must be decoded by the slow path.
func (n *normaliser) finish(s *Span, r *rawSpan) bool {
	s.TraceID = r.traceID
	s.SpanID = r.spanID
	s.ParentSpanID = r.parentID
	s.Name = r.name
	if k := r.kind; k >= 0 && int(k) < len(kindNames) {
		s.Kind = kindNames[k]
	} else {
		s.Kind = kindNames[ptrace.SpanKindUnspecified]
	}
	if c := r.code; c >= 0 && int(c) < len(statusNames) {
		s.Status = statusNames[c]
	} else {
		s.Status = statusNames[ptrace.StatusCodeUnset]
	}
	s.StatusMessage = r.message
	s.StartUnixNano = r.start
	s.EndUnixNano = r.end
	if s.EndUnixNano > s.StartUnixNano {
		s.DurationMS = float64(s.EndUnixNano-s.StartUnixNano) / 1e6
	}

	n.begin()
	a, ok := n.attrs(r.attrs)
	if !ok {
		return false
	}
	s.Attrs = a
	for _, a := range r.attrs {
		n.l.note(a.key, attrVal{v: a.val})
	}
	if len(r.events) > 0 {
		s.Events = make([]Event, len(r.events))
		for i, re := range r.events {
			e := &s.Events[i]
			e.Name = re.name
			e.TimeUnixNano = re.time
			kvs := r.evKVs[re.from:re.to]
			if len(kvs) == 0 {
				continue
			}
			if e.Attrs, ok = n.attrs(kvs); !ok {
				return false
			}
			sc := eventScan(e.Name)
			for _, a := range kvs {
				sc.note(a.key, attrVal{v: a.val})
			}
			n.eventDone(s, e, &sc)
		}
	}
	n.llm(s)
	n.agentFields(s) // agents.go
	return true
}

// setResource sets the resource fields of spans decoded before their
// resource was known. ok is false when the resource attributes repeat a
// key.
func (n *normaliser) resource(kvs []kv) (service string, res map[string]any, ok bool) {
	res, ok = attrMap(kvs)
	if !ok {
		return "", nil, false
	}
	for _, a := range kvs {
		if a.key == "service.name" {
			service = n.in.str(attrVal{v: a.val}.asString())
			break
		}
	}
	return service, res, true
}
