package runner

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/llmcheck/llmcheck/assert"
	"github.com/llmcheck/llmcheck/baseline"
	"github.com/llmcheck/llmcheck/exitcode"
	"github.com/llmcheck/llmcheck/internal/safetext"
	"github.com/llmcheck/llmcheck/report"
)

// DiffOptions are the inputs of `llmcheck diff`.
type DiffOptions struct {
	Base, Head []string
	ConfigPath string
	Required   bool
	Baseline   BaselineOptions // Alpha, MinSamples
	Format     string          // text, json or markdown
	Markdown   string          // also write the Markdown section to this file
	Stdout     io.Writer
	Stderr     io.Writer
	Color      bool
}

// Diff compares two runs and evaluates the regression rules.
func Diff(opts DiffOptions) (int, error) {
	switch opts.Format {
	case "", "text", "json", "markdown":
	default:
		return 0, exitcode.Newf(exitcode.Usage, "--format %q: expected text, json or markdown", opts.Format)
	}
	suite, err := LoadSuite(opts.ConfigPath, opts.Required)
	if err != nil {
		return 0, err
	}
	ws := newWarnings(opts.Stderr)
	defer ws.flush()
	warnConfig(suite, ws.warn)
	bo := opts.Baseline
	bo.Paths = opts.Base
	base, err := LoadBaseline(bo, ws.warn)
	if err != nil {
		return 0, err
	}
	if err := base.CheckRules(suite); err != nil {
		return 0, err
	}
	if base == nil {
		return 0, exitcode.Newf(exitcode.Usage, "BASE: no trace file or baseline summary given")
	}
	for _, p := range opts.Head {
		if baseline.Is(p) {
			return 0, exitcode.Newf(exitcode.Usage, "HEAD %s is a baseline summary; HEAD must be trace files (a summary can only be the base)", p)
		}
	}
	head, err := LoadRun(opts.Head, ws.warn)
	if err != nil {
		return 0, err
	}
	// A trace file or a summary: compare never returns nil for a loaded
	// baseline (against a summary the report says the structure is not
	// compared).
	cmp := base.compare(suite, head)
	var rules []assert.Result
	if suite != nil && suite.HasRegressions() {
		rules = base.regressions(suite, head, cmp)
	}
	failed := false
	for _, r := range rules {
		if r.Status == assert.Fail || r.Status == assert.Error {
			failed = true
		}
	}
	md := cmp.Markdown(diffMarkdownBytes)
	if len(rules) > 0 {
		md += "\n" + report.RulesMarkdown(rules, base.describe())
	}
	if opts.Markdown != "" {
		if dir := filepath.Dir(opts.Markdown); dir != "." {
			os.MkdirAll(dir, 0o755)
		}
		if err := report.WriteMarkdown(opts.Markdown, md); err != nil {
			return 0, exitcode.New(exitcode.Usage, err)
		}
	}
	switch opts.Format {
	case "json":
		out := struct {
			Version     int             `json:"version"`
			Baseline    string          `json:"baseline"`
			Diff        any             `json:"diff,omitempty"`
			Regressions []assert.Result `json:"regressions,omitempty"`
		}{Version: 1, Baseline: base.describe(), Diff: cmp.Clipped(), Regressions: report.ClipNames(rules)}
		enc := json.NewEncoder(opts.Stdout)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		if err := enc.Encode(out); err != nil {
			return 0, err
		}
	case "markdown":
		io.WriteString(opts.Stdout, md)
	default:
		cmp.Text(opts.Stdout)
		if len(rules) > 0 {
			fmt.Fprintf(opts.Stdout, "\nRegression rules:\n")
			res := &assert.Results{Regressions: rules, Spans: len(head.Spans), Traces: len(head.Traces), Baseline: base.describe()}
			report.ConsoleRules(opts.Stdout, res, report.ConsoleOptions{Color: opts.Color})
		}
	}
	if failed {
		return exitcode.Failed, nil
	}
	return exitcode.OK, nil
}

// BaselineWriteOptions are the inputs of `llmcheck baseline write`.
type BaselineWriteOptions struct {
	Traces     []string
	Out        string
	ConfigPath string // pricing and retrieval k
	Required   bool
	Stderr     io.Writer
}

// BaselineWrite writes a baseline summary of recorded trace files.
func BaselineWrite(opts BaselineWriteOptions) error {
	suite, err := LoadSuite(opts.ConfigPath, opts.Required)
	if err != nil {
		return err
	}
	ws := newWarnings(opts.Stderr)
	defer ws.flush()
	warnConfig(suite, ws.warn)
	run, err := LoadRun(opts.Traces, ws.warn)
	if err != nil {
		return err
	}
	if len(run.Spans) == 0 {
		return exitcode.Newf(exitcode.NoSpans, "%s holds no spans: nothing to summarise", strings.Join(opts.Traces, ", "))
	}
	var cfg *assert.Config
	if suite != nil {
		cfg = suite.Config
	}
	f := baseline.New(cfg, run, opts.Traces, time.Now())
	if err := baseline.Write(opts.Out, f); err != nil {
		return exitcode.New(exitcode.Usage, err)
	}
	st, _ := os.Stat(opts.Out)
	size := int64(0)
	if st != nil {
		size = st.Size()
	}
	fmt.Fprintf(opts.Stderr, "llmcheck: wrote %s: %s from %s in %s (%s)\n", safetext.Line(opts.Out), count(int64(len(f.Groups)), "group", "groups"),
		count(int64(f.Spans), "span", "spans"), count(int64(f.Traces), "trace", "traces"), count(size, "byte", "bytes"))
	return nil
}
