package cmd

import (
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/spf13/viper"

	"github.com/llmcheck/llmcheck/diff"
	"github.com/llmcheck/llmcheck/runner"
)

// baselineFlags adds the significance settings of every comparison.
func baselineFlags(fs *pflag.FlagSet) {
	fs.Float64("alpha", diff.DefaultAlpha, "significance level of the Mann-Whitney U test (per report, Holm-corrected)")
	fs.Int("min-samples", diff.DefaultMinSamples, "below this many samples on a side a change is \"too few samples\" (~), never significant")
}

func baselineOptions(v *viper.Viper, paths []string) runner.BaselineOptions {
	return runner.BaselineOptions{Paths: paths, Alpha: v.GetFloat64("alpha"), MinSamples: v.GetInt("min-samples")}
}

// splitFiles turns "a.jsonl,b.jsonl" into its files.
func splitFiles(arg string) []string {
	var out []string
	for _, p := range strings.Split(arg, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func newDiffCmd(s *streams) *cobra.Command {
	c := &cobra.Command{
		Use:   "diff [flags] BASE HEAD",
		Short: "Compare two runs: what changed, and the regression rules",
		Long: `Diff compares a baseline run (BASE) with a new one (HEAD). Each side is one
trace file or several separated by commas (sharded runs); BASE may also be a
baseline summary written by ` + "`llmcheck baseline write`" + `. Logs files
among them (OTLP log records such as logs.jsonl, recognised by content)
give the evaluation results of their spans.

Spans are grouped by service + operation + model (span name when there is
no operation). For each group it shows count, latency p50/p95/p99, tokens,
cost, error rate, retrieval metrics and evaluation results (mean score and
label rates per evaluation) on both sides with their deltas, and the tests
whose evaluation verdict went from passing to failing (evals: in the
config; not against a summary). Latency, token and evaluation changes are
tested with the Mann-Whitney U test over the
per-span values (alpha per report, Holm-corrected); a change that is not
significant, or has fewer than --min-samples values on a side, is shown as
~. It also compares the structure of the traces: LLM, tool and retrieval
calls, models used, the order of operations (not against a summary, which
keeps no traces). A trace is named by its test (test.name, test.case.name,
llmcheck.test, code.function, test.suite.name), else by its root span; a
name with one trace a side is compared trace with trace, a name with
several (requests without test identity, repeated tests) as distributions,
tested and Holm-corrected as a structural family, shown only when
significant. Calls that overlap by less than the clock's resolution (1 ms
when start times are whole milliseconds, as the Node SDK records them) are
sequential.

The regression rules of the config (regressions:) are evaluated with BASE
as base and HEAD as head; a failed rule exits 1.`,
		Example: `  llmcheck diff base/traces.jsonl .llmcheck/traces.jsonl
  llmcheck diff base/traces.jsonl,base/logs.jsonl .llmcheck/traces.jsonl,.llmcheck/logs.jsonl
  llmcheck diff llmcheck.baseline.json .llmcheck/traces.jsonl
  llmcheck diff shard1.jsonl,shard2.jsonl .llmcheck/traces.jsonl --format markdown > diff.md`,
		Args: cobra.ExactArgs(2),
	}
	fs := c.Flags()
	configFlag(fs)
	baselineFlags(fs)
	fs.String("format", "text", "output: text (a table), json or markdown")
	fs.String("markdown", "", "also write the Markdown section (for a PR comment) to this file")
	c.RunE = func(c *cobra.Command, args []string) error {
		v := settings(c)
		code, err := runner.Diff(runner.DiffOptions{
			Base:       splitFiles(args[0]),
			Head:       splitFiles(args[1]),
			ConfigPath: v.GetString("config"),
			Required:   explicit(c, "config"),
			Baseline:   baselineOptions(v, nil),
			Format:     v.GetString("format"),
			Markdown:   v.GetString("markdown"),
			Stdout:     s.out,
			Stderr:     s.err,
			Color:      colorOn(s.rawOut),
		})
		return codeErr(code, err)
	}
	return c
}

func newBaselineCmd(s *streams) *cobra.Command {
	c := &cobra.Command{
		Use:   "baseline",
		Short: "Work with baseline summaries",
		Long: `A baseline is the run a pull request is compared with, usually the last run
of the main branch. Keep its trace file as a CI artifact and pass it to
--baseline or llmcheck diff, or commit a small summary of it, written by
llmcheck baseline write: per group of spans (service + operation + model)
the counts, sums and sampled values the regression rules and the
comparison read. See "Comparing with a baseline" in the README.`,
		Example: `  llmcheck baseline write .llmcheck/traces.jsonl -o llmcheck.baseline.json
  llmcheck run --baseline llmcheck.baseline.json -- go test ./...`,
	}
	w := &cobra.Command{
		Use:   "write TRACES... [-o FILE]",
		Short: "Write a small summary of a run to commit and compare against",
		Long: `Baseline write summarises recorded trace files into a small JSON file: per
group of spans (service + operation + model), the exact count, errors,
latency percentiles, token sums, cost and retrieval sums that regression
rules read, the evaluation results (counts, scores, results per label),
and every value the significance tests compare up to 1,000 per statistic
(beyond, 1,000 evenly spaced order statistics). Format version 3; version 2
summaries are still read, without evaluation results. Commit it and pass it to --baseline
or as BASE of llmcheck diff. Its size depends on the number of groups, not
on the number of spans. Logs files among TRACES (such as logs.jsonl,
recognised by content) give the evaluation results of their spans.`,
		Example: `  llmcheck baseline write .llmcheck/traces.jsonl .llmcheck/logs.jsonl -o llmcheck.baseline.json`,
		Args:    cobra.MinimumNArgs(1),
	}
	fs := w.Flags()
	fs.StringP("output", "o", "llmcheck.baseline.json", "file to write")
	// --out was this flag's name; it now means the output folder everywhere
	// (LLMCHECK_OUT), so the old spelling is accepted only on the command line.
	fs.String("out", "", "")
	_ = fs.MarkDeprecated("out", "use -o/--output FILE (--out is the output folder of run, check and record)")
	_ = fs.SetAnnotation("out", noEnv, []string{"true"})
	fs.SetOutput(s.err) // the deprecation notice goes to stderr
	configFlag(fs)
	w.RunE = func(c *cobra.Command, args []string) error {
		v := settings(c)
		return runner.BaselineWrite(runner.BaselineWriteOptions{
			Traces:     args,
			Out:        baselineOut(c, v),
			ConfigPath: v.GetString("config"),
			Required:   explicit(c, "config"),
			Stderr:     s.err,
		})
	}
	c.AddCommand(w)
	return c
}

// baselineOut is -o/--output, or the deprecated --out when only that is given.
func baselineOut(c *cobra.Command, v *viper.Viper) string {
	if c.Flags().Changed("out") && !c.Flags().Changed("output") {
		return c.Flags().Lookup("out").Value.String()
	}
	return v.GetString("output")
}
