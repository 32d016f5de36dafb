package assert

import (
	"math"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/llmcheck/llmcheck/span"
)

func TestPercentile(t *testing.T) {
	tests := []struct {
		name   string
		values []float64
		q      float64
		want   float64
	}{
		{"single value", []float64{7}, 0.95, 7},
		{"two values median", []float64{10, 20}, 0.5, 15},
		{"p95 of 1..4", []float64{4, 1, 3, 2}, 0.95, 3.85}, // h = 3*0.95 = 2.85 → 3 + 0.85*(4-3)
		{"p50 of 1..4", []float64{1, 2, 3, 4}, 0.5, 2.5},
		{"p90 of 1..10", []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, 0.9, 9.1},
		{"p0 is min", []float64{5, 3, 9}, 0, 3},
		{"p100 is max", []float64{5, 3, 9}, 1, 9},
		{"ties", []float64{2, 2, 2, 5}, 0.5, 2},
		{"ties interpolate", []float64{1, 1, 3, 3}, 0.5, 2},
		{"p99 of 100 values", seq(1, 100), 0.99, 99.01},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Percentile(tt.values, tt.q)
			require.NoError(t, err)
			assert.InDelta(t, tt.want, got, 1e-9)
		})
	}
	_, err := Percentile(nil, 0.5)
	assert.ErrorIs(t, err, ErrNoData, "a percentile over no values is an error, never 0")
	_, err = Percentile([]float64{1}, 95)
	assert.ErrorContains(t, err, "between 0 and 1")
}

func seq(from, to int) []float64 {
	var out []float64
	for i := from; i <= to; i++ {
		out = append(out, float64(i))
	}
	return out
}

func TestSummarise(t *testing.T) {
	l, err := Summarise([]float64{100, 200, 300, 400, 500})
	require.NoError(t, err)
	assert.Equal(t, Latency{P50: 300, P90: 460, P95: 480, P99: 496, Min: 100, Max: 500, Avg: 300, N: 5}, l)
	_, err = Summarise(nil)
	assert.ErrorIs(t, err, ErrNoData)
}

func TestScoreQuery(t *testing.T) {
	ln := math.Log2
	tests := []struct {
		name      string
		retrieved []string
		relevant  []string
		k         int
		want      QueryMetrics
	}{
		{
			name:      "first relevant at rank 3 of 5",
			retrieved: []string{"a", "b", "c", "d", "e"}, relevant: []string{"c", "f"}, k: 5,
			// DCG = 1/log2(4); IDCG = 1/log2(2) + 1/log2(3)
			want: QueryMetrics{Hit: 1, RR: 1.0 / 3, Recall: 0.5, Precision: 0.2, NDCG: (1 / ln(4)) / (1 + 1/ln(3))},
		},
		{
			name:      "perfect ranking",
			retrieved: []string{"x", "y", "z"}, relevant: []string{"x", "y"}, k: 3,
			want: QueryMetrics{Hit: 1, RR: 1, Recall: 1, Precision: 2.0 / 3, NDCG: 1},
		},
		{
			name:      "miss",
			retrieved: []string{"a", "b"}, relevant: []string{"z"}, k: 5,
			want: QueryMetrics{},
		},
		{
			name:      "relevant beyond k does not count",
			retrieved: []string{"a", "b", "c"}, relevant: []string{"c"}, k: 2,
			want: QueryMetrics{},
		},
		{
			name:      "two relevant at ranks 2 and 4, k=4",
			retrieved: []string{"a", "r1", "b", "r2"}, relevant: []string{"r1", "r2", "r3"}, k: 4,
			want: QueryMetrics{Hit: 1, RR: 0.5, Recall: 2.0 / 3, Precision: 0.5,
				NDCG: (1/ln(3) + 1/ln(5)) / (1 + 1/ln(3) + 1/ln(4))},
		},
		{
			name:      "duplicate retrieved ids count once",
			retrieved: []string{"r", "r"}, relevant: []string{"r"}, k: 2,
			want: QueryMetrics{Hit: 1, RR: 1, Recall: 1, Precision: 0.5, NDCG: 1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ScoreQuery(tt.retrieved, tt.relevant, tt.k)
			assert.InDelta(t, tt.want.Hit, got.Hit, 1e-12, "hit")
			assert.InDelta(t, tt.want.RR, got.RR, 1e-12, "rr")
			assert.InDelta(t, tt.want.Recall, got.Recall, 1e-12, "recall")
			assert.InDelta(t, tt.want.Precision, got.Precision, 1e-12, "precision")
			assert.InDelta(t, tt.want.NDCG, got.NDCG, 1e-12, "ndcg")
		})
	}
}

func TestSpanCost(t *testing.T) {
	pricing := map[string]Price{
		"gpt-4o-mini": {Input: 0.15, Output: 0.60, CachedInput: 0.075, HasCachedInput: true},
		"gpt-4o":      {Input: 2.50, Output: 10},
		"claude":      {Input: 3, Output: 15},
	}
	tok := func(in, out, cached int64) span.Tokens {
		return span.Tokens{Input: in, Output: out, Cached: cached, Total: in + out, HasInput: true, HasOutput: true, HasTotal: true, HasCached: cached > 0}
	}
	tests := []struct {
		name     string
		s        span.Span
		want     float64
		reported bool
		ok       bool
		err      string
	}{
		// (1000-400)*0.15 + 400*0.075 + 500*0.60 = 90 + 30 + 300 = 420 per 1M
		{"cached tokens priced once", span.Span{Model: "gpt-4o-mini", Tokens: tok(1000, 500, 400)}, 0.00042, false, true, ""},
		{"no cached price uses input price", span.Span{Model: "gpt-4o", Tokens: tok(1000, 100, 500)}, (1000*2.5 + 100*10) / 1e6, false, true, ""},
		{"dated snapshot", span.Span{Model: "gpt-4o-mini-2024-07-18", Tokens: tok(1_000_000, 0, 0)}, 0.15, false, true, ""},
		{"longest prefix wins", span.Span{Model: "gpt-4o-2024-08-06", Tokens: tok(1_000_000, 0, 0)}, 2.5, false, true, ""},
		{"provider prefix", span.Span{Model: "anthropic/claude", Tokens: tok(1_000_000, 0, 0)}, 3, false, true, ""},
		{"reported cost preferred", span.Span{Model: "gpt-4o", Tokens: tok(1000, 1000, 0), Cost: 0.5, HasCost: true}, 0.5, true, true, ""},
		{"no tokens, no cost", span.Span{Model: "gpt-4o"}, 0, false, false, ""},
		{"unpriced model", span.Span{Model: "mystery", Tokens: tok(10, 10, 0)}, 0, false, false, `no price for model "mystery"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, reported, ok, err := CostOf(&tt.s, pricing)
			if tt.err != "" {
				require.ErrorContains(t, err, tt.err)
				return
			}
			require.NoError(t, err)
			assert.InDelta(t, tt.want, got, 1e-12)
			assert.Equal(t, tt.reported, reported)
			assert.Equal(t, tt.ok, ok)
		})
	}
}

func TestFormatFloat(t *testing.T) {
	for in, want := range map[float64]string{1623.4: "1623.4", 1623.456: "1623.46", 0.8: "0.8", 0.000039: "0.000039", 0: "0", 0.0123456789: "0.0123457", -2.5: "-2.5"} {
		assert.Equal(t, want, FormatFloat(in), "%v", in)
	}
}

// The linear-search scoring gives the map version's values bit for bit.
func TestScoreQuerySmallMatchesMap(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	ids := func(n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = string(rune('a' + r.Intn(6)))
		}
		return out
	}
	same := func(a, b float64) bool { return a == b || (math.IsNaN(a) && math.IsNaN(b)) }
	for i := 0; i < 20000; i++ {
		ret, rel, k := ids(r.Intn(10)), ids(r.Intn(6)), r.Intn(8)
		a, b := scoreQuerySmall(ret, rel, k), scoreQueryMap(ret, rel, k)
		if !same(a.Hit, b.Hit) || !same(a.RR, b.RR) || !same(a.Recall, b.Recall) || !same(a.Precision, b.Precision) || !same(a.NDCG, b.NDCG) {
			t.Fatalf("%v %v k=%d: %+v != %+v", ret, rel, k, a, b)
		}
	}
}
