package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	a "github.com/llmcheck/llmcheck/assert"
)

func TestEncodeJSONBoundsRows(t *testing.T) {
	rows := func(n int, fail func(i int) bool) []a.Row {
		out := make([]a.Row, n)
		for i := range out {
			out[i] = a.Row{TraceID: fmt.Sprintf("t%06d", i), Status: a.Pass}
			if fail(i) {
				out[i].Status = a.Fail
			}
		}
		return out
	}
	tests := []struct {
		name                    string
		rows                    []a.Row
		wantPass, wantOther     int
		wantOmitted             int
		wantFirstFail, wantLast string
	}{
		{"small: every row", rows(30, func(i int) bool { return i%3 == 0 }), 20, 10, 0, "t000000", "t000029"},
		{"exactly the cap", rows(MaxPassingRows, func(int) bool { return false }), MaxPassingRows, 0, 0, "", fmt.Sprintf("t%06d", MaxPassingRows-1)},
		{"many passing, failures late", rows(2500, func(i int) bool { return i >= 2490 }), MaxPassingRows, 10, 1490, "t002490", "t002499"},
		{"too many failures", rows(12_000, func(i int) bool { return i%6 != 0 }), MaxPassingRows, MaxOtherRows, 12_000 - MaxPassingRows - MaxOtherRows, "t000001", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := &a.Results{Version: 1, Status: a.Fail, Assertions: []a.Result{{Name: "per trace", Each: "trace", Rows: tt.rows}}}
			var b bytes.Buffer
			require.NoError(t, EncodeJSON(&b, res))
			var got struct {
				Assertions []struct {
					Rows        []a.Row
					RowsOmitted *int `json:"rows_omitted"`
				}
			}
			require.NoError(t, json.Unmarshal(b.Bytes(), &got))
			r := got.Assertions[0]
			pass, other, firstFail := 0, 0, ""
			for i, row := range r.Rows {
				if i > 0 {
					require.Less(t, r.Rows[i-1].TraceID, row.TraceID, "rows keep trace order")
				}
				if row.Status == a.Pass {
					pass++
				} else {
					other++
					if firstFail == "" {
						firstFail = row.TraceID
					}
				}
			}
			assert.Equal(t, tt.wantPass, pass)
			assert.Equal(t, tt.wantOther, other)
			assert.Equal(t, tt.wantFirstFail, firstFail)
			if tt.wantLast != "" {
				assert.Equal(t, tt.wantLast, r.Rows[len(r.Rows)-1].TraceID)
			}
			if tt.wantOmitted == 0 {
				assert.Nil(t, r.RowsOmitted, "rows_omitted only when rows are left out")
			} else {
				require.NotNil(t, r.RowsOmitted)
				assert.Equal(t, tt.wantOmitted, *r.RowsOmitted)
			}
			assert.Len(t, res.Assertions[0].Rows, len(tt.rows), "the caller's results are not changed")
			assert.Zero(t, res.Assertions[0].RowsOmitted)
		})
	}
}
