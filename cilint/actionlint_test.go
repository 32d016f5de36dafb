package cilint

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/rhysd/actionlint"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

// root is the repository root, relative to this package.
const root = ".."

// lint runs actionlint over one workflow's content. path names the file in
// the messages (it need not exist). Shellcheck and pyflakes are not run, so
// the result does not depend on what is installed.
func lint(t *testing.T, path string, content []byte) []*actionlint.Error {
	t.Helper()
	abs, err := filepath.Abs(root)
	require.NoError(t, err)
	proj, err := actionlint.NewProject(abs)
	require.NoError(t, err)
	l, err := actionlint.NewLinter(io.Discard, &actionlint.LinterOptions{})
	require.NoError(t, err)
	errs, err := l.Lint(path, content, proj)
	require.NoError(t, err)
	return errs
}

func report(t *testing.T, errs []*actionlint.Error, content []byte) {
	t.Helper()
	for _, e := range errs {
		t.Errorf("%s", e)
	}
	if len(errs) > 0 {
		t.Logf("linted content:\n%s", content)
	}
}

// workflowFiles lists every workflow the repository has now.
func workflowFiles(t *testing.T) []string {
	t.Helper()
	var files []string
	for _, pattern := range []string{
		".github/workflows/*.yml", ".github/workflows/*.yaml",
		"examples/github/*.yml", "examples/github/*.yaml",
	} {
		m, err := filepath.Glob(filepath.Join(root, pattern))
		require.NoError(t, err)
		files = append(files, m...)
	}
	sort.Strings(files)
	return files
}

func TestWorkflows(t *testing.T) {
	files := workflowFiles(t)
	if len(files) == 0 {
		t.Skip("no workflow files")
	}
	for _, f := range files {
		rel, _ := filepath.Rel(root, f)
		t.Run(rel, func(t *testing.T) {
			content, err := os.ReadFile(f)
			require.NoError(t, err)
			report(t, lint(t, f, content), content)
		})
	}
}

func TestExampleWorkflowExists(t *testing.T) {
	_, err := os.Stat(filepath.Join(root, "examples/github/llmcheck.yml"))
	require.NoError(t, err)
}

// The lint must fail on a broken workflow: each of these has one mistake
// actionlint finds.
func TestBrokenWorkflowsFail(t *testing.T) {
	const head = "on: push\njobs:\n  test:\n    runs-on: ubuntu-latest\n    steps:\n"
	for name, tc := range map[string]struct{ yaml, want string }{
		"unknown key": {
			"on: push\njobs:\n  test:\n    run-on: ubuntu-latest\n    steps:\n      - run: echo hi\n",
			`unexpected key "run-on"`,
		},
		"bad expression": {
			head + "      - run: echo ${{ github.nope.x }}\n",
			`property "nope" is not defined`,
		},
		"unknown action input": {
			head + "      - uses: actions/checkout@v4\n        with:\n          no-such-input: x\n",
			`input "no-such-input" is not defined`,
		},
		"missing needs": {
			"on: push\njobs:\n  test:\n    needs: build\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo hi\n",
			`job "test" needs job "build" which does not exist`,
		},
		"not yaml": {
			"on: [push\njobs: {}\n",
			`could not parse as YAML`,
		},
		"local action missing its required input": {
			head + "      - uses: ./\n",
			`missing input "command" which is required by action "llmcheck"`,
		},
	} {
		t.Run(name, func(t *testing.T) {
			errs := lint(t, "broken.yml", []byte(tc.yaml))
			require.NotEmpty(t, errs, "actionlint accepted a broken workflow")
			var msgs []string
			for _, e := range errs {
				msgs = append(msgs, e.Error())
			}
			require.Contains(t, strings.Join(msgs, "\n"), tc.want)
		})
	}
}

// ---- action.yml ----

func readAction(t *testing.T) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, "action.yml"))
	require.NoError(t, err)
	return data
}

func TestAction(t *testing.T) {
	data := readAction(t)
	for _, p := range checkAction(data) {
		t.Error(p)
	}
}

// TestActionAsUsed lints a workflow that uses the action from this
// repository: actionlint then reads action.yml and checks its metadata
// (name, description, runs) and the inputs the workflow passes.
func TestActionAsUsed(t *testing.T) {
	wf := []byte(`on: push
jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v5
      - id: llmcheck
        uses: ./
        with:
          command: go test ./...
          config: llmcheck.yaml
          out: .llmcheck
          args: --quiet
          working-directory: .
      - run: echo "$VERDICT"
        env:
          VERDICT: ${{ steps.llmcheck.outputs.verdict }}
`)
	report(t, lint(t, "uses-action.yml", wf), wf)
}

// TestActionSteps lints the action's steps as the steps of a workflow job
// whose workflow_call inputs are the action's inputs: expressions, contexts
// and the inputs of the actions it uses are checked as in a workflow.
func TestActionSteps(t *testing.T) {
	wf := actionAsWorkflow(t, readAction(t))
	report(t, lint(t, "action.yml (steps as a workflow)", wf), wf)
}

func actionAsWorkflow(t *testing.T, data []byte) []byte {
	t.Helper()
	var a struct {
		Inputs map[string]yaml.Node `yaml:"inputs"`
		Runs   struct {
			Steps yaml.Node `yaml:"steps"`
		} `yaml:"runs"`
	}
	require.NoError(t, yaml.Unmarshal(data, &a))
	inputs := map[string]any{}
	for name := range a.Inputs {
		inputs[name] = map[string]any{"type": "string", "required": false}
	}
	wf := map[string]any{
		"on": map[string]any{"workflow_call": map[string]any{"inputs": inputs}},
		"jobs": map[string]any{"action": map[string]any{
			"runs-on": "ubuntu-latest",
			"steps":   &a.Runs.Steps,
		}},
	}
	out, err := yaml.Marshal(wf)
	require.NoError(t, err)
	return out
}

func TestBrokenActionFails(t *testing.T) {
	broken := []byte(`name: x
runs:
  using: node20
  steps:
    - run: echo "${{ inputs.command }}"
      env:
        X: ${{ inputs.nope }}
`)
	problems := strings.Join(checkAction(broken), "\n")
	for _, want := range []string{
		`missing "description"`,
		`runs.using is "node20", want composite`,
		`step 1: run: contains ${{`,
		`step 1: run: has no shell:`,
		`inputs.command is not an input`,
		`inputs.nope is not an input`,
	} {
		require.Contains(t, problems, want)
	}
	require.NotEmpty(t, checkAction([]byte("name: [unclosed\n")))

	good := []byte(`name: x
description: y
inputs:
  command:
    description: c
    required: true
outputs:
  verdict:
    description: v
    value: ${{ steps.run.outputs.verdict }}
runs:
  using: composite
  steps:
    - id: run
      shell: bash
      env:
        C: ${{ inputs.command }}
      run: bash -c "$C"
`)
	require.Empty(t, checkAction(good))
	require.Contains(t, strings.Join(checkAction([]byte(strings.Replace(string(good), "steps.run.", "steps.gone.", 1))), "\n"),
		`outputs.verdict: steps.gone is not a step id`)
}

var (
	exprRe      = regexp.MustCompile(`\$\{\{(.*?)\}\}`)
	inputRefRe  = regexp.MustCompile(`\binputs\.([A-Za-z0-9_-]+)`)
	stepsRefRe  = regexp.MustCompile(`\bsteps\.([A-Za-z0-9_-]+)\.`)
	requiredKey = []string{"name", "description"}
)

// checkAction checks a composite action's metadata: name and description,
// runs.using: composite with steps, a shell: on every run: step, no ${{ }}
// inside a run: script (inputs go through env:), every inputs.X it uses
// declared, every inputs entry described, and every steps.ID its outputs
// read an existing step id.
func checkAction(data []byte) []string {
	var problems []string
	add := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	var a struct {
		Name        string `yaml:"name"`
		Description string `yaml:"description"`
		Inputs      map[string]struct {
			Description string `yaml:"description"`
		} `yaml:"inputs"`
		Outputs map[string]struct {
			Value string `yaml:"value"`
		} `yaml:"outputs"`
		Runs struct {
			Using string `yaml:"using"`
			Steps []struct {
				ID    string `yaml:"id"`
				Run   string `yaml:"run"`
				Shell string `yaml:"shell"`
				Uses  string `yaml:"uses"`
			} `yaml:"steps"`
		} `yaml:"runs"`
	}
	if err := yaml.Unmarshal(data, &a); err != nil {
		return []string{"action.yml is not valid YAML: " + err.Error()}
	}
	for _, k := range requiredKey {
		if (k == "name" && a.Name == "") || (k == "description" && a.Description == "") {
			add("action.yml: missing %q", k)
		}
	}
	if a.Runs.Using != "composite" {
		add("action.yml: runs.using is %q, want composite", a.Runs.Using)
	}
	if len(a.Runs.Steps) == 0 {
		add("action.yml: runs.steps is empty")
	}
	ids := map[string]bool{}
	for i, s := range a.Runs.Steps {
		if s.ID != "" {
			ids[s.ID] = true
		}
		if s.Run == "" && s.Uses == "" {
			add("action.yml: step %d: neither run: nor uses:", i+1)
		}
		if s.Run != "" {
			if strings.Contains(s.Run, "${{") {
				add("action.yml: step %d: run: contains ${{ }}: pass values through env: instead", i+1)
			}
			if s.Shell == "" {
				add("action.yml: step %d: run: has no shell: (composite actions require one)", i+1)
			}
		}
	}
	for name, in := range a.Inputs {
		if in.Description == "" {
			add("action.yml: inputs.%s has no description", name)
		}
	}
	for _, m := range exprRe.FindAllStringSubmatch(string(data), -1) {
		for _, ref := range inputRefRe.FindAllStringSubmatch(m[1], -1) {
			if _, ok := a.Inputs[ref[1]]; !ok {
				add("action.yml: inputs.%s is not an input", ref[1])
			}
		}
	}
	for name, o := range a.Outputs {
		for _, ref := range stepsRefRe.FindAllStringSubmatch(o.Value, -1) {
			if !ids[ref[1]] {
				add("action.yml: outputs.%s: steps.%s is not a step id", name, ref[1])
			}
		}
	}
	sort.Strings(problems)
	return problems
}
