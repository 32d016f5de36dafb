package diff

import (
	"math"

	"fmt"
	"github.com/aclements/go-moremath/mathx"
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
	trace *span.Trace
	test  string
	// named says test came from a test attribute (Options.TestAttr), not
	// from the root span name.
	named  bool
	counts [4]int
	models []string // distinct, sorted
	items  []item   // canonical sequence (see shapeOf)
}

// maxAlignCells bounds the alignment table of two traces (4 bytes a
// cell); longer traces fall back to comparing models as sets.
const maxAlignCells = 1 << 20

// shapeOf computes the shape of a trace. The sequence of operations is in
// causal and start order: spans by start time, an ancestor before its
// descendants and, at the same start, the one that ends first first.
// Concurrent spans (span.Run.CausalSteps, the one ordering shared with
// assert's trajectories) are sorted by operation and model, so that a
// race between them is not a change.
//
// scratch is a buffer for the spans with an operation, reused across
// traces; shapeOf returns it (grown) for the next call.
func shapeOf(run *span.Run, t *span.Trace, attrs []string, scratch []*span.Span) (*shape, []*span.Span) {
	sh := &shape{trace: t}
	sh.test, sh.named = span.TestName(t, attrs)
	ops := scratch[:0]
	for _, s := range t.Spans {
		if s.Operation != "" {
			ops = append(ops, s)
		}
	}
	sh.items = make([]item, 0, len(ops))
	run.CausalSteps(t, ops, func(step []*span.Span) {
		start := len(sh.items)
		for _, s := range step {
			if k := countKind(s.Operation); k >= 0 {
				sh.counts[k]++
			}
			if s.Model != "" && !slices.Contains(sh.models, s.Model) {
				sh.models = append(sh.models, s.Model)
			}
			sh.items = append(sh.items, item{s.Operation, s.Model})
		}
		if len(step) > 1 {
			tail := sh.items[start:]
			sort.SliceStable(tail, func(i, j int) bool { return tail[i].less(tail[j]) })
		}
	})
	sort.Strings(sh.models)
	return sh, ops
}

type testEntry struct {
	name string
	b, h *shape
}

// compareStructure compares the traces of base and head by name (test,
// else root span name). A name with exactly one trace a side is a
// matched test, compared trace with trace (diffShapes); a name with
// several traces on a side is a set, compared as distributions
// (compareSet); a name on one side only is listed there.
func compareStructure(base, head *span.Run, opts Options) Structure {
	byKey := func(run *span.Run) map[string][]*shape {
		m := map[string][]*shape{}
		var scratch []*span.Span
		for _, t := range run.Traces { // in start order
			var sh *shape
			sh, scratch = shapeOf(run, t, opts.TestAttr, scratch)
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
		switch {
		case len(hs) == 0:
			st.OnlyBase = append(st.OnlyBase, k)
		case len(bs) == 0:
			st.OnlyHead = append(st.OnlyHead, k)
		case len(bs) == 1 && len(hs) == 1:
			matched = append(matched, testEntry{k, bs[0], hs[0]})
		default:
			st.Sets++
			st.Distributions = append(st.Distributions, compareSet(k, bs, hs, opts)...)
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
	st.Comparisons = holm(st.Family(), opts.Alpha)
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

// Sample names of structural tests (StructuralTest.Sample).
const (
	SampleCalls = "calls" // calls per trace
	SampleOrder = "order" // the trace's sequence of operations
)

// ChangeModelCalls is the StructuralTest kind of the calls per trace of
// one operation with one model.
const ChangeModelCalls = "model_calls"

// How a set's traces were named (StructuralTest.By).
const (
	ByTest = "test" // a test attribute: several traces of one test
	ByRoot = "root" // no test attribute: the root span name
)

// StructuralTest compares one statistic of the traces of one set (a name
// with several traces on a side) between base and head: calls per trace
// of a kind (Kind ChangeLLMCalls, ChangeToolCalls, ChangeRetrievals,
// ChangeEmbeddings) or of an operation with a model (ChangeModelCalls),
// by a Mann-Whitney U test of the per-trace counts; or the distribution
// of the traces' sequences of operations (ChangeOrder), by a chi-square
// test of homogeneity. Test.P is the test's p-value; PAdjusted and
// Significant are after Holm's correction over the report's structural
// family (Structure.Family).
type StructuralTest struct {
	// Name is "set: statistic", e.g. "POST /answer: chat gpt-4o calls per
	// trace".
	Name       string `json:"name"`
	Set        string `json:"set"`
	By         string `json:"by"` // ByTest or ByRoot
	Kind       string `json:"kind"`
	Operation  string `json:"operation,omitempty"`
	Model      string `json:"model,omitempty"`
	BaseTraces int    `json:"base_traces"`
	HeadTraces int    `json:"head_traces"`
	// Counts are the traces per value on each side (a count of calls, or a
	// sequence of operations), most frequent first; at most
	// maxCountValues, the rest summed in a last "(other)" row.
	Counts []Count `json:"counts"`
	// BaseMean and HeadMean are the mean calls per trace (calls tests).
	BaseMean float64 `json:"base_mean,omitempty"`
	HeadMean float64 `json:"head_mean,omitempty"`
	Test
	// Text describes the change in one line, with counts.
	Text string `json:"text"`
}

// Count is the number of traces with one value on each side.
type Count struct {
	Value string `json:"value"`
	Base  int    `json:"base"`
	Head  int    `json:"head"`
}

// Family returns the structural tests, in report order, for a
// multiple-comparison correction over them: Compare applies Holm's method
// at Options.Alpha to those Counted.
func (s *Structure) Family() []*Test {
	out := make([]*Test, len(s.Distributions))
	for i := range s.Distributions {
		out[i] = &s.Distributions[i].Test
	}
	return out
}

const (
	// maxCountValues bounds StructuralTest.Counts.
	maxCountValues = 20
	// maxSequenceItems bounds a sequence of operations as a value: a
	// longer one is cut, with the number of operations left out.
	maxSequenceItems = 40
	// maxModelStats bounds the calls-per-model tests of a set: the
	// operation and model pairs called in most traces (span content can
	// name any number of models).
	maxModelStats = 50
	// minExpected is the smallest expected count of a cell of the
	// chi-square test (Cochran's rule): rarer sequences are pooled.
	minExpected = 5
)

// compareSet makes the structural tests of one set: a count test per
// kind of call and per operation with a model seen on either side (the
// maxModelStats in most traces), and an order test.
func compareSet(name string, bs, hs []*shape, opts Options) []StructuralTest {
	by := ByRoot
	if bs[0].named {
		by = ByTest
	}
	mk := func(kind, op, model, stat, sample string) StructuralTest {
		return StructuralTest{Name: name + ": " + stat, Set: name, By: by, Kind: kind, Operation: op, Model: model,
			BaseTraces: len(bs), HeadTraces: len(hs), Test: Test{Sample: sample}}
	}
	var out []StructuralTest
	// sample tests the per-trace values f(i), i indexing base's traces
	// then head's.
	sample := func(st StructuralTest, f func(i int) int) {
		b, h := make([]float64, len(bs)), make([]float64, len(hs))
		for i := range bs {
			b[i] = float64(f(i))
		}
		for i := range hs {
			h[i] = float64(f(len(bs) + i))
		}
		if constant(b, h) {
			return // the same count in every trace: nothing to compare
		}
		st.Verdict = Significance(b, h, opts.Alpha, opts.MinSamples)
		st.Counted = !st.TooFew && !constant(b, h)
		st.Counts = countValues(b, h, func(x float64) string { return strconv.Itoa(int(x)) })
		st.BaseMean, st.HeadMean = mean(b), mean(h)
		out = append(out, st)
	}
	all := slices.Concat(bs, hs)
	for k, kind := range countKinds {
		sample(mk(kind, "", "", countLabel[kind]+" per trace", SampleCalls), func(i int) int { return all[i].counts[k] })
	}
	// Calls per operation and model: per-trace counts in one pass, kept
	// sparse; the maxModelStats pairs in most traces are tested.
	type call struct {
		traces int
		counts map[int]int // trace index (base first, then head) → calls
	}
	byCall := map[item]*call{}
	var calls []item
	for i, s := range all {
		for _, it := range s.items {
			if it.model == "" {
				continue
			}
			c := byCall[it]
			if c == nil {
				c = &call{counts: map[int]int{}}
				byCall[it] = c
				calls = append(calls, it)
			}
			if c.counts[i] == 0 {
				c.traces++
			}
			c.counts[i]++
		}
	}
	slices.SortFunc(calls, func(a, b item) int {
		if d := byCall[b].traces - byCall[a].traces; d != 0 {
			return d
		}
		if a.less(b) {
			return -1
		}
		if b.less(a) {
			return 1
		}
		return 0
	})
	calls = calls[:min(len(calls), maxModelStats)]
	slices.SortFunc(calls, func(a, b item) int {
		if a.less(b) {
			return -1
		}
		if b.less(a) {
			return 1
		}
		return 0
	})
	for _, it := range calls {
		c := byCall[it]
		st := mk(ChangeModelCalls, it.op, it.model, it.op+" "+it.model+" calls per trace", SampleCalls)
		sample(st, func(i int) int { return c.counts[i] })
	}
	// Order: the sequence of operations without models (model changes are
	// the calls tests' job), consecutive repeats collapsed.
	b, h := make([]string, len(bs)), make([]string, len(hs))
	for i, s := range bs {
		b[i] = opSequence(s.items)
	}
	for i, s := range hs {
		h[i] = opSequence(s.items)
	}
	if !constantStrings(b, h) {
		st := mk(ChangeOrder, "", "", "order of operations", SampleOrder)
		st.Verdict = Verdict{P: 1, N1: len(b), N2: len(h)}
		st.TooFew = st.N1 < opts.MinSamples || st.N2 < opts.MinSamples
		st.Counts = countValues(b, h, func(s string) string { return s })
		if p, ok := chiSquare(b, h); ok {
			st.P = p
			st.Counted = !st.TooFew
		}
		out = append(out, st)
	}
	for i := range out {
		out[i].Text = structuralText(&out[i])
	}
	return out
}

func constantStrings(a, b []string) bool {
	for _, s := range [][]string{a, b} {
		for _, x := range s {
			if x != a[0] {
				return false
			}
		}
	}
	return true
}

// opSequence is the sequence of operations of items, consecutive repeats
// collapsed, at most maxSequenceItems of them.
func opSequence(items []item) string {
	var ops []string
	for _, it := range items {
		if len(ops) == 0 || ops[len(ops)-1] != it.op {
			ops = append(ops, it.op)
		}
	}
	if len(ops) == 0 {
		return "(none)"
	}
	if len(ops) > maxSequenceItems {
		n := len(ops) - maxSequenceItems
		ops = append(ops[:maxSequenceItems], fmt.Sprintf("… (%d more)", n))
	}
	return strings.Join(ops, " → ")
}

// countValues tallies the values of both sides, most frequent (both sides
// together) first, then by value; beyond maxCountValues the rest is one
// "(other)" row.
func countValues[T comparable](b, h []T, label func(T) string) []Count {
	idx := map[T]int{}
	var out []Count
	var keys []T
	add := func(v T, base bool) {
		i, ok := idx[v]
		if !ok {
			i = len(out)
			idx[v] = i
			out = append(out, Count{Value: label(v)})
			keys = append(keys, v)
		}
		if base {
			out[i].Base++
		} else {
			out[i].Head++
		}
	}
	for _, v := range b {
		add(v, true)
	}
	for _, v := range h {
		add(v, false)
	}
	sort.SliceStable(out, func(i, j int) bool {
		ti, tj := out[i].Base+out[i].Head, out[j].Base+out[j].Head
		if ti != tj {
			return ti > tj
		}
		return out[i].Value < out[j].Value
	})
	if len(out) > maxCountValues {
		other := Count{Value: "(other)"}
		for _, c := range out[maxCountValues-1:] {
			other.Base += c.Base
			other.Head += c.Head
		}
		out = append(out[:maxCountValues-1], other)
	}
	return out
}

// chiSquare tests whether the values of b and h come from one
// distribution: Pearson's chi-square test of homogeneity of the 2 × k
// table of counts, after pooling the rarest values until every expected
// count is at least minExpected (Cochran's rule). ok is false when fewer
// than two pooled categories remain: nothing to test.
func chiSquare[T comparable](b, h []T) (p float64, ok bool) {
	nb, nh := len(b), len(h)
	if nb == 0 || nh == 0 {
		return 1, false
	}
	type cell struct{ b, h int }
	idx := map[T]int{}
	var cells []cell
	for _, side := range []struct {
		vs   []T
		base bool
	}{{b, true}, {h, false}} {
		for _, v := range side.vs {
			i, seen := idx[v]
			if !seen {
				i = len(cells)
				idx[v] = i
				cells = append(cells, cell{})
			}
			if side.base {
				cells[i].b++
			} else {
				cells[i].h++
			}
		}
	}
	// Pool from the rarest: the smallest expected count of a category is
	// its total × min(nb, nh) / N.
	sort.Slice(cells, func(i, j int) bool { return cells[i].b+cells[i].h < cells[j].b+cells[j].h })
	n := float64(nb + nh)
	small := float64(min(nb, nh)) / n
	for len(cells) > 1 && float64(cells[0].b+cells[0].h)*small < minExpected {
		cells[1].b += cells[0].b
		cells[1].h += cells[0].h
		cells = cells[1:]
		sort.Slice(cells, func(i, j int) bool { return cells[i].b+cells[i].h < cells[j].b+cells[j].h })
	}
	if len(cells) < 2 {
		return 1, false
	}
	var x2 float64
	for _, c := range cells {
		t := float64(c.b + c.h)
		eb, eh := t*float64(nb)/n, t*float64(nh)/n
		x2 += (float64(c.b)-eb)*(float64(c.b)-eb)/eb + (float64(c.h)-eh)*(float64(c.h)-eh)/eh
	}
	df := float64(len(cells) - 1)
	p = mathx.GammaIncComp(df/2, x2/2)
	if math.IsNaN(p) {
		return 1, false
	}
	return min(1, max(0, p)), true
}

// structuralText describes a structural test in one line: the mean calls
// per trace, or the share of traces with the value whose share changed
// most.
func structuralText(st *StructuralTest) string {
	nb, nh := st.BaseTraces, st.HeadTraces
	// The value whose share of traces changed most.
	var top Count
	best := -1.0
	for _, c := range st.Counts {
		if d := math.Abs(float64(c.Base)/float64(nb) - float64(c.Head)/float64(nh)); d > best {
			top, best = c, d
		}
	}
	share := fmt.Sprintf("%d/%d → %d/%d traces", top.Base, nb, top.Head, nh)
	switch st.Kind {
	case ChangeOrder:
		return fmt.Sprintf("%s: order of operations changed: %s in %s", st.Set, top.Value, share)
	case ChangeModelCalls:
		if binary(st.Counts) {
			return fmt.Sprintf("%s: %s %s", st.Set, st.Operation, modelShare(st))
		}
	}
	what := countLabel[st.Kind]
	if st.Kind == ChangeModelCalls {
		what = st.Operation + " " + st.Model + " calls"
	}
	value := "other counts"
	if n, err := strconv.Atoi(top.Value); err == nil {
		value = plural(n, "call")
	}
	return fmt.Sprintf("%s: %s per trace %s → %s on average (%s in %s)", st.Set, what, fmtMean(st.BaseMean), fmtMean(st.HeadMean), value, share)
}

// modelShare describes the calls of a ChangeModelCalls test's model in
// a few words: "gpt-4o in 28/60 → 16/60 traces" when a trace calls it
// at most once, else "gpt-4o-mini 1.53 → 1.73 calls per trace".
func modelShare(st *StructuralTest) string {
	if binary(st.Counts) {
		with := Count{}
		for _, c := range st.Counts {
			if c.Value == "1" {
				with = c
			}
		}
		return fmt.Sprintf("%s in %d/%d → %d/%d traces", st.Model, with.Base, st.BaseTraces, with.Head, st.HeadTraces)
	}
	return fmt.Sprintf("%s %s → %s calls per trace", st.Model, fmtMean(st.BaseMean), fmtMean(st.HeadMean))
}

// binary says every value of counts is 0 or 1.
func binary(counts []Count) bool {
	for _, c := range counts {
		if c.Value != "0" && c.Value != "1" {
			return false
		}
	}
	return true
}

func fmtMean(x float64) string {
	if x == math.Trunc(x) {
		return strconv.Itoa(int(x))
	}
	return strconv.FormatFloat(x, 'f', 2, 64)
}

// setSummary is the reports' line about the sets compared as
// distributions; empty when there are none.
func (s *Structure) setSummary() string {
	if s.Sets == 0 {
		return ""
	}
	sig := 0
	for i := range s.Distributions {
		if s.Distributions[i].Significant {
			sig++
		}
	}
	return fmt.Sprintf("%s with several traces on a side compared as distributions: %d of %s significant (Holm, structural family)",
		plural(s.Sets, "name"), sig, plural(s.Comparisons, "structural test"))
}

// setChanges are the reports' lines of the significant structural tests.
func (s *Structure) setChanges() []string {
	var out []string
	for i := range s.Distributions {
		if t := &s.Distributions[i]; t.Significant {
			out = append(out, fmt.Sprintf("%s; significant, %s %s", t.Text, fmtP(t.PAdjusted), fmtN(t.N1, t.N2)))
		}
	}
	return out
}
