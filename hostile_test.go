package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/llmcheck/llmcheck/internal/safetext"
)

// hostileStrings attack the CI log, the terminal and PR comments: forged
// workflow commands in both forms (after CR, LF, white space), masks and
// stop-commands, ESC/OSC 52 sequences, a C1 CSI, bidi overrides, mentions
// and URLs.
var hostileStrings = []string{
	"\r::error file=x::forged",
	"x\n::error file=.github/workflows/ci.yml,line=1::forged",
	"##[error]forged legacy",
	"::add-mask::hunter2",
	"::stop-commands::x",
	"  ::warning::indented",
	"\u00a0::notice::after nbsp",
	"\x1b]52;c;SGVsbG8=\x07osc52",
	"\x1b[2K\x1b[1Arewrite",
	"\u009b31mcsi",
	"evil\u202etxt.exe",
	"@org/team see https://evil.example/x",
}

// emitHostile is an application whose spans carry hostileStrings (and one
// 10 MB name) in every recorded string llmcheck prints: service, span
// names, operation, model, status messages, tool and data source names.
func emitHostile(args []string) int {
	fs := flag.NewFlagSet("emithostile", flag.ContinueOnError)
	latency := fs.Duration("latency", 5*time.Millisecond, "chat span duration")
	huge := fs.Int("huge", 10<<20, "length of the one huge span name and model")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	ctx := context.Background()
	exp, err := otlptracehttp.New(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "emithostile:", err)
		return 1
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp, sdktrace.WithMaxExportBatchSize(4)),
		sdktrace.WithResource(resource.NewSchemaless(attribute.String("service.name", "svc\x1b[31m::error::svc"))))
	tr := tp.Tracer("emithostile")
	start := time.Now().Add(-time.Hour)
	names := append([]string{strings.Repeat("N", *huge)}, hostileStrings...)
	spans := 0
	for i, h := range names {
		reps := 8
		if i == 0 {
			reps = 2 // the huge name: in span names and the model of two traces
		}
		other := h // the strings beside the span names and the model
		if i == 0 {
			other = "huge"
		}
		for rep := 0; rep < reps; rep++ {
			spans += 4
			t0 := start.Add(time.Duration(i*8+rep) * time.Second)
			rctx, root := tr.Start(ctx, h, trace.WithTimestamp(t0), trace.WithAttributes(attribute.String("llmcheck.test", other)))
			_, ret := tr.Start(rctx, "retrieval "+other, trace.WithTimestamp(t0), trace.WithAttributes(
				attribute.String("gen_ai.operation.name", "retrieval"),
				attribute.String("gen_ai.data_source.id", other),
			))
			ret.End(trace.WithTimestamp(t0.Add(time.Millisecond)))
			_, tool := tr.Start(rctx, "execute_tool "+other, trace.WithTimestamp(t0), trace.WithAttributes(
				attribute.String("gen_ai.operation.name", "execute_tool"),
				attribute.String("gen_ai.tool.name", other),
			))
			tool.End(trace.WithTimestamp(t0.Add(time.Millisecond)))
			op := "chat"
			if rep == 0 {
				op = other
			}
			_, chat := tr.Start(rctx, "chat "+h, trace.WithTimestamp(t0.Add(time.Millisecond)), trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(
				attribute.String("gen_ai.operation.name", op),
				attribute.String("gen_ai.provider.name", other),
				attribute.String("gen_ai.request.model", h),
				attribute.Int("gen_ai.usage.input_tokens", 100+rep),
				attribute.Int("gen_ai.usage.output_tokens", 20),
				attribute.String("gen_ai.conversation.id", other),
			))
			if rep%2 == 0 {
				chat.SetStatus(codes.Error, other)
			}
			chat.End(trace.WithTimestamp(t0.Add(time.Millisecond + *latency)))
			root.End(trace.WithTimestamp(t0.Add(2*time.Millisecond + *latency)))
		}
	}
	if err := tp.Shutdown(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "emithostile: shutdown:", err)
		return 1
	}
	fmt.Printf("emithostile: exported %d spans\n", spans)
	return 0
}

// ownCommand is a workflow command llmcheck writes itself: an annotation
// titled llmcheck…, on the assertions file or on no file.
var ownCommand = regexp.MustCompile(`^::(error|warning|notice) (file=llmcheck\.yaml,line=\d+(,col=\d+)?,)?title=llmcheck`)

// stopLine is llmcheck's stop-commands line; its token is random.
var stopLine = regexp.MustCompile(`^::stop-commands::(llmcheck-[0-9a-f]{32})$`)

// checkNoForgedCommands parses out (one stream) with the Actions runner's
// rules, both honouring stop-commands and ignoring it (the escaping alone
// must hold): the only commands are llmcheck's own annotations and, under
// GitHub Actions, stop-commands with a llmcheck token and the resume
// lines of the tokens stopped in both (the runner reads stdout and stderr
// as one log, so a stop on one stream may be resumed on the other). Nor
// may out hold a raw ESC, C1 control, bidi override or CR, or (clipping) a
// line over 20,000 bytes.
func checkNoForgedCommands(out, both string, github bool) error {
	tokens := map[string]bool{}
	for _, line := range strings.Split(both, "\n") {
		if m := stopLine.FindStringSubmatch(line); m != nil {
			tokens[m[1]] = true
		}
	}
	if !github && len(tokens) > 0 {
		return fmt.Errorf("stop-commands outside GitHub Actions")
	}
	for tok := range tokens {
		stops := strings.Count(both, "::stop-commands::"+tok+"\n")
		if resumes := strings.Count("\n"+both, "\n::"+tok+"::\n"); stops != resumes {
			return fmt.Errorf("%d stop-commands %s but %d resumed", stops, tok, resumes)
		}
	}
	for _, ignoreStop := range []bool{true, false} {
		for _, c := range safetext.Commands(out, ignoreStop) {
			line := strings.TrimSpace(c.Line)
			switch {
			case c.Legacy:
				return fmt.Errorf("legacy command %q in line %q", c.Name, c.Line)
			case ownCommand.MatchString(line):
			case stopLine.MatchString(line):
			case tokens[c.Name] && line == "::"+c.Name+"::":
			default:
				return fmt.Errorf("forged command %q in line %q", c.Name, c.Line)
			}
		}
	}
	for i, line := range strings.Split(out, "\n") {
		if strings.ContainsAny(line, "\x1b\u009b\u202e\r") {
			return fmt.Errorf("line %d holds a raw control or bidi character: %q", i+1, line)
		}
		if len(line) > 20000 {
			return fmt.Errorf("line %d is %d bytes long: %.80q…", i+1, len(line), line)
		}
	}
	return nil
}

// hostileString is what a hostile GitHub API (or a proxy in front of it)
// answers in the strings llmcheck comment prints: forged workflow commands
// after CR and LF, the legacy form, a terminal escape, and length.
var hostileString = "https://github.com/acme/app/pull/12#x\r::error file=x::forged\n::add-mask::secret ##[error]legacy \x1b]52;c;SGVsbG8=\x07 \u202e" + strings.Repeat("x", 30000)

// hostileGitHub is the GitHub API of the fakegithub script command. The
// repository of GITHUB_REPOSITORY picks its behaviour:
//
//	acme/app     no comment yet; the created comment's html_url is hostileString
//	acme/upd     a comment with the marker of ci/llm; the updated html_url is hostileString
//	acme/denied  403 with a hostile message
//	acme/garbage 200 with a body that is not JSON but forged commands
func hostileGitHub() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		repo := strings.Join(strings.SplitN(strings.TrimPrefix(r.URL.Path, "/repos/"), "/", 3)[:2], "/")
		w.Header().Set("Content-Type", "application/json")
		switch {
		case repo == "acme/denied":
			w.WriteHeader(http.StatusForbidden)
			_ = json.NewEncoder(w).Encode(map[string]string{"message": hostileString})
		case repo == "acme/garbage":
			fmt.Fprint(w, "\r\n::error file=x::forged\n##[error]legacy\n")
		case r.Method == http.MethodGet && repo == "acme/upd":
			_ = json.NewEncoder(w).Encode([]map[string]any{{"id": 7, "body": "<!-- llmcheck-comment: ci/llm -->\nold", "html_url": hostileString}})
		case r.Method == http.MethodGet:
			fmt.Fprint(w, "[]")
		default: // POST, PATCH
			_ = json.NewEncoder(w).Encode(map[string]any{"id": 7, "html_url": hostileString})
		}
	})
}
