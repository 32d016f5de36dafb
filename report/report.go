// Package report renders assertion results and recorded runs for people
// and machines: the console summary, results.json, and (see the other
// files) JUnit XML, Markdown and GitHub Actions output.
package report
