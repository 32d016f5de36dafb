package cmd

import (
	"os"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/spf13/viper"

	"github.com/llmcheck/llmcheck/exitcode"
	"github.com/llmcheck/llmcheck/runner"
)

func newCheckCmd(s *streams) *cobra.Command {
	c := &cobra.Command{
		Use:   "check [flags] [TRACES...]",
		Short: "Evaluate the assertions over recorded trace files",
		Long: `Check evaluates the assertions file over recorded trace files and writes
OUT/results.json. Several files form one run (sharded CI jobs merged).
Files may be OTLP JSON lines, one OTLP JSON document, the Collector file
exporter's length-prefixed protobuf, or any of these gzipped. Logs files
(OTLP log records, such as OUT/logs.jsonl) among them are recognised by
content and give the evaluation results (span.evals); when none is named,
a file named traces.jsonl brings the logs.jsonl beside it. Without TRACES
it checks OUT/traces.jsonl and OUT/logs.jsonl, the files llmcheck run wrote. Without an
assertions file (and without --config) it summarises the run as llmcheck
run does and says how to get a starter file.`,
		Example: `  llmcheck check
  llmcheck check .llmcheck/traces.jsonl .llmcheck/logs.jsonl
  llmcheck check --config ci/llmcheck.yaml shard-*/traces.jsonl`,
		Args: cobra.ArbitraryArgs,
	}
	fs := c.Flags()
	reportFlags(fs)
	configFlag(fs)
	fs.StringSlice("baseline", nil, "baseline to compare with: trace file(s) of an earlier run or a baseline summary; evaluates the regression rules")
	baselineFlags(fs)
	c.RunE = func(c *cobra.Command, args []string) error {
		v := settings(c)
		ro, err := reportOptions(v, s)
		if err != nil {
			return err
		}
		code, err := runner.Check(runner.CheckOptions{
			Traces:        args,
			MaxSpans:      v.GetInt64("max-spans"),
			MaxTraceBytes: v.GetInt64("max-trace-bytes"),
			ConfigPath:    v.GetString("config"),
			Required:      explicit(c, "config"),
			Baseline:      baselineOptions(v, v.GetStringSlice("baseline")),
			Report:        ro,
		})
		return codeErr(code, err)
	}
	return c
}

// reportFlags adds the flags of every command that reports results.
func reportFlags(fs *pflag.FlagSet) {
	fs.String("out", ".llmcheck", "output folder for traces.jsonl, results.json, junit.xml and report.md")
	fs.BoolP("quiet", "q", false, "print only failures and the closing line")
	fs.String("format", "text", "also print the results on stdout: text (nothing extra) or json (the results.json document)")
	fs.Int64("max-spans", runner.DefaultMaxSpans, "refuse runs with more spans than this, and trace files with more lines or records (protects memory and disk)")
	fs.Int64("max-trace-bytes", runner.DefaultMaxTraceBytes, "refuse trace files holding more bytes than this after decompression (protects memory: a span's attributes cost memory, not only the span count)")
	fs.Bool("include-content", false, "let reports show attribute values (prompt/completion text) quoted in evaluation errors; elided by default")
}

func reportOptions(v *viper.Viper, s *streams) (runner.ReportOptions, error) {
	o := runner.ReportOptions{
		OutDir: v.GetString("out"),
		Stdout: s.out,
		Stderr: s.err,
		Color:  colorOn(s.rawErr),
		Quiet:  v.GetBool("quiet"),
		Format: v.GetString("format"),

		IncludeContent: v.GetBool("include-content"),
	}
	if o.Format != "text" && o.Format != "json" {
		return o, exitcode.Newf(exitcode.Usage, "--format %q: expected text or json", o.Format)
	}
	if os.Getenv("GITHUB_ACTIONS") == "true" {
		o.GitHub = &runner.GitHubEnv{
			StepSummary: os.Getenv("GITHUB_STEP_SUMMARY"),
			Output:      os.Getenv("GITHUB_OUTPUT"),
			Workspace:   os.Getenv("GITHUB_WORKSPACE"),
		}
	}
	return o, nil
}

// codeErr turns a runner outcome into the error Main maps to the exit code.
func codeErr(code int, err error) error {
	if err != nil {
		return err
	}
	if code == exitcode.OK {
		return nil
	}
	return exitcode.Silent(code)
}

func environ() []string { return os.Environ() }
