package fileread

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestReadFile(t *testing.T) {
	dir := t.TempDir()
	small := filepath.Join(dir, "small.yaml")
	require.NoError(t, os.WriteFile(small, []byte("a: 1\n"), 0o644))
	big := filepath.Join(dir, "big.yaml")
	require.NoError(t, os.WriteFile(big, make([]byte, 2<<20+1), 0o644))

	data, err := ReadFile(small, 1<<20)
	require.NoError(t, err)
	assert.Equal(t, "a: 1\n", string(data))

	for _, tc := range []struct{ path, want string }{
		{"/dev/zero", "/dev/zero: not a regular file (a device)"},
		{dir, dir + ": not a regular file (a directory)"},
		{big, big + ": larger than 2 MiB, the limit of this file"},
	} {
		_, err := ReadFile(tc.path, 2<<20)
		require.Error(t, err, tc.path)
		assert.Equal(t, tc.want, err.Error())
	}
	_, err = ReadFile(filepath.Join(dir, "missing"), 1<<20)
	assert.True(t, errors.Is(err, os.ErrNotExist))
}
