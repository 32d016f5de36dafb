package cmd

import (
	"os"

	"github.com/spf13/cobra"
	"github.com/spf13/viper"

	"github.com/llmcheck/llmcheck/exitcode"
	"github.com/llmcheck/llmcheck/runner"
)

func newCheckCmd(s *streams) *cobra.Command {
	c := &cobra.Command{
		Use:   "check [flags] TRACES...",
		Short: "Evaluate the assertions over recorded trace files",
		Long: `Check evaluates the assertions file over recorded trace files and writes
OUT/results.json. Several files form one run (sharded CI jobs merged).
Files may be OTLP JSON lines, one OTLP JSON document, the Collector file
exporter's length-prefixed protobuf, or any of these gzipped.`,
		Example: `  llmcheck check .llmcheck/traces.jsonl
  llmcheck check --config ci/llmcheck.yaml shard-*/traces.jsonl`,
		Args: cobra.MinimumNArgs(1),
	}
	fs := c.Flags()
	fs.String("out", ".llmcheck", "output folder for results.json and the reports")
	configFlag(fs)
	fs.BoolP("quiet", "q", false, "print only failures and the closing line")
	c.RunE = func(c *cobra.Command, args []string) error {
		v := settings(c)
		code, err := runner.Check(runner.CheckOptions{
			Traces:     args,
			ConfigPath: v.GetString("config"),
			Required:   true,
			Report:     reportOptions(v, s),
		})
		return codeErr(code, err)
	}
	return c
}

func reportOptions(v *viper.Viper, s *streams) runner.ReportOptions {
	return runner.ReportOptions{
		OutDir: v.GetString("out"),
		Stderr: s.err,
		Color:  colorOn(s.err),
		Quiet:  v.GetBool("quiet"),
	}
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
