package replay

import (
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.opentelemetry.io/collector/pdata/ptrace"
)

// FuzzRead: any file content — JSON lines, a JSON document, length-
// prefixed protobuf, gzipped or not, truncated or corrupted — is read or
// rejected with an error naming the file; never a panic.
func FuzzRead(f *testing.F) {
	line := `{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"app"}}]},"scopeSpans":[{"spans":[{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174","name":"chat gpt-4o","startTimeUnixNano":"1700000000000000000","endTimeUnixNano":"1700000000500000000","attributes":[{"key":"gen_ai.operation.name","value":{"stringValue":"chat"}},{"key":"gen_ai.usage.input_tokens","value":{"intValue":12}}]}]}]}]}`
	f.Add([]byte(line + "\n" + line + "\n"))
	f.Add([]byte(line + "\n" + line[:len(line)/2]))
	f.Add([]byte("{\n  \"resourceSpans\": []\n}\n"))
	td := ptrace.NewTraces()
	s := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	s.SetName("chat")
	s.SetTraceID([16]byte{1})
	s.SetSpanID([8]byte{2})
	pb, _ := (&ptrace.ProtoMarshaler{}).MarshalTraces(td)
	rec := append([]byte{0, 0, 0, byte(len(pb))}, pb...)
	f.Add(append(rec, rec...))
	f.Add(rec[:len(rec)-3])
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(line + "\n"))
	zw.Close()
	f.Add(gz.Bytes())
	f.Add(gz.Bytes()[:gz.Len()/2])
	f.Add([]byte{})
	// deep nesting (issue #16): past the JSON depth limit as a line, a
	// gzipped line and a pretty-printed document; and within it
	f.Add(append(deepLine(300), '\n'))
	f.Add(gzipped(f, append(deepLine(300), '\n')))
	f.Add([]byte(strings.ReplaceAll(string(deepLine(300)), "[", "[\n")))
	f.Add(append(deepLine(60), '\n'))
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(t.TempDir(), "traces.jsonl")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		spans := 0
		err := Read([]string{path}, ReadOptions{Warn: func(string) {}}, func(td ptrace.Traces) error {
			spans += td.SpanCount()
			return nil
		})
		if err != nil && !strings.Contains(err.Error(), "traces.jsonl") {
			t.Fatalf("error does not name the file: %v", err)
		}
	})
}
