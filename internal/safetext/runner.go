package safetext

import (
	"strings"
	"unicode"
)

// RunnerCommand is a line the GitHub Actions runner would take for a
// workflow command.
type RunnerCommand struct {
	Name   string // error, add-mask, stop-commands, … (legacy: the word after "##[")
	Legacy bool   // the "##[name …]" form
	Line   string // the whole line, as split
}

// Commands returns what the GitHub Actions runner would run in out, by its
// rules: lines are split on CR as well as LF; a line whose white-space-
// trimmed text starts with "::" and holds a second "::" is a command
// ("::name props::data"); otherwise a "##[" followed later by "]" anywhere
// in the line is a legacy command ("##[name props]data"). After
// "::stop-commands::T" nothing is a command until a line "::T::", unless
// ignoreStop is set, which lists every line that would be a command
// without stop-commands (llmcheck's escaping alone must keep span data out
// of both lists). The parser is deliberately wider than the runner (which
// also wants a known command name): anything it finds, the runner might.
func Commands(out string, ignoreStop bool) []RunnerCommand {
	var cmds []RunnerCommand
	stopToken := ""
	for _, line := range strings.FieldsFunc(out, func(r rune) bool { return r == '\r' || r == '\n' }) {
		trimmed := strings.TrimFunc(line, unicode.IsSpace)
		if stopToken != "" && !ignoreStop {
			if trimmed == "::"+stopToken+"::" {
				cmds = append(cmds, RunnerCommand{Name: stopToken, Line: line})
				stopToken = ""
			}
			continue
		}
		if strings.HasPrefix(trimmed, "::") {
			if end := strings.Index(trimmed[2:], "::"); end >= 0 {
				head := trimmed[2 : 2+end]
				name, _, _ := strings.Cut(head, " ")
				cmds = append(cmds, RunnerCommand{Name: name, Line: line})
				if strings.EqualFold(name, "stop-commands") {
					stopToken = trimmed[2+end+2:]
					if stopToken == "" {
						stopToken = "\x00" // the runner refuses an empty token; never match
					}
				}
				continue
			}
		}
		if i := strings.Index(line, "##["); i >= 0 {
			if j := strings.Index(line[i+3:], "]"); j >= 0 {
				name, _, _ := strings.Cut(line[i+3:i+3+j], " ")
				cmds = append(cmds, RunnerCommand{Name: name, Legacy: true, Line: line})
			}
		}
	}
	return cmds
}
