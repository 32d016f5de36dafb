package report

import (
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/llmcheck/llmcheck/assert"
	"github.com/llmcheck/llmcheck/span"
)

func fixtureMarkdown(res *assert.Results, run *span.Run, meta Meta) string {
	return Markdown(res, run, meta, MarkdownOptions{Cost: fixtureCost, CostNote: "tokens × pricing in llmcheck.yaml (USD per 1M tokens)"})
}

func TestMarkdownGolden(t *testing.T) {
	got := fixtureMarkdown(fixtureResults(), fixtureRun(), fixtureMeta())
	checkMarkdown(t, got)
	h, g := checkMermaid(t, got)
	require.Equal(t, 3, h) // gpt-4o-mini, claude-3-5-sonnet, text-embedding-3-small
	require.Equal(t, 1, g)
	golden(t, "report.golden.md", got)
}

// Charts computed ahead (while the assertions run) give the same report.
func TestMarkdownPreparedCharts(t *testing.T) {
	run := fixtureRun()
	opts := MarkdownOptions{Cost: fixtureCost, CostNote: "tokens × pricing in llmcheck.yaml (USD per 1M tokens)"}
	want := Markdown(fixtureResults(), run, fixtureMeta(), opts)
	opts.Charts = PrepareCharts(run, fixtureCost)
	require.Equal(t, want, Markdown(fixtureResults(), run, fixtureMeta(), opts))
	require.Contains(t, want, "gantt")
}

func TestMarkdownRecordingOnly(t *testing.T) {
	meta := fixtureMeta()
	meta.CommandStatus = ""
	got := fixtureMarkdown(nil, fixtureRun(), meta)
	checkMarkdown(t, got)
	checkMermaid(t, got)
	require.Contains(t, got, "📼 llmcheck: recorded 13 spans in 3 traces")
	require.Contains(t, got, "`llmcheck init --from .llmcheck/traces.jsonl`")
	require.NotContains(t, got, "### Assertions")
	golden(t, "report-recording.golden.md", got)
}

func TestMarkdownVerdicts(t *testing.T) {
	pass := &assert.Results{Status: assert.Pass, Spans: 13, Traces: 3, Assertions: []assert.Result{{Name: "a", Expect: "true", Status: assert.Pass}}}
	ok := Meta{Command: []string{"go", "test", "./..."}}
	require.Contains(t, fixtureMarkdown(pass, fixtureRun(), ok), "## ✅ llmcheck: all 1 assertion passed\n")
	require.Equal(t, "pass", Verdict(pass, 0, ok))

	warn := &assert.Results{Status: assert.Pass, Spans: 13, Traces: 3, Assertions: []assert.Result{{Name: "a", Expect: "true", Status: assert.Warn, Severity: "warn"}}}
	require.Contains(t, fixtureMarkdown(warn, fixtureRun(), ok), "## ✅ llmcheck: passed with 1 warning\n")

	failed := ok
	failed.CommandStatus = "exit status 2"
	require.Contains(t, fixtureMarkdown(pass, fixtureRun(), failed), "## ❌ llmcheck: the test command failed\n")
	require.Equal(t, "fail", Verdict(pass, 0, failed))

	empty := Markdown(nil, nil, ok, MarkdownOptions{})
	checkMarkdown(t, empty)
	require.Contains(t, empty, "## ❌ llmcheck: no spans were received\n")
	require.Equal(t, "fail", Verdict(nil, 0, ok))
	require.Equal(t, "pass", Verdict(nil, 1, ok))
	require.Equal(t, "fail", Verdict(fixtureResults(), 13, Meta{}))
}

func TestWriteMarkdown(t *testing.T) {
	path := filepath.Join(t.TempDir(), "report.md")
	require.NoError(t, WriteMarkdown(path, "# hi\n"))
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, "# hi\n", string(data))
}

func TestMarkdownEscaping(t *testing.T) {
	run := fixtureRun()
	// The slowest trace's root is called <script>|x, so it reaches the
	// waterfall; offenders and each: trace rows name it too.
	for _, s := range run.Traces[1].Spans {
		if s.IsRoot() {
			s.Name = "<script>|x"
		}
	}
	res := fixtureResults()
	res.Assertions[1].Name = "two\nlines | `code` <b>bold</b> & *stars* [link](http://x)"
	res.Assertions[1].Offenders[0].Name = "<script>|x"
	res.Assertions[2].Rows[1].Name = "<script>|x"
	res.Assertions[2].Expect = "cost < 0.01 || `weird` | x"
	got := fixtureMarkdown(res, run, fixtureMeta())
	checkMarkdown(t, got)
	checkMermaid(t, got)

	require.NotContains(t, got, "<script>")
	require.NotContains(t, got, "<b>")
	require.Contains(t, got, `&lt;script&gt;\|x`)
	require.Contains(t, got, "| two lines \\| \\`code\\` &lt;b&gt;bold&lt;/b&gt; &amp; \\*stars\\* \\[link\\](http&#8203;://x) |")
	require.Contains(t, got, "#### ❌ two lines \\| \\`code\\`")
	// An expression with backticks and pipes stays one code span in the cell.
	require.Contains(t, got, "| ``cost < 0.01 \\|\\| `weird` \\| x``, for each trace |")
	// The gantt label lost its markup characters.
	require.Contains(t, got, "    script x 3.6 s :s1,")
}

func TestMarkdownNeverPrintsContent(t *testing.T) {
	run := fixtureRun()
	for i, s := range run.Spans {
		s.Attrs = span.AttrsOf(map[string]any{
			"gen_ai.input.messages":                 `[{"role":"user","content":"SECRET-PROMPT"}]`,
			"gen_ai.output.messages":                "SECRET-COMPLETION",
			"input.value":                           "SECRET-INPUT",
			"output.value":                          "SECRET-OUTPUT",
			"llm.input_messages.0.message.content":  "SECRET-LLM-INPUT",
			"llm.output_messages.0.message.content": "SECRET-LLM-OUTPUT",
			"gen_ai.retrieval.query.text":           "SECRET-QUERY",
			fmt.Sprintf("custom.%d", i):             "SECRET-CUSTOM",
		})
		s.Events = []span.Event{{Name: "gen_ai.content.prompt", Attrs: span.AttrsOf(map[string]any{"gen_ai.prompt": "SECRET-EVENT"})}}
		s.Query = "SECRET-QUERY"
		s.StatusMessage = "SECRET-STATUS"
	}
	got := fixtureMarkdown(fixtureResults(), run, fixtureMeta())
	require.NotContains(t, got, "SECRET")
	var b strings.Builder
	require.NoError(t, JUnit(&b, fixtureResults(), fixtureMeta()))
	require.NotContains(t, b.String(), "SECRET")
}

func TestMarkdownTruncation(t *testing.T) {
	long := strings.Repeat("a very long message | with `ticks` and <tags> ", 40)
	res := &assert.Results{Status: assert.Fail, Spans: 1, Traces: 1}
	for i := range 20000 {
		r := assert.Result{
			Name: fmt.Sprintf("assertion %d %s", i, long[:60]), Expect: "latency.p95 < 100 " + long[:80],
			Where: "span.operation == \"chat\"", Severity: "error", Status: assert.Fail, Failed: true,
			Message: long, Position: assert.Pos{File: "llmcheck.yaml", Line: i + 1, Column: 5},
		}
		for j := range 5 {
			r.Offenders = append(r.Offenders, assert.Offender{TraceID: strings.Repeat("ab", 16), SpanID: strings.Repeat("cd", 8), Name: long[:100], Metric: "duration_ms", Value: float64(j), Unit: "ms"})
		}
		if i%3 == 0 {
			r.Each = "trace"
			for j := range 50 {
				r.Rows = append(r.Rows, assert.Row{TraceID: fmt.Sprintf("%032x", j), Name: long[:50], Status: assert.Fail, Message: long[:200]})
			}
		}
		res.Assertions = append(res.Assertions, r)
	}
	var spans []span.Span
	for i := range 3000 {
		s := sp(fmt.Sprintf("%032x", i%40), fmt.Sprintf("%016x", i), "", fmt.Sprintf("chat model-%d", i), "chat", fmt.Sprintf("model-%d-%s", i, long[:30]), float64(i), float64(i%97)+1)
		spans = append(spans, tokens(s, 10, 10))
	}
	run := span.NewRun(spans)
	for _, max := range []int{0, 200_000, 20_000, 2_000, 300} {
		t.Run(strconv.Itoa(max), func(t *testing.T) {
			got := Markdown(res, run, fixtureMeta(), MarkdownOptions{MaxBytes: max, Cost: fixtureCost})
			limit := max
			if limit == 0 {
				limit = DefaultMaxBytes
			}
			require.LessOrEqual(t, len(got), limit)
			require.NotEmpty(t, got)
			checkMarkdown(t, got)
			checkMermaid(t, got)
			if max >= 2_000 || max == 0 {
				require.Contains(t, got, "shortened to stay under GitHub's 1 MiB")
				require.Contains(t, got, "## ❌ llmcheck: 20000 of 20000 assertions did not pass")
			}
		})
	}
}

func TestGanttIsBounded(t *testing.T) {
	var spans []span.Span
	spans = append(spans, sp(traceA, "0000000000000001", "", "agent", "invoke_agent", "", 0, 10_000))
	for i := range 100 {
		parent := "0000000000000001"
		if i%2 == 1 {
			parent = fmt.Sprintf("%016x", i+1) // a child of the previous span
		}
		spans = append(spans, sp(traceA, fmt.Sprintf("%016x", i+2), parent, fmt.Sprintf("step %d", i), "chat", "m", float64(i*90), float64(i+1)))
	}
	spans = append(spans, sp(traceB, "00000000000000ff", "", "short", "chat", "m", 0, 1))
	got := fixtureMarkdown(nil, span.NewRun(spans), Meta{})
	_, g := checkMermaid(t, got)
	require.Equal(t, 1, g)
	require.Contains(t, got, "    agent 10 s :s1,")
	require.Contains(t, got, "    . . step 99 100 ms :")
	require.Contains(t, got, "    . step 98 99 ms :")
	require.NotContains(t, got, "step 0 ")
	require.Contains(t, got, "101 spans; the 30 longest shown")
}

func TestHistogramIsBounded(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	cases := [][]float64{{0}, {5, 5, 5}, {0.001, 0.002}, {1e7, 1}, {0, 1e-9}}
	for range 200 {
		n := 1 + rng.Intn(500)
		scale := []float64{0.01, 1, 100, 1e4, 1e6}[rng.Intn(5)]
		v := make([]float64, n)
		for i := range v {
			v[i] = rng.ExpFloat64() * scale
		}
		cases = append(cases, v)
	}
	for _, v := range cases {
		labels, counts := histogram(v, maxHistogramBars)
		require.NotEmpty(t, counts)
		require.LessOrEqual(t, len(counts), maxHistogramBars)
		require.Len(t, labels, len(counts))
		total := 0
		for _, c := range counts {
			total += c
		}
		require.Equal(t, len(v), total)
	}
	// 20 models: 6 charts and a note.
	var spans []span.Span
	for i := range 20 {
		spans = append(spans, sp(fmt.Sprintf("%032x", i), fmt.Sprintf("%016x", i), "", "chat", "chat", fmt.Sprintf("m%02d", i), 0, 10))
	}
	got := fixtureMarkdown(nil, span.NewRun(spans), Meta{})
	h, _ := checkMermaid(t, got)
	require.Equal(t, 6, h)
	require.Contains(t, got, "_14 more models not charted._")
}

func TestMermaidLabel(t *testing.T) {
	for in, want := range map[string]string{
		"chat gpt-4o":               "chat gpt-4o",
		`<script>|x"; :#`:           "script x",
		"line\nbreak":               "line break",
		"":                          "",
		"データ検索":                     "データ検索",
		strings.Repeat("x", 100):    strings.Repeat("x", maxLabelRunes-1) + "…",
		"gpt-4o:2024-08-06 [beta]%": "gpt-4o 2024-08-06 beta",
	} {
		require.Equal(t, want, mermaidLabel(in), in)
	}
	require.Equal(t, "span title x", ganttTaskLabel("title x"))
	require.Equal(t, "span Section x", ganttTaskLabel("Section: x"))
	require.Equal(t, "span", ganttTaskLabel("%%"))
}

func TestCodeSpans(t *testing.T) {
	require.Equal(t, "`a < b`", code("a < b"))
	require.Equal(t, "``a ` b``", code("a ` b"))
	require.Equal(t, "`` `a` ``", code("`a`"))
	require.Equal(t, "`a b`", code("a\n  b"))
	require.Equal(t, "`a \\|\\| b`", codeCell("a || b"))
	require.Equal(t, "", code(""))
}

// ---- structure checks ----

var (
	sepRowRe  = regexp.MustCompile(`^\|( ?:?-+:? ?\|)+$`)
	codeRe    = regexp.MustCompile("(`+)[^`].*?[^`]?(`+)")
	allowedRe = regexp.MustCompile(`^</?(sub|details|summary)>`)
)

// cells counts the cells of a table row: the pipes that are not escaped,
// less one.
func cells(line string) int {
	n := 0
	for i := 0; i < len(line); i++ {
		if line[i] == '\\' {
			i++
			continue
		}
		if line[i] == '|' {
			n++
		}
	}
	return n - 1
}

// checkMarkdown checks that every code fence is closed, every table is
// well formed (a header, a separator row with as many columns, rows with
// as many cells, a blank line after it), that <details>/<sub> tags balance
// and that no other raw HTML tag appears outside code.
func checkMarkdown(t *testing.T, md string) {
	t.Helper()
	require.True(t, strings.HasSuffix(md, "\n"), "report ends with a newline")
	lines := strings.Split(strings.TrimSuffix(md, "\n"), "\n")
	inFence := false
	cols := 0 // columns of the open table, 0 when none
	tags := map[string]int{}
	for i, line := range lines {
		if strings.HasPrefix(line, "```") {
			require.Zero(t, cols, "line %d: fence inside a table", i+1)
			inFence = !inFence
			continue
		}
		if inFence {
			continue
		}
		if strings.HasPrefix(line, "|") {
			require.True(t, strings.HasSuffix(line, "|"), "line %d: table row not closed: %q", i+1, line)
			if cols == 0 {
				cols = cells(line)
				require.Positive(t, cols)
				require.Less(t, i+1, len(lines), "table without a separator")
				require.Regexp(t, sepRowRe, lines[i+1], "line %d: separator row", i+2)
				require.Equal(t, cols, cells(lines[i+1]), "line %d: separator columns", i+2)
			} else {
				require.Equal(t, cols, cells(line), "line %d: cells in %q", i+1, line)
			}
			continue
		}
		if cols > 0 {
			require.Empty(t, line, "line %d: a table must end with a blank line", i+1)
			cols = 0
		}
		plain := codeRe.ReplaceAllString(line, "")
		for j := 0; j < len(plain); j++ {
			if plain[j] == '\\' {
				j++
				continue
			}
			if plain[j] != '<' {
				continue
			}
			m := allowedRe.FindString(plain[j:])
			require.NotEmpty(t, m, "line %d: raw HTML in %q", i+1, line)
			name := strings.Trim(m, "</>")
			if strings.HasPrefix(m, "</") {
				tags[name]--
			} else {
				tags[name]++
			}
		}
	}
	require.False(t, inFence, "unclosed code fence")
	for name, n := range tags {
		require.Zero(t, n, "unbalanced <%s>", name)
	}
}

var (
	xyTitleRe = regexp.MustCompile(`^    title "[^"<>:;#|\x60]*"$`)
	xyXRe     = regexp.MustCompile(`^    x-axis "[^"]*" \[("[^"<>:;#|,\x60]+"(, "[^"<>:;#|,\x60]+")*)\]$`)
	xyYRe     = regexp.MustCompile(`^    y-axis "[^"]*"$`)
	xyBarRe   = regexp.MustCompile(`^    bar \[(\d+(, \d+)*)\]$`)
	gTitleRe  = regexp.MustCompile(`^    title [^:;#"<>|\x60]+$`)
	gAxisRe   = regexp.MustCompile(`^    axisFormat (%[HMSL][:.]?)+$`)
	gSectRe   = regexp.MustCompile(`^    section [^:;#"<>|\x60]+$`)
	gTaskRe   = regexp.MustCompile(`^    ([^:;#"<>|\x60%]+) :(crit, )?(s\d+), (\d+), (\d+)$`)
)

// checkMermaid validates every mermaid block for its chart type and
// returns how many histograms and gantt charts there are.
func checkMermaid(t *testing.T, md string) (histograms, gantts int) {
	t.Helper()
	blocks := strings.Split(md, "```mermaid\n")
	for _, blk := range blocks[1:] {
		end := strings.Index(blk, "\n```\n")
		require.GreaterOrEqual(t, end, 0, "unclosed mermaid block")
		lines := strings.Split(blk[:end], "\n")
		switch lines[0] {
		case "xychart-beta":
			histograms++
			require.Len(t, lines, 5, blk)
			require.Regexp(t, xyTitleRe, lines[1])
			require.Regexp(t, xyXRe, lines[2])
			require.Regexp(t, xyYRe, lines[3])
			require.Regexp(t, xyBarRe, lines[4])
			x := xyXRe.FindStringSubmatch(lines[2])[1]
			bars := xyBarRe.FindStringSubmatch(lines[4])[1]
			nx, nb := len(strings.Split(x, ", ")), len(strings.Split(bars, ", "))
			require.Equal(t, nx, nb, "categories and bars")
			require.LessOrEqual(t, nb, maxHistogramBars)
		case "gantt":
			gantts++
			require.Regexp(t, gTitleRe, lines[1])
			require.Equal(t, "    dateFormat x", lines[2])
			require.Regexp(t, gAxisRe, lines[3])
			require.Regexp(t, gSectRe, lines[4])
			tasks := lines[5:]
			require.NotEmpty(t, tasks)
			require.LessOrEqual(t, len(tasks), maxGanttRows)
			ids := map[string]bool{}
			for _, task := range tasks {
				m := gTaskRe.FindStringSubmatch(task)
				require.NotNil(t, m, "task line %q", task)
				name := strings.TrimLeft(m[1], ". ")
				first := strings.ToLower(strings.Fields(name)[0])
				for _, k := range ganttKeywords {
					require.False(t, strings.HasPrefix(first, k), "task %q starts with keyword %s", task, k)
				}
				require.False(t, ids[m[3]], "duplicate task id")
				ids[m[3]] = true
				start, _ := strconv.ParseInt(m[4], 10, 64)
				stop, _ := strconv.ParseInt(m[5], 10, 64)
				require.Greater(t, stop, start, task)
			}
		default:
			t.Fatalf("unknown mermaid chart %q", lines[0])
		}
	}
	return histograms, gantts
}
