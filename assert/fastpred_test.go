package assert

import (
	"fmt"
	"math"
	"math/rand"
	"testing"

	"github.com/google/cel-go/common/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/llmcheck/llmcheck/span"
)

// randomRun has spans with every field the Go predicates read varied,
// including missing token counts, unpriceable and reported costs, and
// spans of one trace interleaved with others.
func randomRun(seed int64, n int) *span.Run {
	r := rand.New(rand.NewSource(seed))
	pick := func(xs ...string) string { return xs[r.Intn(len(xs))] }
	// The repetition of llmcheck run --repeat, from its own source so the
	// other fields are what they were before it.
	rr := rand.New(rand.NewSource(seed + 1000))
	resources := []map[string]any{nil, {}, {span.ResourceRepeat: "1"}, {span.ResourceRepeat: "2"}, {span.ResourceRepeat: int64(3)}, {span.ResourceRepeat: "two"}, {span.ResourceRepeat: "0"}}
	spans := make([]span.Span, n)
	for i := range spans {
		s := &spans[i]
		s.TraceID = fmt.Sprintf("t%d", r.Intn(max(1, n/4)))
		s.SpanID = fmt.Sprintf("s%d", i)
		if r.Intn(3) > 0 {
			s.ParentSpanID = fmt.Sprintf("s%d", r.Intn(n))
		}
		s.Resource = resources[rr.Intn(len(resources))]
		s.Name = pick("answer", "chat gpt-4o-mini", "retrieval kb", "", "x")
		s.Service = pick("svc", "bench", "")
		s.Kind = pick("client", "internal", "server")
		s.Status = pick("unset", "ok", "error", "error")
		s.Operation = pick("chat", "embeddings", "retrieval", "", "execute_tool")
		s.Model = pick("gpt-4o-mini", "text-embedding-3-small", "", "unknown-model")
		s.Provider = pick("openai", "anthropic", "")
		s.Convention = pick("gen_ai", "openllmetry", "")
		s.Query = pick("", "refund")
		s.StartUnixNano = uint64(r.Intn(1e6))
		s.EndUnixNano = s.StartUnixNano + uint64(r.Intn(3e8))
		s.DurationMS = float64(s.EndUnixNano-s.StartUnixNano) / 1e6
		switch r.Intn(5) {
		case 0:
			s.DurationMS = math.Round(s.DurationMS) // integral values hit == and <=
		case 1:
			s.DurationMS = 100
		}
		t := &s.Tokens
		if r.Intn(2) == 0 {
			t.Input, t.HasInput = int64(r.Intn(1000)), true
		}
		if r.Intn(2) == 0 {
			t.Output, t.HasOutput = int64(r.Intn(200)), true
		}
		if r.Intn(3) == 0 {
			t.Total, t.HasTotal = t.Input+t.Output, true
		}
		if r.Intn(3) == 0 {
			t.Cached = int64(r.Intn(100))
			t.HasCached = r.Intn(2) == 0
		}
		if r.Intn(3) == 0 {
			t.CacheWrite, t.HasCacheWrite = int64(r.Intn(3)), true
		}
		if r.Intn(3) == 0 {
			t.Reasoning, t.HasReasoning = int64(r.Intn(3)), true
		}
		if r.Intn(6) == 0 {
			s.Cost, s.HasCost = r.Float64(), true
			if r.Intn(4) == 0 {
				s.Cost = math.NaN()
			}
		}
	}
	return span.NewRun(spans)
}

var predExprs = []string{
	`span.operation == "chat"`,
	`"chat" == span.operation`,
	`span.operation != "chat"`,
	`span.operation == "chat" && span.model == "gpt-4o-mini"`,
	`span.operation in ["chat", "embeddings"]`,
	`span.operation in []`,
	`!(span.operation in ["chat"]) || span.provider == "openai"`,
	`span.is_error`,
	`!span.is_error && span.is_root`,
	`span.is_error == false`,
	`true == span.is_root`,
	`true`,
	`false || span.kind == "client"`,
	`span.status == "error" || span.service == ""`,
	`span.name == "answer" && span.convention != "gen_ai" && span.query == ""`,
	`span.duration_ms > 100`,
	`span.duration_ms >= 100.0`,
	`span.duration_ms == 100.0`,
	`span.duration_ms != 100.0 && span.duration_ms > 99u`,
	`100 < span.duration_ms`,
	`150.5 >= span.duration_ms`,
	`span.duration_ms <= -1`,
	`span.tokens.input > 300`,
	`span.tokens.output >= 100.5`,
	`span.tokens.total == 0`,
	`span.tokens.cached != 0`,
	`span.tokens.cache_write < 1`,
	`span.tokens.reasoning <= 0u`,
	`span.tokens.input > 300 && span.operation == "chat"`,
	`span.operation == "chat" || span.tokens.output > 10`,
	`!(span.tokens.output > 10)`,
	`span.cost > 0.0001`,
	`span.cost < 1`,
	`span.cost == 0.0 || span.is_error`,
	`span.trace_id == "t1" || span.span_id == "s1" || span.parent_id == ""`,
	`span.scope == "" && span.status_message == ""`,
	`span.repeat == 2`,
	`span.repeat > 0 && span.operation == "chat"`,
	`span.repeat <= 1 || span.is_error`,
}

func TestCompiledWhereMatchesCEL(t *testing.T) {
	for _, seed := range []int64{1, 2, 3} {
		run := randomRun(seed, 600)
		cfg := &Config{Pricing: map[string]Price{"gpt-4o-mini": {Input: 0.15, Output: 0.6}}}
		rc := newRunCtx(cfg, run)
		env, err := whereEnv()
		require.NoError(t, err)
		for _, text := range predExprs {
			ast, iss := env.Compile(text)
			require.NoError(t, iss.Err(), text)
			prog, err := env.Program(ast)
			require.NoError(t, err)
			fast := compileWhere(ast)
			require.NotNil(t, fast, "%s should compile to Go", text)
			unknown := 0
			for i := range rc.entries {
				e := &rc.entries[i]
				v, _, err := prog.Eval(&spanActivation{e: e})
				got := fast(e)
				if got == triUnknown {
					unknown++
					continue
				}
				require.NoError(t, err, "%s: Go answered %v where CEL errs on span %d", text, got, i)
				require.Equal(t, types.Bool(got == triTrue), v, "%s on span %d", text, i)
			}
			// Unknown is for spans where CEL may fail: never all of them.
			assert.Less(t, unknown, len(rc.entries), text)
		}
	}
}

// The Go form covers only what it can answer exactly; the rest is CEL.
func TestCompiledWhereFallsBack(t *testing.T) {
	env, err := whereEnv()
	require.NoError(t, err)
	for _, text := range []string{
		`span.attrs["gen_ai.request.model"] == "gpt-4o-mini"`,
		`span.name.startsWith("chat")`,
		`span.name < "b"`,
		`span.operation == "chat" && span.documents.size() > 0`,
		`span.duration_ms > double(span.tokens.input)`,
		`span.operation in [span.model]`,
		`span.events.exists(e, e.name == "x")`,
		`span.duration_ms > 1.0 ? true : false`,
		`has(span.tokens.input)`,
	} {
		ast, iss := env.Compile(text)
		require.NoError(t, iss.Err(), text)
		assert.Nil(t, compileWhere(ast), text)
	}
}

// Selecting with the Go form gives the spans and errors of CEL alone, in
// order, including the first error of a where that fails on some span.
func TestSelectSpansFastAndCELAgree(t *testing.T) {
	run := randomRun(7, 34_000) // three parallel chunks
	cfg := &Config{Pricing: map[string]Price{"gpt-4o-mini": {Input: 0.15, Output: 0.6}}}
	rc := newRunCtx(cfg, run)
	env, err := whereEnv()
	require.NoError(t, err)
	for _, text := range predExprs {
		ast, _ := env.Compile(text)
		prog, _ := env.Program(ast)
		slow := rc.selectSpans(prog, nil)
		fast := rc.selectSpans(prog, compileWhere(ast))
		require.Equal(t, fmt.Sprint(slow.err), fmt.Sprint(fast.err), text)
		require.Equal(t, len(slow.spans), len(fast.spans), text)
		for i := range slow.spans {
			if slow.spans[i] != fast.spans[i] {
				t.Fatalf("%s: span %d differs", text, i)
			}
		}
	}
}

// One pass over the spans for several wheres gives each where's own
// selection, errors included.
func TestSelectManyMatchesSelectSpans(t *testing.T) {
	run := randomAttrRun(9, 40_000)
	cfg := &Config{Pricing: map[string]Price{"gpt-4o-mini": {Input: 0.15, Output: 0.6}}}
	rc := newRunCtx(cfg, run)
	env, err := whereEnv()
	require.NoError(t, err)
	texts := append([]string{`span.attrs["t"] == 0.5`, `span.tokens.input > 10 && span.attrs["n"] == 3`}, predExprs...)
	wheres := []whereSpec{{}}
	for _, text := range texts {
		ast, iss := env.Compile(text)
		require.NoError(t, iss.Err(), text)
		prog, _ := env.Program(ast)
		wheres = append(wheres, whereSpec{prog, compileWhere(ast)})
	}
	many := rc.selectMany(wheres)
	require.Len(t, many, len(wheres))
	errs := 0
	for i, w := range wheres {
		one := rc.selectSpans(w.prog, w.fast)
		require.Equal(t, fmt.Sprint(one.err), fmt.Sprint(many[i].err), i)
		if one.err != nil {
			errs++
		}
		require.Equal(t, len(one.spans), len(many[i].spans), i)
		for j := range one.spans {
			if one.spans[j] != many[i].spans[j] {
				t.Fatalf("where %d: span %d differs", i, j)
			}
		}
	}
	assert.Positive(t, errs, "some wheres fail on some span")
}
