package diff

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
)

// headlines lists the most important changes, in this order: model swaps
// (they explain most of what follows); significant latency and token
// changes, largest first; significant retrieval-quality and error-rate
// changes; call-count changes; models newly used or no longer used; order
// changes; groups added or removed (except those a model swap explains);
// tests on one side only. Structural changes of sets of traces
// (Structure.Distributions) are headlines only when significant after
// the structural family's correction.
func headlines(r *Report) []Headline {
	name := shortNames(r.Groups)
	var hs []Headline
	var swaps []Pattern
	for _, p := range r.Structure.Patterns {
		if p.Kind == ChangeModelSwap {
			swaps = append(swaps, p)
			hs = append(hs, Headline{Kind: HeadlineModelSwap, Text: p.Text})
		}
	}
	dist := setHeadlines(r.Structure.Distributions)
	for _, d := range dist {
		if d.h.Kind == HeadlineModelSwap {
			swaps = append(swaps, Pattern{Kind: ChangeModelSwap, Operation: d.op, Base: d.from, Head: d.to})
			hs = append(hs, d.h)
		}
	}

	type ranked struct {
		h   Headline
		mag float64
	}
	var numbers, quality []ranked
	for i := range r.Groups {
		g := &r.Groups[i]
		if g.Presence != Compared {
			continue
		}
		n := name(g)
		if p50, p95 := g.Metric(MetricLatencyP50), g.Metric(MetricLatencyP95); p50.Test.Significant {
			text := fmt.Sprintf("%s latency p95 %s (%s → %s), p50 %s (%s → %s); significant, %s %s",
				n, relOrZero(p95), fmtMS(p95.Base), fmtMS(p95.Head),
				relOrZero(p50), fmtMS(p50.Base), fmtMS(p50.Head),
				fmtP(p50.Test.PAdjusted), fmtN(p50.Test.N1, p50.Test.N2))
			numbers = append(numbers, ranked{Headline{HeadlineLatency, g.Key, text}, math.Max(absRel(p50), absRel(p95))})
		}
		if tok := g.Metric(MetricTokensPerCall); tok != nil && tok.Test.Significant {
			text := fmt.Sprintf("%s tokens per call %s (%s → %s); significant, %s %s",
				n, relOrZero(tok), fmtCount(tok.Base), fmtCount(tok.Head),
				fmtP(tok.Test.PAdjusted), fmtN(tok.Test.N1, tok.Test.N2))
			numbers = append(numbers, ranked{Headline{HeadlineTokens, g.Key, text}, absRel(tok)})
		}
		if hit, mrr := g.Metric(MetricHitRate), g.Metric(MetricMRR); hit != nil && (hit.Test.Significant || mrr.Test.Significant) {
			p := math.Min(hit.Test.PAdjusted, mrr.Test.PAdjusted)
			text := fmt.Sprintf("%s %s %s → %s (%s), %s %s → %s; significant, %s %s",
				n, hit.label(r.K), hit.value(hit.Base), hit.value(hit.Head), hit.change(),
				mrr.label(r.K), mrr.value(mrr.Base), mrr.value(mrr.Head),
				fmtP(p), fmtN(hit.Test.N1, hit.Test.N2))
			quality = append(quality, ranked{Headline{HeadlineRetrieval, g.Key, text}, math.Abs(hit.Delta)})
		}
		if e := g.Metric(MetricErrorRate); e.Test.Significant {
			text := fmt.Sprintf("%s error rate %s → %s (%s); significant, %s %s",
				n, e.value(e.Base), e.value(e.Head), e.change(), fmtP(e.Test.PAdjusted), fmtN(e.Test.N1, e.Test.N2))
			quality = append(quality, ranked{Headline{HeadlineErrors, g.Key, text}, math.Abs(e.Delta)})
		}
	}
	for _, list := range [][]ranked{numbers, quality} {
		sort.SliceStable(list, func(i, j int) bool { return list[i].mag > list[j].mag })
		for _, x := range list {
			hs = append(hs, x.h)
		}
	}
	hs = append(hs, evalHeadlines(r, name)...)

	for _, kinds := range [][]string{
		{ChangeLLMCalls, ChangeToolCalls, ChangeRetrievals, ChangeEmbeddings},
		{ChangeModelRemoved, ChangeModelAdded},
		{ChangeOrder},
	} {
		for _, p := range r.Structure.Patterns {
			for _, k := range kinds {
				if p.Kind != k {
					continue
				}
				kind := HeadlineCalls
				switch k {
				case ChangeModelAdded, ChangeModelRemoved:
					kind = HeadlineModels
				case ChangeOrder:
					kind = HeadlineOrder
				}
				hs = append(hs, Headline{Kind: kind, Text: p.Text})
			}
		}
		for _, d := range dist {
			if slices.Contains(kinds, d.kind) {
				hs = append(hs, d.h)
			}
		}
	}

	explained := func(g *Group) bool {
		for _, s := range swaps {
			if g.Operation == s.Operation && (g.Presence == Removed && g.Model == s.Base || g.Presence == Added && g.Model == s.Head) {
				return true
			}
		}
		return false
	}
	for i := range r.Groups {
		g := &r.Groups[i]
		if g.Presence == Compared || explained(g) {
			continue
		}
		if g.Presence == Added {
			hs = append(hs, Headline{HeadlineGroupAdded, g.Key, fmt.Sprintf("new %s: %s in head, p50 %s, p95 %s",
				g.Key, plural(g.Head.Count, "span"), fmtMS(g.Head.Latency.P50), fmtMS(g.Head.Latency.P95))})
		} else {
			hs = append(hs, Headline{HeadlineGroupRemoved, g.Key, fmt.Sprintf("%s gone: %s in base",
				g.Key, plural(g.Base.Count, "span"))})
		}
	}

	if nb, nh := len(r.Structure.OnlyBase), len(r.Structure.OnlyHead); nb+nh > 0 {
		var parts []string
		if nb > 0 {
			parts = append(parts, plural(nb, "test")+" only in base")
		}
		if nh > 0 {
			parts = append(parts, plural(nh, "test")+" only in head")
		}
		hs = append(hs, Headline{Kind: HeadlineTests, Text: strings.Join(parts, ", ")})
	}
	return hs
}

func relOrZero(m *Metric) string {
	if m.Rel == nil {
		return m.change()
	}
	return fmtRel(*m.Rel)
}

func absRel(m *Metric) float64 {
	if m == nil || m.Rel == nil {
		return 0
	}
	return math.Abs(*m.Rel)
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// shortNames names groups in headlines and charts: the key without the
// service when every group has the same service.
func shortNames(groups []Group) func(*Group) string {
	services := map[string]bool{}
	for _, g := range groups {
		services[g.Service] = true
	}
	if len(services) > 1 {
		return func(g *Group) string { return g.Key }
	}
	return func(g *Group) string {
		return signature{op: g.Operation, model: g.Model, sub: g.Tool + g.Agent, name: g.Name}.short()
	}
}

// structuralHeadline is a headline from the structural tests of a set;
// kind is the change kind it files under, and for a model swap op, from
// and to name it.
type structuralHeadline struct {
	h            Headline
	kind         string
	op, from, to string
}

// setHeadlines makes the headlines of the significant structural
// tests, in their order. Within a set, an operation whose calls with one
// model went down and with another went up, both significantly, is one
// model swap (the largest fall with the largest rise); the other model
// changes are "models" headlines.
func setHeadlines(tests []StructuralTest) []structuralHeadline {
	var out []structuralHeadline
	used := make([]bool, len(tests))
	sig := func(i int) bool { return tests[i].Significant }
	for i := range tests {
		if !sig(i) || tests[i].Kind != ChangeModelCalls || used[i] {
			continue
		}
		down, up := -1, -1
		for j := range tests {
			t := &tests[j]
			if !sig(j) || used[j] || t.Kind != ChangeModelCalls || t.Set != tests[i].Set || t.Operation != tests[i].Operation {
				continue
			}
			d := t.HeadMean - t.BaseMean
			if d < 0 && (down < 0 || d < tests[down].HeadMean-tests[down].BaseMean) {
				down = j
			}
			if d > 0 && (up < 0 || d > tests[up].HeadMean-tests[up].BaseMean) {
				up = j
			}
		}
		if down < 0 || up < 0 {
			continue
		}
		used[down], used[up] = true, true
		a, b := &tests[down], &tests[up]
		text := fmt.Sprintf("%s: %s model %s → %s: %s, %s; significant, %s %s", a.Set, a.Operation, a.Model, b.Model,
			modelShare(a), modelShare(b), fmtP(math.Max(a.PAdjusted, b.PAdjusted)), fmtN(a.N1, a.N2))
		out = append(out, structuralHeadline{h: Headline{Kind: HeadlineModelSwap, Text: text}, kind: ChangeModelSwap, op: a.Operation, from: a.Model, to: b.Model})
	}
	for i := range tests {
		t := &tests[i]
		if !sig(i) || used[i] {
			continue
		}
		kind, hk := t.Kind, HeadlineCalls
		switch t.Kind {
		case ChangeModelCalls:
			hk = HeadlineModels
			kind = ChangeModelAdded
		case ChangeOrder:
			hk = HeadlineOrder
		}
		text := fmt.Sprintf("%s; significant, %s %s", t.Text, fmtP(t.PAdjusted), fmtN(t.N1, t.N2))
		out = append(out, structuralHeadline{h: Headline{Kind: hk, Text: text}, kind: kind})
	}
	return out
}
