package tracestore

import (
	"testing"

	"go.opentelemetry.io/collector/pdata/ptrace"
)

// FuzzAnswer: whatever a store answers, reading it (decode, split by
// trace, the query, the line written) returns or errors; it never panics.
func FuzzAnswer(f *testing.F) {
	f.Add([]byte(`{"result":{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"svc"}}]},"scopeSpans":[{"scope":{},"spans":[{"traceId":"0102030405060708090a0b0c0d0e0f10","spanId":"0102030405060708","name":"chat","startTimeUnixNano":"1000","endTimeUnixNano":"2000","events":[{"name":"e","attributes":[{"key":"k","value":{"intValue":"1"}}]}]}]}]}]}}`))
	f.Add([]byte(`{"result":{}}{"result":{"resourceSpans":[]}}`))
	f.Add([]byte(`{"error":{"httpCode":500,"message":"boom"}}`))
	f.Add([]byte(`[[[[`))
	q := Query{Service: "svc", Attrs: map[string]string{"k": "1"}}
	var m ptrace.JSONMarshaler
	f.Fuzz(func(t *testing.T, body []byte) {
		tds, err := decode("fuzz", body)
		if err != nil {
			return
		}
		for _, td := range tds {
			for _, tr := range byTrace(td) {
				matches(tr, q)
				traceID(tr)
				if _, err := m.MarshalTraces(tr); err != nil {
					t.Fatal(err)
				}
			}
		}
	})
}
