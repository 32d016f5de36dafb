package span

import (
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestJSONIntegers checks the decimal fast path of uint64Val and int64Val
// against strconv, quoted and bare, at every width.
func TestJSONIntegers(t *testing.T) {
	inputs := []string{"0", "7", "007", "42", "4294967295", "4294967296", "2147483647", "2147483648",
		"999999999999999999", "1000000000000000000", "9223372036854775807", "9223372036854775808",
		"9999999999999999999", "18446744073709551615", "18446744073709551616", "123456789012345678901",
		"-1", "-2147483648", "-9223372036854775808", "+5", "", "1_000", "12a", " 1"}
	for _, in := range inputs {
		for _, quoted := range []bool{false, true} {
			text := in
			if quoted {
				text = `"` + in + `"`
			}
			for _, bits := range []int{32, 64} {
				p := jsonParser{b: []byte(text)}
				got, ok := p.uint64Val(bits)
				want, err := strconv.ParseUint(in, 10, bits)
				bareOK := quoted || (in != "" && in[0] != '+' && in[0] != ' ' && in[0] != '-' && !(len(in) > 1 && in[0] == '0'))
				if bareOK && p.i == len(text) {
					assert.Equal(t, err == nil, ok, "uint64Val(%s, %d)", text, bits)
					if ok {
						assert.Equal(t, want, got, "uint64Val(%s, %d)", text, bits)
					}
				} else {
					assert.False(t, ok && p.i == len(text) && err != nil, "uint64Val(%s, %d) accepted", text, bits)
				}

				if quoted && bits != 64 {
					continue // an enum name: the slow path
				}
				p = jsonParser{b: []byte(text)}
				gotI, ok := p.int64Val(bits)
				wantI, err := strconv.ParseInt(in, 10, bits)
				negOK := !quoted && len(in) > 1 && in[0] == '-' && in[1] != '0'
				if (bareOK || negOK) && p.i == len(text) {
					assert.Equal(t, err == nil, ok, "int64Val(%s, %d)", text, bits)
					if ok {
						assert.Equal(t, wantI, gotI, "int64Val(%s, %d)", text, bits)
					}
				}
			}
		}
	}
}
