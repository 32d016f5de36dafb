package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/llmcheck/llmcheck/replay"
)

// countingExporter counts the spans the receiver acknowledged.
type countingExporter struct {
	sdktrace.SpanExporter
	acked, failed atomic.Int64
}

func (e *countingExporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	err := e.SpanExporter.ExportSpans(ctx, spans)
	if err != nil {
		e.failed.Add(int64(len(spans)))
	} else {
		e.acked.Add(int64(len(spans)))
	}
	return err
}

// loadProc sends n GenAI spans (root, embeddings, retrieval, chat per
// request, ~10 attributes each) with the OpenTelemetry Go SDK: batches of
// 512, blocking when the queue is full (so nothing is dropped on the
// client), then prints "acked failed".
func loadProc(protocol, endpoint string, n, proc int) error {
	ctx := context.Background()
	var exp sdktrace.SpanExporter
	var err error
	switch protocol {
	case "grpc":
		exp, err = otlptracegrpc.New(ctx, otlptracegrpc.WithEndpoint(endpoint), otlptracegrpc.WithInsecure())
	case "http":
		exp, err = otlptracehttp.New(ctx, otlptracehttp.WithEndpoint(endpoint), otlptracehttp.WithInsecure())
	default:
		return fmt.Errorf("protocol %q: want grpc or http", protocol)
	}
	if err != nil {
		return err
	}
	ce := &countingExporter{SpanExporter: exp}
	res := resource.NewSchemaless(attribute.String("service.name", "ragdemo"), attribute.Int("bench.proc", proc))
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithResource(res),
		sdktrace.WithBatcher(ce, sdktrace.WithMaxExportBatchSize(512), sdktrace.WithBlocking(),
			sdktrace.WithBatchTimeout(200*time.Millisecond)),
	)
	tr := tp.Tracer("bench")
	for i := 0; i < n; i += 4 {
		rctx, root := tr.Start(ctx, "answer", trace.WithAttributes(
			attribute.String("app.question", "q"), attribute.StringSlice("llmcheck.relevant_ids", []string{"doc-" + strconv.Itoa(i%50)})))
		_, s := tr.Start(rctx, "embeddings text-embedding-3-small", trace.WithAttributes(
			attribute.String("gen_ai.operation.name", "embeddings"), attribute.String("gen_ai.provider.name", "openai"),
			attribute.String("gen_ai.request.model", "text-embedding-3-small"), attribute.Int("gen_ai.usage.input_tokens", 10+i%50)))
		s.End()
		_, s = tr.Start(rctx, "retrieval kb", trace.WithAttributes(
			attribute.String("gen_ai.operation.name", "retrieval"), attribute.String("gen_ai.data_source.id", "kb"),
			attribute.String("gen_ai.retrieval.query.text", "what is the refund policy"),
			attribute.String("gen_ai.retrieval.documents", fmt.Sprintf(`[{"id":"doc-%d","score":0.9},{"id":"doc-%d","score":0.5}]`, i%50, (i+1)%50))))
		s.End()
		_, s = tr.Start(rctx, "chat gpt-4o-mini", trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(
			attribute.String("gen_ai.operation.name", "chat"), attribute.String("gen_ai.provider.name", "openai"),
			attribute.String("gen_ai.request.model", "gpt-4o-mini"), attribute.String("gen_ai.response.model", "gpt-4o-mini"),
			attribute.Float64("gen_ai.request.temperature", 0.2), attribute.Int("gen_ai.usage.input_tokens", 500+i%300),
			attribute.Int("gen_ai.usage.output_tokens", 50+i%100), attribute.Int("gen_ai.usage.cache_read.input_tokens", i%200),
			attribute.String("gen_ai.response.id", "chatcmpl-123"), attribute.StringSlice("gen_ai.response.finish_reasons", []string{"stop"})))
		s.End()
		root.End()
	}
	if err := tp.Shutdown(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "shutdown:", err)
	}
	fmt.Printf("%d %d\n", ce.acked.Load(), ce.failed.Load())
	return nil
}

// ingestResult is one receiver under one load.
type ingestResult struct {
	system, protocol string
	spans            int64   // acknowledged
	failed           int64   // not acknowledged
	onDisk           int64   // spans in the file
	wall             float64 // seconds from the first span to the last acknowledgement
	cpu              float64 // receiver CPU seconds
	rss              int64   // receiver peak RSS, bytes
}

// ingest starts the receiver (llmcheck record or the Collector), sends
// spans from procs processes, stops it with SIGINT and counts the file.
func ingest(self, llmcheckBin, system, protocol, dir string, spans, procs int) (ingestResult, error) {
	res := ingestResult{system: system, protocol: protocol}
	out := fmt.Sprintf("%s/ingest-%s-%s.jsonl", dir, system, protocol)
	os.Remove(out)
	port1, port2 := freePort(), freePort()
	var cmd *exec.Cmd
	endpoint := fmt.Sprintf("127.0.0.1:%d", port1)
	switch system {
	case "llmcheck":
		// record's --out is a folder; the file is moved to out once it stops.
		os.RemoveAll(out + ".d")
		defer os.RemoveAll(out + ".d")
		cmd = exec.Command(llmcheckBin, "record", "--out", out+".d", "--listen", endpoint)
	case "collector":
		grpcAddr, httpAddr := endpoint, fmt.Sprintf("127.0.0.1:%d", port2)
		if protocol == "http" {
			endpoint = httpAddr
		}
		cmd = exec.Command(self, "collector", grpcAddr, httpAddr, out)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return res, err
	}
	defer cmd.Process.Kill()
	if err := waitPort(endpoint, 10*time.Second); err != nil {
		return res, err
	}
	t0 := time.Now()
	type procOut struct {
		acked, failed int64
		err           error
	}
	outs := make(chan procOut, procs)
	for p := range procs {
		go func() {
			c := exec.Command(self, "loadproc", protocol, endpoint, strconv.Itoa(spans/procs), strconv.Itoa(p))
			c.Stderr = os.Stderr
			b, err := c.Output()
			var o procOut
			if err != nil {
				o.err = err
			} else {
				_, o.err = fmt.Sscan(string(b), &o.acked, &o.failed)
			}
			outs <- o
		}()
	}
	for range procs {
		o := <-outs
		if o.err != nil {
			return res, o.err
		}
		res.spans += o.acked
		res.failed += o.failed
	}
	res.wall = time.Since(t0).Seconds()
	res.cpu, res.rss = procStats(cmd.Process.Pid)
	cmd.Process.Signal(os.Interrupt)
	if err := cmd.Wait(); err != nil {
		return res, fmt.Errorf("%s: %w", system, err)
	}
	if system == "llmcheck" {
		if err := os.Rename(out+".d/traces.jsonl", out); err != nil {
			return res, err
		}
	}
	n := 0
	err := replay.Read([]string{out}, replay.ReadOptions{}, func(td ptrace.Traces) error {
		n += td.SpanCount()
		return nil
	})
	res.onDisk = int64(n)
	return res, err
}

func freePort() int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func waitPort(addr string, d time.Duration) error {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return errors.New("receiver did not start on " + addr)
}

// procStats returns the CPU seconds and peak RSS of a process.
func procStats(pid int) (float64, int64) {
	var rss int64
	if f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid)); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
				kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
				rss = kb * 1024
			}
		}
		f.Close()
	}
	var cpu float64
	if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err == nil {
		s := string(b)
		fields := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
		ut, _ := strconv.ParseFloat(fields[11], 64)
		st, _ := strconv.ParseFloat(fields[12], 64)
		cpu = (ut + st) / 100 // USER_HZ
	}
	return cpu, rss
}

var _ = syscall.SIGINT
