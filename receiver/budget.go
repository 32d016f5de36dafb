package receiver

import (
	"errors"
	"io"
	"sync/atomic"
)

// budget bounds the request bytes the receiver holds at once, across every
// connection, protocol and signal: bodies are charged, decompressed, as they
// are read, and released once the request is answered. It never waits: a
// charge that does not fit fails, and the request is answered with a
// retryable status. (A weighted semaphore's TryAcquire would do; this is the
// same without a mutex on every read.)
//
// The last reserve bytes of the budget are kept for the first small bytes
// of each request: large requests together hold at most max-reserve, so a
// flood of requests at the size limit cannot refuse an exporter's ordinary
// batch for long.
type budget struct {
	max     int64
	reserve int64 // of max, only for a request's first small bytes
	small   int64
	used    atomic.Int64
	peak    atomic.Int64
}

// newBudget is a budget of max bytes for requests of at most limit bytes.
func newBudget(max, limit int64) budget {
	return budget{max: max, reserve: min(max/4, max-limit), small: min(1<<20, max/16)}
}

// errOverBudget is what a request sees when the bytes it holds would take
// the receiver over its in-flight budget.
var errOverBudget = errors.New("receiver busy: in-flight request bytes over the budget; retry")

// charge takes n more bytes of the budget for a request that then holds
// total bytes; false (nothing taken) if they do not fit.
func (b *budget) charge(n, total int64) bool {
	if n <= 0 {
		return true
	}
	limit := b.max
	if total > b.small {
		limit -= b.reserve
	}
	used := b.used.Add(n)
	if used > limit {
		b.used.Add(-n)
		return false
	}
	for {
		p := b.peak.Load()
		if used <= p || b.peak.CompareAndSwap(p, used) {
			return true
		}
	}
}

// release gives back n bytes taken by charge.
func (b *budget) release(n int64) {
	if n > 0 {
		b.used.Add(-n)
	}
}

// chargedReader charges every byte read through it to a budget; reads
// that would exceed the budget fail with errOverBudget. The caller releases
// charged when done with the bytes.
type chargedReader struct {
	r       io.Reader
	b       *budget
	charged int64
}

func (c *chargedReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if n > 0 {
		if !c.b.charge(int64(n), c.charged+int64(n)) {
			return 0, errOverBudget
		}
		c.charged += int64(n)
	}
	return n, err
}
