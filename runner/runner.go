// Package runner carries out llmcheck's commands end to end: it starts the
// receiver, runs the test command with the OTEL_* environment pointing at
// it, waits for the last spans, then loads the trace file into the span
// model, evaluates the assertions and writes the reports. cmd only turns
// flags into the options structs here.
package runner

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/llmcheck/llmcheck/assert"
	"github.com/llmcheck/llmcheck/diff"
	"github.com/llmcheck/llmcheck/exitcode"
	"github.com/llmcheck/llmcheck/replay"
	"github.com/llmcheck/llmcheck/report"
	"github.com/llmcheck/llmcheck/span"
)

// File names inside the output folder.
const (
	TracesFile  = "traces.jsonl"
	ResultsFile = "results.json"
	JUnitFile   = "junit.xml"
	ReportFile  = "report.md"
)

// ReportOptions say where and how results are reported.
type ReportOptions struct {
	OutDir string    // output folder (created if missing)
	Stdout io.Writer // machine output (--format json) and GitHub workflow commands
	Stderr io.Writer // llmcheck's own messages and the human summary
	Color  bool
	Quiet  bool
	Format string // "text" (default) or "json": results.json also on stdout
	// IncludeContent lets reports show attribute values (prompt and
	// completion content) that appear in evaluation errors; by default
	// long quoted values in those messages are elided.
	IncludeContent bool
	// GitHub, when set (GITHUB_ACTIONS=true), adds the step summary,
	// annotations and step outputs.
	GitHub *GitHubEnv
}

// GitHubEnv are the GitHub Actions files and paths.
type GitHubEnv struct {
	StepSummary string // $GITHUB_STEP_SUMMARY
	Output      string // $GITHUB_OUTPUT
	Workspace   string // $GITHUB_WORKSPACE, to make the config path relative
}

// LoadSuite loads and compiles the assertions file. path "" means none.
// A missing file is an error only when required (given by --config).
func LoadSuite(path string, required bool) (*assert.Suite, error) {
	if path == "" {
		return nil, nil
	}
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) && !required {
		return nil, nil
	}
	s, err := assert.Load(path)
	if err != nil {
		return nil, exitcode.New(exitcode.Usage, err)
	}
	return s, nil
}

// LoadRun reads trace files into the span model (at most
// DefaultMaxSpans spans).
func LoadRun(paths []string, warn func(string)) (*span.Run, error) {
	return LoadRunLimit(paths, DefaultMaxSpans, warn)
}

// LoadRunLimit reads trace files into the span model; more than maxSpans
// spans is an error naming --max-spans. Problems the run has but that do
// not stop it (spans ending before they start, duplicate ids, missing
// parents, wrongly typed token counts) are warnings.
func LoadRunLimit(paths []string, maxSpans int64, warn func(string)) (*span.Run, error) {
	if maxSpans <= 0 {
		maxSpans = DefaultMaxSpans
	}
	spans, err := replay.LoadSpans(paths, replay.ReadOptions{Warn: warn, MaxSpans: maxSpans})
	if err != nil {
		var tooMany *replay.TooManySpansError
		if errors.As(err, &tooMany) {
			err = fmt.Errorf("%w; raise --max-spans if this run is meant to be that large", err)
		}
		return nil, exitcode.New(exitcode.Usage, err)
	}
	run := span.NewRun(spans)
	span.Validate(run, warn)
	return run, nil
}

// Evaluate checks run against suite (or only summarises it when suite is
// nil), writes results.json, junit.xml and report.md into the output
// folder, prints the summary, and adds the GitHub Actions output when
// asked. It returns the exit code the results call for.
func Evaluate(suite *assert.Suite, run *span.Run, base *Baseline, meta report.Meta, opts ReportOptions) (int, error) {
	w := opts.Stderr
	var res *assert.Results
	var pricing map[string]assert.Price
	if suite != nil {
		pricing = suite.Config.Pricing
	}
	// report.md's statistics of the run do not depend on the results:
	// computed while the assertions are evaluated.
	mdCost := assert.SpanCost(pricing)
	charts := make(chan *report.Charts, 1)
	go func() { charts <- report.PrepareCharts(run, mdCost) }()
	if suite != nil {
		suite.IncludeContent = opts.IncludeContent
		res = suite.Evaluate(run)
	}
	var cmp *diff.Report
	if base != nil {
		cmp = base.compare(suite, run)
		if res != nil {
			res.Baseline = base.describe()
			res.Regressions = base.regressions(suite, run, cmp)
			for _, r := range res.Regressions {
				if r.Status == assert.Fail || r.Status == assert.Error {
					res.Status = assert.Fail
				}
			}
		}
	} else if suite != nil && suite.HasRegressions() {
		fmt.Fprintf(w, "llmcheck: %d regression rules not evaluated: no --baseline given\n", len(suite.Config.Regressions))
	}
	if err := os.MkdirAll(opts.OutDir, 0o755); err != nil {
		return 0, outDirError(opts.OutDir, err)
	}
	if res != nil {
		if err := report.WriteJSON(filepath.Join(opts.OutDir, ResultsFile), res); err != nil {
			return 0, exitcode.New(exitcode.Usage, err)
		}
	}
	if err := report.WriteJUnit(filepath.Join(opts.OutDir, JUnitFile), res, meta); err != nil {
		return 0, exitcode.New(exitcode.Usage, err)
	}
	mdOpts := report.MarkdownOptions{Cost: mdCost, Charts: <-charts}
	if cmp != nil {
		mdOpts.Diff = cmp.Markdown(diffMarkdownBytes)
	}
	md := report.Markdown(res, run, meta, mdOpts)
	reportPath := filepath.Join(opts.OutDir, ReportFile)
	if err := report.WriteMarkdown(reportPath, md); err != nil {
		return 0, exitcode.New(exitcode.Usage, err)
	}
	if res == nil {
		report.Recording(w, run, meta.TracePath)
	} else {
		report.Console(w, res, report.ConsoleOptions{Color: opts.Color, Quiet: opts.Quiet})
	}
	if cmp != nil && !opts.Quiet {
		fmt.Fprintf(w, "Compared with %s:\n", base.Name)
		if len(cmp.Headlines) == 0 {
			fmt.Fprintln(w, "  no significant change")
		}
		for i, h := range cmp.Headlines {
			if i == 10 {
				fmt.Fprintf(w, "  … %d more (llmcheck diff shows everything)\n", len(cmp.Headlines)-10)
				break
			}
			fmt.Fprintf(w, "  %s\n", h.Text)
		}
	}
	commands := opts.Stdout
	if opts.Format == "json" {
		if res == nil {
			fmt.Fprintln(opts.Stdout, "null")
		} else if err := report.EncodeJSON(opts.Stdout, res); err != nil {
			return 0, err
		}
		commands = opts.Stderr // keep stdout valid JSON; Actions reads both streams
	}
	if gh := opts.GitHub; gh != nil {
		cfg := ""
		if suite != nil {
			cfg = relativeTo(gh.Workspace, suite.Config.Path)
		}
		err := report.GitHub(report.GitHubOptions{
			StepSummary: gh.StepSummary,
			Output:      gh.Output,
			Commands:    commands,
			Results:     res,
			Run:         run,
			Meta:        meta,
			Markdown:    md,
			ConfigFile:  cfg,
			ReportPath:  reportPath,
		})
		if err != nil {
			fmt.Fprintf(w, "llmcheck: warning: GitHub Actions output: %v\n", err)
		}
	}
	switch {
	case len(run.Spans) == 0:
		return exitcode.NoSpans, nil
	case res != nil && res.Status != assert.Pass:
		return exitcode.Failed, nil
	}
	return exitcode.OK, nil
}

// diffMarkdownBytes bounds the comparison section of report.md (a PR
// comment holds 65,536 characters).
const diffMarkdownBytes = 60_000

// relativeTo makes path relative to the workspace, so annotations land on
// the file in the pull request.
func relativeTo(workspace, path string) string {
	abs, err := filepath.Abs(path)
	if err != nil || workspace == "" {
		return filepath.ToSlash(path)
	}
	if rel, err := filepath.Rel(workspace, abs); err == nil && !strings.HasPrefix(rel, "..") {
		return filepath.ToSlash(rel)
	}
	return filepath.ToSlash(path)
}

func outDirError(dir string, err error) error {
	return exitcode.Newf(exitcode.Usage, "output folder %s is not writable (%v); choose another with --out", dir, unwrapPath(err))
}

func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// CheckOptions are the inputs of `llmcheck check`.
type CheckOptions struct {
	Traces     []string
	MaxSpans   int64
	Baseline   BaselineOptions
	ConfigPath string
	Required   bool // the config path was given explicitly
	Report     ReportOptions
}

// Check evaluates the assertions over recorded trace files.
func Check(opts CheckOptions) (int, error) {
	suite, err := LoadSuite(opts.ConfigPath, opts.Required)
	if err != nil {
		return 0, err
	}
	if suite == nil && opts.ConfigPath != "" {
		return 0, exitcode.Newf(exitcode.Usage, "no %s: nothing to check (write one with `llmcheck init --from %s`, or pass --config)", opts.ConfigPath, strings.Join(opts.Traces, " "))
	}
	ws := newWarnings(opts.Report.Stderr)
	defer ws.flush()
	base, err := LoadBaseline(opts.Baseline, ws.warn)
	if err != nil {
		return 0, err
	}
	if err := base.CheckRules(suite); err != nil {
		return 0, err
	}
	run, err := LoadRunLimit(opts.Traces, opts.MaxSpans, ws.warn)
	if err != nil {
		return 0, err
	}
	return Evaluate(suite, run, base, report.Meta{Started: time.Now(), TracePath: strings.Join(opts.Traces, ", ")}, opts.Report)
}

// durationOr returns d, or def when d is zero.
func durationOr(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}
