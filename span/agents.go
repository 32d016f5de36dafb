package span

import (
	"strconv"
	"strings"
	"time"
)

// Agent, tool, tool-call and conversation fields, the time-to-first-token
// encodings of Mastra, Langfuse and Strands, and the few attributes of
// conventions read from their published specifications (Strands, Spring
// AI, LangSmith's OTel export, pydantic-ai) that the lookup of
// normalise.go does not cover (issue #12). The attributes are read from
// the span's recorded attributes in one pass after the LLM fields, so this
// file adds no keys to the lookup table of keys.go.
//
// Each field takes the first source in its list below that is present
// with a non-empty string (or integer) value:
//
//	agent:        gen_ai.agent.name; agent.name (OpenInference);
//	              graph.node.id on an openinference.span.kind=AGENT span (what
//	              OpenInference's OpenAI Agents instrumentation writes);
//	              traceloop.entity.name on a traceloop.span.kind=agent span
//	tool:         gen_ai.tool.name; ai.toolCall.name (Vercel AI SDK);
//	              tool.name (OpenInference); spring.ai.tool.definition.name
//	              (Spring AI); traceloop.entity.name on a
//	              traceloop.span.kind=tool span; langsmith.trace.name on a
//	              langsmith.span.kind=tool span
//	tool_call_id: gen_ai.tool.call.id; ai.toolCall.id; tool_call.id
//	              (OpenInference)
//	conversation: gen_ai.conversation.id; session.id (OpenInference,
//	              Langfuse); langfuse.session.id;
//	              spring.ai.chat.client.conversation.id (Spring AI);
//	              langsmith.metadata.session_id, langsmith.metadata.thread_id,
//	              langsmith.metadata.conversation_id (LangSmith's OTel export
//	              of a run's metadata; langsmith.trace.session_id is a
//	              LangSmith project, not a conversation)
//
// TTFT (only when no earlier reader set it): mastra.completion_start_time
// and langfuse.observation.completion_start_time, timestamps (RFC 3339, as
// a string, JSON-quoted or not) of the first streamed chunk, minus the
// span's start; on spans of the Strands Agents tracer (provider
// strands-agents: its gen_ai.system or gen_ai.provider.name),
// gen_ai.server.time_to_first_token, which Strands writes in milliseconds
// (the GenAI conventions define no such span attribute; their metric of
// that name is in seconds, so other sources are not read).
//
// Operations the lookup cannot tell:
//   - a span with no operation that names a tool with gen_ai.tool.name
//     (pydantic-ai before its v2 instrumentation: "running tool" spans) is
//     execute_tool (an agent name alone is no invocation: pydantic-ai
//     copies gen_ai.agent.name onto other spans of a run as baggage);
//   - Spring AI's tool calls (spring.ai.kind tool_call, operation
//     "framework") are execute_tool;
//   - LangSmith's OTel export maps its retriever runs to "embeddings"
//     (langsmith.span.kind retriever): they are retrieval.
//
// Cache writes: Strands writes gen_ai.usage.cache_write_input_tokens.

// agentSource ranks the attributes read here: a lower rank wins.
type agentSource struct {
	field int // fAgent, fTool, …
	rank  int
}

const (
	fAgent = iota
	fTool
	fToolCallID
	fConversation
	fTTFTAt
	fEntityName  // traceloop.entity.name, resolved by the span kind
	fGraphNode   // graph.node.id, an agent on OpenInference AGENT spans
	fLSName      // langsmith.trace.name, a tool on LangSmith tool spans
	fStrandsTTFT // gen_ai.server.time_to_first_token (Strands, ms)
	fCacheWrite  // gen_ai.usage.cache_write_input_tokens (Strands)
	fSpringKind  // spring.ai.kind
	fLSKindAttr  // langsmith.span.kind
	nAgentFields
)

// rawFields hold numbers: their values are kept as they came.
const rawFields = 1<<fStrandsTTFT | 1<<fCacheWrite

// agentSourceOf maps an attribute name to its field and rank.
func agentSourceOf(k string) (agentSource, bool) {
	switch k {
	case "gen_ai.agent.name":
		return agentSource{fAgent, 0}, true
	case "agent.name":
		return agentSource{fAgent, 1}, true
	case "gen_ai.tool.name":
		return agentSource{fTool, 0}, true
	case "ai.toolCall.name":
		return agentSource{fTool, 1}, true
	case "tool.name":
		return agentSource{fTool, 2}, true
	case "spring.ai.tool.definition.name":
		return agentSource{fTool, 3}, true
	case "gen_ai.tool.call.id":
		return agentSource{fToolCallID, 0}, true
	case "ai.toolCall.id":
		return agentSource{fToolCallID, 1}, true
	case "tool_call.id":
		return agentSource{fToolCallID, 2}, true
	case "gen_ai.conversation.id":
		return agentSource{fConversation, 0}, true
	case "session.id":
		return agentSource{fConversation, 1}, true
	case "langfuse.session.id":
		return agentSource{fConversation, 2}, true
	case "spring.ai.chat.client.conversation.id":
		return agentSource{fConversation, 3}, true
	case "langsmith.metadata.session_id":
		return agentSource{fConversation, 4}, true
	case "langsmith.metadata.thread_id":
		return agentSource{fConversation, 5}, true
	case "langsmith.metadata.conversation_id":
		return agentSource{fConversation, 6}, true
	case "mastra.completion_start_time":
		return agentSource{fTTFTAt, 0}, true
	case "langfuse.observation.completion_start_time":
		return agentSource{fTTFTAt, 1}, true
	case "traceloop.entity.name":
		return agentSource{fEntityName, 0}, true
	case "graph.node.id":
		return agentSource{fGraphNode, 0}, true
	case "langsmith.trace.name":
		return agentSource{fLSName, 0}, true
	case "gen_ai.server.time_to_first_token":
		return agentSource{fStrandsTTFT, 0}, true
	case "gen_ai.usage.cache_write_input_tokens":
		return agentSource{fCacheWrite, 0}, true
	case "spring.ai.kind":
		return agentSource{fSpringKind, 0}, true
	case "langsmith.span.kind":
		return agentSource{fLSKindAttr, 0}, true
	}
	return agentSource{}, false
}

// agentKeys are the attribute names agentSourceOf knows. agentKeyBits is a
// 1024-bit filter of their (length, first byte, last byte): the pass over
// a span's attributes skips, without comparing it, every name whose bit is
// not set, which is nearly every name that is not one of them.
var (
	agentKeys = [...]string{
		"gen_ai.agent.name", "agent.name", "gen_ai.tool.name", "ai.toolCall.name", "tool.name",
		"spring.ai.tool.definition.name", "gen_ai.tool.call.id", "ai.toolCall.id", "tool_call.id",
		"gen_ai.conversation.id", "session.id", "langfuse.session.id", "spring.ai.chat.client.conversation.id",
		"langsmith.metadata.session_id", "langsmith.metadata.thread_id", "langsmith.metadata.conversation_id",
		"mastra.completion_start_time", "langfuse.observation.completion_start_time", "traceloop.entity.name",
		"graph.node.id", "langsmith.trace.name", "gen_ai.server.time_to_first_token",
		"gen_ai.usage.cache_write_input_tokens", "spring.ai.kind", "langsmith.span.kind",
	}
	agentKeyBits [16]uint64
)

// agentKeyBit is the filter bit of a non-empty name.
func agentKeyBit(k string) uint {
	return (uint(len(k))*131 + uint(k[0])*31 + uint(k[len(k)-1])) & 1023
}

func init() {
	for _, k := range agentKeys {
		if _, ok := agentSourceOf(k); !ok {
			panic("span: agentKeys: " + k)
		}
		b := agentKeyBit(k)
		agentKeyBits[b>>6] |= 1 << (b & 63)
	}
}

// strandsProvider is the provider the Strands Agents tracer writes on its
// spans. (The decoders learn a span's scope only after its attributes, so
// the provider, not the scope, identifies Strands here.)
const strandsProvider = "strands-agents"

// agentFields fills Agent, Tool, ToolCallID and Conversation of s, its
// TTFT from a completion start time, and the operation and cache writes
// of the conventions above, from s.Attrs.
func (n *normaliser) agentFields(s *Span) {
	var (
		val  [nAgentFields]string
		raw  [nAgentFields]any
		has  [nAgentFields]bool
		rank [nAgentFields]int
		attr [nAgentFields]string
	)
	for i := range s.Attrs {
		kv := &s.Attrs[i]
		if kv.Key == "" {
			continue
		}
		if b := agentKeyBit(kv.Key); agentKeyBits[b>>6]&(1<<(b&63)) == 0 {
			continue
		}
		src, ok := agentSourceOf(kv.Key)
		if !ok {
			continue
		}
		if rawFields&(1<<src.field) != 0 {
			raw[src.field], has[src.field], attr[src.field] = kv.Value, true, kv.Key
			continue
		}
		str := agentString(kv.Value)
		if str == "" {
			continue
		}
		if val[src.field] == "" || src.rank < rank[src.field] {
			val[src.field], rank[src.field], attr[src.field] = str, src.rank, kv.Key
		}
	}
	if e := val[fEntityName]; e != "" {
		// OpenLLMetry names agents and tools with traceloop.entity.name.
		switch kind, _ := s.Attrs.Value("traceloop.span.kind").(string); strings.ToLower(kind) {
		case "agent":
			if val[fAgent] == "" {
				val[fAgent] = e
			}
		case "tool":
			if val[fTool] == "" {
				val[fTool] = e
			}
		}
	}
	if g := val[fGraphNode]; g != "" && val[fAgent] == "" {
		if kind, _ := s.Attrs.Value("openinference.span.kind").(string); strings.EqualFold(kind, "agent") {
			val[fAgent] = g
		}
	}
	lsKind := strings.ToLower(val[fLSKindAttr])
	if name := val[fLSName]; name != "" && val[fTool] == "" && lsKind == "tool" {
		val[fTool] = name
	}
	s.Agent, s.Tool, s.ToolCallID, s.Conversation = val[fAgent], val[fTool], val[fToolCallID], val[fConversation]

	switch {
	case s.Operation == "" && s.Tool != "" && attr[fTool] == "gen_ai.tool.name":
		s.Operation = OpExecuteTool
	case val[fSpringKind] == "tool_call" && (s.Operation == "" || s.Operation == "framework"):
		s.Operation = OpExecuteTool
	case lsKind == "retriever" && s.Operation == OpEmbeddings:
		s.Operation = OpRetrieval
	}
	if s.Operation != "" && s.Convention == "" {
		s.Convention = ConvGenAI
	}

	if has[fCacheWrite] && !s.Tokens.HasCacheWrite {
		if c, ok := countOf(attrVal{v: raw[fCacheWrite]}); ok {
			s.Tokens.CacheWrite, s.Tokens.HasCacheWrite = c, true
		} else {
			n.warnf(s, attr[fCacheWrite], attrVal{v: raw[fCacheWrite]}, "a non-negative integer")
		}
	}
	if s.HasTTFT {
		return
	}
	if at := val[fTTFTAt]; at != "" {
		n.ttftFromStartTime(s, attr[fTTFTAt], at)
	} else if has[fStrandsTTFT] && s.Provider == strandsProvider {
		if ms, ok := floatOf(attrVal{v: raw[fStrandsTTFT]}); ok && ms >= 0 {
			s.TTFTMS, s.HasTTFT = ms, true
		} else {
			n.warnf(s, attr[fStrandsTTFT], attrVal{v: raw[fStrandsTTFT]}, "a non-negative number of milliseconds")
		}
	}
}

// agentString reads a name or id: a string, or an integer id as its
// decimal form. Other types (a bool, a list) name nothing.
func agentString(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case int64:
		return strconv.FormatInt(v, 10)
	}
	return ""
}

// ttftFromStartTime sets the TTFT of s from the time its first chunk came
// (RFC 3339, possibly JSON-quoted as Langfuse's SDKs serialise it). A time
// that does not parse, or lies before the span's start or after its end,
// is a warning and no TTFT.
func (n *normaliser) ttftFromStartTime(s *Span, attr, at string) {
	raw := at
	if len(at) >= 2 && at[0] == '"' && at[len(at)-1] == '"' {
		if u, err := strconv.Unquote(at); err == nil {
			at = u
		}
	}
	t, err := time.Parse(time.RFC3339Nano, at)
	if err != nil {
		n.warnf(s, attr, attrVal{v: raw}, "an RFC 3339 timestamp")
		return
	}
	ns := t.UnixNano()
	if ns < 0 || uint64(ns) < s.StartUnixNano || (s.EndUnixNano > s.StartUnixNano && uint64(ns) > s.EndUnixNano) {
		n.warnf(s, attr, attrVal{v: raw}, "a time between the span's start and end")
		return
	}
	s.TTFTMS, s.HasTTFT = float64(uint64(ns)-s.StartUnixNano)/1e6, true
}
