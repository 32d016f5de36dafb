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

// significance adapts diff's Mann-Whitney U test to the rules.
func (b *Baseline) significance() assert.SignificanceFunc {
	return func(base, head []float64) assert.Significance {
		v := diff.Significance(base, head, b.opts.Alpha, b.opts.MinSamples)
		return assert.Significance{P: v.P, Significant: v.Significant, TooFew: v.TooFew, NBase: v.N1, NHead: v.N2}
	}
}

// regressions evaluates the suite's regression rules against the baseline.
func (b *Baseline) regressions(suite *assert.Suite, run *span.Run) []assert.Result {
	if b.Summary != nil {
		return suite.EvaluateRegressionsSummary(b.Summary.Groups, run, b.significance())
	}
	return suite.EvaluateRegressions(b.Run, run, b.significance())
}

// compare is the diff of the run against the baseline: against a
// baseline run, groups and structure; against a summary, the groups only
// (a summary keeps no traces; the report says so).
func (b *Baseline) compare(suite *assert.Suite, run *span.Run) *diff.Report {
	o := diff.Options{Alpha: b.opts.Alpha, MinSamples: b.opts.MinSamples}
	if suite != nil {
		o.Pricing, o.K = suite.Config.Pricing, suite.Config.Retrieval.K
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
