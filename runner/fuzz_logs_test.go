package runner

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzLoadRunLogs: any logs file content given with a trace file — the
// records of the span fixtures, cut, corrupted, with odd values — loads
// (its evaluation results attached or warned about) or is refused with an
// error naming the file; never a panic.
func FuzzLoadRunLogs(f *testing.F) {
	traces, err := os.ReadFile(filepath.Join("..", "span", "testdata", "evals", "traces.jsonl"))
	if err != nil {
		f.Fatal(err)
	}
	logs, err := os.ReadFile(filepath.Join("..", "span", "testdata", "evals", "logs.jsonl"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(logs)
	f.Add(logs[:len(logs)/2])
	for _, l := range strings.Split(string(logs), "\n") {
		f.Add([]byte(l + "\n"))
	}
	f.Add([]byte(`{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"eventName":"gen_ai.evaluation.result","traceId":"0af7651916cd43dd8448eb211c80319c","spanId":"00f067aa0ba902b7","attributes":[{"key":"gen_ai.evaluation.name","value":{"arrayValue":{"values":[{"intValue":"1"}]}}},{"key":"gen_ai.evaluation.score.value","value":{"kvlistValue":{}}}]}]}]}]}` + "\n"))
	f.Add([]byte(`{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"attributes":[{"key":"event.name","value":{"stringValue":"gen_ai.evaluation.result"}},{"key":"gen_ai.evaluation.name","value":{"stringValue":"x"}},{"key":"gen_ai.response.id","value":{"stringValue":"chatcmpl-1"}}]}]}]}]}` + "\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		tp, lp := filepath.Join(dir, "traces.jsonl"), filepath.Join(dir, "logs.jsonl")
		if err := os.WriteFile(tp, traces, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(lp, data, 0o644); err != nil {
			t.Fatal(err)
		}
		run, err := LoadRunLimit([]string{tp, lp}, 1000, 1<<20, func(string) {})
		if err != nil {
			if !strings.Contains(err.Error(), "logs.jsonl") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		for _, s := range run.Spans {
			for _, e := range s.Evals {
				if e.Name == "" {
					t.Fatalf("a result without a name on span %s", s.SpanID)
				}
			}
		}
	})
}
