package receiver

import (
	"bytes"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// deepRequest is an OTLP JSON request whose span attribute nests n arrays.
func deepRequest(n int) []byte {
	return []byte(`{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"0102030405060708090a0b0c0d0e0f10","spanId":"0102030405060708","name":"deep","startTimeUnixNano":"1","endTimeUnixNano":"2","attributes":[{"key":"deep","value":` +
		strings.Repeat(`{"arrayValue":{"values":[`, n) + `{"stringValue":"x"}` + strings.Repeat(`]}}`, n) + `}]}]}]}]}`)
}

// TestDeepJSON (issue #16 item 1): an OTLP/JSON request nested 1.5M levels
// deep (under the 64 MiB limit once inflated) is a 400 naming the limit,
// nothing is stored, and the receiver keeps serving; before, pdata's
// recursive decoder overflowed the stack and killed the process. A value
// as deep as the protobuf path admits is still taken.
func TestDeepJSON(t *testing.T) {
	for _, sk := range sinkKinds {
		t.Run(sk.name, func(t *testing.T) {
			sink := &memSink{}
			r := startReceiver(t, Options{MaxRequestBytes: 64 << 20}, sinkOf(sink, sk.lines))
			url := r.Endpoint() + "/v1/traces"

			body := gzipBytes(t, deepRequest(1_500_000))
			t.Logf("%d levels: %d bytes gzipped", 1_500_000, len(body))
			resp, msg := post(t, nil, url, "application/json", "gzip", bytes.NewReader(body))
			assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
			assert.Contains(t, string(msg), "JSON nested more than 256 levels deep at byte")
			assert.Equal(t, 0, sink.spanCount())

			resp, msg = post(t, nil, url, "application/json", "", bytes.NewReader(deepRequest(60)))
			require.Equal(t, http.StatusOK, resp.StatusCode, string(msg))
			assert.Equal(t, 1, sink.spanCount())
		})
	}
}
