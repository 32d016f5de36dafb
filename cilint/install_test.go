package cilint

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// release is a fake GitHub release of llmcheck: real archives (tar.gz and
// zip, as .goreleaser.yaml names them) holding a script that prints which
// archive it came from, and a checksums.txt.
type release struct {
	files    map[string][]byte
	requests atomic.Int32
}

func newRelease(t *testing.T, version string) *release {
	t.Helper()
	r := &release{files: map[string][]byte{}}
	var sums strings.Builder
	for _, target := range []string{"linux_amd64", "linux_arm64", "darwin_arm64", "windows_amd64"} {
		name := fmt.Sprintf("llmcheck_%s_%s", strings.TrimPrefix(version, "v"), target)
		script := []byte("#!/bin/sh\necho llmcheck " + version + " " + target + "\n")
		var buf bytes.Buffer
		if strings.HasPrefix(target, "windows") {
			name += ".zip"
			zw := zip.NewWriter(&buf)
			w, err := zw.Create("llmcheck.exe")
			require.NoError(t, err)
			_, _ = w.Write(script)
			require.NoError(t, zw.Close())
		} else {
			name += ".tar.gz"
			gz := gzip.NewWriter(&buf)
			tw := tar.NewWriter(gz)
			for _, f := range []struct {
				name string
				data []byte
			}{{"README.md", []byte("# llmcheck\n")}, {"llmcheck", script}} {
				require.NoError(t, tw.WriteHeader(&tar.Header{Name: f.name, Mode: 0o755, Size: int64(len(f.data))}))
				_, _ = tw.Write(f.data)
			}
			require.NoError(t, tw.Close())
			require.NoError(t, gz.Close())
		}
		r.files["/"+version+"/"+name] = buf.Bytes()
		fmt.Fprintf(&sums, "%x  %s\n", sha256.Sum256(buf.Bytes()), name)
	}
	r.files["/"+version+"/checksums.txt"] = []byte(sums.String())
	return r
}

func (r *release) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r.requests.Add(1)
	b, ok := r.files[req.URL.Path]
	if !ok {
		http.NotFound(w, req)
		return
	}
	_, _ = w.Write(b)
}

type installRun struct {
	stdout, stderr string
	err            error
	output         string // GITHUB_OUTPUT
	path           string // GITHUB_PATH
}

func install(t *testing.T, env map[string]string) installRun {
	t.Helper()
	tmp := t.TempDir()
	out := filepath.Join(tmp, "output")
	pathFile := filepath.Join(tmp, "path")
	cmd := exec.Command("bash", filepath.Join(root, "action/install.sh"))
	cmd.Env = append(os.Environ(), "GITHUB_OUTPUT="+out, "GITHUB_PATH="+pathFile, "RUNNER_OS=Linux", "RUNNER_ARCH=X64", "ACTION_VERSION=", "ACTION_REF=")
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	o, _ := os.ReadFile(out)
	p, _ := os.ReadFile(pathFile)
	return installRun{stdout.String(), stderr.String(), err, string(o), string(p)}
}

func runBin(t *testing.T, bin string) string {
	t.Helper()
	out, err := exec.Command(bin).CombinedOutput()
	require.NoError(t, err, string(out))
	return strings.TrimSpace(string(out))
}

func TestInstallRelease(t *testing.T) {
	rel := newRelease(t, "v1.2.3")
	srv := httptest.NewServer(rel)
	defer srv.Close()

	t.Run("version input, then the cache", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "tool")
		env := map[string]string{"ACTION_VERSION": "v1.2.3", "ACTION_REF": "main", "ACTION_RELEASES_URL": srv.URL, "ACTION_INSTALL_DIR": dir}
		before := rel.requests.Load()
		r := install(t, env)
		require.NoError(t, r.err, r.stderr)
		bin := filepath.Join(dir, "llmcheck")
		assert.Equal(t, "bin="+bin+"\n", r.output)
		assert.Contains(t, r.stderr, "sha256")
		assert.Equal(t, "llmcheck v1.2.3 linux_amd64", runBin(t, bin))
		assert.Equal(t, int32(2), rel.requests.Load()-before, "checksums.txt and the archive")
		assert.Empty(t, r.path, "install.sh never changes PATH")

		before = rel.requests.Load()
		r = install(t, env)
		require.NoError(t, r.err, r.stderr)
		assert.Contains(t, r.stderr, "from the cache")
		assert.Equal(t, rel.requests.Load(), before, "a cached binary is not downloaded again")
	})
	t.Run("default: the action's ref when it is a release tag", func(t *testing.T) {
		dir := t.TempDir()
		r := install(t, map[string]string{"ACTION_REF": "v1.2.3", "ACTION_RELEASES_URL": srv.URL, "ACTION_INSTALL_DIR": dir, "RUNNER_ARCH": "ARM64"})
		require.NoError(t, r.err, r.stderr)
		assert.Equal(t, "llmcheck v1.2.3 linux_arm64", runBin(t, filepath.Join(dir, "llmcheck")))
	})
	t.Run("windows zip", func(t *testing.T) {
		if _, err := exec.LookPath("unzip"); err != nil {
			t.Skip("unzip not installed")
		}
		dir := t.TempDir()
		r := install(t, map[string]string{"ACTION_VERSION": "v1.2.3", "ACTION_RELEASES_URL": srv.URL, "ACTION_INSTALL_DIR": dir, "RUNNER_OS": "Windows"})
		require.NoError(t, r.err, r.stderr)
		assert.FileExists(t, filepath.Join(dir, "llmcheck.exe"))
	})
}

func TestInstallRefuses(t *testing.T) {
	good := newRelease(t, "v1.2.3")
	tampered := newRelease(t, "v1.2.3")
	tampered.files["/v1.2.3/llmcheck_1.2.3_linux_amd64.tar.gz"] = append([]byte{}, good.files["/v1.2.3/llmcheck_1.2.3_linux_arm64.tar.gz"]...)
	noEntry := newRelease(t, "v1.2.3")
	noEntry.files["/v1.2.3/checksums.txt"] = []byte("0000  llmcheck_1.2.3_darwin_arm64.tar.gz\n")
	for _, tt := range []struct {
		name    string
		rel     *release
		env     map[string]string
		message string
	}{
		{"an archive that does not match checksums.txt", tampered, map[string]string{"ACTION_VERSION": "v1.2.3"}, "checksum mismatch for llmcheck_1.2.3_linux_amd64.tar.gz"},
		{"no checksum for the archive", noEntry, map[string]string{"ACTION_VERSION": "v1.2.3"}, "checksums.txt of v1.2.3 has no entry for llmcheck_1.2.3_linux_amd64.tar.gz"},
		{"a version that was never released", good, map[string]string{"ACTION_VERSION": "v9.9.9"}, "could not download"},
		{"an architecture without archives", good, map[string]string{"ACTION_VERSION": "v1.2.3", "RUNNER_ARCH": "ARM"}, "runner architecture ARM is not supported"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(tt.rel)
			defer srv.Close()
			dir := filepath.Join(t.TempDir(), "tool")
			env := map[string]string{"ACTION_RELEASES_URL": srv.URL, "ACTION_INSTALL_DIR": dir}
			for k, v := range tt.env {
				env[k] = v
			}
			r := install(t, env)
			require.Error(t, r.err)
			assert.Contains(t, r.stderr, "::error title=llmcheck install::")
			assert.Contains(t, r.stderr, tt.message)
			assert.NoFileExists(t, filepath.Join(dir, "llmcheck"), "nothing unverified is installed")
			assert.Empty(t, r.output)
		})
	}
}

// A branch ref builds from the action's source with the runner's Go and
// leaves PATH alone.
func TestInstallFromSource(t *testing.T) {
	if testing.Short() {
		t.Skip("builds llmcheck (-short)")
	}
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go")
	}
	dir := t.TempDir()
	src, err := filepath.Abs(root)
	require.NoError(t, err)
	r := install(t, map[string]string{"ACTION_REF": "main", "ACTION_PATH": src, "ACTION_INSTALL_DIR": dir})
	require.NoError(t, r.err, r.stderr)
	assert.Contains(t, r.stderr, "building llmcheck from source at main")
	out, err := exec.Command(filepath.Join(dir, "llmcheck"), "version").CombinedOutput()
	require.NoError(t, err, string(out))
	assert.True(t, strings.HasPrefix(string(out), "llmcheck "), string(out))
	assert.Empty(t, r.path, "PATH is not changed: the user's tests keep their Go")
}
