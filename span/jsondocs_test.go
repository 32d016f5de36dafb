package span

import (
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// refDocsFromJSON is docsFromJSON written with encoding/json, the reference
// the scanner is checked against.
func refDocsFromJSON(str string) ([]Document, bool) {
	var raw []json.RawMessage
	if err := json.Unmarshal([]byte(str), &raw); err != nil || raw == nil { // null is no array
		return nil, false
	}
	docs := []Document{}
	for i, r := range raw {
		d := Document{Rank: i + 1}
		r = json.RawMessage(strings.TrimSpace(string(r)))
		switch r[0] {
		case '"':
			if err := json.Unmarshal(r, &d.ID); err != nil {
				return nil, false
			}
		case '{':
			var obj map[string]json.RawMessage
			if err := json.Unmarshal(r, &obj); err != nil {
				return nil, false
			}
			if id, ok := obj["id"]; ok {
				var s string
				switch {
				case id[0] == '"':
					_ = json.Unmarshal(id, &s)
					d.ID = s
				case id[0] == '-' || id[0] >= '0' && id[0] <= '9':
					f, _ := strconv.ParseFloat(string(id), 64)
					d.ID = formatNumber(f)
					if f != math.Trunc(f) || math.Abs(f) >= 1<<53 {
						d.ID = string(id)
					}
				}
			}
			if sc, ok := obj["score"]; ok {
				str := string(sc)
				if sc[0] == '"' {
					_ = json.Unmarshal(sc, &str)
					str = strings.TrimSpace(str)
				}
				if f, err := strconv.ParseFloat(str, 64); err == nil && !math.IsInf(f, 0) && !math.IsNaN(f) {
					d.Score, d.HasScore = f, true
				}
			}
		default:
			if r[0] == '-' || r[0] >= '0' && r[0] <= '9' {
				f, _ := strconv.ParseFloat(string(r), 64)
				d.ID = formatNumber(f)
				if f != math.Trunc(f) || math.Abs(f) >= 1<<53 {
					d.ID = string(r)
				}
				break
			}
			return nil, false
		}
		docs = append(docs, d)
	}
	return docs, true
}

var docsJSONCases = []string{
	`[]`,
	` [ ] `,
	`[{"id":"a","score":0.5}]`,
	`[{"id":"a","score":0.5},{"id":"b","score":0.25}]`,
	"[\n  {\n    \"id\": \"doc_123\",\n    \"score\": 0.95\n  },\n  {\n    \"id\": \"doc_456\",\n    \"score\": 0.87\n  }\n]",
	`[{"score":1e-3,"id":7}]`,
	`[{"id":7.5}]`,
	`[{"id":-3,"score":-0.5}]`,
	`[{"id":12345678901234567890}]`,
	`[{"id":"a\"b\\c\u00e9\ud83d\ude00","score":"0.75"}]`,
	`[{"id":"a","score":" 0.75 "}]`,
	`[{"id":null,"score":null}]`,
	`[{"id":true,"score":false}]`,
	`[{"id":"a","score":"high"}]`,
	`[{"content":"x","metadata":{"source":"faq","pages":[1,2,{"k":[]}],"ok":true,"n":null},"id":"m"}]`,
	`[{"id":"a","id":"b"}]`,
	`[{}]`,
	`["a", 7, "b"]`,
	`[{"id":"a"},]`,
	`[{"id":"a"}`,
	`[{"id":"a",}]`,
	`[{"id" "a"}]`,
	`[{"id":"a"}] x`,
	`{"id":"a"}`,
	`[[1]]`,
	`[null]`,
	`"[]"`,
	``,
	`[{"id":"a\`,
	`[{"id":"tab	in"}]`,
	`[{"x":tru}]`,
	`[{"x":[1,}]`,
	`[{"x":{"a" 1}}]`,
	"[{\"id\":\"\xd4\"}]",
	`null`,
	"[{\"id\":\"caf\xc3\xa9\"}]",
}

func TestDocsFromJSONMatchesEncodingJSON(t *testing.T) {
	for _, in := range docsJSONCases {
		t.Run(in, func(t *testing.T) {
			checkDocsJSON(t, in)
		})
	}
}

func checkDocsJSON(t *testing.T, in string) {
	t.Helper()
	want, wantOK := refDocsFromJSON(in)
	got, err := docsFromJSON(in)
	require.Equal(t, wantOK, err == nil, "accepted? input %q", in)
	if wantOK {
		assert.Equal(t, want, got, "input %q", in)
	}
}

func FuzzDocsFromJSON(f *testing.F) {
	for _, in := range docsJSONCases {
		f.Add(in)
	}
	f.Fuzz(func(t *testing.T, in string) {
		want, wantOK := refDocsFromJSON(in)
		got, err := docsFromJSON(in)
		if wantOK && err != nil {
			t.Fatalf("%q: rejected valid input: %v", in, err)
		}
		if wantOK && !assert.ObjectsAreEqual(want, got) {
			t.Fatalf("%q: got %+v, want %+v", in, got, want)
		}
		// The scanner may accept a little more than strict JSON inside
		// skipped values (numbers are not validated there); it must never
		// panic, which reaching here shows.
	})
}
