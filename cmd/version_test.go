package cmd

import (
	"bytes"
	"encoding/json"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/llmcheck/llmcheck/exitcode"
)

func TestVersion(t *testing.T) {
	var line, flag, js, stderr bytes.Buffer
	require.Equal(t, exitcode.OK, Main([]string{"version"}, nil, &line, &stderr), stderr.String())
	require.Equal(t, exitcode.OK, Main([]string{"--version"}, nil, &flag, &stderr), stderr.String())
	require.Equal(t, exitcode.OK, Main([]string{"version", "--json"}, nil, &js, &stderr), stderr.String())

	assert.True(t, strings.HasPrefix(line.String(), "llmcheck "), line.String())
	assert.True(t, strings.HasSuffix(line.String(), " "+runtime.Version()+" "+runtime.GOOS+"/"+runtime.GOARCH+"\n"), line.String())
	assert.Equal(t, 1, strings.Count(line.String(), "\n"), "one line")
	assert.Equal(t, line.String(), flag.String(), "--version prints the same line")

	var info map[string]any
	require.NoError(t, json.Unmarshal(js.Bytes(), &info))
	for _, k := range []string{"version", "commit", "date", "modified", "go", "os", "arch"} {
		assert.Contains(t, info, k)
	}
	assert.Equal(t, runtime.GOOS, info["os"])
	assert.Equal(t, runtime.Version(), info["go"])
	assert.Equal(t, exitcode.Usage, Main([]string{"version", "extra"}, nil, &bytes.Buffer{}, &bytes.Buffer{}))
}
