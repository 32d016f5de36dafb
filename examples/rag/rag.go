// Package rag is a small retrieval-augmented-generation app instrumented
// with the OpenTelemetry Go SDK, for trying llmcheck: Answer embeds a
// question, retrieves help-centre articles from an in-process vector store
// and asks an in-process fake chat model, recording one span per step with
// the GenAI semantic-convention attributes. Nothing leaves the process: no
// network, no API keys, and every token count, score and latency is derived
// deterministically from the question.
package rag

import (
	"context"
	"encoding/json"
	"errors"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// Models and provider the fake clients pretend to be.
const (
	Provider       = "openai"
	DefaultChat    = "gpt-4o-mini"
	CheapChat      = "gpt-4.1-nano"
	EmbeddingModel = "text-embedding-3-small"
)

// DefaultTopK is how many documents a retrieval returns by default.
const DefaultTopK = 3

// instrumentationName is the tracer (instrumentation scope) name.
const instrumentationName = "github.com/llmcheck/llmcheck/examples/rag"

// Config configures an App. The zero value is usable.
type Config struct {
	ChatModel string // default DefaultChat
	TopK      int    // default DefaultTopK
	// TracerProvider records the spans; default: the global provider
	// (otel.GetTracerProvider) at the time of each call, which SetupTracing
	// installs.
	TracerProvider trace.TracerProvider
	// Sleep waits for d, or returns ctx.Err(); default: a real timer. Tests
	// may replace it to run without waiting.
	Sleep func(ctx context.Context, d time.Duration) error
}

// App answers questions from the built-in knowledge base.
type App struct {
	cfg   Config
	store *store
}

// New returns an App.
func New(cfg Config) *App {
	if cfg.ChatModel == "" {
		cfg.ChatModel = DefaultChat
	}
	if cfg.TopK <= 0 {
		cfg.TopK = DefaultTopK
	}
	if cfg.Sleep == nil {
		cfg.Sleep = sleep
	}
	return &App{cfg: cfg, store: defaultStore}
}

var defaultApp = New(Config{})

// Answer answers question with the default App.
func Answer(ctx context.Context, question string) (*Result, error) {
	return defaultApp.Answer(ctx, question)
}

// Result is what Answer returns.
type Result struct {
	Answer    string
	Model     string
	Documents []Retrieved // in rank order
	Usage     Usage
	// ChatSpan identifies the chat span that wrote Answer (the span an
	// evaluation of the answer belongs to) and ResponseID its
	// gen_ai.response.id.
	ChatSpan   trace.SpanContext
	ResponseID string
}

// Retrieved is one retrieved document.
type Retrieved struct {
	ID    string
	Title string
	Score float64
}

// Usage is the token usage of one Answer.
type Usage struct {
	EmbeddingTokens   int64
	InputTokens       int64 // chat input, including the cached part
	CachedInputTokens int64
	OutputTokens      int64
}

// ErrEmptyQuestion is returned for a blank question.
var ErrEmptyQuestion = errors.New("rag: empty question")

func (a *App) tracer() trace.Tracer {
	tp := a.cfg.TracerProvider
	if tp == nil {
		tp = otel.GetTracerProvider()
	}
	return tp.Tracer(instrumentationName)
}

// Answer embeds question, retrieves the TopK closest articles and asks the
// chat model, under one root span "rag.answer" with three children:
// "embeddings {model}", "retrieval acme-help" and "chat {model}".
func (a *App) Answer(ctx context.Context, question string) (res *Result, err error) {
	tr := a.tracer()
	relevant := GroundTruth[question]
	rootAttrs := []attribute.KeyValue{attribute.String("rag.question", question)}
	if relevant != nil {
		rootAttrs = append(rootAttrs, attribute.StringSlice("llmcheck.relevant_ids", relevant))
	}
	ctx, root := tr.Start(ctx, "rag.answer", trace.WithAttributes(rootAttrs...))
	defer func() {
		if err != nil {
			root.RecordError(err)
			root.SetStatus(codes.Error, err.Error())
		}
		root.End()
	}()

	if strings.TrimSpace(question) == "" {
		return nil, ErrEmptyQuestion
	}
	lat := newLatencies(question, a.cfg.ChatModel)

	vec, embTokens, err := a.embed(ctx, tr, question, lat)
	if err != nil {
		return nil, err
	}
	docs, err := a.retrieve(ctx, tr, question, vec, relevant, lat)
	if err != nil {
		return nil, err
	}
	res, err = a.chat(ctx, tr, question, "", "", docs, lat)
	if err != nil {
		return nil, err
	}
	res.Usage.EmbeddingTokens = embTokens
	return res, nil
}

func (a *App) embed(ctx context.Context, tr trace.Tracer, text string, lat latencies) ([]float64, int64, error) {
	ctx, sp := tr.Start(ctx, "embeddings "+EmbeddingModel, trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(
			attribute.String("gen_ai.operation.name", "embeddings"),
			attribute.String("gen_ai.provider.name", Provider),
			attribute.String("gen_ai.request.model", EmbeddingModel),
		))
	defer sp.End()
	if err := a.cfg.Sleep(ctx, lat.embed); err != nil {
		return nil, 0, fail(sp, err)
	}
	tokens := countTokens(text)
	sp.SetAttributes(
		attribute.String("gen_ai.response.model", EmbeddingModel),
		attribute.Int64("gen_ai.usage.input_tokens", tokens),
		attribute.Int("gen_ai.embeddings.dimension.count", dims),
	)
	return embed(text), tokens, nil
}

func (a *App) retrieve(ctx context.Context, tr trace.Tracer, query string, vec []float64, relevant []string, lat latencies) ([]Retrieved, error) {
	attrs := []attribute.KeyValue{
		attribute.String("gen_ai.operation.name", "retrieval"),
		attribute.String("gen_ai.data_source.id", DataSource),
		attribute.String("gen_ai.retrieval.query.text", query),
		attribute.Int("gen_ai.retrieval.top_k", a.cfg.TopK),
	}
	if relevant != nil {
		attrs = append(attrs, attribute.StringSlice("llmcheck.relevant_ids", relevant))
	}
	ctx, sp := tr.Start(ctx, "retrieval "+DataSource, trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(attrs...))
	defer sp.End()
	if err := a.cfg.Sleep(ctx, lat.retrieve); err != nil {
		return nil, fail(sp, err)
	}
	docs := a.store.search(vec, a.cfg.TopK)
	sp.SetAttributes(attribute.String("gen_ai.retrieval.documents", documentsJSON(docs)))
	return docs, nil
}

// systemPrompt is the constant prompt prefix; the fake provider reports it
// as served from its prompt cache.
const systemPrompt = "You are the Acme help-centre assistant. Answer the customer's question in one or two sentences, " +
	"using only the articles below. If the articles do not answer it, say you do not know and offer to open a ticket."

// embellishment is what the small model adds to its answers: a sentence
// of its own that no article supports, which the faithfulness judge
// catches.
const embellishment = "Most customers tell us it only takes a minute."

// chat asks the fake chat model. In a conversation (Agent.Turn),
// conversation is its id and history its earlier turns, sent between the
// articles and the question; both are "" otherwise.
func (a *App) chat(ctx context.Context, tr trace.Tracer, question, conversation, history string, docs []Retrieved, lat latencies) (*Result, error) {
	model := a.cfg.ChatModel
	attrs := []attribute.KeyValue{
		attribute.String("gen_ai.operation.name", "chat"),
		attribute.String("gen_ai.provider.name", Provider),
		attribute.String("gen_ai.request.model", model),
		attribute.Float64("gen_ai.request.temperature", 0),
	}
	if conversation != "" {
		attrs = append(attrs, attribute.String("gen_ai.conversation.id", conversation))
	}
	ctx, sp := tr.Start(ctx, "chat "+model, trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(attrs...))
	defer sp.End()

	var prompt strings.Builder
	prompt.WriteString(systemPrompt)
	for _, d := range docs {
		prompt.WriteString("\n\n## ")
		prompt.WriteString(d.Title)
		prompt.WriteString("\n")
		prompt.WriteString(a.store.byID[d.ID].Text)
	}
	if history != "" {
		prompt.WriteString("\n\n")
		prompt.WriteString(history)
	}
	prompt.WriteString("\n\nQuestion: ")
	prompt.WriteString(question)

	answer := "I do not know; shall I open a ticket?"
	if len(docs) > 0 && docs[0].Score > 0 {
		top := a.store.byID[docs[0].ID]
		answer = "According to \"" + top.Title + "\": " + bestSentence(top.Text, question)
		if model == CheapChat {
			answer += " " + embellishment
		}
	}
	usage := Usage{
		InputTokens:       countTokens(prompt.String()),
		CachedInputTokens: countTokens(systemPrompt),
		OutputTokens:      countTokens(answer),
	}
	if err := a.cfg.Sleep(ctx, lat.chat(usage.OutputTokens)); err != nil {
		return nil, fail(sp, err)
	}
	key := model + "\x00" + question
	if history != "" {
		key += "\x00" + history
	}
	responseID := "chatcmpl-" + strconv.FormatUint(hash64(key), 36)
	sp.SetAttributes(
		attribute.String("gen_ai.response.model", model),
		attribute.String("gen_ai.response.id", responseID),
		attribute.StringSlice("gen_ai.response.finish_reasons", []string{"stop"}),
		attribute.Int64("gen_ai.usage.input_tokens", usage.InputTokens),
		attribute.Int64("gen_ai.usage.output_tokens", usage.OutputTokens),
		attribute.Int64("gen_ai.usage.cache_read.input_tokens", usage.CachedInputTokens),
	)
	return &Result{Answer: answer, Model: model, Documents: docs, Usage: usage,
		ChatSpan: sp.SpanContext(), ResponseID: responseID}, nil
}

func fail(sp trace.Span, err error) error {
	sp.RecordError(err)
	sp.SetStatus(codes.Error, err.Error())
	return err
}

func documentsJSON(docs []Retrieved) string {
	type doc struct {
		ID    string  `json:"id"`
		Score float64 `json:"score"`
	}
	out := make([]doc, len(docs))
	for i, d := range docs {
		out[i] = doc{d.ID, d.Score}
	}
	b, _ := json.Marshal(out) // cannot fail for this type
	return string(b)
}

// countTokens approximates a tokenizer: one token per 4 characters, at
// least one for non-empty text.
func countTokens(s string) int64 {
	if s == "" {
		return 0
	}
	return int64((len(s) + 3) / 4)
}

// bestSentence returns the sentence of text that shares the most words
// with query, the first one on a tie.
func bestSentence(text, query string) string {
	want := map[string]bool{}
	for _, t := range terms(query) {
		want[t] = true
	}
	best, bestN := "", -1
	for _, s := range sentences(text) {
		n := 0
		for _, t := range terms(s) {
			if want[t] {
				n++
			}
		}
		if n > bestN {
			best, bestN = s, n
		}
	}
	return best
}

// --- fake vector store ---------------------------------------------------

// dims is the size of the hashed bag-of-words "embedding".
const dims = 256

type store struct {
	docs []Doc
	vecs [][]float64
	byID map[string]Doc
}

var defaultStore = newStore(Corpus)

func newStore(docs []Doc) *store {
	s := &store{docs: docs, byID: make(map[string]Doc, len(docs))}
	for _, d := range docs {
		s.vecs = append(s.vecs, embed(d.Title+" "+d.Text))
		s.byID[d.ID] = d
	}
	return s
}

// search returns the k documents closest to vec by cosine similarity,
// ties broken by corpus order. Scores are rounded to 4 decimals.
func (s *store) search(vec []float64, k int) []Retrieved {
	type scored struct {
		i     int
		score float64
	}
	all := make([]scored, len(s.docs))
	for i, v := range s.vecs {
		var dot float64
		for j := range v {
			dot += v[j] * vec[j]
		}
		all[i] = scored{i, math.Round(dot*1e4) / 1e4}
	}
	sort.SliceStable(all, func(a, b int) bool { return all[a].score > all[b].score })
	if k > len(all) {
		k = len(all)
	}
	out := make([]Retrieved, k)
	for i := range out {
		d := s.docs[all[i].i]
		out[i] = Retrieved{ID: d.ID, Title: d.Title, Score: all[i].score}
	}
	return out
}

var stopwords = map[string]bool{}

func init() {
	for _, w := range strings.Fields("a an and are as at be by can do does for from get has have how i if in is it me my " +
		"of on or the then there to what when where which who why will with you your") {
		stopwords[w] = true
	}
}

// terms splits text into lower-case words without stopwords, with a crude
// plural stemming ("refunds" → "refund").
func terms(text string) []string {
	words := strings.FieldsFunc(strings.ToLower(text), func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-')
	})
	out := words[:0]
	for _, w := range words {
		w = strings.Trim(w, "-")
		if w == "" || stopwords[w] {
			continue
		}
		if len(w) > 3 && strings.HasSuffix(w, "s") && !strings.HasSuffix(w, "ss") {
			w = w[:len(w)-1]
		}
		out = append(out, w)
	}
	return out
}

// embed is the fake embedding model: a hashed, L2-normalised bag of words.
func embed(text string) []float64 {
	v := make([]float64, dims)
	for _, t := range terms(text) {
		v[hash64(t)%dims]++
	}
	var norm float64
	for _, x := range v {
		norm += x * x
	}
	if norm > 0 {
		norm = math.Sqrt(norm)
		for i := range v {
			v[i] /= norm
		}
	}
	return v
}

func hash64(s string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(s))
	return h.Sum64()
}

// --- latencies -----------------------------------------------------------

// latencies are the simulated durations of one Answer, drawn from a
// generator seeded by the question and model: the same question always
// takes the same (simulated) time, different questions differ.
type latencies struct {
	embed, retrieve time.Duration
	chatBase        time.Duration
	perToken        time.Duration
}

func newLatencies(question, model string) latencies {
	r := rand.New(rand.NewPCG(hash64(question), hash64(model)))
	ms := func(lo, hi float64) time.Duration {
		return time.Duration((lo + r.Float64()*(hi-lo)) * float64(time.Millisecond))
	}
	l := latencies{
		embed:    ms(1, 3),
		retrieve: ms(1, 4),
		chatBase: ms(4, 12),
		perToken: 100 * time.Microsecond,
	}
	if r.IntN(8) == 0 { // a slow tail, so p95 differs from p50
		l.chatBase += ms(15, 25)
	}
	if model == CheapChat { // the small model is faster
		l.chatBase = l.chatBase * 6 / 10
		l.perToken /= 2
	}
	return l
}

func (l latencies) chat(outputTokens int64) time.Duration {
	return l.chatBase + time.Duration(outputTokens)*l.perToken
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
