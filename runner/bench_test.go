package runner

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/llmcheck/llmcheck/assert"
	"github.com/llmcheck/llmcheck/internal/benchdata"
)

// writeBenchRun writes the deterministic run of docs/performance.md
// (benchdata) with n spans as OTLP JSON lines.
func writeBenchRun(tb testing.TB, path string, n int) {
	tb.Helper()
	if err := benchdata.WriteJSON(path, n); err != nil {
		tb.Fatal(err)
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
			if err := os.WriteFile(cfgPath, []byte(benchdata.Config), 0o644); err != nil {
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
			suite, err := assert.LoadBytes("llmcheck.yaml", []byte(benchdata.Config))
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
