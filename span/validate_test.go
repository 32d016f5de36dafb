package span

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestValidate(t *testing.T) {
	spans := []Span{
		{TraceID: "t", SpanID: "a", Name: "root", StartUnixNano: 10, EndUnixNano: 20},
		{TraceID: "t", SpanID: "b", ParentSpanID: "a", Name: "backwards", StartUnixNano: 2_000_000, EndUnixNano: 1_000_000},
		{TraceID: "t", SpanID: "b", ParentSpanID: "a", Name: "dup", StartUnixNano: 5, EndUnixNano: 6},
		{TraceID: "u", SpanID: "c", ParentSpanID: "zz", Name: "orphan", StartUnixNano: 5, EndUnixNano: 6},
	}
	var got []string
	Validate(NewRun(spans), func(m string) { got = append(got, m) })
	assert.Equal(t, []string{
		`span "backwards" (trace t, span b) ends 1 ms before it starts; its duration is taken as 0`,
		`span id b appears more than once in trace t (span "dup"); every copy is counted`,
		`1 spans have a parent that was not recorded (an incomplete trace: the parent was not exported, or was exported after llmcheck stopped); their traces use the earliest span as root`,
	}, got)

	got = nil
	Validate(NewRun(spans[:1]), func(m string) { got = append(got, m) })
	assert.Empty(t, got)
}
