package assert

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Equivalent where texts share one selection key.
func TestWhereKeyNormalised(t *testing.T) {
	s, err := LoadBytes("llmcheck.yaml", []byte(`assertions:
  - name: a
    where: span.operation == "chat"
    expect: count > 0
  - name: b
    where: (span.operation=="chat")
    expect: count > 0
  - name: c
    where: span.operation == "chat" && span.is_error
    expect: count > 0
`))
	require.NoError(t, err)
	assert.Equal(t, s.checks[0].whereKey, s.checks[1].whereKey)
	assert.NotEqual(t, s.checks[0].whereKey, s.checks[2].whereKey)
}

// each: trace groups the selected spans by trace without maps; check the
// rows against a plain grouping, with spans of traces interleaved and
// traces of which only some spans are selected.
func TestEachTraceGrouping(t *testing.T) {
	run := randomRun(3, 3000)
	const yaml = `pricing:
  gpt-4o-mini: {input: 0.15, output: 0.6}
assertions:
  - name: sel
    where: span.operation == "chat" || span.is_error
    each: trace
    expect: count >= 1 && trace.llm_calls >= 0 && trace.count >= count
  - name: all
    each: trace
    expect: trace.errors <= trace.count && count == trace.count
  - name: cost
    where: span.operation == "chat"
    each: trace
    expect: trace.cost >= 0.0 && trace.root.name != "zz" && trace.spans.size() == trace.count
`
	res := evaluate(t, yaml, run)
	for _, name := range []string{"sel", "all", "cost"} {
		r := res[name]
		// plain grouping
		var order []string
		count := map[string]int{}
		for _, s := range run.Spans {
			selected := true
			switch name {
			case "sel":
				selected = s.Operation == "chat" || s.IsError()
			case "cost":
				selected = s.Operation == "chat"
			}
			if !selected {
				continue
			}
			if count[s.TraceID] == 0 {
				order = append(order, s.TraceID)
			}
			count[s.TraceID]++
		}
		assert.Equal(t, len(order), r.Traces, name)
		// then every trace without a selected span, in run order
		for _, tr := range run.Traces {
			if count[tr.ID] == 0 {
				order = append(order, tr.ID)
			}
		}
		require.Len(t, r.Rows, len(order), name)
		for i, row := range r.Rows {
			require.Equal(t, order[i], row.TraceID, name)
			require.Equal(t, count[row.TraceID], row.Spans, name)
			if row.Spans == 0 {
				require.Equal(t, Fail, row.Status, name)
				require.Contains(t, row.Message, "no spans matched where:", name)
			}
			tr := run.Trace(row.TraceID)
			require.Equal(t, tr.Root.Name, row.Name)
			if name == "all" {
				errs := 0
				for _, s := range tr.Spans {
					if s.IsError() {
						errs++
					}
				}
				require.Contains(t, row.Message, fmt.Sprintf("trace.errors = %d", errs))
			}
		}
	}
	// traces without a chat or error span fail "sel"
	assert.Equal(t, Fail, res["sel"].Status, res["sel"].Message)
	assert.Regexp(t, `^\d+ of \d+ traces failed; first: .*no spans matched where`, res["sel"].Message)
	assert.Equal(t, Pass, res["all"].Status, res["all"].Message)
}

// A trace's statistics read all its spans, not only the selected ones.
func TestEachTraceStatisticsSeeUnselectedSpans(t *testing.T) {
	r := evaluate(t, fixturePricing+`assertions:
  - name: x
    where: span.operation == "chat"
    each: trace
    expect: count == 1 && trace.count == 3 && trace.retrievals == 1 && trace.llm_calls == 1
`, fixture())["x"]
	assert.Equal(t, Pass, r.Status, r.Message)
	require.Len(t, r.Rows, 2)
	assert.Equal(t, 1, r.Rows[0].Spans)
}

func TestMayHaveLongQuote(t *testing.T) {
	for _, s := range []string{"", `"short"`, `a "b" c`, `'` + string(make([]byte, 40)), `x "` + string(make([]byte, 33)) + `" y`} {
		if elideQuoted(s) != s {
			assert.True(t, mayHaveLongQuote(s), "%q", s)
		}
	}
	long := `x "` + string(make([]byte, 33)) + `" y`
	assert.NotEqual(t, long, elideQuoted(long))
	notLong := `x "` + string(make([]byte, 32)) + `" y`
	assert.Equal(t, notLong, elideQuoted(notLong))
}

// TestElideKeepsUnquotedValues: the unquoted values between two quoted
// ones are kept (issue #11 item 11: a closing quote was taken for an
// opening one, and base.tokens.total vanished inside the "elided" value).
func TestElideKeepsUnquotedValues(t *testing.T) {
	long := strings.Repeat("p", 50)
	for _, tc := range []struct{ in, want string }{
		{`head.traces = "(a list of 400)", base.tokens.total = 5120, head.prompt = "` + long + `"`,
			`head.traces = "(a list of 400)", base.tokens.total = 5120, head.prompt = "…(50 characters elided; --include-content shows them)"`},
		{`a = "short", b = 7, c = "also short", d = 9`, `a = "short", b = 7, c = "also short", d = 9`},
		{`no such key: '` + long + `', count = 3`, `no such key: '…(50 characters elided; --include-content shows them)', count = 3`},
		{`the customer's card is "` + long + `" and it's 3`, `the customer's card is "…(50 characters elided; --include-content shows them)" and it's 3`},
		{`escaped "a \" ` + long + `" n = 1`, `escaped "…(55 characters elided; --include-content shows them)" n = 1`},
		{`unterminated "` + long, `unterminated "` + long},
	} {
		assert.Equal(t, tc.want, elideQuoted(tc.in))
	}
}

// Observed statistics read through the getters equal those of the CEL
// programs, values and errors, per assertion and per trace.
func TestObservedReadMatchesCEL(t *testing.T) {
	const yaml = `pricing:
  gpt-4o-mini: {input: 0.15, output: 0.6}
assertions:
  - name: a
    expect: latency.p95 < 1.0 && tokens.total > 0 && cost < 1.0 && error_rate < 0.1 && errors < 3 && count > 1
  - name: b
    where: span.operation == "retrieval"
    expect: retrieval.hit_rate > 0.5 && retrieval.queries > 0
  - name: c
    each: trace
    expect: trace.llm_calls <= 1 && trace.duration_ms < 100.0 && trace.cost < 0.001 && trace.tokens.cached > 0 && trace.root.duration_ms > 1.0 && latency.p50 > 0.0
  - name: d
    where: span.model == "unknown-model"
    expect: cost > 0.0 && tokens.reasoning > 0
`
	s, err := LoadBytes("llmcheck.yaml", []byte(yaml))
	require.NoError(t, err)
	run := randomAttrRun(5, 2000)
	fast := s.Evaluate(run)
	for _, c := range s.checks {
		for i := range c.observed {
			c.observed[i].root = "" // CEL only
		}
	}
	slow := s.Evaluate(run)
	require.Equal(t, fmt.Sprintf("%+v", slow), fmt.Sprintf("%+v", fast)) // NaN costs: compare the text
	assert.NotEmpty(t, fast.Assertions[2].Rows)
}

// Expectations decided in Go give CEL's verdicts, messages and observed
// values, per assertion and per trace, including where statistics are
// errors.
func TestExpectGoFormMatchesCEL(t *testing.T) {
	exprs := []string{
		`latency.p95 < 150.0`,
		`latency.p95 < 150`,
		`150 > latency.p50 && count >= 10`,
		`errors == 0 || error_rate < 0.3`,
		`!(cost > 0.01) && tokens.total > 100`,
		`tokens.cached > 10 || tokens.output < 5u`,
		`retrieval.hit_rate >= 0.5`,
		`true && count != 3`,
	}
	traceExprs := []string{
		`trace.llm_calls <= 1 && trace.duration_ms < 200.0`,
		`trace.root.name == "answer" || trace.errors > 0`,
		`trace.root.name != "x" && trace.cost < 0.001`,
		`trace.tokens.input > 100 || trace.count == 4`,
		`trace.root.is_error || latency.max > 100.0`,
		`!trace.root.is_root`,
	}
	var y strings.Builder
	y.WriteString("pricing:\n  gpt-4o-mini: {input: 0.15, output: 0.6}\nassertions:\n")
	for i, e := range exprs {
		fmt.Fprintf(&y, "  - name: a%d\n    expect: '%s'\n  - name: w%d\n    where: span.operation == \"chat\"\n    expect: '%s'\n", i, e, i, e)
	}
	for i, e := range traceExprs {
		fmt.Fprintf(&y, "  - name: t%d\n    each: trace\n    expect: '%s'\n  - name: u%d\n    each: trace\n    where: span.is_error\n    expect: '%s'\n", i, e, i, e)
	}
	s, err := LoadBytes("llmcheck.yaml", []byte(y.String()))
	require.NoError(t, err)
	compiled := 0
	for _, c := range s.checks {
		if c.fastExpect != nil {
			compiled++
		}
	}
	assert.Equal(t, len(s.checks), compiled, "every expectation has a Go form")
	for _, seed := range []int64{1, 2} {
		run := randomAttrRun(seed, 1500)
		fast := s.Evaluate(run)
		saved := make([]actPred, len(s.checks))
		for i, c := range s.checks {
			saved[i], c.fastExpect = c.fastExpect, nil
		}
		slow := s.Evaluate(run)
		for i, c := range s.checks {
			c.fastExpect = saved[i]
		}
		require.Equal(t, fmt.Sprintf("%+v", slow), fmt.Sprintf("%+v", fast))
	}
}
