package assert

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/llmcheck/llmcheck/internal/fileread"
)

// Config is a parsed llmcheck.yaml. Every user-written element keeps the
// position it came from, so errors and annotations point into the file.
type Config struct {
	Path       string
	Pricing    map[string]Price
	Retrieval  RetrievalConfig
	Assertions []Assertion
	// Regressions compare a baseline run with this one (base., head.).
	Regressions []Assertion
	// Evals say when a result of an evaluation passes (evals:, see
	// EvalVerdict).
	Evals map[string]EvalConfig
	// CostLimit bounds the CEL evaluation cost of one expression (cel_cost_limit:).
	CostLimit uint64
	// Warnings are problems that do not stop the run (a model priced at
	// 0), in file order; the commands print them once, with the run's
	// other warnings.
	Warnings []Diagnostic
}

// Price is USD per 1M tokens.
type Price struct {
	Input, Output, CachedInput float64
	HasCachedInput             bool
}

// RetrievalConfig holds the retrieval-metric settings.
type RetrievalConfig struct {
	K           int                 // metrics at k (default 5)
	GroundTruth string              // golden file path as written
	Golden      map[string][]string // normalised query -> relevant ids
}

// Assertion is one entry of assertions:.
type Assertion struct {
	Name   string
	Where  string
	Expect string
	// Each groups the verdict (each:): "trace", "conversation", "test" or
	// a CEL string expression over span; empty when absent. EachTrace is
	// Each == "trace".
	Each       string
	EachTrace  bool
	Warn       bool // severity: warn
	AllowEmpty bool
	K          int // retrieval k override (0 = config default)
	// Regression rules only: fail only when the change is significant
	// (default true).
	RequireSignificance bool

	Pos       Pos // position of the list item (name:)
	WherePos  Pos
	ExpectPos Pos
	EachPos   Pos
	wherePos  exprPos
	expectPos exprPos
	eachPos   exprPos
}

// Pos is a position in a file, 1-based.
type Pos struct {
	File   string `json:"file"`
	Line   int    `json:"line"`
	Column int    `json:"column"`
}

func (p Pos) String() string {
	if p.Line == 0 {
		return p.File
	}
	return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Column)
}

// exprPos maps positions inside an expression string to file positions.
type exprPos struct {
	start Pos
	block bool // literal or folded block scalar: content starts on the next line
	shift int  // columns added by a leading quote
}

func (e exprPos) at(line, col int) Pos {
	// line is 1-based within the expression, col 0-based.
	p := Pos{File: e.start.File}
	if e.block {
		p.Line = e.start.Line + line
		p.Column = e.start.Column + col
		return p
	}
	p.Line = e.start.Line + line - 1
	if line == 1 {
		p.Column = e.start.Column + e.shift + col
	} else {
		p.Column = col + 1
	}
	return p
}

// Diagnostic is one problem found in the configuration.
type Diagnostic struct {
	Pos     Pos    `json:"position"`
	Message string `json:"message"`
}

func (d Diagnostic) String() string { return d.Pos.String() + ": " + d.Message }

// ConfigError lists every problem found in one pass over the file.
type ConfigError struct{ Diagnostics []Diagnostic }

func (e *ConfigError) Error() string {
	lines := make([]string, len(e.Diagnostics))
	for i, d := range e.Diagnostics {
		lines[i] = d.String()
	}
	return strings.Join(lines, "\n")
}

// DefaultCostLimit bounds one CEL evaluation (about 20 operations per span
// on a run of five million spans).
const DefaultCostLimit = 100_000_000

// LoadConfig reads and validates the YAML structure of path. CEL
// expressions are compiled separately by Compile; use Load for both.
func LoadConfig(path string) (*Config, error) {
	data, err := readConfig(path)
	if err != nil {
		return nil, err
	}
	return ParseConfig(path, data)
}

func readConfig(path string) ([]byte, error) {
	data, err := fileread.ReadFile(path, fileread.MaxBytes)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("config %s: file not found (create one with `llmcheck init`)", path)
	}
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return data, nil
}

// ParseConfig parses the YAML text of a configuration named path.
func ParseConfig(path string, data []byte) (*Config, error) {
	cfg, diags := parseConfig(path, data)
	if len(diags) > 0 {
		return nil, &ConfigError{Diagnostics: sortDiags(diags)}
	}
	return cfg, nil
}

// parseConfig returns what could be parsed and every problem found; cfg is
// nil only when the file is not YAML at all.
func parseConfig(path string, data []byte) (*Config, []Diagnostic) {
	p := &yamlParser{file: path, lines: strings.Split(string(data), "\n")}
	cfg := &Config{Path: path, Pricing: map[string]Price{}, Retrieval: RetrievalConfig{K: 5}, CostLimit: DefaultCostLimit}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		p.errYAML(err)
		return nil, p.diags
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		p.errf(Pos{File: path, Line: 1, Column: 1}, "empty file: add an assertions: list (see `llmcheck init`)")
		return nil, p.diags
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		p.errAt(root, "the file must be a mapping with an assertions: key")
		return nil, p.diags
	}
	seen := false
	names := map[string]Pos{}
	p.mapping(root, []string{"pricing", "retrieval", "evals", "assertions", "regressions", "cel_cost_limit"}, func(key string, k, v *yaml.Node) {
		switch key {
		case "evals":
			p.evals(v, cfg)
		case "pricing":
			p.pricing(v, cfg)
		case "retrieval":
			p.retrieval(v, cfg)
		case "assertions":
			seen = true
			cfg.Assertions = p.assertions(v, names, false)
		case "regressions":
			seen = true
			cfg.Regressions = p.assertions(v, names, true)
		case "cel_cost_limit":
			if n, ok := p.intValue(v); ok {
				if n <= 0 {
					p.errAt(v, "cel_cost_limit must be positive")
				} else {
					cfg.CostLimit = uint64(n)
				}
			}
		}
	})
	if !seen && len(p.diags) == 0 {
		p.errf(p.pos(root), "no assertions: or regressions: key; add a list of assertions (see `llmcheck init`)")
	}
	if cfg.Retrieval.GroundTruth != "" {
		p.golden(cfg)
	}
	return cfg, p.diags
}

type yamlParser struct {
	file       string
	lines      []string
	diags      []Diagnostic
	goldenNode *yaml.Node
}

func sortDiags(d []Diagnostic) []Diagnostic {
	sort.SliceStable(d, func(i, j int) bool {
		a, b := d[i].Pos, d[j].Pos
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Column < b.Column
	})
	return d
}

func (p *yamlParser) pos(n *yaml.Node) Pos { return Pos{File: p.file, Line: n.Line, Column: n.Column} }

func (p *yamlParser) errf(pos Pos, format string, args ...any) {
	p.diags = append(p.diags, Diagnostic{Pos: pos, Message: fmt.Sprintf(format, args...)})
}

func (p *yamlParser) errAt(n *yaml.Node, format string, args ...any) {
	p.errf(p.pos(n), format, args...)
}

// errYAML turns a yaml.v3 error ("yaml: line 3: mapping values are not
// allowed in this context") into positioned diagnostics.
func (p *yamlParser) errYAML(err error) {
	msgs := []string{err.Error()}
	var te *yaml.TypeError
	if errors.As(err, &te) {
		msgs = te.Errors
	}
	for _, m := range msgs {
		m = strings.TrimPrefix(m, "yaml: ")
		line := 0
		if strings.HasPrefix(m, "line ") {
			rest := m[len("line "):]
			if i := strings.Index(rest, ":"); i > 0 {
				if n, err := strconv.Atoi(rest[:i]); err == nil {
					line, m = n, strings.TrimSpace(rest[i+1:])
				}
			}
		}
		col := 1
		if line == 0 {
			col = 0
		}
		p.errf(Pos{File: p.file, Line: line, Column: col}, "invalid YAML: %s", m)
	}
}

// mapping walks a mapping node, reporting unknown and duplicate keys.
func (p *yamlParser) mapping(n *yaml.Node, allowed []string, fn func(key string, k, v *yaml.Node)) {
	if n.Kind != yaml.MappingNode {
		p.errAt(n, "expected a mapping with keys %s", strings.Join(allowed, ", "))
		return
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		key := k.Value
		if seen[key] {
			p.errAt(k, "duplicate key %q", key)
			continue
		}
		seen[key] = true
		if !contains(allowed, key) {
			msg := fmt.Sprintf("unknown key %q", key)
			if s := suggest(key, allowed); s != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", s)
			} else {
				msg += fmt.Sprintf(" (valid keys: %s)", strings.Join(allowed, ", "))
			}
			p.errAt(k, "%s", msg)
			continue
		}
		fn(key, k, v)
	}
}

// PricePlaceholder stands for a price `llmcheck init --from` cannot know;
// a configuration that still holds it does not load.
const PricePlaceholder = "PRICE"

func (p *yamlParser) pricing(n *yaml.Node, cfg *Config) {
	if n.Kind != yaml.MappingNode {
		p.errAt(n, "pricing: expected a mapping of model name to {input, output, cached_input} in USD per 1M tokens")
		return
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		model := k.Value
		if _, dup := cfg.Pricing[model]; dup {
			p.errAt(k, "pricing: duplicate model %q", model)
			continue
		}
		var pr Price
		var hasIn, hasOut, anyKey bool
		p.mapping(v, []string{"input", "output", "cached_input"}, func(key string, kk, vv *yaml.Node) {
			anyKey = true
			if vv.Kind == yaml.ScalarNode && vv.Value == PricePlaceholder {
				p.errAt(vv, "pricing.%s.%s: replace %s with the model's price in USD per 1M tokens (from your provider's price list)", model, key, PricePlaceholder)
				return
			}
			f, ok := p.floatValue(vv)
			if !ok {
				return
			}
			if f < 0 {
				p.errAt(vv, "pricing.%s.%s: a price cannot be negative", model, key)
				return
			}
			switch key {
			case "input":
				pr.Input, hasIn = f, true
			case "output":
				pr.Output, hasOut = f, true
			case "cached_input":
				pr.CachedInput, pr.HasCachedInput = f, true
			}
		})
		if v.Kind == yaml.MappingNode && !anyKey && !hasIn && !hasOut {
			p.errAt(v, "pricing.%s: give input and/or output (USD per 1M tokens)", model)
		} else if (hasIn || hasOut) && pr.Input == 0 && pr.Output == 0 {
			cfg.Warnings = append(cfg.Warnings, Diagnostic{p.pos(k), fmt.Sprintf("pricing.%s: input and output prices of 0 make every cost of this model $0, so it passes any cost budget: give its price in USD per 1M tokens", model)})
		}
		cfg.Pricing[model] = pr
	}
}

func (p *yamlParser) retrieval(n *yaml.Node, cfg *Config) {
	p.mapping(n, []string{"k", "ground_truth"}, func(key string, k, v *yaml.Node) {
		switch key {
		case "k":
			if x, ok := p.intValue(v); ok {
				if x < 1 {
					p.errAt(v, "retrieval.k must be at least 1")
				} else {
					cfg.Retrieval.K = int(x)
				}
			}
		case "ground_truth":
			if s, ok := p.stringValue(v); ok {
				cfg.Retrieval.GroundTruth = s
				p.goldenNode = v
			}
		}
	})
}

// assertions parses the assertions: (or, with rules, the regressions:) list.
func (p *yamlParser) assertions(n *yaml.Node, names map[string]Pos, rules bool) []Assertion {
	what := "assertions"
	keys := []string{"name", "where", "expect", "each", "severity", "allow_empty", "k"}
	if rules {
		what = "regressions"
		keys = []string{"name", "where", "expect", "severity", "allow_empty", "k", "require_significance", "each"}
	}
	if n.Kind != yaml.SequenceNode {
		p.errAt(n, "%s: expected a list (each item starts with `- name:`)", what)
		return nil
	}
	var out []Assertion
	for _, item := range n.Content {
		a := Assertion{Pos: p.pos(item), RequireSignificance: true}
		p.mapping(item, keys, func(key string, k, v *yaml.Node) {
			switch key {
			case "name":
				if s, ok := p.stringValue(v); ok {
					a.Name = s
					a.Pos = p.pos(k)
				}
			case "where":
				if s, ok := p.stringValue(v); ok {
					a.Where, a.wherePos = s, p.exprPos(v)
					a.WherePos = a.wherePos.start
				}
			case "expect":
				if s, ok := p.stringValue(v); ok {
					a.Expect, a.expectPos = s, p.exprPos(v)
					a.ExpectPos = a.expectPos.start
				}
			case "each":
				if rules {
					p.errAt(k, "each: is not supported in regressions: (a rule compares the selected spans of two runs as a whole); use each: in an assertion of this run")
					return
				}
				if s, ok := p.stringValue(v); ok {
					if strings.TrimSpace(s) == "" {
						p.errAt(v, "each: expected trace, conversation, test or a CEL string expression over span (each: span.attrs[\"app.team\"])")
						return
					}
					a.Each, a.eachPos = strings.TrimSpace(s), p.exprPos(v)
					a.EachPos = a.eachPos.start
					a.EachTrace = a.Each == EachTrace
				}
			case "severity":
				if s, ok := p.stringValue(v); ok {
					switch s {
					case "warn", "warning":
						a.Warn = true
					case "error", "fail":
					default:
						p.errAt(v, "severity: expected warn or error, got %q", s)
					}
				}
			case "allow_empty":
				a.AllowEmpty = p.boolValue(v, key)
			case "require_significance":
				a.RequireSignificance = p.boolValue(v, key)
			case "k":
				if x, ok := p.intValue(v); ok {
					if x < 1 {
						p.errAt(v, "k must be at least 1")
					} else {
						a.K = int(x)
					}
				}
			}
		})
		if item.Kind != yaml.MappingNode {
			continue
		}
		if strings.TrimSpace(a.Name) == "" {
			p.errAt(item, "assertion without a name: add `name: <what it checks>`")
		} else if prev, dup := names[a.Name]; dup {
			p.errf(a.Pos, "duplicate assertion name %q (first at line %d); names must be unique", a.Name, prev.Line)
		} else {
			names[a.Name] = a.Pos
		}
		if strings.TrimSpace(a.Expect) == "" {
			example := "latency.p95 < 1500"
			if rules {
				example = "head.latency.p95 <= base.latency.p95 * 1.10"
			}
			p.errAt(item, "%s %q has no expect: add a CEL expression such as `expect: %s`", strings.TrimSuffix(what, "s"), a.Name, example)
		}
		out = append(out, a)
	}
	return out
}

func (p *yamlParser) boolValue(v *yaml.Node, key string) bool {
	if v.Kind != yaml.ScalarNode || (v.Value != "true" && v.Value != "false") {
		p.errAt(v, "%s: expected true or false", key)
		return false
	}
	return v.Value == "true"
}

func (p *yamlParser) exprPos(v *yaml.Node) exprPos {
	e := exprPos{start: p.pos(v)}
	switch v.Style {
	case yaml.LiteralStyle, yaml.FoldedStyle:
		e.block = true
		// The content starts on the next non-blank line, at its indentation.
		e.start.Column = 1
		for i := v.Line; i < len(p.lines); i++ { // p.lines[v.Line] is the line after the indicator
			if strings.TrimSpace(p.lines[i]) == "" {
				continue
			}
			e.start.Line = i // so that content line 1 maps to file line i+1
			e.start.Column = len(p.lines[i]) - len(strings.TrimLeft(p.lines[i], " ")) + 1
			break
		}
	case yaml.DoubleQuotedStyle, yaml.SingleQuotedStyle:
		e.shift = 1
	}
	return e
}

func (p *yamlParser) stringValue(v *yaml.Node) (string, bool) {
	if v.Kind != yaml.ScalarNode {
		p.errAt(v, "expected a string")
		return "", false
	}
	return v.Value, true
}

func (p *yamlParser) floatValue(v *yaml.Node) (float64, bool) {
	if v.Kind == yaml.ScalarNode {
		if f, err := strconv.ParseFloat(v.Value, 64); err == nil && !math.IsNaN(f) && !math.IsInf(f, 0) {
			return f, true
		}
	}
	p.errAt(v, "expected a number, got %q", v.Value)
	return 0, false
}

func (p *yamlParser) intValue(v *yaml.Node) (int64, bool) {
	if v.Kind == yaml.ScalarNode {
		if n, err := strconv.ParseInt(strings.ReplaceAll(v.Value, "_", ""), 10, 64); err == nil {
			return n, true
		}
	}
	p.errAt(v, "expected an integer, got %q", v.Value)
	return 0, false
}

// golden loads the retrieval ground-truth file: a YAML or JSON mapping of
// query text to a list of relevant document ids. The path is relative to
// the configuration file.
func (p *yamlParser) golden(cfg *Config) {
	path := cfg.Retrieval.GroundTruth
	if !filepath.IsAbs(path) {
		path = filepath.Join(filepath.Dir(cfg.Path), path)
	}
	data, err := fileread.ReadFile(path, fileread.MaxBytes)
	if err != nil {
		p.errf(p.pos(p.goldenNode), "retrieval.ground_truth: %v", err)
		return
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		p.errf(Pos{File: path}, "invalid ground truth file: %v", err)
		return
	}
	gp := &yamlParser{file: path, lines: strings.Split(string(data), "\n")}
	cfg.Retrieval.Golden = map[string][]string{}
	if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		gp.errf(Pos{File: path, Line: 1, Column: 1}, "ground truth: expected a mapping of query text to a list of relevant document ids")
	} else {
		m := doc.Content[0]
		for i := 0; i+1 < len(m.Content); i += 2 {
			k, v := m.Content[i], m.Content[i+1]
			var ids []string
			switch v.Kind {
			case yaml.SequenceNode:
				for _, id := range v.Content {
					if id.Kind != yaml.ScalarNode {
						gp.errAt(id, "expected a document id")
						continue
					}
					ids = append(ids, id.Value)
				}
			case yaml.ScalarNode:
				ids = []string{v.Value}
			default:
				gp.errAt(v, "expected a list of relevant document ids")
			}
			cfg.Retrieval.Golden[NormaliseQuery(k.Value)] = ids
		}
	}
	p.diags = append(p.diags, gp.diags...)
}

// NormaliseQuery is how query texts are matched against the ground-truth
// file: surrounding space trimmed, inner runs of space collapsed, lower-cased.
func NormaliseQuery(q string) string {
	return strings.ToLower(strings.Join(strings.Fields(q), " "))
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// suggest returns the closest candidate within edit distance 2.
func suggest(s string, candidates []string) string {
	best, bestD := "", 3
	for _, c := range candidates {
		if d := levenshtein(s, c); d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

func levenshtein(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
