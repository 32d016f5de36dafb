// Package jsondepth bounds how deeply JSON text nests, with one byte scan,
// before a recursive decoder (pdata's OTLP/JSON unmarshaler) sees it: a
// value nested a million levels would otherwise exhaust the goroutine
// stack, which kills the process.
package jsondepth

import (
	"bytes"
	"fmt"
)

// Max is the nesting depth of objects and arrays OTLP/JSON may have. It
// admits everything the protobuf path admits (pdata stops protobuf at 100
// nested messages, which is at most about 160 JSON levels of a span
// attribute) and stops long before the stack is at risk.
const Max = 256

// Error is the error of Check: the text nests deeper than Max at Offset.
type Error struct {
	Offset int // byte offset of the bracket that went past the limit
	Max    int
}

// Error is "JSON nested more than 256 levels deep at byte N".
func (e *Error) Error() string {
	return fmt.Sprintf("JSON nested more than %d levels deep at byte %d (the limit of OTLP/JSON in llmcheck)", e.Max, e.Offset)
}

// Check returns an *Error when b nests objects and arrays more than max
// levels deep, counting brackets outside strings; nil otherwise. It does
// not check the syntax otherwise (an unbalanced or malformed text is left
// to the decoder), and reads each byte once: strings are skipped with
// bytes.IndexByte.
func Check(b []byte, max int) error {
	depth := 0
	for i := 0; i < len(b); i++ {
		switch b[i] {
		case '"':
			// the closing quote: one not preceded by an odd number of
			// backslashes
			for {
				j := bytes.IndexByte(b[i+1:], '"')
				if j < 0 {
					return nil // an unterminated string: the decoder says so
				}
				i += 1 + j
				k := i - 1
				for b[k] == '\\' {
					k--
				}
				if (i-1-k)%2 == 0 {
					break
				}
			}
		case '{', '[':
			depth++
			if depth > max {
				return &Error{Offset: i, Max: max}
			}
		case '}', ']':
			depth--
		}
	}
	return nil
}
