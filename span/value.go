package span

import (
	"math"
	"strconv"
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// attrVal is an attribute value the normaliser reads: its Go form, as
// stored in Attrs (string, bool, int64, float64, []byte, []any,
// map[string]any or nil), and, when it came from pdata, the pcommon.Value
// itself. The common cases (strings and numbers) are read from the Go form;
// the rare ones (formatting a map for a warning, a structured document
// list) go through pval, so that both decoders give identical results.
type attrVal struct {
	v    any
	p    pcommon.Value
	hasP bool
}

// fromPdata wraps a pdata value, converting it.
func fromPdata(v pcommon.Value) attrVal {
	return attrVal{v: convertValue(v), p: v, hasP: true}
}

// pval returns the value as a pcommon.Value, building it from the Go form
// when the value did not come from pdata. The fast decoders only produce
// maps without duplicate keys, so the round trip is exact.
func (a attrVal) pval() pcommon.Value {
	if a.hasP {
		return a.p
	}
	p := pcommon.NewValueEmpty()
	_ = p.FromRaw(a.v)
	return p
}

// asString is pcommon.Value.AsString.
func (a attrVal) asString() string {
	if s, ok := a.v.(string); ok {
		return s
	}
	if a.v == nil {
		return ""
	}
	return a.pval().AsString()
}

// countOf reads a token count: an int, an integral double or a numeric
// string, never negative.
func countOf(a attrVal) (int64, bool) {
	switch v := a.v.(type) {
	case int64:
		return v, v >= 0
	case float64:
		return countOfFloat(v)
	case string:
		str := strings.TrimSpace(v)
		if c, err := strconv.ParseInt(str, 10, 64); err == nil {
			return c, c >= 0
		}
		if f, err := strconv.ParseFloat(str, 64); err == nil {
			return countOfFloat(f)
		}
	}
	return 0, false
}

func countOfFloat(f float64) (int64, bool) {
	if f < 0 || f != math.Trunc(f) || f >= math.MaxInt64 || math.IsNaN(f) {
		return 0, false
	}
	return int64(f), true
}

// intOf reads an integer (int, integral double, numeric string).
func intOf(a attrVal) (int64, bool) {
	switch v := a.v.(type) {
	case int64:
		return v, true
	case float64:
		if v == math.Trunc(v) && math.Abs(v) < math.MaxInt64 {
			return int64(v), true
		}
	case string:
		if c, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err == nil {
			return c, true
		}
	}
	return 0, false
}

// floatOf reads a finite number (double, int, numeric string).
func floatOf(a attrVal) (float64, bool) {
	var f float64
	switch v := a.v.(type) {
	case float64:
		f = v
	case int64:
		f = float64(v)
	case string:
		var err error
		if f, err = strconv.ParseFloat(strings.TrimSpace(v), 64); err != nil {
			return 0, false
		}
	default:
		return 0, false
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, false
	}
	return f, true
}

// idString formats a document id: strings as they are, integers (and
// integral doubles) in decimal.
func idString(a attrVal) string {
	switch v := a.v.(type) {
	case string:
		return v
	case int64:
		return strconv.FormatInt(v, 10)
	case float64:
		return formatNumber(v)
	}
	return a.asString()
}

func formatNumber(f float64) string {
	if f == math.Trunc(f) && math.Abs(f) < 1<<53 {
		return strconv.FormatInt(int64(f), 10)
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}

// convertMap converts a pcommon.Map to a Go map; nil when empty.
func convertMap(m pcommon.Map) map[string]any {
	if m.Len() == 0 {
		return nil
	}
	out := make(map[string]any, m.Len())
	for k, v := range m.All() {
		out[k] = convertValue(v)
	}
	return out
}

// convertValue converts an attribute value to string, bool, int64, float64,
// []byte, []any or map[string]any (nil for an empty value).
func convertValue(v pcommon.Value) any {
	switch v.Type() {
	case pcommon.ValueTypeStr:
		return v.Str()
	case pcommon.ValueTypeInt:
		return v.Int()
	case pcommon.ValueTypeDouble:
		return v.Double()
	case pcommon.ValueTypeBool:
		return v.Bool()
	case pcommon.ValueTypeBytes:
		return v.Bytes().AsRaw()
	case pcommon.ValueTypeSlice:
		sl := v.Slice()
		out := make([]any, sl.Len())
		for i := range out {
			out[i] = convertValue(sl.At(i))
		}
		return out
	case pcommon.ValueTypeMap:
		m := v.Map()
		out := make(map[string]any, m.Len())
		for k, e := range m.All() {
			out[k] = convertValue(e)
		}
		return out
	}
	return nil
}
