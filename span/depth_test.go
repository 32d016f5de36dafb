package span

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// deepSpan is one OTLP JSON TracesData whose span has an attribute value
// nested n levels deep in the given shape.
func deepSpan(n int, shape string) []byte {
	var open, close string
	switch shape {
	case "array":
		open, close = `{"arrayValue":{"values":[`, `]}}`
	case "kvlist":
		open, close = `{"kvlistValue":{"values":[{"key":"k","value":`, `}]}}`
	case "unknown field": // skipped by pdata, not read
		open, close = `[`, `]`
	}
	var b strings.Builder
	b.WriteString(`{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"0102030405060708090a0b0c0d0e0f10","spanId":"0102030405060708","name":"deep","startTimeUnixNano":"1","endTimeUnixNano":"2",`)
	if shape == "unknown field" {
		b.WriteString(`"futureField":`)
		b.WriteString(strings.Repeat(open, n) + "1" + strings.Repeat(close, n))
		b.WriteString(`}]}]}]}`)
		return []byte(b.String())
	}
	b.WriteString(`"attributes":[{"key":"deep","value":`)
	b.WriteString(strings.Repeat(open, n) + `{"stringValue":"x"}` + strings.Repeat(close, n))
	b.WriteString(`}]}]}]}]}`)
	return []byte(b.String())
}

// TestDecodeJSONDeepNesting: a value nested far past any real attribute
// (issue #16: 1.5M levels killed the process with a stack overflow in
// pdata's recursive decoder) is an error naming the limit; a value as
// deep as the protobuf path admits still decodes.
func TestDecodeJSONDeepNesting(t *testing.T) {
	for _, shape := range []string{"array", "kvlist", "unknown field"} {
		t.Run(shape, func(t *testing.T) {
			d := NewDecoder()
			spans, err := d.DecodeJSON(nil, deepSpan(1_500_000, shape), nil)
			require.Error(t, err)
			assert.Contains(t, err.Error(), "JSON nested more than 256 levels deep at byte")
			assert.Empty(t, spans)

			// 60 levels of values: deeper than the fast path reads (the
			// slow path decodes it), shallower than the limit
			spans, err = d.DecodeJSON(nil, deepSpan(60, shape), nil)
			require.NoError(t, err)
			require.Len(t, spans, 1)
			assert.Equal(t, "deep", spans[0].Name)
		})
	}
}
