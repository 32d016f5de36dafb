package report_test

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/llmcheck/llmcheck/assert"
	"github.com/llmcheck/llmcheck/report"
	"github.com/llmcheck/llmcheck/span"
)

// exampleResults is one failed assertion over a run of two spans.
func exampleResults() *assert.Results {
	return &assert.Results{
		Version: assert.SchemaVersion, Status: assert.Fail, Config: "llmcheck.yaml", Spans: 2, Traces: 1,
		Assertions: []assert.Result{{
			Name: "chat p95 under 1.5 s", Where: `span.operation == "chat"`, Expect: "latency.p95 < 1500",
			Severity: "error", Status: assert.Fail, Failed: true, Spans: 1, Traces: 1,
			Message:  "latency.p95 = 1.8 s (1 span)",
			Observed: []assert.Observed{{Expr: "latency.p95", Value: 1800.0, Unit: "ms"}},
			Offenders: []assert.Offender{{TraceID: "4bf92f3577b34da6a3ce929d0e0e4736", SpanID: "00f067aa0ba902b7",
				Name: "chat gpt-4o-mini", Metric: "duration_ms", Value: 1800, Unit: "ms"}},
			Position: assert.Pos{File: "llmcheck.yaml", Line: 3, Column: 5},
		}},
	}
}

func exampleRun() *span.Run {
	start := uint64(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC).UnixNano())
	ms := uint64(time.Millisecond)
	return span.NewRun([]span.Span{
		{TraceID: "4bf92f3577b34da6a3ce929d0e0e4736", SpanID: "b9c7c989f97918e1", Name: "answer question", Operation: "invoke_agent",
			StartUnixNano: start, EndUnixNano: start + 2000*ms, DurationMS: 2000},
		{TraceID: "4bf92f3577b34da6a3ce929d0e0e4736", SpanID: "00f067aa0ba902b7", ParentSpanID: "b9c7c989f97918e1",
			Name: "chat gpt-4o-mini", Operation: "chat", Model: "gpt-4o-mini",
			Tokens:        span.Tokens{Input: 1200, Output: 300, Total: 1500, HasInput: true, HasOutput: true},
			StartUnixNano: start + 100*ms, EndUnixNano: start + 1900*ms, DurationMS: 1800},
	})
}

func exampleMeta() report.Meta {
	return report.Meta{
		Command:         []string{"go", "test", "./..."},
		CommandDuration: 4200 * time.Millisecond,
		Started:         time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC),
		TracePath:       ".llmcheck/traces.jsonl",
	}
}

func ExampleWriteJUnit() {
	dir, _ := os.MkdirTemp("", "llmcheck")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "junit.xml")
	if err := report.WriteJUnit(path, exampleResults(), exampleMeta()); err != nil {
		fmt.Println(err)
		return
	}
	data, _ := os.ReadFile(path)
	fmt.Print(string(data))
	// Output:
	// <?xml version="1.0" encoding="UTF-8"?>
	// <testsuites name="llmcheck" tests="2" failures="1" errors="0" skipped="0" time="4.200" timestamp="2026-03-01T12:00:00">
	//   <testsuite name="llmcheck.command" tests="1" failures="0" errors="0" skipped="0" time="4.200" timestamp="2026-03-01T12:00:00">
	//     <properties>
	//       <property name="command" value="go test ./..."></property>
	//       <property name="status" value="ok"></property>
	//       <property name="traces_file" value=".llmcheck/traces.jsonl"></property>
	//     </properties>
	//     <testcase name="command: go test ./..." classname="llmcheck.command" time="4.200"></testcase>
	//   </testsuite>
	//   <testsuite name="llmcheck.assertions" tests="1" failures="1" errors="0" skipped="0" time="0.000" timestamp="2026-03-01T12:00:00">
	//     <properties>
	//       <property name="config" value="llmcheck.yaml"></property>
	//       <property name="spans" value="2"></property>
	//       <property name="traces" value="1"></property>
	//       <property name="warnings" value="0"></property>
	//     </properties>
	//     <testcase name="chat p95 under 1.5 s" classname="llmcheck.assertions" time="0.000" file="llmcheck.yaml" line="3">
	//       <properties>
	//         <property name="expect" value="latency.p95 &lt; 1500"></property>
	//         <property name="where" value="span.operation == &#34;chat&#34;"></property>
	//         <property name="severity" value="error"></property>
	//         <property name="status" value="fail"></property>
	//         <property name="spans" value="1"></property>
	//         <property name="traces" value="1"></property>
	//         <property name="observed latency.p95" value="1.8 s"></property>
	//       </properties>
	//       <failure message="latency.p95 = 1.8 s (1 span) [expect: latency.p95 &lt; 1500]" type="AssertionFailed"><![CDATA[latency.p95 = 1.8 s (1 span)
	//
	// expect:   latency.p95 < 1500
	// where:    span.operation == "chat"
	// at:       llmcheck.yaml:3:5
	// selected: 1 span in 1 trace
	// observed: latency.p95 = 1.8 s
	//
	// worst:
	//   chat gpt-4o-mini (trace 4bf92f3577b34da6a3ce929d0e0e4736, span 00f067aa0ba902b7): duration_ms = 1.8 s
	// ]]></failure>
	//     </testcase>
	//   </testsuite>
	// </testsuites>
}

func ExampleMarkdown() {
	md := report.Markdown(exampleResults(), exampleRun(), exampleMeta(), report.MarkdownOptions{
		// Price gpt-4o-mini at $0.15 / $0.60 per 1M input / output tokens.
		Cost: func(s *span.Span) (float64, bool) {
			if s.Model != "gpt-4o-mini" {
				return 0, false
			}
			return (float64(s.Tokens.Input)*0.15 + float64(s.Tokens.Output)*0.60) / 1e6, true
		},
	})
	fmt.Print(md)
	// Output:
	// ## ❌ llmcheck: 1 of 1 assertion did not pass
	//
	// **1 failed** · 0 passed · 2 spans in 1 trace · total cost \$0.00036 · `go test ./...` passed in 4.2 s
	//
	// ### Assertions
	//
	// | Assertion | Expectation | Observed | Status |
	// |---|---|---|---|
	// | chat p95 under 1.5 s | `latency.p95 < 1500` where `span.operation == "chat"` | latency.p95 = 1.8 s (1 span) | ❌ fail |
	//
	// ### What did not pass
	//
	// #### ❌ chat p95 under 1.5 s
	//
	// Expect `latency.p95 < 1500` where `span.operation == "chat"` · `llmcheck.yaml:3:5`
	//
	// latency.p95 = 1.8 s (1 span)
	//
	// | Trace | Span | Name | Metric | Value |
	// |---|---|---|---|---|
	// | `4bf92f3577b34da6a3ce929d0e0e4736` | `00f067aa0ba902b7` | chat gpt-4o-mini | duration\_ms | 1.8 s |
	//
	// ### Calls by operation and model
	//
	// | Operation | Model | Calls | Errors | p50 | p95 | Input tokens | Output tokens | Cost |
	// |---|---|---:|---:|---:|---:|---:|---:|---:|
	// | chat | gpt-4o-mini | 1 | 0 | 1.8 s | 1.8 s | 1,200 | 300 | \$0.00036 |
	// | invoke\_agent | – | 1 | 0 | 2 s | 2 s | 0 | 0 | – |
	// | **all** |   | 2 | 0 |   |   | 1,200 | 300 | \$0.00036 |
	//
	// _Latency p50/p95: linear interpolation. Cost in USD; – means no span of the group could be priced._
	//
	// ### Latency by model
	//
	// ```mermaid
	// xychart-beta
	//     title "gpt-4o-mini latency, 1 span"
	//     x-axis "latency (ms)" ["1800-2000"]
	//     y-axis "spans"
	//     bar [1]
	// ```
	//
	// ### Slowest trace
	//
	// ```mermaid
	// gantt
	//     title answer question, 2 s
	//     dateFormat x
	//     axisFormat %H:%M:%S.%L
	//     section trace 4bf92f3577b3
	//     answer question 2 s :s1, 1772366400000, 1772366402000
	//     . chat gpt-4o-mini 1.8 s :s2, 1772366400100, 1772366401900
	// ```
	//
	// _Trace `4bf92f3577b34da6a3ce929d0e0e4736`, 2 spans. Error spans are highlighted._
	//
	// <sub>Spans recorded in `.llmcheck/traces.jsonl`. Generated by llmcheck.</sub>
}

func ExampleGitHub() {
	dir, _ := os.MkdirTemp("", "llmcheck")
	defer os.RemoveAll(dir)
	res, run, meta := exampleResults(), exampleRun(), exampleMeta()
	output := filepath.Join(dir, "github_output")
	err := report.GitHub(report.GitHubOptions{
		StepSummary: filepath.Join(dir, "step_summary.md"), // $GITHUB_STEP_SUMMARY
		Output:      output,                                // $GITHUB_OUTPUT
		Commands:    os.Stdout,
		Results:     res,
		Run:         run,
		Meta:        meta,
		Markdown:    report.Markdown(res, run, meta, report.MarkdownOptions{}),
		ConfigFile:  "llmcheck.yaml",
		ReportPath:  ".llmcheck/report.md",
	})
	if err != nil {
		fmt.Println(err)
	}
	data, _ := os.ReadFile(output)
	fmt.Print(string(data))
	// Output:
	// ::error file=llmcheck.yaml,line=3,col=5,title=llmcheck failed%3A chat p95 under 1.5 s::latency.p95 = 1.8 s (1 span)%0Aexpect: latency.p95 < 1500%0Awhere: span.operation == "chat"%0Achat gpt-4o-mini (trace 4bf92f3577b34da6a3ce929d0e0e4736, span 00f067aa0ba902b7): duration_ms = 1.8 s
	// verdict=fail
	// passed=0
	// failed=1
	// errors=0
	// warnings=0
	// skipped=0
	// spans=2
	// traces=1
	// report=.llmcheck/report.md
}
