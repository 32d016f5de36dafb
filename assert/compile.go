package assert

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/google/cel-go/cel"
	celast "github.com/google/cel-go/common/ast"
	"github.com/google/cel-go/common/operators"
	celparser "github.com/google/cel-go/parser"
)

// Suite is a configuration whose expressions are all compiled and type
// checked; it can be evaluated over any number of runs, concurrently.
type Suite struct {
	Config *Config
	// IncludeContent keeps attribute values in evaluation error messages;
	// by default quoted values longer than 32 characters (prompt and
	// completion text) are elided from results and reports.
	IncludeContent bool
	checks         []*check
	rules          []*check
}

type check struct {
	a          Assertion
	where      cel.Program
	fastWhere  spanPred // where compiled to Go, nil when not covered
	whereKey   string   // where in normal form: checks with equal keys select the same spans
	expect     cel.Program
	eachProg   cel.Program // an each: expression over span (groups.go)
	eachEnv    *cel.Env
	eachAST    *cel.Ast
	fastExpect actPred // expect decided in Go when it can (see compileExpect)
	whereEnv   *cel.Env
	whereAST   *cel.Ast
	expectEnv  *cel.Env
	expectAST  *cel.Ast
	observed   []observedProg
	categories []string // statistics the expectation uses (latency, tokens, …)
	stats      []string // the statistics themselves (latency.p95, tokens.cached, cost), for offenders
	// For a regression rule: the samples its significance test compares
	// (TestLatency, …) and whether the expectation reads base.spans or
	// base.traces, which a baseline summary does not keep.
	tests          []string
	readsBaseSpans bool
}

type observedProg struct {
	text string
	unit string
	prog cel.Program
	// root and path, when the expression is an identifier followed by field
	// selections (latency.p95, trace.llm_calls, cost), let observe read the
	// value through the same getters without the interpreter.
	root string
	path []string
}

// selectPath returns the identifier and fields of an expression that is
// only an identifier and field selections; root is empty otherwise.
func selectPath(a *cel.Ast) (root string, path []string) {
	e := a.NativeRep().Expr()
	for e.Kind() == celast.SelectKind {
		sel := e.AsSelect()
		if sel.IsTestOnly() {
			return "", nil
		}
		path = append([]string{sel.FieldName()}, path...)
		e = sel.Operand()
	}
	if e.Kind() != celast.IdentKind {
		return "", nil
	}
	return e.AsIdent(), path
}

// Load reads, validates and compiles a configuration file. Every problem
// is reported at once as a *ConfigError with file:line:col positions.
func Load(path string) (*Suite, error) {
	data, err := readConfig(path)
	if err != nil {
		return nil, err
	}
	return LoadBytes(path, data)
}

// LoadBytes is Load on the text of a file named path.
func LoadBytes(path string, data []byte) (*Suite, error) {
	cfg, diags := parseConfig(path, data)
	if cfg == nil {
		return nil, &ConfigError{Diagnostics: sortDiags(diags)}
	}
	s, cdiags, err := compile(cfg)
	if err != nil {
		return nil, err
	}
	diags = append(diags, cdiags...)
	if len(diags) > 0 {
		return nil, &ConfigError{Diagnostics: sortDiags(diags)}
	}
	return s, nil
}

// Compile type-checks every expression of cfg.
func Compile(cfg *Config) (*Suite, error) {
	s, diags, err := compile(cfg)
	if err != nil {
		return nil, err
	}
	if len(diags) > 0 {
		return nil, &ConfigError{Diagnostics: sortDiags(diags)}
	}
	return s, nil
}

func compile(cfg *Config) (*Suite, []Diagnostic, error) {
	wenv, err := whereEnv()
	if err != nil {
		return nil, nil, fmt.Errorf("internal: where environment: %w", err)
	}
	eenv, err := expectEnv(false)
	if err != nil {
		return nil, nil, fmt.Errorf("internal: expect environment: %w", err)
	}
	tenv, err := expectEnv(true)
	if err != nil {
		return nil, nil, fmt.Errorf("internal: expect environment: %w", err)
	}
	renv, err := rulesEnv()
	if err != nil {
		return nil, nil, fmt.Errorf("internal: regression environment: %w", err)
	}
	s := &Suite{Config: cfg}
	var diags []Diagnostic
	popts := []cel.ProgramOption{}
	all := append(append([]Assertion{}, cfg.Assertions...), cfg.Regressions...)
	for i, a := range all {
		rule := i >= len(cfg.Assertions)
		c := &check{a: a}
		if strings.TrimSpace(a.Where) != "" {
			ast, d := compileExpr(wenv, a.Where, a.wherePos, "where")
			diags = append(diags, d...)
			if ast != nil {
				c.whereEnv, c.whereAST = wenv, ast
				c.fastWhere = compileWhere(ast)
				if c.whereKey, err = cel.AstToString(ast); err != nil {
					c.whereKey = a.Where
				}
				if c.where, err = wenv.Program(ast, popts...); err != nil {
					diags = append(diags, Diagnostic{a.WherePos, "where: " + err.Error()})
				}
			}
		}
		if a.Each != "" && !eachKeyword(a.Each) {
			var d []Diagnostic
			c.eachAST, c.eachProg, d = compileEach(wenv, a)
			c.eachEnv = wenv
			diags = append(diags, d...)
		}
		env := eenv
		switch {
		case rule:
			env = renv
		case a.EachTrace:
			env = tenv
		}
		if strings.TrimSpace(a.Expect) == "" {
			// The parser reported the missing expect: (with its position);
			// compiling nothing would only add an unpositioned syntax error.
			continue
		}
		ast, d := compileExpr(env, a.Expect, a.expectPos, "expect")
		if rule {
			for i := range d {
				if strings.Contains(d[i].Message, "undeclared reference") {
					d[i].Message += " (a regression rule compares `base.` and `head.`, e.g. head.latency.p95 <= base.latency.p95 * 1.10)"
				}
			}
		} else if !a.EachTrace {
			for i := range d {
				if strings.Contains(d[i].Message, "undeclared reference to 'trace'") {
					d[i].Message += " (trace is defined only with `each: trace`)"
				}
				if strings.Contains(d[i].Message, "undeclared reference to 'span'") {
					d[i].Message += " (expect sees the selected spans as `spans`; `span` is for where)"
				}
			}
		}
		diags = append(diags, d...)
		if ast != nil {
			c.expectEnv, c.expectAST = env, ast
			if !rule {
				c.fastExpect = compileExpect(ast)
			}
			if c.expect, err = env.Program(ast, withAgg(popts, ast)...); err != nil {
				diags = append(diags, Diagnostic{a.ExpectPos, "expect: " + err.Error()})
			}
			c.observed, c.categories, c.stats = observedOf(env, ast, popts)
			if rule {
				c.tests, c.readsBaseSpans = ruleTests(ast)
			}
		}
		if rule {
			s.rules = append(s.rules, c)
		} else {
			s.checks = append(s.checks, c)
		}
	}
	return s, diags, nil
}

// withAgg adds to popts the Go forms of the comprehensions over spans in a
// (see aggDecorator).
func withAgg(popts []cel.ProgramOption, a *cel.Ast) []cel.ProgramOption {
	if !goForms {
		return popts
	}
	if d := aggDecorator(a); d != nil {
		return append(append([]cel.ProgramOption{}, popts...), d)
	}
	return popts
}

// compileExpr compiles one expression and checks it yields a bool; errors
// are positioned in the YAML file.
func compileExpr(env *cel.Env, text string, pos exprPos, what string) (*cel.Ast, []Diagnostic) {
	ast, iss := env.Compile(text)
	if iss != nil && iss.Err() != nil {
		var diags []Diagnostic
		for _, e := range iss.Errors() {
			msg := fmt.Sprintf("%s: %s", what, e.Message)
			if mixedNumbers.MatchString(e.Message) {
				msg += " (CEL does not mix int and double in arithmetic: convert with double(...), e.g. double(tokens.total) * 1.2)"
			}
			diags = append(diags, Diagnostic{Pos: pos.at(e.Location.Line(), e.Location.Column()), Message: msg})
		}
		return nil, diags
	}
	t := ast.OutputType()
	if !t.IsExactType(cel.BoolType) && !t.IsExactType(cel.DynType) {
		return nil, []Diagnostic{{Pos: pos.start, Message: fmt.Sprintf("%s must be a bool expression (a comparison such as `latency.p95 < 1500`), but %q is %s", what, text, t)}}
	}
	return ast, nil
}

var mixedNumbers = regexp.MustCompile(`no matching overload for '_[-+*/%]_' applied to '\((int, double|double, int|uint, double|double, uint)\)'`)

var (
	statIdents  = map[string]string{"count": "", "cost": "cost", "errors": "errors", "error_rate": "errors"}
	statObjects = map[string]string{"latency": "latency", "ttft": "ttft", "tokens": "tokens", "retrieval": "retrieval", "trace": "", "base": "", "head": ""}
	sideFields  = map[string]string{"latency": "latency", "ttft": "ttft", "tokens": "tokens", "cost": "cost", "errors": "errors", "error_rate": "errors", "retrieval": "retrieval"}
	aggFuncs    = map[string]bool{"percentile": true, "sum": true, "avg": true, "min": true, "max": true}
)

// observedOf finds the statistics an expectation reads (latency.p95,
// tokens.total, cost, percentile(...), …) and compiles each on its own, so
// results can show the observed values next to the verdict.
//
// It also returns the categories of the statistics read and the
// statistics themselves, in the order they appear, as offenders name
// them: latency.p95, tokens.cached, cost, errors, retrieval.mrr (base.
// and head. dropped).
func observedOf(env *cel.Env, ast *cel.Ast, popts []cel.ProgramOption) ([]observedProg, []string, []string) {
	native := ast.NativeRep()
	info := native.SourceInfo()
	var texts []string
	var cats, stats []string
	addCat := func(c string) {
		if c != "" && !contains(cats, c) {
			cats = append(cats, c)
		}
	}
	skip := map[int64]bool{}
	var visit func(e celast.Expr)
	visit = func(e celast.Expr) {
		if skip[e.ID()] {
			return
		}
		if r, ok := evalsRead(e, info); ok {
			addCat("evals")
			if r.test != "" {
				stats = appendUnique(stats, r.test)
			}
			markSkip(e, skip)
			if r.text != "" {
				texts = appendUnique(texts, r.text)
			}
			return
		}
		switch e.Kind() {
		case celast.SelectKind:
			root, ok := selectRoot(e)
			if !ok {
				return
			}
			cat, isObj := statObjects[root]
			if !isObj {
				return
			}
			if root == "base" || root == "head" {
				cat = sideFields[firstField(e)]
			}
			addCat(cat)
			if k := statKey(e); k != "" {
				stats = appendUnique(stats, k)
			}
			markSkip(e, skip)
			if t, err := celparser.Unparse(e, info); err == nil {
				texts = appendUnique(texts, t)
			}
		case celast.IdentKind:
			name := e.AsIdent()
			if cat, ok := statIdents[name]; ok {
				addCat(cat)
				if cat != "" {
					stats = appendUnique(stats, name)
				}
				texts = appendUnique(texts, name)
			}
		case celast.CallKind:
			call := e.AsCall()
			if aggFuncs[call.FunctionName()] && !call.IsMemberFunction() {
				markSkip(e, skip)
				if t, err := celparser.Unparse(e, info); err == nil {
					texts = appendUnique(texts, t)
				}
			}
			if call.FunctionName() == operators.Index {
				return
			}
		}
	}
	celast.PreOrderVisit(native.Expr(), celast.NewExprVisitor(visit))
	var out []observedProg
	for _, t := range texts {
		a, iss := env.Compile(t)
		if iss != nil && iss.Err() != nil {
			continue
		}
		p, err := env.Program(a, withAgg(popts, a)...)
		if err != nil {
			continue
		}
		root, path := selectPath(a)
		out = append(out, observedProg{text: t, unit: unitOf(t), prog: p, root: root, path: path})
	}
	return out, cats, stats
}

// statKey names the statistic a selection reads: latency.p95 for
// latency.p95 and head.latency.p95, cost for base.cost; "" for anything
// else (trace.cost, head.count).
func statKey(e celast.Expr) string {
	var path []string
	for e.Kind() == celast.SelectKind {
		path = append([]string{e.AsSelect().FieldName()}, path...)
		e = e.AsSelect().Operand()
	}
	if e.Kind() != celast.IdentKind {
		return ""
	}
	root := e.AsIdent()
	if root == "base" || root == "head" {
		if len(path) == 0 {
			return ""
		}
		root, path = path[0], path[1:]
		if cat := statIdents[root]; cat != "" {
			return root
		}
	}
	if statObjects[root] == "" || statObjects[root] != root || len(path) == 0 {
		return ""
	}
	return root + "." + path[0]
}

// spanFieldsRead lists the fields selected on the identifier span.
func spanFieldsRead(a *cel.Ast) []string {
	if a == nil {
		return nil
	}
	var out []string
	celast.PreOrderVisit(a.NativeRep().Expr(), celast.NewExprVisitor(func(e celast.Expr) {
		if e.Kind() != celast.SelectKind {
			return
		}
		sel := e.AsSelect()
		if op := sel.Operand(); op.Kind() == celast.IdentKind && op.AsIdent() == "span" {
			out = appendUnique(out, sel.FieldName())
		}
	}))
	return out
}

// firstField is the field selected directly on the root identifier.
func firstField(e celast.Expr) string {
	f := ""
	for e.Kind() == celast.SelectKind {
		f = e.AsSelect().FieldName()
		e = e.AsSelect().Operand()
	}
	return f
}

func selectRoot(e celast.Expr) (string, bool) {
	for e.Kind() == celast.SelectKind {
		e = e.AsSelect().Operand()
	}
	if e.Kind() == celast.IdentKind {
		return e.AsIdent(), true
	}
	return "", false
}

func markSkip(e celast.Expr, skip map[int64]bool) {
	celast.PreOrderVisit(e, celast.NewExprVisitor(func(x celast.Expr) { skip[x.ID()] = true }))
}

func appendUnique(list []string, s string) []string {
	if contains(list, s) {
		return list
	}
	return append(list, s)
}

func unitOf(text string) string {
	switch {
	case strings.HasPrefix(text, "latency."), strings.HasSuffix(text, "duration_ms"),
		strings.HasPrefix(text, "base.latency."), strings.HasPrefix(text, "head.latency."),
		strings.HasPrefix(text, "ttft."), strings.HasSuffix(text, "ttft_ms"),
		strings.HasPrefix(text, "base.ttft."), strings.HasPrefix(text, "head.ttft."):
		return "ms"
	case text == "cost", strings.HasSuffix(text, ".cost"):
		return "USD"
	}
	return ""
}

// Tests of a regression rule, named by the sample they compare.
const (
	TestLatency   = "latency"   // span durations (ms), per span
	TestTokens    = "tokens"    // total tokens per trace
	TestCost      = "cost"      // USD per trace
	TestCount     = "count"     // selected spans per trace
	TestErrors    = "errors"    // 1 per span with error status, else 0
	TestHit       = "hit"       // hit@k per query
	TestRR        = "rr"        // reciprocal rank per query
	TestRecall    = "recall"    // recall@k per query
	TestPrecision = "precision" // precision@k per query
	TestNDCG      = "ndcg"      // NDCG@k per query
)

// ruleTests lists the samples a rule's expectation reads on base and head,
// each tested on its natural unit, and whether it reads base.spans or
// base.traces.
func ruleTests(a *cel.Ast) (tests []string, baseSpans bool) {
	celast.PreOrderVisit(a.NativeRep().Expr(), celast.NewExprVisitor(func(e celast.Expr) {
		if e.Kind() != celast.SelectKind {
			return
		}
		var path []string
		cur := e
		for cur.Kind() == celast.SelectKind {
			path = append([]string{cur.AsSelect().FieldName()}, path...)
			cur = cur.AsSelect().Operand()
		}
		if cur.Kind() != celast.IdentKind || (cur.AsIdent() != "base" && cur.AsIdent() != "head") {
			return
		}
		if cur.AsIdent() == "base" && (path[0] == "spans" || path[0] == "traces") {
			baseSpans = true
		}
		t := ""
		switch path[0] {
		case "latency":
			t = TestLatency
		case "ttft":
			t = TestTTFT
		case "tokens":
			t = TestTokens
		case "cost":
			t = TestCost
		case "count":
			t = TestCount
		case "errors", "error_rate":
			t = TestErrors
		case "retrieval":
			if len(path) > 1 {
				t = map[string]string{"hit_rate": TestHit, "mrr": TestRR, "recall": TestRecall, "precision": TestPrecision, "ndcg": TestNDCG}[path[1]]
			}
		}
		if t != "" && !contains(tests, t) {
			tests = append(tests, t)
		}
	}))
	for _, t := range evalTests(a) {
		tests = appendUnique(tests, t)
	}
	return tests, baseSpans
}
