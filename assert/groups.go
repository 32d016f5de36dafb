package assert

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"unsafe"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/common/types"

	"github.com/llmcheck/llmcheck/internal/safetext"
	"github.com/llmcheck/llmcheck/span"
)

// Groups (issue #14): each: evaluates an assertion once per trace, per
// conversation, per test, or per value of a CEL string expression over
// span (each: span.attrs["app.team"]), with one row per group in every
// report.

// The keywords of each:; any other value is a CEL expression.
const (
	EachTrace        = "trace"
	EachConversation = "conversation"
	EachTest         = "test"
)

// NoGroup is the group of the selected spans that have no group value.
const NoGroup = "(none)"

// eachKeyword says whether each is one of the keywords.
func eachKeyword(each string) bool {
	return each == EachTrace || each == EachConversation || each == EachTest
}

// GroupNoun is what one row of an each: result is: "trace",
// "conversation", "test" or "group" (an expression).
func GroupNoun(each string) string {
	if eachKeyword(each) {
		return each
	}
	return "group"
}

// GroupLabel names the row of group value v of an each: result, as
// messages and reports show it: conversation "c-42", test "checkout /
// refunds", span.attrs["app.team"] = "payments", or conversation (none).
func GroupLabel(each, v string) string {
	q := NoGroup
	if v != NoGroup {
		q = strconv.Quote(safetext.Clip(v, safetext.MaxRunes))
	}
	if eachKeyword(each) {
		return each + " " + q
	}
	return safetext.Clip(each, safetext.MaxRunes) + " = " + q
}

// compileEach compiles an each: expression over span; it must yield a
// string.
func compileEach(env *cel.Env, a Assertion) (*cel.Ast, cel.Program, []Diagnostic) {
	ast, iss := env.Compile(a.Each)
	if iss != nil && iss.Err() != nil {
		var diags []Diagnostic
		for _, e := range iss.Errors() {
			diags = append(diags, Diagnostic{Pos: a.eachPos.at(e.Location.Line(), e.Location.Column()),
				Message: fmt.Sprintf("each: %s (each: is trace, conversation, test or a CEL string expression over span, such as span.attrs[\"app.team\"])", e.Message)})
		}
		return nil, nil, diags
	}
	t := ast.OutputType()
	if !t.IsExactType(cel.StringType) && !t.IsExactType(cel.DynType) {
		return nil, nil, []Diagnostic{{Pos: a.EachPos, Message: fmt.Sprintf("each: %q is %s; an each: expression must be a string (the group's name), e.g. string(span.attrs[\"tenant.id\"])", a.Each, t)}}
	}
	prg, err := env.Program(ast)
	if err != nil {
		return nil, nil, []Diagnostic{{Pos: a.EachPos, Message: "each: " + err.Error()}}
	}
	return ast, prg, nil
}

// grouping is the group value of every span of a run for one each:,
// computed once per run.
type grouping struct {
	once sync.Once
	// per entry: index into values, -1 (no value), or -2-j when the
	// expression failed on entry j, which the entry takes its value from
	key    []int32
	values []string        // distinct values
	errs   map[int32]error // by entry: the expression's error on it
}

// keyErr is the error behind key k, or nil for a value or no value.
func (gr *grouping) keyErr(k int32) error {
	if k > -2 {
		return nil
	}
	return gr.errs[-k-2]
}

// groupingOf returns the grouping of the run by c's each:.
func (rc *runCtx) groupingOf(c *check) *grouping {
	v, _ := rc.groupings.LoadOrStore(c.a.Each, &grouping{})
	gr := v.(*grouping)
	gr.once.Do(func() { gr.compute(rc, c) })
	return gr
}

func (gr *grouping) compute(rc *runCtx, c *check) {
	n := len(rc.entries)
	gr.key = make([]int32, n)
	ids := map[string]int32{}
	intern := func(v string) int32 {
		k, ok := ids[v]
		if !ok {
			k = int32(len(gr.values))
			ids[v] = k
			gr.values = append(gr.values, v)
		}
		return k
	}
	if c.a.Each == EachTest {
		// Every span of a trace belongs to the trace's test, named as
		// diff names it.
		tk := make([]int32, len(rc.tvals))
		for i := range rc.tvals {
			name, _ := span.TestName(rc.tvals[i].t, span.DefaultTestAttrs)
			tk[i] = intern(name)
		}
		for i := range rc.entries {
			gr.key[i] = tk[rc.entries[i].ti]
		}
		return
	}
	// A span's own value; a span without one takes its nearest
	// ancestor's (a conversation id or a team set on the agent or root
	// span covers the model calls below it).
	own := make([]int32, n)
	act := &spanActivation{}
	for i := range rc.entries {
		e := &rc.entries[i]
		var v string
		if c.a.Each == EachConversation {
			v = e.s.Conversation
		} else {
			act.e = e
			val, _, err := c.eachProg.Eval(act)
			if err != nil {
				if strings.HasPrefix(err.Error(), "no such key") {
					own[i] = -1 // an absent attribute: no value
					continue
				}
				gr.fail(own, i, fmt.Errorf("each: span %q (trace %s, span %s): %v", e.s.Name, e.s.TraceID, e.s.SpanID, err))
				continue
			}
			s, ok := val.(types.String)
			if !ok {
				gr.fail(own, i, fmt.Errorf("each: span %q (trace %s, span %s): expected a string, got %s (convert with string(...))", e.s.Name, e.s.TraceID, e.s.SpanID, val.Type().TypeName()))
				continue
			}
			v = string(s)
		}
		if v == "" {
			own[i] = -1
			continue
		}
		own[i] = intern(v)
	}
	for i := range rc.entries {
		k := own[i]
		for cur, d := rc.run.Parent(rc.entries[i].s), 0; k == -1 && cur != nil && d < 1000; cur, d = rc.run.Parent(cur), d+1 {
			j, ok := rc.indexOf(cur)
			if !ok {
				break
			}
			k = own[j]
		}
		gr.key[i] = k
	}
}

// fail records that the each: expression failed on entry i: an error for
// the rows whose spans take their value from it (a span that is not
// selected and not an ancestor a selected span takes its value from
// does not matter).
func (gr *grouping) fail(own []int32, i int, err error) {
	if gr.errs == nil {
		gr.errs = map[int32]error{}
	}
	gr.errs[int32(i)] = err
	own[i] = -2 - int32(i)
}

// indexOf is the index of the run's span s in rc.entries; ok is false
// for a span that is not one of the run's.
func (rc *runCtx) indexOf(s *span.Span) (i int32, ok bool) {
	rc.entryOf(s) // builds the index
	i, ok = rc.index[s]
	return i, ok
}

// rowSet is the rows of an each: result before evaluation: the selected
// spans of each row, and what identifies it (a trace, or a group value).
type rowSet struct {
	spans  [][]*entry
	traces []int32  // each: trace: the trace of each row
	groups []string // otherwise: the group value of each row
}

// groupRows splits the selected spans of g by c's each: (not trace).
// Every conversation and test of the run is a row, as every trace is one
// with each: trace (one where nothing was selected fails as "no spans
// matched", unless allow_empty); an expression's rows are the values of
// the selected spans. Rows are in value order; the selected spans
// without a value form a last row, NoGroup.
func (c *check) groupRows(rc *runCtx, g *group) (rowSet, error) {
	gr := rc.groupingOf(c)
	count := make([]int, len(gr.values)+1) // last: no value
	base := rc.entries
	idx := func(e *entry) int {
		// e points into rc.entries
		k := gr.key[entryIndex(base, e)]
		if k < 0 {
			return len(gr.values)
		}
		return int(k)
	}
	for _, e := range g.spans {
		if err := gr.keyErr(gr.key[entryIndex(base, e)]); err != nil {
			return rowSet{}, err
		}
		count[idx(e)]++
	}
	all := c.a.Each == EachConversation || c.a.Each == EachTest
	order := make([]int, 0, len(gr.values))
	for k := range gr.values {
		if all || count[k] > 0 {
			order = append(order, k)
		}
	}
	sort.Slice(order, func(i, j int) bool { return gr.values[order[i]] < gr.values[order[j]] })
	if count[len(gr.values)] > 0 {
		order = append(order, len(gr.values))
	}
	row := make([]int, len(gr.values)+1)
	rs := rowSet{spans: make([][]*entry, len(order)), groups: make([]string, len(order))}
	for i, k := range order {
		row[k] = i
		rs.spans[i] = make([]*entry, 0, count[k])
		if k == len(gr.values) {
			rs.groups[i] = NoGroup
		} else {
			rs.groups[i] = gr.values[k]
		}
	}
	for _, e := range g.spans {
		r := row[idx(e)]
		rs.spans[r] = append(rs.spans[r], e)
	}
	return rs, nil
}

// entryIndex is the index of e in entries, which holds it.
func entryIndex(entries []entry, e *entry) int {
	i := int((uintptr(unsafe.Pointer(e)) - uintptr(unsafe.Pointer(unsafe.SliceData(entries)))) / unsafe.Sizeof(entry{}))
	if i < 0 || i >= len(entries) || &entries[i] != e {
		panic("assert: entry not of this run")
	}
	return i
}
