// Package cmd is llmcheck's command line: it turns flags, LLMCHECK_*
// environment variables and config discovery into the options structs of
// package runner, and maps the errors that come back to exit codes. It is
// the only package that knows about cobra, viper or the process.
package cmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/spf13/viper"

	"github.com/llmcheck/llmcheck/exitcode"
	"github.com/llmcheck/llmcheck/internal/safetext"
	"github.com/llmcheck/llmcheck/runner"
	"github.com/llmcheck/llmcheck/version"
)

// streams are the process's standard streams: out and err guarded (see
// safetext.Streams) for everything llmcheck prints, rawOut and rawErr for
// the test command's own output, which is passed through unchanged.
type streams struct {
	in             io.Reader
	out, err       io.Writer
	rawOut, rawErr io.Writer
}

// Main runs llmcheck with args and returns the exit code. Under GitHub
// Actions (GITHUB_ACTIONS=true) llmcheck's output is wrapped in
// stop-commands; see safetext.Streams.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	g := safetext.NewStreams(stdout, stderr, os.Getenv("GITHUB_ACTIONS") == "true")
	s := &streams{in: stdin, out: g.Out, err: g.Err, rawOut: stdout, rawErr: stderr}
	root := newRoot(s)
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(s.out)
	root.SetErr(s.err)
	err := root.ExecuteContext(context.Background())
	code := exitCode(err, s.err)
	_ = g.Close()
	return code
}

// exitCode is the one place errors become exit codes.
func exitCode(err error, stderr io.Writer) int {
	if err == nil {
		return exitcode.OK
	}
	var ee *exitcode.Error
	if errors.As(err, &ee) {
		if !ee.Silent && ee.Err != nil {
			fmt.Fprintf(stderr, "llmcheck: %s\n", safetext.Lines(ee.Err.Error()))
		}
		return ee.Code
	}
	// cobra's own errors: unknown command or flag, bad arguments.
	fmt.Fprintf(stderr, "llmcheck: %s\n", safetext.Lines(err.Error()))
	return exitcode.Usage
}

func newRoot(s *streams) *cobra.Command {
	root := &cobra.Command{
		Use:   "llmcheck",
		Short: "Trace-based regression tests for LLM applications",
		Long: `llmcheck turns the OpenTelemetry traces an LLM application emits during its
tests into pass/fail checks for CI: latency percentiles, token and cost
budgets, retrieval quality, errors — any CEL expression over the spans.

  llmcheck run -- go test ./...      record the spans of a test command and check them
  llmcheck check .llmcheck/traces.jsonl

Settings come from flags, then LLMCHECK_<FLAG> environment variables
(LLMCHECK_OUT, LLMCHECK_CONFIG, …). Assertions live in llmcheck.yaml (or --config).

` + exitcode.Help,
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       version.Get().String(),
	}
	root.SetVersionTemplate("{{.Version}}\n")
	root.PersistentPreRunE = func(c *cobra.Command, args []string) error { return envSettings(c) }
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return exitcode.Newf(exitcode.Usage, "%v (see %s --help)", err, c.CommandPath())
	})
	root.AddCommand(newRunCmd(s), newCheckCmd(s), newDiffCmd(s), newBaselineCmd(s), newRecordCmd(s), newReplayCmd(s), newInitCmd(s), newVersionCmd(s), newSchemaCmd(s), newCommentCmd(s), newFetchCmd(s))
	for _, c := range root.Commands() {
		addExitCodes(c)
	}
	return root
}

// exitCodes are the codes each command can exit with, and the meaning of
// a code where the general one does not fit; --help lists only those.
var exitCodes = map[string]struct {
	codes []int
	lines map[int]string
}{
	"run":            {codes: []int{exitcode.OK, exitcode.Failed, exitcode.Usage, exitcode.CommandFailed, exitcode.NoSpans}},
	"check":          {codes: []int{exitcode.OK, exitcode.Failed, exitcode.Usage, exitcode.NoSpans}, lines: map[int]string{exitcode.Usage: "usage, config or input error (bad flag, YAML or CEL error, unreadable\n     trace file)", exitcode.NoSpans: "the trace files hold no spans"}},
	"diff":           {codes: []int{exitcode.OK, exitcode.Failed, exitcode.Usage}, lines: map[int]string{exitcode.OK: "no regression rule failed", exitcode.Failed: "a regression rule failed, or could not be evaluated", exitcode.Usage: "usage, config or input error (bad flag, unreadable trace file or baseline)"}},
	"baseline write": {codes: []int{exitcode.OK, exitcode.Usage, exitcode.NoSpans}, lines: map[int]string{exitcode.OK: "the summary was written", exitcode.Usage: "usage or input error (bad flag, unreadable trace file, unwritable file)", exitcode.NoSpans: "the trace files hold no spans"}},
	"record":         {codes: []int{exitcode.OK, exitcode.Usage, exitcode.NoSpans}, lines: map[int]string{exitcode.OK: "spans were recorded", exitcode.Usage: "usage error (bad flag, busy port, unwritable output folder)", exitcode.NoSpans: "no spans were received before the signal"}},
	"replay":         {codes: []int{exitcode.OK, exitcode.Usage}, lines: map[int]string{exitcode.OK: "every span was sent", exitcode.Usage: "usage or input error, or the endpoint refused the spans"}},
	"init":           {codes: []int{exitcode.OK, exitcode.Usage, exitcode.NoSpans}, lines: map[int]string{exitcode.OK: "the file was written", exitcode.Usage: "usage or input error (the file exists without --force, unreadable trace file)", exitcode.NoSpans: "the --from trace files hold no spans"}},
	"fetch":          {codes: []int{exitcode.OK, exitcode.Usage, exitcode.NoSpans}, lines: map[int]string{exitcode.OK: "the traces were written", exitcode.Usage: "usage error, an unreachable store, a refused query, or more spans than --max-spans", exitcode.NoSpans: "the store holds no trace for the query"}},
	"comment":        {codes: []int{exitcode.OK, exitcode.Usage}, lines: map[int]string{exitcode.OK: "the comment was posted or updated, or there was nothing to post", exitcode.Usage: "usage error, missing GitHub settings, or the GitHub API refused the comment"}},
	"version":        {codes: []int{exitcode.OK, exitcode.Usage}, lines: map[int]string{exitcode.Usage: "usage error (bad flag)"}},
	"schema":         {codes: []int{exitcode.OK, exitcode.Usage}, lines: map[int]string{exitcode.Usage: "usage error (bad flag)"}},
}

// addExitCodes appends the exit codes c (and its subcommands) can exit
// with to their --help.
func addExitCodes(c *cobra.Command) {
	for _, sub := range c.Commands() {
		addExitCodes(sub)
	}
	if !c.Runnable() {
		return
	}
	name := strings.TrimPrefix(c.CommandPath(), "llmcheck ")
	e, ok := exitCodes[name]
	if !ok {
		panic("internal: no exit codes listed for llmcheck " + name)
	}
	c.Long = strings.TrimSpace(c.Long) + "\n\n" + exitcode.HelpWith(e.codes, e.lines)
}

// settings binds a command's flags to LLMCHECK_* environment variables.
func settings(c *cobra.Command) *viper.Viper {
	v := viper.New()
	v.SetEnvPrefix("LLMCHECK")
	v.SetEnvKeyReplacer(strings.NewReplacer("-", "_"))
	v.AutomaticEnv()
	_ = v.BindPFlags(c.Flags())
	return v
}

// envSettings applies the LLMCHECK_<FLAG> variables of c's flags that were
// not given on the command line, parsed exactly like the flag, so a value
// the flag would refuse (LLMCHECK_FLUSH_TIMEOUT=banana) is a usage error
// naming the variable instead of a silent default.
func envSettings(c *cobra.Command) error {
	var err error
	c.Flags().VisitAll(func(f *pflag.Flag) {
		if err != nil || f.Changed || f.Annotations[noEnv] != nil {
			return
		}
		name := envName(f.Name)
		val, ok := os.LookupEnv(name)
		if !ok || val == "" {
			return
		}
		if serr := c.Flags().Set(f.Name, val); serr != nil {
			err = exitcode.Newf(exitcode.Usage, "%s=%q: expected %s (the variable sets --%s; see %s --help)", name, val, expected(f, serr), f.Name, c.CommandPath())
		}
	})
	return err
}

// noEnv marks a flag that no LLMCHECK_ variable sets.
const noEnv = "llmcheck/no-env"

// expected says what a flag of f's type accepts.
func expected(f *pflag.Flag, err error) string {
	switch f.Value.Type() {
	case "bool":
		return "true or false"
	case "duration":
		return "a duration such as 500ms, 30s or 2m"
	case "int", "int64", "uint64":
		return "a whole number"
	case "float64":
		return "a number"
	case "repeat":
		return fmt.Sprintf("a whole number from 1 to %d", runner.MaxRepeat)
	case "run-id":
		return "a run id: " + runner.RunIDRule
	}
	return "a valid value: " + err.Error()
}

func envName(flag string) string {
	return "LLMCHECK_" + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

// explicit reports whether a setting was given by flag or environment.
func explicit(c *cobra.Command, name string) bool {
	if f := c.Flags().Lookup(name); f != nil && f.Changed {
		return true
	}
	return os.Getenv(envName(name)) != ""
}

// configFlag adds --config with its discovery rule.
func configFlag(fs *pflag.FlagSet) {
	fs.String("config", "llmcheck.yaml", "assertions file; when not given, ./llmcheck.yaml is used if it exists")
}

// signals forwards SIGINT and SIGTERM to the caller until stop is called.
func signals() (<-chan os.Signal, func()) {
	ch := make(chan os.Signal, 4)
	signal.Notify(ch, syscall.SIGINT, syscall.SIGTERM)
	return ch, func() { signal.Stop(ch) }
}

// colorOn decides whether to use ANSI colours on w.
func colorOn(w io.Writer) bool {
	if _, ok := os.LookupEnv("NO_COLOR"); ok {
		return false
	}
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
