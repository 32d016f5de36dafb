package cmd

import (
	"github.com/llmcheck/llmcheck/schema"
	"github.com/llmcheck/llmcheck/version"

	"github.com/spf13/cobra"

	"github.com/llmcheck/llmcheck/runner"
)

func newInitCmd(s *streams) *cobra.Command {
	c := &cobra.Command{
		Use:   "init [--from TRACES...]",
		Short: "Write a starter llmcheck.yaml",
		Long: `Init writes a commented starter assertions file. With --from, it writes one
assertion per operation and model family seen in the recorded run
(span.model_family: gpt-4o-mini for gpt-4o-mini-2024-07-18), with budgets
from the recorded values plus headroom (p95 latency × 1.5, tokens per
call × 1.2), and a commented pricing: stub per family with PRICE where the
price goes (the file does not load until it is filled in or left
commented). It never overwrites an existing file unless --force is given.`,
		Example: `  llmcheck init
  llmcheck run -- go test ./... && llmcheck init --from .llmcheck/traces.jsonl`,
		Args: cobra.NoArgs,
	}
	fs := c.Flags()
	fs.StringSlice("from", nil, "recorded trace file(s) to derive budgets from")
	fs.StringP("output", "o", "llmcheck.yaml", "file to write ('-' for stdout)")
	fs.Bool("force", false, "overwrite an existing file")
	c.RunE = func(c *cobra.Command, args []string) error {
		v := settings(c)
		return runner.Init(runner.InitOptions{
			From:   v.GetStringSlice("from"),
			Output: v.GetString("output"),
			Force:  v.GetBool("force"),
			// Editors validate against the schema of this llmcheck's release.
			SchemaURL: schema.URL(version.Get().Version),
			Stdout:    s.out,
			Stderr:    s.err,
		})
	}
	return c
}
