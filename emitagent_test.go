package main

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// emitAgent is an agent application instrumented with the OpenTelemetry
// Go SDK (GenAI semantic conventions), configured only by the standard
// environment. Each argument is one request, one trace:
//
//	TEST:TEAM:CONVERSATION:STEPS:INPUT_TOKENS
//
// The root span is the agent "helpdesk" (invoke_agent, with test.name,
// app.team and gen_ai.conversation.id when not empty); a chat call of
// INPUT_TOKENS input and INPUT_TOKENS/5 output tokens comes first; then
// STEPS, comma-separated, run in order: a tool name is one execute_tool
// span (arguments {"query": TEST, "top_k": 3}), "a|b" runs tools a and b
// in parallel, and ">name" hands off to a nested agent that runs the
// steps after it, with a chat call of its own. A step "tool~K" is
// skipped in repetition K of llmcheck run --repeat (LLMCHECK_REPEAT=K);
// "tool~2~3" in repetitions 2 and 3. The root span carries an evaluation
// result (a gen_ai.evaluation.result event) "correct": label "pass" when
// the request called search_docs, else "fail".
func emitAgent(args []string) int {
	ctx := context.Background()
	exp, err := otlptracehttp.New(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "emitagent:", err)
		return 1
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(resource.NewSchemaless(attribute.String("service.name", "helpdesk"))))
	tr := tp.Tracer("emitagent")
	start := time.Now().Add(-time.Hour)
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	spans := 0
	for i, req := range args {
		f := strings.Split(req, ":")
		if len(f) != 5 {
			fmt.Fprintf(os.Stderr, "emitagent: request %q: want TEST:TEAM:CONVERSATION:STEPS:INPUT_TOKENS\n", req)
			return 2
		}
		input, err := strconv.Atoi(f[4])
		if err != nil {
			fmt.Fprintln(os.Stderr, "emitagent:", err)
			return 2
		}
		t0 := start.Add(time.Duration(i) * time.Second)
		attrs := []attribute.KeyValue{attribute.String("gen_ai.operation.name", "invoke_agent"), attribute.String("gen_ai.agent.name", "helpdesk")}
		for k, v := range map[string]string{"test.name": f[0], "app.team": f[1], "gen_ai.conversation.id": f[2]} {
			if v != "" {
				attrs = append(attrs, attribute.String(k, v))
			}
		}
		rctx, root := tr.Start(ctx, "invoke_agent helpdesk", trace.WithTimestamp(t0), trace.WithAttributes(attrs...))
		spans++
		at := 1
		chat := func(pctx context.Context) {
			_, c := tr.Start(pctx, "chat gpt-4o-mini", trace.WithTimestamp(t0.Add(ms(at))), trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(
				attribute.String("gen_ai.operation.name", "chat"),
				attribute.String("gen_ai.provider.name", "openai"),
				attribute.String("gen_ai.request.model", "gpt-4o-mini"),
				attribute.Int("gen_ai.usage.input_tokens", input),
				attribute.Int("gen_ai.usage.output_tokens", input/5),
			))
			c.End(trace.WithTimestamp(t0.Add(ms(at + 10))))
			at += 11
			spans++
		}
		tool := func(pctx context.Context, name string, from, to int) {
			_, s := tr.Start(pctx, "execute_tool "+name, trace.WithTimestamp(t0.Add(ms(from))), trace.WithAttributes(
				attribute.String("gen_ai.operation.name", "execute_tool"),
				attribute.String("gen_ai.tool.name", name),
				attribute.String("gen_ai.tool.call.arguments", fmt.Sprintf(`{"query":%q,"top_k":3}`, f[0])),
			))
			s.End(trace.WithTimestamp(t0.Add(ms(to))))
			spans++
		}
		chat(rctx)
		pctx := rctx
		searched := false
		var nested trace.Span
		if f[3] != "" {
			for _, step := range strings.Split(f[3], ",") {
				step, skip, _ := strings.Cut(step, "~")
				if skip != "" && slices.Contains(strings.Split(skip, "~"), os.Getenv("LLMCHECK_REPEAT")) {
					continue
				}
				switch {
				case strings.HasPrefix(step, ">"):
					name := step[1:]
					pctx, nested = tr.Start(rctx, "invoke_agent "+name, trace.WithTimestamp(t0.Add(ms(at))), trace.WithAttributes(
						attribute.String("gen_ai.operation.name", "invoke_agent"), attribute.String("gen_ai.agent.name", name)))
					spans++
					at++
					chat(pctx)
				case strings.Contains(step, "|"):
					// parallel calls: each starts 1 ms after the previous
					// and all overlap
					par := strings.Split(step, "|")
					for k, name := range par {
						tool(pctx, name, at+k, at+len(par)+5)
					}
					at += len(par) + 6
				default:
					searched = searched || step == "search_docs"
					tool(pctx, step, at, at+5)
					at += 6
				}
			}
		}
		if nested != nil {
			nested.End(trace.WithTimestamp(t0.Add(ms(at))))
			at++
		}
		label := "fail"
		if searched {
			label = "pass"
		}
		root.AddEvent("gen_ai.evaluation.result", trace.WithTimestamp(t0.Add(ms(at))), trace.WithAttributes(
			attribute.String("gen_ai.evaluation.name", "correct"), attribute.String("gen_ai.evaluation.score.label", label)))
		root.End(trace.WithTimestamp(t0.Add(ms(at + 1))))
	}
	if err := tp.Shutdown(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "emitagent: shutdown:", err)
		return 1
	}
	fmt.Printf("emitagent: exported %d spans\n", spans)
	return 0
}
