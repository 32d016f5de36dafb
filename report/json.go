package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/llmcheck/llmcheck/assert"
)

// WriteJSON writes results as results.json (schema: docs/results.md).
func WriteJSON(path string, res *assert.Results) error {
	var b bytes.Buffer
	if err := EncodeJSON(&b, res); err != nil {
		return fmt.Errorf("encode %s: %w", path, err)
	}
	return writeFile(path, b.Bytes())
}

// EncodeJSON writes results as indented JSON (the results.json schema).
func EncodeJSON(w io.Writer, res *assert.Results) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(res)
}

// writeFile writes data atomically: a temporary file renamed into place,
// so a reader never sees half a report.
func writeFile(path string, data []byte) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
