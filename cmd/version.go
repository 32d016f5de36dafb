package cmd

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/llmcheck/llmcheck/version"
)

func newVersionCmd(s *streams) *cobra.Command {
	c := &cobra.Command{
		Use:   "version [--json]",
		Short: "Print the version, commit, Go version and platform of this llmcheck",
		Long: `Version prints one line: the release version (or the module version of a
go install …@vX build, or "dev" for a build from a clone), the commit and
its date, the Go version and the platform. --json prints the same as a
JSON object with the fields version, commit, date, modified, go, os, arch.
"llmcheck --version" prints the line too.`,
		Example: `  llmcheck version
  llmcheck version --json | jq -r .version`,
		Args: cobra.NoArgs,
	}
	asJSON := c.Flags().Bool("json", false, "print a JSON object")
	c.RunE = func(c *cobra.Command, args []string) error {
		i := version.Get()
		if *asJSON {
			enc := json.NewEncoder(s.out)
			enc.SetIndent("", "  ")
			return enc.Encode(i)
		}
		_, err := fmt.Fprintln(s.out, i.String())
		return err
	}
	return c
}
