package assert

import (
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/llmcheck/llmcheck/span"
)

// Passing and failing evaluation results (the evals: section of
// llmcheck.yaml): what the diff's flips per test are made of.

// EvalConfig says when a result of one evaluation passes.
type EvalConfig struct {
	// PassLabels are the labels that pass; any other label fails.
	PassLabels []string
	// MinScore, when HasMinScore, is the lowest passing score, for
	// results without a label (or for every result when PassLabels is
	// empty).
	MinScore    float64
	HasMinScore bool
	Pos         Pos
}

// DefaultPassLabels and DefaultFailLabels give a verdict to a result of
// an evaluation the evals: section does not name (compared ignoring case).
var (
	DefaultPassLabels = []string{"pass", "passed", "correct", "true", "yes", "good"}
	DefaultFailLabels = []string{"fail", "failed", "incorrect", "false", "no", "bad"}
)

// EvalVerdict says whether a result passes; ok is false when it has no
// verdict: (1) with pass_labels configured, a labelled result passes when
// its label is one of them; (2) else, with min_score configured, a scored
// result passes when its score is at least min_score; (3) else a label of
// DefaultPassLabels passes and one of DefaultFailLabels fails; anything
// else has no verdict.
func (c *Config) EvalVerdict(e *span.Eval) (pass, ok bool) {
	var ec EvalConfig
	if c != nil {
		ec = c.Evals[e.Name]
	}
	switch {
	case len(ec.PassLabels) > 0 && e.Label != "":
		return slices.Contains(ec.PassLabels, e.Label), true
	case ec.HasMinScore && e.HasScore:
		return e.Score >= ec.MinScore, true
	}
	l := strings.ToLower(e.Label)
	switch {
	case slices.Contains(DefaultPassLabels, l):
		return true, true
	case slices.Contains(DefaultFailLabels, l):
		return false, true
	}
	return false, false
}

func (p *yamlParser) evals(n *yaml.Node, cfg *Config) {
	if n.Kind != yaml.MappingNode {
		p.errAt(n, "evals: expected a mapping from evaluation name to {pass_labels, min_score}")
		return
	}
	cfg.Evals = map[string]EvalConfig{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		name := k.Value
		if _, dup := cfg.Evals[name]; dup {
			p.errAt(k, "evals: duplicate evaluation %q", name)
			continue
		}
		ec := EvalConfig{Pos: p.pos(k)}
		before := len(p.diags)
		p.mapping(v, []string{"pass_labels", "min_score"}, func(key string, _, v *yaml.Node) {
			switch key {
			case "pass_labels":
				if v.Kind != yaml.SequenceNode || len(v.Content) == 0 {
					p.errAt(v, "evals.%s.pass_labels: expected a non-empty list of labels, e.g. [correct]", name)
					return
				}
				for _, l := range v.Content {
					if s, ok := p.stringValue(l); ok && s != "" {
						ec.PassLabels = append(ec.PassLabels, s)
					} else if ok {
						p.errAt(l, "evals.%s.pass_labels: a label cannot be empty", name)
					}
				}
			case "min_score":
				if f, ok := p.floatValue(v); ok {
					ec.MinScore, ec.HasMinScore = f, true
				}
			}
		})
		if len(ec.PassLabels) == 0 && !ec.HasMinScore && len(p.diags) == before {
			p.errAt(k, "evals.%s: give pass_labels, min_score or both", name)
		}
		cfg.Evals[name] = ec
	}
}
