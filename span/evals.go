package span

import (
	"cmp"
	"encoding/hex"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
)

// Evaluation results (issue #14) come in four encodings, all read into
// Span.Evals by AttachEvals:
//
//   - the GenAI semantic conventions' event gen_ai.evaluation.result as a
//     log record (event name in the record's event_name field or its
//     event.name attribute), linked by the record's trace and span ids,
//     or without a span id by its gen_ai.response.id (EvalsFromLogs reads
//     them, AttachEvals attaches them);
//   - the same event as a span event of that name, on the evaluated span;
//   - OpenInference annotations on the evaluated span:
//     annotations.N.annotation.{name,score,label,explanation} and
//     evaluations.N.evaluation.{…}; trace.annotations.N.annotation.{…}
//     and trace.evaluations.N.evaluation.{…} evaluate the span's trace;
//   - OpenInference EVALUATOR spans: the results they carry (annotations,
//     gen_ai.evaluation.result events, or Phoenix's
//     metadata.evaluator_name / metadata.score / metadata.label /
//     metadata.explanation) evaluate their parent span. OpenInference
//     does not say how an evaluator span names its target; the parent is
//     what evaluators running inside the traced operation produce, and
//     span links are not kept by the span model.

// Attribute and event names of the GenAI evaluation event.
const (
	EvalEventName      = "gen_ai.evaluation.result"
	attrEvalName       = "gen_ai.evaluation.name"
	attrEvalScore      = "gen_ai.evaluation.score.value"
	attrEvalLabel      = "gen_ai.evaluation.score.label"
	attrEvalExpl       = "gen_ai.evaluation.explanation"
	attrEventName      = "event.name"
	attrResponseID     = "gen_ai.response.id"
	oiSpanKind         = "openinference.span.kind"
	oiEvaluatorKind    = "EVALUATOR"
	evalSourceLog      = "log"
	evalSourceEvent    = "event"
	evalSourceAnnot    = "annotation"
	evalSourceEvaluatr = "evaluator"
)

// RecordEval is an evaluation result read from a log record, with the
// trace and span it names (lower-case hex; SpanID empty when the record
// names only a trace).
type RecordEval struct {
	TraceID string
	SpanID  string
	// ResponseID is the record's gen_ai.response.id, which the GenAI
	// conventions use to name the evaluated completion when the span id
	// is not available: without a span id, the result goes to the span
	// with that gen_ai.response.id.
	ResponseID string
	// Where names the record in messages: "logs.jsonl:3".
	Where string
	Eval  Eval
}

// EvalsFromLogs appends the gen_ai.evaluation.result records of ld to dst.
// where names the batch in warnings ("logs.jsonl:3"). A record without
// gen_ai.evaluation.name, or without a trace id, is a warning and is
// skipped; a score that is not a number is a warning and the result keeps
// no score. Other log records are ignored.
func EvalsFromLogs(dst []RecordEval, ld plog.Logs, where string, warn func(string)) []RecordEval {
	if warn == nil {
		warn = func(string) {}
	}
	rls := ld.ResourceLogs()
	for i := 0; i < rls.Len(); i++ {
		sls := rls.At(i).ScopeLogs()
		for j := 0; j < sls.Len(); j++ {
			lrs := sls.At(j).LogRecords()
			for k := 0; k < lrs.Len(); k++ {
				lr := lrs.At(k)
				attrs := lr.Attributes()
				name := lr.EventName()
				if name == "" {
					if v, ok := attrs.Get(attrEventName); ok {
						name = v.AsString()
					}
				}
				if name != EvalEventName {
					continue
				}
				what := fmt.Sprintf("%s: %s log record", where, EvalEventName)
				e, ok := evalFrom(pdataAttrs{attrs}, what, warn)
				if !ok {
					continue
				}
				e.Source = evalSourceLog
				e.TimeUnixNano = uint64(lr.Timestamp())
				if e.TimeUnixNano == 0 {
					e.TimeUnixNano = uint64(lr.ObservedTimestamp())
				}
				tid, sid := lr.TraceID(), lr.SpanID()
				r := RecordEval{Where: where, Eval: e}
				if v, ok := attrs.Get(attrResponseID); ok && v.Type() == pcommon.ValueTypeStr {
					r.ResponseID = v.Str()
				}
				if tid.IsEmpty() && r.ResponseID == "" {
					warn(fmt.Sprintf("%s (evaluation %s) names no trace and no %s: it cannot be attached to a span; ignored", what, quoteName(e.Name), attrResponseID))
					continue
				}
				if !tid.IsEmpty() {
					r.TraceID = hex.EncodeToString(tid[:])
				}
				if !sid.IsEmpty() {
					r.SpanID = hex.EncodeToString(sid[:])
				}
				dst = append(dst, r)
			}
		}
	}
	return dst
}

// attrSource is what evalFrom reads: pdata attributes or the span model's.
type attrSource interface {
	get(key string) (any, bool)
}

type pdataAttrs struct{ m pcommon.Map }

func (p pdataAttrs) get(key string) (any, bool) {
	v, ok := p.m.Get(key)
	if !ok {
		return nil, false
	}
	return convertValue(v), true
}

// modelAttrs reads the span model's attributes; m, when set, indexes a
// span with many of them (Attrs.Get scans).
type modelAttrs struct {
	a Attrs
	m map[string]any
}

func (m modelAttrs) get(key string) (any, bool) {
	if m.m != nil {
		v, ok := m.m[key]
		return v, ok
	}
	return m.a.Get(key)
}

// manyAttrs is the attribute count from which a span's attributes are
// indexed before its annotations are read: a hostile span with a million
// annotations is read in linear time.
const manyAttrs = 64

// manyEvals is the result count from which a span's results are
// de-duplicated through a set rather than by comparing with each.
const manyEvals = 16

// evalFrom reads one gen_ai.evaluation.result from attributes. It warns
// and returns false when the name is missing.
func evalFrom(a attrSource, what string, warn func(string)) (Eval, bool) {
	return evalFields(a, attrEvalName, attrEvalScore, attrEvalLabel, attrEvalExpl, what, warn)
}

// evalFields reads a result from the four attributes named.
func evalFields(a attrSource, nameKey, scoreKey, labelKey, explKey, what string, warn func(string)) (Eval, bool) {
	var e Eval
	nv, ok := a.get(nameKey)
	name, isStr := nv.(string)
	if !ok || !isStr || strings.TrimSpace(name) == "" {
		switch {
		case !ok:
			warn(fmt.Sprintf("%s has no %s; result ignored", what, nameKey))
		default:
			warn(fmt.Sprintf("%s: %s is not a non-empty string; result ignored", what, nameKey))
		}
		return e, false
	}
	e.Name = name
	if v, ok := a.get(scoreKey); ok {
		if f, ok := scoreOf(v); ok {
			e.Score, e.HasScore = f, true
		} else {
			notA := "not a number"
			if f, ok := v.(float64); ok && math.IsInf(f, 0) {
				notA = "not a finite number"
			}
			warn(fmt.Sprintf("%s (evaluation %s): %s is %s, %s; the result has no score", what, quoteName(name), scoreKey, describeValue(v), notA))
		}
	}
	if v, ok := a.get(labelKey); ok {
		e.Label = stringOf(v)
	}
	if v, ok := a.get(explKey); ok {
		e.Explanation = stringOf(v)
	}
	return e, true
}

// scoreOf reads a numeric score: a double or an integer, finite.
func scoreOf(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, !math.IsNaN(x) && !math.IsInf(x, 0)
	case int64:
		return float64(x), true
	}
	return 0, false
}

func stringOf(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	return fmt.Sprint(v)
}

// describeValue names a value's type and, for short strings, the value,
// in warnings.
func describeValue(v any) string {
	switch x := v.(type) {
	case string:
		if len(x) > 40 {
			return "a string"
		}
		return "the string " + strconv.Quote(x)
	case bool:
		return "a boolean"
	case []any:
		return "an array"
	case map[string]any:
		return "a map"
	case []byte:
		return "bytes"
	case float64: // NaN or ±Inf, the only doubles that are not scores
		return strconv.FormatFloat(x, 'g', -1, 64)
	}
	return fmt.Sprintf("%T", v)
}

// evalTarget is where results read from a span go.
type evalTarget struct {
	s     *Span
	trace bool // TraceLevel
}

// AttachEvals fills Span.Evals of the spans of r from every encoding (see
// the comment at the top of this file): the results in the spans
// themselves and recs, read from log records. A result whose trace is not
// in the run, or whose span is not in its trace, is a warning naming it;
// the latter is kept on the trace (TraceLevel). A result that arrives
// more than once (the same trace, span, name, score, label and time, e.g.
// as a log record and as a span event) is kept once. Evals already set
// are kept.
func AttachEvals(r *Run, recs []RecordEval, warn func(string)) {
	if warn == nil {
		warn = func(string) {}
	}
	var sets map[*Span]map[evalKey]struct{} // for spans with many results
	add := func(t evalTarget, e Eval) {
		if t.s == nil {
			return
		}
		e.TraceLevel = t.trace
		if len(t.s.Evals) < manyEvals {
			for _, old := range t.s.Evals {
				if sameEval(old, e) {
					return
				}
			}
			t.s.Evals = append(t.s.Evals, e)
			return
		}
		if sets == nil {
			sets = map[*Span]map[evalKey]struct{}{}
		}
		set := sets[t.s]
		if set == nil {
			set = make(map[evalKey]struct{}, 2*len(t.s.Evals))
			for _, old := range t.s.Evals {
				set[evalKeyOf(old)] = struct{}{}
			}
			sets[t.s] = set
		}
		k := evalKeyOf(e)
		if _, dup := set[k]; dup {
			return
		}
		set[k] = struct{}{}
		t.s.Evals = append(t.s.Evals, e)
	}
	for _, s := range r.Spans {
		if !mayCarryEvals(s) {
			continue
		}
		own := evalTarget{s: s}
		trace := evalTarget{s: rootOf(r, s), trace: true}
		evaluator := false
		if k, ok := s.Attrs.Get(oiSpanKind); ok {
			if ks, _ := k.(string); strings.EqualFold(ks, oiEvaluatorKind) {
				evaluator = true
				own = evalTarget{}
				if p := r.Parent(s); p != nil {
					own.s = p
				} else {
					warn(fmt.Sprintf("EVALUATOR span %s (%s) of trace %s has no parent in the run: its results have no span to attach to; ignored", quoteName(s.Name), s.SpanID, s.TraceID))
				}
			}
		}
		what := fmt.Sprintf("span %s (%s)", quoteName(s.Name), s.SpanID)
		attrs := modelAttrs{a: s.Attrs}
		if len(s.Attrs) >= manyAttrs {
			attrs.m = s.Attrs.Map()
		}
		src := func(def string) string {
			if evaluator {
				return evalSourceEvaluatr
			}
			return def
		}
		for i := range s.Events {
			ev := &s.Events[i]
			if ev.Name != EvalEventName {
				continue
			}
			if e, ok := evalFrom(modelAttrs{a: ev.Attrs}, what+": event "+EvalEventName, warn); ok {
				e.Source = src(evalSourceEvent)
				e.TimeUnixNano = ev.TimeUnixNano
				add(own, e)
			}
		}
		for _, g := range []struct {
			prefix, item string
			trace        bool
		}{
			{"annotations.", "annotation", false},
			{"evaluations.", "evaluation", false},
			{"trace.annotations.", "annotation", true},
			{"trace.evaluations.", "evaluation", true},
		} {
			for _, idx := range indices(s.Attrs, g.prefix, g.item) {
				base := g.prefix + idx + "." + g.item + "."
				e, ok := evalFields(attrs, base+"name", base+"score", base+"label", base+"explanation", what, warn)
				if !ok {
					continue
				}
				e.Source = src(evalSourceAnnot)
				if g.trace {
					add(trace, e)
				} else {
					add(own, e)
				}
			}
		}
		if evaluator {
			if _, ok := s.Attrs.Get("metadata.evaluator_name"); ok {
				if e, ok := evalFields(attrs, "metadata.evaluator_name", "metadata.score", "metadata.label", "metadata.explanation", what, warn); ok {
					e.Source = evalSourceEvaluatr
					add(own, e)
				}
			}
		}
	}
	var byID map[spanKey]*Span
	if len(recs) > 0 {
		byID = make(map[spanKey]*Span, len(r.Spans))
		for _, s := range r.Spans {
			byID[spanKey{s.TraceID, s.SpanID}] = s
		}
	}
	var byResponse map[string]*Span
	for _, rec := range recs {
		if rec.SpanID == "" && rec.ResponseID != "" {
			if byResponse == nil {
				byResponse = responseIndex(r)
			}
			if s := byResponse[rec.ResponseID]; s != nil && (rec.TraceID == "" || rec.TraceID == s.TraceID) {
				add(evalTarget{s: s}, rec.Eval)
				continue
			}
			if rec.TraceID == "" {
				warn(fmt.Sprintf("%s: evaluation %s names %s %s, which no span of the run has; ignored", rec.Where, quoteName(rec.Eval.Name), attrResponseID, quoteName(rec.ResponseID)))
				continue
			}
		}
		t := r.Trace(rec.TraceID)
		if t == nil {
			warn(fmt.Sprintf("%s: evaluation %s names trace %s, which is not in the run; ignored", rec.Where, quoteName(rec.Eval.Name), rec.TraceID))
			continue
		}
		if rec.SpanID == "" {
			add(evalTarget{s: t.Root, trace: true}, rec.Eval)
			continue
		}
		s := byID[spanKey{rec.TraceID, rec.SpanID}]
		if s == nil {
			warn(fmt.Sprintf("%s: evaluation %s names span %s of trace %s, which is not in the run; kept on the trace", rec.Where, quoteName(rec.Eval.Name), rec.SpanID, rec.TraceID))
			add(evalTarget{s: t.Root, trace: true}, rec.Eval)
			continue
		}
		add(evalTarget{s: s}, rec.Eval)
	}
}

// sameEval says two results are one (see AttachEvals); the source and the
// explanation do not count.
func sameEval(a, b Eval) bool { return evalKeyOf(a) == evalKeyOf(b) }

// evalKey is what makes a result one (sameEval).
type evalKey struct {
	name, label string
	score       float64
	hasScore    bool
	time        uint64
	traceLevel  bool
}

func evalKeyOf(e Eval) evalKey {
	return evalKey{e.Name, e.Label, e.Score, e.HasScore, e.TimeUnixNano, e.TraceLevel}
}

// mayCarryEvals is a cheap test that skips spans with nothing to read: it
// runs on every span of every run, so most keys are passed over on their
// first byte.
func mayCarryEvals(s *Span) bool {
	for i := range s.Events {
		if s.Events[i].Name == EvalEventName {
			return true
		}
	}
	for i := range s.Attrs {
		k := s.Attrs[i].Key
		if k == "" {
			continue
		}
		switch k[0] {
		case 'a':
			if strings.HasPrefix(k, "annotations.") {
				return true
			}
		case 'e':
			if strings.HasPrefix(k, "evaluations.") {
				return true
			}
		case 't':
			if strings.HasPrefix(k, "trace.annotations.") || strings.HasPrefix(k, "trace.evaluations.") {
				return true
			}
		case 'o':
			if k == oiSpanKind {
				if v, _ := s.Attrs[i].Value.(string); strings.EqualFold(v, oiEvaluatorKind) {
					return true
				}
			}
		}
	}
	return false
}

// indices returns the distinct N of prefix+N+"."+item+"." attributes, in
// numeric order.
func indices(a Attrs, prefix, item string) []string {
	var out []string
	seen := map[string]bool{}
	for i := range a {
		k := a[i].Key
		if !strings.HasPrefix(k, prefix) {
			continue
		}
		rest := k[len(prefix):]
		dot := strings.IndexByte(rest, '.')
		if dot <= 0 || !strings.HasPrefix(rest[dot+1:], item+".") {
			continue
		}
		n := rest[:dot]
		if _, err := strconv.ParseUint(n, 10, 31); err != nil || seen[n] {
			continue
		}
		seen[n] = true
		out = append(out, n)
	}
	// numeric order, so results keep the producer's order
	slices.SortFunc(out, func(a, b string) int {
		if len(a) != len(b) { // decimal digits: shorter is smaller (a leading 0 aside)
			return cmp.Compare(len(a), len(b))
		}
		return strings.Compare(a, b)
	})
	return out
}

// rootOf returns the root span of s's trace.
func rootOf(r *Run, s *Span) *Span {
	if t := r.Trace(s.TraceID); t != nil {
		return t.Root
	}
	return s
}

// maxNameInMessage bounds the bytes of a name (an evaluation's, a span's)
// quoted in a warning: untrusted data must not fill the log, and the rest
// of the message must stay readable.
const maxNameInMessage = 120

// quoteName quotes s for a message, cut to maxNameInMessage bytes (on a
// rune boundary) with "…" when longer.
func quoteName(s string) string {
	if len(s) <= maxNameInMessage {
		return strconv.Quote(s)
	}
	cut := maxNameInMessage
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return strconv.Quote(s[:cut]) + "…"
}

// responseIndex maps each gen_ai.response.id of the run to its span (the
// last one, when several spans repeat it).
func responseIndex(r *Run) map[string]*Span {
	m := map[string]*Span{}
	for _, s := range r.Spans {
		if v, ok := s.Attrs.Get(attrResponseID); ok {
			if id, ok := v.(string); ok && id != "" {
				m[id] = s
			}
		}
	}
	return m
}
