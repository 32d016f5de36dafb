package main

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/llmcheck/llmcheck/assert"
	"github.com/llmcheck/llmcheck/diff"
	"github.com/llmcheck/llmcheck/runner"
	"github.com/llmcheck/llmcheck/span"
)

// pdataJSON decodes every line of a JSON lines file with
// ptrace.JSONUnmarshaler in one goroutine and drops the result.
func pdataJSON(path string) (int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 256<<10)
	var u ptrace.JSONUnmarshaler
	spans := 0
	var buf []byte
	for {
		line, err := r.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			buf = append(buf[:0], line...)
			for errors.Is(err, bufio.ErrBufferFull) {
				line, err = r.ReadSlice('\n')
				buf = append(buf, line...)
			}
			line = buf
		}
		if len(line) > 1 {
			td, uerr := u.UnmarshalTraces(line)
			if uerr != nil {
				return spans, uerr
			}
			spans += td.SpanCount()
		}
		if errors.Is(err, io.EOF) {
			return spans, nil
		}
		if err != nil {
			return spans, err
		}
	}
}

// spanJSON decodes every line with span.Decoder in one goroutine, keeping
// the spans (the fast path of the read, without parallelism).
func spanJSON(path string) (int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 256<<10)
	d := span.NewDecoder()
	var spans []span.Span
	var buf []byte
	for {
		line, err := r.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			buf = append(buf[:0], line...)
			for errors.Is(err, bufio.ErrBufferFull) {
				line, err = r.ReadSlice('\n')
				buf = append(buf, line...)
			}
			line = buf
		}
		if len(line) > 1 {
			var derr error
			spans, derr = d.DecodeJSON(spans, line, nil)
			if derr != nil {
				return len(spans), derr
			}
		}
		if errors.Is(err, io.EOF) {
			return len(spans), nil
		}
		if err != nil {
			return len(spans), err
		}
	}
}

// pdataProto decodes every record of a length-prefixed protobuf file with
// ptrace.ProtoUnmarshaler in one goroutine.
func pdataProto(path string) (int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 256<<10)
	var u ptrace.ProtoUnmarshaler
	var hdr [4]byte
	var buf []byte
	spans := 0
	for {
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			if errors.Is(err, io.EOF) {
				return spans, nil
			}
			return spans, err
		}
		n := int(binary.BigEndian.Uint32(hdr[:]))
		if cap(buf) < n {
			buf = make([]byte, n)
		}
		buf = buf[:n]
		if _, err := io.ReadFull(r, buf); err != nil {
			return spans, err
		}
		td, err := u.UnmarshalTraces(buf)
		if err != nil {
			return spans, err
		}
		spans += td.SpanCount()
	}
}

// load is runner.LoadRun: the trace file read into the span model.
func load(path string) (int, error) {
	run, err := runner.LoadRun([]string{path}, nil)
	if err != nil {
		return 0, err
	}
	return len(run.Spans), nil
}

// check is `llmcheck check` without the reports: load the assertions,
// load the run, evaluate. It prints the split between load and evaluate.
func check(path, cfg string) (int, error) {
	t0 := time.Now()
	suite, err := assert.Load(cfg)
	if err != nil {
		return 0, err
	}
	run, err := runner.LoadRun([]string{path}, nil)
	if err != nil {
		return 0, err
	}
	t1 := time.Now()
	res := suite.Evaluate(run)
	t2 := time.Now()
	if res.Status != assert.Pass {
		for _, a := range res.Assertions {
			if a.Status != assert.Pass {
				return 0, fmt.Errorf("%s: %s %s", a.Name, a.Status, a.Message)
			}
		}
	}
	fmt.Fprintf(os.Stderr, "load %.3fs evaluate %.3fs\n", t1.Sub(t0).Seconds(), t2.Sub(t1).Seconds())
	return len(run.Spans), nil
}

// compare is `llmcheck diff` without the output: load both runs, compare
// them group by group and test by test.
func compare(basePath, headPath string) (int, error) {
	base, err := runner.LoadRun([]string{basePath}, nil)
	if err != nil {
		return 0, err
	}
	head, err := runner.LoadRun([]string{headPath}, nil)
	if err != nil {
		return 0, err
	}
	r := diff.Compare(base, head, diff.Options{})
	if len(r.Groups) == 0 {
		return 0, errors.New("diff found no groups")
	}
	return len(base.Spans) + len(head.Spans), nil
}
