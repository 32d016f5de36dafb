// Command llmcheck turns the OpenTelemetry traces an LLM application emits
// during its tests into pass/fail checks for CI. See README.md.
package main

import (
	"os"

	"github.com/llmcheck/llmcheck/cmd"
)

func main() {
	os.Exit(cmd.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
