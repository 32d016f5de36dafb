package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// emitChain is a test command whose traces continue in a second process,
// as a test calls a deployed service: it records a "test ask" span per
// trace with the SDK configured by the standard environment (llmcheck's
// receiver under llmcheck run) and runs `emitchain -downstream` with the
// trace context in TRACEPARENT and OTEL_EXPORTER_OTLP_ENDPOINT set to
// $JAEGER_OTLP: the downstream service ("deployed-rag") exports only to
// Jaeger, so llmcheck never sees its spans unless it reads them from there.
// With -trickle, the downstream process of the first trace is left running,
// adding a span every 100 ms for 10 s (a trace that never settles).
func emitChain(args []string) int {
	fs := flag.NewFlagSet("emitchain", flag.ContinueOnError)
	traces := fs.Int("traces", 2, "number of traces")
	downstream := fs.Bool("downstream", false, "be the deployed service")
	latency := fs.Duration("latency", 30*time.Millisecond, "the deployed service's chat span duration")
	trickle := fs.Bool("trickle", false, "leave the first downstream running, adding spans")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	ctx := context.Background()
	exp, err := otlptracehttp.New(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "emitchain:", err)
		return 1
	}
	service := "tests"
	if *downstream {
		service = "deployed-rag"
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp, sdktrace.WithBatchTimeout(50*time.Millisecond)), sdktrace.WithResource(resource.NewSchemaless(attribute.String("service.name", service))))
	defer tp.Shutdown(ctx)
	tr := tp.Tracer("emitchain")
	prop := propagation.TraceContext{}
	if *downstream {
		ctx = prop.Extract(ctx, propagation.MapCarrier{"traceparent": os.Getenv("TRACEPARENT")})
		sctx, srv := tr.Start(ctx, "POST /answer", trace.WithSpanKind(trace.SpanKindServer))
		t0 := time.Now()
		_, chat := tr.Start(sctx, "chat gpt-4o", trace.WithTimestamp(t0), trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(
			attribute.String("gen_ai.operation.name", "chat"),
			attribute.String("gen_ai.provider.name", "openai"),
			attribute.String("gen_ai.request.model", "gpt-4o"),
			attribute.Int("gen_ai.usage.input_tokens", 500),
			attribute.Int("gen_ai.usage.output_tokens", 50),
		))
		chat.End(trace.WithTimestamp(t0.Add(*latency)))
		if *trickle {
			for i := range 100 {
				_, s := tr.Start(sctx, fmt.Sprintf("stream chunk %d", i))
				s.End()
				tp.ForceFlush(ctx)
				time.Sleep(100 * time.Millisecond)
			}
		}
		srv.End(trace.WithTimestamp(t0.Add(*latency + time.Millisecond)))
		return 0
	}
	jaeger := os.Getenv("JAEGER_OTLP")
	if jaeger == "" {
		fmt.Fprintln(os.Stderr, "emitchain: JAEGER_OTLP is not set")
		return 2
	}
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "OTEL_EXPORTER_OTLP_") && !strings.HasPrefix(kv, "TRACEPARENT=") {
			env = append(env, kv)
		}
	}
	for i := range *traces {
		tctx, test := tr.Start(ctx, "test ask", trace.WithAttributes(attribute.Int("test.index", i)))
		carrier := propagation.MapCarrier{}
		prop.Inject(tctx, carrier)
		dargs := []string{"-downstream", "-latency", latency.String()}
		if *trickle && i == 0 {
			dargs = append(dargs, "-trickle")
		}
		c := exec.Command("emitchain", dargs...)
		c.Env = append(env, "OTEL_EXPORTER_OTLP_ENDPOINT="+jaeger, "TRACEPARENT="+carrier.Get("traceparent"))
		if *trickle && i == 0 {
			// not holding llmcheck's output pipes open after this exits
			if err := c.Start(); err != nil {
				fmt.Fprintln(os.Stderr, "emitchain:", err)
				return 1
			}
			go c.Wait()
		} else if c.Stdout, c.Stderr = os.Stdout, os.Stderr; c.Run() != nil {
			fmt.Fprintln(os.Stderr, "emitchain: downstream:", err)
			return 1
		}
		test.End()
	}
	fmt.Printf("emitchain: %d traces continued in deployed-rag\n", *traces)
	return 0
}
