// Package cilint owns the checks of the repository's CI files: its tests
// lint every workflow under .github/workflows, the example workflows under
// examples/github and the composite action action.yml with actionlint (as a
// Go library) and a few action-specific rules. It has no code of its own:
// run it with go test ./cilint.
package cilint
