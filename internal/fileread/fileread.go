// Package fileread reads the small files llmcheck takes from a repository
// (configuration, retrieval ground truth, baseline summaries), which may
// come from an untrusted pull request: regular files (or pipes) only, and
// bounded in size, so /dev/zero or a huge file is an error, not a hang or
// an exhausted memory.
package fileread

import (
	"fmt"
	"io"
	"os"
)

// MaxBytes is the size limit of ReadFile's callers: far above any real
// configuration, ground truth or baseline file.
const MaxBytes = 64 << 20

// ReadFile reads the file at path like os.ReadFile, refusing devices,
// directories and sockets, and files longer than max bytes. Its errors
// are *os.PathError for a file that cannot be opened (so
// errors.Is(err, os.ErrNotExist) works), and otherwise name the path.
func ReadFile(path string, max int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if m := fi.Mode(); !m.IsRegular() && m&os.ModeNamedPipe == 0 {
		return nil, fmt.Errorf("%s: not a regular file (%s)", path, Kind(m))
	}
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if int64(len(data)) > max {
		return nil, fmt.Errorf("%s: larger than %d MiB, the limit of this file", path, max>>20)
	}
	return data, nil
}

// Kind names what a file that is not regular is: a directory, a device,
// a socket, or its mode.
func Kind(m os.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&os.ModeDevice != 0, m&os.ModeCharDevice != 0:
		return "a device"
	case m&os.ModeSocket != 0:
		return "a socket"
	}
	return "mode " + m.String()
}
