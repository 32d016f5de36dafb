package runner

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/llmcheck/llmcheck/assert"
	"github.com/llmcheck/llmcheck/exitcode"
)

// InitOptions are the inputs of `llmcheck init`.
type InitOptions struct {
	From   []string // recorded trace files; none = the commented template
	Output string   // file to write, "-" for Stdout
	Force  bool
	// SchemaURL, when set, is written as the first line's
	// `# yaml-language-server: $schema=` comment so editors validate the file.
	SchemaURL string
	Stdout    io.Writer
	Stderr    io.Writer
}

// Init writes a starter assertions file.
func Init(opts InitOptions) error {
	text := assert.Starter
	if len(opts.From) > 0 {
		ws := newWarnings(opts.Stderr)
		defer ws.flush()
		run, err := LoadRun(opts.From, ws.warn)
		if err != nil {
			return err
		}
		if len(run.Spans) == 0 {
			return exitcode.Newf(exitcode.NoSpans, "%s holds no spans: nothing to derive budgets from", strings.Join(opts.From, ", "))
		}
		text = assert.StarterFrom(run, strings.Join(opts.From, " "))
	}
	if opts.SchemaURL != "" {
		text = "# yaml-language-server: $schema=" + opts.SchemaURL + "\n" + text
	}
	// What init writes must load: a generated file that does not compile is a bug.
	cfg, err := assert.ParseConfig(opts.Output, []byte(text))
	if err == nil {
		_, err = assert.Compile(cfg)
	}
	if err != nil {
		return fmt.Errorf("internal: generated config does not load: %w", err)
	}
	if opts.Output == "-" {
		_, err := io.WriteString(opts.Stdout, text)
		return err
	}
	flags := os.O_WRONLY | os.O_CREATE | os.O_EXCL
	if opts.Force {
		flags = os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	}
	f, err := os.OpenFile(opts.Output, flags, 0o644)
	if errors.Is(err, os.ErrExist) {
		return exitcode.Newf(exitcode.Usage, "%s already exists; pass --force to overwrite it or -o to write elsewhere", opts.Output)
	}
	if err != nil {
		return exitcode.New(exitcode.Usage, err)
	}
	if _, err := io.WriteString(f, text); err != nil {
		f.Close()
		return exitcode.New(exitcode.Usage, err)
	}
	if err := f.Close(); err != nil {
		return exitcode.New(exitcode.Usage, err)
	}
	next := "llmcheck run -- <tests>"
	if len(opts.From) > 0 {
		next = "llmcheck check " + strings.Join(opts.From, " ") + "` or `" + next
	}
	if filepath.Clean(opts.Output) != "llmcheck.yaml" {
		flag := " --config " + opts.Output
		next = strings.ReplaceAll(next, "llmcheck run", "llmcheck run"+flag)
		next = strings.ReplaceAll(next, "llmcheck check", "llmcheck check"+flag)
	}
	fmt.Fprintf(opts.Stderr, "llmcheck: wrote %s; use it with `%s`\n", opts.Output, next)
	return nil
}
