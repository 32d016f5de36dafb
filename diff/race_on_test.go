//go:build race

package diff

// raceEnabled: the race detector slows the seeded measurements about
// tenfold; they then run on fewer pairs (as with -short).
const raceEnabled = true
