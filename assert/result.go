package assert

// SchemaVersion is the version of the results.json schema (docs/results.md).
const SchemaVersion = 1

// Status is the verdict of one assertion (or of a whole run).
type Status string

const (
	Pass  Status = "pass"
	Fail  Status = "fail"
	Error Status = "error" // the expression could not be evaluated
	Warn  Status = "warn"  // a severity: warn assertion that did not pass
)

// Results is the outcome of evaluating a suite over a run.
type Results struct {
	Version int `json:"version"`
	// Status is the run's verdict, as the exit code says it: pass (0);
	// fail when an assertion or rule failed or errored (1), the test
	// command failed (3) or no spans arrived (4); error when llmcheck
	// could not run (2: a config, flag or input error; see Error).
	Status Status `json:"status"`
	// ExitCode is llmcheck's exit code for this run.
	ExitCode int `json:"exit_code"`
	// RunID is the id of an llmcheck run (the resource attribute
	// llmcheck.run.id of its spans), absent for check.
	RunID string `json:"run_id,omitempty"`
	// Command is the test command of llmcheck run, absent for check.
	Command *CommandResult `json:"command,omitempty"`
	// Error says why llmcheck could not run (status error), and
	// Diagnostics where in the config, when the config was at fault.
	Error       string       `json:"error,omitempty"`
	Diagnostics []Diagnostic `json:"diagnostics,omitempty"`
	Config      string       `json:"config,omitempty"`
	// ConfigWarnings are the config's warnings (Config.Warnings: a model
	// priced at 0).
	ConfigWarnings []Diagnostic `json:"config_warnings,omitempty"`
	Spans          int          `json:"spans"`
	Traces         int          `json:"traces"`
	Assertions     []Result     `json:"assertions"`
	// Regressions are the regression rules' verdicts, when a baseline was
	// given.
	Regressions []Result `json:"regressions,omitempty"`
	// Baseline names the baseline the rules compared with.
	Baseline string `json:"baseline,omitempty"`
	// Store says what run --collect-from added from a trace store.
	Store *StoreResult `json:"store,omitempty"`
}

// CommandResult is how the test command of llmcheck run ended.
type CommandResult struct {
	Args []string `json:"args"`
	// Status is "ok", or how it failed: "exit status 7", "killed by
	// signal terminated".
	Status     string  `json:"status"`
	DurationMS float64 `json:"duration_ms"`
	// Repetitions are the runs of the command (--repeat), in order; one
	// without --repeat.
	Repetitions []Repetition `json:"repetitions,omitempty"`
}

// Repetition is one run of the test command of llmcheck run --repeat.
type Repetition struct {
	Number int `json:"number"`
	// Status is "ok", or how it failed, as CommandResult.Status.
	Status     string  `json:"status"`
	DurationMS float64 `json:"duration_ms"`
}

// Skipped counts the assertions that passed only because nothing matched
// and allow_empty permitted it (Result.Skipped); Counts counts them under
// Pass, and reports show them apart.
func (r *Results) Skipped() int {
	n := 0
	for _, a := range r.Assertions {
		if a.Skipped {
			n++
		}
	}
	for _, a := range r.Regressions {
		if a.Skipped {
			n++
		}
	}
	return n
}

// Counts returns how many assertions have each status.
func (r *Results) Counts() map[Status]int {
	c := map[Status]int{}
	for _, a := range r.Assertions {
		c[a.Status]++
	}
	for _, a := range r.Regressions {
		c[a.Status]++
	}
	return c
}

// Result is the verdict of one assertion.
type Result struct {
	Name     string `json:"name"`
	Where    string `json:"where,omitempty"`
	Expect   string `json:"expect"`
	Each     string `json:"each,omitempty"`
	Severity string `json:"severity"` // error or warn
	Status   Status `json:"status"`
	// Failed is true when the expectation was false (also for warn), as
	// opposed to not evaluable.
	Failed bool `json:"failed,omitempty"`
	// Skipped is true when nothing matched and allow_empty permitted it.
	Skipped    bool       `json:"skipped,omitempty"`
	Message    string     `json:"message"`
	Spans      int        `json:"spans"`  // spans the where selected
	Traces     int        `json:"traces"` // traces those spans belong to
	Observed   []Observed `json:"observed"`
	CostSource string     `json:"cost_source,omitempty"`
	Offenders  []Offender `json:"offenders,omitempty"`
	Rows       []Row      `json:"rows,omitempty"` // each:, one per trace or group
	// RowsOmitted counts the rows results.json leaves out (passing rows
	// beyond the first MaxPassingRows, others beyond MaxOtherRows); the
	// in-memory Rows always hold every trace.
	RowsOmitted int `json:"rows_omitted,omitempty"`
	// Significance holds, for a regression rule whose expectation failed,
	// the test of each statistic it reads.
	Significance []Significance `json:"significance,omitempty"`
	// Warning explains a result that does not fail the run but needs
	// attention: for an inconclusive regression rule, why no test could
	// decide and what would let one.
	Warning  string `json:"warning,omitempty"`
	Position Pos    `json:"position"`

	// A regression rule whose expectation failed and whose tests await the
	// report's correction (CorrectRegressions): its observed values and
	// the offenders to show if the change is significant.
	pending     bool
	observedMsg string
	offenders   []Offender
	// firstLabel is the label of the failing group Message names
	// ("test \"NAME\""): a name, kept whole when content is elided.
	firstLabel string
}

// Observed is the value of one statistic or aggregate the expression used.
type Observed struct {
	Expr  string `json:"expr"`
	Value any    `json:"value,omitempty"` // float64, int64, string, bool or []string (a list of at most 20 strings: trace.tools)
	Unit  string `json:"unit,omitempty"`  // ms, USD or empty
	Error string `json:"error,omitempty"`
}

// Offender is one of the worst spans or traces behind a failure.
type Offender struct {
	TraceID string `json:"trace_id,omitempty"` // empty for a group
	SpanID  string `json:"span_id,omitempty"`
	// Group is the group value of a failed row of an each: conversation,
	// test or expression result (see Row.Group).
	Group  string `json:"group,omitempty"`
	Name   string `json:"name"`
	Metric string `json:"metric"`
	// Detail is, for a failed row whose observed values hold no number
	// (trace.tools, a comprehension), the row's message instead of
	// metric and value.
	Detail string  `json:"detail,omitempty"`
	Value  float64 `json:"value"`
	Unit   string  `json:"unit,omitempty"`
}

// Row is the verdict for one trace (each: trace) or one group (each:
// conversation, test or an expression) of an each: assertion.
type Row struct {
	TraceID string `json:"trace_id,omitempty"` // each: trace
	Name    string `json:"name,omitempty"`     // each: trace: the root span name
	// Group is the group value (each: conversation, test or an
	// expression); NoGroup for the selected spans without one.
	Group string `json:"group,omitempty"`
	// Traces counts the traces of a group's selected spans.
	Traces   int        `json:"traces,omitempty"`
	Status   Status     `json:"status"`
	Message  string     `json:"message"`
	Spans    int        `json:"spans"`
	Observed []Observed `json:"observed"`
}
