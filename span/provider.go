package span

import "strings"

// officialProviders are the dotted gen_ai.provider.name (and older
// gen_ai.system) values of the GenAI semantic conventions: they name a
// provider, not a provider and an API, and are kept as they are.
var officialProviders = map[string]bool{
	"azure.ai.inference": true,
	"azure.ai.openai":    true,
	"az.ai.inference":    true, // gen_ai.system before semconv 1.30
	"az.ai.openai":       true,
	"aws.bedrock":        true,
	"gcp.gemini":         true,
	"gcp.gen_ai":         true,
	"gcp.vertex_ai":      true,
	"ibm.watsonx.ai":     true,
}

// cloudNamespaces are the first segments of dotted provider names that
// name a cloud platform: such a value is a provider of its own (the
// conventions' style: aws.bedrock, azure.ai.openai, gcp.vertex_ai), never
// an AI SDK "provider.api" pair, so it is kept whole even when it is not
// in officialProviders.
var cloudNamespaces = map[string]bool{"aws": true, "az": true, "azure": true, "gcp": true, "ibm": true}

// normaliseProvider maps a lower-cased provider value onto the provider
// it names. The Vercel AI SDK (and Mastra, which passes it on) writes
// "provider.api": openai.responses, openai.chat, openai.embedding,
// anthropic.messages, google.generative-ai, mistral.chat; these become
// the part before the first dot (openai, anthropic, google, mistral).
// Values of the GenAI conventions that contain dots (azure.ai.openai,
// aws.bedrock, gcp.vertex_ai, ibm.watsonx.ai, and any value under a cloud
// namespace) are kept intact, as is any value without a dot.
//
// Every convention reader passes its provider through it. It does not
// allocate: the result is p or a prefix of p.
func normaliseProvider(p string) string {
	dot := strings.IndexByte(p, '.')
	if dot <= 0 {
		return p
	}
	if officialProviders[p] || cloudNamespaces[p[:dot]] {
		return p
	}
	return p[:dot]
}
