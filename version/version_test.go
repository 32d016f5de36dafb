package version

import (
	"runtime"
	"runtime/debug"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestGet(t *testing.T) {
	vcs := []debug.BuildSetting{
		{Key: "vcs", Value: "git"},
		{Key: "vcs.revision", Value: "0123456789abcdef0123456789abcdef01234567"},
		{Key: "vcs.time", Value: "2026-12-01T10:00:00Z"},
		{Key: "vcs.modified", Value: "false"},
	}
	tests := []struct {
		name                   string
		bi                     *debug.BuildInfo
		stampV, stampC, stampD string
		want                   Info
		line                   string
	}{
		{
			name:   "release build: stamped values win",
			bi:     &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}, Settings: vcs},
			stampV: "v1.4.0", stampC: "fedcba9876543210fedcba9876543210fedcba98", stampD: "2026-12-04T09:00:00Z",
			want: Info{Version: "v1.4.0", Commit: "fedcba9876543210fedcba9876543210fedcba98", Date: "2026-12-04T09:00:00Z", GoVersion: "go1.26.8"},
			line: "llmcheck v1.4.0 (commit fedcba987654, 2026-12-04T09:00:00Z) go1.26.8 ",
		},
		{
			name: "go install …@v1.3.0: the module version",
			bi:   &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.3.0"}},
			want: Info{Version: "v1.3.0", GoVersion: "go1.26.8"},
			line: "llmcheck v1.3.0 go1.26.8 ",
		},
		{
			name: "go build in a clone: dev with the VCS revision",
			bi:   &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}, Settings: append(vcs[:3:3], debug.BuildSetting{Key: "vcs.modified", Value: "true"})},
			want: Info{Version: "dev", Commit: "0123456789abcdef0123456789abcdef01234567", Date: "2026-12-01T10:00:00Z", Modified: true, GoVersion: "go1.26.8"},
			line: "llmcheck dev (commit 0123456789ab-dirty, 2026-12-01T10:00:00Z) go1.26.8 ",
		},
		{
			name: "go 1.24+ marks a dirty module version",
			bi:   &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.3.1-0.20261201100000-0123456789ab+dirty"}},
			want: Info{Version: "v1.3.1-0.20261201100000-0123456789ab", GoVersion: "go1.26.8"},
			line: "llmcheck v1.3.1-0.20261201100000-0123456789ab go1.26.8 ",
		},
		{
			name: "no build information",
			want: Info{Version: "dev", GoVersion: runtime.Version()},
			line: "llmcheck dev " + runtime.Version() + " ",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := get(tt.bi, tt.stampV, tt.stampC, tt.stampD)
			tt.want.OS, tt.want.Arch = runtime.GOOS, runtime.GOARCH
			assert.Equal(t, tt.want, got)
			assert.Equal(t, tt.line+runtime.GOOS+"/"+runtime.GOARCH, got.String())
		})
	}
}
