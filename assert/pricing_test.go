package assert

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/llmcheck/llmcheck/span"
)

// A pricing key prices a longer model name only across a version or date
// suffix (issue 11 item 5); any other extension is a different model
// and has no price.
func TestPriceMatching(t *testing.T) {
	pricing := map[string]Price{
		"gpt-4o":                  {Input: 2.5},
		"gpt-4o-mini":             {Input: 0.15},
		"gpt-4":                   {Input: 30},
		"o1":                      {Input: 15},
		"claude-3-5-sonnet":       {Input: 3},
		"claude-3-5-sonnet-v2":    {Input: 3.5},
		"claude-3-haiku":          {Input: 0.25},
		"gemini-1.5-pro":          {Input: 1.25},
		"mistral-large":           {Input: 2},
		"openai/gpt-4o-audio":     {Input: 40},
		"anthropic.claude-3-opus": {Input: 15},
	}
	cases := []struct {
		model string
		want  float64 // input price; 0 = no price
	}{
		// exact keys
		{"gpt-4o", 2.5},
		{"gpt-4o-mini", 0.15},
		{"openai/gpt-4o-audio", 40},
		// version and date suffixes
		{"gpt-4o-2024-08-06", 2.5},        // -YYYY-MM-DD (OpenAI)
		{"gpt-4o-mini-2024-07-18", 0.15},  // the longest key wins
		{"claude-3-5-sonnet-20241022", 3}, // -YYYYMMDD (Anthropic)
		{"gpt-4-0613", 30},                // -MMDD (OpenAI)
		{"gemini-1.5-pro-002", 1.25},      // -NNN (Gemini)
		{"claude-3-5-sonnet-latest", 3},   // -latest
		{"o1-preview", 15},                // -preview
		{"o1-preview-2024-09-12", 15},     // -preview with a date
		{"mistral-large-latest", 2},
		{"claude-3-5-sonnet-v2@20241022", 3.5}, // @date (Vertex AI)
		{"claude-3-haiku@latest", 0.25},
		{"claude-3-haiku-20240307-v1:0", 0.25},              // -vN:M (Bedrock)
		{"anthropic.claude-3-haiku-20240307-v1:0", 0.25},    // Bedrock provider prefix
		{"us.anthropic.claude-3-haiku-20240307-v1:0", 0.25}, // and cross-region prefix
		{"anthropic.claude-3-opus-20240229-v1:0", 15},       // a key with the prefix
		{"openai/gpt-4o-2024-08-06", 2.5},                   // provider/ prefix
		// other extensions are other models: no price
		{"gpt-4o-mini-tts", 0},
		{"gpt-4o-realtime-preview", 0},
		{"gpt-4-turbo", 0},
		{"gpt-4-1106-preview", 0}, // GPT-4 Turbo, not GPT-4
		{"gpt-4-32k", 0},
		{"o1-mini", 0},
		{"o1-pro", 0},
		{"claude-3-5-sonnet-v2", 3.5}, // its own key, not claude-3-5-sonnet's
		{"claude-3-5-sonnet-v3@20250101", 0},
		{"gemini-1.5-pro-exp-0827", 0},
		{"gpt-4o-2024", 0},
		{"gpt-4o-20240806x", 0},
		{"gpt-4o-", 0},
		{"gpt-4o@", 0},
		{"claude-3-haiku-v1", 0},
		{"llama3.1-8b", 0},
		{"gpt-4o.mini", 0},
		{"", 0},
	}
	for _, c := range cases {
		t.Run(c.model, func(t *testing.T) {
			p, ok := lookupPrice(pricing, c.model)
			if c.want == 0 {
				assert.False(t, ok, "priced at %v", p)
				return
			}
			assert.True(t, ok)
			assert.Equal(t, c.want, p.Input)
		})
	}
	// The case: with only gpt-4o priced, gpt-4o-mini has no price
	// (it was priced at gpt-4o's rates, 16× too high).
	r := costErr(t, map[string]Price{"gpt-4o": {Input: 2.5, Output: 10}}, "gpt-4o-mini")
	assert.EqualError(t, r, `no price for model "gpt-4o-mini": add it under pricing: in USD per 1M tokens`)
}

// costErr prices a span of model with 1000 input tokens.
func costErr(t *testing.T, pricing map[string]Price, model string) error {
	t.Helper()
	s := span.Span{Model: model, Tokens: span.Tokens{Input: 1000, Total: 1000, HasInput: true, HasTotal: true}}
	_, _, _, err := CostOf(&s, pricing)
	return err
}

// FuzzPriceLookup: any model name (span content) is priced by a key it
// extends by a version suffix, or not at all, without a panic.
func FuzzPriceLookup(f *testing.F) {
	for _, m := range []string{"gpt-4o-2024-08-06", "us.anthropic.claude-3-haiku-20240307-v1:0", "x@2024", "gpt-4o-preview-05-0", "-v1:", "a.b.c", "gpt-4o-0230"} {
		f.Add(m)
	}
	pricing := map[string]Price{"gpt-4o": {Input: 2.5}, "claude-3-haiku": {Input: 0.25}, "a": {Input: 1}}
	f.Fuzz(func(t *testing.T, model string) {
		p, ok := lookupPrice(pricing, model)
		if !ok {
			return
		}
		for k, want := range pricing {
			if want == p && strings.Contains(model, k) {
				return
			}
		}
		t.Fatalf("%q priced by no key it contains", model)
	})
}

// ModelFamily drops the version suffix the pricing rules price across, so
// a key named after a model's family prices that model (issue #13 item
// 15: init --from names the family, not the dated response model).
func TestModelFamily(t *testing.T) {
	cases := []struct{ model, family string }{
		{"gpt-4o-mini-2024-07-18", "gpt-4o-mini"},
		{"gpt-4o-mini", "gpt-4o-mini"},
		{"gpt-4o-2024-08-06", "gpt-4o"},
		{"gpt-4-0613", "gpt-4"},
		{"claude-3-5-sonnet-20241022", "claude-3-5-sonnet"},
		{"claude-3-5-haiku-latest", "claude-3-5-haiku"},
		{"gemini-1.5-pro-002", "gemini-1.5-pro"},
		{"o1-preview", "o1"},
		{"o1-preview-2024-09-12", "o1"},
		{"gpt-4o-realtime-preview", "gpt-4o-realtime"},
		{"anthropic.claude-3-haiku-20240307-v1:0", "anthropic.claude-3-haiku"},
		{"claude-3-5-sonnet-v2@20241022", "claude-3-5-sonnet-v2"},
		{"openai/gpt-4o-2024-08-06", "openai/gpt-4o"},
		{"gpt-4-turbo", "gpt-4-turbo"},
		{"gpt-4-1106-preview", "gpt-4-1106"},
		{"2024-07-18", "2024-07-18"},
		{"-2024-07-18", "-2024-07-18"},
		{"", ""},
	}
	for _, c := range cases {
		got := ModelFamily(c.model)
		assert.Equal(t, c.family, got, c.model)
		if c.model != "" {
			p, ok := lookupPrice(map[string]Price{got: {Input: 1}}, c.model)
			assert.True(t, ok && p.Input == 1, "a price for %q must price %q", got, c.model)
		}
	}
}
