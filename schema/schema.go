// Package schema holds the JSON Schema of llmcheck.yaml, which editors use
// to complete and validate the file (`llmcheck schema` prints it; `llmcheck
// init` points new files at it).
package schema

import (
	_ "embed"
	"strings"
)

// JSON is the schema document (JSON Schema draft 2020-12).
//
//go:embed llmcheck.schema.json
var JSON []byte

// URL is where editors fetch the schema for a given llmcheck version: the
// file at that release tag, or on main for a development build.
func URL(version string) string {
	ref := "main"
	if strings.HasPrefix(version, "v") && !strings.Contains(version, "-") {
		ref = version
	}
	return "https://raw.githubusercontent.com/llmcheck/llmcheck/" + ref + "/schema/llmcheck.schema.json"
}

// Modeline is the comment that the YAML language server (VS Code's YAML
// extension, JetBrains, Helix, Neovim) reads to validate a file against
// the schema.
func Modeline(version string) string {
	return "# yaml-language-server: $schema=" + URL(version)
}
