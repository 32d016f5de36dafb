package receiver

import (
	"io"
	"sync"
)

// bodyBuf holds an HTTP request body in pooled buffers of growing size
// classes: a request starts with 4 KiB and moves to the next class (×4)
// only when its bytes fill the one it has. So the memory a request holds
// follows the bytes it has actually sent (at most 4× plus 4 KiB), whatever
// a previous request left in the pool: a slow client never sits on a
// buffer that a large request grew. Bodies over the largest class grow by
// doubling and are left to the garbage collector.
type bodyBuf struct {
	b     []byte
	class int // index in bodyClasses; -1: not pooled
}

var bodyClasses = [...]int{4 << 10, 16 << 10, 64 << 10, 256 << 10, 1 << 20, 4 << 20}

var bodyPools [len(bodyClasses)]sync.Pool

func takeClass(c int) []byte {
	if v, ok := bodyPools[c].Get().(*[]byte); ok {
		return (*v)[:0]
	}
	return make([]byte, 0, bodyClasses[c])
}

func putClass(c int, b []byte) {
	b = b[:0]
	bodyPools[c].Put(&b)
}

func getBuffer() *bodyBuf { return &bodyBuf{b: takeClass(0)} }

func putBuffer(bb *bodyBuf) {
	if bb.class >= 0 {
		putClass(bb.class, bb.b)
	}
	bb.b = nil
}

func (bb *bodyBuf) Len() int      { return len(bb.b) }
func (bb *bodyBuf) Bytes() []byte { return bb.b }

// grow makes room for more bytes: the next class, or twice the size.
func (bb *bodyBuf) grow() {
	var nb []byte
	next := bb.class + 1
	if bb.class >= 0 && next < len(bodyClasses) {
		nb = takeClass(next)
	} else {
		nb = make([]byte, 0, 2*cap(bb.b))
		next = -1
	}
	nb = append(nb, bb.b...)
	if bb.class >= 0 {
		putClass(bb.class, bb.b)
	}
	bb.b, bb.class = nb, next
}

// ReadFrom reads r to its end (io.EOF is not an error).
func (bb *bodyBuf) ReadFrom(r io.Reader) (int64, error) {
	var total int64
	for {
		if len(bb.b) == cap(bb.b) {
			bb.grow()
		}
		n, err := r.Read(bb.b[len(bb.b):cap(bb.b)])
		bb.b = bb.b[:len(bb.b)+n]
		total += int64(n)
		if err == io.EOF {
			return total, nil
		}
		if err != nil {
			return total, err
		}
	}
}
