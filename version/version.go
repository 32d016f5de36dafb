// Package version says which llmcheck this is: the release version, commit
// and build date stamped in by the release build, else what the Go build
// information of a `go install …@vX` or a source build records.
package version

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"
)

// Stamped by the release build (.goreleaser.yaml):
//
//	-X github.com/llmcheck/llmcheck/version.version=v1.2.3
//	-X github.com/llmcheck/llmcheck/version.commit=<full sha>
//	-X github.com/llmcheck/llmcheck/version.date=<RFC 3339>
var (
	version string
	commit  string
	date    string
)

// Info is the build of the running binary.
type Info struct {
	// Version is the release tag (v1.2.3), the module version of a
	// `go install …@v1.2.3` build, or "dev" for a build from a work tree.
	Version string `json:"version"`
	// Commit is the VCS revision, empty when unknown.
	Commit string `json:"commit"`
	// Date is the build or commit time (RFC 3339), empty when unknown.
	Date string `json:"date"`
	// Modified is true when the work tree had uncommitted changes.
	Modified  bool   `json:"modified"`
	GoVersion string `json:"go"`
	OS        string `json:"os"`
	Arch      string `json:"arch"`
}

// Get returns the build of the running binary.
func Get() Info {
	bi, _ := debug.ReadBuildInfo()
	return get(bi, version, commit, date)
}

// get combines stamped values with the build information; stamped values win.
func get(bi *debug.BuildInfo, stampedVersion, stampedCommit, stampedDate string) Info {
	i := Info{GoVersion: runtime.Version(), OS: runtime.GOOS, Arch: runtime.GOARCH}
	if bi != nil {
		if bi.GoVersion != "" {
			i.GoVersion = bi.GoVersion
		}
		// "(devel)" for a build from a work tree; a module version for
		// go install …@v1.2.3 (or a pseudo-version for …@commit).
		if v := bi.Main.Version; v != "" && v != "(devel)" {
			i.Version = strings.TrimSuffix(v, "+dirty")
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				i.Commit = s.Value
			case "vcs.time":
				i.Date = s.Value
			case "vcs.modified":
				i.Modified = s.Value == "true"
			}
		}
	}
	if stampedVersion != "" {
		i.Version = stampedVersion
	}
	if stampedCommit != "" {
		i.Commit = stampedCommit
	}
	if stampedDate != "" {
		i.Date = stampedDate
	}
	if i.Version == "" {
		i.Version = "dev"
	}
	return i
}

// String is the one-line form, like k6 and gh print:
//
//	llmcheck v1.2.3 (commit 0123abcd, 2026-12-04T10:00:00Z) go1.26.8 linux/amd64
func (i Info) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "llmcheck %s", i.Version)
	var meta []string
	if i.Commit != "" {
		c := i.Commit
		if len(c) > 12 {
			c = c[:12]
		}
		if i.Modified {
			c += "-dirty"
		}
		meta = append(meta, "commit "+c)
	}
	if i.Date != "" {
		meta = append(meta, i.Date)
	}
	if len(meta) > 0 {
		fmt.Fprintf(&b, " (%s)", strings.Join(meta, ", "))
	}
	fmt.Fprintf(&b, " %s %s/%s", i.GoVersion, i.OS, i.Arch)
	return b.String()
}
