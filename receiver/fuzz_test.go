package receiver

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"go.opentelemetry.io/collector/pdata/ptrace"
)

type fuzzSink struct {
	spans int
	lines []string // every batch, as the trace file's line
}

func (c *fuzzSink) ConsumeTraces(_ context.Context, td ptrace.Traces) error {
	c.spans += td.SpanCount()
	var m ptrace.JSONMarshaler
	b, err := m.MarshalTraces(td)
	if err != nil {
		return err
	}
	c.lines = append(c.lines, string(b)+"\n")
	return nil
}

// fuzzJSONSink also takes transcoded lines.
type fuzzJSONSink struct{ fuzzSink }

func (c *fuzzJSONSink) ConsumeTracesJSON(_ context.Context, line []byte, spans int) error {
	c.spans += spans
	c.lines = append(c.lines, string(line))
	return nil
}

// FuzzHTTPTraces: any body, as OTLP/HTTP protobuf or JSON, plain or
// gzipped, gets 200 (and reaches the sink) or a 4xx — never a panic, never
// a 5xx, never spans stored on an error. A receiver whose sink takes JSON
// lines (transcoded protobuf) answers the same and stores the same lines.
func FuzzHTTPTraces(f *testing.F) {
	f.Add([]byte(`{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"5B8EFFF798038103D269B633813FC60C","spanId":"EEE19B7EC3C1B174","name":"chat","startTimeUnixNano":"1","endTimeUnixNano":2,"attributes":[{"key":"gen_ai.usage.input_tokens","value":{"intValue":"12"}}]}]}]}]}`), true, false)
	f.Add([]byte{0x0a, 0x02, 0x0a, 0x00}, false, false)
	f.Add([]byte("not otlp"), true, true)
	f.Add([]byte{}, false, true)
	// deep nesting (issue #16): past the JSON depth limit, and within it
	f.Add(deepRequest(300), true, false)
	f.Add(deepRequest(300), true, true)
	f.Add(deepRequest(60), true, false)
	f.Add([]byte(strings.Repeat("[", 5000)), true, false)
	f.Fuzz(func(t *testing.T, body []byte, asJSON, gz bool) {
		sink := &fuzzSink{}
		r := &Receiver{sink: sink, limit: 1 << 20, maxBusy: 1, mem: newBudget(2<<20, 1<<20), bodyTimeout: DefaultBodyTimeout}
		payload := body
		req := httptest.NewRequest(http.MethodPost, "/v1/traces", nil)
		if gz {
			var b bytes.Buffer
			zw := gzip.NewWriter(&b)
			zw.Write(body)
			zw.Close()
			payload = b.Bytes()
			req.Header.Set("Content-Encoding", "gzip")
		}
		req.Body = http.NoBody
		if len(payload) > 0 {
			req = httptest.NewRequest(http.MethodPost, "/v1/traces", bytes.NewReader(payload))
			if gz {
				req.Header.Set("Content-Encoding", "gzip")
			}
		}
		if asJSON {
			req.Header.Set("Content-Type", "application/json")
		} else {
			req.Header.Set("Content-Type", "application/x-protobuf")
		}
		reqBody, _ := io.ReadAll(req.Body)
		req.Body = io.NopCloser(bytes.NewReader(reqBody))
		w := httptest.NewRecorder()
		r.serveHTTP(w, req)

		jsink := &fuzzJSONSink{}
		jr := &Receiver{sink: jsink, jsonSink: jsink, limit: 1 << 20, maxBusy: 1, mem: newBudget(2<<20, 1<<20), bodyTimeout: DefaultBodyTimeout}
		jreq := req.Clone(req.Context())
		jreq.Body = io.NopCloser(bytes.NewReader(reqBody))
		jw := httptest.NewRecorder()
		jr.serveHTTP(jw, jreq)
		if jw.Code != w.Code || jsink.spans != sink.spans || !slices.Equal(jsink.lines, sink.lines) {
			t.Fatalf("JSON-line sink: status %d, %d spans, lines\n%q\npdata sink: status %d, %d spans, lines\n%q",
				jw.Code, jsink.spans, jsink.lines, w.Code, sink.spans, sink.lines)
		}
		switch {
		case w.Code == http.StatusOK:
		case w.Code >= 400 && w.Code < 500:
			if sink.spans != 0 {
				t.Fatalf("status %d but %d spans stored", w.Code, sink.spans)
			}
		default:
			t.Fatalf("status %d: %s", w.Code, w.Body.String())
		}
	})
}
