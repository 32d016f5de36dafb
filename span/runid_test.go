package span

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestSpanRepeat(t *testing.T) {
	for _, tc := range []struct {
		name string
		res  map[string]any
		want int64
		err  string
	}{
		{name: "absent", res: nil, want: 0},
		{name: "other attributes only", res: map[string]any{"service.name": "x"}, want: 0},
		{name: "string from OTEL_RESOURCE_ATTRIBUTES", res: map[string]any{ResourceRepeat: "3"}, want: 3},
		{name: "int set in code", res: map[string]any{ResourceRepeat: int64(2)}, want: 2},
		{name: "whole double", res: map[string]any{ResourceRepeat: 4.0}, want: 4},
		{name: "not a number", res: map[string]any{ResourceRepeat: "two"}, err: `llmcheck.repeat = "two" is not a repetition number`},
		{name: "zero", res: map[string]any{ResourceRepeat: "0"}, err: "llmcheck.repeat = 0 is not a repetition number"},
		{name: "negative", res: map[string]any{ResourceRepeat: int64(-1)}, err: "llmcheck.repeat = -1 is not"},
		{name: "fraction", res: map[string]any{ResourceRepeat: 1.5}, err: "llmcheck.repeat = 1.5 is not"},
		{name: "bool", res: map[string]any{ResourceRepeat: true}, err: "llmcheck.repeat is a bool"},
		{name: "long value clipped", res: map[string]any{ResourceRepeat: strings.Repeat("é", 1000)}, err: "…\" is not"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &Span{Resource: tc.res}
			got, err := s.Repeat()
			if tc.err != "" {
				assert.ErrorContains(t, err, tc.err)
				assert.Less(t, len(err.Error()), 200)
				return
			}
			assert.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}
