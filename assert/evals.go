package assert

import (
	"fmt"
	"math"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/google/cel-go/cel"
	celast "github.com/google/cel-go/common/ast"
	"github.com/google/cel-go/common/operators"
	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
	"github.com/google/cel-go/common/types/traits"
	celparser "github.com/google/cel-go/parser"

	"github.com/llmcheck/llmcheck/internal/safetext"
	"github.com/llmcheck/llmcheck/span"
)

// Evaluation results (issue #14): the expect variable evals, a map from
// evaluation name to its statistics over the results of the selected
// spans (span.Span.Evals); head.evals/base.evals in regression rules,
// tested per evaluation result; the groups' evaluations in baseline
// summaries.

const tEval = "llmcheck.Eval"

var (
	evalT      = cel.ObjectType(tEval)
	evalsT     = cel.MapType(cel.StringType, evalT)
	evalLabelT = cel.MapType(cel.StringType, cel.DoubleType)
	evalObj    *objType
)

// EvalStats is the statistics of the results of one evaluation name.
type EvalStats struct {
	// Count is the number of results, scored or labelled.
	Count int `json:"count"`
	// Scores are the statistics of the results that carry a score; nil
	// when none does.
	Scores *Latency `json:"scores,omitempty"`
	// Labelled is the number of results that carry a label; Labels the
	// number of results per label.
	Labelled int            `json:"labelled"`
	Labels   map[string]int `json:"labels,omitempty"`
}

// EvalSummary is the evaluation results of one name in a baseline
// summary group: the statistics and the scores (every score up to
// MaxSamples, else evenly spaced order statistics).
type EvalSummary struct {
	EvalStats
	Sample []float64 `json:"score_sample,omitempty"`
}

// evalsStats is the value of evals: the statistics per name, or why there
// are none.
type evalsStats struct {
	byName map[string]*evalVal
	names  []string // sorted
	where  string   // " in the baseline", for messages
	count  int      // spans selected
	why    string   // set when the side cannot have evaluation results
}

type evalVal struct {
	name  string
	st    EvalStats
	err   error // for score statistics over several summary groups
	where string
}

// noScoreHint ends the error of a statistic over results that carry
// neither a score nor a label: their scores were not numbers (a string,
// NaN), which a warning named when they were read.
const noScoreHint = " (the warnings of the run say why a score was not read)"

// Score statistics of evals[name].
var evalScoreFields = []string{"avg", "min", "max", "p50", "p90", "p95"}

func evalScoreField(name string, get func(l *Latency) float64) field {
	return field{name, cel.DoubleType, func(v any) ref.Val {
		ev := v.(*evalVal)
		if ev.err != nil {
			return errVal("evals[%s].%s: %v", strconv.Quote(ev.name), name, ev.err)
		}
		if ev.st.Scores == nil {
			if ev.st.Labelled == 0 {
				return errVal("evals[%s].%s: none of its %d results%s carries a score, nor a label%s", strconv.Quote(ev.name), name, ev.st.Count, ev.where, noScoreHint)
			}
			return errVal("evals[%s].%s: none of its %d results%s carries a score (only labels: read .labels)", strconv.Quote(ev.name), name, ev.st.Count, ev.where)
		}
		return types.Double(get(ev.st.Scores))
	}, name + " of the scores of the results that carry one"}
}

func initEvals() {
	evalObj = newObjType(tEval,
		field{"count", cel.IntType, func(v any) ref.Val { return types.Int(v.(*evalVal).st.Count) }, "number of results (scored or labelled)"},
		evalScoreField("avg", func(l *Latency) float64 { return l.Avg }),
		evalScoreField("min", func(l *Latency) float64 { return l.Min }),
		evalScoreField("max", func(l *Latency) float64 { return l.Max }),
		evalScoreField("p50", func(l *Latency) float64 { return l.P50 }),
		evalScoreField("p90", func(l *Latency) float64 { return l.P90 }),
		evalScoreField("p95", func(l *Latency) float64 { return l.P95 }),
		field{"labels", evalLabelT, func(v any) ref.Val {
			ev := v.(*evalVal)
			if ev.st.Labelled == 0 {
				if ev.st.Scores == nil {
					return errVal("evals[%s].labels: none of its %d results%s carries a label, nor a score%s", strconv.Quote(ev.name), ev.st.Count, ev.where, noScoreHint)
				}
				return errVal("evals[%s].labels: none of its %d results%s carries a label (only scores: read .avg, .p50, …)", strconv.Quote(ev.name), ev.st.Count, ev.where)
			}
			return labelsMap{ev}
		}, "fraction of the labelled results with each label (0 for a label no result has)"},
	)
}

// EvalStatsOf computes the statistics per evaluation name of the results
// of spans.
func EvalStatsOf(spans []*span.Span) map[string]*EvalStats {
	out := map[string]*EvalStats{}
	scores := map[string][]float64{}
	for _, s := range spans {
		addEvals(out, scores, s.Evals)
	}
	return finishEvals(out, scores)
}

func addEvals(out map[string]*EvalStats, scores map[string][]float64, evals []span.Eval) {
	for i := range evals {
		ev := &evals[i]
		st := out[ev.Name]
		if st == nil {
			st = &EvalStats{}
			out[ev.Name] = st
		}
		st.Count++
		if ev.HasScore {
			scores[ev.Name] = append(scores[ev.Name], ev.Score)
		}
		if ev.Label != "" {
			if st.Labels == nil {
				st.Labels = map[string]int{}
			}
			st.Labelled++
			st.Labels[ev.Label]++
		}
	}
}

func finishEvals(out map[string]*EvalStats, scores map[string][]float64) map[string]*EvalStats {
	for name, sc := range scores {
		if l, err := summariseOwned(sc); err == nil {
			out[name].Scores = &l
		}
	}
	return out
}

func (g *group) evals() *evalsStats {
	if g.evalsV == nil {
		st := map[string]*EvalStats{}
		scores := map[string][]float64{}
		for _, e := range g.spans {
			addEvals(st, scores, e.s.Evals)
		}
		g.evalsV = newEvalsVal(finishEvals(st, scores), len(g.spans), "")
	}
	return g.evalsV
}

func newEvalsVal(st map[string]*EvalStats, selected int, where string) *evalsStats {
	ev := &evalsStats{byName: make(map[string]*evalVal, len(st)), count: selected, where: where}
	for name, s := range st {
		ev.byName[name] = &evalVal{name: name, st: *s, where: where}
		ev.names = append(ev.names, name)
	}
	slices.Sort(ev.names)
	return ev
}

// missing is the error of an evaluation name no result has.
func (ev *evalsStats) missing(name string) ref.Val {
	if ev.why != "" {
		return errVal("evals[%s]: %s", strconv.Quote(name), ev.why)
	}
	if ev.count == 0 {
		return errVal("evals[%s]: no spans selected%s", strconv.Quote(name), ev.where)
	}
	if len(ev.names) == 0 {
		return errVal("evals[%s]: none of the %d selected spans%s has an evaluation result", strconv.Quote(name), ev.count, ev.where)
	}
	return errVal("evals[%s]: no result of that name on the %d selected spans%s; names present: %s", strconv.Quote(name), ev.count, ev.where, quoteList(ev.names, 20))
}

// maxNameRunes bounds each name quoteList prints.
const maxNameRunes = 80

// quoteList quotes (escapes) untrusted names, at most max of them, each
// clipped at maxNameRunes runes.
func quoteList(names []string, max int) string {
	var b strings.Builder
	for i, n := range names {
		if i == max {
			fmt.Fprintf(&b, ", … (%d more)", len(names)-max)
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(strconv.Quote(safetext.Clip(n, maxNameRunes)))
	}
	return b.String()
}

// evalsMap is evals as a CEL map from name to llmcheck.Eval; a missing
// name is an error naming the names present, never a silent value. It is
// an Indexer with presence (FieldTester), not a traits.Mapper: CEL reads a
// Mapper through Find, whose "not found" becomes a bare "no such key";
// through Get the error says which names exist, and has(evals.name) is
// false for a missing name.
type evalsMap struct{ ev *evalsStats }

func (m evalsMap) Get(key ref.Val) ref.Val {
	k, ok := key.(types.String)
	if !ok {
		return errVal("evals: the key must be an evaluation name (a string), got %s", key.Type().TypeName())
	}
	v, found := m.ev.byName[string(k)]
	if !found {
		return m.ev.missing(string(k))
	}
	return obj{evalObj, v}
}

// IsSet implements has(evals.name).
func (m evalsMap) IsSet(key ref.Val) ref.Val { return m.Contains(key) }

func (m evalsMap) Contains(key ref.Val) ref.Val {
	k, ok := key.(types.String)
	if !ok {
		return types.False
	}
	_, found := m.ev.byName[string(k)]
	return types.Bool(found)
}

func (m evalsMap) Size() ref.Val { return types.Int(len(m.ev.names)) }

func (m evalsMap) Iterator() traits.Iterator {
	return types.NewStringList(theProvider, m.ev.names).Iterator()
}

func (m evalsMap) ConvertToNative(typeDesc reflect.Type) (any, error) {
	return nil, fmt.Errorf("evals cannot be converted to %v", typeDesc)
}

func (m evalsMap) ConvertToType(typeVal ref.Type) ref.Val {
	switch typeVal {
	case types.MapType:
		return m
	case types.TypeType:
		return types.MapType
	}
	return types.NewErr("type conversion error from '%s' to '%s'", types.MapType, typeVal)
}

func (m evalsMap) Equal(other ref.Val) ref.Val {
	o, ok := other.(evalsMap)
	return types.Bool(ok && o.ev == m.ev)
}

func (m evalsMap) Type() ref.Type { return types.MapType }
func (m evalsMap) Value() any     { return m.ev.names }
func (m evalsMap) String() string { return "evals{" + quoteList(m.ev.names, 20) + "}" }

// labelsMap is evals[name].labels: the fraction of the labelled results
// with each label; a label no result has is 0 (it is a fraction of
// results that exist).
type labelsMap struct{ ev *evalVal }

func (m labelsMap) frac(label string) float64 {
	return float64(m.ev.st.Labels[label]) / float64(m.ev.st.Labelled)
}

func (m labelsMap) Find(key ref.Val) (ref.Val, bool) {
	k, ok := key.(types.String)
	if !ok {
		return errVal("evals[%s].labels: the key must be a label (a string), got %s", strconv.Quote(m.ev.name), key.Type().TypeName()), false
	}
	return types.Double(m.frac(string(k))), true
}

func (m labelsMap) Get(key ref.Val) ref.Val {
	v, _ := m.Find(key)
	return v
}

func (m labelsMap) Contains(key ref.Val) ref.Val {
	k, ok := key.(types.String)
	if !ok {
		return types.False
	}
	_, found := m.ev.st.Labels[string(k)]
	return types.Bool(found)
}

func (m labelsMap) Size() ref.Val { return types.Int(len(m.ev.st.Labels)) }

func (m labelsMap) labels() []string {
	out := make([]string, 0, len(m.ev.st.Labels))
	for l := range m.ev.st.Labels {
		out = append(out, l)
	}
	slices.Sort(out)
	return out
}

func (m labelsMap) Iterator() traits.Iterator {
	return types.NewStringList(theProvider, m.labels()).Iterator()
}

func (m labelsMap) ConvertToNative(typeDesc reflect.Type) (any, error) {
	if typeDesc == reflect.TypeOf(map[string]float64{}) {
		out := map[string]float64{}
		for l := range m.ev.st.Labels {
			out[l] = m.frac(l)
		}
		return out, nil
	}
	return nil, fmt.Errorf("evals labels cannot be converted to %v", typeDesc)
}

func (m labelsMap) ConvertToType(typeVal ref.Type) ref.Val {
	switch typeVal {
	case types.MapType:
		return m
	case types.TypeType:
		return types.MapType
	}
	return types.NewErr("type conversion error from '%s' to '%s'", types.MapType, typeVal)
}

func (m labelsMap) Equal(other ref.Val) ref.Val {
	o, ok := other.(traits.Mapper)
	if !ok || o.Size() != m.Size() {
		return types.False
	}
	for l := range m.ev.st.Labels {
		v, found := o.Find(types.String(l))
		if !found || types.Equal(v, types.Double(m.frac(l))) != types.True {
			return types.False
		}
	}
	return types.True
}

func (m labelsMap) Type() ref.Type { return types.MapType }
func (m labelsMap) Value() any {
	v, _ := m.ConvertToNative(reflect.TypeOf(map[string]float64{}))
	return v
}
func (m labelsMap) String() string { return types.Format(m) }

// ---- regression tests ----

// Tests over evaluation results are named after what they read:
// evals["NAME"].score (the scores, per result) and
// evals["NAME"].labels["LABEL"] (1 per labelled result with the label,
// else 0).

// TestEvalScore names the test over the scores of an evaluation.
func TestEvalScore(name string) string { return "evals[" + strconv.Quote(name) + "].score" }

// TestEvalLabel names the test over the rate of a label of an evaluation.
func TestEvalLabel(name, label string) string {
	return "evals[" + strconv.Quote(name) + "].labels[" + strconv.Quote(label) + "]"
}

// ParseEvalTest splits a test named by TestEvalScore or TestEvalLabel.
func ParseEvalTest(t string) (name, label string, isLabel, ok bool) {
	rest, found := strings.CutPrefix(t, "evals[")
	if !found {
		return "", "", false, false
	}
	q, err := strconv.QuotedPrefix(rest)
	if err != nil {
		return "", "", false, false
	}
	name, _ = strconv.Unquote(q)
	rest = rest[len(q):]
	if rest == "].score" {
		return name, "", false, true
	}
	rest, found = strings.CutPrefix(rest, "].labels[")
	if !found {
		return "", "", false, false
	}
	q, err = strconv.QuotedPrefix(rest)
	if err != nil || rest[len(q):] != "]" {
		return "", "", false, false
	}
	label, _ = strconv.Unquote(q)
	return name, label, true, true
}

// evalTestSample says in words what an evaluation test compares.
func evalTestSample(t string) string {
	name, label, isLabel, ok := ParseEvalTest(t)
	switch {
	case !ok:
		return ""
	case isLabel:
		return fmt.Sprintf("label %s per labelled %s result (0/1)", strconv.Quote(label), strconv.Quote(name))
	}
	return fmt.Sprintf("%s scores per result", strconv.Quote(name))
}

// evalSample is the sample of an evaluation test over results of spans.
func evalSample(spans []*entry, t string) []float64 {
	name, label, isLabel, ok := ParseEvalTest(t)
	if !ok {
		return nil
	}
	out := []float64{}
	for _, e := range spans {
		for i := range e.s.Evals {
			ev := &e.s.Evals[i]
			if ev.Name != name {
				continue
			}
			switch {
			case isLabel && ev.Label != "":
				out = append(out, b2f(ev.Label == label))
			case !isLabel && ev.HasScore:
				out = append(out, ev.Score)
			}
		}
	}
	return out
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// evalRead is one evals statistic an expression reads: the text of the
// selection or index (evals["f"].avg, head.evals["c"].labels["ok"]), the
// side (head, base or "" for expect), and the regression test it needs
// ("" when the name or label is not a constant).
type evalRead struct {
	text string
	side string
	test string
}

// evalsRead returns the evals statistic e reads, if it is one:
// X.evals["name"].field or X.evals["name"].labels["label"], X being
// evals itself, head or base.
func evalsRead(e celast.Expr, info *celast.SourceInfo) (evalRead, bool) {
	var fieldName, label string
	labelConst := false
	cur := e
	switch cur.Kind() {
	case celast.SelectKind:
		fieldName = cur.AsSelect().FieldName()
		if fieldName == "labels" {
			return evalRead{}, false // read with its index
		}
		cur = cur.AsSelect().Operand()
	case celast.CallKind:
		call := cur.AsCall()
		if call.FunctionName() != operators.Index || len(call.Args()) != 2 {
			return evalRead{}, false
		}
		sel := call.Args()[0]
		if sel.Kind() != celast.SelectKind || sel.AsSelect().FieldName() != "labels" {
			return evalRead{}, false
		}
		fieldName = "labels"
		if a := call.Args()[1]; a.Kind() == celast.LiteralKind {
			if s, ok := a.AsLiteral().(types.String); ok {
				label, labelConst = string(s), true
			}
		}
		cur = sel.AsSelect().Operand()
	default:
		return evalRead{}, false
	}
	// cur must be <evals>[name]
	if cur.Kind() != celast.CallKind || cur.AsCall().FunctionName() != operators.Index || len(cur.AsCall().Args()) != 2 {
		return evalRead{}, false
	}
	base, key := cur.AsCall().Args()[0], cur.AsCall().Args()[1]
	side := ""
	switch {
	case base.Kind() == celast.IdentKind && base.AsIdent() == "evals":
	case base.Kind() == celast.SelectKind && base.AsSelect().FieldName() == "evals" &&
		base.AsSelect().Operand().Kind() == celast.IdentKind &&
		(base.AsSelect().Operand().AsIdent() == "head" || base.AsSelect().Operand().AsIdent() == "base"):
		side = base.AsSelect().Operand().AsIdent()
	default:
		return evalRead{}, false
	}
	r := evalRead{side: side}
	if key.Kind() == celast.LiteralKind {
		if s, ok := key.AsLiteral().(types.String); ok {
			switch {
			case fieldName == "labels" && labelConst:
				r.test = TestEvalLabel(string(s), label)
			case fieldName != "labels" && fieldName != "count":
				r.test = TestEvalScore(string(s))
			}
		}
	}
	if info != nil {
		if t, err := celparser.Unparse(e, info); err == nil {
			r.text = t
		}
	}
	return r, true
}

// evalTests lists the evaluation tests a rule's expectation reads on base
// or head.
func evalTests(a *cel.Ast) []string {
	var out []string
	celast.PreOrderVisit(a.NativeRep().Expr(), celast.NewExprVisitor(func(e celast.Expr) {
		if r, ok := evalsRead(e, nil); ok && r.side != "" && r.test != "" {
			out = appendUnique(out, r.test)
		}
	}))
	return out
}

// ---- baseline summaries ----

// evalsOf fills the evaluation results of a summary group.
func (s *Summary) evalsOf(g *group) {
	ev := g.evals()
	if len(ev.names) == 0 {
		return
	}
	s.Evals = map[string]*EvalSummary{}
	for _, name := range ev.names {
		es := &EvalSummary{EvalStats: ev.byName[name].st}
		if es.Scores != nil {
			es.Sample = bound(evalSample(g.spans, TestEvalScore(name)))
		}
		s.Evals[name] = es
	}
}

// validateEvals checks the evaluation results a summary file claims.
func (g *Summary) validateEvals() error {
	for name, e := range g.Evals {
		if e == nil {
			return fmt.Errorf("group %q: evaluation %s is null", g.Key, strconv.Quote(name))
		}
		sum := 0
		for l, n := range e.Labels {
			if n < 0 || n > e.Labelled {
				return fmt.Errorf("group %q: evaluation %s: label %s count %d is out of range (0 to labelled, %d)", g.Key, strconv.Quote(name), strconv.Quote(l), n, e.Labelled)
			}
			sum += n
		}
		switch {
		case e.Count < 0 || e.Count > MaxSummarySpans:
			return fmt.Errorf("group %q: evaluation %s: count %d is out of range (0 to %d)", g.Key, strconv.Quote(name), e.Count, MaxSummarySpans)
		case e.Labelled < 0 || e.Labelled > e.Count:
			return fmt.Errorf("group %q: evaluation %s: labelled %d is out of range (0 to its count, %d)", g.Key, strconv.Quote(name), e.Labelled, e.Count)
		case sum != e.Labelled:
			return fmt.Errorf("group %q: evaluation %s: its label counts add up to %d, not labelled (%d)", g.Key, strconv.Quote(name), sum, e.Labelled)
		case e.Scores != nil && (e.Scores.N < 1 || e.Scores.N > e.Count):
			return fmt.Errorf("group %q: evaluation %s: scores n %d is out of range (1 to its count, %d)", g.Key, strconv.Quote(name), e.Scores.N, e.Count)
		case e.Scores == nil && len(e.Sample) > 0, e.Scores != nil && len(e.Sample) > e.Scores.N:
			return fmt.Errorf("group %q: evaluation %s: score_sample has %d values for its scores", g.Key, strconv.Quote(name), len(e.Sample))
		}
	}
	return nil
}

func (sd *summarySide) evals() *evalsStats {
	const where = " in the baseline"
	for _, g := range sd.groups {
		if g.EvalsUnknown {
			ev := newEvalsVal(nil, sd.count(), where)
			ev.why = "the baseline is a version 2 summary, which keeps no evaluation results: rewrite it with `llmcheck baseline write`"
			return ev
		}
	}
	merged := map[string]*EvalStats{}
	var scores = map[string][]float64{}
	whole := map[string]bool{}
	groups := map[string]int{}
	for _, g := range sd.groups {
		for name, e := range g.Evals {
			m := merged[name]
			if m == nil {
				m = &EvalStats{}
				merged[name] = m
				whole[name] = true
			}
			groups[name]++
			m.Count += e.Count
			m.Labelled += e.Labelled
			for l, n := range e.Labels {
				if m.Labels == nil {
					m.Labels = map[string]int{}
				}
				m.Labels[l] += n
			}
			if e.Scores != nil {
				if len(e.Sample) != e.Scores.N {
					whole[name] = false
				}
				scores[name] = append(scores[name], e.Sample...)
				if m.Scores == nil {
					sc := *e.Scores
					m.Scores = &sc
				}
			}
		}
	}
	ev := newEvalsVal(merged, sd.count(), where)
	for name, v := range ev.byName {
		if groups[name] < 2 || v.st.Scores == nil {
			continue
		}
		if !whole[name] {
			v.err = fmt.Errorf("the baseline summary keeps a bounded sample of its scores: statistics over several groups need the baseline trace file")
			continue
		}
		l, _ := summariseOwned(slices.Clone(scores[name]))
		v.st.Scores = &l
	}
	return ev
}

// evalSamples is the sample of an evaluation test over the selected
// summary groups: the scores kept, or the label indicators the counts
// give exactly.
func (sd *summarySide) evalSamples(t string) []float64 {
	name, label, isLabel, ok := ParseEvalTest(t)
	if !ok {
		return nil
	}
	out := []float64{}
	for _, g := range sd.groups {
		e := g.Evals[name]
		if e == nil {
			continue
		}
		if isLabel {
			out = append(out, errorSample(e.Labelled, e.Labels[label])...)
		} else {
			out = append(out, e.Sample...)
		}
	}
	return out
}

// wholeEval reports whether the group keeps every value of an evaluation
// test.
func (g *Summary) wholeEval(t string) (bool, string) {
	name, _, isLabel, ok := ParseEvalTest(t)
	if !ok || isLabel {
		return true, ""
	}
	if e := g.Evals[name]; e != nil && e.Scores != nil && len(e.Sample) < e.Scores.N {
		return false, fmt.Sprintf("%d of its %d %s scores", len(e.Sample), e.Scores.N, strconv.Quote(name))
	}
	return true, ""
}

// unitOfTest is the unit one value of a test's sample stands for.
func unitOfTest(t string) string {
	if _, _, _, ok := ParseEvalTest(t); ok {
		return "result"
	}
	return testUnit[t]
}

// sampleOfTest says in words what a test compares.
func sampleOfTest(t string) string {
	if s := evalTestSample(t); s != "" {
		return s
	}
	return testSample[t]
}

// evalOffenders are the spans behind a failed evaluation statistic: for a
// score, the spans whose lowest score of that evaluation is lowest; for a
// label rate, the spans with a result of that evaluation that fails
// (Config.EvalVerdict), value 0, or when no result has a verdict, the
// spans with another label than the one read, value 0.
func evalOffenders(g *group, stat string) []Offender {
	name, label, isLabel, _ := ParseEvalTest(stat)
	type scored struct {
		e *entry
		v float64
	}
	var list []scored
	metric := fmt.Sprintf("evals[%s] score", strconv.Quote(name))
	if isLabel {
		verdicts := false
		var failing, other []scored
		for _, e := range g.spans {
			bad, differs := false, false
			for i := range e.s.Evals {
				ev := &e.s.Evals[i]
				if ev.Name != name || ev.Label == "" {
					continue
				}
				if pass, ok := g.rc.cfg.EvalVerdict(ev); ok {
					verdicts = true
					bad = bad || !pass
				}
				differs = differs || ev.Label != label
			}
			if bad {
				failing = append(failing, scored{e, 0})
			}
			if differs {
				other = append(other, scored{e, 0})
			}
		}
		list = other
		metric = fmt.Sprintf("evals[%s] label other than %s", strconv.Quote(name), strconv.Quote(label))
		if verdicts {
			list = failing
			metric = fmt.Sprintf("evals[%s] failing result", strconv.Quote(name))
		}
	} else {
		for _, e := range g.spans {
			low, has := math.Inf(1), false
			for i := range e.s.Evals {
				if ev := &e.s.Evals[i]; ev.Name == name && ev.HasScore {
					low, has = math.Min(low, ev.Score), true
				}
			}
			if has {
				list = append(list, scored{e, low})
			}
		}
		sort.SliceStable(list, func(i, j int) bool { return list[i].v < list[j].v })
	}
	var out []Offender
	for _, s := range list[:min(len(list), maxOffenders)] {
		out = append(out, Offender{TraceID: s.e.s.TraceID, SpanID: s.e.s.SpanID, Name: s.e.s.Name, Metric: metric, Value: s.v})
	}
	return out
}
