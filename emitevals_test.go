package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlplog/otlploggrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlplog/otlploghttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	otellog "go.opentelemetry.io/otel/log"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// emitEvals is an application with an LLM-as-judge, instrumented with the
// OpenTelemetry Go SDK (traces and logs) and configured only by the
// environment, as `llmcheck run` configures it. Each of -traces traces
// has a root span and a chat span; the chat span carries a
// gen_ai.evaluation.result span event (grounded, score 1), and the judge
// emits a gen_ai.evaluation.result log event for it (relevance, score
// 0.6, 0.8, …, with a content body and explanation); the first trace also
// gets a trace-level result with a label only (task_success: pass).
func emitEvals(args []string) int {
	fs := flag.NewFlagSet("emitevals", flag.ContinueOnError)
	traces := fs.Int("traces", 2, "number of traces")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	ctx := context.Background()
	fail := func(err error) int {
		fmt.Fprintln(os.Stderr, "emitevals:", err)
		return 1
	}
	var (
		sexp sdktrace.SpanExporter
		lexp sdklog.Exporter
		err  error
	)
	proto := os.Getenv("OTEL_EXPORTER_OTLP_PROTOCOL")
	if proto == "grpc" {
		if sexp, err = otlptracegrpc.New(ctx); err == nil {
			lexp, err = otlploggrpc.New(ctx)
		}
	} else {
		if sexp, err = otlptracehttp.New(ctx); err == nil {
			lexp, err = otlploghttp.New(ctx)
		}
	}
	if err != nil {
		return fail(err)
	}
	res := resource.NewSchemaless(attribute.String("service.name", "emitevals"))
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(sexp), sdktrace.WithResource(res))
	lp := sdklog.NewLoggerProvider(sdklog.WithProcessor(sdklog.NewBatchProcessor(lexp)), sdklog.WithResource(res))
	tr, judge := tp.Tracer("emitevals"), lp.Logger("judge")
	start := time.Now().Add(-time.Hour)
	for i := 0; i < *traces; i++ {
		t0 := start.Add(time.Duration(i) * time.Second)
		rctx, root := tr.Start(ctx, "answer question", trace.WithTimestamp(t0))
		cctx, chat := tr.Start(rctx, "chat gpt-4o-mini", trace.WithTimestamp(t0), trace.WithAttributes(
			attribute.String("gen_ai.operation.name", "chat"),
			attribute.String("gen_ai.request.model", "gpt-4o-mini"),
			attribute.Int("gen_ai.usage.input_tokens", 100),
			attribute.Int("gen_ai.usage.output_tokens", 20),
		))
		chat.AddEvent("gen_ai.evaluation.result", trace.WithTimestamp(t0.Add(time.Millisecond)), trace.WithAttributes(
			attribute.String("gen_ai.evaluation.name", "grounded"),
			attribute.Float64("gen_ai.evaluation.score.value", 1),
			attribute.String("gen_ai.evaluation.score.label", "yes"),
		))
		chat.End(trace.WithTimestamp(t0.Add(5 * time.Millisecond)))
		root.End(trace.WithTimestamp(t0.Add(6 * time.Millisecond)))

		var r otellog.Record
		r.SetEventName("gen_ai.evaluation.result")
		r.SetTimestamp(t0.Add(10 * time.Millisecond))
		r.SetBody(attribute.StringValue("SECRET-JUDGE-PROMPT question and answer"))
		r.AddAttributes(
			attribute.String("gen_ai.evaluation.name", "relevance"),
			attribute.Float64("gen_ai.evaluation.score.value", 0.6+0.2*float64(i)),
			attribute.String("gen_ai.evaluation.score.label", "relevant"),
			attribute.String("gen_ai.evaluation.explanation", "SECRET-EXPLANATION quotes the answer"),
		)
		judge.Emit(cctx, r)
		if i == 0 {
			var tr otellog.Record
			tr.SetEventName("gen_ai.evaluation.result")
			tr.SetTimestamp(t0.Add(20 * time.Millisecond))
			tr.AddAttributes(attribute.String("gen_ai.evaluation.name", "task_success"), attribute.String("gen_ai.evaluation.score.label", "pass"))
			// linked to the trace only: the root's context without a span id
			judge.Emit(trace.ContextWithSpanContext(ctx, trace.NewSpanContext(trace.SpanContextConfig{TraceID: root.SpanContext().TraceID(), TraceFlags: trace.FlagsSampled})), tr)
		}
	}
	if err := tp.Shutdown(ctx); err != nil {
		return fail(err)
	}
	if err := lp.Shutdown(ctx); err != nil {
		return fail(err)
	}
	fmt.Printf("emitevals: exported %d spans and %d log records (%s)\n", 2**traces, *traces+min(*traces, 1), proto)
	return 0
}
