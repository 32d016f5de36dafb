package cmd

import (
	"github.com/spf13/cobra"

	"github.com/llmcheck/llmcheck/schema"
)

func newSchemaCmd(s *streams) *cobra.Command {
	return &cobra.Command{
		Use:   "schema",
		Short: "Print the JSON Schema of llmcheck.yaml",
		Long: `Schema prints the JSON Schema (draft 2020-12) of llmcheck.yaml, the file
schema/llmcheck.schema.json of the repository. Editors with the YAML
language server (VS Code's YAML extension, JetBrains IDEs, Neovim, Helix)
complete and validate llmcheck.yaml when its first line is

  # yaml-language-server: $schema=https://raw.githubusercontent.com/llmcheck/llmcheck/<version>/schema/llmcheck.schema.json

which llmcheck init writes. The schema checks structure (keys, types,
required fields); llmcheck itself also compiles the CEL expressions.`,
		Example: `  llmcheck schema > llmcheck.schema.json`,
		Args:    cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error {
			_, err := s.out.Write(schema.JSON)
			return err
		},
	}
}
