package cmd

import (
	"bytes"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestColorOnlyOnATerminal(t *testing.T) {
	assert.False(t, colorOn(&bytes.Buffer{}), "not a file")
	f, err := os.CreateTemp(t.TempDir(), "out")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	assert.False(t, colorOn(f), "a regular file is not a terminal")
	if tty, err := os.OpenFile("/dev/tty", os.O_WRONLY, 0); err == nil {
		defer tty.Close()
		t.Setenv("NO_COLOR", "")
		os.Unsetenv("NO_COLOR")
		assert.True(t, colorOn(tty), "a terminal")
		t.Setenv("NO_COLOR", "1")
		assert.False(t, colorOn(tty), "NO_COLOR wins")
	}
}
