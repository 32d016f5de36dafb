package main

import (
	"compress/gzip"
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http/httptest"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/llmcheck/llmcheck/cmd"
	"github.com/llmcheck/llmcheck/internal/jaegertest"
)

var update = flag.Bool("update", false, "update testscript golden files (cmp)")

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"llmcheck":    func() { os.Exit(cmd.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) },
		"emitspans":   func() { os.Exit(emitSpans(os.Args[1:])) },
		"emitevals":   func() { os.Exit(emitEvals(os.Args[1:])) },
		"emithostile": func() { os.Exit(emitHostile(os.Args[1:])) },
		"emitchain":   func() { os.Exit(emitChain(os.Args[1:])) },
		"emitagent":   func() { os.Exit(emitAgent(os.Args[1:])) },
	})
}

// TestScripts runs the end-to-end scripts in testdata/script: the real
// binary, a real OTel SDK program (emitspans) and real files.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:                 filepath.Join("testdata", "script"),
		UpdateScripts:       *update,
		RequireExplicitExec: true,
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			// deepjson LEVELS FILE writes a gzipped OTLP JSON line whose span
			// attribute nests LEVELS arrays (issue #16's crash input).
			"deepjson": func(ts *testscript.TestScript, neg bool, args []string) {
				if len(args) != 2 {
					ts.Fatalf("usage: deepjson LEVELS FILE")
				}
				n, err := strconv.Atoi(args[0])
				ts.Check(err)
				f, err := os.Create(ts.MkAbs(args[1]))
				ts.Check(err)
				zw := gzip.NewWriter(f)
				fmt.Fprint(zw, `{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"0102030405060708090a0b0c0d0e0f10","spanId":"0102030405060708","name":"deep","startTimeUnixNano":"1","endTimeUnixNano":"2","attributes":[{"key":"deep","value":`)
				fmt.Fprint(zw, strings.Repeat(`{"arrayValue":{"values":[`, n), `{"stringValue":"x"}`, strings.Repeat(`]}}`, n))
				fmt.Fprint(zw, "}]}]}]}]}\n")
				ts.Check(zw.Close())
				ts.Check(f.Close())
			},
			// wideattrs ATTRS LINES FILE writes a gzipped OTLP JSON file of
			// LINES lines, each one span with ATTRS string attributes (issue
			// #16 item 6: memory that the span count does not see).
			// emptyspans N FILE writes one OTLP JSON line of N empty span
			// objects ({}: no trace or span id), the 3-byte amplifier of
			// issue hardspan.
			"emptyspans": func(ts *testscript.TestScript, neg bool, args []string) {
				if neg || len(args) != 2 {
					ts.Fatalf("usage: emptyspans N FILE")
				}
				n, err := strconv.Atoi(args[0])
				ts.Check(err)
				b := []byte(`{"resourceSpans":[{"scopeSpans":[{"spans":[`)
				for i := range n {
					if i > 0 {
						b = append(b, ',')
					}
					b = append(b, "{}"...)
				}
				b = append(b, "]}]}]}\n"...)
				ts.Check(os.WriteFile(ts.MkAbs(args[1]), b, 0o644))
			},
			"wideattrs": func(ts *testscript.TestScript, neg bool, args []string) {
				if neg || len(args) != 3 {
					ts.Fatalf("usage: wideattrs ATTRS LINES FILE")
				}
				attrs, err := strconv.Atoi(args[0])
				ts.Check(err)
				lines, err := strconv.Atoi(args[1])
				ts.Check(err)
				f, err := os.Create(ts.MkAbs(args[2]))
				ts.Check(err)
				zw := gzip.NewWriter(f)
				for l := range lines {
					fmt.Fprintf(zw, `{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"0102030405060708090a0b0c0d0e0f10","spanId":"%016x","name":"wide","startTimeUnixNano":"1","endTimeUnixNano":"2","attributes":[`, l+1)
					for i := range attrs {
						if i > 0 {
							fmt.Fprint(zw, ",")
						}
						fmt.Fprintf(zw, `{"key":"k%d","value":{"stringValue":"v"}}`, i)
					}
					fmt.Fprint(zw, "]}]}]}]}\n")
				}
				ts.Check(zw.Close())
				ts.Check(f.Close())
			},
			// fakegithub VAR starts a local GitHub API for llmcheck comment,
			// its URL in VAR, whose answers are hostile (see hostileGitHub).
			"fakegithub": func(ts *testscript.TestScript, neg bool, args []string) {
				if neg || len(args) != 1 {
					ts.Fatalf("usage: fakegithub VAR")
				}
				srv := httptest.NewServer(hostileGitHub())
				ts.Defer(srv.Close)
				ts.Setenv(args[0], srv.URL)
			},
			// waitfile FILE waits (up to 20 s) until FILE exists.
			// nocommands checks the stdout and stderr of the last exec with
			// the Actions runner's rules (safetext.Commands): see
			// checkNoForgedCommands.
			"nocommands": func(ts *testscript.TestScript, neg bool, args []string) {
				if neg || len(args) != 0 {
					ts.Fatalf("usage: nocommands")
				}
				out, errs := ts.ReadFile("stdout"), ts.ReadFile("stderr")
				for stream, text := range map[string]string{"stdout": out, "stderr": errs} {
					if err := checkNoForgedCommands(text, out+"\n"+errs, ts.Getenv("GITHUB_ACTIONS") == "true"); err != nil {
						ts.Fatalf("%s: %v", stream, err)
					}
				}
			},
			// freeport VAR sets VAR to a TCP port of 127.0.0.1 that was free
			// a moment ago (for record, whose address a script must know).
			"freeport": func(ts *testscript.TestScript, neg bool, args []string) {
				if neg || len(args) != 1 {
					ts.Fatalf("usage: freeport VAR")
				}
				l, err := net.Listen("tcp", "127.0.0.1:0")
				ts.Check(err)
				ts.Setenv(args[0], strconv.Itoa(l.Addr().(*net.TCPAddr).Port))
				ts.Check(l.Close())
			},
			// jaeger starts a real Jaeger v2 (LLMCHECK_JAEGER) with in-memory
			// storage for the rest of the script and sets JAEGER_QUERY (the
			// query service URL) and JAEGER_OTLP (its OTLP/HTTP receiver).
			"jaeger": func(ts *testscript.TestScript, neg bool, args []string) {
				if neg || len(args) != 0 {
					ts.Fatalf("usage: jaeger")
				}
				bin, err := jaegertest.Binary()
				ts.Check(err)
				j, err := jaegertest.StartBinary(bin, ts.MkAbs("."), 1000, io.Discard)
				ts.Check(err)
				ts.Defer(j.Stop)
				ts.Setenv("JAEGER_QUERY", j.QueryURL)
				ts.Setenv("JAEGER_OTLP", j.OTLPHTTP)
			},
			"waitfile": func(ts *testscript.TestScript, neg bool, args []string) {
				if len(args) != 1 {
					ts.Fatalf("usage: waitfile FILE")
				}
				deadline := time.Now().Add(20 * time.Second)
				for time.Now().Before(deadline) {
					if _, err := os.Stat(ts.MkAbs(args[0])); err == nil {
						return
					}
					time.Sleep(10 * time.Millisecond)
				}
				ts.Fatalf("%s did not appear within 20 s", args[0])
			},
		},
		Condition: func(cond string) (bool, error) {
			if cond == "jaeger" { // LLMCHECK_JAEGER names a Jaeger binary
				if _, err := jaegertest.Binary(); err != nil {
					if jaegertest.Required() {
						return false, fmt.Errorf("LLMCHECK_REQUIRE_JAEGER=1: %v", err)
					}
					return false, nil
				}
				return true, nil
			}
			if cond == "interop_node" { // npm ci has been run in interop/node
				_, err := os.Stat(filepath.Join("interop", "node", "node_modules"))
				return err == nil, nil
			}
			if dir, ok := strings.CutPrefix(cond, "interop_"); ok && (dir == "langchain" || dir == "llamaindex" || dir == "agents" || dir == "mastra" || dir == "evals") { // npm ci has been run in interop/DIR
				_, err := os.Stat(filepath.Join("interop", dir, "node_modules"))
				return err == nil, nil
			}
			if cond == "interop_vercel" { // npm ci has been run in interop/vercel
				_, err := os.Stat(filepath.Join("interop", "vercel", "node_modules"))
				return err == nil, nil
			}
			if cond == "example_node" { // npm ci has been run in examples/rag-node
				_, err := os.Stat(filepath.Join("examples", "rag-node", "node_modules"))
				return err == nil, nil
			}
			return false, fmt.Errorf("unknown condition %q", cond)
		},
		Setup: func(env *testscript.Env) error {
			if dir, err := filepath.Abs(filepath.Join("interop", "node")); err == nil {
				env.Setenv("INTEROP_NODE", dir)
			}
			for _, d := range []string{"langchain", "llamaindex", "agents", "mastra", "evals"} {
				if dir, err := filepath.Abs(filepath.Join("interop", d)); err == nil {
					env.Setenv("INTEROP_"+strings.ToUpper(d), dir)
				}
			}
			if dir, err := filepath.Abs(filepath.Join("interop", "vercel")); err == nil {
				env.Setenv("INTEROP_VERCEL", dir)
			}
			if dir, err := filepath.Abs(filepath.Join("examples", "rag-node")); err == nil {
				env.Setenv("EXAMPLE_NODE", dir)
			}
			if dir, err := filepath.Abs("."); err == nil {
				env.Setenv("REPO", dir)
			}
			// Scripts that run go test (the Go example) build with the
			// developer's caches, not from nothing.
			env.Setenv("LLMCHECK_JAEGER", os.Getenv("LLMCHECK_JAEGER"))
			for _, k := range []string{"GOCACHE", "GOMODCACHE", "GOPATH", "GOFLAGS", "GOPROXY", "GONOSUMDB", "GOTOOLCHAIN"} {
				if out, err := exec.Command("go", "env", k).Output(); err == nil {
					env.Setenv(k, strings.TrimSpace(string(out)))
				}
			}
			// The scripts must not inherit the developer's exporter settings.
			for _, k := range []string{"OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_PROTOCOL", "NO_COLOR", "GITHUB_ACTIONS"} {
				env.Setenv(k, "")
			}
			return nil
		},
	})
}

// emitSpans is a small application instrumented with the OpenTelemetry Go
// SDK, configured only by the standard environment: it emits traces of
// root → retrieval → chat spans with GenAI attributes.
func emitSpans(args []string) int {
	fs := flag.NewFlagSet("emitspans", flag.ContinueOnError)
	traces := fs.Int("traces", 3, "number of traces")
	model := fs.String("model", "gpt-4o-mini", "chat model")
	latency := fs.Duration("latency", 5*time.Millisecond, "chat span duration")
	input := fs.Int("input", 100, "input tokens per chat")
	output := fs.Int("output", 20, "output tokens per chat")
	errorsN := fs.Int("errors", 0, "number of chat spans with error status")
	exit := fs.Int("exit", 0, "exit status after exporting")
	waitSignal := fs.Bool("wait-signal", false, "wait for SIGINT/SIGTERM before exporting")
	marker := fs.String("marker", "", "create this file when started (and, with -wait-signal, ready for the signal)")
	killSelf := fs.Bool("kill-self", false, "die by SIGKILL after exporting")
	content := fs.Bool("content", false, "record prompt and completion content attributes")
	hang := fs.Duration("hang", 0, "after exporting (flushed), write -marker and wait this long before exiting")
	exitRepeats := fs.String("exit-repeats", "", "exit with -exit only in these repetitions of llmcheck run --repeat (comma-separated values of LLMCHECK_REPEAT)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *exitRepeats != "" && !slices.Contains(strings.Split(*exitRepeats, ","), os.Getenv("LLMCHECK_REPEAT")) {
		*exit = 0
	}
	var sigs chan os.Signal
	if *waitSignal {
		sigs = make(chan os.Signal, 1)
		signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	}
	if *marker != "" && *hang == 0 {
		os.WriteFile(*marker, []byte("started\n"), 0o644)
	}
	ctx := context.Background()
	var exp sdktrace.SpanExporter
	var err error
	proto := os.Getenv("OTEL_EXPORTER_OTLP_PROTOCOL")
	if proto == "grpc" {
		exp, err = otlptracegrpc.New(ctx)
	} else {
		exp, err = otlptracehttp.New(ctx)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "emitspans:", err)
		return 1
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(resource.NewSchemaless(attribute.String("service.name", "emitspans"))))
	tr := tp.Tracer("emitspans")
	if *waitSignal {
		fmt.Println("emitspans: waiting for a signal")
		sig := <-sigs
		fmt.Println("emitspans: got", sig)
		*exit = 130
	}
	start := time.Now().Add(-time.Hour)
	for i := 0; i < *traces; i++ {
		t0 := start.Add(time.Duration(i) * time.Second)
		rctx, root := tr.Start(ctx, "answer question", trace.WithTimestamp(t0))
		_, ret := tr.Start(rctx, "retrieval kb", trace.WithTimestamp(t0), trace.WithAttributes(
			attribute.String("gen_ai.operation.name", "retrieval"),
			attribute.String("gen_ai.data_source.id", "kb"),
			attribute.String("gen_ai.retrieval.query.text", fmt.Sprintf("question %d", i)),
			attribute.String("gen_ai.retrieval.documents", `[{"id":"doc-1","score":0.9},{"id":"doc-2","score":0.5}]`),
			attribute.StringSlice("llmcheck.relevant_ids", []string{"doc-1"}),
		))
		ret.End(trace.WithTimestamp(t0.Add(2 * time.Millisecond)))
		_, chat := tr.Start(rctx, "chat "+*model, trace.WithTimestamp(t0.Add(2*time.Millisecond)), trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(
			attribute.String("gen_ai.operation.name", "chat"),
			attribute.String("gen_ai.provider.name", "openai"),
			attribute.String("gen_ai.request.model", *model),
			attribute.Int("gen_ai.usage.input_tokens", *input),
			attribute.Int("gen_ai.usage.output_tokens", *output),
		))
		if i < *errorsN {
			chat.SetStatus(codes.Error, "rate limited")
		}
		if *content {
			chat.SetAttributes(
				attribute.String("gen_ai.input.messages", `[{"role":"user","parts":[{"type":"text","content":"SECRET-PROMPT my card is 4111"}]}]`),
				attribute.String("gen_ai.output.messages", `[{"role":"assistant","parts":[{"type":"text","content":"SECRET-COMPLETION"}]}]`),
				attribute.String("input.value", "SECRET-INPUT-VALUE"),
				attribute.String("llm.input_messages.0.message.content", "SECRET-OI-MESSAGE"),
			)
		}
		chat.End(trace.WithTimestamp(t0.Add(2*time.Millisecond + *latency)))
		root.End(trace.WithTimestamp(t0.Add(3*time.Millisecond + *latency)))
	}
	if err := tp.Shutdown(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "emitspans: shutdown:", err)
		return 1
	}
	if *traces > 0 {
		fmt.Printf("emitspans: exported %d spans (%s)\n", *traces*3, strings.TrimSpace(proto+" "+os.Getenv("OTEL_EXPORTER_OTLP_COMPRESSION")))
	}
	if *hang > 0 {
		tp.ForceFlush(ctx)
		if *marker != "" {
			os.WriteFile(*marker, []byte("exported\n"), 0o644)
		}
		time.Sleep(*hang)
	}
	if *killSelf {
		syscall.Kill(os.Getpid(), syscall.SIGKILL)
		time.Sleep(time.Second)
	}
	return *exit
}
