package assert

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestFormatMS: one duration format (issue #11 item 11: messages mixed
// "0.036274 ms" and "41.69 ms").
func TestFormatMS(t *testing.T) {
	for _, tc := range []struct {
		ms   float64
		want string
	}{
		{0, "0 ms"}, {0.036274, "0.03627 ms"}, {5, "5 ms"}, {41.69, "41.69 ms"}, {812.5, "812.5 ms"},
		{999.94, "999.9 ms"}, {999.96, "1 s"}, {1495.2, "1.495 s"}, {1500, "1.5 s"}, {12345, "12.35 s"},
		{123456, "123.5 s"}, {-2.5, "-2.5 ms"},
	} {
		assert.Equal(t, tc.want, FormatMS(tc.ms), "%v", tc.ms)
		assert.Equal(t, tc.want, FormatValue(tc.ms, "ms"), "%v", tc.ms)
	}
}

// TestFormatP: p-values as benchstat prints them (issue #11 item 11: a
// message printed p=0.000000000000247611).
func TestFormatP(t *testing.T) {
	assert.Equal(t, "p<0.001", FormatP(2.47611e-13))
	assert.Equal(t, "p<0.001", FormatP(0.00099))
	assert.Equal(t, "p=0.001", FormatP(0.001))
	assert.Equal(t, "p=0.021", FormatP(0.0213))
	assert.Equal(t, "p=1.000", FormatP(1))
}
