package replay

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/llmcheck/llmcheck/span"
)

var (
	crossMu       sync.Mutex
	crossFailures []string
)

// TestMain fails the run when, for any file set a test reads with readAll,
// ReadSpans or LoadSpans disagree with Read + span.FromTracesWarn.
func TestMain(m *testing.M) {
	code := m.Run()
	if len(crossFailures) > 0 {
		fmt.Fprintf(os.Stderr, "ReadSpans/LoadSpans differ from Read+FromTracesWarn:\n%s\n", strings.Join(crossFailures, "\n"))
		code = 1
	}
	os.Exit(code)
}

// viaRead is what runner.LoadRun did before ReadSpans: Read, then
// FromTracesWarn on every batch with the same warn function.
func viaRead(paths []string) string {
	var spans []span.Span
	var warns []string
	warn := func(m string) { warns = append(warns, m) }
	err := Read(paths, ReadOptions{Warn: warn}, func(td ptrace.Traces) error {
		spans = span.FromTracesWarn(spans, td, warn)
		return nil
	})
	if err != nil {
		return fmt.Sprintf("error %v; warnings %q", err, warns)
	}
	return fmt.Sprintf("%#v; warnings %q", spans, warns)
}

func viaLoadSpans(paths []string) string {
	var warns []string
	spans, err := LoadSpans(paths, ReadOptions{Warn: func(m string) { warns = append(warns, m) }})
	if err != nil {
		return fmt.Sprintf("error %v; warnings %q", err, warns)
	}
	if len(spans) == 0 {
		spans = nil
	}
	return fmt.Sprintf("%#v; warnings %q", spans, warns)
}

func viaReadSpans(paths []string) string {
	var all []span.Span
	var warns []string
	err := ReadSpans(paths, ReadOptions{Warn: func(m string) { warns = append(warns, m) }}, func(s []span.Span) error {
		all = append(all, s...)
		return nil
	})
	if err != nil {
		return fmt.Sprintf("error %v; warnings %q", err, warns)
	}
	return fmt.Sprintf("%#v; warnings %q", all, warns)
}

func crossCheckSpans(paths []string) {
	want := viaRead(paths)
	for name, f := range map[string]func([]string) string{"LoadSpans": viaLoadSpans, "ReadSpans": viaReadSpans} {
		if got := f(paths); got != want {
			crossMu.Lock()
			crossFailures = append(crossFailures, fmt.Sprintf("%s(%q):\n  got  %.2000s\n  want %.2000s", name, paths, got, want))
			crossMu.Unlock()
		}
	}
}

func TestLoadSpansLargeRunInOrder(t *testing.T) {
	// Enough batches to fill the pipeline's window many times over, in
	// JSON lines and protobuf, with the spans checked in file order.
	dir := t.TempDir()
	var batches []ptrace.Traces
	for i := range 300 {
		batches = append(batches, genAITraces(i, 1+i%7))
	}
	js := writeFile(t, dir, "a.jsonl", encodeJSONLines(t, batches))
	pb := writeFile(t, dir, "b.pb", encodeProto(t, batches))
	gz := writeFile(t, dir, "c.jsonl.gz", gzipped(t, encodeJSONLines(t, batches)))
	for _, paths := range [][]string{{js}, {pb}, {gz}, {js, pb, gz}} {
		assert.Equal(t, viaRead(paths), viaLoadSpans(paths), "%v", paths)
	}
}

func TestReadSpansStopsOnCallbackError(t *testing.T) {
	dir := t.TempDir()
	var batches []ptrace.Traces
	for i := range 100 {
		batches = append(batches, genAITraces(i, 3))
	}
	path := writeFile(t, dir, "a.jsonl", encodeJSONLines(t, batches))
	stop := errors.New("stop")
	calls := 0
	err := ReadSpans([]string{path}, ReadOptions{}, func([]span.Span) error {
		calls++
		if calls == 5 {
			return stop
		}
		return nil
	})
	require.ErrorIs(t, err, stop)
	assert.Equal(t, 5, calls)
}

func TestLoadSpansOfRecordedRun(t *testing.T) {
	// What the Writer records reads back identically by both paths.
	path := filepath.Join(t.TempDir(), "traces.jsonl")
	w, err := Create(path)
	require.NoError(t, err)
	for i := range 20 {
		require.NoError(t, w.ConsumeTraces(context.Background(), richTraces(i, 2, 3)))
	}
	require.NoError(t, w.Close())
	assert.Equal(t, viaRead([]string{path}), viaLoadSpans([]string{path}))
}

func TestMaxSpans(t *testing.T) {
	path := filepath.Join(t.TempDir(), "traces.jsonl")
	w, err := Create(path)
	require.NoError(t, err)
	for i := range 5 {
		require.NoError(t, w.ConsumeTraces(context.Background(), genAITraces(i, 100)))
	}
	require.NoError(t, w.Close())
	paths := []string{path, path}

	for _, max := range []int64{0, 1000, 2000} {
		spans, err := LoadSpans(paths, ReadOptions{MaxSpans: max})
		require.NoError(t, err, "max %d", max)
		assert.Len(t, spans, 1000)
		n := 0
		require.NoError(t, ReadSpans(paths, ReadOptions{MaxSpans: max}, func(s []span.Span) error { n += len(s); return nil }))
		assert.Equal(t, 1000, n)
	}
	for _, max := range []int64{1, 99, 100, 250, 999} {
		spans, err := LoadSpans(paths, ReadOptions{MaxSpans: max})
		var tm *TooManySpansError
		require.ErrorAs(t, err, &tm, "max %d", max)
		assert.Equal(t, max, tm.Max)
		assert.Equal(t, paths, tm.Paths)
		assert.Equal(t, fmt.Sprintf("%s, %s: more than %d spans", path, path, max), err.Error())
		assert.Nil(t, spans)

		// ReadSpans delivers the batches up to the limit, not the one
		// that crosses it
		n := 0
		err = ReadSpans(paths, ReadOptions{MaxSpans: max}, func(s []span.Span) error { n += len(s); return nil })
		require.ErrorAs(t, err, &tm)
		assert.Equal(t, int(max/100*100), n, "max %d", max)
	}
}
