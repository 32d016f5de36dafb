package span

import (
	"bufio"
	"bytes"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// readEvalFixtures reads span/testdata/evals: its traces through the
// Decoder (as the run loader does) and its log records through
// EvalsFromLogs, then attaches the evaluation results.
func readEvalFixtures(t *testing.T) (*Run, []string) {
	t.Helper()
	var warns []string
	warn := func(m string) { warns = append(warns, m) }
	spans := readAISDKFixture(t, filepath.Join("testdata", "evals", "traces.jsonl"))
	f, err := os.Open(filepath.Join("testdata", "evals", "logs.jsonl"))
	require.NoError(t, err)
	defer f.Close()
	var recs []RecordEval
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		ld, err := (&plog.JSONUnmarshaler{}).UnmarshalLogs(sc.Bytes())
		require.NoError(t, err)
		recs = EvalsFromLogs(recs, ld, "logs.jsonl:"+string(rune('0'+line)), warn)
	}
	require.NoError(t, sc.Err())
	run := NewRun(spans)
	AttachEvals(run, recs, warn)
	return run, warns
}

const (
	evTrace = "0af7651916cd43dd8448eb211c80319c"
	evRoot  = "b7ad6b7169203331"
	evChat  = "00f067aa0ba902b7"
	evJudge = "53995c3f42cd8ad8"
	evTime  = 1700000000500000000
	logTime = 1700000002000000000
)

// Every encoding of an evaluation result lands on the span it evaluates
// (or its trace's root), with exact fields; repeats are kept once; what
// cannot be attached or read is a warning naming it.
func TestEvalsFromEveryEncoding(t *testing.T) {
	run, warns := readEvalFixtures(t)
	chat, root, judge := spanByID(t, run, evChat), spanByID(t, run, evRoot), spanByID(t, run, evJudge)

	assert.Equal(t, []Eval{
		{Name: "relevance", Score: 0.8, HasScore: true, Label: "relevant", Explanation: "answers the question", Source: "event", TimeUnixNano: evTime},
		{Name: "hallucination", Score: 1, HasScore: true, Label: "hallucinated", Explanation: "The claim is not supported by the retrieved documents.", Source: "annotation"},
		{Name: "tone", Label: "polite", Source: "annotation"},
		{Name: "bad_score", Source: "annotation"},
		{Name: "correctness", Score: 0.75, HasScore: true, Label: "correct", Source: "annotation"},
		{Name: "faithfulness", Score: 0.5, HasScore: true, Label: "partially_faithful", Explanation: "one unsupported claim", Source: "evaluator"},
		// log records: relevance repeats the span event (same time) and is kept once
		{Name: "coherence", Score: 0.6, HasScore: true, Source: "log", TimeUnixNano: logTime},
		{Name: "conciseness", Score: 4, HasScore: true, Source: "log", TimeUnixNano: logTime},
		{Name: "groundedness", Source: "log", TimeUnixNano: logTime},
		// no trace or span id: linked by gen_ai.response.id
		{Name: "helpfulness", Score: 0.9, HasScore: true, Source: "log", TimeUnixNano: logTime},
	}, chat.Evals)
	assert.Equal(t, []Eval{
		{Name: "task_success", Score: 1, HasScore: true, Source: "annotation", TraceLevel: true},
		{Name: "overall", Score: 0.9, HasScore: true, Label: "pass", Source: "log", TraceLevel: true, TimeUnixNano: logTime},
		{Name: "stale", Score: 0.3, HasScore: true, Source: "log", TraceLevel: true, TimeUnixNano: logTime},
	}, root.Evals)
	assert.Empty(t, judge.Evals, "an EVALUATOR span's results go to the span it evaluates")

	assert.ElementsMatch(t, []string{
		`span "chat gpt-4o-mini" (00f067aa0ba902b7) (evaluation "bad_score"): annotations.2.annotation.score is the string "high", not a number; the result has no score`,
		`span "chat gpt-4o-mini" (00f067aa0ba902b7) has no annotations.3.annotation.name; result ignored`,
		`logs.jsonl:2: gen_ai.evaluation.result log record (evaluation "groundedness"): gen_ai.evaluation.score.value is the string "0.7", not a number; the result has no score`,
		`logs.jsonl:2: gen_ai.evaluation.result log record has no gen_ai.evaluation.name; result ignored`,
		`logs.jsonl:2: gen_ai.evaluation.result log record (evaluation "untraced") names no trace and no gen_ai.response.id: it cannot be attached to a span; ignored`,
		`logs.jsonl:2: evaluation "lost" names gen_ai.response.id "chatcmpl-404", which no span of the run has; ignored`,
		`logs.jsonl:2: evaluation "elsewhere" names trace ffffffffffffffffffffffffffffffff, which is not in the run; ignored`,
		`logs.jsonl:2: evaluation "stale" names span 1111111111111111 of trace 0af7651916cd43dd8448eb211c80319c, which is not in the run; kept on the trace`,
	}, warns)
}

// The same results arriving twice (a second copy of the logs file, an
// exporter's retry) are kept once.
func TestEvalsDeduplicated(t *testing.T) {
	run, _ := readEvalFixtures(t)
	before := len(spanByID(t, run, evChat).Evals)
	f, err := os.ReadFile(filepath.Join("testdata", "evals", "logs.jsonl"))
	require.NoError(t, err)
	var recs []RecordEval
	sc := bufio.NewScanner(bytesReader(f))
	for sc.Scan() {
		ld, err := (&plog.JSONUnmarshaler{}).UnmarshalLogs(sc.Bytes())
		require.NoError(t, err)
		recs = EvalsFromLogs(recs, ld, "again", nil)
	}
	AttachEvals(run, recs, nil)
	assert.Len(t, spanByID(t, run, evChat).Evals, before)
	assert.Len(t, spanByID(t, run, evRoot).Evals, 3)
}

// An EVALUATOR span without a parent in the run, and a log record whose
// trace has no span at all, are warnings; nothing panics on odd values.
func TestEvalsOddInput(t *testing.T) {
	td := ptrace.NewTraces()
	s := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	s.SetName("judge")
	s.SetTraceID([16]byte{1})
	s.SetSpanID([8]byte{2})
	s.SetParentSpanID([8]byte{3})
	require.NoError(t, s.Attributes().FromRaw(map[string]any{
		"openinference.span.kind":       "EVALUATOR",
		"metadata.evaluator_name":       "faithfulness",
		"metadata.score":                0.5,
		"annotations.x.annotation.name": "not an index",
		"annotations.0.annotation.name": []any{"not", "a", "string"},
	}))
	ev := s.Events().AppendEmpty()
	ev.SetName(EvalEventName)
	ev.Attributes().PutDouble(attrEvalName, 1) // a name that is not a string
	run := NewRun(FromTraces(nil, td))
	var warns []string
	AttachEvals(run, nil, func(m string) { warns = append(warns, m) })
	assert.Empty(t, run.Spans[0].Evals)
	assert.Contains(t, warns, `EVALUATOR span "judge" (0200000000000000) of trace 01000000000000000000000000000000 has no parent in the run: its results have no span to attach to; ignored`)
	assert.Contains(t, warns, `span "judge" (0200000000000000): event gen_ai.evaluation.result: gen_ai.evaluation.name is not a non-empty string; result ignored`)
	assert.Contains(t, warns, `span "judge" (0200000000000000): annotations.0.annotation.name is not a non-empty string; result ignored`)
}

// A NaN or infinite score (OTLP JSON has "NaN", "Infinity") has no score,
// and the warning says which it was rather than "float64, not a number".
func TestEvalsNonFiniteScore(t *testing.T) {
	for _, tc := range []struct {
		score float64
		want  string
	}{
		{math.NaN(), "is NaN, not a number"},
		{math.Inf(1), "is +Inf, not a finite number"},
		{math.Inf(-1), "is -Inf, not a finite number"},
	} {
		td := ptrace.NewTraces()
		s := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty()
		s.SetName("chat")
		s.SetTraceID([16]byte{1})
		s.SetSpanID([8]byte{2})
		ev := s.Events().AppendEmpty()
		ev.SetName(EvalEventName)
		ev.Attributes().PutStr(attrEvalName, "relevance")
		ev.Attributes().PutDouble(attrEvalScore, tc.score)
		run := NewRun(FromTraces(nil, td))
		var warns []string
		AttachEvals(run, nil, func(m string) { warns = append(warns, m) })
		require.Len(t, run.Spans[0].Evals, 1)
		assert.False(t, run.Spans[0].Evals[0].HasScore)
		assert.Equal(t, []string{`span "chat" (0200000000000000): event gen_ai.evaluation.result (evaluation "relevance"): gen_ai.evaluation.score.value ` + tc.want + `; the result has no score`}, warns)
	}
}

func spanByID(t *testing.T, r *Run, id string) *Span {
	t.Helper()
	for _, s := range r.Spans {
		if s.TraceID == evTrace && s.SpanID == id {
			return s
		}
	}
	t.Fatalf("span %s not in the run", id)
	return nil
}

func bytesReader(b []byte) *bytes.Reader { return bytes.NewReader(b) }

// A span with very many annotations (untrusted data) is read in
// n log n: every one of them lands, in index order.
func TestEvalsManyAnnotations(t *testing.T) {
	const n = 100_000
	attrs := make(Attrs, 0, 2*n)
	for i := n - 1; i >= 0; i-- { // recorded in reverse order
		attrs = append(attrs,
			KeyValue{"annotations." + strconv.Itoa(i) + ".annotation.name", "a" + strconv.Itoa(i)},
			KeyValue{"annotations." + strconv.Itoa(i) + ".annotation.score", int64(i)})
	}
	run := NewRun([]Span{{TraceID: evTrace, SpanID: evChat, Name: "chat", Attrs: attrs}})
	AttachEvals(run, nil, nil)
	evals := run.Spans[0].Evals
	require.Len(t, evals, n)
	for i, e := range evals {
		if e.Name != "a"+strconv.Itoa(i) || e.Score != float64(i) {
			t.Fatalf("result %d is %+v", i, e)
		}
	}
	// read again: every result is a repeat (de-duplicated through a set)
	AttachEvals(run, nil, nil)
	assert.Len(t, run.Spans[0].Evals, n)
}

// TestEvalScoreNotFinite: an infinite or NaN double score is no score, and
// the warning says what it was (it said "is float64, not a number").
func TestEvalScoreNotFinite(t *testing.T) {
	for _, tc := range []struct {
		score any
		warn  string
	}{
		{math.Inf(1), `gen_ai.evaluation.score.value is +Inf, not a finite number; the result has no score`},
		{math.Inf(-1), `gen_ai.evaluation.score.value is -Inf, not a finite number; the result has no score`},
		{math.NaN(), `gen_ai.evaluation.score.value is NaN, not a number; the result has no score`},
		{"NaN", `gen_ai.evaluation.score.value is the string "NaN", not a number; the result has no score`},
	} {
		var warns []string
		e, ok := evalFrom(modelAttrs{m: map[string]any{attrEvalName: "f", attrEvalScore: tc.score}}, "event", func(w string) { warns = append(warns, w) })
		require.True(t, ok)
		assert.False(t, e.HasScore)
		assert.Equal(t, []string{`event (evaluation "f"): ` + tc.warn}, warns)
	}
}
