package assert

import (
	"fmt"
	"math"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
	"github.com/google/cel-go/common/types/traits"
	"github.com/google/cel-go/interpreter"

	"github.com/llmcheck/llmcheck/internal/safetext"
	"github.com/llmcheck/llmcheck/span"
)

// maxOffenders bounds the worst spans/traces listed per result.
const maxOffenders = 5

// Evaluate runs every assertion of the suite over run.
func (s *Suite) Evaluate(run *span.Run) *Results {
	rc := newRunCtx(s.Config, run)
	res := &Results{
		Version: SchemaVersion,
		Status:  Pass,
		Config:  s.Config.Path,
		Spans:   len(run.Spans),
		Traces:  len(run.Traces),
	}
	res.ConfigWarnings = s.Config.Warnings
	// Select first: each distinct where once (checks sharing a where share
	// the selection), each selection in parallel over the spans.
	bounds := boundsOf(run)
	sels := make([]selection, len(s.checks))
	slot := map[string]int{} // where key → index in wheres
	var wheres []whereSpec
	use := make([]int, len(s.checks))
	for i, c := range s.checks {
		use[i] = -1
		if err := c.checkCost(bounds, s.Config.CostLimit); err != nil {
			sels[i] = selection{err: err}
			continue
		}
		k, ok := slot[c.whereKey]
		if !ok {
			k = len(wheres)
			slot[c.whereKey] = k
			wheres = append(wheres, whereSpec{c.where, c.fastWhere})
		}
		use[i] = k
	}
	selected := rc.selectMany(wheres)
	for i, k := range use {
		if k >= 0 {
			sels[i] = selected[k]
		}
	}
	// Then evaluate the checks concurrently; each result has its place.
	if len(s.checks) > 0 { // no checks: Assertions stays nil, as before
		res.Assertions = make([]Result, len(s.checks))
	}
	var next atomic.Int64
	work := func() {
		for {
			i := int(next.Add(1)) - 1
			if i >= len(s.checks) {
				return
			}
			r := s.checks[i].evaluate(rc, sels[i])
			if !s.IncludeContent {
				elideContent(&r)
			}
			res.Assertions[i] = r
		}
	}
	var wg sync.WaitGroup
	for w := 1; w < min(runtime.GOMAXPROCS(0), len(s.checks)); w++ {
		wg.Add(1)
		go func() { defer wg.Done(); work() }()
	}
	work()
	wg.Wait()
	for _, r := range res.Assertions {
		if r.Status == Fail || r.Status == Error {
			res.Status = Fail
		}
	}
	return res
}

func (c *check) checkCost(b sizeBounds, limit uint64) error {
	if err := checkCost(c.whereEnv, c.whereAST, b, limit, "where"); err != nil {
		return err
	}
	if err := checkCost(c.eachEnv, c.eachAST, b, limit, "each"); err != nil {
		return err
	}
	return checkCost(c.expectEnv, c.expectAST, b, limit, "expect")
}

type selection struct {
	spans []*entry
	err   error
}

// whereSpec is a where predicate: its program and its Go form (see
// compileWhere), which may be nil.
type whereSpec struct {
	prog cel.Program
	fast spanPred
}

// selectSpans evaluates a where predicate over every span of the run.
func (rc *runCtx) selectSpans(where cel.Program, fast spanPred) selection {
	return rc.selectMany([]whereSpec{{where, fast}})[0]
}

// selectMany evaluates several where predicates over every span of the
// run in one pass over the spans.
func (rc *runCtx) selectMany(wheres []whereSpec) []selection {
	out := make([]selection, len(wheres))
	var preds []int // the wheres with a program
	for i, w := range wheres {
		if w.prog == nil {
			all := make([]*entry, len(rc.entries))
			for j := range rc.entries {
				all[j] = &rc.entries[j]
			}
			out[i] = selection{spans: all}
			continue
		}
		preds = append(preds, i)
	}
	if len(preds) == 0 {
		return out
	}
	// Programs are safe for concurrent use: evaluate the predicates on
	// chunks of the run in parallel, then join the chunks in order.
	const chunk = 16 << 10
	n := len(rc.entries)
	parts := make([][]selection, (n+chunk-1)/chunk)
	var wg sync.WaitGroup
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	for p := range parts {
		wg.Add(1)
		sem <- struct{}{}
		go func(p int) {
			defer func() { <-sem; wg.Done() }()
			parts[p] = rc.selectRange(wheres, preds, p*chunk, min((p+1)*chunk, n))
		}(p)
	}
	wg.Wait()
	for k, i := range preds {
		total := 0
		var err error
		for _, part := range parts {
			if part[k].err != nil {
				err = part[k].err // the first error in span order
				break
			}
			total += len(part[k].spans)
		}
		if err != nil {
			out[i] = selection{err: err}
			continue
		}
		spans := make([]*entry, 0, total)
		for _, part := range parts {
			spans = append(spans, part[k].spans...)
		}
		out[i] = selection{spans: spans}
	}
	return out
}

// selectRange evaluates the predicates wheres[preds[k]] on the spans from
// from to to; the k-th selection stops at its first error.
func (rc *runCtx) selectRange(wheres []whereSpec, preds []int, from, to int) []selection {
	out := make([]selection, len(preds))
	act := &spanActivation{}
	for i := from; i < to; i++ {
		act.e = &rc.entries[i]
		for k, wi := range preds {
			sel := &out[k]
			if sel.err != nil {
				continue
			}
			w := wheres[wi]
			if w.fast != nil {
				switch w.fast(act.e) {
				case triTrue:
					sel.spans = append(sel.spans, act.e)
					continue
				case triFalse:
					continue
				}
			}
			v, _, err := w.prog.Eval(act)
			if err != nil {
				s := act.e.s
				*sel = selection{err: fmt.Errorf("where: span %q (trace %s, span %s): %v", s.Name, s.TraceID, s.SpanID, err)}
				continue
			}
			b, ok := v.(types.Bool)
			if !ok {
				*sel = selection{err: fmt.Errorf("where: expected a bool, got %s", v.Type().TypeName())}
				continue
			}
			if b {
				sel.spans = append(sel.spans, act.e)
			}
		}
	}
	return out
}

func (c *check) evaluate(rc *runCtx, sel selection) (r Result) {
	a := c.a
	r = Result{
		Name:     a.Name,
		Where:    a.Where,
		Expect:   a.Expect,
		Severity: "error",
		Position: a.Pos,
		Observed: []Observed{},
	}
	r.Each = a.Each
	if a.Warn {
		r.Severity = "warn"
	}
	defer func() {
		if a.Warn && (r.Status == Fail || r.Status == Error) {
			r.Status = Warn
		}
	}()
	if sel.err != nil {
		r.Status, r.Message = Error, sel.err.Error()
		return r
	}
	g := &group{rc: rc, spans: sel.spans, k: rc.cfg.Retrieval.K}
	if a.K > 0 {
		g.k = a.K
	}
	r.Spans, r.Traces = len(g.spans), g.traceCount()
	if len(g.spans) == 0 {
		r.Status, r.Message = c.noSpans()
		r.Skipped, r.Failed = r.Status == Pass, r.Status == Fail
		return r
	}
	if a.Each != "" {
		c.evaluateRows(rc, g, &r)
		return r
	}
	ok, err := c.evalExpect(g)
	r.Observed = c.observe(g)
	if g.costDone {
		r.CostSource = g.costSrc
	}
	switch {
	case err != nil:
		r.Status, r.Message = Error, err.Error()
	case ok:
		r.Status, r.Message = Pass, summary(r.Observed, len(g.spans))
	default:
		r.Status, r.Failed, r.Message = Fail, true, summary(r.Observed, len(g.spans))
	}
	if r.Status != Pass {
		r.Offenders = offenders(g, c.stats, r.Status)
	}
	return r
}

// evaluateRows evaluates an each: assertion once per row: per trace,
// conversation, test or group value (groups.go).
func (c *check) evaluateRows(rc *runCtx, g *group, r *Result) {
	var rs rowSet
	if c.a.EachTrace {
		rs = traceRows(rc, g)
	} else {
		var err error
		if rs, err = c.groupRows(rc, g); err != nil {
			r.Status, r.Message = Error, err.Error()
			return
		}
	}
	noun := GroupNoun(c.a.Each)
	n := len(rs.spans)
	r.Rows = make([]Row, n)
	// Rows are evaluated in parallel, in chunks; each row has its place,
	// so the result is the sequential one.
	const chunk = 512
	nchunks := (n + chunk - 1) / chunk
	costSrcs := make([]string, nchunks) // first cost source of each chunk
	var next atomic.Int64
	work := func() {
		tg := &group{}
		act := &traceActivation{}
		for {
			ci := int(next.Add(1)) - 1
			if ci >= nchunks {
				return
			}
			for i := ci * chunk; i < min((ci+1)*chunk, n); i++ {
				*tg = group{rc: rc, spans: rs.spans[i], k: g.k}
				row := &r.Rows[i]
				*row = Row{Observed: []Observed{}}
				var ea interpreter.Activation = tg
				if rs.traces != nil {
					act.group, act.tv, act.tref = tg, &rc.tvals[rs.traces[i]], nil
					t := act.tv.t
					row.TraceID, row.Name = t.ID, t.Root.Name
					ea = act
				} else {
					row.Group = rs.groups[i]
					row.Traces = tg.traceCount()
				}
				if len(tg.spans) == 0 {
					row.Status, row.Message = c.noSpans()
					continue
				}
				ok, err := c.evalExpect(ea)
				row.Spans, row.Observed = len(tg.spans), c.observe(ea)
				switch {
				case err != nil:
					row.Status, row.Message = Error, err.Error()
				case ok:
					row.Status, row.Message = Pass, summary(row.Observed, len(tg.spans))
				default:
					row.Status, row.Message = Fail, summary(row.Observed, len(tg.spans))
					if len(row.Observed) == 0 {
						row.Message = "expect is false " + row.Message
					}
				}
				if tg.costDone && costSrcs[ci] == "" {
					costSrcs[ci] = tg.costSrc
				}
			}
		}
	}
	workers := min(runtime.GOMAXPROCS(0), nchunks)
	var wg sync.WaitGroup
	for w := 1; w < workers; w++ {
		wg.Add(1)
		go func() { defer wg.Done(); work() }()
	}
	work()
	wg.Wait()
	var failed, errored, empty int
	var firstBad *Row
	for i := range r.Rows {
		switch r.Rows[i].Status {
		case Error:
			errored++
		case Fail:
			failed++
		case Pass:
			if r.Rows[i].Spans == 0 {
				empty++ // allow_empty: nothing selected in this row
			}
		}
		if r.Rows[i].Status != Pass && firstBad == nil {
			firstBad = &r.Rows[i]
		}
	}
	var costSrc string
	for _, cs := range costSrcs {
		if cs != "" {
			costSrc = cs
			break
		}
	}
	r.CostSource = costSrc
	nouns := noun + "s"
	switch {
	case failed > 0:
		r.Status, r.Failed = Fail, true
		r.Message = fmt.Sprintf("%d of %s failed", failed, count(n, noun, nouns))
	case errored > 0:
		r.Status = Error
		r.Message = fmt.Sprintf("%d of %s could not be evaluated", errored, count(n, noun, nouns))
	case empty > 0:
		// Rows where where selected nothing pass by allow_empty; saying
		// "all N passed" would claim checks that were never made.
		r.Status = Pass
		// (When no row has a selected span, the check never gets here:
		// noSpans above speaks for the whole assertion.)
		r.Message = fmt.Sprintf("%s passed, %s selected no spans (allow_empty)", count(n-empty, noun, nouns), count(empty, "other", "others"))
	default:
		r.Status = Pass
		r.Message = fmt.Sprintf("all %d %s passed", n, nouns)
		if n == 1 {
			r.Message = "the 1 " + noun + " passed"
		}
	}
	if errored > 0 && failed > 0 {
		r.Message += fmt.Sprintf(", %d could not be evaluated", errored)
	}
	if firstBad != nil {
		if rs.traces != nil {
			r.Message += fmt.Sprintf("; first: %s (trace %s): %s", safetext.Clip(firstBad.Name, safetext.MaxRunes), firstBad.TraceID, firstBad.Message)
		} else {
			r.firstLabel = GroupLabel(c.a.Each, firstBad.Group)
			r.Message += fmt.Sprintf("; first: %s: %s", r.firstLabel, firstBad.Message)
		}
	} else if rng := ranges(r.Rows, "in every "+noun); rng != "" {
		r.Message += "; " + rng
	}
	// The worst rows: failed and errored rows, the first few by value.
	for _, row := range r.Rows {
		if row.Status == Pass || len(r.Offenders) >= maxOffenders {
			continue
		}
		o := Offender{TraceID: row.TraceID, Name: row.Name, Group: row.Group, Metric: noun}
		if row.Group != "" {
			o.Name = row.Group
		}
		if row.Spans == 0 {
			o.Metric = "selected spans" // where selected nothing in this row
		}
		numeric := false
		for _, ob := range row.Observed {
			if f, ok := ob.Value.(float64); ok {
				o.Metric, o.Value, o.Unit, numeric = ob.Expr, f, ob.Unit, true
				break
			}
			if i, ok := ob.Value.(int64); ok {
				o.Metric, o.Value, o.Unit, numeric = ob.Expr, float64(i), ob.Unit, true
				break
			}
		}
		if !numeric && row.Spans > 0 {
			// no number to show (trace.tools, a comprehension): the row's
			// message says what was observed
			o.Detail = row.Message
		}
		r.Offenders = append(r.Offenders, o)
	}
}

// traceRows splits the selected spans of g by trace: every trace of the
// run is a row, the traces where nothing was selected following, in run
// order, with no spans.
func traceRows(rc *runCtx, g *group) rowSet {
	tl := g.traces()
	groups := g.byTrace()
	if len(tl) < len(rc.tvals) {
		seen := make([]bool, len(rc.tvals))
		for _, ti := range tl {
			seen[ti] = true
		}
		tl = slices.Clip(tl)
		for ti := range rc.tvals {
			if !seen[ti] {
				tl = append(tl, int32(ti))
				groups = append(groups, nil)
			}
		}
	}
	return rowSet{spans: groups, traces: tl}
}

// noSpans is the verdict over a selection (or, with each: trace, a
// trace) where nothing matched: a failure unless allow_empty allows it.
func (c *check) noSpans() (Status, string) {
	a := c.a
	switch {
	case a.AllowEmpty:
		return Pass, "no spans matched; allowed by allow_empty: true"
	case a.Where != "":
		return Fail, fmt.Sprintf("no spans matched where: %s (a check over no data fails; set allow_empty: true if that is expected)", a.Where)
	}
	return Fail, "no spans were recorded (a check over no data fails)"
}

// maxQuoted is the longest quoted value kept in a message: longer ones are
// content (a prompt, a completion) rather than an identifier.
const maxQuoted = 32

// mayHaveLongQuote is a cheap test that s could hold a quoted value longer
// than maxQuoted: two quotes of one kind more than maxQuoted+1 bytes apart.
func mayHaveLongQuote(s string) bool {
	for _, q := range []byte{'"', '\''} {
		i := strings.IndexByte(s, q)
		if i >= 0 && strings.LastIndexByte(s, q)-i > maxQuoted+1 {
			return true
		}
	}
	return false
}

// elideQuoted replaces the quoted values of s longer than maxQuoted with
// "…(N characters elided; --include-content shows them)". It scans s left
// to right, quote by quote: a closing quote never opens the next value, so
// the unquoted text between two quoted values (an observed number) is
// never taken for one. A ' opens a value only after a space, (, [, {, :,
// = or , (an apostrophe inside a word does not).
func elideQuoted(s string) string { return elideQuotedKeep(s, nil) }

// elideQuotedKeep is elideQuoted keeping the quoted values in keep (their
// text between the quotes, as strconv.Quote writes it).
func elideQuotedKeep(s string, keep map[string]bool) string {
	var b strings.Builder
	last := 0
	for i := 0; i < len(s); i++ {
		q := s[i]
		if q != '"' && q != '\'' {
			continue
		}
		if q == '\'' && i > 0 && !strings.ContainsRune(" ([{:=,", rune(s[i-1])) {
			continue
		}
		end := -1
		for j := i + 1; j < len(s); j++ {
			if s[j] == '\\' {
				j++
				continue
			}
			if s[j] == q {
				end = j
				break
			}
		}
		if end < 0 {
			break
		}
		if n := end - i - 1; n > maxQuoted && !keep[s[i+1:end]] {
			b.WriteString(s[last:i])
			fmt.Fprintf(&b, "%c…(%d characters elided; --include-content shows them)%c", q, n, q)
			last = end + 1
		}
		i = end
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

// elideContent removes long quoted values from messages: a CEL error such
// as a failed conversion quotes the attribute value it was given.
//
// The tool, agent and model names of trace.tools, .agents and .models
// are names, not content: kept whole up to safetext.MaxRunes bytes.
func elideContent(r *Result) {
	var names, quoted map[string]bool // names kept, and as messages quote them
	collect := func(obs []Observed) {
		for _, o := range obs {
			l, ok := o.Value.([]string)
			if !ok || !trajectoryExprs[o.Expr] {
				continue
			}
			for _, v := range l {
				if len(v) > maxQuoted && len(v) <= safetext.MaxRunes && !names[v] {
					if names == nil {
						names, quoted = map[string]bool{}, map[string]bool{}
					}
					q := strconv.Quote(v)
					names[v], quoted[q[1:len(q)-1]] = true, true
				}
			}
		}
	}
	collect(r.Observed)
	for i := range r.Rows {
		collect(r.Rows[i].Observed)
	}
	clean := func(s string) string {
		if !mayHaveLongQuote(s) {
			return s
		}
		return elideQuotedKeep(s, quoted)
	}
	observed := func(obs []Observed) {
		for i := range obs {
			obs[i].Error = clean(obs[i].Error)
			if v, ok := obs[i].Value.(string); ok && len(v) > 32 {
				obs[i].Value = strings.Trim(clean(strconv.Quote(v)), `"`)
			}
			if l, ok := obs[i].Value.([]string); ok {
				for j, v := range l {
					if len(v) > maxQuoted && !(names[v] && trajectoryExprs[obs[i].Expr]) {
						l[j] = strings.Trim(clean(strconv.Quote(v)), `"`)
					}
				}
			}
		}
	}
	if i := strings.Index(r.Message, r.firstLabel); r.firstLabel != "" && i >= 0 {
		// the failing group's name is a name, not content
		r.Message = clean(r.Message[:i]) + r.firstLabel + clean(r.Message[i+len(r.firstLabel):])
	} else {
		r.Message = clean(r.Message)
	}
	observed(r.Observed)
	for i := range r.Offenders {
		r.Offenders[i].Detail = clean(r.Offenders[i].Detail)
	}
	for i := range r.Rows {
		r.Rows[i].Message = clean(r.Rows[i].Message)
		observed(r.Rows[i].Observed)
	}
}

// ranges summarises the observed values across rows: "cost from $0.0001 to $0.0003".
func ranges(rows []Row, every string) string {
	if len(rows) == 0 {
		return ""
	}
	var parts []string
	for i, first := range rows[0].Observed {
		lo, hi := math.Inf(1), math.Inf(-1)
		isInt := true
		for _, row := range rows {
			if i >= len(row.Observed) {
				continue
			}
			switch v := row.Observed[i].Value.(type) {
			case float64:
				lo, hi, isInt = math.Min(lo, v), math.Max(hi, v), false
			case int64:
				lo, hi = math.Min(lo, float64(v)), math.Max(hi, float64(v))
			}
		}
		if math.IsInf(lo, 0) {
			continue
		}
		val := func(f float64) string {
			if isInt {
				return FormatValue(int64(f), first.Unit)
			}
			return FormatValue(f, first.Unit)
		}
		if lo == hi {
			parts = append(parts, fmt.Sprintf("%s = %s %s", first.Expr, val(lo), every))
		} else {
			parts = append(parts, fmt.Sprintf("%s from %s to %s", first.Expr, val(lo), val(hi)))
		}
	}
	return strings.Join(parts, ", ")
}

// evalExpect decides the expectation in Go when it can, else with CEL.
func (c *check) evalExpect(act interpreter.Activation) (bool, error) {
	if c.fastExpect != nil {
		switch c.fastExpect(act) {
		case triTrue:
			return true, nil
		case triFalse:
			return false, nil
		}
	}
	return evalBool(c.expect, act)
}

func evalBool(p cel.Program, act interpreter.Activation) (bool, error) {
	v, _, err := p.Eval(act)
	if err != nil {
		return false, err
	}
	b, ok := v.(types.Bool)
	if !ok {
		return false, fmt.Errorf("expect: expected a bool, got %s", v.Type().TypeName())
	}
	return bool(b), nil
}

func (c *check) observe(act interpreter.Activation) []Observed {
	out := make([]Observed, 0, len(c.observed))
	for i := range c.observed {
		o := &c.observed[i]
		ob := Observed{Expr: o.text, Unit: o.unit}
		if v, err, ok := o.read(act); ok {
			if err != nil {
				ob.Error = err.Error()
			} else {
				ob.Value = nativeValue(v)
			}
			out = append(out, ob)
			continue
		}
		v, _, err := o.prog.Eval(act)
		if err != nil {
			ob.Error = err.Error()
		} else {
			ob.Value = nativeValue(v)
		}
		out = append(out, ob)
	}
	return out
}

// read evaluates an observed identifier-and-fields expression through the
// activation and the objects' getters, as CEL's attribute resolution does
// (a getter's error value is the evaluation error); ok is false when the
// program must be evaluated instead.
func (o *observedProg) read(act interpreter.Activation) (v ref.Val, err error, ok bool) {
	if o.root == "" {
		return nil, nil, false
	}
	v, err, ok = readPath(act, o.root, o.path)
	if ok && err == nil && len(o.path) == 0 {
		if _, isObj := v.(obj); isObj {
			return nil, nil, false
		}
	}
	return v, err, ok
}

func nativeValue(v ref.Val) any {
	switch x := v.(type) {
	case types.Double:
		return float64(x)
	case types.Int:
		return int64(x)
	case types.Uint:
		return int64(x)
	case types.Bool:
		return bool(x)
	case types.String:
		return string(x)
	case traits.Lister:
		if l, ok := shortStrings(x); ok {
			return l // a trajectory: trace.tools, trace.models
		}
		return fmt.Sprintf("(a list of %v)", x.Size())
	case traits.Mapper:
		if n, ok := x.Size().(types.Int); ok {
			return "(a map of " + count(int(n), "entry", "entries") + ")"
		}
		return fmt.Sprintf("(a map of %v entries)", x.Size())
	}
	return fmt.Sprint(v.Value())
}

// maxListShown is the longest list of strings an observed value shows
// element by element; a longer one is "(a list of N)".
const maxListShown = 20

// shortStrings returns the elements of l when it is a list of at most
// maxListShown strings.
func shortStrings(l traits.Lister) ([]string, bool) {
	n, ok := l.Size().(types.Int)
	if !ok || n > maxListShown {
		return nil, false
	}
	out := make([]string, 0, int(n))
	for it := l.Iterator(); it.HasNext() == types.True; {
		s, ok := it.Next().(types.String)
		if !ok {
			return nil, false
		}
		out = append(out, string(s))
	}
	return out, true
}

// summary is the human line of observed values: "latency.p95 = 1623.4 ms (412 spans)".
func summary(obs []Observed, spans int) string {
	var b strings.Builder
	b.Grow(32 * (len(obs) + 1))
	for i, o := range obs {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(o.String())
	}
	if len(obs) > 0 {
		b.WriteByte(' ')
	}
	if spans == 1 {
		b.WriteString("(1 span)")
	} else {
		b.WriteByte('(')
		b.WriteString(strconv.Itoa(spans))
		b.WriteString(" spans)")
	}
	return b.String()
}

// String renders "expr = value unit" or "expr: error".
func (o Observed) String() string {
	if o.Error != "" {
		return o.Expr + ": " + o.Error
	}
	return o.Expr + " = " + FormatValue(o.Value, o.Unit)
}

// FormatValue renders an observed value with its unit.
func FormatValue(v any, unit string) string {
	if f, ok := v.(float64); ok && unit == "ms" {
		return FormatMS(f)
	}
	var s string
	switch x := v.(type) {
	case float64:
		s = FormatFloat(x)
	case int64:
		s = strconv.FormatInt(x, 10)
	case string:
		s = strconv.Quote(x)
	case []string:
		q := make([]string, len(x))
		for i, e := range x {
			q[i] = strconv.Quote(e)
		}
		s = "[" + strings.Join(q, ", ") + "]"
	default:
		s = fmt.Sprint(x)
	}
	switch unit {
	case "":
		return s
	case "USD":
		return "$" + s
	default:
		return s + " " + unit
	}
}

// FormatFloat renders a float compactly: two decimals at or above 1, six
// significant digits below.
func FormatFloat(f float64) string {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return strconv.FormatFloat(f, 'g', -1, 64)
	}
	if math.Abs(f) >= 1 {
		return strconv.FormatFloat(math.Round(f*100)/100, 'f', -1, 64)
	}
	if f == 0 {
		return "0"
	}
	decimals := 5 - int(math.Floor(math.Log10(math.Abs(f))))
	scale := math.Pow(10, float64(decimals))
	return strconv.FormatFloat(math.Round(f*scale)/scale, 'f', -1, 64)
}

// offenders lists the spans (or retrieval queries) that make the first
// statistic an expression reads that has offenders fail, worst first, at
// most maxOffenders:
//
//   - latency.min: the fastest spans; other latency statistics: the slowest
//   - tokens.X: the spans the sums count that report X, largest X first
//     (a span without a cached count is no offender of tokens.cached)
//   - cost: the costliest priced spans the sums count; none when cost is an
//     error (the message names the span or model without a price)
//   - errors, error_rate: the spans with error status
//   - retrieval.hit_rate: the queries without a relevant document in the
//     top k; retrieval.mrr, .recall, .precision, .ndcg: the queries whose
//     score is below 1, lowest first (a query scoring 1 is no offender)
//
// Other statistics (count, retrieval.queries, percentile(...), …) have no
// offenders.
func offenders(g *group, stats []string, status Status) []Offender {
	if len(stats) == 0 {
		return nil
	}
	type scored struct {
		e *entry
		v float64
	}
	var list []scored
	stat := stats[0]
	for _, st := range stats { // the first that has offenders
		if st != "retrieval.queries" && st != "retrieval.without_ground_truth" && st != "retrieval.k" {
			stat = st
			break
		}
	}
	if _, _, _, ok := ParseEvalTest(stat); ok {
		if status == Error {
			return nil
		}
		return evalOffenders(g, stat)
	}
	metric, unit := stat, ""
	desc := true // worst = largest value
	cat, field, _ := strings.Cut(stat, ".")
	switch cat {
	case "latency":
		metric, unit = "duration_ms", "ms"
		desc = field != "min"
		for _, e := range g.spans {
			list = append(list, scored{e, e.s.DurationMS})
		}
	case "ttft":
		metric, unit = "ttft_ms", "ms"
		for _, e := range g.spans {
			if e.s.HasTTFT {
				list = append(list, scored{e, e.s.TTFTMS})
			}
		}
	case "tokens":
		// the spans the sums count (span.Span.CountsUsage)
		for _, e := range g.spans {
			if v, ok := tokenCount(&e.s.Tokens, field); ok && e.s.CountsUsage() {
				list = append(list, scored{e, float64(v)})
			}
		}
	case "cost":
		if status == Error {
			return nil
		}
		unit = "USD"
		for _, e := range g.spans {
			if e.costOK && e.s.CountsUsage() {
				list = append(list, scored{e, e.cost})
			}
		}
	case "errors", "error_rate":
		metric = "error"
		for _, e := range g.spans {
			if e.s.IsError() {
				list = append(list, scored{e, 1})
			}
		}
	case "retrieval":
		desc = false // lowest score first
		var score func(QueryMetrics) float64
		switch field {
		case "hit_rate":
			metric, score = "hit", func(m QueryMetrics) float64 { return m.Hit }
		case "mrr":
			metric, score = "reciprocal_rank", func(m QueryMetrics) float64 { return m.RR }
		case "recall":
			score = func(m QueryMetrics) float64 { return m.Recall }
		case "precision":
			score = func(m QueryMetrics) float64 { return m.Precision }
		case "ndcg":
			score = func(m QueryMetrics) float64 { return m.NDCG }
		default:
			return nil
		}
		if metric == stat {
			metric = field
		}
		scores, _ := g.queryScores()
		for _, q := range scores {
			if v := score(q.m); v < 1 {
				list = append(list, scored{q.e, v})
			}
		}
	default:
		return nil
	}
	if desc {
		sort.SliceStable(list, func(i, j int) bool { return list[i].v > list[j].v })
	} else {
		sort.SliceStable(list, func(i, j int) bool { return list[i].v < list[j].v })
	}
	var out []Offender
	for _, s := range list[:min(len(list), maxOffenders)] {
		out = append(out, Offender{TraceID: s.e.s.TraceID, SpanID: s.e.s.SpanID, Name: s.e.s.Name, Metric: metric, Value: s.v, Unit: unit})
	}
	return out
}

// tokenCount is the count a tokens.FIELD sum adds for one span, and
// whether the span reports it.
func tokenCount(t *span.Tokens, field string) (int64, bool) {
	switch field {
	case "input":
		return t.Input, t.HasInput
	case "output":
		return t.Output, t.HasOutput
	case "total":
		return t.Total, t.HasTotal
	case "cached":
		return t.Cached, t.HasCached
	case "cache_write":
		return t.CacheWrite, t.HasCacheWrite
	case "reasoning":
		return t.Reasoning, t.HasReasoning
	}
	return 0, false
}

// Parent implementations for the activations.
func (g *group) Parent() interpreter.Activation           { return nil }
func (a *spanActivation) Parent() interpreter.Activation  { return nil }
func (a *traceActivation) Parent() interpreter.Activation { return nil }
