package tracestore

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// TestRetryAfter: a store's Retry-After, in seconds or as an HTTP date, is
// honoured up to maxRetryWait; a huge number of seconds (which overflowed
// into a negative wait: retries without pause) or a bad value is not.
func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 12, 5, 1, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"", 0},
		{"5", 5 * time.Second},
		{"0", 0},
		{"-3", 0},
		{"soon", 0},
		{"999999999", maxRetryWait},
		{"9300000000", maxRetryWait}, // overflowed to a negative wait before
		{"99999999999", maxRetryWait},
		{"99999999999999999999", maxRetryWait},
		{now.Add(7 * time.Second).Format(http.TimeFormat), 7 * time.Second},
		{now.Add(-time.Hour).Format(http.TimeFormat), 0},
		{now.Add(24 * time.Hour).Format(http.TimeFormat), maxRetryWait},
	}
	for _, tc := range tests {
		assert.Equal(t, tc.want, retryAfter(tc.in, now), tc.in)
	}
}
