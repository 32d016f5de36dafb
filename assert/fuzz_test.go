package assert

import (
	"fmt"
	"strings"
	"testing"
)

// FuzzLoadConfig: any bytes as llmcheck.yaml either load or give
// positioned errors; a loaded config evaluates without panicking.
func FuzzLoadConfig(f *testing.F) {
	for _, seed := range []string{
		"assertions:\n  - name: a\n    expect: latency.p95 < 1500\n",
		"pricing:\n  m: {input: 1, output: 2, cached_input: 0.5}\nretrieval: {k: 3}\nassertions:\n  - name: a\n    where: span.operation == 'chat'\n    expect: cost < 1.0\n    each: trace\n    severity: warn\n    allow_empty: true\n",
		"regressions:\n  - name: r\n    expect: head.latency.p95 <= base.latency.p95 * 1.1\n    require_significance: false\n",
		"assertions:\n  - name: a\n    expect: |\n      count > 0 &&\n        errors == 0\n",
		"assertions: [\n", "- a\n- b\n", "", "assertions:\n  - {name: x, expect: \"percentile(spans.map(s, s.duration_ms), 0.9) > 0\"}\n",
		"cel_cost_limit: 5\nassertions:\n  - name: a\n    expect: spans.all(a, spans.all(b, true))\n",
	} {
		f.Add([]byte(seed))
	}
	run := fixture()
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := LoadBytes("llmcheck.yaml", data)
		if err != nil {
			if strings.TrimSpace(err.Error()) == "" {
				t.Fatal("empty error message")
			}
			return
		}
		res := s.Evaluate(run)
		if len(res.Assertions) != len(s.Config.Assertions) {
			t.Fatalf("%d results for %d assertions", len(res.Assertions), len(s.Config.Assertions))
		}
		s.EvaluateRegressions(run, run, nil)
		s.EvaluateRegressionsSummary(SummariseGroups(s.Config, run), run, nil)
	})
}

// FuzzExpression: any expression, as where, as expect (plain, per trace,
// conversation and test) and as an each: group, compiles with a
// positioned error or evaluates to a verdict.
func FuzzExpression(f *testing.F) {
	for _, seed := range []string{
		"latency.p95 < 1500", "tokens.total <= 50000", "cost < 0.02", "retrieval.hit_rate >= 0.8",
		"percentile(spans.map(s, double(s.attrs['app.rerank_ms'])), 0.9) < 50", "errors == 0 && error_rate < 0.1",
		"spans.all(s, s.documents.all(d, d.score > 0.1))", "traces.exists(t, t.root.name == 'answer')",
		"trace.tokens.total > 0", "sum([1, 2.5]) > 0", "max(spans.map(s, s.tokens.total)) > 1",
		"span.attrs['x'] == 1", "size(span.events) > 0 || span.start < span.end", "span.name.matches('^chat')",
		"'a' + 1", "(((((", "1 / 0 == 1", "int('x') > 0", "[1,2,3].map(x, x * 2)[5] == 0",
		"span.operation == 'chat' && span.model in ['gpt-4o-mini', 'x']", "!(span.duration_ms > 50.0) || span.is_error",
		"span.tokens.output > 100", "latency.p95 < 1500 && !(errors > 0)", "trace.llm_calls <= 1 || count > 3",
		"spans.exists(s, s.cost > 0.0001)", "avg(spans.map(s, double(s.tokens.output))) > 1.0",
		"in_order(trace.tools, ['search', 'answer']) && size(trace.agents) <= 2", "trace.models == []",
		"in_order([1, 'a'], ['a'])", "span.tool_args.q == 'x'", "has(span.tool_args.q)", "span.model",
		"span.attrs['app.team']", "string(span.duration_ms)", "traces.all(t, in_order(t.tools, []))",
	} {
		f.Add(seed)
	}
	run := fixture()
	f.Fuzz(func(t *testing.T, expr string) {
		q := "'" + strings.ReplaceAll(expr, "'", "''") + "'"
		for _, y := range []string{
			"assertions:\n  - name: a\n    expect: " + q + "\n",
			"assertions:\n  - name: a\n    each: trace\n    expect: " + q + "\n",
			"assertions:\n  - name: a\n    each: conversation\n    expect: " + q + "\n",
			"assertions:\n  - name: a\n    each: test\n    expect: " + q + "\n",
			"assertions:\n  - name: a\n    each: " + q + "\n    expect: count >= 1\n",
			"assertions:\n  - name: a\n    where: " + q + "\n    expect: count >= 0\n",
			"regressions:\n  - name: a\n    expect: " + q + "\n",
		} {
			s, err := LoadBytes("llmcheck.yaml", []byte(y))
			if err != nil {
				if !strings.Contains(err.Error(), "llmcheck.yaml:") {
					t.Fatalf("error without a position: %v", err)
				}
				continue
			}
			res := s.Evaluate(run)
			// The Go forms of where, expect and span comprehensions give
			// exactly what CEL alone gives: statuses, messages, values.
			goForms = false
			plain, err := LoadBytes("llmcheck.yaml", []byte(y))
			if err != nil {
				goForms = true
				t.Fatalf("loads only with the Go forms: %v", err)
			}
			want := plain.Evaluate(run)
			goForms = true
			for i := range res.Assertions {
				if got, exp := fmt.Sprintf("%+v", res.Assertions[i]), fmt.Sprintf("%+v", want.Assertions[i]); got != exp {
					t.Fatalf("Go forms differ from CEL for %q:\n got %s\nwant %s", expr, got, exp)
				}
			}
			for _, r := range res.Assertions {
				switch r.Status {
				case Pass, Fail, Error, Warn:
				default:
					t.Fatalf("status %q", r.Status)
				}
				if r.Status == Error && r.Message == "" {
					t.Fatal("error without a message")
				}
			}
			s.EvaluateRegressions(run, run, nil)
		}
	})
}
