package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/llmcheck/llmcheck/assert"
	"github.com/llmcheck/llmcheck/internal/safetext"
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
// The rows of an each: trace result are bounded (see MaxPassingRows).
func EncodeJSON(w io.Writer, res *assert.Results) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(clipNames(boundRows(res)))
}

// clipNames returns res, or a copy whose recorded names (offenders, rows)
// are clipped to safetext.MaxRunes runes and messages to
// safetext.MaxLineRunes ("…(N bytes)" tells the whole length): a 10 MB
// span name would otherwise be written whole into results.json and
// junit.xml once per mention. The trace file keeps the names.
func clipNames(res *assert.Results) *assert.Results {
	if res == nil {
		return nil
	}
	long := func(rs []assert.Result) bool {
		for _, r := range rs {
			if len(r.Message) > safetext.MaxLineRunes {
				return true
			}
			for _, o := range r.Offenders {
				if len(o.Name) > safetext.MaxRunes || len(o.Group) > safetext.MaxRunes || len(o.Detail) > safetext.MaxLineRunes {
					return true
				}
			}
			for _, row := range r.Rows {
				if len(row.Name) > safetext.MaxRunes || len(row.Group) > safetext.MaxRunes || len(row.Message) > safetext.MaxLineRunes {
					return true
				}
			}
			for _, v := range r.Significance {
				if len(v.Key) > safetext.MaxLineRunes {
					return true
				}
			}
		}
		return false
	}
	if !long(res.Assertions) && !long(res.Regressions) {
		return res
	}
	clip := func(rs []assert.Result) []assert.Result {
		out := make([]assert.Result, len(rs))
		for i, r := range rs {
			r.Message = safetext.Clip(r.Message, safetext.MaxLineRunes)
			r.Offenders = append([]assert.Offender(nil), r.Offenders...)
			for j := range r.Offenders {
				r.Offenders[j].Name = safetext.Clip(r.Offenders[j].Name, safetext.MaxRunes)
				r.Offenders[j].Group = safetext.Clip(r.Offenders[j].Group, safetext.MaxRunes)
				r.Offenders[j].Detail = safetext.Clip(r.Offenders[j].Detail, safetext.MaxLineRunes)
			}
			r.Significance = append([]assert.Significance(nil), r.Significance...)
			for j := range r.Significance {
				// A test's key names its groups, which are recorded strings.
				r.Significance[j].Key = safetext.Clip(r.Significance[j].Key, safetext.MaxLineRunes)
			}
			r.Rows = append([]assert.Row(nil), r.Rows...)
			for j := range r.Rows {
				r.Rows[j].Name = safetext.Clip(r.Rows[j].Name, safetext.MaxRunes)
				r.Rows[j].Group = safetext.Clip(r.Rows[j].Group, safetext.MaxRunes)
				r.Rows[j].Message = safetext.Clip(r.Rows[j].Message, safetext.MaxLineRunes)
			}
			out[i] = r
		}
		return out
	}
	c := *res
	c.Assertions = clip(res.Assertions)
	c.Regressions = clip(res.Regressions)
	return &c
}

// ClipNames is clipNames for a list of results (regression rules).
func ClipNames(rs []assert.Result) []assert.Result {
	if rs == nil {
		return nil
	}
	return clipNames(&assert.Results{Assertions: rs}).Assertions
}

// results.json keeps, per each: trace result, every row in trace order up
// to these counts — the first MaxPassingRows passing rows and the first
// MaxOtherRows failed, errored or warned ones — and counts the rest in
// rows_omitted. A 250,000-trace run would otherwise write a 100 MB
// results.json of passing rows; the offenders, the message and the
// trace file keep what is left out.
const (
	MaxPassingRows = 1000
	MaxOtherRows   = 10000
)

// boundRows returns res, or a copy whose results' rows are bounded.
func boundRows(res *assert.Results) *assert.Results {
	if res == nil {
		return nil
	}
	over := func(rs []assert.Result) bool {
		for _, r := range rs {
			if len(r.Rows) > MaxPassingRows {
				return true
			}
		}
		return false
	}
	if !over(res.Assertions) && !over(res.Regressions) {
		return res
	}
	trim := func(rs []assert.Result) []assert.Result {
		out := make([]assert.Result, len(rs))
		for i, r := range rs {
			out[i] = r
			if len(r.Rows) <= MaxPassingRows {
				continue
			}
			kept := make([]assert.Row, 0, MaxPassingRows)
			pass, other := 0, 0
			for _, row := range r.Rows {
				switch {
				case row.Status == assert.Pass && pass < MaxPassingRows:
					pass++
				case row.Status != assert.Pass && other < MaxOtherRows:
					other++
				default:
					out[i].RowsOmitted++
					continue
				}
				kept = append(kept, row)
			}
			out[i].Rows = kept
		}
		return out
	}
	c := *res
	c.Assertions = trim(res.Assertions)
	c.Regressions = trim(res.Regressions)
	return &c
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
