// Package span owns the normalised span model: one flat, convention-neutral
// view of every recorded OTLP span (timing, status, attributes, and the LLM
// fields — operation, model, provider, tokens, retrieved documents, query,
// reported cost — read from the GenAI semantic conventions, OpenLLMetry and
// OpenInference), grouped into traces. Assertions, diffs and reports read
// only this model, never the OTLP trees.
package span

// Operation names, following gen_ai.operation.name. Other conventions are
// mapped onto these (REFERENCE.md §4); an unknown operation keeps its
// lower-cased source value.
const (
	OpChat            = "chat"
	OpGenerateContent = "generate_content"
	OpTextCompletion  = "text_completion"
	OpEmbeddings      = "embeddings"
	OpRetrieval       = "retrieval"
	OpRerank          = "rerank"
	OpExecuteTool     = "execute_tool"
	OpCreateAgent     = "create_agent"
	OpInvokeAgent     = "invoke_agent"
	OpInvokeWorkflow  = "invoke_workflow"
	OpWorkflow        = "workflow"
	OpTask            = "task"
	OpChain           = "chain"
)

// Span is the normalised view of one OTLP span.
//
// Attribute values keep their OTLP types: string, bool, int64, float64,
// []byte, []any (arrayValue) and map[string]any (kvlistValue).
type Span struct {
	TraceID      string // 32 lower-case hex digits
	SpanID       string // 16 lower-case hex digits
	ParentSpanID string // empty for a root span

	Name    string
	Service string // resource attribute service.name
	Kind    string // unspecified, internal, server, client, producer, consumer
	Status  string // unset, ok, error
	// StatusMessage is the OTLP status message, if any.
	StatusMessage string

	StartUnixNano uint64
	EndUnixNano   uint64
	// DurationMS is (end − start) in milliseconds; 0 when end precedes start.
	DurationMS float64

	Attrs    Attrs          // span attributes as they came
	Resource map[string]any // resource attributes as they came
	Scope    string         // instrumentation scope name
	Events   []Event

	// LLM fields (empty/zero when the span carries none; see the Has* fields
	// of Tokens and HasCost for presence).
	Operation string // chat, embeddings, retrieval, execute_tool, invoke_agent, …
	Model     string // response model, else request model
	Provider  string // openai, anthropic, … (lower-cased)
	Tokens    Tokens
	Documents []Document // retrieved documents in rank order
	Query     string     // retrieval query text
	Cost      float64    // cost reported on the span (USD), if HasCost
	HasCost   bool
	// usageBelow is set by NewRun when a descendant of the span reports
	// usage (see CountsUsage).
	usageBelow bool
	Convention string // which convention supplied the LLM fields: gen_ai, openllmetry, openinference, or empty

	// Streaming and agent fields (issue #12; read by span/normalise.go and
	// the convention readers beside it).

	// TTFTMS is the time to first token of a streamed call, in
	// milliseconds, when HasTTFT.
	TTFTMS  float64
	HasTTFT bool
	// Streaming is true for a streamed call (gen_ai.request.stream, a
	// streaming operation such as the AI SDK's doStream).
	Streaming bool
	// Agent, Tool, ToolCallID and Conversation identify the agent, the
	// tool and its call, and the conversation (session) of the span; empty
	// when absent.
	Agent        string
	Tool         string
	ToolCallID   string
	Conversation string

	// Wrapper is set by NewRun on a span that only wraps a model call
	// (chat, text_completion, generate_content, embeddings): its child has
	// the same operation and reports usage, while the span reports none
	// of its own (AI SDK 7 wraps each embed call in such an
	// embeddings span). One call is one span: NewRun empties the
	// wrapper's Operation, so count, diff groups and reports see the
	// call once.
	Wrapper bool

	// Evals are the evaluation results of the span (issue #14): scores
	// and labels from LLM-as-judge evaluators, heuristics or people, read
	// from gen_ai.evaluation.result log records and span events and from
	// OpenInference annotations and EVALUATOR spans. A result that names
	// a trace but no span is attached to the trace's root span with
	// TraceLevel set.
	Evals []Eval
}

// Eval is one evaluation result.
type Eval struct {
	Name string
	// Score is the numeric score when HasScore (a result may carry only
	// a label).
	Score    float64
	HasScore bool
	Label    string
	// Explanation is the evaluator's reasoning, if any (content: removed
	// by --redact).
	Explanation string
	// Source says where the result was read: "log" (a log record),
	// "event" (a span event), "annotation" (OpenInference span
	// attributes) or "evaluator" (an OpenInference EVALUATOR span).
	Source string
	// TraceLevel is set when the result names no span of its trace.
	TraceLevel bool
	// TimeUnixNano is when the result was recorded (the log record's
	// time, else its observed time; the span event's time); 0 for
	// annotations, which carry none. Results repeated with the same
	// trace, span, name, score, label and time are kept once.
	TimeUnixNano uint64
}

// Tokens are the token counts of one span. Input includes cached input
// tokens (GenAI semconv); Total is Input+Output when the span reports no
// total.
type Tokens struct {
	Input      int64
	Output     int64
	Total      int64
	Cached     int64 // cache reads, a subset of Input
	CacheWrite int64
	Reasoning  int64
	// HasInput etc. say whether the span reported the value (a missing count
	// is not a zero count).
	HasInput, HasOutput, HasTotal, HasCached, HasCacheWrite, HasReasoning bool
}

// Any reports whether the span reported an input, output or total token
// count.
func (t Tokens) Any() bool { return t.HasInput || t.HasOutput || t.HasTotal }

// AnyCount reports whether the span reported any token count at all,
// cache and reasoning counts included.
func (t Tokens) AnyCount() bool {
	return t.HasInput || t.HasOutput || t.HasTotal || t.HasCached || t.HasCacheWrite || t.HasReasoning
}

// Document is one retrieved document. Rank is 1-based.
type Document struct {
	ID       string
	Score    float64
	HasScore bool
	Rank     int
}

// Event is one span event.
type Event struct {
	Name         string
	TimeUnixNano uint64
	Attrs        Attrs
}

// IsError reports whether the span has error status.
func (s *Span) IsError() bool { return s.Status == "error" }

// ReportsUsage reports whether the span reports usage of its own: a token
// count (any kind) or a cost.
func (s *Span) ReportsUsage() bool { return s.HasCost || s.Tokens.AnyCount() }

// CountsUsage reports whether the span's token counts and cost go into
// sums (tokens and cost of a selection or a trace, diff groups, baseline
// summaries, report tables): true unless a descendant of the span in its
// Run reports usage (ReportsUsage). Agent frameworks put the sum of their
// model calls on the enclosing span (the Vercel AI SDK's ai.generateText
// over its ai.generateText.doGenerate children, agent and chain spans);
// counting both would count the spend twice, so only the innermost spans
// that report usage are summed. Span.Tokens and Span.Cost still hold what
// the span itself reported.
//
// NewRun computes it for the spans it is given; a span that was never
// part of a Run counts.
func (s *Span) CountsUsage() bool { return !s.usageBelow }

// IsRoot reports whether the span has no parent.
func (s *Span) IsRoot() bool { return s.ParentSpanID == "" }
