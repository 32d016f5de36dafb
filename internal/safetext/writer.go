package safetext

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"io"
	"sync"
	"unicode/utf8"
)

// maxPending bounds the unfinished line a Writer holds back.
const maxPending = 1 << 20

// Streams are llmcheck's guarded standard output and error. Everything
// written to Out and Err is filtered line by line so that no line can be
// taken for a workflow command by the GitHub Actions runner (which splits
// lines on CR as well as LF, trims white space, runs a line starting with
// "::" and, in the legacy form, any "##[" in a line): a "::" at the start
// of a line becomes "\u003a:" and "##[" becomes "##\u005b" (inside a JSON
// string that escape reads back as the same character, so --format json
// output stays the same document). C1 controls and bidi and invisible
// format characters become \uHHHH too (recorded strings are escaped
// before they are printed, see Text; this holds for JSON output and for
// any message that forgot). llmcheck's own workflow commands go through
// Command, unfiltered.
//
// Under GitHub Actions (NewStreams with github set), the first line
// written after a Command is preceded by "::stop-commands::TOKEN" (TOKEN
// random per process), so the runner ignores every command until
// Command or Resume writes "::TOKEN::". Close resumes too: the steps after
// llmcheck's keep their commands.
type Streams struct {
	Out, Err *Writer

	mu      sync.Mutex
	github  bool
	token   string
	stopped bool
}

// NewStreams guards stdout and stderr; github turns on stop-commands.
func NewStreams(stdout, stderr io.Writer, github bool) *Streams {
	s := &Streams{github: github}
	if github {
		var r [16]byte
		_, _ = rand.Read(r[:])
		s.token = "llmcheck-" + hex.EncodeToString(r[:])
	}
	s.Out = &Writer{w: stdout, s: s, start: true}
	s.Err = &Writer{w: stderr, s: s, start: true}
	return s
}

// Token is the stop-commands token ("" outside GitHub Actions).
func (s *Streams) Token() string { return s.token }

// Resume writes the pending unfinished lines and, when commands are
// stopped, "::TOKEN::" to stderr, so that what runs next (the test
// command, a later step) has its workflow commands honoured.
func (s *Streams) Resume() error {
	if err := s.Out.finish(); err != nil {
		return err
	}
	return s.Err.command("")
}

// Close flushes both streams and resumes commands.
func (s *Streams) Close() error { return s.Resume() }

// Writer is one guarded stream of Streams.
type Writer struct {
	mu      sync.Mutex
	w       io.Writer
	s       *Streams
	pending []byte // the unfinished line
	start   bool   // pending begins a line
	out     []byte
}

// Write filters p (see Streams). An unfinished last line is held until its
// end arrives, Flush, Command or Resume.
func (w *Writer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := len(p)
	w.out = w.out[:0]
	for len(p) > 0 {
		i := bytes.IndexAny(p, "\r\n")
		if i < 0 {
			w.pending = append(w.pending, p...)
			break
		}
		if len(w.pending) == 0 {
			w.out = w.filterLine(w.out, p[:i+1], w.start)
		} else {
			w.pending = append(w.pending, p[:i+1]...)
			w.out = w.filterLine(w.out, w.pending, w.start)
			w.pending = w.pending[:0]
		}
		w.start = true
		p = p[i+1:]
	}
	if len(w.pending) > maxPending {
		keep := 2 // a "##" that the next write may complete
		head := w.pending[:len(w.pending)-keep]
		w.out = w.filterLine(w.out, head, w.start)
		if w.start && len(bytes.TrimLeftFunc(head, isTrimmed)) > 0 {
			w.start = false
		}
		w.pending = append(w.pending[:0], w.pending[len(w.pending)-keep:]...)
	}
	if err := w.emit(w.out); err != nil {
		return 0, err
	}
	return n, nil
}

// emit writes filtered bytes, stopping commands first under GitHub
// Actions. Called with w.mu held.
func (w *Writer) emit(b []byte) error {
	if len(b) == 0 {
		return nil
	}
	s := w.s
	s.mu.Lock()
	if s.github && !s.stopped {
		if _, err := io.WriteString(w.w, "::stop-commands::"+s.token+"\n"); err != nil {
			s.mu.Unlock()
			return err
		}
		s.stopped = true
	}
	s.mu.Unlock()
	_, err := w.w.Write(b)
	return err
}

// filterLine appends line (which ends with its CR or LF, or is the start
// of an unfinished one) to dst, neutralising workflow commands; atStart
// says whether line begins a line of output.
func (w *Writer) filterLine(dst, line []byte, atStart bool) []byte {
	if atStart {
		rest := bytes.TrimLeftFunc(line, isTrimmed)
		if bytes.HasPrefix(rest, []byte("::")) {
			lead := len(line) - len(rest)
			dst = append(dst, line[:lead]...)
			dst = append(dst, `\u003a`...)
			line = line[lead+1:]
		}
	}
	for {
		i := bytes.Index(line, []byte("##["))
		if i < 0 {
			return appendNeutral(dst, line)
		}
		dst = appendNeutral(dst, line[:i+2])
		dst = append(dst, `\u005b`...)
		line = line[i+3:]
	}
}

// appendNeutral appends b with the C1 controls and the bidi and invisible
// format characters (see Escape) written as \uHHHH, which inside a JSON
// string is the same character again.
func appendNeutral(dst, b []byte) []byte {
	for len(b) > 0 {
		i := 0
		for i < len(b) && b[i] < utf8.RuneSelf {
			i++
		}
		dst = append(dst, b[:i]...)
		b = b[i:]
		if len(b) == 0 {
			break
		}
		r, size := utf8.DecodeRune(b)
		if unsafeRune(r) {
			dst = append(dst, `\u`...)
			dst = append(dst, hex4(r)...)
		} else {
			dst = append(dst, b[:size]...)
		}
		b = b[size:]
	}
	return dst
}

// Flush writes the unfinished line, filtered.
func (w *Writer) Flush() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.flushLocked()
}

func (w *Writer) flushLocked() error {
	if len(w.pending) == 0 {
		return nil
	}
	w.out = w.filterLine(w.out[:0], w.pending, w.start)
	if w.start && len(bytes.TrimLeftFunc(w.pending, isTrimmed)) > 0 {
		w.start = false
	}
	w.pending = w.pending[:0]
	return w.emit(w.out)
}

// command flushes w and, when commands are stopped, writes "::TOKEN::" on
// it; a command line (cmd) follows unfiltered when it is not "".
// finish writes the unfinished line, filtered, and ends it, so that what
// follows on this stream (or on the other, when both are one file) starts
// a line.
func (w *Writer) finish() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.finishLocked()
}

func (w *Writer) finishLocked() error {
	if err := w.flushLocked(); err != nil {
		return err
	}
	if !w.start {
		if _, err := io.WriteString(w.w, "\n"); err != nil {
			return err
		}
		w.start = true
	}
	return nil
}

func (w *Writer) command(cmd string) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.finishLocked(); err != nil {
		return err
	}
	s := w.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		if _, err := io.WriteString(w.w, "::"+s.token+"::\n"); err != nil {
			return err
		}
		s.stopped = false
	}
	if cmd == "" {
		return nil
	}
	_, err := io.WriteString(w.w, cmd+"\n")
	return err
}

// Command writes one of llmcheck's own workflow commands (a line without
// its line break, already escaped: see report.Annotation) unfiltered, at
// the start of a line, after resuming commands under GitHub Actions.
func (w *Writer) Command(line string) error { return w.command(line) }

// Commander is the interface of Writer that writes workflow commands.
type Commander interface{ Command(line string) error }

// Command writes a workflow command line to w: through Command when w is
// a guarded Writer (or anything implementing Commander), else as a line.
func Command(w io.Writer, line string) error {
	if c, ok := w.(Commander); ok {
		return c.Command(line)
	}
	_, err := io.WriteString(w, line+"\n")
	return err
}

// Resume resumes workflow commands when w is a guarded Writer (the test
// command's own output is not llmcheck's: see docs/reliability.md); for
// any other writer it does nothing.
func Resume(w io.Writer) error {
	if gw, ok := w.(*Writer); ok {
		return gw.s.Resume()
	}
	return nil
}
