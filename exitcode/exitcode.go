// Package exitcode defines llmcheck's process exit codes, the one place
// they are numbered, and the error type that carries one up to main.
package exitcode

import (
	"fmt"
	"strings"
)

// The exit codes of every llmcheck command.
const (
	OK            = 0 // every assertion and regression rule passed
	Failed        = 1 // an assertion or regression rule failed (or could not be evaluated)
	Usage         = 2 // usage, config or input error, found before the test command runs
	CommandFailed = 3 // the test command itself failed; reports are still written
	NoSpans       = 4 // no spans were received: instrumentation is not wired up
)

// descriptions are the lines of the exit code table, by code.
var descriptions = map[int]string{
	OK:     "0  all assertions and regression rules passed",
	Failed: "1  an assertion or regression rule failed, or could not be evaluated",
	Usage: `2  usage, config or input error (bad flag, YAML or CEL error, unreadable
     trace file), found before the test command runs`,
	CommandFailed: "3  the test command failed (its status is printed; reports are still written)",
	NoSpans: `4  no spans were received (the application's OpenTelemetry export is not
     wired up)`,
}

// Help is the exit code table shown by llmcheck --help: every code.
var Help = HelpFor(OK, Failed, Usage, CommandFailed, NoSpans)

// HelpFor is the exit code table of a command that can exit with codes.
func HelpFor(codes ...int) string {
	var b strings.Builder
	b.WriteString("Exit codes:")
	for _, c := range codes {
		b.WriteString("\n  " + descriptions[c])
	}
	return b.String()
}

// Overrides of a code's line for commands where it means something more
// precise than the general table.
func HelpWith(codes []int, lines map[int]string) string {
	var b strings.Builder
	b.WriteString("Exit codes:")
	for _, c := range codes {
		d := descriptions[c]
		if l, ok := lines[c]; ok {
			d = fmt.Sprintf("%d  %s", c, l)
		}
		b.WriteString("\n  " + d)
	}
	return b.String()
}

// Error is an error that decides the exit code.
type Error struct {
	Code int
	Err  error
	// Silent errors have already been reported to the user.
	Silent bool
}

func (e *Error) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("exit status %d", e.Code)
	}
	return e.Err.Error()
}

func (e *Error) Unwrap() error { return e.Err }

// New wraps err with an exit code.
func New(code int, err error) *Error { return &Error{Code: code, Err: err} }

// Newf formats an error with an exit code.
func Newf(code int, format string, args ...any) *Error {
	return &Error{Code: code, Err: fmt.Errorf(format, args...)}
}

// Silent is an exit code whose reason has already been printed.
func Silent(code int) *Error { return &Error{Code: code, Silent: true} }
