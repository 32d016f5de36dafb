package diff

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/llmcheck/llmcheck/span"
)

// countKinds are the per-trace call counts compared, in report order.
var countKinds = []string{ChangeLLMCalls, ChangeToolCalls, ChangeRetrievals, ChangeEmbeddings}

func countKind(op string) int {
	switch op {
	case span.OpChat, span.OpTextCompletion, span.OpGenerateContent:
		return 0
	case span.OpExecuteTool:
		return 1
	case span.OpRetrieval:
		return 2
	case span.OpEmbeddings:
		return 3
	}
	return -1
}

// item is one operation of a trace's sequence.
type item struct{ op, model string }

// less orders items by operation, then model.
func (it item) less(o item) bool {
	if it.op != o.op {
		return it.op < o.op
	}
	return it.model < o.model
}

func (it item) label() string {
	if it.model == "" {
		return it.op
	}
	return it.op + ":" + it.model
}

// shape is what the structural comparison needs of one trace.
type shape struct {
	trace  *span.Trace
	test   string
	counts [4]int
	models []string // distinct, sorted
	items  []item   // canonical sequence (see sequence)
}

// maxAlignCells bounds the alignment table of two traces (4 bytes a
// cell); longer traces fall back to comparing models as sets.
const maxAlignCells = 1 << 20

func testName(t *span.Trace, attrs []string) string {
	root := t.Root
	if root == nil && len(t.Spans) > 0 {
		root = t.Spans[0]
	}
	for _, a := range attrs {
		if root != nil {
			if v := attrString(root.Attrs.Value(a)); v != "" {
				return v
			}
		}
		for _, s := range t.Spans {
			if s == root {
				continue
			}
			if v := attrString(s.Attrs.Value(a)); v != "" {
				return v
			}
		}
	}
	if root != nil && root.Name != "" {
		return root.Name
	}
	return "(unnamed)"
}

func attrString(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	default:
		return fmt.Sprint(x)
	}
}

func shapeOf(t *span.Trace, attrs []string) *shape {
	sh := &shape{trace: t, test: testName(t, attrs)}
	var byID map[string]*span.Span // built when concurrency must be checked
	ancestor := func(a, s *span.Span) bool {
		if byID == nil {
			byID = make(map[string]*span.Span, len(t.Spans))
			for _, x := range t.Spans {
				byID[x.SpanID] = x
			}
		}
		for cur, depth := s, 0; cur != nil && depth < 1000; depth++ {
			if cur.ParentSpanID == a.SpanID {
				return true
			}
			cur = byID[cur.ParentSpanID]
		}
		return false
	}
	sh.items = make([]item, 0, len(t.Spans))
	var step []*span.Span
	flush := func() {
		start := len(sh.items)
		for _, s := range step {
			sh.items = append(sh.items, item{s.Operation, s.Model})
		}
		if len(step) > 1 {
			tail := sh.items[start:]
			sort.SliceStable(tail, func(i, j int) bool { return tail[i].less(tail[j]) })
		}
		step = step[:0]
	}
	for _, s := range t.Spans {
		if s.Operation == "" {
			continue
		}
		if k := countKind(s.Operation); k >= 0 {
			sh.counts[k]++
		}
		if s.Model != "" && !slices.Contains(sh.models, s.Model) {
			sh.models = append(sh.models, s.Model)
		}
		concurrent := false
		for _, c := range step {
			if s.StartUnixNano < c.EndUnixNano && !ancestor(c, s) {
				concurrent = true
				break
			}
		}
		if !concurrent && len(step) > 0 {
			flush()
		}
		step = append(step, s)
	}
	flush()
	sort.Strings(sh.models)
	return sh
}

type testEntry struct {
	name string
	b, h *shape
}

func compareStructure(base, head *span.Run, opts Options) Structure {
	byKey := func(run *span.Run) map[string][]*shape {
		m := map[string][]*shape{}
		for _, t := range run.Traces { // in start order
			sh := shapeOf(t, opts.TestAttr)
			m[sh.test] = append(m[sh.test], sh)
		}
		return m
	}
	bk, hk := byKey(base), byKey(head)
	keys := make([]string, 0, len(bk)+len(hk))
	for k := range bk {
		keys = append(keys, k)
	}
	for k := range hk {
		if _, ok := bk[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)

	var st Structure
	var matched []testEntry
	for _, k := range keys {
		bs, hs := bk[k], hk[k]
		dup := len(bs) > 1 || len(hs) > 1
		for i := 0; i < max(len(bs), len(hs)); i++ {
			name := k
			if dup {
				name = k + " #" + strconv.Itoa(i+1)
			}
			switch {
			case i >= len(hs):
				st.OnlyBase = append(st.OnlyBase, name)
			case i >= len(bs):
				st.OnlyHead = append(st.OnlyHead, name)
			default:
				matched = append(matched, testEntry{name, bs[i], hs[i]})
			}
		}
	}
	st.Matched = len(matched)
	for _, e := range matched {
		if ch := diffShapes(e.b, e.h); len(ch) > 0 {
			st.Tests = append(st.Tests, TestDiff{Test: e.name, BaseTrace: e.b.trace.ID, HeadTrace: e.h.trace.ID, Changes: ch})
		}
	}
	st.Changed = len(st.Tests)
	st.Patterns = patterns(st.Tests, st.Matched)
	return st
}

// align pairs the operations of two sequences: a maximum-weight common
// subsequence where the same operation with the same model weighs 3 and
// the same operation with another model 1. It returns, for each base
// item, the index of its head item or -1.
func align(b, h []item) []int {
	out := make([]int, len(b))
	for i := range out {
		out[i] = -1
	}
	n, m := len(b), len(h)
	if n == 0 || m == 0 {
		return out
	}
	if n*m > maxAlignCells {
		if n == m {
			for i := range b {
				if b[i].op != h[i].op {
					return out
				}
			}
			for i := range out {
				out[i] = i
			}
		}
		return out
	}
	w := func(i, j int) int32 {
		switch {
		case b[i] == h[j]:
			return 3
		case b[i].op == h[j].op:
			return 1
		}
		return 0
	}
	// dp[i*(m+1)+j] is the best weight of b[i:] against h[j:].
	dp := make([]int32, (n+1)*(m+1))
	at := func(i, j int) int32 { return dp[i*(m+1)+j] }
	for i := n - 1; i >= 0; i-- {
		for j := m - 1; j >= 0; j-- {
			best := max(at(i+1, j), at(i, j+1))
			if x := w(i, j); x > 0 {
				best = max(best, x+at(i+1, j+1))
			}
			dp[i*(m+1)+j] = best
		}
	}
	for i, j := 0, 0; i < n && j < m; {
		if x := w(i, j); x > 0 && at(i, j) == x+at(i+1, j+1) {
			out[i] = j
			i++
			j++
		} else if at(i, j) == at(i+1, j) {
			i++
		} else {
			j++
		}
	}
	return out
}

type swap struct{ op, from, to string }

func diffShapes(b, h *shape) []Change {
	var ch []Change
	for k, kind := range countKinds {
		if b.counts[k] != h.counts[k] {
			ch = append(ch, Change{Kind: kind, Base: strconv.Itoa(b.counts[k]), Head: strconv.Itoa(h.counts[k])})
		}
	}

	if slices.Equal(b.items, h.items) {
		return ch
	}
	// Model swaps: aligned operations whose model changed, where the old
	// model is gone or the new one is new.
	pairs := align(b.items, h.items)
	var swaps []swap
	for i, j := range pairs {
		if j < 0 {
			continue
		}
		bi, hi := b.items[i], h.items[j]
		if bi.model == hi.model || bi.model == "" || hi.model == "" {
			continue
		}
		if slices.Contains(h.models, bi.model) && slices.Contains(b.models, hi.model) {
			continue
		}
		if s := (swap{bi.op, bi.model, hi.model}); !slices.Contains(swaps, s) {
			swaps = append(swaps, s)
		}
	}
	sort.Slice(swaps, func(i, j int) bool {
		return fmt.Sprint(swaps[i]) < fmt.Sprint(swaps[j])
	})
	for _, s := range swaps {
		ch = append(ch, Change{Kind: ChangeModelSwap, Operation: s.op, Base: s.from, Head: s.to})
	}
	swapped := func(model string, from bool) bool {
		for _, s := range swaps {
			if from && s.from == model || !from && s.to == model {
				return true
			}
		}
		return false
	}
	for _, m := range b.models {
		if !slices.Contains(h.models, m) && !swapped(m, true) {
			ch = append(ch, Change{Kind: ChangeModelRemoved, Base: m})
		}
	}
	for _, m := range h.models {
		if !slices.Contains(b.models, m) && !swapped(m, false) {
			ch = append(ch, Change{Kind: ChangeModelAdded, Head: m})
		}
	}

	// Order: the collapsed sequences, the base one with reported swaps
	// applied (a swap is not also an order change).
	mapped := slices.Clone(b.items)
	for i, j := range pairs {
		if j >= 0 && slices.Contains(swaps, swap{b.items[i].op, b.items[i].model, h.items[j].model}) {
			mapped[i].model = h.items[j].model
		}
	}
	if !slices.Equal(collapse(mapped), collapse(h.items)) {
		ch = append(ch, Change{Kind: ChangeOrder, Base: sequence(b.items), Head: sequence(h.items)})
	}
	return ch
}

// collapse returns items with consecutive duplicates merged.
func collapse(items []item) []item {
	out := make([]item, 0, len(items))
	for _, it := range items {
		if len(out) == 0 || out[len(out)-1] != it {
			out = append(out, it)
		}
	}
	return out
}

func sequence(items []item) string {
	c := collapse(items)
	if len(c) == 0 {
		return "(none)"
	}
	labels := make([]string, len(c))
	for i, it := range c {
		labels[i] = it.label()
	}
	return strings.Join(labels, " → ")
}

var countLabel = map[string]string{
	ChangeLLMCalls:   "LLM calls",
	ChangeToolCalls:  "tool calls",
	ChangeRetrievals: "retrievals",
	ChangeEmbeddings: "embedding calls",
}

func patternRank(kind string) int {
	switch kind {
	case ChangeModelSwap:
		return 0
	case ChangeLLMCalls:
		return 1
	case ChangeToolCalls:
		return 2
	case ChangeRetrievals:
		return 3
	case ChangeEmbeddings:
		return 4
	case ChangeModelRemoved:
		return 5
	case ChangeModelAdded:
		return 6
	}
	return 7
}

func patterns(tests []TestDiff, matched int) []Pattern {
	type key struct{ kind, op, dir, base, head string }
	type agg struct {
		p     Pattern
		trans map[[2]string]int
	}
	aggs := map[key]*agg{}
	var order []key
	for _, td := range tests {
		for _, c := range td.Changes {
			k := key{kind: c.Kind, op: c.Operation}
			switch c.Kind {
			case ChangeLLMCalls, ChangeToolCalls, ChangeRetrievals, ChangeEmbeddings:
				bn, _ := strconv.Atoi(c.Base)
				hn, _ := strconv.Atoi(c.Head)
				k.dir = "up"
				if hn < bn {
					k.dir = "down"
				}
			case ChangeOrder:
			default:
				k.base, k.head = c.Base, c.Head
			}
			a := aggs[k]
			if a == nil {
				a = &agg{p: Pattern{Kind: c.Kind, Operation: c.Operation, Direction: k.dir, Of: matched}, trans: map[[2]string]int{}}
				aggs[k] = a
				order = append(order, k)
			}
			a.p.Tests++
			if len(a.p.Examples) < 3 {
				a.p.Examples = append(a.p.Examples, td.Test)
			}
			a.trans[[2]string{c.Base, c.Head}]++
		}
	}
	out := make([]Pattern, 0, len(order))
	for _, k := range order {
		a := aggs[k]
		p := a.p
		best, bestN := [2]string{}, -1
		for t, n := range a.trans {
			if n > bestN || n == bestN && (t[0] < best[0] || t[0] == best[0] && t[1] < best[1]) {
				best, bestN = t, n
			}
		}
		p.Base, p.Head = best[0], best[1]
		p.Uniform = len(a.trans) == 1
		p.Text = patternText(p)
		out = append(out, p)
	}
	sort.SliceStable(out, func(i, j int) bool {
		ri, rj := patternRank(out[i].Kind), patternRank(out[j].Kind)
		if ri != rj {
			return ri < rj
		}
		if out[i].Tests != out[j].Tests {
			return out[i].Tests > out[j].Tests
		}
		return out[i].Text < out[j].Text
	})
	return out
}

func patternText(p Pattern) string {
	in := fmt.Sprintf("in %d of %d matched tests", p.Tests, p.Of)
	switch p.Kind {
	case ChangeLLMCalls, ChangeToolCalls, ChangeRetrievals, ChangeEmbeddings:
		if p.Uniform {
			return fmt.Sprintf("%s per trace %s → %s %s", countLabel[p.Kind], p.Base, p.Head, in)
		}
		return fmt.Sprintf("%s per trace went %s %s (most often %s → %s)", countLabel[p.Kind], p.Direction, in, p.Base, p.Head)
	case ChangeModelSwap:
		return fmt.Sprintf("%s model %s → %s %s", p.Operation, p.Base, p.Head, in)
	case ChangeModelRemoved:
		return fmt.Sprintf("model %s no longer used %s", p.Base, in)
	case ChangeModelAdded:
		return fmt.Sprintf("model %s newly used %s", p.Head, in)
	case ChangeOrder:
		if p.Uniform {
			return fmt.Sprintf("order of operations changed %s: %s became %s", in, p.Base, p.Head)
		}
		return fmt.Sprintf("order of operations changed %s (most often %s became %s)", in, p.Base, p.Head)
	}
	return p.Kind + " " + in
}
