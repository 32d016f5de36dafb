package span

import (
	"math"
	"strings"
)

// This file reads the Vercel AI SDK's telemetry (issue #12) and the time
// to first token of streamed calls.
//
// AI SDK 6 (experimental_telemetry, instrumentation scope "ai") names each
// span after its operation, but span processors (OpenInference's among
// them) rename spans, so the reader keys on the ai.operationId attribute:
//
//	ai.generateText.doGenerate, ai.streamText.doStream,
//	ai.generateObject.doGenerate, ai.streamObject.doStream  → chat
//	ai.embed.doEmbed, ai.embedMany.doEmbed                  → embeddings
//	ai.toolCall                                             → execute_tool
//	ai.generateText, ai.streamText, ai.generateObject,
//	ai.streamObject                                         → invoke_agent
//	ai.embed, ai.embedMany                                  → no operation (a wrapper, not a call)
//
// Model from ai.response.model, else ai.model.id; provider from
// ai.model.provider in the SDK's provider.api form (openai.chat →
// openai); tokens from ai.usage.* (inputTokens/outputTokens/totalTokens,
// the older promptTokens/completionTokens, tokens for embeddings, cached
// input from cachedInputTokens or inputTokenDetails.cacheReadTokens,
// reasoningTokens or outputTokenDetails.reasoningTokens); tool and call id
// from ai.toolCall.name and ai.toolCall.id. A field another convention on
// the span already supplied is kept.
//
// Time to first token, on any span: ai.response.msToFirstChunk (ms),
// gen_ai.response.time_to_first_chunk and
// gen_ai.client.operation.time_to_first_chunk (seconds; the latter is what
// AI SDK 7's @ai-sdk/otel writes). A span with a time to first token, a
// doStream operation or gen_ai.request.stream = true is streamed.

// aiSDK holds the attributes the AI SDK reader needs, collected in one pass
// over the span's attributes.
type aiSDK struct {
	opID, modelID, respModel, provider, toolName, toolID                       attrVal
	in, out, total, prompt, compl, tokens, cached, cacheRead, reason, reasonOD attrVal
	msFirst, ttftResp, ttftClient, stream                                      attrVal

	has uint32 // bit i set: field i (in the order of aiField) was seen
}

type aiField uint8

const (
	afOpID aiField = iota
	afModelID
	afRespModel
	afProvider
	afToolName
	afToolID
	afIn
	afOut
	afTotal
	afPrompt
	afCompl
	afTokens
	afCached
	afCacheRead
	afReason
	afReasonOD
	afMsFirst
	afTTFTResp
	afTTFTClient
	afStream
)

func (a *aiSDK) field(f aiField) *attrVal {
	switch f {
	case afOpID:
		return &a.opID
	case afModelID:
		return &a.modelID
	case afRespModel:
		return &a.respModel
	case afProvider:
		return &a.provider
	case afToolName:
		return &a.toolName
	case afToolID:
		return &a.toolID
	case afIn:
		return &a.in
	case afOut:
		return &a.out
	case afTotal:
		return &a.total
	case afPrompt:
		return &a.prompt
	case afCompl:
		return &a.compl
	case afTokens:
		return &a.tokens
	case afCached:
		return &a.cached
	case afCacheRead:
		return &a.cacheRead
	case afReason:
		return &a.reason
	case afReasonOD:
		return &a.reasonOD
	case afMsFirst:
		return &a.msFirst
	case afTTFTResp:
		return &a.ttftResp
	case afTTFTClient:
		return &a.ttftClient
	}
	return &a.stream
}

var aiFieldName = [...]string{
	afOpID:       "ai.operationId",
	afModelID:    "ai.model.id",
	afRespModel:  "ai.response.model",
	afProvider:   "ai.model.provider",
	afToolName:   "ai.toolCall.name",
	afToolID:     "ai.toolCall.id",
	afIn:         "ai.usage.inputTokens",
	afOut:        "ai.usage.outputTokens",
	afTotal:      "ai.usage.totalTokens",
	afPrompt:     "ai.usage.promptTokens",
	afCompl:      "ai.usage.completionTokens",
	afTokens:     "ai.usage.tokens",
	afCached:     "ai.usage.cachedInputTokens",
	afCacheRead:  "ai.usage.inputTokenDetails.cacheReadTokens",
	afReason:     "ai.usage.reasoningTokens",
	afReasonOD:   "ai.usage.outputTokenDetails.reasoningTokens",
	afMsFirst:    "ai.response.msToFirstChunk",
	afTTFTResp:   "gen_ai.response.time_to_first_chunk",
	afTTFTClient: "gen_ai.client.operation.time_to_first_chunk",
	afStream:     "gen_ai.request.stream",
}

// aiSDKName reports whether an attribute the normaliser does not read
// itself may be one of this file's: cheap enough for every attribute.
func aiSDKName(name string) bool {
	if len(name) < 11 {
		return false
	}
	switch name[0] {
	case 'a':
		return name[1] == 'i' && name[2] == '.'
	case 'g':
		return name[len(name)-1] == 'k' && strings.HasSuffix(name, "time_to_first_chunk") || name == "gen_ai.request.stream"
	}
	return false
}

// aiFieldOf maps an attribute name to the field the reader keeps. Only
// names starting "ai." or "gen_ai." reach the switch.
func aiFieldOf(name string) (aiField, bool) {
	switch name {
	case "ai.operationId":
		return afOpID, true
	case "ai.model.id":
		return afModelID, true
	case "ai.response.model":
		return afRespModel, true
	case "ai.model.provider":
		return afProvider, true
	case "ai.toolCall.name":
		return afToolName, true
	case "ai.toolCall.id":
		return afToolID, true
	case "ai.usage.inputTokens":
		return afIn, true
	case "ai.usage.outputTokens":
		return afOut, true
	case "ai.usage.totalTokens":
		return afTotal, true
	case "ai.usage.promptTokens":
		return afPrompt, true
	case "ai.usage.completionTokens":
		return afCompl, true
	case "ai.usage.tokens":
		return afTokens, true
	case "ai.usage.cachedInputTokens":
		return afCached, true
	case "ai.usage.inputTokenDetails.cacheReadTokens":
		return afCacheRead, true
	case "ai.usage.reasoningTokens":
		return afReason, true
	case "ai.usage.outputTokenDetails.reasoningTokens":
		return afReasonOD, true
	case "ai.response.msToFirstChunk":
		return afMsFirst, true
	case "gen_ai.response.time_to_first_chunk":
		return afTTFTResp, true
	case "gen_ai.client.operation.time_to_first_chunk":
		return afTTFTClient, true
	case "gen_ai.request.stream":
		return afStream, true
	}
	return 0, false
}

func (a *aiSDK) get(f aiField) (attrVal, bool) {
	if a.has&(1<<f) == 0 {
		return attrVal{}, false
	}
	return *a.field(f), true
}

// aiSDKOps maps ai.operationId to the operation. An empty operation means
// the span is not a call of its own (ai.embed and ai.embedMany wrap their
// doEmbed calls).
var aiSDKOps = map[string]string{
	"ai.generateText.doGenerate":   OpChat,
	"ai.streamText.doStream":       OpChat,
	"ai.generateObject.doGenerate": OpChat,
	"ai.streamObject.doStream":     OpChat,
	"ai.embed.doEmbed":             OpEmbeddings,
	"ai.embedMany.doEmbed":         OpEmbeddings,
	"ai.toolCall":                  OpExecuteTool,
	"ai.generateText":              OpInvokeAgent,
	"ai.streamText":                OpInvokeAgent,
	"ai.generateObject":            OpInvokeAgent,
	"ai.streamObject":              OpInvokeAgent,
	"ai.embed":                     "",
	"ai.embedMany":                 "",
}

// ConvAISDK is the Convention of a span whose LLM fields came from the
// Vercel AI SDK's own ai.* attributes.
const ConvAISDK = "ai_sdk"

// aiSDKAndTTFT fills the fields of s that the AI SDK's attributes and the
// time-to-first-token encodings supply; it runs after the conventions of
// REFERENCE.md §4 have been read.
func (n *normaliser) aiSDKAndTTFT(s *Span) {
	if !n.l.aiSDK {
		return
	}
	var a aiSDK
	for i := range s.Attrs {
		k := s.Attrs[i].Key
		if len(k) < 11 || (k[0] != 'a' && k[0] != 'g') {
			continue
		}
		if f, ok := aiFieldOf(k); ok {
			*a.field(f) = attrVal{v: s.Attrs[i].Value}
			a.has |= 1 << f
		}
	}
	if a.has == 0 {
		return
	}
	n.ttft(s, &a)
	if v, ok := a.get(afStream); ok {
		if b, ok := v.v.(bool); ok && b {
			s.Streaming = true
		}
	}
	v, ok := a.get(afOpID)
	if !ok {
		return
	}
	opID := v.asString()
	op, known := aiSDKOps[opID]
	if !known {
		return
	}
	if strings.HasSuffix(opID, ".doStream") {
		s.Streaming = true
	}
	if op != "" {
		if s.Operation == "" {
			s.Convention = ConvAISDK
		}
		s.Operation = op
	} else if s.Operation == OpEmbeddings {
		s.Operation = ""
	}
	if s.Model == "" {
		if v, ok := a.get(afRespModel); ok && v.asString() != "" {
			s.Model = n.in.str(v.asString())
		} else if v, ok := a.get(afModelID); ok {
			s.Model = n.in.str(v.asString())
		}
	}
	if v, ok := a.get(afProvider); ok {
		raw := strings.ToLower(v.asString())
		// AI SDK 6 also copies ai.model.provider into gen_ai.system.
		if s.Provider == "" || s.Provider == raw {
			s.Provider = n.in.str(aiSDKProvider(raw))
		}
	}
	n.aiSDKTokens(s, &a, op)
	if op == OpExecuteTool {
		if v, ok := a.get(afToolName); ok && s.Tool == "" {
			s.Tool = n.in.str(v.asString())
		}
		if v, ok := a.get(afToolID); ok && s.ToolCallID == "" {
			s.ToolCallID = n.in.str(v.asString())
		}
	}
}

// aiSDKTokens fills the token counts the span's other conventions did not
// report.
func (n *normaliser) aiSDKTokens(s *Span, a *aiSDK, op string) {
	t := &s.Tokens
	had := t.HasInput || t.HasOutput || t.HasTotal
	if !t.HasInput {
		t.Input, t.HasInput = n.aiCount(s, a, afIn, afPrompt)
		if !t.HasInput && op == OpEmbeddings {
			t.Input, t.HasInput = n.aiCount(s, a, afTokens)
		}
	}
	if !t.HasOutput {
		t.Output, t.HasOutput = n.aiCount(s, a, afOut, afCompl)
	}
	if !t.HasTotal {
		if t.Total, t.HasTotal = n.aiCount(s, a, afTotal, afTokens); !t.HasTotal && (t.HasInput || t.HasOutput) {
			if sum := t.Input + t.Output; sum >= t.Input {
				t.Total, t.HasTotal = sum, true
			}
		}
	}
	if !t.HasCached {
		t.Cached, t.HasCached = n.aiCount(s, a, afCached, afCacheRead)
	}
	if !t.HasReasoning {
		t.Reasoning, t.HasReasoning = n.aiCount(s, a, afReason, afReasonOD)
	}
	if !had && t.Any() && s.Convention == "" {
		s.Convention = ConvAISDK
	}
}

// aiCount returns the first usable token count among fs, warning about
// unusable ones.
func (n *normaliser) aiCount(s *Span, a *aiSDK, fs ...aiField) (int64, bool) {
	for _, f := range fs {
		v, ok := a.get(f)
		if !ok {
			continue
		}
		if c, ok := countOf(v); ok {
			return c, true
		}
		n.warnf(s, aiFieldName[f], v, "a non-negative integer")
	}
	return 0, false
}

// ttft reads the time to first token (ms); a value that is not a finite,
// non-negative number is a warning and not reported.
func (n *normaliser) ttft(s *Span, a *aiSDK) {
	for _, f := range [...]aiField{afMsFirst, afTTFTResp, afTTFTClient} {
		v, ok := a.get(f)
		if !ok {
			continue
		}
		x, ok := floatOf(v)
		if ok && f != afMsFirst {
			x *= 1000 // seconds
		}
		if !ok || x < 0 || math.IsInf(x, 0) {
			n.warnf(s, aiFieldName[f], v, "a non-negative number")
			continue
		}
		s.TTFTMS, s.HasTTFT, s.Streaming = x, true, true
		return
	}
}

// aiSDKProvider turns the AI SDK's provider.api form (openai.chat,
// openai.responses, anthropic.messages, google.vertex.chat) into the
// provider (openai, anthropic, google), keeping official dotted names such
// as azure.ai.openai: the general rule, normaliseProvider. p is lower-case.
func aiSDKProvider(p string) string { return normaliseProvider(p) }
