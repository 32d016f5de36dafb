package diff

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/llmcheck/llmcheck/span"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		require.NoError(t, os.MkdirAll("testdata", 0o755))
		require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
		return
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run go test ./diff -run TestGolden -update")
	assert.Equal(t, string(want), got, "%s differs; run go test ./diff -run TestGolden -update and review the diff", path)
}

// hostile has names that must be escaped in Markdown and sanitised in
// mermaid.
func hostile() (*span.Run, *span.Run) {
	mk := func(seed uint64, latency float64, extra bool) *span.Run {
		var spans []span.Span
		for i := range 8 {
			id := fmt.Sprintf("%016x%016x", seed, i)
			start := uint64(1_700_000_000_000_000_000) + uint64(i)*1e9
			ms := func(x float64) uint64 { return uint64(x * 1e6) }
			d := latency * (1 + 0.05*float64((int(seed)*7+i*3)%5))
			spans = append(spans,
				span.Span{TraceID: id, SpanID: "1", Name: "handle <script>|x", Service: "svc`1`",
					Attrs:         span.AttrsOf(map[string]any{"test.name": fmt.Sprintf("Test|%d *bold* ~strike~\n[link](http://x)", i)}),
					StartUnixNano: start, EndUnixNano: start + ms(d+10), DurationMS: d + 10},
				span.Span{TraceID: id, SpanID: "2", ParentSpanID: "1", Name: "chat", Service: "svc`1`",
					Operation: "chat", Model: "my|model_v2 \"q\"", StartUnixNano: start + ms(1), EndUnixNano: start + ms(1+d), DurationMS: d,
					Tokens: span.Tokens{Input: 100, Output: 10, Total: 110, HasInput: true, HasOutput: true}},
			)
			if extra {
				spans = append(spans, span.Span{TraceID: id, SpanID: "3", ParentSpanID: "1", Name: "tool #1", Service: "svc`1`",
					Operation: "execute_tool", StartUnixNano: start + ms(d+2), EndUnixNano: start + ms(d+3), DurationMS: 1})
			}
		}
		return span.NewRun(spans)
	}
	return mk(1, 100, false), mk(2, 150, true)
}

func goldenCases() []struct {
	name       string
	base, head *span.Run
	opts       Options
	names      [2]string
} {
	hb, hh := hostile()
	return []struct {
		name       string
		base, head *span.Run
		opts       Options
		names      [2]string
	}{
		{
			name: "rag",
			base: scenario{seed: 1, tests: 12}.run(),
			head: scenario{seed: 2, tests: 12, answerLatency: 1.6, answerModel: "gpt-4o-mini", extraCall: true, hitRate: 0.3}.run(),
			opts: Options{Pricing: testPricing}, names: [2]string{"main", "feature/mini"},
		},
		{
			name: "latency",
			base: scenario{seed: 1, tests: 20}.run(),
			head: scenario{seed: 2, tests: 20, answerLatency: 1.4, answerTokens: 1.5, retrievalTwice: true}.run(),
			opts: Options{Pricing: testPricing},
		},
		{name: "escaping", base: hb, head: hh},
		{name: "toofew", base: scenario{seed: 1, tests: 4}.run(), head: scenario{seed: 2, tests: 3, answerLatency: 2}.run()},
	}
}

func TestGolden(t *testing.T) {
	for _, tc := range goldenCases() {
		t.Run(tc.name, func(t *testing.T) {
			r := Compare(tc.base, tc.head, tc.opts)
			if tc.names[0] != "" {
				r.Base.Name, r.Head.Name = tc.names[0], tc.names[1]
			}
			var b strings.Builder
			r.Text(&b)
			golden(t, tc.name+".txt", b.String())
			md := r.Markdown(MaxCommentBytes)
			checkMarkdown(t, md)
			golden(t, tc.name+".md", md)
			var js strings.Builder
			require.NoError(t, r.WriteJSON(&js))
			golden(t, tc.name+".json", js.String())
		})
	}
}

// checkMarkdown checks the markup is whole: code fences and <details>
// balanced, every table line a complete row.
func checkMarkdown(t *testing.T, md string) {
	t.Helper()
	fences, details := 0, 0
	inFence := false
	tableCells := 0 // separators of the current table's header
	for _, line := range strings.Split(md, "\n") {
		if !strings.HasPrefix(line, "|") {
			tableCells = 0
		}
		if strings.HasPrefix(line, "```") {
			fences++
			inFence = !inFence
			continue
		}
		if inFence {
			assert.NotContains(t, line, "`", "no backtick inside the mermaid block")
			continue
		}
		details += strings.Count(line, "<details>") - strings.Count(line, "</details>")
		if strings.HasPrefix(line, "|") {
			assert.True(t, strings.HasSuffix(line, " |"), "table row cut: %q", line)
			// Every cell separator is unescaped; user | are escaped.
			cells := strings.Count(strings.ReplaceAll(line, `\|`, ""), "|")
			if tableCells == 0 {
				tableCells = cells
				if strings.HasPrefix(line, "| group | evaluation |") {
					assert.Equal(t, 7, cells, "cells in %q", line)
				} else {
					assert.Contains(t, []int{len(mdColumns) + 2, len(mdColumnsTTFT) + 2}, cells, "cells in %q", line)
				}
			}
			assert.Equal(t, tableCells, cells, "cells in %q", line)
		}
	}
	assert.Equal(t, 0, fences%2, "code fences balanced")
	assert.Equal(t, 0, details, "<details> balanced")
}

func TestMarkdownLimit(t *testing.T) {
	r := Compare(scenario{seed: 1, tests: 12}.run(), scenario{seed: 2, tests: 12, answerModel: "gpt-4o-mini", extraCall: true}.run(), Options{})
	full := r.Markdown(0)
	fullLines := map[string]bool{}
	for _, l := range strings.Split(full, "\n") {
		fullLines[l] = true
	}
	prev := 0
	for _, limit := range []int{100, 300, 600, 1000, 1500, 2000, 3000, 4000, 6000, len(full), len(full) + 1000} {
		md := r.Markdown(limit)
		assert.LessOrEqual(t, len(md), limit)
		assert.GreaterOrEqual(t, len(md), prev, "a larger limit never shows less")
		prev = len(md)
		checkMarkdown(t, md)
		for _, l := range strings.Split(md, "\n") {
			if !fullLines[l] {
				assert.Regexp(t, `more|does not fit`, l, "limit %d: a line that is neither whole nor a note", limit)
				if t.Failed() {
					t.FailNow()
				}
			}
		}
		if limit >= len(full) {
			assert.Equal(t, full, md)
		}
	}
}

func TestMarkdown500Groups(t *testing.T) {
	mk := func(seed int) *span.Run {
		var spans []span.Span
		for g := range 500 {
			for i := range 8 {
				d := float64(10 + (g*7+i*13+seed)%17)
				spans = append(spans, span.Span{
					TraceID: fmt.Sprintf("%032x", i), SpanID: fmt.Sprintf("%016x", g+1), ParentSpanID: "f",
					Service: "api", Name: "chat", Operation: "chat", Model: fmt.Sprintf("fine-tuned|model-%03d", g), DurationMS: d,
					StartUnixNano: uint64(g*1000+i) * 1e6, EndUnixNano: uint64(g*1000+i)*1e6 + uint64(d*1e6),
					Tokens: span.Tokens{Input: int64(1000 + seed + i), Output: 100, Total: int64(1100 + seed + i), HasInput: true, HasOutput: true},
					Cost:   0.001 * float64(1+seed), HasCost: true,
				})
			}
		}
		return span.NewRun(spans)
	}
	r := Compare(mk(0), mk(5), Options{})
	require.Len(t, r.Groups, 500)
	full := r.Markdown(0)
	require.Greater(t, len(full), MaxCommentBytes)
	md := r.Markdown(MaxCommentBytes)
	assert.LessOrEqual(t, len(md), MaxCommentBytes)
	assert.Greater(t, len(md), MaxCommentBytes*9/10, "the space is used")
	assert.True(t, strings.Contains(md, "more groups not shown to fit the size limit"), "truncation note")
	assert.False(t, strings.Contains(md, "```mermaid"), "no chart over 12 groups")
	assert.True(t, strings.HasSuffix(md, "</sub>\n"), "the footer is kept")
	checkMarkdown(t, md)
}

func TestEscapeMD(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"plain text 1.2 s → 3 s", "plain text 1.2 s → 3 s"},
		{"a|b", `a\|b`},
		{"`code`", "\\`code\\`"},
		{"<script>alert(1)</script>", "&lt;script&gt;alert(1)&lt;/script&gt;"},
		{"line\nbreak\r\nend", "line break end"},
		{"*b* _i_ ~s~ [l](u) #1 !x", `\*b\* \_i\_ \~s\~ \[l\](u) \#1 \!x`},
		{`back\slash & amp`, `back\\slash &amp; amp`},
	} {
		assert.Equal(t, tt.want, escapeMD(tt.in), tt.in)
	}
	assert.Equal(t, `- 1\. not a list`, mdItem("1. not a list"))
	assert.Equal(t, `- \- not nested`, mdItem("- not nested"))
	assert.Equal(t, `- 1.5 s`, mdItem("1.5 s"))
	assert.Equal(t, `chat __ gpt_4o_ p95`, mermaidText("chat \"` gpt|4o] p95"))
}
