package diff

import (
	"encoding/json"
	"io"

	"github.com/llmcheck/llmcheck/assert"
)

// Version is the version of the JSON report. It changes only when a field
// is renamed, removed or changes meaning; new fields may appear without it.
const Version = 1

// Report is what changed between two runs. Field names and JSON tags are
// stable (see Version).
type Report struct {
	Version int `json:"version"`
	// Alpha, MinSamples and K are the options the report was computed with.
	Alpha      float64 `json:"alpha"`
	MinSamples int     `json:"min_samples"`
	K          int     `json:"k"`
	// Correction names the multiple-comparison correction ("holm") and
	// Comparisons the number of tests it was applied over.
	Correction  string `json:"correction"`
	Comparisons int    `json:"comparisons"`

	Base RunInfo `json:"base"`
	Head RunInfo `json:"head"`

	// Headlines are the most important changes, most important first.
	Headlines []Headline `json:"headlines"`
	// Groups are every group seen on either side, in Key order.
	Groups []Group `json:"groups"`
	// Structure compares the traces test by test.
	Structure Structure `json:"structure"`
	// Evals compares evaluation verdicts test by test; nil when neither
	// side has an evaluation result with a verdict.
	Evals *Evals `json:"evals,omitempty"`

	// baseEvalsUnknown is set when the base is a version 2 summary, which
	// keeps no evaluation results: none are compared, and none is "only
	// in head".
	baseEvalsUnknown bool
}

// WriteJSON writes the report as indented JSON, without escaping <, >
// and & (the report is not embedded in HTML), its recorded strings
// clipped (see Clipped).
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(r.Clipped())
}

// RunInfo describes one side of the comparison. Name is "base" or "head"
// unless the caller sets it (a branch, a commit, a file name) before
// rendering.
type RunInfo struct {
	Name   string `json:"name"`
	Spans  int    `json:"spans"`
	Traces int    `json:"traces"`
	// Summary is set when the side is a baseline summary (CompareSummary):
	// per-group statistics and bounded samples, no traces.
	Summary bool `json:"summary,omitempty"`
}

// Presence of a group.
const (
	Compared = "compared" // on both sides
	Added    = "added"    // only in head
	Removed  = "removed"  // only in base
)

// Group is the spans of one signature (service, operation, model; or
// service and span name for spans without an operation) on both sides.
type Group struct {
	Key       string `json:"key"`
	Service   string `json:"service,omitempty"`
	Operation string `json:"operation,omitempty"`
	Model     string `json:"model,omitempty"`
	// Name is the span name, part of the signature only for spans without
	// an operation.
	Name string `json:"name,omitempty"`
	// Tool or Agent is the tool (execute_tool) or agent (invoke_agent)
	// name of a group without a model: one group per tool and agent.
	Tool  string `json:"tool,omitempty"`
	Agent string `json:"agent,omitempty"`
	// Presence is Compared, Added or Removed.
	Presence string `json:"presence"`
	Base     *Stats `json:"base,omitempty"`
	Head     *Stats `json:"head,omitempty"`
	// Metrics are the deltas, only for groups on both sides.
	Metrics []Metric `json:"metrics,omitempty"`
}

// Metric returns the named metric of g, or nil.
func (g *Group) Metric(name string) *Metric {
	for i := range g.Metrics {
		if g.Metrics[i].Name == name {
			return &g.Metrics[i]
		}
	}
	return nil
}

// Stats summarise a group on one side.
type Stats struct {
	Count     int     `json:"count"`
	Errors    int     `json:"errors"`
	ErrorRate float64 `json:"error_rate"`
	// Latency is in milliseconds; percentiles are Hyndman–Fan type 7.
	Latency Latency `json:"latency_ms"`
	// TTFT is the time to first token (ms) over the spans of the group
	// that report one (streamed calls); nil when none does.
	TTFT *Latency `json:"ttft_ms,omitempty"`
	// Tokens is nil when no span of the group reports a token count.
	Tokens *Tokens `json:"tokens,omitempty"`
	// Cost is nil when no span of the group has a cost (reported, or
	// priced from Options.Pricing).
	Cost *Cost `json:"cost,omitempty"`
	// Retrieval is nil when no retrieval span of the group has ground
	// truth.
	Retrieval *Retrieval `json:"retrieval,omitempty"`
	// Evals are the evaluation results of the group by name: counts,
	// score statistics, results per label.
	Evals map[string]*assert.EvalStats `json:"evals,omitempty"`
}

// Latency percentiles and mean, in milliseconds.
type Latency struct {
	P50  float64 `json:"p50"`
	P95  float64 `json:"p95"`
	P99  float64 `json:"p99"`
	Mean float64 `json:"mean"`
}

// Tokens are the token counts of the spans that report them (Spans of
// them): sums, and means per call.
type Tokens struct {
	Spans         int     `json:"spans"`
	Input         int64   `json:"input"`
	Output        int64   `json:"output"`
	Total         int64   `json:"total"`
	Cached        int64   `json:"cached"`
	InputPerCall  float64 `json:"input_per_call"`
	OutputPerCall float64 `json:"output_per_call"`
	TotalPerCall  float64 `json:"total_per_call"`
}

// Cost is the USD cost of a group: Reported spans carried their own cost
// (llm.cost.total), Priced spans were priced from tokens × Options.Pricing,
// Unpriced spans had tokens but no price and are not in USD.
type Cost struct {
	USD      float64 `json:"usd"`
	Reported int     `json:"reported"`
	Priced   int     `json:"priced"`
	Unpriced int     `json:"unpriced"`
	// Source is "reported", "pricing" or "mixed"; CostSummary for a
	// baseline summary, which keeps only the sum (Reported and Priced are
	// then 0).
	Source string `json:"source"`
}

// CostSummary is Cost.Source for the base side of CompareSummary.
const CostSummary = "summary"

// Retrieval is hit rate and MRR at K over the retrieval spans with ground
// truth (Queries); WithoutGroundTruth retrieval spans are left out.
type Retrieval struct {
	K                  int     `json:"k"`
	Queries            int     `json:"queries"`
	WithoutGroundTruth int     `json:"without_ground_truth"`
	HitRate            float64 `json:"hit_rate"`
	MRR                float64 `json:"mrr"`
}

// Metric names.
const (
	MetricCount         = "count"
	MetricLatencyP50    = "latency.p50"
	MetricLatencyP95    = "latency.p95"
	MetricLatencyP99    = "latency.p99"
	MetricTTFTP50       = "ttft.p50" // time to first token, streamed calls
	MetricTTFTP95       = "ttft.p95"
	MetricTokensPerCall = "tokens.per_call" // total tokens per call
	MetricInputPerCall  = "tokens.input_per_call"
	MetricOutputPerCall = "tokens.output_per_call"
	MetricTokensTotal   = "tokens.total" // sum over the group
	MetricCost          = "cost"
	MetricErrorRate     = "error_rate"
	MetricHitRate       = "retrieval.hit_rate"
	MetricMRR           = "retrieval.mrr"
)

// Sample names: what a Test compared.
const (
	SampleLatency = "latency" // span durations (ms)
	SampleTTFT    = "ttft"    // times to first token (ms) of the spans that report one
	SampleTokens  = "tokens"  // total tokens per span that reports tokens
	SampleErrors  = "errors"  // 1 per span with error status, else 0
	SampleHit     = "hit"     // hit@K per query with ground truth (0 or 1)
	SampleRR      = "rr"      // reciprocal rank per query (0 when no hit in the top K)
)

// Metric is one number on both sides. Rel is (head − base) / base, absent
// when base is 0.
type Metric struct {
	Name  string   `json:"name"`
	Unit  string   `json:"unit,omitempty"` // ms, tokens, USD, ratio, or empty for counts
	Base  float64  `json:"base"`
	Head  float64  `json:"head"`
	Delta float64  `json:"delta"`
	Rel   *float64 `json:"rel,omitempty"`
	// Test is the significance test behind the metric, shared by the
	// metrics of one sample (p50, p95 and p99 share the latency test); nil
	// for metrics that are not tested (count, sums, cost).
	Test *Test `json:"test,omitempty"`
}

// Test is a Mann-Whitney U test of one sample of a group. Verdict.P is
// the test's own p-value; PAdjusted is Holm-adjusted over the report's
// comparisons and Verdict.Significant is PAdjusted ≤ Alpha.
type Test struct {
	Sample string `json:"sample"`
	// Key identifies the test in the report's family: "latency per
	// span|svc · chat · gpt-4o". A regression rule over exactly that group
	// and sample has the same key: it is the same test.
	Key string `json:"key,omitempty"`
	Verdict
	PAdjusted float64 `json:"p_adjusted"`
	// Counted says whether the test is one of the report's Comparisons:
	// tests with too few samples, or with every value identical on both
	// sides, cannot be significant and are left out of the correction.
	Counted bool `json:"counted"`
}

// Headline kinds.
const (
	HeadlineLatency      = "latency"
	HeadlineTokens       = "tokens"
	HeadlineErrors       = "errors"
	HeadlineRetrieval    = "retrieval"
	HeadlineModelSwap    = "model_swap"
	HeadlineCalls        = "calls"
	HeadlineModels       = "models"
	HeadlineOrder        = "order"
	HeadlineGroupAdded   = "group_added"
	HeadlineGroupRemoved = "group_removed"
	HeadlineTests        = "tests"
)

// Headline is one important change in one line.
type Headline struct {
	Kind  string `json:"kind"`
	Group string `json:"group,omitempty"` // Group.Key, for group headlines
	Text  string `json:"text"`
}

// Structure compares the traces of matched tests.
type Structure struct {
	// Unavailable says why the structure was not compared (the base is a
	// baseline summary, see StructureFromSummary); empty when it was.
	Unavailable string `json:"unavailable,omitempty"`
	// Matched is the number of tests on both sides; Changed of them have
	// at least one structural change.
	Matched int `json:"matched"`
	Changed int `json:"changed"`
	// OnlyBase and OnlyHead are the tests on one side only, sorted.
	OnlyBase []string `json:"only_base,omitempty"`
	OnlyHead []string `json:"only_head,omitempty"`
	// Patterns group the changes across tests, most widespread first.
	Patterns []Pattern `json:"patterns,omitempty"`
	// Tests are the matched tests with changes, sorted by test.
	Tests []TestDiff `json:"tests,omitempty"`
	// Sets is the number of names (a test, or a root span name when no
	// test attribute names the trace) with several traces on a side,
	// compared as distributions of per-trace structure, never the k-th
	// trace with the k-th; Distributions are their tests, by name. They
	// are the structural family of the multiple-comparison correction:
	// Comparisons of them are counted, Holm-corrected at Alpha apart from
	// the groups' tests (see Family).
	Sets          int              `json:"sets,omitempty"`
	Distributions []StructuralTest `json:"distributions,omitempty"`
	Comparisons   int              `json:"comparisons,omitempty"`
}

// Change kinds.
const (
	ChangeLLMCalls     = "llm_calls"  // chat, text_completion, generate_content spans per trace
	ChangeToolCalls    = "tool_calls" // execute_tool spans per trace
	ChangeRetrievals   = "retrievals" // retrieval spans per trace
	ChangeEmbeddings   = "embeddings" // embeddings spans per trace
	ChangeModelSwap    = "model_swap" // an operation now uses another model
	ChangeModelAdded   = "model_added"
	ChangeModelRemoved = "model_removed"
	ChangeOrder        = "order" // the sequence of operations differs
)

// Change is one structural difference of a test. Base and Head are the
// values on each side: counts, model names, or operation sequences
// ("embeddings:text-embedding-3-small → retrieval → chat:gpt-4o").
type Change struct {
	Kind      string `json:"kind"`
	Operation string `json:"operation,omitempty"` // for model swaps
	Base      string `json:"base"`
	Head      string `json:"head"`
}

// TestDiff is the structural changes of one matched test.
type TestDiff struct {
	Test      string   `json:"test"`
	BaseTrace string   `json:"base_trace"`
	HeadTrace string   `json:"head_trace"`
	Changes   []Change `json:"changes"`
}

// Pattern is one kind of change across tests: Tests of the Of matched
// tests have it. Base and Head are the most common values (for a count
// change that goes up in some tests and up differently in others, the most
// frequent transition); Uniform says every test had exactly those values.
type Pattern struct {
	Kind      string   `json:"kind"`
	Operation string   `json:"operation,omitempty"`
	Direction string   `json:"direction,omitempty"` // "up" or "down" for counts
	Base      string   `json:"base"`
	Head      string   `json:"head"`
	Uniform   bool     `json:"uniform"`
	Tests     int      `json:"tests"`
	Of        int      `json:"of"`
	Examples  []string `json:"examples"` // up to 3 tests
	Text      string   `json:"text"`
}
