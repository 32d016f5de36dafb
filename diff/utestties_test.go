package diff

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
)

// permutationP is the exact two-sided p-value of the Mann-Whitney U
// statistic by enumerating every split of the pooled values (ties kept
// as they are): twice the smaller tail, at most 1. Computed here
// independently of the library.
func permutationP(a, b []float64) float64 {
	u := func(x, y []float64) float64 {
		s := 0.0
		for _, p := range x {
			for _, q := range y {
				switch {
				case p > q:
					s++
				case p == q:
					s += 0.5
				}
			}
		}
		return s
	}
	pool := append(append([]float64(nil), a...), b...)
	n, k := len(pool), len(a)
	uo := u(a, b)
	var total, lo, hi float64
	idx := make([]int, k)
	var rec func(start, depth int)
	rec = func(start, depth int) {
		if depth == k {
			in := make([]bool, n)
			x := make([]float64, 0, k)
			for _, i := range idx {
				in[i] = true
				x = append(x, pool[i])
			}
			y := make([]float64, 0, n-k)
			for i, v := range pool {
				if !in[i] {
					y = append(y, v)
				}
			}
			total++
			ux := u(x, y)
			if ux <= uo+1e-9 {
				lo++
			}
			if ux >= uo-1e-9 {
				hi++
			}
			return
		}
		for i := start; i <= n-(k-depth); i++ {
			idx[depth] = i
			rec(i+1, depth+1)
		}
	}
	rec(0, 0)
	return math.Min(1, 2*math.Min(lo, hi)/total)
}

// TestSignificanceTiesUnequal: small samples with ties and different
// sizes (evaluation scores on a coarse scale, 0/1 label indicators) get
// the exact p-value of the permutation distribution. The library's exact
// test with ties doubles the lower tail of U1's distribution at min(U1,
// U2), which is only right when that distribution is symmetric (equal
// sizes): it gave p=0.0133 for a permutation p of 0.036, and p=0 where
// the smallest possible is 1/6435.
func TestSignificanceTiesUnequal(t *testing.T) {
	for seed := uint64(1); seed <= 40; seed++ {
		r := rand.New(rand.NewPCG(seed, 5))
		mk := func(n int, shift float64) []float64 {
			out := make([]float64, n)
			for i := range out {
				out[i] = math.Round(10*(0.5+shift+0.3*r.Float64())) / 10
			}
			return out
		}
		base, head := mk(6+int(seed%3), 0), mk(6+int(seed%4), -0.05*float64(seed%5))
		if constant(base, head) {
			continue
		}
		t.Run(fmt.Sprintf("seed %d n=%d+%d", seed, len(base), len(head)), func(t *testing.T) {
			assert.InDelta(t, permutationP(base, head), Significance(base, head, 0.05, 6).P, 1e-9)
		})
	}
	// 0/1 label indicators, 6 vs 9.
	base := []float64{1, 1, 1, 1, 1, 0}
	head := []float64{0, 0, 0, 1, 0, 0, 1, 0, 0}
	assert.InDelta(t, permutationP(base, head), Significance(base, head, 0.05, 6).P, 1e-9)
}
