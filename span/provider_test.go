package span

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestNormaliseProvider(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		// the AI SDK's provider.api form (and Mastra's, which passes it on)
		{"openai.responses", "openai"},
		{"openai.chat", "openai"},
		{"openai.completion", "openai"},
		{"openai.embedding", "openai"},
		{"anthropic.messages", "anthropic"},
		{"google.generative-ai", "google"},
		{"mistral.chat", "mistral"},
		// official dotted GenAI values stay whole
		{"azure.ai.openai", "azure.ai.openai"},
		{"azure.ai.inference", "azure.ai.inference"},
		{"az.ai.inference", "az.ai.inference"},
		{"aws.bedrock", "aws.bedrock"},
		{"gcp.vertex_ai", "gcp.vertex_ai"},
		{"gcp.gemini", "gcp.gemini"},
		{"gcp.gen_ai", "gcp.gen_ai"},
		{"ibm.watsonx.ai", "ibm.watsonx.ai"},
		// a cloud namespace not (yet) in the list is a provider, not an API
		{"aws.sagemaker", "aws.sagemaker"},
		// no dot: unchanged
		{"openai", "openai"},
		{"mistral_ai", "mistral_ai"},
		{"", ""},
		// a leading dot is no provider.api pair
		{".chat", ".chat"},
	} {
		assert.Equal(t, tc.want, normaliseProvider(tc.in), tc.in)
	}
}

// Every convention's provider attribute goes through normaliseProvider,
// upper case included (the fast decoders are cross-checked by the tests'
// crossCheck hook).
func TestProviderNormalisedFromEveryConvention(t *testing.T) {
	for _, tc := range []struct {
		attr, val, want string
	}{
		{"gen_ai.provider.name", "openai.responses", "openai"}, // Mastra 0.x + AI SDK
		{"gen_ai.system", "Anthropic.Messages", "anthropic"},
		{"llm.provider", "google.generative-ai", "google"},
		{"llm.system", "openai.chat", "openai"},
		{"gen_ai.provider.name", "azure.ai.openai", "azure.ai.openai"},
		{"gen_ai.system", "AWS.Bedrock", "aws.bedrock"},
	} {
		s, warns := one(t, map[string]any{tc.attr: tc.val, "gen_ai.operation.name": "chat"})
		assert.Empty(t, warns)
		assert.Equal(t, tc.want, s.Provider, "%s=%s", tc.attr, tc.val)
	}
}
