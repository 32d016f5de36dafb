package span

import (
	"encoding/hex"
	"encoding/json"
	"strconv"
	"strings"
	"sync"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// FromTraces appends the normalised spans of td to dst and returns it.
// Problems with the LLM attributes (a token count that is not a
// non-negative integer, an unreadable document list) are dropped silently;
// use FromTracesWarn to hear about them.
func FromTraces(dst []Span, td ptrace.Traces) []Span {
	return FromTracesWarn(dst, td, nil)
}

// FromTracesWarn is FromTraces, calling warn (when not nil) once for every
// attribute that is present but unusable. Each message names the span (name
// and id) and the attribute. Such an attribute is never read as zero: the
// next attribute in the lookup order is tried, and the field stays unset
// (Has* false) when none is usable.
//
// Lookup order, per REFERENCE.md §4: GenAI semantic conventions, then
// OpenLLMetry, then OpenInference (then langsmith.span.kind for the
// operation). Convention is the convention of the attribute that gave the
// operation; without one, of the first token count, else of the model, else
// of the provider. It can also be "langsmith".
//
// Beyond the lists of REFERENCE.md §4:
//   - a kind of "unknown" (llm.request.type, traceloop.span.kind,
//     openinference.span.kind UNKNOWN) counts as absent;
//   - a span that lists retrieved documents but names no operation (as
//     OpenLLMetry's vector-DB spans: only db.* attributes and result events)
//     gets the operation "retrieval";
//   - documents also come from OpenLLMetry's db.search.result events (Milvus;
//     results of the first query vector only) and OpenInference's
//     reranker.output_documents on RERANKER spans; reranker.query is their
//     query. A distance (Chroma, Milvus) is not a score: HasScore stays false.
//   - a document without an id (OpenInference often records only content)
//     keeps its rank with an empty ID.
//   - LangChain.js and LlamaIndex.TS (span/langchain.go, span/llamaindex.go):
//     an OpenInference span's provider from its metadata JSON's
//     ls_provider, its documents' ids from their metadata JSON's id, its
//     streaming flag from llm.invocation_parameters; a LlamaIndex.TS
//     "….retrieve" task span is a retrieval with documents from
//     traceloop.entity.output.
//   - time to first token from OpenInference's and OpenLLMetry's
//     first-chunk span events (span/streamevents.go).
//
// Spans without a valid (non-zero) trace id or span id are skipped, and so
// are attributes with an empty key (of the resource, the kept spans and
// their events): both are invalid OTLP. When any was skipped, warn gets
// one SkippedWarning for the call.
//
// Attrs and Events[].Attrs are nil when empty. The Resource map is shared by
// all spans of the same OTLP resource: treat it as read-only.
func FromTracesWarn(dst []Span, td ptrace.Traces, warn func(string)) []Span {
	if crossCheck != nil {
		return crossCheck(dst, td, warn)
	}
	return fromTracesWarn(dst, td, warn)
}

// crossCheck is set by this package's tests to compare every
// FromTracesWarn with the Decoder's fast paths.
var crossCheck func(dst []Span, td ptrace.Traces, warn func(string)) []Span

func fromTracesWarn(dst []Span, td ptrace.Traces, warn func(string)) []Span {
	n := normalisers.Get().(*normaliser)
	n.warn = warn
	defer func() {
		n.warn = nil
		n.badIDs, n.emptyKeys = 0, 0
		normalisers.Put(n)
	}()
	n.badIDs, n.emptyKeys = 0, 0
	dst = n.fromTraces(dst, td)
	if w := SkippedWarning(n.badIDs, n.emptyKeys); w != "" && warn != nil {
		warn(w)
	}
	return dst
}

// validIDs reports whether a span has the non-zero trace and span ids
// OTLP requires; a span without them belongs to no trace and is skipped.
func validIDs(sp ptrace.Span) bool {
	return !sp.TraceID().IsEmpty() && !sp.SpanID().IsEmpty()
}

// fromTraces appends td's spans with valid ids (see validIDs) to dst,
// counting the others in n.badIDs.
func (n *normaliser) fromTraces(dst []Span, td ptrace.Traces) []Span {
	if c := validSpanCount(td); cap(dst)-len(dst) < c {
		grown := make([]Span, len(dst), max(2*cap(dst), len(dst)+c))
		copy(grown, dst)
		dst = grown
	}
	rss := td.ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		rs := rss.At(i)
		resAttrs := rs.Resource().Attributes()
		res := n.resourceMap(resAttrs)
		service := ""
		if v, ok := resAttrs.Get("service.name"); ok {
			service = v.AsString()
		}
		service = n.in.str(service)
		sss := rs.ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			ss := sss.At(j)
			scope := n.in.str(ss.Scope().Name())
			spans := ss.Spans()
			for k := 0; k < spans.Len(); k++ {
				sp := spans.At(k)
				if !validIDs(sp) {
					n.badIDs++
					continue
				}
				dst = append(dst, Span{Service: service, Resource: res, Scope: scope})
				n.span(&dst[len(dst)-1], sp)
			}
		}
	}
	return dst
}

// resourceMap converts resource attributes as convertMap, skipping (and
// counting) those with an empty key.
func (n *normaliser) resourceMap(m pcommon.Map) map[string]any {
	var out map[string]any
	for k, v := range m.All() {
		if k == "" {
			n.emptyKeys++
			continue
		}
		if out == nil {
			out = make(map[string]any, m.Len())
		}
		out[k] = convertValue(v)
	}
	return out
}

// validSpanCount is the number of td's spans with valid ids.
func validSpanCount(td ptrace.Traces) int {
	c := 0
	rss := td.ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		sss := rss.At(i).ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			spans := sss.At(j).Spans()
			for k := 0; k < spans.Len(); k++ {
				if validIDs(spans.At(k)) {
					c++
				}
			}
		}
	}
	return c
}

// normalisers keeps normalisers, and so their intern tables, from batch to
// batch.
var normalisers = sync.Pool{New: func() any { return new(normaliser) }}

type normaliser struct {
	warn func(string)
	// spans skipped for a missing or all-zero trace or span id, and
	// attributes (of the resource, the kept spans and their events)
	// skipped for an empty key
	badIDs, emptyKeys int
	l                 lookup
	in                interner
	ab                attrsBuilder
	// documents from db.query.result / db.search.result events of the
	// current span
	evDocs []Document

	// the last trace id converted, as consecutive spans often share it
	lastTID    [16]byte
	lastTIDStr string
}

var kindNames = [...]string{
	ptrace.SpanKindUnspecified: "unspecified",
	ptrace.SpanKindInternal:    "internal",
	ptrace.SpanKindServer:      "server",
	ptrace.SpanKindClient:      "client",
	ptrace.SpanKindProducer:    "producer",
	ptrace.SpanKindConsumer:    "consumer",
}

var statusNames = [...]string{
	ptrace.StatusCodeUnset: "unset",
	ptrace.StatusCodeOk:    "ok",
	ptrace.StatusCodeError: "error",
}

func (n *normaliser) span(s *Span, sp ptrace.Span) {
	s.TraceID = n.traceID(sp.TraceID())
	sid := sp.SpanID()
	s.SpanID = hexString(sid[:])
	if pid := sp.ParentSpanID(); !pid.IsEmpty() {
		s.ParentSpanID = hexString(pid[:])
	}
	s.Name = n.in.str(sp.Name())
	if k := sp.Kind(); k >= 0 && int(k) < len(kindNames) {
		s.Kind = kindNames[k]
	} else {
		s.Kind = kindNames[ptrace.SpanKindUnspecified]
	}
	st := sp.Status()
	if c := st.Code(); c >= 0 && int(c) < len(statusNames) {
		s.Status = statusNames[c]
	} else {
		s.Status = statusNames[ptrace.StatusCodeUnset]
	}
	s.StatusMessage = n.in.str(st.Message())
	s.StartUnixNano = uint64(sp.StartTimestamp())
	s.EndUnixNano = uint64(sp.EndTimestamp())
	if s.EndUnixNano > s.StartUnixNano {
		s.DurationMS = float64(s.EndUnixNano-s.StartUnixNano) / 1e6
	}

	n.begin()
	if attrs := sp.Attributes(); attrs.Len() > 0 {
		m := n.ab.alloc(attrs.Len())
		for k, v := range attrs.All() {
			if k == "" {
				n.emptyKeys++
				continue
			}
			a := fromPdata(v)
			if str, ok := a.v.(string); ok {
				a.v = n.in.boxed(str)
			}
			m, _ = n.ab.add(m, n.in.str(k), a.v)
			n.l.note(k, a)
		}
		if len(m) > 0 {
			s.Attrs = m
		}
	}

	if evs := sp.Events(); evs.Len() > 0 {
		s.Events = make([]Event, evs.Len())
		for i := 0; i < evs.Len(); i++ {
			n.event(s, &s.Events[i], evs.At(i))
		}
	}

	n.llm(s)
	n.agentFields(s) // agents.go
}

// traceID formats a trace id, reusing the string of the previous span's
// when it is the same.
func (n *normaliser) traceID(tid [16]byte) string {
	if tid != n.lastTID || n.lastTIDStr == "" {
		var buf [32]byte
		hex.Encode(buf[:], tid[:])
		n.lastTID, n.lastTIDStr = tid, n.in.copyStr(buf[:])
	}
	return n.lastTIDStr
}

// begin starts a span: the attributes and events noted next are its own.
func (n *normaliser) begin() {
	n.l.reset()
	n.evDocs = n.evDocs[:0]
}

func (n *normaliser) event(s *Span, e *Event, ev ptrace.SpanEvent) {
	e.Name = n.in.str(ev.Name())
	e.TimeUnixNano = uint64(ev.Timestamp())
	attrs := ev.Attributes()
	if attrs.Len() == 0 {
		return
	}
	m := n.ab.alloc(attrs.Len())
	sc := eventScan(e.Name)
	for k, v := range attrs.All() {
		if k == "" {
			n.emptyKeys++
			continue
		}
		a := fromPdata(v)
		if str, ok := a.v.(string); ok {
			a.v = n.in.boxed(str)
		}
		m, _ = n.ab.add(m, n.in.str(k), a.v)
		sc.note(k, a)
	}
	if len(m) == 0 {
		return
	}
	e.Attrs = m
	n.eventDone(s, e, &sc)
}

// evScan collects the result document an event may describe.
//
// OpenLLMetry's vector-DB instrumentations emit one event per result:
// db.query.result (Pinecone: .id/.score; Chroma: .id/.distance; Milvus
// query: the entity's own fields, "id" among them) and db.search.result
// (Milvus search: .id/.distance, with db.search.query.id for multi-vector
// searches).
type evScan struct {
	idKey, scoreKey                       string
	id, rawID, score                      attrVal
	hasID, hasRawID, hasScore, otherQuery bool
}

func eventScan(name string) evScan {
	switch name {
	case "db.query.result":
		return evScan{idKey: "db.query.result.id", scoreKey: "db.query.result.score"}
	case "db.search.result":
		return evScan{idKey: "db.search.result.id", scoreKey: "db.search.result.score"}
	}
	return evScan{}
}

// note remembers one event attribute, in attribute order.
func (sc *evScan) note(k string, v attrVal) {
	if sc.idKey == "" {
		return
	}
	switch k {
	case sc.idKey:
		sc.id, sc.hasID = v, true
	case "id":
		sc.rawID, sc.hasRawID = v, true
	case sc.scoreKey:
		sc.score, sc.hasScore = v, true
	case "db.search.query.id":
		// Only the results of the first query vector are the span's
		// ranking.
		if q, ok := intOf(v); !ok || q != 0 {
			sc.otherQuery = true
		}
	}
}

// eventDone records the document of an event with attributes.
func (n *normaliser) eventDone(s *Span, e *Event, sc *evScan) {
	if sc.idKey == "" || sc.otherQuery {
		return
	}
	id, hasID := sc.id, sc.hasID
	if !hasID && sc.hasRawID {
		id, hasID = sc.rawID, true
	}
	d := Document{Rank: len(n.evDocs) + 1}
	if hasID {
		d.ID = idString(id)
	}
	if sc.hasScore {
		if f, ok := floatOf(sc.score); ok {
			d.Score, d.HasScore = f, true
		} else {
			n.warnf(s, sc.scoreKey+" on event "+e.Name, sc.score, "a number")
		}
	}
	n.evDocs = append(n.evDocs, d)
}

// llm fills the LLM fields of s: the conventions of REFERENCE.md §4, then
// the framework readers beside this file.
func (n *normaliser) llm(s *Span) {
	n.conventions(s)
	n.aiSDKAndTTFT(s) // vercel.go
}

// conventions fills the LLM fields of s from the remembered attributes.
func (n *normaliser) conventions(s *Span) {
	l := &n.l
	streamEventTTFT(s) // span/streamevents.go
	if l.present == 0 && len(n.evDocs) == 0 && len(l.oiRetr) == 0 && len(l.oiRerank) == 0 {
		return
	}

	var opKey key
	s.Operation, opKey = n.operation()
	if s.Operation != "" {
		s.Convention = keyConv[opKey]
	}
	if isLlamaIndexRetrieve(s) { // span/llamaindex.go
		n.llamaIndexRetrieve(s)
	}

	var modelKey, provKey key
	s.Model, modelKey = l.first(kRespModel, kReqModel, kOIRespModel, kOIModel, kOIReqModel, kOIEmbModel, kOIRerankModel)
	s.Model = n.in.str(s.Model)
	var prov string
	prov, provKey = l.first(kProviderName, kSystem, kOIProvider, kOISystem)
	if s.Convention == ConvOpenInference { // span/langchain.go
		if prov == "" {
			prov = lsProvider(s)
		}
		if !s.Streaming && s.Operation == OpChat {
			s.Streaming = oiStreaming(s)
		}
	}
	if prov != "" {
		s.Provider = normaliseProvider(n.in.lower(prov))
	}

	tokKey := n.tokens(s)
	if s.Convention == "" {
		switch {
		case tokKey != nKeys:
			s.Convention = keyConv[tokKey]
		case s.Model != "":
			s.Convention = keyConv[modelKey]
		case s.Provider != "":
			s.Convention = keyConv[provKey]
		}
	}

	if docKey := n.documents(s); s.Operation == "" && docKey != nKeys {
		// A span that lists retrieved documents and names no operation
		// (OpenLLMetry's vector-DB spans carry only db.* attributes and
		// result events) is a retrieval.
		s.Operation = OpRetrieval
		if s.Convention == "" {
			s.Convention = keyConv[docKey]
		}
	}
	n.query(s)
	n.cost(s)
}

// first returns the first non-empty string among ks and its key.
func (l *lookup) first(ks ...key) (string, key) {
	for _, k := range ks {
		if v := l.str(k); v != "" {
			return v, k
		}
	}
	return "", nKeys
}

func (n *normaliser) operation() (string, key) {
	l := &n.l
	if v := l.str(kOpName); v != "" {
		return n.in.lower(v), kOpName
	}
	if v := l.str(kReqType); v != "" {
		switch v = strings.ToLower(v); v {
		case "completion":
			return OpTextCompletion, kReqType
		case "embedding":
			return OpEmbeddings, kReqType
		case "unknown":
		default: // chat, rerank, anything new
			return v, kReqType
		}
	}
	if v := l.str(kTLKind); v != "" {
		switch v = strings.ToLower(v); v {
		case "agent":
			return OpInvokeAgent, kTLKind
		case "tool":
			return OpExecuteTool, kTLKind
		case "unknown":
		default: // workflow, task
			return v, kTLKind
		}
	}
	if v := l.str(kOIKind); v != "" {
		switch v = strings.ToLower(v); v {
		case "llm":
			return OpChat, kOIKind
		case "embedding":
			return OpEmbeddings, kOIKind
		case "retriever":
			return OpRetrieval, kOIKind
		case "reranker":
			return OpRerank, kOIKind
		case "tool":
			return OpExecuteTool, kOIKind
		case "agent":
			return OpInvokeAgent, kOIKind
		case "unknown":
		default: // chain, guardrail, evaluator, prompt
			return v, kOIKind
		}
	}
	if v := l.str(kLSKind); v != "" {
		switch v = strings.ToLower(v); v {
		case "llm":
			return OpChat, kLSKind
		case "retriever":
			return OpRetrieval, kLSKind
		case "tool":
			return OpExecuteTool, kLSKind
		case "embedding":
			return OpEmbeddings, kLSKind
		default: // chain, prompt, parser
			return v, kLSKind
		}
	}
	return "", nKeys
}

// tokens fills s.Tokens and returns the key that supplied the first of
// input, output and total (nKeys when none did).
func (n *normaliser) tokens(s *Span) key {
	t := &s.Tokens
	src := nKeys
	var k key
	if t.Input, k, t.HasInput = n.count(s, kInTok, kPromptTok, kOIPromptTok); t.HasInput {
		src = k
	}
	if t.Output, k, t.HasOutput = n.count(s, kOutTok, kComplTok, kOIComplTok); t.HasOutput && src == nKeys {
		src = k
	}
	if t.Total, k, t.HasTotal = n.count(s, kTotalTok, kLLMTotalTok, kOITotalTok); t.HasTotal {
		if src == nKeys {
			src = k
		}
	} else if t.HasInput || t.HasOutput {
		// input + output, unless that overflows int64 (counts so large
		// are not real: the total is then not reported)
		if sum := t.Input + t.Output; sum >= t.Input {
			t.Total, t.HasTotal = sum, true
		} else {
			n.warnMsg(s, "input + output tokens ("+strconv.FormatInt(t.Input, 10)+" + "+strconv.FormatInt(t.Output, 10)+") overflow a 64-bit count; the total is not reported")
		}
	}
	t.Cached, _, t.HasCached = n.count(s, kCacheRead, kCacheReadOld, kOICacheRead)
	t.CacheWrite, _, t.HasCacheWrite = n.count(s, kCacheCreate, kCacheWrite, kCacheCreateOld, kOICacheWrite)
	t.Reasoning, _, t.HasReasoning = n.count(s, kReasoning, kReasoningOld, kOIReasoning)
	return src
}

// count returns the first usable token count among ks.
func (n *normaliser) count(s *Span, ks ...key) (int64, key, bool) {
	for _, k := range ks {
		v, ok := n.l.get(k)
		if !ok {
			continue
		}
		if c, ok := countOf(v); ok {
			return c, k, true
		}
		n.warnf(s, keyName[k], v, "a non-negative integer")
	}
	return 0, nKeys, false
}

// cost reads the cost reported on the span. A cost is a finite,
// non-negative number: a negative one would silently cancel real spend in
// a sum, so, like a negative token count, it is a warning and not
// reported.
func (n *normaliser) cost(s *Span) {
	if v, ok := n.l.get(kCostTotal); ok {
		if f, ok := costOf(v); ok {
			s.Cost, s.HasCost = f, true
			return
		}
		n.warnf(s, keyName[kCostTotal], v, "a non-negative number")
	}
	var sum float64
	var found bool
	for _, k := range [...]key{kCostPrompt, kCostCompl} {
		v, ok := n.l.get(k)
		if !ok {
			continue
		}
		if f, ok := costOf(v); ok {
			sum += f
			found = true
		} else {
			n.warnf(s, keyName[k], v, "a non-negative number")
		}
	}
	if found {
		s.Cost, s.HasCost = sum, true
	}
}

func (n *normaliser) query(s *Span) {
	l := &n.l
	if v := l.str(kRetrQuery); v != "" {
		s.Query = v
		return
	}
	if s.Operation == OpRetrieval {
		if v := l.str(kInputValue); v != "" {
			s.Query = v
			return
		}
	}
	if s.Operation == OpRerank {
		if v := l.str(kRerankQuery); v != "" {
			s.Query = v
			return
		}
	}
	if v := l.str(kTLInput); v != "" {
		s.Query = traceloopQuery(v, s.Operation == OpRetrieval || s.Operation == OpRerank)
	}
}

// traceloopQuery reads the query out of traceloop.entity.input: a JSON
// object's "query" field (or kwargs.query, as OpenLLMetry records a call's
// arguments as {"args": [...], "kwargs": {...}}); otherwise, on retrieval
// spans only, the whole string.
func traceloopQuery(in string, retrieval bool) string {
	t := strings.TrimSpace(in)
	if len(t) > 0 && t[0] == '{' && strings.Contains(t, `"query"`) {
		var obj struct {
			Query  json.RawMessage `json:"query"`
			Kwargs struct {
				Query json.RawMessage `json:"query"`
			} `json:"kwargs"`
		}
		if json.Unmarshal([]byte(t), &obj) == nil {
			for _, raw := range [...]json.RawMessage{obj.Query, obj.Kwargs.Query} {
				var q string
				if len(raw) > 0 && raw[0] == '"' && json.Unmarshal(raw, &q) == nil && q != "" {
					return q
				}
			}
		}
	}
	if retrieval {
		return in
	}
	return ""
}

// documents fills s.Documents and returns a key of the convention that
// supplied them (nKeys when none did).
func (n *normaliser) documents(s *Span) key {
	l := &n.l
	if v, ok := l.get(kRetrDocs); ok {
		if docs, ok := n.docsFromValue(s, v); ok {
			s.Documents = docs
			return kRetrDocs
		}
	}
	if len(n.evDocs) > 0 {
		s.Documents = append([]Document(nil), n.evDocs...)
		return kTLInput // an OpenLLMetry key
	}
	if docs := oiDocuments(l.oiRetr); docs != nil {
		s.Documents = docs
		return kInputValue // an OpenInference key
	}
	if docs := oiDocuments(l.oiRerank); docs != nil {
		s.Documents = docs
		return kInputValue
	}
	return nKeys
}

func oiDocuments(raw []oiDoc) []Document {
	var docs []Document
	for i := range raw {
		r := &raw[i]
		if !r.set {
			continue
		}
		d := Document{Rank: len(docs) + 1}
		if r.hasID {
			d.ID = idString(r.id)
		} else if r.hasMeta {
			d.ID = metadataID(r.meta)
		}
		if r.hasSc {
			d.Score, d.HasScore = floatOf(r.score)
		}
		docs = append(docs, d)
	}
	return docs
}

// docsFromValue reads gen_ai.retrieval.documents: structured (an array of
// maps, as the convention recommends), or a JSON string, or an array of
// strings (each a JSON object or a bare id).
func (n *normaliser) docsFromValue(s *Span, a attrVal) ([]Document, bool) {
	switch v := a.v.(type) {
	case string:
		docs, err := docsFromJSON(v)
		if err != nil {
			n.warnf(s, keyName[kRetrDocs], a, "a JSON array of {id, score} objects")
			return nil, false
		}
		return docs, true
	case []any:
		sl := a.pval().Slice()
		docs := make([]Document, 0, sl.Len())
		for i := 0; i < sl.Len(); i++ {
			e := sl.At(i)
			d := Document{Rank: len(docs) + 1}
			switch e.Type() {
			case pcommon.ValueTypeMap:
				m := e.Map()
				if id, ok := m.Get("id"); ok {
					d.ID = idString(fromPdata(id))
				}
				if sc, ok := m.Get("score"); ok {
					d.Score, d.HasScore = floatOf(fromPdata(sc))
				}
			case pcommon.ValueTypeStr:
				str := strings.TrimSpace(e.Str())
				if len(str) > 0 && str[0] == '{' {
					one, err := docsFromJSON("[" + str + "]")
					if err != nil || len(one) != 1 {
						n.warnf(s, keyName[kRetrDocs], fromPdata(e), "a JSON {id, score} object")
						continue
					}
					d.ID, d.Score, d.HasScore = one[0].ID, one[0].Score, one[0].HasScore
				} else {
					d.ID = e.Str()
				}
			case pcommon.ValueTypeInt, pcommon.ValueTypeDouble:
				d.ID = idString(fromPdata(e))
			default:
				n.warnf(s, keyName[kRetrDocs], fromPdata(e), "an {id, score} map")
				continue
			}
			docs = append(docs, d)
		}
		return docs, true
	}
	n.warnf(s, keyName[kRetrDocs], a, "an array of {id, score}")
	return nil, false
}

// costOf reads a cost: a finite number, not negative.
func costOf(a attrVal) (float64, bool) {
	f, ok := floatOf(a)
	return f, ok && f >= 0
}

// warnMsg reports a problem with the LLM fields of s.
func (n *normaliser) warnMsg(s *Span, msg string) {
	if n.warn == nil {
		return
	}
	n.warn("span " + strconv.Quote(s.Name) + " (trace " + s.TraceID + ", span " + s.SpanID + "): " + msg)
}

// warnf reports an unusable attribute value.
func (n *normaliser) warnf(s *Span, attr string, a attrVal, want string) {
	if n.warn == nil {
		return
	}
	v := a.pval()
	got := v.AsString()
	if len(got) > 64 {
		got = got[:61] + "..."
	}
	n.warn("span " + strconv.Quote(s.Name) + " (trace " + s.TraceID + ", span " + s.SpanID + "): " +
		attr + ": want " + want + ", got " + strings.ToLower(v.Type().String()) + " " + strconv.Quote(got))
}

// hexString is hex.EncodeToString with one allocation instead of two.
func hexString(b []byte) string {
	var buf [32]byte
	if len(b) > 16 {
		return hex.EncodeToString(b)
	}
	hex.Encode(buf[:], b)
	return string(buf[:2*len(b)])
}
