package runner

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/llmcheck/llmcheck/assert"
	"github.com/llmcheck/llmcheck/replay"
)

// benchConfig has the shapes of a real suite: where clauses touching every
// span, an each: trace, percentiles, a retrieval metric, cost.
const benchConfig = `pricing:
  gpt-4o-mini: {input: 0.15, output: 0.60, cached_input: 0.075}
  text-embedding-3-small: {input: 0.02}
assertions:
  - name: chat p95
    where: span.operation == "chat"
    expect: latency.p95 < 5000
  - name: chat p99 by model
    where: span.operation == "chat" && span.model == "gpt-4o-mini"
    expect: latency.p99 < 10000 && errors < count
  - name: tokens
    expect: tokens.total > 0
  - name: cost
    where: span.operation in ["chat", "embeddings"]
    expect: cost < 1000.0
  - name: retrieval
    where: span.operation == "retrieval"
    expect: retrieval.hit_rate > 0.1 && retrieval.ndcg > 0.0
  - name: per trace
    each: trace
    expect: trace.llm_calls <= 2 && trace.duration_ms < 60000
  - name: attribute percentile
    where: span.operation == "chat"
    expect: percentile(spans.map(s, double(s.attrs["gen_ai.request.temperature"])), 0.9) <= 1.0
  - name: error rate
    expect: error_rate < 0.5
  - name: embeddings fast
    where: span.operation == "embeddings"
    expect: latency.p50 < 1000
  - name: no empty chat
    where: span.operation == "chat"
    expect: spans.all(s, s.tokens.output > 0)
`

// writeBenchRun writes a deterministic run of n spans (n/4 traces of
// root → embeddings → retrieval → chat, ~10 attributes each).
func writeBenchRun(tb testing.TB, path string, n int) {
	tb.Helper()
	w, err := replay.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer w.Close()
	const perBatch = 512
	base := uint64(1_700_000_000_000_000_000)
	for start := 0; start < n; start += perBatch {
		td := ptrace.NewTraces()
		rs := td.ResourceSpans().AppendEmpty()
		rs.Resource().Attributes().PutStr("service.name", "bench")
		ss := rs.ScopeSpans().AppendEmpty()
		ss.Scope().SetName("bench")
		for i := start; i < min(start+perBatch, n); i++ {
			tr := i / 4
			s := ss.Spans().AppendEmpty()
			var tid [16]byte
			var sid, pid [8]byte
			putUint(tid[8:], uint64(tr)+1)
			putUint(sid[:], uint64(i)+1)
			putUint(pid[:], uint64(tr*4)+1)
			s.SetTraceID(pcommon.TraceID(tid))
			s.SetSpanID(pcommon.SpanID(sid))
			st := base + uint64(tr)*1e9 + uint64(i%4)*1e6
			dur := uint64(5e6 + (i*7919)%200e6)
			s.SetStartTimestamp(pcommon.Timestamp(st))
			s.SetEndTimestamp(pcommon.Timestamp(st + dur))
			a := s.Attributes()
			switch i % 4 {
			case 0:
				s.SetName("answer")
				a.PutStr("app.question", "q")
				a.PutEmptySlice("llmcheck.relevant_ids").AppendEmpty().SetStr(fmt.Sprintf("doc-%d", tr%50))
			case 1:
				s.SetParentSpanID(pcommon.SpanID(pid))
				s.SetName("embeddings text-embedding-3-small")
				a.PutStr("gen_ai.operation.name", "embeddings")
				a.PutStr("gen_ai.provider.name", "openai")
				a.PutStr("gen_ai.request.model", "text-embedding-3-small")
				a.PutInt("gen_ai.usage.input_tokens", int64(10+i%50))
			case 2:
				s.SetParentSpanID(pcommon.SpanID(pid))
				s.SetName("retrieval kb")
				a.PutStr("gen_ai.operation.name", "retrieval")
				a.PutStr("gen_ai.data_source.id", "kb")
				a.PutStr("gen_ai.retrieval.query.text", "what is the refund policy")
				a.PutStr("gen_ai.retrieval.documents", fmt.Sprintf(`[{"id":"doc-%d","score":0.9},{"id":"doc-%d","score":0.5},{"id":"doc-%d","score":0.2}]`, tr%50, (tr+1)%50, (tr+2)%50))
			case 3:
				s.SetParentSpanID(pcommon.SpanID(pid))
				s.SetName("chat gpt-4o-mini")
				s.SetKind(ptrace.SpanKindClient)
				a.PutStr("gen_ai.operation.name", "chat")
				a.PutStr("gen_ai.provider.name", "openai")
				a.PutStr("gen_ai.request.model", "gpt-4o-mini")
				a.PutStr("gen_ai.response.model", "gpt-4o-mini")
				a.PutDouble("gen_ai.request.temperature", 0.2)
				a.PutInt("gen_ai.usage.input_tokens", int64(500+i%300))
				a.PutInt("gen_ai.usage.output_tokens", int64(50+i%100))
				a.PutInt("gen_ai.usage.cache_read.input_tokens", int64(i%200))
				a.PutStr("gen_ai.response.id", "chatcmpl-123")
				a.PutEmptySlice("gen_ai.response.finish_reasons").AppendEmpty().SetStr("stop")
			}
		}
		if err := w.ConsumeTraces(context.Background(), td); err != nil {
			tb.Fatal(err)
		}
	}
}

func putUint(b []byte, v uint64) {
	for i := 7; i >= 0; i-- {
		b[i] = byte(v)
		v >>= 8
	}
}

// BenchmarkCheck is `llmcheck check` without the console: read the trace
// file, build the span model, evaluate ten assertions.
func BenchmarkCheck(b *testing.B) {
	for _, n := range []int{1_000, 100_000, 1_000_000} {
		b.Run(fmt.Sprintf("spans=%d", n), func(b *testing.B) {
			if n > 100_000 && testing.Short() {
				b.Skip("short")
			}
			dir := b.TempDir()
			path := filepath.Join(dir, "traces.jsonl")
			writeBenchRun(b, path, n)
			cfgPath := filepath.Join(dir, "llmcheck.yaml")
			if err := os.WriteFile(cfgPath, []byte(benchConfig), 0o644); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			var peak uint64
			for i := 0; i < b.N; i++ {
				suite, err := assert.Load(cfgPath)
				if err != nil {
					b.Fatal(err)
				}
				run, err := LoadRun([]string{path}, nil)
				if err != nil {
					b.Fatal(err)
				}
				res := suite.Evaluate(run)
				if res.Status != assert.Pass {
					for _, a := range res.Assertions {
						if a.Status != assert.Pass {
							b.Fatalf("%s: %s %s", a.Name, a.Status, a.Message)
						}
					}
				}
				var ms runtime.MemStats
				runtime.ReadMemStats(&ms)
				peak = max(peak, ms.HeapInuse)
				runtime.KeepAlive(run)
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "spans/s")
			b.ReportMetric(float64(peak)/(1<<20), "heap-MiB")
		})
	}
}

// BenchmarkEvaluate times Suite.Evaluate alone: the run is read once,
// outside the timer.
func BenchmarkEvaluate(b *testing.B) {
	for _, n := range []int{100_000, 1_000_000} {
		b.Run(fmt.Sprintf("spans=%d", n), func(b *testing.B) {
			if n > 100_000 && testing.Short() {
				b.Skip("short")
			}
			dir := b.TempDir()
			path := filepath.Join(dir, "traces.jsonl")
			writeBenchRun(b, path, n)
			suite, err := assert.LoadBytes("llmcheck.yaml", []byte(benchConfig))
			if err != nil {
				b.Fatal(err)
			}
			run, err := LoadRun([]string{path}, nil)
			if err != nil {
				b.Fatal(err)
			}
			runtime.GC()
			b.ReportAllocs()
			cpu0 := cpuTime()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				res := suite.Evaluate(run)
				if res.Status != assert.Pass {
					for _, a := range res.Assertions {
						if a.Status != assert.Pass {
							b.Fatalf("%s: %s %s", a.Name, a.Status, a.Message)
						}
					}
				}
			}
			b.StopTimer()
			b.ReportMetric((cpuTime()-cpu0).Seconds()/float64(b.N), "cpu-s/op")
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "spans/s")
		})
	}
}
