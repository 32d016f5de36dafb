package jsondepth

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCheck(t *testing.T) {
	nested := func(n int) string { return strings.Repeat(`{"a":[`, n) + strings.Repeat(`]}`, n) }
	for _, tc := range []struct {
		name   string
		in     string
		max    int
		offset int // -1: accepted
	}{
		{"empty", ``, 2, -1},
		{"flat", `{"a":1,"b":[1,2]}`, 2, -1},
		{"at the limit", `[[1]]`, 2, -1},
		{"one past", `[[[1]]]`, 2, 2},
		{"objects and arrays", nested(3), 5, 17},
		{"siblings do not add up", `[[1],[2],[3]]`, 2, -1},
		{"brackets in strings do not count", `["[[[[", "{{{{"]`, 1, -1},
		{"escaped quote stays in the string", `["\"[[[["]`, 1, -1},
		{"escaped backslash ends the string", `["\\", [[1]]]`, 2, 8},
		{"unterminated string", `["[[[[`, 1, -1},
		{"unbalanced closers", `]]]][[[`, 3, -1},
		{"deep", nested(1_000_000), Max, 6 * Max / 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Check([]byte(tc.in), tc.max)
			if tc.offset < 0 {
				assert.NoError(t, err)
				return
			}
			var de *Error
			require.True(t, errors.As(err, &de), "%v", err)
			assert.Equal(t, tc.offset, de.Offset)
			assert.Equal(t, tc.max, de.Max)
			assert.Contains(t, err.Error(), "nested more than")
		})
	}
}

func BenchmarkCheck(b *testing.B) {
	line := []byte(`{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"svc"}}]},"scopeSpans":[{"spans":[` +
		strings.Repeat(`{"traceId":"0102030405060708090a0b0c0d0e0f10","spanId":"0102030405060708","name":"chat gpt-4o-mini","startTimeUnixNano":"1","endTimeUnixNano":"2","attributes":[{"key":"gen_ai.usage.input_tokens","value":{"intValue":"12"}},{"key":"gen_ai.input.messages","value":{"stringValue":"a longer prompt text, as real spans carry"}}]},`, 100) +
		`{}]}]}]}`)
	b.SetBytes(int64(len(line)))
	for b.Loop() {
		if err := Check(line, Max); err != nil {
			b.Fatal(err)
		}
	}
}
