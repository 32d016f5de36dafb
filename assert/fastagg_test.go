package assert

import (
	"fmt"
	"testing"

	"github.com/google/cel-go/cel"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/llmcheck/llmcheck/span"
)

// randomAttrRun is randomRun with attributes of several types.
func randomAttrRun(seed int64, n int) *span.Run {
	run := randomRun(seed, n)
	for i, s := range run.Spans {
		switch i % 7 {
		case 0:
			s.Attrs = span.AttrsOf(map[string]any{"t": 0.5, "n": int64(i)})
		case 1:
			s.Attrs = span.AttrsOf(map[string]any{"t": int64(2), "n": "12.5"})
		case 2:
			s.Attrs = span.AttrsOf(map[string]any{"t": "0.25", "n": int64(-1)})
		case 3:
			s.Attrs = span.AttrsOf(map[string]any{"t": true})
		case 4:
			s.Attrs = span.AttrsOf(map[string]any{"t": "x"})
		case 5:
			s.Attrs = span.AttrsOf(map[string]any{"t": 1.5, "n": 2.5})
		}
		s.Resource = map[string]any{"r": float64(i)}
	}
	return run
}

var aggExprs = []string{
	`spans.all(s, s.tokens.output > 0)`,
	`spans.all(s, s.operation == "chat" || s.tokens.output > 100)`,
	`spans.exists(s, s.is_error)`,
	`spans.exists(s, s.tokens.cached > 50)`,
	`spans.all(x, x.duration_ms < 250.0) && count > 0`,
	`!spans.exists(s, s.cost > 0.0001)`,
	`percentile(spans.map(s, s.duration_ms), 0.9) < 100.0`,
	`sum(spans.map(s, s.tokens.input)) > 10`,
	`avg(spans.map(s, double(s.tokens.output))) > 1.0`,
	`max(spans.map(s, s.cost)) < 0.01`,
	`percentile(spans.map(s, double(s.attrs["t"])), 0.9) <= 1.0`,
	`size(spans.map(s, s.attrs["n"])) > 0`,
	`min(spans.map(s, double(s.attrs["n"]))) < 0.0`,
	`sum(spans.map(s, s.resource["r"])) > 0.0`,
	`spans.map(s, s.duration_ms).size() == count`,
	// not replaced (a nested comprehension, an unsupported body): still right
	`spans.all(s, spans.exists(t, t.duration_ms > s.duration_ms) || true)`,
	`spans.all(s, s.name.startsWith("a"))`,
	`[1, 2].all(spans, spans > 0) && spans.all(s, s.is_root)`,
}

// Each expression gives the same value or error with and without the Go
// forms, over selections with and without failing elements.
func TestSpansComprehensionsMatchCEL(t *testing.T) {
	env, err := expectEnv(false)
	require.NoError(t, err)
	cfg := &Config{Pricing: map[string]Price{"gpt-4o-mini": {Input: 0.15, Output: 0.6}}, Retrieval: RetrievalConfig{K: 5}}
	for _, seed := range []int64{1, 2} {
		run := randomAttrRun(seed, 400)
		rc := newRunCtx(cfg, run)
		floatT := map[*span.Span]bool{} // spans whose attribute t is a double
		for i, s := range run.Spans {
			floatT[s] = i%7 == 0 || i%7 == 5
		}
		var subsets [][]*entry
		for _, keep := range []func(e *entry) bool{
			func(*entry) bool { return true },
			func(e *entry) bool { return e.s.Operation == "chat" },
			func(e *entry) bool { return e.s.Tokens.HasOutput && e.s.Tokens.HasInput },
			func(e *entry) bool { return e.costOK && e.costErr == nil },
			func(e *entry) bool { return floatT[e.s] },
			func(*entry) bool { return false },
		} {
			var sub []*entry
			for i := range rc.entries {
				if keep(&rc.entries[i]) {
					sub = append(sub, &rc.entries[i])
				}
			}
			subsets = append(subsets, sub)
		}
		replaced := 0
		for _, text := range aggExprs {
			ast, iss := env.Compile(text)
			require.NoError(t, iss.Err(), text)
			plain, err := env.Program(ast)
			require.NoError(t, err)
			opts := withAgg(nil, ast)
			if len(opts) > 0 {
				replaced++
			}
			fast, err := env.Program(ast, opts...)
			require.NoError(t, err)
			for si, sub := range subsets {
				v1, _, e1 := plain.Eval(&group{rc: rc, spans: sub, k: 5})
				v2, _, e2 := fast.Eval(&group{rc: rc, spans: sub, k: 5})
				require.Equal(t, fmt.Sprint(e1), fmt.Sprint(e2), "%s on subset %d", text, si)
				if e1 == nil {
					require.Equal(t, nativeValue(v1), nativeValue(v2), "%s on subset %d", text, si)
				}
			}
		}
		assert.Equal(t, len(aggExprs)-2, replaced, "expressions with a Go form")
	}
}

// The nested spans.exists must not be replaced (s is bound per element).
func TestSpansComprehensionsOnlyTopLevel(t *testing.T) {
	env, err := expectEnv(false)
	require.NoError(t, err)
	ast, iss := env.Compile(`spans.all(s, s.name.startsWith("a") || spans.exists(t, t.is_error))`)
	require.NoError(t, iss.Err())
	assert.Nil(t, aggDecorator(ast))
	_ = cel.BoolType
}
