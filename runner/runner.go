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
	"slices"
	"strings"
	"time"

	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/llmcheck/llmcheck/assert"
	"github.com/llmcheck/llmcheck/diff"
	"github.com/llmcheck/llmcheck/exitcode"
	"github.com/llmcheck/llmcheck/internal/safetext"
	"github.com/llmcheck/llmcheck/replay"
	"github.com/llmcheck/llmcheck/report"
	"github.com/llmcheck/llmcheck/span"
)

// File names inside the output folder.
const (
	TracesFile = "traces.jsonl"
	// LogsFile holds the OTLP log records received (evaluation results
	// are log records), beside TracesFile.
	LogsFile    = "logs.jsonl"
	ResultsFile = "results.json"
	JUnitFile   = "junit.xml"
	ReportFile  = "report.md"
	// CommentFile is report.md sized for a pull-request comment, which
	// `llmcheck comment` posts.
	CommentFile = "comment.md"
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

// warnConfig passes on the warnings of the loaded config (a model priced
// at 0), each naming its file:line.
func warnConfig(suite *assert.Suite, warn func(string)) {
	if suite == nil {
		return
	}
	for _, d := range suite.Config.Warnings {
		warn(d.String())
	}
}

// LoadRun reads trace files into the span model (at most
// DefaultMaxSpans spans).
func LoadRun(paths []string, warn func(string)) (*span.Run, error) {
	return LoadRunLimit(paths, DefaultMaxSpans, 0, warn)
}

// LoadRunLimit reads trace files into the span model; more than maxSpans
// spans is an error naming --max-spans, more than maxBytes bytes of lines,
// records and documents (decompressed; 0: replay.DefaultMaxBytes) one
// naming --max-trace-bytes. Problems the run has but that do
// not stop it (spans ending before they start, duplicate ids, missing
// parents, wrongly typed token counts) are warnings.
func LoadRunLimit(paths []string, maxSpans, maxBytes int64, warn func(string)) (*span.Run, error) {
	if maxSpans <= 0 {
		maxSpans = DefaultMaxSpans
	}
	tracePaths, logPaths := splitLogs(paths)
	spans, err := replay.LoadSpans(tracePaths, replay.ReadOptions{Warn: warn, MaxSpans: maxSpans, MaxBytes: maxBytes})
	if err != nil {
		var tooMany *replay.TooManySpansError
		var tooLarge *replay.TooManyBytesError
		switch {
		case errors.As(err, &tooMany):
			err = fmt.Errorf("%w; raise --max-spans if this run is meant to be that large", err)
		case errors.As(err, &tooLarge):
			err = fmt.Errorf("%w (--max-trace-bytes); nothing was checked; raise --max-trace-bytes if this run is meant to be that large", err)
		}
		return nil, exitcode.New(exitcode.Usage, err)
	}
	recs, err := loadEvalRecords(logPaths, maxSpans, maxBytes, warn)
	if err != nil {
		return nil, err
	}
	run := span.NewRun(spans)
	span.AttachEvals(run, recs, warn)
	span.Validate(run, warn)
	return run, nil
}

// splitLogs separates the logs files (OTLP log records, such as
// logs.jsonl; detected from their content) from the trace files. When no
// logs file is given, a trace file llmcheck wrote (DIR/traces.jsonl)
// brings the logs file written beside it (DIR/logs.jsonl), so
// `check .llmcheck/traces.jsonl` sees the evaluation results that run
// saw; naming any logs file turns that off.
func splitLogs(paths []string) (traces, logs []string) {
	for _, p := range paths {
		if replay.IsLogsFile(p) {
			logs = append(logs, p)
		} else {
			traces = append(traces, p)
		}
	}
	if len(logs) == 0 {
		for _, p := range traces {
			if filepath.Base(p) != TracesFile {
				continue
			}
			if sib := filepath.Join(filepath.Dir(p), LogsFile); fileExists(sib) && replay.IsLogsFile(sib) && !slices.Contains(logs, sib) {
				logs = append(logs, sib)
			}
		}
	}
	return traces, logs
}

// loadEvalRecords reads the evaluation results of logs files with the
// bounds of trace files: at most maxSpans lines, records and evaluation
// results, at most maxBytes bytes (decompressed).
func loadEvalRecords(paths []string, maxSpans, maxBytes int64, warn func(string)) ([]span.RecordEval, error) {
	if len(paths) == 0 {
		return nil, nil
	}
	var recs []span.RecordEval
	err := replay.ReadLogs(paths, replay.ReadOptions{Warn: warn, MaxSpans: maxSpans, MaxBytes: maxBytes}, func(ld plog.Logs, where string) error {
		recs = span.EvalsFromLogs(recs, ld, where, warn)
		if int64(len(recs)) > maxSpans {
			return fmt.Errorf("%s: more than %d evaluation results (--max-spans bounds them too); raise --max-spans if this run is meant to be that large", strings.Join(paths, ", "), maxSpans)
		}
		return nil
	})
	if err != nil {
		var tooLarge *replay.TooManyBytesError
		if errors.As(err, &tooLarge) {
			err = fmt.Errorf("%w (--max-trace-bytes); nothing was checked; raise --max-trace-bytes if this run is meant to be that large", err)
		}
		return nil, exitcode.New(exitcode.Usage, err)
	}
	return recs, nil
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
	} else if suite != nil && suite.HasRegressions() && !opts.Quiet {
		fmt.Fprintf(w, "llmcheck: %s not evaluated: no --baseline given\n", count(int64(len(suite.Config.Regressions)), "regression rule", "regression rules"))
	}
	if err := os.MkdirAll(opts.OutDir, 0o755); err != nil {
		return 0, outDirError(opts.OutDir, err)
	}
	code := exitCode(res, run, meta)
	doc := resultsDoc(res, run, meta, code)
	if err := report.WriteJSON(filepath.Join(opts.OutDir, ResultsFile), doc); err != nil {
		return 0, exitcode.New(exitcode.Usage, err)
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
	// The same report within a comment's 65,536 characters, for
	// `llmcheck comment`: a shorter comparison section, fewer rows.
	cmOpts := mdOpts
	cmOpts.MaxBytes = commentBytes
	if cmp != nil {
		cmOpts.Diff = cmp.Markdown(commentBytes / 3)
	}
	if err := report.WriteMarkdown(filepath.Join(opts.OutDir, CommentFile), report.Markdown(res, run, meta, cmOpts)); err != nil {
		return 0, exitcode.New(exitcode.Usage, err)
	}
	if res == nil {
		report.Recording(w, run, meta.TracePath)
	} else {
		report.Console(w, res, report.ConsoleOptions{Color: opts.Color, Quiet: opts.Quiet})
	}
	if cmp != nil && !opts.Quiet {
		fmt.Fprintf(w, "Compared with %s:\n", safetext.Line(base.Name))
		if len(cmp.Headlines) == 0 {
			fmt.Fprintln(w, "  no significant change")
		}
		for i, h := range cmp.Headlines {
			if i == 10 {
				fmt.Fprintf(w, "  … %d more (llmcheck diff shows everything)\n", len(cmp.Headlines)-10)
				break
			}
			fmt.Fprintf(w, "  %s\n", safetext.Line(h.Text))
		}
	}
	commands := opts.Stdout
	if opts.Format == "json" {
		if err := report.EncodeJSON(opts.Stdout, doc); err != nil {
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
	return code, nil
}

// exitCode is the exit code a run's outcome calls for: the test command's
// failure first (3), then no spans (4), then failed, errored or
// interrupted checks (1).
func exitCode(res *assert.Results, run *span.Run, meta report.Meta) int {
	switch {
	case meta.CommandStatus != "":
		return exitcode.CommandFailed
	case len(run.Spans) == 0:
		return exitcode.NoSpans
	case res != nil && res.Status != assert.Pass, meta.Interrupted != "":
		return exitcode.Failed
	}
	return exitcode.OK
}

// resultsDoc is results.json: the results (none without a config) with the
// verdict the exit code gives and how the test command ended.
func resultsDoc(res *assert.Results, run *span.Run, meta report.Meta, code int) *assert.Results {
	doc := &assert.Results{Version: assert.SchemaVersion, Spans: len(run.Spans), Traces: len(run.Traces), Assertions: []assert.Result{}}
	if res != nil {
		cp := *res
		doc = &cp
	}
	doc.ExitCode = code
	doc.Store = meta.Store
	doc.Status = assert.Pass
	if code != exitcode.OK {
		doc.Status = assert.Fail
	}
	if len(meta.Command) > 0 {
		status := meta.CommandStatus
		if status == "" {
			status = "ok"
		}
		doc.Command = &assert.CommandResult{Args: meta.Command, Status: status, DurationMS: ms(meta.CommandDuration)}
		for _, r := range meta.Repetitions {
			st := r.Status
			if st == "" {
				st = "ok"
			}
			doc.Command.Repetitions = append(doc.Command.Repetitions, assert.Repetition{Number: r.Number, Status: st, DurationMS: ms(r.Duration)})
		}
	}
	doc.RunID = meta.RunID
	return doc
}

// ms is d in milliseconds, to the microsecond.
func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// commentBytes bounds comment.md: a pull-request comment holds 65,536
// characters, and prcomment adds a marker line.
const commentBytes = 60_000

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
	// Traces are the trace files, and logs files among them (recognised
	// by content); none means OUT/traces.jsonl and, when it exists,
	// OUT/logs.jsonl.
	Traces   []string
	MaxSpans int64
	// MaxTraceBytes bounds the decompressed bytes of the trace files
	// (0: replay.DefaultMaxBytes).
	MaxTraceBytes int64
	Baseline      BaselineOptions
	ConfigPath    string
	Required      bool // the config path was given explicitly
	Report        ReportOptions
}

// Check evaluates the assertions over recorded trace files. When it
// cannot (exit 2), the output folder gets reports saying why.
func Check(opts CheckOptions) (int, error) {
	code, err := check(opts)
	if err != nil {
		reportFailure(opts.Report, report.Meta{Started: time.Now(), TracePath: strings.Join(opts.Traces, ", ")}, err)
	}
	return code, err
}

func check(opts CheckOptions) (int, error) {
	suite, err := LoadSuite(opts.ConfigPath, opts.Required)
	if err != nil {
		return 0, err
	}
	if len(opts.Traces) == 0 {
		def := filepath.Join(opts.Report.OutDir, TracesFile)
		if _, err := os.Stat(def); err != nil {
			return 0, exitcode.Newf(exitcode.Usage, "no trace files given and %s does not exist: record one with `llmcheck run -- <tests>`, or name the files: llmcheck check FILE...", def)
		}
		opts.Traces = []string{def}
		if logs := filepath.Join(opts.Report.OutDir, LogsFile); fileExists(logs) {
			opts.Traces = append(opts.Traces, logs)
		}
	}
	ws := newWarnings(opts.Report.Stderr)
	defer ws.flush()
	warnConfig(suite, ws.warn)
	base, err := LoadBaseline(opts.Baseline, ws.warn)
	if err != nil {
		return 0, err
	}
	if err := base.CheckRules(suite); err != nil {
		return 0, err
	}
	run, err := LoadRunLimit(opts.Traces, opts.MaxSpans, opts.MaxTraceBytes, ws.warn)
	if err != nil {
		return 0, err
	}
	return Evaluate(suite, run, base, report.Meta{Started: time.Now(), TracePath: strings.Join(opts.Traces, ", ")}, opts.Report)
}

// reportFailure writes the reports of a run that could not run (exit 2)
// into the output folder, replacing an earlier run's, and tells GitHub
// Actions: annotations on the config's lines, the step summary and
// verdict=error. The trace file is left alone: it is the input of check,
// and after a config error it is what `llmcheck check` re-checks once the
// config is fixed. Nothing is reported when the folder cannot be written.
func reportFailure(opts ReportOptions, meta report.Meta, err error) {
	var ee *exitcode.Error
	if !errors.As(err, &ee) || ee.Code != exitcode.Usage || ee.Err == nil || opts.OutDir == "" {
		return
	}
	f := report.Failure{Message: ee.Err.Error(), ExitCode: ee.Code, Meta: meta}
	var ce *assert.ConfigError
	if errors.As(err, &ce) {
		for _, d := range ce.Diagnostics {
			if opts.GitHub != nil {
				d.Pos.File = relativeTo(opts.GitHub.Workspace, d.Pos.File)
			}
			f.Diagnostics = append(f.Diagnostics, d)
		}
	}
	if os.MkdirAll(opts.OutDir, 0o755) != nil {
		return
	}
	if report.WriteFailure(opts.OutDir, f, ResultsFile, JUnitFile, ReportFile, CommentFile) != nil {
		return
	}
	if gh := opts.GitHub; gh != nil {
		commands := opts.Stdout
		if opts.Format == "json" {
			commands = opts.Stderr
		}
		if err := report.GitHubFailure(f, gh.StepSummary, gh.Output, commands, filepath.Join(opts.OutDir, ReportFile)); err != nil {
			fmt.Fprintf(opts.Stderr, "llmcheck: warning: GitHub Actions output: %v\n", err)
		}
	}
}

// durationOr returns d, or def when d is zero.
func durationOr(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}

// fileExists reports whether path names an existing file.
func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
