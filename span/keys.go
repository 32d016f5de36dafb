package span

import (
	"strings"
)

// Convention names stored in Span.Convention.
const (
	ConvGenAI         = "gen_ai"
	ConvOpenLLMetry   = "openllmetry"
	ConvOpenInference = "openinference"
	ConvLangSmith     = "langsmith"
)

// key identifies one span attribute the normaliser reads. The attributes of
// a span are scanned once; the ones named here are remembered by key, so
// the LLM fields are resolved without a map lookup per candidate name.
type key uint8

const (
	// operation
	kOpName  key = iota // gen_ai.operation.name
	kReqType            // llm.request.type (OpenLLMetry)
	kTLKind             // traceloop.span.kind
	kOIKind             // openinference.span.kind
	kLSKind             // langsmith.span.kind

	// model
	kRespModel     // gen_ai.response.model
	kReqModel      // gen_ai.request.model
	kOIRespModel   // llm.response.model_name
	kOIModel       // llm.model_name
	kOIReqModel    // llm.request.model_name
	kOIEmbModel    // embedding.model_name
	kOIRerankModel // reranker.model_name

	// provider
	kProviderName // gen_ai.provider.name
	kSystem       // gen_ai.system
	kOIProvider   // llm.provider
	kOISystem     // llm.system

	// tokens
	kInTok          // gen_ai.usage.input_tokens
	kPromptTok      // gen_ai.usage.prompt_tokens
	kOIPromptTok    // llm.token_count.prompt
	kOutTok         // gen_ai.usage.output_tokens
	kComplTok       // gen_ai.usage.completion_tokens
	kOIComplTok     // llm.token_count.completion
	kTotalTok       // gen_ai.usage.total_tokens
	kLLMTotalTok    // llm.usage.total_tokens
	kOITotalTok     // llm.token_count.total
	kCacheRead      // gen_ai.usage.cache_read.input_tokens
	kCacheReadOld   // gen_ai.usage.cache_read_input_tokens
	kOICacheRead    // llm.token_count.prompt_details.cache_read
	kCacheCreate    // gen_ai.usage.cache_creation.input_tokens
	kCacheWrite     // gen_ai.usage.cache_write.input_tokens
	kCacheCreateOld // gen_ai.usage.cache_creation_input_tokens
	kOICacheWrite   // llm.token_count.prompt_details.cache_write
	kReasoning      // gen_ai.usage.reasoning.output_tokens
	kReasoningOld   // gen_ai.usage.reasoning_tokens (OpenLLMetry)
	kOIReasoning    // llm.token_count.completion_details.reasoning

	// retrieval
	kRetrDocs    // gen_ai.retrieval.documents
	kRetrQuery   // gen_ai.retrieval.query.text
	kInputValue  // input.value (OpenInference)
	kRerankQuery // reranker.query (OpenInference)
	kTLInput     // traceloop.entity.input

	// cost
	kCostTotal  // llm.cost.total
	kCostPrompt // llm.cost.prompt
	kCostCompl  // llm.cost.completion

	nKeys
)

// keyName is the attribute name of each key; keyConv the convention it
// belongs to.
var keyName = [nKeys]string{
	kOpName:  "gen_ai.operation.name",
	kReqType: "llm.request.type",
	kTLKind:  "traceloop.span.kind",
	kOIKind:  "openinference.span.kind",
	kLSKind:  "langsmith.span.kind",

	kRespModel:     "gen_ai.response.model",
	kReqModel:      "gen_ai.request.model",
	kOIRespModel:   "llm.response.model_name",
	kOIModel:       "llm.model_name",
	kOIReqModel:    "llm.request.model_name",
	kOIEmbModel:    "embedding.model_name",
	kOIRerankModel: "reranker.model_name",

	kProviderName: "gen_ai.provider.name",
	kSystem:       "gen_ai.system",
	kOIProvider:   "llm.provider",
	kOISystem:     "llm.system",

	kInTok:          "gen_ai.usage.input_tokens",
	kPromptTok:      "gen_ai.usage.prompt_tokens",
	kOIPromptTok:    "llm.token_count.prompt",
	kOutTok:         "gen_ai.usage.output_tokens",
	kComplTok:       "gen_ai.usage.completion_tokens",
	kOIComplTok:     "llm.token_count.completion",
	kTotalTok:       "gen_ai.usage.total_tokens",
	kLLMTotalTok:    "llm.usage.total_tokens",
	kOITotalTok:     "llm.token_count.total",
	kCacheRead:      "gen_ai.usage.cache_read.input_tokens",
	kCacheReadOld:   "gen_ai.usage.cache_read_input_tokens",
	kOICacheRead:    "llm.token_count.prompt_details.cache_read",
	kCacheCreate:    "gen_ai.usage.cache_creation.input_tokens",
	kCacheWrite:     "gen_ai.usage.cache_write.input_tokens",
	kCacheCreateOld: "gen_ai.usage.cache_creation_input_tokens",
	kOICacheWrite:   "llm.token_count.prompt_details.cache_write",
	kReasoning:      "gen_ai.usage.reasoning.output_tokens",
	kReasoningOld:   "gen_ai.usage.reasoning_tokens",
	kOIReasoning:    "llm.token_count.completion_details.reasoning",

	kRetrDocs:    "gen_ai.retrieval.documents",
	kRetrQuery:   "gen_ai.retrieval.query.text",
	kInputValue:  "input.value",
	kRerankQuery: "reranker.query",
	kTLInput:     "traceloop.entity.input",

	kCostTotal:  "llm.cost.total",
	kCostPrompt: "llm.cost.prompt",
	kCostCompl:  "llm.cost.completion",
}

var keyConv = [nKeys]string{
	kOpName:  ConvGenAI,
	kReqType: ConvOpenLLMetry,
	kTLKind:  ConvOpenLLMetry,
	kOIKind:  ConvOpenInference,
	kLSKind:  ConvLangSmith,

	kRespModel:     ConvGenAI,
	kReqModel:      ConvGenAI,
	kOIRespModel:   ConvOpenInference,
	kOIModel:       ConvOpenInference,
	kOIReqModel:    ConvOpenInference,
	kOIEmbModel:    ConvOpenInference,
	kOIRerankModel: ConvOpenInference,

	kProviderName: ConvGenAI,
	kSystem:       ConvGenAI,
	kOIProvider:   ConvOpenInference,
	kOISystem:     ConvOpenInference,

	kInTok:          ConvGenAI,
	kPromptTok:      ConvOpenLLMetry,
	kOIPromptTok:    ConvOpenInference,
	kOutTok:         ConvGenAI,
	kComplTok:       ConvOpenLLMetry,
	kOIComplTok:     ConvOpenInference,
	kTotalTok:       ConvOpenLLMetry,
	kLLMTotalTok:    ConvOpenLLMetry,
	kOITotalTok:     ConvOpenInference,
	kCacheRead:      ConvGenAI,
	kCacheReadOld:   ConvOpenLLMetry,
	kOICacheRead:    ConvOpenInference,
	kCacheCreate:    ConvGenAI,
	kCacheWrite:     ConvGenAI,
	kCacheCreateOld: ConvOpenLLMetry,
	kOICacheWrite:   ConvOpenInference,
	kReasoning:      ConvGenAI,
	kReasoningOld:   ConvOpenLLMetry,
	kOIReasoning:    ConvOpenInference,

	kRetrDocs:    ConvGenAI,
	kRetrQuery:   ConvGenAI,
	kInputValue:  ConvOpenInference,
	kRerankQuery: ConvOpenInference,
	kTLInput:     ConvOpenLLMetry,

	kCostTotal:  ConvOpenInference,
	kCostPrompt: ConvOpenInference,
	kCostCompl:  ConvOpenInference,
}

// keyOf maps an attribute name to its key. A string switch compiles to a
// length-bucketed binary search: no hashing, no allocation.
func keyOf(name string) (key, bool) {
	switch name {
	case "gen_ai.operation.name":
		return kOpName, true
	case "llm.request.type":
		return kReqType, true
	case "traceloop.span.kind":
		return kTLKind, true
	case "openinference.span.kind":
		return kOIKind, true
	case "langsmith.span.kind":
		return kLSKind, true
	case "gen_ai.response.model":
		return kRespModel, true
	case "gen_ai.request.model":
		return kReqModel, true
	case "llm.response.model_name":
		return kOIRespModel, true
	case "llm.model_name":
		return kOIModel, true
	case "llm.request.model_name":
		return kOIReqModel, true
	case "embedding.model_name":
		return kOIEmbModel, true
	case "reranker.model_name":
		return kOIRerankModel, true
	case "gen_ai.provider.name":
		return kProviderName, true
	case "gen_ai.system":
		return kSystem, true
	case "llm.provider":
		return kOIProvider, true
	case "llm.system":
		return kOISystem, true
	case "gen_ai.usage.input_tokens":
		return kInTok, true
	case "gen_ai.usage.prompt_tokens":
		return kPromptTok, true
	case "llm.token_count.prompt":
		return kOIPromptTok, true
	case "gen_ai.usage.output_tokens":
		return kOutTok, true
	case "gen_ai.usage.completion_tokens":
		return kComplTok, true
	case "llm.token_count.completion":
		return kOIComplTok, true
	case "gen_ai.usage.total_tokens":
		return kTotalTok, true
	case "llm.usage.total_tokens":
		return kLLMTotalTok, true
	case "llm.token_count.total":
		return kOITotalTok, true
	case "gen_ai.usage.cache_read.input_tokens":
		return kCacheRead, true
	case "gen_ai.usage.cache_read_input_tokens":
		return kCacheReadOld, true
	case "llm.token_count.prompt_details.cache_read":
		return kOICacheRead, true
	case "gen_ai.usage.cache_creation.input_tokens":
		return kCacheCreate, true
	case "gen_ai.usage.cache_write.input_tokens":
		return kCacheWrite, true
	case "gen_ai.usage.cache_creation_input_tokens":
		return kCacheCreateOld, true
	case "llm.token_count.prompt_details.cache_write":
		return kOICacheWrite, true
	case "gen_ai.usage.reasoning.output_tokens":
		return kReasoning, true
	case "gen_ai.usage.reasoning_tokens":
		return kReasoningOld, true
	case "llm.token_count.completion_details.reasoning":
		return kOIReasoning, true
	case "gen_ai.retrieval.documents":
		return kRetrDocs, true
	case "gen_ai.retrieval.query.text":
		return kRetrQuery, true
	case "input.value":
		return kInputValue, true
	case "reranker.query":
		return kRerankQuery, true
	case "traceloop.entity.input":
		return kTLInput, true
	case "llm.cost.total":
		return kCostTotal, true
	case "llm.cost.prompt":
		return kCostPrompt, true
	case "llm.cost.completion":
		return kCostCompl, true
	}
	return 0, false
}

// lookup holds the remembered attribute values of the span being
// normalised. It is reused from span to span.
type lookup struct {
	present uint64
	vals    [nKeys]attrVal

	// OpenInference flattened documents, indexed by their 0-based index.
	oiRetr, oiRerank []oiDoc

	// aiSDK says the span has an attribute the AI SDK / TTFT reader
	// needs (vercel.go), so plain spans skip its pass.
	aiSDK bool
}

func (l *lookup) reset() {
	l.present = 0
	l.aiSDK = false
	l.oiRetr = l.oiRetr[:0]
	l.oiRerank = l.oiRerank[:0]
}

func (l *lookup) get(k key) (attrVal, bool) {
	if l.present&(1<<k) == 0 {
		return attrVal{}, false
	}
	return l.vals[k], true
}

// str returns the value of k as a string; "" when absent or empty.
func (l *lookup) str(k key) string {
	v, ok := l.get(k)
	if !ok {
		return ""
	}
	return v.asString()
}

// note remembers the attribute if the normaliser needs it.
func (l *lookup) note(name string, v attrVal) {
	if k, ok := keyOf(name); ok {
		l.vals[k] = v
		l.present |= 1 << k
		return
	}
	if !l.aiSDK && aiSDKName(name) {
		l.aiSDK = true
		return
	}
	// OpenInference flattened lists: retrieval.documents.{i}.document.{field}
	// and reranker.output_documents.{i}.document.{field}.
	if len(name) > 20 && (name[0] == 'r') {
		if rest, ok := strings.CutPrefix(name, "retrieval.documents."); ok {
			l.oiRetr = noteOIDoc(l.oiRetr, rest, v)
		} else if rest, ok := strings.CutPrefix(name, "reranker.output_documents."); ok {
			l.oiRerank = noteOIDoc(l.oiRerank, rest, v)
		}
	}
}

// oiDoc is one OpenInference flattened document while it is collected.
type oiDoc struct {
	set   bool // some document.* attribute was seen at this index
	id    attrVal
	hasID bool
	score attrVal
	hasSc bool
	// metadata JSON, whose "id" is the id when there is no document.id
	// (LangChain.js, span/langchain.go)
	meta    attrVal
	hasMeta bool
}

// maxOIDocs bounds the index of a flattened document, so a hostile index
// cannot make the normaliser allocate a huge slice.
const maxOIDocs = 10000

// noteOIDoc records "{i}.document.{field}".
func noteOIDoc(docs []oiDoc, rest string, v attrVal) []oiDoc {
	i, n := 0, 0
	for n < len(rest) && rest[n] >= '0' && rest[n] <= '9' {
		i = i*10 + int(rest[n]-'0')
		n++
		if i >= maxOIDocs {
			return docs
		}
	}
	if n == 0 {
		return docs
	}
	field, ok := strings.CutPrefix(rest[n:], ".document.")
	if !ok {
		return docs
	}
	for len(docs) <= i {
		docs = append(docs, oiDoc{})
	}
	d := &docs[i]
	d.set = true
	switch field {
	case "id":
		d.id, d.hasID = v, true
	case "score":
		d.score, d.hasSc = v, true
	case "metadata":
		d.meta, d.hasMeta = v, true
	}
	return docs
}
