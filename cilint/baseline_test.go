package cilint

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

type workflow struct {
	Jobs map[string]struct {
		Steps []struct {
			Name string            `yaml:"name"`
			Uses string            `yaml:"uses"`
			Run  string            `yaml:"run"`
			With map[string]string `yaml:"with"`
		} `yaml:"steps"`
	} `yaml:"jobs"`
}

func readWorkflow(t *testing.T, path string) workflow {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, path))
	require.NoError(t, err)
	var w workflow
	require.NoError(t, yaml.Unmarshal(b, &w))
	return w
}

// upload-artifact >= 4.4 skips hidden files and folders: every upload of
// something under .llmcheck must say include-hidden-files: true, or no
// artifact is ever created.
func TestUploadsIncludeHiddenFiles(t *testing.T) {
	for _, f := range workflowFiles(t) {
		rel, _ := filepath.Rel(root, f)
		for job, j := range readWorkflow(t, rel).Jobs {
			for _, s := range j.Steps {
				if !strings.HasPrefix(s.Uses, "actions/upload-artifact@") {
					continue
				}
				hidden := false
				for _, p := range strings.Split(s.With["path"], "\n") {
					p = strings.TrimSpace(p)
					hidden = hidden || strings.HasPrefix(p, ".") || strings.Contains(p, "/.")
				}
				if hidden {
					assert.Equal(t, "true", s.With["include-hidden-files"], "%s: job %s, step %q uploads %q", rel, job, s.Name, s.With["path"])
				}
			}
		}
	}
}

// The download step of the baseline example, run by bash as Actions runs
// it, with a fake gh that answers like the real one: a missing or expired
// baseline is a notice and no baseline, never a failed job.
func TestBaselineDownloadStep(t *testing.T) {
	var script string
	for _, s := range readWorkflow(t, "examples/github/llmcheck-baseline.yml").Jobs["llm-tests"].Steps {
		if s.Name == "Download the baseline of the base commit" {
			script = s.Run
		}
	}
	require.NotEmpty(t, script)
	// gh run list prints FAKE_LIST_COMMIT for --commit queries, else
	// FAKE_LIST_MAIN; gh run download fails unless FAKE_DOWNLOAD=ok, which
	// writes base/traces.jsonl. Every call is logged.
	fakeGH := `#!/bin/sh
echo "gh $*" >> "$GH_LOG"
case "$1 $2" in
"run list")
  case " $* " in *" --commit "*) printf '%s' "$FAKE_LIST_COMMIT" ;; *) printf '%s' "$FAKE_LIST_MAIN" ;; esac ;;
"run download")
  if [ "$FAKE_DOWNLOAD" = ok ]; then mkdir -p base && echo '{}' > base/traces.jsonl; exit 0; fi
  mkdir -p base
  echo "no valid artifacts found to download" >&2; exit 1 ;;
esac
`
	for _, tt := range []struct {
		name                 string
		listCommit, listMain string
		download             string
		notice               string
		baseline             bool
		downloads            string
	}{
		{"the base commit's run", "101", "999", "ok", "", true, "gh run download 101 --name llmcheck-baseline --dir base"},
		{"no run for the base commit: the latest on main", "", "999", "ok", "", true, "gh run download 999 --name llmcheck-baseline --dir base"},
		{"no baseline run yet", "", "", "ok", "::notice title=llmcheck baseline::no baseline run on main yet", false, ""},
		{"expired artifact", "101", "", "fail", "::notice title=llmcheck baseline::the baseline artifact of run 101 is missing or expired", false, "gh run download 101"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			bin := filepath.Join(dir, "bin")
			require.NoError(t, os.Mkdir(bin, 0o755))
			require.NoError(t, os.WriteFile(filepath.Join(bin, "gh"), []byte(fakeGH), 0o755))
			work := filepath.Join(dir, "work")
			require.NoError(t, os.Mkdir(work, 0o755))
			log := filepath.Join(dir, "gh.log")
			// Actions runs run: steps with bash --noprofile --norc -eo pipefail.
			cmd := exec.Command("bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script)
			cmd.Dir = work
			cmd.Env = append(os.Environ(), "PATH="+bin+":"+os.Getenv("PATH"), "GH_LOG="+log, "BASE_SHA=abc123",
				"FAKE_LIST_COMMIT="+tt.listCommit, "FAKE_LIST_MAIN="+tt.listMain, "FAKE_DOWNLOAD="+tt.download)
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			require.NoError(t, cmd.Run(), "the step never fails the job:\n%s", out.String())
			if tt.notice != "" {
				assert.Contains(t, out.String(), tt.notice)
			} else {
				assert.NotContains(t, out.String(), "::notice")
			}
			_, err := os.Stat(filepath.Join(work, "base", "traces.jsonl"))
			assert.Equal(t, tt.baseline, err == nil, "base/traces.jsonl")
			if !tt.baseline {
				assert.NoDirExists(t, filepath.Join(work, "base"), "no half-downloaded baseline is left for the next step")
			}
			calls, _ := os.ReadFile(log)
			if tt.downloads != "" {
				assert.Contains(t, string(calls), tt.downloads)
			} else {
				assert.NotContains(t, string(calls), "run download")
			}
		})
	}
}
