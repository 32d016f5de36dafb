package rag

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/log"
	"go.opentelemetry.io/otel/log/global"
	"go.opentelemetry.io/otel/trace"
)

// The evaluation the judge performs and its labels.
const (
	EvalFaithfulness = "faithfulness"
	LabelFaithful    = "faithful"
	LabelUnfaithful  = "unfaithful"
	// FaithfulThreshold is the lowest score labelled faithful.
	FaithfulThreshold = 0.8
	// SupportedShare is the share of a sentence's content words that
	// must occur in the retrieved articles for the sentence to count as
	// supported.
	SupportedShare = 0.8
)

// EvaluationEvent is the OpenTelemetry event name of an evaluation result
// (GenAI semantic conventions).
const EvaluationEvent = "gen_ai.evaluation.result"

// Evaluation is one evaluation result.
type Evaluation struct {
	Name        string
	Score       float64 // 0..1
	Label       string
	Explanation string
}

// Judge is a fake, deterministic LLM-as-judge: it scores how faithful an
// answer is to the articles retrieved for it, and reports each result as a
// gen_ai.evaluation.result event (an OpenTelemetry log record) attached to
// the chat span that wrote the answer.
type Judge struct {
	// LoggerProvider receives the events; default: the global provider
	// (global.GetLoggerProvider) at the time of each call, which
	// SetupLogging installs.
	LoggerProvider log.LoggerProvider
}

// Evaluate scores res (see Faithfulness) and emits the result as a
// gen_ai.evaluation.result log record whose trace and span ids are those
// of res.ChatSpan, with the attributes gen_ai.evaluation.name,
// gen_ai.evaluation.score.value, gen_ai.evaluation.score.label,
// gen_ai.evaluation.explanation and gen_ai.response.id.
func (j *Judge) Evaluate(ctx context.Context, res *Result) Evaluation {
	ev := Faithfulness(res.Answer, res.Documents)
	lp := j.LoggerProvider
	if lp == nil {
		lp = global.GetLoggerProvider()
	}
	var r log.Record
	r.SetEventName(EvaluationEvent)
	now := time.Now()
	r.SetTimestamp(now)
	r.SetObservedTimestamp(now)
	r.SetSeverity(log.SeverityInfo)
	r.SetSeverityText("INFO")
	r.AddAttributes(
		attribute.String("gen_ai.evaluation.name", ev.Name),
		attribute.Float64("gen_ai.evaluation.score.value", ev.Score),
		attribute.String("gen_ai.evaluation.score.label", ev.Label),
		attribute.String("gen_ai.evaluation.explanation", ev.Explanation),
	)
	if res.ResponseID != "" {
		r.AddAttributes(attribute.String("gen_ai.response.id", res.ResponseID))
	}
	// The record takes its trace and span ids from the context.
	lp.Logger(instrumentationName).Emit(trace.ContextWithSpanContext(ctx, res.ChatSpan), r)
	return ev
}

// Faithfulness scores answer against the retrieved documents (title and
// text of each, from the built-in corpus): the score is the fraction of
// the answer's claims that the documents support. A claim is a sentence
// that is not a question; it is supported when at least SupportedShare of
// its content words (stopwords removed, plurals folded) occur in the
// documents. An answer without claims ("I do not know; shall I open a
// ticket?") asserts nothing and scores 1. The label is faithful from
// FaithfulThreshold up; the explanation counts the supported claims and
// quotes the first unsupported one with its missing words.
func Faithfulness(answer string, docs []Retrieved) Evaluation {
	known := map[string]bool{}
	for _, d := range docs {
		doc, ok := defaultStore.byID[d.ID]
		if !ok {
			continue
		}
		for _, t := range terms(doc.Title + " " + doc.Text) {
			known[t] = true
		}
	}
	var claims, supported int
	var firstUnsupported string
	var missingWords []string
	for _, s := range sentences(answer) {
		if strings.HasSuffix(s, "?") {
			continue
		}
		words := terms(s)
		if len(words) == 0 {
			continue
		}
		claims++
		var missing []string
		for _, w := range words {
			if !known[w] {
				missing = append(missing, w)
			}
		}
		if float64(len(words)-len(missing)) >= SupportedShare*float64(len(words)) {
			supported++
		} else if firstUnsupported == "" {
			firstUnsupported, missingWords = s, missing
		}
	}
	ev := Evaluation{Name: EvalFaithfulness, Score: 1}
	switch {
	case claims == 0:
		ev.Explanation = "the answer makes no claim to check"
	default:
		ev.Score = float64(supported) / float64(claims)
		ev.Explanation = fmt.Sprintf("%d of %d claims supported by the %d retrieved articles", supported, claims, len(docs))
		if firstUnsupported != "" {
			ev.Explanation += fmt.Sprintf("; unsupported: %s (not in the articles: %s)", strconv.Quote(firstUnsupported), strings.Join(missingWords, ", "))
		}
	}
	ev.Label = LabelUnfaithful
	if ev.Score >= FaithfulThreshold {
		ev.Label = LabelFaithful
	}
	return ev
}

// sentences splits text after ".", "?" or "!" followed by a space or the
// end; "2.0" and "8:00" stay inside their sentence.
func sentences(text string) []string {
	var out []string
	start := 0
	for i := 0; i < len(text); i++ {
		c := text[i]
		if (c == '.' || c == '?' || c == '!') && (i+1 == len(text) || text[i+1] == ' ') {
			if s := strings.TrimSpace(text[start : i+1]); s != "" {
				out = append(out, s)
			}
			start = i + 1
		}
	}
	if s := strings.TrimSpace(text[start:]); s != "" {
		out = append(out, s)
	}
	return out
}
