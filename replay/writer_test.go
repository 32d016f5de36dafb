package replay

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

func TestWriteReadRoundTrip(t *testing.T) {
	tests := []struct {
		name    string
		batches []ptrace.Traces
	}{
		{"one batch one span", []ptrace.Traces{richTraces(0, 1, 1)}},
		{"many resources and spans", []ptrace.Traces{richTraces(0, 3, 5), richTraces(1, 1, 7)}},
		{"genai spans", []ptrace.Traces{genAITraces(0, 50), genAITraces(1, 50), genAITraces(2, 1)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "nested", "dir", "traces.jsonl")
			w, err := Create(path)
			require.NoError(t, err)
			wantSpans := 0
			for _, td := range tt.batches {
				require.NoError(t, w.ConsumeTraces(context.Background(), td))
				wantSpans += td.SpanCount()
			}
			assert.EqualValues(t, wantSpans, w.Spans())
			require.NoError(t, w.Close())

			// Exactly one line per batch, each readable by pdata's own
			// JSONUnmarshaler, as the Collector's otlpjsonfile receiver reads.
			data, err := os.ReadFile(path)
			require.NoError(t, err)
			require.True(t, bytes.HasSuffix(data, []byte("\n")))
			lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
			require.Len(t, lines, len(tt.batches))
			var u ptrace.JSONUnmarshaler
			for i, line := range lines {
				td, err := u.UnmarshalTraces([]byte(line))
				require.NoError(t, err)
				assert.Equal(t, jsonOf(t, tt.batches[i]), jsonOf(t, td), "line %d", i+1)
			}

			r := readAll(path)
			require.NoError(t, r.err)
			assert.Empty(t, r.warnings)
			require.Len(t, r.batches, len(tt.batches))
			for i := range tt.batches {
				assert.Equal(t, jsonOf(t, tt.batches[i]), jsonOf(t, r.batches[i]), "batch %d", i)
			}
		})
	}
}

func TestWriteHexIDs(t *testing.T) {
	path := filepath.Join(t.TempDir(), "traces.jsonl")
	w, err := Create(path)
	require.NoError(t, err)
	require.NoError(t, w.ConsumeTraces(context.Background(), richTraces(0, 1, 1)))
	require.NoError(t, w.Close())
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Contains(t, string(data), `"traceId":"ab0000000405060708090a0b0c0d0eff"`)
	assert.Contains(t, string(data), `"spanId":"cd000000040506ff"`)
}

func TestWriteEmptyWritesNothing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "traces.jsonl")
	w, err := Create(path)
	require.NoError(t, err)
	require.NoError(t, w.ConsumeTraces(context.Background(), ptrace.NewTraces()))
	noSpans := ptrace.NewTraces()
	noSpans.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty()
	require.NoError(t, w.ConsumeTraces(context.Background(), noSpans))
	require.NoError(t, w.Close())
	info, err := os.Stat(path)
	require.NoError(t, err)
	assert.Zero(t, info.Size())
	assert.Zero(t, w.Spans())
}

func TestCreateTruncatesAndNamesPath(t *testing.T) {
	dir := t.TempDir()
	path := writeFile(t, dir, "traces.jsonl", []byte("old content\n"))
	w, err := Create(path)
	require.NoError(t, err)
	require.NoError(t, w.Close())
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Empty(t, data)

	// A parent that is a file cannot be created.
	blocker := writeFile(t, dir, "file", nil)
	bad := filepath.Join(blocker, "sub", "traces.jsonl")
	_, err = Create(bad)
	require.Error(t, err)
	assert.Contains(t, err.Error(), bad)
}

func TestWriterClose(t *testing.T) {
	path := filepath.Join(t.TempDir(), "traces.jsonl")
	w, err := Create(path)
	require.NoError(t, err)
	require.NoError(t, w.Close())
	require.NoError(t, w.Close(), "second Close")
	err = w.ConsumeTraces(context.Background(), genAITraces(0, 1))
	require.ErrorIs(t, err, os.ErrClosed)
	assert.Contains(t, err.Error(), path)
}

func TestWriterConcurrent(t *testing.T) {
	const goroutines, batches, spans = 8, 25, 3
	path := filepath.Join(t.TempDir(), "traces.jsonl")
	w, err := Create(path)
	require.NoError(t, err)
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for b := range batches {
				// Batches of different sizes, some large, to make any
				// interleaving visible.
				td := genAITraces(g*1000+b, spans+(b%5)*5)
				assert.NoError(t, w.ConsumeTraces(context.Background(), td))
			}
		})
	}
	wg.Wait()
	require.NoError(t, w.Close())

	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 64<<20)
	var u ptrace.JSONUnmarshaler
	lines, total := 0, 0
	for sc.Scan() {
		td, err := u.UnmarshalTraces(sc.Bytes())
		require.NoError(t, err, "line %d", lines+1)
		lines++
		total += td.SpanCount()
	}
	require.NoError(t, sc.Err())
	assert.Equal(t, goroutines*batches, lines)
	assert.EqualValues(t, total, w.Spans())

	r := readAll(path)
	require.NoError(t, r.err)
	assert.Len(t, r.batches, goroutines*batches)
}

// TestWriterKilled kills a process writing traces with SIGKILL and checks
// the file reads back: complete lines only, or one truncated last line
// reported as a warning.
func TestWriterKilled(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a subprocess")
	}
	path := filepath.Join(t.TempDir(), "traces.jsonl")
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperWriterProcess$")
	cmd.Env = append(os.Environ(), "LLMCHECK_REPLAY_HELPER_OUT="+path)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	line, err := bufio.NewReader(stdout).ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, "ready\n", line)
	time.Sleep(150 * time.Millisecond)
	require.NoError(t, cmd.Process.Kill())
	_ = cmd.Wait()

	r := readAll(path)
	require.NoError(t, r.err)
	assert.NotEmpty(t, r.batches)
	assert.LessOrEqual(t, len(r.warnings), 1)
	for _, w := range r.warnings {
		assert.Contains(t, w, "incomplete last line")
	}
	t.Logf("read %d batches, %d spans after kill -9; warnings: %q", len(r.batches), r.spans(), r.warnings)
}

// TestHelperWriterProcess is the process TestWriterKilled kills.
func TestHelperWriterProcess(t *testing.T) {
	path := os.Getenv("LLMCHECK_REPLAY_HELPER_OUT")
	if path == "" {
		t.Skip("helper process for TestWriterKilled")
	}
	w, err := Create(path)
	if err != nil {
		os.Exit(3)
	}
	if err := w.ConsumeTraces(context.Background(), genAITraces(0, 10)); err != nil {
		os.Exit(4)
	}
	os.Stdout.WriteString("ready\n")
	for g := range 4 {
		go func() {
			for b := 1; ; b++ {
				_ = w.ConsumeTraces(context.Background(), genAITraces(g*100000+b, 1+b%200))
			}
		}()
	}
	select {}
}
