package receiver

import (
	"bytes"
	"net"
	"sync"
	"time"
)

// http2Preface is what every HTTP/2 client (so every gRPC client over
// cleartext) sends first. HTTP/1 requests differ from it by their second
// byte at the latest ("POST", "PUT", "GET", ...).
const http2Preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

// acceptLoop accepts connections on l and hands each to a sniffing goroutine,
// so a slow or silent client never blocks the loop.
func (r *Receiver) acceptLoop(l net.Listener, grpcLis, httpLis *chanListener) {
	var delay time.Duration
	for {
		c, err := l.Accept()
		if err != nil {
			if isTemporary(err) { // EMFILE and friends: wait, as net/http does
				delay = backoff(delay)
				time.Sleep(delay)
				continue
			}
			return // listener closed
		}
		delay = 0
		r.sniffMu.Lock()
		if r.closing {
			r.sniffMu.Unlock()
			_ = c.Close()
			return
		}
		r.sniffing[c] = struct{}{}
		r.sniffWG.Add(1)
		r.sniffMu.Unlock()
		go r.sniff(c, grpcLis, httpLis)
	}
}

func backoff(d time.Duration) time.Duration {
	if d == 0 {
		return 5 * time.Millisecond
	}
	return min(2*d, time.Second)
}

// isTemporary reports accept errors worth retrying.
func isTemporary(err error) bool {
	te, ok := err.(interface{ Temporary() bool })
	return ok && te.Temporary()
}

// sniff reads just enough of the connection to tell an HTTP/2 preface from
// an HTTP/1 request line, then passes the connection, with the bytes read put
// back, to the gRPC or the HTTP server.
func (r *Receiver) sniff(c net.Conn, grpcLis, httpLis *chanListener) {
	defer r.sniffWG.Done()
	var buf [len(http2Preface)]byte
	n, isGRPC, err := readPreface(c, buf[:], r.sniffTimeout)

	r.sniffMu.Lock()
	delete(r.sniffing, c)
	closing := r.closing
	r.sniffMu.Unlock()
	if err != nil || closing {
		_ = c.Close()
		return
	}
	pc := &prefixConn{Conn: c, prefix: buf[:n]}
	if isGRPC {
		grpcLis.deliver(pc)
	} else {
		httpLis.deliver(pc)
	}
}

// readPreface reads into buf (len(http2Preface) bytes) until the bytes read
// stop matching the HTTP/2 preface or all of it has arrived, within timeout.
func readPreface(c net.Conn, buf []byte, timeout time.Duration) (n int, isHTTP2 bool, err error) {
	if err := c.SetReadDeadline(time.Now().Add(timeout)); err != nil {
		return 0, false, err
	}
	for n < len(buf) {
		m, err := c.Read(buf[n:])
		n += m
		if !bytes.HasPrefix([]byte(http2Preface), buf[:n]) {
			break // HTTP/1 (or garbage, which net/http answers with 400)
		}
		if err != nil {
			if n == 0 {
				return 0, false, err // silent until the deadline, or closed
			}
			break // part of a preface, then EOF or silence: not HTTP/2
		}
	}
	if err := c.SetReadDeadline(time.Time{}); err != nil {
		return n, false, err
	}
	return n, n == len(buf) && string(buf) == http2Preface, nil
}

// prefixConn is a net.Conn whose first reads return bytes already consumed by
// the sniffer.
type prefixConn struct {
	net.Conn
	prefix []byte
}

func (c *prefixConn) Read(p []byte) (int, error) {
	if len(c.prefix) > 0 {
		n := copy(p, c.prefix)
		c.prefix = c.prefix[n:]
		return n, nil
	}
	return c.Conn.Read(p)
}

// CloseWrite lets net/http half-close the connection before closing it (its
// guard against resetting a connection that still has unread input).
func (c *prefixConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// chanListener is an in-memory net.Listener: the sniffer delivers connections
// and a server's Serve loop accepts them.
type chanListener struct {
	addr  net.Addr
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

func newChanListener(addr net.Addr) *chanListener {
	return &chanListener{addr: addr, conns: make(chan net.Conn), done: make(chan struct{})}
}

// deliver hands c to Accept, or closes it if the listener is closed.
func (l *chanListener) deliver(c net.Conn) {
	select {
	case l.conns <- c:
	case <-l.done:
		_ = c.Close()
	}
}

func (l *chanListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *chanListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *chanListener) Addr() net.Addr { return l.addr }
