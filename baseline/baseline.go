// Package baseline owns llmcheck.baseline.json: a small summary of a
// recorded run — per group of spans, the exact statistics regression rules
// read and the values their significance tests compare (every value up to
// assert.MaxSamples per group, per-trace sums keyed by trace) — meant to
// be committed and reviewed like a golden file, and compared against with
// --baseline instead of a full trace file.
package baseline

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/llmcheck/llmcheck/assert"
	"github.com/llmcheck/llmcheck/internal/fileread"
	"github.com/llmcheck/llmcheck/span"
)

// Kind marks a baseline summary file; it is the first field of the file.
const Kind = "llmcheck.baseline"

// Version is the file format version. Version 2 keeps every value up to
// assert.MaxSamples per group, unrounded, and per-trace sums; version 1
// files (200 values, no per-trace sums) must be written again. Version 3
// adds the evaluation results of each group (evals); version 2 files are
// still read, as summaries without evaluation results (a rule reading
// base.evals against one is an error saying so).
const Version = 3

// MinVersion is the oldest version Read accepts.
const MinVersion = 2

// File is a baseline summary.
type File struct {
	Kind    string           `json:"kind"`
	Version int              `json:"version"`
	Created string           `json:"created,omitempty"`
	Source  []string         `json:"source,omitempty"`
	Spans   int              `json:"spans"`
	Traces  int              `json:"traces"`
	K       int              `json:"retrieval_k"`
	Groups  []assert.Summary `json:"groups"`
}

// New summarises run; cfg supplies pricing and the retrieval k (nil: no
// pricing, k = 5).
func New(cfg *assert.Config, run *span.Run, source []string, now time.Time) *File {
	k := 5
	if cfg != nil {
		k = cfg.Retrieval.K
	}
	f := &File{Kind: Kind, Version: Version, Source: source, Spans: len(run.Spans), Traces: len(run.Traces), K: k,
		Groups: assert.SummariseGroups(cfg, run)}
	if !now.IsZero() {
		f.Created = now.UTC().Format(time.RFC3339)
	}
	return f
}

// Write writes f as indented JSON (stable order, one value per line where
// it matters, so a diff of two baselines is readable).
func Write(path string, f *File) error {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(f); err != nil {
		return fmt.Errorf("encode baseline: %w", err)
	}
	if dir := filepath.Dir(path); dir != "." {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("write %s: %w", path, err)
		}
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// Is reports whether path is a baseline summary (rather than a trace
// file), judging by its first bytes.
func Is(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	buf := make([]byte, 256)
	n, _ := io.ReadFull(f, buf)
	buf = bytes.TrimLeft(buf[:n], " \t\r\n")
	if !bytes.HasPrefix(buf, []byte("{")) {
		return false
	}
	buf = bytes.TrimLeft(buf[1:], " \t\r\n")
	return bytes.HasPrefix(buf, []byte(`"kind":`)) && bytes.Contains(buf, []byte(`"`+Kind+`"`))
}

// Read reads a baseline summary.
func Read(path string) (*File, error) {
	data, err := fileread.ReadFile(path, fileread.MaxBytes)
	if err != nil {
		return nil, fmt.Errorf("baseline: %w", err)
	}
	var f File
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("baseline %s: %v", path, err)
	}
	if f.Kind != Kind {
		return nil, fmt.Errorf("baseline %s: not an llmcheck baseline (kind %q)", path, f.Kind)
	}
	if f.Version < MinVersion || f.Version > Version {
		return nil, fmt.Errorf("baseline %s: version %d is not supported (this llmcheck reads versions %d to %d); rewrite it with `llmcheck baseline write`", path, f.Version, MinVersion, Version)
	}
	total := 0
	for i := range f.Groups {
		if f.Version < 3 {
			if f.Groups[i].Evals != nil {
				return nil, fmt.Errorf("baseline %s: group %q has evals, which version %d files do not have; write it again with `llmcheck baseline write`", path, f.Groups[i].Key, f.Version)
			}
			f.Groups[i].EvalsUnknown = true
		}
		if err := f.Groups[i].Validate(); err != nil {
			return nil, fmt.Errorf("baseline %s: %v; write it again with `llmcheck baseline write`", path, err)
		}
		total += f.Groups[i].Count
	}
	if total != f.Spans {
		return nil, fmt.Errorf("baseline %s: the groups count %d spans, the file says %d; write it again with `llmcheck baseline write`", path, total, f.Spans)
	}
	return &f, nil
}
