package diff

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/llmcheck/llmcheck/assert"
	"github.com/llmcheck/llmcheck/span"
)

// scenario describes a synthetic RAG run: per test one trace of
//
//	rag.answer (root, test.name and llmcheck.relevant_ids)
//	├── chat gpt-4o-mini        route the question
//	├── embeddings text-embedding-3-small
//	├── retrieval kb            5 documents
//	└── chat <answerModel>      answer
//
// with latencies from seeded lognormal distributions and token counts
// with normal noise; token counts have a total, as span normalisation
// gives them. The fields inject changes.
type scenario struct {
	seed uint64
	// tests is the number of traces, one per test (default 60). With 60
	// a side, the Mann-Whitney test finds a 30 % latency shift at σ = 0.25
	// (effect size 1.05) below the strictest Holm threshold of a report
	// (0.05/10) with a power of about 99.7 %.
	tests int

	answerModel    string  // default gpt-4o
	answerLatency  float64 // latency factor of the answer call (default 1)
	answerTokens   float64 // token factor of the answer call (default 1)
	hitRate        float64 // probability that a relevant document is in the top 5 (default 0.9)
	extraCall      bool    // a guardrail chat gpt-4o-mini call after the answer
	extraAnswer    bool    // a second answer call (a refinement): one more LLM call per request
	anonymous      bool    // no test.name: every request is named by its root span (one set of traces)
	retrievalTwice bool    // the retrieval runs twice in a row
	errorRate      float64 // probability that the answer call fails
}

const (
	routerModel = "gpt-4o-mini"
	embedModel  = "text-embedding-3-small"
	service     = "ragdemo"
)

var testPricing = map[string]assert.Price{
	"gpt-4o":                 {Input: 2.5, Output: 10, CachedInput: 1.25, HasCachedInput: true},
	"gpt-4o-mini":            {Input: 0.15, Output: 0.6, CachedInput: 0.075, HasCachedInput: true},
	"text-embedding-3-small": {Input: 0.02},
}

func (sc scenario) withDefaults() scenario {
	if sc.tests == 0 {
		sc.tests = 60
	}
	if sc.answerModel == "" {
		sc.answerModel = "gpt-4o"
	}
	if sc.answerLatency == 0 {
		sc.answerLatency = 1
	}
	if sc.answerTokens == 0 {
		sc.answerTokens = 1
	}
	if sc.hitRate == 0 {
		sc.hitRate = 0.9
	}
	return sc
}

func (sc scenario) spans() []span.Span {
	sc = sc.withDefaults()
	var out []span.Span
	for i := 0; i < sc.tests; i++ {
		// One random stream per trace and component, so that a change to
		// one component (an extra call) leaves the draws of the others as
		// they were: scenarios on the same seed differ only by what they
		// inject.
		stream := func(c uint64) *rand.Rand { return rand.New(rand.NewPCG(sc.seed, uint64(i)<<8|c)) }
		lognormal := func(rng *rand.Rand, median, sigma float64) float64 {
			return median * math.Exp(sigma*rng.NormFloat64())
		}
		count := func(rng *rand.Rand, mean, sd float64) int64 {
			return max(1, int64(math.Round(mean+sd*rng.NormFloat64())))
		}
		traceID := fmt.Sprintf("%016x%016x", sc.seed+1, i+1)
		start := uint64(1_700_000_000_000_000_000) + uint64(i)*10_000_000_000
		rootID := fmt.Sprintf("%016x", 1)
		relevant := fmt.Sprintf("doc-%02d", i)
		children := make([]span.Span, 0, 8) // child returns pointers into it
		cursor := start + 1_000_000
		child := func(op, model, name string, ms float64) *span.Span {
			n := len(children) + 2
			s := span.Span{
				TraceID: traceID, SpanID: fmt.Sprintf("%016x", n), ParentSpanID: rootID,
				Name: name, Service: service, Kind: "client", Status: "unset",
				StartUnixNano: cursor, EndUnixNano: cursor + uint64(ms*1e6), DurationMS: math.Round(ms*1e6) / 1e6,
				Operation: op, Model: model,
			}
			cursor = s.EndUnixNano + 1_000_000
			children = append(children, s)
			return &children[len(children)-1]
		}
		chat := func(model string, ms float64, in, out, cached int64) *span.Span {
			s := child(span.OpChat, model, "chat "+model, ms)
			s.Tokens = span.Tokens{Input: in, Output: out, Total: in + out, Cached: min(cached, in), HasInput: true, HasOutput: true, HasTotal: true, HasCached: cached > 0}
			return s
		}
		route := func(rng *rand.Rand) {
			chat(routerModel, lognormal(rng, 300, 0.3), count(rng, 180, 20), count(rng, 8, 2), 0)
		}

		route(stream(0))
		rng := stream(1)
		e := child(span.OpEmbeddings, embedModel, "embeddings "+embedModel, lognormal(rng, 40, 0.3))
		e.Tokens = span.Tokens{Input: count(rng, 12, 3), HasInput: true, HasTotal: true}
		e.Tokens.Total = e.Tokens.Input
		docs := documents(stream(2), relevant, sc.hitRate)
		rng = stream(3)
		for r := 0; r < 1+btoi(sc.retrievalTwice); r++ {
			s := child(span.OpRetrieval, "", "retrieval kb", lognormal(rng, 25, 0.3))
			s.Documents = docs
		}
		rng = stream(4)
		f := sc.answerTokens
		a := chat(sc.answerModel, lognormal(rng, 1200, 0.25)*sc.answerLatency, count(rng, 1500*f, 150*f), count(rng, 150*f, 30*f), 1024)
		if stream(5).Float64() < sc.errorRate {
			a.Status = "error"
		}
		if sc.extraCall {
			route(stream(6))
		}
		if sc.extraAnswer {
			rng = stream(7)
			chat(sc.answerModel, lognormal(rng, 1200, 0.25)*sc.answerLatency, count(rng, 1500*f, 150*f), count(rng, 150*f, 30*f), 1024)
		}
		attrs := map[string]any{"test.name": fmt.Sprintf("TestAnswer/q%02d", i), assert.RelevantIDsAttr: []any{relevant}}
		if sc.anonymous {
			delete(attrs, "test.name")
		}
		root := span.Span{
			TraceID: traceID, SpanID: rootID, Name: "rag.answer", Service: service, Kind: "server", Status: "unset",
			StartUnixNano: start, EndUnixNano: cursor + 4_000_000,
			Attrs: span.AttrsOf(attrs),
		}
		root.DurationMS = float64(root.EndUnixNano-root.StartUnixNano) / 1e6
		out = append(out, root)
		out = append(out, children...)
	}
	return out
}

func (sc scenario) run() *span.Run { return span.NewRun(sc.spans()) }

// documents returns 5 retrieved documents; with probability hitRate one
// of them (most often the first) is the relevant one.
func documents(rng *rand.Rand, relevant string, hitRate float64) []span.Document {
	docs := make([]span.Document, 5)
	for r := range docs {
		docs[r] = span.Document{ID: fmt.Sprintf("other-%03d", rng.IntN(1000)), Rank: r + 1, Score: 0.9 - 0.1*float64(r), HasScore: true}
	}
	if rng.Float64() < hitRate {
		at := 0
		if rng.Float64() > 0.6 {
			at = 1 + rng.IntN(4)
		}
		docs[at].ID = relevant
	}
	return docs
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
