package runner

import (
	"fmt"
	"strings"

	"github.com/llmcheck/llmcheck/assert"
	"github.com/llmcheck/llmcheck/baseline"
	"github.com/llmcheck/llmcheck/diff"
	"github.com/llmcheck/llmcheck/exitcode"
	"github.com/llmcheck/llmcheck/span"
)

// BaselineOptions say what to compare a run with.
type BaselineOptions struct {
	Paths      []string // trace files of the baseline run, or one baseline summary
	Alpha      float64  // significance level (default 0.05)
	MinSamples int      // below this many samples a change is "too few samples" (default diff.DefaultMinSamples)
}

// Baseline is a loaded baseline: a recorded run or a summary.
type Baseline struct {
	Name    string
	Run     *span.Run
	Summary *baseline.File
	opts    BaselineOptions
}

// LoadBaseline reads the baseline before anything runs: a broken baseline
// is a usage error (exit 2), found before the test command spends money.
func LoadBaseline(opts BaselineOptions, warn func(string)) (*Baseline, error) {
	if len(opts.Paths) == 0 {
		return nil, nil
	}
	b := &Baseline{Name: strings.Join(opts.Paths, ", "), opts: opts}
	if len(opts.Paths) == 1 && baseline.Is(opts.Paths[0]) {
		f, err := baseline.Read(opts.Paths[0])
		if err != nil {
			return nil, exitcode.New(exitcode.Usage, err)
		}
		b.Summary = f
		return b, nil
	}
	for _, p := range opts.Paths {
		if baseline.Is(p) {
			return nil, exitcode.Newf(exitcode.Usage, "--baseline %s: a baseline summary cannot be merged with other files; give it alone", p)
		}
	}
	run, err := LoadRun(opts.Paths, warn)
	if err != nil {
		return nil, err
	}
	b.Run = run
	return b, nil
}

// CheckRules refuses, before anything runs, the regression rules that a
// baseline summary cannot answer as its trace file would (see
// assert.Suite.CheckSummary): a usage error naming each rule's file:line.
func (b *Baseline) CheckRules(suite *assert.Suite) error {
	if b == nil || b.Summary == nil || suite == nil || !suite.HasRegressions() {
		return nil
	}
	if err := suite.CheckSummary(b.Summary.Groups); err != nil {
		return exitcode.Newf(exitcode.Usage, "--baseline %s is a baseline summary, which cannot give these rules the verdict of its trace file:\n%v\nuse the baseline trace file (--baseline traces.jsonl) for them", b.Name, err)
	}
	return nil
}

// regressions evaluates the suite's regression rules against the baseline
// and, with cmp, corrects the rules' tests and the comparison table's as
// one family (diff.Report.CorrectRules).
func (b *Baseline) regressions(suite *assert.Suite, run *span.Run, cmp *diff.Report) []assert.Result {
	sig := diff.RuleSignificance(b.opts.Alpha, b.opts.MinSamples)
	var rs []assert.Result
	if b.Summary != nil {
		rs = suite.EvaluateRegressionsSummary(b.Summary.Groups, run, sig)
	} else {
		rs = suite.EvaluateRegressions(b.Run, run, sig)
	}
	if cmp != nil {
		cmp.CorrectRules(rs)
	}
	return rs
}

// compare is the diff of the run against the baseline: against a
// baseline run, groups and structure; against a summary, the groups only
// (a summary keeps no traces; the report says so).
func (b *Baseline) compare(suite *assert.Suite, run *span.Run) *diff.Report {
	o := diff.Options{Alpha: b.opts.Alpha, MinSamples: b.opts.MinSamples}
	if suite != nil {
		o.Pricing, o.K = suite.Config.Pricing, suite.Config.Retrieval.K
		o.Verdict = suite.Config.EvalVerdict
	}
	switch {
	case b.Summary != nil:
		r := diff.CompareSummary(b.Summary.Groups, run, o)
		r.Base.Spans, r.Base.Traces = b.Summary.Spans, b.Summary.Traces
		return r
	case b.Run != nil:
		return diff.Compare(b.Run, run, o)
	}
	return nil
}

func (b *Baseline) describe() string {
	if b.Summary != nil {
		return fmt.Sprintf("%s (summary of %d spans)", b.Name, b.Summary.Spans)
	}
	return b.Name
}
